//! Restore targets: checks or creates each target topic before anything is produced, and decides
//! whether an earlier run's state applies (resume) or the topic starts afresh.

use std::collections::BTreeMap;
use std::time::Duration;

use super::RestoreError;
use super::resume::{self, RestoreState, Resume, Selection};
use super::topics::{created_configs, created_partitions, existing_partitions, written_partitions};
use crate::config::Plan;
use crate::kafka::{self, Admin};
use crate::manifest::{self, Layout};
use crate::store::Store;

/// How long reading a target partition's end may take.
const END_TIMEOUT: Duration = Duration::from_secs(30);

/// One target topic of this run: its state object and, per partition, where its stream began and
/// how much of it the target holds.
pub(crate) struct TopicRun {
    key: String,
    state: RestoreState,
    /// Per written target partition (the backup's p → p, the target's by key).
    pub(crate) resume: BTreeMap<i32, Resume>,
    /// How many target partitions the restore writes.
    pub(crate) written: i32,
}

impl TopicRun {
    /// Records that every partition's stream was delivered.
    pub(crate) async fn complete(mut self, store: &Store) -> Result<(), RestoreError> {
        self.state.completed_at_ms = Some(manifest::now_ms());
        Ok(resume::save(store, &self.key, &self.state).await?)
    }
}

/// Prepares `target` for `source`'s `partitions`: resumes an earlier run of the same restore
/// when its state applies, otherwise checks or creates the topic and records where each stream
/// begins — durably, before any record is produced.
pub(crate) async fn begin(
    plan: &Plan,
    store: &Store,
    layout: &Layout,
    admin: &Admin,
    source: &str,
    target: &str,
    partitions: i32,
) -> Result<TopicRun, RestoreError> {
    let key = resume::state_key(layout, plan, target);
    let selection = Selection::of(plan, source, target);
    if let Some(previous) = resume::load(store, &key).await? {
        let existing = admin.topic(target).await?;
        let setup = &plan.restore.topic_setup;
        if let Some(written) =
            existing.and_then(|t| existing_partitions(setup, source, target, partitions, t.partitions).ok())
        {
            let ends = settled_ends(plan, target, written).await?;
            if let Some(resume) = resume::reconcile(&previous, &selection, &ends) {
                let held: u64 = resume.values().map(|r| r.skip).sum();
                tracing::info!(
                    topic = target,
                    records = held,
                    "resuming an earlier restore: the target holds its first records already"
                );
                return Ok(TopicRun { key, state: previous, resume, written });
            }
        }
        tracing::info!(topic = target, state = %key, "an earlier restore's state does not apply (other selection, or the topic was recreated): starting afresh");
    }
    let (written, created) = prepare_target(plan, admin, (store, layout), source, target, partitions).await?;
    // A topic created just now starts at 0: no need to ask it.
    let start = if created { (0..written).map(|p| (p, 0)).collect() } else { ends(plan, target, written).await? };
    let resume = start.iter().map(|(&p, &start)| (p, Resume { start, skip: 0 })).collect();
    let state = RestoreState::begin(selection, start);
    resume::save(store, &key, &state).await?;
    Ok(TopicRun { key, state, resume, written })
}

/// How long the ends must stay still before a resumed run trusts them.
const SETTLE: Duration = Duration::from_secs(1);

/// The ends once they stop moving: a produce request a killed run sent just before it died may
/// still be appended after the first read, and its records would otherwise be produced twice.
async fn settled_ends(plan: &Plan, target: &str, partitions: i32) -> Result<BTreeMap<i32, i64>, RestoreError> {
    let mut last = ends(plan, target, partitions).await?;
    for _ in 0..30 {
        tokio::time::sleep(SETTLE).await;
        let now = ends(plan, target, partitions).await?;
        if now == last {
            return Ok(now);
        }
        tracing::info!(topic = target, "the target's end is still moving (an earlier run's last requests); waiting");
        last = now;
    }
    Err(RestoreError::Target {
        topic: target.to_string(),
        reason: "its partitions kept growing for 30 s while this restore tried to resume: is another restore or \
                 producer writing to it? Stop it and run again"
            .into(),
    })
}

/// The current end of each of the target's first `partitions` partitions, read concurrently.
async fn ends(plan: &Plan, target: &str, partitions: i32) -> Result<BTreeMap<i32, i64>, RestoreError> {
    let reads = (0..partitions).map(|partition| {
        let (kafka, target) = (plan.kafka.clone(), target.to_string());
        tokio::task::spawn_blocking(move || kafka::fetched_end(&kafka, &target, partition, END_TIMEOUT))
    });
    let mut out = BTreeMap::new();
    for (partition, read) in (0..partitions).zip(futures::future::join_all(reads).await) {
        out.insert(partition, read.expect("end task panicked")?);
    }
    Ok(out)
}

/// Makes sure `target` exists and, unless allowed, is empty where the restore writes; a missing
/// topic is created with its partition count and configs (`restore::topics`). Returns how many
/// of its partitions the restore writes (the backup's count p → p, the target's by key) and whether
/// it created the topic.
pub(crate) async fn prepare_target(
    plan: &Plan,
    admin: &Admin,
    (store, layout): (&Store, &Layout),
    source: &str,
    target: &str,
    partitions: i32,
) -> Result<(i32, bool), RestoreError> {
    let setup = &plan.restore.topic_setup;
    let written = match admin.topic(target).await? {
        None if plan.restore.create_topics => {
            let count = created_partitions(setup, source, target, partitions)?;
            let configs = created_configs(setup, store, layout, source).await?;
            tracing::info!(topic = target, partitions = count, ?configs, "creating target topic");
            admin.create_topic(target, count, plan.restore.replication_factor, &configs).await?;
            return Ok((written_partitions(setup, partitions, count), true));
        }
        None => {
            return Err(RestoreError::Target {
                topic: target.to_string(),
                reason: "does not exist and restore.create_topics is false".into(),
            });
        }
        Some(existing) => {
            tracing::info!(
                topic = target,
                partitions = existing.partitions,
                "target topic exists: its configuration and partition count are left as they are (restore.topic_config applies to created topics)"
            );
            existing_partitions(setup, source, target, partitions, existing.partitions)?
        }
    };
    if !plan.restore.allow_non_empty {
        for partition in 0..written {
            let (low, high) = admin.watermarks(target, partition).await?;
            if high > low {
                return Err(RestoreError::NotEmpty { topic: target.to_string(), partition, low, high });
            }
        }
    }
    Ok((written, false))
}

/// The target topics whose broker stamps records with their append time
/// (`message.timestamp.type: LogAppendTime`), replacing the timestamps the restore sends. Only
/// reported: a restore that cannot read configs (no DescribeConfigs permission) still runs.
pub(crate) async fn log_append_time(admin: &Admin, targets: &[String]) -> Vec<String> {
    let names: Vec<&str> = targets.iter().map(String::as_str).collect();
    match admin.config_value(&names, "message.timestamp.type").await {
        Ok(values) => {
            let stamped: Vec<String> = values
                .into_iter()
                .filter(|(_, v)| v.as_deref() == Some("LogAppendTime"))
                .map(|(topic, _)| topic)
                .collect();
            for topic in &stamped {
                tracing::warn!(
                    topic = %topic,
                    "the target topic uses message.timestamp.type=LogAppendTime: the broker replaces every restored record's timestamp with its append time"
                );
            }
            stamped
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the target topics' message.timestamp.type; the summary cannot say whether timestamps were kept");
            Vec::new()
        }
    }
}
