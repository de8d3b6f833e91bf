//! Stage two of scenario parsing: the resolved, validated plan the runner executes.
//!
//! Everything here is plain data with units in the type or field name; the runner never
//! re-parses strings. The plan is also embedded in every report so a result can be
//! traced back to exactly what was asked for.

use super::file::Scalar;
use super::metric::{GateRule, Target};
use super::network::Network;
use super::units::{Rate, format_bytes, format_secs};
use crate::warning::Warning;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A `full` run must write at least this many segments' worth of data.
pub const FULL_MIN_SEGMENTS: u64 = 10;
/// A `full` run must last at least this long (5 minutes).
pub const FULL_MIN_SECS: f64 = 300.0;

/// How thorough a run is. Profiles override volume/duration/repeat per scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Smoke test for CI: small volume, one repeat.
    Quick,
    /// The default for local comparisons.
    #[default]
    Standard,
    /// Publishable numbers: at least 10 segments of data and 5 minutes of load.
    Full,
}

impl Profile {
    /// All profiles, in increasing thoroughness.
    pub const ALL: [Profile; 3] = [Profile::Quick, Profile::Standard, Profile::Full];

    /// The name used on the command line and in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Standard => "standard",
            Profile::Full => "full",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown profile '{s}' (expected one of quick, standard, full)"))
    }
}

/// One step of a scenario run, executed in the listed order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Load generator fills the source topic.
    Produce,
    /// Bare consumer reads the topic: the ceiling for backup.
    RawConsume,
    /// `kbackup backup` of the topic.
    Backup,
    /// `kbackup probe-storage`: incompressible uploads through the engine's own store writer,
    /// as many streams as partitions: the storage ceiling for backup.
    RawPut,
    /// Bare producer writes the same data: the ceiling for restore.
    RawProduce,
    /// `kbackup restore` into a fresh topic.
    Restore,
    /// Compare restored records with the produced ones.
    Verify,
    /// The load generator produces at a fixed rate while `kbackup backup --continuous`
    /// instances (the `continuous:` schedule) follow the topic; sampled from their metrics.
    /// Creates the topic and the backup, like `produce` and `backup` together.
    Continuous,
    /// The harness's own check: its consumer reads the source and the restored topic and
    /// counts, per partition, records lost and records duplicated.
    ExactlyOnce,
    /// Point-in-time and ranged restores (`pitr:`): `kbackup restore` of a time window and of
    /// offset ranges into topics of their own, each checked record for record against the
    /// source records the harness's own consumer selects the same way.
    Pitr,
}

impl Phase {
    /// All phases, in their natural order.
    pub const ALL: [Phase; 10] = [
        Phase::Produce,
        Phase::RawConsume,
        Phase::Backup,
        Phase::RawPut,
        Phase::RawProduce,
        Phase::Restore,
        Phase::Verify,
        Phase::Continuous,
        Phase::ExactlyOnce,
        Phase::Pitr,
    ];

    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Produce => "produce",
            Phase::RawConsume => "raw-consume",
            Phase::Backup => "backup",
            Phase::RawPut => "raw-put",
            Phase::RawProduce => "raw-produce",
            Phase::Restore => "restore",
            Phase::Verify => "verify",
            Phase::Continuous => "continuous",
            Phase::ExactlyOnce => "exactly-once",
            Phase::Pitr => "pitr",
        }
    }

    /// Phases that must run earlier for this one to have something to work on.
    pub fn prerequisites(self) -> &'static [Phase] {
        match self {
            // raw-put uploads as much as the backup stored, or the produced volume without one.
            Phase::Produce | Phase::RawProduce | Phase::RawPut | Phase::Continuous => &[],
            Phase::RawConsume | Phase::Backup => &[Phase::Produce],
            Phase::Restore | Phase::Pitr => &[Phase::Backup],
            Phase::Verify | Phase::ExactlyOnce => &[Phase::Restore],
        }
    }

    /// The phases whose work this one does as well: `continuous` fills the topic and backs
    /// it up, so `restore` (which needs `backup`) may follow it.
    pub fn provides(self) -> &'static [Phase] {
        match self {
            Phase::Continuous => &[Phase::Produce, Phase::Backup],
            _ => &[],
        }
    }

    /// Whether `phase` ran in `phases`, itself or through a phase that [`provides`](Self::provides) it.
    pub fn covered_by(self, phases: &[Phase]) -> bool {
        phases.iter().any(|p| *p == self || p.provides().contains(&self))
    }

    /// Whether the `kbackup` binary runs (and is sampled) in this phase.
    pub fn is_engine(self) -> bool {
        matches!(self, Phase::Backup | Phase::Restore | Phase::Continuous | Phase::Pitr)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the generated record values look like; decides how well they compress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// JSON order documents with repeated field names (compresses well).
    Json,
    /// Application log lines.
    Text,
    /// Order events as raw Avro datums (see `load::avro::SCHEMA`).
    Avro,
    /// Click events in protobuf wire format (see `load::protobuf::ClickEvent`).
    Protobuf,
    /// Uniform random bytes (incompressible).
    Random,
    /// JSON documents compressed by the producer, half zstd and half gzip (incompressible).
    Precompressed,
}

/// How record keys are generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyMode {
    /// Null keys.
    None,
    /// Random keys.
    Random,
    /// Zero-padded counter keys in production order.
    Sequential,
}

impl Payload {
    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Payload::Json => "json",
            Payload::Text => "text",
            Payload::Avro => "avro",
            Payload::Protobuf => "protobuf",
            Payload::Random => "random",
            Payload::Precompressed => "precompressed",
        }
    }
}

impl FromStr for Payload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let table = super::values::PAYLOADS;
        table.iter().find(|(name, _)| *name == s).map(|(_, p)| *p).ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            format!("unknown payload '{s}' (expected one of {})", names.join(", "))
        })
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl KeyMode {
    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyMode::None => "none",
            KeyMode::Random => "random",
            KeyMode::Sequential => "sequential",
        }
    }
}

impl fmt::Display for KeyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The size of each record value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageSize {
    /// Every record has this many value bytes.
    Fixed {
        /// Value size in bytes.
        bytes: u64,
    },
    /// Log-normally distributed sizes, clamped to `[min_bytes, max_bytes]`.
    Lognormal {
        /// Median value size in bytes.
        median_bytes: u64,
        /// Standard deviation of ln(size).
        sigma: f64,
        /// Smallest value size in bytes.
        min_bytes: u64,
        /// Largest value size in bytes.
        max_bytes: u64,
    },
}

impl MessageSize {
    /// Expected value size in bytes (ignores clamping; good enough for estimates).
    pub fn mean_bytes(&self) -> f64 {
        match self {
            MessageSize::Fixed { bytes } => *bytes as f64,
            MessageSize::Lognormal { median_bytes, sigma, .. } => *median_bytes as f64 * (sigma * sigma / 2.0).exp(),
        }
    }
}

impl fmt::Display for MessageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageSize::Fixed { bytes } => f.write_str(&format_bytes(*bytes)),
            MessageSize::Lognormal { median_bytes, sigma, min_bytes, max_bytes } => write!(
                f,
                "lognormal(median {}, sigma {sigma}, {}..{})",
                format_bytes(*median_bytes),
                format_bytes(*min_bytes),
                format_bytes(*max_bytes)
            ),
        }
    }
}

/// How much the load generator produces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Volume {
    /// Total value bytes.
    Bytes(u64),
    /// Total record count.
    Messages(u64),
    /// Produce for this many seconds.
    DurationSecs(f64),
}

impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Volume::Bytes(b) => f.write_str(&format_bytes(*b)),
            Volume::Messages(n) => write!(f, "{n} messages"),
            Volume::DurationSecs(s) => write!(f, "{} of load", format_secs(*s)),
        }
    }
}

/// The resolved workload of one matrix point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Partitions of the source topic.
    pub partitions: u32,
    /// Record value sizes.
    pub message_size: MessageSize,
    /// Record value content.
    pub payload: Payload,
    /// Record keys.
    pub keys: KeyMode,
    /// Headers per record.
    pub headers: u32,
    /// How much to produce.
    pub volume: Volume,
    /// Production rate limit; `None` produces as fast as possible.
    pub rate: Option<Rate>,
    /// Seed of the load generator, so repeats produce identical data.
    pub seed: u64,
    /// Record timestamps set by the load generator (`timestamps:`); `None`: the producer's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamps: Option<super::timestamps::Timestamps>,
}

impl Workload {
    /// Expected total value bytes, when it can be known before running.
    pub fn expected_bytes(&self) -> Option<f64> {
        let mean = self.message_size.mean_bytes();
        match (&self.volume, self.rate) {
            (Volume::Bytes(b), _) => Some(*b as f64),
            (Volume::Messages(n), _) => Some(*n as f64 * mean),
            (Volume::DurationSecs(s), Some(Rate::BytesPerSec(r))) => Some(s * r as f64),
            (Volume::DurationSecs(s), Some(Rate::MessagesPerSec(m))) => Some(s * m as f64 * mean),
            (Volume::DurationSecs(_), None) => None,
        }
    }

    /// Expected load duration, when fixed by a duration or a rate.
    pub fn expected_secs(&self) -> Option<f64> {
        let mean = self.message_size.mean_bytes();
        match (&self.volume, self.rate) {
            (Volume::DurationSecs(s), _) => Some(*s),
            (_, Some(Rate::BytesPerSec(r))) => self.expected_bytes().map(|b| b / r as f64),
            (_, Some(Rate::MessagesPerSec(m))) => self.expected_bytes().map(|b| b / mean / m as f64),
            (_, None) => None,
        }
    }
}

/// One engine configuration override, passed to `kbackup` as a dotted key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineOverride {
    /// Dotted config key, e.g. `backup.compression`.
    pub key: String,
    /// Value as written in the scenario, e.g. `zstd` or `256MiB`.
    pub value: Scalar,
}

/// One matrix parameter value of a point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// The matrix key as written, e.g. `partitions` or `engine.backup.compression`.
    pub key: String,
    /// The value for this point.
    pub value: Scalar,
}

/// One matrix axis: a parameter and the values it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatrixAxis {
    /// The matrix key as written.
    pub key: String,
    /// Values in file order.
    pub values: Vec<Scalar>,
}

/// One cartesian combination of the matrix, fully resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanPoint {
    /// Position in expansion order (first axis varies slowest).
    pub index: usize,
    /// Short label, e.g. "partitions=4,codec=zstd-3"; "default" without a matrix.
    pub label: String,
    /// The matrix values of this point, in axis order.
    pub parameters: Vec<Parameter>,
    /// The workload to generate.
    pub workload: Workload,
    /// Engine config overrides, base overrides first, matrix overrides replacing them.
    pub engine: Vec<EngineOverride>,
    /// Targets that apply to this point (their `when` matched).
    pub targets: Vec<Target>,
    /// Simulated WAN conditions (`network:`); `None` runs on the plain loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
}

impl PlanPoint {
    /// The value of a matrix parameter by key or by last path segment.
    pub fn parameter(&self, key: &str) -> Option<&Scalar> {
        self.parameters.iter().find(|p| p.key == key || short_key(&p.key) == key).map(|p| &p.value)
    }

    /// The engine override for `key`, if any.
    pub fn engine_value(&self, key: &str) -> Option<&Scalar> {
        self.engine.iter().find(|o| o.key == key).map(|o| &o.value)
    }
}

/// The last dotted segment of a key: `workload.payload` → `payload`.
pub fn short_key(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// A validated scenario resolved for one profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioPlan {
    /// Scenario name (`name:`).
    pub name: String,
    /// What the scenario measures and why (`description:`).
    pub description: String,
    /// Where the scenario came from (file path or caller-supplied origin).
    pub origin: String,
    /// The profile the plan was resolved for.
    pub profile: Profile,
    /// Repeats per matrix point.
    pub repeat: u32,
    /// Phases run for every repeat, in order.
    pub phases: Vec<Phase>,
    /// Matrix axes in file order (empty without a matrix).
    pub matrix: Vec<MatrixAxis>,
    /// One point per matrix combination (exactly one without a matrix).
    pub points: Vec<PlanPoint>,
    /// Regression gates for the compare feature.
    pub gate: Vec<GateRule>,
    /// How the `continuous` phase runs its instances (`None` without that phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuous: Option<super::continuous::ContinuousPlan>,
    /// What the `pitr` phase restores (`None` without that phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr: Option<super::pitr::PitrPlan>,
    /// Problems that do not stop a run but weaken its results.
    pub warnings: Vec<Warning>,
}

impl ScenarioPlan {
    /// Whether a matrix axis has this key (or this last path segment).
    pub fn has_axis(&self, key: &str) -> bool {
        self.matrix.iter().any(|a| a.key == key || short_key(&a.key) == key)
    }

    /// Sets an engine config key at every point, replacing the scenario's and the
    /// matrix's value (`harness scenario --set`). The plan, and so the report, records it.
    pub fn override_engine(&mut self, key: &str, value: Scalar) {
        for point in &mut self.points {
            match point.engine.iter_mut().find(|o| o.key == key) {
                Some(existing) => existing.value = value.clone(),
                None => point.engine.push(EngineOverride { key: key.to_owned(), value: value.clone() }),
            }
        }
    }
}
