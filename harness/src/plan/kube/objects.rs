//! The parts every manifest shares: the object envelope, names, labels and selectors.
//! Only the fields kbackup sets, serialized in the API's camelCase.

use serde::Serialize;

/// Name of every object, the pods' `app` label and the Service's Prometheus `job`.
pub(super) const APP: &str = "kbackup";
/// The ConfigMap holding `backup.yaml`, mounted at [`CONFIG_DIR`].
pub(super) const CONFIG_MAP: &str = "kbackup-config";
/// Where the config is mounted in the container.
pub(super) const CONFIG_DIR: &str = "/etc/kbackup";
/// The Secret with the S3 credentials (created by the operator, never shipped).
pub(super) const S3_SECRET: &str = "kbackup-s3";
/// Port of `--metrics-listen`: `/metrics`, `/health`, `/ready`.
pub(super) const METRICS_PORT: u16 = 9100;
/// Name of that port in the pod and the Service; probes and the ServiceMonitor use it.
pub(super) const METRICS_PORT_NAME: &str = "metrics";
/// The metric the HPA scales on, as kbackup exports it and the Prometheus Adapter serves it.
pub(super) const LAG_METRIC: &str = "kafka_backup_lag_bytes";

/// A Kubernetes object with a `spec`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Object<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: S,
}

impl<S> Object<S> {
    /// An object named and labelled [`APP`].
    pub fn new(api_version: &'static str, kind: &'static str, spec: S) -> Self {
        Object { api_version, kind, metadata: Metadata::app(APP), spec }
    }
}

/// `metadata`: every object carries the app label, so `kubectl get all -l app=kbackup` lists them.
#[derive(Serialize)]
pub(super) struct Metadata {
    pub name: &'static str,
    pub labels: Labels,
}

impl Metadata {
    /// Named `name`, labelled `app: kbackup`.
    pub fn app(name: &'static str) -> Self {
        Metadata { name, labels: Labels::app() }
    }
}

/// The label set that ties the pods, the Service, the ServiceMonitor and the PDB together.
#[derive(Serialize)]
pub(super) struct Labels {
    pub app: &'static str,
}

impl Labels {
    /// `app: kbackup`.
    pub fn app() -> Self {
        Labels { app: APP }
    }
}

/// A label selector (`matchLabels`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Selector<L = Labels> {
    pub match_labels: L,
}

impl Selector {
    /// Selects `app: kbackup`.
    pub fn app() -> Self {
        Selector { match_labels: Labels::app() }
    }
}

/// A reference to the Deployment, as the HPA names its target.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TargetRef {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: &'static str,
}
