//! What the report's renderers share: number formatting, the environment table and the
//! basics of the SVG charts (drawing area, font, palette, legend marks). A leaf module: it
//! imports none of the exporters, so `markdown.rs`, `svg.rs` and `wan.rs` need not import
//! one another for these.

use super::Report;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt::Write;

/// What a chart's drawing code returns: plotters' errors, boxed.
pub(super) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// The drawing area every chart is drawn on.
pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Generic family, so no font file is needed to draw or to view.
pub(super) const FONT: &str = "sans-serif";

/// Three significant-ish digits: enough to compare runs, not more than repeats justify.
pub(crate) fn num(x: f64) -> String {
    match x.abs() {
        a if a >= 1000.0 => format!("{x:.0}"),
        a if a >= 100.0 => format!("{x:.1}"),
        a if a >= 1.0 => format!("{x:.2}"),
        _ => format!("{x:.3}"),
    }
}

/// [`num`], or a dash when there is no value.
pub(super) fn opt_num(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), num)
}

/// The `i`th colour of the charts' series.
pub(super) fn color(i: usize) -> RGBAColor {
    Palette99::pick(i).to_rgba()
}

/// A short line in the series' colour, for legends.
pub(crate) fn legend(color: RGBAColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

/// The `## Environment` Markdown table: machine, software versions and start time.
pub(super) fn environment(out: &mut String, report: &Report) {
    let env = &report.environment;
    let unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_owned());
    let rows = [
        ("CPU", format!("{} ({} cores)", env.cpu_model, env.cores)),
        ("Memory", crate::scenario::units::format_bytes(env.memory_bytes)),
        ("Kernel", env.kernel.clone()),
        ("Rust", env.rustc.clone()),
        ("kbackup", format!("`{}`", env.kbackup_git_sha)),
        ("Tansu", unknown(&env.tansu_version)),
        ("Garage", unknown(&env.garage_version)),
        ("Services", format!("{:?}", env.kind).to_lowercase()),
        ("Started", report.started_at.clone()),
    ];
    let _ = writeln!(out, "## Environment\n\n| | |\n|---|---|");
    for (name, value) in rows {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    out.push('\n');
}
