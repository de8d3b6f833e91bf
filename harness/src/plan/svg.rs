//! `plan.svg`: measured backup MB/s against partitions per instance, next to the
//! capacity an instance needs (load ÷ usable fraction) and the MB/s the CPU budget
//! sustains; the chosen partitions per instance and the memory limit are marked.
//! Drawn with plotters' SVG backend (no font files needed).

use super::model::{BoundKind, CapacityPlan};
use super::{PlanError, Result};
use crate::report::legend;
use plotters::prelude::*;

const FONT: &str = "sans-serif";

/// The chart's numbers, extracted from the plan so they can be checked without drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartData {
    /// (partitions, measured backup MB/s).
    pub measured: Vec<(f64, f64)>,
    /// (partitions, MB/s an instance needs with headroom).
    pub needed: Vec<(f64, f64)>,
    /// (partitions, MB/s the CPU budget sustains at the measured CPU-s/GB).
    pub cpu_capacity: Vec<(f64, f64)>,
    /// Chosen partitions per instance.
    pub chosen: f64,
    /// Memory limit on partitions per instance, when reached within the chart.
    pub memory_limit: Option<f64>,
    /// Right end of the x axis.
    pub max_x: f64,
}

/// Extracts the plotted series from `plan`.
pub fn chart_data(plan: &CapacityPlan) -> ChartData {
    let measured: Vec<(f64, f64)> =
        plan.scaling.iter().filter_map(|s| s.backup_mb_s.map(|b| (f64::from(s.partitions), b))).collect();
    let cpu_capacity = (plan.scaling.iter())
        .filter_map(|s| s.cpu_seconds_per_gb.map(|c| (f64::from(s.partitions), plan.budget.cpu_cores * 1000.0 / c)))
        .collect();
    let max_measured = measured.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_x = max_measured.max(f64::from(plan.partitions_per_instance)) + 1.0;
    let per_partition = plan.per_partition_mb_s / plan.request.usable_fraction();
    let needed = vec![(0.0, 0.0), (max_x, max_x * per_partition)];
    let memory_limit = (plan.bounds.iter())
        .find(|b| b.kind == BoundKind::Memory && !b.open && f64::from(b.max_partitions) <= max_x)
        .map(|b| f64::from(b.max_partitions));
    ChartData { measured, needed, cpu_capacity, chosen: f64::from(plan.partitions_per_instance), memory_limit, max_x }
}

/// The SVG document.
pub fn render_svg(plan: &CapacityPlan) -> Result<String> {
    let data = chart_data(plan);
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        draw(&area, &data).map_err(|e| PlanError::Chart(e.to_string()))?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw(area: &Area<'_>, d: &ChartData) -> std::result::Result<(), Box<dyn std::error::Error>> {
    area.fill(&WHITE)?;
    // The CPU line can be far above the rest with a large budget; it is clipped at twice
    // the highest measured point so the measured curve stays readable.
    let top_measured = d.measured.iter().map(|p| p.1).fold(0.0, f64::max);
    let top = d.needed.iter().map(|p| p.1).fold(top_measured, f64::max).min(top_measured * 2.0).max(1e-6) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption("Partitions per instance: measured capacity vs what the plan needs", (FONT, 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..d.max_x, 0f64..top)?;
    let whole = |v: &f64| if v.fract() == 0.0 { format!("{v:.0}") } else { String::new() };
    (chart.configure_mesh())
        .x_labels(d.max_x as usize + 1)
        .x_label_formatter(&whole)
        .x_desc("partitions per instance")
        .y_desc("MB/s")
        .draw()?;
    let blue = BLUE.to_rgba();
    chart
        .draw_series(LineSeries::new(d.measured.iter().copied(), blue.stroke_width(2)))?
        .label("measured backup MB/s (median)")
        .legend(legend(blue));
    chart.draw_series(d.measured.iter().map(|p| Circle::new(*p, 4, blue.filled())))?;
    let red = RED.to_rgba();
    chart
        .draw_series(DashedLineSeries::new(d.needed.iter().copied(), 8, 5, red.stroke_width(2)))?
        .label("needed: load ÷ (1 − headroom)")
        .legend(legend(red));
    let green = GREEN.mix(0.8);
    let cpu: Vec<(f64, f64)> = d.cpu_capacity.iter().map(|p| (p.0, p.1.min(top * 0.97))).collect();
    chart
        .draw_series(LineSeries::new(cpu, green.stroke_width(2)))?
        .label("CPU budget sustains (clipped at chart top)")
        .legend(legend(green));
    let black = BLACK.to_rgba();
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(d.chosen, 0.0), (d.chosen, top)], black.stroke_width(2))))?
        .label(format!("chosen: {} partitions per instance", d.chosen))
        .legend(legend(black));
    if let Some(m) = d.memory_limit {
        let purple = MAGENTA.to_rgba();
        chart
            .draw_series(DashedLineSeries::new([(m, 0.0), (m, top)], 4, 4, purple.stroke_width(2)))?
            .label(format!("memory limit: {m} partitions"))
            .legend(legend(purple));
    }
    (chart.configure_series_labels())
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    area.present()?;
    Ok(())
}
