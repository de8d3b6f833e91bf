//! The storage ceiling: how fast the configured store accepts uploads through the very writer a
//! backup uses (same multipart part size and parts in flight), with incompressible bytes and no
//! Kafka or compression in the way. Backup efficiency against storage is engine ÷ this.

use std::time::Instant;

use bytes::Bytes;
use rand::{Rng as _, SeedableRng as _};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::config::Plan;
use crate::store::{Store, StoreError};
use crate::summary::mb_per_sec;

/// What a probe measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Where it wrote.
    pub store: String,
    /// Objects written (and deleted again).
    pub objects: usize,
    /// Concurrent uploads.
    pub streams: usize,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Wall-clock seconds from the first byte to the last object completed.
    pub duration_secs: f64,
    /// Decimal megabytes per second.
    pub mb_per_sec: f64,
    /// Multipart part size in effect.
    pub part_size: usize,
    /// Parts in flight per upload.
    pub max_inflight_parts: usize,
}

/// Uploads `total` bytes as `streams` concurrent objects under `<backup_id>/_probe/`, measures the
/// time until every object is complete, then deletes them.
pub async fn put_throughput(plan: &Plan, total: u64, streams: usize) -> Result<ProbeReport, StoreError> {
    let store = Store::open(&plan.storage).await?;
    let streams = streams.max(1);
    let per_stream = total.div_ceil(streams as u64);
    // One chunk of pseudo-random bytes, written repeatedly: incompressible to any store that compresses.
    let chunk = Bytes::from(noise(1 << 20, 0x9E37_79B9_7F4A_7C15));
    let keys: Vec<String> =
        (0..streams).map(|n| format!("{}/_probe/{}-{n}.bin", plan.backup_id, std::process::id())).collect();
    let started = Instant::now();
    let uploads = keys.iter().map(|key| upload(&store, key, per_stream, &chunk));
    let results = futures::future::join_all(uploads).await;
    let duration_secs = started.elapsed().as_secs_f64();
    for key in &keys {
        // Best effort: a leftover probe object is harmless and named as one.
        if let Err(e) = store.delete(key).await {
            tracing::warn!(key = %key, error = %e, "could not delete a probe object");
        }
    }
    let bytes = results.into_iter().collect::<Result<Vec<u64>, _>>()?.into_iter().sum();
    Ok(ProbeReport {
        store: store.describe(),
        objects: keys.len(),
        streams,
        bytes,
        duration_secs,
        mb_per_sec: mb_per_sec(bytes, duration_secs),
        part_size: plan.storage.part_size,
        max_inflight_parts: plan.storage.max_inflight_parts,
    })
}

async fn upload(store: &Store, key: &str, size: u64, chunk: &Bytes) -> Result<u64, StoreError> {
    let mut writer = store.writer(key).await?;
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        if let Err(e) = writer.write(&chunk[..n]).await {
            writer.abort().await;
            return Err(e);
        }
        left -= n as u64;
    }
    writer.finish().await
}

/// Seeded pseudo-random bytes: fast, deterministic, incompressible.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0; len];
    Xoshiro256PlusPlus::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_does_not_compress() {
        let data = noise(1 << 20, 7);
        let packed = zstd::bulk::compress(&data, 3).unwrap();
        assert!(packed.len() as f64 > data.len() as f64 * 0.99, "{} of {}", packed.len(), data.len());
    }

    #[tokio::test]
    async fn filesystem_probe_writes_measures_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = format!(
            "backup_id: p\nkafka: {{bootstrap_servers: 'localhost:9'}}\nstorage: {{type: filesystem, base_path: '{}'}}\n",
            dir.path().display()
        );
        let plan = crate::config::parse(&yaml, "test", |_| None).unwrap();
        let report = put_throughput(&plan, 3 << 20, 2).await.unwrap();
        assert_eq!((report.bytes, report.objects, report.streams), (3 << 20, 2, 2));
        assert!(report.mb_per_sec > 0.0);
        let store = Store::open(&plan.storage).await.unwrap();
        assert!(store.list("p/").await.unwrap().is_empty(), "probe objects are deleted");
    }
}
