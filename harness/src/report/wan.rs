//! The WAN section of a report: backup and restore throughput against the simulated
//! round-trip time, next to the bandwidth-delay-product ceiling of the engine's windows
//! (see [`super::bdp`]), as a Markdown section and the `throughput-vs-rtt.svg` chart.
//! Pure: rows are extracted from the report, then rendered.

use super::bdp::{self, Ceiling};
use super::format::{Area, DrawResult, FONT, color, legend, num};
use super::{PointResult, Report};
use crate::scenario::{Link, Metric, Network, Phase, short_key};
use crate::stats::Summary;
use plotters::prelude::*;
use std::fmt::Write;

/// One operation at one point: measured median (with CI) and its ceiling.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Measured {
    /// Median MB/s and its 95% CI, when measured.
    pub stats: Option<(f64, f64, f64)>,
    /// BDP ceiling at this point.
    pub ceiling: Ceiling,
}

/// One point of a network scenario.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WanRow {
    /// The point's label.
    pub label: String,
    /// The other matrix values (series key), "" without other axes.
    pub group: String,
    /// Network conditions.
    pub network: Network,
    /// Backup.
    pub backup: Measured,
    /// Restore.
    pub restore: Measured,
}

fn ci(s: Option<&Summary>) -> Option<(f64, f64, f64)> {
    s.map(|s| (s.median, s.ci_low, s.ci_high))
}

/// One row per point that simulates a network, in plan order.
pub(crate) fn rows(report: &Report) -> Vec<WanRow> {
    let tansu = report.environment.tansu_version.is_some();
    let mut out = Vec::new();
    for point in &report.scenario.plan.points {
        let Some(network) = &point.network else { continue };
        let result = report.points.iter().find(|r| r.label == point.label);
        let stat = |m: Metric| result.and_then(|r| r.stats.get(m.as_str()));
        let ratio = stat(Metric::CompressionRatio).map_or(1.0, |s| s.median);
        let measured = |metric: Metric, phase: Phase| Measured {
            stats: ci(stat(metric)),
            ceiling: bdp::ceiling(point, network, phase, ratio, tansu),
        };
        let group: Vec<String> = (point.parameters.iter())
            .filter(|p| p.key != "network.rtt")
            .map(|p| format!("{}={}", short_key(&p.key), p.value))
            .collect();
        out.push(WanRow {
            label: point.label.clone(),
            group: group.join(","),
            network: network.clone(),
            backup: measured(Metric::BackupMbS, Phase::Backup),
            restore: measured(Metric::RestoreMbS, Phase::Restore),
        });
    }
    out
}

fn ceiling_cell(c: &Ceiling) -> String {
    c.binding().map_or_else(|| "none".to_owned(), |b| num(b.mb_s))
}

fn share(m: &Measured) -> String {
    match (m.stats, m.ceiling.binding()) {
        (Some((median, _, _)), Some(b)) if b.mb_s > 0.0 => format!("{:.1}%", median / b.mb_s * 100.0),
        _ => "–".to_owned(),
    }
}

/// Per link, what the proxy recorded in `phase` over all repeats: (mean one-way delay
/// ms, MB forwarded).
fn proxy_record(result: &PointResult, phase: Phase, link: Link) -> Option<(f64, f64)> {
    let records: Vec<_> = (result.samples.iter())
        .filter_map(|s| s.phase(phase))
        .flat_map(|p| p.network.iter().filter(|l| l.link == link))
        .collect();
    let chunks: u64 = records.iter().map(|r| r.chunks).sum();
    if chunks == 0 {
        return None;
    }
    let delay: f64 = records.iter().map(|r| r.mean_delay_ms * r.chunks as f64).sum::<f64>() / chunks as f64;
    let mb: f64 = records.iter().map(|r| (r.bytes_to_client + r.bytes_to_server) as f64 / 1e6).sum();
    Some((delay, mb))
}

/// The `## WAN` Markdown section; nothing when no point simulates a network.
pub(crate) fn markdown(out: &mut String, report: &Report) {
    let rows = rows(report);
    let Some(first) = rows.first() else { return };
    let _ = writeln!(out, "## WAN: throughput vs added RTT\n");
    let _ = writeln!(
        out,
        "The harness's TCP proxy adds the RTT (half each way) on the {} link(s), jitter ± {} ms, {}; \
         loading and verifying the topic run unshaped. The ceiling is the bandwidth-delay product of \
         the engine's configured windows (window ÷ round trip), the smallest that applies; \"none\" \
         means the simulated link adds no bound.\n",
        first.network.links.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(" and "),
        first.network.jitter_ms,
        first.network.bandwidth_bytes_per_sec.map_or("no bandwidth cap".to_owned(), |b| format!(
            "bandwidth capped at {} MB/s per direction",
            b as f64 / 1e6
        )),
    );
    let _ = writeln!(
        out,
        "| Point | Added RTT (ms) | Backup MB/s | Backup ceiling | Backup / ceiling | Restore MB/s | \
         Restore ceiling | Restore / ceiling |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let med = |m: &Measured| m.stats.map_or_else(|| "–".to_owned(), |s| num(s.0));
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.network.rtt_ms,
            med(&r.backup),
            ceiling_cell(&r.backup.ceiling),
            share(&r.backup),
            med(&r.restore),
            ceiling_cell(&r.restore.ceiling),
            share(&r.restore)
        );
    }
    let _ = writeln!(out, "\nBinding window per point (MB/s; every applicable bound in brackets):\n");
    for r in &rows {
        for (op, m) in [("backup", &r.backup), ("restore", &r.restore)] {
            let Some(b) = m.ceiling.binding() else { continue };
            let others: Vec<String> =
                m.ceiling.bounds[1..].iter().map(|o| format!("{}: {}", o.formula, num(o.mb_s))).collect();
            let rest = if others.is_empty() { String::new() } else { format!(" [{}]", others.join("; ")) };
            let _ = writeln!(out, "- {} {op}: **{}** = {}{rest}", r.label, num(b.mb_s), b.formula);
        }
    }
    proxy_table(out, report, &rows);
    out.push('\n');
}

fn proxy_table(out: &mut String, report: &Report, rows: &[WanRow]) {
    let _ = writeln!(out, "\nWhat the proxy recorded (mean one-way delay it scheduled per chunk, MB it forwarded):\n");
    let _ = writeln!(
        out,
        "| Point | Phase | Kafka delay ms | Kafka MB | S3 delay ms | S3 MB |\n|---|---|---:|---:|---:|---:|"
    );
    for r in rows {
        let Some(result) = report.points.iter().find(|p| p.label == r.label) else { continue };
        for phase in [Phase::Backup, Phase::Restore, Phase::RawConsume, Phase::RawProduce] {
            let cells = Link::ALL.map(|l| proxy_record(result, phase, l));
            if cells.iter().all(Option::is_none) {
                continue;
            }
            let cell = |c: Option<(f64, f64)>| {
                c.map_or_else(|| "– | –".to_owned(), |(d, mb)| format!("{} | {}", num(d), num(mb)))
            };
            let _ = writeln!(out, "| {} | {phase} | {} | {} |", r.label, cell(cells[0]), cell(cells[1]));
        }
    }
}

/// Whether the chart has anything to show.
pub(crate) fn applies(report: &Report) -> bool {
    rows(report).iter().any(|r| r.backup.stats.is_some() || r.restore.stats.is_some())
}

/// Throughput vs RTT with CI whiskers, and each operation's ceiling as a dashed line
/// (clipped at the top of the chart, which is scaled to the measurements).
pub(crate) fn draw(area: &Area<'_>, report: &Report) -> DrawResult {
    let rows = rows(report);
    let max_x = rows.iter().map(|r| r.network.rtt_ms).fold(0.0, f64::max).max(1.0);
    let measured = rows.iter().flat_map(|r| [r.backup.stats, r.restore.stats]).flatten();
    let top = measured.map(|s| s.2).fold(0.0, f64::max).max(1e-6) * 1.6;
    let mut chart = ChartBuilder::on(area)
        .caption("Throughput vs added round-trip time", (FONT, 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(-max_x * 0.03..max_x * 1.05, 0f64..top)?;
    (chart.configure_mesh()).light_line_style(WHITE).x_desc("added RTT, ms").y_desc("MB/s (median, 95% CI)").draw()?;
    let mut groups: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    groups.dedup();
    let mut index = 0;
    for group in groups {
        let of_group: Vec<&WanRow> = rows.iter().filter(|r| r.group == group).collect();
        for (op, pick) in
            [("backup", (|r: &WanRow| &r.backup) as fn(&WanRow) -> &Measured), ("restore", |r| &r.restore)]
        {
            let c = color(index);
            index += 1;
            let name = if group.is_empty() { op.to_owned() } else { format!("{group} {op}") };
            let pts: Vec<(f64, (f64, f64, f64))> =
                of_group.iter().filter_map(|r| pick(r).stats.map(|s| (r.network.rtt_ms, s))).collect();
            let line = pts.iter().map(|(x, s)| (*x, s.0));
            chart.draw_series(LineSeries::new(line, c.stroke_width(2)))?.label(name.clone()).legend(legend(c));
            chart.draw_series(pts.iter().map(|(x, s)| Circle::new((*x, s.0), 4, c.filled())))?;
            chart.draw_series(
                pts.iter().map(|(x, s)| PathElement::new(vec![(*x, s.1), (*x, s.2)], c.stroke_width(1))),
            )?;
            let ceiling: Vec<(f64, f64)> = (of_group.iter())
                .filter_map(|r| pick(r).ceiling.binding().map(|b| (r.network.rtt_ms, b.mb_s.min(top))))
                .collect();
            if !ceiling.is_empty() {
                let faded = c.mix(0.6);
                let dashed = DashedLineSeries::new(ceiling.clone(), 6, 4, faded.stroke_width(2));
                let label = format!("{name}: BDP ceiling (clipped at the top)");
                chart.draw_series(dashed)?.label(label).legend(legend(faded));
                chart.draw_series(ceiling.into_iter().map(|p| Cross::new(p, 4, faded.stroke_width(1))))?;
            }
        }
    }
    (chart.configure_series_labels())
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
