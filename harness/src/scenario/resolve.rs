//! Resolution: a parsed [`ScenarioFile`] plus a [`Profile`] becomes a [`ScenarioPlan`].
//!
//! Checks run in a fixed order (name, matrix, workload, engine, network, phases, profile,
//! targets, gate), and the first failure is reported with its key path.

use super::continuous::ContinuousPlan;
use super::error::ErrorKind;
use super::file::{OneOrMany, OrderedMap, RawProfile, RawTarget, RawVolume, RawWorkload, Scalar, ScenarioFile};
use super::matrix::{self, Axis};
use super::metric::{GateRule, Metric, Target};
use super::network::PartialNetwork;
use super::pitr::PitrPlan;
use super::plan::*;
use super::timestamps::Timestamps;
use super::units::{Rate, format_bytes, format_secs};
use super::values::{self, KEY_MODES, MAX_HEADERS, MAX_PARTITIONS, PAYLOADS};
use crate::warning::Warning;

type Result<T> = std::result::Result<T, ErrorKind>;

/// Repeats per point unless the scenario or profile says otherwise: the fewest that
/// still give a median and a spread.
pub const DEFAULT_REPEAT: u32 = 3;
/// Load generator seed unless `workload.seed` is set.
pub const DEFAULT_SEED: u64 = 1;
/// Phases unless `phases:` is set: a full backup/restore round trip with the baseline
/// for backup efficiency.
pub const DEFAULT_PHASES: [Phase; 5] =
    [Phase::Produce, Phase::RawConsume, Phase::Backup, Phase::Restore, Phase::Verify];

/// Workload fields that may still be filled in by a matrix value.
#[derive(Clone, Debug, Default)]
pub struct PartialWorkload {
    pub partitions: Option<u32>,
    pub message_size: Option<MessageSize>,
    pub payload: Option<Payload>,
    pub keys: Option<KeyMode>,
    pub headers: Option<u32>,
}

impl PartialWorkload {
    fn from_raw(raw: &RawWorkload) -> Result<Self> {
        let partitions = field(&raw.partitions, "partitions", |v, p| values::integer(v, p, 1, MAX_PARTITIONS))?;
        let headers = field(&raw.headers, "headers", |v, p| values::integer(v, p, 0, MAX_HEADERS))?;
        let message_size =
            (raw.message_size.as_ref()).map(|v| values::message_size(v, "workload.message_size")).transpose()?;
        Ok(PartialWorkload {
            partitions: partitions.map(|n| n as u32),
            message_size,
            payload: field(&raw.payload, "payload", |v, p| values::choice(v, p, PAYLOADS))?,
            keys: field(&raw.keys, "keys", |v, p| values::choice(v, p, KEY_MODES))?,
            headers: headers.map(|n| n as u32),
        })
    }

    fn finish(self, volume: Volume, rate: Option<Rate>, seed: u64) -> Result<Workload> {
        let need = |key: &str, example: &str| {
            let expected = format!("{example} under `workload:` or a matrix axis `{key}`");
            ErrorKind::missing(&format!("workload.{key}"), expected)
        };
        Ok(Workload {
            partitions: self.partitions.ok_or_else(|| need("partitions", "`partitions: 4`"))?,
            message_size: (self.message_size).ok_or_else(|| need("message_size", "`message_size: 1KiB`"))?,
            payload: self.payload.ok_or_else(|| need("payload", "`payload: json`"))?,
            keys: self.keys.unwrap_or(KeyMode::None),
            headers: self.headers.unwrap_or(0),
            volume,
            rate,
            seed,
            timestamps: None,
        })
    }
}

/// Reads an optional `workload.<key>` scalar with `read`.
fn field<T>(value: &Option<Scalar>, key: &str, read: impl Fn(&Scalar, &str) -> Result<T>) -> Result<Option<T>> {
    value.as_ref().map(|v| read(v, &format!("workload.{key}"))).transpose()
}

fn check_name(file: &ScenarioFile) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    // The name becomes a report directory, so keep it path-safe.
    if file.name.is_empty() || !file.name.chars().all(ok) {
        let expected = "letters, digits, '-' and '_' only (it names the report directory)";
        return Err(ErrorKind::invalid("name", &file.name, expected));
    }
    if file.description.trim().is_empty() {
        return Err(ErrorKind::missing("description", "one or two sentences on what is measured"));
    }
    Ok(())
}

fn phases(raw: Option<&[String]>) -> Result<Vec<Phase>> {
    let Some(raw) = raw else { return Ok(DEFAULT_PHASES.to_vec()) };
    if raw.is_empty() {
        return Err(ErrorKind::invalid("phases", "[]", "a non-empty list of phases"));
    }
    let table: Vec<(&str, Phase)> = Phase::ALL.iter().map(|p| (p.as_str(), *p)).collect();
    let mut out: Vec<Phase> = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        let path = format!("phases[{i}]");
        let phase = values::choice(&Scalar::Str(name.clone()), &path, &table)?;
        if out.contains(&phase) {
            return Err(ErrorKind::conflict(&path, format!("'{phase}' is listed twice")));
        }
        let overlap = |a: Phase, b: Phase| a.provides().contains(&b) || b.provides().contains(&a);
        if let Some(other) = out.iter().find(|p| overlap(**p, phase)) {
            let problem = format!("'{phase}' and '{other}' both create the topic or the backup; list one of them");
            return Err(ErrorKind::conflict(&path, problem));
        }
        if let Some(missing) = phase.prerequisites().iter().find(|p| !p.covered_by(&out)) {
            let problem = format!("'{phase}' needs '{missing}' earlier in the list");
            return Err(ErrorKind::conflict(&path, problem));
        }
        out.push(phase);
    }
    Ok(out)
}

fn profile_raw(file: &ScenarioFile, profile: Profile) -> Option<&RawProfile> {
    match profile {
        Profile::Quick => file.profiles.quick.as_ref(),
        Profile::Standard => file.profiles.standard.as_ref(),
        Profile::Full => file.profiles.full.as_ref(),
    }
}

fn repeat(file: &ScenarioFile, profile: Profile, raw: Option<&RawProfile>) -> Result<u32> {
    let (value, path) = match raw.and_then(|p| p.repeat) {
        Some(r) => (r, format!("profiles.{profile}.repeat")),
        None => (file.repeat.unwrap_or(DEFAULT_REPEAT), "repeat".to_owned()),
    };
    if !(1..=100).contains(&value) {
        return Err(ErrorKind::invalid(&path, value, "a whole number from 1 to 100"));
    }
    Ok(value)
}

/// A profile that says how much to produce replaces the workload's amount entirely;
/// its `rate`, if any, replaces the workload's rate.
fn volume(file: &ScenarioFile, profile: Profile, raw: Option<&RawProfile>) -> Result<(Volume, Option<Rate>)> {
    let profile_path = format!("profiles.{profile}");
    let from_profile = raw.map(RawProfile::volume).filter(values::sets_amount);
    let (amount, path) = match from_profile {
        Some(group) => (group, profile_path.clone()),
        None => (file.workload.volume(), "workload".to_owned()),
    };
    if !values::sets_amount(&amount) {
        let expected = format!("{} under `workload:` or `{profile_path}:`", values::VOLUME_HINT);
        return Err(ErrorKind::missing("workload.volume", expected));
    }
    let (volume, _) = values::volume(&RawVolume { rate: None, ..amount }, &path)?;
    let rate = match raw.and_then(|p| p.rate.as_ref()) {
        Some(r) => Some(values::rate(r, &format!("{profile_path}.rate"))?),
        None => (file.workload.rate.as_ref()).map(|r| values::rate(r, "workload.rate")).transpose()?,
    };
    Ok((volume, rate))
}

fn engine(raw: &OrderedMap<Scalar>) -> Result<Vec<EngineOverride>> {
    let mut out = Vec::new();
    for (key, value) in &raw.0 {
        matrix::check_engine_key(key, "engine")?;
        matrix::check_engine_value(key, value, &format!("engine.{key}"))?;
        out.push(EngineOverride { key: key.clone(), value: value.clone() });
    }
    Ok(out)
}

/// A target plus the matrix values it is restricted to.
struct ScopedTarget {
    target: Target,
    /// (axis index, allowed value texts) pairs, all of which must match.
    when: Vec<(usize, Vec<String>)>,
}

fn when(raw: &OrderedMap<OneOrMany>, axes: &[Axis], path: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut out = Vec::new();
    for (key, allowed) in &raw.0 {
        let found = axes.iter().position(|a| a.axis.key == *key || a.label_key == *key);
        let Some(index) = found else {
            let keys: Vec<&str> = axes.iter().map(|a| a.axis.key.as_str()).collect();
            let allowed =
                if keys.is_empty() { "a matrix axis (this scenario has none)".into() } else { keys.join(", ") };
            return Err(ErrorKind::UnknownKey { path: path.to_owned(), key: key.clone(), allowed });
        };
        let values: Vec<String> = axes[index].axis.values.iter().map(ToString::to_string).collect();
        for value in &allowed.0 {
            if !values.contains(&value.to_string()) {
                let names: Vec<&str> = values.iter().map(String::as_str).collect();
                return Err(ErrorKind::unknown_value(&format!("{path}.{key}"), value, &names));
            }
        }
        out.push((index, allowed.0.iter().map(ToString::to_string).collect()));
    }
    Ok(out)
}

fn targets(raw: &OrderedMap<RawTarget>, axes: &[Axis], phases: &[Phase]) -> Result<Vec<ScopedTarget>> {
    let mut out = Vec::new();
    for (name, spec) in &raw.0 {
        let path = format!("targets.{name}");
        let metric = Metric::from_name(name).ok_or_else(|| ErrorKind::UnknownKey {
            path: "targets".into(),
            key: name.clone(),
            allowed: Metric::names(),
        })?;
        let target = Target::parse(metric, &spec.expr).map_err(|hint| ErrorKind::invalid(&path, &spec.expr, hint))?;
        let missing: Vec<&str> =
            (metric.required_phases().iter()).filter(|p| !p.covered_by(phases)).map(|p| p.as_str()).collect();
        if !missing.is_empty() {
            let problem = format!("needs phase(s) {} to be measured; add them to `phases`", missing.join(", "));
            return Err(ErrorKind::conflict(&path, problem));
        }
        out.push(ScopedTarget { target, when: when(&spec.when, axes, &format!("{path}.when"))? });
    }
    Ok(out)
}

fn gate(raw: &OrderedMap<Scalar>) -> Result<Vec<GateRule>> {
    let mut out = Vec::new();
    for (name, value) in &raw.0 {
        let metric = Metric::from_name(name).ok_or_else(|| ErrorKind::UnknownKey {
            path: "gate".into(),
            key: name.clone(),
            allowed: Metric::names(),
        })?;
        let tolerance_pct = values::tolerance_pct(value, &format!("gate.{name}"))?;
        out.push(GateRule { metric, tolerance_pct });
    }
    Ok(out)
}

/// Everything shared by all points, resolved once.
struct Common {
    base: PartialWorkload,
    engine: Vec<EngineOverride>,
    network: PartialNetwork,
    volume: Volume,
    rate: Option<Rate>,
    seed: u64,
    timestamps: Option<Timestamps>,
    targets: Vec<ScopedTarget>,
}

fn point(index: usize, combo: &[usize], axes: &[Axis], common: &Common) -> Result<PlanPoint> {
    let mut workload = common.base.clone();
    let mut engine = common.engine.clone();
    let mut network = common.network.clone();
    for (axis, &i) in axes.iter().zip(combo) {
        axis.assignments[i].apply(&mut workload, &mut engine, &mut network);
    }
    let mut workload = workload.finish(common.volume.clone(), common.rate, common.seed)?;
    workload.timestamps = common.timestamps.clone();
    let parameters = (axes.iter().zip(combo))
        .map(|(a, &i)| Parameter { key: a.axis.key.clone(), value: a.axis.values[i].clone() })
        .collect();
    let applies = |t: &&ScopedTarget| {
        (t.when.iter()).all(|(axis, allowed)| allowed.contains(&axes[*axis].axis.values[combo[*axis]].to_string()))
    };
    let targets = common.targets.iter().filter(applies).map(|t| t.target.clone()).collect();
    let label = matrix::label(axes, combo);
    Ok(PlanPoint { index, label, parameters, workload, engine, targets, network: network.finish() })
}

/// The point's segment size as kbackup resolves it (its default when the scenario sets none).
fn segment_bytes(point: &PlanPoint) -> u64 {
    // Overrides were checked one by one; a combination kbackup refuses (which fails at run
    // time) promises no segments at all.
    super::engine_config::resolve(&point.engine).map_or(u64::MAX, |plan| plan.backup.segment_max_bytes)
}

/// `full` must write at least 10 segments and run at least 5 minutes; checked where the
/// plan alone can tell (the runner checks measured durations with `ShortRun`). One
/// warning per requirement, naming the worst point, keeps big matrices readable.
fn profile_warnings(profile: Profile, points: &[PlanPoint]) -> Vec<Warning> {
    if profile != Profile::Full {
        return Vec::new();
    }
    let requirement = |requirement: String, actual: String| Warning::ProfileRequirement {
        profile: profile.to_string(),
        requirement,
        actual,
    };
    let mut out = Vec::new();
    let short_volume = (points.iter())
        .filter_map(|p| p.workload.expected_bytes().map(|b| (b / segment_bytes(p) as f64, b, p)))
        .filter(|(segments, _, _)| *segments < FULL_MIN_SEGMENTS as f64)
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((segments, bytes, point)) = short_volume {
        let need = format!("volume >= {FULL_MIN_SEGMENTS} x segment size");
        let actual = format!("{} ({segments:.1} segments) at {}", format_bytes(bytes as u64), point.label);
        out.push(requirement(need, actual));
    }
    let short_time = (points.iter())
        .filter_map(|p| p.workload.expected_secs().map(|s| (s, p)))
        .filter(|(secs, _)| *secs < FULL_MIN_SECS)
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((secs, point)) = short_time {
        let need = format!("duration >= {}", format_secs(FULL_MIN_SECS));
        out.push(requirement(need, format!("{} at {}", format_secs(secs), point.label)));
    }
    out
}

/// Validates `file` and resolves it for `profile`.
pub fn resolve(file: &ScenarioFile, origin: &str, profile: Profile) -> Result<ScenarioPlan> {
    check_name(file)?;
    let axes = matrix::parse_axes(&file.matrix)?;
    let base = PartialWorkload::from_raw(&file.workload)?;
    let engine = engine(&file.engine)?;
    let network = PartialNetwork::from_raw(file.network.as_ref())?;
    let phases = phases(file.phases.as_deref())?;
    let raw_profile = profile_raw(file, profile);
    let repeat = repeat(file, profile, raw_profile)?;
    let (volume, rate) = volume(file, profile, raw_profile)?;
    let targets = targets(&file.targets, &axes, &phases)?;
    let gate = gate(&file.gate)?;
    let continuous = continuous(file, &phases, &volume, rate)?;
    let seed = file.workload.seed.unwrap_or(DEFAULT_SEED);
    let timestamps = (file.workload.timestamps.as_ref()).map(|t| super::timestamps::resolve(t, &volume)).transpose()?;
    let common = Common { base, engine, network, volume, rate, seed, timestamps, targets };
    let points = (matrix::combinations(&axes).iter().enumerate())
        .map(|(i, combo)| point(i, combo, &axes, &common))
        .collect::<Result<Vec<_>>>()?;
    let pitr = pitr(file, &phases, &points)?;
    Ok(ScenarioPlan {
        name: file.name.clone(),
        description: file.description.trim().to_owned(),
        origin: origin.to_owned(),
        profile,
        repeat,
        phases,
        matrix: axes.iter().map(|a| a.axis.clone()).collect(),
        warnings: profile_warnings(profile, &points),
        points,
        gate,
        continuous,
        pitr,
    })
}

/// The `pitr:` block: exactly with the `pitr` phase; its partitions must exist at every point.
fn pitr(file: &ScenarioFile, phases: &[Phase], points: &[PlanPoint]) -> Result<Option<PitrPlan>> {
    match (&file.pitr, phases.contains(&Phase::Pitr)) {
        (None, false) => Ok(None),
        (Some(_), false) => Err(ErrorKind::conflict("pitr", "only used by the `pitr` phase; add it to `phases`")),
        (None, true) => Err(ErrorKind::missing("pitr", "`window:` and/or `offsets:` for the `pitr` phase to restore")),
        (Some(raw), true) => {
            let partitions = points.iter().map(|p| p.workload.partitions).min().unwrap_or(0);
            let has_timestamps = file.workload.timestamps.is_some();
            super::pitr::resolve(raw, partitions, has_timestamps).map(Some)
        }
    }
}

/// The `continuous:` block, resolved for the profile's load: only with the `continuous`
/// phase, which needs a load that lasts a set time at a set rate (a backup that keeps pace
/// with producers is measured against a known pace).
fn continuous(
    file: &ScenarioFile,
    phases: &[Phase],
    volume: &Volume,
    rate: Option<Rate>,
) -> Result<Option<ContinuousPlan>> {
    if !phases.contains(&Phase::Continuous) {
        return match file.continuous {
            Some(_) => {
                Err(ErrorKind::conflict("continuous", "only used by the `continuous` phase; add it to `phases`"))
            }
            None => Ok(None),
        };
    }
    let Volume::DurationSecs(load_secs) = volume else {
        let expected = "`duration:` (under `workload:` or the profile): the continuous phase produces for a set time";
        return Err(ErrorKind::invalid("workload", volume, expected));
    };
    if rate.is_none() {
        let expected = "`rate:` (e.g. 20MB/s): the continuous phase produces at a fixed rate";
        return Err(ErrorKind::missing("workload.rate", expected));
    }
    super::continuous::resolve(file.continuous.as_ref(), *load_secs).map(Some)
}
