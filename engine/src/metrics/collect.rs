//! The [`Collector`] that turns a live [`Progress`] into metric families at scrape time: nothing
//! is copied between scrapes, so every value is what the run holds right now.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::progress::{CHECKPOINT_BUCKETS, Command, PartitionProgress, Progress, SEGMENT_UPLOAD_BUCKETS, TopicTotals};

/// Error kinds always exported (at 0 until one happens), so `rate()` has a series from the start.
pub const BACKUP_ERROR_KINDS: [&str; 4] = ["kafka", "segment", "shutdown", "store"];
/// The same for restores.
pub const RESTORE_ERROR_KINDS: [&str; 6] = ["integrity", "kafka", "manifest", "segment", "shutdown", "store"];

/// Reads one run's [`Progress`] on every scrape.
#[derive(Debug)]
pub struct ProgressCollector {
    /// The running command: backup and restore export different families.
    pub command: Command,
    /// The backup being written or read.
    pub backup_id: String,
    /// The run's live counters.
    pub progress: Arc<Progress>,
}

impl Collector for ProgressCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let command = match self.command {
            Command::Backup => "backup",
            Command::Restore => "restore",
        };
        let labels =
            [("command", command), ("backup_id", self.backup_id.as_str()), ("version", env!("CARGO_PKG_VERSION"))];
        let mut info = encoder.encode_descriptor(
            "kbackup",
            "Always 1; the labels name the running command, the backup and the kbackup version",
            None,
            MetricType::Info,
        )?;
        info.encode_info(&labels)?;
        match self.command {
            Command::Backup => encode_backup(&mut encoder, &self.progress),
            Command::Restore => encode_restore(&mut encoder, &self.progress),
        }
    }
}

type Partition<'a> = ([(&'static str, &'a str); 1], [(&'static str, i32); 1]);
type Topic<'a> = [(&'static str, &'a str); 1];

fn encode_backup(e: &mut DescriptorEncoder<'_>, progress: &Progress) -> fmt::Result {
    let partitions = progress.partitions();
    let topics = progress.topic_totals();
    let per_topic = |value: fn(&TopicTotals) -> u64| -> Vec<(Topic<'_>, u64)> {
        topics.iter().map(|(topic, t)| ([("topic", topic.as_str())], value(t))).collect()
    };
    let ratios: Vec<(Topic<'_>, f64)> = topics
        .iter()
        .filter(|(_, t)| t.stored_bytes > 0)
        .map(|(topic, t)| ([("topic", topic.as_str())], t.source_bytes as f64 / t.stored_bytes as f64))
        .collect();
    gauges(
        e,
        "kafka_backup_compression_ratio",
        "Source bytes / stored bytes per topic, cumulative for this run",
        &ratios,
    )?;
    gauges(
        e,
        "kafka_backup_lag_bytes",
        "Estimated bytes left to read: lag_records x the partition's mean record size so far",
        &per_partition(&partitions, |p| p.mean_record_bytes().map(|mean| mean * p.lag_records() as f64)),
    )?;
    gauges(
        e,
        "kafka_backup_lag_records",
        "Offsets left to read: to the snapshot boundary, or in continuous mode to the high watermark",
        &per_partition(&partitions, |p| Some(p.lag_records())),
    )?;
    counters(e, "kafka_backup_records", "Records read into segments in this run", &per_topic(|t| t.records))?;
    counters(
        e,
        "kafka_backup_bytes",
        "Source bytes (key + value + headers) read into segments in this run",
        &per_topic(|t| t.source_bytes),
    )?;
    counters(
        e,
        "kafka_backup_stored_bytes",
        "Bytes written to the store (compressed) in this run",
        &per_topic(|t| t.stored_bytes),
    )?;
    let checkpoints = progress.checkpoint_latency();
    histogram(
        e,
        "kafka_backup_checkpoint_latency_seconds",
        "From a segment being durable to its checkpoint being durable",
        (&CHECKPOINT_BUCKETS, &checkpoints.buckets, checkpoints.count, checkpoints.sum_secs),
    )?;
    let uploads = progress.segment_upload_latency();
    histogram(
        e,
        "kafka_backup_segment_upload_seconds",
        "From a segment's open to its object being durable in the store",
        (&SEGMENT_UPLOAD_BUCKETS, &uploads.buckets, uploads.count, uploads.sum_secs),
    )?;
    gauges(
        e,
        "kafka_backup_last_checkpoint_timestamp_seconds",
        "When the partition's newest checkpoint became durable (Unix seconds): its recovery point",
        &per_partition(&partitions, |p| (p.last_checkpoint_ms > 0).then(|| p.last_checkpoint_ms as f64 / 1000.0)),
    )?;
    gauges(
        e,
        "kafka_backup_checkpointed_offset",
        "Next offset after the last durable checkpoint: the recovery point in offsets",
        &per_partition(&partitions, |p| Some(p.checkpointed_offset)),
    )?;
    gauges(
        e,
        "kafka_backup_assigned_partitions",
        "Partitions this process backs up right now",
        &[(NoLabels, partitions.len() as i64)],
    )?;
    counters(
        e,
        "kafka_backup_rebalances",
        "Consumer-group rebalances that changed this process's partitions",
        &[(NoLabels, progress.rebalances())],
    )?;
    let help = "Errors by kind, whether or not the run survived them";
    errors(e, "kafka_backup_errors", help, &BACKUP_ERROR_KINDS, progress)
}

/// One sample per partition for which `value` has one.
fn per_partition<'a, V>(
    partitions: &'a [((String, i32), PartitionProgress)],
    value: fn(&PartitionProgress) -> Option<V>,
) -> Vec<(Partition<'a>, V)> {
    partitions
        .iter()
        .filter_map(|((topic, partition), p)| {
            Some((([("topic", topic.as_str())], [("partition", *partition)]), value(p)?))
        })
        .collect()
}

fn encode_restore(e: &mut DescriptorEncoder<'_>, progress: &Progress) -> fmt::Result {
    counters(
        e,
        "kafka_restore_records",
        "Records handed to the producer in this run",
        &[(NoLabels, progress.records())],
    )?;
    counters(
        e,
        "kafka_restore_bytes",
        "Source bytes (key + value + headers) handed to the producer in this run",
        &[(NoLabels, progress.bytes())],
    )?;
    let left = progress.expected_records().saturating_sub(progress.records());
    gauges(e, "kafka_restore_lag_records", "Records of the backup not yet restored", &[(NoLabels, left)])?;
    errors(e, "kafka_restore_errors", "Errors by kind that ended the restore", &RESTORE_ERROR_KINDS, progress)
}

/// No labels (one unlabelled sample).
#[derive(Debug, Clone, Copy)]
struct NoLabels;

impl EncodeLabelSet for NoLabels {
    fn encode(&self, _: &mut prometheus_client::encoding::LabelSetEncoder<'_>) -> fmt::Result {
        Ok(())
    }
}

fn gauges<L: EncodeLabelSet, V: EncodeGaugeValue + Copy>(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(L, V)],
) -> fmt::Result {
    let mut metric = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

/// `name` without `_total`: the encoder appends it to counters.
fn counters<L: EncodeLabelSet>(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(L, u64)],
) -> fmt::Result {
    let mut metric = e.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        ConstCounter::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn errors(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    known: &[&'static str],
    progress: &Progress,
) -> fmt::Result {
    let mut by_kind: BTreeMap<&str, u64> = known.iter().map(|kind| (*kind, 0)).collect();
    by_kind.extend(progress.errors());
    let samples: Vec<_> = by_kind.into_iter().map(|(kind, n)| ([("kind", kind)], n)).collect();
    counters(e, name, help, &samples)
}

/// A classic histogram from cumulative counts: (bounds, cumulative counts, count, sum).
fn histogram(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, h: (&[f64], &[u64], u64, f64)) -> fmt::Result {
    let (bounds, cumulative, count, sum) = h;
    // The encoder takes per-bucket counts and accumulates them itself.
    let mut previous = 0;
    let buckets: Vec<(f64, u64)> = bounds
        .iter()
        .zip(cumulative)
        .map(|(bound, &total)| {
            let own = total.saturating_sub(previous);
            previous = total;
            (*bound, own)
        })
        .collect();
    let mut metric = e.encode_descriptor(name, help, None, MetricType::Histogram)?;
    metric.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
}
