//! The continuous phase's run: the topic is created, the schedule's first instance(s) of
//! `kbackup backup --continuous` start and get every partition from the consumer group, then the
//! load generator produces at the workload's rate for its duration while the harness samples every
//! instance each `sample_interval` and applies the schedule (start, stop, kill). A kill is watched
//! for `kill_watch` for its partitions to reach a survivor; when they do not, the fault is recorded
//! as not survived, and after the load the harness recovers as an operator would: it stops the
//! survivors gracefully and runs one snapshot `kbackup backup` of the same config, which resumes
//! every partition from its checkpoint in storage. Without such a fault, once the load ends the
//! instances get `drain_timeout` to read everything, then all stop with SIGTERM.
//!
//! Nothing here decides pass or fail: the restore and the checks after the phase do.

mod fleet;
mod session;
mod wrapup;

use crate::load::{self, RecordGenerator, Throughput};
use crate::report::{ContinuousObserved, EngineMetrics};
use crate::runner::engine::{EngineJob, RunSummary};
use crate::runner::phases::LoadParams;
use crate::scenario::ContinuousPlan;
use anyhow::{Context, Result};
use session::Session;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long the first instances may take to join the group and get every partition.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What the continuous phase did.
pub struct Outcome {
    /// Samples, events, faults.
    pub observed: ContinuousObserved,
    /// What the load generator produced.
    pub produced: Option<Throughput>,
    /// The one instance's `--json` summary when a single instance did the whole backup.
    pub summary: Option<RunSummary>,
    /// Engine runs that failed (a graceful stop that did not exit 0, a failed catch-up).
    pub failures: Vec<String>,
    /// The instances' /proc figures: peak RSS the largest, CPU summed, instance 1's timeline.
    pub engine: EngineMetrics,
    /// Records and bytes the instances (and a catch-up) read.
    pub records: u64,
    /// See `records`.
    pub bytes: u64,
    /// Seconds from the load start to the last sample.
    pub secs: f64,
}

/// Runs the phase for a topic of `partitions` partitions.
pub fn run(
    job: &EngineJob<'_>,
    runtime: &tokio::runtime::Runtime,
    load: LoadParams,
    plan: &ContinuousPlan,
    partitions: i32,
    segment_max_age_secs: f64,
) -> Result<Outcome> {
    let bootstrap = job.services.bootstrap.clone();
    runtime
        .block_on(load::create_topic(&bootstrap, job.topic, partitions))
        .with_context(|| format!("creating topic '{}'", job.topic))?;
    let mut session = Session::new(job, plan, partitions, segment_max_age_secs)?;
    match drive(&mut session, &bootstrap, load, plan, partitions) {
        Ok(produced) => {
            let secs = session.elapsed();
            Ok(session.finish(produced, secs))
        }
        Err(e) => {
            // No instance outlives the phase, whatever went wrong.
            let _ = session.stop_all();
            Err(e)
        }
    }
}

/// Starts the first instances, runs the load with the schedule and the samples, stops the
/// instances and catches up after a fault; returns what the load generator produced.
fn drive(
    session: &mut Session<'_>,
    bootstrap: &str,
    load: LoadParams,
    plan: &ContinuousPlan,
    partitions: i32,
) -> Result<Option<Throughput>> {
    for step in plan.steps.iter().filter(|s| s.at_secs <= 0.0) {
        session.apply(step.action, 0.0)?;
    }
    if let Err(problem) = session.wait_for_partitions(START_TIMEOUT) {
        session.failures.push(problem);
        session.stop_all()?;
        return Ok(None);
    }
    let (bootstrap, topic) = (bootstrap.to_owned(), session.topic().to_owned());
    let base = load::LIVE_BYTES.load(Ordering::Relaxed);
    session.start_load();
    let mut producer = Some(std::thread::spawn(move || {
        let mut generator = RecordGenerator::new(load.spec);
        load::produce_with(&bootstrap, &topic, partitions, load.limits, &mut generator)
    }));
    let interval = Duration::from_secs_f64(plan.sample_interval_secs);
    let mut steps = plan.steps.iter().filter(|s| s.at_secs > 0.0).peekable();
    let (mut produced, mut load_end, mut drain_from, mut drained_ticks) = (None, None::<f64>, None::<f64>, 0);
    let mut next = Instant::now();
    loop {
        let t = session.elapsed();
        while let Some(step) = steps.next_if(|s| s.at_secs <= t) {
            session.apply(step.action, t)?;
        }
        if let Some(handle) = producer.take_if(|h| h.is_finished()) {
            produced = Some(join_producer(handle)?);
            load_end = Some(t);
            session.load_ended(t);
        }
        let bytes = load::LIVE_BYTES.load(Ordering::Relaxed).saturating_sub(base);
        session.tick(t, load_end.is_none(), bytes);
        session.watch_faults(t);
        if crate::runner::engine::interrupted() {
            break;
        }
        if load_end.is_some() && steps.peek().is_none() && !session.watching() {
            if session.fault_not_survived() {
                break;
            }
            // From the end of the load, or of a kill's watch when that ends later.
            let from = *drain_from.get_or_insert(t);
            // Twice in a row: one lag reading may predate the load's last records.
            drained_ticks = if session.drained() { drained_ticks + 1 } else { 0 };
            if drained_ticks >= 2 {
                session.observed.drained_after_secs = Some(t - from);
                break;
            }
            if t - from > plan.drain_timeout_secs {
                break;
            }
        }
        next += interval;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    if let Some(handle) = producer {
        // Interrupted while producing: the generator stops at its duration.
        produced = Some(join_producer(handle)?);
    }
    session.stop_all()?;
    if session.fault_not_survived() {
        session.catch_up()?;
    }
    Ok(produced)
}

fn join_producer(
    handle: std::thread::JoinHandle<Result<Throughput, rdkafka::error::KafkaError>>,
) -> Result<Throughput> {
    let result = handle.join().map_err(|_| anyhow::anyhow!("the load generator panicked"))?;
    result.context("producing the load")
}
