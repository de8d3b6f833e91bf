//! Metrics and health (issue 12 §3) of real runs against the real broker and store: every name
//! `docs/metrics.md` documents is in a live scrape of a continuous backup (and of a restore),
//! `/health` and `/ready` answer 200, and `/ready` fails naming the partition whose records wait
//! too long for a checkpoint.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Generous: tansu and the test build on a shared two-core machine.
const WAIT: Duration = Duration::from_secs(90);

/// The documented names for one command: `kafka_backup_` or `kafka_restore_`, and `kbackup_info`.
fn documented(prefix: &str) -> Vec<String> {
    let names = engine::metrics::documented_names(include_str!("../../docs/metrics.md"));
    assert!(names.len() >= 15, "docs/metrics.md lost its table: {names:?}");
    names.into_iter().filter(|n| n.starts_with(prefix) || n == "kbackup_info").collect()
}

/// Names in `documented` with no sample in `scraped` (a histogram counts through its `_count`).
fn missing(scraped: &str, documented: &[String]) -> Vec<String> {
    let samples: Vec<&str> = scraped.lines().filter(|l| !l.starts_with('#')).collect();
    documented
        .iter()
        .filter(|name| {
            let count = format!("{name}_count");
            !samples.iter().any(|l| {
                let series = l.split(['{', ' ']).next().unwrap_or("");
                series == name.as_str() || series == count
            })
        })
        .cloned()
        .collect()
}

/// The value of the unlabelled series `name`.
fn value(scraped: &str, name: &str) -> Option<f64> {
    scraped.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// `GET path` on `addr`: the status code and body, `None` while nothing answers.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// A kbackup in the background; stderr goes to a file so a chatty run never blocks on a full pipe.
struct Running {
    child: Child,
    stderr: PathBuf,
}

impl Running {
    fn start(config: &Path, dir: &Path, args: &[&str]) -> Running {
        let stderr = dir.join(format!("kbackup-{}.stderr", args[0]));
        let child = Command::new(env!("CARGO_BIN_EXE_kbackup"))
            .args(args)
            .arg("-c")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Running { child, stderr }
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Polls `check` every 100 ms until it yields; fails with `what` after [`WAIT`] or if the run exits.
    fn wait_for<T>(&mut self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = check() {
                return found;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{what}: kbackup exited ({status}) first; stderr: {}", self.stderr_text());
            }
            assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}; stderr: {}", self.stderr_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then the exit status and stderr.
    fn stop(mut self) -> (ExitStatus, String) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        (self.child.wait().unwrap(), self.stderr_text())
    }
}

/// A port-only `--metrics-listen` (":PORT", loopback by default) and the address to scrape.
fn loopback_port() -> (String, String) {
    let addr = free_local_addr();
    let port = addr.rsplit(':').next().unwrap().to_string();
    (format!(":{port}"), format!("127.0.0.1:{port}"))
}

/// A continuous backup to S3 exports every documented backup metric with live values, answers
/// /health and /ready with 200; a restore of it exports every documented restore metric.
#[test]
fn a_live_backup_and_restore_export_every_documented_metric() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("metrics");
    let restored = format!("{topic}-restored");
    create_topic(&env, &topic, 2);
    produce_bulk(&env, &topic, 2, 20_000, 1_000);
    let backup_id = unique("b");
    let extra = "  segment_max_age: 2s\n  metadata_refresh: 1s\n";
    let settings = Settings {
        storage: Storage::S3,
        mapping: Some((&topic, &restored)),
        segment_max_bytes: "4MiB",
        extra_backup: extra,
        ..Settings::new(&backup_id, &topic)
    };
    let config = write_config(&env, dir.path(), &settings);
    let (listen, addr) = loopback_port();
    let mut run = Running::start(&config, dir.path(), &["backup", "--continuous", "-v", "--metrics-listen", &listen]);
    let expected = documented("kafka_backup_");
    // Everything read and checkpointed: then every family has its samples (lag_bytes and the
    // recovery point appear with a partition's first block and checkpoint).
    let scraped = run.wait_for("every backup metric with a sample, all records checkpointed", || {
        let (status, text) = get(&addr, "/metrics")?;
        assert_eq!(status, 200, "{text}");
        (missing(&text, &expected).is_empty() && metric_sum(&text, "kafka_backup_checkpointed_offset") >= 20_000.0)
            .then_some(text)
    });
    assert_eq!(metric_sum(&scraped, "kafka_backup_records_total"), 20_000.0, "{scraped}");
    assert_eq!(metric_sum(&scraped, "kafka_backup_lag_records"), 0.0, "{scraped}");
    assert!(metric_sum(&scraped, "kafka_backup_compression_ratio") > 1.0, "JSON-like records compress: {scraped}");
    assert_eq!(value(&scraped, "kafka_backup_assigned_partitions"), Some(2.0), "{scraped}");
    assert!(scraped.contains(&format!("backup_id=\"{backup_id}\"")), "{scraped}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let recovery = metric_sum(&scraped, "kafka_backup_last_checkpoint_timestamp_seconds") / 2.0;
    assert!((now - recovery).abs() < 120.0, "recovery points are recent Unix seconds: {recovery} vs {now}");
    assert_eq!(get(&addr, "/health"), Some((200, "ok\n".to_string())));
    let (status, body) = get(&addr, "/ready").unwrap();
    assert_eq!(status, 200, "broker and store are up and everything is checkpointed: {body}");
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");

    let (listen, addr) = loopback_port();
    let mut restore = Running::start(&config, dir.path(), &["restore", "--metrics-listen", &listen]);
    let expected = documented("kafka_restore_");
    // The restore may finish between two scrapes: keep the last scrape taken while it ran.
    let mut last = None;
    let exit = loop {
        if let Some((200, text)) = get(&addr, "/metrics") {
            last = Some(text);
        }
        if let Some(status) = restore.child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(exit.success(), "{}", restore.stderr_text());
    let scraped = last.expect("the restore was scraped at least once while it ran");
    assert_eq!(missing(&scraped, &expected), Vec::<String>::new(), "{scraped}");
    assert!(scraped.contains("command=\"restore\""), "{scraped}");
}

/// /ready fails (503) naming the partition whose records have waited longer than
/// --ready-max-checkpoint-age for a durable checkpoint, while /health stays 200; a stop still
/// flushes and checkpoints them.
#[test]
fn ready_fails_naming_a_partition_whose_records_wait_too_long() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("stale");
    create_topic(&env, &topic, 1);
    produce_bulk(&env, &topic, 1, 2_000, 200);
    let backup_id = unique("b");
    // A long segment age: the records read stay in the open segment, not checkpointed.
    let extra = "  segment_max_age: 10m\n  metadata_refresh: 1s\n";
    let config = write_config(&env, dir.path(), &Settings { extra_backup: extra, ..Settings::new(&backup_id, &topic) });
    let (listen, addr) = loopback_port();
    let args = ["backup", "--continuous", "--metrics-listen", &listen, "--ready-max-checkpoint-age", "1s"];
    let mut run = Running::start(&config, dir.path(), &args);
    let body = run.wait_for("/ready answers 503", || match get(&addr, "/ready")? {
        (503, body) => Some(body),
        _ => None,
    });
    assert!(body.starts_with("not ready:"), "{body}");
    assert!(
        body.contains(&format!("- checkpoint: {topic}/0: ")) && body.contains("records read have waited"),
        "{body}"
    );
    assert!(body.contains("--ready-max-checkpoint-age"), "the body says what to do: {body}");
    assert!(!body.contains("- broker:") && !body.contains("- store:"), "{body}");
    assert_eq!(get(&addr, "/health"), Some((200, "ok\n".to_string())));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let integrity = json(kbackup(&config, &["verify", "--integrity", "--json"]));
    assert_eq!(integrity["records"].as_u64(), Some(2_000), "{integrity}");
}
