//! Feeds arbitrary bytes to `decode_block` behind a matching CRC, so the
//! decompressors and the record decoder see inputs that a whole-object
//! fuzzer almost never gets past the checksums.
//!
//! Input: byte 0 picks the codec, bytes 1..5 are the uncompressed length
//! (capped at 1 MiB to keep iterations fast), bytes 5..9 the record count,
//! the rest is the stored block.
#![no_main]

use engine::segment::{Codec, HEADER_LEN, IndexEntry, decode_block};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, stored)) = data.split_first_chunk::<9>() else {
        return;
    };
    let codec = match head[0] % 3 {
        0 => Codec::None,
        1 => Codec::Zstd,
        _ => Codec::Lz4,
    };
    let uncompressed_len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) % (1 << 20);
    let record_count = u32::from_le_bytes([head[5], head[6], head[7], head[8]]);
    let Ok(compressed_len) = u32::try_from(stored.len()) else {
        return;
    };
    let entry = IndexEntry {
        first_offset: 0,
        last_offset: 0,
        min_timestamp: 0,
        max_timestamp: 0,
        record_count,
        position: HEADER_LEN as u64,
        compressed_len,
        uncompressed_len,
        crc32c: crc32c::crc32c(stored),
    };
    let _ = decode_block(stored, &entry, codec, 0);
});
