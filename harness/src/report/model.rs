//! The report data model: one serde struct tree, written as `report.json` and rendered
//! by every other exporter. Field names are the JSON schema; bump
//! [`SCHEMA_VERSION`] on any incompatible change so stored reports and baselines can be
//! told apart.
//!
//! Units are in the field names. MB means 10^6 bytes (as in "MB/s"), never MiB.

pub use super::continuous::{ContinuousObserved, Event, Fault, InstanceRun, InstanceTick, OwnershipChange, Tick};
use crate::scenario::{Link, Parameter, Phase, Profile, ScenarioPlan};
use crate::stats::Summary;
use crate::warning::Warning;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the report JSON layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The one version check for `report.json`, baselines and `compare.json`: every reader (baseline,
/// compare, plan) calls it before parsing, through the engine's schema rules, so an old or newer
/// file is refused with its name and the versions this harness reads.
pub fn check_schema(text: &str, origin: &str) -> Result<u32, ::engine::schema::SchemaError> {
    ::engine::schema::check_version(text, origin, &[SCHEMA_VERSION])
}

/// Everything one scenario run produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Layout version of this document ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Which scenario ran, with which profile, and the resolved plan.
    pub scenario: ScenarioInfo,
    /// The machine and software versions the numbers were measured on.
    pub environment: Environment,
    /// When the run started, RFC 3339 in UTC (e.g. `2025-01-31T12:00:00Z`).
    pub started_at: String,
    /// One result per matrix point that has run so far, in plan order.
    pub points: Vec<PointResult>,
    /// Advice about the run as a whole and about individual points.
    pub warnings: Vec<Warning>,
    /// Every planned point ran, met all its targets and passed verification.
    pub passed: bool,
}

/// The scenario as run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// Scenario name.
    pub name: String,
    /// Profile the plan was resolved for.
    pub profile: Profile,
    /// The complete resolved plan, so the report explains itself.
    pub plan: ScenarioPlan,
}

/// How the services around the engine were provided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvKind {
    /// Broker and object store run as local processes started by the harness.
    Native,
    /// Broker and object store were already running; the harness only connected.
    External,
    /// Broker and object store run in containers started by the harness.
    Containers,
}

/// Fingerprint of the measuring environment; filled by the runner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// CPU model name from /proc/cpuinfo.
    pub cpu_model: String,
    /// Logical cores available to the run.
    pub cores: u32,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// `rustc --version` used to build kbackup.
    pub rustc: String,
    /// Git commit of the kbackup build (with `-dirty` when the tree was modified).
    pub kbackup_git_sha: String,
    /// Version of the Tansu broker, when known.
    pub tansu_version: Option<String>,
    /// Version of the Garage object store, when known.
    pub garage_version: Option<String>,
    /// How the services were provided.
    pub kind: EnvKind,
}

/// Results of one matrix point over all its repeats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// The point's label, e.g. `partitions=4`.
    pub label: String,
    /// The point's matrix values.
    pub parameters: Vec<Parameter>,
    /// One sample per repeat, in run order.
    pub samples: Vec<Sample>,
    /// Summary per derived metric name (see `derive_metrics`), over the samples.
    pub stats: BTreeMap<String, Summary>,
    /// The point's targets checked against the medians in `stats`.
    pub targets: Vec<TargetResult>,
    /// Engine throughput relative to bare Kafka clients, medians.
    pub efficiency: Efficiency,
    /// At least one sample, every target met, and no verification failed.
    pub passed: bool,
}

/// Medians of engine throughput over bare-client throughput (1.0 = as fast as a bare
/// client; the engine does strictly more work, so values above 1 suggest noise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Efficiency {
    /// Median of backup MB/s / raw-consume MB/s.
    pub backup: Option<f64>,
    /// Median of restore MB/s / raw-produce MB/s.
    pub restore: Option<f64>,
}

/// Measurements of one repeat of one point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// 0-based repeat index.
    pub repeat: u32,
    /// One entry per phase that ran, in run order.
    pub phases: Vec<PhaseResult>,
    /// Outcome of the verify phase.
    pub verification: Verification,
}

impl Sample {
    /// The result of `phase`, if it ran.
    pub fn phase(&self, phase: Phase) -> Option<&PhaseResult> {
        self.phases.iter().find(|p| p.phase == phase)
    }

    /// Engine measurements of `phase`, if it ran and was an engine phase.
    pub fn engine(&self, phase: Phase) -> Option<&EngineMetrics> {
        self.phase(phase).and_then(|p| p.engine.as_ref())
    }

    /// Baseline: bare consumer throughput in MB/s.
    pub fn raw_consume_mb_s(&self) -> Option<f64> {
        self.phase(Phase::RawConsume).map(|p| p.mb_s)
    }

    /// Baseline: bare producer throughput in MB/s.
    pub fn raw_produce_mb_s(&self) -> Option<f64> {
        self.phase(Phase::RawProduce).map(|p| p.mb_s)
    }
}

/// What one phase moved and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseResult {
    /// Which phase.
    pub phase: Phase,
    /// Record payload bytes (keys + values + headers) moved.
    pub bytes: u64,
    /// Records moved.
    pub records: u64,
    /// Wall-clock time of the phase in seconds.
    pub duration_secs: f64,
    /// `bytes / 1e6 / duration_secs`.
    pub mb_s: f64,
    /// Process measurements; present for engine phases (backup, restore).
    pub engine: Option<EngineMetrics>,
    /// What the WAN proxies carried and delayed during the phase (`network:` scenarios).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<LinkObserved>,
    /// What the `continuous` phase sampled from its instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuous: Option<Box<ContinuousObserved>>,
    /// The harness's own exactly-once count (`exactly-once` phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exactly_once: Option<ExactlyOnceCheck>,
    /// The point-in-time and ranged restores and their checks (`pitr` phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr: Option<super::pitr::PitrObserved>,
}

/// The harness's own count of the restored topic against the source topic, partition by
/// partition, record by record (key, value and headers hashed): an independent check of
/// "every produced record restored exactly once".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactlyOnceCheck {
    /// Partitions compared.
    pub partitions: u32,
    /// Records read from the source topic.
    pub source_records: u64,
    /// Records read from the restored topic.
    pub restored_records: u64,
    /// Source records with fewer copies in the restored partition than in the source one.
    pub lost: u64,
    /// Restored records beyond their count in the source partition.
    pub duplicated: u64,
    /// Partitions whose restored records hold the same records in another order.
    pub reordered_partitions: Vec<i32>,
}

impl ExactlyOnceCheck {
    /// Nothing lost, nothing twice, nothing out of order.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.reordered_partitions.is_empty()
    }
}

/// One simulated link during one phase, from the proxy's own records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkObserved {
    /// Which link.
    pub link: Link,
    /// Added RTT configured for the phase, ms (0 when the link was not shaped).
    pub rtt_ms: f64,
    /// Bytes the proxy forwarded client → server.
    pub bytes_to_server: u64,
    /// Bytes the proxy forwarded server → client.
    pub bytes_to_client: u64,
    /// Chunks forwarded, both directions.
    pub chunks: u64,
    /// Mean one-way delay the proxy scheduled per chunk, ms.
    pub mean_delay_ms: f64,
    /// Seconds writers waited for bandwidth tokens, both directions.
    pub throttled_secs: f64,
}

impl PhaseResult {
    /// A phase result with `mb_s` computed from bytes and duration (0 for a zero duration,
    /// which only a failed phase reports).
    pub fn new(phase: Phase, bytes: u64, records: u64, duration_secs: f64) -> PhaseResult {
        let mb_s = if duration_secs > 0.0 { bytes as f64 / 1e6 / duration_secs } else { 0.0 };
        PhaseResult {
            phase,
            bytes,
            records,
            duration_secs,
            mb_s,
            engine: None,
            network: Vec::new(),
            continuous: None,
            exactly_once: None,
            pitr: None,
        }
    }
}

/// Measurements of the `kbackup` process during one phase, sampled from /proc.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineMetrics {
    /// Peak resident set size in bytes.
    pub peak_rss_bytes: u64,
    /// User CPU time in seconds.
    pub cpu_user_secs: f64,
    /// System CPU time in seconds.
    pub cpu_sys_secs: f64,
    /// Bytes read from storage devices (/proc/PID/io `read_bytes`).
    pub read_bytes: u64,
    /// Bytes written to storage devices (/proc/PID/io `write_bytes`).
    pub write_bytes: u64,
    /// Largest thread count seen.
    pub threads_max: u32,
    /// Periodic samples of memory and CPU over the phase.
    pub timeline: Vec<TimelinePoint>,
    /// Checkpoint commit latency percentiles (backup only).
    pub checkpoint_latency_ms: Option<LatencyPercentiles>,
    /// Bytes written to the object store (backup only).
    pub stored_bytes: Option<u64>,
    /// Payload bytes / stored bytes as reported by the engine (backup only).
    pub compression_ratio: Option<f64>,
}

/// One /proc sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Seconds since the phase started.
    pub t_secs: f64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
    /// CPU use since the previous sample, percent of one core (200 = two cores busy).
    pub cpu_percent: f64,
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyPercentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest observed.
    pub max: f64,
}

/// Outcome of comparing restored records with produced ones.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Whether verification ran at all (false when the scenario has no verify phase).
    pub checked: bool,
    /// Whether every record matched; meaningful only when `checked`.
    pub passed: bool,
    /// Human-readable summary, e.g. "1048576 records, checksums match".
    pub detail: String,
}

/// One target checked against one point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// Metric name.
    pub metric: String,
    /// Normalised expression, e.g. `>= 100`.
    pub expression: String,
    /// Median of the metric; `None` when it was not measured.
    pub observed: Option<f64>,
    /// Whether the observed median satisfies the expression (false when unmeasured).
    pub met: bool,
}
