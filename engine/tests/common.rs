//! Shared helpers: the opt-in environment, unique names, test data, and running the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

/// The services a test talks to, from the variables `ci/services.sh env` prints.
pub struct Env {
    pub bootstrap: String,
    pub s3_endpoint: String,
    pub bucket: String,
    pub region: String,
}

/// `None` (with a message) unless TEST_INTEGRATION=1; once opted in, missing variables fail loudly.
pub fn env() -> Option<Env> {
    if std::env::var("TEST_INTEGRATION").as_deref() != Ok("1") {
        eprintln!(
            "skipping: set TEST_INTEGRATION=1 and the variables from `eval \"$(bash ci/services.sh start)\"` to run"
        );
        return None;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("TEST_INTEGRATION=1 but {name} is not set"));
    var("AWS_ACCESS_KEY_ID");
    var("AWS_SECRET_ACCESS_KEY");
    Some(Env {
        bootstrap: var("KAFKA_BOOTSTRAP"),
        s3_endpoint: var("S3_ENDPOINT"),
        bucket: var("S3_BUCKET"),
        region: std::env::var("AWS_REGION").unwrap_or_else(|_| "garage".to_string()),
    })
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Every file under `dir` (recursively) whose extension is `ext`, sorted.
pub fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Which store a test's config points at.
#[derive(Clone, Copy, Debug)]
pub enum Storage {
    S3,
    Filesystem,
}

/// Settings a test varies.
pub struct Settings<'a> {
    pub backup_id: &'a str,
    pub topic_regex: &'a str,
    pub storage: Storage,
    pub compression: &'a str,
    pub segment_max_bytes: &'a str,
    pub block_size: &'a str,
    pub mapping: Option<(&'a str, &'a str)>,
    /// Extra lines under `backup:`, each `  key: value\n`.
    pub extra_backup: &'a str,
    /// Extra lines under `restore:`, each `  key: value\n`.
    pub extra_restore: &'a str,
}

impl<'a> Settings<'a> {
    /// The usual test settings: filesystem store, zstd, 1 MiB segments of 64 KiB blocks, no mapping.
    pub fn new(backup_id: &'a str, topic_regex: &'a str) -> Self {
        Settings {
            backup_id,
            topic_regex,
            storage: Storage::Filesystem,
            compression: "zstd",
            segment_max_bytes: "1MiB",
            block_size: "64KiB",
            mapping: None,
            extra_backup: "",
            extra_restore: "",
        }
    }
}

/// Writes a config file for the test into `dir`.
pub fn write_config(env: &Env, dir: &Path, s: &Settings<'_>) -> PathBuf {
    let storage = match s.storage {
        Storage::S3 => format!(
            "  type: s3\n  bucket: {}\n  region: {}\n  endpoint: {}\n  path_style: true\n  prefix: tests",
            env.bucket, env.region, env.s3_endpoint
        ),
        Storage::Filesystem => format!("  type: filesystem\n  base_path: {}", dir.join("store").display()),
    };
    let mapping = s.mapping.map_or(String::new(), |(from, to)| format!("  topic_mapping:\n    {from}: {to}\n"));
    let text = format!(
        "backup_id: {}\nkafka:\n  bootstrap_servers: \"{}\"\n  fetch_max_wait_ms: 10ms\n  topics:\n    include: [\"{}\"]\nbackup:\n  compression: {}\n  segment_max_bytes: {}\n  block_size: {}\n  max_concurrent_partitions: 4\n  resume: rescan\n{}storage:\n{storage}\nrestore:\n{mapping}  replication_factor: 1\n{}",
        s.backup_id,
        env.bootstrap,
        s.topic_regex,
        s.compression,
        s.segment_max_bytes,
        s.block_size,
        s.extra_backup,
        s.extra_restore
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `kbackup <args> -c <config>` and returns its output.
pub fn kbackup(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kbackup")).args(args).arg("-c").arg(config).output().expect("kbackup runs")
}

/// Asserts success and returns stdout.
pub fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "kbackup failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Standard output of a `--json` run: every document carries the current `schema_version`.
pub fn json(output: Output) -> serde_json::Value {
    let text = ok(output);
    let version = engine::schema::check_version(&text, "kbackup --json", &[engine::schema::OUTPUT_SCHEMA_VERSION]);
    version.unwrap_or_else(|e| panic!("{e}: {text}"));
    serde_json::from_str(&text).expect("--json prints JSON")
}

pub fn create_topic(env: &Env, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &env.bootstrap).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let results = rt
        .block_on(admin.create_topics(
            [&NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        ))
        .unwrap();
    for r in results {
        r.unwrap();
    }
}

pub fn delete_topic(env: &Env, topic: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &env.bootstrap).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in rt.block_on(admin.delete_topics(&[topic], &options)).unwrap() {
        r.unwrap();
    }
}

pub fn producer(env: &Env) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", &env.bootstrap)
        .set("enable.idempotence", "true")
        .set("message.max.bytes", "16777216")
        .set("linger.ms", "5")
        .create()
        .unwrap()
}

/// Produces the awkward records a backup must keep exactly: null key, empty value, duplicate
/// header keys, null header values, 0-byte and 2 MiB values; `per_partition` records each.
pub fn produce_mixed(env: &Env, topic: &str, partitions: i32, per_partition: usize) {
    let producer = producer(env);
    let big = vec![b'x'; 2 << 20];
    for partition in 0..partitions {
        for i in 0..per_partition {
            let key = format!("key-{partition}-{i}");
            let value = format!("{{\"id\":{i},\"partition\":{partition},\"payload\":\"{}\"}}", "data ".repeat(i % 40));
            let mut record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(topic).partition(partition).timestamp(1_700_000_000_000 + i as i64);
            match i % 7 {
                0 => {} // null key
                1 => record = record.key(b"".as_slice()),
                _ => record = record.key(key.as_bytes()),
            }
            match i % 11 {
                0 => {} // null value (tombstone)
                1 => record = record.payload(b"".as_slice()),
                2 if i % 200 == 2 => record = record.payload(big.as_slice()),
                _ => record = record.payload(value.as_bytes()),
            }
            if i % 3 == 0 {
                let headers = OwnedHeaders::new()
                    .insert(Header { key: "dup", value: Some(b"first".as_slice()) })
                    .insert(Header { key: "dup", value: Some(b"second".as_slice()) })
                    .insert(Header { key: "null", value: None::<&[u8]> })
                    .insert(Header { key: "empty", value: Some(b"".as_slice()) });
                record = record.headers(headers);
            }
            send(&producer, record);
        }
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

/// Produces `count` JSON-like records of about `size` bytes to every partition.
pub fn produce_bulk(env: &Env, topic: &str, partitions: i32, count: usize, size: usize) {
    let producer = producer(env);
    for i in 0..count {
        let partition = (i % partitions as usize) as i32;
        let mut value = format!("{{\"order\":{i},\"customer\":\"c{}\",\"items\":[", i % 977);
        while value.len() < size {
            value.push_str(&format!("{{\"sku\":\"s{}\",\"qty\":{}}},", (i * 31 + value.len()) % 10_007, i % 9));
        }
        value.push_str("]}");
        let key = format!("k{i}");
        send(&producer, BaseRecord::to(topic).partition(partition).key(key.as_bytes()).payload(value.as_bytes()));
    }
    producer.flush(Duration::from_secs(120)).unwrap();
}

fn send(producer: &ThreadedProducer<DefaultProducerContext>, mut record: BaseRecord<'_, [u8], [u8]>) {
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((e, r)) => {
                assert!(
                    matches!(
                        e,
                        rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull)
                    ),
                    "produce failed: {e}"
                );
                record = r;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// A loopback address with a port that was free a moment ago.
pub fn free_local_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// One `GET /metrics`; `None` while the endpoint is not up yet.
pub fn scrape(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.1 200").then_some(response)
}

/// Sum of a metric's samples over all label sets (the empty one included).
pub fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
