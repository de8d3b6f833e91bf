//! From measurements and a request to a [`CapacityPlan`]: pure arithmetic, every figure
//! traceable to the medians it came from.
//!
//! The model: the load is spread evenly, `d = throughput / partitions` MB/s per
//! partition. An instance with `k` partitions carries `k · d` and may use only
//! `1 − headroom` of what was measured, so `k` is the largest count for which
//! (1) measured backup MB/s at `k` partitions, (2) the CPU budget at the measured
//! CPU-seconds per GB, and (3) the memory budget against the predicted peak RSS all
//! still cover it — and never more than the largest partition count measured.

use super::caveats::warnings;
use super::fit::least_squares;
use super::input::MeasuredFile;
use super::model::*;
use super::request::PlanRequest;
use super::series::{Series, Sources};
use super::{PlanError, Result};
use crate::scenario::Metric;
use crate::scenario::units::format_bytes;

/// Measured backup MB/s at `k` partitions. Below the smallest measured count the
/// smallest point's per-partition rate is scaled down proportionally.
fn backup_at(backup: &Series, k: u32) -> f64 {
    let min = backup.min_partitions();
    if k < min { backup.at(min) * f64::from(k) / f64::from(min) } else { backup.at(k) }
}

/// Derives the plan. `inputs` are in `--from` order (earlier files win).
pub fn compute(request: &PlanRequest, inputs: &[MeasuredFile]) -> Result<CapacityPlan> {
    let mut sources = Sources { inputs, list: Vec::new() };
    let backup = sources.require(Metric::BackupMbS, "per-instance throughput", "backup")?;
    let cpu = sources.require(Metric::CpuSecondsPerGb, "the CPU bound and CPU requests", "backup")?;
    let rss = sources.require(Metric::PeakRssMb, "the memory bound and memory requests", "backup")?;
    let restore = match request.restore_bytes {
        Some(_) => Some(sources.require(Metric::RestoreMbS, "the restore time (--restore-size)", "restore")?),
        None => sources.series(Metric::RestoreMbS),
    };
    let budget = budget(request, inputs)?;
    let memory_model = memory_model(&rss);
    let ctx = Ctx { request, budget: &budget, backup: &backup, cpu: &cpu, memory: &memory_model };
    let bounds = ctx.bounds();
    let (binding, k_max) = choose(&bounds);
    let feasible = k_max > 0;
    let k = k_max.max(1);
    let instances = request.partitions.div_ceil(k);
    let busiest = request.partitions.div_ceil(instances);
    let load = f64::from(busiest) * request.per_partition_mb_s();
    let capacity = ctx.capacity(busiest);
    let resources = ctx.resources(busiest, load);
    let spare_bytes = ((capacity - load).max(0.0) * 1e6 * request.lag_drain_secs).round() as u64;
    let autoscaling =
        Autoscaling { min_replicas: instances, max_replicas: request.partitions, target_lag_bytes: spare_bytes };
    let rto = request.restore_bytes.zip(restore.as_ref()).map(|(bytes, series)| rto(bytes, series, request.partitions));
    let scaling = scaling_rows(&backup, &cpu, &rss, restore.as_ref());
    let mut plan = CapacityPlan {
        request: request.clone(),
        budget: budget.clone(),
        per_partition_mb_s: request.per_partition_mb_s(),
        scaling,
        memory_model: memory_model.clone(),
        bounds,
        binding,
        partitions_per_instance: k,
        instances,
        busiest_instance_partitions: busiest,
        instance_load_mb_s: load,
        instance_capacity_mb_s: capacity,
        resources,
        autoscaling,
        rto,
        rows: Vec::new(),
        sources: Vec::new(),
        warnings: Vec::new(),
        feasible,
    };
    plan.rows = ctx.rows(&plan, &rss);
    plan.warnings = warnings(&plan, (backup.points.len(), backup.min_partitions()), inputs, &sources.list);
    plan.sources = sources.list;
    Ok(plan)
}

fn budget(request: &PlanRequest, inputs: &[MeasuredFile]) -> Result<Budget> {
    let machine_cores = inputs.iter().find_map(|f| f.cores.map(|c| (f64::from(c), f.path.clone())));
    let machine_memory = inputs.iter().find_map(|f| f.memory_bytes.map(|m| (m, f.path.clone())));
    let (cpu_cores, cpu_origin) = match request.cpu_per_instance {
        Some(cores) => (cores, BudgetOrigin::Flag),
        None => machine_cores
            .map(|(c, path)| (c, BudgetOrigin::MeasuringMachine(path)))
            .ok_or(PlanError::NoBudget { what: "CPU", flag: "--cpu-per-instance" })?,
    };
    let (memory_bytes, memory_origin) = match request.memory_per_instance {
        Some(bytes) => (bytes, BudgetOrigin::Flag),
        None => machine_memory
            .map(|(m, path)| (m, BudgetOrigin::MeasuringMachine(path)))
            .ok_or(PlanError::NoBudget { what: "memory", flag: "--memory-per-instance" })?,
    };
    Ok(Budget { cpu_cores, cpu_origin, memory_bytes, memory_origin })
}

/// A line through RSS against partitions when several counts were measured, else the
/// single point scaled per partition (see [`MemoryModel`]).
fn memory_model(rss: &Series) -> MemoryModel {
    let points: Vec<(f64, f64)> = rss.points.iter().map(|p| (f64::from(p.partitions), p.median)).collect();
    match least_squares(&points) {
        Some(fit) => {
            // RSS does not shrink with more partitions; a negative slope is noise.
            let slope = fit.slope.max(0.0);
            let line = |x: f64| fit.intercept + slope * x;
            let shift = points.iter().map(|(x, y)| y - line(*x)).fold(0.0, f64::max);
            MemoryModel::LinearFit { base_mb: fit.intercept + shift, per_partition_mb: slope }
        }
        None => {
            MemoryModel::SinglePointScaled { partitions: rss.points[0].partitions, peak_rss_mb: rss.points[0].median }
        }
    }
}

/// The bound that binds: the smallest limit among those reached; ties go to the
/// measured limits (throughput, CPU, memory) before the bookkeeping ones.
fn choose(bounds: &[Bound]) -> (BoundKind, u32) {
    let binding = (bounds.iter().filter(|b| !b.open)).min_by_key(|b| b.max_partitions).expect("closed bounds exist");
    (binding.kind, binding.max_partitions)
}

fn rto(bytes: u64, restore: &Series, partitions: u32) -> Rto {
    // The point restoring the most partitions without exceeding the request, else the smallest.
    let point = (restore.points.iter().rev()).find(|p| p.partitions <= partitions).unwrap_or(&restore.points[0]);
    Rto {
        restore_bytes: bytes,
        restore_mb_s: point.median,
        measured_partitions: point.partitions,
        seconds: bytes as f64 / 1e6 / point.median,
        source: point.source,
    }
}

fn scaling_rows(backup: &Series, cpu: &Series, rss: &Series, restore: Option<&Series>) -> Vec<ScalingRow> {
    let mut counts: Vec<u32> = [backup, cpu, rss].iter().flat_map(|s| s.points.iter().map(|p| p.partitions)).collect();
    counts.sort_unstable();
    counts.dedup();
    let exact = |s: &Series, k: u32| s.points.iter().find(|p| p.partitions == k).map(|p| p.median);
    let base = backup.points.first().map(|p| p.median / f64::from(p.partitions));
    (counts.into_iter())
        .map(|k| {
            let b = exact(backup, k);
            ScalingRow {
                partitions: k,
                backup_mb_s: b,
                per_partition_mb_s: b.map(|b| b / f64::from(k)),
                scaling_efficiency: b.zip(base).map(|(b, base)| b / (base * f64::from(k))),
                cpu_seconds_per_gb: exact(cpu, k),
                peak_rss_mb: exact(rss, k),
                restore_mb_s: restore.and_then(|r| exact(r, k)),
                n: backup.points.iter().find(|p| p.partitions == k).map_or(0, |p| p.n),
            }
        })
        .collect()
}

/// Everything a bound or resource figure needs.
struct Ctx<'a> {
    request: &'a PlanRequest,
    budget: &'a Budget,
    backup: &'a Series,
    cpu: &'a Series,
    memory: &'a MemoryModel,
}

impl Ctx<'_> {
    fn load(&self, k: u32) -> f64 {
        f64::from(k) * self.request.per_partition_mb_s()
    }

    /// MB/s the CPU budget sustains at the CPU-seconds per GB measured near `k`.
    fn cpu_capacity(&self, k: u32) -> f64 {
        self.budget.cpu_cores * 1000.0 / self.cpu.at(k)
    }

    /// Sustainable MB/s with `k` partitions: measured throughput, unless the CPU budget
    /// is smaller than what the measurement used.
    fn capacity(&self, k: u32) -> f64 {
        backup_at(self.backup, k).min(self.cpu_capacity(k))
    }

    /// Largest k in 1..=limit passing `ok`; `open` when even `limit` passes.
    fn largest(limit: u32, ok: impl Fn(u32) -> bool) -> (u32, bool) {
        let k = (1..=limit).rev().find(|k| ok(*k)).unwrap_or(0);
        (k, k == limit)
    }

    fn bounds(&self) -> Vec<Bound> {
        let u = self.request.usable_fraction();
        let (p, measured) = (self.request.partitions, self.backup.max_partitions());
        let pct = format!("{:.0}%", u * 100.0);
        let (kt, t_open) = Self::largest(measured, |k| self.load(k) <= u * backup_at(self.backup, k));
        let (kc, c_open) = Self::largest(p, |k| self.load(k) <= u * self.cpu_capacity(k));
        let memory_mb = self.budget.memory_bytes as f64 / 1e6;
        let (km, m_open) = Self::largest(p, |k| self.memory.predict_mb(k) <= u * memory_mb);
        let some = |k: u32, f: &dyn Fn(u32) -> f64| (k > 0).then(|| f(k));
        vec![
            Bound {
                kind: BoundKind::Throughput,
                max_partitions: kt,
                open: t_open,
                capacity_mb_s: some(kt, &|k| backup_at(self.backup, k)),
                rule: format!(
                    "k × {:.2} MB/s ≤ {pct} of measured backup MB/s at k partitions",
                    self.request.per_partition_mb_s()
                ),
            },
            Bound {
                kind: BoundKind::Cpu,
                max_partitions: kc,
                open: c_open,
                capacity_mb_s: some(kc, &|k| self.cpu_capacity(k)),
                rule: format!(
                    "k × {:.2} MB/s × CPU-s/GB ÷ 1000 ≤ {pct} of {} cores",
                    self.request.per_partition_mb_s(),
                    self.budget.cpu_cores
                ),
            },
            Bound {
                kind: BoundKind::Memory,
                max_partitions: km,
                open: m_open,
                capacity_mb_s: None,
                rule: format!("predicted peak RSS at k ≤ {pct} of {}", human_bytes(self.budget.memory_bytes)),
            },
            Bound {
                kind: BoundKind::MeasuredRange,
                max_partitions: measured,
                open: false,
                capacity_mb_s: Some(backup_at(self.backup, measured)),
                rule: format!("k ≤ {measured}, the most partitions measured"),
            },
            Bound {
                kind: BoundKind::AllPartitions,
                max_partitions: p,
                open: false,
                capacity_mb_s: None,
                rule: format!("k ≤ {p} requested partitions"),
            },
        ]
    }

    fn resources(&self, k: u32, load: f64) -> Resources {
        let u = self.request.usable_fraction();
        let cores = load * self.cpu.at(k) / 1000.0;
        // Kubernetes rounds nothing for us; round up to 10 millicores and whole MiB.
        let millis = |c: f64| (((c * 1000.0) / 10.0).ceil() as u64 * 10).max(10);
        let mib = |mb: f64| (mb * 1e6 / f64::from(1u32 << 20)).ceil() as u64;
        let rss_mb = self.memory.predict_mb(k);
        Resources {
            cpu_request_millis: millis(cores),
            cpu_limit_millis: millis(cores / u),
            memory_request_mib: mib(rss_mb),
            memory_limit_mib: mib(rss_mb / u),
        }
    }

    fn rows(&self, plan: &CapacityPlan, rss: &Series) -> Vec<Row> {
        let r = self.request;
        let k = plan.busiest_instance_partitions;
        let row = |quantity: &str, value: String, how: String, sources: Vec<usize>| Row {
            quantity: quantity.to_owned(),
            value,
            how,
            sources,
        };
        let backup_k = backup_at(self.backup, k);
        let cpu_k = self.cpu.at(k);
        let mut cap_sources = self.backup.sources_at(k);
        cap_sources.extend(self.cpu.sources_at(k));
        let rss_sources: Vec<usize> = rss.points.iter().map(|p| p.source).collect();
        let memory_how = match plan.memory_model {
            MemoryModel::LinearFit { base_mb, per_partition_mb } => format!(
                "least-squares fit of peak RSS over {} partition counts, raised to cover every point: {base_mb:.1} MB + {per_partition_mb:.2} MB × {k}",
                rss.points.len()
            ),
            MemoryModel::SinglePointScaled { partitions, peak_rss_mb } => format!(
                "one partition count measured: {peak_rss_mb:.1} MB ÷ {partitions} per partition × {k}, never below {peak_rss_mb:.1} MB"
            ),
        };
        let u = r.usable_fraction();
        let res = &plan.resources;
        let mut rows = vec![
            row(
                "Load per partition",
                format!("{:.2} MB/s", r.per_partition_mb_s()),
                format!("{} MB/s ÷ {} partitions", r.throughput_mb_s, r.partitions),
                vec![],
            ),
            row(
                "Partitions per instance (max)",
                plan.partitions_per_instance.to_string(),
                format!("smallest limit reached; binding: {}", plan.binding.name()),
                self.backup.sources_at(plan.partitions_per_instance),
            ),
            row(
                "Instances",
                plan.instances.to_string(),
                format!("⌈{} ÷ {}⌉", r.partitions, plan.partitions_per_instance),
                vec![],
            ),
            row(
                "Busiest instance load",
                format!("{:.2} MB/s ({k} partitions)", plan.instance_load_mb_s),
                format!("{k} × {:.2} MB/s", r.per_partition_mb_s()),
                vec![],
            ),
            row(
                "Sustainable MB/s per instance",
                format!("{:.2} MB/s", plan.instance_capacity_mb_s),
                format!(
                    "min(measured backup at {k} partitions {backup_k:.2}, CPU budget {} cores × 1000 ÷ {cpu_k:.2} CPU-s/GB = {:.2})",
                    self.budget.cpu_cores,
                    self.cpu_capacity(k)
                ),
                cap_sources,
            ),
            row(
                "Utilisation at planned load",
                format!("{:.0}%", plan.instance_load_mb_s / plan.instance_capacity_mb_s * 100.0),
                format!(
                    "{:.2} ÷ {:.2} (≤ {:.0}% planned)",
                    plan.instance_load_mb_s,
                    plan.instance_capacity_mb_s,
                    u * 100.0
                ),
                vec![],
            ),
            row(
                "CPU request",
                format!("{}m", res.cpu_request_millis),
                format!("{:.2} MB/s × {cpu_k:.2} CPU-s/GB ÷ 1000, rounded up", plan.instance_load_mb_s),
                self.cpu.sources_at(k),
            ),
            row("CPU limit", format!("{}m", res.cpu_limit_millis), format!("request ÷ {u:.2} (headroom)"), vec![]),
            row("Memory request", format!("{}Mi", res.memory_request_mib), memory_how, rss_sources),
            row("Memory limit", format!("{}Mi", res.memory_limit_mib), format!("request ÷ {u:.2} (headroom)"), vec![]),
            row(
                "HPA replicas",
                format!("{} – {}", plan.autoscaling.min_replicas, plan.autoscaling.max_replicas),
                "planned instances – one partition per pod".to_owned(),
                vec![],
            ),
            row(
                "HPA target kafka_backup_lag_bytes (per pod)",
                human_bytes(plan.autoscaling.target_lag_bytes),
                format!(
                    "spare capacity ({:.2} − {:.2} MB/s) × {}s lag drain",
                    plan.instance_capacity_mb_s, plan.instance_load_mb_s, r.lag_drain_secs
                ),
                vec![],
            ),
        ];
        if let Some(rto) = &plan.rto {
            rows.push(row(
                "Restore time (RTO)",
                format_duration(rto.seconds),
                format!(
                    "{} ÷ {:.2} MB/s measured restoring {} partitions",
                    human_bytes(rto.restore_bytes),
                    rto.restore_mb_s,
                    rto.measured_partitions
                ),
                vec![rto.source],
            ));
        }
        rows
    }
}

/// "2h 05m 10s", "4m 10s", "42s": RTOs are read by people planning maintenance windows.
pub fn format_duration(secs: f64) -> String {
    let s = secs.ceil() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec:02}s"),
        (h, m, sec) => format!("{h}h {m:02}m {sec:02}s"),
    }
}

/// Sizes for people: exact when a whole unit ("8GB", "500GiB"), else two decimals in the
/// largest binary unit — `format_bytes` alone would print a machine's 25 GB of memory
/// as "24683656KiB".
pub(super) fn human_bytes(bytes: u64) -> String {
    let exact = format_bytes(bytes);
    let small_unit = exact.ends_with("KiB") || exact.ends_with("KB");
    let units = [(1u64 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB")];
    match units.into_iter().find(|(unit, _)| bytes >= *unit) {
        Some((unit, name)) if small_unit => format!("{:.2}{name}", bytes as f64 / unit as f64),
        _ => exact,
    }
}
