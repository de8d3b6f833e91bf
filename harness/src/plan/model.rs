//! The capacity plan as data: what was asked, what was measured, which limit binds,
//! and the resulting deployment. Serialized as `plan.json`; every other output renders
//! it. Throughput is MB/s with MB = 10^6 bytes; memory figures are bytes.

use super::request::PlanRequest;
use serde::Serialize;

/// One measured median a figure was derived from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Source {
    /// Input file.
    pub file: String,
    /// Scenario of that file.
    pub scenario: String,
    /// Matrix point label.
    pub point: String,
    /// Metric name, as in `report.json`.
    pub metric: String,
    /// Median over the point's repeats.
    pub median: f64,
    /// Repeats the median is over.
    pub n: usize,
}

/// Where a per-instance budget came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetOrigin {
    /// Given on the command line.
    Flag,
    /// The measuring machine's figure, recorded in this input file.
    MeasuringMachine(String),
}

/// CPU and memory one instance may use.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Budget {
    /// CPU cores.
    pub cpu_cores: f64,
    /// Where `cpu_cores` came from.
    pub cpu_origin: BudgetOrigin,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Where `memory_bytes` came from.
    pub memory_origin: BudgetOrigin,
}

/// The measured figures at one partition count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScalingRow {
    /// Partitions of the point.
    pub partitions: u32,
    /// Backup MB/s (median).
    pub backup_mb_s: Option<f64>,
    /// Backup MB/s per partition.
    pub per_partition_mb_s: Option<f64>,
    /// Backup MB/s ÷ (partitions × the smallest point's per-partition MB/s).
    pub scaling_efficiency: Option<f64>,
    /// CPU-seconds per GB backed up (median).
    pub cpu_seconds_per_gb: Option<f64>,
    /// Peak backup RSS in MB (median).
    pub peak_rss_mb: Option<f64>,
    /// Restore MB/s (median).
    pub restore_mb_s: Option<f64>,
    /// Repeats behind the backup median.
    pub n: usize,
}

/// How peak RSS is predicted for a partition count.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum MemoryModel {
    /// Least squares over several partition counts, shifted up by the largest residual
    /// so the line lies on or above every measured point.
    LinearFit {
        /// MB at zero partitions (after the shift).
        base_mb: f64,
        /// MB per partition (never below 0).
        per_partition_mb: f64,
    },
    /// One partition count measured: its RSS divided by its partitions per partition,
    /// and never less than the measured peak itself.
    SinglePointScaled {
        /// The measured partition count.
        partitions: u32,
        /// Its peak RSS in MB.
        peak_rss_mb: f64,
    },
}

impl MemoryModel {
    /// Predicted peak RSS in MB for `partitions`.
    pub fn predict_mb(&self, partitions: u32) -> f64 {
        let k = f64::from(partitions);
        match *self {
            MemoryModel::LinearFit { base_mb, per_partition_mb } => base_mb + per_partition_mb * k,
            MemoryModel::SinglePointScaled { partitions: n, peak_rss_mb } => {
                peak_rss_mb.max(peak_rss_mb / f64::from(n) * k)
            }
        }
    }
}

/// What limits the partitions one instance can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundKind {
    /// Measured backup MB/s at k partitions must carry k partitions' load.
    Throughput,
    /// The CPU budget must cover k partitions' load at the measured CPU-seconds per GB.
    Cpu,
    /// The memory budget must cover the predicted peak RSS at k partitions.
    Memory,
    /// Nothing above the largest measured partition count is planned.
    MeasuredRange,
    /// Every requested partition already fits in one instance.
    AllPartitions,
}

impl BoundKind {
    /// Short human name.
    pub fn name(self) -> &'static str {
        match self {
            BoundKind::Throughput => "per-partition throughput",
            BoundKind::Cpu => "CPU",
            BoundKind::Memory => "memory",
            BoundKind::MeasuredRange => "measured range",
            BoundKind::AllPartitions => "all partitions",
        }
    }
}

/// One limit on partitions per instance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bound {
    /// Which limit.
    pub kind: BoundKind,
    /// Most partitions per instance this limit allows (0: not even one).
    pub max_partitions: u32,
    /// The limit was not reached anywhere it was checked (it allows at least
    /// `max_partitions`, maybe more), so it cannot bind.
    pub open: bool,
    /// Capacity in MB/s at `max_partitions` under this limit, where it has one.
    pub capacity_mb_s: Option<f64>,
    /// The condition checked, in words.
    pub rule: String,
}

/// Kubernetes resources per instance.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Resources {
    /// CPU request in millicores (steady-state use at the planned load).
    pub cpu_request_millis: u64,
    /// CPU limit in millicores (request ÷ usable fraction).
    pub cpu_limit_millis: u64,
    /// Memory request in MiB (predicted peak RSS).
    pub memory_request_mib: u64,
    /// Memory limit in MiB (request ÷ usable fraction).
    pub memory_limit_mib: u64,
}

/// HorizontalPodAutoscaler settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Autoscaling {
    /// The planned instance count.
    pub min_replicas: u32,
    /// One partition per pod is the most parallelism partitions allow.
    pub max_replicas: u32,
    /// Average `kafka_backup_lag_bytes` per pod to scale out at.
    pub target_lag_bytes: u64,
}

/// Time to restore `restore_bytes` at a measured restore rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rto {
    /// Bytes to restore.
    pub restore_bytes: u64,
    /// Measured restore MB/s used.
    pub restore_mb_s: f64,
    /// Partitions of the point that rate was measured at.
    pub measured_partitions: u32,
    /// `restore_bytes / 10^6 / restore_mb_s`.
    pub seconds: f64,
    /// Index into [`CapacityPlan::sources`].
    pub source: usize,
}

/// One line of the derivation table: a planned figure, how it was computed and from
/// which measurements.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// What the figure is.
    pub quantity: String,
    /// The figure, formatted.
    pub value: String,
    /// The computation, in words and numbers.
    pub how: String,
    /// Indices into [`CapacityPlan::sources`].
    pub sources: Vec<usize>,
}

/// The complete plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapacityPlan {
    /// What was asked.
    pub request: PlanRequest,
    /// Per-instance CPU and memory budget.
    pub budget: Budget,
    /// Required MB/s per partition.
    pub per_partition_mb_s: f64,
    /// Measured figures by partition count (the scaling curve).
    pub scaling: Vec<ScalingRow>,
    /// How peak RSS is predicted.
    pub memory_model: MemoryModel,
    /// Every limit on partitions per instance.
    pub bounds: Vec<Bound>,
    /// The limit that binds.
    pub binding: BoundKind,
    /// Most partitions one instance takes.
    pub partitions_per_instance: u32,
    /// Instances needed.
    pub instances: u32,
    /// Partitions on the busiest instance once spread evenly.
    pub busiest_instance_partitions: u32,
    /// Load of the busiest instance, MB/s.
    pub instance_load_mb_s: f64,
    /// Sustainable MB/s of an instance with `busiest_instance_partitions` partitions.
    pub instance_capacity_mb_s: f64,
    /// Requests and limits per instance.
    pub resources: Resources,
    /// Autoscaler settings.
    pub autoscaling: Autoscaling,
    /// Restore time, when `--restore-size` was given.
    pub rto: Option<Rto>,
    /// The derivation table.
    pub rows: Vec<Row>,
    /// Every measurement used, referenced by index.
    pub sources: Vec<Source>,
    /// Caveats about the inputs.
    pub warnings: Vec<String>,
    /// Every partition's load fits within some instance's measured capacity.
    pub feasible: bool,
}
