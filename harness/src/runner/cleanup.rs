//! After every repeat, also one that failed: deletes what that repeat created — the topics of
//! the phases it started and, when it started a backup, the backup's objects (through
//! `kbackup delete`, so the harness needs no S3 client) — and nothing else. Everything it
//! deletes carries the repeat's unique name, so a shared cluster or bucket keeps its data.

use super::engine::{self, EngineJob};
use crate::scenario::Phase;
use ::engine::delete::DeleteReport;
use anyhow::{Context, Result};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// What a repeat left behind, from the phases it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Topics to delete.
    pub topics: Vec<String>,
    /// Whether a backup (objects under the backup id) may exist.
    pub backup: bool,
}

impl Leftovers {
    /// `produce` creates the source topic, `raw-produce` the scratch topic, `restore` the
    /// restored topic, `pitr` its window and offsets topics, `backup` the backup, `continuous`
    /// the source topic and the backup; the other phases only read.
    pub fn of(started: &[Phase], job: &EngineJob<'_>, scratch_topic: &str) -> Leftovers {
        let mut topics: Vec<String> = Vec::new();
        for phase in started {
            let created: Vec<String> = match phase {
                Phase::Produce | Phase::Continuous => vec![job.topic.to_owned()],
                Phase::RawProduce => vec![scratch_topic.to_owned()],
                Phase::Restore => vec![job.restored_topic.to_owned()],
                Phase::Pitr => super::phases::pitr_topics(job.topic).to_vec(),
                // probe-storage deletes its own objects.
                Phase::RawConsume | Phase::Backup | Phase::RawPut | Phase::Verify | Phase::ExactlyOnce => continue,
            };
            for topic in created {
                if !topics.contains(&topic) {
                    topics.push(topic);
                }
            }
        }
        Leftovers { topics, backup: Phase::Backup.covered_by(started) }
    }
}

/// Deletes `leftovers`; returns one line saying what went, or what could not be deleted
/// and must be removed by hand. Never fails the run: the measurements are already taken.
pub fn clean_up(runtime: &tokio::runtime::Runtime, job: &EngineJob<'_>, leftovers: &Leftovers) -> String {
    let mut parts = Vec::new();
    if !leftovers.topics.is_empty() {
        let topics: Vec<&str> = leftovers.topics.iter().map(String::as_str).collect();
        parts.push(match delete_topics(runtime, &job.services.bootstrap, &topics) {
            Ok(()) => format!("deleted topics {}", topics.join(", ")),
            Err(e) => format!("topics NOT deleted ({e:#})"),
        });
    }
    if leftovers.backup {
        parts.push(match delete_backup(job) {
            Ok(d) => {
                format!("deleted backup {} ({} objects, {:.1} MB)", job.backup_id, d.objects, d.bytes as f64 / 1e6)
            }
            Err(e) => format!("backup {} NOT deleted ({e:#})", job.backup_id),
        });
    }
    if parts.is_empty() { "nothing to delete".to_owned() } else { parts.join("; ") }
}

fn delete_backup(job: &EngineJob<'_>) -> Result<DeleteReport> {
    let config = engine::write_config(job)?;
    let run = engine::run_kbackup(job, &config, "delete", &["delete", "--backup-id", job.backup_id, "--yes"])?;
    anyhow::ensure!(run.code == Some(0), "kbackup delete failed ({}); log {}", run.exit(), run.log.display());
    run.parse("delete")
}

/// Deletes `topics`; a topic that does not exist (its phase failed before creating it) is
/// not an error.
fn delete_topics(runtime: &tokio::runtime::Runtime, bootstrap: &str, topics: &[&str]) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().context("creating an admin client")?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = runtime.block_on(admin.delete_topics(topics, &options)).context("deleting topics")?;
    let failed: Vec<String> = (results.into_iter())
        .filter_map(Result::err)
        .filter(|(_, code)| *code != RDKafkaErrorCode::UnknownTopicOrPartition)
        .map(|(topic, code)| format!("{topic}: {code}"))
        .collect();
    anyhow::ensure!(failed.is_empty(), "{}", failed.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Services;
    use std::path::Path;

    #[test]
    fn only_what_the_started_phases_created() {
        let services = Services::placeholder();
        let job = EngineJob {
            kbackup: Path::new("kbackup"),
            services: &services,
            backup_id: "t",
            topic: "t",
            restored_topic: "t-restored",
            prefix: "kbh",
            overrides: &[],
            run_dir: Path::new("/nonexistent"),
        };
        let all = Phase::ALL;
        let left = Leftovers::of(&all, &job, "t-rawp");
        assert_eq!(left.topics, ["t", "t-rawp", "t-restored", "t-pitr-window", "t-pitr-offsets"]);
        assert!(left.backup);
        // A repeat that failed while producing never got to back up or restore.
        let left = Leftovers::of(&all[..1], &job, "t-rawp");
        assert_eq!(left, Leftovers { topics: vec!["t".into()], backup: false });
        assert_eq!(Leftovers::of(&[], &job, "t-rawp"), Leftovers::default());
    }
}
