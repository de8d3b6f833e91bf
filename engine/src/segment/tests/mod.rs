//! Tests of the segment module: shared helpers and strategies; the property
//! tests live in `properties.rs`, specific cases in `cases.rs`.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

mod cases;
mod properties;

// ---- helpers -------------------------------------------------------------

const CODECS: [Codec; 3] = [Codec::None, Codec::Zstd, Codec::Lz4];

/// Writes a segment the way the engine streams one, alternating the borrowed
/// and owned push paths.
fn build(blocks: &[Vec<Record>], codec: Codec, level: i32) -> (Vec<u8>, SegmentSummary) {
    let mut layout = SegmentLayout::new(codec);
    let mut object = layout.header();
    let mut enc = BlockEncoder::with_capacity(1024);
    for (i, block) in blocks.iter().enumerate() {
        for r in block {
            if i % 2 == 0 {
                enc.push_record(r);
            } else {
                let headers = r.header_refs();
                enc.push(&r.as_ref(&headers));
            }
        }
        let compressed = compress_block(enc.finish(), codec, level).unwrap();
        layout.add_block(&compressed);
        object.extend_from_slice(&compressed.data);
        assert_eq!(layout.bytes_written(), object.len() as u64);
    }
    let (trailer, summary) = layout.finish();
    object.extend_from_slice(&trailer);
    (object, summary)
}

fn record(offset: i64, value: &[u8]) -> Record {
    Record {
        offset,
        timestamp: 1_700_000_000_000 + offset,
        timestamp_type: TimestampType::CreateTime,
        key: Some(b"k".to_vec()),
        value: Some(value.to_vec()),
        headers: vec![Header { key: "h".into(), value: None }],
    }
}

/// Three blocks of three records each.
fn sample(codec: Codec) -> Vec<u8> {
    let blocks: Vec<Vec<Record>> = (0..3).map(|b| (0..3).map(|r| record(b * 3 + r, b"payload")).collect()).collect();
    build(&blocks, codec, 3).0
}

/// Everything a restore would do with an object.
fn read_all(bytes: &[u8]) -> Result<Vec<Record>, SegmentError> {
    let reader = SegmentReader::open(bytes)?;
    reader.verify()?;
    reader.records().collect()
}

/// The ranged-read path: footer, then header and index, then each block.
fn read_ranged(bytes: &[u8]) -> Result<Vec<Record>, SegmentError> {
    let tail = bytes.len().saturating_sub(FOOTER_LEN);
    let footer = parse_footer(&bytes[tail..])?;
    let codec = parse_header(bytes)?;
    assert_eq!(codec, footer.codec);
    let start = footer.index_position as usize;
    let index = parse_index(&bytes[start..start + footer.index_len as usize], &footer)?;
    let mut out = Vec::new();
    for (i, e) in index.iter().enumerate() {
        let p = e.position as usize;
        out.extend(decode_block(&bytes[p..p + e.compressed_len as usize], e, codec, i)?);
    }
    Ok(out)
}

/// Recomputes every CRC after a test edits block or index bytes, so the
/// decoders behind the checksums see the damage.
fn reseal(bytes: &mut [u8]) {
    let len = bytes.len();
    let footer_at = len - FOOTER_LEN;
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let index_at = u64_at(bytes, footer_at) as usize;
    let count = u32_at(bytes, index_at) as usize;
    for i in 0..count {
        let e = index_at + 4 + i * INDEX_ENTRY_LEN;
        let (pos, clen) = (u64_at(bytes, e + 36) as usize, u32_at(bytes, e + 44) as usize);
        let crc = crc32c::crc32c(&bytes[pos..pos + clen]);
        bytes[e + 52..e + 56].copy_from_slice(&crc.to_le_bytes());
    }
    let crc = crc32c::crc32c(&bytes[index_at..footer_at]);
    bytes[footer_at + 12..footer_at + 16].copy_from_slice(&crc.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[footer_at..footer_at + 32]);
    bytes[footer_at + 32..footer_at + 36].copy_from_slice(&crc.to_le_bytes());
}

// ---- strategies ----------------------------------------------------------

fn edge_i64() -> impl Strategy<Value = i64> {
    prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1), any::<i64>()]
}

fn bytes_opt(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => Just(None),
        2 => Just(Some(Vec::new())),
        6 => vec(any::<u8>(), 0..48).prop_map(Some),
        1 => (any::<u8>(), 0..max).prop_map(|(b, n)| Some(vec![b; n])),
    ]
}

fn arb_header() -> impl Strategy<Value = Header> {
    // A tiny alphabet makes duplicate keys common.
    let key = prop_oneof!["[ab]{0,2}", "\\PC{0,6}"];
    (key, bytes_opt(64)).prop_map(|(key, value)| Header { key, value })
}

fn arb_record(max: usize) -> impl Strategy<Value = Record> {
    let tt = prop_oneof![
        Just(TimestampType::NotAvailable),
        Just(TimestampType::CreateTime),
        Just(TimestampType::LogAppendTime),
    ];
    let headers = vec(arb_header(), 0..4);
    (edge_i64(), edge_i64(), tt, bytes_opt(max), bytes_opt(max), headers).prop_map(
        |(offset, timestamp, timestamp_type, key, value, headers)| Record {
            offset,
            timestamp,
            timestamp_type,
            key,
            value,
            headers,
        },
    )
}

fn arb_blocks(max: usize) -> impl Strategy<Value = Vec<Vec<Record>>> {
    vec(vec(arb_record(max), 1..6), 0..4)
}

fn arb_codec() -> impl Strategy<Value = Codec> {
    prop::sample::select(CODECS.to_vec())
}
