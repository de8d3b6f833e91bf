//! Consumer-group offsets captured by a backup run (`backup.consumer_groups`, issue 13 §2).
//!
//! A snapshot run captures once, before the partitions' ends are taken: every committed offset it
//! stores is then at or below the end the snapshot reads to. A continuous run captures at start,
//! every `backup.consumer_groups.interval`, and once more at the stop, after its segments are
//! flushed. A capture that fails in a continuous run is logged and tried again at the next
//! interval: group offsets must not stop the data from being backed up.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::{BackupError, RunContext};
use crate::config::BackupMode;
use crate::groups::{self, GroupOffsets, GroupsError};
use crate::kafka::{Admin, GroupAdmin, PartitionKey};

/// The capture side of a run: nothing, a done snapshot capture, or a periodic task.
pub(super) enum GroupCaptures {
    /// `backup.consumer_groups` selects no group, or the one snapshot capture is done.
    Idle,
    /// Continuous mode: the periodic task and the token that makes it take its last capture.
    Periodic { stop: CancellationToken, task: JoinHandle<()> },
}

impl GroupCaptures {
    /// Takes the snapshot capture now (failing the run if it cannot), or starts the periodic task.
    pub(super) async fn start(ctx: &RunContext, admin: &Admin) -> Result<Self, BackupError> {
        if !ctx.plan.backup.consumer_groups.enabled() {
            return Ok(GroupCaptures::Idle);
        }
        let capturer =
            Capturer { ctx: ctx.clone(), admin: admin.clone(), kafka: GroupAdmin::connect(&ctx.plan.kafka)? };
        if ctx.plan.backup.mode == BackupMode::Snapshot {
            capturer.once(&mut None).await.map_err(|e| BackupError::Groups(Box::new(e)))?;
            return Ok(GroupCaptures::Idle);
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(capturer.periodic(ctx.plan.backup.consumer_groups.interval, stop.clone()));
        Ok(GroupCaptures::Periodic { stop, task })
    }

    /// Continuous mode: takes the last capture and ends the task.
    pub(super) async fn stop(self) {
        if let GroupCaptures::Periodic { stop, task } = self {
            stop.cancel();
            let _ = task.await;
        }
    }
}

struct Capturer {
    ctx: RunContext,
    admin: Admin,
    kafka: GroupAdmin,
}

impl Capturer {
    async fn periodic(self, interval: Duration, stop: CancellationToken) {
        let mut last = None;
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = stop.cancelled() => break,
            }
            if let Err(error) = self.once(&mut last).await {
                tracing::warn!(%error, "consumer-group offsets not captured this time; trying again at the next interval");
            }
        }
        if let Err(error) = self.once(&mut last).await {
            tracing::error!(%error, "the last consumer-group offsets capture at the stop failed; the backup holds the earlier ones");
        }
    }

    /// One capture, stored unless it equals `last` (an idle group would otherwise add an object
    /// every interval that says nothing new).
    async fn once(&self, last: &mut Option<GroupOffsets>) -> Result<(), GroupsError> {
        let partitions = self.partitions().await?;
        let plan = &self.ctx.plan;
        let capture = groups::capture(
            &self.kafka,
            &plan.backup.consumer_groups.groups,
            &plan.backup.group_id,
            &plan.backup_id,
            &partitions,
        )
        .await?;
        if last.as_ref() == Some(&capture.groups) && capture.skipped.is_empty() {
            tracing::debug!("consumer-group offsets unchanged; nothing stored");
            return Ok(());
        }
        let key =
            groups::write_capture(&self.ctx.store, &self.ctx.layout, &capture, self.ctx.writer.as_deref()).await?;
        tracing::info!(key = %key, groups = capture.groups.len(), skipped = capture.skipped.len(), "consumer-group offsets captured");
        *last = Some(capture.groups);
        Ok(())
    }

    /// Every partition of the topics the backup selects, as the cluster has them now.
    async fn partitions(&self) -> Result<Vec<PartitionKey>, GroupsError> {
        let topics = self.admin.topics().await?;
        Ok(topics
            .iter()
            .filter(|t| self.ctx.plan.kafka.topics.matches(&t.name))
            .flat_map(|t| (0..t.partitions).map(|p| (t.name.clone(), p)))
            .collect())
    }
}
