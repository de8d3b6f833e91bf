//! `verify --integrity` (and restore's pre-flight check): re-reads segments and checks every
//! checksum, the index and the manifest's figures; reports holes in a partition's chain as damage
//! and redundant entries as information.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::fetch::{self, FetchError};
use crate::manifest::{Chain, Layout, Listed, ManifestEntry};
use crate::store::{Store, StoreError};

/// One problem found by the integrity check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Problem {
    /// The object (or manifest chain) concerned.
    pub key: String,
    /// What is wrong.
    pub detail: String,
}

/// A manifest entry named in a report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryRef {
    /// Object key of the entry.
    pub key: String,
    /// Object key of its segment, if it has one.
    pub segment: Option<String>,
    /// First offset it accounts for.
    pub start_offset: i64,
    /// Offset after the last one.
    pub next_offset: i64,
    /// Records in its segment.
    pub records: u64,
    /// Stored bytes of its segment.
    pub stored_bytes: u64,
}

impl From<&Listed> for EntryRef {
    fn from(listed: &Listed) -> Self {
        let segment = listed.entry.segment.as_ref();
        Self {
            key: listed.key.clone(),
            segment: segment.map(|s| s.key.clone()),
            start_offset: listed.entry.start_offset,
            next_offset: listed.entry.next_offset,
            records: segment.map_or(0, |s| s.summary.record_count),
            stored_bytes: segment.map_or(0, |s| s.summary.stored_bytes),
        }
    }
}

/// Which segments `integrity` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every entry's segment, redundant ones too (`verify --integrity`).
    Everything,
    /// Only the chain's segments: what a restore reads.
    Chain,
}

/// Result of `verify --integrity`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct IntegrityReport {
    /// Segments of the chain read.
    pub segments: u64,
    /// Records decoded in the chain (each offset once).
    pub records: u64,
    /// Bytes of the chain read.
    pub bytes: u64,
    /// Damage found; empty means the backup is intact.
    pub problems: Vec<Problem>,
    /// Segment objects no checkpoint refers to (left by an interrupted run; harmless).
    pub orphans: Vec<String>,
    /// Entries whose offsets the chain holds already (left by a writer that lost its partition;
    /// harmless, never restored; `kbackup delete --redundant --yes` removes them).
    #[serde(default)]
    pub redundant: Vec<EntryRef>,
    /// Entries left out of the chain that hold offsets next to a hole: kept for repair by hand.
    #[serde(default)]
    pub stranded: Vec<EntryRef>,
}

impl IntegrityReport {
    /// One line per problem.
    pub fn problem_lines(&self) -> String {
        self.problems.iter().map(|p| format!("  {}: {}", p.key, p.detail)).collect::<Vec<_>>().join("\n")
    }

    /// One line per redundant entry.
    pub fn redundant_lines(&self) -> String {
        let line =
            |e: &EntryRef| format!("  {}: offsets {}..{}, {} records", e.key, e.start_offset, e.next_offset, e.records);
        self.redundant.iter().map(line).collect::<Vec<_>>().join("\n")
    }
}

/// Reads the segments of `scope`, checking block CRCs, the index, the whole-object CRC and the
/// manifest's figures; a hole in a partition's chain is damage too.
pub async fn integrity(
    store: &Store,
    layout: &Layout,
    chains: &BTreeMap<(String, i32), Chain<Listed>>,
    scope: Scope,
) -> Result<IntegrityReport, StoreError> {
    let mut report = IntegrityReport::default();
    let mut referenced = BTreeSet::new();
    for ((topic, partition), chain) in chains {
        for &(from, to) in &chain.holes {
            report.problems.push(Problem {
                key: format!("{}{topic}/{partition}/", layout.manifest_prefix()),
                detail: format!(
                    "offsets {from}..{to} are in no manifest entry, so the chain of checkpoints is broken there \
                     (was an entry deleted by hand?); those records cannot be restored"
                ),
            });
        }
        report.redundant.extend(chain.redundant.iter().map(EntryRef::from));
        report.stranded.extend(chain.stranded.iter().map(EntryRef::from));
        let extra = chain.redundant.iter().chain(&chain.stranded);
        referenced.extend(
            chain.used.iter().chain(extra.clone()).filter_map(|l| l.entry.segment.as_ref()).map(|s| s.key.clone()),
        );
        for listed in &chain.used {
            if let Some((records, bytes)) = check(store, listed, None, &mut report).await? {
                report.segments += 1;
                report.records += records;
                report.bytes += bytes;
            }
        }
        if scope == Scope::Everything {
            for listed in extra {
                check(store, listed, Some("left out of the chain"), &mut report).await?;
            }
        }
    }
    for object in store.list(&layout.segments_prefix()).await? {
        if !referenced.contains(&object.key) {
            report.orphans.push(object.key);
        }
    }
    Ok(report)
}

/// Checks one entry's segment, recording damage in `report`; `role` names an entry outside the chain.
async fn check(
    store: &Store,
    listed: &Listed,
    role: Option<&str>,
    report: &mut IntegrityReport,
) -> Result<Option<(u64, u64)>, StoreError> {
    if listed.entry.segment.is_none() {
        return Ok(None);
    }
    let (key, detail) = match check_segment(store, &listed.entry).await {
        Ok(counts) => return Ok(Some(counts)),
        Err(FetchError::Store(StoreError::NotFound { key })) => (key, "segment object is missing".to_string()),
        Err(FetchError::Store(e)) => return Err(e),
        Err(FetchError::Corrupt { key, source }) => (key, source.to_string()),
    };
    let detail = match role {
        None => detail,
        Some(role) => format!("{detail} (of entry {}, {role}; it is not restored)", listed.key),
    };
    report.problems.push(Problem { key, detail });
    Ok(None)
}

async fn check_segment(store: &Store, entry: &ManifestEntry) -> Result<(u64, u64), FetchError> {
    let segment = entry.segment.as_ref().expect("caller checked");
    let mismatch = |detail: String| FetchError::Corrupt {
        key: segment.key.clone(),
        source: crate::segment::SegmentError::Corrupt { block: None, reason: detail },
    };
    let index = Arc::new(fetch::read_index(store, &segment.key, segment.summary.stored_bytes).await?);
    let mut crc = crc32c::crc32c(&index.header);
    let mut records = 0u64;
    for run in fetch::block_runs(&index.blocks) {
        let bytes = fetch::fetch_run(store, &index, run.clone()).await?;
        crc = crc32c::crc32c_append(crc, &bytes);
        let shared = index.clone();
        let decoded = tokio::task::spawn_blocking(move || fetch::decode_run(&shared, run, &bytes).map(|r| r.len()))
            .await
            .expect("decode task panicked")?;
        records += decoded as u64;
    }
    crc = crc32c::crc32c_append(crc, &index.trailer);
    if crc != segment.object_crc32c {
        return Err(mismatch(format!(
            "object checksum 0x{crc:08x} differs from the manifest's 0x{:08x}",
            segment.object_crc32c
        )));
    }
    if records != segment.summary.record_count {
        return Err(mismatch(format!("{records} records, the manifest says {}", segment.summary.record_count)));
    }
    Ok((records, index.size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Gap, chain::chain};
    use crate::store::FsStore;

    fn gap(key: &str, from: i64, to: i64) -> Listed {
        let entry = ManifestEntry {
            topic: "t".into(),
            partition: 0,
            start_offset: from,
            next_offset: to,
            segment: None,
            gap: Some(Gap { from, to }),
            written_at_ms: 0,
            tool: String::new(),
        };
        Listed { key: key.into(), entry }
    }

    #[tokio::test]
    async fn holes_are_damage_and_redundant_entries_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::from(FsStore::new(dir.path(), "pre"));
        store.put("b/segments/t/0/x.kseg", bytes::Bytes::from_static(b"left behind")).await.unwrap();
        let layout = Layout::new("b");
        let entries = vec![gap("b/m/a", 0, 10), gap("b/m/z", 5, 10), gap("b/m/y", 0, 5), gap("b/m/c", 20, 30)];
        let chains = BTreeMap::from([(("t".to_string(), 0), chain(entries))]);

        let report = integrity(&store, &layout, &chains, Scope::Everything).await.unwrap();
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert!(report.problems[0].detail.contains("offsets 10..20"), "{report:?}");
        assert_eq!(report.problems[0].key, "b/manifest/t/0/");
        let redundant: Vec<&str> = report.redundant.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(redundant, ["b/m/y", "b/m/z"]);
        assert!(report.redundant_lines().contains("b/m/z: offsets 5..10"), "{}", report.redundant_lines());
        assert_eq!(report.orphans, ["b/segments/t/0/x.kseg"]);
        assert_eq!((report.segments, report.records), (0, 0), "gaps hold no records");
    }
}
