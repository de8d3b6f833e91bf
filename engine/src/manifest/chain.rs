//! Resolving a partition's manifest entries into one contiguous chain.
//!
//! Several writers may have checkpointed the same offsets: an instance that lost its partition
//! (a session timeout in a consumer group) can still finish a segment, and a run may resume
//! after another one's entries. Every writer resumes where the highest `next_offset` ended and
//! writes contiguous entries, so whole entries always link up from the partition's first start
//! to its highest `next_offset`. [`chain`] picks that path: readers restore, compare and count
//! only its entries, so no record is produced or counted twice. What it leaves out is either
//! redundant (every offset of it is in the chain: safe to delete) or stranded (it holds offsets
//! next to a hole, which only a hand-deleted entry causes: kept, reported as damage).

use std::collections::BTreeMap;

use super::ManifestEntry;

/// What [`chain`] needs to know of an entry.
pub trait Link {
    /// `[start, next)`: the offsets the entry accounts for.
    fn offsets(&self) -> (i64, i64);
    /// True when the entry records offsets lost to retention rather than stored records.
    fn is_gap(&self) -> bool;
    /// A name that tells entries with equal offsets apart, for a deterministic choice.
    fn name(&self) -> &str;
}

impl Link for ManifestEntry {
    fn offsets(&self) -> (i64, i64) {
        (self.start_offset, self.next_offset)
    }

    fn is_gap(&self) -> bool {
        self.segment.is_none()
    }

    fn name(&self) -> &str {
        self.segment.as_ref().map_or("", |s| s.key.as_str())
    }
}

/// A partition's entries, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain<E = ManifestEntry> {
    /// The entries readers use, in offset order; each starts at the previous one's
    /// `next_offset`, except right after a hole.
    pub used: Vec<E>,
    /// Entries whose every offset is in `used`: harmless duplicates, safe to delete.
    pub redundant: Vec<E>,
    /// Entries left out that also hold offsets `used` lacks (they overlap a hole); never
    /// deleted by cleaning, since they may be all that is left of those offsets.
    pub stranded: Vec<E>,
    /// `[from, to)` ranges between the first start and the highest `next_offset` that no
    /// path of whole entries covers: damage (an entry deleted by hand).
    pub holes: Vec<(i64, i64)>,
}

impl<E> Default for Chain<E> {
    fn default() -> Self {
        Self { used: Vec::new(), redundant: Vec::new(), stranded: Vec::new(), holes: Vec::new() }
    }
}

impl<E: Link> Chain<E> {
    /// First offset of the chain, if it has entries.
    pub fn start(&self) -> Option<i64> {
        self.used.first().map(|e| e.offsets().0)
    }

    /// Where the chain ends: the partition's resume point (0 for an empty chain).
    pub fn next_offset(&self) -> i64 {
        self.used.last().map_or(0, |e| e.offsets().1)
    }
}

/// Cost of reaching an offset: (entries, of which gaps), lower is better.
type Cost = (usize, usize);

/// Resolves one partition's entries (any order) into a [`Chain`].
///
/// From the lowest start, the chain follows whole entries to the highest `next_offset` they
/// reach; among paths reaching it, the one with the fewest entries, then the fewest gap
/// entries, then the smallest names wins, so the result does not depend on the input order.
/// Where no entry continues, the offsets up to the next entry's start are a hole and the
/// chain goes on from there.
pub fn chain<E: Link>(entries: Vec<E>) -> Chain<E> {
    let mut entries = entries;
    entries.sort_by(|a, b| (a.offsets(), a.is_gap(), a.name()).cmp(&(b.offsets(), b.is_gap(), b.name())));
    let mut picked = vec![false; entries.len()];
    let mut holes = Vec::new();
    let mut origin = entries.iter().map(Link::offsets).find(|&(s, n)| n > s).map(|(s, _)| s);
    let mut end = i64::MIN;
    while let Some(from) = origin {
        let (path, reached) = longest_path(&entries, from);
        end = reached;
        for &i in &path {
            picked[i] = true;
        }
        origin = entries.iter().map(Link::offsets).find(|&(s, n)| s > end && n > s).map(|(s, _)| s);
        if let Some(next) = origin {
            holes.push((end, next));
        }
    }
    // An entry left out may reach past the chain's end only through a hole before it.
    if let Some(last) = entries.iter().map(|e| e.offsets().1).max().filter(|&last| last > end && end > i64::MIN) {
        holes.push((end, last));
    }
    let mut result = Chain { holes, ..Chain::default() };
    let spans: Vec<(i64, i64)> = entries.iter().zip(&picked).filter(|(_, p)| **p).map(|(e, _)| e.offsets()).collect();
    for (entry, used) in entries.into_iter().zip(picked) {
        if used {
            result.used.push(entry);
        } else if covered(&spans, entry.offsets()) {
            result.redundant.push(entry);
        } else {
            result.stranded.push(entry);
        }
    }
    result
}

/// The cheapest path of whole entries from `from` to the highest offset reachable from it,
/// as indices into `entries` (sorted by offsets), and that offset.
fn longest_path<E: Link>(entries: &[E], from: i64) -> (Vec<usize>, i64) {
    // best[offset] = (cost, index of the entry ending there on the cheapest path).
    let mut best: BTreeMap<i64, (Cost, Option<usize>)> = BTreeMap::from([(from, ((0, 0), None))]);
    // Entries are sorted by start, and every entry ends after it starts, so an offset's cost is
    // final before any entry starting there is considered.
    for (i, entry) in entries.iter().enumerate() {
        let (start, next) = entry.offsets();
        if next <= start {
            continue;
        }
        let Some(&(cost, _)) = best.get(&start) else { continue };
        let cost = (cost.0 + 1, cost.1 + usize::from(entry.is_gap()));
        match best.get(&next) {
            Some(&(known, _)) if known <= cost => {}
            _ => {
                best.insert(next, (cost, Some(i)));
            }
        }
    }
    let (&end, _) = best.last_key_value().expect("holds the origin");
    let mut path = Vec::new();
    let mut at = end;
    while let Some(&(_, Some(i))) = best.get(&at) {
        path.push(i);
        at = entries[i].offsets().0;
    }
    path.reverse();
    (path, end)
}

/// True when `[start, next)` lies inside the union of `spans` (sorted, disjoint).
fn covered(spans: &[(i64, i64)], (start, next): (i64, i64)) -> bool {
    if next <= start {
        return true;
    }
    let mut at = start;
    for &(s, n) in spans {
        if s <= at && at < n {
            at = n;
        }
        if at >= next {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests;
