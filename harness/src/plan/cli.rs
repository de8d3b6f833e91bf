//! `harness plan`: the command-line side of capacity planning — its flags, and the run
//! that reads the measured inputs, computes, writes and prints the plan. The rest of
//! `plan/` stays free of clap and anyhow.

use super::{PlanRequest, RequestText};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

/// Size a kbackup deployment from measured results.
///
/// Reads the per-point statistics of report.json files (`harness scenario`) or
/// baselines, and derives per-instance sustainable MB/s and partitions from measured
/// backup throughput and its scaling, CPU-seconds per GB and peak RSS — saying which
/// limit binds — then instances with headroom, CPU and memory requests/limits, the
/// Kubernetes manifests of deploy/kubernetes sized by them (continuous Deployment, HPA on
/// kafka_backup_lag_bytes, PodDisruptionBudget, ...), and the restore time for
/// --restore-size. Nothing is assumed: a metric the inputs lack is an error naming it.
///
/// Writes plan.md, plan.json, plan.svg, kubernetes.yaml and prometheus-adapter-rules.yaml,
/// and prints plan.md (or plan.json with --json). Exit 0: the load fits; 1: it does not
/// fit even one partition per instance; 2: error (nothing measured, missing metric, bad flag).
// Help text, not HTML: `<NAME>` is how clap writes placeholders.
#[allow(rustdoc::invalid_html_tags)]
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  harness scenario partition-scaling --profile standard
  harness plan --throughput 200MB/s --partitions 48 --restore-size 500GiB
  harness plan --throughput 50MiB/s --partitions 12 --headroom 40% \\
      --from reports/partition-scaling/2025-01-31T12-00-00Z/report.json \\
      --from reports/restore-speed/2025-01-31T13-00-00Z/report.json \\
      --cpu-per-instance 1 --memory-per-instance 1GiB")]
pub struct PlanArgs {
    /// Sustained backup throughput over all partitions, e.g. 200MB/s (MB = 10^6 bytes)
    /// or 64MiB/s; assumed spread evenly over the partitions.
    #[arg(long, value_name = "RATE")]
    throughput: String,
    /// Partitions to back up.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    partitions: u32,
    /// Size of a full restore, for the restore time (RTO), e.g. 500GiB. Needs measured
    /// restore_mb_s.
    #[arg(long, value_name = "SIZE")]
    restore_size: Option<String>,
    /// Share of each instance's measured capacity kept free for bursts and catching up:
    /// 30% plans instances at no more than 70% of what was measured.
    #[arg(long, value_name = "PERCENT", default_value = "30%")]
    headroom: String,
    /// A report.json or baseline with measured points; repeat to combine files (at the
    /// same partition count the earlier file wins). Default: the newest
    /// <reports-dir>/partition-scaling/*/report.json, else
    /// <baselines-dir>/partition-scaling/{full,standard,quick}.json.
    #[arg(long = "from", value_name = "FILE")]
    from: Vec<PathBuf>,
    /// CPU cores one instance may use, e.g. 2 or 0.5. Default: the cores of the machine
    /// the inputs were measured on (planning bigger pods would extrapolate).
    #[arg(long, value_name = "CORES")]
    cpu_per_instance: Option<String>,
    /// Memory one instance may use, e.g. 2GiB. Default: the measuring machine's memory.
    #[arg(long, value_name = "SIZE")]
    memory_per_instance: Option<String>,
    /// The autoscaler adds pods when a pod's average lag exceeds what its spare capacity
    /// drains in this time.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    lag_drain: String,
    /// Directory for the outputs. Default: <reports-dir>/plan/<UTC time>/.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print plan.json instead of plan.md.
    #[arg(long)]
    json: bool,
    /// Where `harness scenario` wrote its reports (searched when no --from is given).
    #[arg(long, value_name = "DIR", default_value = "reports")]
    reports_dir: PathBuf,
    /// Where committed baselines live (searched when no report is found).
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines_dir: PathBuf,
}

/// Runs `harness plan`.
pub fn run(out: &mut impl Write, args: PlanArgs) -> Result<ExitCode> {
    let request = PlanRequest::parse(&RequestText {
        throughput: &args.throughput,
        partitions: args.partitions,
        restore_size: args.restore_size.as_deref(),
        headroom: &args.headroom,
        cpu_per_instance: args.cpu_per_instance.as_deref(),
        memory_per_instance: args.memory_per_instance.as_deref(),
        lag_drain: &args.lag_drain,
    })?;
    let files = match args.from.is_empty() {
        true => vec![super::find_default_input(&args.reports_dir, &args.baselines_dir)?],
        false => args.from,
    };
    let inputs = files.iter().map(|f| super::load_measured(f)).collect::<Result<Vec<_>, _>>()?;
    for f in &files {
        eprintln!("measured input: {}", f.display());
    }
    let capacity = super::compute(&request, &inputs)?;
    let dir =
        args.out.unwrap_or_else(|| args.reports_dir.join("plan").join(crate::report::utc_timestamp(SystemTime::now())));
    super::write_plan(&dir, &capacity).with_context(|| format!("writing the plan to {}", dir.display()))?;
    let text = if args.json { super::render_json(&capacity)? } else { super::render_markdown(&capacity)? };
    write!(out, "{text}")?;
    eprintln!("plan written to {}", dir.display());
    Ok(if capacity.feasible { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
