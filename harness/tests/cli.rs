//! The harness command line without services: `--set` overrides are checked by kbackup's own
//! config parser before anything runs (exit 2 naming the key), and accepted ones reach the plan.

use std::path::Path;
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Command::new(env!("CARGO_BIN_EXE_harness")).args(args).current_dir(workspace).output().expect("running harness")
}

#[test]
fn set_overrides_are_validated_like_scenario_files() {
    let typo = harness(&["scenario", "quick", "--dry-run", "--set", "backup.compresion=zstd"]);
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert_eq!(typo.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown key 'backup.compresion'"), "{stderr}");

    let refused = harness(&["scenario", "quick", "--dry-run", "--set", "backup.compression_level=23"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--set backup.compression_level=23") && stderr.contains("between 1 and 22"), "{stderr}");

    let fine = harness(&["scenario", "quick", "--dry-run", "--set", "backup.compression_level=9"]);
    let stdout = String::from_utf8_lossy(&fine.stdout);
    assert_eq!(fine.status.code(), Some(0), "{}", String::from_utf8_lossy(&fine.stderr));
    assert!(stdout.contains("backup.compression_level") && stdout.contains('9'), "{stdout}");
}
