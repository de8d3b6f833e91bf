//! Cluster metadata, watermarks and topic creation.

use std::collections::BTreeMap;
use std::sync::Arc;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::{ADMIN_TIMEOUT, KafkaError, Result, base_config, consumer_config};
use crate::config::KafkaPlan;

/// A topic and its partition count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: i32,
}

/// Metadata and admin requests against one cluster.
#[derive(Clone)]
pub struct Admin {
    consumer: Arc<BaseConsumer>,
    pub(super) admin: Arc<AdminClient<DefaultClientContext>>,
    pub(super) bootstrap: String,
}

impl Admin {
    /// Creates the clients (no request is sent yet).
    pub fn connect(plan: &KafkaPlan) -> Result<Self> {
        let consumer = consumer_config(plan).create().map_err(|source| KafkaError::Client { source })?;
        let admin = base_config(plan).create().map_err(|source| KafkaError::Client { source })?;
        Ok(Self { consumer: Arc::new(consumer), admin: Arc::new(admin), bootstrap: plan.bootstrap_servers.clone() })
    }

    pub(super) fn cluster_error(&self, op: &'static str) -> impl FnOnce(rdkafka::error::KafkaError) -> KafkaError + '_ {
        move |source| KafkaError::Cluster { op, bootstrap: self.bootstrap.clone(), source }
    }

    /// Every non-internal topic with its partition count, sorted by name.
    pub async fn topics(&self) -> Result<Vec<TopicInfo>> {
        let consumer = self.consumer.clone();
        let metadata = tokio::task::spawn_blocking(move || consumer.fetch_metadata(None, ADMIN_TIMEOUT))
            .await
            .expect("metadata task panicked")
            .map_err(self.cluster_error("metadata"))?;
        let mut topics: Vec<TopicInfo> = metadata
            .topics()
            .iter()
            .filter(|t| !t.name().starts_with("__") && t.error().is_none())
            .map(|t| TopicInfo { name: t.name().to_string(), partitions: t.partitions().len() as i32 })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// One topic, or `None` when the cluster does not know it.
    pub async fn topic(&self, name: &str) -> Result<Option<TopicInfo>> {
        Ok(self.topics().await?.into_iter().find(|t| t.name == name))
    }

    /// Low and high watermark of a partition, as the broker reports them (ListOffsets).
    pub async fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        let consumer = self.consumer.clone();
        let owned = topic.to_string();
        tokio::task::spawn_blocking(move || consumer.fetch_watermarks(&owned, partition, ADMIN_TIMEOUT))
            .await
            .expect("watermark task panicked")
            .map_err(|source| KafkaError::Fetch { topic: topic.to_string(), partition, offset: -1, source })
    }

    /// Creates a topic with `partitions` partitions and topic `configs` (none: the broker's
    /// defaults); `replication_factor` -1 means the broker default. A config the broker rejects is
    /// named ([`KafkaError::RejectedConfig`]).
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<()> {
        let new = configs.iter().fold(
            NewTopic::new(name, partitions, TopicReplication::Fixed(replication_factor)),
            |topic, (key, value)| topic.set(key, value),
        );
        let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
        let results = self.admin.create_topics([&new], &options).await.map_err(self.cluster_error("CreateTopics"))?;
        for result in results {
            if let Err((topic, code)) = result {
                return Err(self.creation_error(topic, code, partitions, replication_factor, configs).await);
            }
        }
        // Metadata propagates asynchronously; wait until the topic is visible with all partitions.
        for _ in 0..100 {
            if self.topic(name).await?.is_some_and(|t| t.partitions == partitions) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(KafkaError::CreateTopic {
            topic: name.to_string(),
            reason: "created but not visible in metadata after 10 s".into(),
        })
    }
}
