//! `kbackup delete`: removes exactly one backup (every object under its id) and leaves the
//! others in the same store readable, on S3 and on a filesystem.

use crate::common::*;

fn delete_one_of_two(storage: Storage) {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("del");
    create_topic(&env, &topic, 2);
    produce_bulk(&env, &topic, 2, 200, 2_000);
    let (doomed, kept) = (unique("gone"), unique("kept"));
    for id in [&doomed, &kept] {
        let config = write_config(&env, dir.path(), &Settings { storage, ..Settings::new(id, &topic) });
        assert_eq!(json(kbackup(&config, &["backup", "--json"]))["records"], 200);
    }
    // The config names `kept`; only --backup-id decides what is deleted.
    let config = dir.path().join("config.yaml");

    let dry = json(kbackup(&config, &["delete", "--backup-id", &doomed, "--json"]));
    assert_eq!(dry["deleted"], false, "{dry}");
    let objects = dry["objects"].as_u64().unwrap();
    assert!(objects >= 5, "backup.json, 2+ segments, 2+ manifest entries: {dry}");
    assert!(dry["bytes"].as_u64().unwrap() > 0, "{dry}");
    let listed = json(kbackup(&config, &["list", "--json"])).to_string();
    assert!(listed.contains(&doomed), "a dry run deletes nothing: {listed}");

    let done = json(kbackup(&config, &["delete", "--backup-id", &doomed, "--yes", "--json"]));
    assert_eq!((done["deleted"].as_bool(), done["objects"].as_u64()), (Some(true), Some(objects)), "{done}");
    let listed = json(kbackup(&config, &["list", "--json"])).to_string();
    assert!(!listed.contains(&doomed) && listed.contains(&kept), "{listed}");
    let again = json(kbackup(&config, &["delete", "--backup-id", &doomed, "--yes", "--json"]));
    assert_eq!(again["objects"], 0, "nothing is left under the id: {again}");

    let integrity = json(kbackup(&config, &["verify", "--integrity", "--json"]));
    assert_eq!(integrity["records"], 200, "the other backup is whole: {integrity}");
    assert_eq!(integrity["problems"].as_array().unwrap().len(), 0, "{integrity}");
    if let Storage::Filesystem = storage {
        assert!(!dir.path().join("store").join(&doomed).exists(), "no empty directories left");
    }
    ok(kbackup(&config, &["delete", "--backup-id", &kept, "--yes"]));
}

#[test]
fn delete_on_s3() {
    delete_one_of_two(Storage::S3);
}

#[test]
fn delete_on_filesystem() {
    delete_one_of_two(Storage::Filesystem);
}

#[test]
fn delete_refuses_ids_kbackup_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    let store = dir.path().join("store");
    let text = format!(
        "backup_id: x\nkafka:\n  bootstrap_servers: 127.0.0.1:1\nstorage:\n  type: filesystem\n  base_path: {}\n",
        store.display()
    );
    std::fs::write(&config, text).unwrap();
    std::fs::create_dir_all(store.join("sibling")).unwrap();
    std::fs::write(store.join("sibling/keep"), b"x").unwrap();
    let out = kbackup(&config, &["delete", "--backup-id", "../store", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("backup_id"), "{out:?}");
    assert!(store.join("sibling/keep").exists());
}
