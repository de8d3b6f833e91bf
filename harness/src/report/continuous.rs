//! What the `continuous` phase observed — every metrics sample of every `kbackup backup
//! --continuous` instance, the schedule's events and the faults — and the pure functions that
//! turn it into the report's figures: lag, recovery point, checkpoint latency from the
//! histogram, CPU and memory under steady load (membership changes and stages: `rebalance.rs`).
//!
//! Definitions (also printed in `report.md`):
//! - *lag*: the sum over partitions of `kafka_backup_lag_bytes` in one sample.
//! - *recovery point*: newest produced record − the oldest of the partitions' newest durable
//!   checkpoints (`kafka_backup_last_checkpoint_timestamp_seconds`), in seconds, ≥ 0. While the
//!   load runs the newest produced record is "now". A checkpoint's timestamp is when it became
//!   durable, a little after its newest record was read, so this under-states the data at risk
//!   by the read and upload time of a segment.
//! - Lag and recovery point are taken over the samples while the load runs, before any kill,
//!   and — recovery point — once every partition has a checkpoint.

use crate::scenario::InstanceAction;
use crate::stats;
use serde::{Deserialize, Serialize};

/// What the continuous phase observed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContinuousObserved {
    /// Partitions of the topic.
    pub partitions: u32,
    /// `backup.segment_max_age` of the run, s.
    pub segment_max_age_secs: f64,
    /// Seconds after the load start at which the load generator finished.
    pub load_secs: f64,
    /// Unix seconds of the load start (t = 0).
    pub load_start_unix: f64,
    /// One entry per metrics sample, in time order.
    pub ticks: Vec<Tick>,
    /// The schedule's steps as they happened.
    pub events: Vec<Event>,
    /// Every instance, in start order.
    pub instances: Vec<InstanceRun>,
    /// What each kill did to the partitions.
    pub faults: Vec<Fault>,
    /// `kafka_backup_checkpoint_latency_seconds` of every instance's last scrape, merged:
    /// `(le in seconds, cumulative count)`, `le` ascending, `+Inf` as infinity dropped.
    pub checkpoint_buckets: Vec<(f64, f64)>,
    /// Checkpoints in the merged histogram (its `_count`).
    pub checkpoint_count: f64,
    /// Seconds from the end of the load (or of a kill's watch, when later) until every partition
    /// had been read to its end (lag 0); `None` when that did not happen within the drain timeout
    /// or was not waited for.
    pub drained_after_secs: Option<f64>,
    /// What the harness did after a fault the group did not survive, as an operator would.
    pub recovery: Option<String>,
    /// Every assignment and release of a partition, from the instances' logs (a kill releases
    /// what the instance held), in time order.
    #[serde(default)]
    pub ownership: Vec<OwnershipChange>,
}

/// One partition changing hands, from an instance's log.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OwnershipChange {
    /// Seconds since the load started (negative: before it).
    pub t_secs: f64,
    /// The instance.
    pub instance: u32,
    /// The partition.
    pub partition: i32,
    /// Assigned (true) or released (false).
    pub held: bool,
}

/// One metrics sample of every running instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Seconds since the load started.
    pub t_secs: f64,
    /// Whether the load generator was still producing.
    pub producing: bool,
    /// Bytes produced so far.
    pub produced_bytes: u64,
    /// Oldest of the partitions' newest durable checkpoints (Unix s); `None` until every
    /// partition has one.
    pub checkpoint_floor_unix: Option<f64>,
    /// Unix seconds of the sample.
    pub wall_unix: f64,
    /// One entry per instance running at the sample.
    pub instances: Vec<InstanceTick>,
}

/// One instance in one sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceTick {
    /// Instance number (1 = the first started).
    pub instance: u32,
    /// Whether `/metrics` answered; the other metric fields are 0 when not.
    pub scraped: bool,
    /// `kafka_backup_records_total`, summed over topics.
    pub records_total: f64,
    /// `kafka_backup_bytes_total`, summed over topics.
    pub bytes_total: f64,
    /// `kafka_backup_lag_bytes`, summed over partitions.
    pub lag_bytes: f64,
    /// `kafka_backup_lag_records`, summed over partitions.
    pub lag_records: f64,
    /// `kafka_backup_assigned_partitions`.
    pub assigned: Option<f64>,
    /// Partitions the instance holds according to its log (assigned/revoked by the group).
    pub partitions: Vec<i32>,
    /// CPU seconds (user + sys) of the process so far, from /proc.
    pub cpu_secs: f64,
    /// Resident set of the process, bytes, from /proc.
    pub rss_bytes: u64,
}

/// A schedule step as it happened.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the load started (0: before it).
    pub t_secs: f64,
    /// The instance started, stopped or killed.
    pub instance: u32,
    /// What happened.
    pub action: InstanceAction,
}

/// One instance over its life.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceRun {
    /// Instance number.
    pub instance: u32,
    /// How it ended, e.g. `exit 0` or `killed (SIGKILL)`.
    pub exit: String,
    /// Its log file, from the report directory (`runs/<point>-r<n>/backup-<n>.log`).
    pub log: String,
    /// Peak RSS of the process (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// CPU seconds of the process.
    pub cpu_secs: f64,
    /// Records in its `--json` summary (none when killed).
    pub records: Option<u64>,
}

/// What a SIGKILL did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// When the instance was killed, s after the load start.
    pub t_secs: f64,
    /// The killed instance.
    pub instance: u32,
    /// The partitions it held.
    pub orphaned: Vec<i32>,
    /// How long the harness watched for the group to hand them to the survivors, s.
    pub watched_secs: f64,
    /// Seconds after the kill at which every partition was held by a surviving instance again.
    pub taken_over_after_secs: Option<f64>,
    /// Largest recovery point while watched, s.
    pub recovery_point_max_secs: Option<f64>,
    /// What happened, in words (with the broker limit when one applies).
    pub detail: String,
}

impl Fault {
    /// Whether the group handed every partition to a surviving instance while watched.
    pub fn survived(&self) -> bool {
        self.taken_over_after_secs.is_some()
    }
}

/// The recovery point of one sample: `max(0, newest produced record − checkpoint floor)`.
pub fn recovery_point(tick: &Tick, load_start_unix: f64, load_secs: f64) -> Option<f64> {
    let newest_produced = tick.wall_unix.min(load_start_unix + load_secs);
    tick.checkpoint_floor_unix.map(|floor| (newest_produced - floor).max(0.0))
}

impl ContinuousObserved {
    /// When the first kill happened (s), if any.
    pub fn first_kill_secs(&self) -> Option<f64> {
        self.events.iter().find(|e| e.action == InstanceAction::Kill).map(|e| e.t_secs)
    }

    /// Samples under steady, fault-free load: producing, before any kill.
    fn steady(&self) -> impl Iterator<Item = &Tick> {
        let kill = self.first_kill_secs().unwrap_or(f64::INFINITY);
        self.ticks.iter().filter(move |t| t.producing && t.t_secs < kill)
    }

    /// Summed lag in MB per steady sample.
    pub fn lag_mb(&self) -> Vec<f64> {
        self.steady().map(|t| t.instances.iter().map(|i| i.lag_bytes).sum::<f64>() / 1e6).collect()
    }

    /// Recovery point per steady sample with a checkpoint on every partition, s.
    pub fn recovery_points(&self) -> Vec<f64> {
        self.steady().filter_map(|t| recovery_point(t, self.load_start_unix, self.load_secs)).collect()
    }

    /// p99 of the checkpoint latency in ms from the merged histogram.
    pub fn checkpoint_p99_ms(&self) -> Option<f64> {
        histogram_quantile(0.99, &self.checkpoint_buckets, self.checkpoint_count).map(|s| s * 1e3)
    }

    /// `(CPU seconds per GB read, peak RSS bytes)` over the steady window: from the first sample
    /// with a checkpoint on every partition to the last steady one.
    pub fn steady_cost(&self) -> Option<(f64, u64)> {
        let window: Vec<&Tick> = self.steady().skip_while(|t| t.checkpoint_floor_unix.is_none()).collect();
        let (mut cpu, mut bytes, mut rss) = (0.0, 0.0, 0u64);
        for instance in &self.instances {
            let seen: Vec<&InstanceTick> = (window.iter())
                .flat_map(|t| t.instances.iter().filter(|i| i.instance == instance.instance && i.scraped))
                .collect();
            if let (Some(first), Some(last)) = (seen.first(), seen.last()) {
                cpu += last.cpu_secs - first.cpu_secs;
                bytes += last.bytes_total - first.bytes_total;
                rss = rss.max(seen.iter().map(|i| i.rss_bytes).max().unwrap_or(0));
            }
        }
        (bytes > 0.0).then(|| (cpu / (bytes / 1e9), rss))
    }
}

/// Prometheus's `histogram_quantile`: the bucket holding the `q` quantile, linearly
/// interpolated between its bounds (the first bucket from 0); in the `+Inf` bucket, the largest
/// finite bound. `buckets` are `(le, cumulative count)` with finite `le`, ascending.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)], count: f64) -> Option<f64> {
    if count <= 0.0 || buckets.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * count;
    let mut lower = (0.0, 0.0);
    for &(le, cumulative) in buckets {
        if cumulative >= rank {
            let inside = cumulative - lower.1;
            let share = if inside > 0.0 { (rank - lower.1) / inside } else { 1.0 };
            return Some(lower.0 + (le - lower.0) * share);
        }
        lower = (le, cumulative);
    }
    buckets.last().map(|(le, _)| *le)
}

/// Quantiles p50, p99 and the maximum of `values`.
pub fn p50_p99_max(values: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    (stats::quantile(values, 0.5), stats::quantile(values, 0.99), stats::max(values))
}
