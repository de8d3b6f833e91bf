//! The command-line side of scenarios: `harness list` and `harness scenario` — finding the
//! scenario file and the kbackup binary, applying `--set` overrides, then either printing the
//! plan (`--dry-run`) or running it in an environment through the [`crate::runner`]. The only
//! part of `scenario/` that runs anything.

use super::{Profile, Scalar, engine_config};
use crate::env::cli::{EnvArg, ExternalFlags};
use crate::runner::{self, RunOptions};
use crate::setup::BuildDir;
use anyhow::{Context, Result};
use clap::ValueEnum;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Run a scenario, or show its resolved plan with --dry-run.
// Help text, not HTML: `<NAME>` is how clap writes placeholders.
#[allow(rustdoc::invalid_html_tags)]
#[derive(Debug, clap::Args)]
pub struct ScenarioArgs {
    /// Scenario name (a file <NAME>.yaml in the scenarios directory) or a path to a
    /// YAML file.
    scenario: String,
    /// How thorough the run is: quick (CI smoke test), standard, or full
    /// (publishable: at least 10 segments of data and 5 minutes of load).
    #[arg(long, value_enum, default_value_t = ProfileArg::Standard)]
    profile: ProfileArg,
    /// Print the resolved plan (matrix points, phases, engine overrides, targets)
    /// and exit 0 without running anything.
    #[arg(long)]
    dry_run: bool,
    /// Where the broker and object store come from: native (tansu and garage started on
    /// free loopback ports for this run and stopped after it), external (already
    /// running: flags below or KAFKA_BOOTSTRAP, S3_ENDPOINT, S3_BUCKET, AWS_*), or
    /// containers (apache/kafka in KRaft mode and MinIO through testcontainers; needs a
    /// running Docker engine and a harness built with `--features containers`).
    #[arg(long, value_enum, default_value_t = EnvArg::Native)]
    env: EnvArg,
    /// Repeats per matrix point (overrides the scenario and profile).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: Option<u32>,
    /// Root directory of the reports (`<DIR>/<scenario>/<UTC time>/`).
    #[arg(long, value_name = "DIR", default_value = "reports")]
    out: PathBuf,
    /// The kbackup binary. Default: $KBACKUP_BIN; else, under `cargo run`, the kbackup of
    /// the same profile, built first; else the kbackup next to this harness binary, then
    /// target/release/kbackup, then target/debug/kbackup.
    #[arg(long, value_name = "PATH")]
    kbackup: Option<PathBuf>,
    /// Set an engine config key at every point, over the scenario's `engine:` and
    /// matrix values; repeatable. The report's plan records it. E.g. a deliberately
    /// slow engine to check that the gate notices: `--set backup.compression_level=19`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
    #[command(flatten)]
    external: ExternalFlags,
}

impl ScenarioArgs {
    /// Whether only the plan is printed (nothing runs, no services start).
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }
}

/// Mirrors [`Profile`] so the rest of the library stays free of CLI concerns.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProfileArg {
    Quick,
    Standard,
    Full,
}

impl From<ProfileArg> for Profile {
    fn from(arg: ProfileArg) -> Profile {
        match arg {
            ProfileArg::Quick => Profile::Quick,
            ProfileArg::Standard => Profile::Standard,
            ProfileArg::Full => Profile::Full,
        }
    }
}

fn parse_set(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.trim().to_owned())),
        _ => Err(format!("expected KEY=VALUE, e.g. backup.compression_level=19, got '{arg}'")),
    }
}

/// The scenarios directory: the flag, else ./scenarios if it exists, else the
/// repository's scenarios/ directory.
pub fn scenarios_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| {
        let local = PathBuf::from("scenarios");
        if local.is_dir() { local } else { Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios") }
    })
}

/// A name is looked up in the scenarios directory; anything path-like is used as is.
fn scenario_path(dir: &Path, arg: &str) -> PathBuf {
    let path_like = arg.contains('/') || arg.ends_with(".yaml") || arg.ends_with(".yml");
    if path_like { PathBuf::from(arg) } else { dir.join(format!("{arg}.yaml")) }
}

/// Runs `harness list`: one line per scenario in `dir`, its name and first sentence.
pub fn list(out: &mut impl Write, dir: &Path) -> Result<ExitCode> {
    let scenarios = super::list(dir).with_context(|| format!("listing scenarios in '{}'", dir.display()))?;
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in scenarios {
        let summary = s.description.split(". ").next().unwrap_or_default().trim_end_matches('.');
        writeln!(out, "{:width$}  {summary}.", s.name)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The kbackup binary: the flag, $KBACKUP_BIN; under `cargo run` ($CARGO set), the kbackup of
/// this checkout and build profile, built or brought up to date first, so a newcomer's first
/// command needs no separate build; then the one next to this executable (same build), then
/// release and debug builds in ./target and in the workspace's target directory.
fn find_kbackup(flag: Option<PathBuf>) -> Result<PathBuf> {
    let explicit = flag.or_else(|| std::env::var_os("KBACKUP_BIN").filter(|v| !v.is_empty()).map(PathBuf::from));
    if let Some(path) = explicit {
        anyhow::ensure!(path.is_file(), "kbackup binary '{}' not found", path.display());
        return Ok(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let build = std::env::current_exe().ok().and_then(|exe| BuildDir::of_executable(&exe));
    if let (Some(cargo), Some(build)) = (std::env::var_os("CARGO"), &build) {
        return Ok(build.build_kbackup(&cargo, &workspace)?);
    }
    let beside = build.map(|b| b.kbackup());
    let candidates = beside.into_iter().chain(["release", "debug"].into_iter().flat_map(|profile| {
        [PathBuf::from("target"), workspace.join("target")].map(|t| t.join(profile).join("kbackup"))
    }));
    for candidate in candidates {
        if candidate.is_file() {
            return Ok(candidate.canonicalize().unwrap_or(candidate));
        }
    }
    anyhow::bail!(
        "no kbackup binary found (looked at --kbackup, $KBACKUP_BIN, next to this harness, target/release/kbackup, \
         target/debug/kbackup); build it with `cargo build --release -p engine`, or run the harness with \
         `cargo run --release -p harness --`, which builds it"
    )
}

/// Runs `harness scenario`: exit 0 when every target was met and every check passed, 1
/// when not; `Err` is a tool error.
pub fn run(out: &mut impl Write, dir: &Path, args: ScenarioArgs) -> Result<ExitCode> {
    let path = scenario_path(dir, &args.scenario);
    let scenario = super::load(&path).with_context(|| format!("loading scenario '{}'", path.display()))?;
    let mut plan = scenario.plan(args.profile.into())?;
    if let Some(repeat) = args.repeat {
        plan.repeat = repeat;
    }
    for (key, text) in &args.set {
        // Checked like a scenario's `engine:` block, by kbackup's own config parser.
        let value = Scalar::from_text(text);
        engine_config::check_override(key, &value, &format!("--set {key}={text}"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        plan.override_engine(key, value);
    }
    if args.dry_run {
        write!(out, "{plan}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let kbackup = find_kbackup(args.kbackup)?;
    eprintln!("kbackup: {}", kbackup.display());
    let wan = plan.points.iter().any(|p| p.network.is_some());
    let environment = crate::env::cli::open(args.env, args.external, wan)?;
    let outcome = runner::run(&plan, &environment, &RunOptions { kbackup, out: args.out })?;
    drop(environment);
    writeln!(out, "{}", outcome.dir.display())?;
    Ok(if outcome.report.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_inside_the_directory() {
        let dir = Path::new("scenarios");
        assert_eq!(scenario_path(dir, "quick"), dir.join("quick.yaml"));
        assert_eq!(scenario_path(dir, "my/own.yaml"), PathBuf::from("my/own.yaml"));
    }
}
