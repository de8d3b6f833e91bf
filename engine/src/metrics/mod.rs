//! Prometheus metrics and health for `--metrics-listen`: a `prometheus-client` registry whose
//! collector ([`collect::ProgressCollector`]) reads the run's live [`Progress`] at scrape time,
//! encoded in the Prometheus text format, and served with `/health` and `/ready` by [`http::serve`].
//! Every family is documented in `docs/metrics.md`; a test below holds the two in step.
//!
//! `kafka_backup_lag_bytes` is what an autoscaler watches. Kafka does not say how many bytes lie
//! between two offsets, so it is an estimate: offsets left to read × the partition's mean record
//! size so far (absent until the partition's first block). `kafka_backup_lag_records` is exact:
//! against the snapshot boundary, or in continuous mode against the high watermark of the
//! partition's latest fetch response (refreshed at least every 200 ms while it is read).

pub mod collect;
pub mod http;
pub mod ready;

use std::sync::Arc;

use prometheus_client::registry::Registry;

use crate::progress::{Command, Progress};

/// The `Content-Type` of [`render`]'s output (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A registry holding one collector over `progress`, for `command` on `backup_id`.
pub fn registry(command: Command, backup_id: &str, progress: Arc<Progress>) -> Registry {
    let mut registry = Registry::default();
    let collector = collect::ProgressCollector { command, backup_id: backup_id.to_string(), progress };
    registry.register_collector(Box::new(collector));
    registry
}

/// Encodes every family in the Prometheus text format, with the values of this moment.
pub fn render(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, registry)?;
    Ok(text)
}

/// The metric names (first column) of the table in `docs/metrics.md`, in table order.
pub fn documented_names(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::*;

    const DOC: &str = include_str!("../../../docs/metrics.md");

    fn text(command: Command, backup_id: &str, progress: Progress) -> String {
        render(&registry(command, backup_id, Arc::new(progress))).unwrap()
    }

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// Family names as a scrape shows them: `# TYPE` lines, with `_total` for counters.
    fn families(text: &str) -> BTreeSet<String> {
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next().map(str::to_string)).collect()
    }

    /// A backup that did a bit of everything.
    fn busy_backup() -> Progress {
        let p = Progress::default();
        p.partition_planned("orders", 0, 0, 1000);
        p.partition_planned("orders", 1, 0, 10);
        p.block_uploaded("orders", 0, 250, 250, 250 * 400, 9_000);
        p.segment_uploaded(Duration::from_millis(1_800));
        p.checkpointed("orders", 0, 250, Duration::from_millis(20));
        p.rebalanced();
        p.error_seen("store");
        p
    }

    #[test]
    fn backup_families_are_exactly_the_documented_ones() {
        let scraped = families(&text(Command::Backup, "b", busy_backup()));
        let documented: BTreeSet<String> =
            documented_names(DOC).into_iter().filter(|n| !n.starts_with("kafka_restore_")).collect();
        assert_eq!(scraped, documented);
        let restore = families(&text(Command::Restore, "b", Progress::default()));
        let documented: BTreeSet<String> =
            documented_names(DOC).into_iter().filter(|n| !n.starts_with("kafka_backup_")).collect();
        assert_eq!(restore, documented);
    }

    #[test]
    fn backup_values_come_from_progress() {
        let t = text(Command::Backup, "b\"1", busy_backup());
        let p0 = "{topic=\"orders\",partition=\"0\"}";
        assert_eq!(value(&t, &format!("kafka_backup_lag_records{p0}")), Some(750.0));
        assert_eq!(value(&t, &format!("kafka_backup_lag_bytes{p0}")), Some(300_000.0));
        // No block yet on partition 1: no size to estimate from, so no lag_bytes sample.
        assert_eq!(value(&t, "kafka_backup_lag_bytes{topic=\"orders\",partition=\"1\"}"), None);
        assert_eq!(value(&t, "kafka_backup_lag_records{topic=\"orders\",partition=\"1\"}"), Some(10.0));
        assert_eq!(value(&t, "kafka_backup_records_total{topic=\"orders\"}"), Some(250.0));
        assert_eq!(value(&t, "kafka_backup_bytes_total{topic=\"orders\"}"), Some(100_000.0));
        assert_eq!(value(&t, "kafka_backup_stored_bytes_total{topic=\"orders\"}"), Some(9_000.0));
        let ratio = value(&t, "kafka_backup_compression_ratio{topic=\"orders\"}").unwrap();
        assert!((ratio - 100_000.0 / 9_000.0).abs() < 1e-9, "{ratio}");
        assert_eq!(value(&t, "kafka_backup_checkpoint_latency_seconds_bucket{le=\"0.01\"}"), Some(0.0));
        assert_eq!(value(&t, "kafka_backup_checkpoint_latency_seconds_bucket{le=\"0.025\"}"), Some(1.0));
        assert_eq!(value(&t, "kafka_backup_checkpoint_latency_seconds_bucket{le=\"+Inf\"}"), Some(1.0));
        assert_eq!(value(&t, "kafka_backup_checkpoint_latency_seconds_count"), Some(1.0));
        assert_eq!(value(&t, "kafka_backup_segment_upload_seconds_bucket{le=\"1\"}"), Some(0.0));
        assert_eq!(value(&t, "kafka_backup_segment_upload_seconds_bucket{le=\"2.5\"}"), Some(1.0));
        assert_eq!(value(&t, "kafka_backup_segment_upload_seconds_sum"), Some(1.8));
        let recovery = value(&t, &format!("kafka_backup_last_checkpoint_timestamp_seconds{p0}")).unwrap();
        assert!((recovery - crate::manifest::now_ms() as f64 / 1000.0).abs() < 60.0, "{recovery}");
        assert_eq!(value(&t, "kafka_backup_last_checkpoint_timestamp_seconds{topic=\"orders\",partition=\"1\"}"), None);
        assert_eq!(value(&t, &format!("kafka_backup_checkpointed_offset{p0}")), Some(250.0));
        assert_eq!(value(&t, "kafka_backup_assigned_partitions"), Some(2.0));
        assert_eq!(value(&t, "kafka_backup_rebalances_total"), Some(1.0));
        assert_eq!(value(&t, "kafka_backup_errors_total{kind=\"store\"}"), Some(1.0));
        assert_eq!(value(&t, "kafka_backup_errors_total{kind=\"kafka\"}"), Some(0.0), "known kinds start at 0");
        let info = format!(
            "kbackup_info{{command=\"backup\",backup_id=\"b\\\"1\",version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(value(&t, &info), Some(1.0), "label values are escaped: {t}");
    }

    #[test]
    fn a_released_partition_leaves_the_gauges_but_not_the_totals() {
        let p = busy_backup();
        p.partition_released("orders", 0);
        let t = text(Command::Backup, "b", p);
        assert_eq!(value(&t, "kafka_backup_assigned_partitions"), Some(1.0));
        assert_eq!(value(&t, "kafka_backup_lag_records{topic=\"orders\",partition=\"0\"}"), None);
        assert_eq!(value(&t, "kafka_backup_records_total{topic=\"orders\"}"), Some(250.0));
    }

    #[test]
    fn restore_reports_totals_and_what_is_left() {
        let p = Progress::default();
        p.expect(80);
        p.add(5, 50);
        p.error_seen("kafka");
        let t = text(Command::Restore, "id", p);
        assert_eq!(value(&t, "kafka_restore_records_total"), Some(5.0));
        assert_eq!(value(&t, "kafka_restore_bytes_total"), Some(50.0));
        assert_eq!(value(&t, "kafka_restore_lag_records"), Some(75.0));
        assert_eq!(value(&t, "kafka_restore_errors_total{kind=\"kafka\"}"), Some(1.0));
        assert!(!t.contains("kafka_backup_"), "{t}");
    }

    #[test]
    fn every_sample_follows_its_type_line() {
        let t = text(Command::Backup, "id", busy_backup());
        let mut declared = BTreeSet::new();
        for l in t.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
                assert!(declared.contains(name) || declared.contains(family), "{l} has no TYPE line before it");
            }
        }
    }
}
