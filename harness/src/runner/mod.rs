//! The scenario runner: for every plan point and repeat, a fresh uniquely named topic
//! goes through the plan's phases in order; each phase's measurements go into the
//! report, which is rewritten after every phase so a crash leaves everything measured
//! so far on disk.
//!
//! A failed engine run or consistency check fails the point (and the run, exit 1)
//! whatever its speed; problems with the harness itself (services, the load generator,
//! writing the report) are errors (exit 2).
//!
//! This file runs the whole plan; `repeat.rs` runs one repeat (names, phases, clean-up),
//! `phases/` holds one file per phase, `engine.rs` starts kbackup and `sampler.rs` measures it.

mod cleanup;
pub mod continuous;
pub mod engine;
pub mod group_log;
pub mod network;
pub mod phases;
mod repeat;
pub mod sampler;
pub mod scrape;

use crate::env::Environment;
use crate::report::{self, EnvKind, Report, ReportWriter, Sample};
use crate::scenario::{Phase, ScenarioPlan};
use crate::warning::{self, PhaseDuration, Warning};
use anyhow::{Context, Result};
use procfs::Current as _;
use repeat::RunRecord;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

/// Storage prefix under which the harness's backups live.
pub const STORAGE_PREFIX: &str = "kbh";

/// How to run a plan.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The kbackup binary.
    pub kbackup: PathBuf,
    /// Root of the report directories (`<out>/<scenario>/<timestamp>/`).
    pub out: PathBuf,
}

/// The result of a whole run.
#[derive(Debug)]
pub struct RunOutcome {
    /// The report as last written.
    pub report: Report,
    /// Where it was written.
    pub dir: PathBuf,
}

/// Names of everything one repeat creates: unique per scenario run and repeat, so
/// nothing in a shared cluster or bucket is ever reused or overwritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// Source topic and backup id.
    pub topic: String,
    /// Restore target.
    pub restored: String,
    /// Raw-produce scratch topic.
    pub scratch: String,
}

impl Names {
    /// `kbh-<scenario>-<compact UTC time>-<pid>-<n>` and its derived names.
    pub fn new(scenario: &str, started: SystemTime, n: usize) -> Names {
        let stamp: String = report::utc_timestamp(started).chars().filter(char::is_ascii_alphanumeric).collect();
        let topic = format!("kbh-{scenario}-{}-{}-{n}", stamp.to_ascii_lowercase(), std::process::id());
        Names { restored: format!("{topic}-restored"), scratch: format!("{topic}-rawp"), topic }
    }
}

/// Fingerprint of the machine and software the run measures.
pub fn fingerprint(env: &Environment, kbackup: &Path) -> report::Environment {
    let cpu_model = (procfs::CpuInfo::current().ok())
        .and_then(|cpus| cpus.model_name(0).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    let memory_bytes = procfs::Meminfo::current().map_or(0, |m| m.mem_total);
    // Read as text: procfs's `KernelVersion` keeps only major.minor.patch and drops the
    // distribution suffix (`-49-generic`) the report records.
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
    let output = |cmd: &mut Command| {
        cmd.output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let rustc = output(Command::new("rustc").arg("--version")).unwrap_or_else(|| "unknown".to_owned());
    // The git tree the kbackup binary was (most likely) built from: the one around the
    // binary, else this workspace.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let git = |repo: &Path, args: &[&str]| output(Command::new("git").arg("-C").arg(repo).args(args));
    let repos = kbackup.parent().into_iter().chain([workspace.as_path()]);
    let kbackup_git_sha = (repos.filter(|r| r.is_dir()))
        .find_map(|repo| {
            let sha = git(repo, &["rev-parse", "--short", "HEAD"])?;
            let dirty = git(repo, &["status", "--porcelain", "--untracked-files=no"]).is_some();
            Some(if dirty { format!("{sha}-dirty") } else { sha })
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let (tansu_version, garage_version) = env.versions();
    report::Environment {
        cpu_model,
        cores,
        memory_bytes,
        kernel,
        rustc,
        kbackup_git_sha,
        tansu_version,
        garage_version,
        kind: env.kind(),
    }
}

/// Runs every point and repeat of `plan` against `env`.
pub fn run(plan: &ScenarioPlan, env: &Environment, options: &RunOptions) -> Result<RunOutcome> {
    network::check(plan, env)?;
    let started = SystemTime::now();
    let clock = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let environment = fingerprint(env, &options.kbackup);
    // Read before the run fills the cache with its own data.
    let page_cache_bytes = procfs::Meminfo::current().ok().map(|m| warning::page_cache_bytes(&m));
    let report = Report::new(plan, environment, report::rfc3339_utc(started));
    let writer = ReportWriter::new(&options.out, &plan.name, started);
    let run = Run { plan, env, kbackup: &options.kbackup, runtime: &runtime, writer: &writer };
    run.write(&report)?;
    run.announce();
    let mut record = RunRecord { report, rate_warned: 0 };
    let mut n = 0;
    for point in &plan.points {
        let mut samples: Vec<Sample> = Vec::new();
        for repeat in 0..plan.repeat {
            let names = Names::new(&plan.name, started, n);
            n += 1;
            let sample = run.repeat(point, repeat, &names, &samples, &mut record)?;
            samples.push(sample);
        }
    }
    let report = run.finish(record.report, page_cache_bytes, clock)?;
    Ok(RunOutcome { report, dir: writer.dir().to_owned() })
}

/// What every repeat of one run shares.
struct Run<'a> {
    plan: &'a ScenarioPlan,
    /// For the simulated WAN links of each phase.
    env: &'a Environment,
    kbackup: &'a Path,
    runtime: &'a tokio::runtime::Runtime,
    writer: &'a ReportWriter,
}

impl Run<'_> {
    fn write(&self, report: &Report) -> Result<()> {
        self.writer.write(report).map(drop).context("writing the report")
    }

    fn announce(&self) {
        let plan = self.plan;
        eprintln!(
            "running '{}' ({} profile): {} point(s) × {} repeat(s), phases {}; report in {}",
            plan.name,
            plan.profile,
            plan.points.len(),
            plan.repeat,
            plan.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
            self.writer.dir().display()
        );
    }

    /// Adds the warnings only the measurements can give, writes the final report and prints
    /// the verdict with every missed target.
    fn finish(&self, mut report: Report, page_cache_bytes: Option<u64>, clock: Instant) -> Result<Report> {
        let measured = measured_warnings(&report, page_cache_bytes);
        for w in &measured {
            eprintln!("warning: {w}");
        }
        report.warnings.extend(measured);
        report.refresh();
        self.write(&report)?;
        let verdict = if report.passed { "PASSED" } else { "FAILED" };
        eprintln!("{verdict} in {:.1} s; report: {}", clock.elapsed().as_secs_f64(), self.writer.dir().display());
        for point in &report.points {
            for target in point.targets.iter().filter(|t| !t.met) {
                let observed = target.observed.map_or_else(|| "not measured".to_owned(), |v| format!("{v:.3}"));
                eprintln!("  [{}] target {} {} not met: {observed}", point.label, target.metric, target.expression);
            }
        }
        Ok(report)
    }
}

/// Warnings only the measurements can give: phases too short for the profile, and data
/// sets that fit in the page cache.
fn measured_warnings(report: &Report, page_cache_bytes: Option<u64>) -> Vec<Warning> {
    let durations: Vec<PhaseDuration<'_>> = (report.points.iter())
        .flat_map(|p| p.samples.iter().flat_map(move |s| s.phases.iter().map(move |r| (p, r))))
        .map(|(p, r)| PhaseDuration { point: &p.label, phase: r.phase, secs: r.duration_secs })
        .collect();
    let mut warnings = warning::short_runs(report.scenario.profile, &durations);
    let produced: Vec<(&str, u64)> = (report.points.iter())
        .map(|p| {
            let bytes = p.samples.iter().filter_map(|s| s.phase(Phase::Produce)).map(|r| r.bytes).max();
            (p.label.as_str(), bytes.unwrap_or(0))
        })
        .collect();
    // `ci/services.sh` runs tansu with its `memory` storage engine unless told otherwise.
    let broker_in_memory = report.environment.kind == EnvKind::Native
        && std::env::var("KBACKUP_TANSU_STORAGE").map_or(true, |v| v.is_empty() || v == "memory");
    warnings.extend(page_cache_bytes.and_then(|cache| warning::page_cache(&produced, cache, broker_in_memory)));
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn names_are_unique_and_topic_safe() {
        let at = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        let a = Names::new("quick", at, 0);
        let b = Names::new("quick", at, 1);
        assert_ne!(a.topic, b.topic);
        assert!(a.topic.starts_with("kbh-quick-20241231t235959z-"), "{}", a.topic);
        assert_eq!(a.restored, format!("{}-restored", a.topic));
        assert!(a.topic.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
