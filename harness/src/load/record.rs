//! Whole records for the producer: a value of the workload's payload and sampled size, a
//! key (none, random or sequential) and headers with realistic names and values.

use super::payload::{Payload, PayloadGenerator, WORDS};
use super::rng::Rng;
use super::size;
use super::timestamps::{TimestampClock, TimestampSpread};
pub use crate::scenario::{KeyMode, MessageSize};

/// What to generate; the same spec gives the same records.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadSpec {
    /// Value content.
    pub payload: Payload,
    /// Value sizes.
    pub message_size: MessageSize,
    /// Keys.
    pub keys: KeyMode,
    /// Headers per record.
    pub headers: u32,
    /// PRNG seed.
    pub seed: u64,
    /// Explicit record timestamps (`workload.timestamps`); `None`: the producer's clock.
    pub timestamps: Option<TimestampSpread>,
}

impl LoadSpec {
    /// Fixed-size values of `payload` with random keys and no headers.
    pub fn fixed(payload: Payload, bytes: u64, seed: u64) -> Self {
        let message_size = MessageSize::Fixed { bytes };
        LoadSpec { payload, message_size, keys: KeyMode::Random, headers: 0, seed, timestamps: None }
    }
}

/// One generated record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedRecord {
    /// `None` for null keys.
    pub key: Option<Vec<u8>>,
    /// The value.
    pub value: Vec<u8>,
    /// Header names and values, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// CreateTime, Unix ms; `None`: the producer's clock.
    pub timestamp: Option<i64>,
}

impl GeneratedRecord {
    /// Key + value + header name and value bytes: what kbackup counts as a record's source bytes.
    pub fn bytes(&self) -> u64 {
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        (self.key.as_ref().map_or(0, Vec::len) + self.value.len() + headers) as u64
    }
}

/// Generates the records of a [`LoadSpec`], in order.
#[derive(Debug)]
pub struct RecordGenerator {
    spec: LoadSpec,
    rng: Rng,
    payload: PayloadGenerator,
    clock: Option<TimestampClock>,
    seq: u64,
}

impl RecordGenerator {
    /// A generator at the first record.
    pub fn new(spec: LoadSpec) -> Self {
        let payload = PayloadGenerator::new(spec.payload);
        let clock = spec.timestamps.map(|t| TimestampClock::new(t, spec.seed));
        Self { rng: Rng::new(spec.seed), payload, clock, seq: 0, spec }
    }

    /// The next record.
    pub fn next_record(&mut self) -> GeneratedRecord {
        let seq = self.seq;
        self.seq += 1;
        let size = size::sample(&self.spec.message_size, &mut self.rng);
        let value = self.payload.value(&mut self.rng, seq, size);
        let key = match self.spec.keys {
            KeyMode::None => None,
            // Same width either way, so random and sequential keys cost the same bytes.
            KeyMode::Random => Some(format!("key-{:012}", self.rng.below(1_000_000_000_000))),
            KeyMode::Sequential => Some(format!("key-{seq:012}")),
        };
        let headers = (0..self.spec.headers).map(|i| header(i, self.spec.payload, seq, &mut self.rng)).collect();
        let mut record = GeneratedRecord { key: key.map(String::into_bytes), value, headers, timestamp: None };
        record.timestamp = self.clock.as_mut().map(|c| c.next(record.bytes()));
        record
    }
}

const SERVICES: [&str; 4] = ["checkout-svc", "orders-api", "billing-worker", "inventory-sync"];
const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-south-1"];

/// Header number `i` of a record: the common tracing and routing headers first, then
/// `x-attr-<n>` with short random values.
fn header(i: u32, payload: Payload, seq: u64, rng: &mut Rng) -> (String, Vec<u8>) {
    let (name, value): (&str, String) = match i {
        0 => ("trace-id", format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())),
        1 => ("content-type", content_type(payload).to_owned()),
        2 => ("producer", rng.pick(&SERVICES).to_string()),
        3 => ("event-time", (super::payload::EPOCH_MS + seq as i64 * 3).to_string()),
        4 => {
            let (a, b) = (rng.next_u64(), rng.next_u64());
            let uuid = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                0x8000 | (b >> 48) & 0x3fff,
                b & 0xffff_ffff_ffff
            );
            ("correlation-id", uuid)
        }
        5 => ("schema-version", format!("{}", 1 + rng.below(3))),
        6 => ("region", rng.pick(&REGIONS).to_string()),
        7 => ("retry-count", if rng.below(20) == 0 { 1 + rng.below(3) } else { 0 }.to_string()),
        8 => ("origin-event", rng.pick(&WORDS).to_string()),
        _ => return (format!("x-attr-{}", i - 8), format!("{:08x}", rng.next_u64() >> 32).into_bytes()),
    };
    (name.to_owned(), value.into_bytes())
}

/// The MIME type a producer would label a payload with.
pub fn content_type(payload: Payload) -> &'static str {
    match payload {
        Payload::Json => "application/json",
        Payload::Text => "text/plain; charset=utf-8",
        Payload::Avro => "application/vnd.apache.avro+binary",
        Payload::Protobuf => "application/x-protobuf",
        Payload::Random => "application/octet-stream",
        Payload::Precompressed => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(keys: KeyMode, headers: u32) -> LoadSpec {
        LoadSpec { keys, headers, ..LoadSpec::fixed(Payload::Json, 512, 11) }
    }

    fn records(spec: LoadSpec, n: usize) -> Vec<GeneratedRecord> {
        let mut generator = RecordGenerator::new(spec);
        (0..n).map(|_| generator.next_record()).collect()
    }

    #[test]
    fn sequential_keys_count_up_from_zero() {
        let keys: Vec<String> = (records(spec(KeyMode::Sequential, 0), 1000).into_iter())
            .map(|r| String::from_utf8(r.key.unwrap()).unwrap())
            .collect();
        assert_eq!(keys[0], "key-000000000000");
        assert_eq!(keys[999], "key-000000000999");
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "strictly increasing, also as bytes");
    }

    #[test]
    fn random_and_null_keys() {
        let random = records(spec(KeyMode::Random, 0), 1000);
        let mut keys: Vec<&Vec<u8>> = random.iter().map(|r| r.key.as_ref().unwrap()).collect();
        assert!(keys.iter().all(|k| k.len() == "key-000000000000".len()));
        assert!(!keys.windows(2).all(|w| w[0] < w[1]), "not in order");
        keys.sort();
        keys.dedup();
        assert!(keys.len() > 990, "{} distinct of 1000", keys.len());
        assert!(records(spec(KeyMode::None, 0), 10).iter().all(|r| r.key.is_none()));
    }

    #[test]
    fn headers_have_the_requested_count_and_realistic_values() {
        let recs = records(spec(KeyMode::None, 12), 100);
        for r in &recs {
            let names: Vec<&str> = r.headers.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names.len(), 12);
            assert_eq!(&names[..3], ["trace-id", "content-type", "producer"]);
            assert_eq!(names[11], "x-attr-3");
            assert_eq!(r.headers[0].1.len(), 32);
            assert_eq!(r.headers[1].1, b"application/json");
        }
        assert_ne!(recs[0].headers[0], recs[1].headers[0], "trace ids differ per record");
        assert!(records(spec(KeyMode::None, 0), 5).iter().all(|r| r.headers.is_empty()));
    }

    #[test]
    fn bytes_count_key_value_and_headers() {
        let r = GeneratedRecord {
            key: Some(b"ab".to_vec()),
            value: vec![0; 10],
            headers: vec![("xyz".into(), b"1234".to_vec())],
            timestamp: None,
        };
        assert_eq!(r.bytes(), 2 + 10 + 3 + 4);
    }

    #[test]
    fn the_same_spec_gives_the_same_records() {
        let s = LoadSpec {
            message_size: MessageSize::Lognormal { median_bytes: 1000, sigma: 0.8, min_bytes: 100, max_bytes: 20_000 },
            ..spec(KeyMode::Random, 4)
        };
        let a = records(s.clone(), 300);
        assert_eq!(a, records(s.clone(), 300));
        assert_ne!(a, records(LoadSpec { seed: 12, ..s }, 300));
        assert!(a.iter().all(|r| r.timestamp.is_none()), "the producer's clock unless asked");
        let sizes: Vec<usize> = a.iter().map(|r| r.value.len()).collect();
        assert!(sizes.iter().max().unwrap() > &(3 * sizes.iter().min().unwrap()), "sizes vary: {sizes:?}");
    }

    #[test]
    fn timestamps_leave_the_records_as_they_were() {
        use crate::load::timestamps::Progress;
        let plain = spec(KeyMode::Sequential, 2);
        let spread = TimestampSpread { start_ms: 5_000, span_ms: 1_000, jitter_ms: 0, over: Progress::Records(10) };
        let timed = LoadSpec { timestamps: Some(spread), ..plain.clone() };
        let (a, b) = (records(plain, 10), records(timed, 10));
        let strip = |r: &GeneratedRecord| GeneratedRecord { timestamp: None, ..r.clone() };
        assert_eq!(a, b.iter().map(strip).collect::<Vec<_>>(), "same keys, values and headers");
        let ts: Vec<i64> = b.iter().map(|r| r.timestamp.unwrap()).collect();
        assert_eq!(ts, (0..10).map(|i| 5_000 + i * 100).collect::<Vec<i64>>());
    }
}
