//! Run summaries: the figures a run measured, printed for people or as JSON for the harness.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::config::human_bytes;

/// What one `backup`, `restore` or `verify` run did, measured in that run. Printed by `--json`
/// through [`crate::schema::to_json`], which adds `schema_version`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RunSummary {
    /// `backup`, `restore` or `verify`.
    pub command: String,
    /// Backup id.
    pub backup_id: String,
    /// Records read (backup) or written (restore).
    pub records: u64,
    /// Key + value + header bytes of those records.
    pub source_bytes: u64,
    /// Encoded record bytes before compression.
    pub uncompressed_bytes: u64,
    /// Bytes written to (backup) or read from (restore) storage.
    pub stored_bytes: u64,
    /// Source ÷ stored: how much smaller the backup is than the data (the guidance's
    /// `compression_ratio`, the same meaning as the `kafka_backup_compression_ratio` metric).
    pub compression_ratio: f64,
    /// The codec's own ratio: encoded (uncompressed) record bytes ÷ stored bytes.
    pub codec_ratio: f64,
    /// Wall-clock seconds of the data phase.
    pub duration_secs: f64,
    /// Source megabytes (10^6) per second.
    pub mb_per_sec: f64,
    /// Segments written or read.
    pub segments: u64,
    /// Per-partition figures.
    pub partitions: Vec<PartitionSummary>,
    /// Time from a segment being durable to its checkpoint being durable (backup only).
    pub checkpoint_latency_ms: Option<LatencySummary>,
    /// Restore: records an earlier, interrupted run of the same restore delivered, skipped by
    /// this one (a resumed restore).
    #[serde(default)]
    pub skipped_records: u64,
    /// Restore: records of the backup outside `restore.time_window` / `restore.offsets`, not restored.
    #[serde(default)]
    pub records_not_selected: u64,
    /// Restore: object bytes read from storage by the whole command (manifests, indexes, blocks).
    #[serde(default)]
    pub storage_bytes_read: u64,
    /// Restore: stored bytes of every segment of the restored partitions' chains: what a restore
    /// of everything would read.
    #[serde(default)]
    pub backup_stored_bytes: u64,
    /// Restore: target topics whose broker replaced the records' timestamps with append times
    /// (`message.timestamp.type: LogAppendTime`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_append_time_topics: Vec<String>,
    /// Restore: records whose source timestamp was the broker's append time (LogAppendTime),
    /// restored with the same value as CreateTime: a producer cannot set LogAppendTime.
    #[serde(default)]
    pub append_time_records: u64,
    /// Restore: the consumer-group offsets committed on the target (`restore.consumer_groups`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups: Vec<crate::restore::TranslatedOffset>,
}

/// One partition's figures.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct PartitionSummary {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// First offset this run read (backup) or restored.
    pub start_offset: i64,
    /// Where the next run resumes.
    pub next_offset: i64,
    /// Records.
    pub records: u64,
    /// Key + value + header bytes.
    pub source_bytes: u64,
    /// Encoded bytes before compression.
    pub uncompressed_bytes: u64,
    /// Stored bytes.
    pub stored_bytes: u64,
    /// Segments.
    pub segments: u64,
    /// Seconds this partition's task ran.
    pub duration_secs: f64,
    /// Source MB/s of this partition.
    pub mb_per_sec: f64,
    /// Restore: records an earlier, interrupted run of the same restore delivered (skipped now).
    #[serde(default)]
    pub skipped_records: u64,
    /// Restore: records of the backup outside `restore.time_window` / `restore.offsets`.
    #[serde(default)]
    pub records_not_selected: u64,
    /// Restore: records restored whose source timestamp type was LogAppendTime.
    #[serde(default)]
    pub append_time_records: u64,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
}

/// A histogram of microseconds, 1 µs to 1 h, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

/// Percentiles of a microsecond histogram, in milliseconds; `None` when empty.
pub fn summarize_latency(histogram: &Histogram<u64>) -> Option<LatencySummary> {
    if histogram.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Some(LatencySummary {
        count: histogram.len(),
        p50: ms(histogram.value_at_quantile(0.5)),
        p90: ms(histogram.value_at_quantile(0.9)),
        p99: ms(histogram.value_at_quantile(0.99)),
        p999: ms(histogram.value_at_quantile(0.999)),
        max: ms(histogram.max()),
    })
}

/// `bytes / secs` in MB/s (10^6), 0 when no time passed.
pub fn mb_per_sec(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 { bytes as f64 / 1e6 / secs } else { 0.0 }
}

/// `a / b`, 0 when `b` is 0.
pub fn ratio(a: u64, b: u64) -> f64 {
    if b > 0 { a as f64 / b as f64 } else { 0.0 }
}

impl RunSummary {
    /// Fills totals and rates from the partition figures.
    pub fn from_partitions(
        command: &str,
        backup_id: &str,
        partitions: Vec<PartitionSummary>,
        duration_secs: f64,
    ) -> Self {
        let sum = |f: fn(&PartitionSummary) -> u64| partitions.iter().map(f).sum::<u64>();
        let (records, source_bytes, uncompressed_bytes, stored_bytes, segments) = (
            sum(|p| p.records),
            sum(|p| p.source_bytes),
            sum(|p| p.uncompressed_bytes),
            sum(|p| p.stored_bytes),
            sum(|p| p.segments),
        );
        RunSummary {
            command: command.to_string(),
            backup_id: backup_id.to_string(),
            records,
            source_bytes,
            uncompressed_bytes,
            stored_bytes,
            compression_ratio: ratio(source_bytes, stored_bytes),
            codec_ratio: ratio(uncompressed_bytes, stored_bytes),
            duration_secs,
            mb_per_sec: mb_per_sec(source_bytes, duration_secs),
            segments,
            skipped_records: partitions.iter().map(|p| p.skipped_records).sum(),
            records_not_selected: partitions.iter().map(|p| p.records_not_selected).sum(),
            storage_bytes_read: 0,
            backup_stored_bytes: 0,
            log_append_time_topics: Vec::new(),
            append_time_records: partitions.iter().map(|p| p.append_time_records).sum(),
            partitions,
            checkpoint_latency_ms: None,
            consumer_groups: Vec::new(),
        }
    }

    /// A few lines for people.
    pub fn human(&self) -> String {
        let mut out = format!(
            "{}: {} records, {} of data, {} stored (compression {:.2}x) in {:.1} s — {:.1} MB/s, {} segments",
            self.command,
            self.records,
            human_bytes(self.source_bytes),
            human_bytes(self.stored_bytes),
            self.compression_ratio,
            self.duration_secs,
            self.mb_per_sec,
            self.segments
        );
        if self.skipped_records > 0 {
            out.push_str(&format!(
                "\nresumed: {} records were in the target from an earlier run and were not produced again",
                self.skipped_records
            ));
        }
        if self.records_not_selected > 0 {
            out.push_str(&format!(
                "\nselection: {} records of the backup are outside restore.time_window / restore.offsets and were not restored",
                self.records_not_selected
            ));
        }
        if !self.log_append_time_topics.is_empty() {
            out.push_str(&format!(
                "\ntimestamps: {} uses message.timestamp.type=LogAppendTime, so the broker replaced the restored records' timestamps with their append times (time lookups and a later point-in-time restore see the restore's time); to keep them, restore into a CreateTime topic (restore.topic_config_overrides: {{message.timestamp.type: CreateTime}})",
                self.log_append_time_topics.join(", ")
            ));
        }
        if self.append_time_records > 0 {
            out.push_str(&format!(
                "\ntimestamps: {} records carried the source broker's append time (LogAppendTime); they were restored with the same value as CreateTime, as a producer cannot set LogAppendTime",
                self.append_time_records
            ));
        }
        if self.backup_stored_bytes > 0 {
            out.push_str(&format!(
                "\nstorage: read {} of the {} stored for these partitions ({:.1}%)",
                human_bytes(self.storage_bytes_read),
                human_bytes(self.backup_stored_bytes),
                100.0 * ratio(self.storage_bytes_read, self.backup_stored_bytes)
            ));
        }
        if let Some(l) = &self.checkpoint_latency_ms {
            out.push_str(&format!(
                "\ncheckpoint latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} checkpoints)",
                l.p50, l.p99, l.max, l.count
            ));
        }
        if !self.consumer_groups.is_empty() {
            let groups: std::collections::BTreeSet<&str> =
                self.consumer_groups.iter().map(|t| t.group.as_str()).collect();
            out.push_str(&format!(
                "\nconsumer groups committed: {} ({} partition offsets)",
                groups.into_iter().collect::<Vec<_>>().join(", "),
                self.consumer_groups.len()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_samples() {
        let mut h = latency_histogram();
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap();
        }
        let s = summarize_latency(&h).unwrap();
        assert_eq!(s.count, 1000);
        assert!((s.p50 - 500.0).abs() < 1.0, "{s:?}");
        assert!((s.p99 - 990.0).abs() < 2.0, "{s:?}");
        assert!((s.max - 1000.0).abs() < 1.0, "{s:?}");
        assert!(summarize_latency(&latency_histogram()).is_none());
    }

    #[test]
    fn totals_and_ratios() {
        let p = |records, bytes, stored| PartitionSummary {
            records,
            source_bytes: bytes,
            uncompressed_bytes: bytes + records * 10,
            stored_bytes: stored,
            ..Default::default()
        };
        let s = RunSummary::from_partitions(
            "backup",
            "b",
            vec![p(10, 4_000_000, 1_000_000), p(5, 2_000_000, 1_000_000)],
            2.0,
        );
        assert_eq!(s.records, 15);
        assert_eq!(s.compression_ratio, 3.0, "source ÷ stored");
        assert!((s.codec_ratio - 3.000_075).abs() < 1e-12, "encoded ÷ stored: {}", s.codec_ratio);
        assert_eq!(s.mb_per_sec, 3.0);
    }
}
