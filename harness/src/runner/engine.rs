//! Running `kbackup`: config files built from a plan point's engine overrides, the child
//! process sampled from /proc, and its `--json` summary parsed.

use super::sampler::Sampler;
use crate::env::Services;
use crate::report::{EngineMetrics, LatencyPercentiles};
use crate::scenario::EngineOverride;
use crate::scenario::engine_config::{scalar_json, set_dotted, tansu_overrides};
use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

// The documents kbackup prints are the engine crate's own types, read through its schema check.
pub use ::engine::probe::ProbeReport;
pub use ::engine::summary::{LatencySummary as Latency, RunSummary};
pub use ::engine::verify::{Comparison, PartitionComparison};

impl From<Latency> for LatencyPercentiles {
    fn from(l: Latency) -> Self {
        LatencyPercentiles { p50: l.p50, p90: l.p90, p99: l.p99, p999: l.p999, max: l.max }
    }
}

/// What one engine phase needs to know about the run.
#[derive(Clone, Debug)]
pub struct EngineJob<'a> {
    /// The kbackup binary.
    pub kbackup: &'a Path,
    /// Services to talk to.
    pub services: &'a Services,
    /// Backup id (unique per repeat).
    pub backup_id: &'a str,
    /// Source topic.
    pub topic: &'a str,
    /// Restore target topic.
    pub restored_topic: &'a str,
    /// Storage prefix.
    pub prefix: &'a str,
    /// The point's engine overrides, applied last.
    pub overrides: &'a [EngineOverride],
    /// Directory for configs and logs of this repeat.
    pub run_dir: &'a Path,
}

/// The kbackup configuration for one repeat: connection, topic selection, restore
/// mapping, then the scenario's overrides. Credentials are not included; they reach the
/// child through its environment. JSON is valid YAML, so it is written as JSON.
pub fn engine_config(job: &EngineJob<'_>) -> Value {
    let s = job.services;
    let mut root = Map::new();
    set_dotted(&mut root, "backup_id", job.backup_id.into());
    set_dotted(&mut root, "kafka.bootstrap_servers", s.bootstrap.clone().into());
    // Topic names here are [A-Za-z0-9_-]: no regex metacharacters.
    set_dotted(&mut root, "kafka.topics.include", Value::Array(vec![job.topic.into()]));
    if s.tansu {
        for o in tansu_overrides() {
            set_dotted(&mut root, &o.key, scalar_json(&o.value));
        }
    }
    set_dotted(&mut root, "storage.type", "s3".into());
    set_dotted(&mut root, "storage.bucket", s.s3_bucket.clone().into());
    set_dotted(&mut root, "storage.region", s.s3_region.clone().into());
    if let Some(endpoint) = &s.s3_endpoint {
        set_dotted(&mut root, "storage.endpoint", endpoint.clone().into());
        set_dotted(&mut root, "storage.path_style", true.into());
    }
    set_dotted(&mut root, "storage.prefix", job.prefix.into());
    let mut mapping = Map::new();
    mapping.insert(job.topic.to_owned(), job.restored_topic.into());
    set_dotted(&mut root, "restore.topic_mapping", Value::Object(mapping));
    set_dotted(&mut root, "restore.replication_factor", 1.into());
    for o in job.overrides {
        set_dotted(&mut root, &o.key, scalar_json(&o.value));
    }
    Value::Object(root)
}

/// Writes the config into the run directory and returns its path.
pub fn write_config(job: &EngineJob<'_>) -> Result<PathBuf> {
    write_config_named(job, "kbackup.yaml", &engine_config(job))
}

/// Writes `config` as `name` into the run directory and returns its path.
pub fn write_config_named(job: &EngineJob<'_>, name: &str, config: &Value) -> Result<PathBuf> {
    std::fs::create_dir_all(job.run_dir).with_context(|| format!("creating {}", job.run_dir.display()))?;
    let path = job.run_dir.join(name);
    let text = serde_json::to_string_pretty(config)? + "\n";
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A finished kbackup run.
#[derive(Debug)]
pub struct EngineRun {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output (the JSON summary).
    pub stdout: String,
    /// Where standard error went.
    pub log: PathBuf,
    /// Process measurements.
    pub metrics: EngineMetrics,
    /// Wall-clock seconds from spawn to exit.
    pub wall_secs: f64,
}

impl EngineRun {
    /// `exit 2` or `a signal`, for messages.
    pub fn exit(&self) -> String {
        self.code.map_or_else(|| "a signal".to_owned(), |c| format!("exit {c}"))
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Parses stdout as `T` (checking its `schema_version`), or explains why the run produced
    /// no summary.
    pub fn parse<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        let origin = format!("kbackup {what} --json");
        ::engine::schema::from_json(self.stdout.trim(), &origin).with_context(|| {
            format!(
                "kbackup {what} exited with {} and printed no valid JSON summary; log {}:\n{}",
                self.exit(),
                self.log.display(),
                self.log_tail()
            )
        })
    }
}

/// Pids of the kbackup children running right now, for the signal handler.
static RUNNING_CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// Set by [`interrupt`]: no further kbackup process is started.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    RUNNING_CHILDREN.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// For signal handlers: sends SIGTERM to every kbackup child running right now and keeps any
/// further one from running, so an interrupted run leaves no engine behind.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    for pid in children().drain(..) {
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
    }
}

/// Whether [`interrupt`] was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Source bytes the kbackup children of this process have reported so far (from their
/// `--progress-json` lines), for live progress bars only.
pub static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);

/// The `bytes` of a `kbackup --progress-json` line; `None` for any other line.
pub fn progress_bytes(line: &str) -> Option<u64> {
    ::engine::progress::ProgressLine::parse(line).map(|l| l.progress.bytes)
}

/// Called with every log line of a child (progress lines excepted), as it is written.
pub type LineHook = Box<dyn FnMut(&str) + Send>;

/// Copies the child's stderr into `log`, except the progress lines, which feed
/// [`LIVE_BYTES`] instead of filling the log; every other line also goes to `hook`.
fn pump_stderr(stderr: impl Read, mut log: std::fs::File, mut hook: Option<LineHook>) -> std::io::Result<()> {
    let mut seen = 0u64;
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        match progress_bytes(&line) {
            Some(bytes) => {
                LIVE_BYTES.fetch_add(bytes.saturating_sub(seen), Ordering::Relaxed);
                seen = seen.max(bytes);
            }
            None => {
                writeln!(log, "{line}")?;
                if let Some(hook) = hook.as_mut() {
                    hook(&line);
                }
            }
        }
    }
    log.flush()
}

/// A kbackup child that is running: sampled from /proc, its stderr copied into its log and its
/// stdout collected, until [`RunningKbackup::wait`].
pub struct RunningKbackup {
    child: std::process::Child,
    sampler: Sampler,
    pump: Option<JoinHandle<std::io::Result<()>>>,
    stdout: Option<JoinHandle<std::io::Result<String>>>,
    log: PathBuf,
    started: Instant,
}

/// Starts `kbackup <args> -c CONFIG --json --progress-json` with its log in
/// `<run_dir>/<name>.log`; `hook` sees every log line. Set `NO_COLOR` so log lines are plain.
pub fn spawn_kbackup(
    job: &EngineJob<'_>,
    config: &Path,
    name: &str,
    args: &[&str],
    hook: Option<LineHook>,
) -> Result<RunningKbackup> {
    let log = job.run_dir.join(format!("{name}.log"));
    let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let started = Instant::now();
    let mut child = Command::new(job.kbackup)
        .args(args)
        .arg("-c")
        .arg(config)
        .args(["--json", "--progress-json"])
        .envs(job.services.child_env())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", job.kbackup.display()))?;
    children().push(child.id());
    if INTERRUPTED.load(Ordering::SeqCst) {
        let _ = child.kill();
    }
    let sampler = Sampler::start(child.id());
    let pump = child.stderr.take().map(|stderr| std::thread::spawn(move || pump_stderr(stderr, log_file, hook)));
    let stdout = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut text = String::new();
            out.read_to_string(&mut text).map(|_| text)
        })
    });
    Ok(RunningKbackup { child, sampler, pump, stdout, log, started })
}

impl RunningKbackup {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `KILL`) to the process.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status();
        anyhow::ensure!(status.is_ok_and(|s| s.success()), "kill -{signal} {} failed", self.pid());
        Ok(())
    }

    /// Whether the process has exited (it may not be reaped yet).
    pub fn exited(&self) -> bool {
        procfs::process::Process::new(self.pid() as i32)
            .and_then(|p| p.stat())
            .map_or(true, |stat| stat.state == 'Z' || stat.state == 'X')
    }

    /// Waits for the process to exit and returns what it did.
    pub fn wait(mut self) -> Result<EngineRun> {
        let stdout = self.stdout.take().map(|h| h.join().map_err(|_| anyhow::anyhow!("the stdout reader panicked")));
        let read_failed = matches!(stdout, Some(Ok(Err(_))) | Some(Err(_)));
        // The sampler ends when the child is a zombie; only then is it reaped.
        let metrics = self.sampler.finish(read_failed);
        let pid = self.child.id();
        children().retain(|p| *p != pid);
        let status = self.child.wait().context("waiting for kbackup")?;
        let wall_secs = self.started.elapsed().as_secs_f64();
        let stdout = match stdout {
            Some(joined) => joined?.context("reading kbackup output")?,
            None => String::new(),
        };
        if let Some(pump) = self.pump.take() {
            let copied = pump.join().map_err(|_| anyhow::anyhow!("the kbackup log copier panicked"))?;
            copied.with_context(|| format!("writing {}", self.log.display()))?;
        }
        Ok(EngineRun { code: status.code(), stdout, log: self.log, metrics, wall_secs })
    }
}

/// Runs `kbackup <args> -c CONFIG --json --progress-json`, sampling it until it exits.
pub fn run_kbackup(job: &EngineJob<'_>, config: &Path, name: &str, args: &[&str]) -> Result<EngineRun> {
    spawn_kbackup(job, config, name, args, None)?.wait()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scalar;

    #[test]
    fn config_has_connection_mapping_and_overrides() {
        let services = Services {
            bootstrap: "127.0.0.1:9".into(),
            s3_endpoint: Some("http://127.0.0.1:8".into()),
            s3_bucket: "b".into(),
            s3_region: "garage".into(),
            access_key_id: Some("id".into()),
            secret_access_key: Some("secret".into()),
            tansu: true,
        };
        let overrides = vec![
            EngineOverride { key: "backup.compression".into(), value: Scalar::Str("lz4".into()) },
            EngineOverride { key: "kafka.fetch_max_wait_ms".into(), value: Scalar::Int(5) },
        ];
        let job = EngineJob {
            kbackup: Path::new("kbackup"),
            services: &services,
            backup_id: "id-1",
            topic: "t",
            restored_topic: "t-restored",
            prefix: "kbh",
            overrides: &overrides,
            run_dir: Path::new("/nonexistent"),
        };
        let config = engine_config(&job);
        assert_eq!(config["backup"]["compression"], "lz4");
        assert_eq!(config["backup"]["resume"], "rescan");
        assert_eq!(config["kafka"]["fetch_max_wait_ms"], 5);
        assert_eq!(config["restore"]["topic_mapping"]["t"], "t-restored");
        assert_eq!(config["storage"]["endpoint"], "http://127.0.0.1:8");
        assert!(!config.to_string().contains("secret"), "credentials stay out of config files");
    }

    #[test]
    fn progress_lines_feed_the_counter_and_stay_out_of_the_log() {
        let line =
            r#"{"schema_version":2,"progress":{"bytes":2041371,"command":"backup","expected_records":9,"records":3}}"#;
        assert_eq!(progress_bytes(line), Some(2_041_371));
        assert_eq!(progress_bytes("2024-01-01T00:00:00Z  WARN kbackup: slow"), None);
        assert_eq!(progress_bytes(r#"{"records": 3}"#), None);

        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("backup.log");
        let text = format!("{line}\nfirst log line\n{}\nlast\n", line.replace("2041371", "3000000"));
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        pump_stderr(text.as_bytes(), std::fs::File::create(&log).unwrap(), None).unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "first log line\nlast\n");
        // Other tests may add to the shared counter at the same time: at least this run's 3 MB.
        assert!(LIVE_BYTES.load(Ordering::Relaxed) - before >= 3_000_000);
    }
}
