//! Which partitions a `kbackup backup --continuous` instance holds, read from its own log
//! (`-v`): `assigned by the group: ... partition=N` adds one, `revoked by the group: ...
//! partitions=[("topic", 1), ...]` removes them. The log is the instance's own account of
//! what the group coordinator gave it; the metrics only count partitions.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A change of the partitions an instance holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupChange {
    /// The group assigned this partition.
    Assigned(i32),
    /// The group revoked these partitions.
    Revoked(Vec<i32>),
}

/// Removes ANSI escape sequences (`ESC [ ... letter`), in case a log was written in colour.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of ` key=` in a tracing line, up to the next space.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    Some(rest.split(' ').next().unwrap_or(rest))
}

/// Unix seconds of an RFC 3339 UTC time as tracing writes it (`2026-12-02T09:38:35.586942Z`).
pub fn parse_utc(text: &str) -> Option<f64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':');
    let (h, min) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let sec: f64 = t.next()?.parse().ok()?;
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + min * 60) as f64 + sec)
}

/// Reads one log line: the change and, when the line starts with one, its time (Unix s).
pub fn parse_timed_line(line: &str) -> Option<(Option<f64>, GroupChange)> {
    let change = parse_group_line(line)?;
    let at = strip_ansi(line).split_whitespace().next().and_then(parse_utc);
    Some((at, change))
}

/// Reads one log line; `None` for every other line.
pub fn parse_group_line(line: &str) -> Option<GroupChange> {
    let line = strip_ansi(line);
    if line.contains("assigned by the group") {
        return field(&line, "partition")?.parse().ok().map(GroupChange::Assigned);
    }
    if line.contains("revoked by the group") {
        let start = line.find(" partitions=[")? + " partitions=[".len();
        let list = &line[start..start + line[start..].find(']')?];
        // `("t", 1), ("t", 2)`: the number before each `)`.
        let partitions =
            (list.split(')')).filter_map(|item| item.rsplit(',').next().and_then(|n| n.trim().parse().ok())).collect();
        return Some(GroupChange::Revoked(partitions));
    }
    None
}

/// The partitions one instance holds, updated from its log as lines arrive, and every change
/// with the time its log line gives.
#[derive(Clone, Debug, Default)]
pub struct Holdings(Arc<Mutex<HoldingsState>>);

#[derive(Debug, Default)]
struct HoldingsState {
    held: BTreeSet<i32>,
    history: Vec<(f64, GroupChange)>,
}

impl Holdings {
    fn state(&self) -> std::sync::MutexGuard<'_, HoldingsState> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies a log line (a line without a time is applied at the time it is read).
    pub fn apply(&self, line: &str) {
        let Some((at, change)) = parse_timed_line(line) else { return };
        let at = at.unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
        });
        let mut state = self.state();
        match &change {
            GroupChange::Assigned(p) => {
                state.held.insert(*p);
            }
            GroupChange::Revoked(ps) => ps.iter().for_each(|p| {
                state.held.remove(p);
            }),
        }
        state.history.push((at, change));
    }

    /// The partitions held now, ascending.
    pub fn now(&self) -> Vec<i32> {
        self.state().held.iter().copied().collect()
    }

    /// Every change so far with its time (Unix s), in log order.
    pub fn history(&self) -> Vec<(f64, GroupChange)> {
        self.state().history.clone()
    }

    /// Forgets what is held (the instance died: it holds nothing any more); the history stays.
    pub fn clear(&self) {
        self.state().held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSIGNED: &str = "2026-12-02T09:30:01.123456Z  INFO engine::backup::group: assigned by the group: backing \
                            it up from its last checkpoint in storage topic=\"kbh-t-1\" partition=11 start=0 \
                            stale_uploads=0";
    const REVOKED: &str = "2026-12-02T09:30:20.5Z  INFO engine::backup::group: revoked by the group: flushing and \
                           checkpointing before release partitions=[(\"kbh-t-1\", 1), (\"kbh-t-1\", 10)] lost=false";

    #[test]
    fn log_lines_move_partitions() {
        assert_eq!(parse_group_line(ASSIGNED), Some(GroupChange::Assigned(11)));
        assert_eq!(parse_group_line(REVOKED), Some(GroupChange::Revoked(vec![1, 10])));
        let coloured = "\u{1b}[32m INFO\u{1b}[0m assigned by the group: x \u{1b}[3mpartition\u{1b}[0m=4 start=0";
        assert_eq!(parse_group_line(coloured), Some(GroupChange::Assigned(4)));
        assert_eq!(
            parse_group_line("revoked by the group: partitions=[] lost=true"),
            Some(GroupChange::Revoked(vec![]))
        );
        assert_eq!(parse_group_line("INFO something else partition=3"), None);

        let held = Holdings::default();
        for p in [1, 10, 11] {
            held.apply(&ASSIGNED.replace("partition=11", &format!("partition={p}")));
        }
        held.apply(REVOKED);
        assert_eq!(held.now(), vec![11]);
        assert_eq!(held.history().len(), 4);
        let (at, change) = &held.history()[3];
        assert_eq!(change, &GroupChange::Revoked(vec![1, 10]));
        assert!((at - 1_796_203_820.5).abs() < 1e-6, "{at}");
        held.clear();
        assert!(held.now().is_empty());
    }

    #[test]
    fn utc_times_become_unix_seconds() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_utc("2000-02-29T12:34:56Z"), Some(951_827_696.0));
        assert_eq!(parse_utc("2024-12-31T23:59:59.25Z"), Some(1_735_689_599.25));
        assert_eq!(parse_utc("2024-12-31 23:59:59"), None);
    }
}
