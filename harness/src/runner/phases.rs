//! The phases of one repeat: what each does, what it measures, and the consistency
//! checks that decide whether the repeat's data made it through intact.

use super::engine::{self, Comparison, EngineJob, RunSummary};
use crate::load::{self, RecordGenerator, Throughput};
use crate::progress::{Counter, PhaseProgress};
use crate::report::{PhaseResult, Verification};
use crate::scenario::{Phase, PlanPoint, Rate, Volume};
use crate::warning::Warning;
use anyhow::{Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};

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
    /// What to generate.
    pub spec: load::LoadSpec,
    /// When production stops and how fast it may go.
    pub limits: load::Limits,
}

/// Maps a workload onto the load generator.
pub fn load_params(point: &PlanPoint) -> Result<LoadParams> {
    let w = &point.workload;
    let spec = load::LoadSpec {
        payload: w.payload,
        message_size: w.message_size.clone(),
        keys: w.keys,
        headers: w.headers,
        seed: w.seed,
    };
    let mut limits = match w.volume {
        Volume::Bytes(b) => load::Limits::bytes(b),
        Volume::Messages(m) => load::Limits { messages: Some(m), ..Default::default() },
        Volume::DurationSecs(secs) => load::Limits {
            duration: Some(Duration::try_from_secs_f64(secs).context("workload duration")?),
            ..Default::default()
        },
    };
    match w.rate {
        Some(Rate::BytesPerSec(r)) => limits.bytes_per_sec = Some(r as f64),
        Some(Rate::MessagesPerSec(r)) => limits.messages_per_sec = Some(r as f64),
        None => {}
    }
    Ok(LoadParams { spec, limits })
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

/// Creates `topic` and fills it; `limits` replaces the workload's amount and rate.
fn produce_to(ctx: &RepeatContext<'_>, topic: &str, limits: Option<load::Limits>) -> Result<Throughput> {
    let params = load_params(ctx.point)?;
    let limits = limits.unwrap_or(params.limits);
    let bootstrap = &ctx.job.services.bootstrap;
    let partitions = i32::try_from(ctx.point.workload.partitions).context("partitions")?;
    ctx.runtime
        .block_on(load::create_topic(bootstrap, topic, partitions))
        .with_context(|| format!("creating topic '{topic}'"))?;
    let mut generator = RecordGenerator::new(params.spec);
    load::produce_with(bootstrap, topic, partitions, limits, &mut generator)
        .with_context(|| format!("producing to '{topic}'"))
}

/// The live bar of `phase`: bytes from the load generator's or kbackup's counter, out of
/// what the produce phase wrote (or plans to write).
fn progress(ctx: &RepeatContext<'_>, state: &RepeatState, phase: Phase) -> PhaseProgress {
    let produced = state.produced.map(|p| p.bytes);
    let (total, counter) = match phase {
        Phase::Produce => (load_params(ctx.point).ok().and_then(|p| p.limits.bytes), Counter::Live(&load::LIVE_BYTES)),
        Phase::RawConsume | Phase::RawProduce => (produced, Counter::Live(&load::LIVE_BYTES)),
        Phase::Backup | Phase::Restore => (produced, Counter::Live(&engine::LIVE_BYTES)),
        Phase::RawPut => (None, Counter::None),
        Phase::Verify => (None, Counter::None),
    };
    PhaseProgress::start(&format!("{} {}", ctx.prefix, phase.as_str()), total, counter)
}

/// Runs one phase. `Ok(None)` means the phase could not run because an engine run
/// failed (recorded in `state.failures`); `Err` is a tool error that ends the scenario.
pub fn run_phase(phase: Phase, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Option<PhaseResult>> {
    let bar = progress(ctx, state, phase);
    let result = measure_phase(phase, ctx, state);
    bar.finish();
    let (result, extra) = result?;
    if let Some(result) = &result {
        report_line(ctx.prefix, phase, result, &extra);
    }
    Ok(result)
}

/// A phase's result and the text after its numbers on the result line.
type Measured = (Option<PhaseResult>, String);

fn measure_phase(phase: Phase, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
    let job = &ctx.job;
    let partitions = i32::try_from(ctx.point.workload.partitions).context("partitions")?;
    match phase {
        Phase::Produce => {
            let rate = produce_to(ctx, job.topic, None)?;
            state.produced = Some(rate);
            let result = PhaseResult::new(phase, rate.bytes, rate.records, rate.secs);
            Ok((Some(result), String::new()))
        }
        Phase::RawProduce => {
            // The restore ceiling: the same records, unthrottled (just the amount when
            // the produce phase measured it).
            let limits = state.produced.map(|p| load::Limits { messages: Some(p.records), ..Default::default() });
            let limits = limits.unwrap_or_else(|| {
                let planned = load_params(ctx.point).map(|p| p.limits).unwrap_or_default();
                load::Limits { bytes_per_sec: None, messages_per_sec: None, ..planned }
            });
            let rate = produce_to(ctx, ctx.scratch_topic, Some(limits))?;
            let result = PhaseResult::new(phase, rate.bytes, rate.records, rate.secs);
            Ok((Some(result), String::new()))
        }
        Phase::RawConsume => {
            let wait = if job.services.tansu { 10 } else { 100 };
            let rate = load::raw_consume(&job.services.bootstrap, job.topic, partitions, wait)
                .with_context(|| format!("reading '{}'", job.topic))?;
            let result = PhaseResult::new(phase, rate.bytes, rate.records, rate.secs);
            Ok((Some(result), String::new()))
        }
        Phase::Backup | Phase::Restore => {
            let config = engine::write_config(job)?;
            let name = phase.as_str();
            let run = engine::run_kbackup(job, &config, name, &[name])?;
            if run.code != Some(0) {
                state.failures.push(format!(
                    "kbackup {name} failed ({}); log {}:\n{}",
                    run.exit(),
                    run.log.display(),
                    run.log_tail()
                ));
                return Ok((None, String::new()));
            }
            let summary: RunSummary = run.parse(name)?;
            let mut metrics = run.metrics;
            if phase == Phase::Backup {
                metrics.checkpoint_latency_ms = summary.checkpoint_latency_ms.map(Into::into);
                metrics.stored_bytes = Some(summary.stored_bytes);
                // Source bytes per stored byte: `compression_ratio` on both sides of the contract.
                metrics.compression_ratio = Some(summary.compression_ratio).filter(|r| *r > 0.0);
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
            if phase == Phase::Backup {
                state.backup = Some(summary);
            } else {
                state.restore = Some(summary);
            }
            Ok((Some(result), extra))
        }
        Phase::RawPut => raw_put(ctx, state, partitions),
        Phase::Verify => {
            let config = engine::write_config(job)?;
            let args = ["verify", "--against", job.restored_topic, "--topic", job.topic];
            let run = engine::run_kbackup(job, &config, "verify", &args)?;
            if !matches!(run.code, Some(0 | 1)) {
                state.failures.push(format!(
                    "kbackup verify failed ({}); log {}:\n{}",
                    run.exit(),
                    run.log.display(),
                    run.log_tail()
                ));
                return Ok((None, String::new()));
            }
            let comparison: Comparison = run.parse("verify")?;
            let records: u64 = comparison.partitions.iter().map(|p| p.live_records).sum();
            let bytes = state.restore.as_ref().map_or(0, |r| r.source_bytes);
            let result = PhaseResult::new(phase, bytes, records, run.wall_secs);
            let verdict = if comparison.equal { " (equal)" } else { " (DIFFERENT)" };
            state.comparison = Some(comparison);
            Ok((Some(result), verdict.to_owned()))
        }
    }
}

/// `kbackup probe-storage` of as many bytes as the backup stored (at least 16 MiB), one
/// stream per partition, as a backup uploads one segment per partition at once.
fn raw_put(ctx: &RepeatContext<'_>, state: &mut RepeatState, partitions: i32) -> Result<Measured> {
    let job = &ctx.job;
    let wanted = (state.backup.as_ref().map(|b| b.stored_bytes))
        .or_else(|| state.produced.map(|p| p.bytes))
        .unwrap_or(64 << 20)
        .max(16 << 20);
    let config = engine::write_config(job)?;
    let (size, streams) = (wanted.to_string(), partitions.max(1).to_string());
    let args = ["probe-storage", "--size", size.as_str(), "--streams", streams.as_str()];
    let run = engine::run_kbackup(job, &config, "raw-put", &args)?;
    if run.code != Some(0) {
        state.failures.push(format!(
            "kbackup probe-storage failed ({}); log {}:\n{}",
            run.exit(),
            run.log.display(),
            run.log_tail()
        ));
        return Ok((None, String::new()));
    }
    let probe: engine::ProbeReport = run.parse("probe-storage")?;
    let result = PhaseResult::new(Phase::RawPut, probe.bytes, 0, probe.duration_secs);
    Ok((
        Some(result),
        format!(" ({} stream(s), process peak RSS {:.0} MB)", probe.streams, run.metrics.peak_rss_bytes as f64 / 1e6),
    ))
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

/// Produce runs shorter than this are dominated by connecting and flushing, so their
/// average rate says nothing about whether the throttle's rate was reachable.
pub const RATE_CHECK_MIN_SECS: f64 = 5.0;

/// A warning when the load generator stayed more than 10 % below the workload's rate
/// over a run of at least [`RATE_CHECK_MIN_SECS`].
pub fn rate_warning(point: &PlanPoint, produced: &Throughput) -> Option<Warning> {
    if produced.secs < RATE_CHECK_MIN_SECS {
        return None;
    }
    let (requested, achieved, unit) = match point.workload.rate? {
        Rate::BytesPerSec(r) => (r as f64 / 1e6, produced.mb_s, "MB/s"),
        Rate::MessagesPerSec(r) => {
            (r as f64, if produced.secs > 0.0 { produced.records as f64 / produced.secs } else { 0.0 }, "msg/s")
        }
    };
    (achieved < requested * 0.9).then(|| Warning::RateNotReached { requested, achieved, unit: unit.to_owned() })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::engine::PartitionComparison;
    use crate::scenario::{self, KeyMode, MessageSize, Payload, Profile};
    use ::engine::verify::Difference;

    fn point(workload: &str) -> PlanPoint {
        let text = format!("name: t\ndescription: d.\nworkload:\n  partitions: 2\n{workload}");
        scenario::parse(&text, "inline").unwrap().plan(Profile::Standard).unwrap().points.remove(0)
    }

    fn summary(records: u64, source_bytes: u64) -> RunSummary {
        RunSummary { records, source_bytes, stored_bytes: 1, duration_secs: 1.0, ..RunSummary::default() }
    }

    #[test]
    fn workloads_map_onto_the_load_generator() {
        let p =
            load_params(&point("  message_size: 1KiB\n  payload: text\n  keys: random\n  volume: 64MiB\n")).unwrap();
        assert_eq!((p.spec.payload, p.spec.keys, p.spec.headers), (Payload::Text, KeyMode::Random, 0));
        assert_eq!(p.spec.message_size, MessageSize::Fixed { bytes: 1024 });
        assert_eq!(p.limits, load::Limits::bytes(64 << 20));

        let w = "  message_size: {lognormal: {median: 2KiB, sigma: 1.5, min: 1KiB, max: 5MiB}}\n  payload: avro\n  \
                 keys: sequential\n  headers: 3\n  duration: 30s\n  rate: 10MB/s\n  seed: 9\n";
        let p = load_params(&point(w)).unwrap();
        assert_eq!(
            (p.spec.payload, p.spec.keys, p.spec.headers, p.spec.seed),
            (Payload::Avro, KeyMode::Sequential, 3, 9)
        );
        let size = MessageSize::Lognormal { median_bytes: 2048, sigma: 1.5, min_bytes: 1024, max_bytes: 5 << 20 };
        assert_eq!(p.spec.message_size, size);
        assert_eq!(p.limits.duration, Some(Duration::from_secs(30)));
        assert_eq!(p.limits.bytes_per_sec, Some(10e6));
    }

    #[test]
    fn consistency_checks_decide_the_verdict() {
        let produced = Throughput { records: 10, bytes: 1000, secs: 1.0, mb_s: 0.001 };
        let mut state = RepeatState { produced: Some(produced), ..RepeatState::default() };
        assert!(!state.verification().checked, "nothing to compare yet");
        state.backup = Some(summary(10, 1000));
        state.restore = Some(summary(10, 1000));
        let v = state.verification();
        assert!(v.checked && v.passed, "{}", v.detail);

        state.restore = Some(summary(9, 900));
        let v = state.verification();
        assert!(v.checked && !v.passed);
        assert!(v.detail.contains("backed up = restored: 10 ≠ 9 records"), "{}", v.detail);

        state.restore = Some(summary(10, 1000));
        state.comparison = Some(Comparison {
            backup_topic: "t".into(),
            live_topic: "t-restored".into(),
            equal: false,
            partitions: vec![PartitionComparison {
                partition: 1,
                backup_records: 5,
                live_records: 5,
                backup_digest: "a".into(),
                live_digest: "b".into(),
                first_difference: Some(Difference {
                    index: 3,
                    backup_offset: Some(3),
                    live_offset: Some(3),
                    field: "value".into(),
                }),
            }],
        });
        let v = state.verification();
        assert!(!v.passed && v.detail.contains("partition 1"), "{}", v.detail);

        let failed = RepeatState { failures: vec!["kbackup backup failed".into()], ..RepeatState::default() };
        assert!(failed.verification().checked && !failed.verification().passed);
    }

    #[test]
    fn missed_rates_warn() {
        let p = point("  message_size: 1KiB\n  payload: json\n  volume: 1MB\n  rate: 10MB/s\n");
        let slow = Throughput { records: 1, bytes: 50_000_000, secs: 10.0, mb_s: 5.0 };
        assert!(matches!(rate_warning(&p, &slow), Some(Warning::RateNotReached { .. })));
        let fine = Throughput { mb_s: 9.5, ..slow };
        assert_eq!(rate_warning(&p, &fine), None);
        let short = Throughput { secs: 1.0, ..slow };
        assert_eq!(rate_warning(&p, &short), None, "too short to judge");
    }
}
