//! Scraping one kbackup instance's `GET /metrics` (Prometheus text format) and reading the
//! families the continuous scenarios measure, by their documented names:
//! `kafka_backup_lag_bytes`, `kafka_backup_lag_records` and
//! `kafka_backup_last_checkpoint_timestamp_seconds` per `{topic, partition}`,
//! `kafka_backup_records_total`, `kafka_backup_bytes_total` and `kafka_backup_stored_bytes_total`
//! (summed over their labels), the `kafka_backup_checkpoint_latency_seconds` histogram,
//! `kafka_backup_assigned_partitions` and `kafka_backup_rebalances_total`.
//!
//! The HTTP side is a plain HTTP/1.0 GET over a `TcpStream` (the harness has no HTTP client,
//! and one request per instance and second needs none); the parser is a pure function.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// What one scrape of one instance says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scrape {
    /// `kafka_backup_records_total`, summed.
    pub records_total: f64,
    /// `kafka_backup_bytes_total`, summed.
    pub bytes_total: f64,
    /// `kafka_backup_stored_bytes_total`, summed.
    pub stored_bytes_total: f64,
    /// `kafka_backup_lag_bytes` per partition.
    pub lag_bytes: BTreeMap<i32, f64>,
    /// `kafka_backup_lag_records` per partition.
    pub lag_records: BTreeMap<i32, f64>,
    /// `kafka_backup_last_checkpoint_timestamp_seconds` per partition (Unix s).
    pub last_checkpoint: BTreeMap<i32, f64>,
    /// `kafka_backup_checkpoint_latency_seconds_bucket`: `(le, cumulative count)`, finite `le`
    /// ascending, summed over any other labels.
    pub checkpoint_buckets: Vec<(f64, f64)>,
    /// `kafka_backup_checkpoint_latency_seconds_count`.
    pub checkpoint_count: f64,
    /// `kafka_backup_assigned_partitions`.
    pub assigned: Option<f64>,
    /// `kafka_backup_rebalances_total`.
    pub rebalances: Option<f64>,
}

/// One sample line: family name, labels, value.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleLine {
    /// Metric name as written (with `_total`, `_bucket` suffixes).
    pub name: String,
    /// Labels in order.
    pub labels: Vec<(String, String)>,
    /// The value (`+Inf`, `-Inf`, `NaN` included).
    pub value: f64,
}

impl SampleLine {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Parses one line of the text format; `None` for comments, blank lines and lines that do not
/// parse (an exporter's extension the harness does not need must not fail a run).
pub fn parse_line(line: &str) -> Option<SampleLine> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' ', '\t'])?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(inner)?;
        labels = parsed;
        rest = after;
    }
    let value = parse_value(rest.split_whitespace().next()?)?;
    Some(SampleLine { name, labels, value })
}

/// `key="value",...}` → labels and the text after `}`.
fn parse_labels(mut text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if let Some(after) = text.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = text.find('=')?;
        let key = text[..eq].trim().to_owned();
        let mut chars = text[eq + 1..].strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        labels.push((key, value));
        text = &text[eq + 1 + 1 + end + 1..];
    }
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// Reads the families the harness measures out of a `/metrics` body.
pub fn parse(text: &str) -> Scrape {
    let mut s = Scrape::default();
    let mut buckets: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for line in text.lines().filter_map(parse_line) {
        let partition = line.label("partition").and_then(|p| p.parse::<i32>().ok());
        match (line.name.as_str(), partition) {
            ("kafka_backup_records_total", _) => s.records_total += line.value,
            ("kafka_backup_bytes_total", _) => s.bytes_total += line.value,
            ("kafka_backup_stored_bytes_total", _) => s.stored_bytes_total += line.value,
            ("kafka_backup_lag_bytes", Some(p)) => *s.lag_bytes.entry(p).or_default() += line.value,
            ("kafka_backup_lag_records", Some(p)) => *s.lag_records.entry(p).or_default() += line.value,
            ("kafka_backup_last_checkpoint_timestamp_seconds", Some(p)) => {
                let newest = s.last_checkpoint.entry(p).or_insert(line.value);
                *newest = newest.max(line.value);
            }
            ("kafka_backup_checkpoint_latency_seconds_bucket", _) => {
                if let Some(le) = line.label("le").and_then(parse_value).filter(|le| le.is_finite()) {
                    buckets.entry(le.to_bits()).or_insert((le, 0.0)).1 += line.value;
                }
            }
            ("kafka_backup_checkpoint_latency_seconds_count", _) => s.checkpoint_count += line.value,
            ("kafka_backup_assigned_partitions", _) => *s.assigned.get_or_insert(0.0) += line.value,
            ("kafka_backup_rebalances_total", _) => *s.rebalances.get_or_insert(0.0) += line.value,
            _ => {}
        }
    }
    let mut buckets: Vec<(f64, f64)> = buckets.into_values().collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    s.checkpoint_buckets = buckets;
    s
}

/// Merges histograms of several instances: bucket counts added per `le`.
pub fn merge_buckets(all: &[&[(f64, f64)]]) -> Vec<(f64, f64)> {
    let mut merged: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for (le, count) in all.iter().flat_map(|b| b.iter()) {
        merged.entry(le.to_bits()).or_insert((*le, 0.0)).1 += count;
    }
    let mut out: Vec<(f64, f64)> = merged.into_values().collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// `GET http://ADDR/metrics`; the body. Errors name the address.
pub fn fetch(addr: SocketAddr, timeout: Duration) -> Result<String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).with_context(|| format!("connecting to http://{addr}/metrics"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: a request written piece by piece can meet a server that already answered and
    // closed after its first read (a broken pipe on the rest).
    let request = format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\nAccept: text/plain\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).with_context(|| format!("reading http://{addr}/metrics"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) =
        text.split_once("\r\n\r\n").with_context(|| format!("http://{addr}/metrics: no HTTP response"))?;
    let status = head.lines().next().unwrap_or_default();
    anyhow::ensure!(status.split_whitespace().nth(1) == Some("200"), "http://{addr}/metrics answered '{status}'");
    let chunked =
        head.lines().any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    Ok(if chunked { dechunk(body) } else { body.to_owned() })
}

/// The body of a chunked transfer encoding.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constructed in the exporter's final layout (prometheus-client's encoder).
    const TEXT: &str = r#"# HELP kbackup Always 1; the labels name the running command.
# TYPE kbackup info
kbackup_info{command="backup",backup_id="b\"1",version="0.1.0"} 1
# TYPE kafka_backup_lag_bytes gauge
kafka_backup_lag_bytes{topic="t",partition="0"} 300000.5
kafka_backup_lag_bytes{topic="t",partition="3"} 100
# TYPE kafka_backup_lag_records gauge
kafka_backup_lag_records{topic="t",partition="0"} 750
kafka_backup_lag_records{topic="t",partition="3"} 1
# TYPE kafka_backup_records counter
kafka_backup_records_total{topic="t"} 250
kafka_backup_records_total{topic="u"} 50
kafka_backup_bytes_total{topic="t"} 100000
kafka_backup_stored_bytes_total{topic="t"} 9000
# TYPE kafka_backup_checkpoint_latency_seconds histogram
kafka_backup_checkpoint_latency_seconds_sum 0.05
kafka_backup_checkpoint_latency_seconds_count 4
kafka_backup_checkpoint_latency_seconds_bucket{le="0.01"} 1
kafka_backup_checkpoint_latency_seconds_bucket{le="0.025"} 3
kafka_backup_checkpoint_latency_seconds_bucket{le="0.05"} 4
kafka_backup_checkpoint_latency_seconds_bucket{le="+Inf"} 4
kafka_backup_last_checkpoint_timestamp_seconds{topic="t",partition="0"} 1764666000.25
kafka_backup_checkpointed_offset{topic="t",partition="0"} 250
kafka_backup_assigned_partitions 2
kafka_backup_rebalances_total 1
# EOF
"#;

    #[test]
    fn reads_the_documented_families() {
        let s = parse(TEXT);
        assert_eq!((s.records_total, s.bytes_total, s.stored_bytes_total), (300.0, 100_000.0, 9000.0));
        assert_eq!(s.lag_bytes, BTreeMap::from([(0, 300_000.5), (3, 100.0)]));
        assert_eq!(s.lag_records.values().sum::<f64>(), 751.0);
        assert_eq!(s.last_checkpoint, BTreeMap::from([(0, 1_764_666_000.25)]));
        assert_eq!(s.checkpoint_buckets, vec![(0.01, 1.0), (0.025, 3.0), (0.05, 4.0)]);
        assert_eq!(s.checkpoint_count, 4.0);
        assert_eq!((s.assigned, s.rebalances), (Some(2.0), Some(1.0)));
        assert_eq!(parse("").assigned, None, "an exporter without the gauge says nothing, not 0");
    }

    #[test]
    fn lines_with_escapes_and_odd_values() {
        let l = parse_line(r#"kbackup_info{backup_id="a\"b\\c",x="1,2}"} 1 1700000000000"#).unwrap();
        assert_eq!(l.labels, vec![("backup_id".into(), "a\"b\\c".into()), ("x".into(), "1,2}".into())]);
        assert_eq!(l.value, 1.0);
        assert_eq!(parse_line("up +Inf").unwrap().value, f64::INFINITY);
        assert!(parse_line("# TYPE x gauge").is_none());
        assert!(parse_line("broken{a=\"x\" 1").is_none());
    }

    #[test]
    fn histograms_merge_per_bound() {
        let a = [(0.01, 1.0), (0.05, 4.0)];
        let b = [(0.01, 2.0), (0.1, 3.0)];
        assert_eq!(merge_buckets(&[&a, &b]), vec![(0.01, 3.0), (0.05, 4.0), (0.1, 3.0)]);
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), "hello world");
    }

    #[test]
    fn fetches_over_http() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // The whole request head, however the client's writes were split.
            let (mut request, mut buf) = (Vec::new(), [0u8; 1024]);
            while !request.ends_with(b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "connection closed mid-request");
                request.extend_from_slice(&buf[..n]);
            }
            assert!(String::from_utf8_lossy(&request).starts_with("GET /metrics HTTP/1.0\r\n"));
            let body = "kafka_backup_assigned_partitions 3\n";
            write!(conn, "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        });
        let body = fetch(addr, Duration::from_secs(5)).unwrap();
        server.join().unwrap();
        assert_eq!(parse(&body).assigned, Some(3.0));
    }
}
