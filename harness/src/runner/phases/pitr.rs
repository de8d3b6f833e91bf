//! `pitr`: point-in-time and ranged restores. The harness's own consumer reads the source topic
//! once; then for the `pitr.window` (a share of the timestamp span the produce phase used) and
//! for the `pitr.offsets` (shares of each partition's records), one `kbackup restore` each
//! writes the selection into a topic of its own, the consumer reads it back, and every partition
//! is compared with the source records the harness selects the same way (count, bytes, digest).
//! The windowed restore is the one measured: its bytes read from storage against the backup's
//! stored bytes, its MB/s and its process.

use super::pitr_select;
use super::{Measured, PhaseRunner, RepeatContext, RepeatState};
use crate::load::digest::{self, ReadRecord};
use crate::report::pitr::{PitrKind, PitrObserved, PitrRestore};
use crate::report::{EngineMetrics, PhaseResult};
use crate::runner::engine::{self, EngineJob, RunSummary};
use crate::scenario::Phase;
use crate::scenario::engine_config::set_dotted;
use ::engine::config::RecordSelection;
use anyhow::{Context, Result};
use std::time::Instant;

/// The `pitr` phase.
pub(super) struct PitrRunner;

/// The topic a `kind` restore of `topic` writes into.
pub fn pitr_topic(topic: &str, kind: PitrKind) -> String {
    format!("{topic}-pitr-{}", kind.as_str())
}

/// Every topic the phase may create for `topic`.
pub fn pitr_topics(topic: &str) -> [String; 2] {
    [pitr_topic(topic, PitrKind::Window), pitr_topic(topic, PitrKind::Offsets)]
}

impl PhaseRunner for PitrRunner {
    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        let plan = ctx.pitr.context("the pitr phase needs the plan's `pitr:` block")?;
        let started = Instant::now();
        let source = read(ctx, ctx.job.topic)?;
        let mut selections = Vec::new();
        if let Some(window) = &plan.window {
            let spread = state.timestamps.context("a pitr window needs a produce phase with `workload.timestamps`")?;
            selections.push((PitrKind::Window, pitr_select::window_selection(window, &spread)));
        }
        if !plan.offsets.is_empty() {
            selections
                .push((PitrKind::Offsets, pitr_select::offsets_selection(&plan.offsets, ctx.job.topic, &source)?));
        }
        let mut observed = PitrObserved::default();
        let mut measured_engine = None;
        for (kind, selection) in selections {
            let Some((restore, metrics)) = restore(ctx, state, kind, &selection, &source)? else {
                return Ok(Measured { result: None, note: String::new() });
            };
            if measured_engine.is_none() || kind == PitrKind::Window {
                measured_engine = Some(metrics);
            }
            observed.restores.push(restore);
        }
        Ok(result(observed, measured_engine, started.elapsed().as_secs_f64(), state))
    }
}

/// The phase's result: what the restores wrote (bytes and records read back from their targets)
/// over the phase's time; the process figures are the windowed restore's.
fn result(observed: PitrObserved, engine: Option<EngineMetrics>, secs: f64, state: &mut RepeatState) -> Measured {
    let bytes = observed.restores.iter().map(|r| r.check.restored_bytes()).sum();
    let records = observed.restores.iter().map(|r| r.check.restored_records()).sum();
    let notes: Vec<String> = (observed.restores.iter())
        .map(|r| {
            let read = r.read_fraction().map_or_else(|| "–".to_owned(), |f| format!("{:.2}%", f * 100.0));
            format!(
                "{} {} of {} records, read {read} of stored, {:.1} MB/s, {} mismatched",
                r.kind.as_str(),
                r.check.expected_records(),
                r.source_records,
                r.mb_s(),
                r.check.mismatched_records()
            )
        })
        .collect();
    let mut result = PhaseResult::new(Phase::Pitr, bytes, records, secs);
    result.engine = engine;
    result.pitr = Some(observed.clone());
    state.pitr = Some(observed);
    Measured::new(result, format!(" ({})", notes.join("; ")))
}

/// Every partition of `topic`, read by the harness's own consumer.
fn read(ctx: &RepeatContext<'_>, topic: &str) -> Result<Vec<Vec<ReadRecord>>> {
    let services = ctx.job.services;
    let wait = if services.tansu { 10 } else { 100 };
    digest::read_records(&services.bootstrap, topic, ctx.partitions()?, wait)
        .with_context(|| format!("reading '{topic}' for the pitr check"))
}

/// One `kbackup restore` of `selection` into its own topic, then the check of that topic.
/// `None`: kbackup failed (recorded in `state`).
fn restore(
    ctx: &RepeatContext<'_>,
    state: &mut RepeatState,
    kind: PitrKind,
    selection: &RecordSelection,
    source: &[Vec<ReadRecord>],
) -> Result<Option<(PitrRestore, EngineMetrics)>> {
    let target = pitr_topic(ctx.job.topic, kind);
    let job = EngineJob { restored_topic: &target, ..ctx.job.clone() };
    let mut config = engine::engine_config(&job);
    let root = config.as_object_mut().context("kbackup's config is a mapping")?;
    for (key, value) in pitr_select::config_entries(selection) {
        set_dotted(root, key, value);
    }
    let name = format!("restore-pitr-{}", kind.as_str());
    let path = engine::write_config_named(&job, &format!("kbackup-pitr-{}.yaml", kind.as_str()), &config)?;
    let run = engine::run_kbackup(&job, &path, &name, &["restore"])?;
    if run.code != Some(0) {
        Measured::engine_failed(state, &format!("kbackup restore (pitr {})", kind.as_str()), &run);
        return Ok(None);
    }
    let summary: RunSummary = run.parse("restore")?;
    let restored = read(ctx, &target)?;
    let restore = PitrRestore {
        kind,
        selection: pitr_select::describe(selection),
        target_topic: target.clone(),
        source_records: source.iter().map(|p| p.len() as u64).sum(),
        engine_records: summary.records,
        engine_records_not_selected: summary.records_not_selected,
        storage_bytes_read: summary.storage_bytes_read,
        backup_stored_bytes: summary.backup_stored_bytes,
        duration_secs: run.wall_secs,
        check: pitr_select::check(selection, ctx.job.topic, source, &restored),
    };
    Ok(Some((restore, run.metrics)))
}
