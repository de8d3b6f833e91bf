//! Capacity planning (`harness plan`): sizes a kbackup deployment for a required
//! throughput and partition count from *measured* results only — per-partition backup
//! throughput and its scaling, CPU-seconds per GB, peak RSS per partition and restore
//! MB/s, read from `report.json` files or baselines with the same per-point statistics.
//!
//! Pipeline: [`load_measured`] reads files into [`MeasuredFile`]s, [`PlanRequest`]
//! validates the user's figures, [`compute`] derives a [`CapacityPlan`] (pure), the
//! renderers turn it into Markdown, JSON, an SVG chart and Kubernetes YAML (pure; the same
//! structs render `deploy/kubernetes/`), and
//! [`write_plan`] is the only code here that writes files.

mod caveats;
pub mod cli;
mod compute;
mod fit;
mod input;
mod kube;
mod markdown;
mod model;
mod request;
mod series;
mod svg;
mod writer;

#[cfg(test)]
mod tests;

pub use compute::compute;
pub use input::{MeasuredFile, MeasuredPoint, find_default_input, load_measured, parse_measured};
pub use kube::{ADAPTER_RULES_FILE, render_adapter_rules, render_kubernetes};
pub use markdown::render_markdown;
pub use model::*;
pub use request::{PlanRequest, RequestText};
pub use svg::render_svg;
pub use writer::{render_json, write_plan};

use std::path::PathBuf;

/// Result alias of the planning module.
pub type Result<T, E = PlanError> = std::result::Result<T, E>;

/// Why a plan could not be made. Every message says what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// An input's `schema_version` is not one this harness reads.
    #[error(transparent)]
    Schema(#[from] ::engine::schema::SchemaError),
    /// A flag's value is not usable.
    #[error("{flag} '{value}': expected {expected}")]
    InvalidArgument {
        /// The flag, e.g. `--throughput`.
        flag: &'static str,
        /// What was given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// No input was given and none was found in the default places.
    #[error(
        "nothing measured to plan from: no {} and no {}; run `harness scenario partition-scaling \
         --profile standard` first (or pass --from REPORT.json|BASELINE.json)",
        reports.display(), baselines.display()
    )]
    NothingMeasured {
        /// The report pattern looked at.
        reports: PathBuf,
        /// The baseline pattern looked at.
        baselines: PathBuf,
    },
    /// An input could not be read or an output written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An input file is not a report or baseline.
    #[error("{path}: not a report.json or baseline (at {at}): {message}")]
    Parse {
        /// The file.
        path: String,
        /// JSON path of the problem.
        at: String,
        /// What was wrong.
        message: String,
    },
    /// A point's partition count cannot be told.
    #[error("{path}: point '{point}' has no partition count (no `partitions` parameter or label, no plan entry)")]
    NoPartitions {
        /// The file.
        path: String,
        /// The point's label.
        point: String,
    },
    /// One file has several points at the same partition count (e.g. a codec matrix).
    #[error(
        "{path}: points {points:?} all have partitions={partitions}; plan needs one point per partition count \
         (use a partition-scaling or max-throughput-per-partition report)"
    )]
    AmbiguousPartitions {
        /// The file.
        path: String,
        /// The repeated partition count.
        partitions: u32,
        /// The points sharing it.
        points: Vec<String>,
    },
    /// No input measured a metric the plan needs.
    #[error(
        "no input measured `{metric}` (needed for {needed_for}); inputs: {}; run a scenario whose phases \
         include {phase} (e.g. `harness scenario partition-scaling`)",
        files.join(", ")
    )]
    MissingMetric {
        /// The metric name.
        metric: &'static str,
        /// What the plan uses it for.
        needed_for: &'static str,
        /// The phase that measures it.
        phase: &'static str,
        /// The input files.
        files: Vec<String>,
    },
    /// A per-instance budget was neither given nor recorded with the measurements.
    #[error("no {what} budget per instance: pass {flag} (the inputs do not record the measuring machine's {what})")]
    NoBudget {
        /// `CPU` or `memory`.
        what: &'static str,
        /// The flag to pass.
        flag: &'static str,
    },
    /// The chart could not be drawn.
    #[error("drawing plan.svg: {0}")]
    Chart(String),
    /// The plan could not be serialized.
    #[error("serializing plan.json: {0}")]
    Json(#[from] serde_json::Error),
    /// The Kubernetes manifests could not be serialized.
    #[error("serializing kubernetes.yaml: {0}")]
    Yaml(#[from] serde_saphyr::SerializeError),
}
