//! Runner hooks for simulated WAN links: which phases pay the link, switching the
//! proxies before each phase, and recording what they carried during it.

use crate::env::{Environment, wan::shaping_for};
use crate::proxy::ProxyStats;
use crate::report::{LinkObserved, PhaseResult};
use crate::scenario::{Link, Network, Phase, PlanPoint, ScenarioPlan};
use anyhow::Result;

/// Phases that run over the simulated link: the engine's and their bare-client
/// ceilings. Loading the topic and verifying it run at loopback speed, so a slow link
/// costs only the minutes it is meant to measure.
pub fn pays_network(phase: Phase) -> bool {
    matches!(phase, Phase::Backup | Phase::Restore | Phase::RawConsume | Phase::RawProduce | Phase::RawPut)
}

/// A `network:` plan needs the proxies only the native environment can put in place
/// (the broker must advertise them).
pub fn check(plan: &ScenarioPlan, env: &Environment) -> Result<()> {
    let simulated = plan.points.iter().any(|p| p.network.is_some());
    anyhow::ensure!(
        !simulated || env.wan().is_some(),
        "scenario '{}' simulates a network (`network:`), which needs --env native: the harness's \
         proxy must sit in front of the broker, and the broker must advertise it",
        plan.name
    );
    Ok(())
}

/// Counters at the start of a phase.
pub struct PhaseStart {
    stats: [(Link, ProxyStats); 2],
    network: Option<Network>,
}

/// Shapes the links for `phase` of `point` and returns the counters to diff against.
pub fn enter(env: &Environment, point: &PlanPoint, phase: Phase) -> Option<PhaseStart> {
    let wan = env.wan()?;
    let network = point.network.clone().filter(|_| pays_network(phase));
    wan.apply(network.as_ref());
    Some(PhaseStart { stats: wan.stats(), network })
}

/// Unshapes the links after a phase and attaches what they carried to its result.
pub fn leave(env: &Environment, start: Option<PhaseStart>, result: Option<PhaseResult>) -> Option<PhaseResult> {
    let (Some(wan), Some(start)) = (env.wan(), start) else { return result };
    wan.apply(None);
    let mut result = result?;
    if start.network.is_none() {
        return Some(result); // unshaped phases carry no WAN record
    }
    for ((link, after), (_, before)) in wan.stats().into_iter().zip(start.stats) {
        result.network.push(observed(link, &after.since(&before), start.network.as_ref()));
    }
    Some(result)
}

fn observed(link: Link, d: &ProxyStats, network: Option<&Network>) -> LinkObserved {
    let shaping = shaping_for(network, link);
    let chunks = d.upstream.chunks + d.downstream.chunks;
    let delay = d.upstream.delay_sum + d.downstream.delay_sum;
    LinkObserved {
        link,
        rtt_ms: (shaping.upstream.latency + shaping.downstream.latency).as_secs_f64() * 1e3,
        bytes_to_server: d.upstream.bytes,
        bytes_to_client: d.downstream.bytes,
        chunks,
        mean_delay_ms: if chunks == 0 { 0.0 } else { delay.as_secs_f64() * 1e3 / chunks as f64 },
        throttled_secs: (d.upstream.throttled + d.downstream.throttled).as_secs_f64(),
    }
}
