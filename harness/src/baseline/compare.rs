//! The regression verdict: a new run's statistics against a baseline's, metric by
//! metric and point by point, with each metric's tolerance from the scenario's `gate:`.
//!
//! # The interval of the change
//! Each side carries a 95% bootstrap interval of its median, `[b_lo, b_hi]` for the
//! baseline and `[n_lo, n_hi]` for the new run. The change `new / baseline − 1` is given
//! the interval `[n_lo / b_hi − 1, n_hi / b_lo − 1]`: every ratio of a value inside one
//! interval to a value inside the other (interval division). That is conservative: the
//! two runs are independent, so both medians lie in their intervals together with at
//! least 0.95² ≈ 90% probability, and the corner ratios are further from the point
//! estimate than a proper interval of the ratio would be. A wider interval can only turn
//! a Regressed into Unchanged, never the other way round, which is the direction a gate
//! on noisy 2-core machines should err in. A baseline interval reaching 0 leaves the
//! ratio unbounded: no verdict then.
//!
//! # Verdicts
//! With tolerance `t` (percent of the baseline median) and the change interval
//! `[lo, hi]` oriented so that "worse" is negative for higher-is-better metrics:
//! **Regressed** when the whole interval lies beyond `t` in the worse direction,
//! **Improved** when it lies wholly beyond `t` in the better direction, else
//! **Unchanged**. Metrics without a tolerance, or machine-dependent ones when the
//! fingerprints differ, are shown but **not gated**; a gated metric the new run did not
//! measure is **Missing**, which fails the gate like a regression (a run that could not
//! measure what it promised has not shown it).

use super::{BaselineError, Result, Statistics};
use crate::report::{Environment, SCHEMA_VERSION};
use crate::scenario::{GateRule, Metric, Profile};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};

/// Metrics that mean the same on any machine: ratios against a bare client measured in
/// the same run, the compression ratio, and memory (which depends on the engine's
/// buffers, not on CPU speed). Only these are gated when the fingerprints differ.
pub const MACHINE_INDEPENDENT: [Metric; 5] = [
    Metric::EfficiencyBackup,
    Metric::EfficiencyRestore,
    Metric::EfficiencyStorage,
    Metric::CompressionRatio,
    Metric::PeakRssMb,
];

/// Outcome for one metric at one point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole change interval lies beyond the tolerance in the worse direction.
    Regressed,
    /// The whole change interval lies beyond the tolerance in the better direction.
    Improved,
    /// The change interval reaches within the tolerance.
    Unchanged,
    /// Shown for information only (no tolerance, machine-dependent on another machine,
    /// or only one side has it).
    NotGated,
    /// A gated metric the new run did not measure.
    Missing,
}

impl Verdict {
    /// Whether this verdict fails the gate.
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Regressed | Verdict::Missing)
    }
}

/// One metric at one point, both sides and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// Point label.
    pub point: String,
    /// Metric name.
    pub metric: String,
    /// Unit of the medians.
    pub unit: String,
    /// Whether larger values are better.
    pub higher_is_better: bool,
    /// The baseline's summary, if it has the metric.
    pub baseline: Option<Summary>,
    /// The new run's summary, if it measured the metric.
    pub new: Option<Summary>,
    /// `(new median / baseline median − 1) × 100`.
    pub change_pct: Option<f64>,
    /// Lower end of the change interval, percent (see the module docs).
    pub change_low_pct: Option<f64>,
    /// Upper end of the change interval, percent.
    pub change_high_pct: Option<f64>,
    /// Allowed change in the worse direction, percent; `None` when not gated.
    pub tolerance_pct: Option<f64>,
    /// The outcome.
    pub verdict: Verdict,
    /// Why a metric is not gated or missing; empty otherwise.
    pub reason: String,
}

/// Where and from what one side of the comparison was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// kbackup commit.
    pub git_sha: String,
    /// When the run started.
    pub started_at: String,
    /// Machine fingerprint.
    pub environment: Environment,
}

impl RunInfo {
    fn of(s: &Statistics) -> RunInfo {
        let environment = s.environment.clone();
        RunInfo { git_sha: environment.kbackup_git_sha.clone(), started_at: s.started_at.clone(), environment }
    }
}

/// The whole comparison; rendered by `compare_markdown` and `compare_json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    /// Layout version (the report module's).
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Profile.
    pub profile: Profile,
    /// The baseline side.
    pub baseline: RunInfo,
    /// The new side.
    pub new: RunInfo,
    /// CPU model, cores and memory agree.
    pub same_machine: bool,
    /// What differs between the fingerprints, e.g. `cores: 2 → 8`.
    pub machine_differences: Vec<String>,
    /// Differences in plan, repeats or points that a reader should know about.
    pub notes: Vec<String>,
    /// One row per point and metric, in plan and report order.
    pub rows: Vec<MetricComparison>,
    /// Some row failed the gate (Regressed or Missing).
    pub regressed: bool,
}

/// The fingerprint fields that make numbers comparable, as `field: old → new`.
pub fn machine_differences(baseline: &Environment, new: &Environment) -> Vec<String> {
    let mut out = Vec::new();
    if baseline.cpu_model != new.cpu_model {
        out.push(format!("CPU: {} → {}", baseline.cpu_model, new.cpu_model));
    }
    if baseline.cores != new.cores {
        out.push(format!("cores: {} → {}", baseline.cores, new.cores));
    }
    if baseline.memory_bytes != new.memory_bytes {
        out.push(format!("memory: {} B → {} B", baseline.memory_bytes, new.memory_bytes));
    }
    out
}

/// Interval of `new / baseline − 1` as fractions (see the module docs); `None` when
/// the baseline interval reaches 0 or a bound is not finite.
pub fn change_interval(baseline: &Summary, new: &Summary) -> Option<(f64, f64)> {
    if baseline.ci_low <= 0.0 {
        return None;
    }
    let (lo, hi) = (new.ci_low / baseline.ci_high - 1.0, new.ci_high / baseline.ci_low - 1.0);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// The verdict for a change interval (fractions) and a tolerance (percent).
pub fn decide(interval: (f64, f64), tolerance_pct: f64, higher_is_better: bool) -> Verdict {
    let t = tolerance_pct / 100.0;
    // Orient so that negative is worse.
    let (lo, hi) = if higher_is_better { interval } else { (-interval.1, -interval.0) };
    if hi < -t {
        Verdict::Regressed
    } else if lo > t {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

/// Compares `new` with `baseline` under `gate` (normally the new run's plan's gate).
/// Fails when scenario or profile differ: such numbers are not comparable at all.
pub fn compare(new: &Statistics, baseline: &Statistics, gate: &[GateRule]) -> Result<CompareReport> {
    if new.scenario.name != baseline.scenario.name || new.scenario.profile != baseline.scenario.profile {
        return Err(BaselineError::Mismatch { report: new.id(), baseline: baseline.id() });
    }
    let differences = machine_differences(&baseline.environment, &new.environment);
    let same_machine = differences.is_empty();
    let mut rows = Vec::new();
    for point in &baseline.points {
        let fresh = new.point(&point.label);
        for metric in Metric::ALL {
            let (b, n) = (point.stats.get(metric.as_str()), fresh.and_then(|p| p.stats.get(metric.as_str())));
            if b.is_none() && n.is_none() {
                continue;
            }
            let rule = gate.iter().find(|g| g.metric == metric);
            let gated = rule.filter(|_| same_machine || MACHINE_INDEPENDENT.contains(&metric));
            rows.push(row(&point.label, metric, b.copied(), n.copied(), rule, gated));
        }
    }
    let regressed = rows.iter().any(|r| r.verdict.fails());
    Ok(CompareReport {
        schema_version: SCHEMA_VERSION,
        scenario: new.scenario.name.clone(),
        profile: new.scenario.profile,
        baseline: RunInfo::of(baseline),
        new: RunInfo::of(new),
        same_machine,
        machine_differences: differences,
        notes: notes(new, baseline),
        rows,
        regressed,
    })
}

fn row(
    point: &str,
    metric: Metric,
    b: Option<Summary>,
    n: Option<Summary>,
    rule: Option<&GateRule>,
    gated: Option<&GateRule>,
) -> MetricComparison {
    let change_pct = b.zip(n).filter(|(b, _)| b.median != 0.0).map(|(b, n)| (n.median / b.median - 1.0) * 100.0);
    let interval = b.zip(n).and_then(|(b, n)| change_interval(&b, &n));
    let (verdict, reason) = match (b, n, gated) {
        (Some(_), None, Some(_)) => (Verdict::Missing, "gated, but the new run did not measure it".to_owned()),
        (Some(_), None, None) => (Verdict::NotGated, "not measured by the new run".to_owned()),
        (None, _, _) => (Verdict::NotGated, "not in the baseline; save a new baseline to gate it".to_owned()),
        (Some(_), Some(_), None) if rule.is_some() => {
            (Verdict::NotGated, "machine-dependent, and the machines differ".to_owned())
        }
        (Some(_), Some(_), None) => (Verdict::NotGated, "no tolerance in the scenario's gate:".to_owned()),
        (Some(_), Some(_), Some(g)) => match interval {
            Some(i) => (decide(i, g.tolerance_pct, metric.higher_is_better()), String::new()),
            None => (Verdict::Unchanged, "baseline interval reaches 0: the change is unbounded".to_owned()),
        },
    };
    MetricComparison {
        point: point.to_owned(),
        metric: metric.as_str().to_owned(),
        unit: metric.unit().to_owned(),
        higher_is_better: metric.higher_is_better(),
        baseline: b,
        new: n,
        change_pct,
        change_low_pct: interval.map(|i| i.0 * 100.0),
        change_high_pct: interval.map(|i| i.1 * 100.0),
        tolerance_pct: gated.map(|g| g.tolerance_pct),
        verdict,
        reason,
    }
}

/// What differs besides the numbers: points, workloads, engine settings, repeats.
fn notes(new: &Statistics, baseline: &Statistics) -> Vec<String> {
    let mut out = Vec::new();
    let (np, bp) = (&new.scenario.plan, &baseline.scenario.plan);
    for point in new.points.iter().filter(|p| baseline.point(&p.label).is_none()) {
        out.push(format!("point {} is not in the baseline and is not compared", point.label));
    }
    for point in baseline.points.iter().filter(|p| new.point(&p.label).is_none()) {
        out.push(format!("point {} of the baseline did not run", point.label));
    }
    for n in &np.points {
        let Some(b) = bp.points.iter().find(|b| b.label == n.label) else { continue };
        if n.workload != b.workload {
            out.push(format!("point {}: the workload differs from the baseline's", n.label));
        }
        if n.engine != b.engine {
            let show = |p: &crate::scenario::PlanPoint| {
                let parts: Vec<String> = p.engine.iter().map(|o| format!("{}={}", o.key, o.value)).collect();
                if parts.is_empty() { "defaults".to_owned() } else { parts.join(", ") }
            };
            out.push(format!("point {}: engine settings differ: baseline {}, new {}", n.label, show(b), show(n)));
        }
    }
    if np.repeat != bp.repeat {
        out.push(format!("repeats differ: baseline {}, new {}", bp.repeat, np.repeat));
    }
    if np.repeat < crate::warning::RECOMMENDED_REPEATS {
        out.push(format!(
            "{} repeat(s): the interval of a median needs at least {} to mean anything",
            np.repeat,
            crate::warning::RECOMMENDED_REPEATS
        ));
    }
    out
}
