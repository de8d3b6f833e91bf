//! Baseline tests: verdicts on hand-made statistics (regressed, improved, unchanged,
//! another machine, missing metrics), the change interval arithmetic, the baseline file
//! round trip through the real reader and writer, and a snapshot of the Markdown table.

use super::*;
use crate::report::{EnvKind, PointResult, Report};
use crate::scenario::{self, Metric, Profile};
use crate::stats::Summary;

const SCENARIO: &str = "\
name: gate-test
description: Gate tests.
workload: {partitions: 2, message_size: 1KiB, payload: json, volume: 64MiB}
repeat: 5
gate:
  backup_mb_s: 10%
  peak_rss_mb: 20%
  compression_ratio: 5%
  cpu_seconds_per_gb: 10%
";

fn environment(cores: u32) -> Environment {
    Environment {
        cpu_model: "AMD EPYC 7B13".into(),
        cores,
        memory_bytes: 8 << 30,
        kernel: "6.1.0".into(),
        rustc: "rustc 1.95.0".into(),
        kbackup_git_sha: "abc1234".into(),
        tansu_version: Some("0.6.0".into()),
        garage_version: Some("2.5.0".into()),
        kind: EnvKind::Native,
    }
}

/// A summary whose 95% interval of the median is `[lo, hi]`.
fn summary(median: f64, lo: f64, hi: f64) -> Summary {
    Summary { n: 5, median, min: lo, max: hi, mean: median, mad: 0.0, cv: 0.0, ci_low: lo, ci_high: hi }
}

fn statistics(cores: u32, metrics: &[(Metric, Summary)]) -> Statistics {
    let plan = scenario::parse(SCENARIO, "inline").unwrap().plan(Profile::Standard).unwrap();
    let stats = metrics.iter().map(|(m, s)| (m.as_str().to_owned(), *s)).collect();
    Statistics {
        schema_version: crate::report::SCHEMA_VERSION,
        scenario: crate::report::ScenarioInfo { name: plan.name.clone(), profile: plan.profile, plan },
        environment: environment(cores),
        started_at: "2026-01-31T12:00:00Z".into(),
        points: vec![PointStatistics {
            label: "default".into(),
            parameters: Vec::new(),
            stats,
            efficiency: Default::default(),
        }],
    }
}

fn baseline() -> Statistics {
    statistics(
        2,
        &[
            (Metric::BackupMbS, summary(100.0, 95.0, 105.0)),
            (Metric::PeakRssMb, summary(120.0, 118.0, 122.0)),
            (Metric::CompressionRatio, summary(7.6, 7.6, 7.6)),
            (Metric::RawConsumeMbS, summary(150.0, 140.0, 160.0)),
        ],
    )
}

fn verdict(report: &CompareReport, metric: Metric) -> Verdict {
    report.rows.iter().find(|r| r.metric == metric.as_str()).map(|r| r.verdict).unwrap()
}

fn run(new: &Statistics) -> CompareReport {
    compare(new, &baseline(), &new.scenario.plan.gate).unwrap()
}

#[test]
fn change_interval_divides_the_intervals_crosswise() {
    let (lo, hi) = change_interval(&summary(100.0, 90.0, 110.0), &summary(50.0, 45.0, 55.0)).unwrap();
    assert!((lo - (45.0 / 110.0 - 1.0)).abs() < 1e-12, "{lo}");
    assert!((hi - (55.0 / 90.0 - 1.0)).abs() < 1e-12, "{hi}");
    assert_eq!(change_interval(&summary(1.0, 0.0, 2.0), &summary(1.0, 1.0, 1.0)), None);
}

#[test]
fn decide_on_known_intervals() {
    // Higher is better, tolerance 10%: −30%…−15% is wholly worse than −10%.
    assert_eq!(decide((-0.30, -0.15), 10.0, true), Verdict::Regressed);
    // Reaching into the tolerance band is not a regression, however bad the median.
    assert_eq!(decide((-0.30, -0.05), 10.0, true), Verdict::Unchanged);
    assert_eq!(decide((0.12, 0.40), 10.0, true), Verdict::Improved);
    // Lower is better: growth is the worse direction.
    assert_eq!(decide((0.15, 0.30), 10.0, false), Verdict::Regressed);
    assert_eq!(decide((-0.30, -0.15), 10.0, false), Verdict::Improved);
    assert_eq!(decide((-0.05, 0.05), 10.0, false), Verdict::Unchanged);
}

#[test]
fn unchanged_run_passes() {
    let report = run(&baseline());
    assert!(!report.regressed && report.same_machine);
    assert_eq!(verdict(&report, Metric::BackupMbS), Verdict::Unchanged);
    // No tolerance for raw consume: shown, not gated.
    assert_eq!(verdict(&report, Metric::RawConsumeMbS), Verdict::NotGated);
    let row = report.rows.iter().find(|r| r.metric == "backup_mb_s").unwrap();
    assert_eq!((row.change_pct, row.tolerance_pct), (Some(0.0), Some(10.0)));
}

#[test]
fn slower_backup_regresses_and_faster_improves() {
    let mut new = baseline();
    let slow = summary(50.0, 45.0, 55.0);
    new.points[0].stats.insert("backup_mb_s".into(), slow);
    let report = run(&new);
    assert_eq!(verdict(&report, Metric::BackupMbS), Verdict::Regressed);
    assert!(report.regressed);
    new.points[0].stats.insert("backup_mb_s".into(), summary(150.0, 140.0, 160.0));
    let report = run(&new);
    assert_eq!(verdict(&report, Metric::BackupMbS), Verdict::Improved);
    assert!(!report.regressed);
    // A noisy new run whose interval reaches the tolerance band is not flagged.
    new.points[0].stats.insert("backup_mb_s".into(), summary(80.0, 60.0, 100.0));
    assert_eq!(verdict(&run(&new), Metric::BackupMbS), Verdict::Unchanged);
}

#[test]
fn more_memory_regresses() {
    let mut new = baseline();
    new.points[0].stats.insert("peak_rss_mb".into(), summary(180.0, 175.0, 185.0));
    assert_eq!(verdict(&run(&new), Metric::PeakRssMb), Verdict::Regressed);
}

#[test]
fn another_machine_gates_only_machine_independent_metrics() {
    let mut new = baseline();
    new.environment = environment(8);
    new.points[0].stats.insert("backup_mb_s".into(), summary(50.0, 45.0, 55.0));
    let report = run(&new);
    assert!(!report.same_machine);
    assert_eq!(report.machine_differences, vec!["cores: 2 → 8".to_owned()]);
    assert_eq!(verdict(&report, Metric::BackupMbS), Verdict::NotGated);
    assert!(!report.regressed, "a slower machine is not a regression");
    // Memory is gated anywhere.
    new.points[0].stats.insert("peak_rss_mb".into(), summary(180.0, 175.0, 185.0));
    let report = run(&new);
    assert_eq!(verdict(&report, Metric::PeakRssMb), Verdict::Regressed);
    assert!(report.regressed);
    assert!(compare_markdown(&report).contains("DIFFERENT MACHINE"));
}

#[test]
fn missing_gated_metric_fails_and_missing_ungated_does_not() {
    let mut new = baseline();
    new.points[0].stats.remove("compression_ratio");
    new.points[0].stats.remove("raw_consume_mb_s");
    let report = run(&new);
    assert_eq!(verdict(&report, Metric::CompressionRatio), Verdict::Missing);
    assert_eq!(verdict(&report, Metric::RawConsumeMbS), Verdict::NotGated);
    assert!(report.regressed);
    // A metric only the new run has is shown, not gated.
    let mut new = baseline();
    new.points[0].stats.insert("cpu_seconds_per_gb".into(), summary(6.0, 5.0, 7.0));
    let report = run(&new);
    assert_eq!(verdict(&report, Metric::CpuSecondsPerGb), Verdict::NotGated);
    assert!(!report.regressed);
}

#[test]
fn other_scenario_or_profile_is_a_tool_error() {
    let mut new = baseline();
    new.scenario.profile = Profile::Quick;
    let err = compare(&new, &baseline(), &[]).unwrap_err();
    assert!(err.to_string().contains("gate-test/quick but the baseline is gate-test/standard"), "{err}");
}

#[test]
fn markdown_table_snapshot() {
    let mut new = baseline();
    new.environment.kbackup_git_sha = "def5678".into();
    new.started_at = "2026-02-01T08:00:00Z".into();
    new.points[0].stats.insert("backup_mb_s".into(), summary(50.0, 45.0, 55.0));
    new.points[0].stats.insert("peak_rss_mb".into(), summary(110.0, 108.0, 125.0));
    insta::assert_snapshot!(compare_markdown(&run(&new)));
}

fn fixture_report() -> Report {
    let text = include_str!("../../tests/fixtures/report-scenario.yaml");
    let plan = scenario::parse(text, "report-scenario.yaml").unwrap().plan(Profile::Standard).unwrap();
    #[derive(serde::Deserialize)]
    struct Fixture {
        environment: Environment,
        started_at: String,
        points: Vec<FixturePoint>,
    }
    #[derive(serde::Deserialize)]
    struct FixturePoint {
        label: String,
        samples: Vec<crate::report::Sample>,
    }
    let fixture: Fixture = serde_json::from_str(include_str!("../../tests/fixtures/report-samples.json")).unwrap();
    let mut report = Report::new(&plan, fixture.environment, fixture.started_at);
    for point in fixture.points {
        let planned = plan.points.iter().find(|p| p.label == point.label).unwrap();
        report.set_point(PointResult::from_samples(planned, point.samples));
    }
    report
}

#[test]
fn baseline_round_trip_through_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture_report();
    let report_path = dir.path().join("run").join("report.json");
    write_file(&report_path, &serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    let saved = Baseline::from_report(&read_report(report_path.parent().unwrap()).unwrap(), "now".into()).unwrap();
    assert_eq!(saved.git_sha, "3f9c2a1");
    let path = default_path(&dir.path().join("baselines"), &saved.scenario.name, saved.scenario.profile);
    assert!(path.ends_with("baselines/fixture-scaling/standard.json"));
    write_file(&path, &serde_json::to_vec_pretty(&saved).unwrap()).unwrap();
    let back = read_baseline(&path).unwrap();
    assert_eq!(back, saved);
    // The baseline carries statistics, not samples, and the same statistics either way.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("\"samples\"") && !text.contains("timeline"));
    let from_report = read_statistics(&report_path).unwrap();
    let from_baseline = read_statistics(&path).unwrap();
    assert_eq!(from_report.points, from_baseline.points);
    assert_eq!(from_report.points[0].stats, report.points[0].stats);
    // Comparing a run with its own baseline: nothing regressed.
    let result = compare(&from_report, &back.into(), &report.scenario.plan.gate).unwrap();
    assert!(!result.regressed);
    assert!(result.rows.iter().all(|r| matches!(r.verdict, Verdict::Unchanged | Verdict::NotGated)));
}

#[test]
fn unreadable_files_explain_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("quick").join("standard.json");
    let err = read_baseline(&missing).unwrap_err();
    assert!(err.to_string().contains("harness baseline save"), "{err}");
    let old = dir.path().join("old.json");
    write_file(&old, br#"{"schema_version": 0, "points": []}"#).unwrap();
    let err = read_baseline(&old).unwrap_err();
    assert!(matches!(err, BaselineError::Schema { .. }), "{err}");
    assert!(err.to_string().contains("schema_version 0") && err.to_string().contains("old.json"), "{err}");
    assert!(err.to_string().contains("save a new baseline"), "{err}");
}

#[test]
fn failed_verification_is_not_a_baseline() {
    let mut report = fixture_report();
    let sample = &mut report.points[0].samples[0];
    sample.verification.checked = true;
    sample.verification.passed = false;
    sample.verification.detail = "record 7 differs".into();
    let err = Baseline::from_report(&report, "now".into()).unwrap_err();
    assert!(err.to_string().contains("verification failed at partitions=1,codec=zstd-3"), "{err}");
}
