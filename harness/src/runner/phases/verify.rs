//! `verify`: `kbackup verify` compares the restored topic record by record with the
//! backup; its verdict goes into the repeat's consistency checks.

use super::{Measured, PhaseRunner, RepeatContext, RepeatState};
use crate::report::PhaseResult;
use crate::runner::engine::{self, Comparison};
use crate::scenario::Phase;
use anyhow::Result;

/// The `verify` phase.
pub(super) struct VerifyRunner;

impl PhaseRunner for VerifyRunner {
    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        let job = &ctx.job;
        let config = engine::write_config(job)?;
        let args = ["verify", "--against", job.restored_topic, "--topic", job.topic];
        let run = engine::run_kbackup(job, &config, "verify", &args)?;
        // Exit 1: a check found differences. That is a result, not a failed run.
        if !matches!(run.code, Some(0 | 1)) {
            return Ok(Measured::engine_failed(state, "kbackup verify", &run));
        }
        let comparison: Comparison = run.parse("verify")?;
        let records: u64 = comparison.partitions.iter().map(|p| p.live_records).sum();
        let bytes = state.restore.as_ref().map_or(0, |r| r.source_bytes);
        let result = PhaseResult::new(Phase::Verify, bytes, records, run.wall_secs);
        let verdict = if comparison.equal { " (equal)" } else { " (DIFFERENT)" };
        state.comparison = Some(comparison);
        Ok(Measured::new(result, verdict))
    }
}
