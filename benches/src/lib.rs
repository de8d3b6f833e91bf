//! Criterion micro-benchmarks for the engine live in `benches/`; this crate has no library code.
