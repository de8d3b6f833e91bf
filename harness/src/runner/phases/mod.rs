//! The phases of one repeat: one file per phase with what it does and what it measures,
//! dispatched by `runner_for`; [`RepeatState`] holds what they measured and the
//! consistency checks that decide whether the repeat's data made it through intact.
//!
//! A new phase is a [`Phase`] variant, a file here implementing `PhaseRunner` and one
//! arm in `runner_for`; the compiler then points at the other exhaustive matches
//! (`Phase::as_str`, `Phase::prerequisites`, `cleanup::Leftovers::of`). A phase that runs
//! over the simulated WAN link is also listed in `network::pays_network`.

mod continuous;
mod exactly_once;
mod pitr;
mod pitr_select;
mod produce;
mod raw_consume;
mod raw_produce;
mod raw_put;
mod state;
mod transfer;
mod verify;

pub use pitr::pitr_topics;
pub use produce::{LoadParams, RATE_CHECK_MIN_SECS, load_params, rate_warning};
pub use state::RepeatState;

use super::engine::{EngineJob, EngineRun};
use crate::progress::{Counter, PhaseProgress};
use crate::report::PhaseResult;
use crate::scenario::{Phase, PlanPoint};
use anyhow::{Context, Result};

/// Everything a repeat works with.
pub struct RepeatContext<'a> {
    /// The matrix point.
    pub point: &'a PlanPoint,
    /// The engine job (services, names, overrides, run directory).
    pub job: EngineJob<'a>,
    /// Scratch topic of the raw-produce phase.
    pub scratch_topic: &'a str,
    /// Runtime for the async admin calls.
    pub runtime: &'a tokio::runtime::Runtime,
    /// Progress prefix, e.g. `[default 1/3]`.
    pub prefix: &'a str,
    /// How the `continuous` phase runs its instances (the plan's `continuous:`).
    pub continuous: Option<&'a crate::scenario::ContinuousPlan>,
    /// What the `pitr` phase restores (the plan's `pitr:`).
    pub pitr: Option<&'a crate::scenario::PitrPlan>,
}

impl RepeatContext<'_> {
    /// The point's partition count, as rdkafka and kbackup's flags take it.
    fn partitions(&self) -> Result<i32> {
        i32::try_from(self.point.workload.partitions).context("partitions")
    }
}

/// What a phase measured: its result (`None`: an engine run failed and is recorded in
/// [`RepeatState::failures`]) and the note after the numbers on its result line.
struct Measured {
    result: Option<PhaseResult>,
    note: String,
}

impl Measured {
    fn new(result: PhaseResult, note: impl Into<String>) -> Measured {
        Measured { result: Some(result), note: note.into() }
    }

    /// Records a kbackup run that failed (`what`, e.g. `kbackup backup`) in `state`.
    fn engine_failed(state: &mut RepeatState, what: &str, run: &EngineRun) -> Measured {
        let (exit, log, tail) = (run.exit(), run.log.display(), run.log_tail());
        state.failures.push(format!("{what} failed ({exit}); log {log}:\n{tail}"));
        Measured { result: None, note: String::new() }
    }
}

/// One phase of a repeat.
trait PhaseRunner {
    /// The live bar: the bytes the phase is expected to move, when known, and the counter
    /// it reads. Default: a spinner.
    fn progress(&self, _ctx: &RepeatContext<'_>, _state: &RepeatState) -> (Option<u64>, Counter) {
        (None, Counter::None)
    }

    /// Runs the phase and measures it, recording what later phases and checks need in
    /// `state`. `Err` is a tool error that ends the scenario.
    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured>;
}

/// The code of `phase`.
fn runner_for(phase: Phase) -> &'static dyn PhaseRunner {
    match phase {
        Phase::Produce => &produce::ProduceRunner,
        Phase::RawConsume => &raw_consume::RawConsumeRunner,
        Phase::Backup => &transfer::BackupRunner,
        Phase::RawPut => &raw_put::RawPutRunner,
        Phase::RawProduce => &raw_produce::RawProduceRunner,
        Phase::Restore => &transfer::RestoreRunner,
        Phase::Verify => &verify::VerifyRunner,
        Phase::Continuous => &continuous::ContinuousRunner,
        Phase::ExactlyOnce => &exactly_once::ExactlyOnceRunner,
        Phase::Pitr => &pitr::PitrRunner,
    }
}

/// Runs one phase with its live bar and prints its result line. `Ok(None)` means the
/// phase could not run because an engine run failed (recorded in `state.failures`); `Err`
/// is a tool error that ends the scenario.
pub fn run_phase(phase: Phase, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Option<PhaseResult>> {
    let runner = runner_for(phase);
    let (total, counter) = runner.progress(ctx, state);
    let bar = PhaseProgress::start(&format!("{} {}", ctx.prefix, phase.as_str()), total, counter);
    let measured = runner.measure(ctx, state);
    bar.finish();
    let Measured { result, note } = measured?;
    if let Some(result) = &result {
        report_line(ctx.prefix, phase, result, &note);
    }
    Ok(result)
}

fn report_line(prefix: &str, phase: Phase, result: &PhaseResult, note: &str) {
    eprintln!(
        "{prefix} {:<11} {:>9.1} MB {:>9} records in {:>7.2} s = {:>7.1} MB/s{note}",
        phase.as_str(),
        result.bytes as f64 / 1e6,
        result.records,
        result.duration_secs,
        result.mb_s
    );
}

/// A directory name that is safe for any label.
pub fn dir_name(label: &str) -> String {
    label.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.=".contains(c) { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Services;
    use crate::load::{self, Throughput};
    use crate::runner::engine;
    use crate::scenario::{self, Profile};
    use std::path::Path;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn each_bar_counts_the_bytes_its_phase_moves() {
        let text = "name: t\ndescription: d.\nworkload:\n  partitions: 2\n  message_size: 1KiB\n  payload: json\n  \
                    volume: 64MiB\n";
        let point = scenario::parse(text, "inline").unwrap().plan(Profile::Standard).unwrap().points.remove(0);
        let services = Services::placeholder();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ctx = RepeatContext {
            point: &point,
            job: EngineJob {
                kbackup: Path::new("kbackup"),
                services: &services,
                backup_id: "t",
                topic: "t",
                restored_topic: "t-restored",
                prefix: "kbh",
                overrides: &[],
                run_dir: Path::new("/nonexistent"),
            },
            scratch_topic: "t-rawp",
            runtime: &runtime,
            prefix: "[t 1/1]",
            continuous: None,
            pitr: None,
        };
        let produced = Throughput { records: 10, bytes: 1000, secs: 1.0, mb_s: 0.001 };
        let state = RepeatState { produced: Some(produced), ..RepeatState::default() };
        let live =
            |counter: Counter, of: &'static AtomicU64| matches!(counter, Counter::Live(c) if std::ptr::eq(c, of));
        for phase in Phase::ALL {
            let (total, counter) = runner_for(phase).progress(&ctx, &state);
            let expected = match phase {
                Phase::Produce => total == Some(64 << 20) && live(counter, &load::LIVE_BYTES),
                Phase::RawConsume | Phase::RawProduce => total == Some(1000) && live(counter, &load::LIVE_BYTES),
                Phase::Backup | Phase::Restore => total == Some(1000) && live(counter, &engine::LIVE_BYTES),
                Phase::RawPut | Phase::Verify | Phase::ExactlyOnce | Phase::Pitr => {
                    total.is_none() && matches!(counter, Counter::None)
                }
                // No expected bytes: the test workload has no rate or duration.
                Phase::Continuous => total == Some(64 << 20) && live(counter, &load::LIVE_BYTES),
            };
            assert!(expected, "{phase}: {total:?} {counter:?}");
        }
    }

    #[test]
    fn labels_become_safe_directory_names() {
        assert_eq!(dir_name("partitions=4,codec=zstd"), "partitions=4_codec=zstd");
        assert_eq!(dir_name("rtt 20 ms/eu"), "rtt_20_ms_eu");
    }
}
