//! Typed advice about results that are valid but weaker than they look.
//!
//! A warning never fails a run; its `Display` says what to change so the next run is
//! trustworthy. In reports each warning serializes with its `kind`, its fields and the
//! rendered `message`, so readers of the JSON need no copy of this code.

use crate::scenario::units::format_bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Coefficient of variation above which repeats are considered noisy (10%): on a shared
/// 2-core host, quieter runs than this are achievable and noisier ones hide regressions.
pub const NOISY_CV_THRESHOLD: f64 = 0.10;
/// Repeats needed for a median and a spread worth comparing.
pub const RECOMMENDED_REPEATS: u32 = 3;

/// Something that weakens a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Warning {
    /// Repeats of a point disagree more than [`NOISY_CV_THRESHOLD`].
    NoisyRun {
        /// Label of the matrix point.
        point: String,
        /// Metric name.
        metric: String,
        /// Observed coefficient of variation (stddev / mean, a fraction).
        cv: f64,
        /// The threshold it exceeded (a fraction).
        threshold: f64,
    },
    /// The produced data fits in the page cache, so reads never touch the disk.
    DataSmallerThanPageCache {
        /// Bytes produced per repeat.
        data_bytes: u64,
        /// Memory available for the page cache.
        page_cache_bytes: u64,
    },
    /// A phase ended too quickly for stable throughput numbers.
    ShortRun {
        /// The phase, e.g. `backup`.
        phase: String,
        /// How long it ran.
        secs: f64,
        /// How long it should have run.
        required_secs: f64,
    },
    /// The load generator could not keep the requested rate.
    RateNotReached {
        /// Requested rate.
        requested: f64,
        /// Achieved rate.
        achieved: f64,
        /// Unit of both, `MB/s` or `msg/s`.
        unit: String,
    },
    /// A profile's minimum (volume or duration) is not met by the plan.
    ProfileRequirement {
        /// Profile name, e.g. `full`.
        profile: String,
        /// What the profile requires, e.g. "duration >= 5m".
        requirement: String,
        /// What the plan has instead, with the point it applies to.
        actual: String,
    },
    /// Too few repeats for a spread or confidence interval.
    FewRepeats {
        /// Repeats run per point.
        repeats: u32,
        /// Repeats recommended.
        recommended: u32,
    },
    /// A metric with a target could not be computed for a point.
    MissingMetric {
        /// Label of the matrix point.
        point: String,
        /// Metric name.
        metric: String,
    },
}

impl Warning {
    /// Stable machine-readable name of the variant (the `kind` field in JSON).
    pub fn kind(&self) -> &'static str {
        match self {
            Warning::NoisyRun { .. } => "noisy_run",
            Warning::DataSmallerThanPageCache { .. } => "data_smaller_than_page_cache",
            Warning::ShortRun { .. } => "short_run",
            Warning::RateNotReached { .. } => "rate_not_reached",
            Warning::ProfileRequirement { .. } => "profile_requirement",
            Warning::FewRepeats { .. } => "few_repeats",
            Warning::MissingMetric { .. } => "missing_metric",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NoisyRun { point, metric, cv, threshold } => write!(
                f,
                "{metric} at {point} varies by {:.1}% between repeats (limit {:.1}%): stop other \
                 load on the machine, raise `repeat`, or raise the volume so each run lasts longer",
                cv * 100.0,
                threshold * 100.0
            ),
            Warning::DataSmallerThanPageCache { data_bytes, page_cache_bytes } => write!(
                f,
                "the data set ({}) fits in the page cache ({}): reads come from memory, so \
                 throughput is overstated for disk-bound setups; raise `volume` above the page \
                 cache or use the `full` profile",
                format_bytes(*data_bytes),
                format_bytes(*page_cache_bytes)
            ),
            Warning::ShortRun { phase, secs, required_secs } => write!(
                f,
                "the {phase} phase lasted {secs:.1}s, under the {required_secs:.0}s needed for \
                 stable numbers: raise `volume` or `duration`"
            ),
            Warning::RateNotReached { requested, achieved, unit } => write!(
                f,
                "the load generator reached {achieved:.1} {unit} of the requested {requested:.1} \
                 {unit}: lower `rate`, add partitions, or give the broker more CPU"
            ),
            Warning::ProfileRequirement { profile, requirement, actual } => write!(
                f,
                "profile '{profile}' requires {requirement}, but the plan has {actual}: raise \
                 `volume`/`duration` under `profiles.{profile}`"
            ),
            Warning::FewRepeats { repeats, recommended } => write!(
                f,
                "only {repeats} repeat(s) per point, so spread and confidence intervals mean \
                 little: use `repeat: {recommended}` or more for numbers you compare"
            ),
            Warning::MissingMetric { point, metric } => write!(
                f,
                "{metric} was not measured at {point}: check that the phases it needs ran and \
                 succeeded"
            ),
        }
    }
}

/// Adds the rendered `message` next to the tagged fields.
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WithMessage<'a> {
            #[serde(flatten, serialize_with = "tagged")]
            warning: &'a Warning,
            message: String,
        }
        fn tagged<S: Serializer>(warning: &&Warning, s: S) -> Result<S::Ok, S::Error> {
            Warning::serialize(warning, s)
        }
        let message = self.to_string();
        WithMessage { warning: self, message }.serialize(serializer)
    }
}

/// Reads the tagged fields; `message` is derived, so it is ignored.
impl<'de> Deserialize<'de> for Warning {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Warning::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_kind_fields_and_message() {
        let w = Warning::ShortRun { phase: "backup".into(), secs: 4.2, required_secs: 30.0 };
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["kind"], "short_run");
        assert_eq!(json["phase"], "backup");
        assert_eq!(json["kind"], w.kind());
        assert!(json["message"].as_str().unwrap().contains("raise `volume`"));
        let back: Warning = serde_json::from_value(json).unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn display_says_what_to_change() {
        let w = Warning::NoisyRun {
            point: "partitions=4".into(),
            metric: "backup_mb_s".into(),
            cv: 0.153,
            threshold: NOISY_CV_THRESHOLD,
        };
        assert_eq!(
            w.to_string(),
            "backup_mb_s at partitions=4 varies by 15.3% between repeats (limit 10.0%): stop \
             other load on the machine, raise `repeat`, or raise the volume so each run lasts \
             longer"
        );
    }
}
