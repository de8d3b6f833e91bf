//! `list` and `describe`: what backups a store holds and what one of them contains. A
//! partition's figures are those of its resolved chain of entries, so offsets that several
//! writers' entries hold are counted once; the rest is shown as redundant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::completion::{self, Completeness};
use crate::manifest::{self, BackupInfo, Chain, Layout, Listed, ManifestError};
use crate::store::Store;

/// A partition's holdings in a backup.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct PartitionHoldings {
    /// Partition.
    pub partition: i32,
    /// First backed-up offset.
    pub first_offset: Option<i64>,
    /// Where the chain of entries starts (with `next_offset`, the offsets it accounts for).
    #[serde(default)]
    pub chain_start: Option<i64>,
    /// End of the chain: where the next run resumes (unless entries stranded beside a hole reach
    /// further).
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
    /// Entries whose offsets the chain holds already (harmless, not counted above;
    /// `kbackup delete --redundant --yes` removes them).
    #[serde(default)]
    pub redundant_entries: u64,
    /// Stored bytes of the redundant entries' segments.
    #[serde(default)]
    pub redundant_bytes: u64,
    /// Offset ranges no entry accounts for: damage (`verify --integrity` reports it).
    #[serde(default)]
    pub holes: Vec<(i64, i64)>,
    /// Entries left out of the chain that hold offsets next to a hole.
    #[serde(default)]
    pub stranded_entries: u64,
}

/// `describe` output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Description {
    /// `backup.json`.
    pub info: BackupInfo,
    /// Topic → partitions.
    pub topics: BTreeMap<String, Vec<PartitionHoldings>>,
    /// Whether every partition reached the end of a snapshot run (several instances splitting one
    /// snapshot through a consumer group each record their partitions' ends).
    pub completeness: Completeness,
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
    let chains = manifest::read_chains(store, &layout).await?;
    let empty = Chain::default();
    let mut topics: BTreeMap<String, Vec<PartitionHoldings>> = BTreeMap::new();
    for (topic, &partitions) in &info.topics {
        let holdings =
            (0..partitions).map(|p| holdings(p, chains.get(&(topic.clone(), p)).unwrap_or(&empty))).collect();
        topics.insert(topic.clone(), holdings);
    }
    let ends = completion::read_ends(store, backup_id).await?;
    let reached = |topic: &str, partition: i32| {
        chains.get(&(topic.to_string(), partition)).map_or(0, |c| if c.holes.is_empty() { c.next_offset() } else { -1 })
    };
    let completeness = completion::completeness(&info, &ends, reached);
    Ok(Description { info, topics, completeness })
}

fn holdings(partition: i32, chain: &Chain<Listed>) -> PartitionHoldings {
    let mut h = PartitionHoldings {
        partition,
        chain_start: chain.start(),
        next_offset: chain.next_offset(),
        redundant_entries: chain.redundant.len() as u64,
        redundant_bytes: chain
            .redundant
            .iter()
            .filter_map(|l| l.entry.segment.as_ref())
            .map(|s| s.summary.stored_bytes)
            .sum(),
        holes: chain.holes.clone(),
        stranded_entries: chain.stranded.len() as u64,
        ..Default::default()
    };
    for entry in chain.used.iter().map(|l| &l.entry) {
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
