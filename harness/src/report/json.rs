//! `report.json`: the full report, pretty-printed, the input for later comparisons.

use super::{Exporter, Report, Result};

/// Pretty JSON of the whole [`Report`].
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(report)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    fn file_name(&self) -> &str {
        "report.json"
    }
}
