//! Segments: the persisted unit of a backup of one Kafka partition.
//!
//! A segment is written as a stream — records are encoded and compressed into
//! blocks as they arrive and each block is appended to an object-store
//! multipart upload, so the writer holds one block and the index, never the
//! whole segment. It is read either whole ([`SegmentReader`]) or with ranged
//! reads: the footer first ([`parse_footer`]), then the index
//! ([`parse_index`]), then one block ([`decode_block`]).
//!
//! # Byte layout (format version 1)
//!
//! All integers are little-endian. Offsets below are from the start of the
//! part they describe; "crc" is CRC-32C (Castagnoli).
//!
//! ```text
//! [header: HEADER_LEN = 16 bytes]
//! [block 0][block 1]...[block n-1]   stored (compressed) bytes, back to back
//! [block index: 4 + 56 * n bytes]
//! [footer: FOOTER_LEN = 44 bytes]
//! ```
//!
//! **Header** (at object offset 0)
//!
//! | offset | size | field                                         |
//! |-------:|-----:|-----------------------------------------------|
//! | 0      | 8    | magic `b"KBKPSEG\0"`                          |
//! | 8      | 2    | format version u16 (= 1)                      |
//! | 10     | 1    | codec u8: 0 none, 1 zstd, 2 lz4               |
//! | 11     | 1    | reserved, must be 0                           |
//! | 12     | 4    | crc u32 of header bytes 0..12                 |
//!
//! **Blocks** start at offset 16 and tile the object up to the index with no
//! gaps: block 0 at 16, block i+1 at `position(i) + compressed_len(i)`. Each
//! is compressed independently with the segment's codec: `none` stores the
//! encoded records as is, `zstd` is one zstd frame, `lz4` is a raw LZ4 block
//! (no frame, no size prefix: the size is in the index). A block holds at
//! least one record and at most [`MAX_BLOCK_LEN`] (256 MiB) uncompressed.
//!
//! **Records** inside an uncompressed block, back to back:
//!
//! | size     | field                                                    |
//! |---------:|----------------------------------------------------------|
//! | 8        | offset i64                                               |
//! | 8        | timestamp i64 (ms)                                       |
//! | 1        | timestamp type u8: 0 not available, 1 create, 2 log append |
//! | 4 + k    | key: length i32 (-1 = null, distinct from 0 = empty), bytes |
//! | 4 + v    | value: same encoding as the key                          |
//! | 4        | header count u32                                         |
//! | per header | key: length u32 + UTF-8 bytes; value: length i32 (-1 = null) + bytes |
//!
//! Headers keep their order, duplicate keys and null values.
//!
//! **Block index** (at `index_position`, `index_len = 4 + 56 * n` bytes): a
//! block count u32 (= n), then per block a 56-byte [`IndexEntry`]:
//!
//! | offset | size | field                                           |
//! |-------:|-----:|-------------------------------------------------|
//! | 0      | 8    | first_offset i64 (first record's offset)        |
//! | 8      | 8    | last_offset i64 (last record's offset)          |
//! | 16     | 8    | min_timestamp i64                               |
//! | 24     | 8    | max_timestamp i64                               |
//! | 32     | 4    | record_count u32 (≥ 1)                          |
//! | 36     | 8    | position u64 (from the start of the object)     |
//! | 44     | 4    | compressed_len u32 (stored bytes)               |
//! | 48     | 4    | uncompressed_len u32 (≤ 256 MiB)                |
//! | 52     | 4    | crc u32 of the stored (compressed) block bytes  |
//!
//! **Footer** (the last [`FOOTER_LEN`] = 44 bytes of the object)
//!
//! | offset | size | field                                         |
//! |-------:|-----:|-----------------------------------------------|
//! | 0      | 8    | index_position u64                            |
//! | 8      | 4    | index_len u32                                 |
//! | 12     | 4    | index crc u32 (of the whole index)            |
//! | 16     | 4    | block_count u32                               |
//! | 20     | 8    | record_count u64 (sum over blocks)            |
//! | 28     | 2    | format version u16 (= 1)                      |
//! | 30     | 1    | codec u8 (must equal the header's)            |
//! | 31     | 1    | reserved, must be 0                           |
//! | 32     | 4    | crc u32 of footer bytes 0..32                 |
//! | 36     | 8    | magic `b"KBKPEND\0"`                          |
//!
//! The object length is exactly `index_position + index_len + 44`.
//!
//! # Integrity
//!
//! Every byte of an object is covered by a CRC-32C: the header by its own
//! CRC, each block by its index entry, the index by the footer, the footer by
//! its own CRC (the magics are compared directly). Because blocks must tile
//! the space between header and index, there are no unchecked gaps. CRC-32C
//! detects every error burst of up to 32 bits, so any single corrupted byte is
//! reported. Readers never panic on malformed input and never allocate more
//! than the input (or a block's capped uncompressed length) justifies.

mod cursor;
mod error;
mod format;
mod index;
mod reader;
mod record;
mod writer;

#[cfg(test)]
mod tests;

pub use error::SegmentError;
pub use format::{
    Codec, FOOTER_LEN, FORMAT_VERSION, Footer, HEADER_LEN, INDEX_ENTRY_LEN, MAX_BLOCK_LEN, ParseCodecError,
    parse_footer, parse_header,
};
pub use index::{IndexEntry, parse_index};
pub use reader::{SegmentReader, decode_block};
pub use record::{Header, Record, RecordRef, TimestampType};
pub use writer::{
    BlockEncoder, BlockMeta, CompressedBlock, EncodedBlock, SegmentLayout, SegmentSummary, compress_block,
};
