//! Topic configuration captured by backup and applied by restore, and restore repartitioned by
//! key (issue 13 §3–4, §7), on the real broker and store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use engine::kafka::partition_for_key;

use crate::common::*;

const KEYS: usize = 120;
const PER_KEY: usize = 25;
const NULLS_PER_PARTITION: usize = 40;

/// A record as read back: key, value.
type Read = (Option<Vec<u8>>, Option<Vec<u8>>);

fn admin(env: &Env) -> AdminClient<DefaultClientContext> {
    ClientConfig::new().set("bootstrap.servers", &env.bootstrap).create().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Every record of `topic/partition` from the start to the end, in offset order.
fn read_all(env: &Env, topic: &str, partition: i32) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &env.bootstrap)
        .set("group.id", unique("reader"))
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
            Ok(m) => records.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec))),
            Err(KafkaError::PartitionEOF(_)) => return records,
            Err(e) => panic!("reading {topic}/{partition}: {e}"),
        }
    }
}

/// Keys `user-k` live in source partition `k % 4`, 25 records each (`user-k#seq`), produced
/// interleaved; each partition also holds null-key records.
fn produce_keyed(env: &Env, topic: &str) {
    let producer = producer(env);
    for seq in 0..PER_KEY {
        for k in 0..KEYS {
            // Hex noise: compresses about 2:1, so the backup holds several segments per partition.
            let pad: String = (0..50u32)
                .map(|i| format!("{:08x}", (k as u32 * 7919 + seq as u32 * 104_729 + i).wrapping_mul(2_654_435_761)))
                .collect();
            let (key, value) = (format!("user-{k}"), format!("user-{k}#{seq}#{pad}"));
            let record = BaseRecord::to(topic).partition((k % 4) as i32).key(key.as_bytes()).payload(value.as_bytes());
            producer.send(record).map_err(|(e, _)| e).unwrap();
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    }
    for p in 0..4 {
        for i in 0..NULLS_PER_PARTITION {
            let value = format!("null-{p}-{i}");
            producer
                .send(BaseRecord::<[u8], [u8]>::to(topic).partition(p).payload(value.as_bytes()))
                .map_err(|(e, _)| e)
                .unwrap();
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

fn append(config: &Path, restore_lines: &str) {
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str(restore_lines);
    std::fs::write(config, text).unwrap();
}

fn text(bytes: &Option<Vec<u8>>) -> String {
    String::from_utf8(bytes.clone().unwrap()).unwrap()
}

/// Where librdkafka's `murmur2` partitioner puts each key on a topic of 6 partitions: an
/// independent check of kbackup's routing.
fn librdkafka_placement(env: &Env, keys: &[String]) -> BTreeMap<String, i32> {
    let topic = unique("murmur2-probe");
    create_topic(env, &topic, 6);
    let producer: rdkafka::producer::ThreadedProducer<rdkafka::producer::DefaultProducerContext> =
        ClientConfig::new().set("bootstrap.servers", &env.bootstrap).set("partitioner", "murmur2").create().unwrap();
    for key in keys {
        producer
            .send(BaseRecord::<[u8], [u8]>::to(&topic).key(key.as_bytes()).payload(b""))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let mut placement = BTreeMap::new();
    for p in 0..6 {
        for (key, _) in read_all(env, &topic, p) {
            placement.insert(text(&key), p);
        }
    }
    placement
}

/// Checks a by-key restore of [`produce_keyed`] records into `target` (6 partitions) and returns
/// its per-partition streams.
fn check_by_key(env: &Env, target: &str) -> Vec<Vec<Read>> {
    let streams: Vec<Vec<Read>> = (0..6).map(|p| read_all(env, target, p)).collect();
    let total: usize = streams.iter().map(Vec::len).sum();
    assert_eq!(total, KEYS * PER_KEY + 4 * NULLS_PER_PARTITION, "every record restored, none twice");
    let mut seen: BTreeMap<String, (i32, Vec<usize>)> = BTreeMap::new();
    let mut nulls = BTreeSet::new();
    let mut null_counts = Vec::new();
    for (p, stream) in streams.iter().enumerate() {
        let mut here = 0;
        for (key, value) in stream {
            let value = text(value);
            let Some(key) = key else {
                assert!(nulls.insert(value.clone()), "null-key record {value} restored twice");
                here += 1;
                continue;
            };
            let key = String::from_utf8(key.clone()).unwrap();
            let mut parts = value.split('#');
            assert_eq!(parts.next(), Some(key.as_str()), "value belongs to its key");
            let seq: usize = parts.next().unwrap().parse().unwrap();
            let entry = seen.entry(key.clone()).or_insert((p as i32, Vec::new()));
            assert_eq!(entry.0, p as i32, "key {key} found in partitions {} and {p}", entry.0);
            entry.1.push(seq);
        }
        null_counts.push(here);
    }
    assert_eq!(nulls.len(), 4 * NULLS_PER_PARTITION);
    let (least, most) = (null_counts.iter().min().unwrap(), null_counts.iter().max().unwrap());
    assert!(most - least <= 1, "null keys round-robin over the partitions: {null_counts:?}");
    assert_eq!(seen.len(), KEYS);
    let order: Vec<usize> = (0..PER_KEY).collect();
    for (key, (partition, seqs)) in &seen {
        assert_eq!(*partition, partition_for_key(key.as_bytes(), 6), "{key} is where murmur2 puts it");
        assert_eq!(seqs, &order, "{key} keeps its source order");
    }
    let keys: Vec<String> = seen.keys().cloned().collect();
    let reference = librdkafka_placement(env, &keys);
    for (key, (partition, _)) in &seen {
        assert_eq!(reference[key], *partition, "{key}: librdkafka's murmur2 partitioner agrees");
    }
    streams
}

/// issue 13 §7: repartition 4 → 6 with per-key order checked on the target; a second restore
/// produces the same stream in every target partition (the contract resumable restore and
/// offsets translation rely on).
#[test]
fn repartition_by_key_four_to_six() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("rp");
    create_topic(&env, &topic, 4);
    produce_keyed(&env, &topic);
    let backup_id = unique("b");
    let target = format!("{topic}-by-key");
    let settings = Settings {
        compression: "lz4",
        segment_max_bytes: "64KiB",
        block_size: "16KiB",
        mapping: Some((&topic, &target)),
        ..Settings::new(&backup_id, &topic)
    };
    let config = write_config(&env, dir.path(), &settings);
    let backup = json(kbackup(&config, &["backup", "--json"]));
    assert_eq!(backup["records"], (KEYS * PER_KEY + 4 * NULLS_PER_PARTITION) as u64, "{backup}");
    assert!(backup["segments"].as_u64().unwrap() >= 8, "several segments per partition to interleave: {backup}");
    append(&config, &format!("  repartition: by-key\n  partitions:\n    {topic}: 6\n"));

    let restore = json(kbackup(&config, &["restore", "--json"]));
    assert_eq!(restore["records"], backup["records"], "{restore}");
    assert_eq!(restore["partitions"].as_array().unwrap().len(), 6, "one summary per target partition: {restore}");
    assert_eq!(restore["stored_bytes"], backup["stored_bytes"], "storage figures add up: {restore}");
    let first = check_by_key(&env, &target);

    let again = format!("{topic}-again");
    let text = std::fs::read_to_string(&config).unwrap().replace(&format!(": {target}\n"), &format!(": {again}\n"));
    std::fs::write(&config, text).unwrap();
    json(kbackup(&config, &["restore", "--json"]));
    let second: Vec<Vec<Read>> = (0..6).map(|p| read_all(&env, &again, p)).collect();
    assert!(first == second, "every target partition receives the same stream on every restore");
}

/// Without `repartition: by-key`, a target with fewer partitions is refused, and the error says
/// how to restore into it.
#[test]
fn fewer_target_partitions_need_by_key() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("few");
    let target = format!("{topic}-small");
    create_topic(&env, &topic, 4);
    produce_keyed(&env, &topic);
    create_topic(&env, &target, 2);
    let backup_id = unique("b");
    let config = write_config(
        &env,
        dir.path(),
        &Settings { mapping: Some((&topic, &target)), ..Settings::new(&backup_id, &topic) },
    );
    json(kbackup(&config, &["backup", "--json"]));
    let refused = kbackup(&config, &["restore"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&target) && stderr.contains("restore.repartition: by-key"), "{stderr}");

    append(&config, "  repartition: by-key\n");
    let restore = json(kbackup(&config, &["restore", "--json"]));
    assert_eq!(restore["partitions"].as_array().unwrap().len(), 2, "{restore}");
    let restored: usize = (0..2).map(|p| read_all(&env, &target, p).len()).sum();
    assert_eq!(restored, KEYS * PER_KEY + 4 * NULLS_PER_PARTITION);
}

/// The topic's own configs as the broker describes them (what the backup's rule keeps).
fn described(env: &Env, topic: &str) -> BTreeMap<String, String> {
    let resources = [ResourceSpecifier::Topic(topic)];
    let answer = runtime().block_on(admin(env).describe_configs(&resources, &AdminOptions::new())).unwrap();
    let resource = answer.into_iter().next().unwrap().unwrap();
    engine::kafka::topic_overrides(&resource.entries)
}

fn create_with_configs(env: &Env, topic: &str, configs: &[(&str, &str)]) {
    let new = configs.iter().fold(NewTopic::new(topic, 2, TopicReplication::Fixed(1)), |t, (k, v)| t.set(k, v));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in runtime().block_on(admin(env).create_topics([&new], &options)).unwrap() {
        result.unwrap();
    }
}

/// issue 13 §3: backup records the topic's configs; restore creates the missing target with
/// them (`keep`), or with the broker's defaults (`defaults`), overrides on top; an existing
/// target is left as it is.
#[test]
fn topic_config_is_captured_and_applied() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("cfg");
    let configs = [("retention.ms", "3600000"), ("max.message.bytes", "2097152"), ("retention.bytes", "1073741824")];
    create_with_configs(&env, &topic, &configs);
    produce_mixed(&env, &topic, 2, 20);
    let backup_id = unique("b");
    let target = format!("{topic}-restored");
    let config = write_config(
        &env,
        dir.path(),
        &Settings { mapping: Some((&topic, &target)), ..Settings::new(&backup_id, &topic) },
    );
    json(kbackup(&config, &["backup", "--json"]));
    let captured_key = dir.path().join("store").join(&backup_id).join("topics").join(format!("{topic}.json"));
    let captured: serde_json::Value = serde_json::from_slice(&std::fs::read(&captured_key).unwrap()).unwrap();
    assert_eq!(captured["partitions"], 2, "{captured}");
    for (key, value) in configs {
        assert_eq!(captured["configs"][key], value, "{key} captured: {captured}");
    }

    append(&config, "  topic_config_overrides:\n    retention.bytes: null\n    segment.bytes: 1048576\n");
    let restore = kbackup(&config, &["restore", "--json", "-v"]);
    let log = String::from_utf8_lossy(&restore.stderr).into_owned();
    assert_eq!(json(restore)["records"], 40);
    let applied = described(&env, &target);
    let expected: BTreeMap<String, String> =
        [("retention.ms", "3600000"), ("max.message.bytes", "2097152"), ("segment.bytes", "1048576")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    assert_eq!(applied, expected, "captured configs, minus the dropped key, plus the override; log: {log}");

    // `defaults`: only the overrides; an existing (empty) target topic is left as it is.
    let text = std::fs::read_to_string(&config).unwrap();
    let defaults = dir.path().join("defaults.yaml");
    let fresh = format!("{topic}-defaults");
    std::fs::write(&defaults, format!("{}  topic_config: defaults\n", text.replace(&target, &fresh))).unwrap();
    json(kbackup(&defaults, &["restore", "--json"]));
    assert_eq!(described(&env, &fresh).keys().collect::<Vec<_>>(), ["segment.bytes"]);

    let existing = format!("{topic}-existing");
    create_topic(&env, &existing, 2);
    std::fs::write(&defaults, text.replace(&target, &existing)).unwrap();
    let restore = kbackup(&defaults, &["restore", "--json", "-v"]);
    let log = String::from_utf8_lossy(&restore.stderr).into_owned();
    json(restore);
    assert!(log.contains("target topic exists"), "the log says the existing topic is left as is: {log}");
    assert!(described(&env, &existing).is_empty(), "an existing topic's configs are not changed");
}
