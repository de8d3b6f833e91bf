//! The command-line side of the load generator: `harness produce` fills a topic and
//! `harness raw-consume` reads one with plain consumers, each printing its rate as JSON.

use super::{LoadSpec, Payload, RecordGenerator};
use anyhow::{Context, Result};
use std::io::Write;
use std::process::ExitCode;

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

/// Create a topic and fill it with synthetic records; prints the achieved rate as JSON.
#[derive(Debug, clap::Args)]
pub struct ProduceArgs {
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
}

/// Read a topic from start to end with plain consumers (the raw limit); prints the rate as JSON.
#[derive(Debug, clap::Args)]
pub struct RawConsumeArgs {
    #[command(flatten)]
    target: LoadArgs,
    /// fetch.wait.max.ms: keep <= 10 against tansu, which holds every fetch this long.
    #[arg(long, default_value_t = 10)]
    fetch_wait_ms: u64,
}

/// Runs `harness produce`.
pub fn produce(out: &mut impl Write, args: ProduceArgs) -> Result<ExitCode> {
    let target = &args.target;
    let bytes = crate::scenario::parse_size(&args.volume).map_err(anyhow::Error::msg)?;
    let payload: Payload = args.payload.parse().map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime
        .block_on(super::create_topic(&target.bootstrap, &target.topic, target.partitions))
        .with_context(|| format!("creating topic '{}'", target.topic))?;
    let mut generator = RecordGenerator::new(LoadSpec::fixed(payload, args.message_size, args.seed));
    let rate = super::produce(&target.bootstrap, &target.topic, target.partitions, bytes, &mut generator)
        .with_context(|| format!("producing to '{}'", target.topic))?;
    writeln!(out, "{}", ::engine::schema::to_json_versioned(&rate, crate::report::SCHEMA_VERSION, false)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `harness raw-consume`.
pub fn raw_consume(out: &mut impl Write, args: RawConsumeArgs) -> Result<ExitCode> {
    let target = &args.target;
    let rate = super::raw_consume(&target.bootstrap, &target.topic, target.partitions, args.fetch_wait_ms)
        .with_context(|| format!("reading '{}'", target.topic))?;
    writeln!(out, "{}", ::engine::schema::to_json_versioned(&rate, crate::report::SCHEMA_VERSION, false)?)?;
    Ok(ExitCode::SUCCESS)
}
