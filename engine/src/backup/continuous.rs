//! Continuous backup: one task per partition follows it until the run is stopped; the topic
//! list is re-read every `backup.metadata_refresh` so new topics and partitions join while
//! running and a deleted topic's tasks stop; a stop flushes and checkpoints every open segment
//! within `--shutdown-timeout`, or fails naming the partitions that did not make it.
//!
//! In consumer-group mode (`backup.coordination: group`, module `group`) the same supervisor
//! starts and stops tasks as the group assigns and revokes partitions, and also runs snapshots:
//! each assigned partition to the end captured when it was assigned.
//!
//! `max_concurrent_partitions` does not apply here: a followed partition never finishes, so a
//! bound would starve the partitions beyond it.

use std::collections::{BTreeMap, BTreeSet};

use tokio::task::{AbortHandle, JoinSet};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::group::Membership;
use super::{BackupError, PartitionRange, RunContext, plan_range, write_info};
use crate::kafka::{Admin, TopicInfo};
use crate::manifest;
use crate::summary::PartitionSummary;

pub(super) type Key = (String, i32);
type Joined = (Key, Result<PartitionSummary, BackupError>);

/// A running partition task: its own token (cancelled alone when its topic is deleted or the
/// group revokes the partition) and the handle that aborts it when a deadline passes.
pub(super) struct Running {
    pub token: CancellationToken,
    pub abort: AbortHandle,
}

/// Owns the partition tasks of a continuous run.
pub(crate) struct Supervisor {
    pub(super) ctx: RunContext,
    pub(super) admin: Admin,
    pub(super) cancel: CancellationToken,
    pub(super) tasks: JoinSet<Joined>,
    pub(super) running: BTreeMap<Key, Running>,
    /// Every partition a task was started for in this run; never started twice (standalone).
    pub(super) started: BTreeSet<Key>,
    /// Topics whose tasks were stopped because the topic disappeared.
    pub(super) deleted: BTreeSet<String>,
    pub(super) done: Vec<PartitionSummary>,
    pub(super) failures: Vec<BackupError>,
    /// The consumer group, in group mode.
    pub(super) membership: Option<Membership>,
}

impl Supervisor {
    pub(crate) fn new(ctx: RunContext, admin: Admin, cancel: CancellationToken, topics: &[TopicInfo]) -> Self {
        let total: i32 = topics.iter().map(|t| t.partitions).sum();
        tracing::info!(topics = topics.len(), partitions = total, "continuous backup: following every partition");
        Supervisor {
            ctx,
            admin,
            cancel,
            tasks: JoinSet::new(),
            running: BTreeMap::new(),
            started: BTreeSet::new(),
            deleted: BTreeSet::new(),
            done: Vec::new(),
            failures: Vec::new(),
            membership: None,
        }
    }

    /// Runs until the run's token is cancelled (or a partition fails), then drains.
    pub(crate) async fn run(
        mut self,
        ranges: Vec<PartitionRange>,
    ) -> Result<(Vec<PartitionSummary>, Vec<BackupError>), BackupError> {
        for range in ranges {
            self.spawn(range);
        }
        let mut refresh = tokio::time::interval(self.ctx.plan.backup.metadata_refresh);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        refresh.tick().await; // the first tick is immediate; the topics were just read
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => break,
                _ = refresh.tick() => {
                    // A metadata or store hiccup must not end a long run: try again next time.
                    if let Err(error) = self.refresh().await {
                        tracing::warn!(%error, "metadata refresh failed; retrying at the next interval");
                    }
                }
                Some(joined) = self.tasks.join_next() => {
                    self.finished(joined).await;
                    if !self.failures.is_empty() {
                        // Fail fast: a restart (by the operator or the orchestrator) resumes from the checkpoints.
                        self.cancel.cancel();
                        break;
                    }
                }
            }
        }
        self.drain().await?;
        Ok((self.done, self.failures))
    }

    pub(super) fn spawn(&mut self, range: PartitionRange) {
        let key = (range.topic.clone(), range.partition);
        let token = self.cancel.child_token();
        let task = self.ctx.task(range, token.clone());
        self.started.insert(key.clone());
        let abort = self.tasks.spawn({
            let key = key.clone();
            async move { (key, task.run().await) }
        });
        self.running.insert(key, Running { token, abort });
    }

    /// Starts tasks for partitions that appeared, stops those of topics that disappeared.
    async fn refresh(&mut self) -> Result<(), BackupError> {
        let plan = self.ctx.plan.clone();
        let topics: Vec<TopicInfo> =
            self.admin.topics().await?.into_iter().filter(|t| plan.kafka.topics.matches(&t.name)).collect();
        let present: BTreeSet<&str> = topics.iter().map(|t| t.name.as_str()).collect();
        let gone: BTreeSet<String> =
            self.running.keys().map(|(t, _)| t.clone()).filter(|t| !present.contains(t.as_str())).collect();
        for topic in gone {
            tracing::warn!(
                topic,
                "topic no longer exists on the cluster; stopping its partitions after a last checkpoint"
            );
            for (_, running) in self.running.iter().filter(|((t, _), _)| *t == topic) {
                running.token.cancel();
            }
            self.deleted.insert(topic);
        }
        let new: Vec<Key> = topics
            .iter()
            .flat_map(|t| (0..t.partitions).map(move |p| (t.name.clone(), p)))
            .filter(|key| !self.started.contains(key))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        // The backup's info lists every topic and partition count before any of their segments exist.
        let (store, layout) = (self.ctx.store.clone(), self.ctx.layout.clone());
        write_info(&plan, &self.admin, &store, &layout, &topics).await?;
        let existing = manifest::read_entries(&store, &layout).await?;
        for (topic, partition) in new {
            let range = plan_range(&plan, &self.admin, &store, &layout, &topic, partition, &existing).await?;
            tracing::info!(topic, partition, start = range.span.start, "new partition: following it");
            self.ctx.progress.partition_planned(&topic, partition, range.span.start, range.span.boundary);
            self.spawn(range);
        }
        Ok(())
    }

    /// Books a task's end. A task whose topic was deleted ends cleanly, also with a read error.
    /// An aborted task (a deadline passed) was booked when it was aborted.
    pub(super) async fn finished(&mut self, joined: Result<Joined, tokio::task::JoinError>) {
        let ((topic, partition), result) = match joined {
            Ok(joined) => joined,
            Err(error) if error.is_cancelled() => return,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        };
        self.running.remove(&(topic.clone(), partition));
        match result {
            Ok(summary) => self.done.push(summary),
            Err(error) if self.topic_is_gone(&topic).await => {
                tracing::warn!(topic, partition, %error, "topic deleted; its partition stopped after its last checkpoint");
                self.deleted.insert(topic);
            }
            Err(error) => {
                tracing::error!(topic, partition, %error, "partition failed; stopping the run");
                self.failures.push(error);
            }
        }
    }

    async fn topic_is_gone(&self, topic: &str) -> bool {
        self.deleted.contains(topic) || matches!(self.admin.topic(topic).await, Ok(None))
    }

    /// Waits for every task to flush and checkpoint, up to the shutdown deadline (a zero
    /// timeout does not wait at all).
    pub(super) async fn drain(&mut self) -> Result<(), BackupError> {
        let timeout = self.ctx.plan.backup.shutdown_timeout;
        if self.tasks.is_empty() {
            return Ok(());
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        while !timeout.is_zero() {
            tokio::select! {
                biased;
                () = &mut deadline => break,
                joined = self.tasks.join_next() => match joined {
                    Some(joined) => self.finished(joined).await,
                    None => return Ok(()),
                },
            }
        }
        let unflushed = self.unflushed();
        tracing::error!(?timeout, partitions = ?unflushed, "shutdown deadline passed before every partition was flushed");
        // Dropping the set aborts the uploads: unfinished objects are never checkpointed, and the
        // next run removes them (abort_stale_uploads) and reads their records again.
        self.tasks.abort_all();
        Err(BackupError::ShutdownTimeout { timeout, unflushed })
    }

    pub(super) fn unflushed(&self) -> Vec<String> {
        let table: BTreeMap<Key, _> = self.ctx.progress.partitions().into_iter().collect();
        self.running
            .keys()
            .map(|key| match table.get(key) {
                Some(p) => format!(
                    "{}/{} (checkpointed to {}, read to {})",
                    key.0, key.1, p.checkpointed_offset, p.uploaded_offset
                ),
                None => format!("{}/{}", key.0, key.1),
            })
            .collect()
    }
}
