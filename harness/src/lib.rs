//! Benchmark harness for kbackup: declarative scenarios, statistics over repeated runs,
//! typed warnings and report exporters (JSON, Markdown, SVG).
//!
//! This crate holds the pure parts; the runner that starts environments, generates load
//! and samples the `kbackup` child process feeds them. Only `scenario::load`,
//! `scenario::list` and `report::ReportWriter` touch the file system.
#![deny(unsafe_code, rust_2018_idioms)]

pub mod load;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod warning;
