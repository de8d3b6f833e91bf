//! The pure half of the `pitr` phase: the `pitr:` block resolved against what was produced into
//! kbackup's own [`RecordSelection`] (written into its config), the harness's own predicate that
//! picks the same records out of its read of the source, and the comparison of those records
//! with what the restore wrote: count, bytes and an order-sensitive digest per partition.
//!
//! The predicate is written here rather than taken from kbackup (`Bounds::contains`): a wrong
//! edge on either side then shows as a mismatch instead of being agreed on.

use crate::load::TimestampSpread;
use crate::load::digest::ReadRecord;
use crate::report::pitr::{PartitionCheck, PitrCheck, Tally};
use crate::scenario::{PartitionRange, Range};
use ::engine::config::{Bounds, RecordSelection, format_timestamp};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Why a selection cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectError {
    /// A range resolved to nothing (e.g. percentages of a partition too small to tell apart).
    #[error("pitr.offsets.{partition}: {range} selects nothing of the {records} records the partition holds")]
    EmptyRange {
        /// Source partition.
        partition: i32,
        /// The range as written.
        range: String,
        /// Records in the partition.
        records: usize,
    },
}

/// `[start, end)` of `range` over `len` values from `first`; open sides unbounded.
fn bounds(range: &Range, first: i64, len: u64) -> Bounds {
    Bounds {
        start: range.start.map_or(i64::MIN, |p| p.resolve(first, len)),
        end: range.end.map_or(i64::MAX, |p| p.resolve(first, len)),
    }
}

/// The `pitr.window` as timestamps: shares of the span the produce phase spread records over.
pub fn window_selection(window: &Range, spread: &TimestampSpread) -> RecordSelection {
    let time_window = Some(bounds(window, spread.start_ms, spread.span_ms));
    RecordSelection { time_window, offsets: BTreeMap::new() }
}

/// The `pitr.offsets` of `topic` as offsets: shares of the records each partition holds.
pub fn offsets_selection(
    ranges: &[PartitionRange],
    topic: &str,
    source: &[Vec<ReadRecord>],
) -> Result<RecordSelection, SelectError> {
    let mut partitions = BTreeMap::new();
    for r in ranges {
        let records = source.get(r.partition as usize).map_or(&[][..], Vec::as_slice);
        let first = records.first().map_or(0, |rec| rec.offset);
        let b = bounds(&r.range, first, records.len() as u64);
        if b.start >= b.end {
            return Err(SelectError::EmptyRange {
                partition: r.partition,
                range: r.range.to_string(),
                records: records.len(),
            });
        }
        partitions.insert(r.partition, b);
    }
    Ok(RecordSelection { time_window: None, offsets: BTreeMap::from([(topic.to_owned(), partitions)]) })
}

/// Whether `selection` takes record `r` of `topic`/`partition` (half-open bounds).
pub fn selects(selection: &RecordSelection, topic: &str, partition: i32, r: &ReadRecord) -> bool {
    let inside = |b: &Bounds, v: i64| b.start <= v && v < b.end;
    let in_window = selection.time_window.as_ref().is_none_or(|w| inside(w, r.timestamp));
    let range = selection.offsets.get(topic).and_then(|p| p.get(&partition));
    in_window && range.is_none_or(|b| inside(b, r.offset))
}

/// `{start, end}` of kbackup's config, open sides left out.
fn bounds_json(b: &Bounds) -> Value {
    let mut out = Map::new();
    if b.start != i64::MIN {
        out.insert("start".into(), b.start.into());
    }
    if b.end != i64::MAX {
        out.insert("end".into(), b.end.into());
    }
    Value::Object(out)
}

/// `restore.time_window` and `restore.offsets` of kbackup's config for `selection`.
pub fn config_entries(selection: &RecordSelection) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if let Some(w) = &selection.time_window {
        out.push(("restore.time_window", bounds_json(w)));
    }
    if !selection.offsets.is_empty() {
        let topics: Map<String, Value> = (selection.offsets.iter())
            .map(|(topic, parts)| {
                let parts: Map<String, Value> = parts.iter().map(|(p, b)| (p.to_string(), bounds_json(b))).collect();
                (topic.clone(), Value::Object(parts))
            })
            .collect();
        out.push(("restore.offsets", Value::Object(topics)));
    }
    out
}

/// The selection in words, e.g. `timestamps [2026-12-02T14:00:00Z, 2026-12-02T14:00:36Z)`.
pub fn describe(selection: &RecordSelection) -> String {
    let side = |v: i64, open: i64, f: &dyn Fn(i64) -> String| if v == open { "open".to_owned() } else { f(v) };
    let mut parts = Vec::new();
    if let Some(w) = &selection.time_window {
        let (s, e) = (side(w.start, i64::MIN, &format_timestamp), side(w.end, i64::MAX, &format_timestamp));
        parts.push(format!("timestamps [{s}, {e})"));
    }
    for partitions in selection.offsets.values() {
        let ranges: Vec<String> = (partitions.iter())
            .map(|(p, b)| {
                let text = |v: i64| v.to_string();
                format!("{p}: [{}, {})", side(b.start, i64::MIN, &text), side(b.end, i64::MAX, &text))
            })
            .collect();
        parts.push(format!("offsets {}", ranges.join(", ")));
    }
    parts.join("; ")
}

/// Count, bytes and chained digest of `records` in order.
pub fn tally<'a>(records: impl IntoIterator<Item = &'a ReadRecord>) -> Tally {
    let (mut count, mut bytes, mut digest) = (0u64, 0u64, 0u64);
    for r in records {
        count += 1;
        bytes += r.bytes;
        let mut h = DefaultHasher::new();
        (digest, r.hash).hash(&mut h);
        digest = h.finish();
    }
    Tally { records: count, bytes, digest: format!("{digest:016x}") }
}

/// Records of `expected` missing from `restored` plus records of `restored` beyond `expected`
/// (as multisets of hashes); when those are none, the records at another position.
pub fn mismatched(expected: &[ReadRecord], restored: &[ReadRecord]) -> u64 {
    let mut balance: HashMap<u64, i64> = HashMap::with_capacity(expected.len());
    for r in expected {
        *balance.entry(r.hash).or_default() += 1;
    }
    for r in restored {
        *balance.entry(r.hash).or_default() -= 1;
    }
    let unmatched: u64 = balance.values().map(|b| b.unsigned_abs()).sum();
    if unmatched > 0 {
        return unmatched;
    }
    expected.iter().zip(restored).filter(|(e, r)| e.hash != r.hash).count() as u64
}

/// Compares every partition's selected source records with the restored partition's records.
pub fn check(
    selection: &RecordSelection,
    topic: &str,
    source: &[Vec<ReadRecord>],
    restored: &[Vec<ReadRecord>],
) -> PitrCheck {
    let empty = Vec::new();
    let partitions = (0..source.len().max(restored.len()))
        .map(|p| {
            let partition = i32::try_from(p).unwrap_or(i32::MAX);
            let src = source.get(p).unwrap_or(&empty);
            let expected: Vec<ReadRecord> =
                src.iter().filter(|r| selects(selection, topic, partition, r)).copied().collect();
            let got = restored.get(p).unwrap_or(&empty);
            PartitionCheck {
                partition,
                expected: tally(&expected),
                restored: tally(got),
                mismatched: mismatched(&expected, got),
            }
        })
        .collect();
    PitrCheck { partitions }
}

#[cfg(test)]
#[path = "pitr_select_tests.rs"]
mod tests;
