//! A userspace TCP proxy that simulates a WAN link (our kernels have no `netem`):
//! per-direction added latency, jitter and a bandwidth cap with Toxiproxy semantics.
//!
//! - Latency is a delay line: every chunk read is released `latency` after it arrived,
//!   while later chunks keep flowing, so throughput is not limited to one chunk per
//!   round trip; only the applications' own windows (fetch sizes, requests in flight)
//!   bound it, exactly as on a real long link.
//! - Jitter varies each chunk's delay but never reorders bytes (see [`shape::Schedule`]).
//! - Bandwidth is a token bucket applied where bytes leave the proxy.
//!
//! Settings live in a [`Proxy`]'s shared control and can change at any time; they apply
//! to chunks read from then on. The proxy runs on its own small tokio runtime so the
//! caller's threads are free to wait on child processes.

mod pipe;
pub mod shape;
#[cfg(test)]
mod tests;

pub use shape::{DirectionShape, Shaping, TokenBucket};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Counters of one direction, cumulative since the proxy started.
#[derive(Debug, Default)]
struct DirectionCounters {
    bytes: AtomicU64,
    chunks: AtomicU64,
    delay_us_sum: AtomicU64,
    delay_us_min: AtomicU64,
    delay_us_max: AtomicU64,
    throttled_us: AtomicU64,
}

impl DirectionCounters {
    fn new() -> Self {
        let counters = DirectionCounters::default();
        counters.delay_us_min.store(u64::MAX, Ordering::Relaxed);
        counters
    }

    fn record_chunk(&self, bytes: usize, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.chunks.fetch_add(1, Ordering::Relaxed);
        self.delay_us_sum.fetch_add(us, Ordering::Relaxed);
        self.delay_us_min.fetch_min(us, Ordering::Relaxed);
        self.delay_us_max.fetch_max(us, Ordering::Relaxed);
    }

    fn record_throttle(&self, wait: Duration) {
        self.throttled_us.fetch_add(u64::try_from(wait.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn snapshot(&self) -> DirectionStats {
        let chunks = self.chunks.load(Ordering::Relaxed);
        let min = self.delay_us_min.load(Ordering::Relaxed);
        DirectionStats {
            bytes: self.bytes.load(Ordering::Relaxed),
            chunks,
            delay_sum: Duration::from_micros(self.delay_us_sum.load(Ordering::Relaxed)),
            delay_min: if chunks == 0 { Duration::ZERO } else { Duration::from_micros(min) },
            delay_max: Duration::from_micros(self.delay_us_max.load(Ordering::Relaxed)),
            throttled: Duration::from_micros(self.throttled_us.load(Ordering::Relaxed)),
        }
    }
}

/// What one direction has carried: the proxy's own record of the delays it scheduled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Bytes forwarded.
    pub bytes: u64,
    /// Chunks (reads) forwarded.
    pub chunks: u64,
    /// Sum over chunks of release time − arrival time.
    pub delay_sum: Duration,
    /// Smallest scheduled delay of a chunk.
    pub delay_min: Duration,
    /// Largest scheduled delay of a chunk.
    pub delay_max: Duration,
    /// Total time writers waited for bandwidth tokens.
    pub throttled: Duration,
}

impl DirectionStats {
    /// The counters accumulated between `earlier` and `self` (min/max are kept from
    /// `self`: they cannot be un-accumulated).
    pub fn since(&self, earlier: &DirectionStats) -> DirectionStats {
        DirectionStats {
            bytes: self.bytes - earlier.bytes,
            chunks: self.chunks - earlier.chunks,
            delay_sum: self.delay_sum.saturating_sub(earlier.delay_sum),
            throttled: self.throttled.saturating_sub(earlier.throttled),
            ..*self
        }
    }

    /// Mean scheduled delay per chunk.
    pub fn mean_delay(&self) -> Duration {
        if self.chunks == 0 { Duration::ZERO } else { self.delay_sum / u32::try_from(self.chunks).unwrap_or(u32::MAX) }
    }
}

/// Both directions' counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted.
    pub connections: u64,
    /// Client → server.
    pub upstream: DirectionStats,
    /// Server → client.
    pub downstream: DirectionStats,
}

impl ProxyStats {
    /// Counters accumulated since `earlier`.
    pub fn since(&self, earlier: &ProxyStats) -> ProxyStats {
        ProxyStats {
            connections: self.connections - earlier.connections,
            upstream: self.upstream.since(&earlier.upstream),
            downstream: self.downstream.since(&earlier.downstream),
        }
    }
}

/// State shared by the accept loop, every connection and the owner.
#[derive(Debug)]
struct Control {
    shaping: RwLock<Shaping>,
    connections: AtomicU64,
    upstream: DirectionCounters,
    downstream: DirectionCounters,
}

impl Control {
    fn shaping(&self) -> Shaping {
        *self.shaping.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Which way bytes flow through a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Upstream,
    Downstream,
}

impl Direction {
    fn shape(self, shaping: &Shaping) -> DirectionShape {
        match self {
            Direction::Upstream => shaping.upstream,
            Direction::Downstream => shaping.downstream,
        }
    }

    fn counters(self, control: &Control) -> &DirectionCounters {
        match self {
            Direction::Upstream => &control.upstream,
            Direction::Downstream => &control.downstream,
        }
    }
}

/// A running proxy: accepts on 127.0.0.1, forwards each connection to `upstream`.
/// Dropping it stops the runtime and closes every connection.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    control: Arc<Control>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    /// Starts a proxy on a free 127.0.0.1 port in front of `upstream`, with no shaping.
    pub fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        Self::start_on(listener, upstream)
    }

    /// Starts a proxy on an already bound listener (so its port can be handed out, e.g.
    /// as a broker's advertised address, before the upstream is running).
    pub fn start_on(listener: std::net::TcpListener, upstream: SocketAddr) -> std::io::Result<Proxy> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        // Two workers: one direction of a busy connection must not starve the other.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wan-proxy")
            .enable_all()
            .build()?;
        let control = Arc::new(Control {
            shaping: RwLock::new(Shaping::NONE),
            connections: AtomicU64::new(0),
            upstream: DirectionCounters::new(),
            downstream: DirectionCounters::new(),
        });
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(listener)?
        };
        runtime.spawn(accept_loop(listener, upstream, control.clone()));
        Ok(Proxy { addr, upstream, control, runtime: Some(runtime) })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the proxy forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Current settings.
    pub fn shaping(&self) -> Shaping {
        self.control.shaping()
    }

    /// Replaces the settings; they apply to every chunk read from now on, also on
    /// connections that are already open.
    pub fn set_shaping(&self, shaping: Shaping) {
        *self.control.shaping.write().unwrap_or_else(|e| e.into_inner()) = shaping;
    }

    /// Cumulative counters.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            connections: self.control.connections.load(Ordering::Relaxed),
            upstream: self.control.upstream.snapshot(),
            downstream: self.control.downstream.snapshot(),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Connections may be mid-delay; nobody waits for them any more.
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, control: Arc<Control>) {
    let mut seed = 1u64;
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        control.connections.fetch_add(1, Ordering::Relaxed);
        seed = seed.wrapping_add(2);
        tokio::spawn(serve(client, upstream, control.clone(), seed));
    }
}

/// One proxied connection: two independent pipes, each closing its write side when its
/// read side ends (half-close is passed through).
async fn serve(client: TcpStream, upstream: SocketAddr, control: Arc<Control>, seed: u64) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    // Delays are the proxy's job; Nagle would add its own on top.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pipe::run(client_read, server_write, control.clone(), Direction::Upstream, seed);
    let down = pipe::run(server_read, client_write, control, Direction::Downstream, seed + 1);
    let _ = tokio::join!(up, down);
}
