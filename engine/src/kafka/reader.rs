//! Reads one partition from an offset up to a snapshot boundary, or follows it until cancelled
//! (continuous backup), on a blocking thread.
//!
//! The boundary is exact on Apache Kafka and on tansu alike: ListOffsets LATEST is taken as a lower
//! bound only (tansu's memory engine under-reports it by the newest batch), and reading stops at the
//! first partition EOF at or beyond it, whose position comes from fetch responses.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError as RdError;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, Timestamp, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::{KafkaError, Result, consumer_config, is_fatal};
use crate::config::KafkaPlan;
use crate::segment::{Header, Record, TimestampType};

/// Why reading stopped, and where the next read should resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// Reached the end of the partition at or beyond the boundary.
    Eof {
        /// One past the last record handed to the callback (or the start offset).
        next_offset: i64,
    },
    /// Cancelled, or the callback asked to stop.
    Stopped {
        /// One past the last record handed to the callback (or the start offset).
        next_offset: i64,
    },
}

/// Routes librdkafka's client-level errors to tracing; partition EOF is expected here, not an error.
struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: RdError, reason: &str) {
        if matches!(error, RdError::PartitionEOF(_))
            || error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF)
        {
            tracing::debug!(%error, reason, "partition end");
        } else {
            tracing::warn!(%error, reason, "kafka client error");
        }
    }
}

impl ConsumerContext for ReaderContext {}

/// Which part of a partition to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Where the fetch begins: `start`, or an earlier offset such as the log start when seeking
    /// into the middle of the log is not trusted (see `backup.resume: rescan`).
    pub fetch_from: i64,
    /// The first offset handed to the callback; records below it are read and dropped.
    pub start: i64,
    /// ListOffsets LATEST captured at the start of the run (a lower bound of the end).
    pub boundary: i64,
}

/// Reads `topic/partition` over `span`, calling `on_message` for each record, until the first
/// EOF at or past `span.boundary`. Offsets must strictly increase: a broker that hands back an
/// offset at or below one already delivered fails the read instead of corrupting the backup.
/// Blocks the calling thread: run it with `spawn_blocking`.
pub fn read_partition(
    plan: &KafkaPlan,
    topic: &str,
    partition: i32,
    span: Span,
    cancel: &CancellationToken,
    on_message: impl FnMut(&BorrowedMessage<'_>) -> ControlFlow<()>,
) -> Result<ReadEnd> {
    read_loop(plan, topic, partition, span, cancel, None, on_message, |_| ControlFlow::Continue(()))
}

/// How often [`follow_partition`] calls its tick while records keep arriving.
const TICK_EVERY: Duration = Duration::from_millis(200);

/// Like [`read_partition`], but never stops at the end: it waits for new records until `cancel`
/// (continuous backup). `on_tick` runs whenever a poll brought nothing and at least every 200 ms
/// while records flow, with the high watermark of the latest fetch response when known, so the
/// caller can hand on buffered records and report lag against the partition's current end.
#[allow(clippy::too_many_arguments)]
pub fn follow_partition(
    plan: &KafkaPlan,
    topic: &str,
    partition: i32,
    span: Span,
    cancel: &CancellationToken,
    on_message: impl FnMut(&BorrowedMessage<'_>) -> ControlFlow<()>,
    on_tick: impl FnMut(Option<i64>) -> ControlFlow<()>,
) -> Result<ReadEnd> {
    read_loop(plan, topic, partition, span, cancel, Some(TICK_EVERY), on_message, on_tick)
}

/// The loop of both readers; `tick_every` is `Some` when following (no stop at the end).
#[allow(clippy::too_many_arguments)]
fn read_loop(
    plan: &KafkaPlan,
    topic: &str,
    partition: i32,
    span: Span,
    cancel: &CancellationToken,
    tick_every: Option<Duration>,
    mut on_message: impl FnMut(&BorrowedMessage<'_>) -> ControlFlow<()>,
    mut on_tick: impl FnMut(Option<i64>) -> ControlFlow<()>,
) -> Result<ReadEnd> {
    let consumer: BaseConsumer<ReaderContext> =
        consumer_config(plan).create_with_context(ReaderContext).map_err(|source| KafkaError::Client { source })?;
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Offset(span.fetch_from))
        .and_then(|()| consumer.assign(&assignment))
        .map_err(|source| KafkaError::Fetch { topic: topic.to_string(), partition, offset: span.fetch_from, source })?;
    let (start, boundary) = (span.start, span.boundary);
    let mut next_offset = start;
    let mut last_seen = span.fetch_from - 1;
    let mut last_warning: Option<Instant> = None;
    let mut last_tick = Instant::now();
    loop {
        if cancel.is_cancelled() {
            return Ok(ReadEnd::Stopped { next_offset });
        }
        let polled = consumer.poll(Duration::from_millis(100));
        if let Some(every) = tick_every {
            let idle = !matches!(polled, Some(Ok(_)));
            if idle || last_tick.elapsed() >= every {
                last_tick = Instant::now();
                if on_tick(cached_high_watermark(&consumer, topic, partition)).is_break() {
                    return Ok(ReadEnd::Stopped { next_offset });
                }
            }
        }
        match polled {
            None => {}
            Some(Ok(message)) => {
                let offset = message.offset();
                if offset <= last_seen {
                    return Err(KafkaError::Inconsistent {
                        topic: topic.to_string(),
                        partition,
                        after: last_seen,
                        got: offset,
                    });
                }
                last_seen = offset;
                if offset < start {
                    continue;
                }
                next_offset = offset + 1;
                if on_message(&message).is_break() {
                    return Ok(ReadEnd::Stopped { next_offset });
                }
            }
            Some(Err(RdError::PartitionEOF(_))) if tick_every.is_some() => {}
            Some(Err(RdError::PartitionEOF(_))) => {
                // The fetch response's high watermark (or last stable offset) is the true end.
                let fetched_high = cached_high_watermark(&consumer, topic, partition).unwrap_or(0);
                if next_offset.max(fetched_high) >= boundary {
                    return Ok(ReadEnd::Eof { next_offset });
                }
            }
            Some(Err(source)) if is_fatal(&source) => {
                return Err(KafkaError::Fetch { topic: topic.to_string(), partition, offset: next_offset, source });
            }
            // Transient (broker restart, network): librdkafka retries; keep polling and say so now and then.
            Some(Err(error)) if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) => {
                tracing::warn!(topic, partition, offset = next_offset, %error, "fetch error, retrying");
                last_warning = Some(Instant::now());
            }
            Some(Err(_)) => {}
        }
    }
}

/// The partition's end (high watermark) as the first fetch response from its start reports it:
/// exact where ListOffsets is not (tansu answers LATEST with the newest batch's base offset + 1).
/// Reads at most one fetch of records, which it drops. Blocks: run it with `spawn_blocking`.
pub fn fetched_end(plan: &KafkaPlan, topic: &str, partition: i32, timeout: Duration) -> Result<i64> {
    let mut config = consumer_config(plan);
    // The end of everything written, committed or not: what a producer appends after.
    config.set("isolation.level", "read_uncommitted").set("max.partition.fetch.bytes", "65536");
    let consumer: BaseConsumer<ReaderContext> =
        config.create_with_context(ReaderContext).map_err(|source| KafkaError::Client { source })?;
    let fetch_error = |source| KafkaError::Fetch { topic: topic.to_string(), partition, offset: -1, source };
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Beginning)
        .and_then(|()| consumer.assign(&assignment))
        .map_err(fetch_error)?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(_)) | Some(Err(RdError::PartitionEOF(_))) => {
                if let Some(high) = cached_high_watermark(&consumer, topic, partition) {
                    return Ok(high);
                }
            }
            Some(Err(source)) if is_fatal(&source) => return Err(fetch_error(source)),
            _ => {}
        }
    }
    Err(KafkaError::Fetch {
        topic: topic.to_string(),
        partition,
        offset: -1,
        source: RdError::MessageConsumption(RDKafkaErrorCode::RequestTimedOut),
    })
}

/// The high watermark (or, under `read_committed`, the last stable offset) librdkafka cached from
/// the latest fetch response. The rdkafka crate does not wrap this call, and ListOffsets is no
/// substitute: it under-reports on tansu, and a trailing transaction marker leaves the last
/// record's offset + 1 short of the end on Apache Kafka.
#[allow(unsafe_code)]
fn cached_high_watermark(consumer: &BaseConsumer<ReaderContext>, topic: &str, partition: i32) -> Option<i64> {
    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the client pointer is valid for the consumer's lifetime, the topic is a
    // NUL-terminated string that outlives the call, and low/high point to live i64s.
    let code = unsafe {
        rdkafka_sys::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (code == rdkafka_sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some(high)
}

/// The record's timestamp and its type, in the segment format's terms.
pub fn message_timestamp(message: &BorrowedMessage<'_>) -> (i64, TimestampType) {
    match message.timestamp() {
        Timestamp::NotAvailable => (-1, TimestampType::NotAvailable),
        Timestamp::CreateTime(t) => (t, TimestampType::CreateTime),
        Timestamp::LogAppendTime(t) => (t, TimestampType::LogAppendTime),
    }
}

/// Headers in order, duplicates and null values kept. Allocates only when there are headers.
pub fn message_headers<'a>(message: &'a BorrowedMessage<'_>) -> Vec<(&'a str, Option<&'a [u8]>)> {
    message.headers().map_or_else(Vec::new, |headers| headers.iter().map(|h| (h.key, h.value)).collect())
}

/// An owned copy of the message as a segment record.
pub fn to_record(message: &BorrowedMessage<'_>) -> Record {
    let (timestamp, timestamp_type) = message_timestamp(message);
    Record {
        offset: message.offset(),
        timestamp,
        timestamp_type,
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers: message_headers(message)
            .into_iter()
            .map(|(key, value)| Header { key: key.to_string(), value: value.map(<[u8]>::to_vec) })
            .collect(),
    }
}
