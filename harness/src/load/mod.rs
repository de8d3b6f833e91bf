//! Load generation and raw limits: an rdkafka producer that writes synthetic records with a
//! known compressibility, and a plain consumer that only reads, so the engine's speed can be set
//! against what the broker delivers to any client. What the records hold is decided in
//! [`record`] and the payload modules; this module only moves them.

pub mod avro;
pub mod cli;
pub mod digest;
mod payload;
pub mod precompressed;
pub mod protobuf;
mod record;
mod rng;
mod size;
pub mod timestamps;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers as _;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::Serialize;

pub use payload::{Payload, PayloadGenerator};
pub use record::{GeneratedRecord, KeyMode, LoadSpec, MessageSize, RecordGenerator, content_type};
pub use rng::Rng;
pub use timestamps::{Progress, TimestampSpread};

/// Key + value bytes produced or consumed so far by this process, for live progress bars
/// only (concurrent runs share it); the figures in results come from [`Throughput`].
pub static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);

/// Bytes and time of one load or read phase, measured in that run.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Throughput {
    /// Records.
    pub records: u64,
    /// Key + value + header bytes.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub secs: f64,
    /// Megabytes (10^6) per second.
    pub mb_s: f64,
}

impl Throughput {
    fn new(records: u64, bytes: u64, secs: f64) -> Self {
        Self { records, bytes, secs, mb_s: if secs > 0.0 { bytes as f64 / 1e6 / secs } else { 0.0 } }
    }
}

/// Creates `topic` with `partitions` partitions (replication factor 1).
pub async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create()?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics([&NewTopic::new(topic, partitions, TopicReplication::Fixed(1))], &options).await?
    {
        result.map_err(|(_, code)| KafkaError::AdminOp(code))?;
    }
    Ok(())
}

/// When a produce run stops and how fast it may go. Production stops at the first limit
/// reached; at least one of `bytes`, `messages` and `duration` must be set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Key + value + header bytes.
    pub bytes: Option<u64>,
    /// Records.
    pub messages: Option<u64>,
    /// Wall-clock time.
    pub duration: Option<Duration>,
    /// Throttle: key + value + header bytes per second.
    pub bytes_per_sec: Option<f64>,
    /// Throttle: records per second.
    pub messages_per_sec: Option<f64>,
}

impl Limits {
    /// Exactly `bytes`, as fast as possible.
    pub fn bytes(bytes: u64) -> Limits {
        Limits { bytes: Some(bytes), ..Limits::default() }
    }
}

/// Produces `total_bytes` of payload round-robin over the partitions; returns the achieved rate.
pub fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    total_bytes: u64,
    generator: &mut RecordGenerator,
) -> Result<Throughput, KafkaError> {
    produce_with(bootstrap, topic, partitions, Limits::bytes(total_bytes), generator)
}

/// Records the generator thread may run ahead of the producer: enough to keep the
/// producer busy while the generator is descheduled, little memory at 1 KiB records.
const GENERATED_AHEAD: usize = 1024;

/// Produces round-robin over the partitions until a limit in `limits` is reached,
/// throttled to its rates; returns the achieved rate. Records are made on a thread of their
/// own, so costly payloads (Avro, precompressed) and sending overlap; librdkafka's threads do
/// the network I/O. The generator runs up to [`GENERATED_AHEAD`] records past the last one
/// sent, so its state afterwards is not "just after the last record produced".
pub fn produce_with(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    limits: Limits,
    generator: &mut RecordGenerator,
) -> Result<Throughput, KafkaError> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "10")
        .set("batch.size", "1048576")
        .set("message.max.bytes", "16777216")
        .set("queue.buffering.max.kbytes", "262144")
        .create()?;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<GeneratedRecord>(GENERATED_AHEAD);
        // Stops when the receiver is dropped below.
        scope.spawn(move || while tx.send(generator.next_record()).is_ok() {});
        let result = send_until(&producer, topic, partitions, limits, &rx);
        drop(rx);
        result
    })
}

/// The send loop of [`produce_with`].
fn send_until(
    producer: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    partitions: i32,
    limits: Limits,
    records_in: &std::sync::mpsc::Receiver<GeneratedRecord>,
) -> Result<Throughput, KafkaError> {
    let started = Instant::now();
    let (mut records, mut bytes) = (0u64, 0u64);
    let done = |records: u64, bytes: u64| {
        limits.bytes.is_some_and(|b| bytes >= b)
            || limits.messages.is_some_and(|m| records >= m)
            || limits.duration.is_some_and(|d| started.elapsed() >= d)
            || (limits.bytes.is_none() && limits.messages.is_none() && limits.duration.is_none())
    };
    while !done(records, bytes) {
        // Sleep while ahead of the throttle's schedule.
        let ahead =
            [limits.bytes_per_sec.map(|r| bytes as f64 / r), limits.messages_per_sec.map(|r| records as f64 / r)]
                .into_iter()
                .flatten()
                .fold(0.0f64, f64::max)
                - started.elapsed().as_secs_f64();
        if ahead > 0.001 {
            std::thread::sleep(Duration::from_secs_f64(ahead.min(0.1)));
            continue;
        }
        let generated = records_in.recv().expect("the generator thread runs until the receiver is dropped");
        let partition = (records % partitions as u64) as i32;
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).partition(partition).payload(generated.value.as_slice());
        record.key = generated.key.as_deref();
        record.timestamp = generated.timestamp;
        if !generated.headers.is_empty() {
            record = record.headers(owned_headers(&generated.headers));
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e),
            }
        }
        records += 1;
        let size = generated.bytes();
        bytes += size;
        LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
    }
    producer.flush(Duration::from_secs(600))?;
    Ok(Throughput::new(records, bytes, started.elapsed().as_secs_f64()))
}

fn owned_headers(headers: &[(String, Vec<u8>)]) -> OwnedHeaders {
    (headers.iter()).fold(OwnedHeaders::new_with_capacity(headers.len()), |all, (key, value)| {
        all.insert(Header { key, value: Some(value) })
    })
}

/// Reads every partition from the beginning to its end with one plain consumer per partition
/// in parallel threads, doing nothing with the records: the raw read limit.
pub fn raw_consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    fetch_wait_ms: u64,
) -> Result<Throughput, KafkaError> {
    let started = Instant::now();
    let results: Vec<Result<(u64, u64), KafkaError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..partitions)
            .map(|p| scope.spawn(move || consume_partition(bootstrap, topic, p, fetch_wait_ms)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("consumer thread panicked")).collect()
    });
    let (mut records, mut bytes) = (0, 0);
    for result in results {
        let (r, b) = result?;
        records += r;
        bytes += b;
    }
    Ok(Throughput::new(records, bytes, started.elapsed().as_secs_f64()))
}

/// A plain consumer of one partition from its first record (read_committed, 50 MB fetches, EOF
/// events on, no group membership): the raw-consume limit and the exactly-once digest read alike.
pub(crate) fn reader_from_beginning(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partition: i32,
    fetch_wait_ms: u64,
) -> Result<BaseConsumer, KafkaError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "52428800")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    Ok(consumer)
}

fn consume_partition(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    fetch_wait_ms: u64,
) -> Result<(u64, u64), KafkaError> {
    let consumer = reader_from_beginning(bootstrap, "harness-raw", topic, partition, fetch_wait_ms)?;
    let (mut records, mut bytes) = (0u64, 0u64);
    loop {
        match consumer.poll(Duration::from_secs(30)) {
            Some(Ok(m)) => {
                records += 1;
                let headers: usize =
                    m.headers().map_or(0, |h| h.iter().map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len)).sum());
                let size = (m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len) + headers) as u64;
                bytes += size;
                LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
            }
            Some(Err(KafkaError::PartitionEOF(_))) => return Ok((records, bytes)),
            Some(Err(e)) => return Err(e),
            None => return Ok((records, bytes)),
        }
    }
}
