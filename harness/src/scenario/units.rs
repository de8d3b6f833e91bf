//! Human-friendly units in scenario files: byte sizes ("128MiB", "1.5GB"), rates
//! ("50MB/s", "20000msg/s") and durations ("500ms", "30s", "5m").
//!
//! Sizes and durations use the engine's grammar (`engine::config::parse_size` /
//! `parse_duration`), so a value means the same in a scenario file, a `--set` override and a
//! kbackup config. Parsers return a short `&'static str` hint on failure; the caller adds the
//! key path and the offending value so every error names where it came from.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a size may look like, shown in error messages.
pub const SIZE_HINT: &str = "a byte count or a size like 512KiB, 128MiB, 1.5GB";
/// What a rate may look like, shown in error messages.
pub const RATE_HINT: &str = "a rate like 50MB/s, 64MiB/s or 20000msg/s";
/// What a duration may look like, shown in error messages.
pub const DURATION_HINT: &str = "a duration like 500ms, 30s, 5m, 1h (a bare number means seconds)";

/// A target production rate for the load generator.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rate {
    /// Payload bytes per second.
    BytesPerSec(u64),
    /// Messages per second.
    MessagesPerSec(u64),
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::BytesPerSec(b) => write!(f, "{}/s", format_bytes(*b)),
            Rate::MessagesPerSec(m) => write!(f, "{m}msg/s"),
        }
    }
}

/// Splits "12.5 MiB" into (12.5, "mib"); the unit is lower-cased, whitespace-trimmed.
fn split_number(text: &str) -> Option<(f64, String)> {
    let text = text.trim();
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(text.len());
    let digits: String = text[..end].chars().filter(|c| *c != '_').collect();
    let value: f64 = digits.parse().ok()?;
    value.is_finite().then(|| (value, text[end..].trim().to_ascii_lowercase()))
}

/// Parses a byte size with the engine's grammar: "1024", "1KiB", "1.5GB", "64 MiB", "64k".
pub fn parse_size(text: &str) -> Result<u64, &'static str> {
    ::engine::config::parse_size(text).map_err(|_| SIZE_HINT)
}

/// Parses "50MB/s", "64MiB/s" (bytes per second) or "20000msg/s" (messages per second).
pub fn parse_rate(text: &str) -> Result<Rate, &'static str> {
    let lower = text.trim().to_ascii_lowercase();
    let body = lower.strip_suffix("/s").ok_or(RATE_HINT)?;
    if let Some(count) = body.strip_suffix("msg") {
        let (value, rest) = split_number(count).ok_or(RATE_HINT)?;
        if !rest.is_empty() || value.fract() != 0.0 {
            return Err(RATE_HINT);
        }
        return Ok(Rate::MessagesPerSec(value as u64));
    }
    // A bare number per second would be ambiguous (bytes? messages?), so require a unit.
    if body.trim().ends_with(|c: char| c.is_ascii_digit()) {
        return Err(RATE_HINT);
    }
    parse_size(body).map(Rate::BytesPerSec).map_err(|_| RATE_HINT)
}

/// Parses "500ms", "30s", "5m", "1h" or a bare number of seconds into seconds, with the
/// engine's duration grammar (a bare number is in seconds here).
pub fn parse_duration_secs(text: &str) -> Result<f64, &'static str> {
    ::engine::config::parse_duration(text, 1000).map(|d| d.as_secs_f64()).map_err(|_| DURATION_HINT)
}

/// Formats bytes exactly when they are a whole number of a binary or decimal unit
/// ("64MiB", "50MB"), else with two decimals in the largest binary unit.
pub fn format_bytes(bytes: u64) -> String {
    const EXACT: &[(&str, u64)] = &[
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KiB", 1 << 10),
        ("KB", 1_000),
    ];
    if bytes == 0 {
        return "0B".to_owned();
    }
    if let Some((name, unit)) = EXACT.iter().find(|(_, unit)| bytes.is_multiple_of(*unit)) {
        return format!("{}{name}", bytes / unit);
    }
    let approx = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    match approx.iter().find(|(_, unit)| bytes >= *unit) {
        Some((name, unit)) => format!("{:.2}{name}", bytes as f64 / *unit as f64),
        None => format!("{bytes}B"),
    }
}

/// Formats seconds as the shortest exact unit: "500ms", "30s", "5m", "1h", else "90.5s".
pub fn format_secs(secs: f64) -> String {
    let ms = (secs * 1000.0).round();
    if (ms / 1000.0 - secs).abs() > 1e-9 {
        return format!("{secs:.1}s");
    }
    let ms = ms as u64;
    match ms {
        0 => "0s".to_owned(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ if ms < 1000 => format!("{ms}ms"),
        _ => format!("{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("64 mib"), Ok(64 << 20));
        assert_eq!(parse_size("100B"), Ok(100));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("-1KiB").is_err());
        // One grammar: what the engine accepts in a config, a scenario accepts too.
        for text in ["64k", "64KB", "2m", "1.5GiB", "7"] {
            assert_eq!(parse_size(text).ok(), ::engine::config::parse_size(text).ok(), "{text}");
        }
        assert_eq!(parse_size("64k"), Ok(64_000));
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("50MB/s"), Ok(Rate::BytesPerSec(50_000_000)));
        assert_eq!(parse_rate("64MiB/s"), Ok(Rate::BytesPerSec(64 << 20)));
        assert_eq!(parse_rate("20000msg/s"), Ok(Rate::MessagesPerSec(20_000)));
        assert!(parse_rate("50MB").is_err());
        assert!(parse_rate("50/s").is_err());
        assert!(parse_rate("1.5msg/s").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("500ms"), Ok(0.5));
        assert_eq!(parse_duration_secs("30s"), Ok(30.0));
        assert_eq!(parse_duration_secs("5m"), Ok(300.0));
        assert_eq!(parse_duration_secs("1h"), Ok(3600.0));
        assert_eq!(parse_duration_secs("45"), Ok(45.0));
        assert!(parse_duration_secs("5 fortnights").is_err());
    }

    #[test]
    fn formatting_round_trips() {
        assert_eq!(format_bytes(64 << 20), "64MiB");
        assert_eq!(format_bytes(50_000_000), "50MB");
        assert_eq!(format_bytes(1024), "1KiB");
        assert_eq!(format_bytes(1536 * 1024 + 1), "1.50MiB");
        assert_eq!(format_bytes(999), "999B");
        assert_eq!(format_secs(300.0), "5m");
        assert_eq!(format_secs(0.5), "500ms");
        assert_eq!(format_secs(30.0), "30s");
        assert_eq!(Rate::BytesPerSec(50_000_000).to_string(), "50MB/s");
    }
}
