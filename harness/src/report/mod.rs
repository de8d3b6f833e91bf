//! Benchmark reports: the [`Report`] data model, the pure functions that fill it from
//! samples, and exporters that render it as JSON, Markdown and SVG charts.
//!
//! Exporters are pure (`&Report` in, bytes out); [`ReportWriter`] is the only code here
//! that touches the file system. The runner rewrites the report after every phase, so a
//! crashed or interrupted run still leaves everything measured so far.
//!
//! Number formatting, legends and the environment table live in `format.rs`, a leaf the
//! exporters share; the exporters (`markdown.rs`, `svg.rs`) call the WAN section
//! (`wan.rs`), which imports neither.

mod bdp;
pub mod continuous;
mod continuous_md;
mod derive;
mod format;
mod json;
mod markdown;
mod model;
pub mod pitr;
pub mod rebalance;
mod svg;
mod wan;
mod writer;

#[cfg(test)]
mod continuous_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wan_tests;

pub use derive::{derive_metrics, evaluate_targets, sample_metrics, summarize};
pub(crate) use format::{legend, num};
pub use json::JsonExporter;
pub use markdown::MarkdownExporter;
pub use model::*;
pub use svg::{SvgChart, SvgExporter};
pub use writer::{ReportWriter, rfc3339_utc, utc_timestamp};

/// Result alias for report rendering and writing.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// Rendering or writing a report failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report could not be serialized.
    #[error("serializing the report: {0}")]
    Json(#[from] serde_json::Error),
    /// A chart could not be drawn.
    #[error("drawing chart '{chart}': {reason}")]
    Chart {
        /// File name of the chart.
        chart: &'static str,
        /// The plotting library's message.
        reason: String,
    },
    /// A report file could not be written.
    #[error("writing {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Renders a report into one output file.
pub trait Exporter {
    /// The file contents.
    fn render(&self, report: &Report) -> Result<Vec<u8>>;

    /// The file name inside the report directory, e.g. `report.md`.
    fn file_name(&self) -> &str;

    /// Whether this output makes sense for the report (a scaling chart needs a
    /// `partitions` axis); inapplicable exporters are skipped by [`ReportWriter`].
    fn applies(&self, _report: &Report) -> bool {
        true
    }
}

/// JSON, Markdown and every SVG chart.
pub fn default_exporters() -> Vec<Box<dyn Exporter>> {
    let mut exporters: Vec<Box<dyn Exporter>> = vec![Box::new(JsonExporter), Box::new(MarkdownExporter)];
    exporters.extend(SvgChart::ALL.into_iter().map(|chart| Box::new(SvgExporter::new(chart)) as Box<dyn Exporter>));
    exporters
}
