//! The harness's own reading of a topic for the exactly-once check: every record of every
//! partition, from the beginning to the end, reduced to a 64-bit hash of what it carries (key,
//! value and headers, with null kept apart from empty), in offset order. Nothing of kbackup is
//! used, so the check is independent of the engine under test.

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

/// Every partition's record hashes in offset order, one reader thread per partition.
pub fn read_hashes(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    fetch_wait_ms: u64,
) -> Result<Vec<Vec<u64>>, KafkaError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..partitions)
            .map(|p| scope.spawn(move || partition_hashes(bootstrap, topic, p, fetch_wait_ms)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("reader thread panicked")).collect()
    })
}

fn partition_hashes(bootstrap: &str, topic: &str, partition: i32, fetch_wait_ms: u64) -> Result<Vec<u64>, KafkaError> {
    let consumer = super::reader_from_beginning(bootstrap, "harness-exactly-once", topic, partition, fetch_wait_ms)?;
    let mut hashes = Vec::new();
    loop {
        match consumer.poll(Duration::from_secs(30)) {
            Some(Ok(m)) => hashes.push(message_hash(&m)),
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
