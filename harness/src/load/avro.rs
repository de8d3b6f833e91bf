//! The `avro` payload: an order event in Avro's binary encoding, built and encoded with
//! apache-avro. Each message value is the raw datum (`GenericDatumWriter`): no object-container
//! header and no single-object or schema-registry prefix, which is what a Kafka value
//! holds after a registry client strips its 5-byte prefix. [`SCHEMA`] decodes it.

use std::sync::OnceLock;

use apache_avro::Schema;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;

use super::payload::{CITIES, EPOCH_MS, WORDS};
use super::rng::Rng;

/// The writer schema: strings, longs, ints, doubles, enums, an array of records and
/// optional (`["null", T]`) fields.
pub const SCHEMA: &str = r#"{
  "type": "record", "name": "OrderEvent", "namespace": "dev.kbackup.bench",
  "fields": [
    {"name": "event_id", "type": "string"},
    {"name": "seq", "type": "long"},
    {"name": "ts", "type": "long"},
    {"name": "type", "type": {"type": "enum", "name": "EventType",
      "symbols": ["CREATED", "PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"]}},
    {"name": "customer_id", "type": "long"},
    {"name": "city", "type": "string"},
    {"name": "tier", "type": {"type": "enum", "name": "Tier", "symbols": ["STANDARD", "SILVER", "GOLD"]}},
    {"name": "coupon", "type": ["null", "string"], "default": null},
    {"name": "total", "type": "double"},
    {"name": "items", "type": {"type": "array", "items": {
      "type": "record", "name": "LineItem", "fields": [
        {"name": "sku", "type": "string"},
        {"name": "qty", "type": "int"},
        {"name": "price", "type": "double"},
        {"name": "tag", "type": "string"},
        {"name": "discount", "type": ["null", "double"], "default": null}
      ]}}}
  ]
}"#;

const EVENT_TYPES: [&str; 6] = ["CREATED", "PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"];
const TIERS: [&str; 3] = ["STANDARD", "SILVER", "GOLD"];

/// Encodes order events of about a requested size.
pub struct AvroEncoder {
    writer: GenericDatumWriter<'static>,
    /// Encoded bytes of an event without items, and per item: running estimates that pick
    /// the item count, updated from every encoded value (deterministic, as the values are).
    base_bytes: f64,
    item_bytes: f64,
}

impl Default for AvroEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for AvroEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (f.debug_struct("AvroEncoder").field("base_bytes", &self.base_bytes))
            .field("item_bytes", &self.item_bytes)
            .finish_non_exhaustive()
    }
}

impl AvroEncoder {
    /// An encoder for [`SCHEMA`]; values are validated against it as they are written.
    pub fn new() -> Self {
        let writer = GenericDatumWriter::builder(schema()).build().expect("SCHEMA resolves");
        Self { writer, base_bytes: 70.0, item_bytes: 30.0 }
    }

    /// One encoded event of about `size` bytes.
    pub fn encode(&mut self, rng: &mut Rng, seq: u64, size: usize) -> Vec<u8> {
        let items = ((size as f64 - self.base_bytes) / self.item_bytes).round().max(0.0) as usize;
        let value = event(rng, seq, items);
        let bytes = self.writer.write_value_to_vec(value).expect("the generated event matches SCHEMA");
        if items > 0 {
            let per_item = (bytes.len() as f64 - self.base_bytes) / items as f64;
            self.item_bytes = (0.9 * self.item_bytes + 0.1 * per_item).max(8.0);
        } else {
            self.base_bytes = 0.9 * self.base_bytes + 0.1 * bytes.len() as f64;
        }
        bytes
    }
}

/// The parsed [`SCHEMA`] (parsed once: the writer borrows it for the life of the process).
pub fn schema() -> &'static Schema {
    static PARSED: OnceLock<Schema> = OnceLock::new();
    PARSED.get_or_init(|| Schema::parse_str(SCHEMA).expect("SCHEMA is valid Avro"))
}

fn event(rng: &mut Rng, seq: u64, items: usize) -> Value {
    let r = rng.next_u64();
    let kind = (r % 6) as u32;
    let tier = ((r >> 8) % 3) as u32;
    let coupon = if r.is_multiple_of(4) {
        Value::Union(1, Box::new(Value::String(format!("{}-{}", WORDS[(r >> 12) as usize % 16], (r >> 20) % 100))))
    } else {
        Value::Union(0, Box::new(Value::Null))
    };
    let lines: Vec<Value> = (0..items).map(|_| item(rng)).collect();
    let total: f64 = lines.len() as f64 * 12.5 + (r % 10_000) as f64 / 100.0;
    Value::Record(vec![
        ("event_id".into(), Value::String(format!("{:016x}", rng.next_u64()))),
        ("seq".into(), Value::Long(seq as i64)),
        ("ts".into(), Value::Long(EPOCH_MS + seq as i64 * 3 + (r % 3) as i64)),
        ("type".into(), Value::Enum(kind, EVENT_TYPES[kind as usize].into())),
        ("customer_id".into(), Value::Long((r >> 16) as i64 % 1_000_000)),
        ("city".into(), Value::String(CITIES[(r >> 40) as usize % 8].into())),
        ("tier".into(), Value::Enum(tier, TIERS[tier as usize].into())),
        ("coupon".into(), coupon),
        ("total".into(), Value::Double(total)),
        ("items".into(), Value::Array(lines)),
    ])
}

fn item(rng: &mut Rng) -> Value {
    let i = rng.next_u64();
    let discount = if i.is_multiple_of(5) {
        Value::Union(1, Box::new(Value::Double((i >> 30) as f64 % 20.0 / 4.0)))
    } else {
        Value::Union(0, Box::new(Value::Null))
    };
    Value::Record(vec![
        ("sku".into(), Value::String(format!("SKU-{:05}", i % 50_000))),
        ("qty".into(), Value::Int(1 + (i % 5) as i32)),
        ("price".into(), Value::Double((i >> 8) as f64 % 50_000.0 / 100.0)),
        ("tag".into(), Value::String(WORDS[(i >> 20) as usize % 16].into())),
        ("discount".into(), discount),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(record: &'a Value, name: &str) -> &'a Value {
        let Value::Record(fields) = record else { panic!("not a record: {record:?}") };
        &fields.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn values_decode_with_the_schema() {
        let (mut encoder, mut rng) = (AvroEncoder::new(), Rng::new(3));
        // A schema parsed from the text again, as a consumer would.
        let schema = Schema::parse_str(SCHEMA).unwrap();
        let datum_reader = apache_avro::reader::datum::GenericDatumReader::builder(&schema).build().unwrap();
        for seq in 0..100 {
            let bytes = encoder.encode(&mut rng, seq, 1024);
            let mut reader = bytes.as_slice();
            let decoded = datum_reader.read_value(&mut reader).unwrap();
            assert!(reader.is_empty(), "the datum is the whole value");
            assert_eq!(field(&decoded, "seq"), &Value::Long(seq as i64));
            assert!(matches!(field(&decoded, "type"), Value::Enum(_, s) if EVENT_TYPES.contains(&s.as_str())));
            let Value::Array(items) = field(&decoded, "items") else { panic!("items") };
            assert!(items.len() > 10, "{} items in 1 KiB", items.len());
            assert!(matches!(field(&items[0], "sku"), Value::String(s) if s.starts_with("SKU-")));
            // Re-encoding the decoded value gives the same bytes: nothing was lost.
            assert_eq!(encoder.writer.write_value_to_vec(decoded).unwrap(), bytes);
        }
    }

    #[test]
    fn sizes_follow_the_request() {
        let (mut encoder, mut rng) = (AvroEncoder::new(), Rng::new(1));
        for size in [256usize, 4096, 100_000] {
            let lens: Vec<usize> = (0..40).map(|seq| encoder.encode(&mut rng, seq, size).len()).collect();
            let mean = lens[20..].iter().sum::<usize>() as f64 / 20.0;
            assert!((mean / size as f64 - 1.0).abs() < 0.15, "size {size}: mean {mean}");
        }
    }
}
