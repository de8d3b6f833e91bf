//! Shape of each target topic (issue 13 §3–4): how many partitions a restore writes, how many a
//! created topic gets, and which configs. Pure rules here; `target` applies them to the cluster.

use std::collections::BTreeMap;

use super::RestoreError;
use crate::config::{RecordSelection, Repartition, TopicConfigMode, TopicSetupPlan};
use crate::manifest::{self, Layout};
use crate::store::Store;

/// A target topic that cannot be restored into as configured; becomes [`RestoreError::Target`]
/// (kept small: the rules here are plain functions).
#[derive(Debug)]
pub(crate) struct TargetProblem {
    topic: String,
    reason: String,
}

impl From<TargetProblem> for RestoreError {
    fn from(p: TargetProblem) -> Self {
        RestoreError::Target { topic: p.topic, reason: p.reason }
    }
}

impl std::fmt::Display for TargetProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        RestoreError::Target { topic: self.topic.clone(), reason: self.reason.clone() }.fmt(f)
    }
}

fn target_error(topic: &str, reason: String) -> TargetProblem {
    TargetProblem { topic: topic.to_string(), reason }
}

/// Fails when `restore.partitions` names a topic the restore does not read (a typo would
/// otherwise be ignored silently).
pub(crate) fn check_partition_keys<'a>(
    setup: &TopicSetupPlan,
    restored: impl Iterator<Item = &'a String> + Clone,
) -> Result<(), TargetProblem> {
    for topic in setup.partitions.keys() {
        if !restored.clone().any(|t| t == topic) {
            let list: Vec<&str> = restored.clone().map(String::as_str).collect();
            return Err(target_error(
                topic,
                format!(
                    "restore.partitions names it, but the restore reads no such source topic (it reads: {}); keys are source topic names",
                    list.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses `restore.offsets` that name a topic this restore does not restore, or a partition the
/// backup does not have: a typo would otherwise restore the whole partition instead of a range.
pub(crate) fn check_ranges(selection: &RecordSelection, selected: &[(String, i32)]) -> Result<(), TargetProblem> {
    for (topic, ranges) in &selection.offsets {
        let Some((_, partitions)) = selected.iter().find(|(t, _)| t == topic) else {
            let topics: Vec<&str> = selected.iter().map(|(t, _)| t.as_str()).collect();
            return Err(target_error(
                topic,
                format!(
                    "restore.offsets names it, but this restore does not restore it (it restores: {}); check the name and restore.topics",
                    topics.join(", ")
                ),
            ));
        };
        if let Some(partition) = ranges.keys().find(|&&p| p >= *partitions) {
            return Err(target_error(
                topic,
                format!(
                    "restore.offsets.{topic}.{partition}: the backup has partitions 0 to {} of this topic",
                    partitions - 1
                ),
            ));
        }
    }
    Ok(())
}

/// The partition count of a target topic that does not exist yet.
pub(crate) fn created_partitions(
    setup: &TopicSetupPlan,
    source: &str,
    target: &str,
    backup: i32,
) -> Result<i32, TargetProblem> {
    match (setup.repartition, setup.partitions.get(source).copied()) {
        (Repartition::None, None) => Ok(backup),
        (Repartition::None, Some(n)) if n < backup => Err(target_error(
            target,
            format!(
                "restore.partitions.{source} is {n}, but the backup has {backup} partitions and partition p is restored to p; set restore.repartition: by-key to spread the records by key over {n} partitions"
            ),
        )),
        (_, Some(n)) => Ok(n),
        (Repartition::ByKey, None) => Err(target_error(
            target,
            format!(
                "does not exist, and restore.repartition: by-key needs its partition count: set restore.partitions.{source}: N (the backup has {backup})"
            ),
        )),
    }
}

/// Partitions written in a topic of `count` partitions: all of them by key, the backup's p → p.
pub(crate) fn written_partitions(setup: &TopicSetupPlan, backup: i32, count: i32) -> i32 {
    match setup.repartition {
        Repartition::ByKey => count,
        Repartition::None => backup,
    }
}

/// How many partitions of an existing target topic the restore writes (it never changes the topic).
pub(crate) fn existing_partitions(
    setup: &TopicSetupPlan,
    source: &str,
    target: &str,
    backup: i32,
    existing: i32,
) -> Result<i32, TargetProblem> {
    if let Some(n) = setup.partitions.get(source).copied().filter(|&n| n != existing) {
        return Err(target_error(
            target,
            format!(
                "exists with {existing} partitions, but restore.partitions.{source} asks for {n}; kbackup does not change existing topics: restore into a new topic (restore.topic_mapping), delete it, or set restore.partitions.{source}: {existing}"
            ),
        ));
    }
    match setup.repartition {
        Repartition::None if existing < backup => Err(target_error(
            target,
            format!(
                "has {existing} partitions, the backup needs {backup} (partition p is restored to p); set restore.repartition: by-key to spread the records by key over {existing} partitions, or restore into a new topic (restore.topic_mapping)"
            ),
        )),
        _ => Ok(written_partitions(setup, backup, existing)),
    }
}

/// The configs a created target topic gets: the source topic's captured configs (unless
/// `restore.topic_config: defaults`), then `restore.topic_config_overrides`.
pub(crate) async fn created_configs(
    setup: &TopicSetupPlan,
    store: &Store,
    layout: &Layout,
    source: &str,
) -> Result<BTreeMap<String, String>, RestoreError> {
    let captured = match setup.config {
        TopicConfigMode::Defaults => BTreeMap::new(),
        TopicConfigMode::Keep => match manifest::read_topic_config(store, layout, source).await? {
            Some(document) => document.configs,
            None => {
                tracing::warn!(
                    topic = source,
                    "the backup holds no topic configuration for this topic (taken before kbackup captured them); its target is created with the broker's defaults and restore.topic_config_overrides"
                );
                BTreeMap::new()
            }
        },
    };
    Ok(setup.configs_for(&captured))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(repartition: Repartition, partitions: &[(&str, i32)]) -> TopicSetupPlan {
        TopicSetupPlan {
            repartition,
            partitions: partitions.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            ..TopicSetupPlan::default()
        }
    }

    #[test]
    fn created_topics_get_the_backup_count_or_the_requested_one() {
        let none = setup(Repartition::None, &[]);
        assert_eq!(created_partitions(&none, "s", "t", 4).unwrap(), 4);
        let more = setup(Repartition::None, &[("s", 6)]);
        assert_eq!(created_partitions(&more, "s", "t", 4).unwrap(), 6);
        let fewer = setup(Repartition::None, &[("s", 2)]);
        let message = created_partitions(&fewer, "s", "t", 4).unwrap_err().to_string();
        assert!(message.contains("restore.repartition: by-key") && message.contains("'t'"), "{message}");
        let by_key = setup(Repartition::ByKey, &[("s", 2)]);
        assert_eq!(created_partitions(&by_key, "s", "t", 4).unwrap(), 2);
        let no_count = setup(Repartition::ByKey, &[]);
        let message = created_partitions(&no_count, "s", "t", 4).unwrap_err().to_string();
        assert!(message.contains("restore.partitions.s"), "{message}");
    }

    #[test]
    fn existing_topics_are_never_changed() {
        let none = setup(Repartition::None, &[]);
        assert_eq!(existing_partitions(&none, "s", "t", 4, 8).unwrap(), 4, "p → p writes the backup's partitions");
        let message = existing_partitions(&none, "s", "t", 4, 3).unwrap_err().to_string();
        assert!(message.contains("has 3 partitions") && message.contains("restore.repartition: by-key"), "{message}");
        let by_key = setup(Repartition::ByKey, &[]);
        assert_eq!(existing_partitions(&by_key, "s", "t", 4, 3).unwrap(), 3);
        let mismatch = setup(Repartition::ByKey, &[("s", 6)]);
        let message = existing_partitions(&mismatch, "s", "t", 4, 3).unwrap_err().to_string();
        assert!(message.contains("does not change existing topics"), "{message}");
    }

    #[test]
    fn offset_ranges_must_name_restored_topics_and_existing_partitions() {
        use crate::config::Bounds;
        let selected = [("orders".to_string(), 4)];
        let ranges = |topic: &str, partition: i32| RecordSelection {
            time_window: None,
            offsets: [(topic.to_string(), [(partition, Bounds { start: 0, end: 5 })].into())].into(),
        };
        assert!(check_ranges(&ranges("orders", 3), &selected).is_ok());
        let message = check_ranges(&ranges("orders", 4), &selected).unwrap_err().to_string();
        assert!(message.contains("restore.offsets.orders.4") && message.contains("partitions 0 to 3"), "{message}");
        let message = check_ranges(&ranges("ordres", 0), &selected).unwrap_err().to_string();
        assert!(message.contains("'ordres'") && message.contains("it restores: orders"), "{message}");
    }

    #[test]
    fn unknown_partition_keys_are_refused() {
        let restored = ["orders".to_string(), "payments".to_string()];
        let typo = setup(Repartition::ByKey, &[("ordres", 6)]);
        let message = check_partition_keys(&typo, restored.iter()).unwrap_err().to_string();
        assert!(message.contains("'ordres'") && message.contains("orders, payments"), "{message}");
        assert!(check_partition_keys(&setup(Repartition::ByKey, &[("orders", 6)]), restored.iter()).is_ok());
    }
}
