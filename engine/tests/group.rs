//! Consumer-group scale-out (issue 12 §2) on the real broker: instances of one backup split the
//! partitions with no partition read by two at once, a stopped instance hands its partitions to
//! the others (which resume from the checkpoints in storage), checkpointed offsets are committed
//! to the group, snapshot members split a one-off backup, and every record ends up restorable
//! exactly once.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::common::*;
use crate::continuous::{Running, WAIT, checkpointed, continuous_settings, plain, start};

/// The partitions of `topic` an instance holds now, from its log: assigned minus revoked.
fn held(run: &Running, topic: &str) -> BTreeSet<i32> {
    let pair = regex::Regex::new(r#"\("([^"]+)", (\d+)\)"#).unwrap();
    let field = regex::Regex::new(r"\bpartition=(\d+)").unwrap();
    let mut set = BTreeSet::new();
    for line in plain(&run.stderr_text()).lines() {
        if line.contains("assigned by the group") && line.contains(topic) {
            if let Some(c) = field.captures(line) {
                set.insert(c[1].parse().unwrap());
            }
        } else if line.contains("revoked by the group") {
            for c in pair.captures_iter(line).filter(|c| &c[1] == topic) {
                set.remove(&c[2].parse::<i32>().unwrap());
            }
        }
    }
    set
}

/// Polls `check` over both instances until it holds, failing if either exits or after [`WAIT`].
fn wait_both(a: &mut Running, b: &mut Running, what: &str, check: impl Fn(&Running, &Running) -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check(a, b) {
        a.assert_alive();
        b.assert_alive();
        assert!(
            Instant::now() < deadline,
            "{what}: not within {WAIT:?}\n--- a:\n{}\n--- b:\n{}",
            a.stderr_text(),
            b.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_one(run: &mut Running, what: &str, check: impl Fn(&Running) -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check(run) {
        run.assert_alive();
        assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}\n{}", run.stderr_text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The offsets the backup's group has committed, per partition (`None` where nothing is).
fn committed(env: &Env, group: &str, topic: &str, partitions: i32) -> Vec<Option<i64>> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &env.bootstrap).set("group.id", group).create().unwrap();
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let answer = consumer.committed_offsets(list, Duration::from_secs(10)).unwrap();
    (0..partitions)
        .map(|p| match answer.find_partition(topic, p).unwrap().offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        })
        .collect()
}

fn restored_exactly_once(config: &Path, topic: &str, restored: &str) {
    let integrity = json(kbackup(config, &["verify", "--integrity", "--json"]));
    assert_eq!(integrity["problems"].as_array().unwrap().len(), 0, "{integrity}");
    json(kbackup(config, &["restore", "--json"]));
    let comparison = json(kbackup(config, &["verify", "--against", restored, "--topic", topic, "--json"]));
    assert_eq!(comparison["equal"], true, "every record exactly once: {comparison}");
    let source = json(kbackup(config, &["verify", "--against", topic, "--json"]));
    assert_eq!(source["equal"], true, "{source}");
}

/// Two continuous instances split four partitions, none held by both; stopping one hands its
/// partitions to the other, which resumes from the checkpoints; the group's committed offsets end
/// at the partitions' ends; the backup restores every record exactly once.
#[test]
fn two_instances_split_partitions_and_hand_over_on_stop() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let topic = unique("group");
    let restored = format!("{topic}-restored");
    create_topic(&env, &topic, 4);
    produce_bulk(&env, &topic, 4, 4_000, 200);
    let backup_id = unique("b");
    let extra = "  segment_max_age: 1s\n  metadata_refresh: 1s\n";
    let settings = Settings {
        mapping: Some((&topic, &restored)),
        storage: Storage::S3,
        ..continuous_settings(&backup_id, &topic, extra)
    };
    let config = write_config(&env, dir.path(), &settings);

    let mut a = start(&config, &dir_a, &[]);
    wait_one(&mut a, "the first instance holds all four partitions", |a| held(a, &topic).len() == 4);
    wait_one(&mut a, "the first records checkpointed", |_| checkpointed(&config, &topic) == 4_000);
    let mut b = start(&config, &dir_b, &[]);
    wait_both(&mut a, &mut b, "the group splits the partitions between the two", |a, b| {
        let (x, y) = (held(a, &topic), held(b, &topic));
        !x.is_empty() && !y.is_empty() && x.is_disjoint(&y) && x.len() + y.len() == 4
    });
    produce_bulk(&env, &topic, 4, 4_000, 200);
    wait_both(&mut a, &mut b, "records produced while split are checkpointed", |_, _| {
        checkpointed(&config, &topic) == 8_000
    });
    let (x, y) = (held(&a, &topic), held(&b, &topic));
    assert!(x.is_disjoint(&y) && x.len() + y.len() == 4, "split held: {x:?} {y:?}");

    let (status, summary_b, stderr_b) = b.stop();
    assert_eq!(status.code(), Some(0), "a stopped member exits 0: {stderr_b}");
    assert!(summary_b.unwrap()["records"].as_u64().unwrap() > 0, "{stderr_b}");
    wait_one(&mut a, "the remaining instance takes the stopped one's partitions", |a| held(a, &topic).len() == 4);
    produce_bulk(&env, &topic, 4, 2_000, 200);
    wait_one(&mut a, "records produced after the hand-over are checkpointed", |_| {
        checkpointed(&config, &topic) == 10_000
    });
    let (status, _, stderr_a) = a.stop();
    assert_eq!(status.code(), Some(0), "{stderr_a}");
    assert!(stderr_a.contains("revoked by the group"), "the first instance handed partitions over: {stderr_a}");

    // Committed after each checkpoint, and finally at the stop: the group's lag is the backup's.
    let offsets = committed(&env, &format!("kbackup.{backup_id}"), &topic, 4);
    assert_eq!(offsets, vec![Some(2_500); 4], "group offsets at each partition's end");
    // A continuous backup never reaches a snapshot's end: describe says it is not complete.
    let description = json(kbackup(&config, &["describe", "--json"]));
    assert_eq!(description["completeness"]["incomplete"].as_array().unwrap().len(), 4, "{description}");
    restored_exactly_once(&config, &topic, &restored);
}

/// Snapshot members of one group split a one-off backup: both exit 0 once nothing is left, and
/// together they backed up every record exactly once.
#[test]
fn snapshot_members_split_a_one_off_backup() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("gsnap");
    let restored = format!("{topic}-restored");
    create_topic(&env, &topic, 4);
    produce_bulk(&env, &topic, 4, 8_000, 300);
    let backup_id = unique("b");
    let extra = "  coordination: group\n";
    let settings = Settings {
        mapping: Some((&topic, &restored)),
        storage: Storage::S3,
        segment_max_bytes: "256KiB",
        block_size: "16KiB",
        extra_backup: extra,
        ..Settings::new(&backup_id, &topic)
    };
    let config = write_config(&env, dir.path(), &settings);
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kbackup"))
            .args(["backup", "--json", "-v", "-c"])
            .arg(&config)
            .output()
    };
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(spawn);
        std::thread::sleep(Duration::from_millis(300));
        let second = s.spawn(spawn);
        (first.join().unwrap().unwrap(), second.join().unwrap().unwrap())
    });
    let mut records = 0;
    for output in [&first, &second] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{}: {stderr}", output.status);
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        records += summary["records"].as_u64().unwrap();
        assert!(stderr.contains("leaving the group"), "{stderr}");
    }
    assert_eq!(records, 8_000, "the members together backed up every record once");
    assert_eq!(checkpointed(&config, &topic), 8_000);
    let description = json(kbackup(&config, &["describe", "--json"]));
    assert_eq!(description["completeness"]["complete"], true, "both members finished: {description}");
    restored_exactly_once(&config, &topic, &restored);
}
