//! Measured medians of one metric by partition count ([`Series`]), and the list of
//! measurements a plan cites ([`Sources`]): the only place a plan reads input statistics.

use super::fit::Curve;
use super::input::MeasuredFile;
use super::model::Source;
use super::{PlanError, Result};
use crate::scenario::Metric;

/// One metric's measured medians by partition count, with their sources.
pub(super) struct Series {
    pub(super) points: Vec<SeriesPoint>,
    curve: Curve,
}

#[derive(Clone, Copy)]
pub(super) struct SeriesPoint {
    pub(super) partitions: u32,
    pub(super) median: f64,
    pub(super) n: usize,
    pub(super) source: usize,
}

impl Series {
    pub(super) fn at(&self, k: u32) -> f64 {
        self.curve.at(f64::from(k))
    }

    pub(super) fn sources_at(&self, k: u32) -> Vec<usize> {
        self.curve.support(f64::from(k)).into_iter().map(|i| self.points[i].source).collect()
    }

    pub(super) fn max_partitions(&self) -> u32 {
        self.points.last().map_or(0, |p| p.partitions)
    }

    pub(super) fn min_partitions(&self) -> u32 {
        self.points.first().map_or(0, |p| p.partitions)
    }
}

/// Collects the measurements used, deduplicated, so rows can cite them by index.
pub(super) struct Sources<'a> {
    pub(super) inputs: &'a [MeasuredFile],
    pub(super) list: Vec<Source>,
}

impl Sources<'_> {
    /// Medians of `metric` by partition count; for a count measured in several files
    /// the first `--from` file wins. `None` when no input measured it.
    pub(super) fn series(&mut self, metric: Metric) -> Option<Series> {
        let mut points: Vec<SeriesPoint> = Vec::new();
        for file in self.inputs {
            for point in &file.points {
                let Some(summary) = point.stats.get(metric.as_str()) else { continue };
                if !summary.median.is_finite() || points.iter().any(|p| p.partitions == point.partitions) {
                    continue;
                }
                let source = Source {
                    file: file.path.clone(),
                    scenario: file.scenario.clone(),
                    point: point.label.clone(),
                    metric: metric.as_str().to_owned(),
                    median: summary.median,
                    n: summary.n,
                };
                let index = self.add(source);
                points.push(SeriesPoint {
                    partitions: point.partitions,
                    median: summary.median,
                    n: summary.n,
                    source: index,
                });
            }
        }
        points.sort_by_key(|p| p.partitions);
        let curve = Curve::new(points.iter().map(|p| (f64::from(p.partitions), p.median)))?;
        Some(Series { points, curve })
    }

    fn add(&mut self, source: Source) -> usize {
        match self.list.iter().position(|s| *s == source) {
            Some(i) => i,
            None => {
                self.list.push(source);
                self.list.len() - 1
            }
        }
    }

    pub(super) fn require(&mut self, metric: Metric, needed_for: &'static str, phase: &'static str) -> Result<Series> {
        self.series(metric).ok_or_else(|| PlanError::MissingMetric {
            metric: metric.as_str(),
            needed_for,
            phase,
            files: self.inputs.iter().map(|f| f.path.clone()).collect(),
        })
    }
}
