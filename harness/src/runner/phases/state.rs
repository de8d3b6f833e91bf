//! What the phases of one repeat have measured so far, and the verdict over it: engine
//! failures, produced = backed up = restored, and the record-by-record comparison.

use crate::load::Throughput;
use crate::report::pitr::PitrRestore;
use crate::report::{ExactlyOnceCheck, Verification};
use crate::runner::engine::{Comparison, RunSummary};

/// What the phases of one repeat have measured so far.
#[derive(Debug, Default)]
pub struct RepeatState {
    /// Produce phase.
    pub produced: Option<Throughput>,
    /// How the produce phase spread the record timestamps (`workload.timestamps`).
    pub timestamps: Option<crate::load::TimestampSpread>,
    /// What the `pitr` phase restored and checked.
    pub pitr: Option<crate::report::pitr::PitrObserved>,
    /// Backup summary.
    pub backup: Option<RunSummary>,
    /// Restore summary.
    pub restore: Option<RunSummary>,
    /// Verify comparison.
    pub comparison: Option<Comparison>,
    /// The harness's own exactly-once count of the restored topic.
    pub exactly_once: Option<ExactlyOnceCheck>,
    /// Engine runs that failed; the repeat stops at the first.
    pub failures: Vec<String>,
}

impl RepeatState {
    /// Whether an engine run failed.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// The verdict over everything measured so far: engine failures, produced = backed
    /// up = restored (records and bytes), and the record-by-record comparison.
    pub fn verification(&self) -> Verification {
        let mut problems = self.failures.clone();
        let mut checks = Vec::new();
        let mut check = |name: &str, a: u64, b: u64, what: &str| {
            if a == b {
                checks.push(format!("{name} {a} {what}"));
            } else {
                problems.push(format!("{name}: {a} ≠ {b} {what}"));
            }
        };
        if let (Some(p), Some(b)) = (&self.produced, &self.backup) {
            check("produced = backed up", p.records, b.records, "records");
            check("produced = backed up", p.bytes, b.source_bytes, "bytes");
        }
        if let (Some(b), Some(r)) = (&self.backup, &self.restore) {
            check("backed up = restored", b.records, r.records, "records");
            check("backed up = restored", b.source_bytes, r.source_bytes, "bytes");
        }
        // Several instances (or a crash and a catch-up run) leave no one summary of the backup.
        if let (Some(p), None, Some(r)) = (&self.produced, &self.backup, &self.restore) {
            check("produced = restored", p.records, r.records, "records");
            check("produced = restored", p.bytes, r.source_bytes, "bytes");
        }
        if let Some(e) = &self.exactly_once {
            if e.passed() && e.source_records == e.restored_records {
                checks.push(format!(
                    "exactly once (harness's own count): {} source records each restored once, in order, {} partitions",
                    e.source_records, e.partitions
                ));
            } else {
                problems.push(format!(
                    "exactly once (harness's own count): {} lost, {} duplicated, reordered partitions {:?} ({} source \
                     vs {} restored records)",
                    e.lost, e.duplicated, e.reordered_partitions, e.source_records, e.restored_records
                ));
            }
        }
        if let Some(c) = &self.comparison {
            let live: u64 = c.partitions.iter().map(|p| p.live_records).sum();
            if c.equal {
                checks.push(format!("{live} restored records equal to the backup, {} partitions", c.partitions.len()));
            } else {
                let bad = (c.partitions.iter())
                    .filter(|p| p.first_difference.is_some() || p.backup_records != p.live_records)
                    .map(|p| format!("partition {}: {} vs {} records", p.partition, p.backup_records, p.live_records));
                problems
                    .push(format!("restored topic differs from the backup: {}", bad.collect::<Vec<_>>().join("; ")));
            }
        }
        for restore in self.pitr.iter().flat_map(|p| &p.restores) {
            match pitr_problem(restore) {
                None => checks.push(format!(
                    "pitr {}: {} selected records restored, equal in count, bytes and digest, {} partitions",
                    restore.kind.as_str(),
                    restore.check.expected_records(),
                    restore.check.partitions.len()
                )),
                Some(problem) => problems.push(format!("pitr {}: {problem}", restore.kind.as_str())),
            }
        }
        let checked = !checks.is_empty() || !problems.is_empty();
        let detail = if problems.is_empty() { checks.join("; ") } else { problems.join("; ") };
        Verification { checked, passed: checked && problems.is_empty(), detail }
    }
}

/// What is wrong with a `pitr` restore, if anything: the target differs from the selected
/// source records, or kbackup's own counts disagree with the harness's.
fn pitr_problem(r: &PitrRestore) -> Option<String> {
    let check = &r.check;
    let mut problems: Vec<String> = (check.partitions.iter())
        .filter(|p| p.mismatched > 0 || p.expected != p.restored)
        .map(|p| {
            format!(
                "partition {}: {} records, {} bytes, digest {} selected vs {} records, {} bytes, digest {} restored \
                 ({} mismatched)",
                p.partition,
                p.expected.records,
                p.expected.bytes,
                p.expected.digest,
                p.restored.records,
                p.restored.bytes,
                p.restored.digest,
                p.mismatched
            )
        })
        .collect();
    if r.engine_records != check.expected_records() {
        problems.push(format!(
            "kbackup restored {} records, the harness selects {}",
            r.engine_records,
            check.expected_records()
        ));
    }
    if r.engine_records + r.engine_records_not_selected != r.source_records {
        problems.push(format!(
            "kbackup's restored + not selected = {} + {} records, the source holds {}",
            r.engine_records, r.engine_records_not_selected, r.source_records
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::engine::PartitionComparison;
    use ::engine::verify::Difference;

    fn summary(records: u64, source_bytes: u64) -> RunSummary {
        RunSummary { records, source_bytes, stored_bytes: 1, duration_secs: 1.0, ..RunSummary::default() }
    }

    #[test]
    fn consistency_checks_decide_the_verdict() {
        let produced = Throughput { records: 10, bytes: 1000, secs: 1.0, mb_s: 0.001 };
        let mut state = RepeatState { produced: Some(produced), ..RepeatState::default() };
        assert!(!state.verification().checked, "nothing to compare yet");
        state.backup = Some(summary(10, 1000));
        state.restore = Some(summary(10, 1000));
        let v = state.verification();
        assert!(v.checked && v.passed, "{}", v.detail);

        state.restore = Some(summary(9, 900));
        let v = state.verification();
        assert!(v.checked && !v.passed);
        assert!(v.detail.contains("backed up = restored: 10 ≠ 9 records"), "{}", v.detail);

        state.restore = Some(summary(10, 1000));
        state.comparison = Some(Comparison {
            backup_topic: "t".into(),
            live_topic: "t-restored".into(),
            equal: false,
            partitions: vec![PartitionComparison {
                partition: 1,
                backup_records: 5,
                live_records: 5,
                backup_digest: "a".into(),
                live_digest: "b".into(),
                first_difference: Some(Difference {
                    index: 3,
                    backup_offset: Some(3),
                    live_offset: Some(3),
                    field: "value".into(),
                }),
            }],
        });
        let v = state.verification();
        assert!(!v.passed && v.detail.contains("partition 1"), "{}", v.detail);

        let failed = RepeatState { failures: vec!["kbackup backup failed".into()], ..RepeatState::default() };
        assert!(failed.verification().checked && !failed.verification().passed);
    }

    #[test]
    fn pitr_restores_must_match_the_harness_selection_and_kbackup_counts() {
        use crate::report::pitr::{PartitionCheck, PitrCheck, PitrKind, PitrObserved, Tally};
        let tally = |records: u64, digest: &str| Tally { records, bytes: records * 10, digest: digest.into() };
        let restore = PitrRestore {
            kind: PitrKind::Window,
            selection: "w".into(),
            target_topic: "t-pitr-window".into(),
            source_records: 100,
            engine_records: 5,
            engine_records_not_selected: 95,
            storage_bytes_read: 1,
            backup_stored_bytes: 10,
            duration_secs: 1.0,
            check: PitrCheck {
                partitions: vec![PartitionCheck {
                    partition: 0,
                    expected: tally(5, "a"),
                    restored: tally(5, "a"),
                    mismatched: 0,
                }],
            },
        };
        let state =
            |r: PitrRestore| RepeatState { pitr: Some(PitrObserved { restores: vec![r] }), ..RepeatState::default() };
        let v = state(restore.clone()).verification();
        assert!(v.checked && v.passed && v.detail.contains("pitr window: 5 selected records restored"), "{}", v.detail);

        let mut wrong = restore.clone();
        wrong.check.partitions[0].restored = tally(5, "b");
        let v = state(wrong).verification();
        assert!(!v.passed && v.detail.contains("partition 0") && v.detail.contains("digest a"), "{}", v.detail);

        let v = state(PitrRestore { engine_records_not_selected: 90, ..restore.clone() }).verification();
        assert!(!v.passed && v.detail.contains("the source holds 100"), "{}", v.detail);
        let v = state(PitrRestore { engine_records: 6, engine_records_not_selected: 94, ..restore }).verification();
        assert!(!v.passed && v.detail.contains("kbackup restored 6 records, the harness selects 5"), "{}", v.detail);
    }
}
