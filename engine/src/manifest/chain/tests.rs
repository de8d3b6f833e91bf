//! Tests of [`super::chain`]: hand-made cases and random histories of several writers.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone, PartialEq)]
struct E {
    start: i64,
    next: i64,
    gap: bool,
    name: String,
}

impl Link for E {
    fn offsets(&self) -> (i64, i64) {
        (self.start, self.next)
    }
    fn is_gap(&self) -> bool {
        self.gap
    }
    fn name(&self) -> &str {
        &self.name
    }
}

fn e(name: &str, start: i64, next: i64) -> E {
    E { start, next, gap: false, name: name.into() }
}

fn names(list: &[E]) -> Vec<&str> {
    list.iter().map(|e| e.name.as_str()).collect()
}

#[test]
fn a_zombie_tail_is_redundant() {
    let entries = vec![e("z2", 15, 25), e("a1", 0, 10), e("z1", 10, 15), e("a3", 20, 30), e("a2", 10, 20)];
    let c = chain(entries);
    assert_eq!(names(&c.used), ["a1", "a2", "a3"]);
    assert_eq!(names(&c.redundant), ["z1", "z2"]);
    assert!(c.holes.is_empty() && c.stranded.is_empty());
    assert_eq!((c.start(), c.next_offset()), (Some(0), 30));
}

#[test]
fn the_furthest_path_wins_then_the_shortest() {
    let c = chain(vec![e("a", 0, 10), e("b", 10, 20), e("long", 0, 20), e("z", 10, 25)]);
    assert_eq!(names(&c.used), ["a", "z"], "25 is further than 20");
    assert_eq!(names(&c.redundant), ["long", "b"], "in offset order");
    let c = chain(vec![e("a", 0, 10), e("b", 10, 20), e("long", 0, 20)]);
    assert_eq!(names(&c.used), ["long"], "one entry beats two");
}

#[test]
fn stored_records_beat_a_gap_over_the_same_offsets() {
    let gap = E { gap: true, ..e("a-gap", 0, 10) };
    let c = chain(vec![gap.clone(), e("b-records", 0, 10)]);
    assert_eq!(names(&c.used), ["b-records"]);
    assert_eq!(c.redundant, [gap]);
}

#[test]
fn a_deleted_entry_leaves_a_hole_and_strands_what_overlaps_it() {
    // [10, 20) was deleted by hand; [5, 15) started after [0, 5), which is gone too.
    let c = chain(vec![e("a", 0, 10), e("x", 5, 15), e("c", 20, 30)]);
    assert_eq!(names(&c.used), ["a", "c"]);
    assert_eq!(c.holes, [(10, 20)]);
    assert_eq!(names(&c.stranded), ["x"]);
    assert!(c.redundant.is_empty());
}

#[test]
fn nothing_resolves_to_an_empty_chain() {
    let c = chain(Vec::<E>::new());
    assert_eq!(c, Chain::default());
    assert_eq!((c.start(), c.next_offset()), (None, 0));
}

/// One writer of a history: where it starts and the entries it writes.
#[derive(Debug, Clone)]
struct Writer {
    /// A zombie starts at an earlier boundary instead of the highest `next_offset`.
    zombie: bool,
    stale_pick: usize,
    /// (length, gap) of each entry, written back to back.
    entries: Vec<(i64, bool)>,
}

fn writer() -> impl Strategy<Value = Writer> {
    (prop::bool::weighted(0.4), any::<usize>(), prop::collection::vec((1i64..40, prop::bool::weighted(0.1)), 1..6))
        .prop_map(|(zombie, stale_pick, entries)| Writer { zombie, stale_pick, entries })
}

/// Entries of writers that each resume at the highest `next_offset` so far (or, zombies, at an
/// earlier boundary) and write contiguous entries.
fn build(first: i64, writers: &[Writer]) -> Vec<E> {
    let mut boundaries = vec![first];
    let mut highest = first;
    let mut out = Vec::new();
    for (w, writer) in writers.iter().enumerate() {
        let mut at = if writer.zombie { boundaries[writer.stale_pick % boundaries.len()] } else { highest };
        for (i, &(len, gap)) in writer.entries.iter().enumerate() {
            out.push(E { start: at, next: at + len, gap, name: format!("w{w:02}/{i}") });
            at += len;
            boundaries.push(at);
            highest = highest.max(at);
        }
    }
    out
}

/// `used` and `holes` tile `[first start, highest next)` exactly once; the rest is classified
/// as covered (redundant) or not (stranded).
fn assert_tiles(entries: &[E], c: &Chain<E>) -> Result<(), TestCaseError> {
    prop_assert_eq!(c.used.len() + c.redundant.len() + c.stranded.len(), entries.len());
    let first = entries.iter().map(|e| e.start).min().unwrap();
    let last = entries.iter().map(|e| e.next).max().unwrap();
    let mut pieces: Vec<(i64, i64)> = c.used.iter().map(|e| (e.start, e.next)).chain(c.holes.iter().copied()).collect();
    pieces.sort();
    let mut at = first;
    for (s, n) in &pieces {
        prop_assert_eq!(*s, at, "pieces {:?} do not tile from {}", pieces, first);
        prop_assert!(n > s);
        at = *n;
    }
    prop_assert_eq!(at, last);
    let used: Vec<(i64, i64)> = c.used.iter().map(|e| (e.start, e.next)).collect();
    prop_assert!(used.windows(2).all(|w| w[0].1 <= w[1].0), "used is in offset order");
    for r in &c.redundant {
        prop_assert!(covered(&used, (r.start, r.next)), "{:?} is not covered", r);
    }
    for s in &c.stranded {
        prop_assert!(!covered(&used, (s.start, s.next)), "{:?} is covered", s);
        prop_assert!(c.holes.iter().any(|&(hs, hn)| s.start < hn && hs < s.next), "{:?} overlaps no hole", s);
    }
    Ok(())
}

/// Fewest entries from `first` to `last`, by breadth-first search.
fn fewest(entries: &[E], first: i64, last: i64) -> Option<usize> {
    let mut depth = BTreeMap::from([(first, 0usize)]);
    let mut queue = VecDeque::from([first]);
    while let Some(at) = queue.pop_front() {
        let d = depth[&at];
        for e in entries.iter().filter(|e| e.start == at) {
            if let std::collections::btree_map::Entry::Vacant(slot) = depth.entry(e.next) {
                slot.insert(d + 1);
                queue.push_back(e.next);
            }
        }
    }
    depth.get(&last).copied()
}

proptest! {
    #[test]
    fn every_history_resolves_to_one_whole_chain(
        first in 0i64..100,
        writers in prop::collection::vec(writer(), 1..8),
        seed: u64,
    ) {
        let entries = build(first, &writers);
        let c = chain(entries.clone());
        assert_tiles(&entries, &c)?;
        prop_assert!(c.holes.is_empty() && c.stranded.is_empty(), "{:?}", c);
        let last = c.next_offset();
        prop_assert_eq!(Some(c.used.len()), fewest(&entries, first, last));
        let mut shuffled = entries.clone();
        let mut rng = seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (rng >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(chain(shuffled), c, "the input order does not matter");
    }

    #[test]
    fn a_deleted_entry_leaves_a_hole_or_another_path_never_a_double_cover(
        first in 0i64..100,
        writers in prop::collection::vec(writer(), 1..8),
        victim: usize,
    ) {
        let mut entries = build(first, &writers);
        entries.remove(victim % entries.len());
        prop_assume!(!entries.is_empty());
        let c = chain(entries.clone());
        assert_tiles(&entries, &c)?;
    }
}

#[test]
fn an_entry_reaching_past_the_chain_beside_a_hole_is_stranded() {
    // [0, 5) was deleted by hand: [5, 15) cannot be reached, and nothing starts after 10.
    let c = chain(vec![e("a", 0, 10), e("x", 5, 15)]);
    assert_eq!(names(&c.used), ["a"]);
    assert_eq!((c.holes.clone(), names(&c.stranded)), (vec![(10, 15)], vec!["x"]));
}
