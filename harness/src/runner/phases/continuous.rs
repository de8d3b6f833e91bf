//! `continuous`: the load generator produces at the workload's rate while `kbackup backup
//! --continuous` instances follow the topic (see [`crate::runner::continuous`]); what they did
//! goes into the phase result, the produced load and any failed engine run into the repeat's state.

use super::{Measured, PhaseRunner, RepeatContext, RepeatState, load_params};
use crate::load;
use crate::progress::Counter;
use crate::report::PhaseResult;
use crate::runner::continuous;
use crate::scenario::{Phase, engine_config};
use anyhow::{Context, Result};

/// The `continuous` phase.
pub(super) struct ContinuousRunner;

impl PhaseRunner for ContinuousRunner {
    fn progress(&self, ctx: &RepeatContext<'_>, _state: &RepeatState) -> (Option<u64>, Counter) {
        (ctx.point.workload.expected_bytes().map(|b| b as u64), Counter::Live(&load::LIVE_BYTES))
    }

    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        let plan = ctx.continuous.context("the continuous phase runs without a `continuous:` plan")?;
        let engine_plan = engine_config::resolve(ctx.job.overrides).context("resolving the engine overrides")?;
        let age = engine_plan.backup.segment_max_age.as_secs_f64();
        let outcome = continuous::run(&ctx.job, ctx.runtime, load_params(ctx.point)?, plan, ctx.partitions()?, age)?;
        state.produced = outcome.produced;
        state.backup = outcome.summary;
        state.failures.extend(outcome.failures);
        let observed = outcome.observed;
        let note = format!(
            " ({} instance(s), {} kill(s), drained {})",
            observed.instances.len(),
            observed.faults.len(),
            observed.drained_after_secs.map_or_else(|| "–".to_owned(), |s| format!("{s:.1} s after the load")),
        );
        let mut result = PhaseResult::new(Phase::Continuous, outcome.bytes, outcome.records, outcome.secs);
        result.engine = Some(outcome.engine);
        result.continuous = Some(Box::new(observed));
        Ok(Measured::new(result, note))
    }
}
