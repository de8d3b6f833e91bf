//! The `network:` block: simulated WAN conditions between the engine and its services
//! (added round-trip time, jitter, a bandwidth cap, and which links they apply to).
//! The harness puts its TCP proxy (`crate::proxy`) on those links; `rtt`, `jitter` and
//! `bandwidth` may also be matrix axes (`network.rtt: [0ms, 20ms, 50ms]`).

use super::error::ErrorKind;
use super::file::Scalar;
use super::units::{self, Rate};
use super::values;
use serde::{Deserialize, Serialize};
use std::fmt;

type Result<T> = std::result::Result<T, ErrorKind>;

/// Largest accepted RTT or jitter: beyond a geostationary satellite hop, a bare number
/// like `rtt: 20` (seconds) is almost surely meant as milliseconds.
pub const MAX_DELAY_SECS: f64 = 10.0;

/// `network:` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub rtt: Option<Scalar>,
    pub jitter: Option<Scalar>,
    pub bandwidth: Option<Scalar>,
    pub links: Option<Vec<Scalar>>,
}

/// A connection the proxy can sit on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// Engine and load clients ↔ the Kafka broker (the broker advertises the proxy).
    Kafka,
    /// Engine ↔ the S3 endpoint.
    S3,
}

impl Link {
    /// Every link, in display order.
    pub const ALL: [Link; 2] = [Link::Kafka, Link::S3];

    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Link::Kafka => "kafka",
            Link::S3 => "s3",
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Resolved network conditions of one point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Added round-trip time in ms, split evenly between the two directions.
    pub rtt_ms: f64,
    /// Each chunk's one-way delay varies uniformly by ± this many ms (never reorders).
    pub jitter_ms: f64,
    /// Cap per direction of each link in bytes per second; `None` is unlimited.
    pub bandwidth_bytes_per_sec: Option<u64>,
    /// The links the conditions apply to.
    pub links: Vec<Link>,
}

impl Network {
    /// Whether `link` is shaped.
    pub fn applies_to(&self, link: Link) -> bool {
        self.links.contains(&link)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "added RTT {} ms ± {} ms", self.rtt_ms, self.jitter_ms)?;
        match self.bandwidth_bytes_per_sec {
            Some(b) => write!(f, ", {} MB/s per direction", b as f64 / 1e6)?,
            None => f.write_str(", no bandwidth cap")?,
        }
        let links: Vec<&str> = self.links.iter().map(|l| l.as_str()).collect();
        write!(f, " on {}", links.join(", "))
    }
}

/// Network settings still open to matrix values; `enabled` once the block or any
/// network axis exists.
#[derive(Clone, Debug, Default)]
pub struct PartialNetwork {
    enabled: bool,
    rtt_ms: Option<f64>,
    jitter_ms: Option<f64>,
    bandwidth: Option<u64>,
    links: Option<Vec<Link>>,
}

/// A network parameter that can be a matrix axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkField {
    Rtt,
    Jitter,
    Bandwidth,
}

/// What one matrix value sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NetworkAssignment {
    RttMs(f64),
    JitterMs(f64),
    Bandwidth(u64),
}

impl NetworkAssignment {
    /// Applies the value (and switches the simulation on).
    pub fn apply(self, network: &mut PartialNetwork) {
        network.enabled = true;
        match self {
            NetworkAssignment::RttMs(ms) => network.rtt_ms = Some(ms),
            NetworkAssignment::JitterMs(ms) => network.jitter_ms = Some(ms),
            NetworkAssignment::Bandwidth(b) => network.bandwidth = Some(b),
        }
    }
}

impl PartialNetwork {
    /// Reads and validates the `network:` block.
    pub fn from_raw(raw: Option<&RawNetwork>) -> Result<PartialNetwork> {
        let Some(raw) = raw else { return Ok(PartialNetwork::default()) };
        let read = |value: &Option<Scalar>, field: NetworkField, key: &str| {
            value.as_ref().map(|v| assign(field, v, &format!("network.{key}"))).transpose()
        };
        let mut out =
            PartialNetwork { enabled: true, links: raw.links.as_deref().map(links).transpose()?, ..Default::default() };
        for assignment in [
            read(&raw.rtt, NetworkField::Rtt, "rtt")?,
            read(&raw.jitter, NetworkField::Jitter, "jitter")?,
            read(&raw.bandwidth, NetworkField::Bandwidth, "bandwidth")?,
        ]
        .into_iter()
        .flatten()
        {
            assignment.apply(&mut out);
        }
        Ok(out)
    }

    /// The point's network conditions: `None` when the scenario never mentions a
    /// network; otherwise unset values default to 0 ms, no cap, both links.
    pub fn finish(self) -> Option<Network> {
        self.enabled.then(|| Network {
            rtt_ms: self.rtt_ms.unwrap_or(0.0),
            jitter_ms: self.jitter_ms.unwrap_or(0.0),
            bandwidth_bytes_per_sec: self.bandwidth,
            links: self.links.unwrap_or_else(|| Link::ALL.to_vec()),
        })
    }
}

/// The field of a `network.<field>` matrix key.
pub fn axis_field(key: &str) -> Option<NetworkField> {
    match key.strip_prefix("network.")? {
        "rtt" => Some(NetworkField::Rtt),
        "jitter" => Some(NetworkField::Jitter),
        "bandwidth" => Some(NetworkField::Bandwidth),
        _ => None,
    }
}

/// Reads one value of `field`.
pub fn assign(field: NetworkField, value: &Scalar, path: &str) -> Result<NetworkAssignment> {
    Ok(match field {
        NetworkField::Rtt => NetworkAssignment::RttMs(delay_ms(value, path)?),
        NetworkField::Jitter => NetworkAssignment::JitterMs(delay_ms(value, path)?),
        NetworkField::Bandwidth => NetworkAssignment::Bandwidth(bandwidth(value, path)?),
    })
}

/// A delay from 0 to [`MAX_DELAY_SECS`], in ms. Zero is allowed: it is the baseline.
fn delay_ms(value: &Scalar, path: &str) -> Result<f64> {
    let expected = "a duration from 0ms to 10s, e.g. 20ms";
    let secs = match value {
        Scalar::Int(n) => Some(*n as f64),
        Scalar::Float(x) => Some(*x),
        Scalar::Str(s) => units::parse_duration_secs(s).ok(),
        Scalar::Bool(_) => None,
    };
    let secs = secs.filter(|s| s.is_finite() && (0.0..=MAX_DELAY_SECS).contains(s));
    secs.map(|s| s * 1e3).ok_or_else(|| ErrorKind::invalid(path, value, expected))
}

fn bandwidth(value: &Scalar, path: &str) -> Result<u64> {
    match values::rate(value, path)? {
        Rate::BytesPerSec(b) => Ok(b),
        Rate::MessagesPerSec(_) => Err(ErrorKind::invalid(path, value, "a byte rate like 100MB/s or 10MiB/s")),
    }
}

fn links(raw: &[Scalar]) -> Result<Vec<Link>> {
    if raw.is_empty() {
        return Err(ErrorKind::invalid("network.links", "[]", "a non-empty list of kafka, s3"));
    }
    let table: Vec<(&str, Link)> = Link::ALL.iter().map(|l| (l.as_str(), *l)).collect();
    let mut out = Vec::new();
    for (i, value) in raw.iter().enumerate() {
        let path = format!("network.links[{i}]");
        let link = values::choice(value, &path, &table)?;
        if out.contains(&link) {
            return Err(ErrorKind::conflict(&path, format!("'{link}' is listed twice")));
        }
        out.push(link);
    }
    Ok(out)
}
