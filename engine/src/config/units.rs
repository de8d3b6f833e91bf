//! Human-friendly sizes (`128MiB`, `1.5GB`, `4096`) and durations (`500ms`, `5s`, `2m`) in config files.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A byte count written either as a plain integer or with a unit suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// A duration written as `500ms`, `5s`, `2m`, `1h`, or a plain integer of the key's default unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Millis(pub Duration);

/// Parses `128MiB`, `1.5GB`, `64k`, `4096` into bytes. Binary (`KiB`) and decimal (`KB`) units are both accepted.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .replace('_', "")
        .parse()
        .map_err(|_| format!("'{text}' is not a size (examples: 134217728, 128MiB, 1.5GB)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{text}' (use B, KB, KiB, MB, MiB, GB, GiB, TB or TiB)"
            ));
        }
    };
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("size '{text}' is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// Parses `500ms`, `5s`, `2m`, `1h`; a bare number is taken in `default_unit_ms` milliseconds.
pub fn parse_duration(text: &str, default_unit_ms: u64) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("'{text}' is not a duration (examples: 500ms, 5s, 2m)"))?;
    let unit_ms: f64 = match unit.trim() {
        "" => default_unit_ms as f64,
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        other => {
            return Err(format!("unknown duration unit '{other}' in '{text}' (use ms, s, m or h)"));
        }
    };
    let ms = number * unit_ms;
    if !ms.is_finite() || !(0.0..=1e15).contains(&ms) {
        return Err(format!("duration '{text}' is out of range"));
    }
    Ok(Duration::from_micros((ms * 1000.0).round() as u64))
}

/// Formats bytes for people: `1.50 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.2} {}", UNITS[unit]) }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(u64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Number(n) => Ok(ByteSize(n)),
            NumberOrText::Float(f) => parse_size(&f.to_string()).map(ByteSize),
            NumberOrText::Text(t) => parse_size(&t).map(ByteSize),
        }
        .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Number(n) => Ok(Millis(Duration::from_millis(n))),
            NumberOrText::Float(f) => parse_duration(&f.to_string(), 1).map(Millis),
            NumberOrText::Text(t) => parse_duration(&t, 1).map(Millis),
        }
        .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human_bytes(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("134217728"), Ok(134_217_728));
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("64 KiB"), Ok(65_536));
        assert!(parse_size("12XB").unwrap_err().contains("unknown size unit"));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms", 1), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s", 1), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m", 1), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("10", 1), Ok(Duration::from_millis(10)));
        assert!(parse_duration("5 weeks", 1).is_err());
    }

    #[test]
    fn human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 29), "1.50 GiB");
    }
}
