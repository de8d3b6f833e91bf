//! The command-line side of baselines: `harness baseline save` writes a report's statistics
//! as its scenario's baseline, and `harness compare` gates a report against one.

use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Save a report's statistics as the baseline of its scenario and profile
/// (`<dir>/<scenario>/<profile>.json`), to be committed and compared against.
#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    action: BaselineAction,
}

#[derive(Debug, clap::Subcommand)]
enum BaselineAction {
    /// Write `<dir>/<scenario>/<profile>.json` from a report: the statistics per point
    /// and metric (no samples), the machine fingerprint, the kbackup git sha and dates.
    /// Refuses reports whose verification failed or that did not run every point.
    #[command(
        after_help = "Example:\n  harness baseline save reports/quick/2026-01-31T12-00-00Z && git add baselines/"
    )]
    Save {
        /// A report directory or its report.json.
        report: PathBuf,
        /// Directory of the baselines.
        #[arg(long, value_name = "DIR", default_value = "baselines")]
        dir: PathBuf,
    },
}

/// Compare a report with its baseline; exit 1 when a gated metric regressed.
///
/// For each matrix point and metric: both medians, the change in percent, the
/// interval of the change (from both 95% confidence intervals of the median, taken
/// conservatively) and a verdict. A metric regresses only when its whole change
/// interval lies beyond its tolerance in the scenario's `gate:` block, in the
/// metric's worse direction. On another machine (CPU model, cores or memory differ)
/// only efficiency, compression ratio and peak RSS are gated.
///
/// Exit codes: 0 no regression, 1 a gated metric regressed or was not measured,
/// 2 tool error (missing or unreadable baseline, scenario/profile or schema mismatch).
// Help text, not HTML: `<NAME>` is how clap writes placeholders.
#[allow(rustdoc::invalid_html_tags)]
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    harness compare reports/quick/2026-01-31T12-00-00Z\n  \
    harness compare reports/quick/2026-01-31T12-00-00Z --baseline old.json --json\n  \
    harness compare REPORT_DIR --out REPORT_DIR   # also writes compare.md and compare.json")]
pub struct CompareArgs {
    /// The new run: a report directory or its report.json (a baseline file works too).
    report: PathBuf,
    /// The baseline. Default: <baselines dir>/<scenario>/<profile>.json.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Directory of the committed baselines.
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    dir: PathBuf,
    /// Print JSON instead of the Markdown table.
    #[arg(long)]
    json: bool,
    /// Also write compare.md and compare.json into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Runs `harness baseline`.
pub fn run(out: &mut impl Write, args: BaselineArgs) -> Result<ExitCode> {
    match args.action {
        BaselineAction::Save { report, dir } => save(out, &report, &dir),
    }
}

fn save(out: &mut impl Write, report: &Path, dir: &Path) -> Result<ExitCode> {
    let report = super::read_report(report)?;
    let saved_at = crate::report::rfc3339_utc(std::time::SystemTime::now());
    let saved = super::Baseline::from_report(&report, saved_at)?;
    let path = super::default_path(dir, &saved.scenario.name, saved.scenario.profile);
    let mut bytes = serde_json::to_vec_pretty(&saved)?;
    bytes.push(b'\n');
    super::write_file(&path, &bytes)?;
    let repeats = report.scenario.plan.repeat;
    if repeats < crate::warning::RECOMMENDED_REPEATS {
        eprintln!("warning: {repeats} repeat(s) per point: comparisons against this baseline will be coarse");
    }
    if !report.passed {
        eprintln!("warning: the run missed some targets; saved anyway (its integrity checks passed)");
    }
    writeln!(out, "{}", path.display())?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `harness compare`: exit 1 when a gated metric regressed.
pub fn compare(out: &mut impl Write, args: CompareArgs) -> Result<ExitCode> {
    let new = super::read_statistics(&args.report)?;
    let base_path =
        args.baseline.unwrap_or_else(|| super::default_path(&args.dir, &new.scenario.name, new.scenario.profile));
    let base: super::Statistics = super::read_baseline(&base_path)?.into();
    let result = super::compare(&new, &base, &new.scenario.plan.gate)?;
    let markdown = super::compare_markdown(&result);
    let json_bytes = super::compare_json(&result)?;
    if let Some(dir) = &args.out {
        super::write_file(&dir.join("compare.md"), markdown.as_bytes())?;
        super::write_file(&dir.join("compare.json"), &json_bytes)?;
    }
    if args.json {
        out.write_all(&json_bytes)?
    } else {
        out.write_all(markdown.as_bytes())?
    }
    Ok(if result.regressed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
