//! `kbackup`: the command line. Parses arguments, sets up tracing and progress, calls the library.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use engine::config::{self, BackupMode, Plan, human_bytes};
use engine::manifest::{self, Layout};
use engine::progress::{Command as RunCommand, Progress, ProgressLine};
use engine::store::Store;
use engine::{backup, catalog, delete, metrics, probe, restore, schema, verify};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// Back up Kafka topics into compressed, checksummed segments on S3 or a filesystem, and restore them.
///
/// Every command reads one YAML config file (see examples/ in the repository). Exit codes:
/// 0 success, 1 verification found a difference or damage, 2 error.
#[derive(Parser)]
#[command(
    name = "kbackup",
    version,
    after_help = "Examples:\n  kbackup backup  -c examples/backup.yaml\n  kbackup restore -c examples/restore.yaml\n  kbackup verify  -c examples/restore.yaml --against orders.eu.restored\n  kbackup verify  -c examples/backup.yaml --integrity --json"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Config file (YAML). `${VAR}` and `${VAR:-default}` are expanded from the environment.
    #[arg(short, long, global = true, env = "KBACKUP_CONFIG")]
    config: Option<PathBuf>,
    /// Print a machine-readable JSON summary on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    metrics: MetricsOptions,
    /// When stderr is not a terminal (where a progress bar is drawn instead), write the
    /// backup's or restore's progress to stderr twice a second as one JSON line each:
    /// {"schema_version":2,"progress":{"command":"backup","records":N,"bytes":N,"expected_records":N}}.
    /// For scripts and the benchmark harness, which show live MB/s from it.
    #[arg(long, global = true)]
    progress_json: bool,
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// `--metrics-listen` and what its `/ready` checks.
#[derive(clap::Args)]
struct MetricsOptions {
    /// Serve Prometheus metrics at http://ADDR/metrics, and /health and /ready, while a backup
    /// or restore runs. A bare port (9464 or :9464) listens on 127.0.0.1 only; give an address
    /// to expose it (0.0.0.0:9464). The metrics are listed in docs/metrics.md.
    #[arg(long = "metrics-listen", global = true, value_name = "ADDR", env = "KBACKUP_METRICS_LISTEN")]
    listen: Option<String>,
    /// Continuous backup: /ready fails (503) once a partition's records have waited longer than
    /// this for a durable checkpoint (e.g. 90s, 5m; a bare number is seconds). Default
    /// 2 x backup.segment_max_age + 30s.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_seconds_arg)]
    ready_max_checkpoint_age: Option<Duration>,
}

#[derive(Subcommand)]
enum Command {
    /// Back up the selected topics up to their current end, then exit (snapshot mode, the
    /// default); or with --continuous (or `backup.mode: continuous`), follow them until stopped.
    /// Re-running resumes from the checkpoints. Continuous runs join the consumer group
    /// `backup.group_id` (default kbackup.<backup_id>): start more instances with the same config
    /// and the group splits the partitions between them (`backup.coordination`).
    Backup {
        /// Follow new records, topics and partitions until SIGTERM or Ctrl-C, rolling segments at
        /// backup.segment_max_bytes or backup.segment_max_age; overrides backup.mode. A stop
        /// flushes and checkpoints every open segment and exits 0.
        #[arg(long)]
        continuous: bool,
        /// Continuous mode: how long a stop may take to flush and checkpoint every open segment
        /// (e.g. 30s, 2m; a bare number is seconds). Past it, kbackup exits 2 naming the
        /// partitions not flushed; nothing past their last checkpoint is recorded. Default 30s.
        #[arg(long, value_name = "DURATION", value_parser = parse_seconds_arg)]
        shutdown_timeout: Option<Duration>,
    },
    /// Restore a backup into a cluster (topics created as needed; refuses non-empty targets).
    /// Interrupted or killed, the same command resumes where the target stands.
    Restore {
        /// Skip the pre-flight check (chains, headers, footers, indexes) that runs before anything
        /// is produced; each block's checksum is still checked as it is restored.
        #[arg(long, conflicts_with = "full_check")]
        skip_integrity_check: bool,
        /// Read and check every block before producing anything, so a damaged backup produces
        /// nothing at all (reads the backup twice). Without it a damaged block stops the restore
        /// where it is found, naming the object and its offsets.
        #[arg(long)]
        full_check: bool,
    },
    /// Check a backup: every checksum (--integrity) or record by record against a topic (--against).
    Verify {
        /// Re-read every segment and check checksums, index and manifest.
        #[arg(long, required_unless_present = "against")]
        integrity: bool,
        /// Compare the backup with this live topic (the source or a restored copy).
        #[arg(long, value_name = "TOPIC")]
        against: Option<String>,
        /// Topic in the backup to compare (default: the backup's only topic, or the one mapped to TOPIC).
        #[arg(long, value_name = "TOPIC", requires = "against")]
        topic: Option<String>,
    },
    /// List the backups in the configured storage.
    List,
    /// Show what the configured backup holds, partition by partition.
    Describe,
    /// Delete one backup from the configured storage: every object under `<prefix>/<ID>/`
    /// and its unfinished uploads, nothing else. With --redundant, only the manifest entries
    /// (and their segments) whose offsets the backup's chain holds already. Without --yes, only
    /// shows what it would delete.
    #[command(
        after_help = "Examples:\n  kbackup delete -c examples/backup.yaml --backup-id nightly-2024-01-01 --yes\n  kbackup delete -c examples/backup.yaml --redundant --yes"
    )]
    Delete {
        /// The backup to delete (required even when the config names one, so a config
        /// file alone never deletes a backup); with --redundant, defaults to the config's.
        #[arg(long, value_name = "ID", required_unless_present = "redundant")]
        backup_id: Option<String>,
        /// Delete only redundant entries: those left by a writer that lost its partition, whose
        /// offsets other entries hold (`verify --integrity` lists them). Restores are unchanged.
        #[arg(long)]
        redundant: bool,
        /// Really delete; without it, the command reports what it would delete and exits 0.
        #[arg(long)]
        yes: bool,
    },
    /// Consumer-group offsets of the backup (captured with backup.consumer_groups).
    #[command(subcommand)]
    Offsets(OffsetsCommand),
    /// Measure how fast the configured storage accepts uploads: the ceiling for backup.
    ///
    /// Streams incompressible bytes through the same multipart writer a backup uses (part size and
    /// parts in flight from the config) under `<backup_id>/_probe/`, then deletes them.
    ProbeStorage {
        /// Bytes to upload in all (e.g. 256MiB, 1GiB).
        #[arg(long, default_value = "256MiB", value_parser = parse_size_arg)]
        size: u64,
        /// Concurrent uploads (a backup uploads one segment per partition at once).
        #[arg(long, default_value_t = 1)]
        streams: usize,
    },
}

#[derive(Subcommand)]
enum OffsetsCommand {
    /// Print the offsets `kbackup restore` with this config would commit for the groups of
    /// restore.consumer_groups: group, source topic, partition and offset, target topic, partition
    /// and offset. Reads the backup (only the blocks that hold a committed offset) and the target's
    /// watermarks; writes nothing. Targets that do not exist yet are taken as starting at 0.
    #[command(after_help = "Example:\n  kbackup offsets plan -c examples/restore.yaml --json")]
    Plan,
}

fn parse_size_arg(text: &str) -> Result<u64, String> {
    config::parse_size(text)
}

fn parse_seconds_arg(text: &str) -> Result<Duration, String> {
    config::parse_duration(text, 1000)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes in one line, each cause only if the text so far does not already say
/// it (our messages embed the librdkafka or SDK error, which is also their `source`).
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.is_empty() {
            text = cause;
        } else if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let path = cli.config.context("no config file: pass -c FILE (or set KBACKUP_CONFIG)")?;
    let mut plan = config::load(&path)?;
    let cancel = CancellationToken::new();
    watch_signals(cancel.clone());
    match cli.command {
        Command::Backup { continuous, shutdown_timeout } => {
            if continuous {
                plan.backup.mode = BackupMode::Continuous;
            }
            if let Some(timeout) = shutdown_timeout {
                plan.backup.shutdown_timeout = timeout;
            }
            let progress = Arc::new(Progress::default());
            start_metrics(&cli.metrics, RunCommand::Backup, &plan, &progress).await?;
            let bar = spawn_bar(progress.clone(), RunCommand::Backup, cli.progress_json);
            let summary = backup::run(&plan, cancel.clone(), progress).await;
            bar.finish_and_clear();
            let summary = summary.context("backup failed")?;
            emit(cli.json, &summary, || summary.human())?;
            if plan.backup.mode == BackupMode::Continuous {
                // Stopping is how a continuous run ends: everything read is durable and checkpointed.
                eprintln!("stopped: every open segment was flushed and checkpointed");
            } else if cancel.is_cancelled() {
                eprintln!("interrupted: everything read so far is checkpointed; run the same command again to resume");
                return Ok(ExitCode::from(130));
            }
        }
        Command::Restore { skip_integrity_check, full_check } => {
            let check = match (skip_integrity_check, full_check) {
                (true, _) => restore::PreCheck::Skip,
                (_, true) => restore::PreCheck::Full,
                _ => restore::PreCheck::Structure,
            };
            let progress = Arc::new(Progress::default());
            start_metrics(&cli.metrics, RunCommand::Restore, &plan, &progress).await?;
            let bar = spawn_bar(progress.clone(), RunCommand::Restore, cli.progress_json);
            let summary = restore::run(&plan, cancel, progress, check).await;
            bar.finish_and_clear();
            let summary = summary.context("restore failed")?;
            emit(cli.json, &summary, || summary.human())?;
        }
        Command::Offsets(OffsetsCommand::Plan) => {
            let offsets = restore::plan_offsets(&plan).await.context("offsets plan failed")?;
            emit(cli.json, &offsets, || offsets.human())?;
        }
        Command::Verify { integrity, against, topic } => {
            return verify_command(&plan, cli.json, integrity, against, topic).await;
        }
        Command::List => {
            let store = Store::open(&plan.storage).await?;
            let list = catalog::BackupList { store: store.describe(), backups: catalog::list(&store).await? };
            emit(cli.json, &list, || {
                let mut lines = vec![format!("{} backups in {}", list.backups.len(), list.store)];
                lines.extend(
                    list.backups.iter().map(|b| format!("{}\t{} topics\t{}", b.backup_id, b.topics.len(), b.tool)),
                );
                lines.join("\n")
            })?;
        }
        Command::ProbeStorage { size, streams } => {
            let report = probe::put_throughput(&plan, size, streams).await.context("storage probe failed")?;
            emit(cli.json, &report, || {
                format!(
                    "{} uploaded to {} in {:.2} s over {} stream(s): {:.1} MB/s (parts of {}, {} in flight)",
                    human_bytes(report.bytes),
                    report.store,
                    report.duration_secs,
                    report.streams,
                    report.mb_per_sec,
                    human_bytes(report.part_size as u64),
                    report.max_inflight_parts
                )
            })?;
        }
        Command::Describe => {
            let store = Store::open(&plan.storage).await?;
            let description = catalog::describe(&store, &plan.backup_id).await?;
            emit(cli.json, &description, || describe_text(&description))?;
        }
        Command::Delete { backup_id, redundant: true, yes } => {
            let store = Store::open(&plan.storage).await?;
            let id = backup_id.unwrap_or_else(|| plan.backup_id.clone());
            let report = delete::delete_redundant(&store, &id, !yes).await?;
            emit(cli.json, &report, || report.human())?;
        }
        Command::Delete { backup_id, redundant: false, yes } => {
            let store = Store::open(&plan.storage).await?;
            let id = backup_id.context("--backup-id ID is required (a config file alone never deletes a backup)")?;
            let report = delete::delete(&store, &id, !yes).await?;
            emit(cli.json, &report, || report.human())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify_command(
    plan: &Plan,
    json: bool,
    integrity: bool,
    against: Option<String>,
    topic: Option<String>,
) -> Result<ExitCode> {
    let store = Store::open(&plan.storage).await?;
    let layout = Layout::new(&plan.backup_id);
    let info = manifest::read_info(&store, &layout, &plan.backup_id).await?;
    let chains = manifest::read_chains(&store, &layout).await?;
    let mut ok = true;
    if integrity {
        let report = verify::integrity(&store, &layout, &chains, verify::Scope::Everything).await?;
        ok &= report.problems.is_empty();
        emit(json, &report, || integrity_text(&report))?;
    }
    if let Some(live) = against {
        let backup_topic = match topic {
            Some(t) => t,
            None => pick_backup_topic(plan, &info.topics, &live)?,
        };
        let Some(&partitions) = info.topics.get(&backup_topic) else {
            bail!(
                "topic '{backup_topic}' is not in backup '{}' (it has: {:?})",
                plan.backup_id,
                info.topics.keys().collect::<Vec<_>>()
            );
        };
        let comparison = verify::against(plan, &store, &chains, partitions, &backup_topic, &live).await?;
        ok &= comparison.equal;
        emit(json, &comparison, || comparison_text(&comparison))?;
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn pick_backup_topic(plan: &Plan, topics: &std::collections::BTreeMap<String, i32>, live: &str) -> Result<String> {
    if topics.contains_key(live) {
        return Ok(live.to_string());
    }
    if let Some((source, _)) = plan.restore.topic_mapping.iter().find(|(_, target)| target.as_str() == live) {
        return Ok(source.clone());
    }
    if topics.len() == 1 {
        return Ok(topics.keys().next().cloned().unwrap_or_default());
    }
    bail!("the backup holds several topics; name the one to compare with --topic")
}

fn integrity_text(report: &verify::IntegrityReport) -> String {
    let mut text = format!(
        "integrity: {} segments, {} records, {} read; {} problems, {} orphaned segments, {} redundant entries",
        report.segments,
        report.records,
        human_bytes(report.bytes),
        report.problems.len(),
        report.orphans.len(),
        report.redundant.len()
    );
    if !report.problems.is_empty() {
        text.push('\n');
        text.push_str(&report.problem_lines());
    }
    if !report.redundant.is_empty() {
        text.push_str(
            "\nredundant entries (harmless: their offsets are in the chain, they are never restored; \
             `kbackup delete --redundant --yes` removes them):\n",
        );
        text.push_str(&report.redundant_lines());
    }
    if !report.stranded.is_empty() {
        let keys: Vec<&str> = report.stranded.iter().map(|e| e.key.as_str()).collect();
        text.push_str(&format!("\nentries beside a hole, kept for repair: {}", keys.join(", ")));
    }
    text
}

fn comparison_text(c: &verify::Comparison) -> String {
    let mut lines = vec![format!(
        "{} (backup) vs {} (live): {}",
        c.backup_topic,
        c.live_topic,
        if c.equal { "EQUAL" } else { "DIFFERENT" }
    )];
    for p in &c.partitions {
        let status = match &p.first_difference {
            None => "equal".to_string(),
            Some(d) => format!(
                "first difference at record #{} ({}; backup offset {:?}, live offset {:?})",
                d.index, d.field, d.backup_offset, d.live_offset
            ),
        };
        lines.push(format!(
            "  partition {}: {} backup / {} live records, digest {} / {}: {status}",
            p.partition, p.backup_records, p.live_records, p.backup_digest, p.live_digest
        ));
    }
    lines.join("\n")
}

fn describe_text(d: &catalog::Description) -> String {
    let mut lines = vec![format!("backup {} ({}, codec {})", d.info.backup_id, d.info.tool, d.info.codec)];
    for (topic, partitions) in &d.topics {
        lines.push(format!("topic {topic}: {} partitions", partitions.len()));
        for p in partitions {
            lines.push(format!(
                "  {}: offsets {}..{}, {} records in {} segments, {} stored ({} of data){}{}",
                p.partition,
                p.chain_start.map_or("-".to_string(), |o| o.to_string()),
                p.next_offset,
                p.records,
                p.segments,
                human_bytes(p.stored_bytes),
                human_bytes(p.source_bytes),
                if p.gaps.is_empty() { String::new() } else { format!(", gaps {:?}", p.gaps) },
                chain_notes(p)
            ));
        }
    }
    lines.push(completeness_text(&d.completeness));
    lines.join("\n")
}

/// Whether every partition reached a snapshot run's end, in one line.
fn completeness_text(c: &engine::completion::Completeness) -> String {
    match (c.complete, c.complete_as_of_ms) {
        (true, Some(ms)) => {
            let age = (engine::manifest::now_ms() - ms).max(0) / 1000;
            let ago = match age {
                0..60 => format!("{age}s"),
                60..3600 => format!("{}m {}s", age / 60, age % 60),
                _ => format!("{}h {}m", age / 3600, age % 3600 / 60),
            };
            format!("complete: every partition reached the end of a snapshot run (the oldest {ago} ago)")
        }
        (true, None) => "complete: the backup lists no partition".to_string(),
        (false, _) => format!(
            "NOT complete: {} partitions have not reached the end of a snapshot run: {} (run `kbackup backup` again; a continuous backup is never complete, see its recovery point)",
            c.incomplete.len(),
            c.incomplete.join(", ")
        ),
    }
}

/// Redundant entries and holes of a partition's chain, if any.
fn chain_notes(p: &catalog::PartitionHoldings) -> String {
    let mut notes = String::new();
    if p.redundant_entries > 0 {
        notes.push_str(&format!(
            ", {} redundant entries ({}; `kbackup delete --redundant --yes` removes them)",
            p.redundant_entries,
            human_bytes(p.redundant_bytes)
        ));
    }
    if !p.holes.is_empty() {
        notes.push_str(&format!(", HOLES {:?} (damage: see `kbackup verify --integrity`)", p.holes));
    }
    notes
}

/// Prints a command's result on stdout.
fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) -> Result<()> {
    let text = if json { schema::to_json(value, true)? } else { human() };
    match writeln!(std::io::stdout().lock(), "{text}") {
        // The reader took what it wanted (`kbackup list | head -1`): not an error, and the exit
        // code still says how the command went (1 for a failed verify, 130 when interrupted).
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("writing to stdout"),
    }
}

/// Ctrl-C or SIGTERM asks every task to flush, checkpoint and stop.
fn watch_signals(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else { return };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping: flushing and checkpointing…");
        cancel.cancel();
    });
}

/// Starts the metrics, health and readiness endpoint when asked; it lives as long as the
/// process, so scrapes keep working while an interrupted run flushes and checkpoints.
async fn start_metrics(
    options: &MetricsOptions,
    command: RunCommand,
    plan: &Plan,
    progress: &Arc<Progress>,
) -> Result<()> {
    let Some(addr) = options.listen.as_deref() else { return Ok(()) };
    let registry = metrics::registry(command, &plan.backup_id, progress.clone());
    let readiness =
        metrics::ready::Readiness::new(plan, command, progress.clone(), options.ready_max_checkpoint_age).await?;
    let bound = metrics::http::serve(addr, registry, readiness).await?;
    eprintln!("metrics: http://{bound}/metrics (and /health, /ready)");
    Ok(())
}

/// A progress bar on stderr when it is a terminal; otherwise hidden, with JSON progress
/// lines instead when `json_lines` asks for them.
fn spawn_bar(progress: Arc<Progress>, command: RunCommand, json_lines: bool) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        let bar = ProgressBar::hidden();
        if json_lines {
            spawn_json_lines(progress, command, bar.clone());
        }
        return bar;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} records {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(match command {
        RunCommand::Backup => "backup",
        RunCommand::Restore => "restore",
    });
    let ticker = bar.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        while !ticker.is_finished() {
            ticker.set_length(progress.expected_records().max(progress.records()));
            ticker.set_position(progress.records());
            let rate = progress.bytes() as f64 / 1e6 / started.elapsed().as_secs_f64().max(1e-3);
            ticker.set_message(format!("{} · {rate:.1} MB/s", human_bytes(progress.bytes())));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    bar
}

/// Writes a progress line to stderr every 500 ms until `bar` is finished.
fn spawn_json_lines(progress: Arc<Progress>, command: RunCommand, bar: ProgressBar) {
    tokio::spawn(async move {
        while !bar.is_finished() {
            eprintln!("{}", ProgressLine::render(command, &progress));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn error_text_says_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("transport failure")]
        struct Root;
        #[derive(Debug, thiserror::Error)]
        #[error("metadata failed: {source} (check kafka.bootstrap_servers)")]
        struct Wrapped {
            source: Root,
        }
        let error = anyhow::Error::new(Wrapped { source: Root }).context("backup failed");
        assert_eq!(
            error_text(&error),
            "backup failed: metadata failed: transport failure (check kafka.bootstrap_servers)"
        );
        let plain = anyhow::Error::new(Root).context("restore failed");
        assert_eq!(error_text(&plain), "restore failed: transport failure");
    }
}
