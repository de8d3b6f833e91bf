//! The pure parts of traffic shaping: per-direction settings, the token bucket that
//! enforces a bandwidth cap, the jitter source and the delay-line schedule. No I/O and
//! no clock reads here: callers pass `Instant`s in, so everything is testable exactly.

use std::time::{Duration, Instant};

/// Shaping of one direction of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionShape {
    /// Added one-way delay of every chunk.
    pub latency: Duration,
    /// Each chunk's delay varies uniformly by up to ± this much (never below zero).
    pub jitter: Duration,
    /// Bandwidth cap in bytes per second; `None` is unlimited.
    pub bandwidth: Option<u64>,
}

/// Shaping of both directions: `upstream` carries client → server bytes, `downstream`
/// server → client bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shaping {
    /// Client → server.
    pub upstream: DirectionShape,
    /// Server → client.
    pub downstream: DirectionShape,
}

impl Shaping {
    /// No added latency, no jitter, no cap: the proxy only copies bytes.
    pub const NONE: Shaping = Shaping {
        upstream: DirectionShape { latency: Duration::ZERO, jitter: Duration::ZERO, bandwidth: None },
        downstream: DirectionShape { latency: Duration::ZERO, jitter: Duration::ZERO, bandwidth: None },
    };

    /// A symmetric link: half the round-trip time each way, the same jitter and cap in
    /// both directions.
    pub fn symmetric(rtt: Duration, jitter: Duration, bandwidth: Option<u64>) -> Shaping {
        let one_way = DirectionShape { latency: rtt / 2, jitter, bandwidth };
        Shaping { upstream: one_way, downstream: one_way }
    }
}

/// A token bucket in "debt" form: taking more tokens than are available is allowed and
/// returns how long to wait until the debt is paid. Over any interval `[t0, t]`, the
/// bytes released (taken and waited for) are at most `capacity + rate × (t − t0)`.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// Burst allowance: 10 ms worth of bytes, at least 16 KiB so small rates still move
    /// whole TCP segments.
    pub fn capacity_for(rate: u64) -> u64 {
        (rate / 100).max(16 << 10)
    }

    /// A full bucket for `rate` bytes per second.
    pub fn new(rate: u64, now: Instant) -> TokenBucket {
        let capacity = Self::capacity_for(rate) as f64;
        TokenBucket { rate: rate.max(1) as f64, capacity, tokens: capacity, last: now }
    }

    /// Bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate as u64
    }

    /// The largest piece worth taking at once (one burst).
    pub fn capacity(&self) -> u64 {
        self.capacity as u64
    }

    /// Takes `bytes` tokens at `now`; returns how long the caller must wait before
    /// sending them (zero when the bucket held enough).
    pub fn take(&mut self, bytes: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.tokens -= bytes as f64;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.rate) }
    }
}

/// Deterministic uniform noise for jitter (splitmix64): reproducible runs, no extra crate.
#[derive(Clone, Debug)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `latency` shifted uniformly by up to ± `jitter`, never below zero.
    pub fn delay(&mut self, latency: Duration, jitter: Duration) -> Duration {
        if jitter.is_zero() {
            return latency;
        }
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        let offset = (unit * 2.0 - 1.0) * jitter.as_secs_f64();
        Duration::from_secs_f64((latency.as_secs_f64() + offset).max(0.0))
    }
}

/// Release times of a delay line. A chunk leaves at its arrival plus its (jittered)
/// delay, but never before the chunk ahead of it: a TCP stream cannot be reordered, so
/// jitter can only stretch gaps, never swap bytes.
#[derive(Clone, Debug)]
pub struct Schedule {
    last_release: Option<Instant>,
    jitter: Jitter,
}

impl Schedule {
    /// An empty schedule with a jitter seed.
    pub fn new(seed: u64) -> Schedule {
        Schedule { last_release: None, jitter: Jitter::new(seed) }
    }

    /// When a chunk arriving at `arrival` is released.
    pub fn release(&mut self, arrival: Instant, shape: &DirectionShape) -> Instant {
        let mut release = arrival + self.jitter.delay(shape.latency, shape.jitter);
        if let Some(last) = self.last_release {
            release = release.max(last);
        }
        self.last_release = Some(release);
        release
    }
}
