//! `<backup_id>/topics/<topic>.json`: a backed-up topic's own configuration and partition count,
//! as captured when a backup run starts or first meets the topic; restore creates missing target
//! topics from it (`restore.topic_config`). One small object per topic, rewritten by each run
//! (like `backup.json`), never per segment. Backups taken before it existed have none: restore
//! then creates topics with the broker's defaults and says so.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Layout, ManifestError, read_json};
use crate::store::{Store, StoreError};

/// One topic's captured configuration. Unknown fields are ignored (no `deny_unknown_fields`), so
/// a later kbackup may add fields without older ones refusing the backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopicConfig {
    /// Topic name.
    pub topic: String,
    /// Partition count when captured.
    pub partitions: i32,
    /// The topic's own configs (its overrides; see [`crate::kafka::topic_overrides`]).
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
    /// When captured, Unix milliseconds.
    pub captured_at_ms: i64,
    /// Tool and version that captured it.
    pub tool: String,
}

impl Layout {
    /// `<id>/topics/<topic>.json` (topic names are `[a-zA-Z0-9._-]`, safe in a key).
    pub fn topic_config_key(&self, topic: &str) -> String {
        format!("{}topics/{topic}.json", self.root())
    }
}

/// Writes (or rewrites) one topic's document.
pub async fn write_topic_config(store: &Store, layout: &Layout, config: &TopicConfig) -> Result<(), ManifestError> {
    let body = serde_json::to_vec_pretty(config).expect("TopicConfig serializes");
    store.put(&layout.topic_config_key(&config.topic), body.into()).await?;
    Ok(())
}

/// One topic's document; `None` when the backup has none (taken before configs were captured).
pub async fn read_topic_config(
    store: &Store,
    layout: &Layout,
    topic: &str,
) -> Result<Option<TopicConfig>, ManifestError> {
    match read_json(store, &layout.topic_config_key(topic)).await {
        Ok(config) => Ok(Some(config)),
        Err(ManifestError::Store(StoreError::NotFound { .. })) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_documents_with_fields_it_does_not_know() {
        let config = TopicConfig {
            topic: "orders.eu".into(),
            partitions: 4,
            configs: BTreeMap::from([("cleanup.policy".into(), "compact".into())]),
            captured_at_ms: 7,
            tool: "kbackup test".into(),
        };
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<TopicConfig>(&json).unwrap(), config);
        let later = r#"{"topic":"t","partitions":2,"captured_at_ms":1,"tool":"x","replicas":3}"#;
        assert!(serde_json::from_str::<TopicConfig>(later).unwrap().configs.is_empty());
        assert_eq!(Layout::new("b1").topic_config_key("orders.eu"), "b1/topics/orders.eu.json");
    }
}
