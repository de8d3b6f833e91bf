//! `harness` command line: lists scenarios and shows resolved plans. Running scenarios
//! is the runner's job, which is built separately; until it lands, a real run exits 2.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use harness::load;
use harness::scenario::{self, Profile};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    },
    /// Create a topic and fill it with synthetic records; prints the achieved rate as JSON.
    Produce {
        #[command(flatten)]
        target: LoadArgs,
        /// How much key + value data to write, e.g. 1GiB.
        #[arg(long, default_value = "64MiB")]
        volume: String,
        /// Approximate value size in bytes.
        #[arg(long, default_value_t = 1024)]
        message_size: usize,
        /// json, text or random.
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

fn run_scenario(out: &mut impl Write, path: &Path, profile: Profile, dry_run: bool) -> Result<ExitCode> {
    let scenario = scenario::load(path).with_context(|| format!("loading scenario '{}'", path.display()))?;
    let plan = scenario.plan(profile)?;
    if dry_run {
        write!(out, "{plan}")?;
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("runner not implemented yet (use --dry-run to see the plan)");
    Ok(ExitCode::from(2))
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dir = scenarios_dir(cli.scenarios_dir);
    let mut out = io::stdout().lock();
    match cli.command {
        Command::List => list(&mut out, &dir),
        Command::Scenario { scenario, profile, dry_run } => {
            run_scenario(&mut out, &scenario_path(&dir, &scenario), profile.into(), dry_run)
        }
        Command::Produce { target, volume, message_size, payload, seed } => {
            let bytes = harness::scenario::parse_size(&volume).map_err(anyhow::Error::msg)?;
            let payload: load::Payload = payload.parse().map_err(anyhow::Error::msg)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime
                .block_on(load::create_topic(&target.bootstrap, &target.topic, target.partitions))
                .with_context(|| format!("creating topic '{}'", target.topic))?;
            let mut generator = load::PayloadGenerator::new(payload, message_size, seed);
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
