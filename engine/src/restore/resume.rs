//! Resumable restore: a state object per target topic, written before anything is produced, says
//! where each target partition's restore stream began; a rerun skips what the target already holds.
//!
//! Why this is exact: a restore sends each target partition one deterministic stream of records,
//! in order, through an idempotent producer, so whatever a killed run left in a partition is a
//! prefix of that stream — `end - start` records of it. The end comes from a fetch response (see
//! [`crate::kafka::fetched_end`]): ListOffsets under-reports on some brokers, and one record too
//! few would be produced twice.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::config::{Bounds, Plan};
use crate::manifest::{self, Layout, ManifestError};
use crate::store::{Store, StoreError};

/// Version of the state document.
const STATE_VERSION: u32 = 1;

/// The restore state of one target topic, stored at [`state_key`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RestoreState {
    /// Document version.
    pub version: u32,
    /// What this restore produces into the topic; a rerun whose selection differs starts afresh.
    pub selection: Selection,
    /// Target partition → offset where its stream began.
    pub start: BTreeMap<i32, i64>,
    /// First run's start, Unix milliseconds.
    pub started_at_ms: i64,
    /// When every partition's stream was delivered, Unix milliseconds.
    pub completed_at_ms: Option<i64>,
}

/// Everything that decides the records a target topic receives, in order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// The backup.
    pub backup_id: String,
    /// Target cluster.
    pub bootstrap_servers: String,
    /// Source topic.
    pub source_topic: String,
    /// Target topic.
    pub target_topic: String,
    /// `restore.time_window`, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window: Option<Bounds>,
    /// `restore.offsets` of the source topic, by partition.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub offsets: BTreeMap<i32, Bounds>,
}

impl Selection {
    /// The selection of `source` → `target` under `plan`.
    pub fn of(plan: &Plan, source: &str, target: &str) -> Self {
        let records = &plan.restore.selection;
        Self {
            backup_id: plan.backup_id.clone(),
            bootstrap_servers: plan.kafka.bootstrap_servers.clone(),
            source_topic: source.to_string(),
            target_topic: target.to_string(),
            time_window: records.time_window,
            offsets: records.topic_offsets(source).cloned().unwrap_or_default(),
        }
    }
}

/// Where the state of restores of this backup into `target` on the plan's cluster lives. The
/// cluster's bootstrap list is part of the key, so restores into two clusters keep two states.
pub fn state_key(layout: &Layout, plan: &Plan, target: &str) -> String {
    let cluster = crc32c::crc32c(plan.kafka.bootstrap_servers.as_bytes());
    format!("{}restores/{cluster:08x}/{target}.json", layout.root())
}

/// Reads the state of `target`, if a previous run left one.
pub async fn load(store: &Store, key: &str) -> Result<Option<RestoreState>, ManifestError> {
    match manifest::read_json::<RestoreState>(store, key).await {
        Ok(state) if state.version == STATE_VERSION => Ok(Some(state)),
        Ok(state) => Err(ManifestError::Corrupt {
            key: key.to_string(),
            reason: format!(
                "restore state version {} is not {STATE_VERSION}; delete it to restore from the beginning",
                state.version
            ),
        }),
        Err(ManifestError::Store(StoreError::NotFound { .. })) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the state (before the first record of a run is produced, and when a topic completes).
pub async fn save(store: &Store, key: &str, state: &RestoreState) -> Result<(), StoreError> {
    let body = serde_json::to_vec_pretty(state).expect("restore state serializes");
    store.put(key, Bytes::from(body)).await
}

impl RestoreState {
    /// A new state: every partition's stream begins at `start`.
    pub fn begin(selection: Selection, start: BTreeMap<i32, i64>) -> Self {
        Self { version: STATE_VERSION, selection, start, started_at_ms: manifest::now_ms(), completed_at_ms: None }
    }
}

/// What a run does with one target partition, decided from the previous state and the target's
/// current end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resume {
    /// Offset where the partition's stream began.
    pub start: i64,
    /// Records of the stream the target holds already: the run skips them.
    pub skip: u64,
}

/// Decides, per partition, where its stream began and how much of it the target already holds.
/// `ends` are the target partitions' current ends. `None`: the previous state does not apply
/// (another selection, or the topic was recreated: its end fell below a recorded start).
pub fn reconcile(
    previous: &RestoreState,
    selection: &Selection,
    ends: &BTreeMap<i32, i64>,
) -> Option<BTreeMap<i32, Resume>> {
    if previous.selection != *selection {
        return None;
    }
    let mut out = BTreeMap::new();
    for (&partition, &end) in ends {
        let &start = previous.start.get(&partition)?;
        if end < start {
            return None;
        }
        out.insert(partition, Resume { start, skip: (end - start) as u64 });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(target: &str) -> Selection {
        Selection {
            backup_id: "b".into(),
            bootstrap_servers: "127.0.0.1:9092".into(),
            source_topic: "orders".into(),
            target_topic: target.into(),
            time_window: None,
            offsets: BTreeMap::new(),
        }
    }

    #[test]
    fn a_rerun_skips_what_each_partition_holds() {
        let state = RestoreState::begin(selection("t"), BTreeMap::from([(0, 0), (1, 5)]));
        let resume = reconcile(&state, &selection("t"), &BTreeMap::from([(0, 120), (1, 5)])).unwrap();
        assert_eq!(resume[&0], Resume { start: 0, skip: 120 });
        assert_eq!(resume[&1], Resume { start: 5, skip: 0 });
    }

    #[test]
    fn another_selection_or_a_recreated_topic_starts_afresh() {
        let state = RestoreState::begin(selection("t"), BTreeMap::from([(0, 10)]));
        assert_eq!(reconcile(&state, &selection("u"), &BTreeMap::from([(0, 10)])), None);
        assert_eq!(reconcile(&state, &selection("t"), &BTreeMap::from([(0, 3)])), None, "end below start");
        assert_eq!(reconcile(&state, &selection("t"), &BTreeMap::from([(1, 3)])), None, "unknown partition");
        let mut windowed = selection("t");
        windowed.time_window = Some(Bounds { start: 0, end: 1000 });
        assert_eq!(reconcile(&state, &windowed, &BTreeMap::from([(0, 10)])), None, "another time window");
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut state = RestoreState::begin(selection("t"), BTreeMap::from([(0, 0), (3, 42)]));
        state.completed_at_ms = Some(7);
        let text = serde_json::to_string(&state).unwrap();
        assert!(!text.contains("time_window"), "a state without a selection reads as before: {text}");
        assert_eq!(serde_json::from_str::<RestoreState>(&text).unwrap(), state);
        state.selection.offsets = BTreeMap::from([(2, Bounds { start: 5, end: i64::MAX })]);
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<RestoreState>(&text).unwrap(), state);
    }
}
