//! Human-readable rendering of a resolved plan, printed by `harness scenario --dry-run`
//! so a user can check what a scenario will do before spending minutes running it.

use super::plan::{EngineOverride, PlanPoint, ScenarioPlan, Workload};
use super::units::format_secs;
use std::fmt;

fn join<T: ToString>(items: &[T], sep: &str) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(sep)
}

fn workload_line(w: &Workload) -> String {
    let rate = w.rate.map_or_else(|| "unthrottled".to_owned(), |r| format!("at {r}"));
    format!(
        "{} partition(s), {} {} messages, keys {}, {} header(s), {} {rate}, seed {}",
        w.partitions, w.message_size, w.payload, w.keys, w.headers, w.volume, w.seed
    )
}

fn engine_line(engine: &[EngineOverride]) -> String {
    if engine.is_empty() {
        return "engine defaults".to_owned();
    }
    let parts: Vec<String> = engine.iter().map(|o| format!("{}={}", o.key, o.value)).collect();
    parts.join(", ")
}

fn write_point(f: &mut fmt::Formatter<'_>, point: &PlanPoint, total: usize) -> fmt::Result {
    writeln!(f, "point {}/{total}: {}", point.index + 1, point.label)?;
    writeln!(f, "  workload: {}", workload_line(&point.workload))?;
    if let Some(secs) = point.workload.expected_secs() {
        writeln!(f, "  expected load time: {}", format_secs(secs))?;
    }
    if let Some(timestamps) = &point.workload.timestamps {
        writeln!(f, "  timestamps: {timestamps}")?;
    }
    writeln!(f, "  engine:   {}", engine_line(&point.engine))?;
    if let Some(network) = &point.network {
        writeln!(f, "  network:  {network}")?;
    }
    let targets: Vec<String> = (point.targets.iter()).map(|t| format!("{} {}", t.metric, t.expression())).collect();
    let targets = if targets.is_empty() { "none".to_owned() } else { targets.join("; ") };
    writeln!(f, "  targets:  {targets}")
}

impl fmt::Display for ScenarioPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scenario: {} (profile: {}, from {})", self.name, self.profile, self.origin)?;
        writeln!(f, "  {}", self.description.replace('\n', "\n  "))?;
        writeln!(f, "repeat: {}", self.repeat)?;
        writeln!(f, "phases: {}", join(&self.phases, " -> "))?;
        for axis in &self.matrix {
            writeln!(f, "matrix: {} = [{}]", axis.key, join(&axis.values, ", "))?;
        }
        if let Some(pitr) = &self.pitr {
            writeln!(f, "pitr: {}", pitr.describe())?;
        }
        let runs = self.points.len() * self.repeat as usize;
        writeln!(f, "points: {} ({runs} runs in total)", self.points.len())?;
        for rule in &self.gate {
            writeln!(f, "gate: {} may get worse by at most {}%", rule.metric, rule.tolerance_pct)?;
        }
        for point in &self.points {
            writeln!(f)?;
            write_point(f, point, self.points.len())?;
        }
        if !self.warnings.is_empty() {
            writeln!(f)?;
            writeln!(f, "warnings:")?;
            for warning in &self.warnings {
                writeln!(f, "  - {warning}")?;
            }
        }
        Ok(())
    }
}
