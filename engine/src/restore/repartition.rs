//! Restore with `restore.repartition: by-key`: each source topic is read by one reader that
//! takes block runs from its partitions in turn (partition 0, 1, …, then 0 again; a finished
//! partition drops out) and routes every record to its target partition: keyed records where the
//! Java client's default partitioner puts them (murmur2), null keys round-robin.
//!
//! Everything is deterministic: for a given backup, each target partition receives the same
//! sequence of records (its *stream*) on every run, record `i` of it landing at the target offset
//! `start + i` (`start`: the partition's high watermark when the restore began). Resumable restore
//! and offsets translation rely on that; [`Placement`] is what they observe per record. A key's
//! records keep their order: they come from one source partition in offset order, are routed by
//! one reader and produced by one thread through an idempotent producer.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures::TryStreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::check::{self, Indexes};
use super::partition::{append_time, bad_block};
use super::resume::Resume;
use super::select::{Coverage, PartitionSelection};
use super::{Job, RestoreError};
use crate::fetch::{self, SegmentIndex};
use crate::kafka::{Deliveries, KafkaError, RestoreProducer, partition_for_key};
use crate::manifest::ManifestEntry;
use crate::progress::Progress;
use crate::segment::Record;
use crate::store::Store;
use crate::summary::{PartitionSummary, mb_per_sec};

/// Block runs fetched ahead of the router (each at most `fetch::RANGE_BYTES`).
const READ_AHEAD: usize = 4;

/// Where one restored record goes: what offsets translation needs to map a source offset to the
/// target offset `start(target_partition) + position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Partition of the backed-up (source) topic.
    pub source_partition: i32,
    /// The record's offset in the source partition.
    pub source_offset: i64,
    /// Partition of the target topic.
    pub target_partition: i32,
    /// Index of the record in the target partition's stream (0-based).
    pub position: u64,
}

/// The target partition of a record: murmur2 of a key as the Java client's default partitioner
/// does, or round-robin for a null key, where `null_index` counts the null-key records before this
/// one in the topic's read order.
pub(crate) fn target_partition(key: Option<&[u8]>, null_index: u64, partitions: i32) -> i32 {
    match key {
        Some(key) => partition_for_key(key, partitions),
        None => (null_index % partitions.max(1) as u64) as i32,
    }
}

/// Places a topic's records, in read order, on target partitions.
pub(crate) struct Router {
    partitions: i32,
    nulls: u64,
    positions: Vec<u64>,
}

impl Router {
    /// A router onto a target of `partitions` partitions (≥ 1).
    pub(crate) fn new(partitions: i32) -> Self {
        Self { partitions, nulls: 0, positions: vec![0; partitions.max(1) as usize] }
    }

    /// The placement of the next record read (from `source_partition`).
    pub(crate) fn place(&mut self, source_partition: i32, record: &Record) -> Placement {
        let target = target_partition(record.key.as_deref(), self.nulls, self.partitions);
        if record.key.is_none() {
            self.nulls += 1;
        }
        let position = &mut self.positions[target as usize];
        let placement =
            Placement { source_partition, source_offset: record.offset, target_partition: target, position: *position };
        *position += 1;
        placement
    }
}

/// One source topic restored by key.
pub(crate) struct TopicJob {
    source: String,
    target: String,
    /// Partitions of the target topic.
    partitions: i32,
    /// The source partitions' chains and what the restore takes of them, by partition.
    sources: Vec<(i32, Vec<ManifestEntry>, PartitionSelection)>,
    /// Per target partition, the records at the start of its stream the target holds already
    /// (an earlier, interrupted run delivered them): routed and observed, not produced again.
    skip: Vec<u64>,
    /// Segment indexes the pre-flight check read.
    indexes: Arc<Indexes>,
}

impl TopicJob {
    /// The topic of the p → p `jobs` (one per source partition), onto `partitions` target
    /// partitions whose streams resume as `resume` says.
    pub(crate) fn new(jobs: Vec<Job>, partitions: i32, resume: &BTreeMap<i32, Resume>) -> Self {
        let first = jobs.first().expect("a topic has at least one partition");
        let (source, target, indexes) = (first.source.clone(), first.target.clone(), first.indexes.clone());
        let mut sources: Vec<(i32, Vec<ManifestEntry>, PartitionSelection)> =
            jobs.into_iter().map(|j| (j.partition, j.entries, j.selection)).collect();
        sources.sort_by_key(|(partition, _, _)| *partition);
        let skip = (0..partitions).map(|p| resume.get(&p).map_or(0, |r| r.skip)).collect();
        Self { source, target, partitions, sources, skip, indexes }
    }
}

/// Restores one topic by key: one reader, one producer thread; `observe` sees every record's
/// placement in stream order before it is produced. Returns one summary per target partition.
pub(crate) async fn restore_topic(
    store: Store,
    producer: &Arc<RestoreProducer>,
    job: TopicJob,
    progress: &Progress,
    cancel: &CancellationToken,
    mut observe: impl FnMut(&Placement) + Send,
) -> Result<Vec<PartitionSummary>, RestoreError> {
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel::<Vec<(i32, Record)>>(2);
    let sender = {
        let (producer, target) = (producer.clone(), job.target.clone());
        tokio::task::spawn_blocking(move || {
            let deliveries = Deliveries::default();
            while let Some(batch) = rx.blocking_recv() {
                for (partition, record) in &batch {
                    producer.send(&target, *partition, record, &deliveries)?;
                }
            }
            Ok::<_, KafkaError>(())
        })
    };
    let mut stats = vec![PartitionSummary::default(); job.partitions as usize];
    let mut not_selected = 0;
    let read = route(store, &job, tx, (&mut stats, &mut not_selected), progress, cancel, &mut observe).await;
    for (stat, skip) in stats.iter_mut().zip(&job.skip) {
        stat.skipped_records = stat.records.min(*skip);
        stat.records -= stat.skipped_records;
    }
    let sent = sender.await.expect("producer thread panicked");
    read?;
    sent?;
    let records: u64 = stats.iter().map(|s| s.records).sum();
    tracing::info!(source = %job.source, target = %job.target, partitions = job.partitions, records, "topic restored by key");
    Ok(summaries(&job, stats, not_selected, started.elapsed().as_secs_f64()))
}

/// Reads the topic's runs in schedule order and routes their records to the producer thread.
async fn route(
    store: Store,
    job: &TopicJob,
    tx: mpsc::Sender<Vec<(i32, Record)>>,
    (stats, not_selected): (&mut [PartitionSummary], &mut u64),
    progress: &Progress,
    cancel: &CancellationToken,
    observe: &mut (impl FnMut(&Placement) + Send),
) -> Result<(), RestoreError> {
    let schedule = Schedule::new(store.clone(), &job.sources, job.indexes.clone());
    // Records of segments and blocks the selection skips: counted by the cursors, never read.
    let unread = schedule.unread.clone();
    let runs = futures::stream::try_unfold(schedule, |mut schedule| async move {
        Ok::<_, RestoreError>(schedule.next().await?.map(|run| (run, schedule)))
    });
    let mut decoded =
        std::pin::pin!(runs.map_ok(|run| decode(store.clone(), job.source.clone(), run)).try_buffered(READ_AHEAD));
    let mut router = Router::new(job.partitions);
    while let Some((source_partition, records, dropped)) = decoded.try_next().await? {
        if cancel.is_cancelled() {
            return Err(RestoreError::Cancelled);
        }
        *not_selected += dropped;
        let mut batch = Vec::with_capacity(records.len());
        let mut source_bytes = 0;
        for record in records {
            let placement = router.place(source_partition, &record);
            observe(&placement);
            let target = placement.target_partition as usize;
            // Counted in `records` here; `restore_topic` moves the skipped ones to `skipped_records`.
            stats[target].records += 1;
            if placement.position < job.skip[target] {
                continue;
            }
            let bytes = record.source_bytes();
            stats[target].source_bytes += bytes;
            stats[target].append_time_records += append_time(std::slice::from_ref(&record));
            source_bytes += bytes;
            batch.push((placement.target_partition, record));
        }
        progress.add(batch.len() as u64, source_bytes);
        if tx.send(batch).await.is_err() {
            // The producer thread stopped; its error is reported by the caller.
            return Ok(());
        }
    }
    *not_selected += unread.load(Ordering::Relaxed);
    Ok(())
}

/// One run of blocks of one source partition's segment.
struct RunRef {
    partition: i32,
    index: Arc<SegmentIndex>,
    blocks: Range<usize>,
    selection: PartitionSelection,
}

/// A run's selected records, and how many of its records the selection dropped.
async fn decode(store: Store, topic: String, run: RunRef) -> Result<(i32, Vec<Record>, u64), RestoreError> {
    let records = fetch::read_run(&store, &run.index, run.blocks.clone()).await;
    let mut records = records.map_err(|e| bad_block(&topic, run.partition, &run.index, e))?;
    let dropped = run.selection.filter(&mut records);
    Ok((run.partition, records, dropped))
}

/// The next runs of one source partition, segment after segment.
struct SourceCursor {
    partition: i32,
    entries: VecDeque<ManifestEntry>,
    selection: PartitionSelection,
    index: Option<Arc<SegmentIndex>>,
    runs: VecDeque<Range<usize>>,
}

impl SourceCursor {
    async fn next_run(
        &mut self,
        store: &Store,
        indexes: &Indexes,
        unread: &AtomicU64,
    ) -> Result<Option<RunRef>, RestoreError> {
        let selection = self.selection;
        loop {
            if let (Some(index), Some(blocks)) = (&self.index, self.runs.front().cloned()) {
                self.runs.pop_front();
                return Ok(Some(RunRef { partition: self.partition, index: index.clone(), blocks, selection }));
            }
            let Some(entry) = self.entries.pop_front() else { return Ok(None) };
            let Some(segment) = entry.segment else { continue };
            if selection.segment(&segment.summary) == Coverage::None {
                unread.fetch_add(segment.summary.record_count, Ordering::Relaxed);
                continue;
            }
            let index = check::index_of(store, indexes, &segment).await?;
            unread.fetch_add(selection.unread_records(&index.blocks), Ordering::Relaxed);
            self.runs = selection.runs(&index.blocks, 0).into();
            self.index = Some(index);
        }
    }
}

/// The fixed interleaving of a topic's source partitions: one run from each in partition order,
/// round after round; a partition with no runs left drops out.
struct Schedule {
    store: Store,
    indexes: Arc<Indexes>,
    cursors: Vec<SourceCursor>,
    turn: usize,
    /// Records of segments and blocks the selection takes nothing of (never read).
    unread: Arc<AtomicU64>,
}

impl Schedule {
    fn new(store: Store, sources: &[(i32, Vec<ManifestEntry>, PartitionSelection)], indexes: Arc<Indexes>) -> Self {
        let cursors = sources
            .iter()
            .map(|(partition, entries, selection)| SourceCursor {
                partition: *partition,
                entries: entries.iter().cloned().collect(),
                selection: *selection,
                index: None,
                runs: VecDeque::new(),
            })
            .collect();
        Self { store, indexes, cursors, turn: 0, unread: Arc::default() }
    }

    async fn next(&mut self) -> Result<Option<RunRef>, RestoreError> {
        while !self.cursors.is_empty() {
            let i = self.turn % self.cursors.len();
            match self.cursors[i].next_run(&self.store, &self.indexes, &self.unread).await? {
                Some(run) => {
                    self.turn = i + 1;
                    return Ok(Some(run));
                }
                None => {
                    self.cursors.remove(i);
                    self.turn = i;
                }
            }
        }
        Ok(None)
    }
}

/// One summary per target partition. What was read from storage (stored and encoded bytes,
/// segments) and the records not selected belong to the source topic; it is shared out by records so run totals stay exact.
fn summaries(
    job: &TopicJob,
    mut stats: Vec<PartitionSummary>,
    not_selected: u64,
    duration_secs: f64,
) -> Vec<PartitionSummary> {
    let segments = job.sources.iter().flat_map(|(_, entries, _)| entries).filter_map(|e| e.segment.as_ref());
    let (mut stored, mut uncompressed, mut count) = (0, 0, 0);
    for segment in segments {
        stored += segment.summary.stored_bytes;
        uncompressed += segment.summary.uncompressed_bytes;
        count += 1;
    }
    let weights: Vec<u64> = stats.iter().map(|s| s.records).collect();
    let shares = [
        apportion(stored, &weights),
        apportion(uncompressed, &weights),
        apportion(count, &weights),
        apportion(not_selected, &weights),
    ];
    for (partition, stat) in stats.iter_mut().enumerate() {
        stat.topic = job.target.clone();
        stat.partition = partition as i32;
        stat.next_offset = stat.records as i64;
        stat.stored_bytes = shares[0][partition];
        stat.uncompressed_bytes = shares[1][partition];
        stat.segments = shares[2][partition];
        stat.records_not_selected = shares[3][partition];
        stat.duration_secs = duration_secs;
        stat.mb_per_sec = mb_per_sec(stat.source_bytes, duration_secs);
    }
    stats
}

/// `total` shared out in proportion to `weights`, summing exactly to `total` (the rounding
/// remainder goes to the heaviest share).
fn apportion(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    let mut shares: Vec<u64> =
        weights.iter().map(|&w| (u128::from(total) * u128::from(w)).checked_div(sum).unwrap_or(0) as u64).collect();
    let heaviest = weights.iter().enumerate().max_by_key(|(_, w)| **w).map_or(0, |(i, _)| i);
    let rest = total - shares.iter().sum::<u64>();
    if let Some(share) = shares.get_mut(heaviest) {
        *share += rest;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::TimestampType;

    fn record(offset: i64, key: Option<&str>) -> Record {
        Record {
            offset,
            timestamp: 0,
            timestamp_type: TimestampType::CreateTime,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: None,
            headers: Vec::new(),
        }
    }

    #[test]
    fn keys_go_where_the_java_partitioner_puts_them_and_nulls_round_robin() {
        let mut router = Router::new(6);
        let kafka = router.place(0, &record(10, Some("kafka")));
        assert_eq!(kafka.target_partition, partition_for_key(b"kafka", 6));
        assert_eq!((kafka.source_partition, kafka.source_offset, kafka.position), (0, 10, 0));
        let nulls: Vec<i32> = (0..8).map(|i| router.place(1, &record(i, None)).target_partition).collect();
        assert_eq!(nulls, [0, 1, 2, 3, 4, 5, 0, 1]);
        // Positions count per target partition, whoever sent the records there.
        let again = router.place(3, &record(99, Some("kafka")));
        let nulls_there = nulls.iter().filter(|&&p| p == kafka.target_partition).count() as u64;
        assert_eq!(again.position, 1 + nulls_there);
    }

    #[test]
    fn target_partition_is_pure() {
        assert_eq!(target_partition(None, 13, 6), 1);
        assert_eq!(target_partition(Some(b""), 0, 6), target_partition(Some(b""), 99, 6), "an empty key is a key");
        assert_ne!(target_partition(Some(b""), 0, 7), -1);
    }

    #[test]
    fn apportion_sums_exactly() {
        assert_eq!(apportion(10, &[1, 1, 1]), [3, 3, 4]);
        assert_eq!(apportion(1000, &[1, 0, 3]), [250, 0, 750]);
        assert_eq!(apportion(7, &[0, 0]).iter().sum::<u64>(), 7, "nothing routed: still counted once");
        assert!(apportion(7, &[]).is_empty());
    }
}
