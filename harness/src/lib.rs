//! Benchmark harness for kbackup: declarative scenarios, statistics over repeated runs,
//! typed warnings, report exporters (JSON, Markdown, SVG) and capacity plans derived from
//! measured results.
//!
//! The pure parts (scenarios, statistics, reports) are fed by the [`runner`], which starts
//! or connects to an [`env`]ironment, generates load and samples the `kbackup` child
//! process. Apart from the runner and the environments, only `scenario::load`,
//! `scenario::list`, `report::ReportWriter` and `plan`'s reader and writer touch the file system.
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
