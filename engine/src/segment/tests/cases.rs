//! Specific error cases, their messages, and golden encodings.

use super::*;

// ---- specific errors -----------------------------------------------------

#[test]
fn bad_magic() {
    let mut bytes = sample(Codec::Zstd);
    bytes[0] ^= 1;
    let err = SegmentReader::open(&bytes).unwrap_err();
    assert!(matches!(err, SegmentError::BadMagic { what: "header" }), "{err}");
    assert_eq!(err.to_string(), "header: bad magic (not a kbackup segment)");

    let mut bytes = sample(Codec::Zstd);
    *bytes.last_mut().unwrap() ^= 1;
    let err = SegmentReader::open(&bytes).unwrap_err();
    assert!(matches!(err, SegmentError::BadMagic { what: "footer" }), "{err}");
}

/// A header with `codec` byte `code` and a valid CRC.
fn header_with(code: u8, version: u16) -> Vec<u8> {
    let mut h = SegmentLayout::new(Codec::None).header();
    h[8..10].copy_from_slice(&version.to_le_bytes());
    h[10] = code;
    let crc = crc32c::crc32c(&h[..12]);
    h[12..16].copy_from_slice(&crc.to_le_bytes());
    h
}

#[test]
fn unknown_codec() {
    let err = parse_header(&header_with(9, FORMAT_VERSION)).unwrap_err();
    assert!(matches!(err, SegmentError::UnknownCodec { code: 9 }), "{err}");
    assert_eq!(err.to_string(), "unknown codec id 9");
}

#[test]
fn unsupported_version() {
    let err = parse_header(&header_with(1, 2)).unwrap_err();
    assert!(matches!(err, SegmentError::UnsupportedVersion { version: 2 }), "{err}");
    assert_eq!(err.to_string(), "unsupported segment format version 2 (this build reads version 1)");
}

#[test]
fn header_checksum_mismatch() {
    let mut bytes = sample(Codec::Lz4);
    bytes[10] = Codec::None.id(); // codec byte: covered by the header CRC
    let err = SegmentReader::open(&bytes).unwrap_err();
    assert!(matches!(err, SegmentError::ChecksumMismatch { what: "header", block: None, .. }), "{err}");
    assert!(err.to_string().starts_with("header: checksum mismatch (stored 0x"), "{err}");
}

#[test]
fn block_checksum_mismatch_names_the_block() {
    let mut bytes = sample(Codec::Zstd);
    let reader = SegmentReader::open(&bytes).unwrap();
    let e = reader.index()[1];
    let expected = e.crc32c;
    drop(reader);
    bytes[e.position as usize + 2] ^= 0x10;

    let reader = SegmentReader::open(&bytes).unwrap(); // blocks are checked lazily
    assert_eq!(reader.block(0).unwrap().len(), 3);
    let err = reader.verify().unwrap_err();
    match err {
        SegmentError::ChecksumMismatch { what: "block", block: Some(1), expected: stored, actual } => {
            assert_eq!(stored, expected);
            assert_ne!(actual, expected);
        }
        ref other => panic!("unexpected {other}"),
    }
    let msg = err.to_string();
    assert!(msg.starts_with("block 1: checksum mismatch (stored 0x"), "{msg}");
    assert!(msg.contains(&format!("{expected:#010x}")), "{msg}");

    // The iterator yields block 0, then the error, then stops.
    let results: Vec<_> = reader.records().collect();
    assert_eq!(results.len(), 4);
    assert!(results[..3].iter().all(Result::is_ok));
    assert!(results[3].is_err());
}

#[test]
fn index_checksum_mismatch() {
    let mut bytes = sample(Codec::None);
    let footer = parse_footer(&bytes).unwrap();
    bytes[footer.index_position as usize + 9] ^= 1;
    let err = SegmentReader::open(&bytes).unwrap_err();
    assert!(matches!(err, SegmentError::ChecksumMismatch { what: "index", .. }), "{err}");
    assert!(err.to_string().starts_with("index: checksum mismatch"), "{err}");
}

#[test]
fn truncated_object() {
    let bytes = sample(Codec::None);
    let err = SegmentReader::open(&bytes[..10]).unwrap_err();
    assert_eq!(err.to_string(), "segment truncated: needed 60 bytes, only 10 available");
    let err = parse_footer(&bytes[..FOOTER_LEN - 1]).unwrap_err();
    assert!(matches!(err, SegmentError::Truncated { what: "footer", .. }), "{err}");
}

#[test]
fn decode_block_checks_the_slice_and_the_entry() {
    let bytes = sample(Codec::Lz4);
    let reader = SegmentReader::open(&bytes).unwrap();
    let e = reader.index()[2];
    let (p, n) = (e.position as usize, e.compressed_len as usize);
    let short = decode_block(&bytes[p..p + n - 1], &e, Codec::Lz4, 2).unwrap_err();
    assert!(matches!(short, SegmentError::Truncated { what: "block", .. }), "{short}");
    let long = decode_block(&bytes[p..=p + n], &e, Codec::Lz4, 2).unwrap_err();
    assert!(matches!(long, SegmentError::Corrupt { block: Some(2), .. }), "{long}");

    let stored = &bytes[p..p + n];
    let lie = IndexEntry { record_count: u32::MAX, ..e };
    assert!(decode_block(stored, &lie, Codec::Lz4, 2).is_err());
    let lie = IndexEntry { last_offset: 99, ..e };
    let err = decode_block(stored, &lie, Codec::Lz4, 2).unwrap_err();
    assert!(err.to_string().starts_with("block 2: corrupt: records span offsets"), "{err}");
    let lie = IndexEntry { uncompressed_len: u32::MAX, ..e };
    assert!(decode_block(stored, &lie, Codec::Lz4, 2).is_err());
}

#[test]
fn no_such_block() {
    let bytes = sample(Codec::None);
    let reader = SegmentReader::open(&bytes).unwrap();
    let err = reader.block(3).unwrap_err();
    assert!(matches!(err, SegmentError::NoSuchBlock { block: 3, block_count: 3 }), "{err}");
}

#[test]
fn empty_segment_round_trips() {
    let (bytes, summary) = build(&[], Codec::Zstd, 3);
    assert_eq!(bytes.len(), HEADER_LEN + 4 + FOOTER_LEN);
    let reader = SegmentReader::open(&bytes).unwrap();
    assert_eq!(reader.records().count(), 0);
    assert_eq!(reader.verify().unwrap(), summary);
    assert_eq!(summary.record_count, 0);
}

#[test]
fn empty_block_is_rejected() {
    let block = BlockEncoder::with_capacity(16).finish();
    let err = compress_block(block, Codec::Lz4, 0).unwrap_err();
    assert!(matches!(err, SegmentError::Compress { .. }), "{err}");
}

#[test]
fn encoder_resets_after_finish() {
    let mut enc = BlockEncoder::with_capacity(64);
    enc.push_record(&record(5, b"abc"));
    enc.push_record(&record(3, b""));
    assert_eq!((enc.record_count(), enc.is_empty()), (2, false));
    let block = enc.finish();
    assert_eq!(block.data.len(), 2 * (8 + 8 + 1 + 5 + 4 + 4 + 5 + 4) + 3);
    let meta = block.meta;
    assert_eq!((meta.first_offset, meta.last_offset), (5, 3));
    assert_eq!((meta.min_timestamp, meta.max_timestamp), (1_700_000_000_003, 1_700_000_000_005));
    assert_eq!(meta.source_bytes, (1 + 3 + 1) + (1 + 1));
    assert!(enc.is_empty());
    assert_eq!(enc.encoded_len(), 0);
    enc.push_record(&record(9, b"x"));
    assert_eq!(enc.finish().meta.first_offset, 9);
}

#[test]
fn record_encoding_is_as_documented() {
    let r = Record {
        offset: 7,
        timestamp: -1,
        timestamp_type: TimestampType::LogAppendTime,
        key: None,
        value: Some(Vec::new()),
        headers: vec![Header { key: "é".into(), value: Some(vec![0xAA]) }],
    };
    let mut enc = BlockEncoder::with_capacity(0);
    enc.push_record(&r);
    let mut want = Vec::new();
    want.extend_from_slice(&7i64.to_le_bytes());
    want.extend_from_slice(&(-1i64).to_le_bytes());
    want.push(2);
    want.extend_from_slice(&(-1i32).to_le_bytes()); // null key
    want.extend_from_slice(&0i32.to_le_bytes()); // empty value
    want.extend_from_slice(&1u32.to_le_bytes());
    want.extend_from_slice(&2u32.to_le_bytes());
    want.extend_from_slice("é".as_bytes());
    want.extend_from_slice(&1i32.to_le_bytes());
    want.push(0xAA);
    assert_eq!(enc.finish().data, want);
    assert_eq!(r.source_bytes(), 3);
}

#[test]
fn header_and_footer_are_as_documented() {
    let (bytes, _) = build(&[vec![record(1, b"v")]], Codec::Lz4, 0);
    assert_eq!(&bytes[..8], b"KBKPSEG\0");
    assert_eq!(&bytes[8..12], &[1, 0, 2, 0]);
    assert_eq!(&bytes[bytes.len() - 8..], b"KBKPEND\0");
    let footer = parse_footer(&bytes).unwrap();
    assert_eq!(footer.object_len(), bytes.len() as u64);
    assert_eq!(footer.index_len as usize, 4 + INDEX_ENTRY_LEN);
    assert_eq!((footer.version, footer.block_count, footer.record_count), (1, 1, 1));
}

#[test]
fn codec_names() {
    for codec in CODECS {
        assert_eq!(codec.to_string().parse::<Codec>().unwrap(), codec);
        let json = serde_json::to_string(&codec).unwrap();
        assert_eq!(json, format!("\"{codec}\""));
        assert_eq!(serde_json::from_str::<Codec>(&json).unwrap(), codec);
    }
    assert_eq!("ZSTD".parse::<Codec>().unwrap(), Codec::Zstd);
    let err = "gzip".parse::<Codec>().unwrap_err();
    assert_eq!(err.to_string(), "unknown codec \"gzip\" (expected none, zstd or lz4)");
}

#[test]
fn corrupt_messages_name_the_place() {
    let whole = SegmentError::corrupt(None, "index has 3 blocks, footer says 4");
    assert_eq!(whole.to_string(), "corrupt segment: index has 3 blocks, footer says 4");
    let block = SegmentError::corrupt(Some(3), "2 bytes left after 5 records");
    assert_eq!(block.to_string(), "block 3: corrupt: 2 bytes left after 5 records");
}
