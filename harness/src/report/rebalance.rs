//! Membership changes of a continuous phase, from its samples and the instances' ownership
//! changes: per change how long partitions went without an owner (or had two), how long the whole
//! backup made no progress and when ownership settled; per stage of the load each instance's
//! partitions and read MB/s. Pure functions over [`ContinuousObserved`].

use super::continuous::{ContinuousObserved, Event, InstanceTick, Tick};
use crate::scenario::InstanceAction;
use std::collections::{BTreeMap, BTreeSet};

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

impl ContinuousObserved {
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
