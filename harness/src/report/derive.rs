//! From raw samples to the numbers a report shows: derived metrics per sample, their
//! summaries, target verdicts, efficiency ratios and result-level warnings.
//!
//! These are the functions the runner calls after each repeat; they are pure so the
//! whole pipeline from samples to rendered report is testable from fixtures.

use super::continuous::{ContinuousObserved, p50_p99_max};
use super::model::{Efficiency, Environment, PointResult, Report, SCHEMA_VERSION, Sample, ScenarioInfo, TargetResult};
use super::pitr::{PitrKind, PitrObserved, PitrRestore};
use crate::scenario::{Metric, Phase, PlanPoint, Profile, ScenarioPlan, Target};
use crate::stats::Summary;
use crate::warning::{NOISY_CV_THRESHOLD, RECOMMENDED_REPEATS, Warning};
use std::collections::BTreeMap;

/// Bytes in a GiB, for per-GiB figures.
const GIB: f64 = (1u64 << 30) as f64;

/// Every metric computable from one sample (metrics whose phases did not run are absent).
pub fn sample_metrics(sample: &Sample, partitions: u32) -> Vec<(Metric, f64)> {
    // A continuous phase is the backup of its sample.
    let backup = sample.phase(Phase::Backup).or_else(|| sample.phase(Phase::Continuous));
    let restore = sample.phase(Phase::Restore);
    let backup_engine = backup.and_then(|p| p.engine.as_ref());
    let continuous = backup.and_then(|p| p.continuous.as_deref());
    let raw_consume = sample.raw_consume_mb_s();
    let raw_produce = sample.raw_produce_mb_s();
    let raw_put = sample.phase(Phase::RawPut).map(|p| p.mb_s);
    // What backup pushed to storage per second (compressed), to compare with raw-put.
    let stored_mb_s = backup
        .zip(backup_engine.and_then(|e| e.stored_bytes))
        .and_then(|(phase, stored)| (phase.duration_secs > 0.0).then(|| stored as f64 / 1e6 / phase.duration_secs));
    let ratio = |num: Option<f64>, den: Option<f64>| num.zip(den.filter(|d| *d > 0.0)).map(|(n, d)| n / d);
    // The memory target is about the backup; restore's footprint is reported per phase.
    let peak_rss = backup_engine.map(|e| e.peak_rss_bytes);
    // Prefer the engine's own ratio; fall back to payload / stored bytes.
    let compression = backup_engine.and_then(|e| {
        let stored = e.stored_bytes.map(|s| s as f64);
        e.compression_ratio.or_else(|| ratio(backup.map(|b| b.bytes as f64), stored))
    });
    let mut cpu_per_gb = backup.zip(backup_engine).and_then(|(phase, engine)| {
        let cpu = engine.cpu_user_secs + engine.cpu_sys_secs;
        ratio(Some(cpu), Some(phase.bytes as f64 / 1e9))
    });
    let mut peak_rss_mb = peak_rss.map(|b| b as f64 / 1e6);
    let mut checkpoint_p99 = backup_engine.and_then(|e| e.checkpoint_latency_ms).map(|l| l.p99);
    if let Some(c) = continuous {
        // Under steady load, from the instances' own samples; checkpoint latency from the
        // merged histogram of every instance.
        let steady = c.steady_cost();
        cpu_per_gb = steady.map(|(cpu, _)| cpu);
        peak_rss_mb = steady.map(|(_, rss)| rss as f64 / 1e6);
        checkpoint_p99 = c.checkpoint_p99_ms();
    }
    let candidates = [
        (Metric::BackupMbS, backup.map(|b| b.mb_s)),
        (Metric::BackupMbSPerPartition, ratio(backup.map(|b| b.mb_s), Some(f64::from(partitions)))),
        (Metric::RestoreMbS, restore.map(|r| r.mb_s)),
        (Metric::RestoreSecondsPerGib, restore.and_then(|r| ratio(Some(r.duration_secs), Some(r.bytes as f64 / GIB)))),
        (Metric::CheckpointP99Ms, checkpoint_p99),
        (Metric::PeakRssMb, peak_rss_mb),
        (Metric::CompressionRatio, compression),
        (Metric::EfficiencyBackup, ratio(backup.map(|b| b.mb_s), raw_consume)),
        (Metric::EfficiencyRestore, ratio(restore.map(|r| r.mb_s), raw_produce)),
        (Metric::CpuSecondsPerGb, cpu_per_gb),
        (Metric::RawConsumeMbS, raw_consume),
        (Metric::RawProduceMbS, raw_produce),
        (Metric::RawPutMbS, raw_put),
        (Metric::EfficiencyStorage, ratio(stored_mb_s, raw_put)),
    ];
    let exactly_once = sample.phase(Phase::ExactlyOnce).and_then(|p| p.exactly_once.as_ref());
    let counts = [
        (Metric::LostRecords, exactly_once.map(|c| c.lost as f64)),
        (Metric::DuplicatedRecords, exactly_once.map(|c| c.duplicated as f64)),
    ];
    let pitr = sample.phase(Phase::Pitr).and_then(|p| p.pitr.as_ref()).map_or_else(Vec::new, pitr_metrics);
    (candidates.into_iter().chain(continuous.map_or_else(Vec::new, continuous_metrics)).chain(counts).chain(pitr))
        .filter_map(|(metric, value)| value.filter(|v| v.is_finite()).map(|v| (metric, v)))
        .collect()
}

/// The figures only a continuous phase has: lag, recovery point, rebalance pauses.
fn continuous_metrics(c: &ContinuousObserved) -> Vec<(Metric, Option<f64>)> {
    let (lag50, lag99, lag_max) = p50_p99_max(&c.lag_mb());
    let (rp50, rp99, rp_max) = p50_p99_max(&c.recovery_points());
    vec![
        (Metric::LagMbP50, lag50),
        (Metric::LagMbP99, lag99),
        (Metric::LagMbMax, lag_max),
        (Metric::RecoveryPointP50S, rp50),
        (Metric::RecoveryPointP99S, rp99),
        (Metric::RecoveryPointMaxS, rp_max),
        (Metric::RebalancePauseMaxS, c.graceful_stall_max()),
    ]
}

/// The figures of a `pitr` phase: the windowed restore's read and selected fractions and MB/s,
/// and the mismatches of every restore it ran.
fn pitr_metrics(p: &PitrObserved) -> Vec<(Metric, Option<f64>)> {
    let window = p.restore(PitrKind::Window);
    vec![
        (Metric::PitrReadFraction, window.and_then(PitrRestore::read_fraction)),
        (Metric::PitrSelectedFraction, window.and_then(PitrRestore::selected_fraction)),
        (Metric::PitrMismatchedRecords, (!p.restores.is_empty()).then(|| p.mismatched_records() as f64)),
        (Metric::PitrRestoreMbS, window.map(PitrRestore::mb_s)),
    ]
}

/// Per metric name, its value in each sample that measured it (in sample order).
pub fn derive_metrics(samples: &[Sample], partitions: u32) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for sample in samples {
        for (metric, value) in sample_metrics(sample, partitions) {
            out.entry(metric.as_str().to_owned()).or_default().push(value);
        }
    }
    out
}

/// Summaries of derived metrics; metrics with no finite value are left out.
pub fn summarize(metrics: &BTreeMap<String, Vec<f64>>) -> BTreeMap<String, Summary> {
    (metrics.iter()).filter_map(|(name, values)| Summary::of(values).map(|s| (name.clone(), s))).collect()
}

/// Checks each target against the median of its metric. An unmeasured metric fails its
/// target: a run that could not measure what it promised has not shown it.
pub fn evaluate_targets(targets: &[Target], stats: &BTreeMap<String, Summary>) -> Vec<TargetResult> {
    (targets.iter())
        .map(|target| {
            let observed = stats.get(target.metric.as_str()).map(|s| s.median);
            TargetResult {
                metric: target.metric.as_str().to_owned(),
                expression: target.expression(),
                observed,
                met: observed.is_some_and(|v| target.is_met(v)),
            }
        })
        .collect()
}

impl PointResult {
    /// Summarises `samples` of `point`: stats, target verdicts, efficiency and pass/fail.
    pub fn from_samples(point: &PlanPoint, samples: Vec<Sample>) -> PointResult {
        let stats = summarize(&derive_metrics(&samples, point.workload.partitions));
        let targets = evaluate_targets(&point.targets, &stats);
        let median = |m: Metric| stats.get(m.as_str()).map(|s| s.median);
        let efficiency =
            Efficiency { backup: median(Metric::EfficiencyBackup), restore: median(Metric::EfficiencyRestore) };
        let verified = (samples.iter()).all(|s| !s.verification.checked || s.verification.passed);
        let passed = !samples.is_empty() && verified && targets.iter().all(|t| t.met);
        PointResult {
            label: point.label.clone(),
            parameters: point.parameters.clone(),
            samples,
            stats,
            targets,
            efficiency,
            passed,
        }
    }

    /// Noisy metrics (those with targets, plus the headline throughputs) and targets
    /// whose metric was never measured.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut watched: Vec<String> = vec![Metric::BackupMbS.to_string(), Metric::RestoreMbS.to_string()];
        // Per-partition throughput is backup throughput scaled: same CV, same warning.
        let scaled = Metric::BackupMbSPerPartition.as_str();
        watched.extend(self.targets.iter().map(|t| t.metric.clone()).filter(|m| m != scaled));
        let noisy = (self.stats.iter())
            .filter(|(name, s)| watched.contains(name) && s.n >= 2 && s.cv > NOISY_CV_THRESHOLD)
            .map(|(name, s)| Warning::NoisyRun {
                point: self.label.clone(),
                metric: name.clone(),
                cv: s.cv,
                threshold: NOISY_CV_THRESHOLD,
            });
        let missing = (self.targets.iter())
            .filter(|t| t.observed.is_none())
            .map(|t| Warning::MissingMetric { point: self.label.clone(), metric: t.metric.clone() });
        noisy.chain(missing).collect()
    }
}

impl Report {
    /// An empty report for `plan`, to be filled point by point with [`Report::set_point`].
    pub fn new(plan: &ScenarioPlan, environment: Environment, started_at: String) -> Report {
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            scenario: ScenarioInfo { name: plan.name.clone(), profile: plan.profile, plan: plan.clone() },
            environment,
            started_at,
            points: Vec::new(),
            warnings: Vec::new(),
            passed: false,
        };
        report.refresh();
        report
    }

    /// Adds or replaces the result for a point (matched by label) and refreshes the
    /// report-level verdict and warnings; call after every repeat so a crash still
    /// leaves a consistent report.
    pub fn set_point(&mut self, result: PointResult) {
        match self.points.iter_mut().find(|p| p.label == result.label) {
            Some(existing) => *existing = result,
            None => self.points.push(result),
        }
        self.refresh();
    }

    /// Recomputes `passed` and the derived warnings, keeping warnings added by the runner.
    pub fn refresh(&mut self) {
        let plan = &self.scenario.plan;
        let derived = |w: &Warning| {
            matches!(w, Warning::NoisyRun { .. } | Warning::MissingMetric { .. } | Warning::FewRepeats { .. })
                || plan.warnings.contains(w)
        };
        self.warnings.retain(|w| !derived(w));
        let mut warnings = plan.warnings.clone();
        if plan.repeat < RECOMMENDED_REPEATS && plan.profile != Profile::Quick {
            warnings.push(Warning::FewRepeats { repeats: plan.repeat, recommended: RECOMMENDED_REPEATS });
        }
        warnings.extend(self.points.iter().flat_map(PointResult::warnings));
        warnings.append(&mut self.warnings);
        self.warnings = warnings;
        let all_ran = plan.points.iter().all(|p| self.points.iter().any(|r| r.label == p.label));
        self.passed = all_ran && self.points.iter().all(|p| p.passed);
    }
}
