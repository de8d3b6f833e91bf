//! Record values by payload type, each with the compressibility of the real thing: JSON
//! order documents, log text, binary Avro and Protobuf events, incompressible random bytes
//! and already-compressed blobs. The shared vocabulary lives here too.

use std::fmt::Write;

use super::avro::AvroEncoder;
use super::precompressed::Precompressor;
use super::protobuf;
use super::rng::Rng;
pub use crate::scenario::Payload;

/// Event names; also Avro enum and header vocabulary.
pub(super) const WORDS: [&str; 16] = [
    "checkout",
    "payment",
    "shipment",
    "refund",
    "cart",
    "login",
    "search",
    "view",
    "basket",
    "invoice",
    "warehouse",
    "courier",
    "discount",
    "voucher",
    "account",
    "session",
];
/// Customer cities.
pub(super) const CITIES: [&str; 8] = ["Lisbon", "Berlin", "Austin", "Osaka", "Lagos", "Lima", "Oslo", "Perth"];
/// Event timestamps start here (2023-11-14) and advance by a few ms per message.
pub(super) const EPOCH_MS: i64 = 1_700_000_000_000;

/// Makes values of one payload type. Sizes are targets: `random` is exact, the structured
/// payloads stop at the first whole item at or past the size (so they overshoot by less than
/// one item), `avro` and `precompressed` steer by a running estimate and land within a few
/// percent on average. The produce phase counts the bytes actually sent.
#[derive(Debug)]
pub struct PayloadGenerator {
    payload: Payload,
    /// Made on first use: it parses the schema.
    avro: Option<AvroEncoder>,
    precompressor: Precompressor,
}

impl PayloadGenerator {
    /// A generator of `payload` values.
    pub fn new(payload: Payload) -> Self {
        Self { payload, avro: None, precompressor: Precompressor::default() }
    }

    /// The value of message number `seq`, about `size` bytes.
    pub fn value(&mut self, rng: &mut Rng, seq: u64, size: usize) -> Vec<u8> {
        match self.payload {
            Payload::Json => json(rng, seq, size),
            Payload::Text => text(rng, seq, size),
            Payload::Avro => self.avro.get_or_insert_with(AvroEncoder::new).encode(rng, seq, size),
            Payload::Protobuf => protobuf::encode(rng, seq, size),
            Payload::Random => rng.bytes(size),
            Payload::Precompressed => self.precompressor.blob(rng, seq, size),
        }
    }
}

/// A JSON order event: customer, then line items until `size` is reached.
pub fn json(rng: &mut Rng, seq: u64, size: usize) -> Vec<u8> {
    let mut out = String::with_capacity(size + 128);
    let r = rng.next_u64();
    let _ = write!(
        out,
        "{{\"event_id\":\"{:016x}\",\"seq\":{seq},\"type\":\"{}\",\"customer\":{{\"id\":{},\"city\":\"{}\",\"tier\":\"{}\"}},\"items\":[",
        r,
        WORDS[(r % 16) as usize],
        r % 1_000_000,
        CITIES[(r >> 8) as usize % 8],
        if r.is_multiple_of(3) { "gold" } else { "standard" }
    );
    while out.len() < size.saturating_sub(40) {
        let i = rng.next_u64();
        let _ = write!(
            out,
            "{{\"sku\":\"SKU-{:05}\",\"qty\":{},\"price\":{}.{:02},\"tag\":\"{}\"}},",
            i % 50_000,
            1 + i % 5,
            i % 500,
            i % 100,
            WORDS[(i >> 20) as usize % 16]
        );
    }
    let _ = write!(out, "{{}}],\"ts\":{}}}", EPOCH_MS + seq as i64);
    out.into_bytes()
}

/// Application log lines until `size` is reached.
pub fn text(rng: &mut Rng, seq: u64, size: usize) -> Vec<u8> {
    let mut out = String::with_capacity(size + 128);
    let mut line = 0;
    while out.len() < size {
        let r = rng.next_u64();
        let ms = seq * 7 + line;
        line += 1;
        let _ = writeln!(
            out,
            "2026-11-25T10:{:02}:{:02}.{:03}Z {} {} request_id={:012x} user={} took={}ms status={}",
            (ms / 60_000) % 60,
            (ms / 1000) % 60,
            ms % 1000,
            if r.is_multiple_of(17) { "WARN" } else { "INFO" },
            WORDS[(r >> 22) as usize % 16],
            r >> 16,
            r % 10_000,
            r % 900,
            if r.is_multiple_of(17) { 500 } else { 200 }
        );
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(payload: Payload, size: usize, seed: u64, n: u64) -> Vec<Vec<u8>> {
        let (mut generator, mut rng) = (PayloadGenerator::new(payload), Rng::new(seed));
        (0..n).map(|seq| generator.value(&mut rng, seq, size)).collect()
    }

    #[test]
    fn every_payload_is_deterministic_varied_and_near_the_size() {
        for payload in
            [Payload::Json, Payload::Text, Payload::Avro, Payload::Protobuf, Payload::Random, Payload::Precompressed]
        {
            let a = values(payload, 2048, 7, 200);
            assert_eq!(a, values(payload, 2048, 7, 200), "{payload}: same seed, same values");
            assert_ne!(a, values(payload, 2048, 8, 200), "{payload}: another seed, other values");
            let mut unique = a.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), a.len(), "{payload}: no value repeats");
            // Later values, after any running estimate has settled.
            let mean = a[50..].iter().map(Vec::len).sum::<usize>() as f64 / 150.0;
            assert!((1700.0..2500.0).contains(&mean), "{payload}: mean size {mean}");
        }
    }

    #[test]
    fn json_and_text_parse() {
        for v in values(Payload::Json, 1024, 1, 50) {
            let doc: serde_json::Value = serde_json::from_slice(&v).unwrap();
            assert!(doc["items"].as_array().is_some_and(|i| i.len() > 5));
        }
        for v in values(Payload::Text, 1024, 1, 50) {
            let text = String::from_utf8(v).unwrap();
            assert!(text.lines().all(|l| l.starts_with("2026-11-25T10:") && l.contains("request_id=")));
        }
    }

    #[test]
    fn random_values_have_the_exact_size() {
        assert!(values(Payload::Random, 1000, 1, 10).iter().all(|v| v.len() == 1000));
    }
}
