//! Point-in-time and ranged restore (issue 13 §1, §7) on the real broker and store: records on
//! both sides of each window edge, out-of-order timestamps, offset ranges, bytes read from storage,
//! and a rerun of a windowed restore that resumes instead of producing twice.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::common::*;

const PER_PARTITION: i64 = 3000;
const BASE_MS: i64 = 1_780_000_000_000;
const STEP_MS: i64 = 10;

/// A record as read back: offset, timestamp, key, value.
type Read = (i64, i64, Vec<u8>, Vec<u8>);

/// Record `i`'s timestamp: `BASE + i·STEP`, except every 7th, which is 50 steps late (out of
/// order, as producers with clock skew or retries write them), so blocks straddle window edges.
fn timestamp(i: i64) -> i64 {
    if i % 7 == 3 { BASE_MS + (i - 50).max(0) * STEP_MS } else { BASE_MS + i * STEP_MS }
}

fn produce(env: &Env, topic: &str) {
    let producer = producer(env);
    for i in 0..PER_PARTITION {
        for partition in 0..2 {
            let pad: String =
                (0..24u32).map(|j| format!("{:08x}", (i as u32 * 7919 + j).wrapping_mul(2_654_435_761))).collect();
            let (key, value) = (format!("p{partition}-{i}"), format!("{{\"i\":{i},\"pad\":\"{pad}\"}}"));
            let record = BaseRecord::to(topic)
                .partition(partition)
                .timestamp(timestamp(i))
                .key(key.as_bytes())
                .payload(value.as_bytes());
            producer.send(record).map_err(|(e, _)| e).unwrap();
        }
        if i % 500 == 499 {
            producer.flush(Duration::from_secs(30)).unwrap();
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// Every record of `topic/partition`, in offset order.
fn read_all(env: &Env, topic: &str, partition: i32) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env.bootstrap)
        .set("group.id", unique("pitr-reader"))
        .set("enable.partition.eof", "true")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Beginning).unwrap();
    consumer.assign(&list).unwrap();
    let mut records = Vec::new();
    loop {
        match consumer.poll(Duration::from_secs(30)).expect("the partition reaches its end within 30 s") {
            Ok(m) => records.push((
                m.offset(),
                m.timestamp().to_millis().unwrap_or(-1),
                m.key().unwrap_or_default().to_vec(),
                m.payload().unwrap_or_default().to_vec(),
            )),
            Err(KafkaError::PartitionEOF(_)) => return records,
            Err(e) => panic!("reading {topic}/{partition}: {e}"),
        }
    }
}

/// What a restored partition must hold: the selected source records, in offset order, at
/// target offsets 0, 1, … (offsets are compared by position, everything else exactly).
fn assert_restored(env: &Env, target: &str, partition: i32, expected: &[Read]) {
    let got = read_all(env, target, partition);
    let strip = |r: &[Read]| r.iter().map(|(_, ts, k, v)| (*ts, k.clone(), v.clone())).collect::<Vec<_>>();
    assert_eq!(got.len(), expected.len(), "{target}/{partition}: record count");
    assert!(strip(&got) == strip(expected), "{target}/{partition}: records differ from the selected source records");
    assert!(got.iter().enumerate().all(|(i, r)| r.0 == i as i64), "{target}/{partition}: target offsets 0..n");
}

fn restore(
    env: &Env,
    dir: &std::path::Path,
    backup_id: &str,
    topic: &str,
    target: &str,
    selection: &str,
) -> serde_json::Value {
    let mut settings = Settings::new(backup_id, topic);
    settings.storage = Storage::S3;
    settings.segment_max_bytes = "256KiB";
    settings.block_size = "16KiB";
    settings.mapping = Some((topic, target));
    settings.extra_restore = selection;
    let config = write_config(env, dir, &settings);
    json(kbackup(&config, &["restore", "--json"]))
}

#[test]
fn a_time_window_and_offset_ranges_restore_exactly_the_selected_records() {
    let Some(env) = env() else { return };
    let topic = unique("pitr");
    create_topic(&env, &topic, 2);
    produce(&env, &topic);
    let source: Vec<Vec<Read>> = (0..2).map(|p| read_all(&env, &topic, p)).collect();
    assert!(source.iter().all(|p| p.len() == PER_PARTITION as usize));

    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(&topic, &topic);
    settings.storage = Storage::S3;
    settings.segment_max_bytes = "256KiB";
    settings.block_size = "16KiB";
    let config = write_config(&env, dir.path(), &settings);
    let backup = json(kbackup(&config, &["backup", "--json"]));
    assert_eq!(backup["records"], 2 * PER_PARTITION);
    let stored = backup["stored_bytes"].as_u64().unwrap();

    // A window of 100 steps (~3% of the span): record 1000 sits on its start (kept), record 1100
    // on its end (not kept), late records from after it fall inside and early ones outside.
    let (start, end) = (BASE_MS + 1000 * STEP_MS, BASE_MS + 1100 * STEP_MS);
    let window = format!("  time_window:\n    start: {start}\n    end: {end}\n");
    let windowed = format!("{topic}-window");
    let summary = restore(&env, dir.path(), &topic, &topic, &windowed, &window);
    let mut selected = 0;
    for (partition, records) in source.iter().enumerate() {
        let expected: Vec<Read> = records.iter().filter(|r| start <= r.1 && r.1 < end).cloned().collect();
        assert!(expected.iter().any(|r| r.1 == start), "a record on the start edge is selected");
        assert!(records.iter().any(|r| r.1 == end) && !expected.iter().any(|r| r.1 == end), "the end edge is not");
        assert!(expected.iter().any(|r| r.0 >= 1100), "a late record from after the window's offsets is kept");
        selected += expected.len() as u64;
        assert_restored(&env, &windowed, partition as i32, &expected);
    }
    assert_eq!(summary["records"], selected);
    assert_eq!(summary["records_not_selected"], 2 * PER_PARTITION as u64 - selected);
    let read = summary["storage_bytes_read"].as_u64().unwrap();
    assert_eq!(summary["backup_stored_bytes"], stored, "{summary}");
    assert!(read > 0 && read * 5 < stored, "a ~3% window read {read} of {stored} stored bytes");

    // A rerun of the same windowed restore finds its stream delivered: nothing produced twice.
    let again = restore(&env, dir.path(), &topic, &topic, &windowed, &window);
    assert_eq!((again["records"].as_u64(), again["skipped_records"].as_u64()), (Some(0), Some(selected)));

    // Offset ranges: partition 0 in the middle, partition 1 open-ended at the tail; both bounds
    // half-open, like Kafka's own offsets.
    let ranges = format!("  offsets:\n    {topic}:\n      0: {{start: 500, end: 700}}\n      1: {{start: 2990}}\n");
    let ranged = format!("{topic}-ranges");
    let summary = restore(&env, dir.path(), &topic, &topic, &ranged, &ranges);
    assert_restored(&env, &ranged, 0, &source[0][500..700]);
    assert_restored(&env, &ranged, 1, &source[1][2990..]);
    assert_eq!(summary["records"], 210);

    // A range naming a partition the backup does not have is refused before anything is produced.
    let typo = format!("  offsets:\n    {topic}:\n      7: {{start: 1}}\n");
    let mut settings = Settings::new(&topic, &topic);
    settings.storage = Storage::S3;
    settings.mapping = Some((&topic, "pitr-never-created"));
    settings.extra_restore = &typo;
    let output = kbackup(&write_config(&env, dir.path(), &settings), &["restore"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("restore.offsets.{topic}.7")) && stderr.contains("partitions 0 to 1"), "{stderr}");
    for t in [&topic, &windowed, &ranged] {
        delete_topic(&env, t);
    }
}
