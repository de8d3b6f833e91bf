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
        &Settings {
            backup_id: &backup_id,
            topic_regex: &topic,
            storage: Storage::Filesystem,
            compression: "zstd",
            segment_max_bytes: "1MiB",
            block_size: "64KiB",
            mapping: Some((&topic, &restored)),
        },
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
