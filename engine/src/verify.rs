//! Verification: `integrity` re-reads every segment and checks checksums, index and manifest;
//! `against` compares the backup record by record with a live topic. Both read each partition's
//! resolved [`Chain`]: redundant entries (offsets another writer's entries also hold) are checked
//! and reported, never counted or compared twice.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Plan;
use crate::fetch::{self, FetchError};
use crate::kafka::{Admin, KafkaError, Span, read_partition, to_record};
use crate::manifest::{Chain, Listed, ManifestEntry};
use crate::segment::Record;
use crate::store::Store;

mod integrity;

pub use integrity::{EntryRef, IntegrityReport, Problem, Scope, integrity};

/// Where the backup and the live topic first differ.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Difference {
    /// Position in the partition (0 = first record).
    pub index: u64,
    /// Offset of the record in the backup, if it has one there.
    pub backup_offset: Option<i64>,
    /// Offset of the record in the live topic, if it has one there.
    pub live_offset: Option<i64>,
    /// `key`, `value`, `headers`, `timestamp` or `missing`.
    pub field: String,
}

/// Comparison of one partition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartitionComparison {
    /// Partition.
    pub partition: i32,
    /// Records in the backup.
    pub backup_records: u64,
    /// Records in the live topic.
    pub live_records: u64,
    /// Order-sensitive CRC32C digest of key, value, headers and timestamp of the backup's records.
    pub backup_digest: String,
    /// The same digest over the live records.
    pub live_digest: String,
    /// First difference, if any.
    pub first_difference: Option<Difference>,
}

/// Result of `verify --against`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// Topic in the backup.
    pub backup_topic: String,
    /// Live topic compared with it.
    pub live_topic: String,
    /// Per partition.
    pub partitions: Vec<PartitionComparison>,
    /// True when every partition is equal.
    pub equal: bool,
}

/// Why `verify --against` could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// Kafka failed.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// A segment could not be read.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The live topic does not exist.
    #[error("live topic '{0}' does not exist")]
    NoLiveTopic(String),
}

/// The order-sensitive digest: CRC32C chained over every compared field of every record.
fn digest(crc: u32, r: &Record) -> u32 {
    let opt = |crc: u32, b: &Option<Vec<u8>>| match b {
        None => crc32c::crc32c_append(crc, &[0]),
        Some(v) => crc32c::crc32c_append(crc32c::crc32c_append(crc, &(v.len() as u64 + 1).to_le_bytes()), v),
    };
    let mut crc = crc32c::crc32c_append(crc, &r.timestamp.to_le_bytes());
    crc = opt(opt(crc, &r.key), &r.value);
    for h in &r.headers {
        crc = crc32c::crc32c_append(crc, &(h.key.len() as u64).to_le_bytes());
        crc = opt(crc32c::crc32c_append(crc, h.key.as_bytes()), &h.value);
    }
    crc
}

fn differing_field(a: &Record, b: &Record) -> Option<&'static str> {
    if a.key != b.key {
        Some("key")
    } else if a.value != b.value {
        Some("value")
    } else if a.headers != b.headers {
        Some("headers")
    } else if a.timestamp != b.timestamp {
        Some("timestamp")
    } else {
        None
    }
}

/// Compares `backup_topic` in the backup (each partition's chain) with `live_topic` on the
/// cluster, partition by partition.
pub async fn against(
    plan: &Plan,
    store: &Store,
    chains: &BTreeMap<(String, i32), Chain<Listed>>,
    partitions: i32,
    backup_topic: &str,
    live_topic: &str,
) -> Result<Comparison, CompareError> {
    let admin = Admin::connect(&plan.kafka)?;
    let live = admin.topic(live_topic).await?.ok_or_else(|| CompareError::NoLiveTopic(live_topic.to_string()))?;
    // Partitions are compared concurrently; each holds at most a few batches on either side.
    let comparisons = (0..partitions.max(live.partitions)).map(|partition| {
        let list: Vec<ManifestEntry> = chains
            .get(&(backup_topic.to_string(), partition))
            .map(|c| c.used.iter().map(|l| l.entry.clone()).collect())
            .unwrap_or_default();
        let has_live = partition < live.partitions;
        let admin = &admin;
        async move { compare_partition(plan, admin, store, &list, live_topic, partition, has_live).await }
    });
    let results = futures::future::try_join_all(comparisons).await?;
    let equal = results.iter().all(|p| p.first_difference.is_none());
    Ok(Comparison {
        backup_topic: backup_topic.to_string(),
        live_topic: live_topic.to_string(),
        partitions: results,
        equal,
    })
}

#[allow(clippy::too_many_arguments)]
async fn compare_partition(
    plan: &Plan,
    admin: &Admin,
    store: &Store,
    entries: &[ManifestEntry],
    live_topic: &str,
    partition: i32,
    has_live: bool,
) -> Result<PartitionComparison, CompareError> {
    let (tx, mut live_rx) = mpsc::channel::<Vec<Record>>(8);
    let reader = if has_live {
        let (low, high) = admin.watermarks(live_topic, partition).await?;
        let (kafka, topic) = (plan.kafka.clone(), live_topic.to_string());
        Some(tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(1024);
            let end = read_partition(
                &kafka,
                &topic,
                partition,
                Span { fetch_from: low, start: low, boundary: high },
                &CancellationToken::new(),
                |m| {
                    batch.push(to_record(m));
                    if batch.len() == 1024 && tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                },
            );
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
            end
        }))
    } else {
        drop(tx);
        None
    };
    let mut cmp = Comparer::new(partition);
    let mut live_buf: std::collections::VecDeque<Record> = Default::default();
    for entry in entries {
        let Some(segment) = &entry.segment else { continue };
        let index = Arc::new(fetch::read_index(store, &segment.key, segment.summary.stored_bytes).await?);
        for run in fetch::block_runs(&index.blocks) {
            let records = fetch::read_run(store, &index, run).await?;
            for record in records {
                if live_buf.is_empty()
                    && let Some(batch) = live_rx.recv().await
                {
                    live_buf.extend(batch);
                }
                cmp.step(Some(&record), live_buf.pop_front().as_ref());
            }
        }
    }
    while let Some(record) = live_buf.pop_front() {
        cmp.step(None, Some(&record));
    }
    while let Some(batch) = live_rx.recv().await {
        for record in &batch {
            cmp.step(None, Some(record));
        }
    }
    if let Some(reader) = reader {
        reader.await.expect("live reader panicked")?;
    }
    Ok(cmp.finish())
}

/// Walks both sides in lockstep, keeping counts, digests and the first difference.
struct Comparer {
    result: PartitionComparison,
    backup_crc: u32,
    live_crc: u32,
    position: u64,
}

impl Comparer {
    fn new(partition: i32) -> Self {
        let result = PartitionComparison {
            partition,
            backup_records: 0,
            live_records: 0,
            backup_digest: String::new(),
            live_digest: String::new(),
            first_difference: None,
        };
        Self { result, backup_crc: 0, live_crc: 0, position: 0 }
    }

    fn step(&mut self, backup: Option<&Record>, live: Option<&Record>) {
        if let Some(b) = backup {
            self.result.backup_records += 1;
            self.backup_crc = digest(self.backup_crc, b);
        }
        if let Some(l) = live {
            self.result.live_records += 1;
            self.live_crc = digest(self.live_crc, l);
        }
        let field = match (backup, live) {
            (Some(b), Some(l)) => differing_field(b, l),
            _ => Some("missing"),
        };
        if let (Some(field), None) = (field, &self.result.first_difference) {
            self.result.first_difference = Some(Difference {
                index: self.position,
                backup_offset: backup.map(|r| r.offset),
                live_offset: live.map(|r| r.offset),
                field: field.to_string(),
            });
        }
        self.position += 1;
    }

    fn finish(mut self) -> PartitionComparison {
        self.result.backup_digest = format!("{:08x}", self.backup_crc);
        self.result.live_digest = format!("{:08x}", self.live_crc);
        self.result
    }
}
