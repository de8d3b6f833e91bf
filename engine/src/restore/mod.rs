//! Restore: writes a backup into a target cluster, partition p → p, in offset order, with an
//! idempotent producer that keeps many batches in flight; partitions run in parallel, bounded.
//!
//! Before producing anything the backup's structure is checked cheaply (chains, headers, footers,
//! indexes: no block is read twice), so a damaged backup is refused instead of half-restored; each
//! block's checksum is verified as it is restored. Each partition restores its resolved chain of
//! entries only ([`manifest::Chain`]): where several writers' entries overlap, every record is
//! produced once. A restore that is killed resumes where the target stands ([`resume`]).
//!
//! Missing target topics are created with the backed-up topic's configs (`topics`, `target`);
//! with `restore.repartition: by-key` each topic is read by one reader that spreads its records
//! by key over the target's partitions (`repartition`) instead of p → p.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::{Plan, Repartition};
use crate::fetch::FetchError;
use crate::kafka::{Admin, GroupAdmin, KafkaError, RestoreProducer};
use crate::manifest::{self, BackupInfo, Chain, Layout, Listed, ManifestEntry, ManifestError};

/// Every partition's resolved chain, as [`manifest::read_chains`] returns it.
type Chains = std::collections::BTreeMap<(String, i32), Chain<Listed>>;
use crate::progress::Progress;
use crate::store::{Store, StoreError};
use crate::summary::{PartitionSummary, RunSummary};
use crate::verify;

mod check;
mod groups;
mod offsets;
mod partition;
mod plan;
mod repartition;
pub mod resume;
mod select;
mod target;
mod topics;

pub use offsets::{SourceOffset, TranslatedOffset};
pub use plan::{OffsetsPlan, plan_offsets};

use check::Indexes;
use groups::GroupTranslation;
use offsets::StreamObserver;
use partition::restore_partition;
use select::PartitionSelection;

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
    /// A block failed its checks while being restored.
    #[error(
        "segment '{key}' of {topic}/{partition} is damaged{}: {reason}; the target holds every record before it — run `kbackup verify --integrity` to list the damage, then rerun the restore to resume",
        offsets.map(|(first, last)| format!(" in offsets {first}..={last}")).unwrap_or_default()
    )]
    BadBlock {
        /// Segment object.
        key: String,
        /// Source topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// First and last offset of the damaged block, when the block is known.
        offsets: Option<(i64, i64)>,
        /// What is wrong.
        reason: String,
    },
    /// The target partition holds more of this restore's stream than the backup has.
    #[error(
        "target topic '{topic}' partition {partition} holds {extra} records more than this restore produces since it began at offset {start}; another producer wrote to it — restore into a new topic (restore.topic_mapping)"
    )]
    Overrun {
        /// Target topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Where the restore's stream began.
        start: i64,
        /// Records beyond the stream.
        extra: u64,
    },
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
    /// A consumer-group capture could not be read.
    #[error(transparent)]
    Capture(#[from] crate::groups::GroupsError),
    /// Consumer-group offsets cannot be translated or committed as configured.
    #[error("consumer-group offsets: {reason}")]
    Groups {
        /// What is wrong and what to do.
        reason: String,
    },
    /// The restore was interrupted.
    #[error(
        "restore interrupted; the target topics hold a prefix of the backup — run the same command again to resume"
    )]
    Cancelled,
}

impl RestoreError {
    /// The `kind` label of `kafka_restore_errors_total` for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            RestoreError::Kafka(_)
            | RestoreError::NotEmpty { .. }
            | RestoreError::Target { .. }
            | RestoreError::Overrun { .. }
            | RestoreError::Groups { .. } => "kafka",
            RestoreError::Capture(_) => "manifest",
            RestoreError::Store(_) => "store",
            RestoreError::Manifest(_) => "manifest",
            RestoreError::Fetch(_) | RestoreError::BadBlock { .. } => "segment",
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
    /// Target offset where the partition's stream began.
    pub(crate) start: i64,
    /// Records at the start of the partition's stream that the target holds already.
    pub(crate) skip: u64,
    /// Segment indexes the pre-flight check read, so they are not read twice.
    pub(crate) indexes: Arc<Indexes>,
    /// Translates consumer-group offsets into the target partition's stream, if any group
    /// committed; it has seen the `skip` records already delivered.
    pub(crate) observer: Option<StreamObserver>,
    /// The records of the partition this restore takes (`restore.time_window`, `restore.offsets`).
    pub(crate) selection: PartitionSelection,
}

/// What a restore checks before it produces anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreCheck {
    /// Chains, headers, footers and indexes; each block's CRC is checked as it is restored, so a
    /// damaged block stops the restore midway (resumable once repaired or skipped).
    #[default]
    Structure,
    /// Every block of every chain segment read and checked first (the backup is read twice): a
    /// damaged backup produces nothing at all.
    Full,
    /// Nothing up front; blocks are still checked as they are restored.
    Skip,
}

/// Restores the backup named in the plan; an error is counted in `progress` by its kind.
pub async fn run(
    plan: &Plan,
    cancel: CancellationToken,
    progress: Arc<Progress>,
    check: PreCheck,
) -> Result<RunSummary, RestoreError> {
    let result = restore(plan, cancel, progress.clone(), check).await;
    if let Err(e) = &result {
        progress.error_seen(e.kind());
    }
    result
}

async fn restore(
    plan: &Plan,
    cancel: CancellationToken,
    progress: Arc<Progress>,
    check: PreCheck,
) -> Result<RunSummary, RestoreError> {
    let store = Store::open(&plan.storage).await?;
    let layout = Layout::new(&plan.backup_id);
    let info = manifest::read_info(&store, &layout, &plan.backup_id).await?;
    let chains = manifest::read_chains(&store, &layout).await?;
    let selected = selected_topics(plan, &info);
    topics::check_ranges(&plan.restore.selection, &selected)?;
    let is_selected = |topic: &str| selected.iter().any(|(t, _)| t == topic);
    let indexes = match check {
        PreCheck::Skip => Indexes::default(),
        PreCheck::Structure => check::preflight(&store, &layout, &chains, is_selected, &plan.restore.selection).await?,
        PreCheck::Full => {
            let chosen = chains.iter().filter(|((topic, _), _)| is_selected(topic));
            let chosen = chosen.map(|(k, v)| (k.clone(), v.clone())).collect();
            let report = verify::integrity(&store, &layout, &chosen, verify::Scope::Chain).await?;
            if !report.problems.is_empty() {
                return Err(RestoreError::Damaged(report.problem_lines()));
            }
            Indexes::default()
        }
    };
    let indexes = Arc::new(indexes);
    let admin = Admin::connect(&plan.kafka)?;
    let group_admin = GroupAdmin::connect(&plan.kafka)?;
    let mut translation = GroupTranslation::load(plan, &store, &layout).await?;
    translation.check_target(plan, &group_admin).await?;
    topics::check_partition_keys(&plan.restore.topic_setup, selected.iter().map(|(t, _)| t))?;
    let by_key = plan.restore.topic_setup.repartition == Repartition::ByKey;
    if by_key && plan.restore.consumer_groups.enabled() {
        // The translation observes p → p streams; by key it would need every placement
        // (`repartition::Placement`), which is not wired yet.
        let topics: Vec<&str> = selected.iter().map(|(t, _)| t.as_str()).collect();
        return Err(RestoreError::Target {
            topic: topics.join(", "),
            reason: "restore.repartition: by-key does not translate consumer-group offsets yet: leave restore.consumer_groups unset, or restore the groups with a p → p restore".into(),
        });
    }
    let mut jobs = Vec::new();
    let mut topic_jobs = Vec::new();
    let mut backup_stored_bytes = 0;
    let mut targets = Vec::new();
    let mut runs = Vec::new();
    for (topic, partitions) in &selected {
        let target = target_of(plan, topic);
        let run = target::begin(plan, &store, &layout, &admin, topic, &target, *partitions).await?;
        targets.push(target.clone());
        for partition in 0..*partitions {
            let entries = chain_entries(&chains, topic, partition);
            // By key, `run.resume` is per target partition: the topic's reader applies it.
            let resume =
                if by_key { Default::default() } else { run.resume.get(&partition).copied().unwrap_or_default() };
            let (start, skip) = (resume.start, resume.skip);
            let selection = PartitionSelection::of(&plan.restore.selection, topic, partition);
            progress.expect(selection.expected_records(&entries, &indexes).saturating_sub(skip));
            backup_stored_bytes +=
                entries.iter().filter_map(|e| e.segment.as_ref()).map(|s| s.summary.stored_bytes).sum::<u64>();
            let feeds = [(topic.clone(), partition)];
            let observer =
                translation.observer(&store, start, (&target, partition), &feeds, (&entries, selection), skip).await?;
            let (source, target, indexes) = (topic.clone(), target.clone(), indexes.clone());
            jobs.push(Job { source, target, partition, entries, start, skip, indexes, observer, selection });
        }
        if by_key {
            let sources: Vec<Job> = jobs.drain(jobs.len() - *partitions as usize..).collect();
            topic_jobs.push(repartition::TopicJob::new(sources, run.written, &run.resume));
        }
        runs.push(run);
    }
    let log_append_time = target::log_append_time(&admin, &targets).await;
    let producer = Arc::new(RestoreProducer::new(&plan.kafka, &plan.restore)?);
    let started = Instant::now();
    let partitions = produce_all(plan, &store, &producer, (jobs, topic_jobs), &progress, &cancel).await?;
    let expected: u64 = partitions.iter().map(|p| p.records).sum();
    if producer.delivered() != expected {
        return Err(RestoreError::Kafka(KafkaError::Produce {
            topic: String::new(),
            partition: -1,
            reason: format!("{expected} records sent but {} acknowledged", producer.delivered()),
        }));
    }
    for run in runs {
        run.complete(&store).await?;
    }
    let mut summary =
        RunSummary::from_partitions("restore", &plan.backup_id, partitions, started.elapsed().as_secs_f64());
    summary.consumer_groups = translation.commit(&group_admin).await?;
    summary.storage_bytes_read = store.bytes_read();
    summary.log_append_time_topics = log_append_time;
    summary.backup_stored_bytes = backup_stored_bytes;
    Ok(summary)
}

/// The backup's topics this restore selects (`restore.topics`; none listed: all), with their
/// partition counts.
pub(crate) fn selected_topics(plan: &Plan, info: &BackupInfo) -> Vec<(String, i32)> {
    let restore = &plan.restore;
    let chosen = |topic: &String| restore.topics.is_empty() || restore.topics.matches(topic);
    info.topics.iter().filter(|(topic, _)| chosen(topic)).map(|(topic, &n)| (topic.clone(), n)).collect()
}

/// The topic `source` is restored into (`restore.topic_mapping`, else the same name).
pub(crate) fn target_of(plan: &Plan, source: &str) -> String {
    plan.restore.topic_mapping.get(source).cloned().unwrap_or_else(|| source.to_string())
}

/// A partition's resolved chain, in offset order: what a restore streams.
pub(crate) fn chain_entries(chains: &Chains, topic: &str, partition: i32) -> Vec<ManifestEntry> {
    let chain = chains.get(&(topic.to_string(), partition));
    chain.map(|c| c.used.iter().map(|l| l.entry.clone()).collect()).unwrap_or_default()
}

/// Runs every partition's job, bounded by `restore.max_concurrent_partitions`, then flushes the
/// producer; the first error cancels the rest.
async fn produce_all(
    plan: &Plan,
    store: &Store,
    producer: &Arc<RestoreProducer>,
    (jobs, topic_jobs): (Vec<Job>, Vec<repartition::TopicJob>),
    progress: &Arc<Progress>,
    cancel: &CancellationToken,
) -> Result<Vec<PartitionSummary>, RestoreError> {
    let semaphore = Arc::new(Semaphore::new(plan.restore.max_concurrent_partitions));
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let (store, producer, progress, cancel, semaphore) =
                (store.clone(), producer.clone(), progress.clone(), cancel.clone(), semaphore.clone());
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore is never closed");
                restore_partition(&store, &producer, job, &progress, &cancel).await.map(|s| vec![s])
            })
        })
        .chain(topic_jobs.into_iter().map(|job| {
            let (store, producer, progress, cancel, semaphore) =
                (store.clone(), producer.clone(), progress.clone(), cancel.clone(), semaphore.clone());
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore is never closed");
                repartition::restore_topic(store, &producer, job, &progress, &cancel, |_| {}).await
            })
        }))
        .collect();
    let mut partitions = Vec::new();
    let mut first_error = None;
    for task in tasks {
        match task.await.expect("restore task panicked") {
            Ok(summaries) => partitions.extend(summaries),
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
    Ok(partitions)
}
