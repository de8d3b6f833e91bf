//! Reads segments back from storage without holding them whole: footer and index first, then
//! runs of consecutive blocks with ranged GETs of a few MiB each.

use bytes::Bytes;

use crate::segment::{self, Codec, FOOTER_LEN, Footer, HEADER_LEN, IndexEntry, Record, SegmentError};
use crate::store::{Store, StoreError};

/// Upper bound of the data one ranged GET brings in, counted uncompressed: decoded records are
/// what occupies memory (at 8x compression an 8 MiB compressed run decodes to 64 MiB).
pub const RANGE_BYTES: u64 = 8 << 20;

/// A segment read failure naming the object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object's bytes are not a valid segment.
    #[error("segment '{key}' is corrupt: {source} (run `kbackup verify --integrity` to list every damaged object)")]
    Corrupt {
        /// Object key.
        key: String,
        /// What is wrong.
        source: SegmentError,
    },
}

/// A segment's header, index and footer, read and checked.
#[derive(Debug, Clone)]
pub struct SegmentIndex {
    /// Object key.
    pub key: String,
    /// Object size.
    pub size: u64,
    /// Raw header bytes (for whole-object checksums).
    pub header: Bytes,
    /// Raw index + footer bytes (for whole-object checksums).
    pub trailer: Bytes,
    /// Parsed footer.
    pub footer: Footer,
    /// Parsed index.
    pub blocks: Vec<IndexEntry>,
}

impl SegmentIndex {
    /// The segment's codec.
    pub fn codec(&self) -> Codec {
        self.footer.codec
    }
}

fn corrupt(key: &str) -> impl FnOnce(SegmentError) -> FetchError + '_ {
    move |source| FetchError::Corrupt { key: key.to_string(), source }
}

/// Reads and checks header, footer and index of a segment of `size` bytes.
pub async fn read_index(store: &Store, key: &str, size: u64) -> Result<SegmentIndex, FetchError> {
    let minimum = (HEADER_LEN + FOOTER_LEN) as u64;
    if size < minimum {
        return Err(corrupt(key)(SegmentError::Truncated { what: "segment", needed: minimum, available: size }));
    }
    let header = store.get_range(key, 0, HEADER_LEN as u64).await?;
    let header_codec = segment::parse_header(&header).map_err(corrupt(key))?;
    let footer_bytes = store.get_range(key, size - FOOTER_LEN as u64, FOOTER_LEN as u64).await?;
    let footer = segment::parse_footer(&footer_bytes).map_err(corrupt(key))?;
    if footer.codec != header_codec
        || footer.index_position < HEADER_LEN as u64
        || footer.index_position > size - FOOTER_LEN as u64
    {
        return Err(corrupt(key)(SegmentError::Corrupt { block: None, reason: "header and footer disagree".into() }));
    }
    let trailer = store.get_range(key, footer.index_position, size - footer.index_position).await?;
    let index_len = trailer.len() - FOOTER_LEN;
    let blocks = segment::parse_index(&trailer[..index_len], &footer).map_err(corrupt(key))?;
    Ok(SegmentIndex { key: key.to_string(), size, header, trailer, footer, blocks })
}

/// Groups consecutive blocks into ranged reads of at most [`RANGE_BYTES`] of compressed or
/// uncompressed data, whichever is larger (a larger block gets its own).
pub fn block_runs(blocks: &[IndexEntry]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, block) in blocks.iter().enumerate() {
        let size = u64::from(block.compressed_len.max(block.uncompressed_len));
        if i > start && bytes + size > RANGE_BYTES {
            runs.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < blocks.len() {
        runs.push(start..blocks.len());
    }
    runs
}

/// Fetches the raw bytes of a run of blocks with one ranged GET.
pub async fn fetch_run(store: &Store, index: &SegmentIndex, run: std::ops::Range<usize>) -> Result<Bytes, FetchError> {
    let first = &index.blocks[run.start];
    let last = &index.blocks[run.end - 1];
    let end = last.position + u64::from(last.compressed_len);
    Ok(store.get_range(&index.key, first.position, end - first.position).await?)
}

/// Fetches a run of blocks with one ranged GET and decodes it on a blocking thread, checking
/// every block's CRC.
pub async fn read_run(
    store: &Store,
    index: &std::sync::Arc<SegmentIndex>,
    run: std::ops::Range<usize>,
) -> Result<Vec<Record>, FetchError> {
    let bytes = fetch_run(store, index, run.clone()).await?;
    let shared = index.clone();
    tokio::task::spawn_blocking(move || decode_run(&shared, run, &bytes)).await.expect("decode task panicked")
}

/// Decodes the blocks of a fetched run (CPU-bound: call from a blocking thread).
pub fn decode_run(index: &SegmentIndex, run: std::ops::Range<usize>, bytes: &[u8]) -> Result<Vec<Record>, FetchError> {
    let base = index.blocks[run.start].position;
    let mut records = Vec::new();
    for i in run {
        let entry = &index.blocks[i];
        let from = (entry.position - base) as usize;
        let to = from + entry.compressed_len as usize;
        let stored = bytes.get(from..to).ok_or_else(|| {
            corrupt(&index.key)(SegmentError::Truncated {
                what: "block",
                needed: to as u64,
                available: bytes.len() as u64,
            })
        })?;
        records.extend(segment::decode_block(stored, entry, index.codec(), i).map_err(corrupt(&index.key))?);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(compressed: u32, uncompressed: u32) -> IndexEntry {
        IndexEntry {
            first_offset: 0,
            last_offset: 0,
            min_timestamp: 0,
            max_timestamp: 0,
            record_count: 1,
            position: 0,
            compressed_len: compressed,
            uncompressed_len: uncompressed,
            crc32c: 0,
        }
    }

    #[test]
    fn runs_are_bounded_by_decoded_size() {
        // 1 MiB blocks compressed 8x: eight fit in one run, not sixty-four.
        let blocks = vec![entry(128 << 10, 1 << 20); 20];
        assert_eq!(block_runs(&blocks), vec![0..8, 8..16, 16..20]);
        // A block larger than the bound gets a run of its own.
        let big = vec![entry(1 << 20, 1 << 20), entry(9 << 20, 20 << 20), entry(1 << 20, 1 << 20)];
        assert_eq!(block_runs(&big), vec![0..1, 1..2, 2..3]);
        assert!(block_runs(&[]).is_empty());
    }
}
