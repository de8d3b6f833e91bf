//! Feeds arbitrary bytes to the segment reader, whole-object and ranged.
//! Any panic, overflow or runaway allocation is a bug: readers must return
//! an error on every malformed input.
#![no_main]

use engine::segment::{FOOTER_LEN, SegmentReader, decode_block, parse_footer, parse_header, parse_index};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    whole(data);
    ranged(data);
});

/// The restore path over an object held in memory.
fn whole(data: &[u8]) {
    let Ok(reader) = SegmentReader::open(data) else {
        return;
    };
    let _ = reader.verify();
    for record in reader.records() {
        if record.is_err() {
            break;
        }
    }
    for i in 0..=reader.index().len() {
        let _ = reader.block(i);
    }
}

/// The ranged-read path: footer, then header and index, then each block.
fn ranged(data: &[u8]) {
    let tail = &data[data.len().saturating_sub(FOOTER_LEN)..];
    let Ok(footer) = parse_footer(tail) else {
        return;
    };
    let Ok(codec) = parse_header(data) else {
        return;
    };
    let Some(index_bytes) = range(data, footer.index_position, footer.index_len) else {
        return;
    };
    let Ok(index) = parse_index(index_bytes, &footer) else {
        return;
    };
    for (i, entry) in index.iter().enumerate() {
        if let Some(stored) = range(data, entry.position, entry.compressed_len) {
            let _ = decode_block(stored, entry, codec, i);
        }
    }
}

fn range(data: &[u8], position: u64, len: u32) -> Option<&[u8]> {
    let start = usize::try_from(position).ok()?;
    data.get(start..start.checked_add(len as usize)?)
}
