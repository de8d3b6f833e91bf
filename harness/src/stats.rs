//! Summary statistics over repeated measurements: pure functions over `f64` slices.
//!
//! Benchmarks here have few repeats (3–5) and occasional outliers (a GC pause in the
//! broker, a noisy neighbour), so the median and MAD lead, the mean and CV are kept for
//! noise detection, and the confidence interval of the median is bootstrapped rather
//! than derived from a normality assumption. The bootstrap uses a fixed seed so the
//! same samples always give the same report.
//!
//! # References
//! - Efron & Tibshirani, *An Introduction to the Bootstrap* (1993), percentile intervals.

use rand::{RngExt as _, SeedableRng as _};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Resamples drawn for the bootstrap confidence interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;
/// Seed of the bootstrap generator; fixed so reports are reproducible.
pub const BOOTSTRAP_SEED: u64 = 0x6b62_6163_6b75_7021;

/// Summary of one metric over the repeats of one matrix point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of finite values summarised.
    pub n: usize,
    /// Median (mean of the two middle values for even `n`).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    /// Coefficient of variation: sample standard deviation / mean (0 when `n < 2`).
    pub cv: f64,
    /// Lower bound of the 95% bootstrap percentile interval of the median.
    pub ci_low: f64,
    /// Upper bound of the 95% bootstrap percentile interval of the median.
    pub ci_high: f64,
}

impl Summary {
    /// Summarises `values`, ignoring non-finite entries (a failed repeat may report NaN
    /// and must not poison the others). `None` when no finite value is left.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let median = median(&finite)?;
        let mean = mean(&finite)?;
        let (ci_low, ci_high) = bootstrap_median_ci(&finite, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)?;
        Some(Summary {
            n: finite.len(),
            median,
            min: min(&finite)?,
            max: max(&finite)?,
            mean,
            mad: mad(&finite)?,
            cv: cv(&finite)?,
            ci_low,
            ci_high,
        })
    }
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

fn median_of_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Median; `None` for an empty slice.
pub fn median(values: &[f64]) -> Option<f64> {
    median_of_sorted(&sorted(values))
}

/// Smallest value; `None` for an empty slice.
pub fn min(values: &[f64]) -> Option<f64> {
    values.iter().copied().min_by(f64::total_cmp)
}

/// Largest value; `None` for an empty slice.
pub fn max(values: &[f64]) -> Option<f64> {
    values.iter().copied().max_by(f64::total_cmp)
}

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Median absolute deviation from the median (not scaled to σ).
pub fn mad(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median(&deviations)
}

/// Sample standard deviation (n − 1 denominator); 0 for a single value.
pub fn stddev(values: &[f64]) -> Option<f64> {
    let m = mean(values)?;
    if values.len() < 2 {
        return Some(0.0);
    }
    let ss: f64 = values.iter().map(|v| (v - m).powi(2)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// Coefficient of variation, stddev / |mean|; 0 for a single value or a zero mean
/// (a zero mean only happens for metrics that were not measured).
pub fn cv(values: &[f64]) -> Option<f64> {
    let m = mean(values)?;
    let sd = stddev(values)?;
    Some(if m == 0.0 { 0.0 } else { sd / m.abs() })
}

/// The `p` quantile (0..=1) with linear interpolation between closest ranks; `None` for an
/// empty slice or a `p` outside 0..=1. Non-finite values are left out.
pub fn quantile(values: &[f64], p: f64) -> Option<f64> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    ((0.0..=1.0).contains(&p) && !finite.is_empty()).then(|| percentile_of_sorted(&sorted(&finite), p))
}

/// Percentile of sorted data with linear interpolation between closest ranks.
fn percentile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    let rank = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// 95% percentile-bootstrap confidence interval of the median: `resamples` resamples
/// with replacement, deterministic for a given `seed`. `None` for an empty slice.
pub fn bootstrap_median_ci(values: &[f64], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    let n = values.len();
    if n == 0 || resamples == 0 {
        return None;
    }
    // xoshiro256++ is fixed by its specification; rand keeps `random_range` value-stable within a
    // minor version (pinned in Cargo.lock), so stored reports re-compute to the same interval.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut scratch = vec![0.0; n];
    let mut medians: Vec<f64> = (0..resamples)
        .map(|_| {
            for slot in scratch.iter_mut() {
                *slot = values[rng.random_range(..n)];
            }
            scratch.sort_by(f64::total_cmp);
            median_of_sorted(&scratch).unwrap_or(f64::NAN)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    Some((percentile_of_sorted(&medians, 0.025), percentile_of_sorted(&medians, 0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn odd_sample_with_outlier() {
        let v = [4.0, 1.0, 100.0, 3.0, 2.0];
        assert_eq!(median(&v), Some(3.0));
        assert_eq!(min(&v), Some(1.0));
        assert_eq!(max(&v), Some(100.0));
        assert_eq!(mean(&v), Some(22.0));
        // |x - 3| = 1, 2, 97, 0, 1 → sorted 0, 1, 1, 2, 97 → median 1.
        assert_eq!(mad(&v), Some(1.0));
        // Squared deviations from 22: 324 + 441 + 6084 + 361 + 400 = 7610; / 4 = 1902.5.
        assert!(close(stddev(&v).unwrap(), 1902.5f64.sqrt()));
        assert!(close(cv(&v).unwrap(), 1902.5f64.sqrt() / 22.0));
    }

    #[test]
    fn even_sample() {
        let v = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(median(&v), Some(25.0));
        // |x - 25| = 15, 5, 5, 15 → median 10.
        assert_eq!(mad(&v), Some(10.0));
        // Squared deviations: 225 + 25 + 25 + 225 = 500; / 3.
        assert!(close(cv(&v).unwrap(), (500.0f64 / 3.0).sqrt() / 25.0));
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(median(&[]), None);
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[f64::NAN]), None);
        let s = Summary::of(&[7.5]).unwrap();
        assert_eq!((s.n, s.median, s.mad, s.cv), (1, 7.5, 0.0, 0.0));
        assert_eq!((s.ci_low, s.ci_high), (7.5, 7.5));
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let s = Summary::of(&[1.0, f64::NAN, 3.0, f64::INFINITY]).unwrap();
        assert_eq!((s.n, s.median, s.max), (2, 2.0, 3.0));
    }

    #[test]
    fn bootstrap_of_two_values_spans_both() {
        // Resample medians of [1, 3] are 1 (p = 1/4), 2 (p = 1/2) or 3 (p = 1/4); with
        // 2,000 draws both tails hold far more than 2.5%, so the interval is [1, 3].
        assert_eq!(bootstrap_median_ci(&[1.0, 3.0], 2_000, 42), Some((1.0, 3.0)));
    }

    #[test]
    fn bootstrap_is_deterministic_and_brackets_the_median() {
        let v = [101.0, 97.0, 104.0, 99.0, 100.0, 98.0, 180.0];
        let a = bootstrap_median_ci(&v, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        let b = bootstrap_median_ci(&v, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        assert_eq!(a, b);
        let m = median(&v).unwrap();
        assert!(a.0 <= m && m <= a.1, "{a:?} vs {m}");
        assert!(a.0 >= 97.0 && a.1 <= 104.0, "the outlier must not reach the median's CI: {a:?}");
        assert_eq!(bootstrap_median_ci(&[5.0; 4], 100, 1), Some((5.0, 5.0)));
    }
}
