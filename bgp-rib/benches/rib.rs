//! Placeholder; the benches come with the table generator.
fn main() {}
