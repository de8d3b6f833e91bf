//! One partition's restore: reads its chain's segments in order, block run by block run (only
//! those the selection touches), and hands the selected records to a producer thread.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::offsets::{SourceId, StreamObserver};
use super::select::Coverage;
use super::{Job, RestoreError, check};
use crate::fetch::{self, FetchError};
use crate::kafka::{Deliveries, KafkaError, RestoreProducer};
use crate::progress::Progress;
use crate::segment::{Record, TimestampType};
use crate::store::Store;
use crate::summary::{PartitionSummary, mb_per_sec};

/// How long the records before a consumer group's resume point may take to be acknowledged.
const BOUNDARY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Reads the partition's segments in order and hands their records to a producer thread.
pub(crate) async fn restore_partition(
    store: &Store,
    producer: &Arc<RestoreProducer>,
    mut job: Job,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<PartitionSummary, RestoreError> {
    let started = Instant::now();
    let mut summary = PartitionSummary { topic: job.target.clone(), partition: job.partition, ..Default::default() };
    // Two decoded runs in the queue keep the producer busy while the next one is fetched.
    let (tx, rx) = mpsc::channel::<Vec<Record>>(2);
    // Group offset translation sees every record sent, at its position in the target's stream.
    let observer = job.observer.take().map(|o| (o.source(&job.source, job.partition), o));
    let sender = spawn_sender(producer.clone(), (job.target.clone(), job.partition), observer, job.skip, rx);
    let read = read_segments(store, &job, tx, &mut summary, progress, cancel).await;
    let sent = sender.await.expect("producer thread panicked");
    read?;
    sent?;
    tracing::info!(source = %job.source, target = %job.target, partition = job.partition, records = summary.records, "partition restored");
    summary.duration_secs = started.elapsed().as_secs_f64();
    summary.mb_per_sec = mb_per_sec(summary.source_bytes, summary.duration_secs);
    Ok(summary)
}

/// The thread that produces a partition's records in order, stream positions from `position` on.
fn spawn_sender(
    producer: Arc<RestoreProducer>,
    (target, partition): (String, i32),
    mut observer: Option<(Option<SourceId>, StreamObserver)>,
    mut position: u64,
    mut rx: mpsc::Receiver<Vec<Record>>,
) -> tokio::task::JoinHandle<Result<(), KafkaError>> {
    tokio::task::spawn_blocking(move || {
        let deliveries = Deliveries::default();
        let mut sent = 0;
        while let Some(batch) = rx.blocking_recv() {
            let mut boundaries = Vec::new();
            if let Some((Some(source), observer)) = observer.as_mut() {
                observer.observe_records(*source, &batch, position);
                boundaries = observer.take_boundaries();
            }
            for (i, record) in batch.iter().enumerate() {
                if boundaries.contains(&(position + i as u64)) {
                    // A consumer group resumes at this record: it opens a new produce batch, so
                    // the group's first fetch starts at a batch's first record (tansu skips the
                    // rest of a batch a fetch starts inside; elsewhere it spares the consumer
                    // decoding records it drops). Costs one round trip per translated offset.
                    producer.wait_delivered(&deliveries, sent, BOUNDARY_TIMEOUT)?;
                }
                producer.send(&target, partition, record, &deliveries)?;
                sent += 1;
            }
            position += batch.len() as u64;
        }
        if let Some((_, observer)) = observer {
            observer.finish(position);
        }
        Ok(())
    })
}

async fn read_segments(
    store: &Store,
    job: &Job,
    tx: mpsc::Sender<Vec<Record>>,
    summary: &mut PartitionSummary,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<(), RestoreError> {
    // Records at the start of the stream that an earlier run delivered: whole segments and whole
    // blocks are skipped unread, the rest dropped after decoding. Segments and blocks the selection
    // takes nothing of are never read.
    let selection = job.selection;
    let mut skip = job.skip;
    for entry in &job.entries {
        let Some(segment) = &entry.segment else { continue };
        let coverage = selection.segment(&segment.summary);
        if coverage == Coverage::None {
            summary.records_not_selected += segment.summary.record_count;
            summary.next_offset = entry.next_offset;
            continue;
        }
        if coverage == Coverage::All && skip >= segment.summary.record_count {
            skip -= segment.summary.record_count;
            summary.skipped_records += segment.summary.record_count;
            summary.next_offset = entry.next_offset;
            continue;
        }
        let index = check::index_of(store, &job.indexes, segment).await?;
        let mut first = 0;
        while let Some(block) = index.blocks.get(first) {
            let count = u64::from(block.record_count);
            match selection.block(block) {
                Coverage::None => summary.records_not_selected += count,
                Coverage::All if skip >= count => {
                    skip -= count;
                    summary.skipped_records += count;
                }
                _ => break,
            }
            first += 1;
        }
        summary.records_not_selected += selection.unread_records(&index.blocks[first..]);
        for run in selection.runs(&index.blocks, first) {
            if cancel.is_cancelled() {
                return Err(RestoreError::Cancelled);
            }
            let read = fetch::read_run(store, &index, run).await;
            let mut records = read.map_err(|e| bad_block(&job.source, job.partition, &index, e))?;
            summary.records_not_selected += selection.filter(&mut records);
            if skip > 0 {
                let dropped = records.len().min(skip as usize);
                records.drain(..dropped);
                skip -= dropped as u64;
                summary.skipped_records += dropped as u64;
            }
            let source_bytes: u64 = records.iter().map(Record::source_bytes).sum();
            summary.append_time_records += append_time(&records);
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
    if skip > 0 {
        let start = job.start;
        return Err(RestoreError::Overrun { topic: job.target.clone(), partition: job.partition, start, extra: skip });
    }
    Ok(())
}

/// Records whose timestamp is the source broker's append time: restored as CreateTime.
pub(crate) fn append_time(records: &[Record]) -> u64 {
    records.iter().filter(|r| r.timestamp_type == TimestampType::LogAppendTime).count() as u64
}

/// A block that fails its checks mid-restore, named with its offsets and what the target holds.
pub(crate) fn bad_block(topic: &str, partition: i32, index: &fetch::SegmentIndex, error: FetchError) -> RestoreError {
    let FetchError::Corrupt { key, source } = error else { return error.into() };
    let block = source.block().and_then(|b| index.blocks.get(b));
    RestoreError::BadBlock {
        key,
        topic: topic.to_string(),
        partition,
        offsets: block.map(|b| (b.first_offset, b.last_offset)),
        reason: source.to_string(),
    }
}
