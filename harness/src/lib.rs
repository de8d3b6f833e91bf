//! Benchmark harness for kbackup: declarative scenarios, statistics over repeated runs,
//! typed warnings, report exporters (JSON, Markdown, SVG) and capacity plans derived from
//! measured results.
//!
//! The pure parts (scenarios, statistics, reports) are fed by the [`runner`], which starts
//! or connects to an [`env`]ironment, generates load and samples the `kbackup` child
//! process. Apart from the runner and the environments, only `scenario::load`,
//! `scenario::list`, `report::ReportWriter` and `plan`'s reader and writer touch the file system.
//!
//! Each command of the `harness` binary is defined beside the code it drives, in that
//! module's `cli` submodule (`scenario::cli`, `baseline::cli`, `env::cli`, `plan::cli`,
//! `load::cli`); those are the only modules that know clap.
#![deny(unsafe_code, rust_2018_idioms)]

pub mod baseline;
pub mod env;
pub mod load;
pub mod plan;
pub mod progress;
pub mod proxy;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod setup;
pub mod stats;
pub mod warning;
