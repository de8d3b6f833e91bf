//! The `matrix:` block: which parameters may vary, what each value does to a point, and
//! the cartesian expansion (first axis varies slowest, like nested loops in file order).

use super::error::ErrorKind;
use super::file::{OrderedMap, Scalar};
use super::network::{self, NetworkAssignment, NetworkField, PartialNetwork};
use super::plan::{EngineOverride, MatrixAxis, short_key};
use super::plan::{KeyMode, MessageSize, Payload};
use super::resolve::PartialWorkload;
use super::values::{self, KEY_MODES, MAX_HEADERS, MAX_PARTITIONS, PAYLOADS};

type Result<T> = std::result::Result<T, ErrorKind>;

/// Engine key for the codec (see engine `backup:` config; a test checks kbackup knows it).
pub const COMPRESSION_KEY: &str = "backup.compression";
/// Engine key for the zstd level ([`ZSTD_LEVELS`]).
pub const COMPRESSION_LEVEL_KEY: &str = "backup.compression_level";
/// Engine key for the segment size, needed to check the `full` profile.
pub const SEGMENT_KEY: &str = "backup.segment_max_bytes";
/// Codecs the engine supports: the engine's own list.
pub const CODECS: [&str; 3] = ::engine::segment::Codec::NAMES;
use ::engine::config::ZSTD_LEVELS;
/// Refuse matrices that would take days; split such a study into several scenarios.
pub const MAX_POINTS: usize = 256;

const AXIS_HINT: &str = "partitions, message_size, payload, keys, headers (each also as \
    workload.<name>), codec, network.rtt, network.jitter, network.bandwidth, or engine.<config key> \
    such as engine.backup.compression";
fn unknown_codec(path: &str, text: &str) -> ErrorKind {
    let (lo, hi) = (ZSTD_LEVELS.start(), ZSTD_LEVELS.end());
    let mut names: Vec<String> = CODECS.iter().map(|c| (*c).to_owned()).collect();
    names.insert(1, format!("zstd-<level {lo}..{hi}>"));
    ErrorKind::UnknownValue { path: path.to_owned(), value: text.to_owned(), allowed: names.join(", ") }
}

/// What one matrix value does to a point.
#[derive(Clone, Debug)]
pub enum Assignment {
    Partitions(u32),
    MessageSize(MessageSize),
    Payload(Payload),
    Keys(KeyMode),
    Headers(u32),
    /// Set these engine overrides and drop those keys (a codec without a level drops
    /// any level set elsewhere, since levels only mean something to zstd).
    Engine {
        set: Vec<EngineOverride>,
        unset: Vec<&'static str>,
    },
    /// A simulated network parameter.
    Network(NetworkAssignment),
}

impl Assignment {
    /// Applies the value to a point under construction.
    pub fn apply(&self, workload: &mut PartialWorkload, engine: &mut Vec<EngineOverride>, net: &mut PartialNetwork) {
        match self {
            Assignment::Partitions(n) => workload.partitions = Some(*n),
            Assignment::MessageSize(s) => workload.message_size = Some(s.clone()),
            Assignment::Payload(p) => workload.payload = Some(*p),
            Assignment::Keys(k) => workload.keys = Some(*k),
            Assignment::Headers(h) => workload.headers = Some(*h),
            Assignment::Network(n) => n.apply(net),
            Assignment::Engine { set, unset } => {
                engine.retain(|o| !unset.contains(&o.key.as_str()));
                for new in set {
                    engine.retain(|o| o.key != new.key);
                    engine.push(new.clone());
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum AxisKind {
    Partitions,
    MessageSize,
    Payload,
    Keys,
    Headers,
    Codec,
    Network(NetworkField),
    Engine(String),
}

/// One validated axis.
#[derive(Clone, Debug)]
pub struct Axis {
    /// The axis as stored in the plan.
    pub axis: MatrixAxis,
    /// Key used in point labels.
    pub label_key: String,
    /// One assignment per value.
    pub assignments: Vec<Assignment>,
    kind: AxisKind,
}

fn axis_kind(key: &str) -> Result<AxisKind> {
    let field = key.strip_prefix("workload.").unwrap_or(key);
    let kind = match field {
        "partitions" => AxisKind::Partitions,
        "message_size" => AxisKind::MessageSize,
        "payload" => AxisKind::Payload,
        "keys" => AxisKind::Keys,
        "headers" => AxisKind::Headers,
        "codec" if field == key => AxisKind::Codec,
        _ if key.starts_with("network.") => match network::axis_field(key) {
            Some(field) => AxisKind::Network(field),
            None => {
                let allowed = "network.rtt, network.jitter, network.bandwidth".into();
                return Err(ErrorKind::UnknownKey { path: "matrix".into(), key: key.into(), allowed });
            }
        },
        _ => match key.strip_prefix("engine.") {
            Some(engine_key) => AxisKind::Engine(engine_key.to_owned()),
            None => {
                return Err(ErrorKind::UnknownKey {
                    path: "matrix".into(),
                    key: key.into(),
                    allowed: AXIS_HINT.into(),
                });
            }
        },
    };
    Ok(kind)
}

/// Validates an engine config key: lower-case dotted segments.
pub fn check_engine_key(key: &str, path: &str) -> Result<()> {
    let segment_ok =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if key.split('.').all(segment_ok) && key.contains('.') {
        return Ok(());
    }
    let expected = "a dotted engine config key like backup.compression or kafka.fetch_max_wait_ms";
    Err(ErrorKind::invalid(path, key, expected))
}

/// Checks an engine key and value with kbackup's own config parser, so a typo or a value
/// kbackup would refuse fails at plan time instead of after minutes of producing data.
pub fn check_engine_value(key: &str, value: &Scalar, path: &str) -> Result<()> {
    super::engine_config::check_override(key, value, path)
}

fn codec(value: &Scalar, path: &str) -> Result<Assignment> {
    let text = value.to_string();
    let override_of = |key: &str, value: Scalar| EngineOverride { key: key.to_owned(), value };
    let (name, level) = match text.split_once('-') {
        Some(("zstd", level)) => {
            let level = level.parse::<i32>().ok().filter(|l| ZSTD_LEVELS.contains(l));
            let level = level.ok_or_else(|| unknown_codec(path, &text))?;
            ("zstd", Some(i64::from(level)))
        }
        None if CODECS.contains(&text.as_str()) => (text.as_str(), None),
        _ => return Err(unknown_codec(path, &text)),
    };
    let mut set = vec![override_of(COMPRESSION_KEY, Scalar::Str(name.to_owned()))];
    let mut unset = Vec::new();
    match level {
        Some(level) => set.push(override_of(COMPRESSION_LEVEL_KEY, Scalar::Int(level))),
        None => unset.push(COMPRESSION_LEVEL_KEY),
    }
    Ok(Assignment::Engine { set, unset })
}

fn assign(kind: &AxisKind, value: &Scalar, path: &str) -> Result<Assignment> {
    Ok(match kind {
        AxisKind::Partitions => Assignment::Partitions(values::integer(value, path, 1, MAX_PARTITIONS)? as u32),
        AxisKind::MessageSize => Assignment::MessageSize(MessageSize::Fixed { bytes: values::size(value, path)? }),
        AxisKind::Payload => Assignment::Payload(values::choice(value, path, PAYLOADS)?),
        AxisKind::Keys => Assignment::Keys(values::choice(value, path, KEY_MODES)?),
        AxisKind::Headers => Assignment::Headers(values::integer(value, path, 0, MAX_HEADERS)? as u32),
        AxisKind::Codec => codec(value, path)?,
        AxisKind::Network(field) => Assignment::Network(network::assign(*field, value, path)?),
        AxisKind::Engine(key) => {
            check_engine_value(key, value, path)?;
            let set = vec![EngineOverride { key: key.clone(), value: value.clone() }];
            Assignment::Engine { set, unset: Vec::new() }
        }
    })
}

fn parse_axis(key: &str, values: &[Scalar]) -> Result<Axis> {
    let kind = axis_kind(key)?;
    let path = format!("matrix.{key}");
    if let AxisKind::Engine(engine_key) = &kind {
        check_engine_key(engine_key, &path)?;
    }
    if values.is_empty() {
        return Err(ErrorKind::invalid(&path, "[]", "a non-empty list of values"));
    }
    let mut assignments = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        if values[..i].iter().any(|v| v.to_string() == value.to_string()) {
            return Err(ErrorKind::conflict(&format!("{path}[{i}]"), format!("'{value}' is listed twice")));
        }
        assignments.push(assign(&kind, value, &format!("{path}[{i}]"))?);
    }
    let axis = MatrixAxis { key: key.to_owned(), values: values.to_vec() };
    Ok(Axis { axis, label_key: short_key(key).to_owned(), assignments, kind })
}

/// Two axes must not set the same thing, else the later one silently wins.
fn check_overlap(axes: &[Axis]) -> Result<()> {
    let touches = |kind: &AxisKind| -> Vec<String> {
        match kind {
            AxisKind::Codec => vec![COMPRESSION_KEY.into(), COMPRESSION_LEVEL_KEY.into()],
            AxisKind::Engine(k) => vec![k.clone()],
            other => vec![format!("{other:?}")],
        }
    };
    for (i, later) in axes.iter().enumerate() {
        for earlier in &axes[..i] {
            let clash = touches(&later.kind).iter().any(|t| touches(&earlier.kind).contains(t));
            if clash {
                let problem = format!("sets the same parameter as matrix.{}; keep one", earlier.axis.key);
                return Err(ErrorKind::conflict(&format!("matrix.{}", later.axis.key), problem));
            }
        }
    }
    Ok(())
}

/// Validates all axes, their values and the total point count.
pub fn parse_axes(matrix: &OrderedMap<Vec<Scalar>>) -> Result<Vec<Axis>> {
    let mut axes: Vec<Axis> = matrix.0.iter().map(|(k, v)| parse_axis(k, v)).collect::<Result<_>>()?;
    check_overlap(&axes)?;
    // Labels use the short key unless two axes would then look the same.
    for i in 0..axes.len() {
        let short = axes[i].label_key.clone();
        if axes.iter().filter(|a| a.label_key == short).count() > 1 {
            for axis in axes.iter_mut().filter(|a| a.label_key == short) {
                axis.label_key = axis.axis.key.clone();
            }
        }
    }
    let points: usize = axes.iter().map(|a| a.axis.values.len()).product();
    if points > MAX_POINTS {
        let problem = format!("expands to {points} points (limit {MAX_POINTS}); split it into several scenarios");
        return Err(ErrorKind::conflict("matrix", problem));
    }
    Ok(axes)
}

/// Every combination of value indices, first axis slowest.
pub fn combinations(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut combos = vec![Vec::new()];
    for axis in axes {
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                (0..axis.axis.values.len()).map(move |i| {
                    let mut next = prefix.clone();
                    next.push(i);
                    next
                })
            })
            .collect();
    }
    combos
}

/// The label of a combination, e.g. "partitions=4,codec=zstd-3".
pub fn label(axes: &[Axis], combo: &[usize]) -> String {
    if axes.is_empty() {
        return "default".to_owned();
    }
    let parts: Vec<String> =
        axes.iter().zip(combo).map(|(axis, &i)| format!("{}={}", axis.label_key, axis.axis.values[i])).collect();
    parts.join(",")
}
