//! An OPEN body (version, AS, hold time, identifier, optional parameters); the header is
//! built here. Whatever decodes has every helper called and survives the round trip.
#![no_main]

use bgp_wire::{MAX_MESSAGE_LEN, Open};
use bgp_wire_fuzz::{check_error, check_open, with_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Some(message) = with_header(1, body, MAX_MESSAGE_LEN) else {
        return;
    };
    match Open::decode(&message) {
        Ok(open) => check_open(&open),
        Err(e) => check_error(&e),
    }
});
