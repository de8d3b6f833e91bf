//! One repeat of a point: a fresh set of names, the plan's phases in order with the report
//! rewritten after each, and the clean-up of what the repeat created, also when it failed.

use super::engine::{self, EngineJob};
use super::phases::{self, RepeatContext, RepeatState};
use super::{Names, Run, STORAGE_PREFIX, cleanup, network};
use crate::report::{PointResult, Report, Sample};
use crate::scenario::{Phase, PlanPoint};
use anyhow::{Context, Result};

/// What a run has recorded so far.
pub(super) struct RunRecord {
    pub(super) report: Report,
    /// 1 + index of the last point that got a rate warning (0: none).
    pub(super) rate_warned: usize,
}

/// What one repeat has recorded so far.
struct RepeatRecord {
    sample: Sample,
    state: RepeatState,
    /// Phases begun, for the clean-up.
    started: Vec<Phase>,
}

impl Run<'_> {
    /// Runs one repeat of `point` under `names`, then deletes what it created (also after a
    /// failed or interrupted repeat). `samples`: the point's earlier repeats.
    pub(super) fn repeat(
        &self,
        point: &PlanPoint,
        repeat: u32,
        names: &Names,
        samples: &[Sample],
        recorded: &mut RunRecord,
    ) -> Result<Sample> {
        let run_dir =
            self.writer.dir().join("runs").join(format!("{}-r{}", phases::dir_name(&point.label), repeat + 1));
        let prefix = format!("[{} {}/{}]", point.label, repeat + 1, self.plan.repeat);
        let ctx = RepeatContext {
            point,
            job: EngineJob {
                kbackup: self.kbackup,
                services: self.env.services(),
                backup_id: &names.topic,
                topic: &names.topic,
                restored_topic: &names.restored,
                prefix: STORAGE_PREFIX,
                overrides: &point.engine,
                run_dir: &run_dir,
            },
            scratch_topic: &names.scratch,
            runtime: self.runtime,
            prefix: &prefix,
            continuous: self.plan.continuous.as_ref(),
            pitr: self.plan.pitr.as_ref(),
        };
        let sample = Sample { repeat, phases: Vec::new(), verification: Default::default() };
        let mut record = RepeatRecord { sample, state: RepeatState::default(), started: Vec::new() };
        let ran = self.phases(&ctx, samples, &mut record, recorded);
        // Also after a failed or interrupted repeat: what it created is deleted either way.
        let leftovers = cleanup::Leftovers::of(&record.started, &ctx.job, ctx.scratch_topic);
        eprintln!("{prefix} cleanup: {}", cleanup::clean_up(self.runtime, &ctx.job, &leftovers));
        ran?;
        let verification = &record.sample.verification;
        if verification.checked && !verification.passed && !record.state.failed() {
            eprintln!("{prefix} CHECK FAILED: {}", verification.detail);
        }
        Ok(record.sample)
    }

    /// Runs the plan's phases for one repeat, rewriting the report after each; stops at the
    /// first failed engine run. `Err` is a tool error or an interruption.
    fn phases(
        &self,
        ctx: &RepeatContext<'_>,
        samples: &[Sample],
        r: &mut RepeatRecord,
        recorded: &mut RunRecord,
    ) -> Result<()> {
        let point = ctx.point;
        for &phase in &self.plan.phases {
            anyhow::ensure!(!engine::interrupted(), "interrupted");
            r.started.push(phase);
            let shaped = network::enter(self.env, point, phase);
            let result = phases::run_phase(phase, ctx, &mut r.state);
            let result =
                network::leave(self.env, shaped, result.with_context(|| format!("{} phase {phase}", ctx.prefix))?);
            r.sample.phases.extend(result);
            if matches!(phase, Phase::Produce | Phase::Continuous) {
                recorded.warn_rate(ctx, &r.state);
            }
            r.sample.verification = r.state.verification();
            let mut so_far = samples.to_vec();
            so_far.push(r.sample.clone());
            recorded.report.set_point(PointResult::from_samples(point, so_far));
            self.write(&recorded.report)?;
            if r.state.failed() {
                eprintln!("{} {phase} FAILED: {}", ctx.prefix, r.state.failures.join("; "));
                break;
            }
        }
        Ok(())
    }
}

impl RunRecord {
    /// After the produce phase: a warning when the load generator missed the workload's
    /// rate; one per point is enough.
    fn warn_rate(&mut self, ctx: &RepeatContext<'_>, state: &RepeatState) {
        let point = ctx.point;
        if self.rate_warned < point.index + 1
            && let Some(warning) = state.produced.and_then(|p| phases::rate_warning(point, &p))
        {
            eprintln!("{} warning: {warning}", ctx.prefix);
            self.report.warnings.push(warning);
            self.rate_warned = point.index + 1;
        }
    }
}
