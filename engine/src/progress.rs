//! Live counters a long run updates and a front end (progress bar, metrics) reads.
//!
//! Totals are atomics touched once per block; the per-partition table sits behind a mutex that
//! is only held to copy a few integers, never across an `.await`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Upper bounds (seconds) of the checkpoint-latency histogram buckets exported to Prometheus.
pub const CHECKPOINT_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Upper bounds (seconds) of the segment-upload histogram buckets: from a segment's open to its
/// object being durable, which spans up to `backup.segment_max_age` (60 s by default) and more.
pub const SEGMENT_UPLOAD_BUCKETS: [f64; 12] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// One `--progress-json` line: `{"schema_version":2,"progress":{...}}` on stderr, twice a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressLine {
    /// The counters.
    pub progress: ProgressCounts,
}

/// The counters of a [`ProgressLine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressCounts {
    /// `backup` or `restore`.
    pub command: Command,
    /// Records done so far.
    pub records: u64,
    /// Source bytes (key + value + headers) done so far.
    pub bytes: u64,
    /// Records the run expects (0 while unknown).
    pub expected_records: u64,
}

/// The command a [`ProgressLine`] reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    /// `kbackup backup`.
    Backup,
    /// `kbackup restore`.
    Restore,
}

impl ProgressLine {
    /// The line for `progress` right now, without a newline.
    pub fn render(command: Command, progress: &Progress) -> String {
        let counts = ProgressCounts {
            command,
            records: progress.records(),
            bytes: progress.bytes(),
            expected_records: progress.expected_records(),
        };
        crate::schema::to_json(&ProgressLine { progress: counts }, false).expect("a progress line serializes")
    }

    /// Reads a line [`ProgressLine::render`] wrote; `None` for any other line (log output).
    pub fn parse(line: &str) -> Option<ProgressLine> {
        if !line.starts_with('{') || !line.contains("\"progress\"") {
            return None;
        }
        crate::schema::from_json(line, "kbackup --progress-json").ok()
    }
}

/// Records and bytes done so far, and the expected total when it is known.
#[derive(Debug, Default)]
pub struct Progress {
    records: AtomicU64,
    bytes: AtomicU64,
    expected_records: AtomicU64,
    partitions: Mutex<BTreeMap<(String, i32), PartitionProgress>>,
    checkpoints: Mutex<CheckpointLatency>,
    rebalances: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    segment_uploads: Mutex<SegmentUploadLatency>,
    topics: Mutex<BTreeMap<String, TopicTotals>>,
}

/// What one topic's partitions uploaded in this run; unlike the partition table, kept when a
/// partition is released, so the totals only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicTotals {
    /// Records uploaded.
    pub records: u64,
    /// Source bytes (key + value + headers) uploaded.
    pub source_bytes: u64,
    /// Bytes stored (compressed).
    pub stored_bytes: u64,
}

/// Cumulative segment-upload histogram over [`SEGMENT_UPLOAD_BUCKETS`] (same semantics as
/// [`CheckpointLatency`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentUploadLatency {
    /// Count per bucket of [`SEGMENT_UPLOAD_BUCKETS`], cumulative.
    pub buckets: [u64; SEGMENT_UPLOAD_BUCKETS.len()],
    /// Number of segments.
    pub count: u64,
    /// Sum of durations in seconds.
    pub sum_secs: f64,
}

impl SegmentUploadLatency {
    fn record(&mut self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bound, bucket) in SEGMENT_UPLOAD_BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if secs <= *bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum_secs += secs;
    }
}

/// Where one partition stands: offsets are "next offset" positions (one past the last record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The offset this run must reach: the snapshot boundary, or in continuous mode the
    /// partition's high watermark as last seen.
    pub boundary: i64,
    /// Next offset after the last record uploaded into an open segment.
    pub uploaded_offset: i64,
    /// Next offset after the last record whose checkpoint is durable.
    pub checkpointed_offset: i64,
    /// Records uploaded.
    pub records: u64,
    /// Source bytes (key + value + headers) uploaded.
    pub source_bytes: u64,
    /// Bytes stored (compressed).
    pub stored_bytes: u64,
    /// Segments checkpointed.
    pub segments: u64,
    /// When the newest checkpoint became durable, Unix milliseconds (0 before the first): the
    /// partition's recovery point.
    pub last_checkpoint_ms: i64,
    /// Since when (Unix milliseconds) records read from the partition have been waiting for a
    /// durable checkpoint; 0 while every record read is checkpointed. What `/ready` ages.
    pub waiting_since_ms: i64,
}

impl PartitionProgress {
    /// Offsets still to read before the boundary (the high watermark in continuous mode).
    pub fn lag_records(&self) -> u64 {
        self.boundary.saturating_sub(self.uploaded_offset).max(0) as u64
    }

    /// Offsets read but not yet covered by a durable checkpoint.
    pub fn unacknowledged_records(&self) -> u64 {
        self.uploaded_offset.saturating_sub(self.checkpointed_offset).max(0) as u64
    }

    /// Mean source bytes per record so far, `None` before the first block.
    pub fn mean_record_bytes(&self) -> Option<f64> {
        (self.records > 0).then(|| self.source_bytes as f64 / self.records as f64)
    }
}

/// Cumulative checkpoint-latency histogram (Prometheus semantics: bucket i counts values ≤ bound i).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckpointLatency {
    /// Count per bucket of [`CHECKPOINT_BUCKETS`], cumulative.
    pub buckets: [u64; CHECKPOINT_BUCKETS.len()],
    /// Number of checkpoints.
    pub count: u64,
    /// Sum of latencies in seconds.
    pub sum_secs: f64,
}

impl CheckpointLatency {
    fn record(&mut self, latency: Duration) {
        let secs = latency.as_secs_f64();
        for (bound, bucket) in CHECKPOINT_BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if secs <= *bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum_secs += secs;
    }
}

impl Progress {
    /// Adds work done.
    pub fn add(&self, records: u64, bytes: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds to the expected total (an estimate: offsets, not records, for backups).
    pub fn expect(&self, records: u64) {
        self.expected_records.fetch_add(records, Ordering::Relaxed);
    }

    /// Records done.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// Source bytes done.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Expected records, 0 when unknown.
    pub fn expected_records(&self) -> u64 {
        self.expected_records.load(Ordering::Relaxed)
    }

    /// Registers a partition that starts at `start` and must reach `boundary`.
    pub fn partition_planned(&self, topic: &str, partition: i32, start: i64, boundary: i64) {
        self.expect(boundary.saturating_sub(start).max(0) as u64);
        let entry =
            PartitionProgress { boundary, uploaded_offset: start, checkpointed_offset: start, ..Default::default() };
        self.table().insert((topic.to_string(), partition), entry);
    }

    /// A block of `records` records ending before `next_offset` went into an open segment.
    pub fn block_uploaded(
        &self,
        topic: &str,
        partition: i32,
        next_offset: i64,
        records: u64,
        source: u64,
        stored: u64,
    ) {
        self.add(records, source);
        let mut table = self.table();
        let entry = table.entry((topic.to_string(), partition)).or_default();
        entry.uploaded_offset = entry.uploaded_offset.max(next_offset);
        entry.records += records;
        entry.source_bytes += source;
        entry.stored_bytes += stored;
        if entry.waiting_since_ms == 0 && entry.unacknowledged_records() > 0 {
            entry.waiting_since_ms = crate::manifest::now_ms();
        }
        drop(table);
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let totals = topics.entry(topic.to_string()).or_default();
        totals.records += records;
        totals.source_bytes += source;
        totals.stored_bytes += stored;
    }

    /// A segment's checkpoint up to `next_offset` is durable; it took `latency` after the object was.
    pub fn checkpointed(&self, topic: &str, partition: i32, next_offset: i64, latency: Duration) {
        {
            let mut table = self.table();
            let entry = table.entry((topic.to_string(), partition)).or_default();
            entry.checkpointed_offset = entry.checkpointed_offset.max(next_offset);
            entry.segments += 1;
            entry.last_checkpoint_ms = crate::manifest::now_ms();
            // Records read past this checkpoint wait from now on; none left, nothing waits.
            entry.waiting_since_ms = if entry.unacknowledged_records() > 0 { entry.last_checkpoint_ms } else { 0 };
        }
        self.checkpoints.lock().unwrap_or_else(|p| p.into_inner()).record(latency);
    }

    /// Continuous mode: the partition's end moved to `high` (from a fetch response); lag is
    /// measured against it, and the expected total grows with it.
    pub fn high_watermark(&self, topic: &str, partition: i32, high: i64) {
        let grown = {
            let mut table = self.table();
            let entry = table.entry((topic.to_string(), partition)).or_default();
            let grown = high.saturating_sub(entry.boundary).max(0) as u64;
            entry.boundary = entry.boundary.max(high);
            grown
        };
        self.expect(grown);
    }

    /// The partition left this process (its consumer-group assignment was revoked, or its topic
    /// was deleted): it no longer counts as assigned and its lag is another instance's.
    pub fn partition_released(&self, topic: &str, partition: i32) {
        self.table().remove(&(topic.to_string(), partition));
    }

    /// The consumer group rebalanced this process's assignment (partitions added or revoked).
    pub fn rebalanced(&self) {
        self.rebalances.fetch_add(1, Ordering::Relaxed);
    }

    /// Rebalances that changed this process's assignment so far.
    pub fn rebalances(&self) -> u64 {
        self.rebalances.load(Ordering::Relaxed)
    }

    /// An error of `kind` happened (e.g. `kafka`, `store`, `segment`, `shutdown`): counted for
    /// `kafka_backup_errors_total{kind}`, whether or not the run survives it.
    pub fn error_seen(&self, kind: &'static str) {
        *self.errors.lock().unwrap_or_else(|p| p.into_inner()).entry(kind).or_default() += 1;
    }

    /// Errors so far by kind, in kind order.
    pub fn errors(&self) -> Vec<(&'static str, u64)> {
        self.errors.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// A copy of every partition's state, in topic/partition order: the partitions this process
    /// backs up right now.
    pub fn partitions(&self) -> Vec<((String, i32), PartitionProgress)> {
        self.table().iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// A copy of the checkpoint-latency histogram.
    pub fn checkpoint_latency(&self) -> CheckpointLatency {
        self.checkpoints.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A segment's object became durable `took` after the segment was opened.
    pub fn segment_uploaded(&self, took: Duration) {
        self.segment_uploads.lock().unwrap_or_else(|p| p.into_inner()).record(took);
    }

    /// A copy of the segment-upload histogram.
    pub fn segment_upload_latency(&self) -> SegmentUploadLatency {
        self.segment_uploads.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What each topic uploaded in this run, in topic order (released partitions included).
    pub fn topic_totals(&self) -> Vec<(String, TopicTotals)> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    fn table(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, i32), PartitionProgress>> {
        // A panic elsewhere cannot leave these plain integers inconsistent; keep reporting.
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_lag_follows_uploads_and_checkpoints() {
        let p = Progress::default();
        p.partition_planned("t", 0, 100, 1100);
        assert_eq!(p.expected_records(), 1000);
        p.block_uploaded("t", 0, 400, 300, 30_000, 3_000);
        let (_, s) = p.partitions()[0].clone();
        assert_eq!((s.lag_records(), s.unacknowledged_records()), (700, 300));
        assert_eq!(s.mean_record_bytes(), Some(100.0));
        p.checkpointed("t", 0, 400, Duration::from_millis(7));
        let (_, s) = p.partitions()[0].clone();
        assert_eq!((s.lag_records(), s.unacknowledged_records(), s.segments), (700, 0, 1));
        assert_eq!((p.records(), p.bytes()), (300, 30_000));
    }

    #[test]
    fn continuous_lag_follows_the_high_watermark() {
        let p = Progress::default();
        p.partition_planned("t", 0, 0, 100);
        p.block_uploaded("t", 0, 100, 100, 10_000, 1_000);
        assert_eq!(p.partitions()[0].1.lag_records(), 0);
        p.high_watermark("t", 0, 350);
        assert_eq!((p.partitions()[0].1.lag_records(), p.expected_records()), (250, 350));
        // A stale (lower) watermark neither shrinks the end nor the expected total.
        p.high_watermark("t", 0, 300);
        assert_eq!((p.partitions()[0].1.lag_records(), p.expected_records()), (250, 350));
    }

    #[test]
    fn latency_buckets_are_cumulative() {
        let p = Progress::default();
        p.checkpointed("t", 0, 1, Duration::from_millis(3));
        p.checkpointed("t", 0, 2, Duration::from_millis(300));
        let h = p.checkpoint_latency();
        assert_eq!(h.count, 2);
        assert_eq!(h.buckets[0], 0); // ≤ 1 ms
        assert_eq!(h.buckets[2], 1); // ≤ 5 ms
        assert_eq!(h.buckets[7], 1); // ≤ 250 ms
        assert_eq!(h.buckets[8], 2); // ≤ 500 ms
        assert!((h.sum_secs - 0.303).abs() < 1e-9);
    }

    #[test]
    fn waiting_since_follows_unacknowledged_records() {
        let p = Progress::default();
        p.partition_planned("t", 0, 0, 100);
        assert_eq!(p.partitions()[0].1.waiting_since_ms, 0, "nothing read, nothing waits");
        p.block_uploaded("t", 0, 50, 50, 500, 50);
        let first = p.partitions()[0].1.waiting_since_ms;
        assert!(first > 0);
        p.block_uploaded("t", 0, 80, 30, 300, 30);
        assert_eq!(p.partitions()[0].1.waiting_since_ms, first, "the oldest waiting record counts");
        p.checkpointed("t", 0, 50, Duration::from_millis(1));
        let s = p.partitions()[0].1;
        assert_eq!(s.waiting_since_ms, s.last_checkpoint_ms, "30 records still wait, since the checkpoint");
        p.checkpointed("t", 0, 80, Duration::from_millis(1));
        assert_eq!(p.partitions()[0].1.waiting_since_ms, 0);
    }

    #[test]
    fn topic_totals_survive_a_released_partition_and_uploads_are_histogrammed() {
        let p = Progress::default();
        p.partition_planned("t", 0, 0, 10);
        p.block_uploaded("t", 0, 10, 10, 1_000, 100);
        p.partition_released("t", 0);
        assert!(p.partitions().is_empty());
        let totals = TopicTotals { records: 10, source_bytes: 1_000, stored_bytes: 100 };
        assert_eq!(p.topic_totals(), vec![("t".to_string(), totals)]);
        p.segment_uploaded(Duration::from_millis(700));
        p.segment_uploaded(Duration::from_secs(45));
        let h = p.segment_upload_latency();
        assert_eq!((h.count, h.buckets[2], h.buckets[3], h.buckets[8]), (2, 0, 1, 2));
        assert!((h.sum_secs - 45.7).abs() < 1e-9);
    }

    #[test]
    fn progress_lines_round_trip_and_log_lines_are_not_progress() {
        let p = Progress::default();
        p.expect(9);
        p.add(3, 2_041_371);
        let line = ProgressLine::render(Command::Backup, &p);
        assert!(line.contains("\"schema_version\":2") && !line.contains('\n'), "{line}");
        let parsed = ProgressLine::parse(&line).unwrap();
        assert_eq!(
            parsed.progress,
            ProgressCounts { command: Command::Backup, records: 3, bytes: 2_041_371, expected_records: 9 }
        );
        assert_eq!(ProgressLine::parse("2024-01-01T00:00:00Z  WARN kbackup: slow"), None);
        assert_eq!(ProgressLine::parse(r#"{"records": 3}"#), None);
        // A line from a kbackup of another schema version is not mistaken for ours.
        assert_eq!(ProgressLine::parse(&line.replace("\"schema_version\":2", "\"schema_version\":1")), None);
    }
}
