//! `workload.timestamps`: the load generator sets every record's timestamp (CreateTime)
//! itself, spread evenly over `span` from `start`, each moved by up to `jitter` either way (see
//! `load::timestamps`). Point-in-time restores select by these timestamps, so the harness knows
//! which records a window holds.
//!
//! `start` is RFC 3339 or Unix milliseconds (read by kbackup's own timestamp parser); unset, the
//! span ends when production starts ("the last hour"): no timestamp lies in the future, and none
//! is so old that a broker's time retention would drop it.

use super::error::ErrorKind;
use super::file::Scalar;
use super::plan::Volume;
use super::units::{self, format_secs};
use super::values;
use serde::{Deserialize, Serialize};
use std::fmt;

type Result<T> = std::result::Result<T, ErrorKind>;

/// `workload.timestamps:` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimestamps {
    pub start: Option<Scalar>,
    pub span: Scalar,
    pub jitter: Option<Scalar>,
}

/// The resolved `workload.timestamps`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamps {
    /// Timestamp of the first record, Unix ms; `None`: production start − span.
    pub start_ms: Option<i64>,
    /// Span the records' timestamps are spread over, ms.
    pub span_ms: u64,
    /// Largest shift of a timestamp either way, ms (uniform, seeded).
    pub jitter_ms: u64,
}

impl fmt::Display for Timestamps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let span = format_secs(self.span_ms as f64 / 1e3);
        match self.start_ms {
            Some(ms) => write!(f, "spread over {span} from {}", ::engine::config::format_timestamp(ms))?,
            None => write!(f, "spread over the {span} before production starts")?,
        }
        if self.jitter_ms > 0 {
            write!(f, ", ±{} jitter", format_secs(self.jitter_ms as f64 / 1e3))?;
        }
        Ok(())
    }
}

fn millis(secs: f64) -> u64 {
    (secs * 1e3).round() as u64
}

/// Resolves `workload.timestamps` for a load of `volume`: the spread follows the amount
/// produced, so the load must be a `volume` or a count of `messages`.
pub fn resolve(raw: &RawTimestamps, volume: &Volume) -> Result<Timestamps> {
    if let Volume::DurationSecs(_) = volume {
        let expected = "`volume:` or `messages:`: timestamps are spread by how much of a known amount is produced";
        return Err(ErrorKind::invalid("workload.timestamps", volume, expected));
    }
    let start_ms = match &raw.start {
        None => None,
        Some(Scalar::Int(ms)) => Some(*ms),
        Some(Scalar::Str(text)) => Some(
            ::engine::config::parse_timestamp(text)
                .map_err(|e| ErrorKind::invalid("workload.timestamps.start", text, e))?,
        ),
        Some(other) => {
            let expected = "RFC 3339 like 2026-12-02T14:00:00Z, or Unix milliseconds";
            return Err(ErrorKind::invalid("workload.timestamps.start", other, expected));
        }
    };
    let span_ms = millis(values::duration_secs(&raw.span, "workload.timestamps.span")?);
    let jitter_ms = match &raw.jitter {
        None | Some(Scalar::Int(0)) => 0,
        Some(Scalar::Str(s)) if units::parse_duration_secs(s) == Ok(0.0) => 0,
        Some(j) => millis(values::duration_secs(j, "workload.timestamps.jitter")?),
    };
    if jitter_ms >= span_ms {
        let problem = "must be shorter than the span, or a window would hold records from anywhere";
        return Err(ErrorKind::conflict("workload.timestamps.jitter", problem));
    }
    Ok(Timestamps { start_ms, span_ms, jitter_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(start: Option<Scalar>, span: &str, jitter: Option<&str>) -> RawTimestamps {
        RawTimestamps { start, span: Scalar::Str(span.into()), jitter: jitter.map(|j| Scalar::Str(j.into())) }
    }

    #[test]
    fn start_span_and_jitter_resolve() {
        let bytes = Volume::Bytes(1 << 20);
        let t = resolve(&raw(None, "1h", Some("2s")), &bytes).unwrap();
        assert_eq!(t, Timestamps { start_ms: None, span_ms: 3_600_000, jitter_ms: 2000 });
        assert_eq!(t.to_string(), "spread over the 1h before production starts, ±2s jitter");
        let start = Some(Scalar::Str("2026-12-02T14:02:00Z".into()));
        let t = resolve(&raw(start, "10m", None), &Volume::Messages(5)).unwrap();
        assert_eq!(t.start_ms, Some(1_796_220_120_000));
        let t = resolve(&raw(Some(Scalar::Int(42)), "1s", Some("0")), &bytes);
        assert_eq!(t.unwrap().start_ms, Some(42));
    }

    #[test]
    fn bad_values_name_their_key() {
        let bytes = Volume::Bytes(1 << 20);
        let e = resolve(&raw(Some(Scalar::Str("yesterday".into())), "1h", None), &bytes).unwrap_err();
        assert_eq!(e.path(), "workload.timestamps.start");
        let e = resolve(&raw(None, "1h", Some("2h")), &bytes).unwrap_err();
        assert_eq!(e.path(), "workload.timestamps.jitter");
        let e = resolve(&raw(None, "soon", None), &bytes).unwrap_err();
        assert_eq!(e.path(), "workload.timestamps.span");
        let e = resolve(&raw(None, "1h", None), &Volume::DurationSecs(30.0)).unwrap_err();
        assert!(e.to_string().contains("`volume:` or `messages:`"), "{e}");
    }
}
