//! SVG charts drawn with plotters' SVG backend. Text is emitted as SVG `<text>` elements
//! and laid out with plotters' built-in size estimate, so no font files are needed on
//! the build or CI machine (the `ttf`/`ab_glyph` features stay off).
//!
//! Each chart first extracts plain numbers from the report (testable without drawing),
//! then draws them.

use super::format::{Area, DrawResult, FONT, color, legend, num};
use super::{Exporter, Report, ReportError, Result};
use crate::scenario::{Metric, Phase, short_key};
use crate::stats::median;
use plotters::prelude::*;

const PERCENTILES: [&str; 5] = ["p50", "p90", "p99", "p99.9", "max"];

/// The charts a report can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvgChart {
    /// Backup MB/s against partitions with an ideal linear-scaling line (needs a
    /// `partitions` matrix axis).
    Scaling,
    /// Checkpoint latency percentiles per point.
    CheckpointLatency,
    /// Engine RSS and CPU over time, first repeat of each point.
    Resources,
    /// Compression ratio and backup MB/s per point (needs a codec or payload axis).
    Compression,
    /// Backup and restore MB/s against the simulated RTT, with the BDP ceilings (needs
    /// a `network:` block).
    WanThroughput,
}

impl SvgChart {
    /// Every chart, in the order they are written.
    pub const ALL: [SvgChart; 5] = [
        SvgChart::Scaling,
        SvgChart::CheckpointLatency,
        SvgChart::Resources,
        SvgChart::Compression,
        SvgChart::WanThroughput,
    ];

    /// Output file name.
    pub fn file_name(self) -> &'static str {
        match self {
            SvgChart::Scaling => "throughput-vs-partitions.svg",
            SvgChart::CheckpointLatency => "checkpoint-latency.svg",
            SvgChart::Resources => "resources-over-time.svg",
            SvgChart::Compression => "compression.svg",
            SvgChart::WanThroughput => "throughput-vs-rtt.svg",
        }
    }
}

/// Renders one [`SvgChart`].
#[derive(Clone, Copy, Debug)]
pub struct SvgExporter {
    chart: SvgChart,
}

impl SvgExporter {
    /// An exporter for `chart`.
    pub fn new(chart: SvgChart) -> SvgExporter {
        SvgExporter { chart }
    }

    fn size(&self, report: &Report) -> (u32, u32) {
        match self.chart {
            SvgChart::Scaling | SvgChart::CheckpointLatency | SvgChart::WanThroughput => (900, 560),
            SvgChart::Resources => (900, 720),
            SvgChart::Compression => (1400, 140 + 26 * report.points.len() as u32),
        }
    }

    fn draw(&self, area: &Area<'_>, report: &Report) -> DrawResult {
        area.fill(&WHITE)?;
        match self.chart {
            SvgChart::Scaling => draw_scaling(area, report),
            SvgChart::CheckpointLatency => draw_latency(area, report),
            SvgChart::Resources => draw_resources(area, report),
            SvgChart::Compression => draw_compression(area, report),
            SvgChart::WanThroughput => super::wan::draw(area, report),
        }?;
        area.present()?;
        Ok(())
    }
}

impl Exporter for SvgExporter {
    fn render(&self, report: &Report) -> Result<Vec<u8>> {
        let mut svg = String::new();
        {
            let area = SVGBackend::with_string(&mut svg, self.size(report)).into_drawing_area();
            let chart = self.chart.file_name();
            let fail = |e: Box<dyn std::error::Error>| ReportError::Chart { chart, reason: e.to_string() };
            self.draw(&area, report).map_err(fail)?;
        }
        Ok(svg.into_bytes())
    }

    fn file_name(&self) -> &str {
        self.chart.file_name()
    }

    fn applies(&self, report: &Report) -> bool {
        let plan = &report.scenario.plan;
        match self.chart {
            SvgChart::Scaling => plan.has_axis("partitions") && !scaling_series(report).is_empty(),
            SvgChart::CheckpointLatency => !latency_series(report).is_empty(),
            SvgChart::Resources => !timeline_series(report).is_empty(),
            SvgChart::Compression => {
                let axis = ["codec", "payload", "compression", "compression_level"].iter().any(|k| plan.has_axis(k));
                axis && bars(report, Metric::CompressionRatio).iter().any(|(_, v)| v.is_some())
            }
            SvgChart::WanThroughput => super::wan::applies(report),
        }
    }
}

/// One measured point of a scaling series: (partitions, median, CI low, CI high).
pub(crate) type ScalingPoint = (f64, f64, f64, f64);

/// Backup MB/s by partitions, one series per combination of the other matrix values.
pub(crate) fn scaling_series(report: &Report) -> Vec<(String, Vec<ScalingPoint>)> {
    let mut series: Vec<(String, Vec<ScalingPoint>)> = Vec::new();
    for result in &report.points {
        let Some(s) = result.stats.get(Metric::BackupMbS.as_str()) else { continue };
        let plan_point = report.scenario.plan.points.iter().find(|p| p.label == result.label);
        let Some(partitions) = plan_point.map(|p| f64::from(p.workload.partitions)) else { continue };
        let others: Vec<String> = (result.parameters.iter())
            .filter(|p| short_key(&p.key) != "partitions")
            .map(|p| format!("{}={}", short_key(&p.key), p.value))
            .collect();
        let group = if others.is_empty() { "backup".to_owned() } else { others.join(",") };
        let entry = match series.iter_mut().find(|(g, _)| *g == group) {
            Some(entry) => entry,
            None => {
                series.push((group, Vec::new()));
                series.last_mut().expect("just pushed")
            }
        };
        entry.1.push((partitions, s.median, s.ci_low, s.ci_high));
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

/// Per point, the median over repeats of each checkpoint latency percentile (ms).
pub(crate) fn latency_series(report: &Report) -> Vec<(String, [f64; 5])> {
    let mut out = Vec::new();
    for result in &report.points {
        let all: Vec<[f64; 5]> = (result.samples.iter())
            .filter_map(|s| s.engine(Phase::Backup)?.checkpoint_latency_ms)
            .map(|l| [l.p50, l.p90, l.p99, l.p999, l.max])
            .collect();
        if all.is_empty() {
            continue;
        }
        let column = |i: usize| median(&all.iter().map(|p| p[i]).collect::<Vec<_>>()).unwrap_or(0.0);
        out.push((result.label.clone(), [0, 1, 2, 3, 4].map(column)));
    }
    out
}

/// One timeline row for charts: (t_secs, RSS MB, CPU %).
pub(crate) type UsagePoint = (f64, f64, f64);
/// Selects the plotted value of a [`UsagePoint`].
type Pick = fn(&UsagePoint) -> f64;

/// (series label, [(t_secs, rss MB, cpu %)]) for each engine phase of each point's
/// first repeat: one repeat keeps the chart readable; the tables carry the spread.
pub(crate) fn timeline_series(report: &Report) -> Vec<(String, Vec<UsagePoint>)> {
    let mut out = Vec::new();
    for result in &report.points {
        let Some(sample) = result.samples.first() else { continue };
        for phase in sample.phases.iter().filter(|p| p.phase.is_engine()) {
            let Some(engine) = phase.engine.as_ref().filter(|e| !e.timeline.is_empty()) else { continue };
            let points =
                (engine.timeline.iter()).map(|t| (t.t_secs, t.rss_bytes as f64 / 1e6, t.cpu_percent)).collect();
            out.push((format!("{} {}", result.label, phase.phase), points));
        }
    }
    out
}

/// Median of `metric` per point, in point order.
pub(crate) fn bars(report: &Report, metric: Metric) -> Vec<(String, Option<f64>)> {
    (report.points.iter()).map(|p| (p.label.clone(), p.stats.get(metric.as_str()).map(|s| s.median))).collect()
}

/// First threshold set for `metric` on any point, for a reference line.
fn threshold(report: &Report, metric: Metric) -> Option<(f64, String)> {
    let target = (report.scenario.plan.points.iter()).flat_map(|p| &p.targets).find(|t| t.metric == metric)?;
    Some((target.threshold, format!("target: {} {}", metric, target.expression())))
}

fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, f64::max).max(1e-9)
}

fn draw_scaling(area: &Area<'_>, report: &Report) -> DrawResult {
    let series = scaling_series(report);
    let max_p = max_of(series.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)));
    let ideal = |s: &[ScalingPoint]| -> Vec<(f64, f64)> {
        let (p0, y0) = (s[0].0, s[0].1);
        s.iter().map(|p| (p.0, y0 / p0 * p.0)).collect()
    };
    let max_y = max_of(series.iter().flat_map(|(_, s)| s.iter().map(|p| p.3).chain(ideal(s).into_iter().map(|p| p.1))));
    let mut chart = ChartBuilder::on(area)
        .caption("Backup throughput vs partitions", (FONT, 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..max_p + 0.5, 0f64..max_y * 1.1)?;
    // Partitions are whole numbers: label only integral ticks.
    let whole = |v: &f64| if v.fract() == 0.0 { format!("{v:.0}") } else { String::new() };
    (chart.configure_mesh())
        .light_line_style(WHITE)
        .x_labels(max_p as usize + 2)
        .x_label_formatter(&whole)
        .x_desc("partitions")
        .y_desc("backup MB/s (median, 95% CI)")
        .draw()?;
    for (i, (group, points)) in series.iter().enumerate() {
        let c = color(i);
        let line = points.iter().map(|p| (p.0, p.1));
        chart.draw_series(LineSeries::new(line, c.stroke_width(2)))?.label(group.as_str()).legend(legend(c));
        chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 4, c.filled())))?;
        chart.draw_series(points.iter().map(|p| PathElement::new(vec![(p.0, p.2), (p.0, p.3)], c.stroke_width(1))))?;
        let dashed = DashedLineSeries::new(ideal(points), 6, 4, c.mix(0.5).stroke_width(1));
        chart.draw_series(dashed)?.label(format!("{group}: ideal linear")).legend(legend(c.mix(0.5)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn draw_latency(area: &Area<'_>, report: &Report) -> DrawResult {
    let series = latency_series(report);
    let target = threshold(report, Metric::CheckpointP99Ms);
    let max_y = max_of(series.iter().flat_map(|(_, v)| v.iter().copied()).chain(target.iter().map(|t| t.0)));
    let mut chart = ChartBuilder::on(area)
        .caption("Checkpoint commit latency", (FONT, 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0i32..4i32, 0f64..max_y * 1.15)?;
    let name = |i: &i32| PERCENTILES.get(*i as usize).map_or_else(String::new, |s| (*s).to_owned());
    (chart.configure_mesh())
        .x_labels(5)
        .x_label_formatter(&name)
        .x_desc("percentile")
        .y_desc("ms (median of repeats)")
        .draw()?;
    for (i, (label, values)) in series.iter().enumerate() {
        let c = color(i);
        let points: Vec<(i32, f64)> = values.iter().enumerate().map(|(x, y)| (x as i32, *y)).collect();
        chart.draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))?.label(label.as_str()).legend(legend(c));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 4, c.filled())))?;
    }
    if let Some((value, label)) = target {
        let red = RED.to_rgba();
        chart
            .draw_series(DashedLineSeries::new([(0, value), (4, value)], 8, 5, red.stroke_width(1)))?
            .label(label)
            .legend(legend(red));
    }
    // Latency rises to the right, so the upper left is the emptiest corner.
    (chart.configure_series_labels())
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn draw_resources(area: &Area<'_>, report: &Report) -> DrawResult {
    let series = timeline_series(report);
    let max_t = max_of(series.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)));
    let panels = area.split_evenly((2, 1));
    let specs: [(&str, &str, Pick); 2] = [
        ("Engine memory (first repeat)", "RSS, MB", |p| p.1),
        ("Engine CPU (first repeat, colours as above)", "CPU, % of one core", |p| p.2),
    ];
    for (index, (panel, (title, unit, pick))) in panels.iter().zip(specs).enumerate() {
        let mut max_y = max_of(series.iter().flat_map(|(_, s)| s.iter().map(pick))) * 1.1;
        if index == 0 {
            // Headroom above the lines for the legend (about 16 px per entry of ~300 px).
            let legend_share = ((16 * series.len() + 24) as f64 / 300.0).min(0.6);
            max_y /= 1.0 - legend_share;
        }
        let mut chart = ChartBuilder::on(panel)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..max_t, 0f64..max_y)?;
        chart.configure_mesh().x_desc("seconds since phase start").y_desc(unit).draw()?;
        for (i, (label, points)) in series.iter().enumerate() {
            let c = color(i);
            let line = points.iter().map(|p| (p.0, pick(p)));
            chart.draw_series(LineSeries::new(line, c.stroke_width(2)))?.label(label.as_str()).legend(legend(c));
        }
        // One legend, in the headroom reserved above the memory lines.
        if index == 0 {
            (chart.configure_series_labels())
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .draw()?;
        }
    }
    Ok(())
}

fn draw_compression(area: &Area<'_>, report: &Report) -> DrawResult {
    let (width, _) = area.dim_in_pixel();
    let (left, right) = area.split_horizontally(width / 2);
    let ratio_target = threshold(report, Metric::CompressionRatio);
    draw_bars(
        &left,
        "Compression ratio (median)",
        "payload bytes / stored bytes",
        &bars(report, Metric::CompressionRatio),
        ratio_target,
    )?;
    draw_bars(&right, "Backup throughput (median)", "MB/s", &bars(report, Metric::BackupMbS), None)
}

/// Horizontal bars, first point at the top, with the value printed at each bar's end.
fn draw_bars(
    area: &Area<'_>,
    title: &str,
    unit: &str,
    data: &[(String, Option<f64>)],
    target: Option<(f64, String)>,
) -> DrawResult {
    let n = data.len();
    // Rows count from the bottom, so the first point gets the highest row.
    let row = |i: usize| n - 1 - i;
    // Integer ranges are inclusive in plotters (0..k has k + 1 rows); a single row would
    // make the range empty, so it keeps one blank row above it.
    let last_row = n.saturating_sub(1).max(1);
    let max_x = max_of(data.iter().filter_map(|d| d.1).chain(target.iter().map(|t| t.0)));
    let label_width = 40 + 6 * data.iter().map(|d| d.0.len()).max().unwrap_or(0) as u32;
    let unit = match &target {
        Some((_, label)) => format!("{unit} (dashed line: {label})"),
        None => unit.to_owned(),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(label_width)
        .build_cartesian_2d(0f64..max_x * 1.2, (0..last_row).into_segmented())?;
    let label = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(r) if *r < n => data[row(*r)].0.clone(),
        _ => String::new(),
    };
    (chart.configure_mesh()).disable_y_mesh().y_labels(last_row + 1).y_label_formatter(&label).x_desc(unit).draw()?;
    let top = |r: usize| if r >= last_row { SegmentValue::Last } else { SegmentValue::Exact(r + 1) };
    let present: Vec<(usize, f64)> = data.iter().enumerate().filter_map(|(i, d)| d.1.map(|v| (row(i), v))).collect();
    let c = color(3);
    chart.draw_series(present.iter().map(|&(r, v)| {
        let mut bar = Rectangle::new([(0.0, SegmentValue::Exact(r)), (v, top(r))], c.filled());
        bar.set_margin(3, 3, 0, 0);
        bar
    }))?;
    let text = |&(r, v): &(usize, f64)| Text::new(format!(" {}", num(v)), (v, SegmentValue::CenterOf(r)), (FONT, 12));
    chart.draw_series(present.iter().map(text))?;
    if let Some((value, _)) = target {
        let line = [(value, SegmentValue::Exact(0)), (value, SegmentValue::Last)];
        chart.draw_series(DashedLineSeries::new(line, 8, 5, RED.to_rgba().stroke_width(1)))?;
    }
    Ok(())
}
