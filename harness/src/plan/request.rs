//! What the user asks the plan for: throughput, partitions, restore size, headroom and
//! optional per-instance budgets, parsed from flag text and validated once.

use super::{PlanError, Result};
use crate::scenario::parse_size;
use crate::scenario::units::{Rate, parse_duration_secs, parse_rate};
use serde::Serialize;

/// A validated planning request. Throughput is MB/s with MB = 10^6 bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanRequest {
    /// Required sustained backup throughput over all partitions, MB/s.
    pub throughput_mb_s: f64,
    /// Partitions to back up.
    pub partitions: u32,
    /// Bytes a full restore must move, for the RTO.
    pub restore_bytes: Option<u64>,
    /// Fraction of each instance's measured capacity kept free (0.3 = run at ≤ 70%).
    pub headroom: f64,
    /// CPU cores one instance may use; `None` = the measuring machine's cores.
    pub cpu_per_instance: Option<f64>,
    /// Memory one instance may use, bytes; `None` = the measuring machine's memory.
    pub memory_per_instance: Option<u64>,
    /// The HPA scales out when a pod's lag exceeds what its spare capacity clears in
    /// this many seconds.
    pub lag_drain_secs: f64,
}

/// Largest headroom accepted: above this an instance would plan to idle.
const MAX_HEADROOM: f64 = 0.9;

fn invalid(flag: &'static str, value: &str, expected: &'static str) -> PlanError {
    PlanError::InvalidArgument { flag, value: value.to_owned(), expected }
}

/// The raw flag values of `harness plan`.
#[derive(Clone, Debug, Default)]
pub struct RequestText<'a> {
    /// `--throughput`, e.g. `200MB/s`.
    pub throughput: &'a str,
    /// `--partitions`.
    pub partitions: u32,
    /// `--restore-size`, e.g. `500GiB`.
    pub restore_size: Option<&'a str>,
    /// `--headroom`, e.g. `30%`.
    pub headroom: &'a str,
    /// `--cpu-per-instance`, cores, e.g. `2` or `1.5`.
    pub cpu_per_instance: Option<&'a str>,
    /// `--memory-per-instance`, e.g. `2GiB`.
    pub memory_per_instance: Option<&'a str>,
    /// `--lag-drain`, e.g. `60s`.
    pub lag_drain: &'a str,
}

impl PlanRequest {
    /// Parses and validates the flag values.
    pub fn parse(text: &RequestText<'_>) -> Result<PlanRequest> {
        let throughput_mb_s = match parse_rate(text.throughput) {
            Ok(Rate::BytesPerSec(b)) if b > 0 => b as f64 / 1e6,
            _ => return Err(invalid("--throughput", text.throughput, "a byte rate above 0, e.g. 200MB/s or 64MiB/s")),
        };
        if text.partitions == 0 {
            return Err(invalid("--partitions", "0", "at least 1 partition"));
        }
        let restore_bytes = (text.restore_size)
            .map(|s| {
                parse_size(s)
                    .ok()
                    .filter(|b| *b > 0)
                    .ok_or_else(|| invalid("--restore-size", s, "a size above 0, e.g. 500GiB"))
            })
            .transpose()?;
        let headroom = parse_fraction(text.headroom)
            .filter(|h| (0.0..=MAX_HEADROOM).contains(h))
            .ok_or_else(|| invalid("--headroom", text.headroom, "a percentage from 0% to 90%, e.g. 30%"))?;
        let cpu_per_instance = (text.cpu_per_instance)
            .map(|s| {
                let cores = s.trim().parse::<f64>().ok().filter(|c| c.is_finite() && *c > 0.0);
                cores.ok_or_else(|| invalid("--cpu-per-instance", s, "cores above 0, e.g. 2 or 0.5"))
            })
            .transpose()?;
        let memory_per_instance = (text.memory_per_instance)
            .map(|s| {
                parse_size(s)
                    .ok()
                    .filter(|b| *b > 0)
                    .ok_or_else(|| invalid("--memory-per-instance", s, "a size above 0, e.g. 2GiB"))
            })
            .transpose()?;
        let lag_drain_secs = parse_duration_secs(text.lag_drain)
            .ok()
            .filter(|s| *s > 0.0)
            .ok_or_else(|| invalid("--lag-drain", text.lag_drain, "a duration above 0, e.g. 60s or 5m"))?;
        Ok(PlanRequest {
            throughput_mb_s,
            partitions: text.partitions,
            restore_bytes,
            headroom,
            cpu_per_instance,
            memory_per_instance,
            lag_drain_secs,
        })
    }

    /// Required MB/s per partition (the load is assumed spread evenly over partitions).
    pub fn per_partition_mb_s(&self) -> f64 {
        self.throughput_mb_s / f64::from(self.partitions)
    }

    /// Share of measured capacity an instance is planned to use.
    pub fn usable_fraction(&self) -> f64 {
        1.0 - self.headroom
    }
}

/// "30%" → 0.3; a bare number is read as a percentage too ("30" → 0.3), since that is
/// how people write headroom.
fn parse_fraction(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix('%').unwrap_or(text.trim()).trim();
    number.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> RequestText<'static> {
        RequestText { throughput: "200MB/s", partitions: 48, headroom: "30%", lag_drain: "60s", ..Default::default() }
    }

    #[test]
    fn parses_the_documented_example() {
        let r = PlanRequest::parse(&RequestText { restore_size: Some("500GiB"), ..text() }).unwrap();
        assert_eq!(r.throughput_mb_s, 200.0);
        assert_eq!(r.restore_bytes, Some(500 << 30));
        assert!((r.headroom - 0.3).abs() < 1e-12);
        assert!((r.per_partition_mb_s() - 200.0 / 48.0).abs() < 1e-12);
    }

    #[test]
    fn rejects_unusable_values_naming_the_flag() {
        let err = |t: RequestText<'static>| PlanRequest::parse(&t).unwrap_err().to_string();
        assert!(err(RequestText { throughput: "20000msg/s", ..text() }).starts_with("--throughput '20000msg/s'"));
        assert!(err(RequestText { headroom: "95%", ..text() }).starts_with("--headroom"));
        assert!(err(RequestText { partitions: 0, ..text() }).starts_with("--partitions"));
        assert!(err(RequestText { cpu_per_instance: Some("-1"), ..text() }).starts_with("--cpu-per-instance"));
        assert!(err(RequestText { memory_per_instance: Some("lots"), ..text() }).starts_with("--memory-per-instance"));
    }
}
