//! Restore: writes a backup into a target cluster, partition p → p, in offset order, with an
//! idempotent producer that keeps many batches in flight; partitions run in parallel, bounded.
//!
//! Before producing anything the backup's integrity is checked (unless skipped), so a damaged
//! backup is refused instead of half-restored. Each partition restores its resolved chain of
//! entries only ([`manifest::Chain`]): where several writers' entries overlap, every record is
//! produced once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::Plan;
use crate::fetch::{self, FetchError};
use crate::kafka::{Admin, KafkaError, RestoreProducer};
use crate::manifest::{self, Layout, ManifestEntry, ManifestError};
use crate::progress::Progress;
use crate::segment::Record;
use crate::store::{Store, StoreError};
use crate::summary::{PartitionSummary, RunSummary, mb_per_sec};
use crate::verify;

/// Why a restore failed or was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// Kafka failed.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Metadata could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A segment could not be read.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The pre-flight integrity check found damage.
    #[error("refusing to restore: the backup failed its integrity check:\n{0}")]
    Damaged(String),
    /// A target topic already holds records.
    #[error(
        "target topic '{topic}' is not empty (partition {partition} holds offsets {low}..{high}); restore into a new topic (restore.topic_mapping) or set restore.allow_non_empty: true"
    )]
    NotEmpty {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Low watermark.
        low: i64,
        /// High watermark.
        high: i64,
    },
    /// A target topic is missing and may not be created, or has too few partitions.
    #[error("target topic '{topic}': {reason}")]
    Target {
        /// Topic.
        topic: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The restore was interrupted.
    #[error("restore interrupted; target topics hold a prefix of the backup — delete them and run again")]
    Cancelled,
}

impl RestoreError {
    /// The `kind` label of `kafka_restore_errors_total` for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            RestoreError::Kafka(_) | RestoreError::NotEmpty { .. } | RestoreError::Target { .. } => "kafka",
            RestoreError::Store(_) => "store",
            RestoreError::Manifest(_) => "manifest",
            RestoreError::Fetch(_) => "segment",
            RestoreError::Damaged(_) => "integrity",
            RestoreError::Cancelled => "shutdown",
        }
    }
}

/// One partition to restore.
struct Job {
    source: String,
    target: String,
    partition: i32,
    /// The partition's chain: each offset in one entry.
    entries: Vec<ManifestEntry>,
}

/// Restores the backup named in the plan; an error is counted in `progress` by its kind.
pub async fn run(
    plan: &Plan,
    cancel: CancellationToken,
    progress: Arc<Progress>,
    skip_integrity_check: bool,
) -> Result<RunSummary, RestoreError> {
    let result = restore(plan, cancel, progress.clone(), skip_integrity_check).await;
    if let Err(e) = &result {
        progress.error_seen(e.kind());
    }
    result
}

async fn restore(
    plan: &Plan,
    cancel: CancellationToken,
    progress: Arc<Progress>,
    skip_integrity_check: bool,
) -> Result<RunSummary, RestoreError> {
    let store = Store::open(&plan.storage).await?;
    let layout = Layout::new(&plan.backup_id);
    let info = manifest::read_info(&store, &layout, &plan.backup_id).await?;
    let chains = manifest::read_chains(&store, &layout).await?;
    if !skip_integrity_check {
        let report = verify::integrity(&store, &layout, &chains, verify::Scope::Chain).await?;
        if !report.problems.is_empty() {
            return Err(RestoreError::Damaged(report.problem_lines()));
        }
    }
    let admin = Admin::connect(&plan.kafka)?;
    let mut jobs = Vec::new();
    for (topic, &partitions) in &info.topics {
        if !plan.restore.topics.is_empty() && !plan.restore.topics.matches(topic) {
            continue;
        }
        let target = plan.restore.topic_mapping.get(topic).cloned().unwrap_or_else(|| topic.clone());
        prepare_target(plan, &admin, &target, partitions).await?;
        for partition in 0..partitions {
            let list: Vec<ManifestEntry> = chains
                .get(&(topic.clone(), partition))
                .map(|c| c.used.iter().map(|l| l.entry.clone()).collect())
                .unwrap_or_default();
            progress.expect(list.iter().filter_map(|e| e.segment.as_ref()).map(|s| s.summary.record_count).sum());
            jobs.push(Job { source: topic.clone(), target: target.clone(), partition, entries: list });
        }
    }
    let producer = Arc::new(RestoreProducer::new(&plan.kafka, &plan.restore)?);
    let started = Instant::now();
    let semaphore = Arc::new(Semaphore::new(plan.restore.max_concurrent_partitions));
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let (store, producer, progress, cancel, semaphore) =
                (store.clone(), producer.clone(), progress.clone(), cancel.clone(), semaphore.clone());
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore is never closed");
                restore_partition(&store, &producer, job, &progress, &cancel).await
            })
        })
        .collect();
    let mut partitions = Vec::new();
    let mut first_error = None;
    for task in tasks {
        match task.await.expect("restore task panicked") {
            Ok(summary) => partitions.push(summary),
            Err(e) => {
                cancel.cancel();
                first_error.get_or_insert(e);
            }
        }
    }
    let flush = {
        let producer = producer.clone();
        tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(300))).await.expect("flush panicked")
    };
    if let Some(e) = first_error {
        return Err(e);
    }
    flush?;
    let expected: u64 = partitions.iter().map(|p| p.records).sum();
    if producer.delivered() != expected {
        return Err(RestoreError::Kafka(KafkaError::Produce {
            topic: String::new(),
            partition: -1,
            reason: format!("{expected} records sent but {} acknowledged", producer.delivered()),
        }));
    }
    Ok(RunSummary::from_partitions("restore", &plan.backup_id, partitions, started.elapsed().as_secs_f64()))
}

async fn prepare_target(plan: &Plan, admin: &Admin, target: &str, partitions: i32) -> Result<(), RestoreError> {
    match admin.topic(target).await? {
        None if plan.restore.create_topics => {
            tracing::info!(topic = target, partitions, "creating target topic");
            admin.create_topic(target, partitions, plan.restore.replication_factor).await?;
        }
        None => {
            return Err(RestoreError::Target {
                topic: target.to_string(),
                reason: "does not exist and restore.create_topics is false".into(),
            });
        }
        Some(existing) if existing.partitions < partitions => {
            return Err(RestoreError::Target {
                topic: target.to_string(),
                reason: format!(
                    "has {} partitions, the backup needs {partitions} (partition p is restored to p)",
                    existing.partitions
                ),
            });
        }
        Some(_) if !plan.restore.allow_non_empty => {
            for partition in 0..partitions {
                let (low, high) = admin.watermarks(target, partition).await?;
                if high > low {
                    return Err(RestoreError::NotEmpty { topic: target.to_string(), partition, low, high });
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}

/// Reads the partition's segments in order and hands their records to a producer thread.
async fn restore_partition(
    store: &Store,
    producer: &Arc<RestoreProducer>,
    job: Job,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<PartitionSummary, RestoreError> {
    let started = Instant::now();
    let mut summary = PartitionSummary { topic: job.target.clone(), partition: job.partition, ..Default::default() };
    // Two decoded runs in the queue keep the producer busy while the next one is fetched.
    let (tx, mut rx) = mpsc::channel::<Vec<Record>>(2);
    let sender = {
        let (producer, target, partition) = (producer.clone(), job.target.clone(), job.partition);
        tokio::task::spawn_blocking(move || {
            while let Some(batch) = rx.blocking_recv() {
                for record in &batch {
                    producer.send(&target, partition, record)?;
                }
            }
            Ok::<_, KafkaError>(())
        })
    };
    let read = read_segments(store, &job, tx, &mut summary, progress, cancel).await;
    let sent = sender.await.expect("producer thread panicked");
    read?;
    sent?;
    tracing::info!(source = %job.source, target = %job.target, partition = job.partition, records = summary.records, "partition restored");
    summary.duration_secs = started.elapsed().as_secs_f64();
    summary.mb_per_sec = mb_per_sec(summary.source_bytes, summary.duration_secs);
    Ok(summary)
}

async fn read_segments(
    store: &Store,
    job: &Job,
    tx: mpsc::Sender<Vec<Record>>,
    summary: &mut PartitionSummary,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<(), RestoreError> {
    for entry in &job.entries {
        let Some(segment) = &entry.segment else { continue };
        let index = Arc::new(fetch::read_index(store, &segment.key, segment.summary.stored_bytes).await?);
        for run in fetch::block_runs(&index.blocks) {
            if cancel.is_cancelled() {
                return Err(RestoreError::Cancelled);
            }
            let bytes = fetch::fetch_run(store, &index, run.clone()).await?;
            let shared = index.clone();
            let records = tokio::task::spawn_blocking(move || fetch::decode_run(&shared, run, &bytes))
                .await
                .expect("decode task panicked")?;
            let source_bytes: u64 = records.iter().map(Record::source_bytes).sum();
            summary.records += records.len() as u64;
            summary.source_bytes += source_bytes;
            progress.add(records.len() as u64, source_bytes);
            if tx.send(records).await.is_err() {
                // The producer thread stopped; its error is reported by the caller.
                return Ok(());
            }
        }
        summary.stored_bytes += segment.summary.stored_bytes;
        summary.uncompressed_bytes += segment.summary.uncompressed_bytes;
        summary.segments += 1;
        summary.next_offset = entry.next_offset;
    }
    Ok(())
}
