//! Caveats a plan carries: infeasibility, weak inputs (quick profile, few repeats,
//! noise), and where the plan leans on the edge of what was measured.

use super::input::MeasuredFile;
use super::model::{BoundKind, CapacityPlan, Source};
use crate::scenario::Metric;
use crate::warning::NOISY_CV_THRESHOLD;

/// The plan's caveats, most severe first. `measured` is (backup partition counts
/// measured, smallest of them).
pub(super) fn warnings(
    plan: &CapacityPlan,
    measured: (usize, u32),
    inputs: &[MeasuredFile],
    sources: &[Source],
) -> Vec<String> {
    let mut out = Vec::new();
    if !plan.feasible {
        let zero: Vec<&str> = plan.bounds.iter().filter(|b| b.max_partitions == 0).map(|b| b.kind.name()).collect();
        out.push(format!(
            "NOT FEASIBLE: even one partition per instance breaks the {} limit at {:.2} MB/s per partition with {:.0}% headroom; \
             the plan below assumes one partition per instance and will fall behind",
            zero.join(" and "),
            plan.per_partition_mb_s,
            plan.request.headroom * 100.0
        ));
    }
    for file in inputs.iter().filter(|f| f.profile.as_deref() == Some("quick")) {
        out.push(format!("{} is a quick-profile run (smoke-test volumes, one repeat): plan from a standard or full run before deploying", file.path));
    }
    let few: Vec<&Source> = sources.iter().filter(|s| s.n < 3).collect();
    if let Some(min_n) = few.iter().map(|s| s.n).min() {
        out.push(format!(
            "{} of {} measurements used have fewer than 3 repeats (smallest n = {min_n}): medians without a spread to \
             trust; rerun with --repeat 3 or the standard profile",
            few.len(),
            sources.len()
        ));
    }
    let noisy = inputs.iter().flat_map(|f| &f.points).filter_map(|p| {
        let s = p.stats.get(Metric::BackupMbS.as_str())?;
        (s.n >= 2 && s.cv > NOISY_CV_THRESHOLD).then(|| format!("{} (CV {:.0}%)", p.label, s.cv * 100.0))
    });
    let noisy: Vec<String> = noisy.collect();
    if !noisy.is_empty() {
        out.push(format!("backup MB/s is noisy at {}: rerun on a quieter machine", noisy.join(", ")));
    }
    if measured.0 == 1 {
        out.push(format!(
            "backup throughput was measured at {} partitions only: no scaling curve, instances are capped there",
            measured.1
        ));
    }
    if plan.partitions_per_instance < measured.1 {
        out.push(format!("{} partitions per instance is below the smallest measured count ({}): its throughput is that point's per-partition rate scaled down", plan.partitions_per_instance, measured.1));
    }
    if let Some(rto) = &plan.rto.as_ref().filter(|r| r.measured_partitions != plan.request.partitions) {
        out.push(format!(
            "restore was measured with {} partitions, not {}: the RTO assumes one restore at that measured rate",
            rto.measured_partitions, plan.request.partitions
        ));
    }
    if plan.binding == BoundKind::MeasuredRange {
        out.push(format!("the largest measured partition count ({}) binds: measure more partitions per instance to plan fewer, larger instances", plan.partitions_per_instance));
    }
    out
}
