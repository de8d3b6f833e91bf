//! Kafka record types and their encoding inside an uncompressed block.
//!
//! Per record (little-endian): offset i64, timestamp i64, timestamp_type u8,
//! key and value as nullable byte strings (i32 length, -1 = null), header
//! count u32, then per header a key (u32 length + UTF-8) and a nullable value.

use super::SegmentError;
use super::cursor::Cursor;

/// Smallest possible encoded record (null key and value, no headers); bounds
/// the capacity a record count from the index may reserve.
pub(crate) const MIN_RECORD_LEN: usize = 8 + 8 + 1 + 4 + 4 + 4;
/// Smallest possible encoded header (empty key, null value).
const MIN_HEADER_LEN: usize = 4 + 4;
/// Length marker of a null key, value or header value.
const NULL_LEN: i32 = -1;

/// How a record's timestamp was assigned (Kafka's `timestampType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    /// No timestamp (pre-0.10 message format); stored as 0.
    NotAvailable,
    /// Set by the producer; stored as 1.
    CreateTime,
    /// Set by the broker on append; stored as 2.
    LogAppendTime,
}

impl TimestampType {
    fn id(self) -> u8 {
        match self {
            TimestampType::NotAvailable => 0,
            TimestampType::CreateTime => 1,
            TimestampType::LogAppendTime => 2,
        }
    }

    fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(TimestampType::NotAvailable),
            1 => Some(TimestampType::CreateTime),
            2 => Some(TimestampType::LogAppendTime),
            _ => None,
        }
    }
}

/// One Kafka record header. Headers keep their order, may repeat a key, and
/// may have a null value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Header key (Kafka requires UTF-8).
    pub key: String,
    /// Header value; `None` is null, distinct from empty.
    pub value: Option<Vec<u8>>,
}

/// An owned Kafka record as backed up and restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Partition offset.
    pub offset: i64,
    /// Timestamp in milliseconds since the epoch (-1 when not available).
    pub timestamp: i64,
    /// How the timestamp was assigned.
    pub timestamp_type: TimestampType,
    /// Record key; `None` is null, distinct from empty.
    pub key: Option<Vec<u8>>,
    /// Record value; `None` is null (a tombstone), distinct from empty.
    pub value: Option<Vec<u8>>,
    /// Record headers in order.
    pub headers: Vec<Header>,
}

impl Record {
    /// Payload bytes as produced to Kafka: key, value, header keys and header
    /// values (nulls count 0). Excludes our framing, so ratios against it show
    /// the real compression win.
    pub fn source_bytes(&self) -> u64 {
        let headers: usize = self.headers.iter().map(|h| h.key.len() + opt_len(h.value.as_deref())).sum();
        (opt_len(self.key.as_deref()) + opt_len(self.value.as_deref()) + headers) as u64
    }

    /// The headers as the (key, value) pairs a [`RecordRef`] borrows.
    pub fn header_refs(&self) -> Vec<(&str, Option<&[u8]>)> {
        self.headers.iter().map(|h| (h.key.as_str(), h.value.as_deref())).collect()
    }

    /// Borrows this record for encoding; `headers` comes from [`Record::header_refs`].
    pub fn as_ref<'a>(&'a self, headers: &'a [(&'a str, Option<&'a [u8]>)]) -> RecordRef<'a> {
        RecordRef {
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers,
        }
    }
}

/// A borrowed record, as handed out by a Kafka consumer, for encoding without
/// copying into a [`Record`] first.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'a> {
    /// Partition offset.
    pub offset: i64,
    /// Timestamp in milliseconds since the epoch.
    pub timestamp: i64,
    /// How the timestamp was assigned.
    pub timestamp_type: TimestampType,
    /// Record key; `None` is null.
    pub key: Option<&'a [u8]>,
    /// Record value; `None` is null.
    pub value: Option<&'a [u8]>,
    /// Headers in order as (key, value) pairs.
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
}

impl RecordRef<'_> {
    /// Same as [`Record::source_bytes`].
    pub(crate) fn source_bytes(&self) -> u64 {
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + opt_len(*v)).sum();
        (opt_len(self.key) + opt_len(self.value) + headers) as u64
    }
}

fn opt_len(b: Option<&[u8]>) -> usize {
    b.map_or(0, <[u8]>::len)
}

/// A field length as stored. Kafka itself caps records far below 2 GiB, so a
/// longer field is a caller bug, not a data condition.
fn stored_len(n: usize) -> [u8; 4] {
    i32::try_from(n).expect("record field longer than i32::MAX bytes").to_le_bytes()
}

fn put_nullable(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => out.extend_from_slice(&NULL_LEN.to_le_bytes()),
        Some(b) => {
            out.extend_from_slice(&stored_len(b.len()));
            out.extend_from_slice(b);
        }
    }
}

fn put_head(out: &mut Vec<u8>, offset: i64, timestamp: i64, tt: TimestampType) {
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&timestamp.to_le_bytes());
    out.push(tt.id());
}

fn put_header(out: &mut Vec<u8>, key: &str, value: Option<&[u8]>) {
    // Same range as the i32 lengths so any key we write we can read back.
    out.extend_from_slice(&stored_len(key.len()));
    out.extend_from_slice(key.as_bytes());
    put_nullable(out, value);
}

fn put_count(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("more than u32::MAX headers on one record");
    out.extend_from_slice(&n.to_le_bytes());
}

/// Appends the encoding of `r` to `out`.
pub(crate) fn encode_ref(out: &mut Vec<u8>, r: &RecordRef<'_>) {
    put_head(out, r.offset, r.timestamp, r.timestamp_type);
    put_nullable(out, r.key);
    put_nullable(out, r.value);
    put_count(out, r.headers.len());
    for (k, v) in r.headers {
        put_header(out, k, *v);
    }
}

/// Appends the encoding of `r` to `out`; byte-identical to [`encode_ref`].
pub(crate) fn encode_record(out: &mut Vec<u8>, r: &Record) {
    put_head(out, r.offset, r.timestamp, r.timestamp_type);
    put_nullable(out, r.key.as_deref());
    put_nullable(out, r.value.as_deref());
    put_count(out, r.headers.len());
    for h in &r.headers {
        put_header(out, &h.key, h.value.as_deref());
    }
}

fn take_nullable(c: &mut Cursor<'_>) -> Result<Option<Vec<u8>>, SegmentError> {
    match c.i32()? {
        NULL_LEN => Ok(None),
        n => {
            let n = usize::try_from(n).map_err(|_| c.error(format!("negative length {n}")))?;
            Ok(Some(c.take(n)?.to_vec()))
        }
    }
}

fn take_header(c: &mut Cursor<'_>) -> Result<Header, SegmentError> {
    let len = c.u32()?;
    let raw = c.take(usize::try_from(len).unwrap_or(usize::MAX))?;
    let key = std::str::from_utf8(raw).map_err(|e| c.error(format!("header key is not UTF-8: {e}")))?.to_owned();
    let value = take_nullable(c)?;
    Ok(Header { key, value })
}

/// Decodes one record; never reads past the cursor or allocates more than
/// the bytes that remain in it.
pub(crate) fn decode_record(c: &mut Cursor<'_>) -> Result<Record, SegmentError> {
    let offset = c.i64()?;
    let timestamp = c.i64()?;
    let tt = c.u8()?;
    let timestamp_type = TimestampType::from_id(tt).ok_or_else(|| c.error(format!("unknown timestamp type {tt}")))?;
    let key = take_nullable(c)?;
    let value = take_nullable(c)?;
    let count = c.u32()? as usize;
    let mut headers = Vec::with_capacity(count.min(c.remaining() / MIN_HEADER_LEN));
    for _ in 0..count {
        headers.push(take_header(c)?);
    }
    Ok(Record { offset, timestamp, timestamp_type, key, value, headers })
}
