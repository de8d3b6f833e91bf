//! The `precompressed` payload: JSON order documents that were compressed before they
//! reached Kafka, as services do that compress their own values. The mix, chosen per
//! message by the seeded PRNG: half zstd (level 3, one frame) and half gzip (level 6, one
//! member). Each blob decompresses to one JSON document from [`super::payload::json`].

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::payload::json;
use super::rng::Rng;

/// zstd level of the zstd half: the library's default.
pub const ZSTD_LEVEL: i32 = 3;
/// gzip level of the gzip half: gzip's default.
pub const GZIP_LEVEL: u32 = 6;

/// The two codecs of the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// A zstd frame.
    Zstd,
    /// A gzip member.
    Gzip,
}

/// Makes compressed blobs of about a requested size.
#[derive(Debug, Clone)]
pub struct Precompressor {
    /// Compressed ÷ raw size per codec: a running estimate (from every blob made, so it is
    /// as deterministic as the blobs) that picks how large a document to compress.
    ratio: [f64; 2],
}

impl Default for Precompressor {
    fn default() -> Self {
        // Roughly what these documents reach at 1 KiB; the estimate settles within a few blobs.
        Self { ratio: [0.2, 0.25] }
    }
}

impl Precompressor {
    /// One blob of about `size` bytes.
    pub fn blob(&mut self, rng: &mut Rng, seq: u64, size: usize) -> Vec<u8> {
        let codec = if rng.below(2) == 0 { Codec::Zstd } else { Codec::Gzip };
        let slot = codec as usize;
        let raw_size = (size as f64 / self.ratio[slot]).round() as usize;
        let doc = json(rng, seq, raw_size.max(64));
        let blob = compress(codec, &doc);
        let ratio = blob.len() as f64 / doc.len() as f64;
        self.ratio[slot] = 0.8 * self.ratio[slot] + 0.2 * ratio;
        blob
    }
}

/// `data` compressed with `codec`.
pub fn compress(codec: Codec, data: &[u8]) -> Vec<u8> {
    match codec {
        Codec::Zstd => zstd::bulk::compress(data, ZSTD_LEVEL).expect("zstd compresses to memory"),
        Codec::Gzip => {
            let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::new(GZIP_LEVEL));
            encoder.write_all(data).expect("writing to memory");
            encoder.finish().expect("writing to memory")
        }
    }
}

/// The codec of a blob, from its magic number.
pub fn codec_of(blob: &[u8]) -> Option<Codec> {
    match blob {
        [0x28, 0xB5, 0x2F, 0xFD, ..] => Some(Codec::Zstd),
        [0x1F, 0x8B, ..] => Some(Codec::Gzip),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn decompress(blob: &[u8]) -> Vec<u8> {
        match codec_of(blob).expect("a zstd or gzip magic number") {
            Codec::Zstd => zstd::stream::decode_all(blob).unwrap(),
            Codec::Gzip => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(blob).read_to_end(&mut out).unwrap();
                out
            }
        }
    }

    #[test]
    fn blobs_decompress_to_json_documents_in_both_codecs() {
        let (mut p, mut rng) = (Precompressor::default(), Rng::new(4));
        let mut seen = [0usize; 2];
        for seq in 0..200 {
            let blob = p.blob(&mut rng, seq, 1024);
            seen[codec_of(&blob).unwrap() as usize] += 1;
            let doc: serde_json::Value = serde_json::from_slice(&decompress(&blob)).unwrap();
            assert_eq!(doc["seq"], seq);
        }
        assert!(seen.iter().all(|n| (60..140).contains(n)), "zstd/gzip mix {seen:?}");
    }

    #[test]
    fn blobs_do_not_compress_again() {
        let (mut p, mut rng) = (Precompressor::default(), Rng::new(2));
        let blobs: Vec<u8> = (0..100).flat_map(|seq| p.blob(&mut rng, seq, 4096)).collect();
        let again = compress(Codec::Zstd, &blobs);
        assert!(again.len() as f64 > 0.9 * blobs.len() as f64, "{} -> {}", blobs.len(), again.len());
    }
}
