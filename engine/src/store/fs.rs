//! Filesystem backend: objects are files under `<base_path>/<prefix>/`, written to a temp file,
//! fsynced, renamed into place, and the directory fsynced, so a crash never leaves a partial object.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

use super::{ObjectMeta, Result, StoreError};

const TEMP_MARKER: &str = ".kbtmp-";
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A directory used as an object store.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

/// A streaming write to a temp file that becomes the object on `finish`.
#[derive(Debug)]
pub struct FsWriter {
    key: String,
    temp: PathBuf,
    target: PathBuf,
    file: BufWriter<tokio::fs::File>,
    written: u64,
}

fn io_err<'a>(op: &'static str, key: &'a str) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| {
        if source.kind() == std::io::ErrorKind::NotFound && op == "read" {
            StoreError::NotFound { key: key.to_string() }
        } else {
            StoreError::Io { op, key: key.to_string(), source }
        }
    }
}

impl FsStore {
    /// A store rooted at `base_path/prefix`.
    pub fn new(base_path: &Path, prefix: &str) -> Self {
        let root = if prefix.is_empty() { base_path.to_path_buf() } else { base_path.join(prefix) };
        Self { root }
    }

    pub(crate) fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn temp_path(target: &Path) -> PathBuf {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        target.with_file_name(format!("{name}{TEMP_MARKER}{}-{n}", std::process::id()))
    }

    pub(crate) async fn put(&self, key: &str, body: Bytes) -> Result<()> {
        let mut writer = self.writer(key).await?;
        writer.write(&body).await?;
        writer.finish().await.map(|_| ())
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Bytes> {
        tokio::fs::read(self.path(key)).await.map(Bytes::from).map_err(io_err("read", key))
    }

    pub(crate) async fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Bytes> {
        let mut file = tokio::fs::File::open(self.path(key)).await.map_err(io_err("read", key))?;
        file.seek(std::io::SeekFrom::Start(start)).await.map_err(io_err("seek", key))?;
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        file.read_exact(&mut buf).await.map_err(io_err("ranged read", key))?;
        Ok(Bytes::from(buf))
    }

    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let root = self.root.clone();
        let prefix_owned = prefix.to_string();
        tokio::task::spawn_blocking(move || list_blocking(&root, &prefix_owned)).await.map_err(|e| StoreError::Io {
            op: "list",
            key: prefix.to_string(),
            source: std::io::Error::other(e),
        })?
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("delete", key)(e)),
            _ => Ok(()),
        }
    }

    pub(crate) async fn writer(&self, key: &str) -> Result<FsWriter> {
        let target = self.path(key);
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_err("create directory for", key))?;
        }
        let temp = Self::temp_path(&target);
        let file = tokio::fs::File::create(&temp).await.map_err(io_err("create", key))?;
        Ok(FsWriter { key: key.to_string(), temp, target, file: BufWriter::with_capacity(1 << 20, file), written: 0 })
    }

    /// Removes the empty directories under `prefix` (and `prefix` itself when it ends up empty):
    /// after a delete, directories are all a filesystem store would otherwise keep of a backup.
    pub(crate) async fn remove_empty_dirs(&self, prefix: &str) -> Result<()> {
        let dir = self.path(prefix.trim_end_matches('/'));
        let key = prefix.to_string();
        tokio::task::spawn_blocking(move || remove_empty_below(&dir).map(drop))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
            .map_err(|source| StoreError::Io { op: "remove empty directories of", key, source })
    }

    /// Temp files are what a killed writer leaves behind; they are never objects.
    pub(crate) async fn remove_temp_files(&self, prefix: &str) -> Result<usize> {
        let root = self.root.clone();
        let prefix_owned = prefix.to_string();
        let temps = tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            walk(&root.join(&prefix_owned), &mut |path, _| {
                if path.to_string_lossy().contains(TEMP_MARKER) {
                    found.push(path.to_path_buf());
                }
            })?;
            Ok::<_, std::io::Error>(found)
        })
        .await
        .map_err(|e| StoreError::Io { op: "list", key: prefix.to_string(), source: std::io::Error::other(e) })?
        .map_err(io_err("list", prefix))?;
        for path in &temps {
            let _ = tokio::fs::remove_file(path).await;
        }
        Ok(temps.len())
    }
}

fn list_blocking(root: &Path, prefix: &str) -> Result<Vec<ObjectMeta>> {
    // Walk the deepest directory the prefix names, then filter by the full prefix.
    let dir_part = match prefix.rfind('/') {
        Some(i) => &prefix[..i],
        None => "",
    };
    let mut out = Vec::new();
    walk(&root.join(dir_part), &mut |path, size| {
        let Ok(rel) = path.strip_prefix(root) else { return };
        let key = rel.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
        if key.starts_with(prefix) && !key.contains(TEMP_MARKER) {
            out.push(ObjectMeta { key, size });
        }
    })
    .map_err(io_err("list", prefix))?;
    Ok(out)
}

/// Depth first: removes `dir` when everything below it was removed; `Ok(true)` when it is gone.
fn remove_empty_below(dir: &Path) -> std::io::Result<bool> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e),
    };
    let mut empty = true;
    for entry in entries {
        let entry = entry?;
        empty &= entry.file_type()?.is_dir() && remove_empty_below(&entry.path())?;
    }
    if empty {
        std::fs::remove_dir(dir)?;
    }
    Ok(empty)
}

fn walk(dir: &Path, visit: &mut dyn FnMut(&Path, u64)) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(&entry.path(), visit)?;
        } else {
            visit(&entry.path(), meta.len());
        }
    }
    Ok(())
}

impl FsWriter {
    pub(crate) async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.file.write_all(data).await.map_err(io_err("write", &self.key))?;
        self.written += data.len() as u64;
        Ok(())
    }

    pub(crate) async fn finish(mut self) -> Result<u64> {
        let key = self.key.clone();
        let result = async {
            self.file.flush().await.map_err(io_err("flush", &key))?;
            self.file.get_ref().sync_all().await.map_err(io_err("fsync", &key))?;
            tokio::fs::rename(&self.temp, &self.target).await.map_err(io_err("rename", &key))?;
            // The rename is durable only once the directory entry is.
            if let Some(dir) = self.target.parent() {
                let dir = tokio::fs::File::open(dir).await.map_err(io_err("open directory of", &key))?;
                dir.sync_all().await.map_err(io_err("fsync directory of", &key))?;
            }
            Ok(self.written)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&self.temp).await;
        }
        result
    }

    pub(crate) async fn abort(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}
