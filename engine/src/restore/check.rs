//! Restore's pre-flight check: cheap enough to run on every restore, thorough enough that a damaged
//! backup is refused before anything is produced.
//!
//! It reads what a restore needs first anyway — each chain's entries, and every chain segment's
//! header, footer and index (CRC-checked, tiling the object, counts matching the manifest) — and
//! never the blocks: each block's CRC is checked as the restore decodes it, so no byte of data is
//! read twice. The indexes it read are handed to the partition readers. Segments a point-in-time
//! or ranged restore does not touch are not checked: they are not read at all.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;

use super::RestoreError;
use super::select::{Coverage, PartitionSelection};
use crate::config::RecordSelection;
use crate::fetch::{self, FetchError, SegmentIndex};
use crate::manifest::{Chain, Layout, Listed, SegmentRef};
use crate::store::{Store, StoreError};

/// Segment key → its checked index.
pub(crate) type Indexes = BTreeMap<String, Arc<SegmentIndex>>;

/// Segment indexes read at once: small ranged GETs, latency-bound.
const CONCURRENT_READS: usize = 16;

/// The segment's index: the one the pre-flight check read, or read now.
pub(crate) async fn index_of(
    store: &Store,
    indexes: &Indexes,
    segment: &SegmentRef,
) -> Result<Arc<SegmentIndex>, FetchError> {
    match indexes.get(&segment.key) {
        Some(index) => Ok(index.clone()),
        None => Ok(Arc::new(fetch::read_index(store, &segment.key, segment.summary.stored_bytes).await?)),
    }
}

/// Checks the chains of the topics `selected` accepts; returns their segments' indexes, or every
/// problem found as [`RestoreError::Damaged`].
pub(crate) async fn preflight(
    store: &Store,
    layout: &Layout,
    chains: &BTreeMap<(String, i32), Chain<Listed>>,
    selected: impl Fn(&str) -> bool,
    records: &RecordSelection,
) -> Result<Indexes, RestoreError> {
    let mut problems = Vec::new();
    let mut segments = Vec::new();
    for ((topic, partition), chain) in chains.iter().filter(|((topic, _), _)| selected(topic)) {
        let selection = PartitionSelection::of(records, topic, *partition);
        for &(from, to) in chain.holes.iter().filter(|&&(from, to)| !selection.skips_offsets(from, to)) {
            problems.push(format!(
                "  {}{topic}/{partition}/: offsets {from}..{to} are in no manifest entry, so the chain of \
                 checkpoints is broken there; those records cannot be restored",
                layout.manifest_prefix()
            ));
        }
        let used = chain.used.iter().filter_map(|l| l.entry.segment.as_ref());
        segments.extend(used.filter(|s| selection.segment(&s.summary) != Coverage::None).cloned());
    }
    let mut reads = futures::stream::iter(segments.into_iter().map(|segment| async move {
        let read = fetch::read_index(store, &segment.key, segment.summary.stored_bytes).await;
        (segment, read)
    }))
    .buffer_unordered(CONCURRENT_READS);
    let mut indexes = Indexes::new();
    while let Some((segment, read)) = reads.next().await {
        match checked(&segment, read) {
            Ok(index) => {
                indexes.insert(segment.key.clone(), Arc::new(index));
            }
            Err(Damage::Found(line)) => problems.push(line),
            Err(Damage::Store(e)) => return Err(e.into()),
        }
    }
    if problems.is_empty() {
        Ok(indexes)
    } else {
        problems.sort();
        Err(RestoreError::Damaged(problems.join("\n")))
    }
}

enum Damage {
    Found(String),
    Store(StoreError),
}

/// The index of `segment`, or what is wrong with it.
fn checked(segment: &SegmentRef, read: Result<SegmentIndex, FetchError>) -> Result<SegmentIndex, Damage> {
    let found = |detail: String| Damage::Found(format!("  {}: {detail}", segment.key));
    let index = match read {
        Ok(index) => index,
        Err(FetchError::Store(StoreError::NotFound { .. })) => return Err(found("segment object is missing".into())),
        Err(FetchError::Store(e)) => return Err(Damage::Store(e)),
        Err(FetchError::Corrupt { source, .. }) => return Err(found(source.to_string())),
    };
    if index.footer.record_count != segment.summary.record_count {
        return Err(found(format!(
            "{} records, the manifest says {}",
            index.footer.record_count, segment.summary.record_count
        )));
    }
    Ok(index)
}
