//! Arbitrary bytes as a sequence of FSM events for a pair of sessions (issue 3).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bgp_fsm::testing::drive_from_bytes(std::time::Instant::now(), data)
});
