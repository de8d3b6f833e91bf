//! Prometheus metrics: a snapshot of a run's [`Progress`] rendered in the text exposition format
//! (pure), served over HTTP by [`http::serve`] while the run lasts.
//!
//! `kafka_backup_lag_bytes` is what an autoscaler watches. Kafka does not say how many bytes lie
//! between two offsets, so it is an estimate: offsets left to read × the partition's mean record
//! size so far (absent until the partition's first block). `kafka_backup_lag_records` is exact:
//! against the snapshot boundary, or in continuous mode against the high watermark of the
//! partition's latest fetch response (refreshed at least every 200 ms while it is read).

pub mod http;

use std::fmt::Write as _;

use crate::progress::{CHECKPOINT_BUCKETS, CheckpointLatency, PartitionProgress, Progress};

/// Everything one scrape reports.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `backup` or `restore`.
    pub command: &'static str,
    /// The backup being written or read.
    pub backup_id: String,
    /// Records done in this run (all partitions).
    pub records: u64,
    /// Source bytes done in this run.
    pub bytes: u64,
    /// Records expected in this run (0 when unknown).
    pub expected_records: u64,
    /// Per-partition state (backups only).
    pub partitions: Vec<((String, i32), PartitionProgress)>,
    /// Checkpoint latency (backups only).
    pub checkpoints: CheckpointLatency,
}

impl Snapshot {
    /// Copies the live counters.
    pub fn take(command: &'static str, backup_id: &str, progress: &Progress) -> Self {
        Snapshot {
            command,
            backup_id: backup_id.to_string(),
            records: progress.records(),
            bytes: progress.bytes(),
            expected_records: progress.expected_records(),
            partitions: progress.partitions(),
            checkpoints: progress.checkpoint_latency(),
        }
    }
}

/// Renders a snapshot in the Prometheus text format (version 0.0.4).
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let run = format!("command=\"{}\",backup_id=\"{}\"", s.command, escape(&s.backup_id));
    family(&mut out, "kbackup_info", "gauge", "Always 1; labels name the running command and backup.");
    sample(&mut out, "kbackup_info", &format!("{run},version=\"{}\"", env!("CARGO_PKG_VERSION")), 1.0);
    family(&mut out, "kbackup_records_total", "counter", "Records backed up or restored in this run.");
    sample(&mut out, "kbackup_records_total", &run, s.records as f64);
    family(&mut out, "kbackup_source_bytes_total", "counter", "Record bytes (key, value, headers) done in this run.");
    sample(&mut out, "kbackup_source_bytes_total", &run, s.bytes as f64);
    family(&mut out, "kbackup_expected_records", "gauge", "Records (offsets) this run expects to process.");
    sample(&mut out, "kbackup_expected_records", &run, s.expected_records as f64);
    if s.command == "backup" {
        render_partitions(&mut out, &s.partitions);
        render_compression(&mut out, &s.partitions);
        render_latency(&mut out, &s.checkpoints);
    }
    out
}

type PerPartition = fn(&PartitionProgress) -> Option<f64>;

fn render_partitions(out: &mut String, partitions: &[((String, i32), PartitionProgress)]) {
    let families: [(&str, &str, &str, PerPartition); 7] = [
        (
            "kafka_backup_lag_records",
            "gauge",
            "Offsets left to read: to the snapshot boundary, or in continuous mode to the partition's high watermark.",
            |p| Some(p.lag_records() as f64),
        ),
        (
            "kafka_backup_lag_bytes",
            "gauge",
            "Estimated bytes left to read: lag_records x mean record size so far.",
            |p| p.mean_record_bytes().map(|mean| mean * p.lag_records() as f64),
        ),
        (
            "kafka_backup_unacknowledged_records",
            "gauge",
            "Records uploaded but not yet covered by a durable checkpoint.",
            |p| Some(p.unacknowledged_records() as f64),
        ),
        ("kafka_backup_checkpointed_offset", "gauge", "Next offset after the last durable checkpoint.", |p| {
            Some(p.checkpointed_offset as f64)
        }),
        ("kafka_backup_partition_records_total", "counter", "Records uploaded for the partition.", |p| {
            Some(p.records as f64)
        }),
        ("kafka_backup_partition_stored_bytes_total", "counter", "Compressed bytes uploaded for the partition.", |p| {
            Some(p.stored_bytes as f64)
        }),
        ("kafka_backup_segments_total", "counter", "Segments completed and checkpointed.", |p| Some(p.segments as f64)),
    ];
    for (name, kind, help, value) in families {
        family(out, name, kind, help);
        for ((topic, partition), p) in partitions {
            if let Some(v) = value(p) {
                sample(out, name, &format!("topic=\"{}\",partition=\"{partition}\"", escape(topic)), v);
            }
        }
    }
}

/// `kafka_backup_compression_ratio` per topic: source bytes ÷ stored bytes, cumulative for the run
/// (the same meaning as `compression_ratio` in the `--json` summary and the harness reports).
fn render_compression(out: &mut String, partitions: &[((String, i32), PartitionProgress)]) {
    let name = "kafka_backup_compression_ratio";
    family(out, name, "gauge", "Source bytes / stored bytes per topic, cumulative for this run.");
    let mut per_topic: std::collections::BTreeMap<&str, (u64, u64)> = std::collections::BTreeMap::new();
    for ((topic, _), p) in partitions {
        let entry = per_topic.entry(topic).or_default();
        entry.0 += p.source_bytes;
        entry.1 += p.stored_bytes;
    }
    for (topic, (source, stored)) in per_topic {
        if stored > 0 {
            sample(out, name, &format!("topic=\"{}\"", escape(topic)), source as f64 / stored as f64);
        }
    }
}

fn render_latency(out: &mut String, h: &CheckpointLatency) {
    let name = "kafka_backup_checkpoint_latency_seconds";
    family(out, name, "histogram", "From a segment being durable to its checkpoint being durable.");
    for (bound, count) in CHECKPOINT_BUCKETS.iter().zip(h.buckets) {
        sample(out, &format!("{name}_bucket"), &format!("le=\"{bound}\""), count as f64);
    }
    sample(out, &format!("{name}_bucket"), "le=\"+Inf\"", h.count as f64);
    sample(out, &format!("{name}_sum"), "", h.sum_secs);
    sample(out, &format!("{name}_count"), "", h.count as f64);
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: f64) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn backup_snapshot_renders_lag_and_latency() {
        let p = Progress::default();
        p.partition_planned("orders", 0, 0, 1000);
        p.partition_planned("orders", 1, 0, 10);
        p.block_uploaded("orders", 0, 250, 250, 250 * 400, 9_000);
        p.checkpointed("orders", 0, 250, Duration::from_millis(20));
        let text = render(&Snapshot::take("backup", "b\"1", &p));
        assert_eq!(
            line(&text, "kafka_backup_lag_records{topic=\"orders\",partition=\"0\"}"),
            Some("kafka_backup_lag_records{topic=\"orders\",partition=\"0\"} 750")
        );
        assert_eq!(
            line(&text, "kafka_backup_lag_bytes{topic=\"orders\",partition=\"0\"}").unwrap().split(' ').nth(1),
            Some("300000")
        );
        // No block yet on partition 1: no size to estimate from, so no lag_bytes sample.
        assert!(line(&text, "kafka_backup_lag_bytes{topic=\"orders\",partition=\"1\"}").is_none());
        assert!(line(&text, "kafka_backup_lag_records{topic=\"orders\",partition=\"1\"} 10").is_some());
        assert!(text.contains("kafka_backup_checkpoint_latency_seconds_bucket{le=\"0.01\"} 0\n"));
        assert!(text.contains("kafka_backup_checkpoint_latency_seconds_bucket{le=\"0.025\"} 1\n"));
        assert!(text.contains("kafka_backup_checkpoint_latency_seconds_count 1\n"));
        assert!(text.contains("backup_id=\"b\\\"1\""), "label values are escaped");
        // Source ÷ stored over the topic's partitions: 100,000 bytes stored as 9,000.
        let ratio = line(&text, "kafka_backup_compression_ratio{topic=\"orders\"}").unwrap();
        let ratio: f64 = ratio.split(' ').nth(1).unwrap().parse().unwrap();
        assert!((ratio - 100_000.0 / 9_000.0).abs() < 1e-9, "{ratio}");
        assert!(text.contains("kbackup_records_total{command=\"backup\",backup_id=\"b\\\"1\"} 250\n"));
    }

    #[test]
    fn every_sample_follows_its_type_line() {
        let p = Progress::default();
        p.partition_planned("t", 0, 0, 5);
        let text = render(&Snapshot::take("backup", "id", &p));
        let mut declared = std::collections::HashSet::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
                assert!(declared.contains(name) || declared.contains(family), "{l} has no TYPE line before it");
            }
        }
    }

    #[test]
    fn restore_snapshot_has_totals_only() {
        let p = Progress::default();
        p.add(5, 50);
        let text = render(&Snapshot::take("restore", "id", &p));
        assert!(text.contains("kbackup_source_bytes_total{command=\"restore\",backup_id=\"id\"} 50\n"));
        assert!(!text.contains("kafka_backup_lag"));
    }
}
