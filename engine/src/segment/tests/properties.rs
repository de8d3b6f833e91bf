//! Property tests: round trips, and that truncation, extension and any
//! single-byte corruption are detected without panicking.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use super::*;

// ---- properties ----------------------------------------------------------

// Default config: 256 cases, overridable with PROPTEST_CASES.
proptest! {
    #[test]
    fn round_trip(blocks in arb_blocks(300_000), codec in arb_codec(), level in -1i32..=3) {
        let (bytes, summary) = build(&blocks, codec, level);
        let expected: Vec<Record> = blocks.iter().flatten().cloned().collect();
        let reader = SegmentReader::open(&bytes).unwrap();
        prop_assert_eq!(reader.codec(), codec);
        prop_assert_eq!(reader.index().len(), blocks.len());
        for (i, block) in blocks.iter().enumerate() {
            prop_assert_eq!(&reader.block(i).unwrap(), block);
        }
        let all: Vec<Record> = reader.records().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&all, &expected);
        prop_assert_eq!(&read_ranged(&bytes).unwrap(), &expected);
        prop_assert_eq!(reader.verify().unwrap(), summary);

        prop_assert_eq!(summary.stored_bytes, bytes.len() as u64);
        prop_assert_eq!(summary.record_count, expected.len() as u64);
        prop_assert_eq!(summary.block_count as usize, blocks.len());
        let source: u64 = expected.iter().map(Record::source_bytes).sum();
        prop_assert_eq!(summary.source_bytes, source);
        if let (Some(first), Some(last)) = (expected.first(), expected.last()) {
            prop_assert_eq!(summary.first_offset, first.offset);
            prop_assert_eq!(summary.last_offset, last.offset);
            let ts = expected.iter().map(|r| r.timestamp);
            prop_assert_eq!(summary.min_timestamp, ts.clone().min().unwrap());
            prop_assert_eq!(summary.max_timestamp, ts.max().unwrap());
        }
    }

    #[test]
    fn push_and_push_record_encode_identically(records in vec(arb_record(64), 1..8)) {
        let (mut owned, mut borrowed) = (BlockEncoder::with_capacity(0), BlockEncoder::with_capacity(0));
        for r in &records {
            owned.push_record(r);
            let headers = r.header_refs();
            borrowed.push(&r.as_ref(&headers));
        }
        let (a, b) = (owned.finish(), borrowed.finish());
        prop_assert_eq!(a.data, b.data);
        prop_assert_eq!(a.meta, b.meta);
    }

    #[test]
    fn any_truncation_or_extension_fails(blocks in arb_blocks(200), codec in arb_codec()) {
        let (bytes, _) = build(&blocks, codec, 1);
        for cut in 0..bytes.len() {
            prop_assert!(read_all(&bytes[..cut]).is_err(), "cut at {}", cut);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert!(read_all(&longer).is_err());
    }

    #[test]
    fn any_byte_flip_fails(
        blocks in arb_blocks(2_000),
        codec in arb_codec(),
        at in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let (mut bytes, _) = build(&blocks, codec, 1);
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        prop_assert!(read_all(&bytes).is_err(), "flip {:#04x} at {} undetected", mask, i);
    }

    #[test]
    fn garbage_never_panics(bytes in vec(any::<u8>(), 0..300)) {
        let _ = read_all(&bytes);
        let _ = parse_footer(&bytes);
        let _ = parse_header(&bytes);
    }

    /// The decoders behind the checksums must cope with bytes that pass them.
    #[test]
    fn resealed_damage_never_panics(
        blocks in vec(vec(arb_record(100), 1..6), 1..4),
        codec in arb_codec(),
        at in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let (mut bytes, _) = build(&blocks, codec, 0);
        let blocks_end = parse_footer(&bytes).unwrap().index_position as usize;
        let i = HEADER_LEN + at.index(blocks_end - HEADER_LEN);
        bytes[i] ^= mask;
        reseal(&mut bytes);
        let _ = read_all(&bytes);
    }

    #[test]
    fn decode_block_never_panics(
        stored in vec(any::<u8>(), 0..400),
        codec in arb_codec(),
        uncompressed_len in 0u32..5_000,
        record_count in any::<u32>(),
    ) {
        let entry = IndexEntry {
            first_offset: 0,
            last_offset: 0,
            min_timestamp: 0,
            max_timestamp: 0,
            record_count,
            position: HEADER_LEN as u64,
            compressed_len: stored.len() as u32,
            uncompressed_len,
            crc32c: crc32c::crc32c(&stored),
        };
        let _ = decode_block(&stored, &entry, codec, 0);
    }
}

// ---- exhaustive corruption of one object per codec -----------------------

#[test]
fn every_single_byte_corruption_is_detected() {
    for codec in CODECS {
        let bytes = sample(codec);
        for i in 0..bytes.len() {
            for mask in [0x01, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= mask;
                assert!(read_all(&bad).is_err(), "{codec}: flip {mask:#x} at {i}");
            }
        }
    }
}
