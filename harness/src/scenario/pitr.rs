//! The `pitr:` block: what the `pitr` phase restores out of the backup — a time `window` (start
//! and end as percentages of `workload.timestamps.span`) into one target topic, and offset
//! ranges of some source partitions into another. Both are half-open, `[start, end)`, like
//! kbackup's `restore.time_window` and `restore.offsets`.
//!
//! Offsets are a percentage of the partition's records (`10%`) or an absolute source offset
//! (`1000`), so one block fits every profile; the phase resolves them against what the source
//! partitions hold when it runs.

use super::error::ErrorKind;
use super::file::{OrderedMap, Scalar};
use serde::{Deserialize, Serialize};
use std::fmt;

type Result<T> = std::result::Result<T, ErrorKind>;

/// `pitr:` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPitr {
    pub window: Option<RawRange>,
    #[serde(default)]
    pub offsets: OrderedMap<RawRange>,
}

/// `{start: 40%, end: 41%}`; either side may be left out.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    pub start: Option<Scalar>,
    pub end: Option<Scalar>,
}

/// A bound of a range: a share of the whole, or an absolute value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Percent of the span (windows) or of the partition's records (offsets), 0 to 100.
    Percent(f64),
    /// An absolute source offset.
    Offset(i64),
}

impl Position {
    /// The bound in a range of `len` values starting at `first`: a percentage rounds down.
    pub fn resolve(self, first: i64, len: u64) -> i64 {
        match self {
            Position::Percent(pct) => first + (len as f64 * pct / 100.0).floor() as i64,
            Position::Offset(offset) => offset,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Percent(p) => write!(f, "{p}%"),
            Position::Offset(o) => write!(f, "{o}"),
        }
    }
}

/// A resolved `[start, end)`; `None` is open on that side.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// First value selected.
    pub start: Option<Position>,
    /// First value past the selection.
    pub end: Option<Position>,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |p: Option<Position>, open: &str| p.map_or_else(|| open.to_owned(), |p| p.to_string());
        write!(f, "[{}, {})", side(self.start, "start"), side(self.end, "end"))
    }
}

/// Offsets of one source partition to restore.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartitionRange {
    /// Source partition.
    pub partition: i32,
    /// Its offsets.
    pub range: Range,
}

/// The resolved `pitr:` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PitrPlan {
    /// The time window restored into `<topic>-pitr-window`, percentages of the timestamp span.
    pub window: Option<Range>,
    /// The offset ranges restored into `<topic>-pitr-offsets`, in file order.
    pub offsets: Vec<PartitionRange>,
}

impl PitrPlan {
    /// The block in words, for plans and reports.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(w) = &self.window {
            parts.push(format!("time window {w} of the timestamp span"));
        }
        if !self.offsets.is_empty() {
            let ranges: Vec<String> = self.offsets.iter().map(|r| format!("{}: {}", r.partition, r.range)).collect();
            parts.push(format!("offsets {}", ranges.join(", ")));
        }
        parts.join("; ")
    }
}

fn position(value: &Scalar, path: &str, percent_only: bool) -> Result<Position> {
    let expected = if percent_only { "a percentage like 40%" } else { "a percentage like 10% or an offset like 1000" };
    match value {
        Scalar::Str(s) if s.trim().ends_with('%') => {
            let pct = s.trim().trim_end_matches('%').trim().parse::<f64>().ok();
            pct.filter(|p| (0.0..=100.0).contains(p))
                .map(Position::Percent)
                .ok_or_else(|| ErrorKind::invalid(path, value, "a percentage from 0% to 100%"))
        }
        Scalar::Int(n) if *n >= 0 && !percent_only => Ok(Position::Offset(*n)),
        _ => Err(ErrorKind::invalid(path, value, expected)),
    }
}

fn range(raw: &RawRange, path: &str, percent_only: bool) -> Result<Range> {
    let side = |v: &Option<Scalar>, key: &str| {
        v.as_ref().map(|v| position(v, &format!("{path}.{key}"), percent_only)).transpose()
    };
    let range = Range { start: side(&raw.start, "start")?, end: side(&raw.end, "end")? };
    let empty = match (range.start, range.end) {
        (Some(Position::Percent(a)), Some(Position::Percent(b))) => a >= b,
        (Some(Position::Offset(a)), Some(Position::Offset(b))) => a >= b,
        (None, None) => {
            return Err(ErrorKind::missing(
                path,
                "`start:`, `end:` or both; without them the whole partition is restored",
            ));
        }
        _ => false,
    };
    if empty {
        return Err(ErrorKind::conflict(path, "start must be before end: end is the first one not restored"));
    }
    Ok(range)
}

/// Resolves `raw` for points of up to `partitions` partitions; `has_timestamps`: the workload
/// sets `timestamps`, which a window needs.
pub fn resolve(raw: &RawPitr, partitions: u32, has_timestamps: bool) -> Result<PitrPlan> {
    let window = raw.window.as_ref().map(|w| range(w, "pitr.window", true)).transpose()?;
    if window.is_some() && !has_timestamps {
        let expected = "`workload.timestamps` (e.g. `{span: 1h}`): the window is a share of the timestamp span";
        return Err(ErrorKind::missing("workload.timestamps", expected));
    }
    let mut offsets = Vec::new();
    for (key, raw_range) in &raw.offsets.0 {
        let path = format!("pitr.offsets.{key}");
        let partition = key.parse::<i32>().ok().filter(|p| (0..partitions as i32).contains(p));
        let Some(partition) = partition else {
            let expected = format!("a partition number from 0 to {}", partitions.saturating_sub(1));
            return Err(ErrorKind::invalid("pitr.offsets", key, expected));
        };
        offsets.push(PartitionRange { partition, range: range(raw_range, &path, false)? });
    }
    if window.is_none() && offsets.is_empty() {
        return Err(ErrorKind::missing("pitr", "`window:`, `offsets:` or both"));
    }
    Ok(PitrPlan { window, offsets })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_range(start: Option<Scalar>, end: Option<Scalar>) -> RawRange {
        RawRange { start, end }
    }

    fn pct(s: &str) -> Option<Scalar> {
        Some(Scalar::Str(s.into()))
    }

    #[test]
    fn window_and_offsets_resolve() {
        let raw = RawPitr {
            window: Some(raw_range(pct("40%"), pct("41%"))),
            offsets: OrderedMap(vec![
                ("0".into(), raw_range(pct("10%"), pct("12.5%"))),
                ("3".into(), raw_range(Some(Scalar::Int(100)), None)),
            ]),
        };
        let plan = resolve(&raw, 4, true).unwrap();
        assert_eq!(
            plan.window,
            Some(Range { start: Some(Position::Percent(40.0)), end: Some(Position::Percent(41.0)) })
        );
        assert_eq!(
            plan.offsets[1],
            PartitionRange { partition: 3, range: Range { start: Some(Position::Offset(100)), end: None } }
        );
        assert_eq!(
            plan.describe(),
            "time window [40%, 41%) of the timestamp span; offsets 0: [10%, 12.5%), 3: [100, end)"
        );
    }

    #[test]
    fn positions_resolve_against_what_the_partition_holds() {
        assert_eq!(Position::Percent(10.0).resolve(0, 1000), 100);
        assert_eq!(Position::Percent(12.5).resolve(50, 999), 50 + 124);
        assert_eq!(Position::Percent(100.0).resolve(0, 7), 7);
        assert_eq!(Position::Offset(5).resolve(50, 999), 5);
    }

    #[test]
    fn mistakes_name_their_key() {
        let window = |s, e| RawPitr { window: Some(raw_range(s, e)), ..RawPitr::default() };
        let e = resolve(&window(pct("41%"), pct("40%")), 4, true).unwrap_err();
        assert_eq!(e.path(), "pitr.window");
        let e = resolve(&window(Some(Scalar::Int(5)), None), 4, true).unwrap_err();
        assert_eq!(e.path(), "pitr.window.start", "a window is a share of the span");
        let e = resolve(&window(pct("140%"), None), 4, true).unwrap_err();
        assert_eq!(e.path(), "pitr.window.start");
        let e = resolve(&window(pct("1%"), None), 4, false).unwrap_err();
        assert_eq!(e.path(), "workload.timestamps");
        let offsets = |key: &str| RawPitr {
            offsets: OrderedMap(vec![(key.into(), raw_range(pct("1%"), None))]),
            ..RawPitr::default()
        };
        assert_eq!(resolve(&offsets("4"), 4, false).unwrap_err().path(), "pitr.offsets");
        assert_eq!(resolve(&offsets("x"), 4, false).unwrap_err().path(), "pitr.offsets");
        assert!(resolve(&offsets("3"), 4, false).is_ok());
        assert_eq!(resolve(&RawPitr::default(), 4, true).unwrap_err().path(), "pitr");
        let open = RawPitr { offsets: OrderedMap(vec![("0".into(), RawRange::default())]), ..RawPitr::default() };
        assert_eq!(resolve(&open, 4, false).unwrap_err().path(), "pitr.offsets.0");
    }
}
