//! Live counters a long run updates and a front end (progress bar, metrics) reads.

use std::sync::atomic::{AtomicU64, Ordering};

/// Records and bytes done so far, and the expected total when it is known.
#[derive(Debug, Default)]
pub struct Progress {
    records: AtomicU64,
    bytes: AtomicU64,
    expected_records: AtomicU64,
}

impl Progress {
    /// Adds work done.
    pub fn add(&self, records: u64, bytes: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds to the expected total (an estimate: offsets, not records, for backups).
    pub fn expect(&self, records: u64) {
        self.expected_records.fetch_add(records, Ordering::Relaxed);
    }

    /// Records done.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// Source bytes done.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Expected records, 0 when unknown.
    pub fn expected_records(&self) -> u64 {
        self.expected_records.load(Ordering::Relaxed)
    }
}
