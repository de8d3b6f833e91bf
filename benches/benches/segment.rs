//! Segment benchmarks: record encoding into a block, record decoding from an uncompressed block, and the
//! whole in-memory segment writer (encode → zstd-3 → layout) and reader (open + iterate) over ~16 MiB.
//!
//! Throughput is uncompressed (encoded) block bytes throughout, so the numbers line up with `codec`.

use std::hint::black_box;

use benches::{BLOCK_SIZE, Payload, index_entry, sized_records, write_segment};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::segment::{BlockEncoder, Codec, Record, RecordRef, SegmentReader, compress_block, decode_block};

/// Value size of the records in every bench here.
const RECORD_VALUE_LEN: usize = 1024;
/// Uncompressed size of the segment the writer and reader benches work on.
const SEGMENT_BYTES: usize = 16 << 20;
/// zstd level of the segment benches: the backup's default.
const ZSTD_LEVEL: i32 = 3;

/// Borrowed headers of one record, as a Kafka consumer hands them out.
type HeaderRefs<'a> = Vec<(&'a str, Option<&'a [u8]>)>;

/// About `bytes` of encoded 1 KiB JSON records.
fn records_for(bytes: usize) -> Vec<engine::segment::Record> {
    // Each record encodes to its value plus key, headers and ~30 bytes of framing.
    let count = bytes / (RECORD_VALUE_LEN + 100);
    sized_records(Payload::Json, count, RECORD_VALUE_LEN)
}

fn encode(c: &mut Criterion) {
    let records = records_for(BLOCK_SIZE);
    let headers: Vec<HeaderRefs<'_>> = records.iter().map(Record::header_refs).collect();
    let refs: Vec<RecordRef<'_>> = records.iter().zip(&headers).map(|(r, headers)| r.as_ref(headers)).collect();
    let mut encoder = BlockEncoder::with_capacity(BLOCK_SIZE + 4096);
    for r in &refs {
        encoder.push(r);
    }
    let block_len = encoder.finish().data.len() as u64;

    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Bytes(block_len));
    group.bench_function("encode-1KiB", |b| {
        b.iter(|| {
            for r in &refs {
                encoder.push(black_box(r));
            }
            black_box(encoder.finish())
        });
    });

    let mut encoder = BlockEncoder::with_capacity(BLOCK_SIZE + 4096);
    for r in &records {
        encoder.push_record(r);
    }
    let block = compress_block(encoder.finish(), Codec::None, 0).expect("store block");
    let entry = index_entry(&block);
    group.bench_function("decode-1KiB", |b| {
        b.iter(|| black_box(decode_block(black_box(&block.data), &entry, Codec::None, 0).expect("decode block")));
    });
    group.finish();
}

fn segment(c: &mut Criterion) {
    let records = records_for(SEGMENT_BYTES);
    let (object, uncompressed) = write_segment(&records, Codec::Zstd, ZSTD_LEVEL, BLOCK_SIZE);

    let mut group = c.benchmark_group("segment");
    // Each iteration handles ~16 MiB; the default 100 samples would take minutes.
    group.sample_size(10);
    group.throughput(Throughput::Bytes(uncompressed));
    group.bench_function("write-zstd3-16MiB", |b| {
        b.iter(|| black_box(write_segment(black_box(&records), Codec::Zstd, ZSTD_LEVEL, BLOCK_SIZE)));
    });
    group.bench_function("read-zstd3-16MiB", |b| {
        b.iter(|| {
            let reader = SegmentReader::open(black_box(&object)).expect("open segment");
            let mut count = 0usize;
            for r in reader.records() {
                black_box(r.expect("record"));
                count += 1;
            }
            assert_eq!(count, records.len());
            count
        });
    });
    group.finish();
}

criterion_group!(benches, encode, segment);
criterion_main!(benches);
