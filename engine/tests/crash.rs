//! `kill -9` in the middle of a backup, then a rerun: everything restores, nothing twice.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn kill_9_mid_backup_then_resume() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("crash");
    let restored = format!("{topic}-restored");
    create_topic(&env, &topic, 4);
    produce_bulk(&env, &topic, 4, 60_000, 1000);
    let backup_id = unique("b");
    let config = write_config(
        &env,
        dir.path(),
        &Settings { mapping: Some((&topic, &restored)), ..Settings::new(&backup_id, &topic) },
    );
    // The filesystem store makes "some checkpoints exist" observable without a client.
    let manifest_dir = dir.path().join("store").join(&backup_id).join("manifest");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kbackup"))
        .args(["backup", "-c"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let checkpoints = files_with_extension(&manifest_dir, "json").len();
        if checkpoints >= 3 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "backup finished before it could be killed; use more data");
        assert!(Instant::now() < deadline, "no checkpoints after 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let resumed = json(kbackup(&config, &["backup", "--json"]));
    assert!(resumed["records"].as_u64().unwrap() < 60_000, "the rerun resumed instead of starting over: {resumed}");
    let integrity = json(kbackup(&config, &["verify", "--integrity", "--json"]));
    assert_eq!(integrity["records"], 60_000, "no record lost or stored twice: {integrity}");
    assert_eq!(integrity["problems"].as_array().unwrap().len(), 0, "{integrity}");
    json(kbackup(&config, &["restore", "--json"]));
    let comparison = json(kbackup(&config, &["verify", "--against", &restored, "--topic", &topic, "--json"]));
    assert_eq!(comparison["equal"], true, "{comparison}");
}

/// SIGTERM: the run flushes what it has read, checkpoints it, says so (exit 130), and the next
/// run completes the backup with nothing lost or stored twice.
#[test]
fn sigterm_flushes_checkpoints_and_resumes() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("term");
    create_topic(&env, &topic, 4);
    produce_bulk(&env, &topic, 4, 60_000, 1000);
    let backup_id = unique("b");
    let config = write_config(&env, dir.path(), &Settings::new(&backup_id, &topic));
    let manifest_dir = dir.path().join("store").join(&backup_id).join("manifest");
    let metrics_addr = free_local_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_kbackup"))
        .args(["backup", "--json", "--metrics-listen", &metrics_addr, "-c"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait on the run's own Prometheus endpoint, which also proves it serves during a real run.
    let deadline = Instant::now() + Duration::from_secs(60);
    let scraped = loop {
        if let Some(text) = scrape(&metrics_addr)
            && metric_sum(&text, "kafka_backup_checkpoint_latency_seconds_count") >= 2.0
        {
            break text;
        }
        assert!(Instant::now() < deadline, "metrics never showed 2 checkpoints within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    // A checkpoint is reported only once it is durable: the manifest entries already exist.
    assert!(files_with_extension(&manifest_dir, "json").len() >= 2);
    assert!(metric_sum(&scraped, "kafka_backup_lag_records") > 0.0, "scraped mid-run: {scraped}");
    let reported_checkpointed = metric_sum(&scraped, "kafka_backup_checkpointed_offset");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let first: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let first_records = first["records"].as_u64().unwrap();
    assert!(first_records > 0 && first_records < 60_000, "stopped part-way: {first}");
    // Offsets start at 0 on this fresh topic, so checkpointed offsets are record counts.
    assert!(reported_checkpointed <= first_records as f64, "metrics claimed more than was checkpointed");
    // Everything the stopped run reported is durable and checkpointed.
    let integrity = json(kbackup(&config, &["verify", "--integrity", "--json"]));
    assert_eq!(integrity["records"].as_u64(), Some(first_records), "{integrity}");
    assert_eq!(integrity["orphans"].as_array().unwrap().len(), 0, "a graceful stop leaves no orphan: {integrity}");
    let second = json(kbackup(&config, &["backup", "--json"]));
    assert_eq!(first_records + second["records"].as_u64().unwrap(), 60_000, "{second}");
    let comparison = json(kbackup(&config, &["verify", "--against", &topic, "--json"]));
    assert_eq!(comparison["equal"], true, "{comparison}");
}

/// `kill -9` in the middle of a restore, then the same command again: the rerun produces exactly
/// what the target is missing (nothing twice, nothing lost), and a third run has nothing to do.
#[test]
fn kill_9_mid_restore_then_resume() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("rcrash");
    let restored = format!("{topic}-restored");
    create_topic(&env, &topic, 4);
    produce_bulk(&env, &topic, 4, 60_000, 1000);
    let backup_id = unique("b");
    let settings = Settings {
        mapping: Some((&topic, &restored)),
        // One partition at a time keeps the restore long enough to be caught in the middle.
        extra_restore: "  max_concurrent_partitions: 1\n",
        ..Settings::new(&backup_id, &topic)
    };
    let config = write_config(&env, dir.path(), &settings);
    json(kbackup(&config, &["backup", "--json"]));

    let mut child = Command::new(env!("CARGO_BIN_EXE_kbackup"))
        .args(["restore", "-c"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let watcher: rdkafka::consumer::BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &env.bootstrap).create().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        use rdkafka::consumer::Consumer;
        let written = watcher.fetch_watermarks(&restored, 0, Duration::from_secs(5)).map_or(0, |(_, high)| high);
        if written > 0 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "restore finished before it could be killed; use more data");
        assert!(Instant::now() < deadline, "nothing restored after 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let resumed = json(kbackup(&config, &["restore", "--json"]));
    let (produced, skipped) = (resumed["records"].as_u64().unwrap(), resumed["skipped_records"].as_u64().unwrap());
    assert!(skipped > 0, "the rerun resumed instead of starting over: {resumed}");
    assert_eq!(produced + skipped, 60_000, "{resumed}");
    let comparison = json(kbackup(&config, &["verify", "--against", &restored, "--topic", &topic, "--json"]));
    assert_eq!(comparison["equal"], true, "every record once, in order: {comparison}");

    let again = json(kbackup(&config, &["restore", "--json"]));
    assert_eq!((again["records"].as_u64(), again["skipped_records"].as_u64()), (Some(0), Some(60_000)), "{again}");
}
