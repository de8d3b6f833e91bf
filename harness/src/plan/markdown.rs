//! `plan.md`: the plan for people — the answer first, then the measured scaling, the
//! limits, the derivation table with its sources, the Kubernetes YAML and caveats.

use super::Result;
use super::compute::{format_duration, human_bytes};
use super::kube::render_sized;
use super::model::{BudgetOrigin, CapacityPlan, MemoryModel};
use std::fmt::Write;

/// Renders the whole plan as GitHub-flavoured Markdown.
pub fn render_markdown(plan: &CapacityPlan) -> Result<String> {
    let mut out = String::new();
    summary(&mut out, plan);
    request(&mut out, plan);
    scaling(&mut out, plan);
    limits(&mut out, plan);
    derivation(&mut out, plan);
    sources(&mut out, plan);
    let _ = writeln!(
        out,
        "## Kubernetes\n\nThe sized objects; `kubernetes.yaml` has all of them (ConfigMap, Deployment, Service, \
         ServiceMonitor, PodDisruptionBudget, HPA) and `prometheus-adapter-rules.yaml` the HPA's metric rule, \
         as in `deploy/kubernetes/`.\n\n```yaml\n{}```\n",
        render_sized(plan)?
    );
    warnings(&mut out, plan);
    Ok(out)
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

fn origin(o: &BudgetOrigin, flag: &str) -> String {
    match o {
        BudgetOrigin::Flag => format!("from {flag}"),
        BudgetOrigin::MeasuringMachine(file) => format!("the measuring machine's, recorded in `{file}`; set {flag}"),
    }
}

fn summary(out: &mut String, plan: &CapacityPlan) {
    let r = &plan.request;
    let _ = writeln!(out, "# Capacity plan: {} MB/s over {} partitions\n", r.throughput_mb_s, r.partitions);
    let verdict = if plan.feasible { "✅" } else { "❌ NOT FEASIBLE —" };
    let rto = plan.rto.as_ref().map_or(String::new(), |rto| {
        format!(" · restore of {} in {}", human_bytes(rto.restore_bytes), format_duration(rto.seconds))
    });
    let _ = writeln!(
        out,
        "**{verdict} {} instances × ≤ {} partitions** (binding limit: {}) · {}m CPU / {}Mi memory requested per instance{rto}\n",
        plan.instances,
        plan.partitions_per_instance,
        plan.binding.name(),
        plan.resources.cpu_request_millis,
        plan.resources.memory_request_mib,
    );
}

fn request(out: &mut String, plan: &CapacityPlan) {
    let r = &plan.request;
    let b = &plan.budget;
    let _ = writeln!(out, "## Request\n\n| | |\n|---|---|");
    let _ = writeln!(
        out,
        "| Throughput | {} MB/s ({:.2} MB/s per partition) |",
        r.throughput_mb_s, plan.per_partition_mb_s
    );
    let _ = writeln!(out, "| Partitions | {} |", r.partitions);
    let _ = writeln!(
        out,
        "| Headroom | {:.0}% (instances planned at ≤ {:.0}% of measured capacity) |",
        r.headroom * 100.0,
        r.usable_fraction() * 100.0
    );
    let _ =
        writeln!(out, "| CPU per instance | {} cores ({}) |", b.cpu_cores, origin(&b.cpu_origin, "--cpu-per-instance"));
    let _ = writeln!(
        out,
        "| Memory per instance | {} ({}) |",
        human_bytes(b.memory_bytes),
        origin(&b.memory_origin, "--memory-per-instance")
    );
    if let Some(bytes) = r.restore_bytes {
        let _ = writeln!(out, "| Restore size | {} |", human_bytes(bytes));
    }
    out.push('\n');
}

fn scaling(out: &mut String, plan: &CapacityPlan) {
    let _ = writeln!(out, "## Measured scaling\n");
    let _ = writeln!(
        out,
        "| Partitions | Backup MB/s | Per partition MB/s | Scaling vs linear | CPU-s/GB | Peak RSS MB | Restore MB/s | n |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in &plan.scaling {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.partitions,
            opt(s.backup_mb_s, 2),
            opt(s.per_partition_mb_s, 2),
            opt(s.scaling_efficiency, 2),
            opt(s.cpu_seconds_per_gb, 2),
            opt(s.peak_rss_mb, 1),
            opt(s.restore_mb_s, 2),
            s.n
        );
    }
    let memory = match plan.memory_model {
        MemoryModel::LinearFit { base_mb, per_partition_mb } => {
            format!(
                "fitted over the measured partition counts: {base_mb:.1} MB + {per_partition_mb:.2} MB per partition (raised so no measured point lies above the line)"
            )
        }
        MemoryModel::SinglePointScaled { partitions, peak_rss_mb } => format!(
            "one partition count measured, so {peak_rss_mb:.1} MB ÷ {partitions} = {:.2} MB per partition, and never below {peak_rss_mb:.1} MB",
            peak_rss_mb / f64::from(partitions)
        ),
    };
    let _ = writeln!(out, "\nPeak RSS model: {memory}.\n");
}

fn limits(out: &mut String, plan: &CapacityPlan) {
    let _ = writeln!(out, "## Limits per instance\n");
    let _ = writeln!(out, "| Limit | Max partitions | MB/s at that | Rule |\n|---|---:|---:|---|");
    for b in &plan.bounds {
        let max = if b.open { format!("≥ {}", b.max_partitions) } else { b.max_partitions.to_string() };
        let mark = if b.kind == plan.binding { " **(binds)**" } else { "" };
        let _ = writeln!(out, "| {}{mark} | {max} | {} | {} |", b.kind.name(), opt(b.capacity_mb_s, 2), b.rule);
    }
    out.push('\n');
}

fn derivation(out: &mut String, plan: &CapacityPlan) {
    let _ = writeln!(out, "## Plan\n\n| Quantity | Value | How | Measured from |\n|---|---:|---|---|");
    for row in &plan.rows {
        let refs: Vec<String> = row.sources.iter().map(|i| format!("[{}]", i + 1)).collect();
        let refs = if refs.is_empty() { "–".to_owned() } else { refs.join(" ") };
        let _ = writeln!(out, "| {} | {} | {} | {refs} |", row.quantity, row.value, row.how);
    }
    out.push('\n');
}

fn sources(out: &mut String, plan: &CapacityPlan) {
    let _ = writeln!(
        out,
        "## Measurements used\n\n| # | File | Scenario | Point | Metric | Median | n |\n|---:|---|---|---|---|---:|---:|"
    );
    for (i, s) in plan.sources.iter().enumerate() {
        let _ = writeln!(
            out,
            "| [{}] | `{}` | {} | {} | {} | {:.3} | {} |",
            i + 1,
            s.file,
            s.scenario,
            s.point,
            s.metric,
            s.median,
            s.n
        );
    }
    out.push('\n');
}

fn warnings(out: &mut String, plan: &CapacityPlan) {
    let _ = writeln!(out, "## Warnings\n");
    if plan.warnings.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "- {w}");
    }
}
