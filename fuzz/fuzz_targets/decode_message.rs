//! Any bytes as one whole message (header included): `frame_len` and `decode` must not
//! panic, and whatever decodes survives the round trip through its owned form.
#![no_main]

use bgp_wire_fuzz::{check_error, check_frame_len, check_message, message_params};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_frame_len(data);
    let params = message_params();
    match bgp_wire::decode(Bytes::copy_from_slice(data), &params) {
        Ok(message) => check_message(&message, &params),
        Err(e) => check_error(&e),
    }
});
