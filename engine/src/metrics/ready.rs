//! `/ready`: is this process doing its job? The broker answers a metadata request, the store
//! takes a write (a restore: a read), and in a continuous backup no partition holds records read
//! longer ago than a limit without a durable checkpoint. Each failing check is named with what
//! to do. The broker and store answers are cached for a few seconds so scrapes cannot hammer them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio::sync::Mutex;

use crate::config::{BackupMode, Plan};
use crate::kafka::KafkaError;
use crate::manifest::{Layout, now_ms};
use crate::progress::{Command, PartitionProgress, Progress};
use crate::store::{Store, StoreError};

/// How long a broker or store answer is reused.
pub const CACHE_FOR: Duration = Duration::from_secs(5);
/// How long the metadata request may take.
pub const BROKER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the store's put + delete (or get) may take.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// The checkpoint age limit when `--ready-max-checkpoint-age` is not given: two segment ages
/// (one for the segment to roll, one of slack) plus 30 s to upload and checkpoint it.
pub fn default_max_checkpoint_age(plan: &Plan) -> Duration {
    plan.backup.segment_max_age * 2 + Duration::from_secs(30)
}

/// One failed check: which (`broker`, `store`, `checkpoint`) and what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The check.
    pub check: &'static str,
    /// What failed, and the fix.
    pub problem: String,
}

/// The `/ready` body for these failures: `ready` or `not ready` and one line per failure.
pub fn body(failures: &[Failure]) -> String {
    if failures.is_empty() {
        return "ready: broker reachable, store writable, checkpoints recent\n".to_string();
    }
    let mut text = String::from("not ready:\n");
    for f in failures {
        text.push_str(&format!("- {}: {}\n", f.check, f.problem));
    }
    text
}

/// The checks of one run, with their cache.
pub struct Readiness {
    command: Command,
    layout: Layout,
    bootstrap: String,
    // Not `kafka::Admin`: its requests wait up to 30 s on a blocking thread, which would
    // outlive the probe (and hold up the process's exit); this one waits `broker_timeout`.
    metadata: Arc<BaseConsumer>,
    store: Store,
    max_checkpoint_age: Option<Duration>,
    progress: Arc<Progress>,
    broker_timeout: Duration,
    cached: Mutex<Option<(Instant, Vec<Failure>)>>,
}

impl Readiness {
    /// The checks for `plan`'s `command`; `max_checkpoint_age` applies to continuous backups only
    /// (default [`default_max_checkpoint_age`]). Opens its own Kafka client and store; sends nothing yet.
    pub async fn new(
        plan: &Plan,
        command: Command,
        progress: Arc<Progress>,
        max_checkpoint_age: Option<Duration>,
    ) -> Result<Self, ReadyError> {
        let continuous = command == Command::Backup && plan.backup.mode == BackupMode::Continuous;
        Ok(Readiness {
            command,
            layout: Layout::new(&plan.backup_id),
            bootstrap: plan.kafka.bootstrap_servers.clone(),
            metadata: Arc::new(
                crate::kafka::base_config(&plan.kafka).create().map_err(|source| KafkaError::Client { source })?,
            ),
            store: Store::open(&plan.storage).await?,
            max_checkpoint_age: continuous
                .then(|| max_checkpoint_age.unwrap_or_else(|| default_max_checkpoint_age(plan))),
            progress,
            broker_timeout: BROKER_TIMEOUT,
            cached: Mutex::new(None),
        })
    }

    /// The same checks with a shorter broker timeout (tests of an unreachable broker).
    pub fn with_broker_timeout(mut self, timeout: Duration) -> Self {
        self.broker_timeout = timeout;
        self
    }

    /// Every failing check; empty when ready.
    pub async fn check(&self) -> Vec<Failure> {
        let mut failures = self.external().await;
        if let Some(limit) = self.max_checkpoint_age {
            failures.extend(stale_checkpoints(&self.progress.partitions(), now_ms(), limit));
        }
        failures
    }

    /// Broker and store, from the cache when it is fresh. Concurrent requests wait for one check.
    async fn external(&self) -> Vec<Failure> {
        let mut cached = self.cached.lock().await;
        if let Some((at, failures)) = cached.as_ref()
            && at.elapsed() < CACHE_FOR
        {
            return failures.clone();
        }
        let (broker, store) = tokio::join!(self.broker(), self.store());
        let failures: Vec<Failure> = [broker, store].into_iter().flatten().collect();
        *cached = Some((Instant::now(), failures.clone()));
        failures
    }

    async fn broker(&self) -> Option<Failure> {
        let (consumer, timeout) = (self.metadata.clone(), self.broker_timeout);
        let answer = tokio::task::spawn_blocking(move || consumer.fetch_metadata(None, timeout).map(drop))
            .await
            .expect("metadata task panicked");
        let source = answer.err()?;
        let error = KafkaError::Cluster { op: "metadata", bootstrap: self.bootstrap.clone(), source };
        Some(Failure { check: "broker", problem: format!("{error} (waited up to {timeout:?})") })
    }

    async fn store(&self) -> Option<Failure> {
        let (what, result) = match self.command {
            Command::Backup => ("write", tokio::time::timeout(STORE_TIMEOUT, self.write_probe()).await),
            // A restore only reads the backup; its credentials need not allow writes.
            Command::Restore => {
                let key = self.layout.info_key();
                ("read", tokio::time::timeout(STORE_TIMEOUT, async { self.store.get(&key).await.map(drop) }).await)
            }
        };
        let problem = match result {
            Ok(Ok(())) => return None,
            Ok(Err(e)) => format!("cannot {what} under {}{}: {e}", self.store.describe(), self.layout.root()),
            Err(_) => format!("{} did not answer a {what} within {STORE_TIMEOUT:?}", self.store.describe()),
        };
        let fix = "check storage.bucket (or base_path) exists, the credentials allow it, and the endpoint answers";
        Some(Failure { check: "store", problem: format!("{problem} ({fix})") })
    }

    /// Puts then deletes `<backup_id>/.ready/<unique>`.
    async fn write_probe(&self) -> Result<(), StoreError> {
        static PROBES: AtomicU64 = AtomicU64::new(0);
        let dir = format!("{}.ready/", self.layout.root());
        let key = format!("{dir}{}-{}-{}", std::process::id(), now_ms(), PROBES.fetch_add(1, Ordering::Relaxed));
        self.store.put(&key, Bytes::from_static(b"kbackup readiness probe\n")).await?;
        self.store.delete(&key).await?;
        self.store.prune_empty(&dir).await
    }
}

/// Partitions whose records read have waited longer than `limit` for a durable checkpoint.
/// A partition with nothing waiting (caught up and checkpointed, idle, or only just assigned and
/// not yet read) is fine however old its last checkpoint is.
pub fn stale_checkpoints(
    partitions: &[((String, i32), PartitionProgress)],
    now_ms: i64,
    limit: Duration,
) -> Vec<Failure> {
    let limit_ms = limit.as_millis() as i64;
    partitions
        .iter()
        .filter(|(_, p)| p.waiting_since_ms > 0 && now_ms - p.waiting_since_ms > limit_ms)
        .map(|((topic, partition), p)| {
            let waited = Duration::from_millis((now_ms - p.waiting_since_ms) as u64);
            let last = if p.last_checkpoint_ms > 0 {
                format!("last checkpoint {:.0?} ago", Duration::from_millis((now_ms - p.last_checkpoint_ms).max(0) as u64))
            } else {
                "no checkpoint in this run".to_string()
            };
            Failure {
                check: "checkpoint",
                problem: format!(
                    "{topic}/{partition}: {} records read have waited {waited:.0?} for a durable checkpoint ({last}; limit {limit:?}); check the store (kafka_backup_errors_total, kafka_backup_segment_upload_seconds) or raise --ready-max-checkpoint-age",
                    p.unacknowledged_records()
                ),
            }
        })
        .collect()
}

/// The checks could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadyError {
    /// The Kafka client for the broker check.
    #[error("readiness check: {0}")]
    Kafka(#[from] KafkaError),
    /// The store for the write check.
    #[error("readiness check: {0}")]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(since: i64, last: i64, unacknowledged: i64) -> PartitionProgress {
        PartitionProgress {
            uploaded_offset: unacknowledged,
            waiting_since_ms: since,
            last_checkpoint_ms: last,
            ..Default::default()
        }
    }

    #[test]
    fn only_records_waiting_past_the_limit_fail() {
        let now = 1_000_000;
        let limit = Duration::from_secs(150);
        let parts = vec![
            (("t".to_string(), 0), waiting(0, now - 3_600_000, 0)), // idle, all checkpointed an hour ago
            (("t".to_string(), 1), waiting(now - 10_000, 0, 5)),    // assigned and read 10 s ago
            (("t".to_string(), 2), waiting(now - 200_000, now - 200_000, 7)), // stuck since its last checkpoint
        ];
        let failures = stale_checkpoints(&parts, now, limit);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].check, "checkpoint");
        assert!(failures[0].problem.starts_with("t/2: 7 records"), "{}", failures[0].problem);
        assert!(failures[0].problem.contains("--ready-max-checkpoint-age"), "{}", failures[0].problem);
    }

    #[test]
    fn the_body_names_every_failure() {
        assert!(body(&[]).starts_with("ready"));
        let text = body(&[
            Failure { check: "broker", problem: "no answer".into() },
            Failure { check: "store", problem: "denied".into() },
        ]);
        assert_eq!(text, "not ready:\n- broker: no answer\n- store: denied\n");
    }
}
