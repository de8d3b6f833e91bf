//! Backup → restore to a new topic → verify equal, for every codec on S3 and on a filesystem.

use crate::common::*;

fn round_trip(storage: Storage, compression: &str) {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("rt");
    let restored = format!("{topic}-restored");
    create_topic(&env, &topic, 4);
    produce_mixed(&env, &topic, 4, 300);
    let backup_id = unique("b");
    let config = write_config(
        &env,
        dir.path(),
        &Settings { storage, compression, mapping: Some((&topic, &restored)), ..Settings::new(&backup_id, &topic) },
    );

    let backup = json(kbackup(&config, &["backup", "--json"]));
    assert_eq!(backup["records"], 1200, "every record is backed up: {backup}");
    assert!(backup["segments"].as_u64().unwrap() >= 4, "{backup}");
    assert_eq!(backup["partitions"].as_array().unwrap().len(), 4);

    let restore = json(kbackup(&config, &["restore", "--json"]));
    assert_eq!(restore["records"], 1200, "{restore}");

    for live in [&restored, &topic] {
        let comparison = json(kbackup(&config, &["verify", "--against", live, "--topic", &topic, "--json"]));
        assert_eq!(comparison["equal"], true, "{comparison}");
        for p in comparison["partitions"].as_array().unwrap() {
            assert_eq!(p["backup_records"], 300, "{p}");
            assert_eq!(p["backup_digest"], p["live_digest"], "{p}");
        }
    }
    if let Storage::Filesystem = storage {
        assert_awkward_records_kept(&dir.path().join("store"));
    }
    let integrity = json(kbackup(&config, &["verify", "--integrity", "--json"]));
    assert_eq!(integrity["problems"].as_array().unwrap().len(), 0, "{integrity}");
    assert_eq!(integrity["records"], 1200);

    // A second run resumes from the checkpoints: nothing new, nothing stored twice.
    let again = json(kbackup(&config, &["backup", "--json"]));
    assert_eq!(again["records"], 0, "{again}");
    let described = json(kbackup(&config, &["describe", "--json"]));
    let total: u64 =
        described["topics"][&topic].as_array().unwrap().iter().map(|p| p["records"].as_u64().unwrap()).sum();
    assert_eq!(total, 1200, "{described}");
}

#[test]
fn zstd_on_s3() {
    round_trip(Storage::S3, "zstd");
}

#[test]
fn lz4_on_s3() {
    round_trip(Storage::S3, "lz4");
}

#[test]
fn none_on_s3() {
    round_trip(Storage::S3, "none");
}

#[test]
fn zstd_on_filesystem() {
    round_trip(Storage::Filesystem, "zstd");
}

#[test]
fn lz4_on_filesystem() {
    round_trip(Storage::Filesystem, "lz4");
}

#[test]
fn none_on_filesystem() {
    round_trip(Storage::Filesystem, "none");
}

/// Records produced after a backup are picked up by the next run, exactly once.
#[test]
fn incremental_rerun_adds_only_new_records() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("inc");
    create_topic(&env, &topic, 2);
    produce_bulk(&env, &topic, 2, 500, 300);
    let backup_id = unique("b");
    let settings = Settings { storage: Storage::S3, ..Settings::new(&backup_id, &topic) };
    let config = write_config(&env, dir.path(), &settings);
    assert_eq!(json(kbackup(&config, &["backup", "--json"]))["records"], 500);
    produce_bulk(&env, &topic, 2, 300, 300);
    assert_eq!(json(kbackup(&config, &["backup", "--json"]))["records"], 300);
    let comparison = json(kbackup(&config, &["verify", "--against", &topic, "--json"]));
    assert_eq!(comparison["equal"], true, "{comparison}");
}

/// Reads the segments straight off disk: null and empty stay distinct, headers keep duplicates and nulls.
fn assert_awkward_records_kept(root: &std::path::Path) {
    let mut counts = [0usize; 6];
    for path in files_with_extension(root, "kseg") {
        let bytes = std::fs::read(&path).unwrap();
        let reader = engine::segment::SegmentReader::open(&bytes).unwrap();
        for record in reader.records() {
            let r = record.unwrap();
            counts[0] += usize::from(r.key.is_none());
            counts[1] += usize::from(r.key.as_deref() == Some(b"".as_slice()));
            counts[2] += usize::from(r.value.is_none());
            counts[3] += usize::from(r.value.as_deref() == Some(b"".as_slice()));
            counts[4] += usize::from(r.headers.iter().filter(|h| h.key == "dup").count() == 2);
            counts[5] += usize::from(r.headers.iter().any(|h| h.key == "null" && h.value.is_none()));
        }
    }
    let names = ["null key", "empty key", "null value", "empty value", "duplicate header", "null header value"];
    for (name, count) in names.iter().zip(counts) {
        assert!(count > 0, "no record with a {name} survived the backup: {counts:?}");
    }
}
