//! The validated, resolved configuration every command takes: defaults filled in, units parsed, regexes compiled.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;

use super::ConfigError;
use super::file::{
    BackupGroupsSection, BackupSection, ConfigFile, KafkaSection, RestoreGroupsSection, RestoreSection, StorageSection,
    TopicFilterSection,
};
use super::selection::{RecordSelection, resolve_selection};
use super::topics::{TopicSetupPlan, resolve_topic_setup};
use super::units::Millis;
use crate::segment::Codec;

/// Resolved configuration.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Backup name; all objects live under `<prefix>/<backup_id>/`.
    pub backup_id: String,
    /// Kafka client settings.
    pub kafka: KafkaPlan,
    /// Segment settings.
    pub backup: BackupPlan,
    /// Storage settings.
    pub storage: StoragePlan,
    /// Restore settings.
    pub restore: RestorePlan,
}

/// Kafka client settings.
#[derive(Debug, Clone)]
pub struct KafkaPlan {
    /// `host:port,...`
    pub bootstrap_servers: String,
    /// librdkafka `fetch.max.bytes`; default 50 MiB.
    pub fetch_max_bytes: u64,
    /// librdkafka `fetch.wait.max.ms`; default 500 ms (right for Apache Kafka; use ≤ 10 ms on tansu).
    pub fetch_max_wait: Duration,
    /// Topic selection.
    pub topics: TopicFilter,
    /// `read_committed` (default) keeps aborted transactions and control markers out of the backup.
    pub read_committed: bool,
    /// Every other librdkafka property (security, rack, user pass-through).
    pub client_properties: BTreeMap<String, String>,
    /// librdkafka properties that hold secrets (passwords); redacted in `Debug`.
    pub client_secrets: BTreeMap<String, Secret>,
}

/// A secret value: usable, but printed as `***` by `Debug` so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Include/exclude regexes matched against whole topic names.
#[derive(Debug, Clone, Default)]
pub struct TopicFilter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

/// zstd levels `backup.compression_level` accepts.
pub const ZSTD_LEVELS: std::ops::RangeInclusive<i32> = 1..=22;
/// `backup.compression_level` when unset.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Segment settings.
#[derive(Debug, Clone)]
pub struct BackupPlan {
    /// Roll a segment once its stored size reaches this; default 128 MiB.
    pub segment_max_bytes: u64,
    /// Uncompressed block size; default 1 MiB.
    pub block_size: usize,
    /// Block codec; default zstd.
    pub compression: Codec,
    /// zstd level; default 3.
    pub compression_level: i32,
    /// Partitions backed up at once; default 8.
    pub max_concurrent_partitions: usize,
    /// Resume by reading from the log start and skipping to the checkpoint, instead of fetching at it.
    /// Costs a re-read; needed for brokers that mis-serve fetches starting mid-log (tansu 0.6).
    pub resume_rescan: bool,
    /// Snapshot (default) or continuous.
    pub mode: BackupMode,
    /// Continuous mode: roll a segment once it has been open this long; default 60 s.
    pub segment_max_age: Duration,
    /// Continuous mode: how often new topics and partitions are looked for; default 30 s.
    pub metadata_refresh: Duration,
    /// Continuous mode: how long a stop may take to flush and checkpoint every open segment before
    /// the run gives up and fails; default 30 s. Not a config key: `kbackup backup --shutdown-timeout`.
    pub shutdown_timeout: Duration,
    /// `backup.coordination` as written; `None` takes the mode's default (see [`BackupPlan::coordination`]).
    pub coordination_setting: Option<Coordination>,
    /// The consumer group instances of this backup join; default `kbackup.<backup_id>`.
    pub group_id: String,
    /// Which consumer groups' committed offsets are captured (`backup.consumer_groups`).
    pub consumer_groups: GroupCapturePlan,
}

impl BackupPlan {
    /// Who decides which partitions this process backs up: `backup.coordination`, or by default a
    /// consumer group in continuous mode (how a backup scales out in production) and this process
    /// alone in snapshot mode (no group join to wait for in a one-off run).
    pub fn coordination(&self) -> Coordination {
        self.coordination_setting.unwrap_or(match self.mode {
            BackupMode::Snapshot => Coordination::Standalone,
            BackupMode::Continuous => Coordination::Group,
        })
    }
}

/// Who decides which instance backs up which partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coordination {
    /// This process backs up every selected partition.
    Standalone,
    /// Every process of the backup joins `backup.group_id`; Kafka's group coordinator assigns each
    /// partition to one of them (cooperative-sticky), and reassigns on joins, leaves and failures.
    Group,
}

impl std::fmt::Display for Coordination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Coordination::Standalone => "standalone",
            Coordination::Group => "group",
        })
    }
}

/// How a backup run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackupMode {
    /// Read every partition up to the end captured at start, then exit.
    #[default]
    Snapshot,
    /// Follow new records (and new topics and partitions) until stopped.
    Continuous,
}

impl std::fmt::Display for BackupMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackupMode::Snapshot => "snapshot",
            BackupMode::Continuous => "continuous",
        })
    }
}

/// `backup.segment_max_age` when unset.
pub const DEFAULT_SEGMENT_MAX_AGE: Duration = Duration::from_secs(60);
/// `backup.metadata_refresh` when unset.
pub const DEFAULT_METADATA_REFRESH: Duration = Duration::from_secs(30);
/// `--shutdown-timeout` when not given.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Which object store and how to reach it.
#[derive(Debug, Clone)]
pub enum StorageKind {
    /// S3 or an S3-compatible store.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Region (default `us-east-1`).
        region: String,
        /// Custom endpoint URL.
        endpoint: Option<String>,
        /// Path-style addressing.
        path_style: bool,
        /// Static credentials (access key id, secret); `None` means environment or the default AWS chain.
        credentials: Option<(String, Secret)>,
    },
    /// A local directory.
    Filesystem {
        /// Root directory.
        base_path: PathBuf,
    },
}

/// Storage settings.
#[derive(Debug, Clone)]
pub struct StoragePlan {
    /// Backend.
    pub kind: StorageKind,
    /// Key prefix (may be empty) under which `<backup_id>/` lives.
    pub prefix: String,
    /// Multipart part size; default 8 MiB.
    pub part_size: usize,
    /// Parts in flight per segment upload; default 4.
    pub max_inflight_parts: usize,
}

/// Restore settings.
#[derive(Debug, Clone)]
pub struct RestorePlan {
    /// Source topic → target topic.
    pub topic_mapping: BTreeMap<String, String>,
    /// Which backed-up topics to restore.
    pub topics: TopicFilter,
    /// Create missing target topics.
    pub create_topics: bool,
    /// Replication factor for created topics (`-1`: broker default).
    pub replication_factor: i32,
    /// Allow writing into non-empty topics.
    pub allow_non_empty: bool,
    /// Partitions restored at once.
    pub max_concurrent_partitions: usize,
    /// Produce requests in flight per connection (idempotence keeps order up to 5).
    pub max_in_flight: u32,
    /// Producer linger.
    pub linger: Duration,
    /// Producer batch size.
    pub batch_size: u64,
    /// Which captured consumer groups are translated and committed (`restore.consumer_groups`).
    pub consumer_groups: GroupRestorePlan,
    /// Configs of created topics and repartitioning (issue 13 §3–4).
    pub topic_setup: TopicSetupPlan,
    /// Which records are restored (`restore.time_window`, `restore.offsets`; issue 13 §1).
    pub selection: RecordSelection,
}

impl TopicFilter {
    /// Whether `topic` is selected: matches an include pattern and no exclude pattern.
    pub fn matches(&self, topic: &str) -> bool {
        self.include.iter().any(|r| r.is_match(topic)) && !self.exclude.iter().any(|r| r.is_match(topic))
    }

    /// A filter that has no include pattern selects nothing; restore treats that as "all".
    pub fn is_empty(&self) -> bool {
        self.include.is_empty()
    }

    fn resolve(raw: &TopicFilterSection, path: &str) -> Result<Self, ConfigError> {
        Self::from_patterns(&raw.include, &raw.exclude, path)
    }

    /// Compiles include and exclude patterns (whole-name regexes); errors name `<path>.include`/`.exclude`.
    fn from_patterns(include: &[String], exclude: &[String], path: &str) -> Result<Self, ConfigError> {
        let compile = |patterns: &[String], key: &str| {
            patterns
                .iter()
                .map(|p| {
                    Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                        ConfigError::invalid(format!("{path}.{key}"), format!("'{p}' is not a valid regex: {e}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self { include: compile(include, "include")?, exclude: compile(exclude, "exclude")? })
    }
}

impl Plan {
    /// Validates a parsed file into a plan.
    pub fn resolve(file: ConfigFile) -> Result<Self, ConfigError> {
        validate_backup_id(&file.backup_id)?;
        let backup = resolve_backup(&file.backup, &file.backup_id)?;
        Ok(Plan {
            backup_id: file.backup_id,
            kafka: resolve_kafka(&file.kafka)?,
            backup,
            storage: resolve_storage(&file.storage)?,
            restore: resolve_restore(&file.restore)?,
        })
    }
}

pub(crate) fn validate_backup_id(id: &str) -> Result<(), ConfigError> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            "backup_id",
            format!("'{id}' must be 1–200 characters of letters, digits, '-', '_' or '.', not starting with '.'"),
        ))
    }
}

fn resolve_kafka(raw: &KafkaSection) -> Result<KafkaPlan, ConfigError> {
    if raw.bootstrap_servers.trim().is_empty() {
        return Err(ConfigError::invalid("kafka.bootstrap_servers", "must list at least one host:port"));
    }
    let read_committed = match raw.isolation_level.as_deref() {
        None | Some("read_committed") => true,
        Some("read_uncommitted") => false,
        Some(other) => {
            return Err(ConfigError::invalid(
                "kafka.isolation_level",
                format!("'{other}' (expected read_committed or read_uncommitted)"),
            ));
        }
    };
    let mut props = raw.properties.clone();
    let mut secrets = BTreeMap::new();
    // Pass-through properties that hold secrets are kept out of the plain map too.
    for key in raw.properties.keys().filter(|k| k.contains("password") || k.contains("secret")) {
        if let Some(value) = props.remove(key) {
            secrets.insert(key.clone(), Secret::new(value));
        }
    }
    let sec = &raw.security;
    let pairs = [
        ("security.protocol", &sec.protocol),
        ("sasl.mechanism", &sec.sasl_mechanism),
        ("sasl.username", &sec.sasl_username),
        ("sasl.password", &sec.sasl_password),
        ("ssl.ca.location", &sec.ssl_ca_location),
        ("ssl.certificate.location", &sec.ssl_certificate_location),
        ("ssl.key.location", &sec.ssl_key_location),
        ("ssl.key.password", &sec.ssl_key_password),
        ("client.rack", &raw.client_rack),
    ];
    for (key, value) in pairs {
        if let Some(v) = value {
            if key.ends_with("password") {
                secrets.insert(key.to_string(), Secret::new(v.clone()));
            } else {
                props.insert(key.to_string(), v.clone());
            }
        }
    }
    let fetch_max_bytes = raw.fetch_max_bytes.map_or(50 << 20, |b| b.0);
    if fetch_max_bytes < 1024 {
        return Err(ConfigError::invalid("kafka.fetch_max_bytes", "must be at least 1KiB"));
    }
    Ok(KafkaPlan {
        bootstrap_servers: raw.bootstrap_servers.trim().to_string(),
        fetch_max_bytes,
        fetch_max_wait: raw.fetch_max_wait_ms.map_or(Duration::from_millis(500), |m| m.0),
        topics: TopicFilter::resolve(&raw.topics, "kafka.topics")?,
        read_committed,
        client_properties: props,
        client_secrets: secrets,
    })
}

fn resolve_backup(raw: &BackupSection, backup_id: &str) -> Result<BackupPlan, ConfigError> {
    let compression = match raw.compression.as_deref() {
        None => Codec::Zstd,
        Some(text) => text.parse().map_err(|_| {
            ConfigError::invalid("backup.compression", format!("'{text}' (expected {})", Codec::NAMES.join(", ")))
        })?,
    };
    let compression_level = raw.compression_level.unwrap_or(DEFAULT_ZSTD_LEVEL);
    if !ZSTD_LEVELS.contains(&compression_level) {
        let (lo, hi) = (ZSTD_LEVELS.start(), ZSTD_LEVELS.end());
        return Err(ConfigError::invalid("backup.compression_level", format!("must be between {lo} and {hi}")));
    }
    let segment_max_bytes = raw.segment_max_bytes.map_or(128 << 20, |b| b.0);
    let block_size = raw.block_size.map_or(1 << 20, |b| b.0);
    if !(4096..=(64 << 20)).contains(&block_size) {
        return Err(ConfigError::invalid("backup.block_size", "must be between 4KiB and 64MiB"));
    }
    if segment_max_bytes < block_size {
        return Err(ConfigError::invalid("backup.segment_max_bytes", "must be at least backup.block_size"));
    }
    Ok(BackupPlan {
        segment_max_bytes,
        block_size: block_size as usize,
        compression,
        compression_level,
        max_concurrent_partitions: positive(raw.max_concurrent_partitions, 8, "backup.max_concurrent_partitions")?,
        resume_rescan: match raw.resume.as_deref() {
            None | Some("seek") => false,
            Some("rescan") => true,
            Some(other) => {
                return Err(ConfigError::invalid("backup.resume", format!("'{other}' (expected seek or rescan)")));
            }
        },
        mode: match raw.mode.as_deref() {
            None | Some("snapshot") => BackupMode::Snapshot,
            Some("continuous") => BackupMode::Continuous,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "backup.mode",
                    format!("'{other}' (expected snapshot or continuous)"),
                ));
            }
        },
        segment_max_age: at_least(
            raw.segment_max_age,
            DEFAULT_SEGMENT_MAX_AGE,
            MIN_INTERVAL,
            "backup.segment_max_age",
        )?,
        metadata_refresh: at_least(
            raw.metadata_refresh,
            DEFAULT_METADATA_REFRESH,
            MIN_INTERVAL,
            "backup.metadata_refresh",
        )?,
        shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        coordination_setting: match raw.coordination.as_deref() {
            None => None,
            Some("group") => Some(Coordination::Group),
            Some("standalone") => Some(Coordination::Standalone),
            Some(other) => {
                return Err(ConfigError::invalid(
                    "backup.coordination",
                    format!("'{other}' (expected group or standalone)"),
                ));
            }
        },
        group_id: match raw.group_id.as_deref() {
            None => format!("kbackup.{backup_id}"),
            Some("") => return Err(ConfigError::invalid("backup.group_id", "must not be empty")),
            Some(id) => id.to_string(),
        },
        consumer_groups: resolve_group_capture(&raw.consumer_groups)?,
    })
}

/// Shortest `segment_max_age` / `metadata_refresh`: below it a run would do little but roll or ask.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

fn at_least(value: Option<Millis>, default: Duration, min: Duration, path: &str) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(Millis(d)) if d < min => {
            Err(ConfigError::invalid(path, format!("must be at least {}ms (e.g. 60s)", min.as_millis())))
        }
        Some(Millis(d)) => Ok(d),
    }
}

fn positive(value: Option<usize>, default: usize, path: &str) -> Result<usize, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::invalid(path, "must be at least 1")),
        Some(n) => Ok(n),
    }
}

fn resolve_storage(raw: &StorageSection) -> Result<StoragePlan, ConfigError> {
    let kind = match raw.kind.as_str() {
        "s3" => StorageKind::S3 {
            bucket: raw
                .bucket
                .clone()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| ConfigError::invalid("storage.bucket", "is required for type s3"))?,
            region: raw.region.clone().unwrap_or_else(|| "us-east-1".to_string()),
            endpoint: raw.endpoint.clone(),
            path_style: raw.path_style.unwrap_or(raw.endpoint.is_some()),
            credentials: match (&raw.access_key_id, &raw.secret_access_key) {
                (Some(id), Some(secret)) => Some((id.clone(), Secret::new(secret.clone()))),
                (None, None) => None,
                _ => {
                    return Err(ConfigError::invalid(
                        "storage.access_key_id",
                        "set both access_key_id and secret_access_key, or neither (to use the environment or the default AWS chain)",
                    ));
                }
            },
        },
        "filesystem" => StorageKind::Filesystem {
            base_path: raw
                .base_path
                .clone()
                .map(PathBuf::from)
                .ok_or_else(|| ConfigError::invalid("storage.base_path", "is required for type filesystem"))?,
        },
        other => {
            return Err(ConfigError::invalid("storage.type", format!("'{other}' (expected s3 or filesystem)")));
        }
    };
    let part_size = raw.part_size.map_or(8 << 20, |b| b.0);
    if !((5 << 20)..=(5u64 << 30)).contains(&part_size) {
        return Err(ConfigError::invalid("storage.part_size", "must be between 5MiB and 5GiB (S3 multipart limits)"));
    }
    Ok(StoragePlan {
        kind,
        prefix: raw.prefix.clone().unwrap_or_default().trim_matches('/').to_string(),
        part_size: part_size as usize,
        max_inflight_parts: positive(raw.max_inflight_parts, 4, "storage.max_inflight_parts")?,
    })
}

fn resolve_restore(raw: &RestoreSection) -> Result<RestorePlan, ConfigError> {
    let max_in_flight = raw.max_in_flight.unwrap_or(5);
    if !(1..=5).contains(&max_in_flight) {
        return Err(ConfigError::invalid(
            "restore.max_in_flight",
            "must be between 1 and 5 (the idempotent producer keeps order only up to 5)",
        ));
    }
    Ok(RestorePlan {
        topic_mapping: raw.topic_mapping.clone(),
        topics: TopicFilter::resolve(&raw.topics, "restore.topics")?,
        create_topics: raw.create_topics.unwrap_or(true),
        replication_factor: raw.replication_factor.unwrap_or(-1),
        allow_non_empty: raw.allow_non_empty.unwrap_or(false),
        max_concurrent_partitions: positive(raw.max_concurrent_partitions, 8, "restore.max_concurrent_partitions")?,
        max_in_flight,
        linger: raw.linger_ms.map_or(Duration::from_millis(5), |m| m.0),
        batch_size: raw.batch_size.map_or(1 << 20, |b| b.0),
        topic_setup: resolve_topic_setup(raw)?,
        consumer_groups: resolve_group_restore(&raw.consumer_groups)?,
        selection: resolve_selection(raw.time_window.as_ref(), &raw.offsets)?,
    })
}

// ---- consumer-group offsets (issue 13 §2): `backup.consumer_groups`, `restore.consumer_groups` ----

/// `backup.consumer_groups.interval` when unset.
pub const DEFAULT_GROUP_CAPTURE_INTERVAL: Duration = Duration::from_secs(60);

/// Which consumer groups' committed offsets a backup captures.
#[derive(Debug, Clone, Default)]
pub struct GroupCapturePlan {
    /// Group names to capture; empty include (the default) captures nothing.
    pub groups: TopicFilter,
    /// Continuous mode: time between captures; default 60 s (plus one at the stop).
    pub interval: Duration,
}

impl GroupCapturePlan {
    /// Whether any group is to be captured at all.
    pub fn enabled(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// Which captured consumer groups a restore commits, translated, on the target.
#[derive(Debug, Clone, Default)]
pub struct GroupRestorePlan {
    /// Group names to commit; empty include (the default) commits nothing.
    pub groups: TopicFilter,
    /// Commit even for a group with active members on the target (they would not see the commit
    /// until they rejoin, and their own commits would overwrite it); default false: refused.
    pub allow_active: bool,
}

impl GroupRestorePlan {
    /// Whether any group is to be translated at all.
    pub fn enabled(&self) -> bool {
        !self.groups.is_empty()
    }
}

fn resolve_group_capture(raw: &BackupGroupsSection) -> Result<GroupCapturePlan, ConfigError> {
    Ok(GroupCapturePlan {
        groups: TopicFilter::from_patterns(&raw.include, &raw.exclude, "backup.consumer_groups")?,
        interval: at_least(
            raw.interval,
            DEFAULT_GROUP_CAPTURE_INTERVAL,
            MIN_INTERVAL,
            "backup.consumer_groups.interval",
        )?,
    })
}

fn resolve_group_restore(raw: &RestoreGroupsSection) -> Result<GroupRestorePlan, ConfigError> {
    Ok(GroupRestorePlan {
        groups: TopicFilter::from_patterns(&raw.include, &raw.exclude, "restore.consumer_groups")?,
        allow_active: raw.allow_active.unwrap_or(false),
    })
}
