//! Other applications' consumer groups: list and describe them, read their committed offsets, and
//! commit offsets for them (issue 13 §2: captured by backup, translated and committed by restore).
//!
//! kbackup never joins these groups. Reading and committing go through a consumer whose
//! `group.id` is the group's and which never subscribes: OffsetFetch and OffsetCommit are sent
//! for the group without a member id (generation -1), which Kafka accepts for a group with no
//! active members. The group's membership is left alone; see the README's broker quirks for what
//! tansu 0.6 does differently.
//!
//! # References
//! - Kafka protocol: ListGroups, DescribeGroups, OffsetFetch, OffsetCommit.

use std::collections::BTreeMap;
use std::sync::Arc;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::{ADMIN_TIMEOUT, KafkaError, PartitionKey, Result, apply_user_properties, base_config};
use crate::config::KafkaPlan;

/// A consumer group as the cluster lists and describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// Group id.
    pub name: String,
    /// State as the coordinator reports it (`Stable`, `Empty`, …; tansu 0.6 says `Unknown`).
    pub state: String,
    /// Active members.
    pub members: usize,
}

/// Group requests against one cluster.
#[derive(Clone)]
pub struct GroupAdmin {
    consumer: Arc<BaseConsumer>,
    plan: KafkaPlan,
}

impl GroupAdmin {
    /// Creates the client (no request is sent yet).
    pub fn connect(plan: &KafkaPlan) -> Result<Self> {
        let consumer = group_config(plan, "kbackup").create().map_err(|source| KafkaError::Client { source })?;
        Ok(Self { consumer: Arc::new(consumer), plan: plan.clone() })
    }

    fn group_error(&self, group: &str, op: &'static str) -> impl FnOnce(rdkafka::error::KafkaError) -> KafkaError {
        let group = group.to_string();
        move |source| KafkaError::Group { group, op, source }
    }

    /// Every consumer group of the cluster (ListGroups, then DescribeGroups), sorted by name.
    pub async fn groups(&self) -> Result<Vec<GroupListing>> {
        self.describe(None).await
    }

    /// One group, or `None` when the cluster does not list it.
    pub async fn group(&self, name: &str) -> Result<Option<GroupListing>> {
        Ok(self.describe(Some(name)).await?.into_iter().find(|g| g.name == name))
    }

    async fn describe(&self, name: Option<&str>) -> Result<Vec<GroupListing>> {
        let consumer = self.consumer.clone();
        let wanted = name.map(str::to_string);
        // The librdkafka list is not Send: it is read on the blocking thread.
        let listed = tokio::task::spawn_blocking(move || {
            consumer.fetch_group_list(wanted.as_deref(), ADMIN_TIMEOUT).map(|list| {
                list.groups()
                    .iter()
                    .map(|g| GroupListing {
                        name: g.name().to_string(),
                        state: g.state().to_string(),
                        members: g.members().len(),
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await
        .expect("group list task panicked");
        let mut groups = listed.map_err(self.group_error(name.unwrap_or("*"), "ListGroups/DescribeGroups"))?;
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
    }

    /// The offsets `group` has committed for `partitions` (OffsetFetch); partitions without a
    /// commit are left out.
    pub async fn committed(&self, group: &str, partitions: &[PartitionKey]) -> Result<BTreeMap<PartitionKey, i64>> {
        let mut list = TopicPartitionList::new();
        for (topic, partition) in partitions {
            list.add_partition(topic, *partition);
        }
        let consumer: BaseConsumer =
            group_config(&self.plan, group).create().map_err(|source| KafkaError::Client { source })?;
        let fetched = tokio::task::spawn_blocking(move || consumer.committed_offsets(list, ADMIN_TIMEOUT))
            .await
            .expect("offset fetch task panicked")
            .map_err(self.group_error(group, "OffsetFetch"))?;
        let mut offsets = BTreeMap::new();
        for element in fetched.elements() {
            if let Err(source) = element.error() {
                return Err(self.group_error(group, "OffsetFetch")(source));
            }
            if let Offset::Offset(offset) = element.offset() {
                offsets.insert((element.topic().to_string(), element.partition()), offset);
            }
        }
        Ok(offsets)
    }

    /// Commits `offsets` for `group` (OffsetCommit, synchronous), then reads them back and fails
    /// unless the group holds exactly them.
    pub async fn commit(&self, group: &str, offsets: &BTreeMap<PartitionKey, i64>) -> Result<()> {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in offsets {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(self.group_error(group, "OffsetCommit"))?;
        }
        let consumer: BaseConsumer =
            group_config(&self.plan, group).create().map_err(|source| KafkaError::Client { source })?;
        tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
            .await
            .expect("offset commit task panicked")
            .map_err(self.group_error(group, "OffsetCommit"))?;
        let keys: Vec<PartitionKey> = offsets.keys().cloned().collect();
        let read_back = self.committed(group, &keys).await?;
        if &read_back != offsets {
            return Err(KafkaError::GroupCommit {
                group: group.to_string(),
                reason: format!("committed {offsets:?} but the group holds {read_back:?}"),
            });
        }
        Ok(())
    }
}

/// A consumer that speaks for `group` without joining it: no subscription, no auto commit.
fn group_config(plan: &KafkaPlan, group: &str) -> rdkafka::ClientConfig {
    let mut config = base_config(plan);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    apply_user_properties(&mut config, plan);
    config
}
