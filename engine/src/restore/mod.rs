//! Restore: writes a backup into a target cluster, partition p → p, in offset order, with an
//! idempotent producer that keeps many batches in flight; partitions run in parallel, bounded.
//!
//! Before producing anything the backup's integrity is checked (unless skipped), so a damaged
//! backup is refused instead of half-restored. Each partition restores its resolved chain of
//! entries only ([`manifest::Chain`]): where several writers' entries overlap, every record is
//! produced once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::Plan;
use crate::fetch::FetchError;
use crate::kafka::{Admin, KafkaError, RestoreProducer};
use crate::manifest::{self, Layout, ManifestEntry, ManifestError};
use crate::progress::Progress;
use crate::store::{Store, StoreError};
use crate::summary::RunSummary;
use crate::verify;

mod partition;
mod target;

use partition::restore_partition;
use target::prepare_target;

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
pub(crate) struct Job {
    pub(crate) source: String,
    pub(crate) target: String,
    pub(crate) partition: i32,
    /// The partition's chain: each offset in one entry.
    pub(crate) entries: Vec<ManifestEntry>,
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
