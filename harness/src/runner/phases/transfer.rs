//! `backup` and `restore`: one `kbackup backup` or `kbackup restore` run each, measured
//! the same way — throughput over the engine's data phase from its JSON summary, and the
//! process's RSS and CPU from the sampler.

use super::{Measured, PhaseRunner, RepeatContext, RepeatState};
use crate::progress::Counter;
use crate::report::PhaseResult;
use crate::runner::engine::{self, RunSummary};
use crate::scenario::Phase;
use anyhow::Result;

/// The `backup` phase.
pub(super) struct BackupRunner;

/// The `restore` phase.
pub(super) struct RestoreRunner;

impl PhaseRunner for BackupRunner {
    fn progress(&self, _ctx: &RepeatContext<'_>, state: &RepeatState) -> (Option<u64>, Counter) {
        (state.produced.map(|p| p.bytes), Counter::Live(&engine::LIVE_BYTES))
    }

    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        transfer(Phase::Backup, ctx, state)
    }
}

impl PhaseRunner for RestoreRunner {
    fn progress(&self, _ctx: &RepeatContext<'_>, state: &RepeatState) -> (Option<u64>, Counter) {
        (state.produced.map(|p| p.bytes), Counter::Live(&engine::LIVE_BYTES))
    }

    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        transfer(Phase::Restore, ctx, state)
    }
}

/// Runs `kbackup backup` or `kbackup restore` and keeps its summary in `state`.
fn transfer(phase: Phase, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
    let job = &ctx.job;
    let config = engine::write_config(job)?;
    let name = phase.as_str();
    let run = engine::run_kbackup(job, &config, name, &[name])?;
    if run.code != Some(0) {
        return Ok(Measured::engine_failed(state, &format!("kbackup {name}"), &run));
    }
    let summary: RunSummary = run.parse(name)?;
    let mut metrics = run.metrics;
    if phase == Phase::Backup {
        metrics.checkpoint_latency_ms = summary.checkpoint_latency_ms.map(Into::into);
        metrics.stored_bytes = Some(summary.stored_bytes);
        // Source bytes per stored byte: `compression_ratio` on both sides of the contract.
        metrics.compression_ratio = Some(summary.compression_ratio).filter(|r| *r > 0.0);
    }
    // Backup: throughput over the engine's data phase (what kbackup reports as MB/s), process
    // start-up is in the log line's wall time. Restore: the whole command, start to exit — checks,
    // topic creation and the final flush are part of what a recovery waits for.
    let secs = if phase == Phase::Restore { run.wall_secs } else { summary.duration_secs };
    let mut result = PhaseResult::new(phase, summary.source_bytes, summary.records, secs);
    let note = format!(
        " (process {:.2} s, data phase {:.2} s, peak RSS {:.0} MB, CPU {:.1} s)",
        run.wall_secs,
        summary.duration_secs,
        metrics.peak_rss_bytes as f64 / 1e6,
        metrics.cpu_user_secs + metrics.cpu_sys_secs
    );
    result.engine = Some(metrics);
    if phase == Phase::Backup {
        state.backup = Some(summary);
    } else {
        state.restore = Some(summary);
    }
    Ok(Measured::new(result, note))
}
