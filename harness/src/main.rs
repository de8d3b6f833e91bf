//! `harness` command line: lists scenarios, shows resolved plans, runs scenarios against
//! a native or external environment, and starts/stops a long-lived native environment.
//!
//! Exit codes: 0 every target met and every check passed, 1 a target or check failed,
//! 2 the harness itself failed (services, load generator, arguments, report writing).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use harness::baseline;
use harness::env::{self, Environment, ExternalArgs, ExternalEnv, NativeEnv};
use harness::load;
use harness::runner::{self, RunOptions};
use harness::scenario::{self, Profile};
use harness::setup::{self, BuildDir};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// The CLI of `harness plan` lives beside the library module it drives.
#[path = "plan/cli.rs"]
mod plan_cli;

/// Benchmark harness for kbackup.
#[derive(Debug, Parser)]
#[command(name = "harness", version)]
struct Cli {
    /// Directory with scenario files. Default: ./scenarios if it exists, else the
    /// repository's scenarios/ directory.
    #[arg(long, global = true, env = "KBACKUP_SCENARIOS", value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the scenarios with their descriptions.
    List,
    /// Run a scenario, or show its resolved plan with --dry-run.
    Scenario {
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
    },
    /// Save a report's statistics as the baseline of its scenario and profile
    /// (`<dir>/<scenario>/<profile>.json`), to be committed and compared against.
    Baseline {
        #[command(subcommand)]
        action: BaselineAction,
    },
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
    #[command(after_help = "Examples:\n  \
        harness compare reports/quick/2026-01-31T12-00-00Z\n  \
        harness compare reports/quick/2026-01-31T12-00-00Z --baseline old.json --json\n  \
        harness compare REPORT_DIR --out REPORT_DIR   # also writes compare.md and compare.json")]
    Compare {
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
    },
    /// Start (`up`) or stop (`down`) a native environment that outlives the command;
    /// `up` prints the `export` lines that connect a shell (and `--env external`) to it.
    Env {
        #[arg(value_enum)]
        action: EnvAction,
        /// State directory of the long-lived services.
        #[arg(long, value_name = "DIR", default_value = ENV_STATE_DIR)]
        state_dir: PathBuf,
    },
    // No doc comment here: clap takes the help text from `PlanArgs`'s own.
    Plan(plan_cli::PlanArgs),
    /// Create a topic and fill it with synthetic records; prints the achieved rate as JSON.
    Produce {
        #[command(flatten)]
        target: LoadArgs,
        /// How much key + value data to write, e.g. 1GiB.
        #[arg(long, default_value = "64MiB")]
        volume: String,
        /// Approximate value size in bytes.
        #[arg(long, default_value_t = 1024)]
        message_size: u64,
        /// json, text, avro, protobuf, random or precompressed (see scenarios/README.md).
        #[arg(long, default_value = "json")]
        payload: String,
        /// Seed for deterministic data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Read a topic from start to end with plain consumers (the raw limit); prints the rate as JSON.
    RawConsume {
        #[command(flatten)]
        target: LoadArgs,
        /// fetch.wait.max.ms: keep <= 10 against tansu, which holds every fetch this long.
        #[arg(long, default_value_t = 10)]
        fetch_wait_ms: u64,
    },
}

#[derive(Debug, Subcommand)]
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

fn parse_set(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.trim().to_owned())),
        _ => Err(format!("expected KEY=VALUE, e.g. backup.compression_level=19, got '{arg}'")),
    }
}

/// State directory of `harness env up|down`.
const ENV_STATE_DIR: &str = "/tmp/kbackup-harness-env";

/// Connection flags of `--env external`.
#[derive(Debug, clap::Args)]
struct ExternalFlags {
    /// Kafka bootstrap servers (--env external). Default: $KAFKA_BOOTSTRAP.
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap: Option<String>,
    /// S3 endpoint URL (--env external). Default: $S3_ENDPOINT, else AWS S3.
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// S3 bucket (--env external). Default: $S3_BUCKET.
    #[arg(long, value_name = "NAME")]
    s3_bucket: Option<String>,
    /// S3 region (--env external). Default: $AWS_REGION, $S3_REGION, us-east-1.
    #[arg(long, value_name = "REGION")]
    s3_region: Option<String>,
    /// The external broker is tansu: 10 ms fetch waits and `backup.resume: rescan`.
    #[arg(long)]
    tansu: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EnvArg {
    Native,
    External,
    Containers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EnvAction {
    Up,
    Down,
}

/// Arguments of the standalone load tools.
#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// Kafka bootstrap servers.
    #[arg(long, env = "KAFKA_BOOTSTRAP", default_value = "127.0.0.1:19092")]
    bootstrap: String,
    /// Topic to write or read.
    #[arg(long)]
    topic: String,
    /// Partitions (created with this count by `produce`).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
}

/// Mirrors [`Profile`] so the library stays free of CLI concerns.
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

fn scenarios_dir(flag: Option<PathBuf>) -> PathBuf {
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

fn list(out: &mut impl Write, dir: &Path) -> Result<ExitCode> {
    let scenarios = scenario::list(dir).with_context(|| format!("listing scenarios in '{}'", dir.display()))?;
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in scenarios {
        let summary = s.description.split(". ").next().unwrap_or_default().trim_end_matches('.');
        writeln!(out, "{:width$}  {summary}.", s.name)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How a scenario is run (everything but the scenario and the profile).
struct RunArgs {
    dry_run: bool,
    env: EnvArg,
    repeat: Option<u32>,
    out: PathBuf,
    kbackup: Option<PathBuf>,
    set: Vec<(String, String)>,
    external: ExternalFlags,
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

fn run_scenario(out: &mut impl Write, path: &Path, profile: Profile, args: RunArgs) -> Result<ExitCode> {
    let scenario = scenario::load(path).with_context(|| format!("loading scenario '{}'", path.display()))?;
    let mut plan = scenario.plan(profile)?;
    if let Some(repeat) = args.repeat {
        plan.repeat = repeat;
    }
    for (key, text) in &args.set {
        // Checked like a scenario's `engine:` block, by kbackup's own config parser.
        let value = scenario::Scalar::from_text(text);
        scenario::engine_config::check_override(key, &value, &format!("--set {key}={text}"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        plan.override_engine(key, value);
    }
    if args.dry_run {
        write!(out, "{plan}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let kbackup = find_kbackup(args.kbackup)?;
    eprintln!("kbackup: {}", kbackup.display());
    let environment = match args.env {
        EnvArg::Containers => containers_env()?,
        EnvArg::Native => {
            let wan = plan.points.iter().any(|p| p.network.is_some());
            let script = env::services_script();
            setup::install_services(&script)?;
            Environment::Native(NativeEnv::start_for(&script, wan)?)
        }
        EnvArg::External => {
            let f = args.external;
            Environment::External(ExternalEnv::connect(ExternalArgs {
                bootstrap: f.bootstrap,
                s3_endpoint: f.s3_endpoint,
                s3_bucket: f.s3_bucket,
                s3_region: f.s3_region,
                tansu: f.tansu,
            })?)
        }
    };
    let outcome = runner::run(&plan, &environment, &RunOptions { kbackup, out: args.out })?;
    drop(environment);
    writeln!(out, "{}", outcome.dir.display())?;
    Ok(if outcome.report.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Kafka and MinIO in containers; needs the `containers` feature and a Docker engine.
#[cfg(feature = "containers")]
fn containers_env() -> Result<Environment> {
    Ok(Environment::Containers(env::ContainersEnv::start()?))
}

#[cfg(not(feature = "containers"))]
fn containers_env() -> Result<Environment> {
    anyhow::bail!(
        "--env containers: this harness was built without the containers feature; rebuild with \
         `cargo build --release -p harness --features containers` (needs a Docker engine), or use --env native"
    )
}

fn env_command(out: &mut impl Write, action: EnvAction, state_dir: &Path) -> Result<ExitCode> {
    let script = env::services_script();
    match action {
        EnvAction::Up => {
            setup::install_services(&script)?;
            let env = NativeEnv::start_in(&script, state_dir, false)?;
            write!(out, "{}", env.export_lines())?;
            eprintln!("services running; stop them with `harness env down --state-dir {}`", state_dir.display());
        }
        EnvAction::Down => NativeEnv::stop_in(&script, state_dir)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn save_baseline(out: &mut impl Write, report: &Path, dir: &Path) -> Result<ExitCode> {
    let report = baseline::read_report(report)?;
    let saved_at = harness::report::rfc3339_utc(std::time::SystemTime::now());
    let saved = baseline::Baseline::from_report(&report, saved_at)?;
    let path = baseline::default_path(dir, &saved.scenario.name, saved.scenario.profile);
    let mut bytes = serde_json::to_vec_pretty(&saved)?;
    bytes.push(b'\n');
    baseline::write_file(&path, &bytes)?;
    let repeats = report.scenario.plan.repeat;
    if repeats < harness::warning::RECOMMENDED_REPEATS {
        eprintln!("warning: {repeats} repeat(s) per point: comparisons against this baseline will be coarse");
    }
    if !report.passed {
        eprintln!("warning: the run missed some targets; saved anyway (its integrity checks passed)");
    }
    writeln!(out, "{}", path.display())?;
    Ok(ExitCode::SUCCESS)
}

fn compare(
    out: &mut impl Write,
    report: &Path,
    baseline_file: Option<&Path>,
    dir: &Path,
    json: bool,
    out_dir: Option<&Path>,
) -> Result<ExitCode> {
    let new = baseline::read_statistics(report)?;
    let base_path = baseline_file
        .map(Path::to_owned)
        .unwrap_or_else(|| baseline::default_path(dir, &new.scenario.name, new.scenario.profile));
    let base: baseline::Statistics = baseline::read_baseline(&base_path)?.into();
    let result = baseline::compare(&new, &base, &new.scenario.plan.gate)?;
    let markdown = baseline::compare_markdown(&result);
    let json_bytes = baseline::compare_json(&result)?;
    if let Some(dir) = out_dir {
        baseline::write_file(&dir.join("compare.md"), markdown.as_bytes())?;
        baseline::write_file(&dir.join("compare.json"), &json_bytes)?;
    }
    if json {
        out.write_all(&json_bytes)?
    } else {
        out.write_all(markdown.as_bytes())?
    }
    Ok(if result.regressed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Ctrl-C / SIGTERM: stop the native services this process started, then exit 130.
/// (Destructors do not run when a signal ends the process.)
fn install_signal_handler() {
    std::thread::spawn(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        runtime.block_on(async {
            let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        eprintln!("interrupted: stopping kbackup and the services");
        runner::engine::interrupt();
        env::stop_active();
        std::process::exit(130);
    });
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dir = scenarios_dir(cli.scenarios_dir);
    let mut out = io::stdout().lock();
    match cli.command {
        Command::List => list(&mut out, &dir),
        Command::Scenario { scenario, profile, dry_run, env, repeat, out: out_dir, kbackup, set, external } => {
            let args = RunArgs { dry_run, env, repeat, out: out_dir, kbackup, set, external };
            if !dry_run {
                install_signal_handler();
            }
            run_scenario(&mut out, &scenario_path(&dir, &scenario), profile.into(), args)
        }
        Command::Env { action, state_dir } => env_command(&mut out, action, &state_dir),
        Command::Plan(args) => plan_cli::run(&mut out, args),
        Command::Baseline { action: BaselineAction::Save { report, dir } } => save_baseline(&mut out, &report, &dir),
        Command::Compare { report, baseline, dir, json, out: out_dir } => {
            compare(&mut out, &report, baseline.as_deref(), &dir, json, out_dir.as_deref())
        }
        Command::Produce { target, volume, message_size, payload, seed } => {
            let bytes = harness::scenario::parse_size(&volume).map_err(anyhow::Error::msg)?;
            let payload: load::Payload = payload.parse().map_err(anyhow::Error::msg)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime
                .block_on(load::create_topic(&target.bootstrap, &target.topic, target.partitions))
                .with_context(|| format!("creating topic '{}'", target.topic))?;
            let mut generator = load::RecordGenerator::new(load::LoadSpec::fixed(payload, message_size, seed));
            let rate = load::produce(&target.bootstrap, &target.topic, target.partitions, bytes, &mut generator)
                .with_context(|| format!("producing to '{}'", target.topic))?;
            writeln!(out, "{}", serde_json::to_string(&rate)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::RawConsume { target, fetch_wait_ms } => {
            let rate = load::raw_consume(&target.bootstrap, &target.topic, target.partitions, fetch_wait_ms)
                .with_context(|| format!("reading '{}'", target.topic))?;
            writeln!(out, "{}", serde_json::to_string(&rate)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        // `harness list | head` must not report an error.
        Err(e) if e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) => {
            ExitCode::SUCCESS
        }
        Err(_) if runner::engine::interrupted() => ExitCode::from(130),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn names_resolve_inside_the_directory() {
        let dir = Path::new("scenarios");
        assert_eq!(scenario_path(dir, "quick"), dir.join("quick.yaml"));
        assert_eq!(scenario_path(dir, "my/own.yaml"), PathBuf::from("my/own.yaml"));
    }
}
