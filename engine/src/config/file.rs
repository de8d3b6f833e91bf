//! The raw YAML config file as users write it: plain serde structs, unknown keys rejected, no I/O.
//!
//! One file format serves every command; each command reads the sections it needs
//! (see `examples/*.yaml` in the repository for documented examples).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::topics::ConfigValue;
use super::units::{ByteSize, Millis};

/// The whole config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Names the backup: every object lives under `<prefix>/<backup_id>/`.
    pub backup_id: String,
    /// The Kafka cluster to read from (backup, verify) or write to (restore).
    pub kafka: KafkaSection,
    /// How segments are built.
    #[serde(default)]
    pub backup: BackupSection,
    /// Where segments are stored.
    pub storage: StorageSection,
    /// How a backup is written back into Kafka.
    #[serde(default)]
    pub restore: RestoreSection,
}

/// `kafka:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Upper bound of one fetch response (librdkafka `fetch.max.bytes`).
    pub fetch_max_bytes: Option<ByteSize>,
    /// How long the broker may hold a fetch waiting for data (`fetch.wait.max.ms`).
    pub fetch_max_wait_ms: Option<Millis>,
    /// Rack id for follower fetching (`client.rack`).
    pub client_rack: Option<String>,
    /// TLS and SASL settings.
    #[serde(default)]
    pub security: SecuritySection,
    /// Which topics to back up.
    #[serde(default)]
    pub topics: TopicFilterSection,
    /// `read_committed` (default) or `read_uncommitted`.
    pub isolation_level: Option<String>,
    /// Extra librdkafka properties, passed through verbatim.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// `kafka.security:` section; every field maps to one librdkafka property.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySection {
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub protocol: Option<String>,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub sasl_mechanism: Option<String>,
    /// SASL user name.
    pub sasl_username: Option<String>,
    /// SASL password (never logged).
    pub sasl_password: Option<String>,
    /// CA bundle to verify the brokers.
    pub ssl_ca_location: Option<String>,
    /// Client certificate for mutual TLS.
    pub ssl_certificate_location: Option<String>,
    /// Client key for mutual TLS.
    pub ssl_key_location: Option<String>,
    /// Password of the client key (never logged).
    pub ssl_key_password: Option<String>,
}

/// `kafka.topics:` section: regular expressions matched against whole topic names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicFilterSection {
    /// Topics to include (default: none — at least one pattern is required for backup).
    #[serde(default)]
    pub include: Vec<String>,
    /// Topics to leave out, applied after `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `backup:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSection {
    /// A segment is closed and checkpointed once it reaches this size (stored bytes).
    pub segment_max_bytes: Option<ByteSize>,
    /// Uncompressed size of one independently compressed block.
    pub block_size: Option<ByteSize>,
    /// `zstd`, `lz4` or `none`.
    pub compression: Option<String>,
    /// zstd level (1–22).
    pub compression_level: Option<i32>,
    /// How many partitions are backed up at once.
    pub max_concurrent_partitions: Option<usize>,
    /// `seek` (default): resume by fetching at the checkpoint; `rescan`: fetch from the log start and skip to it.
    pub resume: Option<String>,
    /// `snapshot` (default): read to the end captured at start, then exit; `continuous`: follow new
    /// records until stopped (`kbackup backup --continuous` overrides this).
    pub mode: Option<String>,
    /// Continuous mode: a segment is also closed and checkpointed once it has been open this long
    /// (default 60s), so data waits at most about this long to become durable.
    pub segment_max_age: Option<Millis>,
    /// Continuous mode: how often the topic list is re-read to pick up new topics and partitions (default 30s).
    pub metadata_refresh: Option<Millis>,
    /// `group` (default in continuous mode): instances of one backup split the partitions through a
    /// Kafka consumer group; `standalone` (default in snapshot mode): this process backs up every
    /// selected partition.
    pub coordination: Option<String>,
    /// The consumer group of `coordination: group` (default `kbackup.<backup_id>`).
    pub group_id: Option<String>,
    /// Consumer groups whose committed offsets are captured into the backup (issue 13 §2).
    #[serde(default)]
    pub consumer_groups: BackupGroupsSection,
}

/// `backup.consumer_groups:` which groups' committed offsets are captured, and how often.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupGroupsSection {
    /// Groups to capture (regexes over whole group names; default none: nothing is captured).
    #[serde(default)]
    pub include: Vec<String>,
    /// Groups to leave out, applied after `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Continuous mode: how often the offsets are captured (default 60s; also once at the stop).
    pub interval: Option<Millis>,
}

/// `restore.consumer_groups:` which captured groups get translated offsets on the target.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreGroupsSection {
    /// Groups to commit on the target (regexes over whole group names; default none).
    #[serde(default)]
    pub include: Vec<String>,
    /// Groups to leave out, applied after `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Commit even for a group that has active members on the target (default false: refused).
    pub allow_active: Option<bool>,
}

/// `storage:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// `s3` or `filesystem`.
    #[serde(rename = "type")]
    pub kind: String,
    /// S3 bucket.
    pub bucket: Option<String>,
    /// S3 region.
    pub region: Option<String>,
    /// S3 endpoint URL for S3-compatible stores.
    pub endpoint: Option<String>,
    /// Key prefix (S3) under which backups live.
    pub prefix: Option<String>,
    /// Path-style addressing (needed by most S3-compatible stores).
    pub path_style: Option<bool>,
    /// Static access key id (else the environment or the default AWS chain).
    pub access_key_id: Option<String>,
    /// Static secret key (never logged).
    pub secret_access_key: Option<String>,
    /// Directory for `type: filesystem`.
    pub base_path: Option<String>,
    /// Multipart part size (S3 minimum 5 MiB).
    pub part_size: Option<ByteSize>,
    /// Parts uploaded concurrently per segment.
    pub max_inflight_parts: Option<usize>,
}

/// `restore:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreSection {
    /// Source topic → target topic; topics not listed keep their name.
    #[serde(default)]
    pub topic_mapping: BTreeMap<String, String>,
    /// Only restore backed-up topics matching these patterns (default: all).
    #[serde(default)]
    pub topics: TopicFilterSection,
    /// Create missing target topics with the original partition count (default true).
    pub create_topics: Option<bool>,
    /// Replication factor for created topics (default: the broker's default).
    pub replication_factor: Option<i32>,
    /// Write into target topics that already hold records (default false).
    pub allow_non_empty: Option<bool>,
    /// How many partitions are restored at once.
    pub max_concurrent_partitions: Option<usize>,
    /// Produce requests in flight per broker connection (1–5 with idempotence).
    pub max_in_flight: Option<u32>,
    /// Producer linger.
    pub linger_ms: Option<Millis>,
    /// Producer batch size.
    pub batch_size: Option<ByteSize>,
    /// Consumer groups whose captured offsets are translated and committed on the target.
    #[serde(default)]
    pub consumer_groups: RestoreGroupsSection,
    // Topic configuration and repartitioning (issue 13 §3–4).
    /// `keep` (default): created topics get the backed-up topic's own configs; `defaults`: the
    /// target broker's defaults. Existing target topics are left as they are.
    pub topic_config: Option<String>,
    /// Configs set on created topics on top of `topic_config`; a null value drops a backed-up key.
    #[serde(default)]
    pub topic_config_overrides: BTreeMap<String, Option<ConfigValue>>,
    /// `none` (default): partition p → p; `by-key`: records are spread by key over the target's
    /// partitions as the Java client's default partitioner does (murmur2).
    pub repartition: Option<String>,
    /// Source topic → partition count of its target topic (a created topic gets it; with `none`
    /// it must be at least the backup's count).
    #[serde(default)]
    pub partitions: BTreeMap<String, i32>,
    // Point-in-time and ranged restore (issue 13 §1).
    /// Only records with timestamps in `[start, end)` (RFC 3339 or Unix milliseconds).
    pub time_window: Option<super::selection::TimeWindowSection>,
    /// Only these offsets, `[start, end)`, of the partitions named: `{ <topic>: { <partition>: { start, end } } }`.
    #[serde(default)]
    pub offsets: BTreeMap<String, BTreeMap<i32, super::selection::OffsetRangeSection>>,
}
