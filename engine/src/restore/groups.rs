//! Consumer groups in a restore (`restore.consumer_groups`, issue 13 §2): pick the backup's
//! capture, refuse groups that are active on the target, hand each target partition a
//! [`StreamObserver`], and once every record is delivered commit the translated offsets.

use std::collections::BTreeMap;

use super::RestoreError;
use super::offsets::{StreamObserver, TranslatedOffset, TranslationSink};
use super::select::PartitionSelection;
use crate::config::Plan;
use crate::groups::{self, OffsetsCapture};
use crate::kafka::GroupAdmin;
use crate::manifest::{Layout, ManifestEntry};
use crate::store::Store;

/// The groups a restore translates, and the results of its observers.
pub(crate) struct GroupTranslation {
    /// Key of the capture used; empty when no group is translated.
    pub(crate) capture_key: String,
    /// The capture, reduced to the groups `restore.consumer_groups` selects.
    pub(crate) capture: Option<OffsetsCapture>,
    sink: TranslationSink,
    observers: usize,
}

impl GroupTranslation {
    /// Loads the capture to translate; an empty translation when `restore.consumer_groups`
    /// selects nothing. Errors when groups are asked for but the backup holds no capture, or the
    /// capture holds none of them.
    pub(crate) async fn load(plan: &Plan, store: &Store, layout: &Layout) -> Result<Self, RestoreError> {
        let mut translation = GroupTranslation {
            capture_key: String::new(),
            capture: None,
            sink: TranslationSink::default(),
            observers: 0,
        };
        let wanted = &plan.restore.consumer_groups.groups;
        if wanted.is_empty() {
            return Ok(translation);
        }
        // Seam for point-in-time restore: the newest capture at or before the window's end.
        let not_after_ms = None;
        let Some((key, mut capture)) = groups::read_capture(store, layout, not_after_ms).await? else {
            return Err(RestoreError::Groups {
                reason: format!(
                    "restore.consumer_groups asks for groups, but backup '{}' holds no consumer-group capture (back up with backup.consumer_groups.include set)",
                    plan.backup_id
                ),
            });
        };
        let captured: Vec<String> = capture.groups.keys().cloned().collect();
        capture.groups.retain(|name, _| wanted.matches(name));
        if capture.groups.is_empty() {
            return Err(RestoreError::Groups {
                reason: format!(
                    "restore.consumer_groups matches none of the groups in capture '{key}': {captured:?} (check restore.consumer_groups.include and exclude)"
                ),
            });
        }
        tracing::info!(capture = %key, groups = capture.groups.len(), "translating consumer-group offsets");
        (translation.capture_key, translation.capture) = (key, Some(capture));
        Ok(translation)
    }

    /// Group names to translate.
    pub(crate) fn groups(&self) -> Vec<String> {
        self.capture.as_ref().map(|c| c.groups.keys().cloned().collect()).unwrap_or_default()
    }

    /// Refuses, before anything is produced, a group that has active members on the target
    /// (unless `restore.consumer_groups.allow_active`): they would keep their own positions and
    /// overwrite the translated ones with their next commit.
    pub(crate) async fn check_target(&self, plan: &Plan, kafka: &GroupAdmin) -> Result<(), RestoreError> {
        if plan.restore.consumer_groups.allow_active {
            return Ok(());
        }
        for group in self.groups() {
            if let Some(listing) = kafka.group(&group).await?
                && listing.members > 0
            {
                return Err(RestoreError::Groups {
                    reason: format!(
                        "consumer group '{group}' has {} active members on the target (state {}); stop its consumers, or set restore.consumer_groups.allow_active: true",
                        listing.members, listing.state
                    ),
                });
            }
        }
        Ok(())
    }

    /// An observer for one target partition fed by `feeds`, if any group committed on them. Its
    /// stream starts at target offset `start`; the first `skip` records of `entries` (delivered by
    /// an earlier, interrupted run; selected ones only) are walked through first, reading only blocks that hold a
    /// committed offset, so groups that resolve among them land where those records are.
    pub(crate) async fn observer(
        &mut self,
        store: &Store,
        start: i64,
        target: (&str, i32),
        feeds: &[(String, i32)],
        (entries, selection): (&[ManifestEntry], PartitionSelection),
        skip: u64,
    ) -> Result<Option<StreamObserver>, RestoreError> {
        let Some(capture) = &self.capture else { return Ok(None) };
        let Some(mut observer) = StreamObserver::new(target, start, feeds, &capture.groups, self.sink.clone()) else {
            return Ok(None);
        };
        if skip > 0 {
            let source = observer.source(&feeds[0].0, feeds[0].1).expect("the observer is fed by this partition");
            super::plan::walk(store, entries, selection, &mut observer, source, Some(skip)).await?;
        }
        self.observers += 1;
        Ok(Some(observer))
    }

    /// Every translated offset so far, sorted by group, topic and partition.
    pub(crate) fn translated(&self) -> Vec<TranslatedOffset> {
        let mut all = self.sink.lock().unwrap_or_else(|p| p.into_inner()).clone();
        all.sort_by(|a, b| {
            (&a.group, &a.target_topic, a.target_partition).cmp(&(&b.group, &b.target_topic, b.target_partition))
        });
        all
    }

    /// Commits every translated offset on the target, group by group, after checking that every
    /// observer handed out has finished (its stream was sent whole).
    pub(crate) async fn commit(&self, kafka: &GroupAdmin) -> Result<Vec<TranslatedOffset>, RestoreError> {
        let translated = self.translated();
        let finished: std::collections::BTreeSet<_> =
            translated.iter().map(|t| (&t.target_topic, t.target_partition)).collect();
        if finished.len() != self.observers {
            return Err(RestoreError::Groups {
                reason: format!(
                    "{} of {} target partitions finished their offset translation; nothing was committed",
                    finished.len(),
                    self.observers
                ),
            });
        }
        let mut by_group: BTreeMap<&str, BTreeMap<(String, i32), i64>> = BTreeMap::new();
        for t in &translated {
            by_group.entry(&t.group).or_default().insert((t.target_topic.clone(), t.target_partition), t.target_offset);
        }
        for (group, offsets) in &by_group {
            kafka.commit(group, offsets).await?;
            tracing::info!(group, partitions = offsets.len(), "committed translated consumer-group offsets");
        }
        Ok(translated)
    }
}
