//! One flipped byte in a segment: `verify --integrity` names the object and exits 1; restore stops
//! at the damaged block naming the object and its offsets, and `restore --full-check` refuses
//! before producing anything.

use crate::common::*;

#[test]
fn flipped_byte_is_named_and_restore_refuses() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("corrupt");
    create_topic(&env, &topic, 1);
    produce_bulk(&env, &topic, 1, 2000, 500);
    let backup_id = unique("b");
    let restored = format!("{topic}-restored");
    let config = write_config(
        &env,
        dir.path(),
        &Settings {
            segment_max_bytes: "64MiB",
            mapping: Some((&topic, &restored)),
            ..Settings::new(&backup_id, &topic)
        },
    );
    ok(kbackup(&config, &["backup"]));
    let segment =
        files_with_extension(&dir.path().join("store"), "kseg").into_iter().next().expect("a segment was written");
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&segment, bytes).unwrap();

    let verify = kbackup(&config, &["verify", "--integrity"]);
    assert_eq!(verify.status.code(), Some(1), "{verify:?}");
    let text = String::from_utf8_lossy(&verify.stdout);
    let name = segment.file_name().unwrap().to_string_lossy();
    assert!(text.contains(name.as_ref()), "names the damaged object: {text}");

    let restore = kbackup(&config, &["restore", "--full-check"]);
    assert_eq!(restore.status.code(), Some(2));
    let err = String::from_utf8_lossy(&restore.stderr);
    assert!(err.contains("refusing") && err.contains(name.as_ref()), "{err}");
    assert!(!topic_exists(&env, &restored), "--full-check produced nothing, created nothing");

    let restore = kbackup(&config, &["restore"]);
    assert_eq!(restore.status.code(), Some(2));
    let err = String::from_utf8_lossy(&restore.stderr);
    assert!(err.contains(name.as_ref()) && err.contains("damaged in offsets"), "names object and offsets: {err}");
    assert!(err.contains("checksum mismatch") && err.contains("rerun the restore to resume"), "{err}");
}

fn topic_exists(env: &Env, topic: &str) -> bool {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &env.bootstrap).create().unwrap();
    let metadata = consumer.fetch_metadata(None, std::time::Duration::from_secs(10)).unwrap();
    metadata.topics().iter().any(|t| t.name() == topic && t.error().is_none())
}
