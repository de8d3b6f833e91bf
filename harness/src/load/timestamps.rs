//! Explicit record timestamps (CreateTime) for the load generator (`workload.timestamps`): spread
//! evenly over a span by how far production has got, plus a seeded jitter so, as in real topics,
//! timestamps are slightly out of order and blocks of a backup overlap a window's edges.
//!
//! A record's place in the span is the share of the amount already produced before it (bytes of
//! a `volume`, records of `messages`): record `i` of `n` equal records gets
//! `start + i · span / n`, and the last record stays inside the span whatever the record sizes.
//! The jitter comes from a stream of its own, so the same seed gives the same keys and values
//! with or without timestamps.
//!
//! # References
//! - Kafka record timestamps (CreateTime): KIP-32.

use super::rng::Rng;

/// What the amount of a load is counted in, and how much of it there is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Key + value + header bytes (`workload.volume`).
    Bytes(u64),
    /// Records (`workload.messages`).
    Records(u64),
}

/// How timestamps are spread over one load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampSpread {
    /// Timestamp of the first record, Unix ms.
    pub start_ms: i64,
    /// Span the records are spread over, ms: the last one is before `start_ms + span_ms`.
    pub span_ms: u64,
    /// Each timestamp moves by a uniform draw from `-jitter_ms..=jitter_ms`.
    pub jitter_ms: u64,
    /// The load's whole amount.
    pub over: Progress,
}

/// Seed offset of the jitter's stream ("tstamps!" in ASCII), apart from the records' own.
const JITTER_STREAM: u64 = 0x7473_7461_6d70_7321;

/// Hands out the timestamps of one load in production order.
#[derive(Debug)]
pub struct TimestampClock {
    spread: TimestampSpread,
    jitter: Rng,
    /// Amount produced before the next record, in the unit of `spread.over`.
    done: u64,
}

impl TimestampClock {
    /// A clock at the first record; `seed` is the workload's.
    pub fn new(spread: TimestampSpread, seed: u64) -> Self {
        TimestampClock { spread, jitter: Rng::new(seed ^ JITTER_STREAM), done: 0 }
    }

    /// The timestamp of the next record, which has `bytes` key + value + header bytes.
    pub fn next(&mut self, bytes: u64) -> i64 {
        let s = &self.spread;
        let total = match s.over {
            Progress::Bytes(b) => b,
            Progress::Records(n) => n,
        };
        let at = s.start_ms + spread_offset(self.done, total, s.span_ms);
        self.done += match s.over {
            Progress::Bytes(_) => bytes,
            Progress::Records(_) => 1,
        };
        let jitter =
            if s.jitter_ms == 0 { 0 } else { self.jitter.below(2 * s.jitter_ms + 1) as i64 - s.jitter_ms as i64 };
        at + jitter
    }
}

/// `done / total` of `span_ms`, rounded down; past the end of the amount (a generator may run
/// ahead of the last record produced) the span keeps growing at the same pace.
pub fn spread_offset(done: u64, total: u64, span_ms: u64) -> i64 {
    let total = u128::from(total.max(1));
    let offset = u128::from(done) * u128::from(span_ms) / total;
    i64::try_from(offset).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(over: Progress, jitter_ms: u64) -> TimestampSpread {
        TimestampSpread { start_ms: 1_000_000, span_ms: 3_600_000, jitter_ms, over }
    }

    #[test]
    fn equal_records_are_spread_evenly_over_the_span() {
        let mut clock = TimestampClock::new(spread(Progress::Records(1000), 0), 1);
        let ts: Vec<i64> = (0..1000).map(|_| clock.next(100)).collect();
        assert_eq!(ts[0], 1_000_000);
        assert_eq!(ts[1] - ts[0], 3600);
        assert_eq!(ts[999], 1_000_000 + 999 * 3600);
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn by_bytes_the_last_record_stays_inside_the_span() {
        let mut clock = TimestampClock::new(spread(Progress::Bytes(10_000), 0), 1);
        let sizes = [1000u64, 3000, 500, 4000, 1500];
        let ts: Vec<i64> = sizes.iter().map(|b| clock.next(*b)).collect();
        // 0, 1000, 4000, 4500, 8500 bytes before each record.
        let expected: Vec<i64> = [0, 360_000, 1_440_000, 1_620_000, 3_060_000].iter().map(|o| 1_000_000 + o).collect();
        assert_eq!(ts, expected);
        assert!(*ts.last().unwrap() < 1_000_000 + 3_600_000);
    }

    #[test]
    fn jitter_is_bounded_seeded_and_reorders_neighbours() {
        let draw = |seed| {
            let mut clock = TimestampClock::new(spread(Progress::Records(10_000), 2000), seed);
            (0..10_000).map(|_| clock.next(1)).collect::<Vec<i64>>()
        };
        let (a, b, c) = (draw(1), draw(1), draw(2));
        assert_eq!(a, b, "same seed, same timestamps");
        assert_ne!(a, c);
        for (i, t) in a.iter().enumerate() {
            let even = 1_000_000 + i as i64 * 360;
            assert!((t - even).abs() <= 2000, "record {i}: {t} vs {even}");
        }
        let out_of_order = a.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(out_of_order > 1000, "{out_of_order} neighbours out of order");
        let deviations: Vec<i64> = a.iter().enumerate().map(|(i, t)| t - (1_000_000 + i as i64 * 360)).collect();
        assert!(deviations.iter().any(|d| *d < -1900) && deviations.iter().any(|d| *d > 1900), "both sides used");
    }

    #[test]
    fn offsets_never_overflow() {
        assert_eq!(spread_offset(u64::MAX, u64::MAX, u64::MAX), i64::MAX);
        assert_eq!(spread_offset(5, 0, 10), 50, "an empty amount counts as 1");
        assert_eq!(spread_offset(1, 3, 10), 3);
    }
}
