//! Consumer-group offset translation (issue 13 §2): where a group's committed source offsets land
//! in a restored target partition.
//!
//! A restore produces, for every target partition, a deterministic stream of records: record `i`
//! of it lands at target offset `start + i`, where `start` is the partition's high watermark when
//! the restore began (0 for a created topic). Translation is computed from those stream
//! positions, never from delivery reports, so a dry run (`kbackup offsets plan`) and a resumed
//! restore get the same answer as the restore itself.
//!
//! A group committed `c` on a source partition: it has read every record below `c`. Its offset on
//! the target is the position of the first record of the stream it has *not* read — the first
//! record from that source at or after `c` — or the end of the stream when it has read them all.
//! Source offsets may have gaps (compaction, transaction markers, retention), so the answer is
//! found by comparing offsets, never by subtracting them. When several source partitions feed one
//! target partition (repartitioning), the first record the group has not read from *any* of them
//! decides (a source the group never committed counts as unread): nothing is skipped; records of
//! other sources after it may be read again.
//!
//! [`StreamObserver`] sees every record actually sent to its target partition, in stream order,
//! and costs one comparison per record (against the smallest committed offset still pending for
//! that source), or one per run of records that ends below it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::groups::GroupOffsets;
use crate::segment::Record;

/// A group's committed offset on one source partition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceOffset {
    /// Source topic.
    pub topic: String,
    /// Source partition.
    pub partition: i32,
    /// The committed offset (the next record the group would have read).
    pub offset: i64,
}

/// What a group's committed offsets became on one target partition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TranslatedOffset {
    /// Consumer group.
    pub group: String,
    /// Target topic.
    pub target_topic: String,
    /// Target partition.
    pub target_partition: i32,
    /// The offset committed (or to commit) on the target.
    pub target_offset: i64,
    /// The source partitions feeding the target partition on which the group had committed.
    pub sources: Vec<SourceOffset>,
}

/// Results of finished observers, collected across partition tasks.
pub(crate) type TranslationSink = Arc<Mutex<Vec<TranslatedOffset>>>;

/// Index of a source partition among those feeding a [`StreamObserver`].
pub(crate) type SourceId = usize;

struct SourceQueue {
    topic: String,
    partition: i32,
    /// (committed offset, group index), ascending; heads of groups already resolved are dropped lazily.
    pending: VecDeque<(i64, usize)>,
}

struct GroupSlot {
    name: String,
    sources: Vec<SourceOffset>,
    /// Stream position of the first record the group had not read, once seen.
    resolved: Option<u64>,
}

/// Translates the committed offsets of every group into one target partition's stream.
pub(crate) struct StreamObserver {
    target_topic: String,
    target_partition: i32,
    start: i64,
    sources: Vec<SourceQueue>,
    groups: Vec<GroupSlot>,
    sink: TranslationSink,
    /// Stream positions where a group was resolved since the last [`StreamObserver::take_boundaries`].
    boundaries: Vec<u64>,
}

impl StreamObserver {
    /// An observer for `target_topic/target_partition`, whose stream starts at target offset
    /// `start` and is fed by `feeds` (source topic, partition). `None` when no group of
    /// `offsets` committed on any of the feeds: nothing to translate there.
    pub(crate) fn new(
        target: (&str, i32),
        start: i64,
        feeds: &[(String, i32)],
        offsets: &GroupOffsets,
        sink: TranslationSink,
    ) -> Option<Self> {
        let mut sources: Vec<SourceQueue> = feeds
            .iter()
            .map(|(topic, partition)| SourceQueue {
                topic: topic.clone(),
                partition: *partition,
                pending: VecDeque::new(),
            })
            .collect();
        let mut groups = Vec::new();
        for (name, topics) in offsets {
            let committed: Vec<Option<i64>> =
                feeds.iter().map(|(t, p)| topics.get(t).and_then(|parts| parts.get(p)).copied()).collect();
            if committed.iter().all(Option::is_none) {
                continue;
            }
            let index = groups.len();
            let mut slot = GroupSlot { name: name.clone(), sources: Vec::new(), resolved: None };
            for (source, commit) in sources.iter_mut().zip(&committed) {
                // A feed the group never committed on is unread from its first record.
                source.pending.push_back((commit.unwrap_or(i64::MIN), index));
                if let Some(offset) = *commit {
                    slot.sources.push(SourceOffset {
                        topic: source.topic.clone(),
                        partition: source.partition,
                        offset,
                    });
                }
            }
            groups.push(slot);
        }
        if groups.is_empty() {
            return None;
        }
        for source in &mut sources {
            source.pending.make_contiguous().sort_unstable();
        }
        let (target_topic, target_partition) = (target.0.to_string(), target.1);
        Some(StreamObserver { target_topic, target_partition, start, sources, groups, sink, boundaries: Vec::new() })
    }

    /// The feed index of a source partition, if it feeds this target.
    pub(crate) fn source(&self, topic: &str, partition: i32) -> Option<SourceId> {
        self.sources.iter().position(|s| s.topic == topic && s.partition == partition)
    }

    /// The smallest committed offset of `source` not yet passed: records of `source` below it
    /// change nothing and may be counted without being looked at.
    pub(crate) fn next_pending(&mut self, source: SourceId) -> Option<i64> {
        let queue = &mut self.sources[source].pending;
        while let Some(&(offset, group)) = queue.front() {
            if self.groups[group].resolved.is_none() {
                return Some(offset);
            }
            queue.pop_front();
        }
        None
    }

    /// Records of `source` sent at stream positions `first_position..`, in order.
    pub(crate) fn observe_records(&mut self, source: SourceId, records: &[Record], first_position: u64) {
        self.observe_slice(source, records, |r| r.offset, first_position);
    }

    /// Like [`StreamObserver::observe_records`] for any items that carry a source offset.
    pub(crate) fn observe_slice<T>(
        &mut self,
        source: SourceId,
        items: &[T],
        offset_of: impl Fn(&T) -> i64,
        first_position: u64,
    ) {
        let Some(mut pending) = self.next_pending(source) else { return };
        // Offsets increase within a source: a run ending below the pending offset is skipped whole.
        if items.last().is_none_or(|last| offset_of(last) < pending) {
            return;
        }
        for (i, item) in items.iter().enumerate() {
            let offset = offset_of(item);
            if offset < pending {
                continue;
            }
            self.resolve_up_to(source, offset, first_position + i as u64);
            match self.next_pending(source) {
                Some(next) => pending = next,
                None => return,
            }
        }
    }

    /// Resolves every pending group of `source` whose committed offset is at or below `offset`.
    fn resolve_up_to(&mut self, source: SourceId, offset: i64, position: u64) {
        while let Some(&(committed, group)) = self.sources[source].pending.front() {
            if committed > offset {
                break;
            }
            self.sources[source].pending.pop_front();
            let slot = &mut self.groups[group];
            // The first unread record of any feed decides; later ones come after it in the stream.
            if slot.resolved.is_none() {
                slot.resolved = Some(position);
                if self.boundaries.last() != Some(&position) {
                    self.boundaries.push(position);
                }
            }
        }
    }

    /// The stream positions where a group will resume, found since the last call: the restore
    /// starts a new produce batch at each (see `restore::partition`).
    pub(crate) fn take_boundaries(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.boundaries)
    }

    /// The stream ended after `end_position` records: every group still pending had read them all.
    pub(crate) fn finish(self, end_position: u64) {
        let translated = self.groups.into_iter().map(|slot| TranslatedOffset {
            group: slot.name,
            target_topic: self.target_topic.clone(),
            target_partition: self.target_partition,
            target_offset: self.start + slot.resolved.unwrap_or(end_position) as i64,
            sources: slot.sources,
        });
        self.sink.lock().unwrap_or_else(|p| p.into_inner()).extend(translated);
    }
}

#[cfg(test)]
mod tests;
