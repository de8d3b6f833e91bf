//! The load generator's seeded pseudo-random numbers: a xoshiro256++ stream (`rand_xoshiro`) and
//! the few draws the payload generators need. Everything generated for a workload comes from one
//! of these, so a seed fixes the data byte for byte.

use rand::distr::Distribution;
use rand::{Rng as _, RngExt as _, SeedableRng as _};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A seeded generator; not meant for cryptography.
#[derive(Debug, Clone)]
pub struct Rng(Xoshiro256PlusPlus);

impl Rng {
    /// A generator; the same seed gives the same sequence. Any seed works, 0 included.
    pub fn new(seed: u64) -> Self {
        Self(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0.random_range(..n)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.0.random_range(..items.len())]
    }

    /// One draw from `distribution`.
    pub fn sample<T>(&mut self, distribution: impl Distribution<T>) -> T {
        self.0.sample(distribution)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0; n];
        self.0.fill_bytes(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_different_seed_different_sequence() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..100).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(xs, (0..100).map(|_| c.next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn bounded_draws_cover_their_range() {
        let mut rng = Rng::new(3);
        let mut seen = [0usize; 10];
        for _ in 0..10_000 {
            seen[rng.below(10) as usize] += 1;
        }
        // 1,000 expected per value, standard deviation about 30: 800 is more than 6 of them away.
        assert!(seen.iter().all(|n| *n > 800), "{seen:?}");
        assert_eq!(rng.bytes(5).len(), 5);
    }
}
