//! Consumer-group membership for scale-out: one consumer per process joins `backup.group_id` with
//! the cooperative-sticky assignor, and the group coordinator's assignment decides which
//! partitions this process backs up. The member never reads records itself (its partitions are
//! paused the moment they are assigned; the partition tasks read through their own assign-mode
//! consumers); it carries the assignment, the revocations and the offset commits.
//!
//! A revocation blocks inside librdkafka's rebalance callback until the backup has flushed and
//! checkpointed the revoked partitions (or given up on them after the revoke budget), then commits
//! their checkpointed offsets, and only then lets librdkafka release them: the next owner resumes
//! from a checkpoint that is already durable.

use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use super::{KafkaError, Result, apply_user_properties, base_config};
use crate::config::KafkaPlan;

/// A topic partition.
pub type PartitionKey = (String, i32);

/// How often the member thread serves librdkafka's callbacks and our commands.
const POLL: Duration = Duration::from_millis(100);

/// What the group told this process.
#[derive(Debug)]
pub enum GroupEvent {
    /// These partitions are now this process's to back up.
    Assigned(Vec<PartitionKey>),
    /// These partitions are leaving this process. Stop their tasks (flush and checkpoint), then
    /// send the checkpointed next offsets on `done`; the partitions are released after that.
    Revoked {
        /// The partitions.
        partitions: Vec<PartitionKey>,
        /// The group already gave them to another member (session timeout): nothing may be
        /// committed for them, and whatever this process still writes overlaps the new owner's.
        lost: bool,
        /// Where to answer once the partitions are flushed: the offsets to commit.
        done: std_mpsc::SyncSender<Vec<(PartitionKey, i64)>>,
    },
}

enum Command {
    Subscribe(Vec<String>),
    Commit(Vec<(PartitionKey, i64)>, CommitMode),
    Leave,
}

/// This process's membership in the backup's consumer group.
pub struct GroupMember {
    group_id: String,
    commands: std_mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl GroupMember {
    /// Joins `group_id` subscribed to `topics`. Assignments and revocations arrive on the returned
    /// receiver; a revocation waits for its answer at most `revoke_budget` (plus a margin).
    pub fn join(
        plan: &KafkaPlan,
        group_id: &str,
        topics: Vec<String>,
        revoke_budget: Duration,
    ) -> Result<(Self, mpsc::UnboundedReceiver<GroupEvent>)> {
        let (events, receiver) = mpsc::unbounded_channel();
        let context = GroupContext { events, revoke_budget: revoke_budget + Duration::from_secs(5) };
        let consumer: BaseConsumer<GroupContext> = member_config(plan, group_id)
            .create_with_context(context)
            .map_err(|source| KafkaError::Client { source })?;
        subscribe(&consumer, &plan.bootstrap_servers, &topics)?;
        let (commands, inbox) = std_mpsc::channel();
        let (name, bootstrap) = (group_id.to_string(), plan.bootstrap_servers.clone());
        let thread = std::thread::Builder::new()
            .name("kbackup-group".into())
            .spawn(move || serve(consumer, inbox, &name, &bootstrap))
            .expect("spawning the group thread");
        tracing::info!(group = group_id, topics = topics.len(), "joined the backup's consumer group");
        Ok((GroupMember { group_id: group_id.to_string(), commands, thread: Some(thread) }, receiver))
    }

    /// Follows a changed topic list (a new topic matched `kafka.topics`); the group rebalances.
    pub fn subscribe(&self, topics: Vec<String>) {
        let _ = self.commands.send(Command::Subscribe(topics));
    }

    /// Commits checkpointed next offsets, so the group's lag (as lag exporters and
    /// `kafka-consumer-groups` show it) is the backup's. Asynchronous; failures are logged.
    pub fn commit(&self, offsets: Vec<(PartitionKey, i64)>) {
        if !offsets.is_empty() {
            let _ = self.commands.send(Command::Commit(offsets, CommitMode::Async));
        }
    }

    /// Commits the final offsets of a stopping run and waits for the broker's answer (before
    /// [`GroupMember::leave`], so they are not lost with the connection).
    pub fn commit_final(&self, offsets: Vec<(PartitionKey, i64)>) {
        if !offsets.is_empty() {
            let _ = self.commands.send(Command::Commit(offsets, CommitMode::Sync));
        }
    }

    /// The group's name.
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// Leaves the group (revoking whatever is still assigned: answer those revocations first, or
    /// drop the event receiver) and waits for the member thread to end.
    pub async fn leave(mut self) {
        let _ = self.commands.send(Command::Leave);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Leave);
    }
}

/// A group consumer that carries membership only: paused partitions, tiny fetches, no auto commit.
fn member_config(plan: &KafkaPlan, group_id: &str) -> rdkafka::ClientConfig {
    let mut config = base_config(plan);
    config
        .set("group.id", group_id)
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        // Partitions are paused on assignment; should a fetch slip in first, it is small and new.
        .set("auto.offset.reset", "latest")
        .set("max.partition.fetch.bytes", "4096")
        .set("queued.max.messages.kbytes", "1024");
    apply_user_properties(&mut config, plan);
    config
}

fn subscribe(consumer: &BaseConsumer<GroupContext>, bootstrap: &str, topics: &[String]) -> Result<()> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names).map_err(|source| KafkaError::Cluster {
        op: "consumer group subscribe",
        bootstrap: bootstrap.to_string(),
        source,
    })
}

/// The member thread: serves callbacks (poll) and commands until told to leave.
fn serve(consumer: BaseConsumer<GroupContext>, inbox: std_mpsc::Receiver<Command>, group_id: &str, bootstrap: &str) {
    loop {
        // Records should never arrive (partitions are paused); if one does it is dropped.
        if let Some(Err(error)) = consumer.poll(POLL) {
            tracing::warn!(group = group_id, %error, "consumer group error");
        }
        loop {
            match inbox.try_recv() {
                Ok(Command::Subscribe(topics)) => {
                    if let Err(error) = subscribe(&consumer, bootstrap, &topics) {
                        tracing::warn!(group = group_id, %error, "resubscribing failed; keeping the old topic list");
                    }
                }
                Ok(Command::Commit(offsets, mode)) => commit(&consumer, &offsets, mode),
                Ok(Command::Leave) | Err(std_mpsc::TryRecvError::Disconnected) => {
                    // Unsubscribing revokes what is left (answered at once once the backup is
                    // done); dropping the consumer then leaves the group, so the coordinator
                    // rebalances without waiting for the session timeout.
                    consumer.unsubscribe();
                    for _ in 0..10 {
                        let _ = consumer.poll(POLL);
                    }
                    tracing::info!(group = group_id, "left the backup's consumer group");
                    return;
                }
                Err(std_mpsc::TryRecvError::Empty) => break,
            }
        }
    }
}

fn commit(consumer: &BaseConsumer<GroupContext>, offsets: &[(PartitionKey, i64)], mode: CommitMode) {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), next) in offsets {
        if list.add_partition_offset(topic, *partition, Offset::Offset(*next)).is_err() {
            return;
        }
    }
    if let Err(error) = consumer.commit(&list, mode) {
        tracing::warn!(%error, partitions = offsets.len(), "committing checkpointed offsets to the group failed; the next checkpoint commits again");
    }
}

fn keys(list: &TopicPartitionList) -> Vec<PartitionKey> {
    list.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect()
}

/// Routes rebalances to the backup and waits for revoked partitions to be flushed.
struct GroupContext {
    events: mpsc::UnboundedSender<GroupEvent>,
    revoke_budget: Duration,
}

impl ClientContext for GroupContext {
    fn error(&self, error: RdError, reason: &str) {
        tracing::warn!(%error, reason, "kafka group client error");
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else { return };
        let partitions = keys(list);
        if partitions.is_empty() {
            return;
        }
        let lost = consumer.assignment_lost();
        let (done, answer) = std_mpsc::sync_channel(1);
        let event = GroupEvent::Revoked { partitions: partitions.clone(), lost, done };
        if self.events.send(event).is_err() {
            return; // the backup has ended: nothing is open
        }
        match answer.recv_timeout(self.revoke_budget) {
            Ok(offsets) if !lost => commit(consumer, &offsets, CommitMode::Sync),
            Ok(_) => {}
            Err(_) => tracing::error!(
                partitions = ?partitions,
                "revoked partitions were not flushed within the revoke budget; releasing them unflushed (nothing past their last checkpoint was recorded; the next owner reads it again)"
            ),
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                // Sent also when empty: it tells the backup that the group has answered.
                let partitions = keys(list);
                if !partitions.is_empty()
                    && let Err(error) = consumer.pause(list)
                {
                    tracing::warn!(%error, "pausing the member's own fetches failed (harmless: a few KiB are fetched and dropped)");
                }
                let _ = self.events.send(GroupEvent::Assigned(partitions));
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(error) => {
                let code = error.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Unknown);
                tracing::warn!(%error, ?code, "consumer group rebalance error");
            }
        }
    }
}
