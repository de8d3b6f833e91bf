//! Backup runs. Snapshot (default): every selected partition is read up to the end captured at
//! start, into segments that stream to storage, one owned task per partition bounded by a
//! semaphore. Continuous: every partition is followed until stopped, and new topics and
//! partitions join while running (module `continuous`).
//!
//! Durability order, per segment: blocks are uploaded → the object is completed (multipart
//! complete / fsync + rename) → only then its manifest entry, the checkpoint, is written.

mod continuous;
mod group;
mod groups;
mod partition;
mod roll;
mod topics;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{BackupMode, Coordination, Plan};
use crate::kafka::{Admin, KafkaError, Span, TopicInfo};
use crate::manifest::{self, BackupInfo, Gap, Layout, ManifestEntry, ManifestError};
use crate::progress::Progress;
use crate::segment::SegmentError;
use crate::store::{Store, StoreError};
use crate::summary::{PartitionSummary, RunSummary, latency_histogram, summarize_latency};
use hdrhistogram::Histogram;
use partition::PartitionTask;

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Kafka failed.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Metadata could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A block could not be compressed.
    #[error("{topic}/{partition}: {source}")]
    Segment {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Cause.
        source: SegmentError,
    },
    /// The topic selection matched nothing.
    #[error("no topic on the cluster matches kafka.topics ({detail}); topics there: {available}")]
    NoTopics {
        /// What was configured.
        detail: String,
        /// What exists.
        available: String,
    },
    /// Some partitions failed; the others finished and were checkpointed.
    #[error("{failed} of {total} partitions failed; first: {first}")]
    Partitions {
        /// Failed partitions.
        failed: usize,
        /// All partitions.
        total: usize,
        /// The first failure.
        first: Box<BackupError>,
    },
    /// The snapshot's consumer-group offsets could not be captured (`backup.consumer_groups`).
    #[error(transparent)]
    Groups(Box<crate::groups::GroupsError>),
    /// A continuous run was stopped, but some partitions did not flush and checkpoint their open
    /// segment within `--shutdown-timeout`. Nothing past their last checkpoint was recorded.
    #[error(
        "stop did not finish within {timeout:?}: {} partitions not flushed: {}; their records after the last checkpoint were not recorded (the next run reads them again)",
        unflushed.len(),
        unflushed.join(", ")
    )]
    ShutdownTimeout {
        /// The deadline.
        timeout: Duration,
        /// `topic/partition (checkpointed to N, read to M)` for each partition still flushing.
        unflushed: Vec<String>,
    },
}

/// What every partition task of a run shares.
#[derive(Clone)]
pub(crate) struct RunContext {
    pub plan: Arc<Plan>,
    pub store: Store,
    pub layout: Layout,
    pub progress: Arc<Progress>,
    pub latencies: Arc<Mutex<Histogram<u64>>>,
    /// Writer tag of this process in consumer-group mode; `None` standalone.
    pub writer: Option<Arc<str>>,
}

impl RunContext {
    fn task(&self, range: PartitionRange, cancel: CancellationToken) -> PartitionTask {
        PartitionTask {
            range,
            plan: self.plan.clone(),
            store: self.store.clone(),
            layout: self.layout.clone(),
            cancel,
            progress: self.progress.clone(),
            latencies: self.latencies.clone(),
            writer: self.writer.clone(),
        }
    }
}

/// Where one partition's run starts and must reach.
#[derive(Debug, Clone)]
pub(crate) struct PartitionRange {
    pub topic: String,
    pub partition: i32,
    pub span: Span,
}

/// Runs a backup: a snapshot by default, or continuous (`backup.mode`); standalone, or one member
/// of the backup's consumer group (`backup.coordination`). A cancelled run flushes and checkpoints
/// what it has read, then returns.
pub async fn run(plan: &Plan, cancel: CancellationToken, progress: Arc<Progress>) -> Result<RunSummary, BackupError> {
    let store = Store::open(&plan.storage).await?;
    let admin = Admin::connect(&plan.kafka)?;
    let topics = select_topics(plan, &admin).await?;
    let layout = Layout::new(&plan.backup_id);
    let group = plan.backup.coordination() == Coordination::Group;
    if !group {
        // In a group, other instances upload into this backup right now: uploads are cleaned per
        // partition as partitions are assigned instead.
        let stale = store.abort_stale_uploads(&layout.root()).await?;
        if stale > 0 {
            tracing::info!(count = stale, "removed unfinished uploads of an interrupted run");
        }
    }
    write_info(plan, &admin, &store, &layout, &topics).await?;
    let started = Instant::now();
    let ctx = RunContext {
        plan: Arc::new(plan.clone()),
        store,
        layout,
        progress,
        latencies: Arc::new(Mutex::new(latency_histogram())),
        writer: group.then(writer_tag),
    };
    let captures = groups::GroupCaptures::start(&ctx, &admin).await?;
    let outcome = run_partitions(plan, &ctx, admin, cancel, &topics).await;
    // Continuous mode: the last capture is taken after every segment is flushed, whatever the outcome.
    captures.stop().await;
    let (partitions, failures) = outcome?;
    let total = partitions.len() + failures.len();
    if let Some(first) = failures.into_iter().next() {
        let failed = total - partitions.len();
        return Err(BackupError::Partitions { failed, total, first: Box::new(first) });
    }
    let mut summary =
        RunSummary::from_partitions("backup", &plan.backup_id, partitions, started.elapsed().as_secs_f64());
    summary.checkpoint_latency_ms = summarize_latency(&ctx.latencies.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(summary)
}

/// Runs the partitions: through the group, or standalone as a snapshot or continuously.
async fn run_partitions(
    plan: &Plan,
    ctx: &RunContext,
    admin: Admin,
    cancel: CancellationToken,
    topics: &[TopicInfo],
) -> Result<(Vec<PartitionSummary>, Vec<BackupError>), BackupError> {
    if plan.backup.coordination() == Coordination::Group {
        return continuous::Supervisor::new(ctx.clone(), admin, cancel, topics).run_in_group(topics).await;
    }
    let existing = manifest::read_entries(&ctx.store, &ctx.layout).await?;
    let ranges = plan_ranges(plan, &admin, &ctx.store, &ctx.layout, topics, &existing).await?;
    for range in &ranges {
        ctx.progress.partition_planned(&range.topic, range.partition, range.span.start, range.span.boundary);
    }
    match plan.backup.mode {
        BackupMode::Snapshot => Ok(run_snapshot(ctx, ranges, cancel).await),
        BackupMode::Continuous => continuous::Supervisor::new(ctx.clone(), admin, cancel, topics).run(ranges).await,
    }
}

/// A tag unique to this process among the backup's writers: 8 hex digits of std's randomly
/// seeded hasher (its keys come from the OS), mixed with the process id and the clock.
fn writer_tag() -> Arc<str> {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_i64(manifest::now_ms());
    format!("{:08x}", hasher.finish() as u32).into()
}

/// Every partition to its boundary, at most `max_concurrent_partitions` at once.
async fn run_snapshot(
    ctx: &RunContext,
    ranges: Vec<PartitionRange>,
    cancel: CancellationToken,
) -> (Vec<PartitionSummary>, Vec<BackupError>) {
    let semaphore = Arc::new(Semaphore::new(ctx.plan.backup.max_concurrent_partitions));
    let tracker = TaskTracker::new();
    let handles: Vec<_> = ranges
        .into_iter()
        .map(|range| {
            let task = ctx.task(range, cancel.clone());
            let semaphore = semaphore.clone();
            tracker.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore is never closed");
                task.run().await
            })
        })
        .collect();
    tracker.close();
    let mut partitions = Vec::new();
    let mut failures = Vec::new();
    for handle in handles {
        match handle.await.expect("partition task panicked") {
            Ok(summary) => partitions.push(summary),
            Err(e) => failures.push(e),
        }
    }
    tracker.wait().await;
    (partitions, failures)
}

async fn select_topics(plan: &Plan, admin: &Admin) -> Result<Vec<TopicInfo>, BackupError> {
    let all = admin.topics().await?;
    let selected: Vec<TopicInfo> = all.iter().filter(|t| plan.kafka.topics.matches(&t.name)).cloned().collect();
    if selected.is_empty() {
        let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
        return Err(BackupError::NoTopics {
            detail: if plan.kafka.topics.is_empty() {
                "kafka.topics.include is empty: list the topics or regexes to back up".to_string()
            } else {
                "check kafka.topics.include and exclude".to_string()
            },
            available: if names.is_empty() { "(none)".to_string() } else { names.join(", ") },
        });
    }
    Ok(selected)
}

/// Rewrites `backup.json` and captures the topics' configs (`topics::capture_topic_configs`).
async fn write_info(
    plan: &Plan,
    admin: &Admin,
    store: &Store,
    layout: &Layout,
    topics: &[TopicInfo],
) -> Result<(), BackupError> {
    topics::capture_topic_configs(admin, store, layout, topics).await?;
    let now = manifest::now_ms();
    let previous = match manifest::read_info(store, layout, &plan.backup_id).await {
        Ok(info) => Some(info),
        Err(ManifestError::NoSuchBackup { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let mut all_topics: BTreeMap<String, i32> = previous.as_ref().map(|p| p.topics.clone()).unwrap_or_default();
    all_topics.extend(topics.iter().map(|t| (t.name.clone(), t.partitions)));
    let info = BackupInfo {
        format_version: manifest::FORMAT_VERSION,
        tool: manifest::tool_version(),
        backup_id: plan.backup_id.clone(),
        created_at_ms: previous.map_or(now, |p| p.created_at_ms),
        updated_at_ms: now,
        topics: all_topics,
        codec: plan.backup.compression.to_string(),
        segment_max_bytes: plan.backup.segment_max_bytes,
    };
    let body = serde_json::to_vec_pretty(&info).expect("BackupInfo serializes");
    store.put(&layout.info_key(), body.into()).await?;
    Ok(())
}

/// Resume points, gaps and boundaries for every partition; gaps are recorded before any reading.
async fn plan_ranges(
    plan: &Plan,
    admin: &Admin,
    store: &Store,
    layout: &Layout,
    topics: &[TopicInfo],
    existing: &BTreeMap<(String, i32), Vec<ManifestEntry>>,
) -> Result<Vec<PartitionRange>, BackupError> {
    let mut ranges = Vec::new();
    for topic in topics {
        for partition in 0..topic.partitions {
            ranges.push(plan_range(plan, admin, store, layout, &topic.name, partition, existing).await?);
        }
    }
    Ok(ranges)
}

/// One partition's resume point, gap and boundary.
async fn plan_range(
    plan: &Plan,
    admin: &Admin,
    store: &Store,
    layout: &Layout,
    topic: &str,
    partition: i32,
    existing: &BTreeMap<(String, i32), Vec<ManifestEntry>>,
) -> Result<PartitionRange, BackupError> {
    let (low, high) = admin.watermarks(topic, partition).await?;
    let resume = existing.get(&(topic.to_string(), partition)).and_then(|e| manifest::resume_offset(e));
    let start = match resume {
        Some(next) if next < low => {
            record_gap(store, layout, topic, partition, next, low).await?;
            low
        }
        Some(next) => next,
        None => low,
    };
    let fetch_from = if plan.backup.resume_rescan { low } else { start };
    let span = Span { fetch_from, start, boundary: high };
    Ok(PartitionRange { topic: topic.to_string(), partition, span })
}

async fn record_gap(
    store: &Store,
    layout: &Layout,
    topic: &str,
    partition: i32,
    from: i64,
    to: i64,
) -> Result<(), BackupError> {
    tracing::warn!(topic, partition, from, to, "retention removed offsets before they were backed up; recording a gap");
    let entry = ManifestEntry {
        topic: topic.to_string(),
        partition,
        start_offset: from,
        next_offset: to,
        segment: None,
        gap: Some(Gap { from, to }),
        written_at_ms: manifest::now_ms(),
        tool: manifest::tool_version(),
    };
    let body = serde_json::to_vec_pretty(&entry).expect("ManifestEntry serializes");
    store.put(&layout.entry_key(topic, partition, from), body.into()).await?;
    Ok(())
}
