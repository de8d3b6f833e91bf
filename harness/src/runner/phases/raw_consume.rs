//! `raw-consume`: plain consumers read the source topic from start to end — the ceiling
//! for backup.

use super::{Measured, PhaseRunner, RepeatContext, RepeatState};
use crate::load;
use crate::progress::Counter;
use crate::report::PhaseResult;
use crate::scenario::Phase;
use anyhow::{Context, Result};

/// The `raw-consume` phase.
pub(super) struct RawConsumeRunner;

impl PhaseRunner for RawConsumeRunner {
    fn progress(&self, _ctx: &RepeatContext<'_>, state: &RepeatState) -> (Option<u64>, Counter) {
        (state.produced.map(|p| p.bytes), Counter::Live(&load::LIVE_BYTES))
    }

    fn measure(&self, ctx: &RepeatContext<'_>, _state: &mut RepeatState) -> Result<Measured> {
        let job = &ctx.job;
        // tansu holds every fetch for fetch.wait.max.ms.
        let wait = if job.services.tansu { 10 } else { 100 };
        let rate = load::raw_consume(&job.services.bootstrap, job.topic, ctx.partitions()?, wait)
            .with_context(|| format!("reading '{}'", job.topic))?;
        Ok(Measured::new(PhaseResult::new(Phase::RawConsume, rate.bytes, rate.records, rate.secs), ""))
    }
}
