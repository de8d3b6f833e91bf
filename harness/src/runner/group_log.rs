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

/// The partitions one instance holds, updated from its log as lines arrive.
#[derive(Clone, Debug, Default)]
pub struct Holdings(Arc<Mutex<BTreeSet<i32>>>);

impl Holdings {
    /// Applies a log line.
    pub fn apply(&self, line: &str) {
        let Some(change) = parse_group_line(line) else { return };
        let mut held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match change {
            GroupChange::Assigned(p) => {
                held.insert(p);
            }
            GroupChange::Revoked(ps) => ps.iter().for_each(|p| {
                held.remove(p);
            }),
        }
    }

    /// The partitions held now, ascending.
    pub fn now(&self) -> Vec<i32> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().copied().collect()
    }

    /// Forgets everything (the instance died: it holds nothing any more).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
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
        held.clear();
        assert!(held.now().is_empty());
    }
}
