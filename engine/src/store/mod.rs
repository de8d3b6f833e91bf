//! Object storage: one enum over the backends, each in its own file, with streaming writers.
//!
//! Keys are relative to the configured prefix and use `/` separators. Writes are atomic from a
//! reader's point of view: an object is either absent or complete (S3 multipart completion,
//! filesystem temp file + fsync + rename), which is what lets a checkpoint follow durability.

mod fs;
mod s3;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::config::{StorageKind, StoragePlan};
pub use fs::{FsStore, FsWriter};
pub use s3::{S3Store, S3Writer};

/// A storage failure, naming the object and what to check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The object does not exist.
    #[error("object '{key}' not found")]
    NotFound {
        /// Object key.
        key: String,
    },
    /// A local file operation failed.
    #[error("filesystem {op} of '{key}' failed: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// Object key.
        key: String,
        /// Cause.
        source: std::io::Error,
    },
    /// An S3 request failed after the SDK's retries.
    #[error("S3 {op} of '{key}' failed: {message}{hint}")]
    S3 {
        /// Operation name.
        op: &'static str,
        /// Object key (or prefix).
        key: String,
        /// The service's message.
        message: String,
        /// What the user can do about it.
        hint: &'static str,
    },
}

/// Result alias for storage operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Key relative to the store's prefix.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// A configured object store; clones share one count of bytes read.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// Object bytes returned by `get` and `get_range` through this store and its clones: what a
    /// restore reports as read from storage.
    read: Arc<AtomicU64>,
}

/// The backends, one file each.
#[derive(Debug, Clone)]
enum Backend {
    /// S3 or S3-compatible.
    S3(S3Store),
    /// Local directory.
    Filesystem(FsStore),
}

impl From<FsStore> for Store {
    fn from(store: FsStore) -> Self {
        Store::with(Backend::Filesystem(store))
    }
}

/// A streaming upload of one object; nothing is visible until [`ObjectWriter::finish`] returns.
#[derive(Debug)]
pub enum ObjectWriter {
    /// S3 multipart upload.
    S3(S3Writer),
    /// Temp file renamed on finish.
    Filesystem(FsWriter),
}

impl Store {
    /// Connects to the configured backend.
    pub async fn open(plan: &StoragePlan) -> Result<Self> {
        Ok(Store::with(match &plan.kind {
            StorageKind::S3 { .. } => Backend::S3(S3Store::connect(plan).await?),
            StorageKind::Filesystem { base_path } => Backend::Filesystem(FsStore::new(base_path, &plan.prefix)),
        }))
    }

    fn with(backend: Backend) -> Self {
        Store { backend, read: Arc::new(AtomicU64::new(0)) }
    }

    /// Object bytes read so far through this store (and its clones).
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    fn counted(&self, read: Result<Bytes>) -> Result<Bytes> {
        if let Ok(bytes) = &read {
            self.read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        read
    }

    /// A short description for logs and errors, e.g. `s3://bucket/prefix`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::S3(s) => s.describe(),
            Backend::Filesystem(s) => s.describe(),
        }
    }

    /// Writes a small object whole and durably.
    pub async fn put(&self, key: &str, body: Bytes) -> Result<()> {
        match &self.backend {
            Backend::S3(s) => s.put(key, body).await,
            Backend::Filesystem(s) => s.put(key, body).await,
        }
    }

    /// Reads a whole object.
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        self.counted(match &self.backend {
            Backend::S3(s) => s.get(key).await,
            Backend::Filesystem(s) => s.get(key).await,
        })
    }

    /// Reads `len` bytes starting at `start`.
    pub async fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Bytes> {
        self.counted(match &self.backend {
            Backend::S3(s) => s.get_range(key, start, len).await,
            Backend::Filesystem(s) => s.get_range(key, start, len).await,
        })
    }

    /// Lists every object whose key starts with `prefix`, sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let mut objects = match &self.backend {
            Backend::S3(s) => s.list(prefix).await?,
            Backend::Filesystem(s) => s.list(prefix).await?,
        };
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// Deletes an object; deleting a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match &self.backend {
            Backend::S3(s) => s.delete(key).await,
            Backend::Filesystem(s) => s.delete(key).await,
        }
    }

    /// Tidies up after objects under `prefix` were deleted: a filesystem store removes the
    /// directories left empty; S3 has no directories, so there is nothing to do.
    pub async fn prune_empty(&self, prefix: &str) -> Result<()> {
        match &self.backend {
            Backend::S3(_) => Ok(()),
            Backend::Filesystem(s) => s.remove_empty_dirs(prefix).await,
        }
    }

    /// Starts a streaming upload.
    pub async fn writer(&self, key: &str) -> Result<ObjectWriter> {
        Ok(match &self.backend {
            Backend::S3(s) => ObjectWriter::S3(s.writer(key)),
            Backend::Filesystem(s) => ObjectWriter::Filesystem(s.writer(key).await?),
        })
    }

    /// Aborts multipart uploads left behind under `prefix` by a crashed run (S3 only).
    pub async fn abort_stale_uploads(&self, prefix: &str) -> Result<usize> {
        match &self.backend {
            Backend::S3(s) => s.abort_stale_uploads(prefix).await,
            Backend::Filesystem(s) => s.remove_temp_files(prefix).await,
        }
    }
}

impl ObjectWriter {
    /// Appends bytes; may wait for part uploads when too many are in flight.
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            ObjectWriter::S3(w) => w.write(data).await,
            ObjectWriter::Filesystem(w) => w.write(data).await,
        }
    }

    /// Makes the object durable and visible; returns its size.
    pub async fn finish(self) -> Result<u64> {
        match self {
            ObjectWriter::S3(w) => w.finish().await,
            ObjectWriter::Filesystem(w) => w.finish().await,
        }
    }

    /// Discards everything written so far.
    pub async fn abort(self) {
        match self {
            ObjectWriter::S3(w) => w.abort().await,
            ObjectWriter::Filesystem(w) => w.abort().await,
        }
    }
}
