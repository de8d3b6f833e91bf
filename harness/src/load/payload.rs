//! Synthetic payloads with realistic compressibility, deterministic from a seed.

use std::fmt::Write;

/// What the generated values look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// Event/order documents with varied values.
    Json,
    /// Log lines.
    Text,
    /// Incompressible bytes.
    Random,
}

impl std::str::FromStr for Payload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(Payload::Json),
            "text" => Ok(Payload::Text),
            "random" => Ok(Payload::Random),
            other => Err(format!("unknown payload '{other}' (expected json, text or random)")),
        }
    }
}

/// Generates records of about `size` bytes.
#[derive(Debug)]
pub struct PayloadGenerator {
    payload: Payload,
    size: usize,
    state: u64,
    counter: u64,
}

const WORDS: [&str; 16] = [
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
const CITIES: [&str; 8] = ["Lisbon", "Berlin", "Austin", "Osaka", "Lagos", "Lima", "Oslo", "Perth"];

impl PayloadGenerator {
    /// A generator; the same seed gives the same records.
    pub fn new(payload: Payload, size: usize, seed: u64) -> Self {
        Self { payload, size, state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, counter: 0 }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough for test data.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The next key and value.
    pub fn next_record(&mut self) -> (String, Vec<u8>) {
        self.counter += 1;
        let key = format!("k{:08}", self.next_u64() % 100_000_000);
        let value = match self.payload {
            Payload::Json => self.json(),
            Payload::Text => self.text(),
            Payload::Random => {
                let size = self.size;
                (0..size.div_ceil(8)).flat_map(|_| self.next_u64().to_le_bytes()).take(size).collect()
            }
        };
        (key, value)
    }

    fn json(&mut self) -> Vec<u8> {
        let mut out = String::with_capacity(self.size + 128);
        let r = self.next_u64();
        let _ = write!(
            out,
            "{{\"event_id\":\"{:016x}\",\"seq\":{},\"type\":\"{}\",\"customer\":{{\"id\":{},\"city\":\"{}\",\"tier\":\"{}\"}},\"items\":[",
            r,
            self.counter,
            WORDS[(r % 16) as usize],
            r % 1_000_000,
            CITIES[(r >> 8) as usize % 8],
            if r.is_multiple_of(3) { "gold" } else { "standard" }
        );
        while out.len() < self.size.saturating_sub(40) {
            let i = self.next_u64();
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
        let _ = write!(out, "{{}}],\"ts\":{}}}", 1_700_000_000_000u64 + self.counter);
        out.into_bytes()
    }

    fn text(&mut self) -> Vec<u8> {
        let mut out = String::with_capacity(self.size + 128);
        while out.len() < self.size {
            let r = self.next_u64();
            let _ = writeln!(
                out,
                "2026-11-25T10:{:02}:{:02}.{:03}Z INFO {} request_id={:012x} user={} took={}ms status={}",
                r % 60,
                (r >> 6) % 60,
                (r >> 12) % 1000,
                WORDS[(r >> 22) as usize % 16],
                r >> 16,
                r % 10_000,
                r % 900,
                if r.is_multiple_of(17) { 500 } else { 200 }
            );
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_near_the_requested_size() {
        let mut a = PayloadGenerator::new(Payload::Json, 1024, 7);
        let mut b = PayloadGenerator::new(Payload::Json, 1024, 7);
        for _ in 0..100 {
            let (ka, va) = a.next_record();
            assert_eq!((ka, va.clone()), b.next_record());
            assert!((900..1200).contains(&va.len()), "{}", va.len());
            assert!(serde_json::from_slice::<serde_json::Value>(&va).is_ok());
        }
        assert_eq!(PayloadGenerator::new(Payload::Random, 1000, 1).next_record().1.len(), 1000);
    }
}
