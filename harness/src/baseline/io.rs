//! The file system side of baselines: reading reports and baselines (checking their
//! schema version first, so an old file gets a clear message instead of a parse error)
//! and the one writer that stores baselines and comparison outputs.

use super::{Baseline, BaselineError, Result, Statistics};
use crate::report::{Report, check_schema};
use crate::scenario::Profile;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// `report.json` inside a report directory; any other path is taken as the file itself.
pub fn report_file(path: &Path) -> PathBuf {
    if path.is_dir() { path.join("report.json") } else { path.to_owned() }
}

/// Where the baseline of `scenario` / `profile` lives under `dir` (normally `baselines`).
pub fn default_path(dir: &Path, scenario: &str, profile: Profile) -> PathBuf {
    dir.join(scenario).join(format!("{profile}.json"))
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read { path: path.to_owned(), source })?;
    check_schema(&text, &path.display().to_string())?;
    serde_json::from_str(&text).map_err(|source| BaselineError::Parse { path: path.to_owned(), source })
}

/// The full report in `path` (a report directory or its `report.json`).
pub fn read_report(path: &Path) -> Result<Report> {
    read_json(&report_file(path))
}

/// Statistics from a report (directory or `report.json`) or a baseline file.
pub fn read_statistics(path: &Path) -> Result<Statistics> {
    read_json(&report_file(path))
}

/// A baseline file, strictly (unknown fields are errors). A missing file is
/// [`BaselineError::MissingBaseline`], which says how to create one.
pub fn read_baseline(path: &Path) -> Result<Baseline> {
    if !path.exists() {
        return Err(BaselineError::MissingBaseline { path: path.to_owned() });
    }
    read_json(path)
}

/// Writes `bytes` to `path`, creating its directory; through a temporary file and a
/// rename, so a reader (or a crashed run) never leaves half a baseline.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BaselineError::Write { path, source }
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}
