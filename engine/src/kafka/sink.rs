//! The restore producer: idempotent, many batches in flight, delivery failures collected and reported.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::{KafkaError, Result, base_config};
use crate::config::{KafkaPlan, RestorePlan};
use crate::segment::{Record, TimestampType};

/// Counts deliveries and keeps the first failure, so a lost record always fails the restore.
#[derive(Default)]
struct DeliveryTracker {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<(String, i32, String)>>,
}

impl ClientContext for DeliveryTracker {}

/// Deliveries of one sender's records (a partition's restore task): what
/// [`RestoreProducer::wait_delivered`] waits on.
pub type Deliveries = Arc<AtomicU64>;

impl ProducerContext for DeliveryTracker {
    type DeliveryOpaque = Deliveries;

    fn delivery(&self, result: &DeliveryResult<'_>, sender: Deliveries) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                sender.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| (message.topic().to_string(), message.partition(), error.to_string()));
            }
        }
    }
}

/// A producer shared by all restore tasks (it is thread-safe and batches per partition).
pub struct RestoreProducer {
    producer: ThreadedProducer<DeliveryTracker>,
}

/// librdkafka `message.max.bytes` for restore: the most one produce request carries (at least 64 MiB,
/// at least one batch). The harness's bandwidth-delay ceilings read it from here.
pub fn produce_request_max_bytes(restore: &RestorePlan) -> u64 {
    (64u64 << 20).max(restore.batch_size)
}

impl RestoreProducer {
    /// Creates an idempotent producer (acks=all, ordered with up to 5 requests in flight).
    pub fn new(kafka: &KafkaPlan, restore: &RestorePlan) -> Result<Self> {
        let mut config = base_config(kafka);
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", restore.max_in_flight.to_string())
            .set("linger.ms", restore.linger.as_millis().to_string())
            .set("batch.size", restore.batch_size.min(i32::MAX as u64).to_string())
            .set("message.max.bytes", produce_request_max_bytes(restore).to_string())
            .set("queue.buffering.max.kbytes", "32768")
            .set("queue.buffering.max.messages", "1000000");
        super::apply_user_properties(&mut config, kafka);
        let producer =
            config.create_with_context(DeliveryTracker::default()).map_err(|source| KafkaError::Client { source })?;
        Ok(Self { producer })
    }

    /// Queues one record; waits while the local queue is full. Blocks: call from a blocking thread.
    /// Its delivery is counted in `deliveries` too.
    pub fn send(&self, topic: &str, partition: i32, record: &Record, deliveries: &Deliveries) -> Result<()> {
        let headers = (!record.headers.is_empty()).then(|| {
            record.headers.iter().fold(OwnedHeaders::new_with_capacity(record.headers.len()), |h, header| {
                h.insert(Header { key: &header.key, value: header.value.as_deref() })
            })
        });
        let mut message: BaseRecord<'_, [u8], [u8], Deliveries> =
            BaseRecord::with_opaque_to(topic, deliveries.clone()).partition(partition);
        if let Some(key) = record.key.as_deref() {
            message = message.key(key);
        }
        if let Some(value) = record.value.as_deref() {
            message = message.payload(value);
        }
        if record.timestamp_type != TimestampType::NotAvailable && record.timestamp >= 0 {
            message = message.timestamp(record.timestamp);
        }
        if let Some(headers) = headers {
            message = message.headers(headers);
        }
        loop {
            match self.producer.send(message) {
                Ok(()) => return Ok(()),
                Err((RdError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    message = returned;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((error, _)) => {
                    return Err(KafkaError::Produce { topic: topic.to_string(), partition, reason: error.to_string() });
                }
            }
            self.check()?;
        }
    }

    /// Fails if any delivery failed so far.
    pub fn check(&self) -> Result<()> {
        let tracker = self.producer.context();
        if tracker.failed.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        let first = tracker.first_error.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (topic, partition, reason) = first.unwrap_or_default();
        Err(KafkaError::Produce { topic, partition, reason })
    }

    /// Waits until every queued record is delivered (or failed), then checks.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.producer.flush(timeout).map_err(|e| KafkaError::Produce {
            topic: String::new(),
            partition: -1,
            reason: format!("flush did not complete: {e}"),
        })?;
        self.check()
    }

    /// Waits until `deliveries` counts `count` records (every record a sender queued so far is
    /// acknowledged), so the next record it sends starts a new batch. Blocks; fails on any
    /// delivery failure, or after `timeout`.
    pub fn wait_delivered(&self, deliveries: &Deliveries, count: u64, timeout: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        while deliveries.load(Ordering::Relaxed) < count {
            self.check()?;
            if std::time::Instant::now() > deadline {
                return Err(KafkaError::Produce {
                    topic: String::new(),
                    partition: -1,
                    reason: format!("records were not acknowledged within {timeout:?}"),
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.check()
    }

    /// Records acknowledged by the brokers so far.
    pub fn delivered(&self) -> u64 {
        self.producer.context().delivered.load(Ordering::Relaxed)
    }
}
