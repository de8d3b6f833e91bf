//! Baselines and the regression gate: the committed `baselines/<scenario>/<profile>.json`
//! files (statistics of one report, without its samples), the reader that takes
//! statistics from a report or a baseline alike, and the comparison of a new run with a
//! baseline ([`compare()`]) with its Markdown and JSON exporters.
//!
//! A baseline keeps each point's statistics in exactly the report's shape
//! ([`PointStatistics`] is a subset of `report::PointResult`), so every reader of
//! statistics — `harness compare`, `harness plan` — takes either file through
//! [`read_statistics`]. Only `io.rs` touches the file system.

pub mod cli;
mod compare;
mod io;
mod render;

#[cfg(test)]
mod tests;

pub use compare::{
    CompareReport, MACHINE_INDEPENDENT, MetricComparison, RunInfo, Verdict, change_interval, compare, decide,
    machine_differences,
};
pub use io::{default_path, read_baseline, read_report, read_statistics, report_file, write_file};
pub use render::{compare_json, compare_markdown};

use crate::report::{Efficiency, Environment, Report, SCHEMA_VERSION, ScenarioInfo};
use crate::scenario::Parameter;
use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Result alias for baseline reading, writing and comparing.
pub type Result<T, E = BaselineError> = std::result::Result<T, E>;

/// Reading, saving or comparing statistics failed (a tool error: exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaselineError {
    /// No baseline where one was expected.
    #[error(
        "no baseline at {}: record one on the machine that runs the gate with \
         `harness baseline save <report dir>` and commit it, or pass --baseline FILE",
        path.display()
    )]
    MissingBaseline {
        /// The path looked at.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not a report or baseline of this harness.
    #[error("{}: not a harness report.json or baseline ({source})", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What serde said.
        source: serde_json::Error,
    },
    /// A file was written by a harness with another layout (or has no version).
    #[error("{source}; re-run the scenario and save a new baseline with this harness")]
    Schema {
        /// What the schema check said, naming the file and the versions read.
        #[from]
        source: ::engine::schema::SchemaError,
    },
    /// The report and the baseline come from different scenarios or profiles.
    #[error(
        "the report is {report} but the baseline is {baseline}: compare runs of the same scenario \
         and profile (pass the matching --baseline FILE, or save a baseline for {report})"
    )]
    Mismatch {
        /// `scenario/profile` of the report.
        report: String,
        /// `scenario/profile` of the baseline.
        baseline: String,
    },
    /// The report is not fit to be a baseline.
    #[error("refusing to save a baseline: {0}")]
    NotSaveable(String),
    /// A file could not be written.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Serializing failed.
    #[error("serializing: {0}")]
    Json(#[from] serde_json::Error),
}

/// One matrix point's statistics: the fields of `report::PointResult` a comparison
/// needs, with the same names and types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointStatistics {
    /// The point's label, e.g. `partitions=4`.
    pub label: String,
    /// The point's matrix values.
    pub parameters: Vec<Parameter>,
    /// Summary per metric name over the point's repeats.
    pub stats: BTreeMap<String, Summary>,
    /// Median efficiency ratios.
    pub efficiency: Efficiency,
}

/// What a report and a baseline have in common: read from either file by
/// [`read_statistics`]. Other fields (samples, warnings, ...) are ignored on purpose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Layout version ([`SCHEMA_VERSION`] of the report module).
    pub schema_version: u32,
    /// Scenario, profile and resolved plan.
    pub scenario: ScenarioInfo,
    /// Machine fingerprint.
    pub environment: Environment,
    /// When the measurements started (RFC 3339 UTC).
    pub started_at: String,
    /// Statistics per point, in plan order.
    pub points: Vec<PointStatistics>,
}

impl Statistics {
    /// `scenario/profile`, as used in messages and baseline paths.
    pub fn id(&self) -> String {
        format!("{}/{}", self.scenario.name, self.scenario.profile)
    }

    /// The point with this label.
    pub fn point(&self, label: &str) -> Option<&PointStatistics> {
        self.points.iter().find(|p| p.label == label)
    }
}

/// A committed baseline: the statistics of one run, where and from which commit they
/// were measured, and when they were saved. Its `schema_version` is the report's: the
/// statistics share the report's types, so a new report layout invalidates baselines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Layout version ([`SCHEMA_VERSION`] of the report module).
    pub schema_version: u32,
    /// Scenario, profile and resolved plan of the run.
    pub scenario: ScenarioInfo,
    /// Machine fingerprint of the run.
    pub environment: Environment,
    /// Git commit of the kbackup build that was measured.
    pub git_sha: String,
    /// When the run started (RFC 3339 UTC); named as in the report.
    pub started_at: String,
    /// When the baseline was saved (RFC 3339 UTC).
    pub saved_at: String,
    /// Statistics per point, in plan order.
    pub points: Vec<PointStatistics>,
}

impl Baseline {
    /// The baseline of `report`, saved at `saved_at`. Refuses reports that must not
    /// become the reference: failed verification, or points that never ran.
    pub fn from_report(report: &Report, saved_at: String) -> Result<Baseline> {
        let plan = &report.scenario.plan;
        let missing: Vec<&str> = (plan.points.iter())
            .filter(|p| report.points.iter().all(|r| r.label != p.label))
            .map(|p| p.label.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(BaselineError::NotSaveable(format!("point(s) {} did not run", missing.join(", "))));
        }
        let failed = (report.points.iter())
            .flat_map(|p| p.samples.iter().map(move |s| (p, s)))
            .find(|(_, s)| s.verification.checked && !s.verification.passed);
        if let Some((point, sample)) = failed {
            let detail = &sample.verification.detail;
            let why = format!("verification failed at {} repeat {}: {detail}", point.label, sample.repeat);
            return Err(BaselineError::NotSaveable(why));
        }
        Ok(Baseline {
            schema_version: SCHEMA_VERSION,
            scenario: report.scenario.clone(),
            environment: report.environment.clone(),
            git_sha: report.environment.kbackup_git_sha.clone(),
            started_at: report.started_at.clone(),
            saved_at,
            points: report.points.iter().map(PointStatistics::from).collect(),
        })
    }
}

impl From<&crate::report::PointResult> for PointStatistics {
    fn from(p: &crate::report::PointResult) -> PointStatistics {
        PointStatistics {
            label: p.label.clone(),
            parameters: p.parameters.clone(),
            stats: p.stats.clone(),
            efficiency: p.efficiency,
        }
    }
}

impl From<Baseline> for Statistics {
    fn from(b: Baseline) -> Statistics {
        Statistics {
            schema_version: b.schema_version,
            scenario: b.scenario,
            environment: b.environment,
            started_at: b.started_at,
            points: b.points,
        }
    }
}

impl From<&Report> for Statistics {
    fn from(r: &Report) -> Statistics {
        Statistics {
            schema_version: r.schema_version,
            scenario: r.scenario.clone(),
            environment: r.environment.clone(),
            started_at: r.started_at.clone(),
            points: r.points.iter().map(PointStatistics::from).collect(),
        }
    }
}
