//! Reading side: verifying, decompressing and decoding one block (the unit of
//! a ranged read) and [`SegmentReader`] over a whole in-memory object.
//!
//! Nothing here trusts a length from the object: every slice is bounds
//! checked, arithmetic is checked, and allocations are capped by the bytes
//! actually present (or by [`MAX_BLOCK_LEN`] for decompression output).

use std::borrow::Cow;

use super::cursor::{Cursor, truncated};
use super::record::{MIN_RECORD_LEN, decode_record};
use super::writer::summarize;
use super::{
    Codec, FOOTER_LEN, Footer, HEADER_LEN, IndexEntry, MAX_BLOCK_LEN, Record, SegmentError, SegmentSummary,
    parse_footer, parse_header, parse_index,
};

/// Verifies, decompresses and decodes block number `block_no`.
///
/// `stored` is exactly the `entry.compressed_len` bytes at `entry.position`.
/// Checks the block CRC-32C, decompresses into at most `entry.uncompressed_len`
/// bytes (rejecting more than [`MAX_BLOCK_LEN`]), decodes every record, and
/// checks the record count, first/last offsets and timestamp range against
/// `entry`.
pub fn decode_block(
    stored: &[u8],
    entry: &IndexEntry,
    codec: Codec,
    block_no: usize,
) -> Result<Vec<Record>, SegmentError> {
    let want = entry.compressed_len as usize;
    if stored.len() < want {
        return Err(truncated("block", stored, want));
    }
    if stored.len() > want {
        let reason = format!("{} bytes given, index says {want}", stored.len());
        return Err(SegmentError::corrupt(Some(block_no), reason));
    }
    let actual = crc32c::crc32c(stored);
    if actual != entry.crc32c {
        return Err(SegmentError::ChecksumMismatch {
            what: "block",
            block: Some(block_no),
            expected: entry.crc32c,
            actual,
        });
    }
    let data = decompress(stored, entry.uncompressed_len, codec, block_no)?;
    let records = decode_records(&data, entry.record_count, block_no)?;
    check_against_entry(&records, entry, block_no)?;
    Ok(records)
}

/// Decompresses into exactly `uncompressed_len` bytes; the codecs are given
/// that as their output capacity so a bogus frame cannot inflate further.
fn decompress(stored: &[u8], uncompressed_len: u32, codec: Codec, block: usize) -> Result<Cow<'_, [u8]>, SegmentError> {
    let want = uncompressed_len as usize;
    if want > MAX_BLOCK_LEN {
        let reason = format!("uncompressed length {want} exceeds 256 MiB");
        return Err(SegmentError::corrupt(Some(block), reason));
    }
    let failed = |reason: String| SegmentError::Decompress { block, reason };
    let data = match codec {
        Codec::None => Cow::Borrowed(stored),
        Codec::Zstd => {
            zstd::bulk::decompress(stored, want).map(Cow::Owned).map_err(|e| failed(format!("zstd: {e}")))?
        }
        Codec::Lz4 => {
            lz4_flex::block::decompress(stored, want).map(Cow::Owned).map_err(|e| failed(format!("lz4: {e}")))?
        }
    };
    if data.len() != want {
        return Err(failed(format!("got {} bytes, index says {want}", data.len())));
    }
    Ok(data)
}

/// Decodes exactly `count` records that must use up all of `data`.
fn decode_records(data: &[u8], count: u32, block: usize) -> Result<Vec<Record>, SegmentError> {
    let mut c = Cursor::new(data, "record data", Some(block));
    let count = count as usize;
    let mut records = Vec::with_capacity(count.min(data.len() / MIN_RECORD_LEN));
    for _ in 0..count {
        records.push(decode_record(&mut c)?);
    }
    if c.remaining() != 0 {
        let reason = format!("{} bytes left after {count} records", c.remaining());
        return Err(c.error(reason));
    }
    Ok(records)
}

/// The index is CRC-protected, but a writer bug or a hand-made entry could
/// still disagree with the data; restores seek by these fields.
fn check_against_entry(records: &[Record], entry: &IndexEntry, block: usize) -> Result<(), SegmentError> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Err(SegmentError::corrupt(Some(block), "block has no records"));
    };
    if (first.offset, last.offset) != (entry.first_offset, entry.last_offset) {
        let reason = format!(
            "records span offsets {}..={}, index says {}..={}",
            first.offset, last.offset, entry.first_offset, entry.last_offset
        );
        return Err(SegmentError::corrupt(Some(block), reason));
    }
    let min = records.iter().map(|r| r.timestamp).min().unwrap_or(0);
    let max = records.iter().map(|r| r.timestamp).max().unwrap_or(0);
    if (min, max) != (entry.min_timestamp, entry.max_timestamp) {
        let reason = format!(
            "records span timestamps {min}..={max}, index says {}..={}",
            entry.min_timestamp, entry.max_timestamp
        );
        return Err(SegmentError::corrupt(Some(block), reason));
    }
    Ok(())
}

/// Reads a segment held whole in memory.
///
/// [`SegmentReader::open`] checks the header, footer and index; blocks are
/// checked as they are decoded.
#[derive(Debug)]
pub struct SegmentReader<'a> {
    bytes: &'a [u8],
    footer: Footer,
    index: Vec<IndexEntry>,
}

impl<'a> SegmentReader<'a> {
    /// Parses and verifies the header, footer and block index of `bytes`,
    /// which must be exactly one whole segment object.
    pub fn open(bytes: &'a [u8]) -> Result<Self, SegmentError> {
        if bytes.len() < HEADER_LEN + FOOTER_LEN {
            return Err(truncated("segment", bytes, HEADER_LEN + FOOTER_LEN));
        }
        let codec = parse_header(bytes)?;
        let footer = parse_footer(bytes)?;
        if footer.codec != codec {
            let reason = format!("header says codec {codec}, footer says {}", footer.codec);
            return Err(SegmentError::corrupt(None, reason));
        }
        let len = bytes.len() as u64;
        if footer.object_len() > len {
            return Err(SegmentError::Truncated { what: "segment", needed: footer.object_len(), available: len });
        }
        if footer.object_len() < len {
            let reason = format!("footer describes {} bytes, object has {len}", footer.object_len());
            return Err(SegmentError::corrupt(None, reason));
        }
        let index_bytes = slice(bytes, footer.index_position, footer.index_len, "index")?;
        let index = parse_index(index_bytes, &footer)?;
        Ok(SegmentReader { bytes, footer, index })
    }

    /// The parsed footer.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The parsed block index, one entry per block.
    pub fn index(&self) -> &[IndexEntry] {
        &self.index
    }

    /// Codec of every block.
    pub fn codec(&self) -> Codec {
        self.footer.codec
    }

    /// Verifies and decodes block `i`.
    pub fn block(&self, i: usize) -> Result<Vec<Record>, SegmentError> {
        let entry = self.index.get(i).ok_or(SegmentError::NoSuchBlock { block: i, block_count: self.index.len() })?;
        let stored = slice(self.bytes, entry.position, entry.compressed_len, "block")?;
        decode_block(stored, entry, self.footer.codec, i)
    }

    /// All records in order, decoding one block at a time. After the first
    /// error the iterator yields that error and then ends.
    pub fn records(&self) -> impl Iterator<Item = Result<Record, SegmentError>> + '_ {
        let mut next_block = 0;
        let mut failed = false;
        let mut current = Vec::new().into_iter();
        std::iter::from_fn(move || {
            loop {
                if let Some(r) = current.next() {
                    return Some(Ok(r));
                }
                if failed || next_block >= self.index.len() {
                    return None;
                }
                let block = self.block(next_block);
                next_block += 1;
                match block {
                    Ok(records) => current = records.into_iter(),
                    Err(e) => {
                        failed = true;
                        return Some(Err(e));
                    }
                }
            }
        })
    }

    /// Decodes every block and returns the segment's summary.
    pub fn verify(&self) -> Result<SegmentSummary, SegmentError> {
        let mut source_bytes = 0u64;
        for i in 0..self.index.len() {
            let records = self.block(i)?;
            let block_bytes: u64 = records.iter().map(Record::source_bytes).sum();
            source_bytes = source_bytes.saturating_add(block_bytes);
        }
        let stored = self.bytes.len() as u64;
        Ok(summarize(self.codec(), &self.index, source_bytes, stored))
    }
}

/// `len` bytes at `position` of `bytes`, or a truncation error naming `what`.
fn slice<'b>(bytes: &'b [u8], position: u64, len: u32, what: &'static str) -> Result<&'b [u8], SegmentError> {
    let end = position.checked_add(u64::from(len));
    let range = usize::try_from(position).ok().zip(end.and_then(|e| usize::try_from(e).ok()));
    range.and_then(|(start, end)| bytes.get(start..end)).ok_or_else(|| SegmentError::Truncated {
        what,
        needed: end.unwrap_or(u64::MAX),
        available: bytes.len() as u64,
    })
}
