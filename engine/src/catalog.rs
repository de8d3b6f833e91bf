//! `list` and `describe`: what backups a store holds and what one of them contains.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::manifest::{self, BackupInfo, Layout, ManifestError};
use crate::store::Store;

/// A partition's holdings in a backup.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct PartitionHoldings {
    /// Partition.
    pub partition: i32,
    /// First backed-up offset.
    pub first_offset: Option<i64>,
    /// Where the next run resumes.
    pub next_offset: i64,
    /// Records.
    pub records: u64,
    /// Segments.
    pub segments: u64,
    /// Stored bytes.
    pub stored_bytes: u64,
    /// Key + value + header bytes.
    pub source_bytes: u64,
    /// Earliest record timestamp.
    pub min_timestamp: Option<i64>,
    /// Latest record timestamp.
    pub max_timestamp: Option<i64>,
    /// Offset ranges lost to retention.
    pub gaps: Vec<(i64, i64)>,
}

/// `describe` output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Description {
    /// `backup.json`.
    pub info: BackupInfo,
    /// Topic → partitions.
    pub topics: BTreeMap<String, Vec<PartitionHoldings>>,
}

/// `list` output: the backups a store holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupList {
    /// Store description, e.g. `s3://bucket/prefix`.
    pub store: String,
    /// One entry per backup id with a `backup.json`.
    pub backups: Vec<BackupInfo>,
}

/// Backup ids in the store (those with a `backup.json`).
pub async fn list(store: &Store) -> Result<Vec<BackupInfo>, ManifestError> {
    let mut out = Vec::new();
    for object in store.list("").await? {
        if let Some(id) = object.key.strip_suffix("/backup.json")
            && !id.contains('/')
        {
            out.push(manifest::read_json(store, &object.key).await?);
        }
    }
    Ok(out)
}

/// What a backup holds, partition by partition.
pub async fn describe(store: &Store, backup_id: &str) -> Result<Description, ManifestError> {
    let layout = Layout::new(backup_id);
    let info = manifest::read_info(store, &layout, backup_id).await?;
    let entries = manifest::read_entries(store, &layout).await?;
    let mut topics: BTreeMap<String, Vec<PartitionHoldings>> = BTreeMap::new();
    for (topic, &partitions) in &info.topics {
        let holdings = (0..partitions)
            .map(|p| holdings(p, entries.get(&(topic.clone(), p)).map(Vec::as_slice).unwrap_or_default()))
            .collect();
        topics.insert(topic.clone(), holdings);
    }
    Ok(Description { info, topics })
}

fn holdings(partition: i32, entries: &[manifest::ManifestEntry]) -> PartitionHoldings {
    let mut h = PartitionHoldings { partition, ..Default::default() };
    for entry in entries {
        h.next_offset = h.next_offset.max(entry.next_offset);
        if let Some(gap) = &entry.gap {
            h.gaps.push((gap.from, gap.to));
        }
        if let Some(segment) = &entry.segment {
            let s = &segment.summary;
            h.first_offset = Some(h.first_offset.map_or(s.first_offset, |f| f.min(s.first_offset)));
            h.records += s.record_count;
            h.segments += 1;
            h.stored_bytes += s.stored_bytes;
            h.source_bytes += s.source_bytes;
            h.min_timestamp = Some(h.min_timestamp.map_or(s.min_timestamp, |t| t.min(s.min_timestamp)));
            h.max_timestamp = Some(h.max_timestamp.map_or(s.max_timestamp, |t| t.max(s.max_timestamp)));
        }
    }
    h
}
