//! Consumer-group offsets (issue 13 §2, §7): a group consumes part of a topic and commits; the
//! backup captures its offsets; the restore translates them into a new topic; a consumer of that
//! group on the target resumes exactly at the next record — none skipped, none read again.
//!
//! The target already holds a record per partition, so the translated offsets differ from the
//! source's (the restored stream starts at the target's end). Gaps in source offsets are covered
//! by the translation's property tests (`restore::offsets`): tansu 0.6 has no transactions
//! (EndTxn), no DeleteRecords and no compaction to make them on a real broker.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::common::*;

const PARTITIONS: i32 = 2;
/// A failure bound only: every wait ends as soon as its condition holds.
const DEADLINE: Duration = Duration::from_secs(90);

type Kv = (Option<Vec<u8>>, Option<Vec<u8>>);

/// `per_partition` records to every partition, each with a key and value naming it.
fn produce_named(env: &Env, topic: &str, prefix: &str, per_partition: usize) {
    let producer = producer(env);
    for partition in 0..PARTITIONS {
        for i in 0..per_partition {
            let (key, value) = (format!("{prefix}-{partition}-{i}"), format!("{{\"p\":{partition},\"i\":{i}}}"));
            producer
                .send(BaseRecord::to(topic).partition(partition).key(key.as_bytes()).payload(value.as_bytes()))
                .map_err(|(e, _)| e)
                .unwrap();
        }
    }
    producer.flush(DEADLINE).unwrap();
}

fn reader(env: &Env, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &env.bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .set("partition.assignment.strategy", "range");
    config
}

/// Every record of `topic/partition` from the log start, with its offset (no group involved).
fn read_all(env: &Env, topic: &str, partition: i32) -> Vec<(i64, Kv)> {
    let consumer: BaseConsumer = reader(env, &unique("reader")).set("enable.partition.eof", "true").create().unwrap();
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Beginning).unwrap();
    consumer.assign(&list).unwrap();
    let (mut records, started) = (Vec::new(), Instant::now());
    while started.elapsed() < DEADLINE {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => records.push((m.offset(), (m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec)))),
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => return records,
            Some(Err(e)) => panic!("reading {topic}/{partition}: {e}"),
            None => {}
        }
    }
    panic!("{topic}/{partition} not read to its end within {DEADLINE:?}");
}

/// Subscribes `group` to `topic` and polls until `want[p]` records of each partition arrived
/// (records beyond that are not processed); returns what was processed, in order. Where the group
/// has no committed offset it starts at `reset` (`error`: it must have one).
fn consume(env: &Env, topic: &str, group: &str, reset: &str, want: &[usize]) -> (BaseConsumer, Vec<Vec<(i64, Kv)>>) {
    let consumer: BaseConsumer = reader(env, group).set("auto.offset.reset", reset).create().unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut got = vec![Vec::new(); want.len()];
    let started = Instant::now();
    while got.iter().zip(want).any(|(g, w)| g.len() < *w) {
        assert!(
            started.elapsed() < DEADLINE,
            "group {group} read {:?} of {want:?} records",
            got.iter().map(Vec::len).collect::<Vec<_>>()
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let p = m.partition() as usize;
                if got[p].len() < want[p] {
                    got[p].push((m.offset(), (m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec))));
                }
            }
            Some(Err(e)) => panic!("group {group} on {topic}: {e}"),
            None => {}
        }
    }
    (consumer, got)
}

/// What a group commits after processing `got`: one past the last record of each partition.
fn commit_processed(consumer: &BaseConsumer, topic: &str, got: &[Vec<(i64, Kv)>]) -> BTreeMap<i32, i64> {
    let mut list = TopicPartitionList::new();
    let mut committed = BTreeMap::new();
    for (p, records) in got.iter().enumerate() {
        if let Some((offset, _)) = records.last() {
            list.add_partition_offset(topic, p as i32, Offset::Offset(offset + 1)).unwrap();
            committed.insert(p as i32, offset + 1);
        }
    }
    consumer.commit(&list, CommitMode::Sync).unwrap();
    committed
}

fn restore_section(config: &std::path::Path, lines: &str) {
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str(lines);
    std::fs::write(config, text).unwrap();
}

#[test]
fn a_group_resumes_on_the_restored_topic_where_it_stopped() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (topic, group, other) = (unique("cg"), unique("app"), unique("other"));
    let restored = format!("{topic}-restored");
    create_topic(&env, &topic, PARTITIONS);
    produce_named(&env, &topic, "k", 200);
    let source: Vec<Vec<(i64, Kv)>> = (0..PARTITIONS).map(|p| read_all(&env, &topic, p)).collect();
    assert!(source.iter().all(|s| s.len() == 200), "{:?}", source.iter().map(Vec::len).collect::<Vec<_>>());
    // The target holds one record per partition already: the restored stream starts at offset 1.
    // One record (one batch) each, so tansu's ListOffsets reports that end exactly (it answers the
    // newest batch's base offset + 1: README, Known broker quirks).
    create_topic(&env, &restored, PARTITIONS);
    produce_named(&env, &restored, "old", 1);

    // The application: partition 0 read part way, partition 1 to its end.
    let (app, read) = consume(&env, &topic, &group, "earliest", &[137, 200]);
    let committed = commit_processed(&app, &topic, &read);
    drop(app); // leaves the group: no active member at backup or restore time
    let (bystander, read_other) = consume(&env, &topic, &other, "earliest", &[5, 5]);
    commit_processed(&bystander, &topic, &read_other);
    drop(bystander);

    let backup_id = unique("b");
    let extra = format!("  consumer_groups:\n    include: [\"{group}\", \"{other}\"]\n");
    let settings =
        Settings { mapping: Some((&topic, &restored)), extra_backup: &extra, ..Settings::new(&backup_id, &topic) };
    let config = write_config(&env, dir.path(), &settings);
    // Default producer batching: tansu skips the rest of a batch a fetch starts inside (README,
    // Known broker quirks), and the resuming consumer fetches from mid-log; the restore opens a new
    // batch where each group resumes, which this test checks end to end.
    restore_section(&config, &format!("  consumer_groups:\n    include: [\"{group}\"]\n  allow_non_empty: true\n"));
    assert_eq!(json(kbackup(&config, &["backup", "--json"]))["records"], 400);

    // The capture holds both groups' commits, and not kbackup's own group.
    let captures = files_with_extension(&dir.path().join("store").join(&backup_id).join("groups"), "json");
    assert_eq!(captures.len(), 1, "one capture per snapshot run: {captures:?}");
    let capture: serde_json::Value = serde_json::from_slice(&std::fs::read(&captures[0]).unwrap()).unwrap();
    for (p, offset) in &committed {
        assert_eq!(capture["groups"][&group][&topic][p.to_string()], *offset, "{capture}");
    }
    assert!(capture["groups"][&other].is_object() && capture["groups"].as_object().unwrap().len() == 2, "{capture}");

    // Where the group must resume on the target: after the target's own record, the position of
    // the first record it had not read.
    let expected: BTreeMap<i32, i64> = committed
        .iter()
        .map(|(p, c)| (*p, 1 + source[*p as usize].iter().position(|(o, _)| o >= c).unwrap_or(200) as i64))
        .collect();
    assert_eq!(expected, BTreeMap::from([(0, 138), (1, 201)]));

    let plan = json(kbackup(&config, &["offsets", "plan", "--json"]));
    let planned = translated(&plan["offsets"], &group, &restored);
    assert_eq!(planned, expected, "{plan}");

    let restore = json(kbackup(&config, &["restore", "--json"]));
    assert_eq!(restore["records"], 400, "{restore}");
    assert_eq!(translated(&restore["consumer_groups"], &group, &restored), expected, "{restore}");
    assert_eq!(restore["consumer_groups"].as_array().unwrap().len(), 2, "only the group restore asked for: {restore}");

    // New records after the restore, then the group resumes on the target.
    let producer = producer(&env);
    for p in 0..PARTITIONS {
        for i in 0..3 {
            let key = format!("new-{p}-{i}");
            producer
                .send(BaseRecord::to(&restored).partition(p).key(key.as_bytes()).payload(b"new"))
                .map_err(|(e, _)| e)
                .unwrap();
        }
    }
    producer.flush(DEADLINE).unwrap();
    let (resumed, got) = consume(&env, &restored, &group, "error", &[200 - 137 + 3, 3]);
    let kv = |records: &[(i64, Kv)]| records.iter().map(|(_, kv)| kv.clone()).collect::<Vec<_>>();
    let new = |p: i32| {
        (0..3).map(|i| (Some(format!("new-{p}-{i}").into_bytes()), Some(b"new".to_vec()))).collect::<Vec<Kv>>()
    };
    assert_eq!(got[0][0].0, 138, "partition 0 resumes at the translated offset");
    assert_eq!(kv(&got[0]), [kv(&source[0][137..]), new(0)].concat(), "no record skipped, none read again");
    assert_eq!(kv(&got[1]), new(1), "partition 1 had been read to its end");

    // While the group has an active member on the target, a restore refuses to commit for it.
    let again = format!("{topic}-again");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&format!("{topic}: {restored}"), &format!("{topic}: {again}"));
    std::fs::write(&config, text).unwrap();
    let refused = kbackup(&config, &["restore"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&group) && stderr.contains("active members") && stderr.contains("allow_active"),
        "{stderr}"
    );
    drop(resumed);
}

/// By key (2 → 3 partitions) each target partition's stream interleaves both sources: the group
/// resumes at the first record it had not read on either, as `offsets plan` predicts, and reads
/// every record it had not read (records of the other source after that point are read again).
#[test]
fn a_group_resumes_after_a_by_key_restore_without_skipping() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (topic, group) = (unique("cgk"), unique("app"));
    let restored = format!("{topic}-bykey");
    create_topic(&env, &topic, PARTITIONS);
    produce_named(&env, &topic, "k", 200);
    let (app, read) = consume(&env, &topic, &group, "earliest", &[120, 60]);
    let committed = commit_processed(&app, &topic, &read);
    drop(app);

    let backup_id = unique("b");
    let extra = format!("  consumer_groups:\n    include: [\"{group}\"]\n");
    let settings =
        Settings { mapping: Some((&topic, &restored)), extra_backup: &extra, ..Settings::new(&backup_id, &topic) };
    let config = write_config(&env, dir.path(), &settings);
    let lines = format!(
        "  consumer_groups:\n    include: [\"{group}\"]\n  repartition: by-key\n  partitions:\n    {topic}: 3\n"
    );
    restore_section(&config, &lines);
    assert_eq!(json(kbackup(&config, &["backup", "--json"]))["records"], 400);
    let plan = json(kbackup(&config, &["offsets", "plan", "--json"]));
    let restore = json(kbackup(&config, &["restore", "--json"]));
    assert_eq!(restore["records"], 400, "{restore}");
    let got = translated(&restore["consumer_groups"], &group, &restored);
    assert_eq!(translated(&plan["offsets"], &group, &restored), got, "the plan predicts the restore: {plan}");

    // Each target stream, and where the group must resume in it: the first record it had not read
    // (keys are `k-<source partition>-<source offset>`).
    let unread = |key: &[u8]| {
        let key = String::from_utf8_lossy(key);
        let mut parts = key.split('-').skip(1).map(|n| n.parse::<i64>().unwrap());
        let (p, offset) = (parts.next().unwrap() as i32, parts.next().unwrap());
        offset >= committed.get(&p).copied().unwrap_or(0)
    };
    let mut want = Vec::new();
    for p in 0..3 {
        let stream = read_all(&env, &restored, p);
        let first = stream.iter().position(|(_, (k, _))| unread(k.as_deref().unwrap())).unwrap_or(stream.len());
        assert_eq!(got.get(&p), Some(&(first as i64)), "target partition {p}: {restore}");
        let tail: Vec<Kv> = stream[first..].iter().map(|(_, kv)| kv.clone()).collect();
        want.push(tail);
    }
    let counts: Vec<usize> = want.iter().map(Vec::len).collect();
    let (resumed, read_back) = consume(&env, &restored, &group, "error", &counts);
    for (p, (records, tail)) in read_back.iter().zip(&want).enumerate() {
        let kv: Vec<Kv> = records.iter().map(|(_, kv)| kv.clone()).collect();
        assert_eq!(&kv, tail, "target partition {p}: the group resumes at its translated offset, skipping nothing");
    }
    let unread_total: usize = (0..PARTITIONS).map(|p| 200 - committed[&p] as usize).sum();
    let read_total: usize = counts.iter().sum();
    assert!(read_total >= unread_total, "every unread record is read on the target");
    drop(resumed);
}

/// The group's target offsets per partition of `target`, from `consumer_groups` / `offsets` rows.
fn translated(rows: &serde_json::Value, group: &str, target: &str) -> BTreeMap<i32, i64> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not a list: {rows}"))
        .iter()
        .filter(|r| r["group"] == group && r["target_topic"] == target)
        .map(|r| (r["target_partition"].as_i64().unwrap() as i32, r["target_offset"].as_i64().unwrap()))
        .collect()
}

/// Commits `offsets` for `group` from outside it (as a tool would), partition → offset.
fn commit_as(env: &Env, topic: &str, group: &str, offsets: &[(i32, i64)]) {
    let consumer: BaseConsumer = reader(env, group).create().unwrap();
    let mut list = TopicPartitionList::new();
    for (p, o) in offsets {
        list.add_partition_offset(topic, *p, Offset::Offset(*o)).unwrap();
    }
    consumer.commit(&list, CommitMode::Sync).unwrap();
}

/// A continuous backup captures at start and again when a group's offsets change (not when they
/// stay the same, not even at the stop); the restore side plans from the newest capture.
#[test]
fn continuous_backup_captures_changed_offsets_and_restore_plans_from_the_newest() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (topic, group) = (unique("cgc"), unique("app"));
    create_topic(&env, &topic, PARTITIONS);
    produce_named(&env, &topic, "k", 20);
    commit_as(&env, &topic, &group, &[(0, 5), (1, 5)]);
    let backup_id = unique("b");
    let extra = format!("  consumer_groups:\n    include: [\"{group}\"]\n    interval: 200ms\n");
    // A target that does not exist yet starts at 0 (tansu's ListOffsets would under-report an
    // existing one's end: README, Known broker quirks).
    let target = format!("{topic}-restored");
    let settings = Settings {
        mapping: Some((&topic, &target)),
        ..crate::continuous::continuous_settings(&backup_id, &topic, &extra)
    };
    let config = write_config(&env, dir.path(), &settings);
    restore_section(&config, &format!("  consumer_groups:\n    include: [\"{group}\"]\n"));
    let captures_dir = dir.path().join("store").join(&backup_id).join("groups");
    let captures = || files_with_extension(&captures_dir, "json");
    let mut run = crate::continuous::start(&config, dir.path(), &[]);
    let wait_for = |run: &mut crate::continuous::Running, n: usize| {
        let started = Instant::now();
        while captures().len() < n {
            run.assert_alive();
            assert!(started.elapsed() < DEADLINE, "{n} captures not within {DEADLINE:?}: {}", run.stderr_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(&mut run, 1);
    commit_as(&env, &topic, &group, &[(0, 12), (1, 20)]);
    wait_for(&mut run, 2);
    let (status, _, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(captures().len(), 2, "unchanged offsets are not stored again: {:?}", captures());

    let plan = json(kbackup(&config, &["offsets", "plan", "--json"]));
    assert_eq!(translated(&plan["offsets"], &group, &target), BTreeMap::from([(0, 12), (1, 20)]), "{plan}");

    // A point-in-time restore ending before the second capture takes the groups as the first
    // capture saw them (every record was produced before it, so all are in the window).
    let mut times: Vec<i64> = captures()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().split('.').next().unwrap().parse().unwrap())
        .collect();
    times.sort_unstable();
    restore_section(&config, &format!("  time_window:\n    end: {}\n", times[1]));
    let plan = json(kbackup(&config, &["offsets", "plan", "--json"]));
    assert_eq!(translated(&plan["offsets"], &group, &target), BTreeMap::from([(0, 5), (1, 5)]), "{plan}");
    // Ending at the first capture's time: no capture was taken before it.
    let text =
        std::fs::read_to_string(&config).unwrap().replace(&format!("end: {}", times[1]), &format!("end: {}", times[0]));
    std::fs::write(&config, text).unwrap();
    let refused = kbackup(&config, &["offsets", "plan"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("no consumer-group capture taken before restore.time_window.end"), "{stderr}");
}
