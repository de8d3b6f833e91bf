//! Scenario parsing, matrix expansion and error messages, plus a check that every
//! shipped scenario in `scenarios/` parses for every profile.

use super::*;
use std::path::Path;

const BASE: &str = "\
name: quick
description: A test scenario.
workload:
  partitions: 2
  message_size: 1KiB
  payload: json
  volume: 64MiB
";

fn plan(text: &str) -> ScenarioPlan {
    parse(text, "inline").unwrap().plan(Profile::Standard).unwrap()
}

fn err(text: &str) -> String {
    parse(text, "inline").unwrap_err().to_string()
}

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn minimal_scenario_gets_defaults() {
    let plan = plan(BASE);
    assert_eq!(plan.repeat, DEFAULT_REPEAT);
    assert_eq!(plan.phases, DEFAULT_PHASES.to_vec());
    assert_eq!(plan.points.len(), 1);
    let point = &plan.points[0];
    assert_eq!(point.label, "default");
    let w = &point.workload;
    assert_eq!((w.partitions, w.payload, w.keys, w.headers), (2, Payload::Json, KeyMode::None, 0));
    assert_eq!(w.message_size, MessageSize::Fixed { bytes: 1024 });
    assert_eq!(w.volume, Volume::Bytes(64 << 20));
    assert_eq!((w.rate, w.seed), (None, DEFAULT_SEED));
    assert!(plan.warnings.is_empty());
}

#[test]
fn matrix_expands_cartesian_first_axis_slowest() {
    let text = BASE.replace("  partitions: 2\n", "")
        + "matrix:\n  partitions: [1, 2]\n  workload.payload: [json, text]\n  engine.backup.compression: [zstd, lz4]\n";
    let plan = plan(&text);
    let labels: Vec<&str> = plan.points.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels.len(), 8);
    assert_eq!(labels[0], "partitions=1,payload=json,compression=zstd");
    assert_eq!(labels[1], "partitions=1,payload=json,compression=lz4");
    assert_eq!(labels[7], "partitions=2,payload=text,compression=lz4");
    let last = &plan.points[7];
    assert_eq!((last.workload.partitions, last.workload.payload), (2, Payload::Text));
    assert_eq!(last.engine_value("backup.compression"), Some(&Scalar::Str("lz4".into())));
    assert_eq!(last.parameter("payload"), Some(&Scalar::Str("text".into())));
    assert!(plan.has_axis("partitions") && plan.has_axis("compression"));
}

#[test]
fn codec_axis_sets_compression_and_level() {
    let text = with("engine:\n  backup.compression_level: 9\nmatrix:\n  codec: [zstd-19, lz4, zstd]\n");
    let plan = plan(&text);
    let engine =
        |i: usize| -> Vec<String> { plan.points[i].engine.iter().map(|o| format!("{}={}", o.key, o.value)).collect() };
    assert_eq!(engine(0), ["backup.compression=zstd", "backup.compression_level=19"]);
    // Levels only mean something to zstd, so a codec without one drops the base level.
    assert_eq!(engine(1), ["backup.compression=lz4"]);
    assert_eq!(engine(2), ["backup.compression=zstd"]);
}

#[test]
fn engine_overrides_keep_file_order() {
    let text = with(
        "engine:\n  kafka.fetch_max_wait_ms: 10\n  backup.segment_max_bytes: 256MiB\n  backup.compression: zstd\n",
    );
    let keys: Vec<String> = plan(&text).points[0].engine.iter().map(|o| o.key.clone()).collect();
    assert_eq!(keys, ["kafka.fetch_max_wait_ms", "backup.segment_max_bytes", "backup.compression"]);
}

#[test]
fn targets_are_scoped_by_when() {
    let text = BASE.replace("  partitions: 2\n", "")
        + "matrix:\n  partitions: [1, 4, 8]\ntargets:\n  backup_mb_s_per_partition: \">= 100\"\n  peak_rss_mb:\n    expr: \"< 500\"\n    when: {partitions: [1, 4]}\n";
    let plan = plan(&text);
    let counts: Vec<usize> = plan.points.iter().map(|p| p.targets.len()).collect();
    assert_eq!(counts, [2, 2, 1]);
    let t = &plan.points[0].targets[1];
    assert_eq!((t.metric, t.op, t.threshold), (Metric::PeakRssMb, Comparison::Lt, 500.0));
}

#[test]
fn profiles_override_volume_rate_and_repeat() {
    let text = with("profiles:\n  quick: {volume: 8MiB, repeat: 1}\n  full: {duration: 5m, rate: 20MB/s, repeat: 5}\n");
    let scenario = parse(&text, "inline").unwrap();
    let quick = scenario.plan(Profile::Quick).unwrap();
    assert_eq!((quick.repeat, &quick.points[0].workload.volume), (1, &Volume::Bytes(8 << 20)));
    let full = scenario.plan(Profile::Full).unwrap();
    let w = &full.points[0].workload;
    assert_eq!((&w.volume, w.rate), (&Volume::DurationSecs(300.0), Some(Rate::BytesPerSec(20_000_000))));
    assert!(full.warnings.is_empty(), "{:?}", full.warnings);
}

#[test]
fn full_profile_below_requirements_warns() {
    let plan = parse(&with("profiles:\n  full: {duration: 1m, rate: 10MB/s}\n"), "inline")
        .unwrap()
        .plan(Profile::Full)
        .unwrap();
    let text: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(text[0].contains("volume >= 10 x segment size") && text[0].contains("600MB (4.5 segments)"), "{}", text[0]);
    assert!(text[1].contains("duration >= 5m") && text[1].contains("1m at default"), "{}", text[1]);
}

#[test]
fn full_profile_respects_segment_override() {
    let text = with("engine:\n  backup.segment_max_bytes: 1MiB\nprofiles:\n  full: {volume: 20MiB, rate: 64KB/s}\n");
    let plan = parse(&text, "inline").unwrap().plan(Profile::Full).unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn lognormal_message_size() {
    let text = BASE
        .replace("message_size: 1KiB", "message_size: {lognormal: {median: 1KiB, sigma: 1.0, min: 1KiB, max: 5MiB}}");
    let expected = MessageSize::Lognormal { median_bytes: 1024, sigma: 1.0, min_bytes: 1024, max_bytes: 5 << 20 };
    assert_eq!(plan(&text).points[0].workload.message_size, expected);
}

#[test]
fn lognormal_errors_name_the_field_and_the_rule() {
    let size = |spec: &str| err(&BASE.replace("message_size: 1KiB", &format!("message_size: {{lognormal: {spec}}}")));
    assert_eq!(
        size("{median: 1KiB, sigma: 0}"),
        "scenario 'quick': workload.message_size.lognormal.sigma: invalid value '0' (expected a spread above 0 and \
         at most 5)"
    );
    let e = size("{median: 4KiB, sigma: 1, min: 8KiB, max: 1MiB}");
    assert!(e.contains("workload.message_size.lognormal: min <= median <= max must hold"), "{e}");
    let e = size("{median: 4 kilobytes, sigma: 1}");
    assert!(e.contains("workload.message_size.lognormal.median: invalid value '4 kilobytes'"), "{e}");
    let e = size("{sigma: 1}");
    assert!(e.contains("workload.message_size.lognormal") && e.contains("median"), "{e}");
    let e = err(&BASE.replace("message_size: 1KiB", "message_size: {normal: {median: 1KiB, sigma: 1}}"));
    assert!(e.contains("unknown variant `normal`") && e.contains("lognormal"), "{e}");
}

#[test]
fn lognormal_bounds_default_to_two_orders_of_magnitude() {
    let text = BASE.replace("message_size: 1KiB", "message_size: {lognormal: {median: 10KiB, sigma: 0.5}}");
    let expected = MessageSize::Lognormal { median_bytes: 10240, sigma: 0.5, min_bytes: 102, max_bytes: 1_024_000 };
    assert_eq!(plan(&text).points[0].workload.message_size, expected);
}

#[test]
fn keys_and_headers_are_checked() {
    let w = plan(&BASE.replace("payload: json", "payload: avro\n  keys: sequential\n  headers: 8")).points[0]
        .workload
        .clone();
    assert_eq!((w.payload, w.keys, w.headers), (Payload::Avro, KeyMode::Sequential, 8));
    let e = err(&BASE.replace("payload: json", "payload: json\n  keys: ordered"));
    assert!(e.contains("workload.keys: unknown value 'ordered' (expected one of none, random, sequential)"), "{e}");
    let e = err(&BASE.replace("payload: json", "payload: json\n  headers: 65"));
    assert!(e.contains("workload.headers: invalid value '65' (expected a whole number from 0 to 64)"), "{e}");
}

#[test]
fn unknown_payload_names_path_and_choices() {
    assert_eq!(
        err(&BASE.replace("payload: json", "payload: xml")),
        "scenario 'quick': workload.payload: unknown value 'xml' (expected one of json, text, \
         avro, protobuf, random, precompressed)"
    );
}

#[test]
fn unknown_key_names_the_key_and_its_path() {
    let e = err(&BASE.replace("  payload: json\n", "  payload: json\n  payloads: json\n"));
    assert!(e.starts_with("scenario 'inline': workload.payloads: unknown field `payloads`"), "{e}");
    assert!(e.contains("expected one of partitions, message_size, payload"), "{e}");
    assert!(e.ends_with("(line 7, column 3)"), "{e}");
    let e = err(&with("profiles:\n  turbo: {volume: 1GiB}\n"));
    assert!(e.contains("profiles.turbo: unknown field `turbo`"), "{e}");
    let e = err(&BASE.replace("sigma", "x").replace("1KiB", "{lognormal: {median: 1KiB, spread: 1}}"));
    assert!(e.contains("workload.message_size.lognormal.spread: unknown field `spread`"), "{e}");
}

#[test]
fn bad_size_explains_the_format() {
    assert_eq!(
        err(&BASE.replace("volume: 64MiB", "volume: 64 megs")),
        "scenario 'quick': workload.volume: invalid value '64 megs' (expected a byte count or a \
         size like 512KiB, 128MiB, 1.5GB)"
    );
    let e = err(&with("matrix:\n  message_size: [1KiB, 1XB]\n"));
    assert!(e.contains("matrix.message_size[1]: invalid value '1XB'"), "{e}");
}

#[test]
fn bad_target_expression_and_metric() {
    let e = err(&with("targets:\n  peak_rss_mb: about 500\n"));
    assert_eq!(
        e,
        "scenario 'quick': targets.peak_rss_mb: invalid value 'about 500' (expected an operator \
         <, <=, >, >= followed by a number, e.g. \">= 100\")"
    );
    let e = err(&with("targets:\n  rss: \"< 500\"\n"));
    assert!(e.contains("targets: unknown key 'rss' (expected one of backup_mb_s,"), "{e}");
    let e = err(&with("phases: [produce, backup]\ntargets:\n  restore_mb_s: \">= 50\"\n"));
    assert!(e.contains("targets.restore_mb_s: needs phase(s) restore"), "{e}");
    let e = err(&with("targets:\n  peak_rss_mb: {expr: \"< 5\", when: {partitions: 4}}\n"));
    assert!(e.contains("targets.peak_rss_mb.when: unknown key 'partitions' (expected one of a matrix axis"), "{e}");
}

#[test]
fn matrix_errors() {
    let e = err(&with("matrix:\n  compresion: [zstd]\n"));
    assert!(e.contains("matrix: unknown key 'compresion' (expected one of partitions,"), "{e}");
    let e = err(&with("matrix:\n  codec: [zstd-30]\n"));
    assert!(
        e.contains("matrix.codec[0]: unknown value 'zstd-30' (expected one of zstd, zstd-<level 1..22>, lz4, none)"),
        "{e}"
    );
    let e = err(&with("matrix:\n  partitions: [1, 1]\n"));
    assert!(e.contains("matrix.partitions[1]: '1' is listed twice"), "{e}");
    let e = err(&with("matrix:\n  codec: [lz4]\n  engine.backup.compression: [zstd]\n"));
    assert!(e.contains("matrix.engine.backup.compression: sets the same parameter as matrix.codec"), "{e}");
    let e = err(&with("matrix:\n  partitions: [0]\n"));
    assert!(e.contains("matrix.partitions[0]: invalid value '0' (expected a whole number from 1 to 1024)"), "{e}");
}

#[test]
fn volume_phase_and_engine_errors() {
    let e = err(&BASE.replace("  volume: 64MiB\n", ""));
    assert!(e.contains("workload.volume: missing (expected one of `volume: 1GiB`"), "{e}");
    let e = err(&with("  messages: 1000\n"));
    assert!(e.contains("workload: set only one of volume, messages, duration"), "{e}");
    let e = err(&with("  rate: fast\n"));
    assert!(e.contains("workload.rate: invalid value 'fast' (expected a rate like 50MB/s"), "{e}");
    let e = err(&with("phases: [produce, restore]\n"));
    assert!(e.contains("phases[1]: 'restore' needs 'backup' earlier in the list"), "{e}");
    let e = err(&with("phases: [produce, backup, uplaod]\n"));
    assert!(e.contains("phases[2]: unknown value 'uplaod' (expected one of produce, raw-consume,"), "{e}");
    let e = err(&with("engine:\n  backup.compression: brotli\n"));
    assert!(e.contains("engine.backup.compression: kbackup refuses 'brotli': config key 'backup.compression'"), "{e}");
    assert!(e.contains("expected zstd, lz4, none"), "{e}");
    let e = err(&with("engine:\n  backup.segment_max_byte: 64MiB\n"));
    assert!(e.contains("engine.backup.segment_max_byte: unknown key 'backup.segment_max_byte'"), "{e}");
    let e = err(&with("engine:\n  Compression: zstd\n"));
    assert!(e.contains("engine: invalid value 'Compression' (expected a dotted engine config key"), "{e}");
    let e = err(&with("gate:\n  backup_mb_s: lots\n"));
    assert!(e.contains("gate.backup_mb_s: invalid value 'lots' (expected a tolerance in percent"), "{e}");
    let e = err(&BASE.replace("  partitions: 2\n", ""));
    assert!(e.contains("workload.partitions: missing"), "{e}");
}

#[test]
fn yaml_errors_fall_back_to_the_origin_name() {
    let e = parse("name: [unclosed\n", "scenarios/broken.yaml").unwrap_err();
    assert_eq!(e.scenario, "broken");
    assert!(e.to_string().starts_with("scenario 'broken': name: "), "{e}");
    let e = parse("", "empty.yaml").unwrap_err().to_string();
    assert!(e.starts_with("scenario 'empty': "), "{e}");
}

#[test]
fn gate_parses_percentages() {
    let plan = plan(&with("gate:\n  backup_mb_s: 5%\n  peak_rss_mb: 12.5\n"));
    let rules: Vec<(Metric, f64)> = plan.gate.iter().map(|g| (g.metric, g.tolerance_pct)).collect();
    assert_eq!(rules, [(Metric::BackupMbS, 5.0), (Metric::PeakRssMb, 12.5)]);
}

#[test]
fn plan_round_trips_through_json() {
    let plan = parse(&with("matrix:\n  codec: [zstd-3, none]\n"), "inline").unwrap().plan(Profile::Full).unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    let back: ScenarioPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn dry_run_rendering_lists_points_engine_and_targets() {
    let text = with("matrix:\n  codec: [zstd-3, lz4]\ntargets:\n  checkpoint_p99_ms: \"< 100\"\n");
    let rendered = plan(&text).to_string();
    assert!(rendered.contains("matrix: codec = [zstd-3, lz4]"), "{rendered}");
    assert!(rendered.contains("point 2/2: codec=lz4"), "{rendered}");
    assert!(rendered.contains("engine:   backup.compression=zstd, backup.compression_level=3"), "{rendered}");
    assert!(rendered.contains("targets:  checkpoint_p99_ms < 100"), "{rendered}");
}

fn shipped_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn every_shipped_scenario_parses_for_every_profile() {
    let listed = list(&shipped_dir()).unwrap();
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    for expected in
        ["quick", "max-throughput-per-partition", "partition-scaling", "large-messages", "restore-speed", "compression"]
            .into_iter()
            .chain(["continuous", "scale-out", "pitr"])
    {
        assert!(names.contains(&expected), "missing {expected}: {names:?}");
    }
    for summary in &listed {
        let stem = summary.path.file_stem().unwrap().to_string_lossy();
        assert_eq!(summary.name, stem, "name must match the file name");
        let scenario = load(&summary.path).unwrap();
        for profile in Profile::ALL {
            let plan = scenario.plan(profile).unwrap();
            // Shipped scenarios are written to meet their own profile requirements.
            assert!(plan.warnings.is_empty(), "{} {profile}: {:?}", summary.name, plan.warnings);
        }
    }
}

#[test]
fn shipped_quick_scenario_is_small_enough_for_ci() {
    let plan = load(&shipped_dir().join("quick.yaml")).unwrap().plan(Profile::Quick).unwrap();
    assert_eq!((plan.repeat, plan.points.len()), (1, 1));
    assert!(plan.points[0].workload.expected_bytes().unwrap() <= 64.0 * 1024.0 * 1024.0);
}

#[test]
fn shipped_matrices_have_expected_shapes() {
    let points =
        |name: &str| load(&shipped_dir().join(format!("{name}.yaml"))).unwrap().plan(Profile::Standard).unwrap().points;
    let scaling = points("partition-scaling");
    let partitions: Vec<u32> = scaling.iter().map(|p| p.workload.partitions).collect();
    assert_eq!(partitions, [1, 2, 4, 8]);
    assert!(scaling[3].targets.iter().all(|t| t.metric != Metric::PeakRssMb));
    assert_eq!(points("large-messages").len(), 3);
    let compression = points("compression");
    assert_eq!(compression.len(), 36, "6 codecs x json, avro, protobuf, text, precompressed, random");
    let payloads: std::collections::BTreeSet<&str> = compression.iter().map(|p| p.workload.payload.as_str()).collect();
    assert_eq!(payloads.len(), 6, "{payloads:?}");
    let with_ratio = compression.iter().filter(|p| p.targets.iter().any(|t| t.metric == Metric::CompressionRatio));
    assert_eq!(with_ratio.count(), 8, "zstd levels x json/text");
}

#[test]
fn readme_example_parses() {
    let readme = std::fs::read_to_string(shipped_dir().join("README.md")).unwrap();
    let start = readme.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let plan = parse(&readme[start..end], "README.md").unwrap().plan(Profile::Full).unwrap();
    assert_eq!(plan.points.len(), 8);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn network_block_resolves_with_defaults_and_matrix_axes() {
    assert_eq!(plan(BASE).points[0].network, None, "no network block: plain loopback");

    let text = with(
        "network:\n  jitter: 2ms\n  bandwidth: 100MB/s\n  links: [s3]\nmatrix:\n  network.rtt: [0ms, 20ms, 0.1]\n",
    );
    let plan = plan(&text);
    let labels: Vec<&str> = plan.points.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["rtt=0ms", "rtt=20ms", "rtt=0.1"]);
    let net = |i: usize| plan.points[i].network.clone().unwrap();
    assert_eq!(net(0).rtt_ms, 0.0);
    assert_eq!(net(1).rtt_ms, 20.0);
    assert_eq!(net(2).rtt_ms, 100.0, "bare numbers are seconds, like every duration");
    assert_eq!((net(1).jitter_ms, net(1).bandwidth_bytes_per_sec), (2.0, Some(100_000_000)));
    assert_eq!(net(1).links, [Link::S3]);
    assert!(net(1).applies_to(Link::S3) && !net(1).applies_to(Link::Kafka));

    // A matrix axis alone switches the simulation on, with both links and no cap.
    let only_axis = self::plan(&with("matrix:\n  network.bandwidth: [10MiB/s]\n"));
    let n = only_axis.points[0].network.clone().unwrap();
    assert_eq!((n.rtt_ms, n.bandwidth_bytes_per_sec, n.links), (0.0, Some(10 << 20), Link::ALL.to_vec()));
    let shown = only_axis.to_string();
    assert!(shown.contains("network:  added RTT 0 ms ± 0 ms, 10.48576 MB/s per direction on kafka, s3"), "{shown}");
}

#[test]
fn network_errors_name_the_key() {
    let e = err(&with("network:\n  rtt: 20\n"));
    assert!(e.contains("network.rtt: invalid value '20' (expected a duration from 0ms to 10s"), "{e}");
    let e = err(&with("network:\n  rtt: -5ms\n"));
    assert!(e.contains("network.rtt: invalid value '-5ms'"), "{e}");
    let e = err(&with("network:\n  bandwidth: 100msg/s\n"));
    assert!(e.contains("network.bandwidth") && e.contains("byte rate"), "{e}");
    let e = err(&with("network:\n  links: [kafka, tcp]\n"));
    assert!(e.contains("network.links[1]: unknown value 'tcp' (expected one of kafka, s3)"), "{e}");
    let e = err(&with("network:\n  links: [s3, s3]\n"));
    assert!(e.contains("network.links[1]: 's3' is listed twice"), "{e}");
    let e = err(&with("network:\n  links: []\n"));
    assert!(e.contains("network.links"), "{e}");
    let e = err(&with("network:\n  latency: 20ms\n"));
    assert!(e.contains("unknown field `latency`"), "{e}");
    let e = err(&with("matrix:\n  network.loss: [1]\n"));
    assert!(e.contains("matrix: unknown key 'network.loss' (expected one of network.rtt"), "{e}");
    let e = err(&with("matrix:\n  network.rtt: [20ms, 1h]\n"));
    assert!(e.contains("matrix.network.rtt[1]: invalid value '1h'"), "{e}");
}

const CONTINUOUS: &str = "\
name: c
description: Continuous.
workload:
  partitions: 12
  message_size: 1KiB
  payload: json
  duration: 60s
  rate: 3MB/s
phases: [continuous, restore, verify, exactly-once]
";

#[test]
fn continuous_schedule_resolves_percentages_of_the_load() {
    let text = format!(
        "{CONTINUOUS}continuous:\n  schedule:\n    - {{at: 0s, action: start}}\n    - {{at: 25%, action: start}}\n    \
         - {{at: 30s, action: start}}\n    - {{at: 75%, action: kill}}\n  kill_watch: 20s\n\
         targets:\n  recovery_point_p99_s: \"<= 15\"\n  lost_records: \"<= 0\"\n  checkpoint_p99_ms: \"< 100\"\n"
    );
    let resolved = plan(&text);
    let c = resolved.continuous.as_ref().unwrap();
    let steps: Vec<(f64, InstanceAction)> = c.steps.iter().map(|s| (s.at_secs, s.action)).collect();
    assert_eq!(
        steps,
        [
            (0.0, InstanceAction::Start),
            (15.0, InstanceAction::Start),
            (30.0, InstanceAction::Start),
            (45.0, InstanceAction::Kill)
        ]
    );
    assert_eq!((c.max_instances(), c.kill_watch_secs, c.sample_interval_secs), (3, 20.0, 1.0));
    assert_eq!(c.describe(), "start at 0s, start at 15s, start at 30s, kill at 45s");
    // Without `continuous:`, one instance from the start.
    let single = plan(CONTINUOUS).continuous.unwrap();
    assert_eq!(single.steps, vec![Step { at_secs: 0.0, action: InstanceAction::Start }]);
}

#[test]
fn continuous_errors_name_the_key_and_the_rule() {
    let schedule = |steps: &str| format!("{CONTINUOUS}continuous:\n  schedule:\n{steps}");
    let e = err(&schedule("    - {at: 5s, action: start}\n"));
    assert!(e.contains("continuous.schedule[0]") && e.contains("at: 0s, action: start"), "{e}");
    let e = err(&schedule("    - {at: 0s, action: start}\n    - {at: 10s, action: kill}\n"));
    assert!(e.contains("continuous.schedule[1]") && e.contains("no instance running"), "{e}");
    let e = err(&schedule("    - {at: 0s, action: start}\n    - {at: 60s, action: start}\n"));
    assert!(e.contains("schedule[1].at") && e.contains("not before the load ends"), "{e}");
    let e = err(&schedule("    - {at: 0s, action: start}\n    - {at: 20s, action: restart}\n"));
    assert!(e.contains("schedule[1].action") && e.contains("start, stop, kill"), "{e}");
    let e = err(&schedule(
        "    - {at: 0s, action: start}\n    - {at: 20s, action: start}\n    - {at: 10s, action: stop}\n",
    ));
    assert!(e.contains("time order"), "{e}");
    let e = err(&CONTINUOUS.replace("  rate: 3MB/s\n", ""));
    assert!(e.contains("workload.rate") && e.contains("fixed rate"), "{e}");
    let e = err(&CONTINUOUS.replace("duration: 60s", "volume: 64MiB"));
    assert!(e.contains("duration"), "{e}");
    let e = err(&CONTINUOUS.replace("[continuous, restore", "[produce, continuous, restore"));
    assert!(e.contains("both create the topic"), "{e}");
    let e = err(&with("continuous:\n  kill_watch: 5s\n"));
    assert!(e.contains("continuous") && e.contains("add it to `phases`"), "{e}");
    let e = err(&with("phases: [produce, backup, restore, exactly-once]\ntargets:\n  lag_mb_p99: \"< 5\"\n"));
    assert!(e.contains("targets.lag_mb_p99") && e.contains("continuous"), "{e}");
}

#[test]
fn shipped_continuous_scenarios_check_what_the_issue_asks() {
    for name in ["continuous", "scale-out"] {
        let scenario = load(&shipped_dir().join(format!("{name}.yaml"))).unwrap();
        for profile in Profile::ALL {
            let plan = scenario.plan(profile).unwrap();
            let point = &plan.points[0];
            let targets: Vec<Metric> = point.targets.iter().map(|t| t.metric).collect();
            for metric in [Metric::RecoveryPointP99S, Metric::LostRecords, Metric::DuplicatedRecords] {
                assert!(targets.contains(&metric), "{name} {profile}: no target on {metric}");
            }
            // Recovery point p99 ≤ segment_max_age + 5 s.
            let age = engine_config::resolve(&point.engine).unwrap().backup.segment_max_age.as_secs_f64();
            let rp = point.targets.iter().find(|t| t.metric == Metric::RecoveryPointP99S).unwrap();
            assert_eq!(rp.threshold, age + 5.0, "{name} {profile}");
            assert!(plan.phases.contains(&Phase::ExactlyOnce) && plan.phases.contains(&Phase::Verify));
            if profile == Profile::Quick {
                assert!(point.workload.expected_secs().unwrap() <= 60.0, "{name}: quick runs by hand");
            }
        }
    }
    let scale = load(&shipped_dir().join("scale-out.yaml")).unwrap().plan(Profile::Standard).unwrap();
    assert_eq!(scale.points[0].workload.partitions, 12);
    let c = scale.continuous.unwrap();
    assert_eq!(c.max_instances(), 3);
    assert_eq!(c.steps.last().map(|s| s.action), Some(InstanceAction::Kill));
}

const PITR: &str = "\
name: p
description: A pitr scenario.
workload:
  partitions: 4
  message_size: 1KiB
  payload: json
  volume: 64MiB
  timestamps: {span: 1h, jitter: 2s}
phases: [produce, backup, pitr]
pitr:
  window: {start: 50%, end: 51%}
  offsets:
    0: {start: 10%, end: 12%}
    2: {start: 1000}
targets:
  pitr_read_fraction: \"<= 0.03\"
";

#[test]
fn pitr_block_and_timestamps_resolve() {
    let plan = plan(PITR);
    let w = &plan.points[0].workload;
    assert_eq!(w.timestamps, Some(Timestamps { start_ms: None, span_ms: 3_600_000, jitter_ms: 2000 }));
    let pitr = plan.pitr.as_ref().unwrap();
    let pct = |p| Some(Position::Percent(p));
    assert_eq!(pitr.window, Some(Range { start: pct(50.0), end: pct(51.0) }));
    assert_eq!(pitr.offsets.len(), 2);
    assert_eq!(pitr.offsets[1].range.start, Some(Position::Offset(1000)));
    let shown = plan.to_string();
    assert!(
        shown.contains("pitr: time window [50%, 51%)") && shown.contains("timestamps: spread over the 1h"),
        "{shown}"
    );
    assert_eq!(plan.points[0].targets[0].metric, Metric::PitrReadFraction);
    // Plans without timestamps or pitr serialize as before (stored reports and baselines).
    let json = serde_json::to_string(&parse(BASE, "inline").unwrap().plan(Profile::Standard).unwrap()).unwrap();
    assert!(!json.contains("timestamps") && !json.contains("pitr"), "{json}");
}

#[test]
fn pitr_errors_name_the_key() {
    let e = err(&PITR.replace("phases: [produce, backup, pitr]\n", ""));
    assert!(e.contains("targets.pitr_read_fraction: needs phase(s) pitr"), "{e}");
    let no_targets = &PITR[..PITR.find("targets:").unwrap()];
    let e = err(&no_targets.replace("phases: [produce, backup, pitr]\n", ""));
    assert!(e.contains("pitr: only used by the `pitr` phase"), "{e}");
    let e = err(&PITR.replace("  timestamps: {span: 1h, jitter: 2s}\n", ""));
    assert!(e.contains("workload.timestamps: missing"), "{e}");
    let e = err(&PITR.replace("    2: {start: 1000}", "    4: {start: 1000}"));
    assert!(e.contains("pitr.offsets") && e.contains("from 0 to 3"), "{e}");
    let e = err(&PITR.replace("phases: [produce, backup, pitr]", "phases: [produce, pitr]"));
    assert!(e.contains("'pitr' needs 'backup'"), "{e}");
    let e = err(&PITR.replace("phases: [produce, backup, pitr]", "phases: [produce, backup]"));
    assert!(e.contains("pitr"), "{e}");
    let e = err(&PITR.replace("volume: 64MiB", "duration: 30s"));
    assert!(e.contains("workload.timestamps") && e.contains("`volume:` or `messages:`"), "{e}");
    let e = err(&PITR.replace("span: 1h", "span: 1h, stride: 2"));
    assert!(e.contains("stride"), "{e}");
}

#[test]
fn shipped_pitr_scenario_checks_what_the_issue_asks() {
    let scenario = load(&shipped_dir().join("pitr.yaml")).unwrap();
    for profile in Profile::ALL {
        let plan = scenario.plan(profile).unwrap();
        let point = &plan.points[0];
        let target = |m: Metric| point.targets.iter().find(|t| t.metric == m).map(|t| (t.op, t.threshold));
        assert_eq!(target(Metric::PitrReadFraction), Some((Comparison::Le, 0.03)), "{profile}");
        assert_eq!(target(Metric::PitrMismatchedRecords), Some((Comparison::Le, 0.0)), "{profile}");
        let pitr = plan.pitr.as_ref().unwrap();
        let window = pitr.window.unwrap();
        let width = match (window.start, window.end) {
            (Some(Position::Percent(a)), Some(Position::Percent(b))) => b - a,
            other => panic!("{other:?}"),
        };
        assert!((width - 1.0).abs() < 1e-9, "a 1% window");
        assert!(!pitr.offsets.is_empty());
        // A block is at most half of what the window selects per partition, at every profile:
        // the two edge blocks cannot dominate what the restore reads.
        let block = engine_config::resolve(&point.engine).unwrap().backup.block_size as f64;
        let per_partition = point.workload.expected_bytes().unwrap() / f64::from(point.workload.partitions);
        assert!(block * 2.0 <= per_partition * width / 100.0, "{profile}: block {block} vs {per_partition}");
    }
    let quick = scenario.plan(Profile::Quick).unwrap();
    assert!(quick.points[0].workload.expected_bytes().unwrap() <= 128.0 * 1024.0 * 1024.0);
    let standard = scenario.plan(Profile::Standard).unwrap();
    assert_eq!(standard.points[0].workload.expected_bytes(), Some((1u64 << 30) as f64), "the issue's 1 GiB");
}
