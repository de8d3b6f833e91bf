//! The metrics a scenario can set targets and gates on, and target expressions
//! ("< 100", ">= 3").
//!
//! Metric names are the keys of `report::derive_metrics`, so a target written in a
//! scenario file is checked against exactly the number shown in the report.

use super::plan::Phase;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A derived per-sample metric. MB is 10^6 bytes throughout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Metric {
    /// Backup throughput of the engine, payload MB/s.
    BackupMbS,
    /// Backup throughput divided by the partition count.
    BackupMbSPerPartition,
    /// Restore throughput of the whole `kbackup restore` command (start to exit), payload MB/s.
    RestoreMbS,
    /// Recovery time per GiB restored: seconds of the whole `kbackup restore` command per GiB
    /// of payload (an RTO figure).
    RestoreSecondsPerGib,
    /// 99th percentile of the time to durably commit a checkpoint, ms.
    CheckpointP99Ms,
    /// Peak resident memory of the backup process, in MB.
    PeakRssMb,
    /// Payload bytes / stored bytes of the backup.
    CompressionRatio,
    /// Backup MB/s / raw-consume MB/s: how close the engine gets to a bare consumer.
    EfficiencyBackup,
    /// Restore MB/s / raw-produce MB/s: how close the engine gets to a bare producer.
    EfficiencyRestore,
    /// Engine CPU time (user + sys) per GB backed up.
    CpuSecondsPerGb,
    /// Throughput of a bare consumer reading the same topic (the ceiling for backup).
    RawConsumeMbS,
    /// Throughput of a bare producer writing the same data (the ceiling for restore).
    RawProduceMbS,
    /// Incompressible uploads through the engine's store writer (the storage ceiling for backup).
    RawPutMbS,
    /// Backup's stored (compressed) MB/s / raw-put MB/s: how much of the storage path backup uses.
    EfficiencyStorage,
    /// Continuous backup: median over samples of the summed `kafka_backup_lag_bytes`, MB.
    LagMbP50,
    /// Continuous backup: 99th percentile of the summed lag, MB.
    LagMbP99,
    /// Continuous backup: largest summed lag, MB.
    LagMbMax,
    /// Continuous backup: median recovery point (newest produced record − oldest partition's
    /// newest durable checkpoint), s.
    RecoveryPointP50S,
    /// Continuous backup: 99th percentile of the recovery point, s.
    RecoveryPointP99S,
    /// Continuous backup: largest recovery point, s.
    RecoveryPointMaxS,
    /// Longest time a partition went without an owner after a graceful membership change
    /// (start, stop), s.
    RebalancePauseMaxS,
    /// Produced records missing from the restored topic (the harness's own count).
    LostRecords,
    /// Restored records beyond their produced count (the harness's own count).
    DuplicatedRecords,
    /// Point-in-time restore of the `pitr.window`: object bytes the whole `kbackup restore` read
    /// from storage ÷ stored bytes of the restored partitions' backup.
    PitrReadFraction,
    /// Share of the backup's records the `pitr.window` selects (records restored ÷ records of
    /// the restored partitions): what an ideal reader of the window would read.
    PitrSelectedFraction,
    /// Records of the `pitr` restores that differ from the source records the harness selects
    /// the same way: missing, extra or out of place (the harness's own count).
    PitrMismatchedRecords,
    /// Throughput of the windowed `kbackup restore` command (start to exit), payload MB/s.
    PitrRestoreMbS,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 27] = [
        Metric::BackupMbS,
        Metric::BackupMbSPerPartition,
        Metric::RestoreMbS,
        Metric::RestoreSecondsPerGib,
        Metric::CheckpointP99Ms,
        Metric::PeakRssMb,
        Metric::CompressionRatio,
        Metric::EfficiencyBackup,
        Metric::EfficiencyRestore,
        Metric::CpuSecondsPerGb,
        Metric::RawConsumeMbS,
        Metric::RawProduceMbS,
        Metric::RawPutMbS,
        Metric::EfficiencyStorage,
        Metric::LagMbP50,
        Metric::LagMbP99,
        Metric::LagMbMax,
        Metric::RecoveryPointP50S,
        Metric::RecoveryPointP99S,
        Metric::RecoveryPointMaxS,
        Metric::RebalancePauseMaxS,
        Metric::LostRecords,
        Metric::DuplicatedRecords,
        Metric::PitrReadFraction,
        Metric::PitrSelectedFraction,
        Metric::PitrMismatchedRecords,
        Metric::PitrRestoreMbS,
    ];

    /// The name used in scenario files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::BackupMbS => "backup_mb_s",
            Metric::BackupMbSPerPartition => "backup_mb_s_per_partition",
            Metric::RestoreMbS => "restore_mb_s",
            Metric::RestoreSecondsPerGib => "restore_seconds_per_gib",
            Metric::CheckpointP99Ms => "checkpoint_p99_ms",
            Metric::PeakRssMb => "peak_rss_mb",
            Metric::CompressionRatio => "compression_ratio",
            Metric::EfficiencyBackup => "efficiency_backup",
            Metric::EfficiencyRestore => "efficiency_restore",
            Metric::CpuSecondsPerGb => "cpu_seconds_per_gb",
            Metric::RawConsumeMbS => "raw_consume_mb_s",
            Metric::RawProduceMbS => "raw_produce_mb_s",
            Metric::RawPutMbS => "raw_put_mb_s",
            Metric::EfficiencyStorage => "efficiency_storage",
            Metric::LagMbP50 => "lag_mb_p50",
            Metric::LagMbP99 => "lag_mb_p99",
            Metric::LagMbMax => "lag_mb_max",
            Metric::RecoveryPointP50S => "recovery_point_p50_s",
            Metric::RecoveryPointP99S => "recovery_point_p99_s",
            Metric::RecoveryPointMaxS => "recovery_point_max_s",
            Metric::RebalancePauseMaxS => "rebalance_pause_max_s",
            Metric::LostRecords => "lost_records",
            Metric::DuplicatedRecords => "duplicated_records",
            Metric::PitrReadFraction => "pitr_read_fraction",
            Metric::PitrSelectedFraction => "pitr_selected_fraction",
            Metric::PitrMismatchedRecords => "pitr_mismatched_records",
            Metric::PitrRestoreMbS => "pitr_restore_mb_s",
        }
    }

    /// Looks a metric up by its scenario-file name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Unit shown next to values in reports.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::BackupMbS | Metric::RestoreMbS | Metric::PitrRestoreMbS => "MB/s",
            Metric::RawConsumeMbS | Metric::RawProduceMbS | Metric::RawPutMbS => "MB/s",
            Metric::BackupMbSPerPartition => "MB/s/partition",
            Metric::RestoreSecondsPerGib => "s/GiB",
            Metric::CheckpointP99Ms => "ms",
            Metric::PeakRssMb => "MB",
            Metric::CompressionRatio => "x",
            Metric::EfficiencyBackup | Metric::EfficiencyRestore | Metric::EfficiencyStorage => "ratio",
            Metric::CpuSecondsPerGb => "CPU s/GB",
            Metric::LagMbP50 | Metric::LagMbP99 | Metric::LagMbMax => "MB",
            Metric::RecoveryPointP50S | Metric::RecoveryPointP99S | Metric::RecoveryPointMaxS => "s",
            Metric::RebalancePauseMaxS => "s",
            Metric::LostRecords | Metric::DuplicatedRecords | Metric::PitrMismatchedRecords => "records",
            Metric::PitrReadFraction | Metric::PitrSelectedFraction => "ratio",
        }
    }

    /// Whether a larger value is an improvement (used to orient regression gates).
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Metric::CheckpointP99Ms
                | Metric::RestoreSecondsPerGib
                | Metric::PeakRssMb
                | Metric::CpuSecondsPerGb
                | Metric::LagMbP50
                | Metric::LagMbP99
                | Metric::LagMbMax
                | Metric::RecoveryPointP50S
                | Metric::RecoveryPointP99S
                | Metric::RecoveryPointMaxS
                | Metric::RebalancePauseMaxS
                | Metric::LostRecords
                | Metric::DuplicatedRecords
                | Metric::PitrReadFraction
                | Metric::PitrSelectedFraction
                | Metric::PitrMismatchedRecords
        )
    }

    /// Phases that must run for the metric to be measured at all; a target on a
    /// metric whose phases are missing could never be met, so planning rejects it.
    pub fn required_phases(self) -> &'static [Phase] {
        match self {
            Metric::BackupMbS
            | Metric::BackupMbSPerPartition
            | Metric::CheckpointP99Ms
            | Metric::PeakRssMb
            | Metric::CompressionRatio
            | Metric::CpuSecondsPerGb => &[Phase::Backup],
            Metric::RestoreMbS | Metric::RestoreSecondsPerGib => &[Phase::Restore],
            Metric::EfficiencyBackup => &[Phase::RawConsume, Phase::Backup],
            Metric::EfficiencyRestore => &[Phase::RawProduce, Phase::Restore],
            Metric::RawConsumeMbS => &[Phase::RawConsume],
            Metric::RawProduceMbS => &[Phase::RawProduce],
            Metric::RawPutMbS => &[Phase::RawPut],
            Metric::EfficiencyStorage => &[Phase::Backup, Phase::RawPut],
            Metric::LagMbP50
            | Metric::LagMbP99
            | Metric::LagMbMax
            | Metric::RecoveryPointP50S
            | Metric::RecoveryPointP99S
            | Metric::RecoveryPointMaxS
            | Metric::RebalancePauseMaxS => &[Phase::Continuous],
            Metric::LostRecords | Metric::DuplicatedRecords => &[Phase::ExactlyOnce],
            Metric::PitrReadFraction
            | Metric::PitrSelectedFraction
            | Metric::PitrMismatchedRecords
            | Metric::PitrRestoreMbS => &[Phase::Pitr],
        }
    }

    /// Comma-separated list of all names, for error messages.
    pub fn names() -> String {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        names.join(", ")
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The comparison in a target expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// `<`
    Lt,
    /// `<=` (or `≤`)
    Le,
    /// `>`
    Gt,
    /// `>=` (or `≥`)
    Ge,
}

impl Comparison {
    fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

/// What a target expression may look like, shown in error messages.
pub const EXPRESSION_HINT: &str = "an operator <, <=, >, >= followed by a number, e.g. \">= 100\"";

/// A resolved target: `metric op threshold`, checked against the median of the metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The metric being checked.
    pub metric: Metric,
    /// How the observed value compares to `threshold`.
    pub op: Comparison,
    /// The threshold in the metric's unit.
    pub threshold: f64,
}

impl Target {
    /// Parses an expression like "< 100", ">=3", "≤ 500" for `metric`.
    pub fn parse(metric: Metric, expression: &str) -> Result<Target, &'static str> {
        let text = expression.trim();
        let ops = [
            ("<=", Comparison::Le),
            ("≤", Comparison::Le),
            (">=", Comparison::Ge),
            ("≥", Comparison::Ge),
            ("<", Comparison::Lt),
            (">", Comparison::Gt),
        ];
        let (rest, op) =
            ops.iter().find_map(|(sym, op)| text.strip_prefix(sym).map(|rest| (rest, *op))).ok_or(EXPRESSION_HINT)?;
        let threshold: f64 = rest.trim().parse().map_err(|_| EXPRESSION_HINT)?;
        if !threshold.is_finite() {
            return Err(EXPRESSION_HINT);
        }
        Ok(Target { metric, op, threshold })
    }

    /// The normalised expression, e.g. ">= 100".
    pub fn expression(&self) -> String {
        format!("{} {}", self.op.symbol(), self.threshold)
    }

    /// Whether `observed` satisfies the target.
    pub fn is_met(&self, observed: f64) -> bool {
        match self.op {
            Comparison::Lt => observed < self.threshold,
            Comparison::Le => observed <= self.threshold,
            Comparison::Gt => observed > self.threshold,
            Comparison::Ge => observed >= self.threshold,
        }
    }
}

/// A regression gate: how far (in percent) a later run may fall behind a baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateRule {
    /// The metric compared against the baseline.
    pub metric: Metric,
    /// Allowed change in the worse direction, percent of the baseline median.
    pub tolerance_pct: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_as_str() {
        for m in Metric::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(Metric::from_name(m.as_str()), Some(m));
        }
    }

    #[test]
    fn expressions() {
        let t = Target::parse(Metric::PeakRssMb, "< 500").unwrap();
        assert_eq!((t.op, t.threshold), (Comparison::Lt, 500.0));
        assert!(t.is_met(499.9) && !t.is_met(500.0));
        let t = Target::parse(Metric::CompressionRatio, "≥3").unwrap();
        assert_eq!(t.expression(), ">= 3");
        assert!(t.is_met(3.0));
        assert!(Target::parse(Metric::PeakRssMb, "about 500").is_err());
        assert!(Target::parse(Metric::PeakRssMb, "< lots").is_err());
        assert!(Target::parse(Metric::PeakRssMb, "== 5").is_err());
    }
}
