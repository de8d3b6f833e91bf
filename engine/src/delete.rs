//! `delete`: removes one backup — every object under `<backup_id>/`, unfinished multipart
//! uploads included — and nothing outside it.
//!
//! `backup.json` goes first, so a delete that is interrupted half-way leaves no backup that
//! `list` shows or `restore` accepts as if it were whole; running the delete again finishes it.

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, human_bytes, validate_backup_id};
use crate::manifest::Layout;
use crate::store::{ObjectMeta, Store, StoreError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FsStore;
    use bytes::Bytes;

    async fn store_with(dir: &std::path::Path, keys: &[&str]) -> Store {
        let store = Store::Filesystem(FsStore::new(dir, "pre"));
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
}
