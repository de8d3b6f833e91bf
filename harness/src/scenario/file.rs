//! Stage one of scenario parsing: the YAML file as plain serde structs.
//!
//! Every struct denies unknown keys so a typo fails loudly instead of silently running a
//! different benchmark. Values whose meaning depends on context (sizes, enums, matrix
//! values) stay as [`Scalar`]s here and are checked in `resolve.rs`, where the error can
//! name the key path and list what is allowed.

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// A YAML scalar as written: matrix values, engine override values, sizes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true` / `false` (YAML also reads `yes`, `no`, `on`, `off` as booleans).
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Anything else, e.g. `zstd` or `128MiB`.
    Str(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Str(s) => f.write_str(s),
        }
    }
}

impl Scalar {
    /// A value typed on the command line (`--set key=value`): `true`/`false`, a whole
    /// number, a number with a fraction, else the text itself, as YAML would read it.
    pub fn from_text(text: &str) -> Scalar {
        match text {
            "true" => Scalar::Bool(true),
            "false" => Scalar::Bool(false),
            _ => (text.parse().map(Scalar::Int))
                .or_else(|_| text.parse().map(Scalar::Float))
                .unwrap_or_else(|_| Scalar::Str(text.to_owned())),
        }
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a single value (number or string)")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(i64::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
}

// Hand-written rather than `#[serde(untagged)]` so a list or map in a scalar position
// reports "expected a single value" instead of "did not match any variant".
impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// A YAML mapping that keeps the order it was written in (matrix axes, engine overrides
/// and targets are shown and expanded in file order).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of key: value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }
        d.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

/// One value or a list of values (`when: {partitions: 4}` or `when: {payload: [json, text]}`).
#[derive(Clone, Debug, PartialEq)]
pub struct OneOrMany(pub Vec<Scalar>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Scalar>()? {
                    out.push(v);
                }
                Ok(OneOrMany(out))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![ScalarVisitor.visit_bool(v)?]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![ScalarVisitor.visit_i64(v)?]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![ScalarVisitor.visit_u64(v)?]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![ScalarVisitor.visit_f64(v)?]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![ScalarVisitor.visit_str(v)?]))
            }
        }
        d.deserialize_any(ListVisitor)
    }
}

/// The whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub matrix: OrderedMap<Vec<Scalar>>,
    pub workload: RawWorkload,
    #[serde(default)]
    pub engine: OrderedMap<Scalar>,
    pub network: Option<super::network::RawNetwork>,
    pub continuous: Option<super::continuous::RawContinuous>,
    pub pitr: Option<super::pitr::RawPitr>,
    pub phases: Option<Vec<String>>,
    pub repeat: Option<u32>,
    #[serde(default)]
    pub profiles: RawProfiles,
    #[serde(default)]
    pub targets: OrderedMap<RawTarget>,
    #[serde(default)]
    pub gate: OrderedMap<Scalar>,
}

/// `workload:`; every field may instead come from the matrix or a profile.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub partitions: Option<Scalar>,
    pub message_size: Option<RawMessageSize>,
    pub payload: Option<Scalar>,
    pub keys: Option<Scalar>,
    pub headers: Option<Scalar>,
    pub volume: Option<Scalar>,
    pub messages: Option<Scalar>,
    pub duration: Option<Scalar>,
    pub rate: Option<Scalar>,
    pub seed: Option<u64>,
    pub timestamps: Option<super::timestamps::RawTimestamps>,
}

impl RawWorkload {
    /// The volume keys as one group (not `#[serde(flatten)]`, which would disable
    /// `deny_unknown_fields`).
    pub fn volume(&self) -> RawVolume {
        RawVolume {
            volume: self.volume.clone(),
            messages: self.messages.clone(),
            duration: self.duration.clone(),
            rate: self.rate.clone(),
        }
    }
}

/// How much to produce; shared by `workload:` and each profile. Exactly one of
/// `volume`, `messages`, `duration` must be set after profiles apply.
#[derive(Clone, Debug, Default)]
pub struct RawVolume {
    pub volume: Option<Scalar>,
    pub messages: Option<Scalar>,
    pub duration: Option<Scalar>,
    pub rate: Option<Scalar>,
}

/// `message_size:` is either a fixed size or `{lognormal: {...}}`.
#[derive(Clone, Debug)]
pub enum RawMessageSize {
    Fixed(Scalar),
    Distribution(RawDistribution),
}

/// Size distributions; one variant per shape.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum RawDistribution {
    Lognormal(RawLognormal),
}

/// `{lognormal: {median: 1KiB, sigma: 1.0, min: 1KiB, max: 5MiB}}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLognormal {
    pub median: Scalar,
    pub sigma: f64,
    pub min: Option<Scalar>,
    pub max: Option<Scalar>,
}

impl<'de> Deserialize<'de> for RawMessageSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl<'de> Visitor<'de> for SizeVisitor {
            type Value = RawMessageSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like 1KiB or {lognormal: {median, sigma, min, max}}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawMessageSize, E> {
                Ok(RawMessageSize::Fixed(Scalar::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawMessageSize, E> {
                ScalarVisitor.visit_u64(v).map(RawMessageSize::Fixed)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawMessageSize, E> {
                Ok(RawMessageSize::Fixed(Scalar::Float(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawMessageSize, E> {
                Ok(RawMessageSize::Fixed(Scalar::Str(v.to_owned())))
            }
            // Delegating the map keeps serde's precise "unknown field" errors.
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawMessageSize, A::Error> {
                let de = de::value::MapAccessDeserializer::new(map);
                RawDistribution::deserialize(de).map(RawMessageSize::Distribution)
            }
        }
        d.deserialize_any(SizeVisitor)
    }
}

/// `profiles:`; only the three known profile names are accepted.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfiles {
    pub quick: Option<RawProfile>,
    pub standard: Option<RawProfile>,
    pub full: Option<RawProfile>,
}

/// One profile's overrides.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    pub volume: Option<Scalar>,
    pub messages: Option<Scalar>,
    pub duration: Option<Scalar>,
    pub rate: Option<Scalar>,
    pub repeat: Option<u32>,
}

impl RawProfile {
    /// The volume keys as one group, like [`RawWorkload::volume`].
    pub fn volume(&self) -> RawVolume {
        RawVolume {
            volume: self.volume.clone(),
            messages: self.messages.clone(),
            duration: self.duration.clone(),
            rate: self.rate.clone(),
        }
    }
}

/// A target: `"< 100"` or `{expr: ">= 3", when: {payload: [json, text]}}`.
#[derive(Clone, Debug)]
pub struct RawTarget {
    pub expr: String,
    pub when: OrderedMap<OneOrMany>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargetMap {
    expr: String,
    #[serde(default)]
    when: OrderedMap<OneOrMany>,
}

impl<'de> Deserialize<'de> for RawTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TargetVisitor;
        impl<'de> Visitor<'de> for TargetVisitor {
            type Value = RawTarget;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an expression like \">= 100\" or {expr, when}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTarget, E> {
                let when = OrderedMap::default();
                Ok(RawTarget { expr: v.to_owned(), when })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTarget, A::Error> {
                let raw = RawTargetMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawTarget { expr: raw.expr, when: raw.when })
            }
        }
        d.deserialize_any(TargetVisitor)
    }
}
