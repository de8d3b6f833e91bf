//! Config parsing and validation: the messages users see for bad files.

use super::*;
use crate::segment::Codec;

const MINIMAL: &str = r#"
backup_id: nightly
kafka:
  bootstrap_servers: "127.0.0.1:9092"
  topics:
    include: ["orders.*"]
storage:
  type: filesystem
  base_path: /tmp/kb
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

fn err(text: &str) -> String {
    parse(text, "test.yaml", no_env).unwrap_err().to_string()
}

#[test]
fn defaults_are_filled_in() {
    let plan = parse(MINIMAL, "test.yaml", no_env).unwrap();
    assert_eq!(plan.backup.compression, Codec::Zstd);
    assert_eq!(plan.backup.compression_level, 3);
    assert_eq!(plan.backup.segment_max_bytes, 128 << 20);
    assert_eq!(plan.kafka.fetch_max_wait.as_millis(), 500);
    assert!(plan.kafka.read_committed);
    assert!(plan.kafka.topics.matches("orders.eu"));
    assert!(!plan.kafka.topics.matches("payments"));
    assert_eq!(plan.backup.mode, BackupMode::Snapshot, "snapshot stays the default");
    assert_eq!(plan.backup.segment_max_age, DEFAULT_SEGMENT_MAX_AGE);
    assert_eq!(plan.backup.metadata_refresh, DEFAULT_METADATA_REFRESH);
    assert_eq!(plan.backup.shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
}

#[test]
fn continuous_mode_keys() {
    let text = MINIMAL.replace(
        "storage:",
        "backup:\n  mode: continuous\n  segment_max_age: 2m\n  metadata_refresh: 1500ms\nstorage:",
    );
    let plan = parse(&text, "t", no_env).unwrap();
    assert_eq!(plan.backup.mode, BackupMode::Continuous);
    assert_eq!(plan.backup.segment_max_age, std::time::Duration::from_secs(120));
    assert_eq!(plan.backup.metadata_refresh, std::time::Duration::from_millis(1500));
    // A bare number is milliseconds, as for every other duration key.
    let bare = MINIMAL.replace("storage:", "backup:\n  segment_max_age: 250\nstorage:");
    assert_eq!(parse(&bare, "t", no_env).unwrap().backup.segment_max_age.as_millis(), 250);
}

#[test]
fn continuous_mode_errors_name_the_key() {
    let mode = MINIMAL.replace("storage:", "backup:\n  mode: forever\nstorage:");
    let message = err(&mode);
    assert!(message.contains("backup.mode") && message.contains("snapshot or continuous"), "{message}");
    let age = MINIMAL.replace("storage:", "backup:\n  segment_max_age: 0s\nstorage:");
    assert!(err(&age).contains("backup.segment_max_age"), "{}", err(&age));
    let refresh = MINIMAL.replace("storage:", "backup:\n  metadata_refresh: 5 weeks\nstorage:");
    assert!(err(&refresh).contains("metadata_refresh"), "{}", err(&refresh));
    let unknown = MINIMAL.replace("storage:", "backup:\n  segment_max_ages: 5s\nstorage:");
    assert!(err(&unknown).contains("segment_max_ages"), "{}", err(&unknown));
}

#[test]
fn sizes_durations_and_env() {
    let text = r#"
backup_id: b1
kafka:
  bootstrap_servers: "${BOOT}"
  fetch_max_wait_ms: 10ms
  fetch_max_bytes: 8MiB
backup:
  segment_max_bytes: 256MiB
  compression: lz4
storage:
  type: s3
  bucket: "${BUCKET:-fallback}"
  endpoint: http://127.0.0.1:3900
"#;
    let plan = parse(text, "t", |n| (n == "BOOT").then(|| "h:1".to_string())).unwrap();
    assert_eq!(plan.kafka.bootstrap_servers, "h:1");
    assert_eq!(plan.kafka.fetch_max_wait.as_millis(), 10);
    assert_eq!(plan.kafka.fetch_max_bytes, 8 << 20);
    assert_eq!(plan.backup.segment_max_bytes, 256 << 20);
    match plan.storage.kind {
        StorageKind::S3 { bucket, path_style, .. } => {
            assert_eq!(bucket, "fallback");
            assert!(path_style, "a custom endpoint defaults to path style");
        }
        other => panic!("expected s3, got {other:?}"),
    }
}

#[test]
fn unknown_key_is_named() {
    let text = MINIMAL.replace("  type: filesystem", "  type: filesystem\n  colour: blue");
    let message = err(&text);
    assert!(message.contains("colour"), "{message}");
}

#[test]
fn bad_values_name_the_key_and_the_choices() {
    let codec = MINIMAL.replace("storage:", "backup:\n  compression: brotli\nstorage:");
    assert!(err(&codec).contains("backup.compression"));
    assert!(err(&codec).contains("zstd, lz4, none"));
    let store = MINIMAL.replace("type: filesystem", "type: ftp");
    assert!(err(&store).contains("storage.type"));
    let size = MINIMAL.replace("storage:", "backup:\n  segment_max_bytes: 12XB\nstorage:");
    assert!(err(&size).contains("unknown size unit"), "{}", err(&size));
    let regex = MINIMAL.replace("orders.*", "orders(");
    assert!(err(&regex).contains("kafka.topics.include"));
    let id = MINIMAL.replace("nightly", "../escape");
    assert!(err(&id).contains("backup_id"));
}

#[test]
fn missing_env_is_named() {
    let text = MINIMAL.replace("127.0.0.1:9092", "${KAFKA_HOSTS}");
    assert!(err(&text).contains("KAFKA_HOSTS"));
}

#[test]
fn security_maps_to_librdkafka_properties() {
    let text = MINIMAL.replace(
        "  topics:",
        "  security:\n    protocol: SASL_SSL\n    sasl_mechanism: SCRAM-SHA-512\n    sasl_username: u\n    sasl_password: p\n  topics:",
    );
    let plan = parse(&text, "t", no_env).unwrap();
    let props = &plan.kafka.client_properties;
    assert_eq!(props["security.protocol"], "SASL_SSL");
    assert_eq!(props["sasl.mechanism"], "SCRAM-SHA-512");
    assert_eq!(plan.kafka.client_secrets["sasl.password"].expose(), "p");
    assert!(!props.contains_key("sasl.password"));
    let debug = format!("{plan:?}");
    assert!(debug.contains("***") && !debug.contains("\"p\""), "secrets are redacted: {debug}");
}

#[test]
fn comments_are_not_expanded() {
    assert_eq!(
        expand_env("a: 1 # ${UNSET}\n# ${X}\nb: \"#${Y:-2}\"\n", no_env).unwrap(),
        "a: 1 # ${UNSET}\n# ${X}\nb: \"#2\"\n"
    );
}

#[test]
fn dollar_escape() {
    assert_eq!(expand_env("a$$b", no_env).unwrap(), "a$b");
    assert_eq!(expand_env("cost $5", no_env).unwrap(), "cost $5");
}

#[test]
fn shipped_examples_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for name in ["backup.yaml", "restore.yaml", "filesystem.yaml", "continuous.yaml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let plan = parse(&text, name, |_| None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = if name == "continuous.yaml" { BackupMode::Continuous } else { BackupMode::Snapshot };
        assert_eq!(plan.backup.mode, expected, "{name}");
    }
}

#[test]
fn coordination_defaults_by_mode_and_group_id_by_backup() {
    let plan = parse(MINIMAL, "test.yaml", no_env).unwrap();
    assert_eq!(plan.backup.coordination(), Coordination::Standalone, "a one-off snapshot joins no group");
    assert_eq!(plan.backup.group_id, "kbackup.nightly");
    let mut continuous = plan.clone();
    continuous.backup.mode = BackupMode::Continuous; // what `--continuous` does
    assert_eq!(continuous.backup.coordination(), Coordination::Group);
    let text = format!("{MINIMAL}backup:\n  mode: continuous\n  coordination: standalone\n  group_id: team.b\n");
    let plan = parse(&text, "test.yaml", no_env).unwrap();
    assert_eq!((plan.backup.coordination(), plan.backup.group_id.as_str()), (Coordination::Standalone, "team.b"));
    assert!(
        err(&format!("{MINIMAL}backup:\n  coordination: leader\n")).contains("'leader' (expected group or standalone)")
    );
    assert!(err(&format!("{MINIMAL}backup:\n  group_id: \"\"\n")).contains("backup.group_id"));
}

/// Every shipped example resolves with its `${VAR:-default}` defaults: README commands name them.
#[test]
fn shipped_examples_resolve() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            parse(&text, &path.display().to_string(), no_env).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 3, "examples/ holds the README's configs ({checked} found)");
}

#[test]
fn consumer_group_keys() {
    let plan = parse(MINIMAL, "t", no_env).unwrap();
    assert!(!plan.backup.consumer_groups.enabled(), "no group is captured unless asked");
    assert!(!plan.restore.consumer_groups.enabled());
    assert_eq!(plan.backup.consumer_groups.interval, DEFAULT_GROUP_CAPTURE_INTERVAL);
    let text = MINIMAL.replace(
        "storage:",
        "backup:\n  consumer_groups:\n    include: [\"billing.*\"]\n    exclude: [\"billing-test\"]\n    interval: 5s\nstorage:",
    ) + "restore:\n  consumer_groups:\n    include: [\"billing\"]\n    allow_active: true\n";
    let plan = parse(&text, "t", no_env).unwrap();
    let capture = &plan.backup.consumer_groups;
    assert!(capture.groups.matches("billing-eu") && !capture.groups.matches("billing-test"));
    assert!(!capture.groups.matches("xbilling"), "patterns match whole names");
    assert_eq!(capture.interval, std::time::Duration::from_secs(5));
    assert!(plan.restore.consumer_groups.groups.matches("billing"));
    assert!(plan.restore.consumer_groups.allow_active);
}

#[test]
fn consumer_group_errors_name_the_key() {
    let bad = MINIMAL.replace("storage:", "backup:\n  consumer_groups:\n    include: [\"(\"]\nstorage:");
    assert!(err(&bad).contains("backup.consumer_groups.include"), "{}", err(&bad));
    let short = MINIMAL.replace("storage:", "backup:\n  consumer_groups:\n    interval: 10ms\nstorage:");
    assert!(err(&short).contains("backup.consumer_groups.interval"), "{}", err(&short));
    let unknown = format!("{MINIMAL}restore:\n  consumer_groups:\n    allow_actve: true\n");
    assert!(err(&unknown).contains("allow_actve"), "{}", err(&unknown));
}

#[test]
fn point_in_time_and_offset_ranges_parse_from_yaml() {
    let text = format!(
        "{MINIMAL}restore:\n  time_window:\n    start: 2026-12-02T14:00:00Z\n    end: 1796220120000\n  offsets:\n    orders:\n      3: {{start: 120, end: 125}}\n      0: {{end: 10}}\n"
    );
    let plan = parse(&text, "t", no_env).unwrap();
    let selection = &plan.restore.selection;
    assert_eq!(selection.time_window, Some(Bounds { start: 1_796_220_000_000, end: 1_796_220_120_000 }));
    assert_eq!(selection.offsets_of("orders", 3), Bounds { start: 120, end: 125 });
    assert_eq!(selection.offsets_of("orders", 0), Bounds { start: i64::MIN, end: 10 });
    assert!(parse(MINIMAL, "t", no_env).unwrap().restore.selection.is_all(), "nothing set: everything");

    let bad = err(&format!("{MINIMAL}restore:\n  time_window:\n    start: yesterday\n"));
    assert!(bad.contains("'yesterday'") && bad.contains("RFC 3339"), "{bad}");
    let typo = err(&format!("{MINIMAL}restore:\n  time_window:\n    begin: 1\n"));
    assert!(typo.contains("begin"), "{typo}");
    let reversed = err(&format!("{MINIMAL}restore:\n  time_window:\n    start: 20\n    end: 10\n"));
    assert!(reversed.contains("restore.time_window") && reversed.contains("before end"), "{reversed}");
    let negative = err(&format!("{MINIMAL}restore:\n  offsets:\n    orders:\n      1: {{start: -5}}\n"));
    assert!(negative.contains("restore.offsets.orders.1"), "{negative}");
}
