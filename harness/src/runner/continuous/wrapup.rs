//! The end of a continuous phase: the catch-up run after a fault the group did not survive, the
//! ownership changes from the instances' logs, and the phase's [`Outcome`].

use super::Outcome;
use super::fleet::Instance;
use super::session::Session;
use crate::report::{EngineMetrics, OwnershipChange};
use crate::runner::engine::{self, RunSummary};
use crate::runner::group_log::GroupChange;
use crate::runner::scrape;
use anyhow::Result;

impl Session<'_> {
    /// After a fault the group did not survive: one snapshot `kbackup backup` of the same config
    /// reads every partition from its checkpoint in storage to the end of the topic.
    pub(super) fn catch_up(&mut self) -> Result<()> {
        let run = engine::run_kbackup(self.job, &self.config, "catch-up", &["backup"])?;
        let survivors = self.instances.iter().filter(|i| i.ended.as_ref().is_some_and(|e| !e.killed)).count();
        if run.code != Some(0) {
            let problem = format!(
                "catch-up kbackup backup failed ({}); log {}:\n{}",
                run.exit(),
                run.log.display(),
                run.log_tail()
            );
            self.observed.recovery =
                Some(format!("stopped the {survivors} surviving instance(s); the catch-up backup failed"));
            self.failures.push(problem);
            return Ok(());
        }
        let summary: RunSummary = run.parse("backup")?;
        self.catch_up = Some((summary.records, summary.source_bytes));
        self.observed.recovery = Some(format!(
            "as an operator would: stopped the {survivors} surviving instance(s) with SIGTERM once the load ended, \
             then ran one snapshot `kbackup backup` of the same config (no group); it resumed every partition from \
             its last checkpoint in storage and read {} records ({:.1} MB) to the end of the topic in {:.1} s",
            summary.records,
            summary.source_bytes as f64 / 1e6,
            run.wall_secs
        ));
        Ok(())
    }

    /// The phase's outcome.
    pub(super) fn finish(mut self, produced: Option<crate::load::Throughput>, secs: f64) -> Outcome {
        let last: Vec<&[(f64, f64)]> = self
            .instances
            .iter()
            .filter_map(|i| i.last_scrape.as_ref())
            .map(|s| s.checkpoint_buckets.as_slice())
            .collect();
        self.observed.checkpoint_buckets = scrape::merge_buckets(&last);
        self.observed.checkpoint_count =
            self.instances.iter().filter_map(|i| i.last_scrape.as_ref()).map(|s| s.checkpoint_count).sum();
        self.observed.instances = self.instances.iter().map(Instance::record).collect();
        self.observed.ownership = self.ownership();
        let clean = self.instances.len() == 1 && self.observed.faults.is_empty();
        let summary = clean
            .then(|| self.instances[0].ended.as_ref())
            .flatten()
            .filter(|e| e.run.code == Some(0))
            .and_then(|e| e.run.parse::<RunSummary>("backup").ok());
        let read = |f: fn(&scrape::Scrape) -> f64| -> u64 {
            self.instances.iter().filter_map(|i| i.last_scrape.as_ref()).map(f).sum::<f64>() as u64
        };
        let (catch_records, catch_bytes) = self.catch_up.unwrap_or((0, 0));
        let records = summary.as_ref().map_or(read(|s| s.records_total) + catch_records, |s| s.records);
        let bytes = summary.as_ref().map_or(read(|s| s.bytes_total) + catch_bytes, |s| s.source_bytes);
        let engine = merged_metrics(&self.instances, summary.as_ref());
        Outcome { observed: self.observed, produced, summary, failures: self.failures, engine, records, bytes, secs }
    }
    /// Every assignment and release from the instances' logs, and a kill's release of what the
    /// instance held, in time order.
    fn ownership(&self) -> Vec<OwnershipChange> {
        let start = self.observed.load_start_unix;
        let mut out: Vec<OwnershipChange> = Vec::new();
        for instance in &self.instances {
            for (at, change) in instance.holdings.history() {
                let (partitions, held) = change_partitions(&change);
                out.extend(partitions.into_iter().map(|partition| OwnershipChange {
                    t_secs: at - start,
                    instance: instance.id,
                    partition,
                    held,
                }));
            }
        }
        for fault in &self.observed.faults {
            out.extend(fault.orphaned.iter().map(|p| OwnershipChange {
                t_secs: fault.t_secs,
                instance: fault.instance,
                partition: *p,
                held: false,
            }));
        }
        out.sort_by(|a, b| a.t_secs.total_cmp(&b.t_secs));
        out
    }
}

/// The partitions of a change and whether they are now held.
fn change_partitions(change: &GroupChange) -> (Vec<i32>, bool) {
    match change {
        GroupChange::Assigned(p) => (vec![*p], true),
        GroupChange::Revoked(ps) => (ps.clone(), false),
    }
}

/// The instances' /proc figures as one engine: largest peak RSS, summed CPU and I/O, instance 1's
/// timeline, the single instance's checkpoint latencies and stored bytes when there is one.
fn merged_metrics(instances: &[Instance], summary: Option<&RunSummary>) -> EngineMetrics {
    let runs: Vec<&EngineMetrics> = instances.iter().filter_map(|i| i.ended.as_ref()).map(|e| &e.run.metrics).collect();
    EngineMetrics {
        peak_rss_bytes: runs.iter().map(|m| m.peak_rss_bytes).max().unwrap_or(0),
        cpu_user_secs: runs.iter().map(|m| m.cpu_user_secs).sum(),
        cpu_sys_secs: runs.iter().map(|m| m.cpu_sys_secs).sum(),
        read_bytes: runs.iter().map(|m| m.read_bytes).sum(),
        write_bytes: runs.iter().map(|m| m.write_bytes).sum(),
        threads_max: runs.iter().map(|m| m.threads_max).max().unwrap_or(0),
        timeline: runs.first().map(|m| m.timeline.clone()).unwrap_or_default(),
        checkpoint_latency_ms: summary.and_then(|s| s.checkpoint_latency_ms).map(Into::into),
        stored_bytes: summary.map(|s| s.stored_bytes),
        compression_ratio: summary.map(|s| s.compression_ratio).filter(|r| *r > 0.0),
    }
}
