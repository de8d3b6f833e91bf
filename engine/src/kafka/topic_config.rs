//! Topic configuration through the admin API: which of a topic's configs are its own (what a
//! backup captures), and naming the config a broker rejects when a topic is created with configs.
//!
//! Brokers differ in what DescribeConfigs answers for a topic. Apache Kafka lists every topic
//! config with its source: `DYNAMIC_TOPIC_CONFIG` for the topic's own overrides, broker-level
//! sources (`STATIC_BROKER_CONFIG`, `DYNAMIC_*BROKER_CONFIG`) or `DEFAULT_CONFIG` for the rest.
//! tansu 0.6 echoes exactly the configs given at creation (or set by IncrementalAlterConfigs),
//! each labelled `DEFAULT_CONFIG`. [`topic_overrides`] is right on both; see README "Known broker
//! quirks".
//!
//! # References
//! - KIP-133 (DescribeConfigs and AlterConfigs), KIP-226 (config sources), KIP-339
//!   (IncrementalAlterConfigs).

use std::collections::BTreeMap;

use rdkafka::admin::{AdminOptions, ConfigEntry, ConfigSource, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;

use super::{ADMIN_TIMEOUT, Admin, KafkaError, Result};

/// Topic configs Apache Kafka lists for every topic (whatever was set), and that hardly anyone
/// sets: an answer without them lists only what was set (tansu 0.6), not every config.
const ALWAYS_LISTED_BY_KAFKA: [&str; 4] =
    ["flush.messages", "flush.ms", "index.interval.bytes", "file.delete.delay.ms"];

/// The configs that belong to the topic itself, from a DescribeConfigs answer: neither sensitive
/// (their values are not returned) nor read-only (they cannot be set), and
/// - `DYNAMIC_TOPIC_CONFIG`: a topic override on Apache Kafka;
/// - `DEFAULT_CONFIG` only when the answer lists just what was set (see [`ALWAYS_LISTED_BY_KAFKA`]):
///   tansu labels every config given at creation so; on Kafka these are the built-in defaults;
/// - an unknown source with `is_default` false: brokers before Kafka 1.1 report no source.
///
/// Broker-level values (`STATIC_BROKER_CONFIG`, `DYNAMIC_*BROKER_CONFIG`) are the cluster's, not
/// the topic's: the target cluster applies its own.
pub fn topic_overrides(entries: &[ConfigEntry]) -> BTreeMap<String, String> {
    let lists_everything = ALWAYS_LISTED_BY_KAFKA.iter().all(|key| entries.iter().any(|e| e.name == *key));
    entries
        .iter()
        .filter(|e| !e.is_sensitive && !e.is_read_only)
        .filter(|e| match e.source {
            ConfigSource::DynamicTopic => true,
            ConfigSource::Default => !lists_everything,
            ConfigSource::Unknown => !e.is_default,
            _ => false,
        })
        .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
        .collect()
}

impl Admin {
    /// Each topic's own configs ([`topic_overrides`]), in one DescribeConfigs request.
    pub async fn topic_configs(&self, topics: &[&str]) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let described = self.describe_topics(topics).await?;
        Ok(described.into_iter().map(|(topic, entries)| (topic, topic_overrides(&entries))).collect())
    }

    /// The value of config `name` for each topic, whatever its source: a broker-wide default is
    /// what the topic does too. `None` where the broker does not list it.
    pub async fn config_value(&self, topics: &[&str], name: &str) -> Result<BTreeMap<String, Option<String>>> {
        let described = self.describe_topics(topics).await?;
        Ok(described
            .into_iter()
            .map(|(topic, entries)| {
                let value = entries.into_iter().find(|e| e.name == name).and_then(|e| e.value);
                (topic, value)
            })
            .collect())
    }

    /// Every config entry of each topic, in one DescribeConfigs request.
    async fn describe_topics(&self, topics: &[&str]) -> Result<Vec<(String, Vec<ConfigEntry>)>> {
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let resources: Vec<ResourceSpecifier<'_>> = topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let options = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT));
        let answers =
            self.admin.describe_configs(&resources, &options).await.map_err(self.cluster_error("DescribeConfigs"))?;
        let mut described = Vec::new();
        for (topic, answer) in topics.iter().zip(answers) {
            let resource = answer
                .map_err(|code| KafkaError::DescribeConfigs { topic: topic.to_string(), reason: code.to_string() })?;
            described.push((topic.to_string(), resource.entries));
        }
        Ok(described)
    }

    /// The error for a failed CreateTopics. librdkafka hands back only the error code, so when the
    /// broker calls a config invalid each config is validated alone (`validate_only`: nothing is
    /// created) to name the one it rejects.
    pub(super) async fn creation_error(
        &self,
        topic: String,
        code: RDKafkaErrorCode,
        partitions: i32,
        replication_factor: i32,
        configs: &BTreeMap<String, String>,
    ) -> KafkaError {
        if code != RDKafkaErrorCode::InvalidConfig || configs.is_empty() {
            return KafkaError::CreateTopic { topic, reason: code.to_string() };
        }
        let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT)).validate_only(true);
        for (key, value) in configs {
            let alone = NewTopic::new(&topic, partitions, TopicReplication::Fixed(replication_factor)).set(key, value);
            let rejected = match self.admin.create_topics([&alone], &options).await {
                Ok(results) => results.into_iter().find_map(|r| r.err()).map(|(_, c)| c),
                Err(_) => None,
            };
            if let Some(code) = rejected {
                return KafkaError::RejectedConfig {
                    topic,
                    config: format!("{key}={value}"),
                    reason: code.to_string(),
                };
            }
        }
        KafkaError::CreateTopic {
            topic,
            reason: format!("{code}: the broker accepts each config alone but not together: {configs:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: &str, source: ConfigSource) -> ConfigEntry {
        ConfigEntry {
            name: name.into(),
            value: Some(value.into()),
            is_default: source == ConfigSource::Default,
            source,
            is_read_only: false,
            is_sensitive: false,
        }
    }

    /// What Apache Kafka answers: every config, overrides marked as the topic's.
    #[test]
    fn on_kafka_only_topic_overrides_are_kept() {
        let mut entries: Vec<ConfigEntry> =
            ALWAYS_LISTED_BY_KAFKA.iter().map(|k| entry(k, "1", ConfigSource::Default)).collect();
        entries.push(entry("retention.ms", "3600000", ConfigSource::DynamicTopic));
        entries.push(entry("cleanup.policy", "delete", ConfigSource::Default));
        entries.push(entry("min.insync.replicas", "2", ConfigSource::StaticBroker));
        entries.push(entry("segment.bytes", "1048576", ConfigSource::DynamicDefaultBroker));
        let mut secret = entry("sasl.jaas.config", "x", ConfigSource::DynamicTopic);
        secret.is_sensitive = true;
        let mut read_only = entry("message.format.version", "3.0", ConfigSource::DynamicTopic);
        read_only.is_read_only = true;
        entries.extend([secret, read_only]);
        let kept = topic_overrides(&entries);
        assert_eq!(kept, BTreeMap::from([("retention.ms".to_string(), "3600000".to_string())]));
    }

    /// What tansu 0.6 answers: only the configs given at creation, labelled DEFAULT_CONFIG.
    #[test]
    fn on_an_echoing_broker_every_listed_config_is_kept() {
        let entries = [
            entry("cleanup.policy", "compact", ConfigSource::Default),
            entry("retention.ms", "3600000", ConfigSource::Default),
        ];
        let kept = topic_overrides(&entries);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept["cleanup.policy"], "compact");
        assert!(topic_overrides(&[]).is_empty());
    }

    #[test]
    fn old_brokers_without_sources_use_is_default() {
        let mut overridden = entry("retention.ms", "5", ConfigSource::Unknown);
        overridden.is_default = false;
        let mut default = entry("segment.ms", "6", ConfigSource::Unknown);
        default.is_default = true;
        assert_eq!(topic_overrides(&[overridden, default]).keys().collect::<Vec<_>>(), ["retention.ms"]);
    }
}
