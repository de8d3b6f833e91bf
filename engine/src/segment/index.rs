//! The block index: one fixed-size entry per block, written after the last
//! block and located through the footer.

use super::cursor::{Cursor, truncated};
use super::format::{check_crc, check_footer_shape};
use super::{Footer, HEADER_LEN, INDEX_ENTRY_LEN, MAX_BLOCK_LEN, SegmentError};

/// The index starts with a u32 block count.
const INDEX_COUNT_LEN: usize = 4;

/// Location and checksums of one block, as stored in the block index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Offset of the block's first record.
    pub first_offset: i64,
    /// Offset of the block's last record.
    pub last_offset: i64,
    /// Smallest record timestamp in the block.
    pub min_timestamp: i64,
    /// Largest record timestamp in the block.
    pub max_timestamp: i64,
    /// Number of records in the block (never 0).
    pub record_count: u32,
    /// Byte position of the block from the start of the object.
    pub position: u64,
    /// Stored (compressed) length of the block.
    pub compressed_len: u32,
    /// Length of the block after decompression.
    pub uncompressed_len: u32,
    /// CRC-32C of the stored (compressed) bytes.
    pub crc32c: u32,
}

/// Index length implied by a block count.
pub(crate) fn index_len_for(block_count: u32) -> u64 {
    INDEX_COUNT_LEN as u64 + u64::from(block_count) * INDEX_ENTRY_LEN as u64
}

/// Serializes the block index (count, then entries).
pub(crate) fn encode_index(entries: &[IndexEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(INDEX_COUNT_LEN + entries.len() * INDEX_ENTRY_LEN);
    let count = u32::try_from(entries.len()).expect("more than u32::MAX blocks in one segment");
    out.extend_from_slice(&count.to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.first_offset.to_le_bytes());
        out.extend_from_slice(&e.last_offset.to_le_bytes());
        out.extend_from_slice(&e.min_timestamp.to_le_bytes());
        out.extend_from_slice(&e.max_timestamp.to_le_bytes());
        out.extend_from_slice(&e.record_count.to_le_bytes());
        out.extend_from_slice(&e.position.to_le_bytes());
        out.extend_from_slice(&e.compressed_len.to_le_bytes());
        out.extend_from_slice(&e.uncompressed_len.to_le_bytes());
        out.extend_from_slice(&e.crc32c.to_le_bytes());
    }
    out
}

fn read_entry(c: &mut Cursor<'_>) -> Result<IndexEntry, SegmentError> {
    Ok(IndexEntry {
        first_offset: c.i64()?,
        last_offset: c.i64()?,
        min_timestamp: c.i64()?,
        max_timestamp: c.i64()?,
        record_count: c.u32()?,
        position: c.u64()?,
        compressed_len: c.u32()?,
        uncompressed_len: c.u32()?,
        crc32c: c.u32()?,
    })
}

/// Parses and verifies the block index. `bytes` is exactly the
/// `footer.index_len` bytes at `footer.index_position`.
///
/// Checks the index CRC, that the count matches the footer, and that blocks
/// are non-empty and tile the object exactly from the end of the header to
/// the index, so that every byte of the object is covered by some checksum.
pub fn parse_index(bytes: &[u8], footer: &Footer) -> Result<Vec<IndexEntry>, SegmentError> {
    check_footer_shape(footer)?;
    let want = footer.index_len as usize;
    if bytes.len() < want {
        return Err(truncated("index", bytes, want));
    }
    if bytes.len() > want {
        let reason = format!("index is {} bytes, footer says {want}", bytes.len());
        return Err(SegmentError::corrupt(None, reason));
    }
    check_crc("index", bytes, footer.index_crc32c)?;
    let mut c = Cursor::new(bytes, "index", None);
    let count = c.u32()?;
    if count != footer.block_count {
        let reason = format!("index has {count} blocks, footer says {}", footer.block_count);
        return Err(SegmentError::corrupt(None, reason));
    }
    let mut entries = Vec::with_capacity((count as usize).min(c.remaining() / INDEX_ENTRY_LEN));
    let mut position = HEADER_LEN as u64;
    let mut records = 0u64;
    for i in 0..count as usize {
        let entry = read_entry(&mut c)?;
        check_entry(i, &entry, position)?;
        // Saturating only for robustness: a u32 index cannot hold enough
        // entries of u32 lengths to overflow a u64.
        position = position.saturating_add(u64::from(entry.compressed_len));
        records = records.saturating_add(u64::from(entry.record_count));
        entries.push(entry);
    }
    if position != footer.index_position {
        let reason = format!("blocks end at {position}, index starts at {}", footer.index_position);
        return Err(SegmentError::corrupt(None, reason));
    }
    if records != footer.record_count {
        let reason = format!("index holds {records} records, footer says {}", footer.record_count);
        return Err(SegmentError::corrupt(None, reason));
    }
    Ok(entries)
}

/// Per-entry checks; `position` is where block `i` must start.
fn check_entry(i: usize, e: &IndexEntry, position: u64) -> Result<(), SegmentError> {
    let bad = |reason: String| Err(SegmentError::corrupt(Some(i), reason));
    if e.position != position {
        return bad(format!("index says position {}, expected {position}", e.position));
    }
    if e.record_count == 0 || e.compressed_len == 0 {
        return bad("empty block in index".to_owned());
    }
    if e.uncompressed_len as usize > MAX_BLOCK_LEN {
        return bad(format!("uncompressed length {} exceeds 256 MiB", e.uncompressed_len));
    }
    if e.min_timestamp > e.max_timestamp {
        return bad("min timestamp above max timestamp".to_owned());
    }
    Ok(())
}
