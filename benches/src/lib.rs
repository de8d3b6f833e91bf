//! Deterministic payload generators and block/segment builders shared by the criterion benches in `benches/`.
//!
//! Three kinds of record values, chosen to bracket what a Kafka backup sees:
//!
//! - [`Payload::Json`]: order/event JSON documents with varied ids, names, prices and timestamps — compresses
//!   well, like most JSON topics.
//! - [`Payload::Avro`]: a plausible Avro binary encoding of an order record behind the Confluent wire-format
//!   prefix — zigzag varints, short strings, a few doubles; denser and less compressible than JSON.
//! - [`Payload::Random`]: uniformly random bytes — incompressible, the worst case for every codec.
//!
//! Everything is driven by a seeded xoshiro256++ generator, so a given seed always yields the same bytes and
//! benchmark runs compare like with like.

use std::fmt::Write as _;

use rand::{Rng as _, RngExt as _, SeedableRng as _};
use rand_xoshiro::Xoshiro256PlusPlus;

use engine::segment::{
    BlockEncoder, Codec, CompressedBlock, EncodedBlock, Header, IndexEntry, Record, SegmentLayout, TimestampType,
    compress_block,
};

/// Seed used by every bench so that runs are comparable.
pub const SEED: u64 = 0x006b_6261_636b_7570; // "kbackup" in ASCII

/// Default block size of the engine (`backup.block_size`): 1 MiB.
pub const BLOCK_SIZE: usize = 1 << 20;

/// First offset and timestamp given to generated records.
const FIRST_OFFSET: i64 = 1_000_000;
const FIRST_TIMESTAMP_MS: i64 = 1_764_000_000_000;

/// The seeded generator behind every payload: xoshiro256++ (`rand_xoshiro`), whose output for a seed is
/// fixed by its specification, so runs compare like with like.
type Rng = Xoshiro256PlusPlus;

/// One element of a non-empty constant table.
fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.random_range(..items.len())]
}

/// The kind of record values a generator produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Order/event JSON documents.
    Json,
    /// Avro binary order records (Confluent wire format).
    Avro,
    /// Uniformly random bytes.
    Random,
}

impl Payload {
    /// Every payload, in the order the benches report them.
    pub const ALL: [Payload; 3] = [Payload::Json, Payload::Avro, Payload::Random];

    /// Short name used in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Payload::Json => "json",
            Payload::Avro => "avro",
            Payload::Random => "random",
        }
    }
}

const FIRST_NAMES: &[&str] = &[
    "Maria", "James", "Aiko", "Lukas", "Fatima", "Chen", "Olga", "Mateo", "Priya", "Kwame", "Sofia", "Noah", "Elif",
    "Hugo", "Ingrid", "Ravi",
];
const LAST_NAMES: &[&str] = &[
    "Lopez", "Smith", "Tanaka", "Muller", "Haddad", "Wei", "Ivanova", "Garcia", "Sharma", "Mensah", "Rossi", "Brown",
    "Yilmaz", "Martin", "Larsen", "Patel",
];
const PRODUCTS: &[&str] = &[
    "USB-C cable",
    "wireless mouse",
    "mechanical keyboard",
    "27in monitor",
    "laptop stand",
    "noise cancelling headphones",
    "webcam",
    "desk lamp",
    "ergonomic chair",
    "thunderbolt dock",
    "portable SSD 1TB",
    "phone case",
];
const CITIES: &[(&str, &str)] = &[
    ("Berlin", "DE"),
    ("Paris", "FR"),
    ("Madrid", "ES"),
    ("Osaka", "JP"),
    ("Austin", "US"),
    ("Toronto", "CA"),
    ("Milan", "IT"),
    ("Leeds", "GB"),
    ("Pune", "IN"),
    ("Accra", "GH"),
];
const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "JPY", "CAD", "INR"];
const EVENT_TYPES: &[&str] = &["order_created", "order_paid", "order_shipped", "order_delivered", "order_cancelled"];
const TIERS: &[&str] = &["bronze", "silver", "gold", "platinum"];
const PAYMENT_METHODS: &[&str] = &["card", "paypal", "bank_transfer", "apple_pay", "voucher"];
const PAYMENT_STATUSES: &[&str] = &["pending", "authorized", "captured", "refunded"];
const NOTE_WORDS: &[&str] = &[
    "please",
    "leave",
    "parcel",
    "at",
    "the",
    "front",
    "door",
    "ring",
    "bell",
    "twice",
    "gift",
    "wrap",
    "no",
    "invoice",
    "call",
    "before",
    "delivery",
    "back",
    "entrance",
    "neighbour",
];

/// An order line shared by the JSON and Avro encodings.
struct Item {
    sku: u32,
    name: &'static str,
    quantity: i64,
    unit_price: f64,
}

/// One order event; the JSON and Avro generators render the same fields.
struct Order {
    event_id: u64,
    event_type: usize,
    timestamp_ms: i64,
    order_id: u64,
    customer_id: i64,
    first: &'static str,
    last: &'static str,
    tier: usize,
    city: usize,
    currency: usize,
    items: Vec<Item>,
    payment_method: usize,
    payment_status: usize,
    express: bool,
    coupon: Option<u32>,
}

impl Order {
    fn random(rng: &mut Rng, seq: u64, timestamp_ms: i64) -> Self {
        let items = (0..rng.random_range(1..=4))
            .map(|_| Item {
                sku: rng.random_range(100..=99_999) as u32,
                name: pick(rng, PRODUCTS),
                quantity: rng.random_range(1..=5),
                unit_price: rng.random_range(199..=129_999) as f64 / 100.0,
            })
            .collect();
        Order {
            event_id: seq,
            event_type: rng.random_range(..EVENT_TYPES.len()),
            timestamp_ms,
            order_id: 0x10_0000 + rng.random_range(..0xEF_FFFF_u64),
            customer_id: rng.random_range(1..=250_000),
            first: pick(rng, FIRST_NAMES),
            last: pick(rng, LAST_NAMES),
            tier: rng.random_range(..TIERS.len()),
            city: rng.random_range(..CITIES.len()),
            currency: rng.random_range(..CURRENCIES.len()),
            items,
            payment_method: rng.random_range(..PAYMENT_METHODS.len()),
            payment_status: rng.random_range(..PAYMENT_STATUSES.len()),
            express: rng.random_bool(0.20),
            coupon: rng.random_bool(0.15).then(|| rng.random_range(1000..=9999) as u32),
        }
    }

    fn total(&self) -> f64 {
        self.items.iter().map(|i| i.quantity as f64 * i.unit_price).sum()
    }

    fn key(&self) -> String {
        format!("ORD-{:06X}", self.order_id)
    }

    /// The order as a JSON document (without the closing brace, so a note can be appended).
    fn json_open(&self, out: &mut String) {
        let (city, country) = CITIES[self.city];
        let ts = self.timestamp_ms;
        let (secs, millis) = (ts.div_euclid(1000), ts.rem_euclid(1000));
        let (day_secs, days) = (secs.rem_euclid(86_400), secs.div_euclid(86_400));
        let (h, m, s) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
        // Not a real calendar: a stable, plausible-looking date derived from the day number.
        let (year, month, day) = (1970 + days / 365, days % 365 / 31 + 1, days % 31 + 1);
        // Writing to a String cannot fail.
        let _ = write!(out, r#"{{"event_id":"evt-{:012}","type":"{}","#, self.event_id, EVENT_TYPES[self.event_type]);
        let _ = write!(out, r#""ts":"{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z""#);
        let _ = write!(
            out,
            r#","order_id":"{}","customer":{{"id":{},"name":"{} {}","email":"{}.{}@example.com","tier":"{}","#,
            self.key(),
            self.customer_id,
            self.first,
            self.last,
            self.first.to_lowercase(),
            self.last.to_lowercase(),
            TIERS[self.tier],
        );
        let _ = write!(out, r#""country":"{country}"}},"items":["#);
        for (i, item) in self.items.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                out,
                r#"{sep}{{"sku":"SKU-{:05}","name":"{}","qty":{},"unit_price":{:.2}}}"#,
                item.sku, item.name, item.quantity, item.unit_price
            );
        }
        let _ = write!(out, r#"],"currency":"{}","total":{:.2},"#, CURRENCIES[self.currency], self.total());
        let _ = write!(
            out,
            r#""payment":{{"method":"{}","status":"{}"}},"shipping":{{"city":"{city}","express":{}}}"#,
            PAYMENT_METHODS[self.payment_method], PAYMENT_STATUSES[self.payment_status], self.express,
        );
        if let Some(c) = self.coupon {
            let _ = write!(out, r#","coupon":"SAVE{c}""#);
        }
    }

    fn json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        self.json_open(&mut out);
        out.push('}');
        out.into_bytes()
    }

    /// The JSON document padded to exactly `len` bytes with a free-text `note` field (longer documents are
    /// returned as they are).
    fn json_sized(&self, rng: &mut Rng, len: usize) -> Vec<u8> {
        let mut out = String::with_capacity(len);
        self.json_open(&mut out);
        out.push_str(r#","note":""#);
        while out.len() + 2 < len {
            if !out.ends_with('"') {
                out.push(' ');
            }
            out.push_str(pick(rng, NOTE_WORDS));
        }
        if out.len() + 2 > len {
            // All generated text is ASCII, so any cut is on a char boundary.
            out.truncate(len.saturating_sub(2));
        }
        out.push_str("\"}");
        out.into_bytes()
    }

    /// The order in Avro binary encoding after the Confluent prefix (magic 0, schema id u32 BE). Schema:
    /// `{order_id: long, customer_id: long, created_at: long (timestamp-millis), status: enum, customer_name:
    /// string, country: string, currency: string, items: array<{sku: string, quantity: int, unit_price:
    /// double}>, total: double, express: boolean, coupon: union{null, string}}`.
    fn avro(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.push(0);
        out.extend_from_slice(&42u32.to_be_bytes());
        put_long(&mut out, self.order_id as i64);
        put_long(&mut out, self.customer_id);
        put_long(&mut out, self.timestamp_ms);
        put_long(&mut out, self.event_type as i64);
        let name = format!("{} {}", self.first, self.last);
        put_string(&mut out, &name);
        put_string(&mut out, CITIES[self.city].1);
        put_string(&mut out, CURRENCIES[self.currency]);
        put_long(&mut out, self.items.len() as i64);
        for item in &self.items {
            put_string(&mut out, &format!("SKU-{:05}", item.sku));
            put_long(&mut out, item.quantity);
            out.extend_from_slice(&item.unit_price.to_le_bytes());
        }
        put_long(&mut out, 0); // end of array blocks
        out.extend_from_slice(&self.total().to_le_bytes());
        out.push(u8::from(self.express));
        match self.coupon {
            None => put_long(&mut out, 0),
            Some(c) => {
                put_long(&mut out, 1);
                put_string(&mut out, &format!("SAVE{c}"));
            }
        }
        out
    }
}

/// Avro `long`/`int`: zigzag then unsigned LEB128 varint.
fn put_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Avro `string`: zigzag varint length then UTF-8 bytes.
fn put_string(out: &mut Vec<u8>, s: &str) {
    put_long(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

/// An endless, deterministic stream of records with consecutive offsets and slowly increasing timestamps.
#[derive(Clone, Debug)]
pub struct RecordGen {
    payload: Payload,
    rng: Rng,
    offset: i64,
    timestamp_ms: i64,
}

impl RecordGen {
    /// A generator of `payload` records from `seed`.
    pub fn new(payload: Payload, seed: u64) -> Self {
        RecordGen { payload, rng: Rng::seed_from_u64(seed), offset: FIRST_OFFSET, timestamp_ms: FIRST_TIMESTAMP_MS }
    }

    fn advance(&mut self) -> (i64, i64) {
        let at = (self.offset, self.timestamp_ms);
        self.offset += 1;
        self.timestamp_ms += self.rng.random_range(0..=40);
        at
    }

    fn headers(&mut self, content_type: &str) -> Vec<Header> {
        let mut trace = [0u8; 8];
        self.rng.fill_bytes(&mut trace);
        let trace_id: String = trace.iter().map(|b| format!("{b:02x}")).collect();
        vec![
            Header { key: "content-type".to_owned(), value: Some(content_type.as_bytes().to_vec()) },
            Header { key: "trace-id".to_owned(), value: Some(trace_id.into_bytes()) },
        ]
    }

    /// The next record, with a value of the generator's natural size (JSON ~400–700 bytes, Avro ~60–130 bytes,
    /// random 256–2048 bytes).
    pub fn next_record(&mut self) -> Record {
        let (offset, timestamp) = self.advance();
        let (key, value, headers) = match self.payload {
            Payload::Json => {
                let order = Order::random(&mut self.rng, offset as u64, timestamp);
                (order.key().into_bytes(), order.json(), self.headers("application/json"))
            }
            Payload::Avro => {
                let order = Order::random(&mut self.rng, offset as u64, timestamp);
                (order.key().into_bytes(), order.avro(), self.headers("application/vnd.kafka.avro.v2"))
            }
            Payload::Random => {
                let mut key = vec![0u8; 16];
                self.rng.fill_bytes(&mut key);
                let mut value = vec![0u8; self.rng.random_range(256..=2048) as usize];
                self.rng.fill_bytes(&mut value);
                (key, value, Vec::new())
            }
        };
        created(offset, timestamp, key, value, headers)
    }

    /// The next record with a value of exactly `len` bytes (JSON is padded with a note field; Avro records
    /// are concatenated and cut, as a batch-of-rows value would look).
    pub fn next_record_sized(&mut self, len: usize) -> Record {
        let (offset, timestamp) = self.advance();
        let (key, value, headers) = match self.payload {
            Payload::Json => {
                let order = Order::random(&mut self.rng, offset as u64, timestamp);
                let mut value = order.json_sized(&mut self.rng, len);
                value.truncate(len);
                (order.key().into_bytes(), value, self.headers("application/json"))
            }
            Payload::Avro => {
                let order = Order::random(&mut self.rng, offset as u64, timestamp);
                let mut value = Vec::with_capacity(len + 256);
                while value.len() < len {
                    let row = Order::random(&mut self.rng, offset as u64, timestamp);
                    value.extend_from_slice(&row.avro());
                }
                value.truncate(len);
                (order.key().into_bytes(), value, self.headers("application/vnd.kafka.avro.v2"))
            }
            Payload::Random => {
                let mut key = vec![0u8; 16];
                self.rng.fill_bytes(&mut key);
                let mut value = vec![0u8; len];
                self.rng.fill_bytes(&mut value);
                (key, value, Vec::new())
            }
        };
        created(offset, timestamp, key, value, headers)
    }
}

/// Records from `payload` whose encoded size first reaches `target_bytes`, as an encoded (uncompressed) block.
pub fn encoded_block(payload: Payload, target_bytes: usize) -> EncodedBlock {
    let mut generator = RecordGen::new(payload, SEED);
    let mut encoder = BlockEncoder::with_capacity(target_bytes + 4096);
    while encoder.encoded_len() < target_bytes {
        encoder.push_record(&generator.next_record());
    }
    encoder.finish()
}

/// `count` records of `payload` whose values are exactly `value_len` bytes.
pub fn sized_records(payload: Payload, count: usize, value_len: usize) -> Vec<Record> {
    let mut generator = RecordGen::new(payload, SEED);
    (0..count).map(|_| generator.next_record_sized(value_len)).collect()
}

/// The index entry a segment would hold for `block` as its only block; all `decode_block` needs.
pub fn index_entry(block: &CompressedBlock) -> IndexEntry {
    let m = &block.meta;
    IndexEntry {
        first_offset: m.first_offset,
        last_offset: m.last_offset,
        min_timestamp: m.min_timestamp,
        max_timestamp: m.max_timestamp,
        record_count: m.record_count,
        position: engine::segment::HEADER_LEN as u64,
        compressed_len: u32::try_from(block.data.len()).expect("block under 4 GiB"),
        uncompressed_len: block.uncompressed_len,
        crc32c: block.crc32c,
    }
}

/// Writes `records` as one in-memory segment the way a backup does: encode into blocks of `block_size`,
/// compress each with `codec` at `level`, lay out header, blocks and trailer. Returns the object bytes and
/// the total uncompressed block bytes.
///
/// # Panics
/// If compression fails, which it cannot for non-empty blocks under 256 MiB.
pub fn write_segment(records: &[Record], codec: Codec, level: i32, block_size: usize) -> (Vec<u8>, u64) {
    let mut layout = SegmentLayout::new(codec);
    let mut object = layout.header();
    let mut encoder = BlockEncoder::with_capacity(block_size + 4096);
    let add = |encoder: &mut BlockEncoder, layout: &mut SegmentLayout, object: &mut Vec<u8>| {
        let block = compress_block(encoder.finish(), codec, level).expect("compress block");
        layout.add_block(&block);
        object.extend_from_slice(&block.data);
    };
    for r in records {
        encoder.push_record(r);
        if encoder.encoded_len() >= block_size {
            add(&mut encoder, &mut layout, &mut object);
        }
    }
    if !encoder.is_empty() {
        add(&mut encoder, &mut layout, &mut object);
    }
    let (trailer, summary) = layout.finish();
    object.extend_from_slice(&trailer);
    (object, summary.uncompressed_bytes)
}

/// A record with a CreateTime timestamp and non-null key and value.
fn created(offset: i64, timestamp: i64, key: Vec<u8>, value: Vec<u8>, headers: Vec<Header>) -> Record {
    Record { offset, timestamp, timestamp_type: TimestampType::CreateTime, key: Some(key), value: Some(value), headers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::segment::{SegmentReader, decode_block};

    #[test]
    fn generators_are_deterministic_and_sized() {
        for payload in Payload::ALL {
            let a = encoded_block(payload, 64 << 10);
            let b = encoded_block(payload, 64 << 10);
            assert_eq!(a.data, b.data, "{payload:?}");
            assert!(a.data.len() >= 64 << 10);
            for r in sized_records(payload, 20, 1024) {
                assert_eq!(r.value.as_ref().map(Vec::len), Some(1024), "{payload:?}");
            }
        }
    }

    #[test]
    fn json_values_parse_as_json_objects() {
        let mut generator = RecordGen::new(Payload::Json, SEED);
        for _ in 0..50 {
            let v = generator.next_record().value.expect("value");
            let s = std::str::from_utf8(&v).expect("utf-8");
            assert!(s.starts_with('{') && s.ends_with('}') && s.contains(r#""items":[{"sku":"#), "{s}");
            let sized = generator.next_record_sized(1024).value.expect("value");
            assert!(sized.ends_with(b"\"}"));
        }
    }

    #[test]
    fn avro_varints_are_zigzag() {
        let mut out = Vec::new();
        for v in [0, -1, 1, -64, 64] {
            put_long(&mut out, v);
        }
        assert_eq!(out, [0x00, 0x01, 0x02, 0x7f, 0x80, 0x01]);
    }

    #[test]
    fn blocks_and_segments_round_trip() {
        let block = encoded_block(Payload::Avro, 32 << 10);
        let compressed = compress_block(block, Codec::Zstd, 3).expect("compress");
        let records = decode_block(&compressed.data, &index_entry(&compressed), Codec::Zstd, 0).expect("decode");
        assert_eq!(records.len() as u32, compressed.meta.record_count);

        let records = sized_records(Payload::Json, 300, 1024);
        let (object, uncompressed) = write_segment(&records, Codec::Zstd, 3, 64 << 10);
        let reader = SegmentReader::open(&object).expect("open");
        assert_eq!(reader.verify().expect("verify").uncompressed_bytes, uncompressed);
        let back: Vec<Record> = reader.records().collect::<Result<_, _>>().expect("records");
        assert_eq!(back, records);
    }
}
