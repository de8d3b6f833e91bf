//! The two curve models a plan uses, as pure functions over measured (x, y) points:
//! piecewise-linear interpolation between measured partition counts, and an ordinary
//! least-squares line (for RSS against partitions).

/// Measured points sorted by x, one per x. Between points the value is interpolated
/// linearly; outside the measured range it is the nearest end's value (callers decide
/// whether that is acceptable and say so).
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    points: Vec<(f64, f64)>,
}

impl Curve {
    /// A curve through `points` (any order); `None` when empty. For a repeated x the
    /// first point wins.
    pub fn new(points: impl IntoIterator<Item = (f64, f64)>) -> Option<Curve> {
        let mut sorted: Vec<(f64, f64)> = Vec::new();
        for (x, y) in points {
            if !sorted.iter().any(|p| p.0 == x) {
                sorted.push((x, y));
            }
        }
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        (!sorted.is_empty()).then_some(Curve { points: sorted })
    }

    /// Indices of the measured points that determine the value at `x`: one when `x` is
    /// measured or outside the range, else the two neighbours.
    pub fn support(&self, x: f64) -> Vec<usize> {
        match self.points.iter().position(|p| p.0 >= x) {
            None => vec![self.points.len() - 1],
            Some(i) if self.points[i].0 == x || i == 0 => vec![i],
            Some(i) => vec![i - 1, i],
        }
    }

    /// The value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        match self.support(x)[..] {
            [i, j] => {
                let ((x0, y0), (x1, y1)) = (self.points[i], self.points[j]);
                y0 + (y1 - y0) * (x - x0) / (x1 - x0)
            }
            [i] => self.points[i].1,
            _ => unreachable!("support has one or two points"),
        }
    }
}

/// `y = intercept + slope · x`, plus the largest amount a measured point lies above
/// the line (added when the line is used as a conservative bound).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearFit {
    /// Value at x = 0.
    pub intercept: f64,
    /// Change per unit of x.
    pub slope: f64,
    /// Largest positive residual (measured − fitted), 0 when every point is on or below.
    pub max_residual: f64,
}

/// Ordinary least squares over `points`; `None` without two distinct x values.
pub fn least_squares(points: &[(f64, f64)]) -> Option<LinearFit> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if points.len() < 2 || sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let max_residual = points.iter().map(|p| p.1 - (intercept + slope * p.0)).fold(0.0, f64::max);
    Some(LinearFit { intercept, slope, max_residual })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_between_and_clamps_outside() {
        let c = Curve::new([(4.0, 40.0), (1.0, 10.0), (2.0, 30.0)]).unwrap();
        assert_eq!(c.at(2.0), 30.0);
        assert_eq!(c.at(3.0), 35.0);
        assert_eq!(c.support(3.0), vec![1, 2]);
        assert_eq!(c.at(0.5), 10.0);
        assert_eq!(c.at(8.0), 40.0);
        assert_eq!(c.support(8.0), vec![2]);
    }

    #[test]
    fn least_squares_recovers_a_line_and_reports_the_worst_residual() {
        let fit = least_squares(&[(1.0, 110.0), (2.0, 120.0), (4.0, 140.0)]).unwrap();
        assert!((fit.intercept - 100.0).abs() < 1e-9 && (fit.slope - 10.0).abs() < 1e-9);
        assert!(fit.max_residual.abs() < 1e-9);
        // Points 0, 10, 0 at x = 0, 1, 2: line y = 10/3, the middle point is 20/3 above it.
        let fit = least_squares(&[(0.0, 0.0), (1.0, 10.0), (2.0, 0.0)]).unwrap();
        assert!(fit.slope.abs() < 1e-9 && (fit.max_residual - 20.0 / 3.0).abs() < 1e-9);
        assert_eq!(least_squares(&[(2.0, 1.0), (2.0, 3.0)]), None);
    }
}
