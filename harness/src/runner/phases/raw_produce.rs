//! `raw-produce`: a bare producer writes the same records into a scratch topic, unthrottled
//! — the ceiling for restore.

use super::produce::{load_params, produce_to};
use super::{Measured, PhaseRunner, RepeatContext, RepeatState};
use crate::load;
use crate::progress::Counter;
use crate::report::PhaseResult;
use crate::scenario::Phase;
use anyhow::Result;

/// The `raw-produce` phase.
pub(super) struct RawProduceRunner;

impl PhaseRunner for RawProduceRunner {
    fn progress(&self, _ctx: &RepeatContext<'_>, state: &RepeatState) -> (Option<u64>, Counter) {
        (state.produced.map(|p| p.bytes), Counter::Live(&load::LIVE_BYTES))
    }

    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        // The restore ceiling: the same records, unthrottled (just the amount when the
        // produce phase measured it).
        let limits = state.produced.map(|p| load::Limits { messages: Some(p.records), ..Default::default() });
        let limits = limits.unwrap_or_else(|| {
            let planned = load_params(ctx.point).map(|p| p.limits).unwrap_or_default();
            load::Limits { bytes_per_sec: None, messages_per_sec: None, ..planned }
        });
        let rate = produce_to(ctx, ctx.scratch_topic, Some(limits))?;
        Ok(Measured::new(PhaseResult::new(Phase::RawProduce, rate.bytes, rate.records, rate.secs), ""))
    }
}
