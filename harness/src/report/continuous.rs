//! What the `continuous` phase observed — every metrics sample of every `kbackup backup
//! --continuous` instance, the schedule's events and the faults — and the pure functions that
//! turn it into the report's figures: lag, recovery point, checkpoint latency from the
//! histogram, CPU and memory under steady load, and per membership change how long backup
//! paused and how the partitions and throughput were spread over the instances.
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
use std::collections::{BTreeMap, BTreeSet};

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
    /// Seconds after the load ended until every partition had been read to its end (lag 0);
    /// `None` when that did not happen within the drain timeout or was not waited for.
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

/// A time a partition that had an owner had none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gap {
    /// The partition.
    pub partition: i32,
    /// When its last owner released it, s after the load start.
    pub from_secs: f64,
    /// When the next owner got it; `None`: never while observed.
    pub to_secs: Option<f64>,
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

    /// Per membership change (events after the load started), what it cost.
    pub fn rebalances(&self) -> Vec<Rebalance> {
        let starts: Vec<&Event> = self.events.iter().filter(|e| e.t_secs > 0.0).collect();
        let mut out = Vec::new();
        for (i, event) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(f64::INFINITY, |next| next.t_secs);
            let window: Vec<&Tick> =
                (self.ticks.iter()).filter(|t| t.t_secs >= event.t_secs && t.t_secs < end).collect();
            let gaps: Vec<Gap> = (self.ownerless_gaps().into_iter())
                .filter(|g| g.from_secs >= event.t_secs && g.from_secs < end.min(self.observed_until()))
                .collect();
            let stall = |g: &Gap| g.to_secs.unwrap_or(self.observed_until()) - g.from_secs;
            out.push(Rebalance {
                event: **event,
                pause_secs: longest_pause(&window),
                settled_after_secs: last_change(&window, event.t_secs),
                partition_stall_secs: gaps.iter().map(stall).fold(0.0, f64::max),
                never_taken: gaps.iter().filter(|g| g.to_secs.is_none()).map(|g| g.partition).collect(),
                doubly_held: doubly_held(&window),
                owners: owners_at_end(&window),
            });
        }
        out
    }

    /// The longest partition stall of the graceful changes (start, stop); `None` without one.
    pub fn graceful_stall_max(&self) -> Option<f64> {
        (self.rebalances().iter())
            .filter(|r| r.event.action != InstanceAction::Kill)
            .map(|r| r.partition_stall_secs)
            .max_by(f64::total_cmp)
    }

    /// The last sample's time: ownership is known up to here.
    pub fn observed_until(&self) -> f64 {
        self.ticks.last().map_or(0.0, |t| t.t_secs)
    }

    /// Every time a partition that had an owner had none, from the ownership changes.
    pub fn ownerless_gaps(&self) -> Vec<Gap> {
        let mut changes = self.ownership.clone();
        changes.sort_by(|a, b| a.t_secs.total_cmp(&b.t_secs));
        let mut holders: BTreeMap<i32, BTreeSet<u32>> = BTreeMap::new();
        let mut open: BTreeMap<i32, f64> = BTreeMap::new();
        let mut gaps = Vec::new();
        for c in changes {
            let set = holders.entry(c.partition).or_default();
            if c.held {
                set.insert(c.instance);
                if let Some(from) = open.remove(&c.partition) {
                    gaps.push(Gap { partition: c.partition, from_secs: from, to_secs: Some(c.t_secs) });
                }
            } else if set.remove(&c.instance) && set.is_empty() {
                open.insert(c.partition, c.t_secs);
            }
        }
        gaps.extend(open.into_iter().map(|(partition, from_secs)| Gap { partition, from_secs, to_secs: None }));
        gaps
    }

    /// Per stage (the load between two membership changes), each instance's partitions at the
    /// stage's end and its read MB/s over the stage.
    pub fn stages(&self) -> Vec<Stage> {
        let mut bounds: Vec<f64> = vec![0.0];
        bounds.extend(self.events.iter().filter(|e| e.t_secs > 0.0).map(|e| e.t_secs));
        let mut out = Vec::new();
        for (i, from) in bounds.iter().enumerate() {
            let to = bounds.get(i + 1).copied().unwrap_or(self.load_secs);
            let window: Vec<&Tick> = (self.ticks.iter()).filter(|t| t.t_secs >= *from && t.t_secs <= to).collect();
            out.push(Stage { from_secs: *from, to_secs: to, instances: stage_instances(&window) });
        }
        out
    }
}

/// One membership change and what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Rebalance {
    /// The change.
    pub event: Event,
    /// Longest stretch without backup progress (no instance's `records_total` grew) while
    /// producing, from the change to the next one; `Some(0)` when progress never stopped.
    pub pause_secs: Option<f64>,
    /// Seconds from the change to the last change of partition ownership seen after it.
    pub settled_after_secs: Option<f64>,
    /// Longest time a partition released after the change went without an owner (from the logs'
    /// times; an owner never seen counts to the end of the observation); 0 when none was.
    pub partition_stall_secs: f64,
    /// Partitions released after the change that no instance took while observed.
    pub never_taken: Vec<i32>,
    /// Partitions two instances held at once in a sample after the change (both read them).
    pub doubly_held: Vec<i32>,
    /// Partitions per instance at the end of the window.
    pub owners: Vec<(u32, Vec<i32>)>,
}

/// One instance during one stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageInstance {
    /// Instance number.
    pub instance: u32,
    /// Partitions it held at the stage's end (from its log).
    pub partitions: Vec<i32>,
    /// MB/s it read during the stage (`kafka_backup_bytes_total`).
    pub mb_s: Option<f64>,
}

/// The load between two membership changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// Start, s after the load start.
    pub from_secs: f64,
    /// End, s after the load start.
    pub to_secs: f64,
    /// Every instance seen in the stage.
    pub instances: Vec<StageInstance>,
}

/// Longest run of sample intervals without progress while producing, in seconds (so to one
/// sample interval: progress may have stopped up to one interval earlier and resumed up to one
/// later); `None` with fewer than two samples.
fn longest_pause(window: &[&Tick]) -> Option<f64> {
    if window.len() < 2 {
        return None;
    }
    let (mut longest, mut since): (f64, Option<f64>) = (0.0, None);
    for pair in window.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let progressed = b.instances.iter().filter(|i| i.scraped).any(|i| {
            a.instances.iter().any(|p| p.instance == i.instance && p.scraped && i.records_total > p.records_total)
        });
        match (progressed || !a.producing, since) {
            (true, Some(start)) => {
                longest = longest.max(a.t_secs - start);
                since = None;
            }
            (true, None) => {}
            (false, None) => since = Some(a.t_secs),
            (false, Some(_)) => {}
        }
    }
    if let (Some(start), Some(last)) = (since, window.last()) {
        longest = longest.max(last.t_secs - start);
    }
    Some(longest)
}

fn ownership(tick: &Tick) -> Vec<(u32, Vec<i32>)> {
    tick.instances.iter().map(|i| (i.instance, i.partitions.clone())).collect()
}

/// Seconds from `from` to the last sample whose ownership differs from the one before it.
fn last_change(window: &[&Tick], from: f64) -> Option<f64> {
    (window.windows(2)).filter(|p| ownership(p[0]) != ownership(p[1])).map(|p| p[1].t_secs - from).next_back()
}

fn doubly_held(window: &[&Tick]) -> Vec<i32> {
    let mut out = BTreeSet::new();
    for tick in window {
        let mut seen = BTreeSet::new();
        for p in tick.instances.iter().flat_map(|i| i.partitions.iter()) {
            if !seen.insert(*p) {
                out.insert(*p);
            }
        }
    }
    out.into_iter().collect()
}

fn owners_at_end(window: &[&Tick]) -> Vec<(u32, Vec<i32>)> {
    window.last().map(|t| ownership(t)).unwrap_or_default()
}

fn stage_instances(window: &[&Tick]) -> Vec<StageInstance> {
    let mut ids: Vec<u32> = window.iter().flat_map(|t| t.instances.iter().map(|i| i.instance)).collect();
    ids.sort_unstable();
    ids.dedup();
    (ids.into_iter())
        .map(|id| {
            let seen: Vec<(f64, &InstanceTick)> = (window.iter())
                .filter_map(|t| t.instances.iter().find(|i| i.instance == id).map(|i| (t.t_secs, i)))
                .collect();
            let scraped: Vec<&(f64, &InstanceTick)> = seen.iter().filter(|(_, i)| i.scraped).collect();
            let mb_s = match (scraped.first(), scraped.last()) {
                (Some((t0, a)), Some((t1, b))) if t1 > t0 => Some((b.bytes_total - a.bytes_total) / 1e6 / (t1 - t0)),
                _ => None,
            };
            let partitions = seen.last().map(|(_, i)| i.partitions.clone()).unwrap_or_default();
            StageInstance { instance: id, partitions, mb_s }
        })
        .collect()
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
