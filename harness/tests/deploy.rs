//! The shipped deployment artifacts (`deploy/`): every Kubernetes YAML document parses, the
//! ConfigMap's kbackup config is accepted by kbackup's own loader, the Grafana dashboard is
//! valid JSON with panels, and every `kafka_backup_*` name the dashboard, the HPA and the
//! adapter rules use is one kbackup documents.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `deploy/kubernetes/*.yaml`, by file name, as its YAML documents.
fn kubernetes_docs() -> BTreeMap<String, Vec<Value>> {
    let dir = repo().join("deploy/kubernetes");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let docs: Vec<Value> =
                serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("deploy/kubernetes/{name}: {e}"));
            files.insert(name, docs);
        }
    }
    files
}

fn one_doc<'a>(files: &'a BTreeMap<String, Vec<Value>>, name: &str) -> &'a Value {
    match files.get(name).map(Vec::as_slice) {
        Some([doc]) => doc,
        other => panic!("deploy/kubernetes/{name}: expected one document, found {other:?}"),
    }
}

#[test]
fn every_kubernetes_document_parses_with_a_kind() {
    let files = kubernetes_docs();
    let kinds: BTreeMap<&str, &str> = files
        .iter()
        .filter(|(name, _)| *name != "prometheus-adapter-rules.yaml") // Helm values, not an object
        .map(|(name, docs)| {
            let [doc] = docs.as_slice() else { panic!("{name}: expected one document") };
            assert!(doc["apiVersion"].is_string(), "{name}: no apiVersion");
            (name.as_str(), doc["kind"].as_str().unwrap_or_else(|| panic!("{name}: no kind")))
        })
        .collect();
    let expected = [
        ("configmap.yaml", "ConfigMap"),
        ("deployment.yaml", "Deployment"),
        ("hpa.yaml", "HorizontalPodAutoscaler"),
        ("kustomization.yaml", "Kustomization"),
        ("pdb.yaml", "PodDisruptionBudget"),
        ("service.yaml", "Service"),
        ("servicemonitor.yaml", "ServiceMonitor"),
    ];
    assert_eq!(kinds, BTreeMap::from(expected));
    assert!(one_doc(&files, "prometheus-adapter-rules.yaml")["rules"]["external"].is_array());
}

#[test]
fn the_config_map_holds_a_continuous_config_kbackup_loads() {
    let files = kubernetes_docs();
    let text = one_doc(&files, "configmap.yaml")["data"]["backup.yaml"].as_str().expect("data.backup.yaml").to_owned();
    // What the container does: `kbackup backup -c /etc/kbackup/backup.yaml` → engine::config::load.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.yaml");
    std::fs::write(&path, text).unwrap();
    let plan = engine::config::load(&path).unwrap_or_else(|e| panic!("kbackup rejects the ConfigMap's config: {e}"));
    assert_eq!(plan.backup.mode, engine::config::BackupMode::Continuous);

    let deployment = one_doc(&files, "deployment.yaml");
    let pod = &deployment["spec"]["template"]["spec"];
    let args: Vec<&str> = pod["containers"][0]["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(args.windows(2).any(|w| w == ["-c", "/etc/kbackup/backup.yaml"]), "{args:?}");
    assert!(args.contains(&"--continuous") && args.contains(&"--metrics-listen"), "{args:?}");
    let mount = &pod["containers"][0]["volumeMounts"][0];
    assert_eq!((mount["name"].as_str(), mount["mountPath"].as_str()), (Some("config"), Some("/etc/kbackup")));
    let volume = &pod["volumes"][0];
    assert_eq!(volume["configMap"]["name"], one_doc(&files, "configmap.yaml")["metadata"]["name"]);
}

/// A documented metric: its name and Prometheus type.
type Documented = BTreeMap<String, String>;

/// The `kafka_backup_*` rows of docs/metrics.md's table: "| `name` | type | labels | meaning |".
fn documented_metrics() -> Documented {
    let path = repo().join("docs/metrics.md");
    let Ok(text) = std::fs::read_to_string(&path) else { return fallback_metrics() };
    let rows: Documented = text
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            let name = name.split('{').next()?; // `name{labels}` names the metric too
            Some((name.to_owned(), cells.get(1)?.to_lowercase()))
        })
        .filter(|(name, _)| name.starts_with("kafka_backup_"))
        .collect();
    assert!(!rows.is_empty(), "docs/metrics.md has no kafka_backup_* table rows");
    rows
}

// TODO: docs/metrics.md — the names issue 12 §3 fixes; this list goes once that file exists on main.
fn fallback_metrics() -> Documented {
    [
        ("kafka_backup_compression_ratio", "gauge"),
        ("kafka_backup_lag_bytes", "gauge"),
        ("kafka_backup_lag_records", "gauge"),
        ("kafka_backup_records_total", "counter"),
        ("kafka_backup_bytes_total", "counter"),
        ("kafka_backup_stored_bytes_total", "counter"),
        ("kafka_backup_checkpoint_latency_seconds", "histogram"),
        ("kafka_backup_segment_upload_seconds", "histogram"),
        ("kafka_backup_last_checkpoint_timestamp_seconds", "gauge"),
        ("kafka_backup_assigned_partitions", "gauge"),
        ("kafka_backup_rebalances_total", "counter"),
        ("kafka_backup_errors_total", "counter"),
    ]
    .map(|(n, t)| (n.to_owned(), t.to_owned()))
    .into()
}

/// Every `kafka_backup_…` identifier in `text`.
fn referenced_metrics(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("kafka_backup_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// A name is documented as is, or is a documented histogram's `_bucket`, `_sum` or `_count`.
fn is_documented(name: &str, documented: &Documented) -> bool {
    documented.contains_key(name)
        || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
            name.strip_suffix(suffix).is_some_and(|base| documented.get(base).is_some_and(|t| t.contains("histogram")))
        })
}

#[test]
fn every_metric_name_used_is_documented() {
    let documented = documented_metrics();
    for file in
        ["deploy/grafana/kbackup.json", "deploy/kubernetes/hpa.yaml", "deploy/kubernetes/prometheus-adapter-rules.yaml"]
    {
        let used = referenced_metrics(&read(file));
        assert!(!used.is_empty(), "{file} uses no kafka_backup_* metric");
        let unknown: BTreeSet<&String> = used.iter().filter(|n| !is_documented(n, &documented)).collect();
        assert!(unknown.is_empty(), "{file} uses undocumented metrics {unknown:?}; documented: {documented:?}");
    }
}

/// Every PromQL expression of the dashboard's panels, including those nested in rows.
fn expressions(panels: &[Value]) -> Vec<String> {
    panels
        .iter()
        .flat_map(|p| {
            let own =
                p["targets"].as_array().into_iter().flatten().filter_map(|t| t["expr"].as_str()).map(str::to_owned);
            own.chain(expressions(p["panels"].as_array().map_or(&[][..], Vec::as_slice))).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_dashboard_is_json_with_panels_on_a_datasource_variable() {
    let dashboard: Value =
        serde_json::from_str(&read("deploy/grafana/kbackup.json")).expect("kbackup.json is not JSON");
    let panels = dashboard["panels"].as_array().expect("no panels");
    let variables = dashboard["templating"]["list"].as_array().expect("no template variables");
    let datasource = variables.iter().find(|v| v["type"] == "datasource").expect("no datasource variable");
    assert_eq!(datasource["query"], "prometheus");
    let var = format!("${{{}}}", datasource["name"].as_str().unwrap());
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        assert_eq!(panel["datasource"]["uid"].as_str(), Some(var.as_str()), "panel {}", panel["title"]);
        assert!(!panel["targets"].as_array().unwrap().is_empty(), "panel {} has no query", panel["title"]);
    }
    let exprs = expressions(panels);
    let has = |needle: &str| exprs.iter().any(|e| e.contains(needle));
    for needle in [
        "rate(kafka_backup_bytes_total",
        "rate(kafka_backup_records_total",
        "kafka_backup_lag_bytes",
        "kafka_backup_lag_records",
        "kafka_backup_compression_ratio",
        "histogram_quantile(0.5, sum by (le) (rate(kafka_backup_checkpoint_latency_seconds_bucket",
        "histogram_quantile(0.99, sum by (le) (rate(kafka_backup_checkpoint_latency_seconds_bucket",
        "time() - max by (topic, partition) (kafka_backup_last_checkpoint_timestamp_seconds",
        "kafka_backup_rebalances_total",
        "sum by (pod) (kafka_backup_assigned_partitions",
        "sum by (kind) (rate(kafka_backup_errors_total",
    ] {
        assert!(has(needle), "no panel queries `{needle}`");
    }
}
