//! Message header framing (RFC 4271 §4.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker (16 octets of 0xff)          |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::BytesMut;

use crate::error::Error;
use crate::types::MessageType;

/// Octets in the fixed header.
pub const HEADER_LEN: usize = 19;
/// Largest message without RFC 8654 extended messages.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message once RFC 8654 extended messages are negotiated.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;
/// The marker: all ones (RFC 4271 §4.1).
pub const MARKER: [u8; 16] = [0xff; 16];

/// Checks the header at the start of `buf` and returns the length of the whole message.
///
/// Made for a streaming reader: it needs only the first 19 octets, so the reader can learn
/// how much to wait for before the body has arrived.
///
/// * `Ok(None)`: fewer than 19 octets are buffered; read more.
/// * `Ok(Some(len))`: the message is `len` octets (header included); once `buf.len() >= len`
///   hand `buf[..len]` to [`crate::decode`].
/// * `Err(e)`: RFC 4271 §6.1 error; send `e.notification()` and close.
///
/// `max_len` is the negotiated maximum ([`crate::SessionParams::max_message_len`]); OPEN and
/// KEEPALIVE are held to 4096 and 19 octets whatever it is (RFC 8654 §3 exempts them).
pub fn frame_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, Error> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let (marker, rest) = header.split_at(16);
    if marker != MARKER {
        return Err(Error::ConnectionNotSynchronized);
    }
    let (len_bytes, type_byte) = rest.split_at(2);
    let length = u16::from_be_bytes([
        len_bytes.first().copied().unwrap_or(0),
        len_bytes.get(1).copied().unwrap_or(0),
    ]);
    let message_type = MessageType(type_byte.first().copied().unwrap_or(0));
    let len = usize::from(length);
    // RFC 4271 §6.1: "if the Length field of the message header is less than 19 or greater
    // than 4096, or if the Length field of an OPEN message is less than the minimum length
    // of the OPEN message, or ... KEEPALIVE message is not equal to 19 ... then the Error
    // Subcode MUST be set to Bad Message Length."
    let (min, max) = match message_type {
        MessageType::OPEN => (29, MAX_MESSAGE_LEN),
        MessageType::UPDATE => (23, max_len),
        MessageType::NOTIFICATION => (21, max_len),
        MessageType::KEEPALIVE => (HEADER_LEN, HEADER_LEN),
        // The exact ROUTE-REFRESH length is checked by its decoder, which must tell a BoRR /
        // EoRR length error (RFC 7313: 7/1) from a plain one.
        MessageType::ROUTE_REFRESH => (HEADER_LEN, max_len),
        MessageType(other) => {
            if !(HEADER_LEN..=max_len).contains(&len) {
                return Err(Error::BadMessageLength { length });
            }
            return Err(Error::BadMessageType {
                message_type: other,
            });
        }
    };
    if len < min || len > max.min(MAX_EXTENDED_MESSAGE_LEN) {
        return Err(Error::BadMessageLength { length });
    }
    Ok(Some(len))
}

/// Appends a header with a placeholder length; returns the position to patch with
/// [`finish_header`].
pub(crate) fn start_header(out: &mut BytesMut, message_type: MessageType) -> usize {
    let start = out.len();
    // One fixed-size copy: marker, length (patched by `finish_header`), type.
    let mut head = [0xff; HEADER_LEN];
    if let Some(rest) = head.get_mut(16..) {
        rest.copy_from_slice(&[0, 0, message_type.0]);
    }
    out.extend_from_slice(&head);
    start
}

/// Writes the final length into the header started at `start`.
pub(crate) fn finish_header(out: &mut BytesMut, start: usize) {
    let len = (out.len() - start) as u16;
    if let Some(slot) = out.get_mut(start + 16..start + 18) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u16, t: u8) -> Vec<u8> {
        let mut v = vec![0xff; 16];
        v.extend_from_slice(&len.to_be_bytes());
        v.push(t);
        v
    }

    #[test]
    fn partial_header_asks_for_more() {
        assert_eq!(frame_len(&[0xff; 18], 4096), Ok(None));
    }

    #[test]
    fn length_bounds_per_type() {
        assert_eq!(frame_len(&header(19, 4), 4096), Ok(Some(19)));
        assert_eq!(
            frame_len(&header(20, 4), 4096),
            Err(Error::BadMessageLength { length: 20 })
        );
        assert_eq!(
            frame_len(&header(28, 1), 4096),
            Err(Error::BadMessageLength { length: 28 })
        );
        assert_eq!(
            frame_len(&header(22, 2), 4096),
            Err(Error::BadMessageLength { length: 22 })
        );
        assert_eq!(
            frame_len(&header(20, 3), 4096),
            Err(Error::BadMessageLength { length: 20 })
        );
        assert_eq!(
            frame_len(&header(4097, 2), 4096),
            Err(Error::BadMessageLength { length: 4097 })
        );
        assert_eq!(frame_len(&header(4097, 2), 65535), Ok(Some(4097)));
        // OPEN stays within 4096 even with extended messages (RFC 8654 §3).
        assert_eq!(
            frame_len(&header(5000, 1), 65535),
            Err(Error::BadMessageLength { length: 5000 })
        );
        assert_eq!(
            frame_len(&header(18, 2), 4096),
            Err(Error::BadMessageLength { length: 18 })
        );
    }

    #[test]
    fn marker_and_type_are_checked() {
        let mut h = header(19, 4);
        h[3] = 0;
        assert_eq!(frame_len(&h, 4096), Err(Error::ConnectionNotSynchronized));
        assert_eq!(
            frame_len(&header(19, 9), 4096),
            Err(Error::BadMessageType { message_type: 9 })
        );
        let n = Error::BadMessageType { message_type: 9 }.notification();
        assert_eq!((n.code.0, n.subcode, &n.data[..]), (1, 3, &[9u8][..]));
        let n = Error::BadMessageLength { length: 4097 }.notification();
        assert_eq!(
            (n.code.0, n.subcode, &n.data[..]),
            (1, 2, &[0x10u8, 0x01][..])
        );
    }
}
