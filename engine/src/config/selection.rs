//! Point-in-time and ranged restore (issue 13 §1): which records of the backup a restore
//! produces (`restore.time_window`, `restore.offsets`), parsed and resolved.
//!
//! Both bounds are half-open, `[start, end)`, like Kafka's own offsets: `end` is the first
//! timestamp or offset *not* restored, so "the data as it was at 14:02" is `end: 14:02`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::ConfigError;

/// `restore.time_window:` raw.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindowSection {
    /// First timestamp restored (RFC 3339 or Unix milliseconds); unset: from the beginning.
    pub start: Option<Timestamp>,
    /// First timestamp not restored; unset: to the end.
    pub end: Option<Timestamp>,
}

/// `restore.offsets.<topic>.<partition>:` raw.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffsetRangeSection {
    /// First offset restored; unset: from the beginning.
    pub start: Option<i64>,
    /// First offset not restored; unset: to the end.
    pub end: Option<i64>,
}

/// A timestamp as written in YAML: `2026-12-02T14:02:00Z` (RFC 3339, any offset) or Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub i64);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Millis(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Millis(ms) => Ok(Timestamp(ms)),
            Raw::Text(text) => parse_timestamp(&text).map(Timestamp).map_err(serde::de::Error::custom),
        }
    }
}

/// Parses RFC 3339 (`2026-12-02T14:02:00Z`, `2026-12-02T15:02:00.250+01:00`) or an integer of
/// Unix milliseconds into Unix milliseconds.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|e| {
        format!("'{text}' is not a timestamp ({e}): write RFC 3339 like 2026-12-02T14:02:00Z, or Unix milliseconds")
    })?;
    Ok((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Unix milliseconds as RFC 3339 in UTC, for summaries and logs.
pub fn format_timestamp(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// A half-open range `[start, end)` of timestamps or offsets; `i64::MIN`/`i64::MAX` mean unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bounds {
    /// First value inside.
    pub start: i64,
    /// First value past the end.
    pub end: i64,
}

impl Bounds {
    /// Everything.
    pub const ALL: Bounds = Bounds { start: i64::MIN, end: i64::MAX };

    /// Whether `value` is inside.
    pub fn contains(&self, value: i64) -> bool {
        self.start <= value && value < self.end
    }

    /// Whether every value of `[min, max]` is inside.
    pub fn covers(&self, min: i64, max: i64) -> bool {
        self.start <= min && max < self.end
    }

    /// Whether no value of `[min, max]` is inside.
    pub fn misses(&self, min: i64, max: i64) -> bool {
        max < self.start || min >= self.end
    }

    /// Whether this is everything.
    pub fn is_all(&self) -> bool {
        *self == Bounds::ALL
    }

    fn resolve(start: Option<i64>, end: Option<i64>, path: &str) -> Result<Self, ConfigError> {
        let bounds = Bounds { start: start.unwrap_or(i64::MIN), end: end.unwrap_or(i64::MAX) };
        if bounds.start >= bounds.end {
            return Err(ConfigError::invalid(
                path,
                format!(
                    "start ({}) must be before end ({}): end is the first one not restored",
                    bounds.start, bounds.end
                ),
            ));
        }
        Ok(bounds)
    }
}

/// Which records a restore produces, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordSelection {
    /// `restore.time_window`, if set.
    pub time_window: Option<Bounds>,
    /// `restore.offsets`: topic → partition → offsets. Partitions of a listed topic that are not
    /// listed are restored whole; topics not listed are restored whole.
    pub offsets: BTreeMap<String, BTreeMap<i32, Bounds>>,
}

impl RecordSelection {
    /// Whether every record is selected (no window, no ranges).
    pub fn is_all(&self) -> bool {
        self.time_window.is_none() && self.offsets.is_empty()
    }

    /// The offsets selected of one partition.
    pub fn offsets_of(&self, topic: &str, partition: i32) -> Bounds {
        self.offsets.get(topic).and_then(|p| p.get(&partition)).copied().unwrap_or(Bounds::ALL)
    }

    /// The offset ranges of one topic, if it has any.
    pub fn topic_offsets(&self, topic: &str) -> Option<&BTreeMap<i32, Bounds>> {
        self.offsets.get(topic)
    }
}

pub(super) fn resolve_selection(
    window: Option<&TimeWindowSection>,
    offsets: &BTreeMap<String, BTreeMap<i32, OffsetRangeSection>>,
) -> Result<RecordSelection, ConfigError> {
    let time_window = match window {
        None => None,
        Some(w) => Some(Bounds::resolve(w.start.map(|t| t.0), w.end.map(|t| t.0), "restore.time_window")?),
    };
    let mut resolved = BTreeMap::new();
    for (topic, partitions) in offsets {
        let mut ranges = BTreeMap::new();
        for (&partition, range) in partitions {
            let path = format!("restore.offsets.{topic}.{partition}");
            if partition < 0 {
                return Err(ConfigError::invalid(path, "a partition number is 0 or more"));
            }
            if range.start.is_some_and(|s| s < 0) || range.end.is_some_and(|e| e < 0) {
                return Err(ConfigError::invalid(path, "offsets are 0 or more"));
            }
            ranges.insert(partition, Bounds::resolve(range.start, range.end, &path)?);
        }
        resolved.insert(topic.clone(), ranges);
    }
    Ok(RecordSelection { time_window, offsets: resolved })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_from_rfc3339_and_milliseconds() {
        assert_eq!(parse_timestamp("2026-12-02T14:02:00Z"), Ok(1_796_220_120_000));
        assert_eq!(parse_timestamp("2026-12-02T15:02:00.250+01:00"), Ok(1_796_220_120_250));
        assert_eq!(parse_timestamp("1796220120000"), Ok(1_796_220_120_000));
        let bad = parse_timestamp("14:02 yesterday").unwrap_err();
        assert!(bad.contains("'14:02 yesterday'") && bad.contains("RFC 3339"), "{bad}");
        assert_eq!(format_timestamp(1_796_220_120_250), "2026-12-02T14:02:00.25Z");
    }

    #[test]
    fn bounds_are_half_open() {
        let b = Bounds { start: 10, end: 20 };
        assert!(b.contains(10) && b.contains(19) && !b.contains(20) && !b.contains(9));
        assert!(b.covers(10, 19) && !b.covers(10, 20) && !b.covers(9, 15));
        assert!(b.misses(0, 9) && b.misses(20, 30) && !b.misses(19, 30) && !b.misses(0, 10));
        assert!(Bounds::ALL.covers(i64::MIN, i64::MAX - 1));
    }

    #[test]
    fn empty_or_reversed_ranges_are_refused_with_their_key() {
        let window = TimeWindowSection { start: Some(Timestamp(5)), end: Some(Timestamp(5)) };
        let err = resolve_selection(Some(&window), &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("restore.time_window") && err.contains("before end"), "{err}");
        let ranges = BTreeMap::from([(
            "orders".to_string(),
            BTreeMap::from([(3, OffsetRangeSection { start: Some(9), end: Some(2) })]),
        )]);
        let err = resolve_selection(None, &ranges).unwrap_err().to_string();
        assert!(err.contains("restore.offsets.orders.3"), "{err}");
        let open = BTreeMap::from([(
            "orders".to_string(),
            BTreeMap::from([(0, OffsetRangeSection { start: Some(100), end: None })]),
        )]);
        let sel = resolve_selection(None, &open).unwrap();
        assert_eq!(sel.offsets_of("orders", 0), Bounds { start: 100, end: i64::MAX });
        assert_eq!(sel.offsets_of("orders", 1), Bounds::ALL, "unlisted partitions are whole");
        assert!(!sel.is_all());
    }
}
