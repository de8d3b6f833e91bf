//! Output into a closed pipe (`kbackup list | head -1`) ends quietly: no panic, exit 0.
//! Needs no services: `list` runs against an empty filesystem store.

use std::process::{Command, Output};

/// Runs kbackup with a stdout pipe whose read end is already closed, so the first write
/// fails with EPIPE however fast the process is.
fn into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_kbackup")).args(args).stdout(writer).output().expect("kbackup runs")
}

fn assert_quiet(args: &[&str]) {
    let out = into_closed_pipe(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
}

#[test]
fn closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let text = format!(
        "backup_id: x\nkafka:\n  bootstrap_servers: 127.0.0.1:1\nstorage:\n  type: filesystem\n  base_path: '{}'\n",
        store.display()
    );
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();
    assert_quiet(&["list", "-c", config]);
    assert_quiet(&["list", "--json", "-c", config]);
    assert_quiet(&["--help"]);
}
