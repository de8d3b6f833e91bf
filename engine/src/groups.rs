//! Consumer-group offsets in a backup (issue 13 §2): a capture is the committed offsets of the
//! groups that match `backup.consumer_groups`, for the backed-up topics, at one moment. Each
//! capture is one immutable object `<backup_id>/groups/<captured_at_ms:020>[.<writer>].json`;
//! restore picks one ([`read_capture`]) and translates its offsets into the restored topics
//! (`restore::offsets`).
//!
//! A capture is taken with OffsetFetch for each group, never by joining it, so the applications'
//! groups are not disturbed. Groups come and go: one that vanishes or fails between listing and
//! fetching is left out of the capture with its reason recorded, and the backup goes on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::TopicFilter;
use crate::kafka::{GroupAdmin, KafkaError, PartitionKey};
use crate::manifest::{self, Layout, ManifestError};
use crate::store::{Store, StoreError};

/// Version of the capture document.
pub const CAPTURE_FORMAT_VERSION: u32 = 1;

/// Group → topic → partition → committed offset (the next record the group would read).
pub type GroupOffsets = BTreeMap<String, BTreeMap<String, BTreeMap<i32, i64>>>;

/// One capture of committed consumer-group offsets.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OffsetsCapture {
    /// [`CAPTURE_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Tool and version that took it.
    pub tool: String,
    /// Backup id.
    pub backup_id: String,
    /// When the offsets were fetched (the first request), Unix milliseconds.
    pub captured_at_ms: i64,
    /// The committed offsets.
    pub groups: GroupOffsets,
    /// Groups that were listed but could not be read (they vanished, or the request failed).
    #[serde(default)]
    pub skipped: Vec<SkippedGroup>,
}

/// A group left out of a capture, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SkippedGroup {
    /// Group id.
    pub group: String,
    /// The error.
    pub reason: String,
}

/// Why group offsets could not be captured, stored or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupsError {
    /// The cluster failed (listing groups).
    #[error("capturing consumer-group offsets failed: {0} (remove backup.consumer_groups to back up without them)")]
    Kafka(#[from] KafkaError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A capture object is unreadable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// Captures the committed offsets of every group `filter` selects (except `own_group`, the
/// backup's own membership group) for `partitions`.
pub async fn capture(
    admin: &GroupAdmin,
    filter: &TopicFilter,
    own_group: &str,
    backup_id: &str,
    partitions: &[PartitionKey],
) -> Result<OffsetsCapture, GroupsError> {
    let captured_at_ms = manifest::now_ms();
    let listed = admin.groups().await?;
    let mut capture = OffsetsCapture {
        format_version: CAPTURE_FORMAT_VERSION,
        tool: manifest::tool_version(),
        backup_id: backup_id.to_string(),
        captured_at_ms,
        groups: BTreeMap::new(),
        skipped: Vec::new(),
    };
    for group in listed.iter().filter(|g| g.name != own_group && filter.matches(&g.name)) {
        match admin.committed(&group.name, partitions).await {
            Ok(offsets) if offsets.is_empty() => {
                tracing::debug!(group = %group.name, "no committed offsets for the backed-up topics");
            }
            Ok(offsets) => {
                let topics = capture.groups.entry(group.name.clone()).or_default();
                for ((topic, partition), offset) in offsets {
                    topics.entry(topic).or_default().insert(partition, offset);
                }
            }
            Err(error) => {
                tracing::warn!(group = %group.name, %error, "consumer group left out of the offsets capture");
                capture.skipped.push(SkippedGroup { group: group.name.clone(), reason: error.to_string() });
            }
        }
    }
    Ok(capture)
}

/// Stores a capture as a new immutable object; returns its key.
pub async fn write_capture(
    store: &Store,
    layout: &Layout,
    capture: &OffsetsCapture,
    writer: Option<&str>,
) -> Result<String, GroupsError> {
    let key = layout.groups_key(capture.captured_at_ms, writer);
    let body = serde_json::to_vec_pretty(capture).expect("OffsetsCapture serializes");
    store.put(&key, body.into()).await?;
    Ok(key)
}

/// The newest capture taken at or before `not_after_ms` (any time when `None`), with its key.
///
/// Keys carry the capture time, so only the chosen object is read; its own `captured_at_ms` is
/// what is reported.
pub async fn read_capture(
    store: &Store,
    layout: &Layout,
    not_after_ms: Option<i64>,
) -> Result<Option<(String, OffsetsCapture)>, GroupsError> {
    let prefix = layout.groups_prefix();
    let mut candidates: Vec<(i64, String)> = store
        .list(&prefix)
        .await?
        .into_iter()
        .filter_map(|o| o.key.strip_prefix(&prefix).and_then(key_time).map(|ms| (ms, o.key.clone())))
        .filter(|(ms, _)| not_after_ms.is_none_or(|limit| *ms <= limit))
        .collect();
    candidates.sort();
    let Some((_, key)) = candidates.pop() else { return Ok(None) };
    let capture: OffsetsCapture = manifest::read_json(store, &key).await?;
    Ok(Some((key, capture)))
}

/// The capture time in a capture object's name (`<ms:020>[.<writer>].json`).
fn key_time(name: &str) -> Option<i64> {
    let digits = name.get(..20)?;
    let rest = &name[20..];
    (name.ends_with(".json") && (rest == ".json" || rest.starts_with('.'))).then_some(())?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_names_sort_by_time_and_parse_back() {
        let layout = Layout::new("b");
        let a = layout.groups_key(999, None);
        let b = layout.groups_key(1_000, Some("0a1b2c3d"));
        assert!(a < b, "{a} {b}");
        let prefix = layout.groups_prefix();
        assert_eq!(key_time(&a[prefix.len()..]), Some(999));
        assert_eq!(key_time(&b[prefix.len()..]), Some(1_000));
        assert_eq!(key_time("notes.txt"), None);
        assert_eq!(key_time("00000000000000000001.tmp"), None);
    }

    #[test]
    fn capture_round_trips() {
        let mut groups = GroupOffsets::new();
        groups.entry("billing".into()).or_default().entry("orders".into()).or_default().insert(3, 42);
        let capture = OffsetsCapture {
            format_version: CAPTURE_FORMAT_VERSION,
            tool: manifest::tool_version(),
            backup_id: "b".into(),
            captured_at_ms: 7,
            groups,
            skipped: vec![SkippedGroup { group: "gone".into(), reason: "GroupIdNotFound".into() }],
        };
        let json = serde_json::to_vec(&capture).unwrap();
        assert_eq!(serde_json::from_slice::<OffsetsCapture>(&json).unwrap(), capture);
    }
}
