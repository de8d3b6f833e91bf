//! The `--metrics-listen` HTTP server (axum): `GET /metrics` encodes the registry afresh,
//! `GET /health` says the process is alive, `GET /ready` runs the [`Readiness`] checks.
//! It serves until the process exits, so scrapes keep working while a stopping run flushes.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use super::ready::{self, Readiness};

/// The metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen for metrics on {addr}: {source} (pick a free port with --metrics-listen, e.g. 9464 for 127.0.0.1:9464)"
)]
pub struct MetricsError {
    /// Requested address.
    pub addr: String,
    /// Cause.
    pub source: std::io::Error,
}

/// The address `--metrics-listen` means: a bare port (`9464`) or `:9464` is loopback only
/// (`127.0.0.1:9464`); anything with a host (`0.0.0.0:9464`) is taken as given.
pub fn listen_addr(text: &str) -> String {
    let text = text.trim();
    let port = text.strip_prefix(':').unwrap_or(text);
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        format!("127.0.0.1:{port}")
    } else {
        text.to_string()
    }
}

/// What the routes read.
struct Endpoint {
    registry: Registry,
    readiness: Readiness,
}

/// Binds `listen` (see [`listen_addr`]) now, so a taken port fails the command up front, and
/// serves in the background for the rest of the process. Returns the bound address.
pub async fn serve(listen: &str, registry: Registry, readiness: Readiness) -> Result<SocketAddr, MetricsError> {
    let addr = listen_addr(listen);
    let err = |source| MetricsError { addr: addr.clone(), source };
    let listener = TcpListener::bind(&addr).await.map_err(err)?;
    let bound = listener.local_addr().map_err(err)?;
    let app = router(Arc::new(Endpoint { registry, readiness }));
    tracing::info!(%bound, "serving /metrics, /health and /ready");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics server stopped");
        }
    });
    Ok(bound)
}

fn router(endpoint: Arc<Endpoint>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(readiness))
        .fallback(|| async { (StatusCode::NOT_FOUND, "served here: /metrics, /health, /ready\n") })
        // One request per connection: simple scrapers (and probes) read until the server closes.
        .layer(axum::middleware::map_response(close_connection))
        .with_state(endpoint)
}

async fn close_connection(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn metrics(State(endpoint): State<Arc<Endpoint>>) -> Response {
    match super::render(&endpoint.registry) {
        Ok(text) => ([(header::CONTENT_TYPE, super::CONTENT_TYPE)], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("encoding the metrics failed: {e}\n")).into_response(),
    }
}

async fn readiness(State(endpoint): State<Arc<Endpoint>>) -> Response {
    let failures = endpoint.readiness.check().await;
    let status = if failures.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, ready::body(&failures)).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::progress::{Command, Progress};

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        // The server closes the connection after one response; a hang here is a failure.
        tokio::time::timeout(Duration::from_secs(20), s.read_to_string(&mut out)).await.unwrap().unwrap();
        out
    }

    /// A plan with a filesystem store in `dir` and a broker nobody listens on.
    fn plan(dir: &std::path::Path) -> crate::config::Plan {
        let text = format!(
            "backup_id: b1\nkafka:\n  bootstrap_servers: \"127.0.0.1:9\"\n  topics:\n    include: [\"t\"]\nstorage:\n  type: filesystem\n  base_path: {}\n",
            dir.display()
        );
        crate::config::parse(&text, "test", |_| None).unwrap()
    }

    async fn start(dir: &std::path::Path, progress: Arc<Progress>) -> SocketAddr {
        let plan = plan(dir);
        let registry = super::super::registry(Command::Backup, "b1", progress.clone());
        let readiness = Readiness::new(&plan, Command::Backup, progress, None).await.unwrap();
        serve("127.0.0.1:0", registry, readiness.with_broker_timeout(Duration::from_millis(300))).await.unwrap()
    }

    #[tokio::test]
    async fn serves_live_counters_health_and_404s_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let progress = Arc::new(Progress::default());
        let addr = start(dir.path(), progress.clone()).await;
        progress.partition_planned("t", 0, 0, 100);
        let first = get(addr, "/metrics").await;
        assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
        assert!(first.contains("content-type: text/plain; version=0.0.4"), "{first}");
        assert!(first.contains("kafka_backup_lag_records{topic=\"t\",partition=\"0\"} 100"), "{first}");
        progress.block_uploaded("t", 0, 60, 60, 600, 100);
        let second = get(addr, "/metrics").await;
        assert!(second.contains("kafka_backup_lag_records{topic=\"t\",partition=\"0\"} 40"), "{second}");
        assert!(second.contains("kafka_backup_lag_bytes{topic=\"t\",partition=\"0\"} 400"), "{second}");
        assert!(second.contains("kafka_backup_records_total{topic=\"t\"} 60"), "{second}");
        let health = get(addr, "/health").await;
        assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("\r\n\r\nok\n"), "{health}");
        assert!(get(addr, "/").await.starts_with("HTTP/1.1 404"));
    }

    #[tokio::test]
    async fn ready_names_the_unreachable_broker_and_the_store_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let addr = start(dir.path(), Arc::default()).await;
        let ready = get(addr, "/ready").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.contains("- broker: ") && ready.contains("127.0.0.1:9"), "{ready}");
        assert!(!ready.contains("- store:"), "a writable directory is a writable store: {ready}");
        // The probe object is gone again; only the empty backup directory may remain.
        let leftovers: Vec<_> = walk(dir.path());
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.path().is_dir() {
                files.extend(walk(&entry.path()));
            } else {
                files.push(entry.path());
            }
        }
        files
    }

    #[test]
    fn a_bare_port_means_loopback() {
        assert_eq!(listen_addr("9464"), "127.0.0.1:9464");
        assert_eq!(listen_addr(":9464"), "127.0.0.1:9464");
        assert_eq!(listen_addr("0.0.0.0:9464"), "0.0.0.0:9464");
        assert_eq!(listen_addr("[::1]:9464"), "[::1]:9464");
    }

    #[tokio::test]
    async fn a_taken_port_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let plan = plan(dir.path());
        let progress = Arc::new(Progress::default());
        let readiness = Readiness::new(&plan, Command::Backup, progress.clone(), None).await.unwrap();
        let registry = super::super::registry(Command::Backup, "b", progress);
        let err = serve(&addr, registry, readiness).await.unwrap_err();
        assert!(err.to_string().contains(&addr) && err.to_string().contains("--metrics-listen"), "{err}");
    }
}
