//! Block codec benchmarks: `compress_block` and `decode_block` of a ~1 MiB encoded block for every codec and
//! zstd level the backup offers, on JSON, Avro-like binary and random payloads.
//!
//! Throughput is the block's uncompressed length, so criterion's MB/s is per core (everything is
//! single-threaded). Decompression goes through `decode_block`, which also checks the CRC and decodes the
//! records — what a restore pays per block.

use std::hint::black_box;

use benches::{BLOCK_SIZE, Payload, encoded_block, index_entry};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engine::segment::{Codec, compress_block, decode_block};

/// The codec settings compared, with their benchmark ids.
const SETTINGS: [(&str, Codec, i32); 5] = [
    ("zstd-1", Codec::Zstd, 1),
    ("zstd-3", Codec::Zstd, 3),
    ("zstd-9", Codec::Zstd, 9),
    ("lz4", Codec::Lz4, 0),
    ("none", Codec::None, 0),
];

fn compress(c: &mut Criterion) {
    for payload in Payload::ALL {
        let block = encoded_block(payload, BLOCK_SIZE);
        let mut group = c.benchmark_group(format!("compress/{}", payload.name()));
        group.throughput(Throughput::Bytes(block.data.len() as u64));
        for (name, codec, level) in SETTINGS {
            group.bench_with_input(BenchmarkId::from_parameter(name), &block, |b, block| {
                b.iter_batched(
                    || block.clone(),
                    |block| black_box(compress_block(block, codec, level).expect("compress block")),
                    BatchSize::LargeInput,
                );
            });
        }
        group.finish();
    }
}

fn decompress(c: &mut Criterion) {
    for payload in Payload::ALL {
        let block = encoded_block(payload, BLOCK_SIZE);
        let mut group = c.benchmark_group(format!("decompress/{}", payload.name()));
        group.throughput(Throughput::Bytes(block.data.len() as u64));
        for (name, codec, level) in SETTINGS {
            let compressed = compress_block(block.clone(), codec, level).expect("compress block");
            let entry = index_entry(&compressed);
            group.bench_with_input(BenchmarkId::from_parameter(name), &compressed.data, |b, stored| {
                b.iter(|| black_box(decode_block(black_box(stored), &entry, codec, 0).expect("decode block")));
            });
        }
        group.finish();
    }
}

criterion_group!(codec, compress, decompress);
criterion_main!(codec);
