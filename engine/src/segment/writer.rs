//! Writing side: encoding records into blocks, compressing blocks, and the
//! streaming bookkeeping ([`SegmentLayout`]) that produces the header, the
//! block index and the footer around blocks the caller uploads itself.

use std::mem;

use super::format::encode_header;
use super::index::encode_index;
use super::record::{encode_record, encode_ref};
use super::{Codec, FORMAT_VERSION, Footer, HEADER_LEN, IndexEntry, MAX_BLOCK_LEN, Record, RecordRef, SegmentError};

/// What a block holds, gathered while encoding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BlockMeta {
    /// Offset of the first record pushed.
    pub first_offset: i64,
    /// Offset of the last record pushed.
    pub last_offset: i64,
    /// Smallest record timestamp.
    pub min_timestamp: i64,
    /// Largest record timestamp.
    pub max_timestamp: i64,
    /// Number of records.
    pub record_count: u32,
    /// Sum of [`Record::source_bytes`] over the block.
    pub source_bytes: u64,
}

impl BlockMeta {
    fn observe(&mut self, offset: i64, timestamp: i64, source_bytes: u64) {
        if self.record_count == 0 {
            self.first_offset = offset;
            self.min_timestamp = timestamp;
            self.max_timestamp = timestamp;
        }
        self.last_offset = offset;
        self.min_timestamp = self.min_timestamp.min(timestamp);
        self.max_timestamp = self.max_timestamp.max(timestamp);
        // Saturating is enough: a block this large fails MAX_BLOCK_LEN anyway.
        self.record_count = self.record_count.saturating_add(1);
        self.source_bytes = self.source_bytes.saturating_add(source_bytes);
    }
}

/// Encodes records straight into one reusable buffer, with no per-record
/// allocation, until the caller decides the block is full.
#[derive(Debug)]
pub struct BlockEncoder {
    buf: Vec<u8>,
    capacity: usize,
    meta: BlockMeta,
}

impl BlockEncoder {
    /// An encoder whose buffer starts with room for `bytes` (the target block
    /// size), so a typical block never reallocates.
    pub fn with_capacity(bytes: usize) -> Self {
        BlockEncoder { buf: Vec::with_capacity(bytes), capacity: bytes, meta: BlockMeta::default() }
    }

    /// Appends a borrowed record.
    ///
    /// # Panics
    /// If a key, value or header is longer than `i32::MAX` bytes, or a record
    /// has more than `u32::MAX` headers; Kafka cannot produce either.
    pub fn push(&mut self, r: &RecordRef<'_>) {
        encode_ref(&mut self.buf, r);
        self.meta.observe(r.offset, r.timestamp, r.source_bytes());
    }

    /// Appends an owned record; encodes exactly like [`BlockEncoder::push`].
    ///
    /// # Panics
    /// As [`BlockEncoder::push`].
    pub fn push_record(&mut self, r: &Record) {
        encode_record(&mut self.buf, r);
        self.meta.observe(r.offset, r.timestamp, r.source_bytes());
    }

    /// Uncompressed bytes encoded so far in the current block.
    pub fn encoded_len(&self) -> usize {
        self.buf.len()
    }

    /// Records pushed so far in the current block.
    pub fn record_count(&self) -> u32 {
        self.meta.record_count
    }

    /// Whether no record has been pushed since the last [`BlockEncoder::finish`].
    pub fn is_empty(&self) -> bool {
        self.meta.record_count == 0
    }

    /// Takes the current block and starts a fresh one of the same capacity.
    pub fn finish(&mut self) -> EncodedBlock {
        let data = mem::replace(&mut self.buf, Vec::with_capacity(self.capacity));
        EncodedBlock { data, meta: mem::take(&mut self.meta) }
    }
}

/// An uncompressed block and what it holds.
#[derive(Clone, Debug)]
pub struct EncodedBlock {
    /// Encoded records.
    pub data: Vec<u8>,
    /// Offsets, timestamps and counts of the records.
    pub meta: BlockMeta,
}

/// A block ready to append to a segment: stored bytes plus the index fields.
#[derive(Clone, Debug)]
pub struct CompressedBlock {
    /// Bytes as stored in the object.
    pub data: Vec<u8>,
    /// Offsets, timestamps and counts of the records.
    pub meta: BlockMeta,
    /// Length of the encoded records before compression.
    pub uncompressed_len: u32,
    /// CRC-32C of `data`.
    pub crc32c: u32,
}

/// Compresses an encoded block with `codec`; `level` is used by zstd only.
///
/// Fails on an empty block (the format has no empty blocks) and on blocks
/// over [`MAX_BLOCK_LEN`], which readers would refuse.
pub fn compress_block(block: EncodedBlock, codec: Codec, level: i32) -> Result<CompressedBlock, SegmentError> {
    let fail = |reason: String| SegmentError::Compress { reason };
    if block.meta.record_count == 0 || block.data.is_empty() {
        return Err(fail("cannot store an empty block".to_owned()));
    }
    let len = block.data.len();
    let Some(uncompressed_len) = u32::try_from(len).ok().filter(|_| len <= MAX_BLOCK_LEN) else {
        return Err(fail(format!("block of {len} bytes exceeds the 256 MiB limit")));
    };
    let data = match codec {
        Codec::None => block.data,
        Codec::Zstd => {
            zstd::bulk::compress(&block.data, level).map_err(|e| fail(format!("zstd level {level}: {e}")))?
        }
        Codec::Lz4 => lz4_flex::block::compress(&block.data),
    };
    Ok(CompressedBlock { crc32c: crc32c::crc32c(&data), data, meta: block.meta, uncompressed_len })
}

/// What a finished segment holds; also recomputed by
/// [`SegmentReader::verify`](super::SegmentReader::verify).
///
/// For a segment with no blocks the offset and timestamp fields are 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentSummary {
    /// Codec of every block.
    pub codec: Codec,
    /// First offset of the first block.
    pub first_offset: i64,
    /// Last offset of the last block.
    pub last_offset: i64,
    /// Smallest record timestamp.
    pub min_timestamp: i64,
    /// Largest record timestamp.
    pub max_timestamp: i64,
    /// Number of records.
    pub record_count: u64,
    /// Number of blocks.
    pub block_count: u32,
    /// Kafka payload bytes (see [`Record::source_bytes`]).
    pub source_bytes: u64,
    /// Sum of uncompressed block lengths.
    pub uncompressed_bytes: u64,
    /// Length of the whole object, including header, index and footer.
    pub stored_bytes: u64,
}

/// Builds a summary from a (validated or freshly written) index.
pub(crate) fn summarize(codec: Codec, index: &[IndexEntry], source_bytes: u64, stored_bytes: u64) -> SegmentSummary {
    let sum = |f: fn(&IndexEntry) -> u64| index.iter().map(f).fold(0u64, u64::saturating_add);
    SegmentSummary {
        codec,
        first_offset: index.first().map_or(0, |e| e.first_offset),
        last_offset: index.last().map_or(0, |e| e.last_offset),
        min_timestamp: index.iter().map(|e| e.min_timestamp).min().unwrap_or(0),
        max_timestamp: index.iter().map(|e| e.max_timestamp).max().unwrap_or(0),
        record_count: sum(|e| u64::from(e.record_count)),
        block_count: u32::try_from(index.len()).unwrap_or(u32::MAX),
        source_bytes,
        uncompressed_bytes: sum(|e| u64::from(e.uncompressed_len)),
        stored_bytes,
    }
}

/// Streams a segment: the caller writes [`SegmentLayout::header`], then each
/// block's data (recording it with [`SegmentLayout::add_block`]), then the
/// trailer from [`SegmentLayout::finish`]. Only the index is kept in memory.
#[derive(Debug)]
pub struct SegmentLayout {
    codec: Codec,
    position: u64,
    entries: Vec<IndexEntry>,
    source_bytes: u64,
}

impl SegmentLayout {
    /// Starts a segment whose blocks are all compressed with `codec`.
    pub fn new(codec: Codec) -> Self {
        SegmentLayout { codec, position: HEADER_LEN as u64, entries: Vec::new(), source_bytes: 0 }
    }

    /// The [`HEADER_LEN`] bytes that start the object.
    pub fn header(&self) -> Vec<u8> {
        encode_header(self.codec).to_vec()
    }

    /// Records `block` at the current position and advances past it. The
    /// block must come from [`compress_block`] with this layout's codec.
    ///
    /// # Panics
    /// If `block.data` is 4 GiB or longer (impossible from [`compress_block`]).
    pub fn add_block(&mut self, block: &CompressedBlock) {
        let compressed_len = u32::try_from(block.data.len()).expect("compressed block of 4 GiB or more");
        let m = &block.meta;
        self.entries.push(IndexEntry {
            first_offset: m.first_offset,
            last_offset: m.last_offset,
            min_timestamp: m.min_timestamp,
            max_timestamp: m.max_timestamp,
            record_count: m.record_count,
            position: self.position,
            compressed_len,
            uncompressed_len: block.uncompressed_len,
            crc32c: block.crc32c,
        });
        self.position += u64::from(compressed_len);
        self.source_bytes = self.source_bytes.saturating_add(m.source_bytes);
    }

    /// Bytes of header and blocks so far: the position of the next block.
    pub fn bytes_written(&self) -> u64 {
        self.position
    }

    /// Whether no block has been added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The trailer (block index then footer) to append after the last block,
    /// and the summary of the whole segment.
    ///
    /// # Panics
    /// If the index would exceed 4 GiB (over 76 million blocks).
    pub fn finish(self) -> (Vec<u8>, SegmentSummary) {
        let mut trailer = encode_index(&self.entries);
        let index_len = u32::try_from(trailer.len()).expect("block index of 4 GiB or more");
        let summary = summarize(self.codec, &self.entries, self.source_bytes, 0);
        let footer = Footer {
            version: FORMAT_VERSION,
            codec: self.codec,
            index_position: self.position,
            index_len,
            index_crc32c: crc32c::crc32c(&trailer),
            block_count: summary.block_count,
            record_count: summary.record_count,
        };
        trailer.extend_from_slice(&footer.encode());
        let stored_bytes = self.position + trailer.len() as u64;
        (trailer, SegmentSummary { stored_bytes, ..summary })
    }
}
