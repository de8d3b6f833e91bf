//! [`ReportWriter`]: the only file-system code of the report module. It writes every
//! applicable exporter's output into `reports/<scenario>/<UTC timestamp>/`.

use super::{Exporter, Report, ReportError, Result, default_exporters};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes all outputs of one run into its own directory; call [`ReportWriter::write`]
/// as often as needed (the runner does after each phase).
pub struct ReportWriter {
    dir: PathBuf,
    exporters: Vec<Box<dyn Exporter>>,
}

impl ReportWriter {
    /// A writer for `root/<scenario>/<started as UTC timestamp>/` with the default
    /// exporters (JSON, Markdown, every chart). Nothing is created until `write`.
    pub fn new(root: &Path, scenario: &str, started: SystemTime) -> ReportWriter {
        let dir = root.join(scenario).join(utc_timestamp(started));
        ReportWriter { dir, exporters: default_exporters() }
    }

    /// Replaces the exporters (default: [`default_exporters`]).
    pub fn with_exporters(mut self, exporters: Vec<Box<dyn Exporter>>) -> ReportWriter {
        self.exporters = exporters;
        self
    }

    /// The run's report directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Renders every applicable exporter and (re)writes its file. Each file is written
    /// to a temporary name and renamed, so a reader never sees a half-written report.
    /// Returns the paths written.
    pub fn write(&self, report: &Report) -> Result<Vec<PathBuf>> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| ReportError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let mut written = Vec::new();
        for exporter in self.exporters.iter().filter(|e| e.applies(report)) {
            let bytes = exporter.render(report)?;
            let path = self.dir.join(exporter.file_name());
            let tmp = self.dir.join(format!(".{}.tmp", exporter.file_name()));
            std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Splits a time into UTC (year, month, day, hour, minute, second); times before 1970
/// are clamped to the epoch (no benchmark ran then).
fn utc_parts(time: SystemTime) -> (i64, u64, u64, u64, u64, u64) {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days: days since 1970-01-01 to a Gregorian date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe as i64 + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem / 60 % 60, rem % 60)
}

/// A sortable, path-safe UTC timestamp for directory names: `2025-01-31T12-00-00Z`.
pub fn utc_timestamp(time: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(time);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}-{mi:02}-{s:02}Z")
}

/// RFC 3339 UTC time for `Report::started_at`: `2025-01-31T12:00:00Z`.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(time);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(utc_timestamp(at(0)), "1970-01-01T00-00-00Z");
        // 2000-02-29 (leap day) 12:34:56 UTC.
        assert_eq!(rfc3339_utc(at(951_827_696)), "2000-02-29T12:34:56Z");
        // 2024-12-31 23:59:59 UTC.
        assert_eq!(utc_timestamp(at(1_735_689_599)), "2024-12-31T23-59-59Z");
    }
}
