//! One partition's backup task: a reader thread encodes records into blocks, this task
//! compresses them, streams them into the open segment, and checkpoints each closed segment.
//! In continuous mode the reader follows the partition until cancelled, and a segment also
//! rolls when it reaches `segment_max_age`, even if no record arrives (see [`super::roll`]).

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::roll::{RollLimits, RollReason, block_linger};
use super::{BackupError, PartitionRange};
use crate::completion;
use crate::config::{BackupMode, Plan};
use crate::kafka::{KafkaError, ReadEnd, follow_partition, message_headers, message_timestamp, read_partition};
use crate::manifest::{self, Layout, ManifestEntry, SegmentRef};
use crate::progress::Progress;
use crate::segment::{BlockEncoder, CompressedBlock, EncodedBlock, RecordRef, SegmentLayout, compress_block};
use crate::store::{ObjectWriter, Store};
use crate::summary::{PartitionSummary, mb_per_sec};

/// Blocks buffered between the reader thread and the uploader: enough to overlap, small in memory.
const BLOCK_QUEUE: usize = 4;

/// Owns everything one partition's backup needs.
pub(crate) struct PartitionTask {
    pub range: PartitionRange,
    pub plan: Arc<Plan>,
    pub store: Store,
    pub layout: Layout,
    pub cancel: CancellationToken,
    pub progress: Arc<Progress>,
    pub latencies: Arc<Mutex<Histogram<u64>>>,
    /// This process's writer tag in consumer-group mode (see [`Layout::writer_segment_key`]).
    pub writer: Option<Arc<str>>,
}

/// The segment being written.
struct OpenSegment {
    start_offset: i64,
    key: String,
    writer: ObjectWriter,
    layout: SegmentLayout,
    crc: u32,
    opened_at: Instant,
}

/// The reader thread's partly filled block, and when its first record arrived.
struct Batcher {
    encoder: BlockEncoder,
    first_at: Option<Instant>,
    tx: mpsc::Sender<EncodedBlock>,
}

impl Batcher {
    /// Hands the block on; `Break` once the task stopped listening.
    fn send(&mut self) -> ControlFlow<()> {
        self.first_at = None;
        if self.tx.blocking_send(self.encoder.finish()).is_err() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Hands on a partly filled block that has waited `linger` (continuous mode only).
    fn send_if_lingered(&mut self, linger: Duration) -> ControlFlow<()> {
        match self.first_at {
            Some(first) if !self.encoder.is_empty() && first.elapsed() >= linger => self.send(),
            _ => ControlFlow::Continue(()),
        }
    }
}

impl PartitionTask {
    pub(crate) async fn run(self) -> Result<PartitionSummary, BackupError> {
        let started = Instant::now();
        let (tx, mut rx) = mpsc::channel::<EncodedBlock>(BLOCK_QUEUE);
        let reader = self.spawn_reader(tx);
        let mut summary = PartitionSummary {
            topic: self.range.topic.clone(),
            partition: self.range.partition,
            start_offset: self.range.span.start,
            next_offset: self.range.span.start,
            ..Default::default()
        };
        let mut open: Option<OpenSegment> = None;
        let limits = self.limits();
        let written = async {
            loop {
                // An idle partition's open segment still rolls when it reaches its age.
                let deadline = open.as_ref().and_then(|s| limits.age_deadline(s.opened_at));
                let block = tokio::select! {
                    block = rx.recv() => block,
                    () = sleep_until(deadline) => {
                        let aged = open.take().expect("a deadline implies an open segment");
                        self.close(aged, RollReason::Age, &mut summary).await?;
                        continue;
                    }
                };
                let Some(block) = block else { break };
                self.append(&mut open, block, &limits, &mut summary).await?;
            }
            Ok::<_, BackupError>(())
        }
        .await;
        if let Err(e) = written {
            drop(rx);
            if let Some(segment) = open.take() {
                segment.writer.abort().await;
            }
            let _ = reader.await;
            return Err(e);
        }
        let end = reader.await.expect("reader thread panicked");
        // Whatever was read is made durable and checkpointed, also when reading failed or was cancelled.
        if let Some(segment) = open.take() {
            self.close(segment, RollReason::Stop, &mut summary).await?;
        }
        match end? {
            ReadEnd::Eof { next_offset } if self.plan.backup.mode == BackupMode::Snapshot => {
                // Everything up to the captured end is checkpointed: say so, for `describe`.
                let (topic, partition) = (&self.range.topic, self.range.partition);
                completion::record_end(&self.store, &self.plan.backup_id, topic, partition, summary.next_offset)
                    .await?;
                tracing::info!(topic = %summary.topic, partition = summary.partition, next_offset, records = summary.records, "partition done: reached the snapshot's end");
            }
            ReadEnd::Eof { next_offset } | ReadEnd::Stopped { next_offset } => {
                tracing::info!(topic = %summary.topic, partition = summary.partition, next_offset, records = summary.records, "partition done");
            }
        }
        summary.duration_secs = started.elapsed().as_secs_f64();
        summary.mb_per_sec = mb_per_sec(summary.source_bytes, summary.duration_secs);
        Ok(summary)
    }

    /// Size always; age only in continuous mode, where a run has no end to flush at.
    fn limits(&self) -> RollLimits {
        let backup = &self.plan.backup;
        let max_age = (backup.mode == BackupMode::Continuous).then_some(backup.segment_max_age);
        RollLimits { max_bytes: backup.segment_max_bytes, max_age }
    }

    fn spawn_reader(&self, tx: mpsc::Sender<EncodedBlock>) -> tokio::task::JoinHandle<Result<ReadEnd, KafkaError>> {
        let (plan, cancel, range) = (self.plan.clone(), self.cancel.clone(), self.range.clone());
        let progress = self.progress.clone();
        tokio::task::spawn_blocking(move || {
            let block_size = plan.backup.block_size;
            let encoder = BlockEncoder::with_capacity(block_size + block_size / 4);
            // Shared by the message and tick callbacks, which never run at the same time.
            let batcher = RefCell::new(Batcher { encoder, first_at: None, tx });
            let on_message = |message: &rdkafka::message::BorrowedMessage<'_>| {
                let (timestamp, timestamp_type) = message_timestamp(message);
                let headers = message_headers(message);
                let mut b = batcher.borrow_mut();
                b.first_at.get_or_insert_with(Instant::now);
                b.encoder.push(&RecordRef {
                    offset: message.offset(),
                    timestamp,
                    timestamp_type,
                    key: message.key(),
                    value: message.payload(),
                    headers: &headers,
                });
                if b.encoder.encoded_len() >= block_size {
                    return b.send();
                }
                ControlFlow::Continue(())
            };
            let end = match plan.backup.mode {
                BackupMode::Snapshot => {
                    read_partition(&plan.kafka, &range.topic, range.partition, range.span, &cancel, on_message)
                }
                BackupMode::Continuous => {
                    let linger = block_linger(plan.backup.segment_max_age);
                    let on_tick = |high_watermark: Option<i64>| {
                        if let Some(high) = high_watermark {
                            progress.high_watermark(&range.topic, range.partition, high);
                        }
                        batcher.borrow_mut().send_if_lingered(linger)
                    };
                    follow_partition(
                        &plan.kafka,
                        &range.topic,
                        range.partition,
                        range.span,
                        &cancel,
                        on_message,
                        on_tick,
                    )
                }
            };
            let mut b = batcher.into_inner();
            if !b.encoder.is_empty() {
                let _ = b.send();
            }
            end
        })
    }

    async fn append(
        &self,
        open: &mut Option<OpenSegment>,
        block: EncodedBlock,
        limits: &RollLimits,
        summary: &mut PartitionSummary,
    ) -> Result<(), BackupError> {
        let compressed = self.compress(block).await?;
        let segment = match open {
            Some(segment) => segment,
            None => open.insert(self.open_segment(summary.next_offset).await?),
        };
        segment.layout.add_block(&compressed);
        segment.crc = crc32c::crc32c_append(segment.crc, &compressed.data);
        segment.writer.write(&compressed.data).await?;
        summary.next_offset = compressed.meta.last_offset + 1;
        self.progress.block_uploaded(
            &self.range.topic,
            self.range.partition,
            summary.next_offset,
            u64::from(compressed.meta.record_count),
            compressed.meta.source_bytes,
            compressed.data.len() as u64,
        );
        if let Some(reason) = limits.decide(segment.layout.bytes_written(), segment.opened_at, Instant::now()) {
            let full = open.take().expect("segment is open");
            self.close(full, reason, summary).await?;
        }
        Ok(())
    }

    async fn compress(&self, block: EncodedBlock) -> Result<CompressedBlock, BackupError> {
        let (codec, level) = (self.plan.backup.compression, self.plan.backup.compression_level);
        tokio::task::spawn_blocking(move || compress_block(block, codec, level))
            .await
            .expect("compression task panicked")
            .map_err(|source| BackupError::Segment {
                topic: self.range.topic.clone(),
                partition: self.range.partition,
                source,
            })
    }

    async fn open_segment(&self, start_offset: i64) -> Result<OpenSegment, BackupError> {
        let (topic, partition) = (&self.range.topic, self.range.partition);
        let key = match &self.writer {
            Some(writer) => self.layout.writer_segment_key(topic, partition, start_offset, writer),
            None => self.layout.segment_key(topic, partition, start_offset),
        };
        let mut writer = self.store.writer(&key).await?;
        let layout = SegmentLayout::new(self.plan.backup.compression);
        let header = layout.header();
        writer.write(&header).await?;
        Ok(OpenSegment { start_offset, key, writer, layout, crc: crc32c::crc32c(&header), opened_at: Instant::now() })
    }

    /// Completes the object, then writes its checkpoint: never the other way round.
    async fn close(
        &self,
        segment: OpenSegment,
        reason: RollReason,
        summary: &mut PartitionSummary,
    ) -> Result<(), BackupError> {
        let OpenSegment { start_offset, key, mut writer, layout, crc, opened_at } = segment;
        let (trailer, stats) = layout.finish();
        let crc = crc32c::crc32c_append(crc, &trailer);
        if let Err(e) = writer.write(&trailer).await {
            writer.abort().await;
            return Err(e.into());
        }
        writer.finish().await?;
        self.progress.segment_uploaded(opened_at.elapsed());
        let durable = Instant::now();
        let entry = ManifestEntry {
            topic: self.range.topic.clone(),
            partition: self.range.partition,
            start_offset,
            next_offset: stats.last_offset + 1,
            segment: Some(SegmentRef { key: key.clone(), object_crc32c: crc, summary: stats }),
            gap: None,
            written_at_ms: manifest::now_ms(),
            tool: manifest::tool_version(),
        };
        let entry_next = entry.next_offset;
        let body = serde_json::to_vec_pretty(&entry).expect("ManifestEntry serializes");
        let (topic, partition) = (&self.range.topic, self.range.partition);
        let entry_key = match &self.writer {
            Some(writer) => self.layout.writer_entry_key(topic, partition, start_offset, writer),
            None => self.layout.entry_key(topic, partition, start_offset),
        };
        self.store.put(&entry_key, body.into()).await?;
        let latency = durable.elapsed();
        self.progress.checkpointed(&self.range.topic, self.range.partition, entry_next, latency);
        let micros = latency.as_micros().max(1) as u64;
        let _ = self.latencies.lock().unwrap_or_else(|p| p.into_inner()).record(micros);
        tracing::info!(topic = %self.range.topic, partition = self.range.partition, segment = %key, records = stats.record_count, bytes = stats.stored_bytes, checkpoint_ms = micros as f64 / 1000.0, rolled = reason.as_str(), "segment checkpointed");
        summary.records += stats.record_count;
        summary.source_bytes += stats.source_bytes;
        summary.uncompressed_bytes += stats.uncompressed_bytes;
        summary.stored_bytes += stats.stored_bytes;
        summary.segments += 1;
        Ok(())
    }
}

/// Sleeps until `deadline`, or forever without one (a `select!` arm that never fires).
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
