//! Bad input gets a clear error naming the thing and exits non-zero, never a panic.

use crate::common::*;

fn fails_with(config_text: &str, args: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, config_text).unwrap();
    let out = kbackup(&path, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "expected '{needle}' in: {err}");
    }
}

#[test]
fn unknown_key_and_bad_values_need_no_services() {
    let base = "backup_id: x\nkafka:\n  bootstrap_servers: 127.0.0.1:1\nstorage:\n  type: filesystem\n  base_path: /tmp/none\n";
    fails_with(&format!("{base}colour: blue\n"), &["backup"], &["colour"]);
    fails_with(&base.replace("filesystem", "tape"), &["backup"], &["storage.type", "s3 or filesystem"]);
    fails_with(&format!("{base}backup:\n  compression: brotli\n"), &["backup"], &["backup.compression"]);
    let dir = tempfile::tempdir().unwrap();
    let out = kbackup(&dir.path().join("missing.yaml"), &["backup"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.yaml"));
}

#[test]
fn missing_topic_and_missing_backup_are_named() {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let id = unique("b");
    let topic = unique("nosuchtopic");
    let settings = Settings::new(&id, &topic);
    let config = write_config(&env, dir.path(), &settings);
    let text = std::fs::read_to_string(&config).unwrap();
    fails_with(&text, &["backup"], &["no topic on the cluster matches"]);
    fails_with(&text, &["restore"], &[&id, "not found"]);
}

#[test]
fn wrong_s3_credentials_say_what_to_check() {
    let Some(env) = env() else { return };
    let text = format!(
        "backup_id: x\nkafka:\n  bootstrap_servers: \"{}\"\nstorage:\n  type: s3\n  bucket: {}\n  region: {}\n  endpoint: {}\n  access_key_id: GKbogus\n  secret_access_key: bogus\n",
        env.bootstrap, env.bucket, env.region, env.s3_endpoint
    );
    fails_with(&text, &["list"], &["access_key_id"]);
}
