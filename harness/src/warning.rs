//! Typed advice about results that are valid but weaker than they look.
//!
//! A warning never fails a run; its `Display` says what to change so the next run is
//! trustworthy. In reports each warning serializes with its `kind`, its fields and the
//! rendered `message`, so readers of the JSON need no copy of this code.

use crate::scenario::units::format_bytes;
use crate::scenario::{Phase, Profile};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
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
        /// Label of the matrix point with the largest data set that fits.
        #[serde(default)]
        point: String,
        /// Bytes produced per repeat.
        data_bytes: u64,
        /// Memory available for the page cache.
        page_cache_bytes: u64,
        /// The broker keeps every record in memory whatever the volume (the native
        /// environment's tansu with its `memory` storage engine).
        #[serde(default)]
        broker_in_memory: bool,
    },
    /// A phase ended too quickly for stable throughput numbers.
    ShortRun {
        /// Label of the matrix point where it was shortest.
        #[serde(default)]
        point: String,
        /// The phase, e.g. `backup`.
        phase: String,
        /// How long it ran (median over repeats).
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
            Warning::DataSmallerThanPageCache { point, data_bytes, page_cache_bytes, broker_in_memory } => {
                write!(
                    f,
                    "the data set{} ({} per repeat) fits in the page cache ({} of memory available): \
                     the broker and the object store serve it from memory, so disk I/O is not \
                     exercised and the figures are those of a fully cached system; ",
                    at(point),
                    human_bytes(*data_bytes),
                    human_bytes(*page_cache_bytes),
                )?;
                let volume = format_bytes(uncached_volume(*page_cache_bytes));
                if *broker_in_memory {
                    write!(
                        f,
                        "the native environment's tansu keeps every record in memory (storage engine \
                         `memory`), so more volume would only exhaust RAM: to exercise disks, run \
                         with `--env external` against a disk-backed cluster and `volume: {volume}` \
                         or more (twice the page cache)"
                    )
                } else {
                    write!(f, "to exercise the disks use `volume: {volume}` or more (twice the page cache)")
                }
            }
            Warning::ShortRun { point, phase, secs, required_secs } => {
                write!(
                    f,
                    "the {phase} phase{} lasted {secs:.1} s, under the {} it needs: ",
                    at(point),
                    format_secs(*required_secs)
                )?;
                if *required_secs >= FULL_MIN_LOAD_SECS {
                    write!(
                        f,
                        "the full profile needs 5 minutes of load; set `duration: 5m` (with a `rate`) or more `volume` under `profiles.full`"
                    )
                } else {
                    let factor = (required_secs / secs.max(1e-3)).ceil();
                    write!(
                        f,
                        "runs this short are dominated by start-up (connecting, metadata, the first \
                         fetch), not throughput; raise `volume` about {factor:.0}×"
                    )
                }
            }
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

fn at(point: &str) -> String {
    if point.is_empty() { String::new() } else { format!(" at {point}") }
}

/// Sizes for reading, not for pasting into YAML: "64.0 MiB", "21.1 GiB".
fn human_bytes(bytes: u64) -> String {
    let units = [("TiB", 1u64 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    match units.iter().find(|(_, unit)| bytes >= *unit) {
        Some((name, unit)) => format!("{:.1} {name}", bytes as f64 / *unit as f64),
        None => format!("{bytes} B"),
    }
}

fn format_secs(secs: f64) -> String {
    if secs >= 60.0 && (secs % 60.0) == 0.0 { format!("{:.0} min", secs / 60.0) } else { format!("{secs:.0} s") }
}

/// A volume that cannot be served from the page cache: twice its size, in whole GiB.
fn uncached_volume(page_cache_bytes: u64) -> u64 {
    const GIB: u64 = 1 << 30;
    (page_cache_bytes.saturating_mul(2)).div_ceil(GIB).max(1) * GIB
}

/// Phases shorter than this measure start-up (process start, connecting, metadata, the
/// first fetch or upload) more than throughput.
pub const MIN_PHASE_SECS: f64 = 10.0;
/// Load the `full` profile must generate: 5 minutes.
pub const FULL_MIN_LOAD_SECS: f64 = 300.0;

/// How long a measured phase must last under `profile`; `None` when the profile asks
/// nothing (`quick` is a smoke test, `verify` is a check, not a measurement, and `pitr`
/// restores a sliver of the backup on purpose: what it reads is its figure, not its speed).
pub fn required_phase_secs(profile: Profile, phase: Phase) -> Option<f64> {
    match (profile, phase) {
        (Profile::Quick, _) | (_, Phase::Verify | Phase::ExactlyOnce | Phase::Pitr) => None,
        (Profile::Full, Phase::Produce) => Some(FULL_MIN_LOAD_SECS),
        _ => Some(MIN_PHASE_SECS),
    }
}

/// How long one phase of one repeat took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseDuration<'a> {
    /// Label of the matrix point.
    pub point: &'a str,
    /// The phase.
    pub phase: Phase,
    /// Seconds it ran.
    pub secs: f64,
}

/// One [`Warning::ShortRun`] per phase whose median duration at some point is under what
/// `profile` requires, naming the point where it was shortest.
pub fn short_runs(profile: Profile, durations: &[PhaseDuration<'_>]) -> Vec<Warning> {
    let mut medians: BTreeMap<(Phase, &str), Vec<f64>> = BTreeMap::new();
    for d in durations {
        medians.entry((d.phase, d.point)).or_default().push(d.secs);
    }
    let mut worst: BTreeMap<Phase, (&str, f64, f64)> = BTreeMap::new();
    for ((phase, point), mut secs) in medians {
        let Some(required) = required_phase_secs(profile, phase) else { continue };
        secs.sort_by(f64::total_cmp);
        let n = secs.len();
        let median = if n % 2 == 1 { secs[n / 2] } else { (secs[n / 2 - 1] + secs[n / 2]) / 2.0 };
        let shorter = worst.get(&phase).is_none_or(|(_, s, _)| median < *s);
        if median < required && shorter {
            worst.insert(phase, (point, median, required));
        }
    }
    (worst.into_iter())
        .map(|(phase, (point, secs, required_secs))| Warning::ShortRun {
            point: point.to_owned(),
            phase: phase.as_str().to_owned(),
            secs,
            required_secs,
        })
        .collect()
}

/// A [`Warning::DataSmallerThanPageCache`] when some point's data set (bytes produced per
/// repeat, by point) fits in `page_cache_bytes`; it names the largest data set that fits.
pub fn page_cache(data: &[(&str, u64)], page_cache_bytes: u64, broker_in_memory: bool) -> Option<Warning> {
    let (point, data_bytes) = (data.iter()).filter(|(_, b)| *b > 0 && *b < page_cache_bytes).max_by_key(|(_, b)| *b)?;
    Some(Warning::DataSmallerThanPageCache {
        point: (*point).to_owned(),
        data_bytes: *data_bytes,
        page_cache_bytes,
        broker_in_memory,
    })
}

/// Memory the page cache can grow into, from `/proc/meminfo`: `MemAvailable` (free memory
/// plus reclaimable cache), else `MemTotal` on kernels without it.
pub fn page_cache_bytes(meminfo: &procfs::Meminfo) -> u64 {
    meminfo.mem_available.unwrap_or(meminfo.mem_total)
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
        let w = Warning::ShortRun { point: "p=1".into(), phase: "backup".into(), secs: 4.2, required_secs: 30.0 };
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

    fn d(point: &'static str, phase: Phase, secs: f64) -> PhaseDuration<'static> {
        PhaseDuration { point, phase, secs }
    }

    #[test]
    fn short_phases_warn_once_per_phase_at_the_shortest_point() {
        let durations = [
            d("partitions=1", Phase::Backup, 4.0),
            d("partitions=1", Phase::Backup, 6.0),
            d("partitions=1", Phase::Backup, 30.0), // median 6.0
            d("partitions=8", Phase::Backup, 3.0),
            d("partitions=8", Phase::Restore, 12.0),
            d("partitions=8", Phase::Verify, 0.5),
            d("partitions=8", Phase::Produce, 20.0),
        ];
        let warnings = short_runs(Profile::Standard, &durations);
        assert_eq!(
            warnings,
            [Warning::ShortRun {
                point: "partitions=8".into(),
                phase: "backup".into(),
                secs: 3.0,
                required_secs: MIN_PHASE_SECS
            }]
        );
        assert_eq!(
            warnings[0].to_string(),
            "the backup phase at partitions=8 lasted 3.0 s, under the 10 s it needs: runs this short are \
             dominated by start-up (connecting, metadata, the first fetch), not throughput; raise \
             `volume` about 4×"
        );
        assert!(short_runs(Profile::Quick, &durations).is_empty(), "quick is a smoke test");
    }

    #[test]
    fn full_profile_needs_five_minutes_of_load() {
        let warnings =
            short_runs(Profile::Full, &[d("default", Phase::Produce, 120.0), d("default", Phase::Backup, 60.0)]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let text = warnings[0].to_string();
        assert!(text.starts_with("the produce phase at default lasted 120.0 s, under the 5 min it needs"), "{text}");
        assert!(text.contains("`duration: 5m`"), "{text}");
        assert!(short_runs(Profile::Full, &[d("default", Phase::Produce, 300.0)]).is_empty());
    }

    #[test]
    fn data_in_the_page_cache_warns_with_a_volume_that_is_not() {
        let cache = 5 << 30;
        let data = [("size=1KiB", 64 << 20), ("size=1MiB", 6 << 30), ("size=100KiB", 1 << 30)];
        let w = page_cache(&data, cache, false).unwrap();
        assert_eq!(
            w,
            Warning::DataSmallerThanPageCache {
                point: "size=100KiB".into(),
                data_bytes: 1 << 30,
                page_cache_bytes: cache,
                broker_in_memory: false
            }
        );
        let text = w.to_string();
        assert!(
            text.starts_with("the data set at size=100KiB (1.0 GiB per repeat) fits in the page cache (5.0 GiB"),
            "{text}"
        );
        assert!(text.contains("disk I/O is not exercised") && text.contains("`volume: 10GiB` or more"), "{text}");
        assert_eq!(page_cache(&[("a", 6 << 30)], cache, false), None);
        assert_eq!(page_cache(&[("a", 0)], cache, false), None, "nothing produced, nothing to say");
        // An in-memory broker is not helped by more volume: the advice says where to go instead.
        let text = page_cache(&data, cache, true).unwrap().to_string();
        assert!(text.contains("tansu keeps every record in memory") && text.contains("`--env external`"), "{text}");
    }

    #[test]
    fn page_cache_size_comes_from_meminfo() {
        use procfs::FromRead;
        let text = include_str!("../tests/fixtures/proc-meminfo.txt");
        let meminfo = procfs::Meminfo::from_read(text.as_bytes()).unwrap();
        assert_eq!(page_cache_bytes(&meminfo), 23_460_256 * 1024, "MemAvailable, KiB to bytes");
        // Kernels before 3.14 have no MemAvailable.
        let old: String = text.lines().filter(|l| !l.starts_with("MemAvailable:")).map(|l| format!("{l}\n")).collect();
        let meminfo = procfs::Meminfo::from_read(old.as_bytes()).unwrap();
        assert_eq!(page_cache_bytes(&meminfo), 24_683_584 * 1024, "MemTotal");
        assert!(procfs::Meminfo::from_read("garbage".as_bytes()).is_err());
    }
}
