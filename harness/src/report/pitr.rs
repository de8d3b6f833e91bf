//! What the `pitr` phase observed — per restore (time window, offset ranges) what was selected,
//! what kbackup read and restored, and the harness's own record-for-record check — and its
//! section of `report.md`.

use super::format::num;
use super::model::Report;
use crate::scenario::Phase;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Which selection a restore made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PitrKind {
    /// `restore.time_window` from `pitr.window`.
    Window,
    /// `restore.offsets` from `pitr.offsets`.
    Offsets,
}

impl PitrKind {
    /// The name in reports and target topic names.
    pub fn as_str(self) -> &'static str {
        match self {
            PitrKind::Window => "window",
            PitrKind::Offsets => "offsets",
        }
    }
}

/// The `pitr` phase: one entry per restore it ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PitrObserved {
    /// The restores, window first.
    pub restores: Vec<PitrRestore>,
}

impl PitrObserved {
    /// The restore of `kind`, if it ran.
    pub fn restore(&self, kind: PitrKind) -> Option<&PitrRestore> {
        self.restores.iter().find(|r| r.kind == kind)
    }

    /// Mismatched records over every restore.
    pub fn mismatched_records(&self) -> u64 {
        self.restores.iter().map(|r| r.check.mismatched_records()).sum()
    }
}

/// One `kbackup restore` of a selection and its check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PitrRestore {
    /// Window or offset ranges.
    pub kind: PitrKind,
    /// The selection as written into kbackup's config, in words.
    pub selection: String,
    /// The topic restored into.
    pub target_topic: String,
    /// Records of the restored source partitions (the harness's own read of the source).
    pub source_records: u64,
    /// kbackup's summary: records restored.
    pub engine_records: u64,
    /// kbackup's summary: records of the backup outside the selection.
    pub engine_records_not_selected: u64,
    /// kbackup's summary: object bytes the whole restore read from storage.
    pub storage_bytes_read: u64,
    /// kbackup's summary: stored bytes of the restored partitions' chains.
    pub backup_stored_bytes: u64,
    /// Wall-clock seconds of the `kbackup restore` process.
    pub duration_secs: f64,
    /// The harness's check of the target topic against the selected source records.
    pub check: PitrCheck,
}

impl PitrRestore {
    /// `storage_bytes_read / backup_stored_bytes` (`None` when nothing was stored).
    pub fn read_fraction(&self) -> Option<f64> {
        (self.backup_stored_bytes > 0).then(|| self.storage_bytes_read as f64 / self.backup_stored_bytes as f64)
    }

    /// Selected records ÷ source records (`None` for an empty source).
    pub fn selected_fraction(&self) -> Option<f64> {
        (self.source_records > 0).then(|| self.check.expected_records() as f64 / self.source_records as f64)
    }

    /// Restored payload MB/s over the whole command.
    pub fn mb_s(&self) -> f64 {
        if self.duration_secs > 0.0 { self.check.restored_bytes() as f64 / 1e6 / self.duration_secs } else { 0.0 }
    }
}

/// The harness's own comparison of a restored topic with the source records it selected.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PitrCheck {
    /// One entry per source partition, in partition order.
    pub partitions: Vec<PartitionCheck>,
}

impl PitrCheck {
    /// Selected source records.
    pub fn expected_records(&self) -> u64 {
        self.partitions.iter().map(|p| p.expected.records).sum()
    }

    /// Records read from the target topic.
    pub fn restored_records(&self) -> u64 {
        self.partitions.iter().map(|p| p.restored.records).sum()
    }

    /// Payload bytes read from the target topic.
    pub fn restored_bytes(&self) -> u64 {
        self.partitions.iter().map(|p| p.restored.bytes).sum()
    }

    /// Records missing, extra or out of place, over every partition.
    pub fn mismatched_records(&self) -> u64 {
        self.partitions.iter().map(|p| p.mismatched).sum()
    }

    /// Every partition holds exactly the selected records, in order.
    pub fn passed(&self) -> bool {
        self.partitions.iter().all(|p| p.mismatched == 0 && p.expected == p.restored)
    }
}

/// Count, payload bytes and order-sensitive digest of a sequence of records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Records.
    pub records: u64,
    /// Key + value + header bytes.
    pub bytes: u64,
    /// Chained 64-bit hash of every record (timestamp, key, value, headers), hex.
    pub digest: String,
}

/// One partition: the selected source records against the target partition's records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartitionCheck {
    /// Partition (the same number in source and target).
    pub partition: i32,
    /// The source records the selection takes.
    pub expected: Tally,
    /// What the target partition holds.
    pub restored: Tally,
    /// Selected records missing from the target, extra target records and, when the two are
    /// the same multiset, records at another position.
    pub mismatched: u64,
}

/// The `## Point-in-time restore` section: first repeat of every point that ran the phase.
pub(super) fn markdown(out: &mut String, report: &Report) {
    let rows: Vec<(&str, &PitrRestore)> = (report.points.iter())
        .filter_map(|p| p.samples.first().map(|s| (p.label.as_str(), s)))
        .filter_map(|(label, s)| s.phase(Phase::Pitr).and_then(|p| p.pitr.as_ref()).map(|o| (label, o)))
        .flat_map(|(label, o)| o.restores.iter().map(move |r| (label, r)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Point-in-time restore\n");
    let _ = writeln!(
        out,
        "First repeat per point. Selected: source records the harness's own consumer selects; read: object bytes \
         `kbackup restore` read from storage ÷ the stored bytes of the restored partitions.\n"
    );
    let _ = writeln!(
        out,
        "| Point | Restore | Selection | Selected / source records | Not selected (kbackup) | Restored | Read | Read fraction | MB/s | Mismatched |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (label, r) in rows {
        let check = &r.check;
        let read = r.read_fraction().map_or_else(|| "–".to_owned(), |f| format!("{:.2}%", f * 100.0));
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} / {} | {} | {} | {:.1} MB of {:.1} MB | {read} | {} | {} |",
            r.kind.as_str(),
            r.selection,
            check.expected_records(),
            r.source_records,
            r.engine_records_not_selected,
            check.restored_records(),
            r.storage_bytes_read as f64 / 1e6,
            r.backup_stored_bytes as f64 / 1e6,
            num(r.mb_s()),
            check.mismatched_records(),
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(records: u64, digest: &str) -> Tally {
        Tally { records, bytes: records * 10, digest: digest.into() }
    }

    #[test]
    fn fractions_and_verdicts() {
        let good = PartitionCheck { partition: 0, expected: tally(10, "a"), restored: tally(10, "a"), mismatched: 0 };
        let restore = PitrRestore {
            kind: PitrKind::Window,
            selection: "w".into(),
            target_topic: "t".into(),
            source_records: 1000,
            engine_records: 10,
            engine_records_not_selected: 990,
            storage_bytes_read: 30,
            backup_stored_bytes: 1000,
            duration_secs: 0.5,
            check: PitrCheck { partitions: vec![good.clone()] },
        };
        assert_eq!(restore.read_fraction(), Some(0.03));
        assert_eq!(restore.selected_fraction(), Some(0.01));
        assert!((restore.mb_s() - 100.0 / 1e6 / 0.5).abs() < 1e-12);
        assert!(restore.check.passed());
        let other_digest = PartitionCheck { restored: tally(10, "b"), ..good.clone() };
        assert!(!PitrCheck { partitions: vec![other_digest] }.passed(), "same count, other records");
        let missing = PartitionCheck { restored: tally(9, "c"), mismatched: 1, ..good };
        let observed = PitrObserved {
            restores: vec![restore.clone(), PitrRestore { check: PitrCheck { partitions: vec![missing] }, ..restore }],
        };
        assert_eq!(observed.mismatched_records(), 1);
        assert!(observed.restore(PitrKind::Offsets).is_none());
    }

    #[test]
    fn metrics_come_from_the_windowed_restore_and_mismatches_from_all() {
        use crate::report::{PhaseResult, Sample, Verification, derive_metrics};
        use crate::scenario::Metric;
        let part = |records, mismatched| PartitionCheck {
            partition: 0,
            expected: tally(records, "a"),
            restored: tally(records, if mismatched == 0 { "a" } else { "b" }),
            mismatched,
        };
        let window = PitrRestore {
            kind: PitrKind::Window,
            selection: "w".into(),
            target_topic: "t-pitr-window".into(),
            source_records: 2000,
            engine_records: 20,
            engine_records_not_selected: 1980,
            storage_bytes_read: 150,
            backup_stored_bytes: 10_000,
            duration_secs: 2.0,
            check: PitrCheck { partitions: vec![part(20, 0)] },
        };
        let offsets = PitrRestore {
            kind: PitrKind::Offsets,
            storage_bytes_read: 9_000,
            duration_secs: 1.0,
            check: PitrCheck { partitions: vec![part(500, 3)] },
            ..window.clone()
        };
        let mut phase = PhaseResult::new(Phase::Pitr, 5200, 520, 3.0);
        phase.pitr = Some(PitrObserved { restores: vec![window, offsets] });
        let sample = Sample { repeat: 0, phases: vec![phase], verification: Verification::default() };
        let metrics = derive_metrics(&[sample], 1);
        let get = |m: Metric| metrics.get(m.as_str()).map(|v| v[0]);
        assert_eq!(get(Metric::PitrReadFraction), Some(0.015), "the window's, not the offsets restore's");
        assert_eq!(get(Metric::PitrSelectedFraction), Some(0.01));
        assert_eq!(get(Metric::PitrMismatchedRecords), Some(3.0));
        // 20 records of 10 bytes in 2 s.
        assert_eq!(get(Metric::PitrRestoreMbS), Some(200.0 / 1e6 / 2.0));
        assert_eq!(metrics.len(), 4);
    }
}
