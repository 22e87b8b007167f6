//! Placeholder replaced by the full-table decode bench.
fn main() {}
