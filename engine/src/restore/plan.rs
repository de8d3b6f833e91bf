//! `kbackup offsets plan`: the consumer-group offsets a restore with this config would commit,
//! computed from the backup alone and written nowhere.
//!
//! It walks each partition's chain the way the restore streams it, with the same
//! [`StreamObserver`](super::offsets::StreamObserver): segments and blocks that end below every
//! pending committed offset are counted from the manifest and the block index, and only the block
//! holding a committed offset is fetched and decoded. A target topic that exists starts at its
//! high watermark now, a missing one at 0 — as the restore would, if nothing is written in between.

use serde::{Deserialize, Serialize};

use super::groups::GroupTranslation;
use super::offsets::{SourceId, StreamObserver, TranslatedOffset};
use super::select::{Coverage, PartitionSelection};
use super::{RestoreError, chain_entries, selected_topics, target_of};
use crate::config::Plan;
use crate::fetch;
use crate::kafka::{self, Admin};
use crate::manifest::{self, Layout, ManifestEntry};
use crate::store::Store;

/// What `kbackup offsets plan` prints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OffsetsPlan {
    /// Backup id.
    pub backup_id: String,
    /// The capture translated (object key).
    pub capture: String,
    /// When it was taken, Unix milliseconds.
    pub captured_at_ms: i64,
    /// One row per group and target partition.
    pub offsets: Vec<TranslatedOffset>,
}

impl OffsetsPlan {
    /// A table for people: group, topic, partition, source offset, target offset.
    pub fn human(&self) -> String {
        let mut lines = vec![format!(
            "consumer-group offsets of backup {} (capture {}, taken at {} ms); nothing is written",
            self.backup_id, self.capture, self.captured_at_ms
        )];
        lines.push("group\tsource topic\tpartition\tsource offset\ttarget topic\tpartition\ttarget offset".into());
        for t in &self.offsets {
            for s in &t.sources {
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.group, s.topic, s.partition, s.offset, t.target_topic, t.target_partition, t.target_offset
                ));
            }
        }
        lines.join("\n")
    }
}

/// The current end of a target partition, read as the restore reads it.
async fn end_of(plan: &Plan, target: &str, partition: i32) -> Result<i64, RestoreError> {
    let (kafka, target) = (plan.kafka.clone(), target.to_string());
    let read = tokio::task::spawn_blocking(move || kafka::fetched_end(&kafka, &target, partition, END_TIMEOUT));
    Ok(read.await.expect("end task panicked")?)
}

/// How long reading a target partition's end may take.
const END_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Computes the offsets a restore with `plan` would commit, reading only the blocks that hold a
/// committed offset.
pub async fn plan_offsets(plan: &Plan) -> Result<OffsetsPlan, RestoreError> {
    let store = Store::open(&plan.storage).await?;
    let layout = Layout::new(&plan.backup_id);
    let info = manifest::read_info(&store, &layout, &plan.backup_id).await?;
    let chains = manifest::read_chains(&store, &layout).await?;
    let mut translation = GroupTranslation::load(plan, &store, &layout).await?;
    let Some(capture) = translation.capture.clone() else {
        return Err(RestoreError::Groups {
            reason: "restore.consumer_groups.include is empty: name the groups whose offsets to translate".into(),
        });
    };
    let admin = Admin::connect(&plan.kafka)?;
    for (topic, partitions) in selected_topics(plan, &info) {
        let topic = &topic;
        let target = target_of(plan, topic);
        let exists = admin.topic(&target).await?.is_some();
        for partition in 0..partitions {
            let feeds = [(topic.clone(), partition)];
            let entries = chain_entries(&chains, topic, partition);
            // Seam: a resumable restore's persisted start would be read here instead. The end
            // comes from a fetch response, as the restore's does (ListOffsets under-reports).
            let start = if exists { end_of(plan, &target, partition).await? } else { 0 };
            let selection = PartitionSelection::of(&plan.restore.selection, topic, partition);
            let Some(mut observer) =
                translation.observer(&store, start, (&target, partition), &feeds, (&entries, selection), 0).await?
            else {
                continue;
            };
            let source = observer.source(topic, partition).expect("the observer is fed by this partition");
            let end = walk(&store, &entries, selection, &mut observer, source, None).await?;
            observer.finish(end);
        }
    }
    Ok(OffsetsPlan {
        backup_id: plan.backup_id.clone(),
        capture: translation.capture_key.clone(),
        captured_at_ms: capture.captured_at_ms,
        offsets: translation.translated(),
    })
}

/// Streams a chain's selected records through `observer` without producing, up to `limit`
/// records (all when `None`); returns how many it streamed. Segments and blocks the selection
/// skips are passed over; those it takes whole and that end below the next pending committed
/// offset are counted, not read.
pub(super) async fn walk(
    store: &Store,
    entries: &[ManifestEntry],
    selection: PartitionSelection,
    observer: &mut StreamObserver,
    source: SourceId,
    limit: Option<u64>,
) -> Result<u64, RestoreError> {
    let limit = limit.unwrap_or(u64::MAX);
    let mut position = 0u64;
    let below = |pending: Option<i64>, last: i64| pending.is_none_or(|p| last < p);
    for segment in entries.iter().filter_map(|e| e.segment.as_ref()) {
        let (count, coverage) = (segment.summary.record_count, selection.segment(&segment.summary));
        let countable = coverage == Coverage::All && position + count <= limit;
        if coverage == Coverage::None || countable && below(observer.next_pending(source), segment.summary.last_offset)
        {
            position += if coverage == Coverage::None { 0 } else { count };
            continue;
        }
        let index = fetch::read_index(store, &segment.key, segment.summary.stored_bytes).await?;
        for (i, block) in index.blocks.iter().enumerate() {
            let (count, coverage) = (u64::from(block.record_count), selection.block(block));
            if position >= limit {
                return Ok(position);
            }
            if coverage == Coverage::None {
                continue;
            }
            if coverage == Coverage::All
                && position + count <= limit
                && below(observer.next_pending(source), block.last_offset)
            {
                position += count;
                continue;
            }
            let bytes = fetch::fetch_run(store, &index, i..i + 1).await?;
            let mut records = fetch::decode_run(&index, i..i + 1, &bytes)?;
            selection.filter(&mut records);
            records.truncate((limit - position).min(records.len() as u64) as usize);
            observer.observe_records(source, &records, position);
            position += records.len() as u64;
        }
        if position >= limit {
            return Ok(position);
        }
    }
    Ok(position)
}
