//! Declarative benchmark scenarios: YAML files in `scenarios/` describing a workload, a
//! parameter matrix, phases, profiles, targets and regression gates.
//!
//! Parsing is two-stage (see STYLE.md rule 12): [`parse`] reads the text into plain
//! serde structs with unknown keys denied and validates every profile, then
//! [`Scenario::plan`] resolves one profile into a [`ScenarioPlan`] with one [`PlanPoint`]
//! per matrix combination. Only [`load`] and [`list`] touch the file system.
//!
//! The file format is documented in `scenarios/README.md`.

pub mod cli;
mod continuous;
mod display;
pub mod engine_config;
mod error;
mod file;
mod matrix;
mod metric;
mod network;
mod pitr;
mod plan;
mod resolve;
mod timestamps;
pub mod units;
mod values;

#[cfg(test)]
mod tests;

pub use continuous::{ContinuousPlan, InstanceAction, Step};
pub use error::{ErrorKind, Result, ScenarioError};
pub use file::Scalar;
pub use matrix::{COMPRESSION_KEY, COMPRESSION_LEVEL_KEY, SEGMENT_KEY};
pub use metric::{Comparison, GateRule, Metric, Target};
pub use network::{Link, Network};
pub use pitr::{PartitionRange, PitrPlan, Position, Range};
pub use plan::{
    EngineOverride, FULL_MIN_SECS, FULL_MIN_SEGMENTS, KeyMode, MatrixAxis, MessageSize, Parameter, Payload, Phase,
    PlanPoint, Profile, ScenarioPlan, Volume, Workload, short_key,
};
pub use resolve::{DEFAULT_PHASES, DEFAULT_REPEAT, DEFAULT_SEED};
pub use timestamps::Timestamps;
pub use units::{Rate, parse_size};

use serde::Deserialize;
use serde_saphyr::MessageFormatter;
use std::path::{Path, PathBuf};

/// A parsed scenario file, validated for every profile.
#[derive(Debug)]
pub struct Scenario {
    file: file::ScenarioFile,
    origin: String,
}

impl Scenario {
    /// The scenario's `name:`.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// The scenario's `description:`, trimmed.
    pub fn description(&self) -> &str {
        self.file.description.trim()
    }

    /// Resolves the scenario for `profile`.
    pub fn plan(&self, profile: Profile) -> Result<ScenarioPlan> {
        resolve::resolve(&self.file, &self.origin, profile)
            .map_err(|kind| ScenarioError { scenario: self.file.name.clone(), kind })
    }
}

/// Parses and validates scenario text. `origin` names the source in errors and in the
/// plan (a file path, or e.g. "inline" in tests). Every profile is resolved once so an
/// error in a profile nobody runs today still fails now, not in a later CI job.
pub fn parse(text: &str, origin: &str) -> Result<Scenario> {
    let file = read_yaml(text).map_err(|kind| ScenarioError { scenario: fallback_name(origin), kind })?;
    let scenario = Scenario { file, origin: origin.to_owned() };
    for profile in Profile::ALL {
        scenario.plan(profile)?;
    }
    Ok(scenario)
}

/// Reads and parses one scenario file.
pub fn load(path: &Path) -> Result<Scenario> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError {
        scenario: fallback_name(&origin),
        kind: ErrorKind::Io { path: path.to_owned(), source },
    })?;
    parse(&text, &origin)
}

/// Name and description of a scenario file, for listings.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioSummary {
    /// The scenario's `name:`.
    pub name: String,
    /// The scenario's `description:`.
    pub description: String,
    /// The file it came from.
    pub path: PathBuf,
}

/// All `*.yaml` / `*.yml` scenarios in `dir`, sorted by file name. Fails on the first
/// invalid file: shipped scenarios are tested to parse, so an invalid one is a bug.
pub fn list(dir: &Path) -> Result<Vec<ScenarioSummary>> {
    let io_error = |source| ScenarioError {
        scenario: dir.display().to_string(),
        kind: ErrorKind::Io { path: dir.to_owned(), source },
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let scenario = load(&path)?;
            let (name, description) = (scenario.name().to_owned(), scenario.description().to_owned());
            Ok(ScenarioSummary { name, description, path })
        })
        .collect()
}

/// The file stem of an origin, used to name a scenario whose YAML did not parse.
fn fallback_name(origin: &str) -> String {
    Path::new(origin).file_stem().map_or_else(|| origin.to_owned(), |s| s.to_string_lossy().into_owned())
}

/// Stage one: YAML → [`file::ScenarioFile`], recording the key path of any error.
fn read_yaml(text: &str) -> std::result::Result<file::ScenarioFile, ErrorKind> {
    let mut track = serde_path_to_error::Track::new();
    let result = serde_saphyr::with_deserializer_from_str(text, |de| {
        file::ScenarioFile::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
    });
    result.map_err(|error| {
        let location = error.location();
        ErrorKind::Syntax {
            path: track.path().to_string(),
            // The plain message; the snippet form spans lines and repeats the location.
            message: serde_saphyr::DefaultMessageFormatter.format_message(error.without_snippet()).into_owned(),
            line: location.map_or(0, |l| l.line() as usize),
            column: location.map_or(0, |l| l.column() as usize),
        }
    })
}
