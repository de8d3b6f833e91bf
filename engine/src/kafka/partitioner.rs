//! The Java client's default partitioner for keyed records: `toPositive(murmur2(key)) % partitions`,
//! so a repartitioned restore puts each key where a Java producer (or librdkafka's `murmur2`
//! partitioner) would put it on a topic with that many partitions.
//!
//! # References
//! - `org.apache.kafka.common.utils.Utils.murmur2` / `toPositive` and
//!   `BuiltInPartitioner.partitionForKey` in the Kafka clients.
//! - librdkafka `src/rdmurmur2.c` (`rd_murmur2`, whose unit test vectors are reused below) and
//!   `rd_kafka_msg_partitioner_murmur2`.

/// Kafka's murmur2 (MurmurHash2, seed `0x9747b28c`, little-endian words) of `data`.
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Java computes with the length as an int; keys longer than 4 GiB do not exist in Kafka.
    let mut h = SEED ^ data.len() as u32;
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

/// The partition the Java client's default partitioner picks for a non-null `key` on a topic of
/// `partitions` partitions (`partitions` ≥ 1). An empty key is a key: it hashes like any other.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    debug_assert!(partitions > 0, "a topic has at least one partition");
    // `toPositive` clears the sign bit (it is not `abs`: that would differ for negative hashes).
    ((murmur2(key) & 0x7fff_ffff) % partitions.max(1) as u32) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// librdkafka's `unittest_murmur2` vectors (which it checks against the Java implementation),
    /// including the unaligned suffixes of its strings.
    #[test]
    fn matches_librdkafka_vectors() {
        let short = "1234";
        let long = "PreAmbleWillBeRemoved,ThePrePartThatIs";
        let cases: [(&str, u32); 11] = [
            ("kafka", 0xd067cf64),
            ("giberish123456789", 0x8f552b0c),
            (short, 0x9fc97b14),
            (&short[1..], 0xe7c009ca),
            (&short[2..], 0x873930da),
            (&short[3..], 0x5a4b5ca1),
            (long, 0x78424f1c),
            (&long[1..], 0x4a62b377),
            (&long[2..], 0xe0e4e09e),
            (&long[3..], 0x62b8b43f),
            ("", 0x106e08d9),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2({key:?})");
        }
    }

    /// Kafka's own `UtilsTest.testMurmur2` vectors (Java ints).
    #[test]
    fn matches_kafka_utils_test_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key) as i32, expected, "murmur2({:?})", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn partition_is_the_positive_hash_modulo_the_count() {
        // murmur2("kafka") = 0xd067cf64: negative as a Java int, so the sign bit is cleared first.
        assert_eq!(partition_for_key(b"kafka", 6), ((0xd067cf64u32 & 0x7fff_ffff) % 6) as i32);
        assert_eq!(partition_for_key(b"abc", 1), 0);
        for n in 1..50 {
            let p = partition_for_key(b"giberish123456789", n);
            assert!((0..n).contains(&p));
        }
    }
}
