//! The `protobuf` payload: click-stream events in the protobuf wire format, defined with
//! `prost` derives (no `.proto` file or build script). Mostly varints — ids, counters,
//! enums, zigzag deltas, a packed list — as real event schemas are.

use prost::Message;

use super::payload::{EPOCH_MS, WORDS};
use super::rng::Rng;

/// One user interaction (proto3).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClickEvent {
    #[prost(uint64, tag = "1")]
    pub event_id: u64,
    #[prost(int64, tag = "2")]
    pub timestamp_ms: i64,
    #[prost(enumeration = "EventKind", tag = "3")]
    pub kind: i32,
    #[prost(uint32, tag = "4")]
    pub user_id: u32,
    #[prost(uint32, tag = "5")]
    pub session_seq: u32,
    #[prost(string, tag = "6")]
    pub page: String,
    #[prost(sint32, tag = "7")]
    pub scroll_delta: i32,
    #[prost(uint64, optional, tag = "8")]
    pub referrer_id: Option<u64>,
    #[prost(message, repeated, tag = "9")]
    pub items: Vec<Item>,
    #[prost(uint64, repeated, tag = "10")]
    pub recent_ids: Vec<u64>,
}

/// A product shown or bought in the event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Item {
    #[prost(uint32, tag = "1")]
    pub sku: u32,
    #[prost(uint32, tag = "2")]
    pub quantity: u32,
    #[prost(int64, tag = "3")]
    pub price_micros: i64,
    #[prost(enumeration = "Category", tag = "4")]
    pub category: i32,
    #[prost(sint64, tag = "5")]
    pub stock_delta: i64,
}

/// What the user did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum EventKind {
    Unspecified = 0,
    View = 1,
    Click = 2,
    AddToCart = 3,
    Purchase = 4,
}

/// Product category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Category {
    Unspecified = 0,
    Books = 1,
    Garden = 2,
    Toys = 3,
    Food = 4,
    Electronics = 5,
}

const ITEMS_TAG: u32 = 9;

/// One encoded event of `size` bytes or up to one item (about 20 bytes) more.
pub fn encode(rng: &mut Rng, seq: u64, size: usize) -> Vec<u8> {
    event(rng, seq, size).encode_to_vec()
}

/// An event that encodes to at least `size` bytes (or its minimal form when smaller).
pub fn event(rng: &mut Rng, seq: u64, size: usize) -> ClickEvent {
    let r = rng.next_u64();
    let mut event = ClickEvent {
        event_id: r >> 8,
        timestamp_ms: EPOCH_MS + seq as i64 * 3 + (r % 3) as i64,
        kind: 1 + (r % 4) as i32,
        user_id: (r >> 20) as u32 % 2_000_000,
        session_seq: (r % 300) as u32,
        page: format!("/{}/{}", WORDS[(r >> 40) as usize % 16], (r >> 44) % 1000),
        scroll_delta: ((r >> 50) % 2001) as i32 - 1000,
        referrer_id: r.is_multiple_of(3).then_some((r >> 24) % 100_000),
        items: Vec::new(),
        recent_ids: (0..(r >> 60)).map(|_| rng.below(10_000_000)).collect(),
    };
    // encoded_len of the fields is additive, so items can be counted exactly as they are added.
    let mut len = event.encoded_len();
    while len < size {
        let item = item(rng);
        len += prost::encoding::message::encoded_len(ITEMS_TAG, &item);
        event.items.push(item);
    }
    event
}

fn item(rng: &mut Rng) -> Item {
    let i = rng.next_u64();
    Item {
        sku: (i % 50_000) as u32,
        quantity: 1 + (i >> 16) as u32 % 5,
        price_micros: ((i >> 20) % 500_000) as i64 * 1000,
        category: 1 + ((i >> 40) % 5) as i32,
        stock_delta: ((i >> 44) % 201) as i64 - 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode_with_prost() {
        let mut rng = Rng::new(9);
        for seq in 0..100 {
            let bytes = encode(&mut rng, seq, 1024);
            assert!((1024..1050).contains(&bytes.len()), "{}", bytes.len());
            let event = ClickEvent::decode(bytes.as_slice()).unwrap();
            assert!((0..3).contains(&(event.timestamp_ms - EPOCH_MS - seq as i64 * 3)));
            assert!(EventKind::try_from(event.kind).is_ok_and(|k| k != EventKind::Unspecified));
            assert!(event.items.len() > 40, "{} items in 1 KiB: varints keep them small", event.items.len());
            assert!(event.items.iter().all(|i| Category::try_from(i.category).is_ok() && i.quantity >= 1));
            assert_eq!(event.encode_to_vec(), bytes, "re-encoding gives the same bytes");
        }
    }

    #[test]
    fn tiny_sizes_give_the_bare_event() {
        let mut rng = Rng::new(1);
        let event = ClickEvent::decode(encode(&mut rng, 0, 1).as_slice()).unwrap();
        assert!(event.items.is_empty());
    }
}
