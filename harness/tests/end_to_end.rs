//! End to end: `harness scenario quick --profile quick --env native` against real tansu
//! and garage started by the harness itself, with a real `kbackup` binary.
//!
//! Runs only with TEST_INTEGRATION=1 (it needs the binaries `ci/services.sh install`
//! provides). The kbackup binary is $KBACKUP_BIN, else the one of this test's own build
//! profile (`<target dir>/<profile>/kbackup`: `ci/test.sh` builds the `ci` profile, a plain
//! `cargo test` the debug one), built with `cargo build -p engine --bin kbackup` when missing.

use harness::report::Report;
use harness::scenario::Phase;
use harness::setup::BuildDir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("workspace root")
}

/// $KBACKUP_BIN, else the kbackup of this test's build profile, built if missing. (Only
/// when missing: `cargo test --workspace` has built it already, and `cargo build -p engine`
/// resolves dependency features differently, so it would compile a second kbackup.)
fn kbackup() -> PathBuf {
    if let Some(bin) = std::env::var_os("KBACKUP_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        assert!(bin.is_file(), "KBACKUP_BIN={} does not exist", bin.display());
        return bin;
    }
    let exe = std::env::current_exe().expect("path of this test binary");
    let build = BuildDir::of_executable(&exe).expect("test binary inside a cargo target directory");
    if build.kbackup().is_file() {
        return build.kbackup();
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    build.build_kbackup(&cargo, &workspace()).expect("building kbackup")
}

#[test]
fn quick_scenario_round_trips_every_record() {
    if std::env::var("TEST_INTEGRATION").as_deref() != Ok("1") {
        eprintln!("skipping the end-to-end harness run: set TEST_INTEGRATION=1 to run it");
        return;
    }
    // Opted in but the tools are missing: fail now, rather than have the harness spend ~40 min
    // building them with its output captured by this test.
    let script = workspace().join("ci/services.sh");
    let installed = Command::new("bash").arg(&script).arg("installed").output().expect("running services.sh");
    assert!(
        installed.status.success(),
        "TEST_INTEGRATION=1, but not installed: {}run `bash ci/services.sh install` (`bash ci/test.sh` does)",
        String::from_utf8_lossy(&installed.stdout)
    );
    let kbackup = kbackup();
    let out = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["scenario", "quick", "--profile", "quick", "--env", "native", "--kbackup"])
        .arg(&kbackup)
        .arg("--out")
        .arg(out.path())
        .current_dir(workspace())
        .output()
        .expect("running harness");
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    eprintln!("harness took {:.1} s", started.elapsed().as_secs_f64());
    // 0: all targets met; 1: a target or check failed (checked below); 2: tool error.
    assert!(matches!(output.status.code(), Some(0 | 1)), "harness failed: {}", output.status);

    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    assert!(dir.starts_with(out.path()), "report directory {} outside --out", dir.display());
    let json = std::fs::read_to_string(dir.join("report.json")).expect("report.json written");
    assert!(dir.join("report.md").is_file(), "report.md written");
    let report: Report = serde_json::from_str(&json).expect("report.json parses");
    assert_eq!(report.points.len(), 1);
    let point = &report.points[0];
    assert_eq!(point.samples.len(), 1);
    let sample = &point.samples[0];
    assert!(sample.verification.checked, "verification ran");
    assert!(sample.verification.passed, "verification failed: {}", sample.verification.detail);

    let phase = |p: Phase| sample.phase(p).unwrap_or_else(|| panic!("phase {p} missing from the report"));
    let (produce, backup, restore) = (phase(Phase::Produce), phase(Phase::Backup), phase(Phase::Restore));
    assert!(produce.bytes >= 64 << 20, "produced {} bytes", produce.bytes);
    assert_eq!(produce.bytes, backup.bytes, "produced bytes = backed-up source bytes");
    assert_eq!(backup.bytes, restore.bytes, "backed-up = restored source bytes");
    assert_eq!(produce.records, backup.records, "produced records = backed-up records");
    assert_eq!(backup.records, restore.records, "backed-up = restored records");
    assert_eq!(phase(Phase::Verify).records, produce.records, "verify compared every record");
    assert_eq!(phase(Phase::RawConsume).records, produce.records, "raw consumer read every record");

    let engine = backup.engine.as_ref().expect("backup engine metrics");
    assert!(engine.peak_rss_bytes > 0 && engine.threads_max > 0 && !engine.timeline.is_empty());
    assert!(engine.cpu_user_secs + engine.cpu_sys_secs > 0.0, "CPU time sampled");
    assert!(engine.stored_bytes.is_some_and(|s| s > 0 && s < backup.bytes), "zstd shrank JSON");
    assert!(restore.engine.is_some(), "restore engine metrics");
    // What the repeat created is gone again: its topics and its backup's objects.
    let cleanup = stderr.lines().find(|l| l.contains("cleanup:")).expect("a cleanup line");
    assert!(cleanup.contains("deleted topics") && cleanup.contains("deleted backup"), "{cleanup}");
    assert!(!cleanup.contains("NOT deleted") && !cleanup.contains("(0 objects"), "{cleanup}");
    // The verdict matches the exit code.
    assert_eq!(report.passed, output.status.code() == Some(0));
}
