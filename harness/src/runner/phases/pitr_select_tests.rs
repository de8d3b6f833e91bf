use super::*;
use crate::load::Progress;
use crate::scenario::Position;
use serde_json::json;

fn rec(offset: i64, timestamp: i64) -> ReadRecord {
    ReadRecord { offset, timestamp, hash: (offset as u64) * 7919 + 1, bytes: 100 }
}

fn pct(start: f64, end: f64) -> Range {
    Range { start: Some(Position::Percent(start)), end: Some(Position::Percent(end)) }
}

#[test]
fn a_window_is_a_share_of_the_produced_span() {
    let spread = TimestampSpread { start_ms: 1_000_000, span_ms: 3_600_000, jitter_ms: 0, over: Progress::Bytes(1) };
    let sel = window_selection(&pct(50.0, 51.0), &spread);
    assert_eq!(sel.time_window, Some(Bounds { start: 2_800_000, end: 2_836_000 }));
    assert!(sel.offsets.is_empty());
    let open = window_selection(&Range { start: None, end: Some(Position::Percent(1.0)) }, &spread);
    assert_eq!(open.time_window, Some(Bounds { start: i64::MIN, end: 1_036_000 }));
    assert_eq!(config_entries(&open), vec![("restore.time_window", json!({"end": 1_036_000}))]);
}

#[test]
fn offsets_are_shares_of_each_partition() {
    let source =
        vec![(0..1000).map(|o| rec(o, 0)).collect::<Vec<_>>(), Vec::new(), (5..205).map(|o| rec(o, 0)).collect()];
    let ranges = [
        PartitionRange { partition: 0, range: pct(10.0, 12.5) },
        PartitionRange { partition: 2, range: Range { start: Some(Position::Offset(100)), end: None } },
    ];
    let sel = offsets_selection(&ranges, "t", &source).unwrap();
    assert_eq!(sel.offsets["t"][&0], Bounds { start: 100, end: 125 });
    assert_eq!(sel.offsets["t"][&2], Bounds { start: 100, end: i64::MAX });
    assert_eq!(
        config_entries(&sel),
        vec![("restore.offsets", json!({"t": {"0": {"start": 100, "end": 125}, "2": {"start": 100}}}))]
    );
    assert_eq!(describe(&sel), "offsets 0: [100, 125), 2: [100, open)");
    let empty = [PartitionRange { partition: 1, range: pct(10.0, 20.0) }];
    assert!(matches!(offsets_selection(&empty, "t", &source), Err(SelectError::EmptyRange { partition: 1, .. })));
}

#[test]
fn the_predicate_is_half_open_on_both_sides() {
    let window = RecordSelection { time_window: Some(Bounds { start: 10, end: 20 }), offsets: BTreeMap::new() };
    let picked: Vec<i64> =
        (0..30).map(|t| rec(t, t)).filter(|r| selects(&window, "t", 0, r)).map(|r| r.timestamp).collect();
    assert_eq!(picked, (10..20).collect::<Vec<_>>());
    let ranges = RecordSelection {
        time_window: None,
        offsets: BTreeMap::from([("t".into(), BTreeMap::from([(1, Bounds { start: 5, end: 7 })]))]),
    };
    assert!(selects(&ranges, "t", 0, &rec(0, 0)), "unlisted partitions are whole");
    assert!(selects(&ranges, "u", 1, &rec(0, 0)), "unlisted topics are whole");
    assert!(!selects(&ranges, "t", 1, &rec(7, 0)) && selects(&ranges, "t", 1, &rec(6, 0)));
}

#[test]
fn out_of_order_timestamps_are_selected_by_timestamp_not_position() {
    // Offsets 3 and 4 swap their timestamps across the window's start.
    let source = vec![vec![rec(0, 1), rec(1, 2), rec(2, 9), rec(3, 11), rec(4, 10), rec(5, 12), rec(6, 25)]];
    let sel = RecordSelection { time_window: Some(Bounds { start: 10, end: 20 }), offsets: BTreeMap::new() };
    let right = vec![vec![rec(3, 11), rec(4, 10), rec(5, 12)]];
    let c = check(&sel, "t", &source, &right);
    assert!(c.passed(), "{c:?}");
    assert_eq!((c.expected_records(), c.restored_records(), c.restored_bytes()), (3, 3, 300));
}

#[test]
fn every_kind_of_difference_is_counted() {
    let source = vec![(0..10).map(|o| rec(o, o)).collect::<Vec<_>>()];
    let all = RecordSelection::default();
    let restored = |offsets: &[i64]| vec![offsets.iter().map(|o| rec(*o, *o)).collect::<Vec<_>>()];
    let c = check(&all, "t", &source, &restored(&[0, 1, 2, 3, 4, 5, 6, 7, 8]));
    assert_eq!(c.mismatched_records(), 1, "one lost");
    let c = check(&all, "t", &source, &restored(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9]));
    assert_eq!(c.mismatched_records(), 1, "one duplicated");
    let c = check(&all, "t", &source, &restored(&[1, 0, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert_eq!(c.mismatched_records(), 2, "two out of place");
    assert!(!c.passed() && c.partitions[0].expected.digest != c.partitions[0].restored.digest);
    let c = check(&all, "t", &source, &restored(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert!(c.passed() && c.mismatched_records() == 0);
    let c = check(&all, "t", &source, &[]);
    assert_eq!((c.mismatched_records(), c.passed()), (10, false), "a missing target partition loses everything");
}

#[test]
fn kbackup_reads_back_the_selection_the_harness_writes() {
    use crate::scenario::engine_config::set_dotted;
    let selection = RecordSelection {
        time_window: Some(Bounds { start: 1_796_220_120_000, end: 1_796_220_156_000 }),
        offsets: BTreeMap::from([(
            "orders".to_owned(),
            BTreeMap::from([(0, Bounds { start: 100, end: 125 }), (2, Bounds { start: 7, end: i64::MAX })]),
        )]),
    };
    let mut root = Map::new();
    set_dotted(&mut root, "backup_id", "b".into());
    set_dotted(&mut root, "kafka.bootstrap_servers", "127.0.0.1:9092".into());
    set_dotted(&mut root, "kafka.topics.include", json!(["orders"]));
    set_dotted(&mut root, "storage.type", "s3".into());
    set_dotted(&mut root, "storage.bucket", "b".into());
    for (key, value) in config_entries(&selection) {
        set_dotted(&mut root, key, value);
    }
    // The harness writes kbackup's config as JSON (valid YAML), partition keys as strings.
    let text = serde_json::to_string_pretty(&Value::Object(root)).unwrap();
    let plan = ::engine::config::parse(&text, "pitr test", |_| None).unwrap();
    assert_eq!(plan.restore.selection, selection);
}
