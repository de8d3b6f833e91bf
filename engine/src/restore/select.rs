//! Point-in-time and ranged restore (issue 13 §1): which segments, blocks and records of one
//! source partition a restore streams.
//!
//! Segments and blocks are chosen from what the manifest and the block index say of them (true
//! first/last offsets and min/max timestamps), so data outside the selection is never fetched;
//! records are then filtered exactly at the edges. Timestamps are not monotonic within a
//! partition, so a block is skipped only when its whole timestamp range is outside the window.

use std::ops::Range;

use super::check::Indexes;
use crate::config::{Bounds, RecordSelection};
use crate::fetch;
use crate::manifest::ManifestEntry;
use crate::segment::{IndexEntry, Record, SegmentSummary};

/// How much of a segment or block a selection takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// None of its records: not read at all.
    None,
    /// Some of its records: read, then filtered record by record.
    Part,
    /// Every record.
    All,
}

/// The records of one source partition a restore streams: offsets and timestamps in `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionSelection {
    offsets: Bounds,
    timestamps: Bounds,
}

impl Default for PartitionSelection {
    fn default() -> Self {
        PartitionSelection { offsets: Bounds::ALL, timestamps: Bounds::ALL }
    }
}

impl PartitionSelection {
    /// What `selection` takes of `topic/partition`.
    pub(crate) fn of(selection: &RecordSelection, topic: &str, partition: i32) -> Self {
        PartitionSelection {
            offsets: selection.offsets_of(topic, partition),
            timestamps: selection.time_window.unwrap_or(Bounds::ALL),
        }
    }

    /// Whether every record is taken.
    pub(crate) fn is_all(&self) -> bool {
        self.offsets.is_all() && self.timestamps.is_all()
    }

    fn coverage(&self, (first, last): (i64, i64), (min_ts, max_ts): (i64, i64)) -> Coverage {
        if self.offsets.misses(first, last) || self.timestamps.misses(min_ts, max_ts) {
            Coverage::None
        } else if self.offsets.covers(first, last) && self.timestamps.covers(min_ts, max_ts) {
            Coverage::All
        } else {
            Coverage::Part
        }
    }

    /// What the selection takes of a segment, from its manifest summary.
    pub(crate) fn segment(&self, s: &SegmentSummary) -> Coverage {
        self.coverage((s.first_offset, s.last_offset), (s.min_timestamp, s.max_timestamp))
    }

    /// What the selection takes of a block, from its index entry.
    pub(crate) fn block(&self, b: &IndexEntry) -> Coverage {
        self.coverage((b.first_offset, b.last_offset), (b.min_timestamp, b.max_timestamp))
    }

    /// Whether one record is taken.
    pub(crate) fn keeps(&self, record: &Record) -> bool {
        self.offsets.contains(record.offset) && self.timestamps.contains(record.timestamp)
    }

    /// Drops the records the selection does not take; returns how many were dropped.
    pub(crate) fn filter(&self, records: &mut Vec<Record>) -> u64 {
        if self.is_all() {
            return 0;
        }
        let before = records.len();
        records.retain(|r| self.keeps(r));
        (before - records.len()) as u64
    }

    /// Ranged reads covering the blocks from `from` on that the selection touches: runs of
    /// consecutive such blocks, each cut as [`fetch::block_runs`] cuts them. Blocks it takes
    /// nothing of are in no run, so they are never fetched.
    pub(crate) fn runs(&self, blocks: &[IndexEntry], from: usize) -> Vec<Range<usize>> {
        let mut runs = Vec::new();
        let mut i = from;
        while i < blocks.len() {
            if self.block(&blocks[i]) == Coverage::None {
                i += 1;
                continue;
            }
            let start = i;
            while i < blocks.len() && self.block(&blocks[i]) != Coverage::None {
                i += 1;
            }
            runs.extend(fetch::block_runs(&blocks[start..i]).into_iter().map(|r| r.start + start..r.end + start));
        }
        runs
    }

    /// Whether offsets `[from, to)` (a hole in a chain, say) hold nothing the selection takes.
    pub(crate) fn skips_offsets(&self, from: i64, to: i64) -> bool {
        to <= from || self.offsets.misses(from, to - 1)
    }

    /// At most how many records of `entries` the restore streams: every record of the blocks
    /// (of segments whose index is at hand) or segments it touches. For the progress bar.
    pub(crate) fn expected_records(&self, entries: &[ManifestEntry], indexes: &Indexes) -> u64 {
        let segments = entries.iter().filter_map(|e| e.segment.as_ref());
        let touched = segments.filter(|s| self.segment(&s.summary) != Coverage::None);
        touched
            .map(|s| match indexes.get(&s.key) {
                Some(index) => {
                    let blocks = index.blocks.iter().filter(|b| self.block(b) != Coverage::None);
                    blocks.map(|b| u64::from(b.record_count)).sum()
                }
                None => s.summary.record_count,
            })
            .sum()
    }

    /// Records of `blocks` the selection certainly does not take (whole blocks outside it).
    pub(crate) fn unread_records(&self, blocks: &[IndexEntry]) -> u64 {
        blocks.iter().filter(|b| self.block(b) == Coverage::None).map(|b| u64::from(b.record_count)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::TimestampType;

    fn block(first: i64, last: i64, min_ts: i64, max_ts: i64) -> IndexEntry {
        IndexEntry {
            first_offset: first,
            last_offset: last,
            min_timestamp: min_ts,
            max_timestamp: max_ts,
            record_count: (last - first + 1) as u32,
            position: 0,
            compressed_len: 100,
            uncompressed_len: 100,
            crc32c: 0,
        }
    }

    fn window(start: i64, end: i64) -> PartitionSelection {
        PartitionSelection { offsets: Bounds::ALL, timestamps: Bounds { start, end } }
    }

    #[test]
    fn a_block_is_skipped_only_when_its_whole_range_is_outside() {
        let w = window(1000, 2000);
        assert_eq!(w.block(&block(0, 9, 0, 999)), Coverage::None);
        assert_eq!(w.block(&block(0, 9, 2000, 3000)), Coverage::None, "end is exclusive");
        // Timestamps out of order inside a block: its range straddles the edge.
        assert_eq!(w.block(&block(0, 9, 500, 1500)), Coverage::Part);
        assert_eq!(w.block(&block(0, 9, 1000, 1999)), Coverage::All);
        let o = PartitionSelection { offsets: Bounds { start: 5, end: 15 }, timestamps: Bounds::ALL };
        assert_eq!(o.block(&block(0, 4, 0, 0)), Coverage::None);
        assert_eq!(o.block(&block(0, 9, 0, 0)), Coverage::Part);
        assert_eq!(o.block(&block(5, 14, 0, 0)), Coverage::All);
        assert_eq!(PartitionSelection::default().block(&block(0, 9, i64::MIN, i64::MAX - 1)), Coverage::All);
    }

    #[test]
    fn runs_leave_out_blocks_outside_and_split_around_them() {
        let w = window(1000, 2000);
        let blocks =
            vec![block(0, 9, 0, 10), block(10, 19, 900, 1100), block(20, 29, 1100, 1200), block(30, 39, 5000, 6000)];
        assert_eq!(w.runs(&blocks, 0), vec![1..3]);
        assert_eq!(w.runs(&blocks, 2), vec![2..3]);
        let gapped = vec![block(0, 9, 1000, 1000), block(10, 19, 0, 0), block(20, 29, 1000, 1000)];
        assert_eq!(w.runs(&gapped, 0), vec![0..1, 2..3]);
        assert_eq!(w.unread_records(&gapped), 10);
    }

    #[test]
    fn records_are_filtered_exactly_at_the_edges() {
        let record = |offset, timestamp| Record {
            offset,
            timestamp,
            timestamp_type: TimestampType::CreateTime,
            key: None,
            value: None,
            headers: Vec::new(),
        };
        let sel =
            PartitionSelection { offsets: Bounds { start: 1, end: 4 }, timestamps: Bounds { start: 10, end: 20 } };
        let mut records = vec![record(0, 15), record(1, 9), record(2, 10), record(3, 19), record(4, 15), record(5, 20)];
        assert_eq!(sel.filter(&mut records), 4);
        assert_eq!(records.iter().map(|r| r.offset).collect::<Vec<_>>(), [2, 3]);
    }
}
