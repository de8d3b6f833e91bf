//! `report.md`: the human summary — verdict, environment, targets, efficiency, one
//! statistics table per matrix point, verification and warnings.

use super::format::{environment, num, opt_num};
use super::{Exporter, PointResult, Report, Result};
use crate::scenario::Metric;
use std::fmt::Write;

/// GitHub-flavoured Markdown summary of a [`Report`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut out = String::new();
        header(&mut out, report);
        environment(&mut out, report);
        plan(&mut out, report);
        targets(&mut out, report);
        efficiency(&mut out, report);
        super::wan::markdown(&mut out, report);
        super::continuous_md::markdown(&mut out, report);
        super::pitr::markdown(&mut out, report);
        results(&mut out, report);
        warnings(&mut out, report);
        Ok(out.into_bytes())
    }

    fn file_name(&self) -> &str {
        "report.md"
    }
}

/// Metric names in report order: known metrics first, then any others alphabetically.
fn metric_order<'a>(names: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let rank = |n: &str| {
        Metric::from_name(n).map_or(usize::MAX, |m| Metric::ALL.iter().position(|x| *x == m).unwrap_or(usize::MAX))
    };
    let mut names: Vec<&String> = names.collect();
    names.sort_by_key(|n| (rank(n), n.to_string()));
    names
}

fn header(out: &mut String, report: &Report) {
    let plan = &report.scenario.plan;
    let _ = writeln!(out, "# {} — profile {}\n", report.scenario.name, report.scenario.profile);
    let _ = writeln!(out, "{}\n", plan.description);
    let all: Vec<_> = report.points.iter().flat_map(|p| &p.targets).collect();
    let met = all.iter().filter(|t| t.met).count();
    let verdict = if report.passed { "✅ PASSED" } else { "❌ FAILED" };
    let ran = format!("{} of {} points ran", report.points.len(), plan.points.len());
    let _ = writeln!(out, "**Result: {verdict}** — {met} of {} targets met · {ran}\n", all.len());
}

fn plan(out: &mut String, report: &Report) {
    let plan = &report.scenario.plan;
    let phases: Vec<&str> = plan.phases.iter().map(|p| p.as_str()).collect();
    let _ = writeln!(out, "## Plan\n");
    let _ = writeln!(out, "- Repeats per point: {}", plan.repeat);
    let _ = writeln!(out, "- Phases: {}", phases.join(" → "));
    for axis in &plan.matrix {
        let values: Vec<String> = axis.values.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "- Matrix: `{}` = {}", axis.key, values.join(", "));
    }
    for rule in &plan.gate {
        let _ = writeln!(out, "- Gate: `{}` may get worse by at most {}%", rule.metric, rule.tolerance_pct);
    }
    out.push('\n');
}

fn targets(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Targets\n");
    if report.points.iter().all(|p| p.targets.is_empty()) {
        let _ = writeln!(out, "No targets.\n");
        return;
    }
    let _ = writeln!(out, "| Point | Metric | Target | Observed (median) | Result |\n|---|---|---|---:|---|");
    for point in &report.points {
        for t in &point.targets {
            let result = if t.met { "✅ met" } else { "❌ missed" };
            let observed = opt_num(t.observed);
            let _ = writeln!(out, "| {} | {} | {} | {observed} | {result} |", point.label, t.metric, t.expression);
        }
    }
    out.push('\n');
}

fn efficiency(out: &mut String, report: &Report) {
    let has_any = |p: &PointResult| p.efficiency.backup.is_some() || p.efficiency.restore.is_some();
    if !report.points.iter().any(has_any) {
        return;
    }
    let _ = writeln!(out, "## Efficiency\n");
    let _ = writeln!(out, "Engine throughput relative to a bare Kafka client on the same data (1.00 = as fast).\n");
    let _ = writeln!(out, "| Point | Backup / raw consume | Restore / raw produce |\n|---|---:|---:|");
    for p in &report.points {
        let (b, r) = (opt_num(p.efficiency.backup), opt_num(p.efficiency.restore));
        let _ = writeln!(out, "| {} | {b} | {r} |", p.label);
    }
    out.push('\n');
}

fn verification(point: &PointResult) -> String {
    let checked: Vec<_> = point.samples.iter().filter(|s| s.verification.checked).collect();
    if checked.is_empty() {
        return "Verification: not checked.".to_owned();
    }
    let failed: Vec<String> = (checked.iter())
        .filter(|s| !s.verification.passed)
        .map(|s| format!("repeat {}: {}", s.repeat, s.verification.detail))
        .collect();
    match failed.is_empty() {
        true => format!("Verification: ✅ passed in {} of {} samples.", checked.len(), point.samples.len()),
        false => format!("Verification: ❌ failed ({}).", failed.join("; ")),
    }
}

fn point_table(out: &mut String, point: &PointResult) {
    let _ = writeln!(out, "### {}\n", point.label);
    if point.stats.is_empty() {
        let _ = writeln!(out, "No measurements yet.\n");
        return;
    }
    let _ = writeln!(out, "| Metric | Median | Min | Max | CV | 95% CI of median | n |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---:|");
    for name in metric_order(point.stats.keys()) {
        let s = &point.stats[name];
        let unit = Metric::from_name(name).map_or(String::new(), |m| format!(" ({})", m.unit()));
        let (median, min, max) = (num(s.median), num(s.min), num(s.max));
        let (cv, ci) = (format!("{:.1}%", s.cv * 100.0), format!("{} – {}", num(s.ci_low), num(s.ci_high)));
        let _ = writeln!(out, "| {name}{unit} | {median} | {min} | {max} | {cv} | {ci} | {} |", s.n);
    }
    let _ = writeln!(out, "\n{}\n", verification(point));
}

fn results(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Results per point\n");
    if report.points.is_empty() {
        let _ = writeln!(out, "No point has run yet.\n");
    }
    for point in &report.points {
        point_table(out, point);
    }
}

fn warnings(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Warnings\n");
    if report.warnings.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for w in &report.warnings {
        let _ = writeln!(out, "- {w}");
    }
}
