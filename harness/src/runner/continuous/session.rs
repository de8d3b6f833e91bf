//! One continuous phase's state: the instances, the samples and faults recorded so far, and
//! the steps of [`super::run`] — apply a schedule step, sample, watch a kill, check the drain,
//! stop everything — each a short method (the catch-up and the outcome are in `wrapup.rs`).

use super::fleet::Instance;
use crate::report::{ContinuousObserved, Event, Fault, Tick, continuous::recovery_point};
use crate::runner::engine::{self, EngineJob};
use crate::scenario::{ContinuousPlan, InstanceAction};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// kbackup's own stop deadline (`--shutdown-timeout`, default 30 s) plus time to exit.
const STOP_DEADLINE: Duration = Duration::from_secs(45);

fn now_unix() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

pub(super) struct Session<'a> {
    pub(super) job: &'a EngineJob<'a>,
    pub(super) config: PathBuf,
    pub(super) plan: &'a ContinuousPlan,
    pub(super) partitions: i32,
    pub(super) instances: Vec<Instance>,
    pub(super) started: Instant,
    /// Per partition, the newest durable checkpoint any instance has reported (Unix s).
    pub(super) newest_checkpoint: BTreeMap<i32, f64>,
    /// Faults (indices into `observed.faults`) still being watched.
    pub(super) watched: Vec<usize>,
    pub(super) observed: ContinuousObserved,
    pub(super) failures: Vec<String>,
    pub(super) catch_up: Option<(u64, u64)>,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        job: &'a EngineJob<'a>,
        plan: &'a ContinuousPlan,
        partitions: i32,
        segment_max_age_secs: f64,
    ) -> Result<Session<'a>> {
        let config = engine::write_config(job)?;
        let observed = ContinuousObserved {
            partitions: u32::try_from(partitions).unwrap_or(0),
            segment_max_age_secs,
            load_start_unix: now_unix(),
            ..ContinuousObserved::default()
        };
        Ok(Session {
            job,
            config,
            plan,
            partitions,
            instances: Vec::new(),
            started: Instant::now(),
            newest_checkpoint: BTreeMap::new(),
            watched: Vec::new(),
            observed,
            failures: Vec::new(),
            catch_up: None,
        })
    }

    /// The source topic.
    pub(super) fn topic(&self) -> &str {
        self.job.topic
    }

    /// Seconds since the load started.
    pub(super) fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// t = 0 from now on.
    pub(super) fn start_load(&mut self) {
        self.started = Instant::now();
        self.observed.load_start_unix = now_unix();
    }

    pub(super) fn load_ended(&mut self, t: f64) {
        self.observed.load_secs = t;
    }

    fn running(&self) -> impl Iterator<Item = &Instance> {
        self.instances.iter().filter(|i| i.ended.is_none())
    }

    /// The partitions the running instances hold, from their logs.
    fn held(&self) -> BTreeSet<i32> {
        self.running().flat_map(|i| i.holdings.now()).collect()
    }

    /// Applies one schedule step at `t`; stop and kill act on the newest running instance.
    pub(super) fn apply(&mut self, action: InstanceAction, t: f64) -> Result<()> {
        let id = match action {
            InstanceAction::Start => {
                let id = u32::try_from(self.instances.len() + 1).unwrap_or(u32::MAX);
                self.instances.push(Instance::start(self.job, &self.config, id)?);
                id
            }
            InstanceAction::Stop | InstanceAction::Kill => {
                let Some(index) = self.instances.iter().rposition(|i| i.ended.is_none()) else {
                    anyhow::bail!("schedule: {action} at {t:.1} s, but no instance is running");
                };
                let instance = &mut self.instances[index];
                let (id, held) = (instance.id, instance.holdings.now());
                if action == InstanceAction::Kill {
                    instance.kill()?;
                    self.record_kill(id, held, t);
                } else {
                    instance.request_stop()?;
                    instance.finish_stop(Instant::now() + STOP_DEADLINE)?;
                    self.check_exit(index);
                }
                id
            }
        };
        eprintln!("  t={t:.1} s: {action} instance {id}");
        self.observed.events.push(Event { t_secs: t, instance: id, action });
        Ok(())
    }

    fn record_kill(&mut self, instance: u32, orphaned: Vec<i32>, t: f64) {
        self.observed.faults.push(Fault {
            t_secs: t,
            instance,
            orphaned,
            watched_secs: self.plan.kill_watch_secs,
            ..Fault::default()
        });
        self.watched.push(self.observed.faults.len() - 1);
    }

    /// Waits until the running instances hold every partition and answer on `/metrics`.
    pub(super) fn wait_for_partitions(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.held().len() == usize::try_from(self.partitions).unwrap_or(0);
            let answering = self.instances.iter_mut().all(|i| i.sample().scraped);
            if all && answering {
                return Ok(());
            }
            if let Some(dead) = self.instances.iter().find(|i| !i.running()) {
                return Err(format!("kbackup instance {} exited while joining the group", dead.id));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the kbackup instances did not get all {} partitions from the group within {} s (they hold {:?})",
                    self.partitions,
                    timeout.as_secs(),
                    self.held()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Samples every running instance at `t`.
    pub(super) fn tick(&mut self, t: f64, producing: bool, produced_bytes: u64) {
        let mut instances = Vec::new();
        for instance in self.instances.iter_mut().filter(|i| i.ended.is_none()) {
            let sample = instance.sample();
            if sample.scraped
                && let Some(s) = &instance.last_scrape
            {
                for (p, at) in &s.last_checkpoint {
                    let newest = self.newest_checkpoint.entry(*p).or_insert(*at);
                    *newest = newest.max(*at);
                }
            }
            instances.push(sample);
        }
        let complete = self.newest_checkpoint.len() >= usize::try_from(self.partitions).unwrap_or(usize::MAX);
        let floor = complete.then(|| self.newest_checkpoint.values().copied().fold(f64::INFINITY, f64::min));
        let tick = Tick {
            t_secs: t,
            producing,
            produced_bytes,
            checkpoint_floor_unix: floor,
            wall_unix: now_unix(),
            instances,
        };
        let load_secs = if producing { f64::INFINITY } else { self.observed.load_secs };
        let rp = recovery_point(&tick, self.observed.load_start_unix, load_secs);
        for &f in &self.watched {
            let fault = &mut self.observed.faults[f];
            fault.recovery_point_max_secs = match (fault.recovery_point_max_secs, rp) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        self.observed.ticks.push(tick);
    }

    /// Ends the watch of every kill whose partitions all reached a survivor, or whose watch ran out.
    pub(super) fn watch_faults(&mut self, t: f64) {
        let held = self.held();
        let tansu = self.job.services.tansu;
        let ownerless: Vec<i32> = (0..self.partitions).filter(|p| !held.contains(p)).collect();
        let mut still = Vec::new();
        for &f in &self.watched {
            let fault = &mut self.observed.faults[f];
            let orphaned: Vec<i32> = fault.orphaned.iter().copied().filter(|p| !held.contains(p)).collect();
            let before: Vec<i32> = ownerless.iter().copied().filter(|p| !fault.orphaned.contains(p)).collect();
            let others = if before.is_empty() {
                String::new()
            } else {
                format!(" (partitions {before:?}, not the killed instance's, had no owner either)")
            };
            if orphaned.is_empty() {
                fault.taken_over_after_secs = Some(t - fault.t_secs);
                fault.detail = format!(
                    "instance {} killed with SIGKILL at {:.1} s holding partitions {:?}; each was held by a surviving \
                     instance {:.1} s later (a crashed member is noticed only after the group's session timeout, \
                     librdkafka's default 45 s): survived{others}",
                    fault.instance,
                    fault.t_secs,
                    fault.orphaned,
                    t - fault.t_secs
                );
            } else if t >= fault.t_secs + fault.watched_secs {
                let why = if tansu {
                    "tansu 0.6 is known to leave the partitions of a consumer-group member killed with SIGKILL \
                     unassigned for a long time (README, Known broker quirks)"
                } else {
                    "the group did not hand them on within the watch"
                };
                fault.detail = format!(
                    "instance {} killed with SIGKILL at {:.1} s holding partitions {:?}; {:.0} s later its partitions \
                     {orphaned:?} were held by no surviving instance — not survived on this broker: {why}{others}",
                    fault.instance, fault.t_secs, fault.orphaned, fault.watched_secs
                );
            } else {
                still.push(f);
            }
        }
        self.watched = still;
    }

    /// Whether a kill is still being watched.
    pub(super) fn watching(&self) -> bool {
        !self.watched.is_empty()
    }

    /// Whether a kill left partitions without an owner.
    pub(super) fn fault_not_survived(&self) -> bool {
        (self.observed.faults.iter().enumerate()).any(|(i, f)| !f.survived() && !self.watched.contains(&i))
    }

    /// Every partition held by a running instance whose metrics show no lag on it.
    pub(super) fn drained(&self) -> bool {
        (0..self.partitions).all(|p| {
            self.running().any(|i| {
                i.holdings.now().contains(&p)
                    && i.last_scrape.as_ref().and_then(|s| s.lag_records.get(&p)).is_some_and(|lag| *lag == 0.0)
            })
        })
    }

    /// SIGTERM to every running instance, then waits for each; a graceful stop must exit 0.
    pub(super) fn stop_all(&mut self) -> Result<()> {
        for instance in self.instances.iter().filter(|i| i.ended.is_none()) {
            instance.request_stop()?;
        }
        let deadline = Instant::now() + STOP_DEADLINE;
        for index in 0..self.instances.len() {
            if self.instances[index].ended.is_none() {
                self.instances[index].finish_stop(deadline)?;
                self.check_exit(index);
            }
        }
        Ok(())
    }

    /// Records a failure when a gracefully stopped instance did not exit 0.
    fn check_exit(&mut self, index: usize) {
        let instance = &self.instances[index];
        let Some(ended) = &instance.ended else { return };
        if !ended.killed && (ended.stop_timed_out || ended.run.code != Some(0)) {
            let run = &ended.run;
            self.failures.push(format!(
                "kbackup instance {} did not stop cleanly on SIGTERM ({}); log {}:\n{}",
                instance.id,
                instance.record().exit,
                run.log.display(),
                run.log_tail()
            ));
        }
    }
}
