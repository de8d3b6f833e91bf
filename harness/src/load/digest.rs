//! The harness's own reading of a topic for the exactly-once and point-in-time checks: every
//! record of every partition, from the beginning to the end, reduced to a 64-bit hash of what it
//! carries (key, value and headers, with null kept apart from empty; for point-in-time also its
//! timestamp), in offset order. Nothing of kbackup is used, so the checks are independent of the
//! engine under test.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers as _};

/// The hash of one record's key, value and headers. `DefaultHasher::new()` is SipHash with
/// fixed keys: the same record hashes the same in every process.
pub fn record_hash(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[(&str, Option<&[u8]>)]) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    value.hash(&mut h);
    headers.len().hash(&mut h);
    for (name, value) in headers {
        name.hash(&mut h);
        value.hash(&mut h);
    }
    h.finish()
}

fn message_hash(m: &BorrowedMessage<'_>) -> u64 {
    let headers: Vec<(&str, Option<&[u8]>)> =
        m.headers().map(|hs| hs.iter().map(|h| (h.key, h.value)).collect()).unwrap_or_default();
    record_hash(m.key(), m.payload(), &headers)
}

/// One record as the point-in-time check reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRecord {
    /// Offset in its partition.
    pub offset: i64,
    /// Timestamp, Unix ms (-1 when the broker gave none).
    pub timestamp: i64,
    /// [`timed_hash`] of the record.
    pub hash: u64,
    /// Key + value + header name and value bytes.
    pub bytes: u64,
}

/// The hash of a record's timestamp and its [`record_hash`].
pub fn timed_hash(timestamp: i64, record_hash: u64) -> u64 {
    let mut h = DefaultHasher::new();
    timestamp.hash(&mut h);
    record_hash.hash(&mut h);
    h.finish()
}

fn read_record(m: &BorrowedMessage<'_>) -> ReadRecord {
    let headers: u64 =
        m.headers().map_or(0, |hs| hs.iter().map(|h| (h.key.len() + h.value.map_or(0, <[u8]>::len)) as u64).sum());
    let bytes = (m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len)) as u64 + headers;
    let timestamp = m.timestamp().to_millis().unwrap_or(-1);
    ReadRecord { offset: m.offset(), timestamp, hash: timed_hash(timestamp, message_hash(m)), bytes }
}

/// Every partition's records in offset order, one reader thread per partition.
pub fn read_records(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    fetch_wait_ms: u64,
) -> Result<Vec<Vec<ReadRecord>>, KafkaError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..partitions)
            .map(|p| scope.spawn(move || read_partition(bootstrap, topic, p, fetch_wait_ms, read_record)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("reader thread panicked")).collect()
    })
}

/// Every partition's record hashes in offset order, one reader thread per partition.
pub fn read_hashes(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    fetch_wait_ms: u64,
) -> Result<Vec<Vec<u64>>, KafkaError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..partitions)
            .map(|p| scope.spawn(move || read_partition(bootstrap, topic, p, fetch_wait_ms, message_hash)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("reader thread panicked")).collect()
    })
}

fn read_partition<T>(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    fetch_wait_ms: u64,
    reduce: fn(&BorrowedMessage<'_>) -> T,
) -> Result<Vec<T>, KafkaError> {
    let consumer = super::reader_from_beginning(bootstrap, "harness-exactly-once", topic, partition, fetch_wait_ms)?;
    let mut hashes = Vec::new();
    loop {
        match consumer.poll(Duration::from_secs(30)) {
            Some(Ok(m)) => hashes.push(reduce(&m)),
            Some(Err(KafkaError::PartitionEOF(_))) | None => return Ok(hashes),
            Some(Err(e)) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_differ_and_headers_count() {
        let v: &[u8] = b"v";
        let base = record_hash(None, Some(v), &[]);
        assert_eq!(base, record_hash(None, Some(v), &[]), "deterministic");
        assert_ne!(base, record_hash(Some(b""), Some(v), &[]));
        assert_ne!(record_hash(None, None, &[]), record_hash(None, Some(b""), &[]));
        assert_ne!(base, record_hash(None, Some(v), &[("h", None)]));
        assert_ne!(record_hash(None, Some(v), &[("h", None)]), record_hash(None, Some(v), &[("h", Some(b""))]));
    }
}
