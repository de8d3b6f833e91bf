//! The phases of one repeat: what each does, what it measures, and the consistency
//! checks that decide whether the repeat's data made it through intact.

use super::engine::{self, Comparison, EngineJob, RunSummary};
use crate::load::{self, PayloadGenerator, Throughput};
use crate::report::{PhaseResult, Verification};
use crate::scenario::{MessageSize, Payload, Phase, PlanPoint, Volume};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::Instant;

/// Everything a repeat works with.
pub struct RepeatContext<'a> {
    /// The matrix point.
    pub point: &'a PlanPoint,
    /// The engine job (services, names, overrides, run directory).
    pub job: EngineJob<'a>,
    /// Scratch topic of the raw-produce phase.
    pub scratch_topic: &'a str,
    /// Runtime for the async admin calls.
    pub runtime: &'a tokio::runtime::Runtime,
    /// Progress prefix, e.g. `[default 1/3]`.
    pub prefix: &'a str,
}

/// What the phases of one repeat have measured so far.
#[derive(Debug, Default)]
pub struct RepeatState {
    /// Produce phase.
    pub produced: Option<Throughput>,
    /// Backup summary.
    pub backup: Option<RunSummary>,
    /// Restore summary.
    pub restore: Option<RunSummary>,
    /// Verify comparison.
    pub comparison: Option<Comparison>,
    /// Engine runs that failed; the repeat stops at the first.
    pub failures: Vec<String>,
}

/// How the load generator is driven for a workload.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadParams {
    /// Generator payload.
    pub payload: load::Payload,
    /// Value size in bytes.
    pub message_size: usize,
    /// Key + value bytes to produce.
    pub bytes: u64,
    /// Where the generator only approximates the workload.
    pub notes: Vec<String>,
}

/// Maps a workload onto the load generator, noting what it can only approximate.
pub fn load_params(point: &PlanPoint) -> Result<LoadParams> {
    let w = &point.workload;
    let mut notes = Vec::new();
    let payload = match w.payload {
        Payload::Json => load::Payload::Json,
        Payload::Text => load::Payload::Text,
        Payload::Random => load::Payload::Random,
        Payload::Precompressed => {
            notes.push("precompressed payload generated as random bytes".to_owned());
            load::Payload::Random
        }
        Payload::Avro | Payload::Protobuf => {
            notes.push(format!("{} payload generated as JSON", w.payload));
            load::Payload::Json
        }
    };
    let message_size = match &w.message_size {
        MessageSize::Fixed { bytes } => *bytes,
        MessageSize::Lognormal { median_bytes, .. } => {
            notes.push("lognormal message sizes generated at their median".to_owned());
            *median_bytes
        }
    };
    if w.headers > 0 {
        notes.push(format!("{} headers per record not generated", w.headers));
    }
    if w.rate.is_some() {
        notes.push("rate limit not applied: produced as fast as possible".to_owned());
    }
    let bytes = match (&w.volume, w.expected_bytes()) {
        (Volume::Bytes(b), _) => *b,
        (_, Some(b)) => b as u64,
        (Volume::DurationSecs(_), None) => bail!("a duration without a rate is not supported by the load generator"),
        (_, None) => bail!("cannot tell how much to produce"),
    };
    let message_size = usize::try_from(message_size).context("message size")?;
    Ok(LoadParams { payload, message_size, bytes, notes })
}

fn report_line(prefix: &str, phase: Phase, result: &PhaseResult, extra: &str) {
    eprintln!(
        "{prefix} {:<11} {:>9.1} MB {:>9} records in {:>7.2} s = {:>7.1} MB/s{extra}",
        phase.as_str(),
        result.bytes as f64 / 1e6,
        result.records,
        result.duration_secs,
        result.mb_s
    );
}

fn produce_to(ctx: &RepeatContext<'_>, topic: &str) -> Result<Throughput> {
    let params = load_params(ctx.point)?;
    let bootstrap = &ctx.job.services.bootstrap;
    let partitions = i32::try_from(ctx.point.workload.partitions).context("partitions")?;
    ctx.runtime
        .block_on(load::create_topic(bootstrap, topic, partitions))
        .with_context(|| format!("creating topic '{topic}'"))?;
    let mut generator = PayloadGenerator::new(params.payload, params.message_size, ctx.point.workload.seed);
    load::produce(bootstrap, topic, partitions, params.bytes, &mut generator)
        .with_context(|| format!("producing to '{topic}'"))
}

/// Runs one phase. `Ok(None)` means the phase could not run because an engine run
/// failed (recorded in `state.failures`); `Err` is a tool error that ends the scenario.
pub fn run_phase(phase: Phase, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Option<PhaseResult>> {
    let job = &ctx.job;
    let partitions = i32::try_from(ctx.point.workload.partitions).context("partitions")?;
    match phase {
        Phase::Produce => {
            let rate = produce_to(ctx, job.topic)?;
            state.produced = Some(rate);
            let result = PhaseResult::new(phase, rate.bytes, rate.records, rate.secs);
            report_line(ctx.prefix, phase, &result, "");
            Ok(Some(result))
        }
        Phase::RawProduce => {
            let rate = produce_to(ctx, ctx.scratch_topic)?;
            let result = PhaseResult::new(phase, rate.bytes, rate.records, rate.secs);
            report_line(ctx.prefix, phase, &result, "");
            Ok(Some(result))
        }
        Phase::RawConsume => {
            let wait = if job.services.tansu { 10 } else { 100 };
            let rate = load::raw_consume(&job.services.bootstrap, job.topic, partitions, wait)
                .with_context(|| format!("reading '{}'", job.topic))?;
            let result = PhaseResult::new(phase, rate.bytes, rate.records, rate.secs);
            report_line(ctx.prefix, phase, &result, "");
            Ok(Some(result))
        }
        Phase::Backup | Phase::Restore => {
            let config = engine::write_config(job)?;
            let name = phase.as_str();
            let run = engine::run_kbackup(job, &config, name, &[name])?;
            if run.code != Some(0) {
                state.failures.push(format!(
                    "kbackup {name} failed (exit {:?}); log {}:\n{}",
                    run.code,
                    run.log.display(),
                    run.log_tail()
                ));
                return Ok(None);
            }
            let summary: RunSummary = run.parse(name)?;
            let mut metrics = run.metrics;
            if phase == Phase::Backup {
                metrics.checkpoint_latency_ms = summary.checkpoint_latency_ms.map(Into::into);
                metrics.stored_bytes = Some(summary.stored_bytes);
                // Payload bytes per stored byte: the metric the report calls compression ratio.
                metrics.compression_ratio = Some(summary.storage_ratio).filter(|r| *r > 0.0);
            }
            // Throughput over the engine's data phase (what kbackup reports as MB/s);
            // process start-up is in the log line's wall time.
            let mut result = PhaseResult::new(phase, summary.source_bytes, summary.records, summary.duration_secs);
            let extra = format!(
                " (process {:.2} s, peak RSS {:.0} MB, CPU {:.1} s)",
                run.wall_secs,
                metrics.peak_rss_bytes as f64 / 1e6,
                metrics.cpu_user_secs + metrics.cpu_sys_secs
            );
            result.engine = Some(metrics);
            report_line(ctx.prefix, phase, &result, &extra);
            if phase == Phase::Backup {
                state.backup = Some(summary);
            } else {
                state.restore = Some(summary);
            }
            Ok(Some(result))
        }
        Phase::Verify => {
            let config = engine::write_config(job)?;
            let args = ["verify", "--against", job.restored_topic, "--topic", job.topic];
            let run = engine::run_kbackup(job, &config, "verify", &args)?;
            if !matches!(run.code, Some(0 | 1)) {
                state.failures.push(format!(
                    "kbackup verify failed (exit {:?}); log {}:\n{}",
                    run.code,
                    run.log.display(),
                    run.log_tail()
                ));
                return Ok(None);
            }
            let comparison: Comparison = run.parse("verify")?;
            let records: u64 = comparison.partitions.iter().map(|p| p.live_records).sum();
            let bytes = state.restore.as_ref().map_or(0, |r| r.source_bytes);
            let result = PhaseResult::new(phase, bytes, records, run.wall_secs);
            let verdict = if comparison.equal { " (equal)" } else { " (DIFFERENT)" };
            report_line(ctx.prefix, phase, &result, verdict);
            state.comparison = Some(comparison);
            Ok(Some(result))
        }
    }
}

impl RepeatState {
    /// Whether an engine run failed.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// The verdict over everything measured so far: engine failures, produced = backed
    /// up = restored (records and bytes), and the record-by-record comparison.
    pub fn verification(&self) -> Verification {
        let mut problems = self.failures.clone();
        let mut checks = Vec::new();
        let mut check = |name: &str, a: u64, b: u64, what: &str| {
            if a == b {
                checks.push(format!("{name} {a} {what}"));
            } else {
                problems.push(format!("{name}: {a} ≠ {b} {what}"));
            }
        };
        if let (Some(p), Some(b)) = (&self.produced, &self.backup) {
            check("produced = backed up", p.records, b.records, "records");
            check("produced = backed up", p.bytes, b.source_bytes, "bytes");
        }
        if let (Some(b), Some(r)) = (&self.backup, &self.restore) {
            check("backed up = restored", b.records, r.records, "records");
            check("backed up = restored", b.source_bytes, r.source_bytes, "bytes");
        }
        if let Some(c) = &self.comparison {
            let live: u64 = c.partitions.iter().map(|p| p.live_records).sum();
            if c.equal {
                checks.push(format!("{live} restored records equal to the backup, {} partitions", c.partitions.len()));
            } else {
                let bad = (c.partitions.iter())
                    .filter(|p| p.first_difference.is_some() || p.backup_records != p.live_records)
                    .map(|p| format!("partition {}: {} vs {} records", p.partition, p.backup_records, p.live_records));
                problems
                    .push(format!("restored topic differs from the backup: {}", bad.collect::<Vec<_>>().join("; ")));
            }
        }
        let checked = !checks.is_empty() || !problems.is_empty();
        let detail = if problems.is_empty() { checks.join("; ") } else { problems.join("; ") };
        Verification { checked, passed: checked && problems.is_empty(), detail }
    }
}

/// Deletes the topics a repeat created (best effort: the broker may not support it).
pub fn delete_topics(runtime: &tokio::runtime::Runtime, bootstrap: &str, topics: &[&str]) {
    use rdkafka::ClientConfig;
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let Ok(admin) =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create::<AdminClient<DefaultClientContext>>()
    else {
        return;
    };
    let options = AdminOptions::new().operation_timeout(Some(std::time::Duration::from_secs(10)));
    let _ = runtime.block_on(admin.delete_topics(topics, &options));
}

/// Seconds since `started`.
pub fn secs_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}

/// A directory name that is safe for any label.
pub fn dir_name(label: &str) -> String {
    label.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.=".contains(c) { c } else { '_' }).collect()
}

/// Whether `path` looks like an executable file.
pub fn is_file(path: &Path) -> bool {
    path.is_file()
}
