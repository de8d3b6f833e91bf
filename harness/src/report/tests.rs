//! Report tests: derived metrics on hand-computed samples, target verdicts, and
//! snapshots of every exporter over the fixture in `harness/tests/fixtures/`
//! (scenario → samples → stats → report → rendered output, all in plain `cargo test`).

use super::*;
use crate::scenario::{self, Metric, Phase, Profile, Target};
use crate::stats::Summary;
use crate::warning::Warning;
use serde::Deserialize;
use std::collections::BTreeMap;

const SCENARIO: &str = include_str!("../../tests/fixtures/report-scenario.yaml");
const SAMPLES: &str = include_str!("../../tests/fixtures/report-samples.json");

#[derive(Deserialize)]
struct Fixture {
    environment: Environment,
    started_at: String,
    points: Vec<FixturePoint>,
}

#[derive(Deserialize)]
struct FixturePoint {
    label: String,
    samples: Vec<Sample>,
}

/// The fixture report, built the way the runner builds one: point by point.
pub(super) fn fixture_report() -> Report {
    let plan = scenario::parse(SCENARIO, "report-scenario.yaml").unwrap().plan(Profile::Standard).unwrap();
    let fixture: Fixture = serde_json::from_str(SAMPLES).unwrap();
    let mut report = Report::new(&plan, fixture.environment, fixture.started_at);
    for point in fixture.points {
        let planned = plan.points.iter().find(|p| p.label == point.label).unwrap();
        report.set_point(PointResult::from_samples(planned, point.samples));
    }
    report
}

fn render(exporter: &dyn Exporter, report: &Report) -> String {
    String::from_utf8(exporter.render(report).unwrap()).unwrap()
}

/// One sample with round numbers: 100 MB backed up in 1 s on 2 partitions, etc.
fn round_sample() -> Sample {
    let mut backup = PhaseResult::new(Phase::Backup, 100_000_000, 1000, 1.0);
    backup.engine = Some(EngineMetrics {
        peak_rss_bytes: 250_000_000,
        cpu_user_secs: 1.5,
        cpu_sys_secs: 0.5,
        read_bytes: 0,
        write_bytes: 25_000_000,
        threads_max: 8,
        timeline: Vec::new(),
        checkpoint_latency_ms: Some(LatencyPercentiles { p50: 5.0, p90: 9.0, p99: 42.0, p999: 60.0, max: 61.0 }),
        stored_bytes: Some(25_000_000),
        compression_ratio: None,
    });
    let mut restore = PhaseResult::new(Phase::Restore, 100_000_000, 1000, 2.0);
    restore.engine = Some(EngineMetrics { peak_rss_bytes: 300_000_000, ..backup.engine.clone().unwrap() });
    Sample {
        repeat: 0,
        phases: vec![
            PhaseResult::new(Phase::Produce, 100_000_000, 1000, 0.8),
            PhaseResult::new(Phase::RawConsume, 100_000_000, 1000, 0.8),
            backup,
            PhaseResult::new(Phase::RawPut, 50_000_000, 0, 1.0),
            PhaseResult::new(Phase::RawProduce, 100_000_000, 1000, 1.6),
            restore,
        ],
        verification: Verification::default(),
    }
}

#[test]
fn derived_metrics_from_round_numbers() {
    let metrics = derive_metrics(&[round_sample()], 2);
    let get = |m: Metric| metrics[m.as_str()][0];
    assert_eq!(get(Metric::BackupMbS), 100.0);
    assert_eq!(get(Metric::BackupMbSPerPartition), 50.0);
    assert_eq!(get(Metric::RestoreMbS), 50.0);
    assert_eq!(get(Metric::CheckpointP99Ms), 42.0);
    // The backup's peak (the restore peaked higher, at 300 MB), in MB (10^6 bytes).
    assert_eq!(get(Metric::PeakRssMb), 250.0);
    // No engine ratio: payload / stored bytes = 100 / 25.
    assert_eq!(get(Metric::CompressionRatio), 4.0);
    // 100 MB/s against a 125 MB/s bare consumer; 50 MB/s against a 62.5 MB/s producer.
    assert_eq!(get(Metric::EfficiencyBackup), 0.8);
    assert_eq!(get(Metric::EfficiencyRestore), 0.8);
    // 2 CPU seconds for 0.1 GB.
    assert_eq!(get(Metric::CpuSecondsPerGb), 20.0);
    assert_eq!(get(Metric::RawConsumeMbS), 125.0);
    // Backup stored 25 MB in its 1 s data phase; storage took 50 MB/s of incompressible bytes.
    assert_eq!(get(Metric::RawPutMbS), 50.0);
    assert_eq!(get(Metric::EfficiencyStorage), 0.5);
    // Every metric but those only a continuous or exactly-once phase measures.
    let only_continuous = |m: &&Metric| {
        m.required_phases().iter().any(|p| matches!(p, Phase::Continuous | Phase::ExactlyOnce | Phase::Pitr))
    };
    assert_eq!(metrics.len(), Metric::ALL.len() - Metric::ALL.iter().filter(only_continuous).count());
}

#[test]
fn metrics_of_phases_that_did_not_run_are_absent() {
    let sample = Sample {
        repeat: 0,
        phases: vec![PhaseResult::new(Phase::Produce, 1_000_000, 10, 1.0)],
        verification: Verification::default(),
    };
    assert!(derive_metrics(&[sample], 1).is_empty());
}

#[test]
fn targets_use_the_median_and_fail_when_unmeasured() {
    let stats: BTreeMap<String, Summary> =
        [("peak_rss_mb".to_owned(), Summary::of(&[480.0, 510.0, 490.0]).unwrap())].into();
    let targets =
        [Target::parse(Metric::PeakRssMb, "< 500").unwrap(), Target::parse(Metric::RestoreMbS, ">= 50").unwrap()];
    let results = evaluate_targets(&targets, &stats);
    assert_eq!(
        results,
        [
            TargetResult { metric: "peak_rss_mb".into(), expression: "< 500".into(), observed: Some(490.0), met: true },
            TargetResult { metric: "restore_mb_s".into(), expression: ">= 50".into(), observed: None, met: false },
        ]
    );
}

#[test]
fn failed_verification_fails_the_point_and_the_report() {
    let mut report = fixture_report();
    let plan = report.scenario.plan.clone();
    let mut samples = report.points[1].samples.clone();
    samples[1].verification = Verification { checked: true, passed: false, detail: "record 17 differs".into() };
    report.set_point(PointResult::from_samples(&plan.points[1], samples));
    assert!(!report.points[1].passed);
    assert!(!report.passed);
    let md = render(&MarkdownExporter, &report);
    assert!(md.contains("Verification: ❌ failed (repeat 1: record 17 differs)."), "{md}");
}

#[test]
fn fixture_verdicts_and_warnings() {
    let report = fixture_report();
    let passed: Vec<bool> = report.points.iter().map(|p| p.passed).collect();
    // 2 partitions with zstd-3 back up ~95 MB/s per partition: below the 100 target.
    assert_eq!(passed, [true, true, false, true]);
    assert!(!report.passed);
    let kinds: Vec<&str> = report.warnings.iter().map(Warning::kind).collect();
    assert_eq!(kinds, ["few_repeats", "noisy_run"]);
    assert!(report.warnings[1].to_string().starts_with("backup_mb_s at partitions=2,codec=lz4 varies by 13.7%"));
    let efficiency = report.points[0].efficiency;
    assert!((efficiency.backup.unwrap() - 0.75).abs() < 0.01, "{efficiency:?}");
}

#[test]
fn set_point_replaces_and_keeps_runner_warnings() {
    let mut report = fixture_report();
    let runner_warning =
        Warning::ShortRun { point: String::new(), phase: "backup".into(), secs: 0.5, required_secs: 30.0 };
    report.warnings.push(runner_warning.clone());
    let point = report.points[0].clone();
    report.set_point(point);
    assert_eq!(report.points.len(), 4);
    assert_eq!(report.warnings.iter().filter(|w| **w == runner_warning).count(), 1);
    assert_eq!(report.warnings.iter().filter(|w| w.kind() == "noisy_run").count(), 1);
}

#[test]
fn partial_report_is_not_passed() {
    let mut report = fixture_report();
    report.points.truncate(1);
    report.refresh();
    assert!(report.points[0].passed && !report.passed);
}

#[test]
fn json_round_trips() {
    let report = fixture_report();
    let json = render(&JsonExporter, &report);
    assert!(json.starts_with("{\n  \"schema_version\": 1,"));
    let back: Report = serde_json::from_str(&json).unwrap();
    // Not assert_eq: the Debug dump of a whole report would drown the failure.
    assert!(back == report, "report changed in a JSON round trip");
}

#[test]
fn json_snapshot_of_results() {
    let report = fixture_report();
    let results: Vec<_> = (report.points.iter())
        .map(|p| serde_json::json!({ "label": p.label, "stats": p.stats, "targets": p.targets, "efficiency": p.efficiency, "passed": p.passed }))
        .collect();
    insta::assert_json_snapshot!(
        "fixture_results",
        serde_json::json!({
            "points": results,
            "warnings": report.warnings,
            "passed": report.passed,
        })
    );
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("fixture_markdown", render(&MarkdownExporter, &fixture_report()));
}

#[test]
fn chart_data_snapshot() {
    let report = fixture_report();
    insta::assert_debug_snapshot!(
        "fixture_chart_data",
        (
            svg::scaling_series(&report),
            svg::latency_series(&report),
            svg::bars(&report, Metric::CompressionRatio),
            svg::timeline_series(&report).iter().map(|(l, s)| (l.clone(), s.len())).collect::<Vec<_>>(),
        )
    );
}

#[test]
fn every_chart_renders_as_svg_with_text() {
    let report = fixture_report();
    // The WAN chart needs a `network:` scenario; wan_tests.rs renders it.
    for chart in SvgChart::ALL.into_iter().filter(|c| *c != SvgChart::WanThroughput) {
        let exporter = SvgExporter::new(chart);
        assert!(exporter.applies(&report), "{chart:?}");
        let svg = render(&exporter, &report);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{chart:?}");
        assert!(svg.contains("<text"), "{chart:?} has no labels");
    }
    let scaling = render(&SvgExporter::new(SvgChart::Scaling), &report);
    assert!(scaling.contains("Backup throughput vs partitions"));
    assert!(scaling.contains("codec=zstd-3: ideal linear"));
    let latency = render(&SvgExporter::new(SvgChart::CheckpointLatency), &report);
    assert!(
        latency.contains("target: checkpoint_p99_ms &lt; 100") || latency.contains("target: checkpoint_p99_ms < 100")
    );
}

#[test]
fn charts_render_for_a_single_point() {
    let mut report = fixture_report();
    report.points.truncate(1);
    for chart in SvgChart::ALL.into_iter().filter(|c| *c != SvgChart::WanThroughput) {
        let svg = render(&SvgExporter::new(chart), &report);
        // The scaling chart names series by the other axes only.
        let label = if chart == SvgChart::Scaling { "codec=zstd-3" } else { "partitions=1,codec=zstd-3" };
        assert!(svg.contains(label), "{chart:?}");
    }
}

#[test]
fn charts_without_their_axis_are_skipped() {
    let text = SCENARIO
        .replace("  partitions: [1, 2]\n  codec: [zstd-3, lz4]\n", "  keys: [random]\n")
        .replace("  message_size: 1KiB\n", "  partitions: 1\n  message_size: 1KiB\n")
        .replace("    when: {codec: zstd-3}\n", "");
    let plan = scenario::parse(&text, "inline").unwrap().plan(Profile::Standard).unwrap();
    let report = Report::new(&plan, fixture_report().environment, String::new());
    assert!(!SvgExporter::new(SvgChart::Scaling).applies(&report));
    assert!(!SvgExporter::new(SvgChart::Compression).applies(&report));
    assert!(!SvgExporter::new(SvgChart::Resources).applies(&report));
    let md = render(&MarkdownExporter, &report);
    assert!(md.contains("No point has run yet."), "{md}");
}

#[test]
fn writer_writes_every_applicable_output_repeatedly() {
    let root = tempfile::tempdir().unwrap();
    let started = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_738_324_800);
    let writer = ReportWriter::new(root.path(), "fixture-scaling", started);
    assert_eq!(writer.dir(), root.path().join("fixture-scaling/2025-01-31T12-00-00Z"));
    let report = fixture_report();
    let first = writer.write(&report).unwrap();
    let second = writer.write(&report).unwrap();
    assert_eq!(first, second);
    let mut names: Vec<String> = std::fs::read_dir(writer.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "checkpoint-latency.svg",
            "compression.svg",
            "report.json",
            "report.md",
            "resources-over-time.svg",
            "throughput-vs-partitions.svg"
        ]
    );
    if let Ok(dir) = std::env::var("HARNESS_KEEP_FIXTURE_REPORT") {
        // For eyeballing the charts: HARNESS_KEEP_FIXTURE_REPORT=/tmp/r cargo test -p harness
        ReportWriter::new(std::path::Path::new(&dir), "fixture-scaling", started).write(&report).unwrap();
    }
}
