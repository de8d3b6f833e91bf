//! The command-line side of environments: `harness env up|down` and the `--env` choice of
//! `harness scenario` (with its `--env external` connection flags), turned into an
//! [`Environment`].

use super::{Environment, ExternalArgs, ExternalEnv, NativeEnv};
use anyhow::Result;
use clap::ValueEnum;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// State directory of `harness env up|down`.
const ENV_STATE_DIR: &str = "/tmp/kbackup-harness-env";

/// Start (`up`) or stop (`down`) a native environment that outlives the command;
/// `up` prints the `export` lines that connect a shell (and `--env external`) to it.
#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    #[arg(value_enum)]
    action: EnvAction,
    /// State directory of the long-lived services.
    #[arg(long, value_name = "DIR", default_value = ENV_STATE_DIR)]
    state_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EnvAction {
    Up,
    Down,
}

/// Where `harness scenario` gets its broker and object store (`--env`). The variants have no
/// doc comments: clap would list them as possible-value help; `--env`'s own help says it all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EnvArg {
    Native,
    External,
    Containers,
}

/// Connection flags of `--env external`.
#[derive(Debug, clap::Args)]
pub struct ExternalFlags {
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

/// Starts or connects to the environment `kind` names; `wan`: the plan simulates a network,
/// so native services start behind the harness's proxies.
pub fn open(kind: EnvArg, external: ExternalFlags, wan: bool) -> Result<Environment> {
    Ok(match kind {
        EnvArg::Containers => containers_env()?,
        EnvArg::Native => {
            let script = super::services_script();
            crate::setup::install_services(&script)?;
            Environment::Native(NativeEnv::start_for(&script, wan)?)
        }
        EnvArg::External => {
            let f = external;
            Environment::External(ExternalEnv::connect(ExternalArgs {
                bootstrap: f.bootstrap,
                s3_endpoint: f.s3_endpoint,
                s3_bucket: f.s3_bucket,
                s3_region: f.s3_region,
                tansu: f.tansu,
            })?)
        }
    })
}

/// Kafka and MinIO in containers; needs the `containers` feature and a Docker engine.
#[cfg(feature = "containers")]
fn containers_env() -> Result<Environment> {
    Ok(Environment::Containers(super::ContainersEnv::start()?))
}

#[cfg(not(feature = "containers"))]
fn containers_env() -> Result<Environment> {
    anyhow::bail!(
        "--env containers: this harness was built without the containers feature; rebuild with \
         `cargo build --release -p harness --features containers` (needs a Docker engine), or use --env native"
    )
}

/// Runs `harness env`.
pub fn run(out: &mut impl Write, args: EnvArgs) -> Result<ExitCode> {
    let (action, state_dir) = (args.action, args.state_dir.as_path());
    let script = super::services_script();
    match action {
        EnvAction::Up => {
            crate::setup::install_services(&script)?;
            let env = NativeEnv::start_in(&script, state_dir, false)?;
            write!(out, "{}", env.export_lines())?;
            eprintln!("services running; stop them with `harness env down --state-dir {}`", state_dir.display());
        }
        EnvAction::Down => NativeEnv::stop_in(&script, state_dir)?,
    }
    Ok(ExitCode::SUCCESS)
}
