//! Consumer groups in a restore (`restore.consumer_groups`, issue 13 §2): pick the backup's
//! capture, refuse groups that are active on the target, hand each target partition a
//! [`StreamObserver`], and once every record is delivered commit the translated offsets.

use std::collections::BTreeMap;

use super::RestoreError;
use super::offsets::{StreamObserver, TranslatedOffset, TranslationSink};
use super::repartition::Placement;
use super::resume::Resume;
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
        // A point-in-time restore takes the groups as they were at its end: the newest capture
        // taken before `restore.time_window.end`.
        let window_end = plan.restore.selection.time_window.map(|w| w.end).filter(|&end| end != i64::MAX);
        let not_after_ms = window_end.map(|end| end - 1);
        let Some((key, mut capture)) = groups::read_capture(store, layout, not_after_ms).await? else {
            let when = window_end.map_or(String::new(), |end| {
                format!(" taken before restore.time_window.end ({})", crate::config::format_timestamp(end))
            });
            return Err(RestoreError::Groups {
                reason: format!(
                    "restore.consumer_groups asks for groups, but backup '{}' holds no consumer-group capture{when} (back up with backup.consumer_groups.include set; continuous backups capture every backup.consumer_groups.interval)",
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
        let Some(mut observer) = self.stream_observer(start, target, feeds) else { return Ok(None) };
        if skip > 0 {
            let source = observer.source(&feeds[0].0, feeds[0].1).expect("the observer is fed by this partition");
            super::plan::walk(store, entries, selection, &mut observer, source, Some(skip)).await?;
        }
        Ok(Some(observer))
    }

    /// An observer for one target partition's stream, starting at target offset `start`, fed by
    /// `feeds`; `None` when no group committed on them.
    fn stream_observer(&mut self, start: i64, target: (&str, i32), feeds: &[(String, i32)]) -> Option<StreamObserver> {
        let capture = self.capture.as_ref()?;
        let observer = StreamObserver::new(target, start, feeds, &capture.groups, self.sink.clone())?;
        self.observers += 1;
        Some(observer)
    }

    /// The observers of a topic restored by key (`repartition`): one per target partition, each
    /// fed by every source partition (`0..sources`), each stream starting where `resume` says.
    /// Records an earlier run delivered are routed again, so they are observed like the rest.
    pub(crate) fn keyed(
        &mut self,
        (source, sources): (&str, i32),
        (target, written): (&str, i32),
        resume: &BTreeMap<i32, Resume>,
    ) -> Option<KeyedObservers> {
        let feeds: Vec<(String, i32)> = (0..sources).map(|p| (source.to_string(), p)).collect();
        let observers: Vec<Option<StreamObserver>> = (0..written)
            .map(|partition| {
                let start = resume.get(&partition).map_or(0, |r| r.start);
                self.stream_observer(start, (target, partition), &feeds)
            })
            .collect();
        observers.iter().any(Option::is_some).then_some(KeyedObservers { observers })
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

/// Offsets translation of a topic restored by key: one observer per target partition (by index).
pub(crate) struct KeyedObservers {
    observers: Vec<Option<StreamObserver>>,
}

impl KeyedObservers {
    /// Observes one routed record; true when a group resumes at it (it should open a batch).
    pub(crate) fn observe(&mut self, placement: &Placement) -> bool {
        let Some(Some(observer)) = self.observers.get_mut(placement.target_partition as usize) else { return false };
        // Feeds are the source partitions 0..n, in order: the feed id is the partition.
        let source = placement.source_partition as usize;
        observer.observe_slice(source, std::slice::from_ref(placement), |p| p.source_offset, placement.position);
        observer.take_boundaries().contains(&placement.position)
    }

    /// Every target partition's stream ended: `ends[p]` records long.
    pub(crate) fn finish(self, ends: &[u64]) {
        for (observer, &end) in self.observers.into_iter().zip(ends) {
            if let Some(observer) = observer {
                observer.finish(end);
            }
        }
    }
}
