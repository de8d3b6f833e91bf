//! The workload: the ConfigMap with kbackup's config, the Deployment that runs N members of
//! one consumer group from it, and the PodDisruptionBudget that drains them one at a time.

use serde::Serialize;
use serde_saphyr::{Commented, LitStr};

use super::Sizing;
use super::objects::{
    APP, CONFIG_DIR, CONFIG_MAP, Labels, METRICS_PORT, METRICS_PORT_NAME, Metadata, Object, S3_SECRET, Selector,
};

/// The kbackup config every replica runs: continuous mode, one `backup_id`, hence one group.
pub(super) const BACKUP_YAML: &str = include_str!("backup.yaml");
/// Time between kubelet's SIGTERM and SIGKILL beyond `--shutdown-timeout`: the flush gets
/// its whole deadline and kbackup still exits (and reports) before it is killed.
const GRACE_MARGIN_SECS: u64 = 30;

/// `ConfigMap kbackup-config` with the one key `backup.yaml`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConfigMap {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    data: ConfigData,
}

#[derive(Serialize)]
struct ConfigData {
    #[serde(rename = "backup.yaml")]
    backup_yaml: LitStr<'static>,
}

pub(super) fn config_map() -> ConfigMap {
    ConfigMap {
        api_version: "v1",
        kind: "ConfigMap",
        metadata: Metadata::app(CONFIG_MAP),
        data: ConfigData { backup_yaml: LitStr(BACKUP_YAML) },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeploymentSpec {
    replicas: Commented<u32>,
    selector: Selector,
    template: PodTemplate,
}

#[derive(Serialize)]
struct PodTemplate {
    metadata: PodMetadata,
    spec: PodSpec,
}

#[derive(Serialize)]
struct PodMetadata {
    labels: Labels,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    termination_grace_period_seconds: Commented<u64>,
    security_context: PodSecurity,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
}

/// Non-root with the runtime's default seccomp profile; the image needs nothing more.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSecurity {
    run_as_non_root: bool,
    run_as_user: u32,
    run_as_group: u32,
    seccomp_profile: Seccomp,
}

#[derive(Serialize)]
struct Seccomp {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: &'static str,
    image: String,
    args: Vec<String>,
    env: Vec<EnvVar>,
    ports: Vec<Port>,
    liveness_probe: Probe,
    readiness_probe: Probe,
    resources: Resources,
    security_context: ContainerSecurity,
    volume_mounts: Vec<VolumeMount>,
}

/// An environment variable taken from a Secret key.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    name: &'static str,
    value_from: EnvSource,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvSource {
    secret_key_ref: KeyRef,
}

#[derive(Serialize)]
struct KeyRef {
    name: &'static str,
    key: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Port {
    name: &'static str,
    container_port: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    http_get: HttpGet,
    period_seconds: u32,
    failure_threshold: u32,
}

#[derive(Serialize)]
struct HttpGet {
    path: &'static str,
    port: &'static str,
}

#[derive(Serialize)]
struct Resources {
    requests: Quantities,
    limits: Quantities,
}

#[derive(Serialize)]
struct Quantities {
    cpu: Commented<String>,
    memory: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerSecurity {
    allow_privilege_escalation: bool,
    read_only_root_filesystem: bool,
    capabilities: Capabilities,
}

#[derive(Serialize)]
struct Capabilities {
    drop: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: &'static str,
    mount_path: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
}

/// A volume: the config, or a scratch `/tmp` (the root filesystem is read-only).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_map: Option<ConfigMapRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    empty_dir: Option<EmptyDir>,
}

#[derive(Serialize)]
struct ConfigMapRef {
    name: &'static str,
}

#[derive(Serialize)]
struct EmptyDir {}

/// The container's command line: continuous, metrics on every interface of the pod, and the
/// stop deadline the grace period is derived from.
pub(super) fn container_args() -> Vec<String> {
    let shutdown = ::engine::config::DEFAULT_SHUTDOWN_TIMEOUT.as_secs();
    let config = format!("{CONFIG_DIR}/backup.yaml");
    let listen = format!("0.0.0.0:{METRICS_PORT}");
    let args = ["backup", "--continuous", "-c", &config, "--metrics-listen", &listen];
    args.iter().map(|a| (*a).to_owned()).chain(["--shutdown-timeout".to_owned(), format!("{shutdown}s")]).collect()
}

fn container(sizing: &Sizing) -> Container {
    let cpu = |millis: u64| format!("{millis}m");
    let secret = |name, key| EnvVar { name, value_from: EnvSource { secret_key_ref: KeyRef { name: S3_SECRET, key } } };
    let probe =
        |path| Probe { http_get: HttpGet { path, port: METRICS_PORT_NAME }, period_seconds: 10, failure_threshold: 3 };
    let mount = |name, mount_path, read_only| VolumeMount { name, mount_path, read_only };
    Container {
        name: APP,
        image: format!("kbackup:{}", env!("CARGO_PKG_VERSION")),
        args: container_args(),
        env: vec![secret("AWS_ACCESS_KEY_ID", "access_key_id"), secret("AWS_SECRET_ACCESS_KEY", "secret_access_key")],
        ports: vec![Port { name: METRICS_PORT_NAME, container_port: METRICS_PORT }],
        liveness_probe: probe("/health"),
        readiness_probe: probe("/ready"),
        resources: Resources {
            requests: Quantities {
                cpu: Commented(cpu(sizing.cpu_request_millis), sizing.requests_note.clone()),
                memory: format!("{}Mi", sizing.memory_request_mib),
            },
            limits: Quantities {
                cpu: Commented(cpu(sizing.cpu_limit_millis), sizing.limits_note.clone()),
                memory: format!("{}Mi", sizing.memory_limit_mib),
            },
        },
        security_context: ContainerSecurity {
            allow_privilege_escalation: false,
            read_only_root_filesystem: true,
            capabilities: Capabilities { drop: vec!["ALL"] },
        },
        volume_mounts: vec![mount("config", CONFIG_DIR, true), mount("tmp", "/tmp", false)],
    }
}

pub(super) fn deployment(sizing: &Sizing) -> Object<DeploymentSpec> {
    let shutdown = ::engine::config::DEFAULT_SHUTDOWN_TIMEOUT.as_secs();
    let grace =
        Commented(shutdown + GRACE_MARGIN_SECS, format!("> --shutdown-timeout {shutdown}s: the flush completes"));
    let pod = PodSpec {
        termination_grace_period_seconds: grace,
        security_context: PodSecurity {
            run_as_non_root: true,
            run_as_user: 65532,
            run_as_group: 65532,
            seccomp_profile: Seccomp { kind: "RuntimeDefault" },
        },
        containers: vec![container(sizing)],
        volumes: vec![
            Volume { name: "config", config_map: Some(ConfigMapRef { name: CONFIG_MAP }), empty_dir: None },
            Volume { name: "tmp", config_map: None, empty_dir: Some(EmptyDir {}) },
        ],
    };
    let spec = DeploymentSpec {
        replicas: Commented(sizing.replicas, sizing.replicas_note.clone()),
        selector: Selector::app(),
        template: PodTemplate { metadata: PodMetadata { labels: Labels::app() }, spec: pod },
    };
    Object::new("apps/v1", "Deployment", spec)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DisruptionSpec {
    max_unavailable: Commented<u32>,
    selector: Selector,
}

/// One pod evicted at a time: each eviction is one rebalance, and the rest keep backing up.
pub(super) fn disruption_budget() -> Object<DisruptionSpec> {
    let spec = DisruptionSpec {
        max_unavailable: Commented(1, "one rebalance at a time during drains".to_owned()),
        selector: Selector::app(),
    };
    Object::new("policy/v1", "PodDisruptionBudget", spec)
}
