//! Metrics and autoscaling: the headless Service and the ServiceMonitor (prometheus-operator)
//! that scrape every pod, the Prometheus Adapter rule that serves `kafka_backup_lag_bytes` as
//! an external metric, and the HPA on it.

use serde::Serialize;
use serde_saphyr::Commented;

use super::Sizing;
use super::objects::{APP, LAG_METRIC, Labels, METRICS_PORT, METRICS_PORT_NAME, Object, Selector, TargetRef};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceSpec {
    #[serde(rename = "clusterIP")]
    cluster_ip: Commented<&'static str>,
    publish_not_ready_addresses: Commented<bool>,
    selector: Labels,
    ports: Vec<ServicePort>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServicePort {
    name: &'static str,
    port: u16,
    target_port: &'static str,
}

/// Headless, so Prometheus scrapes each pod rather than one behind a virtual IP.
pub(super) fn service() -> Object<ServiceSpec> {
    let spec = ServiceSpec {
        cluster_ip: Commented("None", "headless: every pod is scraped".to_owned()),
        publish_not_ready_addresses: Commented(true, "a pod that is not ready is the one to watch".to_owned()),
        selector: Labels::app(),
        ports: vec![ServicePort { name: METRICS_PORT_NAME, port: METRICS_PORT, target_port: METRICS_PORT_NAME }],
    };
    Object::new("v1", "Service", spec)
}

#[derive(Serialize)]
pub(super) struct MonitorSpec {
    selector: Selector,
    endpoints: Vec<Endpoint>,
}

#[derive(Serialize)]
struct Endpoint {
    port: &'static str,
    path: &'static str,
    interval: &'static str,
}

pub(super) fn service_monitor() -> Object<MonitorSpec> {
    let spec = MonitorSpec {
        selector: Selector::app(),
        endpoints: vec![Endpoint { port: METRICS_PORT_NAME, path: "/metrics", interval: "15s" }],
    };
    Object::new("monitoring.coreos.com/v1", "ServiceMonitor", spec)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AutoscalerSpec {
    scale_target_ref: TargetRef,
    min_replicas: u32,
    max_replicas: Commented<u32>,
    metrics: Vec<Metric>,
    behavior: Behavior,
}

#[derive(Serialize)]
struct Metric {
    #[serde(rename = "type")]
    kind: &'static str,
    external: ExternalMetric,
}

#[derive(Serialize)]
struct ExternalMetric {
    metric: MetricName,
    target: MetricTarget,
}

/// The metric and the series it covers: those the ServiceMonitor scraped through the Service.
#[derive(Serialize)]
struct MetricName {
    name: &'static str,
    selector: Selector<ServiceLabel>,
}

/// The `service` label prometheus-operator puts on every scraped series.
#[derive(Serialize)]
struct ServiceLabel {
    service: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricTarget {
    #[serde(rename = "type")]
    kind: &'static str,
    /// A quantity string, as the API expects.
    average_value: Commented<String>,
}

/// Every scale event is a rebalance of the group: add pods quickly, remove them slowly.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Behavior {
    scale_up: ScalingRules,
    scale_down: ScalingRules,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScalingRules {
    stabilization_window_seconds: Commented<u32>,
    policies: Vec<ScalingPolicy>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScalingPolicy {
    #[serde(rename = "type")]
    kind: &'static str,
    value: u32,
    period_seconds: u32,
}

fn rules(window: u32, note: &str, pods: u32, period_seconds: u32) -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: Commented(window, note.to_owned()),
        policies: vec![ScalingPolicy { kind: "Pods", value: pods, period_seconds }],
    }
}

pub(super) fn autoscaler(sizing: &Sizing) -> Object<AutoscalerSpec> {
    let metric = MetricName { name: LAG_METRIC, selector: Selector { match_labels: ServiceLabel { service: APP } } };
    let spec = AutoscalerSpec {
        scale_target_ref: TargetRef { api_version: "apps/v1", kind: "Deployment", name: APP },
        min_replicas: sizing.min_replicas,
        max_replicas: Commented(sizing.max_replicas.max(sizing.min_replicas), sizing.max_replicas_note.clone()),
        metrics: vec![Metric {
            kind: "External",
            external: ExternalMetric {
                metric,
                target: MetricTarget {
                    kind: "AverageValue",
                    average_value: Commented(sizing.target_lag_bytes.to_string(), sizing.target_note.clone()),
                },
            },
        }],
        behavior: Behavior {
            scale_up: rules(60, "lag must persist a minute", 2, 60),
            scale_down: rules(600, "each removal is a rebalance", 1, 300),
        },
    };
    Object::new("autoscaling/v2", "HorizontalPodAutoscaler", spec)
}

/// Helm values for `prometheus-community/prometheus-adapter`: `rules.external`.
#[derive(Serialize)]
pub(super) struct AdapterValues {
    rules: AdapterRules,
}

#[derive(Serialize)]
struct AdapterRules {
    external: Vec<ExternalRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRule {
    series_query: String,
    resources: RuleResources,
    name: RuleName,
    metrics_query: Commented<&'static str>,
}

#[derive(Serialize)]
struct RuleResources {
    overrides: Overrides,
}

#[derive(Serialize)]
struct Overrides {
    namespace: ResourceRef,
}

#[derive(Serialize)]
struct ResourceRef {
    resource: &'static str,
}

#[derive(Serialize)]
struct RuleName {
    matches: String,
    #[serde(rename = "as")]
    as_name: &'static str,
}

/// The lag of the whole group in the HPA's namespace. `max by (topic, partition)` counts a
/// partition once even while a pod that just lost it still exports its last value.
pub(super) fn adapter_values() -> AdapterValues {
    let rule = ExternalRule {
        series_query: format!("{LAG_METRIC}{{namespace!=\"\",service!=\"\"}}"),
        resources: RuleResources { overrides: Overrides { namespace: ResourceRef { resource: "namespace" } } },
        name: RuleName { matches: format!("^{LAG_METRIC}$"), as_name: LAG_METRIC },
        metrics_query: Commented(
            "sum(max by (topic, partition) (<<.Series>>{<<.LabelMatchers>>}))",
            "each partition once".to_owned(),
        ),
    };
    AdapterValues { rules: AdapterRules { external: vec![rule] } }
}
