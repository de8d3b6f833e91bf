//! Captures each backed-up topic's own configuration and partition count into the backup
//! (`topics/<topic>.json`, see [`crate::manifest::topics`]) whenever a run lists its topics: at
//! its start, and when continuous or group mode meets new topics or partitions.

use futures::TryStreamExt;

use super::BackupError;
use crate::kafka::{Admin, TopicInfo};
use crate::manifest::{self, Layout, TopicConfig};
use crate::store::Store;

/// Describes the topics' configs in one request and writes one document per topic. A broker that
/// refuses DescribeConfigs (ACLs) does not stop the backup: the data is what must not be lost;
/// the warning says what the restore will do instead.
pub(super) async fn capture_topic_configs(
    admin: &Admin,
    store: &Store,
    layout: &Layout,
    topics: &[TopicInfo],
) -> Result<(), BackupError> {
    let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    let mut configs = match admin.topic_configs(&names).await {
        Ok(configs) => configs,
        Err(error) => {
            tracing::warn!(%error, "topic configs not captured; a restore creates these topics with the target broker's defaults");
            return Ok(());
        }
    };
    let now = manifest::now_ms();
    let documents: Vec<TopicConfig> = topics
        .iter()
        .map(|t| TopicConfig {
            topic: t.name.clone(),
            partitions: t.partitions,
            configs: configs.remove(&t.name).unwrap_or_default(),
            captured_at_ms: now,
            tool: manifest::tool_version(),
        })
        .collect();
    futures::stream::iter(documents.iter().map(Ok::<_, manifest::ManifestError>))
        .try_for_each_concurrent(8, |document| async move {
            tracing::debug!(topic = %document.topic, configs = ?document.configs, "topic config captured");
            manifest::write_topic_config(store, layout, document).await
        })
        .await?;
    Ok(())
}
