//! Tests of the continuous phase's figures and its report section, on observations built by hand.

use super::continuous::{
    ContinuousObserved, Event, Fault, InstanceRun, InstanceTick, OwnershipChange, Tick, histogram_quantile,
};
use super::rebalance::Gap;
use super::{ExactlyOnceCheck, PhaseResult, Sample, sample_metrics};
use crate::scenario::{InstanceAction, Metric, Phase};

const START: f64 = 1_764_666_000.0;

fn own(t_secs: f64, instance: u32, partition: i32, held: bool) -> OwnershipChange {
    OwnershipChange { t_secs, instance, partition, held }
}

fn instance(id: u32, records: f64, partitions: &[i32]) -> InstanceTick {
    InstanceTick {
        instance: id,
        scraped: true,
        records_total: records,
        bytes_total: records * 1000.0,
        lag_bytes: 1_000_000.0,
        lag_records: 1000.0,
        assigned: Some(partitions.len() as f64),
        partitions: partitions.to_vec(),
        cpu_secs: records / 10_000.0,
        rss_bytes: 50_000_000 + records as u64,
    }
}

/// 2 partitions, 20 s of load: instance 1 alone, instance 2 starts at 10 s and backup stalls for
/// three intervals (10→13 s); instance 2 is killed at 16 s; checkpoints from t = 4 s.
fn observed() -> ContinuousObserved {
    let mut ticks = Vec::new();
    for t in 0..=22 {
        let t_secs = f64::from(t);
        let records = |base: f64| match t {
            0..=10 => base + t_secs * 100.0,
            11..=13 => base + 1000.0,
            _ => base + 1000.0 + (t_secs - 13.0) * 100.0,
        };
        let mut instances = vec![instance(1, records(0.0), if t < 11 { &[0, 1] } else { &[0] })];
        if (10..16).contains(&t) {
            instances.push(instance(2, records(0.0) - 1000.0, if t < 11 { &[] } else { &[1] }));
        }
        ticks.push(Tick {
            t_secs,
            producing: t <= 20,
            produced_bytes: t as u64 * 1_000_000,
            // Checkpoints every 4 s: the floor trails the wall clock by t mod 4.
            checkpoint_floor_unix: (t >= 4).then(|| START + f64::from(t - t % 4)),
            wall_unix: START + t_secs,
            instances,
        });
    }
    ContinuousObserved {
        partitions: 2,
        segment_max_age_secs: 4.0,
        load_secs: 20.0,
        load_start_unix: START,
        ticks,
        events: vec![
            Event { t_secs: 0.0, instance: 1, action: InstanceAction::Start },
            Event { t_secs: 10.0, instance: 2, action: InstanceAction::Start },
            Event { t_secs: 16.0, instance: 2, action: InstanceAction::Kill },
        ],
        instances: vec![
            InstanceRun { instance: 1, exit: "exit 0".into(), records: Some(2700), ..InstanceRun::default() },
            InstanceRun { instance: 2, exit: "killed (SIGKILL)".into(), ..InstanceRun::default() },
        ],
        faults: vec![Fault {
            t_secs: 16.0,
            instance: 2,
            orphaned: vec![1],
            watched_secs: 5.0,
            taken_over_after_secs: None,
            recovery_point_max_secs: Some(7.0),
            detail: "instance 2 killed — not survived on this broker: tansu".into(),
        }],
        checkpoint_buckets: vec![(0.01, 50.0), (0.05, 90.0), (0.1, 100.0)],
        checkpoint_count: 100.0,
        drained_after_secs: None,
        recovery: Some("stopped the 1 surviving instance(s); catch-up".into()),
        ownership: vec![
            own(-1.0, 1, 0, true),
            own(-1.0, 1, 1, true),
            own(10.2, 1, 1, false),
            own(10.7, 2, 1, true),
            own(16.0, 2, 1, false),
        ],
    }
}

#[test]
fn lag_and_recovery_point_use_steady_samples_only() {
    let c = observed();
    // Producing and before the kill at 16 s: t = 0..=15.
    let lag = c.lag_mb();
    assert_eq!(lag.len(), 16);
    assert_eq!(lag[0], 1.0, "one instance, 1 MB");
    assert_eq!(lag[12], 2.0, "two instances are summed");
    // From t = 4 (every partition checkpointed): t mod 4 seconds behind.
    let rp = c.recovery_points();
    assert_eq!(rp.len(), 12);
    assert_eq!(rp[..4], [0.0, 1.0, 2.0, 3.0]);
}

#[test]
fn recovery_point_stops_growing_once_the_load_ended() {
    let c = observed();
    let late = Tick { wall_unix: START + 30.0, checkpoint_floor_unix: Some(START + 18.0), ..Tick::default() };
    assert_eq!(super::continuous::recovery_point(&late, c.load_start_unix, c.load_secs), Some(2.0));
    let covered = Tick { wall_unix: START + 30.0, checkpoint_floor_unix: Some(START + 25.0), ..Tick::default() };
    assert_eq!(super::continuous::recovery_point(&covered, c.load_start_unix, c.load_secs), Some(0.0));
}

#[test]
fn histogram_quantiles_interpolate_like_prometheus() {
    let b = [(0.01, 50.0), (0.05, 90.0), (0.1, 100.0)];
    assert_eq!(histogram_quantile(0.5, &b, 100.0), Some(0.01));
    let p99 = histogram_quantile(0.99, &b, 100.0).unwrap();
    assert!((p99 - 0.095).abs() < 1e-12, "{p99}");
    // Above every finite bound (the +Inf bucket): the largest finite bound.
    assert_eq!(histogram_quantile(0.99, &b, 200.0), Some(0.1));
    assert_eq!(histogram_quantile(0.99, &[], 0.0), None);
    assert!((observed().checkpoint_p99_ms().unwrap() - 95.0).abs() < 1e-9);
}

#[test]
fn pauses_settling_and_stages_per_change() {
    let c = observed();
    let r = c.rebalances();
    assert_eq!(r.len(), 2, "the start at 10 s and the kill at 16 s");
    assert_eq!(r[0].pause_secs, Some(3.0), "no progress from 10 to 13 s");
    assert_eq!(r[0].settled_after_secs, Some(1.0));
    assert_eq!(r[0].owners, vec![(1, vec![0]), (2, vec![1])]);
    assert!((r[0].partition_stall_secs - 0.5).abs() < 1e-9, "partition 1 moved in 0.5 s");
    assert!(r[0].never_taken.is_empty() && r[0].doubly_held.is_empty());
    assert_eq!((r[1].partition_stall_secs, r[1].never_taken.clone()), (6.0, vec![1]), "to the last sample");
    assert!((c.graceful_stall_max().unwrap() - 0.5).abs() < 1e-9, "kills are reported on their own");
    let gaps = c.ownerless_gaps();
    assert_eq!(gaps[1], Gap { partition: 1, from_secs: 16.0, to_secs: None });
    let stages = c.stages();
    assert_eq!(
        stages.iter().map(|s| (s.from_secs, s.to_secs)).collect::<Vec<_>>(),
        [(0.0, 10.0), (10.0, 16.0), (16.0, 20.0)]
    );
    let first = &stages[0].instances[0];
    assert_eq!((first.instance, first.partitions.clone()), (1, vec![0, 1]));
    assert!((first.mb_s.unwrap() - 0.1).abs() < 1e-9, "100 records of 1000 B per second");
}

#[test]
fn steady_cost_counts_cpu_per_gb_read() {
    let (cpu_per_gb, rss) = observed().steady_cost().unwrap();
    // 0.01 CPU s per 100 records of 100 kB: 0.1 CPU s per MB = 100 per GB.
    assert!((cpu_per_gb - 100.0).abs() < 1e-6, "{cpu_per_gb}");
    assert!(rss > 50_000_000);
}

#[test]
fn samples_yield_the_continuous_metrics_and_the_counts() {
    let mut continuous = PhaseResult::new(Phase::Continuous, 2_000_000, 2000, 20.0);
    continuous.continuous = Some(Box::new(observed()));
    let mut check = PhaseResult::new(Phase::ExactlyOnce, 0, 2000, 1.0);
    check.exactly_once = Some(ExactlyOnceCheck {
        partitions: 2,
        source_records: 2000,
        restored_records: 2001,
        duplicated: 1,
        ..ExactlyOnceCheck::default()
    });
    let sample = Sample { repeat: 0, phases: vec![continuous, check], verification: Default::default() };
    let metrics = sample_metrics(&sample, 2);
    let get = |m: Metric| metrics.iter().find(|(x, _)| *x == m).map(|(_, v)| *v);
    assert_eq!(get(Metric::LagMbMax), Some(2.0));
    assert_eq!(get(Metric::RecoveryPointMaxS), Some(3.0));
    assert!((get(Metric::RebalancePauseMaxS).unwrap() - 0.5).abs() < 1e-9);
    assert_eq!((get(Metric::LostRecords), get(Metric::DuplicatedRecords)), (Some(0.0), Some(1.0)));
    assert!((get(Metric::CheckpointP99Ms).unwrap() - 95.0).abs() < 1e-9, "from the histogram");
    assert!((get(Metric::CpuSecondsPerGb).unwrap() - 100.0).abs() < 1e-6, "under steady load");
    assert_eq!(get(Metric::BackupMbS), Some(0.1));
}

#[test]
fn the_section_names_faults_changes_and_the_count() {
    let mut continuous = PhaseResult::new(Phase::Continuous, 2_000_000, 2000, 20.0);
    continuous.continuous = Some(Box::new(observed()));
    let sample = Sample { repeat: 0, phases: vec![continuous], verification: Default::default() };
    let point = super::PointResult {
        label: "default".into(),
        parameters: Vec::new(),
        samples: vec![sample],
        stats: Default::default(),
        targets: Vec::new(),
        efficiency: Default::default(),
        passed: false,
    };
    let mut text = String::new();
    let report = super::Report { points: vec![point], ..super::tests::fixture_report() };
    super::continuous_md::markdown(&mut text, &report);
    assert!(text.contains("## Continuous backup"), "{text}");
    assert!(text.contains("| 10.0 | start instance 2 | 0.50 | – | – | 3.00 |"), "{text}");
    assert!(text.contains("| 16.0 | kill instance 2 | 6.00 | [1] | – |"), "{text}");
    assert!(text.contains("❌ not survived on this broker: instance 2 killed"), "{text}");
    assert!(text.contains("- Recovery: stopped the 1 surviving instance(s)"), "{text}");
    assert!(text.contains("not checked (no `exactly-once` phase)"), "{text}");
}
