//! Per-message value sizes: a fixed size, or a log-normal distribution sampled for every
//! message with the generator's seeded PRNG and clamped to the scenario's bounds.

use rand_distr::LogNormal;

use super::rng::Rng;
use crate::scenario::MessageSize;

/// Draws the value size of the next message.
pub fn sample(size: &MessageSize, rng: &mut Rng) -> usize {
    match *size {
        MessageSize::Fixed { bytes } => to_usize(bytes),
        MessageSize::Lognormal { median_bytes, sigma, min_bytes, max_bytes } => {
            // The median of a log-normal is exp(mu). Scenario validation keeps sigma finite and
            // above 0, so `new` cannot fail; the median stands in if it ever did.
            let median = median_bytes as f64;
            let drawn = LogNormal::new(median.ln(), sigma).map_or(median, |d| rng.sample(d));
            // Clamping (rather than redrawing) keeps one draw per message, so the
            // sequence of sizes depends only on the seed; it piles the tails up at the bounds.
            let clamped = drawn.round().clamp(min_bytes as f64, max_bytes as f64);
            to_usize(clamped as u64)
        }
    }
}

fn to_usize(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_sizes_are_fixed() {
        let mut rng = Rng::new(1);
        assert!((0..100).all(|_| sample(&MessageSize::Fixed { bytes: 1000 }, &mut rng) == 1000));
    }

    #[test]
    fn lognormal_samples_stay_in_bounds_and_centre_on_the_median() {
        let size = MessageSize::Lognormal { median_bytes: 4096, sigma: 1.0, min_bytes: 1024, max_bytes: 5 << 20 };
        let mut rng = Rng::new(42);
        let mut xs: Vec<usize> = (0..20_001).map(|_| sample(&size, &mut rng)).collect();
        assert!(xs.iter().all(|x| (1024..=5 << 20).contains(x)));
        xs.sort_unstable();
        // The sample median of 20,001 draws lies within ±2 % of the true one almost always
        // (its standard error in log space is about 0.009); 10 % is a wide margin.
        let median = xs[xs.len() / 2] as f64;
        assert!((median / 4096.0 - 1.0).abs() < 0.10, "median {median}");
        // sigma 1 with min = median / 4: P(X < min) = Φ(-ln 4) ≈ 8 %, all clamped to min.
        let at_min = xs.iter().filter(|x| **x == 1024).count() as f64 / xs.len() as f64;
        assert!((0.05..0.11).contains(&at_min), "share at min {at_min}");
        // Sizes really vary: a spread, not one value.
        assert!(xs[xs.len() * 9 / 10] > 3 * xs[xs.len() / 2]);
    }

    #[test]
    fn tight_bounds_clamp_every_sample() {
        let size = MessageSize::Lognormal { median_bytes: 100, sigma: 3.0, min_bytes: 90, max_bytes: 110 };
        let mut rng = Rng::new(5);
        assert!((0..1000).map(|_| sample(&size, &mut rng)).all(|x| (90..=110).contains(&x)));
    }
}
