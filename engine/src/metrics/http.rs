//! A minimal HTTP/1.1 endpoint for Prometheus scrapes: `GET /metrics` renders a fresh snapshot,
//! anything else is 404. One request per connection; the server stops with the run.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::{Snapshot, render};
use crate::progress::Progress;

/// The metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen for metrics on {addr}: {source} (pick a free address with --metrics-listen, e.g. 127.0.0.1:9464)"
)]
pub struct MetricsError {
    /// Requested address.
    pub addr: String,
    /// Cause.
    pub source: std::io::Error,
}

/// Binds `addr` now (so a taken port fails the command up front) and serves until `stop`.
/// Returns the bound address (useful with port 0).
pub async fn serve(
    addr: &str,
    command: &'static str,
    backup_id: String,
    progress: Arc<Progress>,
    stop: CancellationToken,
) -> Result<SocketAddr, MetricsError> {
    let err = |source| MetricsError { addr: addr.to_string(), source };
    let listener = TcpListener::bind(addr).await.map_err(err)?;
    let bound = listener.local_addr().map_err(err)?;
    tracing::info!(%bound, "serving Prometheus metrics at /metrics");
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                _ = stop.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => { tracing::warn!(error = %e, "metrics accept failed"); continue; }
                },
            };
            let body = render(&Snapshot::take(command, &backup_id, &progress));
            tokio::spawn(async move {
                if let Err(e) = answer(stream, body).await {
                    tracing::debug!(error = %e, "metrics request failed");
                }
            });
        }
    });
    Ok(bound)
}

async fn answer(mut stream: TcpStream, body: String) -> std::io::Result<()> {
    // Read until the end of the request head; scrapes send no body.
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let request_line = String::from_utf8_lossy(&head);
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let response = if request_line.starts_with("GET ") && (path == "/metrics" || path.starts_with("/metrics?")) {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        let text = "only GET /metrics is served here\n";
        format!("HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}", text.len())
    };
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_live_counters_and_404s_elsewhere() {
        let progress = Arc::new(Progress::default());
        let stop = CancellationToken::new();
        let addr = serve("127.0.0.1:0", "backup", "b1".into(), progress.clone(), stop.clone()).await.unwrap();
        progress.partition_planned("t", 0, 0, 100);
        let first = get(addr, "/metrics").await;
        assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
        assert!(first.contains("kafka_backup_lag_records{topic=\"t\",partition=\"0\"} 100\n"), "{first}");
        progress.block_uploaded("t", 0, 60, 60, 600, 100);
        let second = get(addr, "/metrics").await;
        assert!(second.contains("kafka_backup_lag_records{topic=\"t\",partition=\"0\"} 40\n"), "{second}");
        assert!(second.contains("kafka_backup_lag_bytes{topic=\"t\",partition=\"0\"} 400\n"), "{second}");
        assert!(get(addr, "/").await.starts_with("HTTP/1.1 404"));
        stop.cancel();
    }

    #[tokio::test]
    async fn a_taken_port_is_a_clear_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let err = serve(&addr, "backup", "b".into(), Arc::default(), CancellationToken::new()).await.unwrap_err();
        assert!(err.to_string().contains(&addr) && err.to_string().contains("--metrics-listen"), "{err}");
    }
}
