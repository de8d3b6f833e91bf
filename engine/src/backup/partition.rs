//! One partition's backup task: a reader thread encodes records into blocks, this task
//! compresses them, streams them into the open segment, and checkpoints each closed segment.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hdrhistogram::Histogram;
use rdkafka::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{BackupError, PartitionRange};
use crate::config::Plan;
use crate::kafka::{KafkaError, ReadEnd, message_headers, message_timestamp, read_partition};
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
}

/// The segment being written.
struct OpenSegment {
    start_offset: i64,
    key: String,
    writer: ObjectWriter,
    layout: SegmentLayout,
    crc: u32,
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
        let written = async {
            while let Some(block) = rx.recv().await {
                self.append(&mut open, block, &mut summary).await?;
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
            self.close(segment, &mut summary).await?;
        }
        match end? {
            ReadEnd::Eof { next_offset } | ReadEnd::Stopped { next_offset } => {
                tracing::info!(topic = %summary.topic, partition = summary.partition, next_offset, records = summary.records, "partition done");
            }
        }
        summary.duration_secs = started.elapsed().as_secs_f64();
        summary.mb_per_sec = mb_per_sec(summary.source_bytes, summary.duration_secs);
        Ok(summary)
    }

    fn spawn_reader(&self, tx: mpsc::Sender<EncodedBlock>) -> tokio::task::JoinHandle<Result<ReadEnd, KafkaError>> {
        let (plan, cancel, range) = (self.plan.clone(), self.cancel.clone(), self.range.clone());
        tokio::task::spawn_blocking(move || {
            let block_size = plan.backup.block_size;
            let mut encoder = BlockEncoder::with_capacity(block_size + block_size / 4);
            let end = read_partition(&plan.kafka, &range.topic, range.partition, range.span, &cancel, |message| {
                let (timestamp, timestamp_type) = message_timestamp(message);
                let headers = message_headers(message);
                encoder.push(&RecordRef {
                    offset: message.offset(),
                    timestamp,
                    timestamp_type,
                    key: message.key(),
                    value: message.payload(),
                    headers: &headers,
                });
                if encoder.encoded_len() >= block_size && tx.blocking_send(encoder.finish()).is_err() {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            });
            if !encoder.is_empty() {
                let _ = tx.blocking_send(encoder.finish());
            }
            end
        })
    }

    async fn append(
        &self,
        open: &mut Option<OpenSegment>,
        block: EncodedBlock,
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
        if segment.layout.bytes_written() >= self.plan.backup.segment_max_bytes {
            let full = open.take().expect("segment is open");
            self.close(full, summary).await?;
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
        let key = self.layout.segment_key(&self.range.topic, self.range.partition, start_offset);
        let mut writer = self.store.writer(&key).await?;
        let layout = SegmentLayout::new(self.plan.backup.compression);
        let header = layout.header();
        writer.write(&header).await?;
        Ok(OpenSegment { start_offset, key, writer, layout, crc: crc32c::crc32c(&header) })
    }

    /// Completes the object, then writes its checkpoint: never the other way round.
    async fn close(&self, segment: OpenSegment, summary: &mut PartitionSummary) -> Result<(), BackupError> {
        let OpenSegment { start_offset, key, mut writer, layout, crc } = segment;
        let (trailer, stats) = layout.finish();
        let crc = crc32c::crc32c_append(crc, &trailer);
        if let Err(e) = writer.write(&trailer).await {
            writer.abort().await;
            return Err(e.into());
        }
        writer.finish().await?;
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
        self.store
            .put(&self.layout.entry_key(&self.range.topic, self.range.partition, start_offset), body.into())
            .await?;
        let latency = durable.elapsed();
        self.progress.checkpointed(&self.range.topic, self.range.partition, entry_next, latency);
        let micros = latency.as_micros().max(1) as u64;
        let _ = self.latencies.lock().unwrap_or_else(|p| p.into_inner()).record(micros);
        tracing::info!(topic = %self.range.topic, partition = self.range.partition, segment = %key, records = stats.record_count, bytes = stats.stored_bytes, checkpoint_ms = micros as f64 / 1000.0, "segment checkpointed");
        summary.records += stats.record_count;
        summary.source_bytes += stats.source_bytes;
        summary.uncompressed_bytes += stats.uncompressed_bytes;
        summary.stored_bytes += stats.stored_bytes;
        summary.segments += 1;
        Ok(())
    }
}
