//! `produce`: the load generator creates the source topic and fills it with the point's
//! workload; also the mapping of a workload onto the load generator that `raw-produce`
//! reuses, and the check that the generator reached the workload's rate.

use super::{Measured, PhaseRunner, RepeatContext, RepeatState};
use crate::load::{self, RecordGenerator, Throughput};
use crate::progress::Counter;
use crate::report::PhaseResult;
use crate::scenario::{Phase, PlanPoint, Rate, Timestamps, Volume};
use crate::warning::Warning;
use anyhow::{Context, Result};
use std::time::Duration;

/// The `produce` phase.
pub(super) struct ProduceRunner;

impl PhaseRunner for ProduceRunner {
    fn progress(&self, ctx: &RepeatContext<'_>, _state: &RepeatState) -> (Option<u64>, Counter) {
        (load_params(ctx.point).ok().and_then(|p| p.limits.bytes), Counter::Live(&load::LIVE_BYTES))
    }

    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        let params = load_params(ctx.point)?;
        // The timestamps as produced: a `pitr` window is a share of this span.
        state.timestamps = params.spec.timestamps;
        let rate = produce_params(ctx, ctx.job.topic, params)?;
        state.produced = Some(rate);
        Ok(Measured::new(PhaseResult::new(Phase::Produce, rate.bytes, rate.records, rate.secs), ""))
    }
}

/// How the load generator is driven for a workload.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadParams {
    /// What to generate.
    pub spec: load::LoadSpec,
    /// When production stops and how fast it may go.
    pub limits: load::Limits,
}

/// Maps a workload onto the load generator.
pub fn load_params(point: &PlanPoint) -> Result<LoadParams> {
    let w = &point.workload;
    let spec = load::LoadSpec {
        payload: w.payload,
        message_size: w.message_size.clone(),
        keys: w.keys,
        headers: w.headers,
        seed: w.seed,
        timestamps: w.timestamps.as_ref().map(|t| timestamp_spread(t, &w.volume, now_ms())).transpose()?,
    };
    let mut limits = match w.volume {
        Volume::Bytes(b) => load::Limits::bytes(b),
        Volume::Messages(m) => load::Limits { messages: Some(m), ..Default::default() },
        Volume::DurationSecs(secs) => load::Limits {
            duration: Some(Duration::try_from_secs_f64(secs).context("workload duration")?),
            ..Default::default()
        },
    };
    match w.rate {
        Some(Rate::BytesPerSec(r)) => limits.bytes_per_sec = Some(r as f64),
        Some(Rate::MessagesPerSec(r)) => limits.messages_per_sec = Some(r as f64),
        None => {}
    }
    Ok(LoadParams { spec, limits })
}

/// Milliseconds since the Unix epoch by the system clock.
fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// `workload.timestamps` for one produce run starting at `now_ms`: an unset start puts the
/// span right before it.
fn timestamp_spread(t: &Timestamps, volume: &Volume, now_ms: i64) -> Result<load::TimestampSpread> {
    let over = match volume {
        Volume::Bytes(b) => load::Progress::Bytes(*b),
        Volume::Messages(n) => load::Progress::Records(*n),
        Volume::DurationSecs(_) => anyhow::bail!("workload.timestamps needs a volume or a message count"),
    };
    let span = i64::try_from(t.span_ms).context("workload.timestamps.span")?;
    let start_ms = t.start_ms.unwrap_or(now_ms.saturating_sub(span));
    Ok(load::TimestampSpread { start_ms, span_ms: t.span_ms, jitter_ms: t.jitter_ms, over })
}

/// Creates `topic` and fills it; `limits` replaces the workload's amount and rate.
pub(super) fn produce_to(ctx: &RepeatContext<'_>, topic: &str, limits: Option<load::Limits>) -> Result<Throughput> {
    let mut params = load_params(ctx.point)?;
    if let Some(limits) = limits {
        params.limits = limits;
    }
    produce_params(ctx, topic, params)
}

/// Creates `topic` and fills it as `params` say.
fn produce_params(ctx: &RepeatContext<'_>, topic: &str, params: LoadParams) -> Result<Throughput> {
    let limits = params.limits;
    let bootstrap = &ctx.job.services.bootstrap;
    let partitions = ctx.partitions()?;
    ctx.runtime
        .block_on(load::create_topic(bootstrap, topic, partitions))
        .with_context(|| format!("creating topic '{topic}'"))?;
    let mut generator = RecordGenerator::new(params.spec);
    load::produce_with(bootstrap, topic, partitions, limits, &mut generator)
        .with_context(|| format!("producing to '{topic}'"))
}

/// Produce runs shorter than this are dominated by connecting and flushing, so their
/// average rate says nothing about whether the throttle's rate was reachable.
pub const RATE_CHECK_MIN_SECS: f64 = 5.0;

/// A warning when the load generator stayed more than 10 % below the workload's rate
/// over a run of at least [`RATE_CHECK_MIN_SECS`].
pub fn rate_warning(point: &PlanPoint, produced: &Throughput) -> Option<Warning> {
    if produced.secs < RATE_CHECK_MIN_SECS {
        return None;
    }
    let (requested, achieved, unit) = match point.workload.rate? {
        Rate::BytesPerSec(r) => (r as f64 / 1e6, produced.mb_s, "MB/s"),
        Rate::MessagesPerSec(r) => {
            (r as f64, if produced.secs > 0.0 { produced.records as f64 / produced.secs } else { 0.0 }, "msg/s")
        }
    };
    (achieved < requested * 0.9).then(|| Warning::RateNotReached { requested, achieved, unit: unit.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{self, KeyMode, MessageSize, Payload, Profile};

    fn point(workload: &str) -> PlanPoint {
        let text = format!("name: t\ndescription: d.\nworkload:\n  partitions: 2\n{workload}");
        scenario::parse(&text, "inline").unwrap().plan(Profile::Standard).unwrap().points.remove(0)
    }

    #[test]
    fn workloads_map_onto_the_load_generator() {
        let p =
            load_params(&point("  message_size: 1KiB\n  payload: text\n  keys: random\n  volume: 64MiB\n")).unwrap();
        assert_eq!((p.spec.payload, p.spec.keys, p.spec.headers), (Payload::Text, KeyMode::Random, 0));
        assert_eq!(p.spec.message_size, MessageSize::Fixed { bytes: 1024 });
        assert_eq!(p.limits, load::Limits::bytes(64 << 20));

        let w = "  message_size: {lognormal: {median: 2KiB, sigma: 1.5, min: 1KiB, max: 5MiB}}\n  payload: avro\n  \
                 keys: sequential\n  headers: 3\n  duration: 30s\n  rate: 10MB/s\n  seed: 9\n";
        let p = load_params(&point(w)).unwrap();
        assert_eq!(
            (p.spec.payload, p.spec.keys, p.spec.headers, p.spec.seed),
            (Payload::Avro, KeyMode::Sequential, 3, 9)
        );
        let size = MessageSize::Lognormal { median_bytes: 2048, sigma: 1.5, min_bytes: 1024, max_bytes: 5 << 20 };
        assert_eq!(p.spec.message_size, size);
        assert_eq!(p.limits.duration, Some(Duration::from_secs(30)));
        assert_eq!(p.limits.bytes_per_sec, Some(10e6));
    }

    #[test]
    fn timestamps_span_the_load_before_it_starts_unless_placed() {
        let t = Timestamps { start_ms: None, span_ms: 3_600_000, jitter_ms: 500 };
        let s = timestamp_spread(&t, &Volume::Bytes(1000), 10_000_000).unwrap();
        assert_eq!((s.start_ms, s.span_ms, s.jitter_ms), (6_400_000, 3_600_000, 500));
        assert_eq!(s.over, load::Progress::Bytes(1000));
        let placed = Timestamps { start_ms: Some(5), ..t };
        let s = timestamp_spread(&placed, &Volume::Messages(7), 10_000_000).unwrap();
        assert_eq!((s.start_ms, s.over), (5, load::Progress::Records(7)));
        assert!(timestamp_spread(&t, &Volume::DurationSecs(1.0), 0).is_err());
        let p = point("  message_size: 1KiB\n  payload: json\n  volume: 1MiB\n  timestamps: {span: 1h, jitter: 1s}\n");
        let spread = load_params(&p).unwrap().spec.timestamps.unwrap();
        assert_eq!((spread.span_ms, spread.jitter_ms, spread.over), (3_600_000, 1000, load::Progress::Bytes(1 << 20)));
    }

    #[test]
    fn missed_rates_warn() {
        let p = point("  message_size: 1KiB\n  payload: json\n  volume: 1MB\n  rate: 10MB/s\n");
        let slow = Throughput { records: 1, bytes: 50_000_000, secs: 10.0, mb_s: 5.0 };
        assert!(matches!(rate_warning(&p, &slow), Some(Warning::RateNotReached { .. })));
        let fine = Throughput { mb_s: 9.5, ..slow };
        assert_eq!(rate_warning(&p, &fine), None);
        let short = Throughput { secs: 1.0, ..slow };
        assert_eq!(rate_warning(&p, &short), None, "too short to judge");
    }
}
