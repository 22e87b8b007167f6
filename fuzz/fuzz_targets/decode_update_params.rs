//! Two octets choosing the session (4-octet AS, eBGP, extended message, ADD-PATH per family;
//! see `session_from_prefix`), then an UPDATE body. The header is built here so that the
//! fuzzer spends its time in the body. Every accessor of the view is walked and the owned
//! form must survive the round trip.
#![no_main]

use bgp_wire::UpdateRef;
use bgp_wire_fuzz::{
    check_error, check_update_round_trip, session_from_prefix, walk_update, with_header,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (params, body) = session_from_prefix(data);
    let Some(message) = with_header(2, body, params.max_message_len()) else {
        return;
    };
    match UpdateRef::decode(message, &params) {
        Ok(update) => {
            walk_update(&update);
            check_update_round_trip(&update);
        }
        Err(e) => check_error(&e),
    }
});
