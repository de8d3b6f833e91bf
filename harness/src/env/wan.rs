//! The WAN links of a native environment: a [`Proxy`] in front of tansu (which
//! advertises the proxy's port, so every client, after bootstrapping, reconnects
//! through it) and one in front of garage's S3 API (the endpoint handed to kbackup).
//!
//! Both start unshaped; the runner switches them per phase, so loading the topic runs
//! at loopback speed and only the measured phases pay the simulated link.

use crate::proxy::{Proxy, ProxyStats, Shaping};
use crate::scenario::{Link, Network};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// The two proxies.
#[derive(Debug)]
pub struct WanLinks {
    kafka: Proxy,
    s3: Proxy,
}

/// Listeners bound before the services start, so their ports can be advertised.
#[derive(Debug)]
pub struct WanListeners {
    kafka: TcpListener,
    s3: TcpListener,
}

impl WanListeners {
    /// Two free ports on 127.0.0.1, held until [`WanListeners::start`].
    pub fn bind() -> std::io::Result<WanListeners> {
        Ok(WanListeners { kafka: TcpListener::bind("127.0.0.1:0")?, s3: TcpListener::bind("127.0.0.1:0")? })
    }

    /// The port tansu must advertise.
    pub fn kafka_port(&self) -> std::io::Result<u16> {
        Ok(self.kafka.local_addr()?.port())
    }

    /// Starts forwarding to the broker and the S3 API on these loopback ports.
    pub fn start(self, kafka_port: u16, s3_port: u16) -> std::io::Result<WanLinks> {
        let upstream = |port| SocketAddr::from(([127, 0, 0, 1], port));
        Ok(WanLinks {
            kafka: Proxy::start_on(self.kafka, upstream(kafka_port))?,
            s3: Proxy::start_on(self.s3, upstream(s3_port))?,
        })
    }
}

impl WanLinks {
    /// The proxy on `link`.
    pub fn proxy(&self, link: Link) -> &Proxy {
        match link {
            Link::Kafka => &self.kafka,
            Link::S3 => &self.s3,
        }
    }

    /// The S3 endpoint through the proxy.
    pub fn s3_endpoint(&self) -> String {
        format!("http://{}", self.s3.addr())
    }

    /// Shapes every link for `network` (`None`: unshaped).
    pub fn apply(&self, network: Option<&Network>) {
        for link in Link::ALL {
            self.proxy(link).set_shaping(shaping_for(network, link));
        }
    }

    /// Counters of both links.
    pub fn stats(&self) -> [(Link, ProxyStats); 2] {
        Link::ALL.map(|link| (link, self.proxy(link).stats()))
    }
}

/// The proxy settings of `link` under `network`: symmetric (half the RTT each way),
/// or none when the link is not simulated.
pub fn shaping_for(network: Option<&Network>, link: Link) -> Shaping {
    match network.filter(|n| n.applies_to(link)) {
        Some(n) => Shaping::symmetric(
            Duration::from_secs_f64(n.rtt_ms / 1e3),
            Duration::from_secs_f64(n.jitter_ms / 1e3),
            n.bandwidth_bytes_per_sec,
        ),
        None => Shaping::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaping_splits_the_rtt_and_skips_other_links() {
        let network =
            Network { rtt_ms: 50.0, jitter_ms: 2.0, bandwidth_bytes_per_sec: Some(1_000_000), links: vec![Link::S3] };
        let s3 = shaping_for(Some(&network), Link::S3);
        assert_eq!(s3.upstream.latency, Duration::from_millis(25));
        assert_eq!(s3.downstream.latency, Duration::from_millis(25));
        assert_eq!(s3.upstream.jitter, Duration::from_millis(2));
        assert_eq!(s3.downstream.bandwidth, Some(1_000_000));
        assert_eq!(shaping_for(Some(&network), Link::Kafka), Shaping::NONE);
        assert_eq!(shaping_for(None, Link::S3), Shaping::NONE);
    }

    #[test]
    fn links_forward_to_their_upstreams() {
        let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = upstream.local_addr().unwrap().port();
        let listeners = WanListeners::bind().unwrap();
        let advertised = listeners.kafka_port().unwrap();
        let links = listeners.start(port, port).unwrap();
        assert_eq!(links.proxy(Link::Kafka).addr().port(), advertised);
        assert_eq!(links.proxy(Link::S3).upstream().port(), port);
        assert!(links.s3_endpoint().starts_with("http://127.0.0.1:"));
    }
}
