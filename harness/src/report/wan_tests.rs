//! WAN section tests: BDP ceilings on hand-computed numbers, and snapshots of the
//! Markdown section and the chart data over a two-point RTT fixture.

use super::bdp;
use super::wan;
use super::*;
use crate::scenario::{self, Link, Phase, Profile};

const SCENARIO: &str = "\
name: wan-fixture
description: Two RTTs, two repeats; the numbers below are test data, not measurements.
matrix:
  network.rtt: [0ms, 50ms]
workload:
  partitions: 2
  message_size: 1KiB
  payload: json
  volume: 64MiB
engine:
  kafka.fetch_max_wait_ms: 10
phases: [produce, backup, restore, verify]
repeat: 2
";

fn environment() -> Environment {
    Environment {
        cpu_model: "Test CPU".into(),
        cores: 2,
        memory_bytes: 8 << 30,
        kernel: "6.0".into(),
        rustc: "rustc 1.95.0".into(),
        kbackup_git_sha: "abc1234".into(),
        tansu_version: Some("0.6.0".into()),
        garage_version: Some("2.5.0".into()),
        kind: EnvKind::Native,
    }
}

fn engine_phase(phase: Phase, secs: f64) -> PhaseResult {
    let mut result = PhaseResult::new(phase, 64_000_000, 62_500, secs);
    result.engine = Some(EngineMetrics {
        peak_rss_bytes: 100_000_000,
        cpu_user_secs: 1.0,
        cpu_sys_secs: 0.2,
        read_bytes: 0,
        write_bytes: 0,
        threads_max: 8,
        timeline: Vec::new(),
        checkpoint_latency_ms: None,
        stored_bytes: Some(16_000_000),
        compression_ratio: Some(4.0),
    });
    result
}

fn sample(repeat: u32, rtt_ms: f64, backup_secs: f64, restore_secs: f64) -> Sample {
    let mut backup = engine_phase(Phase::Backup, backup_secs);
    let link = |link, chunks, bytes| LinkObserved {
        link,
        rtt_ms,
        bytes_to_server: bytes / 10,
        bytes_to_client: bytes,
        chunks,
        mean_delay_ms: rtt_ms / 2.0 + 0.1,
        throttled_secs: 0.0,
    };
    backup.network = vec![link(Link::Kafka, 2000, 66_000_000), link(Link::S3, 300, 1_000_000)];
    Sample {
        repeat,
        phases: vec![
            PhaseResult::new(Phase::Produce, 64_000_000, 62_500, 2.0),
            backup,
            engine_phase(Phase::Restore, restore_secs),
        ],
        verification: Verification { checked: true, passed: true, detail: "ok".into() },
    }
}

fn report() -> Report {
    let plan = scenario::parse(SCENARIO, "inline").unwrap().plan(Profile::Standard).unwrap();
    let mut report = Report::new(&plan, environment(), "2026-01-01T00:00:00Z".into());
    let runs = [(0.0, [(1.0, 2.0), (1.1, 2.2)]), (50.0, [(2.0, 4.0), (2.5, 4.4)])];
    for (point, (rtt, times)) in plan.points.iter().zip(runs) {
        let samples = times.iter().enumerate().map(|(i, (b, r))| sample(i as u32, rtt, *b, *r)).collect();
        report.set_point(PointResult::from_samples(point, samples));
    }
    report
}

#[test]
fn ceilings_follow_the_configured_windows() {
    let report = report();
    let point = &report.scenario.plan.points[1];
    let network = point.network.clone().unwrap();
    assert_eq!(network.rtt_ms, 50.0);
    // Backup, Kafka: 2 partitions × 50 MiB per (50 + 10) ms = 1747.6 MB/s; S3: 2 × 4 ×
    // 8 MiB × 4.0 per 50 ms = 5368.7 MB/s. Kafka binds.
    let backup = bdp::ceiling(point, &network, Phase::Backup, 4.0, true);
    let b = backup.binding().unwrap();
    assert!((b.mb_s - 2.0 * 52_428_800.0 / 0.060 / 1e6).abs() < 1e-6, "{b:?}");
    assert!(b.formula.starts_with("Kafka fetch: 2 partition(s) × fetch_max_bytes 50MiB"), "{}", b.formula);
    assert!((backup.bounds[1].mb_s - 8.0 * 8_388_608.0 * 4.0 / 0.05 / 1e6).abs() < 1e-6);
    // Restore, Kafka: 5 requests × (2 × 1 MiB) per 50 ms = 209.7 MB/s binds before the
    // S3 GETs (2 × 8 MiB decoded per 50 ms = 335.5 MB/s, no compression factor).
    let restore = bdp::ceiling(point, &network, Phase::Restore, 4.0, true);
    assert!((restore.binding().unwrap().mb_s - 5.0 * 2.0 * 1_048_576.0 / 0.05 / 1e6).abs() < 1e-6);
    assert!((restore.bounds[1].mb_s - 2.0 * 8_388_608.0 / 0.05 / 1e6).abs() < 1e-6, "{restore:?}");
    // A cap is a bound of its own; links that are not simulated add none.
    let capped = scenario::Network { bandwidth_bytes_per_sec: Some(10_000_000), links: vec![Link::S3], ..network };
    let c = bdp::ceiling(point, &capped, Phase::Backup, 4.0, true);
    assert_eq!(c.bounds.len(), 2, "{c:?}");
    assert_eq!(c.binding().unwrap().mb_s, 40.0, "10 MB/s of stored bytes at 4x compression");
    // No added RTT, no cap: nothing bounds.
    let zero = report.scenario.plan.points[0].network.clone().unwrap();
    assert!(bdp::ceiling(&report.scenario.plan.points[0], &zero, Phase::Restore, 4.0, true).bounds.is_empty());
}

#[test]
fn wan_markdown_section() {
    let report = report();
    let mut out = String::new();
    wan::markdown(&mut out, &report);
    insta::assert_snapshot!("wan_markdown", out);
    let full = String::from_utf8(MarkdownExporter.render(&report).unwrap()).unwrap();
    assert!(full.contains("## WAN: throughput vs added RTT"));
}

#[test]
fn wan_chart_data_and_svg() {
    let report = report();
    insta::assert_debug_snapshot!("wan_rows", wan::rows(&report));
    let exporter = SvgExporter::new(SvgChart::WanThroughput);
    assert!(exporter.applies(&report));
    let svg = String::from_utf8(exporter.render(&report).unwrap()).unwrap();
    assert!(svg.contains("Throughput vs added round-trip time") && svg.contains("BDP ceiling"), "{svg}");
    assert_eq!(exporter.file_name(), "throughput-vs-rtt.svg");
}
