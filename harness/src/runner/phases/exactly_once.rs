//! `exactly-once`: the harness's own check that every produced record was restored exactly
//! once — its consumer reads the source and the restored topic (no kbackup involved), and per
//! partition compares the records' hashes as multisets (lost: fewer copies restored than
//! produced; duplicated: more) and, when they match, as sequences (same order).

use super::{Measured, PhaseRunner, RepeatContext, RepeatState};
use crate::load::digest;
use crate::report::{ExactlyOnceCheck, PhaseResult};
use crate::scenario::Phase;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::time::Instant;

/// The `exactly-once` phase.
pub(super) struct ExactlyOnceRunner;

impl PhaseRunner for ExactlyOnceRunner {
    fn measure(&self, ctx: &RepeatContext<'_>, state: &mut RepeatState) -> Result<Measured> {
        let job = &ctx.job;
        let wait = if job.services.tansu { 10 } else { 100 };
        let partitions = ctx.partitions()?;
        let started = Instant::now();
        let read = |topic: &str| {
            digest::read_hashes(&job.services.bootstrap, topic, partitions, wait)
                .with_context(|| format!("reading '{topic}' for the exactly-once check"))
        };
        let source = read(job.topic)?;
        let restored = read(job.restored_topic)?;
        let check = compare(&source, &restored);
        let bytes = state.restore.as_ref().map_or(0, |r| r.source_bytes);
        let result =
            PhaseResult::new(Phase::ExactlyOnce, bytes, check.restored_records, started.elapsed().as_secs_f64());
        let note = format!(" ({} lost, {} duplicated)", check.lost, check.duplicated);
        state.exactly_once = Some(check.clone());
        let mut result = result;
        result.exactly_once = Some(check);
        Ok(Measured::new(result, note))
    }
}

/// Compares the restored partitions with the source ones, partition by partition.
pub fn compare(source: &[Vec<u64>], restored: &[Vec<u64>]) -> ExactlyOnceCheck {
    let mut check = ExactlyOnceCheck {
        partitions: u32::try_from(source.len().max(restored.len())).unwrap_or(u32::MAX),
        ..ExactlyOnceCheck::default()
    };
    let empty = Vec::new();
    for p in 0..source.len().max(restored.len()) {
        let (src, rst) = (source.get(p).unwrap_or(&empty), restored.get(p).unwrap_or(&empty));
        check.source_records += src.len() as u64;
        check.restored_records += rst.len() as u64;
        let mut balance: HashMap<u64, i64> = HashMap::with_capacity(src.len());
        for h in src {
            *balance.entry(*h).or_default() += 1;
        }
        for h in rst {
            *balance.entry(*h).or_default() -= 1;
        }
        let lost: i64 = balance.values().filter(|b| **b > 0).sum();
        let duplicated: i64 = balance.values().filter(|b| **b < 0).map(|b| -b).sum();
        check.lost += lost.unsigned_abs();
        check.duplicated += duplicated.unsigned_abs();
        if lost == 0 && duplicated == 0 && src != rst {
            check.reordered_partitions.push(i32::try_from(p).unwrap_or(i32::MAX));
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lost_duplicated_and_reordered() {
        let ok = compare(&[vec![1, 2, 3], vec![4]], &[vec![1, 2, 3], vec![4]]);
        assert!(ok.passed() && ok.source_records == 4 && ok.restored_records == 4, "{ok:?}");

        // Partition 0 lost record 2 and holds record 3 twice; partition 1 is reordered.
        let bad = compare(&[vec![1, 2, 3], vec![4, 5]], &[vec![1, 3, 3], vec![5, 4]]);
        assert_eq!((bad.lost, bad.duplicated, bad.reordered_partitions.clone()), (1, 1, vec![1]));
        assert!(!bad.passed());

        // A restored topic with a partition missing loses all of it.
        let missing = compare(&[vec![1], vec![2, 3]], &[vec![1]]);
        assert_eq!((missing.lost, missing.duplicated, missing.partitions), (2, 0, 2));
    }
}
