//! Pure exporters of a [`CompareReport`]: a Markdown table for people (CI logs, PR
//! comments) and pretty JSON for machines. Neither touches the file system.

use super::{CompareReport, MetricComparison, Verdict};
use crate::report::num;
use std::fmt::Write;

/// Pretty JSON of the comparison, newline-terminated.
pub fn compare_json(report: &CompareReport) -> serde_json::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(report)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Regressed => "❌ regressed",
        Verdict::Improved => "🚀 improved",
        Verdict::Unchanged => "✅ unchanged",
        Verdict::NotGated => "– not gated",
        Verdict::Missing => "❌ missing",
    }
}

fn signed_pct(x: f64) -> String {
    format!("{x:+.1}%")
}

fn table_row(out: &mut String, r: &MetricComparison) {
    let median = |s: Option<crate::stats::Summary>| s.map_or_else(|| "–".to_owned(), |s| num(s.median));
    let change = r.change_pct.map_or_else(|| "–".to_owned(), signed_pct);
    let interval = match (r.change_low_pct, r.change_high_pct) {
        (Some(lo), Some(hi)) => format!("{} … {}", signed_pct(lo), signed_pct(hi)),
        _ => "–".to_owned(),
    };
    let better = if r.higher_is_better { "↑" } else { "↓" };
    let tolerance = r.tolerance_pct.map_or_else(|| "–".to_owned(), |t| format!("{t}%"));
    let reason = if r.reason.is_empty() { String::new() } else { format!(" ({})", r.reason) };
    let _ = writeln!(
        out,
        "| {} | {} {better} ({}) | {} | {} | {change} | {interval} | {tolerance} | {}{reason} |",
        r.point,
        r.metric,
        r.unit,
        median(r.baseline),
        median(r.new),
        verdict(r.verdict)
    );
}

/// GitHub-flavoured Markdown: verdict, both runs, a machine warning, the table, notes.
pub fn compare_markdown(report: &CompareReport) -> String {
    let mut out = String::new();
    let failed = report.rows.iter().filter(|r| r.verdict.fails()).count();
    let gated = report.rows.iter().filter(|r| r.tolerance_pct.is_some()).count();
    let headline = if report.regressed {
        format!("❌ REGRESSED — {failed} of {gated} gated metrics failed")
    } else {
        format!("✅ no regression — {gated} gated metrics within tolerance or better")
    };
    let _ = writeln!(out, "# Gate: {} (profile {}) — {headline}\n", report.scenario, report.profile);
    let (b, n) = (&report.baseline, &report.new);
    let _ = writeln!(out, "- Baseline: kbackup `{}`, measured {}", b.git_sha, b.started_at);
    let _ = writeln!(out, "- New run:  kbackup `{}`, measured {}", n.git_sha, n.started_at);
    let env = &n.environment;
    let _ = writeln!(out, "- Machine: {} ({} cores)\n", env.cpu_model, env.cores);
    if !report.same_machine {
        let _ = writeln!(
            out,
            "> **⚠️ DIFFERENT MACHINE** ({}). Absolute throughput, latency and CPU figures are \
             not comparable across machines: only efficiency, compression ratio and peak RSS \
             are gated; the rest is shown for information.\n",
            report.machine_differences.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "| Point | Metric | Baseline median | New median | Change | Change interval | Tolerance | Verdict |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|---:|---|");
    for row in &report.rows {
        table_row(&mut out, row);
    }
    let _ = writeln!(
        out,
        "\n↑ higher is better, ↓ lower is better. Change interval: every ratio of a value in \
         the new 95% CI of the median to one in the baseline's (conservative). Regressed only \
         when the whole interval lies beyond the tolerance in the worse direction."
    );
    if !report.notes.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}
