//! Restore targets: checks or creates each target topic before anything is produced.

use super::RestoreError;
use crate::config::Plan;
use crate::kafka::Admin;

/// Makes sure `target` exists with at least `partitions` partitions and, unless allowed, is empty.
pub(crate) async fn prepare_target(
    plan: &Plan,
    admin: &Admin,
    target: &str,
    partitions: i32,
) -> Result<(), RestoreError> {
    match admin.topic(target).await? {
        None if plan.restore.create_topics => {
            tracing::info!(topic = target, partitions, "creating target topic");
            admin.create_topic(target, partitions, plan.restore.replication_factor).await?;
        }
        None => {
            return Err(RestoreError::Target {
                topic: target.to_string(),
                reason: "does not exist and restore.create_topics is false".into(),
            });
        }
        Some(existing) if existing.partitions < partitions => {
            return Err(RestoreError::Target {
                topic: target.to_string(),
                reason: format!(
                    "has {} partitions, the backup needs {partitions} (partition p is restored to p)",
                    existing.partitions
                ),
            });
        }
        Some(_) if !plan.restore.allow_non_empty => {
            for partition in 0..partitions {
                let (low, high) = admin.watermarks(target, partition).await?;
                if high > low {
                    return Err(RestoreError::NotEmpty { topic: target.to_string(), partition, low, high });
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}
