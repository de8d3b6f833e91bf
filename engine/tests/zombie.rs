//! A forced zombie overlap: backup A also holds a second, complete copy of every offset under
//! other keys (as a writer that lost its partitions would leave). Readers resolve one chain:
//! `verify --integrity` passes and lists the redundant entries, a restore produces every record
//! once, `describe` counts them once, and `delete --redundant` removes exactly the extra entries.

use std::path::Path;

use engine::manifest::{Layout, ManifestEntry};
use engine::store::Store;

use crate::common::*;

const RECORDS: u64 = 3000;

/// Copies every manifest entry and segment of backup `from` into backup `to`'s key space, each
/// under its own key with `.zombie` before the extension; object bytes are unchanged.
fn graft(config: &Path, from: &str, to: &str) -> usize {
    let plan = engine::config::load(config).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::open(&plan.storage).await.unwrap();
        let entries = store.list(&Layout::new(from).manifest_prefix()).await.unwrap();
        let rekey = |key: &str, ext: &str| {
            let rest = key.strip_prefix(&format!("{from}/")).unwrap();
            format!("{to}/{}.zombie.{ext}", rest.strip_suffix(&format!(".{ext}")).unwrap())
        };
        for object in &entries {
            let mut entry: ManifestEntry = serde_json::from_slice(&store.get(&object.key).await.unwrap()).unwrap();
            let segment = entry.segment.as_mut().expect("no gaps in this backup");
            let copy = rekey(&segment.key, "kseg");
            store.put(&copy, store.get(&segment.key).await.unwrap()).await.unwrap();
            segment.key = copy;
            store.put(&rekey(&object.key, "json"), serde_json::to_vec(&entry).unwrap().into()).await.unwrap();
        }
        entries.len()
    })
}

/// Manifest entries and segment objects under backup `id`.
fn count_objects(config: &Path, id: &str) -> (usize, usize) {
    let plan = engine::config::load(config).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::open(&plan.storage).await.unwrap();
        let layout = Layout::new(id);
        (
            store.list(&layout.manifest_prefix()).await.unwrap().len(),
            store.list(&layout.segments_prefix()).await.unwrap().len(),
        )
    })
}

/// Deletes a middle entry of partition 0 by hand: a hole, which verify reports and restore refuses.
fn assert_hole_is_damage(config: &Path, id: &str, topic: &str) {
    let plan = engine::config::load(config).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (from, to) = rt.block_on(async {
        let store = Store::open(&plan.storage).await.unwrap();
        let mut listed = store.list(&format!("{}{topic}/0/", Layout::new(id).manifest_prefix())).await.unwrap();
        assert!(listed.len() >= 3, "{listed:?}");
        let victim = listed.remove(1).key;
        let entry: ManifestEntry = serde_json::from_slice(&store.get(&victim).await.unwrap()).unwrap();
        store.delete(&victim).await.unwrap();
        (entry.start_offset, entry.next_offset)
    });
    let verify = kbackup(config, &["verify", "--integrity"]);
    let text = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("offsets {from}..{to} are in no manifest entry")), "{text}");
    let described = ok(kbackup(config, &["describe"]));
    assert!(described.contains(&format!("HOLES [({from}, {to})]")), "{described}");
    let restore = kbackup(config, &["restore"]);
    assert_eq!(restore.status.code(), Some(2), "{restore:?}");
    assert!(String::from_utf8_lossy(&restore.stderr).contains("refusing"), "{restore:?}");
}

/// Restores backup `config` into `restored` and checks it against the backup record by record.
fn restore_once(config: &Path, topic: &str, restored: &str) {
    let restore = json(kbackup(config, &["restore", "--json"]));
    assert_eq!(restore["records"], RECORDS, "every record restored once: {restore}");
    let comparison = json(kbackup(config, &["verify", "--against", restored, "--topic", topic, "--json"]));
    assert_eq!(comparison["equal"], true, "{comparison}");
    let compared: u64 =
        comparison["partitions"].as_array().unwrap().iter().map(|p| p["live_records"].as_u64().unwrap()).sum();
    assert_eq!(compared, RECORDS, "{comparison}");
}

#[test]
fn zombie_overlap_restores_once_and_cleans_up() {
    let Some(env) = env() else { return };
    let topic = unique("zombie");
    create_topic(&env, &topic, 2);
    produce_bulk(&env, &topic, 2, RECORDS as usize, 400);
    let (a, b) = (unique("a"), unique("b"));
    let (dir_a, dir_b, dir_c) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (restored, restored_again) = (format!("{topic}-restored"), format!("{topic}-again"));
    let settings = |id, segment_max_bytes, mapping| Settings {
        storage: Storage::S3,
        compression: "none",
        segment_max_bytes,
        block_size: "16KiB",
        mapping: Some((&topic, mapping)),
        ..Settings::new(id, &topic)
    };
    let config_a = write_config(&env, dir_a.path(), &settings(&a, "64KiB", &restored));
    let config_b = write_config(&env, dir_b.path(), &settings(&b, "160KiB", &restored));
    for config in [&config_a, &config_b] {
        assert_eq!(json(kbackup(config, &["backup", "--json"]))["records"], RECORDS);
    }
    let (own, own_segments) = count_objects(&config_a, &a);
    assert!(own >= 8 && own == own_segments, "several segments per partition: {own} entries");
    let grafted = graft(&config_a, &b, &a);
    assert!(grafted >= 4 && grafted < own, "B has fewer, larger segments: {grafted} vs {own}");

    let integrity = json(kbackup(&config_a, &["verify", "--integrity", "--json"]));
    assert_eq!(integrity["problems"].as_array().unwrap().len(), 0, "overlap is not damage: {integrity}");
    assert_eq!(integrity["orphans"].as_array().unwrap().len(), 0, "{integrity}");
    assert_eq!(integrity["records"], RECORDS, "each offset counted once: {integrity}");
    let used = integrity["segments"].as_u64().unwrap() as usize;
    let redundant = integrity["redundant"].as_array().unwrap().len();
    assert_eq!(used + redundant, own + grafted, "{integrity}");
    assert!(used <= grafted, "the chain takes the fewest entries: {used} used, B alone has {grafted}");
    eprintln!("zombie overlap: {own} entries of A + {grafted} grafted from B; chain {used}, redundant {redundant}");
    let text = ok(kbackup(&config_a, &["verify", "--integrity"]));
    assert!(text.contains(&format!("{redundant} redundant entries")) && text.contains("delete --redundant"), "{text}");
    eprintln!("{}", text.lines().take(4).collect::<Vec<_>>().join("\n"));

    let text = ok(kbackup(&config_a, &["describe"]));
    assert!(text.contains("redundant entries"), "{text}");
    eprintln!("{text}");
    let described = json(kbackup(&config_a, &["describe", "--json"]));
    let partitions = described["topics"][&topic].as_array().unwrap();
    let sum = |field: &str| partitions.iter().map(|p| p[field].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("records"), sum("redundant_entries")), (RECORDS, redundant as u64), "{described}");
    assert!(partitions.iter().all(|p| p["holes"].as_array().unwrap().is_empty()), "{described}");

    restore_once(&config_a, &topic, &restored);

    let dry = json(kbackup(&config_a, &["delete", "--redundant", "--json"]));
    assert_eq!((dry["deleted"].as_bool(), dry["entries"].as_array().unwrap().len()), (Some(false), redundant), "{dry}");
    assert_eq!(count_objects(&config_a, &a), (own + grafted, own + grafted), "a dry run deletes nothing");
    eprintln!("{}", ok(kbackup(&config_a, &["delete", "--redundant"])));
    let done = json(kbackup(&config_a, &["delete", "--redundant", "--yes", "--json"]));
    assert_eq!((done["deleted"].as_bool(), done["segments"].as_u64()), (Some(true), Some(redundant as u64)), "{done}");
    assert_eq!(count_objects(&config_a, &a), (used, used), "exactly the redundant entries and segments are gone");

    let after = json(kbackup(&config_a, &["verify", "--integrity", "--json"]));
    assert_eq!(after["problems"].as_array().unwrap().len(), 0, "{after}");
    assert_eq!(
        (after["records"].as_u64(), after["redundant"].as_array().unwrap().len()),
        (Some(RECORDS), 0),
        "{after}"
    );
    let again = json(kbackup(&config_a, &["delete", "--redundant", "--yes", "--json"]));
    assert_eq!(again["entries"].as_array().unwrap().len(), 0, "{again}");
    let config_c = write_config(&env, dir_c.path(), &settings(&a, "64KiB", &restored_again));
    restore_once(&config_c, &topic, &restored_again);
    assert_hole_is_damage(&config_c, &a, &topic);
    for id in [&a, &b] {
        ok(kbackup(&config_a, &["delete", "--backup-id", id, "--yes"]));
    }
}
