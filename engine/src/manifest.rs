//! The backup's metadata in storage: key layout, the run-level `backup.json`, and one immutable
//! manifest entry per segment, which is also the partition's checkpoint.
//!
//! Layout under `<prefix>/<backup_id>/`:
//! - `backup.json`: tool version, topics and partition counts, codec (rewritten once per run).
//! - `topics/<topic>.json`: the topic's own configs and partition count ([`topics`]).
//! - `segments/<topic>/<partition>/<start_offset:020>.kseg`: segment objects.
//! - `groups/<captured_at_ms:020>[.<writer>].json`: committed consumer-group offsets, one immutable
//!   object per capture (`crate::groups`).
//! - `manifest/<topic>/<partition>/<start_offset:020>.json`: one [`ManifestEntry`] per segment or gap,
//!   written only after the segment object is durable. No document is rewritten per segment, and
//!   the key of a segment depends only on where its reading began, so a rerun after a crash
//!   overwrites an orphaned segment instead of storing its records twice.
//!
//! Readers never parse keys: they list every entry and resolve each partition's entries into one
//! contiguous [`chain::Chain`] ([`read_chains`]), so overlapping entries of several writers never
//! yield a record twice.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::segment::SegmentSummary;
use crate::store::{Store, StoreError};

pub mod chain;
pub mod topics;

pub use chain::{Chain, Link};
pub use topics::{TopicConfig, read_topic_config, write_topic_config};

/// Version of the layout and metadata documents.
pub const FORMAT_VERSION: u32 = 1;

/// The tool name and version recorded in metadata.
pub fn tool_version() -> String {
    format!("kbackup {}", env!("CARGO_PKG_VERSION"))
}

/// Keys of one backup.
#[derive(Debug, Clone)]
pub struct Layout {
    backup_id: String,
}

impl Layout {
    /// Layout of `backup_id`.
    pub fn new(backup_id: &str) -> Self {
        Self { backup_id: backup_id.to_string() }
    }

    /// `<id>/` — nothing is written outside it.
    pub fn root(&self) -> String {
        format!("{}/", self.backup_id)
    }

    /// `<id>/backup.json`.
    pub fn info_key(&self) -> String {
        format!("{}/backup.json", self.backup_id)
    }

    /// Segment object key.
    pub fn segment_key(&self, topic: &str, partition: i32, start_offset: i64) -> String {
        format!("{}/segments/{topic}/{partition}/{start_offset:020}.kseg", self.backup_id)
    }

    /// Manifest entry (checkpoint) key.
    pub fn entry_key(&self, topic: &str, partition: i32, start_offset: i64) -> String {
        format!("{}/manifest/{topic}/{partition}/{start_offset:020}.json", self.backup_id)
    }

    /// Segment object key of one writer process (consumer-group mode). Two processes may write a
    /// segment of the same partition from the same offset (a zombie that lost the partition and
    /// its successor); distinct keys keep each object matching its own entry's checksum, and the
    /// readers resolve the overlap (`manifest::chain`).
    pub fn writer_segment_key(&self, topic: &str, partition: i32, start_offset: i64, writer: &str) -> String {
        format!("{}/segments/{topic}/{partition}/{start_offset:020}.{writer}.kseg", self.backup_id)
    }

    /// Manifest entry key of one writer process (consumer-group mode); see [`Layout::writer_segment_key`].
    pub fn writer_entry_key(&self, topic: &str, partition: i32, start_offset: i64, writer: &str) -> String {
        format!("{}/manifest/{topic}/{partition}/{start_offset:020}.{writer}.json", self.backup_id)
    }

    /// Prefix of one partition's segment objects.
    pub fn partition_segments_prefix(&self, topic: &str, partition: i32) -> String {
        format!("{}/segments/{topic}/{partition}/", self.backup_id)
    }

    /// Prefix of all manifest entries.
    pub fn manifest_prefix(&self) -> String {
        format!("{}/manifest/", self.backup_id)
    }

    /// Prefix of all segments.
    pub fn segments_prefix(&self) -> String {
        format!("{}/segments/", self.backup_id)
    }

    /// Prefix of the consumer-group offset captures (`crate::groups`).
    pub fn groups_prefix(&self) -> String {
        format!("{}/groups/", self.backup_id)
    }

    /// One immutable capture of committed group offsets, named by its time (so keys sort by it)
    /// and, in consumer-group mode, by the writer that took it (instances never overwrite each other).
    pub fn groups_key(&self, captured_at_ms: i64, writer: Option<&str>) -> String {
        match writer {
            Some(writer) => format!("{}/groups/{captured_at_ms:020}.{writer}.json", self.backup_id),
            None => format!("{}/groups/{captured_at_ms:020}.json", self.backup_id),
        }
    }
}

/// `backup.json`: what was backed up and how.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupInfo {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Tool and version of the last run.
    pub tool: String,
    /// Backup name.
    pub backup_id: String,
    /// First run start, Unix milliseconds.
    pub created_at_ms: i64,
    /// Last run start, Unix milliseconds.
    pub updated_at_ms: i64,
    /// Topic → partition count.
    pub topics: BTreeMap<String, i32>,
    /// Codec of segments written by the last run.
    pub codec: String,
    /// Segment size limit of the last run.
    pub segment_max_bytes: u64,
}

/// A segment's object and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SegmentRef {
    /// Object key.
    pub key: String,
    /// CRC32C of the whole object.
    pub object_crc32c: u32,
    /// Offsets, timestamps, counts and sizes.
    pub summary: SegmentSummary,
}

/// Offsets that retention removed before they were backed up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gap {
    /// First missing offset.
    pub from: i64,
    /// First offset available again.
    pub to: i64,
}

/// One checkpoint: everything in `[start_offset, next_offset)` of the partition is durable in
/// `segment` (or was lost to retention, recorded in `gap`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Where reading began for this entry.
    pub start_offset: i64,
    /// Where the next run resumes.
    pub next_offset: i64,
    /// The segment, if records were stored.
    pub segment: Option<SegmentRef>,
    /// Offsets lost to retention before this entry.
    pub gap: Option<Gap>,
    /// When the entry was written, Unix milliseconds.
    pub written_at_ms: i64,
    /// Tool and version that wrote it.
    pub tool: String,
}

/// Errors reading metadata.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A document is not valid JSON of the expected shape.
    #[error(
        "metadata object '{key}' is corrupt: {reason} (delete the backup and take it again, or restore from another copy)"
    )]
    Corrupt {
        /// Object key.
        key: String,
        /// Parser message.
        reason: String,
    },
    /// No `backup.json` under the id.
    #[error("backup '{backup_id}' not found in {store} (run `kbackup list -c FILE` to see the backups there)")]
    NoSuchBackup {
        /// Backup id.
        backup_id: String,
        /// Store description.
        store: String,
    },
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Reads and parses one JSON document.
pub async fn read_json<T: for<'de> Deserialize<'de>>(store: &Store, key: &str) -> Result<T, ManifestError> {
    let bytes = store.get(key).await?;
    serde_json::from_slice(&bytes).map_err(|e| ManifestError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

/// Reads `backup.json`, or says the backup does not exist.
pub async fn read_info(store: &Store, layout: &Layout, backup_id: &str) -> Result<BackupInfo, ManifestError> {
    match read_json(store, &layout.info_key()).await {
        Err(ManifestError::Store(StoreError::NotFound { .. })) => {
            Err(ManifestError::NoSuchBackup { backup_id: backup_id.to_string(), store: store.describe() })
        }
        other => other,
    }
}

/// Every manifest entry, grouped by (topic, partition) and sorted by start offset.
pub async fn read_entries(
    store: &Store,
    layout: &Layout,
) -> Result<BTreeMap<(String, i32), Vec<ManifestEntry>>, ManifestError> {
    let listed = read_listed(store, layout).await?;
    Ok(listed.into_iter().map(|(k, list)| (k, list.into_iter().map(|l| l.entry).collect())).collect())
}

/// A manifest entry and the key of its object.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// Object key of the entry.
    pub key: String,
    /// The entry.
    pub entry: ManifestEntry,
}

impl Link for Listed {
    fn offsets(&self) -> (i64, i64) {
        (self.entry.start_offset, self.entry.next_offset)
    }

    fn is_gap(&self) -> bool {
        self.entry.segment.is_none()
    }

    fn name(&self) -> &str {
        &self.key
    }
}

/// Every manifest entry with its key (every `.json` under the manifest prefix), grouped by
/// (topic, partition) and sorted by start offset.
pub async fn read_listed(
    store: &Store,
    layout: &Layout,
) -> Result<BTreeMap<(String, i32), Vec<Listed>>, ManifestError> {
    let listed = store.list(&layout.manifest_prefix()).await?;
    let entries: Vec<Listed> = futures::stream::iter(listed.into_iter().filter(|o| o.key.ends_with(".json")))
        .map(|object| async move {
            let entry = read_json::<ManifestEntry>(store, &object.key).await?;
            Ok::<_, ManifestError>(Listed { key: object.key, entry })
        })
        .buffer_unordered(16)
        .try_collect()
        .await?;
    let mut grouped: BTreeMap<(String, i32), Vec<Listed>> = BTreeMap::new();
    for listed in entries {
        grouped.entry((listed.entry.topic.clone(), listed.entry.partition)).or_default().push(listed);
    }
    for list in grouped.values_mut() {
        list.sort_by(|a, b| (a.entry.start_offset, &a.key).cmp(&(b.entry.start_offset, &b.key)));
    }
    Ok(grouped)
}

/// Every partition's entries resolved into one chain: what restore, verify and describe read.
pub async fn read_chains(
    store: &Store,
    layout: &Layout,
) -> Result<BTreeMap<(String, i32), Chain<Listed>>, ManifestError> {
    Ok(read_listed(store, layout).await?.into_iter().map(|(k, list)| (k, chain::chain(list))).collect())
}

/// Where a partition's next run resumes: the highest checkpointed `next_offset`.
pub fn resume_offset(entries: &[ManifestEntry]) -> Option<i64> {
    entries.iter().map(|e| e.next_offset).max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::Codec;
    use proptest::prelude::*;

    fn summary(first: i64, count: u64) -> SegmentSummary {
        SegmentSummary {
            codec: Codec::Zstd,
            first_offset: first,
            last_offset: first + count as i64 - 1,
            min_timestamp: 1,
            max_timestamp: 2,
            record_count: count,
            block_count: 1,
            source_bytes: 10,
            uncompressed_bytes: 20,
            stored_bytes: 30,
        }
    }

    proptest! {
        #[test]
        fn entry_round_trips(start in 0i64..i64::MAX / 2, count in 1u64..1_000_000, crc: u32, gap: Option<(i64, i64)>) {
            let entry = ManifestEntry {
                topic: "orders".into(),
                partition: 3,
                start_offset: start,
                next_offset: start + count as i64,
                segment: Some(SegmentRef { key: "k".into(), object_crc32c: crc, summary: summary(start, count) }),
                gap: gap.map(|(from, to)| Gap { from, to }),
                written_at_ms: 5,
                tool: tool_version(),
            };
            let json = serde_json::to_vec(&entry).unwrap();
            prop_assert_eq!(serde_json::from_slice::<ManifestEntry>(&json).unwrap(), entry);
        }
    }

    #[test]
    fn keys_stay_under_the_backup_id_and_sort_by_offset() {
        let layout = Layout::new("b1");
        let a = layout.segment_key("t", 0, 9);
        let b = layout.segment_key("t", 0, 10);
        assert!(a.starts_with(&layout.root()) && a < b);
        assert!(layout.entry_key("t", 0, 9).starts_with(&layout.manifest_prefix()));
    }

    #[test]
    fn resume_is_the_highest_next_offset() {
        let e = |start, next| ManifestEntry {
            topic: "t".into(),
            partition: 0,
            start_offset: start,
            next_offset: next,
            segment: None,
            gap: None,
            written_at_ms: 0,
            tool: String::new(),
        };
        assert_eq!(resume_offset(&[e(0, 10), e(10, 25)]), Some(25));
        assert_eq!(resume_offset(&[]), None);
    }
}
