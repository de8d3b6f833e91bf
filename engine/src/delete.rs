//! `delete`: removes one backup — every object under `<backup_id>/`, unfinished multipart
//! uploads included — and nothing outside it.
//!
//! `backup.json` goes first, so a delete that is interrupted half-way leaves no backup that
//! `list` shows or `restore` accepts as if it were whole; running the delete again finishes it.
//!
//! [`delete_redundant`] removes only the manifest entries that a partition's chain does not need
//! (left by a writer that lost its partition) and their segments, never one the chain reads.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, human_bytes, validate_backup_id};
use crate::manifest::{self, Layout, ManifestError};
use crate::store::{ObjectMeta, Store, StoreError};
use crate::verify::EntryRef;

/// Objects deleted at once: S3 DELETEs are small requests, so latency, not bandwidth, bounds them.
const CONCURRENT_DELETES: usize = 16;

/// Why a backup could not be deleted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteError {
    /// The backup id is not one kbackup could have written.
    #[error(transparent)]
    InvalidId(#[from] ConfigError),
    /// Listing or deleting failed; objects already deleted stay deleted.
    #[error("{0} (objects deleted so far stay deleted; run the same command again to finish)")]
    Store(#[from] StoreError),
    /// The backup's metadata could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Objects appeared under the backup while it was being deleted.
    #[error(
        "{remaining} object(s) are still under '{backup_id}/' in {store} after the delete: is a backup \
         with this id running? Stop it and delete again"
    )]
    Incomplete {
        /// Backup id.
        backup_id: String,
        /// Store description.
        store: String,
        /// Objects found by the final listing.
        remaining: usize,
    },
}

/// What a delete removed (or, without `--yes`, would remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteReport {
    /// Backup id.
    pub backup_id: String,
    /// Store description, e.g. `s3://bucket/prefix`.
    pub store: String,
    /// False for a dry run: nothing was touched.
    pub deleted: bool,
    /// Objects under the backup.
    pub objects: u64,
    /// Their total size.
    pub bytes: u64,
    /// Unfinished multipart uploads aborted (their parts hold storage too).
    pub aborted_uploads: usize,
}

impl DeleteReport {
    /// One line for people.
    pub fn human(&self) -> String {
        let what = format!("{} objects, {}", self.objects, human_bytes(self.bytes));
        match (self.deleted, self.objects) {
            (_, 0) if self.aborted_uploads == 0 => {
                format!("backup '{}' has no objects in {}: nothing to delete", self.backup_id, self.store)
            }
            (true, _) => format!(
                "deleted backup '{}' from {}: {what}, {} unfinished uploads aborted",
                self.backup_id, self.store, self.aborted_uploads
            ),
            (false, _) => format!(
                "backup '{}' in {} holds {what}; nothing deleted (add --yes to delete them)",
                self.backup_id, self.store
            ),
        }
    }
}

/// Every object of `backup_id`, `backup.json` first.
pub async fn objects(store: &Store, backup_id: &str) -> Result<Vec<ObjectMeta>, DeleteError> {
    validate_backup_id(backup_id)?;
    let layout = Layout::new(backup_id);
    let mut objects = store.list(&layout.root()).await?;
    let info = layout.info_key();
    objects.sort_by_key(|o| o.key != info);
    Ok(objects)
}

/// Deletes `backup_id` from `store`; with `dry_run` only reports what it holds.
pub async fn delete(store: &Store, backup_id: &str, dry_run: bool) -> Result<DeleteReport, DeleteError> {
    let objects = objects(store, backup_id).await?;
    let mut report = DeleteReport {
        backup_id: backup_id.to_string(),
        store: store.describe(),
        deleted: !dry_run,
        objects: objects.len() as u64,
        bytes: objects.iter().map(|o| o.size).sum(),
        aborted_uploads: 0,
    };
    if dry_run {
        return Ok(report);
    }
    let root = Layout::new(backup_id).root();
    let mut rest = objects.iter().map(|o| o.key.as_str());
    if let Some(first) = rest.next() {
        store.delete(first).await?;
    }
    futures::stream::iter(rest.map(|key| store.delete(key)))
        .buffer_unordered(CONCURRENT_DELETES)
        .try_collect::<Vec<()>>()
        .await?;
    report.aborted_uploads = store.abort_stale_uploads(&root).await?;
    store.prune_empty(&root).await?;
    let remaining = store.list(&root).await?.len();
    if remaining > 0 {
        return Err(DeleteError::Incomplete { backup_id: backup_id.to_string(), store: store.describe(), remaining });
    }
    Ok(report)
}

/// What `delete --redundant` removed (or, without `--yes`, would remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedundantReport {
    /// Backup id.
    pub backup_id: String,
    /// Store description.
    pub store: String,
    /// False for a dry run: nothing was touched.
    pub deleted: bool,
    /// The redundant entries.
    pub entries: Vec<EntryRef>,
    /// Segment objects removed with them.
    pub segments: u64,
    /// Their total size.
    pub bytes: u64,
}

impl RedundantReport {
    /// One line for people.
    pub fn human(&self) -> String {
        let what = format!(
            "{} redundant entries ({} segments, {})",
            self.entries.len(),
            self.segments,
            human_bytes(self.bytes)
        );
        match (self.deleted, self.entries.len()) {
            (_, 0) => {
                format!("backup '{}' in {} has no redundant entries: nothing to delete", self.backup_id, self.store)
            }
            (true, _) => format!("deleted {what} from backup '{}' in {}", self.backup_id, self.store),
            (false, _) => format!(
                "backup '{}' in {} holds {what}; nothing deleted (add --yes to delete them)",
                self.backup_id, self.store
            ),
        }
    }
}

/// Deletes the entries of `backup_id` that no partition's chain needs, each entry before its
/// segment, and never a segment another entry refers to; with `dry_run` only reports them.
pub async fn delete_redundant(store: &Store, backup_id: &str, dry_run: bool) -> Result<RedundantReport, DeleteError> {
    validate_backup_id(backup_id)?;
    let layout = Layout::new(backup_id);
    manifest::read_info(store, &layout, backup_id).await?;
    let chains = manifest::read_chains(store, &layout).await?;
    let kept: BTreeSet<&str> = chains
        .values()
        .flat_map(|c| c.used.iter().chain(&c.stranded))
        .filter_map(|l| l.entry.segment.as_ref().map(|s| s.key.as_str()))
        .collect();
    let mut segments = BTreeSet::new();
    let mut jobs = Vec::new();
    let mut report = RedundantReport {
        backup_id: backup_id.to_string(),
        store: store.describe(),
        deleted: !dry_run,
        entries: Vec::new(),
        segments: 0,
        bytes: 0,
    };
    for listed in chains.values().flat_map(|c| &c.redundant) {
        report.entries.push(EntryRef::from(listed));
        let segment = listed.entry.segment.as_ref().filter(|s| !kept.contains(s.key.as_str()));
        let segment = segment.filter(|s| segments.insert(s.key.as_str()));
        if let Some(s) = segment {
            report.segments += 1;
            report.bytes += s.summary.stored_bytes;
        }
        jobs.push((listed.key.as_str(), segment.map(|s| s.key.as_str())));
    }
    if !dry_run {
        futures::stream::iter(jobs.into_iter().map(|(entry, segment)| async move {
            store.delete(entry).await?;
            if let Some(segment) = segment {
                store.delete(segment).await?;
            }
            Ok::<_, StoreError>(())
        }))
        .buffer_unordered(CONCURRENT_DELETES)
        .try_collect::<Vec<()>>()
        .await?;
        store.prune_empty(&layout.root()).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FsStore;
    use bytes::Bytes;

    async fn store_with(dir: &std::path::Path, keys: &[&str]) -> Store {
        let store = Store::from(FsStore::new(dir, "pre"));
        for key in keys {
            store.put(key, Bytes::from(vec![7u8; 10])).await.unwrap();
        }
        store
    }

    #[tokio::test]
    async fn deletes_only_the_named_backup() {
        let dir = tempfile::tempdir().unwrap();
        let keys = ["a/backup.json", "a/segments/t/0/1.kseg", "a/manifest/t/0/1.json", "a.b/backup.json", "ab/x"];
        let store = store_with(dir.path(), &keys).await;

        let dry = delete(&store, "a", true).await.unwrap();
        assert_eq!((dry.deleted, dry.objects, dry.bytes), (false, 3, 30));
        assert_eq!(store.list("").await.unwrap().len(), 5, "a dry run touches nothing");

        let done = delete(&store, "a", false).await.unwrap();
        assert_eq!((done.deleted, done.objects, done.bytes), (true, 3, 30));
        let left: Vec<String> = store.list("").await.unwrap().into_iter().map(|o| o.key).collect();
        assert_eq!(left, ["a.b/backup.json", "ab/x"]);
        assert!(!dir.path().join("pre/a").exists(), "empty directories are removed too");

        let again = delete(&store, "a", false).await.unwrap();
        assert_eq!(again.objects, 0, "deleting twice is not an error");
        assert!(again.human().contains("nothing to delete"), "{}", again.human());
    }

    #[tokio::test]
    async fn backup_json_goes_first_and_bad_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), &["b/a-first.json", "b/backup.json", "b/z"]).await;
        let listed = objects(&store, "b").await.unwrap();
        assert_eq!(listed[0].key, "b/backup.json");
        for bad in ["", "../b", "b/c", ".hidden"] {
            let err = delete(&store, bad, false).await.unwrap_err();
            assert!(matches!(err, DeleteError::InvalidId(_)), "{bad}: {err}");
        }
        assert_eq!(store.list("").await.unwrap().len(), 3);
    }

    fn entry(start: i64, next: i64, segment: &str) -> crate::manifest::ManifestEntry {
        use crate::manifest::{ManifestEntry, SegmentRef};
        use crate::segment::{Codec, SegmentSummary};
        let summary = SegmentSummary {
            codec: Codec::None,
            first_offset: start,
            last_offset: next - 1,
            min_timestamp: 0,
            max_timestamp: 0,
            record_count: (next - start) as u64,
            block_count: 1,
            source_bytes: 10,
            uncompressed_bytes: 10,
            stored_bytes: 10,
        };
        ManifestEntry {
            topic: "t".into(),
            partition: 0,
            start_offset: start,
            next_offset: next,
            segment: Some(SegmentRef { key: segment.into(), object_crc32c: 0, summary }),
            gap: None,
            written_at_ms: 0,
            tool: String::new(),
        }
    }

    #[tokio::test]
    async fn redundant_entries_go_and_the_chain_stays() {
        use crate::manifest::{BackupInfo, Layout};
        let dir = tempfile::tempdir().unwrap();
        let segments = ["c/s/0", "c/s/10", "c/s/20", "c/z/10", "c/z/15"];
        let store = store_with(dir.path(), &segments).await;
        let info = BackupInfo {
            format_version: 1,
            tool: String::new(),
            backup_id: "c".into(),
            created_at_ms: 0,
            updated_at_ms: 0,
            topics: [("t".to_string(), 1)].into(),
            codec: "none".into(),
            segment_max_bytes: 1,
        };
        store.put(&Layout::new("c").info_key(), serde_json::to_vec(&info).unwrap().into()).await.unwrap();
        // A zombie re-wrote [10, 20) as [10, 15) + [15, 20); one of its entries names a chain segment.
        let entries = [
            ("a0", entry(0, 10, "c/s/0")),
            ("a1", entry(10, 20, "c/s/10")),
            ("a2", entry(20, 30, "c/s/20")),
            ("z1", entry(10, 15, "c/z/10")),
            ("z2", entry(15, 20, "c/s/20")),
        ];
        for (name, e) in &entries {
            store.put(&format!("c/manifest/t/0/{name}.json"), serde_json::to_vec(e).unwrap().into()).await.unwrap();
        }

        let dry = delete_redundant(&store, "c", true).await.unwrap();
        let keys: Vec<&str> = dry.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["c/manifest/t/0/z1.json", "c/manifest/t/0/z2.json"]);
        assert_eq!((dry.deleted, dry.segments, dry.bytes), (false, 1, 10), "c/s/20 is read by the chain");
        assert_eq!(store.list("c/").await.unwrap().len(), 11, "a dry run touches nothing");

        let done = delete_redundant(&store, "c", false).await.unwrap();
        assert_eq!((done.deleted, done.entries.len(), done.segments), (true, 2, 1));
        let left: Vec<String> = store.list("c/").await.unwrap().into_iter().map(|o| o.key).collect();
        let expected = ["c/backup.json", "c/manifest/t/0/a0.json", "c/manifest/t/0/a1.json", "c/manifest/t/0/a2.json"];
        assert_eq!(
            left,
            [&expected[..], &segments[..3], &["c/z/15"]].concat(),
            "c/z/15 is an orphan: no entry names it"
        );
        assert!(delete_redundant(&store, "c", false).await.unwrap().human().contains("no redundant entries"));
        assert!(matches!(delete_redundant(&store, "nope", true).await, Err(DeleteError::Manifest(_))));
    }
}
