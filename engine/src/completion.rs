//! Whether a snapshot backup is complete: when a snapshot run's partition reaches the end it
//! captured, it records that end in `<backup_id>/ends/<topic>/<partition>.json` (after the last
//! checkpoint, so the marker never claims more than is durable). A backup is complete when every
//! partition its `backup.json` lists has a marker and its checkpoints reach it — with several
//! instances splitting one snapshot through a consumer group, that is how `kbackup describe`
//! tells whether all of them finished.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::manifest::{self, BackupInfo, ManifestError};
use crate::store::{Store, StoreError};

/// The end a snapshot run reached in one partition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SnapshotEnd {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// One past the last offset backed up: everything before it is checkpointed.
    pub next_offset: i64,
    /// When the end was reached, Unix milliseconds.
    pub reached_at_ms: i64,
    /// Tool and version that wrote it.
    pub tool: String,
}

/// Key of a partition's marker.
pub fn end_key(backup_id: &str, topic: &str, partition: i32) -> String {
    format!("{backup_id}/ends/{topic}/{partition}.json")
}

/// Records that a snapshot run reached `next_offset` in `topic/partition` (all of it checkpointed).
pub async fn record_end(
    store: &Store,
    backup_id: &str,
    topic: &str,
    partition: i32,
    next_offset: i64,
) -> Result<(), StoreError> {
    let end = SnapshotEnd {
        topic: topic.to_string(),
        partition,
        next_offset,
        reached_at_ms: manifest::now_ms(),
        tool: manifest::tool_version(),
    };
    let body = serde_json::to_vec_pretty(&end).expect("SnapshotEnd serializes");
    store.put(&end_key(backup_id, topic, partition), body.into()).await
}

/// Every marker of a backup, by (topic, partition).
pub async fn read_ends(store: &Store, backup_id: &str) -> Result<BTreeMap<(String, i32), SnapshotEnd>, ManifestError> {
    let mut ends = BTreeMap::new();
    for object in store.list(&format!("{backup_id}/ends/")).await? {
        if object.key.ends_with(".json") {
            let end: SnapshotEnd = manifest::read_json(store, &object.key).await?;
            ends.insert((end.topic.clone(), end.partition), end);
        }
    }
    Ok(ends)
}

/// Is the backup complete, and if not, which partitions are not (pure).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Completeness {
    /// Every listed partition reached the end of a snapshot run and is checkpointed up to it.
    pub complete: bool,
    /// `topic/partition` of each partition that has not (no finished snapshot run, or its
    /// checkpoints stop short of the recorded end).
    pub incomplete: Vec<String>,
    /// When the oldest of the partitions' ends was reached (the backup is complete as of then).
    pub complete_as_of_ms: Option<i64>,
}

/// Judges `info`'s partitions against their markers and the offsets their checkpoints reach.
pub fn completeness(
    info: &BackupInfo,
    ends: &BTreeMap<(String, i32), SnapshotEnd>,
    checkpointed: impl Fn(&str, i32) -> i64,
) -> Completeness {
    let mut incomplete = Vec::new();
    let mut oldest: Option<i64> = None;
    for (topic, &partitions) in &info.topics {
        for partition in 0..partitions {
            match ends.get(&(topic.clone(), partition)) {
                Some(end) if checkpointed(topic, partition) >= end.next_offset => {
                    oldest = Some(oldest.map_or(end.reached_at_ms, |o| o.min(end.reached_at_ms)));
                }
                _ => incomplete.push(format!("{topic}/{partition}")),
            }
        }
    }
    let complete = incomplete.is_empty();
    Completeness { complete, incomplete, complete_as_of_ms: if complete { oldest } else { None } }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(topics: &[(&str, i32)]) -> BackupInfo {
        BackupInfo {
            format_version: manifest::FORMAT_VERSION,
            tool: String::new(),
            backup_id: "b".into(),
            created_at_ms: 0,
            updated_at_ms: 0,
            topics: topics.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            codec: "zstd".into(),
            segment_max_bytes: 1,
        }
    }

    fn end(topic: &str, partition: i32, next_offset: i64, at: i64) -> ((String, i32), SnapshotEnd) {
        let end = SnapshotEnd { topic: topic.into(), partition, next_offset, reached_at_ms: at, tool: String::new() };
        ((topic.into(), partition), end)
    }

    #[test]
    fn complete_only_when_every_partition_reached_its_end() {
        let info = info(&[("a", 2), ("b", 1)]);
        let mut ends: BTreeMap<_, _> = [end("a", 0, 10, 5), end("a", 1, 0, 7)].into_iter().collect();
        let all = |_: &str, _: i32| 10;
        let partial = completeness(&info, &ends, all);
        assert_eq!((partial.complete, partial.incomplete.clone()), (false, vec!["b/0".to_string()]));
        ends.extend([end("b", 0, 10, 3)]);
        let done = completeness(&info, &ends, all);
        assert_eq!((done.complete, done.complete_as_of_ms), (true, Some(3)));
        // Checkpoints that stop short of the recorded end (a damaged or pruned backup) are not complete.
        let short = completeness(&info, &ends, |t, _| if t == "b" { 9 } else { 10 });
        assert_eq!(short.incomplete, vec!["b/0".to_string()]);
    }

    #[test]
    fn marker_round_trips() {
        let (_, end) = end("orders", 3, 42, 9);
        let json = serde_json::to_string(&end).unwrap();
        assert_eq!(serde_json::from_str::<SnapshotEnd>(&json).unwrap(), end);
        assert_eq!(end_key("b", "orders", 3), "b/ends/orders/3.json");
    }
}
