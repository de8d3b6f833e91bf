//! Reading measured results: `report.json` files written by `harness scenario`, and
//! baselines (`baselines/<scenario>/<profile>.json`) that carry the same per-point
//! statistics. Only the fields the plan needs are read, so both layouts work and new
//! report fields never break planning; unknown fields are therefore *not* denied here.

use super::{PlanError, Result};
use crate::scenario::{Parameter, Scalar, short_key};
use crate::stats::Summary;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One input file's measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredFile {
    /// The file as given (shown in every row that uses it).
    pub path: String,
    /// Scenario name.
    pub scenario: String,
    /// Profile (`quick`, `standard`, `full`), when recorded.
    pub profile: Option<String>,
    /// Logical cores of the measuring machine, when recorded.
    pub cores: Option<u32>,
    /// Memory of the measuring machine in bytes, when recorded.
    pub memory_bytes: Option<u64>,
    /// Points in file order, each with its partition count.
    pub points: Vec<MeasuredPoint>,
}

/// One matrix point's statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredPoint {
    /// The point's label, e.g. `partitions=4`.
    pub label: String,
    /// Partitions of the topic at this point.
    pub partitions: u32,
    /// Summary per metric name, as in `report.json`.
    pub stats: BTreeMap<String, Summary>,
}

#[derive(Deserialize)]
struct FileDoc {
    scenario: ScenarioDoc,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    environment: Option<EnvDoc>,
    points: Vec<PointDoc>,
}

/// A report has `{name, profile, plan}`; a baseline may name the scenario only.
#[derive(Deserialize)]
#[serde(untagged)]
enum ScenarioDoc {
    Name(String),
    Info {
        name: String,
        #[serde(default)]
        profile: Option<String>,
        #[serde(default)]
        plan: Option<PlanDoc>,
    },
}

#[derive(Deserialize)]
struct PlanDoc {
    #[serde(default)]
    points: Vec<PlanPointDoc>,
}

#[derive(Deserialize)]
struct PlanPointDoc {
    label: String,
    workload: WorkloadDoc,
}

#[derive(Deserialize)]
struct WorkloadDoc {
    partitions: u32,
}

#[derive(Deserialize)]
struct EnvDoc {
    #[serde(default)]
    cores: Option<u32>,
    #[serde(default)]
    memory_bytes: Option<u64>,
}

#[derive(Deserialize)]
struct PointDoc {
    label: String,
    #[serde(default)]
    parameters: Vec<Parameter>,
    stats: BTreeMap<String, Summary>,
}

/// Parses one report or baseline; `path` names it in errors and in the plan.
pub fn parse_measured(text: &str, path: &str) -> Result<MeasuredFile> {
    crate::report::check_schema(text, path)?;
    let de = &mut serde_json::Deserializer::from_str(text);
    let doc: FileDoc = serde_path_to_error::deserialize(de).map_err(|e| PlanError::Parse {
        path: path.to_owned(),
        at: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    let (scenario, info_profile, plan) = match doc.scenario {
        ScenarioDoc::Name(name) => (name, None, None),
        ScenarioDoc::Info { name, profile, plan } => (name, profile, plan),
    };
    let planned: Vec<(String, u32)> =
        plan.map(|p| p.points.into_iter().map(|p| (p.label, p.workload.partitions)).collect()).unwrap_or_default();
    let points = (doc.points.into_iter())
        .map(|p| {
            let partitions = partitions_of(&p, &planned)
                .ok_or_else(|| PlanError::NoPartitions { path: path.to_owned(), point: p.label.clone() })?;
            Ok(MeasuredPoint { label: p.label, partitions, stats: p.stats })
        })
        .collect::<Result<Vec<_>>>()?;
    check_unique_partitions(path, &points)?;
    Ok(MeasuredFile {
        path: path.to_owned(),
        scenario,
        profile: info_profile.or(doc.profile),
        cores: doc.environment.as_ref().and_then(|e| e.cores),
        memory_bytes: doc.environment.as_ref().and_then(|e| e.memory_bytes),
        points,
    })
}

/// The `partitions` matrix value, else `partitions=N` in the label, else the planned
/// workload (scenarios without a partitions axis, e.g. max-throughput-per-partition).
fn partitions_of(point: &PointDoc, planned: &[(String, u32)]) -> Option<u32> {
    let from_parameter =
        (point.parameters.iter()).find(|p| short_key(&p.key) == "partitions").and_then(|p| match p.value {
            Scalar::Int(n) => u32::try_from(n).ok(),
            _ => None,
        });
    let from_label = || {
        (point.label.split(','))
            .filter_map(|part| part.split_once('='))
            .find(|(key, _)| short_key(key.trim()) == "partitions")
            .and_then(|(_, value)| value.trim().parse().ok())
    };
    let from_plan = || planned.iter().find(|(label, _)| *label == point.label).map(|(_, n)| *n);
    from_parameter.or_else(from_label).or_else(from_plan).filter(|n| *n > 0)
}

/// A scaling curve needs one value per partition count; a file with a codec or payload
/// matrix at one partition count would silently pick an arbitrary codec.
fn check_unique_partitions(path: &str, points: &[MeasuredPoint]) -> Result<()> {
    let mut by_count: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for p in points {
        by_count.entry(p.partitions).or_default().push(p.label.clone());
    }
    match by_count.into_iter().find(|(_, labels)| labels.len() > 1) {
        Some((partitions, points)) => Err(PlanError::AmbiguousPartitions { path: path.to_owned(), partitions, points }),
        None => Ok(()),
    }
}

/// Reads and parses one input file.
pub fn load_measured(path: &Path) -> Result<MeasuredFile> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io { path: path.to_owned(), source })?;
    parse_measured(&text, &path.display().to_string())
}

/// Scenario whose results the plan uses when no `--from` is given.
pub const DEFAULT_SCENARIO: &str = "partition-scaling";

/// The newest `reports/partition-scaling/<UTC time>/report.json` (directory names sort
/// by time), else the most thorough committed baseline (full, standard, quick).
pub fn find_default_input(reports: &Path, baselines: &Path) -> Result<PathBuf> {
    let runs = reports.join(DEFAULT_SCENARIO);
    let mut reports_found: Vec<PathBuf> = std::fs::read_dir(&runs)
        .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path().join("report.json")).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    reports_found.sort();
    if let Some(newest) = reports_found.pop() {
        return Ok(newest);
    }
    let baseline_dir = baselines.join(DEFAULT_SCENARIO);
    let baseline =
        ["full", "standard", "quick"].iter().map(|p| baseline_dir.join(format!("{p}.json"))).find(|p| p.is_file());
    baseline.ok_or_else(|| PlanError::NothingMeasured {
        reports: runs.join("*").join("report.json"),
        baselines: baseline_dir.join("<profile>.json"),
    })
}
