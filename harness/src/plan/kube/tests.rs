//! `deploy/kubernetes/` is these structs rendered with [`guidance`]'s sizing: the test fails
//! when the committed files drift from them, and `KBACKUP_UPDATE_DEPLOY=1` rewrites them.

use super::workload::BACKUP_YAML;
use super::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const HEADER: &str = "\
# Generated from harness/src/plan/kube/ with the project guidance's sizing (kube/tests.rs);
# `harness plan` writes the same objects sized from measurements. See deploy/README.md.
# After changing the structs: KBACKUP_UPDATE_DEPLOY=1 cargo test -p harness --lib plan::kube
";

/// The shipped defaults (`deploy/kubernetes/`): the project guidance's sizing for 1–4
/// partitions per instance (1 vCPU and 512 MB requested, 2 vCPU and 1 GiB limit) and its
/// HPA example (1–8 pods at 100 MiB of lag each), with two pods so losing one loses no time.
fn guidance() -> Sizing {
    Sizing {
        replicas: 2,
        replicas_note: "two members of one group; size with `harness plan`".to_owned(),
        cpu_request_millis: 1000,
        requests_note: "guidance: 1 vCPU, 512 MB for 1-4 partitions".to_owned(),
        cpu_limit_millis: 2000,
        limits_note: "guidance: bursts up to 2 vCPU, 1 GiB".to_owned(),
        memory_request_mib: 512,
        memory_limit_mib: 1024,
        min_replicas: 2,
        max_replicas: 8,
        max_replicas_note: "keep <= the partition count: extra pods idle".to_owned(),
        target_lag_bytes: 100 << 20,
        target_note: "100 MiB of lag per pod".to_owned(),
    }
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes")
}

/// `kubectl apply -k deploy/kubernetes` applies the objects in this order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<&'static str>,
}

/// Every file `deploy/kubernetes/` should hold, by name.
fn shipped_files() -> BTreeMap<&'static str, String> {
    let objects = manifests(&guidance()).unwrap();
    let kustomization = Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: objects.iter().map(|m| m.file).collect(),
    };
    let mut files: BTreeMap<_, _> = objects.into_iter().map(|m| (m.file, format!("{HEADER}{}", m.yaml))).collect();
    files.insert("kustomization.yaml", format!("{HEADER}{}", yaml(&kustomization).unwrap()));
    files.insert(ADAPTER_RULES_FILE, format!("{HEADER}{}", render_adapter_rules().unwrap()));
    files
}

#[test]
fn deploy_files_are_the_structs_with_the_guidance_sizing() {
    let dir = deploy_dir();
    let expected = shipped_files();
    if std::env::var_os("KBACKUP_UPDATE_DEPLOY").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let names: Vec<&str> = expected.keys().copied().collect();
    assert_eq!(on_disk, names, "deploy/kubernetes/*.yaml: a file no struct renders, or one missing");
    for (name, text) in &expected {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            committed == *text,
            "deploy/kubernetes/{name} differs from harness/src/plan/kube; rerun with KBACKUP_UPDATE_DEPLOY=1 \
             and review the diff\n--- expected ---\n{text}"
        );
    }
}

#[derive(Deserialize)]
struct ConfigMapDoc {
    data: BTreeMap<String, String>,
}

#[test]
fn the_config_map_carries_the_config_verbatim_and_kbackup_accepts_it() {
    let doc: ConfigMapDoc = serde_saphyr::from_str(&yaml(&workload::config_map()).unwrap()).unwrap();
    assert_eq!(doc.data["backup.yaml"], BACKUP_YAML);
    let plan = ::engine::config::parse(BACKUP_YAML, "backup.yaml", |_| None).unwrap();
    assert_eq!(plan.backup.mode, ::engine::config::BackupMode::Continuous);
    assert_eq!(plan.backup_id, "orders-continuous");
}

#[test]
fn the_grace_period_outlasts_the_shutdown_timeout() {
    let args = workload::container_args();
    let at = args.iter().position(|a| a == "--shutdown-timeout").unwrap();
    let timeout = ::engine::config::parse_duration(&args[at + 1], 1000).unwrap();
    let deployment: serde_json::Value =
        serde_saphyr::from_str(&yaml(&workload::deployment(&guidance())).unwrap()).unwrap();
    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(grace > timeout.as_secs(), "grace {grace}s must exceed --shutdown-timeout {timeout:?}");
    assert_eq!(&args[..2], ["backup", "--continuous"]);
}

#[test]
fn a_plan_and_the_shipped_files_differ_only_in_the_sized_figures() {
    let shipped = manifests(&guidance()).unwrap();
    let unsized_files = ["configmap.yaml", "service.yaml", "servicemonitor.yaml", "pdb.yaml"];
    let mut other = guidance();
    other.replicas = 7;
    other.cpu_request_millis = 300;
    other.target_lag_bytes = 1 << 30;
    let planned = manifests(&other).unwrap();
    for (a, b) in shipped.iter().zip(&planned) {
        assert_eq!(a.file, b.file);
        assert_eq!(a.yaml == b.yaml, unsized_files.contains(&a.file), "{}", a.file);
    }
}
