//! Typed readers for scalar values. The same reader checks a value whether it was
//! written under `workload:` or as a matrix value, so both get identical messages.

use super::error::ErrorKind;
use super::file::{RawDistribution, RawLognormal, RawMessageSize, RawVolume, Scalar};
use super::plan::{KeyMode, MessageSize, Payload, Volume};
use super::units::{self, Rate};

type Result<T> = std::result::Result<T, ErrorKind>;

/// Upper bound for partitions: far beyond what a 2-core benchmark host can drive, low
/// enough to catch a stray extra digit.
pub const MAX_PARTITIONS: i64 = 1024;
/// Upper bound for headers per record.
pub const MAX_HEADERS: i64 = 64;

/// Payload names with their variants.
pub const PAYLOADS: &[(&str, Payload)] = &[
    ("json", Payload::Json),
    ("text", Payload::Text),
    ("avro", Payload::Avro),
    ("protobuf", Payload::Protobuf),
    ("random", Payload::Random),
    ("precompressed", Payload::Precompressed),
];

/// Key mode names with their variants.
pub const KEY_MODES: &[(&str, KeyMode)] =
    &[("none", KeyMode::None), ("random", KeyMode::Random), ("sequential", KeyMode::Sequential)];

/// Picks a named variant; anything else lists the allowed names.
pub fn choice<T: Copy>(value: &Scalar, path: &str, table: &[(&str, T)]) -> Result<T> {
    let text = value.to_string();
    table.iter().find(|(name, _)| *name == text).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        ErrorKind::unknown_value(path, text, &names)
    })
}

/// A whole number in `min..=max`.
pub fn integer(value: &Scalar, path: &str, min: i64, max: i64) -> Result<i64> {
    let n = match value {
        Scalar::Int(n) => Some(*n),
        Scalar::Float(x) if x.fract() == 0.0 => Some(*x as i64),
        _ => None,
    };
    n.filter(|n| (min..=max).contains(n))
        .ok_or_else(|| ErrorKind::invalid(path, value, format!("a whole number from {min} to {max}")))
}

/// A positive byte size: an integer or a string like "128MiB".
pub fn size(value: &Scalar, path: &str) -> Result<u64> {
    let parsed = match value {
        Scalar::Int(n) if *n > 0 => Ok(*n as u64),
        Scalar::Str(s) => units::parse_size(s),
        _ => Err(units::SIZE_HINT),
    };
    match parsed {
        Ok(0) => Err(ErrorKind::invalid(path, value, "a size above zero")),
        Ok(bytes) => Ok(bytes),
        Err(hint) => Err(ErrorKind::invalid(path, value, hint)),
    }
}

/// A positive duration in seconds: "500ms", "30s", "5m" or a number of seconds.
pub fn duration_secs(value: &Scalar, path: &str) -> Result<f64> {
    let parsed = match value {
        Scalar::Int(n) => Ok(*n as f64),
        Scalar::Float(x) => Ok(*x),
        Scalar::Str(s) => units::parse_duration_secs(s),
        Scalar::Bool(_) => Err(units::DURATION_HINT),
    };
    match parsed {
        Ok(secs) if secs > 0.0 => Ok(secs),
        Ok(_) => Err(ErrorKind::invalid(path, value, "a duration above zero")),
        Err(hint) => Err(ErrorKind::invalid(path, value, hint)),
    }
}

/// A positive rate: "50MB/s" or "20000msg/s".
pub fn rate(value: &Scalar, path: &str) -> Result<Rate> {
    let parsed = match value {
        Scalar::Str(s) => units::parse_rate(s),
        _ => Err(units::RATE_HINT),
    };
    match parsed {
        Ok(Rate::BytesPerSec(0) | Rate::MessagesPerSec(0)) => Err(ErrorKind::invalid(path, value, "a rate above zero")),
        Ok(rate) => Ok(rate),
        Err(hint) => Err(ErrorKind::invalid(path, value, hint)),
    }
}

/// A fixed size or a log-normal distribution of sizes.
pub fn message_size(raw: &RawMessageSize, path: &str) -> Result<MessageSize> {
    match raw {
        RawMessageSize::Fixed(value) => size(value, path).map(|bytes| MessageSize::Fixed { bytes }),
        RawMessageSize::Distribution(RawDistribution::Lognormal(ln)) => lognormal(ln, &format!("{path}.lognormal")),
    }
}

fn lognormal(ln: &RawLognormal, base: &str) -> Result<MessageSize> {
    let median = size(&ln.median, &format!("{base}.median"))?;
    let min = ln.min.as_ref().map(|v| size(v, &format!("{base}.min"))).transpose()?;
    let max = ln.max.as_ref().map(|v| size(v, &format!("{base}.max"))).transpose()?;
    if !(ln.sigma.is_finite() && ln.sigma > 0.0 && ln.sigma <= 5.0) {
        let expected = "a spread above 0 and at most 5";
        return Err(ErrorKind::invalid(&format!("{base}.sigma"), ln.sigma, expected));
    }
    // Without bounds, clamp to two orders of magnitude around the median so a long
    // tail cannot produce records the broker rejects.
    let min = min.unwrap_or((median / 100).max(1));
    let max = max.unwrap_or(median.saturating_mul(100));
    if !(min <= median && median <= max) {
        return Err(ErrorKind::conflict(base, "min <= median <= max must hold"));
    }
    Ok(MessageSize::Lognormal { median_bytes: median, sigma: ln.sigma, min_bytes: min, max_bytes: max })
}

/// Exactly one of `volume`, `messages`, `duration`; `rate` optional.
pub fn volume(raw: &RawVolume, path: &str) -> Result<(Volume, Option<Rate>)> {
    let key = |k: &str| format!("{path}.{k}");
    let mut set = Vec::new();
    if let Some(v) = &raw.volume {
        set.push(Volume::Bytes(size(v, &key("volume"))?));
    }
    if let Some(v) = &raw.messages {
        let n = integer(v, &key("messages"), 1, i64::MAX)?;
        set.push(Volume::Messages(n as u64));
    }
    if let Some(v) = &raw.duration {
        set.push(Volume::DurationSecs(duration_secs(v, &key("duration"))?));
    }
    let rate = raw.rate.as_ref().map(|v| rate(v, &key("rate"))).transpose()?;
    match set.len() {
        0 => Err(ErrorKind::missing(&key("volume"), VOLUME_HINT)),
        1 => Ok((set.remove(0), rate)),
        _ => Err(ErrorKind::conflict(path, format!("set only one of volume, messages, duration ({VOLUME_HINT})"))),
    }
}

/// How to state the amount of data, shown in errors.
pub const VOLUME_HINT: &str =
    "one of `volume: 1GiB`, `messages: 100000` or `duration: 30s` (optionally with `rate: 50MB/s`)";

/// Whether a raw volume group sets how much to produce (as opposed to only a rate).
pub fn sets_amount(raw: &RawVolume) -> bool {
    raw.volume.is_some() || raw.messages.is_some() || raw.duration.is_some()
}

/// A gate tolerance: a number or "5%", above 0 and at most 100.
pub fn tolerance_pct(value: &Scalar, path: &str) -> Result<f64> {
    let pct = match value {
        Scalar::Int(n) => Some(*n as f64),
        Scalar::Float(x) => Some(*x),
        Scalar::Str(s) => s.trim().trim_end_matches('%').trim().parse().ok(),
        Scalar::Bool(_) => None,
    };
    pct.filter(|p: &f64| *p > 0.0 && *p <= 100.0)
        .ok_or_else(|| ErrorKind::invalid(path, value, "a tolerance in percent, e.g. 5 or \"5%\" (0 < x <= 100)"))
}
