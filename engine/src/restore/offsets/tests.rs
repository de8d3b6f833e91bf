//! Translation against a plain reference: the first record the group had not read, found by a
//! linear scan. Offsets have gaps; runs are split at random, as decoded block runs are.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// Strictly increasing offsets from `first` with gaps of 1–`max_step`.
fn offsets(first: i64, steps: &[i64]) -> Vec<i64> {
    steps
        .iter()
        .scan(first, |next, step| {
            let offset = *next;
            *next += step;
            Some(offset)
        })
        .collect()
}

fn capture(commits: &[(&str, &str, i32, i64)]) -> GroupOffsets {
    let mut groups = GroupOffsets::new();
    for (group, topic, partition, offset) in commits {
        groups.entry(group.to_string()).or_default().entry(topic.to_string()).or_default().insert(*partition, *offset);
    }
    groups
}

fn results(sink: &TranslationSink) -> BTreeMap<String, i64> {
    sink.lock().unwrap().iter().map(|t| (t.group.clone(), t.target_offset)).collect()
}

/// Feeds `stream` (source id, offset) to an observer in runs cut at `cuts`.
fn run_stream(observer: &mut StreamObserver, stream: &[(usize, i64)], cuts: &[usize]) {
    let mut at = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    bounds.push(stream.len());
    bounds.sort_unstable();
    for end in bounds {
        // A run holds records of one source; split where the source changes.
        while at < end {
            let source = stream[at].0;
            let len = stream[at..end].iter().take_while(|(s, _)| *s == source).count();
            let run: Vec<i64> = stream[at..at + len].iter().map(|(_, o)| *o).collect();
            observer.observe_slice(source, &run, |o| *o, at as u64);
            at += len;
        }
    }
}

/// Reference: the position of the first record the group had not read, else the end.
fn reference(stream: &[(usize, i64)], committed: &[Option<i64>]) -> u64 {
    stream.iter().position(|(s, o)| *o >= committed[*s].unwrap_or(i64::MIN)).map_or(stream.len() as u64, |p| p as u64)
}

#[test]
fn the_first_record_at_or_after_the_commit_decides() {
    // Offsets 10, 11, 15, 16, 20 (gaps from compaction); the stream starts at target offset 100.
    let stream: Vec<(usize, i64)> = [10, 11, 15, 16, 20].iter().map(|o| (0, *o)).collect();
    let groups = capture(&[
        ("at-a-gap", "t", 0, 13),
        ("exact", "t", 0, 15),
        ("before-all", "t", 0, 3),
        ("read-all", "t", 0, 21),
        ("past-the-end", "t", 0, 99),
        ("other-partition", "t", 1, 5),
    ]);
    let sink = TranslationSink::default();
    let mut observer = StreamObserver::new(("u", 0), 100, &[("t".into(), 0)], &groups, sink.clone()).unwrap();
    run_stream(&mut observer, &stream, &[2]);
    observer.finish(stream.len() as u64);
    let got = results(&sink);
    let want: BTreeMap<String, i64> =
        [("at-a-gap", 102), ("exact", 102), ("before-all", 100), ("read-all", 105), ("past-the-end", 105)]
            .into_iter()
            .map(|(g, o)| (g.to_string(), o))
            .collect();
    assert_eq!(got, want, "a group without a commit on the feeds gets no offset");
}

#[test]
fn each_resume_position_is_a_boundary_once() {
    let groups = capture(&[("a", "t", 0, 13), ("b", "t", 0, 15), ("c", "t", 0, 20), ("d", "t", 0, 99)]);
    let sink = TranslationSink::default();
    let mut observer = StreamObserver::new(("u", 0), 100, &[("t".into(), 0)], &groups, sink).unwrap();
    observer.observe_slice(0, &[10, 11, 15], |o| *o, 0);
    assert_eq!(observer.take_boundaries(), [2], "a and b resume at the same record: one boundary");
    assert!(observer.take_boundaries().is_empty(), "taken once");
    observer.observe_slice(0, &[16, 20], |o| *o, 3);
    assert_eq!(observer.take_boundaries(), [4]);
    // d read everything: it resumes at the end of the stream, which needs no boundary.
}

#[test]
fn no_observer_without_commits_on_the_feeds() {
    let groups = capture(&[("g", "t", 1, 5), ("h", "other", 0, 5)]);
    assert!(StreamObserver::new(("u", 0), 0, &[("t".into(), 0)], &groups, TranslationSink::default()).is_none());
}

proptest! {
    #[test]
    fn one_source_with_gaps_matches_the_reference(
        first in 0i64..1000,
        steps in prop::collection::vec(1i64..5, 0..200),
        commits in prop::collection::vec(-5i64..1500, 1..6),
        cuts in prop::collection::vec(0usize..200, 0..10),
        start in 0i64..50,
    ) {
        let stream: Vec<(usize, i64)> = offsets(first, &steps).into_iter().map(|o| (0, o)).collect();
        let names: Vec<String> = (0..commits.len()).map(|i| format!("g{i}")).collect();
        let rows: Vec<(&str, &str, i32, i64)> = names.iter().zip(&commits).map(|(n, c)| (n.as_str(), "t", 0, *c)).collect();
        let sink = TranslationSink::default();
        let mut observer = StreamObserver::new(("u", 0), start, &[("t".into(), 0)], &capture(&rows), sink.clone()).unwrap();
        run_stream(&mut observer, &stream, &cuts);
        observer.finish(stream.len() as u64);
        let got = results(&sink);
        for (name, commit) in names.iter().zip(&commits) {
            prop_assert_eq!(got[name], start + reference(&stream, &[Some(*commit)]) as i64, "group {}", name);
        }
    }

    #[test]
    fn counting_skipped_blocks_gives_the_same_answer(
        steps in prop::collection::vec(1i64..4, 1..150),
        block_sizes in prop::collection::vec(1usize..20, 1..40),
        commits in prop::collection::vec(0i64..500, 1..5),
    ) {
        // What `kbackup offsets plan` does: blocks ending below the pending offset are counted, not decoded.
        let all = offsets(0, &steps);
        let names: Vec<String> = (0..commits.len()).map(|i| format!("g{i}")).collect();
        let rows: Vec<(&str, &str, i32, i64)> = names.iter().zip(&commits).map(|(n, c)| (n.as_str(), "t", 0, *c)).collect();
        let sink = TranslationSink::default();
        let mut observer = StreamObserver::new(("u", 0), 0, &[("t".into(), 0)], &capture(&rows), sink.clone()).unwrap();
        let (mut position, mut sizes) = (0usize, block_sizes.iter().cycle());
        while position < all.len() {
            let block = &all[position..(position + sizes.next().unwrap()).min(all.len())];
            match observer.next_pending(0) {
                Some(pending) if *block.last().unwrap() >= pending => observer.observe_slice(0, block, |o| *o, position as u64),
                _ => {}
            }
            position += block.len();
        }
        observer.finish(all.len() as u64);
        let stream: Vec<(usize, i64)> = all.iter().map(|o| (0, *o)).collect();
        let got = results(&sink);
        for (name, commit) in names.iter().zip(&commits) {
            prop_assert_eq!(got[name], reference(&stream, &[Some(*commit)]) as i64);
        }
    }

    #[test]
    fn interleaved_sources_never_skip_an_unread_record(
        steps in prop::collection::vec((0usize..3, 1i64..4), 0..200),
        commits in prop::collection::vec(prop::collection::vec(prop::option::of(0i64..300), 3), 1..5),
        cuts in prop::collection::vec(0usize..200, 0..8),
    ) {
        // Three source partitions interleaved into one target (repartitioning), each with gaps.
        let mut next = [0i64; 3];
        let stream: Vec<(usize, i64)> = steps.iter().map(|(s, step)| {
            let offset = next[*s];
            next[*s] += step;
            (*s, offset)
        }).collect();
        let feeds: Vec<(String, i32)> = (0..3).map(|p| ("t".to_string(), p)).collect();
        let names: Vec<String> = (0..commits.len()).map(|i| format!("g{i}")).collect();
        let mut rows = Vec::new();
        for (name, per_source) in names.iter().zip(&commits) {
            for (p, c) in per_source.iter().enumerate() {
                if let Some(c) = c {
                    rows.push((name.as_str(), "t", p as i32, *c));
                }
            }
        }
        let sink = TranslationSink::default();
        let Some(mut observer) = StreamObserver::new(("u", 0), 0, &feeds, &capture(&rows), sink.clone()) else {
            prop_assert!(commits.iter().all(|c| c.iter().all(Option::is_none)));
            return Ok(());
        };
        run_stream(&mut observer, &stream, &cuts);
        observer.finish(stream.len() as u64);
        let got = results(&sink);
        for (name, per_source) in names.iter().zip(&commits) {
            if per_source.iter().all(Option::is_none) {
                prop_assert!(!got.contains_key(name));
                continue;
            }
            prop_assert_eq!(got[name], reference(&stream, per_source) as i64, "group {}", name);
        }
    }
}
