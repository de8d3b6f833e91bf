//! Bandwidth-delay-product ceilings: the most a window-limited protocol can move over a
//! link with a given RTT is window ÷ RTT. The windows are the engine's configured ones
//! (its defaults, replaced by the point's `engine:` overrides), read from how the engine
//! uses them:
//!
//! - backup, Kafka: one consumer per partition (engine/src/kafka/reader.rs), so one fetch
//!   of at most `kafka.fetch_max_bytes` in flight per partition per round trip; the
//!   round trip also includes the broker's hold time `kafka.fetch_max_wait_ms`.
//! - backup, S3: one multipart upload per partition, `storage.max_inflight_parts` parts
//!   of `storage.part_size` in flight (engine/src/store/s3.rs).
//! - restore, Kafka: one idempotent producer, `restore.max_in_flight` requests per
//!   connection, each at most one `restore.batch_size` batch per partition
//!   (engine/src/kafka/sink.rs).
//! - restore, S3: one ranged GET in flight per partition (engine/src/restore.rs reads
//!   runs one after another), each a run of blocks of at most `engine::fetch::RANGE_BYTES`
//!   counted decoded, so the window is in payload bytes already.
//!
//! Every window size and default comes from the engine crate (its config resolution and
//! constants); nothing here copies them.
//!
//! The backup's S3 window counts stored bytes; it is converted to payload bytes with the
//! measured compression ratio. A bandwidth cap is a ceiling of its own.

use crate::scenario::engine_config;
use crate::scenario::units::format_bytes;
use crate::scenario::{Link, Network, Phase, PlanPoint};
use ::engine::config::Plan;

/// The engine's plan for a point, as kbackup resolves it: its defaults, then what the runner
/// sets for tansu ([`engine_config::tansu_overrides`]), then the point's overrides. `None` when
/// kbackup would refuse the combination (the run fails; there is no ceiling to draw).
fn engine_plan(point: &PlanPoint, tansu: bool) -> Option<Plan> {
    let mut overrides = if tansu { engine_config::tansu_overrides() } else { Vec::new() };
    overrides.extend(point.engine.iter().cloned());
    engine_config::resolve(&overrides).ok()
}

/// One candidate ceiling: which window, how it was computed, and the bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// What limits, with the numbers, e.g. "S3 PUT: 2 uploads × 4 parts × 8MiB per 20 ms".
    pub formula: String,
    /// Payload MB/s (10^6 bytes) the window allows.
    pub mb_s: f64,
}

/// The ceilings of one operation at one point; the smallest is the binding one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ceiling {
    /// Every applicable bound, smallest first. Empty: the simulated link adds none.
    pub bounds: Vec<Bound>,
}

impl Ceiling {
    /// The binding bound.
    pub fn binding(&self) -> Option<&Bound> {
        self.bounds.first()
    }
}

/// `phase`'s ceiling at `point` under `network`. `ratio` is payload ÷ stored bytes
/// (measured; 1 when unknown); `tansu` says the broker holds each fetch for its full wait.
pub fn ceiling(point: &PlanPoint, network: &Network, phase: Phase, ratio: f64, tansu: bool) -> Ceiling {
    let Some(plan) = engine_plan(point, tansu) else { return Ceiling::default() };
    let rtt_s = network.rtt_ms / 1e3;
    let partitions = u64::from(point.workload.partitions);
    let mut bounds = Vec::new();
    let mut window = |link: Link, bytes: f64, cycle_s: f64, formula: String| {
        if network.applies_to(link) && rtt_s > 0.0 {
            bounds.push(Bound { formula, mb_s: bytes / cycle_s / 1e6 });
        }
    };
    let per = |cycle_ms: f64| format!("per {cycle_ms} ms round trip");
    match phase {
        Phase::Backup => {
            let conc = partitions.min(plan.backup.max_concurrent_partitions as u64);
            let fetch = plan.kafka.fetch_max_bytes;
            let wait_ms = plan.kafka.fetch_max_wait.as_secs_f64() * 1e3;
            let cycle_ms = network.rtt_ms + wait_ms;
            let f = format!(
                "Kafka fetch: {conc} partition(s) × fetch_max_bytes {} {} (RTT + {wait_ms} ms broker wait)",
                format_bytes(fetch),
                per(cycle_ms)
            );
            window(Link::Kafka, (conc * fetch) as f64, cycle_ms / 1e3, f);
            let parts = plan.storage.max_inflight_parts as u64;
            let part = plan.storage.part_size as u64;
            let f = format!(
                "S3 PUT: {conc} upload(s) × {parts} parts in flight × part_size {} {} × {ratio:.2} compression",
                format_bytes(part),
                per(network.rtt_ms)
            );
            window(Link::S3, (conc * parts * part) as f64 * ratio, rtt_s, f);
        }
        Phase::Restore => {
            let conc = partitions.min(plan.restore.max_concurrent_partitions as u64);
            let in_flight = u64::from(plan.restore.max_in_flight);
            let batch = plan.restore.batch_size;
            let request = (conc * batch).min(::engine::kafka::produce_request_max_bytes(&plan.restore));
            let f = format!(
                "Kafka produce: {in_flight} requests in flight × ({conc} partition(s) × batch_size {}) {}",
                format_bytes(batch),
                per(network.rtt_ms)
            );
            window(Link::Kafka, (in_flight * request) as f64, rtt_s, f);
            let f = format!(
                "S3 GET: {conc} partition(s) × one ranged GET of ≤ {} decoded {}",
                format_bytes(::engine::fetch::RANGE_BYTES),
                per(network.rtt_ms)
            );
            window(Link::S3, (conc * ::engine::fetch::RANGE_BYTES) as f64, rtt_s, f);
        }
        _ => {}
    }
    if let Some(cap) = network.bandwidth_bytes_per_sec {
        let cap_mb = cap as f64 / 1e6;
        if network.applies_to(Link::Kafka) {
            bounds.push(Bound { formula: format!("Kafka link cap {cap_mb} MB/s"), mb_s: cap_mb });
        }
        if network.applies_to(Link::S3) {
            let f = format!("S3 link cap {cap_mb} MB/s × {ratio:.2} compression");
            bounds.push(Bound { formula: f, mb_s: cap_mb * ratio });
        }
    }
    bounds.sort_by(|a, b| a.mb_s.total_cmp(&b.mb_s));
    Ceiling { bounds }
}
