//! `harness` command line: lists scenarios, shows resolved plans, runs scenarios against
//! a native or external environment, and starts/stops a long-lived native environment.
//!
//! Exit codes: 0 every target met and every check passed, 1 a target or check failed,
//! 2 the harness itself failed (services, load generator, arguments, report writing).
//!
//! Only parsing, set-up and dispatch live here; each command sits beside the code it drives:
//! `scenario/cli.rs` (list, scenario), `baseline/cli.rs` (baseline, compare), `env/cli.rs`
//! (env), `plan/cli.rs` (plan) and `load/cli.rs` (produce, raw-consume).

use anyhow::Result;
use clap::{Parser, Subcommand};
use harness::{baseline, env, load, plan, runner, scenario};
use std::io;
use std::path::PathBuf;
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

// Only `List` has a doc comment: clap takes every other command's help from the doc comment
// of its arguments struct.
#[derive(Debug, Subcommand)]
enum Command {
    /// List the scenarios with their descriptions.
    List,
    Scenario(scenario::cli::ScenarioArgs),
    Baseline(baseline::cli::BaselineArgs),
    Compare(baseline::cli::CompareArgs),
    Env(env::cli::EnvArgs),
    Plan(plan::cli::PlanArgs),
    Produce(load::cli::ProduceArgs),
    RawConsume(load::cli::RawConsumeArgs),
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
    let dir = scenario::cli::scenarios_dir(cli.scenarios_dir);
    let mut out = io::stdout().lock();
    match cli.command {
        Command::List => scenario::cli::list(&mut out, &dir),
        Command::Scenario(args) => {
            if !args.dry_run() {
                install_signal_handler();
            }
            scenario::cli::run(&mut out, &dir, args)
        }
        Command::Env(args) => env::cli::run(&mut out, args),
        Command::Plan(args) => plan::cli::run(&mut out, args),
        Command::Baseline(args) => baseline::cli::run(&mut out, args),
        Command::Compare(args) => baseline::cli::compare(&mut out, args),
        Command::Produce(args) => load::cli::produce(&mut out, args),
        Command::RawConsume(args) => load::cli::raw_consume(&mut out, args),
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
}
