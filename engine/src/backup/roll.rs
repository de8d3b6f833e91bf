//! When an open segment is closed ("rolled") and checkpointed: at a size, or, in continuous mode,
//! at an age, so the window of read-but-not-durable data is bounded by time as well as by size.
//!
//! Pure functions of explicit sizes and instants, so the decision is tested without a clock.

use std::time::{Duration, Instant};

/// The limits a segment rolls at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RollLimits {
    /// Stored bytes (header and blocks) at which a segment rolls.
    pub max_bytes: u64,
    /// How long a segment may stay open; `None` in snapshot mode, where a run ends anyway.
    pub max_age: Option<Duration>,
}

/// Why a segment rolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RollReason {
    /// It reached `segment_max_bytes`.
    Size,
    /// It was open for `segment_max_age`.
    Age,
    /// The partition's read ended (snapshot end, stop, or a deleted topic).
    Stop,
}

impl RollReason {
    /// For log lines.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RollReason::Size => "size",
            RollReason::Age => "age",
            RollReason::Stop => "stop",
        }
    }
}

impl RollLimits {
    /// Whether a segment of `bytes_written` bytes, opened at `opened_at`, rolls at `now`.
    /// Size wins when both apply: it is the reason that would have fired without the other.
    pub(crate) fn decide(&self, bytes_written: u64, opened_at: Instant, now: Instant) -> Option<RollReason> {
        if bytes_written >= self.max_bytes {
            return Some(RollReason::Size);
        }
        let age = now.saturating_duration_since(opened_at);
        self.max_age.filter(|max| age >= *max).map(|_| RollReason::Age)
    }

    /// When a segment opened at `opened_at` rolls by age if nothing else happens; `None` when
    /// segments do not age. An idle partition's task sleeps until then.
    pub(crate) fn age_deadline(&self, opened_at: Instant) -> Option<Instant> {
        self.max_age.map(|max| opened_at + max)
    }
}

/// How long the reader may hold records in a partly filled block before handing it on, in
/// continuous mode: a small share of the segment age (so buffering does not stretch the
/// durability window noticeably), at most one second, at least 10 ms.
pub(crate) fn block_linger(segment_max_age: Duration) -> Duration {
    (segment_max_age / 10).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn continuous() -> RollLimits {
        RollLimits { max_bytes: 8 * MIB, max_age: Some(Duration::from_secs(60)) }
    }

    #[test]
    fn rolls_at_size() {
        let t0 = Instant::now();
        let limits = continuous();
        assert_eq!(limits.decide(8 * MIB - 1, t0, t0), None);
        assert_eq!(limits.decide(8 * MIB, t0, t0), Some(RollReason::Size));
        assert_eq!(limits.decide(9 * MIB, t0, t0 + Duration::from_secs(1)), Some(RollReason::Size));
    }

    #[test]
    fn rolls_at_age_even_when_small() {
        let t0 = Instant::now();
        let limits = continuous();
        assert_eq!(limits.decide(100, t0, t0 + Duration::from_millis(59_999)), None);
        assert_eq!(limits.decide(100, t0, t0 + Duration::from_secs(60)), Some(RollReason::Age));
        assert_eq!(limits.decide(100, t0, t0 + Duration::from_secs(600)), Some(RollReason::Age));
        // Both limits reached: reported as size.
        assert_eq!(limits.decide(8 * MIB, t0, t0 + Duration::from_secs(61)), Some(RollReason::Size));
    }

    #[test]
    fn snapshot_segments_never_age() {
        let t0 = Instant::now();
        let limits = RollLimits { max_bytes: 8 * MIB, max_age: None };
        assert_eq!(limits.decide(100, t0, t0 + Duration::from_secs(86_400)), None);
        assert_eq!(limits.age_deadline(t0), None);
        assert_eq!(limits.decide(8 * MIB, t0, t0), Some(RollReason::Size));
    }

    #[test]
    fn a_clock_that_reads_earlier_than_the_open_does_not_roll() {
        let t0 = Instant::now() + Duration::from_secs(5);
        assert_eq!(continuous().decide(100, t0, t0 - Duration::from_secs(5)), None);
    }

    #[test]
    fn deadline_is_open_plus_max_age() {
        let t0 = Instant::now();
        assert_eq!(continuous().age_deadline(t0), Some(t0 + Duration::from_secs(60)));
        let deadline = continuous().age_deadline(t0).unwrap();
        assert_eq!(continuous().decide(1, t0, deadline), Some(RollReason::Age));
    }

    #[test]
    fn linger_is_a_bounded_share_of_the_age() {
        assert_eq!(block_linger(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(block_linger(Duration::from_secs(2)), Duration::from_millis(200));
        assert_eq!(block_linger(Duration::from_millis(50)), Duration::from_millis(10));
    }
}
