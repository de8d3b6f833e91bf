//! `raw-put`: `kbackup probe-storage` uploads incompressible data through the engine's own
//! store writer — the storage ceiling for backup.

use super::{Measured, PhaseRunner, RepeatContext, RepeatState};
use crate::report::PhaseResult;
use crate::runner::engine;
use crate::scenario::Phase;
use anyhow::Result;

/// The `raw-put` phase.
pub(super) struct RawPutRunner;

impl PhaseRunner for RawPutRunner {
    /// As many bytes as the backup stored (at least 16 MiB), one stream per partition, as a
    /// backup uploads one segment per partition at once.
    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        let job = &ctx.job;
        let partitions = ctx.partitions()?;
        let wanted = (state.backup.as_ref().map(|b| b.stored_bytes))
            .or_else(|| state.produced.map(|p| p.bytes))
            .unwrap_or(64 << 20)
            .max(16 << 20);
        let config = engine::write_config(job)?;
        let (size, streams) = (wanted.to_string(), partitions.max(1).to_string());
        let args = ["probe-storage", "--size", size.as_str(), "--streams", streams.as_str()];
        let run = engine::run_kbackup(job, &config, "raw-put", &args)?;
        if run.code != Some(0) {
            return Ok(Measured::engine_failed(state, "kbackup probe-storage", &run));
        }
        let probe: engine::ProbeReport = run.parse("probe-storage")?;
        let result = PhaseResult::new(Phase::RawPut, probe.bytes, 0, probe.duration_secs);
        let rss_mb = run.metrics.peak_rss_bytes as f64 / 1e6;
        Ok(Measured::new(result, format!(" ({} stream(s), process peak RSS {rss_mb:.0} MB)", probe.streams)))
    }
}
