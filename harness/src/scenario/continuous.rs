//! The `continuous:` block: how the `continuous` phase runs its `kbackup backup --continuous`
//! instances while the load generator produces at a fixed rate — when instances start, stop
//! (SIGTERM) or are killed (SIGKILL), how often their metrics are sampled, how long a kill is
//! watched for its partitions to be taken over, and how long the backup may take to catch up
//! once the load ends.
//!
//! Step times are seconds from the start of the load or a percentage of the load's duration
//! (`at: 25%`), so one schedule fits every profile.

use super::error::ErrorKind;
use super::file::Scalar;
use super::units::{self, format_secs};
use super::values;
use serde::{Deserialize, Serialize};
use std::fmt;

type Result<T> = std::result::Result<T, ErrorKind>;

/// Metrics sampling period unless `continuous.sample_interval` is set.
pub const DEFAULT_SAMPLE_SECS: f64 = 1.0;
/// How long a killed instance's partitions are watched for a new owner, by default.
pub const DEFAULT_KILL_WATCH_SECS: f64 = 30.0;
/// How long the instances may take, once the load ended, to have read everything.
pub const DEFAULT_DRAIN_SECS: f64 = 60.0;

/// `continuous:` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContinuous {
    pub sample_interval: Option<Scalar>,
    pub schedule: Option<Vec<RawStep>>,
    pub kill_watch: Option<Scalar>,
    pub drain_timeout: Option<Scalar>,
}

/// One schedule entry: `{at: 25%, action: start}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at: Scalar,
    pub action: Scalar,
}

/// What a schedule step does to the instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceAction {
    /// Start one more instance of the same config (it joins the backup's consumer group).
    Start,
    /// SIGTERM the newest running instance: it flushes, checkpoints and leaves the group.
    Stop,
    /// SIGKILL the newest running instance: a crash, nothing flushed.
    Kill,
}

impl InstanceAction {
    const NAMES: &'static [(&'static str, InstanceAction)] =
        &[("start", InstanceAction::Start), ("stop", InstanceAction::Stop), ("kill", InstanceAction::Kill)];

    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceAction::Start => "start",
            InstanceAction::Stop => "stop",
            InstanceAction::Kill => "kill",
        }
    }
}

impl fmt::Display for InstanceAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One resolved step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Seconds after the load started (0: before it starts).
    pub at_secs: f64,
    /// What happens.
    pub action: InstanceAction,
}

/// The resolved `continuous:` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContinuousPlan {
    /// Seconds between two samples of every instance's `/metrics`.
    pub sample_interval_secs: f64,
    /// Instance changes in time order; the first starts an instance at 0.
    pub steps: Vec<Step>,
    /// Seconds a kill is watched for its partitions to be assigned to a surviving instance.
    pub kill_watch_secs: f64,
    /// Seconds the instances may take after the load ends to read everything produced.
    pub drain_timeout_secs: f64,
}

impl ContinuousPlan {
    /// Most instances running at once.
    pub fn max_instances(&self) -> usize {
        let mut running: usize = 0;
        let mut most = 0;
        for step in &self.steps {
            match step.action {
                InstanceAction::Start => running += 1,
                InstanceAction::Stop | InstanceAction::Kill => running = running.saturating_sub(1),
            }
            most = most.max(running);
        }
        most
    }

    /// The schedule in words, e.g. `start at 0s, start at 15s, kill at 45s`.
    pub fn describe(&self) -> String {
        let steps: Vec<String> =
            self.steps.iter().map(|s| format!("{} at {}", s.action, format_secs(s.at_secs))).collect();
        steps.join(", ")
    }
}

/// `at:` as seconds into a load of `load_secs`: a duration, or a percentage of the load.
fn at_secs(value: &Scalar, path: &str, load_secs: f64) -> Result<f64> {
    let secs = match value {
        Scalar::Str(s) if s.trim().ends_with('%') => {
            let pct: f64 = (s.trim().trim_end_matches('%').trim().parse().ok())
                .filter(|p: &f64| (0.0..100.0).contains(p))
                .ok_or_else(|| ErrorKind::invalid(path, value, "a percentage of the load from 0% to below 100%"))?;
            pct / 100.0 * load_secs
        }
        Scalar::Str(s) => units::parse_duration_secs(s).map_err(|hint| ErrorKind::invalid(path, value, hint))?,
        Scalar::Int(n) if *n >= 0 => *n as f64,
        _ => return Err(ErrorKind::invalid(path, value, "a duration like 15s or a percentage like 25%")),
    };
    if secs >= load_secs {
        let problem = format!("{} is not before the load ends ({} of load)", format_secs(secs), format_secs(load_secs));
        return Err(ErrorKind::conflict(path, problem));
    }
    Ok(secs)
}

fn optional_secs(value: Option<&Scalar>, path: &str, default: f64) -> Result<f64> {
    value.map_or(Ok(default), |v| values::duration_secs(v, path))
}

/// Resolves `raw` (or the default: one instance from the start) for a load of `load_secs`.
pub fn resolve(raw: Option<&RawContinuous>, load_secs: f64) -> Result<ContinuousPlan> {
    let default = RawContinuous::default();
    let raw = raw.unwrap_or(&default);
    let mut steps = Vec::new();
    match &raw.schedule {
        None => steps.push(Step { at_secs: 0.0, action: InstanceAction::Start }),
        Some(list) if list.is_empty() => {
            return Err(ErrorKind::invalid("continuous.schedule", "[]", "at least `- {at: 0s, action: start}`"));
        }
        Some(list) => {
            for (i, step) in list.iter().enumerate() {
                let path = format!("continuous.schedule[{i}]");
                let at_secs = at_secs(&step.at, &format!("{path}.at"), load_secs)?;
                let action = values::choice(&step.action, &format!("{path}.action"), InstanceAction::NAMES)?;
                steps.push(Step { at_secs, action });
            }
        }
    }
    check_schedule(&steps)?;
    let sample_interval_secs =
        optional_secs(raw.sample_interval.as_ref(), "continuous.sample_interval", DEFAULT_SAMPLE_SECS)?;
    if !(0.1..=60.0).contains(&sample_interval_secs) {
        let value = format_secs(sample_interval_secs);
        return Err(ErrorKind::invalid("continuous.sample_interval", value, "from 100ms to 60s"));
    }
    Ok(ContinuousPlan {
        sample_interval_secs,
        steps,
        kill_watch_secs: optional_secs(raw.kill_watch.as_ref(), "continuous.kill_watch", DEFAULT_KILL_WATCH_SECS)?,
        drain_timeout_secs: optional_secs(raw.drain_timeout.as_ref(), "continuous.drain_timeout", DEFAULT_DRAIN_SECS)?,
    })
}

/// The first step starts an instance at 0, times never go back, and at least one instance
/// runs after every step (a stop or kill of the last one would leave nothing to measure).
fn check_schedule(steps: &[Step]) -> Result<()> {
    let first = steps.first().map(|s| (s.at_secs, s.action));
    if first != Some((0.0, InstanceAction::Start)) {
        let expected = "the first step to be `{at: 0s, action: start}`: an instance follows the topic from the start";
        return Err(ErrorKind::invalid("continuous.schedule[0]", format!("{first:?}"), expected));
    }
    let mut running = 0usize;
    for (i, pair) in steps.iter().enumerate() {
        let path = format!("continuous.schedule[{i}]");
        if i > 0 && pair.at_secs < steps[i - 1].at_secs {
            return Err(ErrorKind::conflict(&path, "steps must be in time order"));
        }
        match pair.action {
            InstanceAction::Start => running += 1,
            InstanceAction::Stop | InstanceAction::Kill if running <= 1 => {
                let problem = format!("a {} would leave no instance running; start another first", pair.action);
                return Err(ErrorKind::conflict(&path, problem));
            }
            InstanceAction::Stop | InstanceAction::Kill => running -= 1,
        }
    }
    Ok(())
}
