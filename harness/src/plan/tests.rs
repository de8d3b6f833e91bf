//! Plan tests over the hand-written fixture `tests/fixtures/plan-partition-scaling.report.json`
//! (round numbers, so every expected figure below is worked out by hand in comments),
//! plus a round trip through a report built the way the runner builds one.

use super::request::RequestText;
use super::svg::chart_data;
use super::*;
use crate::report::{
    EngineMetrics, EnvKind, Environment, Exporter, JsonExporter, PhaseResult, PointResult, Report, Sample, Verification,
};
use crate::scenario::{self, Phase, Profile};
use serde::Deserialize;

const FIXTURE: &str = include_str!("../../tests/fixtures/plan-partition-scaling.report.json");
const FIXTURE_PATH: &str = "tests/fixtures/plan-partition-scaling.report.json";

fn fixture() -> MeasuredFile {
    parse_measured(FIXTURE, FIXTURE_PATH).unwrap()
}

fn text() -> RequestText<'static> {
    RequestText {
        throughput: "200MB/s",
        partitions: 48,
        restore_size: Some("500GiB"),
        headroom: "30%",
        lag_drain: "60s",
        ..Default::default()
    }
}

fn plan_with(text: RequestText<'_>) -> CapacityPlan {
    compute(&PlanRequest::parse(&text).unwrap(), &[fixture()]).unwrap()
}

fn bound(plan: &CapacityPlan, kind: BoundKind) -> &Bound {
    plan.bounds.iter().find(|b| b.kind == kind).unwrap()
}

#[test]
fn reads_the_fixture_with_partitions_from_parameters() {
    let file = fixture();
    assert_eq!(file.scenario, "partition-scaling");
    assert_eq!(
        (file.cores, file.memory_bytes, file.profile.as_deref()),
        (Some(2), Some(8_000_000_000), Some("standard"))
    );
    let counts: Vec<u32> = file.points.iter().map(|p| p.partitions).collect();
    assert_eq!(counts, [1, 2, 4, 8]);
}

#[test]
fn documented_example_follows_from_the_inputs() {
    let plan = plan_with(text());
    // 200 MB/s over 48 partitions = 4.1667 MB/s each; 70% of capacity usable.
    assert!((plan.per_partition_mb_s - 200.0 / 48.0).abs() < 1e-12);
    // Throughput: 8 × 4.17 = 33.3 ≤ 0.7 × 200 holds up to the largest measured count → open.
    assert_eq!(
        (bound(&plan, BoundKind::Throughput).max_partitions, bound(&plan, BoundKind::Throughput).open),
        (8, true)
    );
    // CPU (2 cores from the fixture's environment): beyond 8 partitions 25 CPU-s/GB, so
    // 2000 / 25 = 80 MB/s, 70% = 56 MB/s ≥ k × 4.17 up to k = 13.
    assert_eq!((bound(&plan, BoundKind::Cpu).max_partitions, bound(&plan, BoundKind::Cpu).open), (13, false));
    // Memory: RSS = 40 + 20 k MB (exact line) ≤ 0.7 × 8000 MB for every k ≤ 48 → open.
    assert_eq!(plan.memory_model, MemoryModel::LinearFit { base_mb: 40.0, per_partition_mb: 20.0 });
    assert!(bound(&plan, BoundKind::Memory).open);
    assert_eq!(plan.binding, BoundKind::MeasuredRange);
    assert_eq!((plan.partitions_per_instance, plan.instances, plan.busiest_instance_partitions), (8, 6, 8));
    // Capacity at 8 partitions: min(200 measured, CPU 80) = 80 MB/s; load 33.33 MB/s.
    assert_eq!(plan.instance_capacity_mb_s, 80.0);
    // CPU: 33.33 MB/s × 25 / 1000 = 0.833 cores → 840m; ÷ 0.7 = 1.19 → 1200m.
    // Memory: 200 MB = 190.7 MiB → 191Mi; ÷ 0.7 = 285.7 MB = 272.5 MiB → 273Mi.
    let expected =
        Resources { cpu_request_millis: 840, cpu_limit_millis: 1200, memory_request_mib: 191, memory_limit_mib: 273 };
    assert_eq!(plan.resources, expected);
    // HPA: (80 − 33.33) MB/s × 60 s = 2.8 GB of lag per pod.
    assert_eq!((plan.autoscaling.min_replicas, plan.autoscaling.max_replicas), (6, 48));
    assert!((plan.autoscaling.target_lag_bytes as f64 - 2.8e9).abs() < 2.0);
    // RTO: 500 GiB = 536,870,912,000 bytes at 150 MB/s (the 8-partition point) = 3579.1 s.
    let rto = plan.rto.as_ref().unwrap();
    assert_eq!((rto.restore_mb_s, rto.measured_partitions), (150.0, 8));
    assert!((rto.seconds - 536_870_912_000.0 / 1e6 / 150.0).abs() < 1e-6);
    assert!(plan.feasible);
}

#[test]
fn binding_limit_switches_with_the_inputs() {
    // Half a core: 4 partitions need 16.7 MB/s but 0.7 × 500 / 22 = 15.9; 3 need 12.5
    // against 0.7 × 500 / 21 (interpolated) = 16.7 → CPU binds at 3, 16 instances.
    let cpu = plan_with(RequestText { cpu_per_instance: Some("0.5"), ..text() });
    assert_eq!((cpu.binding, cpu.partitions_per_instance, cpu.instances), (BoundKind::Cpu, 3, 16));
    // 200 MB of memory: 40 + 20 k ≤ 140 → memory binds at 5; 10 instances of ≤ 5.
    let mem = plan_with(RequestText { memory_per_instance: Some("200MB"), ..text() });
    assert_eq!((mem.binding, mem.partitions_per_instance, mem.instances), (BoundKind::Memory, 5, 10));
    assert_eq!(mem.busiest_instance_partitions, 5);
    // 1000 MB/s = 20.8 MB/s per partition: 5 × 20.8 = 104 ≤ 0.7 × 155 (interpolated at 5)
    // but 6 × 20.8 = 125 > 0.7 × 170 → throughput binds at 5 when CPU is plentiful.
    let tput = plan_with(RequestText { throughput: "1000MB/s", cpu_per_instance: Some("8"), ..text() });
    assert_eq!((tput.binding, tput.partitions_per_instance), (BoundKind::Throughput, 5));
    // 20 MB/s on two partitions: everything fits one instance.
    let small = plan_with(RequestText { throughput: "20MB/s", partitions: 2, ..text() });
    assert_eq!((small.binding, small.instances), (BoundKind::AllPartitions, 1));
}

#[test]
fn a_partition_faster_than_one_measured_partition_is_not_feasible() {
    // 62.5 MB/s per partition against 0.7 × 40 MB/s measured for one partition.
    let plan = plan_with(RequestText { throughput: "3000MB/s", ..text() });
    assert!(!plan.feasible);
    assert_eq!(bound(&plan, BoundKind::Throughput).max_partitions, 0);
    assert!(plan.warnings[0].starts_with("NOT FEASIBLE"), "{:?}", plan.warnings);
}

fn without(metric: &str) -> MeasuredFile {
    let mut file = fixture();
    for point in &mut file.points {
        point.stats.remove(metric);
    }
    file
}

#[test]
fn missing_metrics_are_named() {
    let request = PlanRequest::parse(&text()).unwrap();
    for metric in ["backup_mb_s", "cpu_seconds_per_gb", "peak_rss_mb", "restore_mb_s"] {
        let err = compute(&request, &[without(metric)]).unwrap_err().to_string();
        assert!(err.starts_with(&format!("no input measured `{metric}`")), "{err}");
        assert!(err.contains(FIXTURE_PATH), "{err}");
    }
    // Restore MB/s is only needed for an RTO.
    let no_rto = PlanRequest::parse(&RequestText { restore_size: None, ..text() }).unwrap();
    assert!(compute(&no_rto, &[without("restore_mb_s")]).unwrap().rto.is_none());
}

#[test]
fn budgets_must_come_from_somewhere() {
    let mut file = fixture();
    file.cores = None;
    let err = compute(&PlanRequest::parse(&text()).unwrap(), &[file]).unwrap_err().to_string();
    assert!(err.contains("--cpu-per-instance"), "{err}");
}

#[test]
fn one_partition_count_scales_rss_per_partition_and_caps_instances_there() {
    let mut file = fixture();
    file.points.retain(|p| p.partitions == 4);
    let plan = compute(&PlanRequest::parse(&text()).unwrap(), &[file]).unwrap();
    assert_eq!(plan.memory_model, MemoryModel::SinglePointScaled { partitions: 4, peak_rss_mb: 120.0 });
    // 120 MB / 4 = 30 MB per partition above 4, never below 120 MB.
    assert_eq!((plan.memory_model.predict_mb(2), plan.memory_model.predict_mb(8)), (120.0, 240.0));
    assert_eq!((plan.binding, plan.partitions_per_instance), (BoundKind::MeasuredRange, 4));
    assert!(plan.warnings.iter().any(|w| w.contains("measured at 4 partitions only")), "{:?}", plan.warnings);
}

#[test]
fn earlier_files_win_at_the_same_partition_count() {
    let mut faster = fixture();
    faster.path = "faster.json".into();
    for p in &mut faster.points {
        p.stats.get_mut("backup_mb_s").unwrap().median *= 2.0;
    }
    let plan = compute(&PlanRequest::parse(&text()).unwrap(), &[faster, fixture()]).unwrap();
    assert_eq!(plan.scaling[3].backup_mb_s, Some(400.0));
    assert!(plan.sources.iter().filter(|s| s.metric == "backup_mb_s").all(|s| s.file == "faster.json"));
}

#[test]
fn a_codec_matrix_at_one_partition_count_is_refused() {
    let mut doc: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    for point in doc["points"].as_array_mut().unwrap() {
        point["parameters"][0]["value"] = 4.into();
    }
    let err = parse_measured(&doc.to_string(), "codecs.json").unwrap_err().to_string();
    assert!(err.contains("all have partitions=4"), "{err}");
}

#[test]
fn newest_report_then_baseline_then_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (reports, baselines) = (dir.path().join("reports"), dir.path().join("baselines"));
    let err = find_default_input(&reports, &baselines).unwrap_err().to_string();
    assert!(err.contains("run `harness scenario partition-scaling"), "{err}");
    std::fs::create_dir_all(baselines.join("partition-scaling")).unwrap();
    std::fs::write(baselines.join("partition-scaling/quick.json"), FIXTURE).unwrap();
    assert_eq!(find_default_input(&reports, &baselines).unwrap(), baselines.join("partition-scaling/quick.json"));
    for run in ["2025-01-01T00-00-00Z", "2025-02-01T00-00-00Z"] {
        std::fs::create_dir_all(reports.join("partition-scaling").join(run)).unwrap();
        std::fs::write(reports.join("partition-scaling").join(run).join("report.json"), FIXTURE).unwrap();
    }
    let newest = reports.join("partition-scaling/2025-02-01T00-00-00Z/report.json");
    assert_eq!(find_default_input(&reports, &baselines).unwrap(), newest);
    assert_eq!(load_measured(&newest).unwrap().points.len(), 4);
}

/// A sample with `mb` MB backed up in 1 s on a 2-core machine: RSS and CPU scale with `mb`.
fn sample(mb: u64) -> Sample {
    let mut backup = PhaseResult::new(Phase::Backup, mb * 1_000_000, mb * 1000, 1.0);
    backup.engine = Some(EngineMetrics {
        peak_rss_bytes: (50 + mb) * 1_000_000,
        cpu_user_secs: mb as f64 / 100.0,
        cpu_sys_secs: 0.0,
        read_bytes: 0,
        write_bytes: 0,
        threads_max: 4,
        timeline: Vec::new(),
        checkpoint_latency_ms: None,
        stored_bytes: Some(mb * 250_000),
        compression_ratio: None,
    });
    let restore = PhaseResult::new(Phase::Restore, mb * 1_000_000, mb * 1000, 2.0);
    Sample { repeat: 0, phases: vec![backup, restore], verification: Verification::default() }
}

#[test]
fn reads_a_report_json_written_the_way_the_runner_writes_it() {
    let scenarios = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/partition-scaling.yaml");
    let plan = scenario::load(std::path::Path::new(scenarios)).unwrap().plan(Profile::Quick).unwrap();
    let environment = Environment {
        cpu_model: "test".into(),
        cores: 2,
        memory_bytes: 4_000_000_000,
        kernel: "test".into(),
        rustc: "test".into(),
        kbackup_git_sha: "test".into(),
        tansu_version: None,
        garage_version: None,
        kind: EnvKind::Native,
    };
    let mut report = Report::new(&plan, environment, "2025-01-31T12:00:00Z".into());
    for point in &plan.points {
        let mb = 30 * u64::from(point.workload.partitions);
        report.set_point(PointResult::from_samples(point, vec![sample(mb)]));
    }
    let json = String::from_utf8(JsonExporter.render(&report).unwrap()).unwrap();
    let file = parse_measured(&json, "report.json").unwrap();
    assert_eq!((file.profile.as_deref(), file.cores), (Some("quick"), Some(2)));
    let four = file.points.iter().find(|p| p.partitions == 4).unwrap();
    // 120 MB in 1 s; 1.2 CPU-s for 0.12 GB = 10 CPU-s/GB; 170 MB peak; restore 60 MB/s.
    let median = |m: &str| four.stats[m].median;
    assert_eq!((median("backup_mb_s"), median("peak_rss_mb"), median("restore_mb_s")), (120.0, 170.0, 60.0));
    assert!((median("cpu_seconds_per_gb") - 10.0).abs() < 1e-9);
    let request = PlanRequest::parse(&RequestText { throughput: "100MB/s", partitions: 16, ..text() }).unwrap();
    let capacity = compute(&request, &[file]).unwrap();
    // RSS = 50 + 30 k exactly; a quick profile and single repeats are called out.
    assert_eq!(capacity.memory_model, MemoryModel::LinearFit { base_mb: 50.0, per_partition_mb: 30.0 });
    assert!(capacity.warnings.iter().any(|w| w.contains("quick-profile")), "{:?}", capacity.warnings);
    assert!(capacity.warnings.iter().any(|w| w.contains("fewer than 3 repeats")), "{:?}", capacity.warnings);
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(render_markdown(&plan_with(text())).unwrap());
}

#[test]
fn kubernetes_snapshot() {
    insta::assert_snapshot!(render_kubernetes(&plan_with(text())).unwrap());
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct K8sDoc {
    api_version: String,
    kind: String,
    metadata: serde_json::Value,
    /// Absent on a ConfigMap.
    spec: Option<serde_json::Value>,
}

#[test]
fn kubernetes_yaml_parses_back_as_the_deploy_objects_sized_by_the_plan() {
    let plan = plan_with(text());
    let docs: Vec<K8sDoc> = serde_saphyr::from_multiple(&render_kubernetes(&plan).unwrap()).unwrap();
    let kinds: Vec<(&str, &str)> = docs.iter().map(|d| (d.api_version.as_str(), d.kind.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("v1", "ConfigMap"),
            ("apps/v1", "Deployment"),
            ("v1", "Service"),
            ("monitoring.coreos.com/v1", "ServiceMonitor"),
            ("policy/v1", "PodDisruptionBudget"),
            ("autoscaling/v2", "HorizontalPodAutoscaler")
        ]
    );
    let names: Vec<Option<&str>> = docs.iter().map(|d| d.metadata["name"].as_str()).collect();
    assert_eq!(
        names,
        [Some("kbackup-config"), Some("kbackup"), Some("kbackup"), Some("kbackup"), Some("kbackup"), Some("kbackup")]
    );
    let (deployment, hpa) = (docs[1].spec.as_ref().unwrap(), docs[5].spec.as_ref().unwrap());
    assert_eq!(deployment["replicas"], 6);
    let template = &deployment["template"];
    // The selector must match the pods' labels, or the API server rejects the Deployment.
    assert_eq!(deployment["selector"]["matchLabels"], template["metadata"]["labels"]);
    let container = &template["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["containerPort"], 9100);
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(
        args,
        [
            "backup",
            "--continuous",
            "-c",
            "/etc/kbackup/backup.yaml",
            "--metrics-listen",
            "0.0.0.0:9100",
            "--shutdown-timeout",
            "30s"
        ]
    );
    let probes = ["livenessProbe", "readinessProbe"].map(|p| container[p]["httpGet"]["path"].as_str());
    assert_eq!(probes, [Some("/health"), Some("/ready")]);
    let resources = &container["resources"];
    let quantities = ["requests", "limits"].map(|k| (resources[k]["cpu"].as_str(), resources[k]["memory"].as_str()));
    assert_eq!(quantities, [(Some("840m"), Some("191Mi")), (Some("1200m"), Some("273Mi"))]);
    assert_eq!(template["spec"]["volumes"][0]["configMap"]["name"].as_str(), Some("kbackup-config"));
    assert_eq!(hpa["scaleTargetRef"]["name"].as_str(), Some("kbackup"));
    assert_eq!((hpa["minReplicas"].as_u64(), hpa["maxReplicas"].as_u64()), (Some(6), Some(48)));
    let metric = &hpa["metrics"][0];
    assert_eq!(
        (metric["type"].as_str(), metric["external"]["metric"]["name"].as_str()),
        (Some("External"), Some("kafka_backup_lag_bytes"))
    );
    // A quantity is a string in the API; a bare number would be read as an integer.
    let lag: u64 = metric["external"]["target"]["averageValue"].as_str().unwrap().parse().unwrap();
    assert_eq!(lag, plan.autoscaling.target_lag_bytes);
    // The PDB and the Service select the Deployment's pods.
    let pdb = docs[4].spec.as_ref().unwrap();
    assert_eq!(pdb["selector"]["matchLabels"], template["metadata"]["labels"]);
    assert_eq!(docs[2].spec.as_ref().unwrap()["selector"], template["metadata"]["labels"]);
}

#[test]
fn chart_data_and_svg() {
    let plan = plan_with(RequestText { memory_per_instance: Some("200MB"), ..text() });
    let data = chart_data(&plan);
    assert_eq!(data.measured, [(1.0, 40.0), (2.0, 76.0), (4.0, 140.0), (8.0, 200.0)]);
    // 2 cores at 20 CPU-s/GB sustain 100 MB/s.
    assert_eq!(data.cpu_capacity[0], (1.0, 100.0));
    assert_eq!((data.chosen, data.memory_limit, data.max_x), (5.0, Some(5.0), 9.0));
    let svg = render_svg(&plan).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("partitions per instance"));
}

#[test]
fn json_and_files_are_written_together() {
    let plan = plan_with(text());
    let json: serde_json::Value = serde_json::from_str(&render_json(&plan).unwrap()).unwrap();
    assert_eq!((json["instances"].as_u64(), json["binding"].as_str()), (Some(6), Some("measured_range")));
    assert_eq!(json["schema_version"].as_u64(), Some(u64::from(crate::report::SCHEMA_VERSION)));
    let dir = tempfile::tempdir().unwrap();
    let written = write_plan(dir.path(), &plan).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["plan.md", "plan.json", "plan.svg", "kubernetes.yaml", "prometheus-adapter-rules.yaml"]);
}

#[test]
fn sizes_and_durations_read_well() {
    use super::compute::{format_duration, human_bytes};
    assert_eq!((human_bytes(8_000_000_000), human_bytes(500 << 30)), ("8GB".into(), "500GiB".into()));
    assert_eq!(human_bytes(24_683_656 * 1024), "23.54GiB");
    assert_eq!(
        (format_duration(42.0), format_duration(250.0), format_duration(3579.1)),
        ("42s".into(), "4m 10s".into(), "59m 40s".into())
    );
    assert_eq!(format_duration(7510.0), "2h 05m 10s");
}
