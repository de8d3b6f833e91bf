//! Consumer-group mode of the supervisor (`backup.coordination: group`): this process backs up
//! the partitions the group assigns it, resuming each from its last checkpoint in storage (the
//! manifest is the truth, never a committed group offset); on a revocation it flushes and
//! checkpoints the partition before releasing it; it commits checkpointed offsets to the group so
//! the usual lag tools show the backup's lag.
//!
//! Snapshot mode in a group: each assigned partition runs to the end captured when it was
//! assigned, and a member leaves once it has run out of partitions and the group has been quiet
//! for [`QUIET`]; its leaving hands anything still unfinished to the remaining members.

use std::collections::BTreeMap;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::continuous::{Key, Supervisor};
use super::{BackupError, plan_range, write_info};
use crate::config::BackupMode;
use crate::kafka::{GroupEvent, GroupMember, TopicInfo};
use crate::manifest;
use crate::summary::PartitionSummary;

/// How often checkpointed offsets are committed to the group (only those that moved).
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// Snapshot mode: how long a member with nothing left to do waits for the group to settle (a
/// cooperative rebalance assigns in a second round, after other members revoked) before leaving.
const QUIET: Duration = Duration::from_secs(5);

/// This process's side of the group.
pub(crate) struct Membership {
    member: GroupMember,
    events: mpsc::UnboundedReceiver<GroupEvent>,
    /// Next offsets last committed, per partition.
    committed: BTreeMap<Key, i64>,
    /// The topic list subscribed to.
    topics: Vec<String>,
    /// When the group last told us anything (`None` before its first answer).
    last_event: Option<Instant>,
}

impl Supervisor {
    /// Joins the group and runs until stopped (continuous), or until this member has nothing left
    /// to back up (snapshot), then drains, commits and leaves.
    pub(crate) async fn run_in_group(
        mut self,
        topics: &[TopicInfo],
    ) -> Result<(Vec<PartitionSummary>, Vec<BackupError>), BackupError> {
        let plan = self.ctx.plan.clone();
        let names = topic_names(topics);
        let (member, events) =
            GroupMember::join(&plan.kafka, &plan.backup.group_id, names.clone(), plan.backup.shutdown_timeout)?;
        tracing::info!(
            group = %plan.backup.group_id,
            writer = self.ctx.writer.as_deref().unwrap_or("-"),
            "member of the backup's consumer group: objects of this process carry its writer tag"
        );
        self.membership =
            Some(Membership { member, events, committed: BTreeMap::new(), topics: names, last_event: None });
        let snapshot = plan.backup.mode == BackupMode::Snapshot;
        let mut refresh = tokio::time::interval(plan.backup.metadata_refresh);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        refresh.tick().await;
        let mut commits = tokio::time::interval(COMMIT_INTERVAL);
        commits.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            if snapshot && self.settled_and_idle() {
                tracing::info!("snapshot: every partition this member was assigned is done; leaving the group");
                break;
            }
            tokio::select! {
                () = self.cancel.cancelled() => break,
                event = next_event(&mut self.membership) => match event {
                    Some(GroupEvent::Assigned(partitions)) => {
                        if let Err(error) = self.assigned(partitions).await {
                            tracing::error!(%error, "could not start an assigned partition; stopping the run");
                            self.failures.push(error);
                            self.cancel.cancel();
                            break;
                        }
                    }
                    Some(GroupEvent::Revoked { partitions, lost, done }) => self.revoked(partitions, lost, done).await,
                    None => {
                        tracing::error!("the consumer-group thread ended; stopping the run");
                        break;
                    }
                },
                _ = refresh.tick() => {
                    if let Err(error) = self.resubscribe().await {
                        tracing::warn!(%error, "metadata refresh failed; retrying at the next interval");
                    }
                }
                _ = commits.tick() => self.commit_checkpoints(false),
                Some(joined) = self.tasks.join_next() => {
                    self.finished(joined).await;
                    if !self.failures.is_empty() {
                        self.cancel.cancel();
                        break;
                    }
                }
            }
        }
        let drained = self.drain().await;
        self.commit_checkpoints(true);
        if let Some(membership) = self.membership.take() {
            // Revocations from here on concern partitions whose tasks have ended: dropping the
            // receiver answers them at once.
            drop(membership.events);
            membership.member.leave().await;
        }
        drained?;
        Ok((std::mem::take(&mut self.done), std::mem::take(&mut self.failures)))
    }

    /// No task runs and the group has said nothing for [`QUIET`] since its first answer.
    fn settled_and_idle(&self) -> bool {
        let last = self.membership.as_ref().and_then(|m| m.last_event);
        self.running.is_empty() && last.is_some_and(|at| at.elapsed() >= QUIET)
    }

    fn heard_from_group(&mut self) {
        if let Some(m) = self.membership.as_mut() {
            m.last_event = Some(Instant::now());
        }
    }

    /// Starts a task for each newly assigned partition, from its last checkpoint in storage.
    async fn assigned(&mut self, partitions: Vec<Key>) -> Result<(), BackupError> {
        self.heard_from_group();
        if partitions.is_empty() {
            return Ok(());
        }
        self.ctx.progress.rebalanced();
        let (plan, store, layout) = (self.ctx.plan.clone(), self.ctx.store.clone(), self.ctx.layout.clone());
        let existing = manifest::read_entries(&store, &layout).await?;
        for (topic, partition) in partitions {
            if self.running.contains_key(&(topic.clone(), partition)) {
                continue;
            }
            // Uploads a previous owner left unfinished are never checkpointed: remove them.
            let stale = store.abort_stale_uploads(&layout.partition_segments_prefix(&topic, partition)).await?;
            let range = plan_range(&plan, &self.admin, &store, &layout, &topic, partition, &existing).await?;
            tracing::info!(
                topic,
                partition,
                start = range.span.start,
                stale_uploads = stale,
                "assigned by the group: backing it up from its last checkpoint in storage"
            );
            self.ctx.progress.partition_planned(&topic, partition, range.span.start, range.span.boundary);
            self.spawn(range);
        }
        Ok(())
    }

    /// Stops the revoked partitions' tasks (each flushes and checkpoints its open segment), waits
    /// for them up to `--shutdown-timeout`, aborts any still running (nothing unflushed is
    /// checkpointed), and answers with the checkpointed offsets for the group to commit.
    async fn revoked(&mut self, partitions: Vec<Key>, lost: bool, done: std_mpsc::SyncSender<Vec<(Key, i64)>>) {
        self.heard_from_group();
        self.ctx.progress.rebalanced();
        tracing::info!(?partitions, lost, "revoked by the group: flushing and checkpointing before release");
        for key in &partitions {
            if let Some(running) = self.running.get(key) {
                running.token.cancel();
            }
        }
        let started = Instant::now();
        let deadline = started + self.ctx.plan.backup.shutdown_timeout;
        while partitions.iter().any(|key| self.running.contains_key(key)) {
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(deadline) => break,
                joined = self.tasks.join_next() => match joined {
                    Some(joined) => self.finished(joined).await,
                    None => break,
                },
            }
        }
        let table: BTreeMap<Key, _> = self.ctx.progress.partitions().into_iter().collect();
        let mut offsets = Vec::new();
        for key in &partitions {
            if let Some(running) = self.running.remove(key) {
                running.abort.abort();
                self.ctx.progress.error_seen("revoke_timeout");
                tracing::error!(topic = %key.0, partition = key.1, "revoked partition not flushed within --shutdown-timeout; released without its open segment (the next owner reads it again)");
            }
            if let Some(progress) = table.get(key) {
                offsets.push((key.clone(), progress.checkpointed_offset));
            }
            self.ctx.progress.partition_released(&key.0, key.1);
            self.started.remove(key);
            if let Some(m) = self.membership.as_mut() {
                m.committed.remove(key);
            }
        }
        tracing::info!(
            ?partitions,
            flush_ms = started.elapsed().as_millis() as u64,
            "revoked partitions flushed and checkpointed; releasing them to the group"
        );
        let _ = done.send(offsets);
    }

    /// Commits the checkpointed offsets that moved since the last commit; `last` waits for it.
    fn commit_checkpoints(&mut self, last: bool) {
        let Some(m) = self.membership.as_mut() else { return };
        let mut offsets = Vec::new();
        for (key, progress) in self.ctx.progress.partitions() {
            let next = progress.checkpointed_offset;
            if m.committed.get(&key).is_none_or(|&done| done < next) {
                m.committed.insert(key.clone(), next);
                offsets.push((key, next));
            }
        }
        if last {
            m.member.commit_final(offsets);
        } else {
            m.member.commit(offsets);
        }
    }

    /// Re-reads the topic list: a new matching topic is subscribed to (the group rebalances and
    /// assigns its partitions) and recorded in the backup's info; a deleted one's tasks stop.
    async fn resubscribe(&mut self) -> Result<(), BackupError> {
        let plan = self.ctx.plan.clone();
        let topics: Vec<TopicInfo> =
            self.admin.topics().await?.into_iter().filter(|t| plan.kafka.topics.matches(&t.name)).collect();
        let names = topic_names(&topics);
        for ((topic, partition), running) in &self.running {
            if !names.contains(topic) && !self.deleted.contains(topic) {
                tracing::warn!(
                    topic,
                    partition,
                    "topic no longer exists on the cluster; stopping its partition after a last checkpoint"
                );
                running.token.cancel();
            }
        }
        let gone: Vec<String> = self.running.keys().map(|(t, _)| t.clone()).filter(|t| !names.contains(t)).collect();
        self.deleted.extend(gone);
        let Some(m) = self.membership.as_mut() else { return Ok(()) };
        if names == m.topics {
            return Ok(());
        }
        tracing::info!(topics = ?names, "topic list changed; resubscribing the group");
        m.member.subscribe(names.clone());
        m.topics = names;
        write_info(&plan, &self.admin, &self.ctx.store, &self.ctx.layout, &topics).await
    }
}

fn topic_names(topics: &[TopicInfo]) -> Vec<String> {
    let mut names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    names.sort();
    names
}

/// The group's next event, or never outside group mode.
async fn next_event(membership: &mut Option<Membership>) -> Option<GroupEvent> {
    match membership {
        Some(m) => m.events.recv().await,
        None => std::future::pending().await,
    }
}
