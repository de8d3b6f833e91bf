//! The "Continuous backup" section of `report.md`: per sample of a `continuous` phase, lag and
//! recovery point, checkpoint latency, cost under steady load, every membership change with how
//! long backup paused, partitions and MB/s per instance, faults with what was done about them,
//! and the harness's own exactly-once count. Pure: rendered from the report alone.

use super::continuous::{ContinuousObserved, p50_p99_max};
use super::format::opt_num;
use super::{ExactlyOnceCheck, Report, Sample};
use crate::scenario::{InstanceAction, Phase};
use std::fmt::Write;

const DEFINITIONS: &str = "Lag: the sum over partitions of `kafka_backup_lag_bytes` in one sample. Recovery point: \
    the newest produced record's time (now, while the load runs) minus the oldest of the partitions' newest durable \
    checkpoints (`kafka_backup_last_checkpoint_timestamp_seconds`, the moment each became durable), ≥ 0 — it \
    under-states the data at risk by the read and upload time of a segment. Both over the samples taken while the \
    load ran and before any kill; the recovery point once every partition had a checkpoint. Checkpoint latency: \
    `histogram_quantile` over the merged `kafka_backup_checkpoint_latency_seconds` of every instance's last \
    scrape. Steady load: from the first sample with a checkpoint on every partition to the last before the load \
    ended or a kill. A partition without owner: from the log line of the instance that released it (or the \
    kill) to the log line of the instance that was assigned it, per change for the partitions released after it \
    (one never taken over counts to the last sample). The whole backup paused: the longest run of sample \
    intervals without any instance's `records_total` growing while the load ran, from a change to the next (to \
    one sample interval).";

/// Writes the section when a sample has a continuous phase.
pub(super) fn markdown(out: &mut String, report: &Report) {
    let samples: Vec<(&str, &Sample, &ContinuousObserved)> = (report.points.iter())
        .flat_map(|p| p.samples.iter().map(move |s| (p.label.as_str(), s)))
        .filter_map(|(label, s)| {
            let observed = s.phase(Phase::Continuous)?.continuous.as_deref()?;
            Some((label, s, observed))
        })
        .collect();
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Continuous backup\n\n{DEFINITIONS}\n");
    for (label, sample, c) in samples {
        let _ = writeln!(out, "### {label}, repeat {}\n", sample.repeat + 1);
        figures(out, c);
        changes(out, c);
        stages(out, c);
        faults(out, c);
        let check = sample.phase(Phase::ExactlyOnce).and_then(|p| p.exactly_once.as_ref());
        exactly_once(out, check);
    }
}

fn figures(out: &mut String, c: &ContinuousObserved) {
    let (l50, l99, lmax) = p50_p99_max(&c.lag_mb());
    let rps = c.recovery_points();
    let (r50, r99, rmax) = p50_p99_max(&rps);
    let _ = writeln!(out, "| Per sample | p50 | p99 | max | samples |\n|---|---:|---:|---:|---:|");
    let _ =
        writeln!(out, "| Lag, MB | {} | {} | {} | {} |", opt_num(l50), opt_num(l99), opt_num(lmax), c.lag_mb().len());
    let _ = writeln!(
        out,
        "| Recovery point, s | {} | {} | {} | {} |\n",
        opt_num(r50),
        opt_num(r99),
        opt_num(rmax),
        rps.len()
    );
    let produced = c.ticks.iter().filter(|t| t.producing).map(|t| t.produced_bytes).max().unwrap_or(0);
    let rate = if c.load_secs > 0.0 { produced as f64 / 1e6 / c.load_secs } else { 0.0 };
    let _ = writeln!(
        out,
        "- Load: {:.1} s, {:.1} MB produced ({:.2} MB/s); `backup.segment_max_age` {} s; {} partitions",
        c.load_secs,
        produced as f64 / 1e6,
        rate,
        c.segment_max_age_secs,
        c.partitions
    );
    let _ = writeln!(
        out,
        "- Checkpoint latency p99 (histogram, {} checkpoints): {} ms",
        c.checkpoint_count,
        opt_num(c.checkpoint_p99_ms())
    );
    let steady = c.steady_cost();
    let _ = writeln!(
        out,
        "- Under steady load: {} CPU-s per GB read, peak RSS {} MB (largest instance)",
        opt_num(steady.map(|s| s.0)),
        opt_num(steady.map(|s| s.1 as f64 / 1e6))
    );
    let drained = match (c.drained_after_secs, c.faults.iter().any(|f| !f.survived())) {
        (Some(s), _) => {
            format!("{s:.1} s after the load (and any kill watch) ended every partition was read to its end")
        }
        (None, true) => "not waited for: after a fault the group did not survive, the survivors were stopped when \
                         the load ended (see Faults)"
            .to_owned(),
        (None, false) => "❌ not every partition was read to its end within the drain timeout".to_owned(),
    };
    let _ = writeln!(out, "- Drain: {drained}");
    for i in &c.instances {
        let records = i.records.map_or_else(|| "no summary".to_owned(), |r| format!("{r} records in its summary"));
        let _ = writeln!(
            out,
            "- Instance {}: {}; peak RSS {:.0} MB, CPU {:.1} s; {records}; log `{}`",
            i.instance,
            i.exit,
            i.peak_rss_bytes as f64 / 1e6,
            i.cpu_secs,
            i.log
        );
    }
    out.push('\n');
}

fn partitions(list: &[(u32, Vec<i32>)]) -> String {
    let parts: Vec<String> = list.iter().map(|(i, ps)| format!("#{i}: {} {:?}", ps.len(), ps)).collect();
    if parts.is_empty() { "–".to_owned() } else { parts.join("; ") }
}

fn changes(out: &mut String, c: &ContinuousObserved) {
    let rebalances = c.rebalances();
    if rebalances.is_empty() {
        return;
    }
    let _ = writeln!(out, "Membership changes:\n");
    let _ = writeln!(
        out,
        "| t, s | change | longest partition without owner, s | never taken over | held by two at once | whole \
         backup paused, s | ownership settled after, s | partitions afterwards |"
    );
    let _ = writeln!(out, "|---:|---|---:|---|---|---:|---:|---|");
    for r in rebalances {
        let change = format!("{} instance {}", r.event.action, r.event.instance);
        let settled = r.settled_after_secs.map_or_else(|| "no change seen".to_owned(), |s| format!("{s:.1}"));
        let list = |ps: &[i32]| if ps.is_empty() { "–".to_owned() } else { format!("{ps:?}") };
        let (never, double) = (list(&r.never_taken), list(&r.doubly_held));
        let _ = writeln!(
            out,
            "| {:.1} | {change} | {:.2} | {never} | {double} | {} | {settled} | {} |",
            r.event.t_secs,
            r.partition_stall_secs,
            opt_num(r.pause_secs),
            partitions(&r.owners)
        );
    }
    out.push('\n');
}

fn stages(out: &mut String, c: &ContinuousObserved) {
    let _ = writeln!(out, "Partitions and read throughput per instance, per stage of the load:\n");
    let _ = writeln!(out, "| stage, s | instance | partitions at the end | MB/s |\n|---|---:|---|---:|");
    for stage in c.stages() {
        for i in &stage.instances {
            let _ = writeln!(
                out,
                "| {:.1}–{:.1} | {} | {} {:?} | {} |",
                stage.from_secs,
                stage.to_secs,
                i.instance,
                i.partitions.len(),
                i.partitions,
                opt_num(i.mb_s)
            );
        }
    }
    out.push('\n');
}

fn faults(out: &mut String, c: &ContinuousObserved) {
    if c.faults.is_empty() && !c.events.iter().any(|e| e.action == InstanceAction::Kill) {
        return;
    }
    let _ = writeln!(out, "Faults:\n");
    for f in &c.faults {
        let verdict = if f.survived() { "✅ survived" } else { "❌ not survived on this broker" };
        let _ = writeln!(
            out,
            "- {verdict}: {} (largest recovery point while watched: {} s)",
            f.detail,
            opt_num(f.recovery_point_max_secs)
        );
    }
    if let Some(recovery) = &c.recovery {
        let _ = writeln!(out, "- Recovery: {recovery}");
    }
    out.push('\n');
}

fn exactly_once(out: &mut String, check: Option<&ExactlyOnceCheck>) {
    let Some(c) = check else {
        let _ = writeln!(out, "Exactly once (harness's own count): not checked (no `exactly-once` phase).\n");
        return;
    };
    let verdict = if c.passed() && c.source_records == c.restored_records { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "Exactly once (harness's own count, {} partitions): {verdict} {} source records, {} restored, {} lost, {} \
         duplicated, reordered partitions {:?}.\n",
        c.partitions, c.source_records, c.restored_records, c.lost, c.duplicated, c.reordered_partitions
    );
}
