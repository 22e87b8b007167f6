//! NOTIFICATION message (RFC 4271 §4.5) with every registered error code and subcode.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use core::fmt;

use crate::types::{Afi, Safi};

/// NOTIFICATION error code (RFC 4271 §4.5 and the IANA "BGP Error Codes" registry).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    /// 1: Message Header Error (RFC 4271 §6.1).
    pub const MESSAGE_HEADER: ErrorCode = ErrorCode(1);
    /// 2: OPEN Message Error (RFC 4271 §6.2).
    pub const OPEN_MESSAGE: ErrorCode = ErrorCode(2);
    /// 3: UPDATE Message Error (RFC 4271 §6.3).
    pub const UPDATE_MESSAGE: ErrorCode = ErrorCode(3);
    /// 4: Hold Timer Expired (RFC 4271 §6.5).
    pub const HOLD_TIMER_EXPIRED: ErrorCode = ErrorCode(4);
    /// 5: Finite State Machine Error (RFC 4271 §6.6, RFC 6608).
    pub const FSM: ErrorCode = ErrorCode(5);
    /// 6: Cease (RFC 4271 §6.7, RFC 4486).
    pub const CEASE: ErrorCode = ErrorCode(6);
    /// 7: ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH_MESSAGE: ErrorCode = ErrorCode(7);
    /// 8: Send Hold Timer Expired (RFC 9687).
    pub const SEND_HOLD_TIMER_EXPIRED: ErrorCode = ErrorCode(8);

    /// Registry name, if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "Message Header Error",
            2 => "OPEN Message Error",
            3 => "UPDATE Message Error",
            4 => "Hold Timer Expired",
            5 => "Finite State Machine Error",
            6 => "Cease",
            7 => "ROUTE-REFRESH Message Error",
            8 => "Send Hold Timer Expired",
            _ => return None,
        })
    }
}

/// Message Header Error subcodes (RFC 4271 §4.5).
pub mod header_subcode {
    /// 1: Connection Not Synchronized.
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// 2: Bad Message Length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// 3: Bad Message Type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 §4.5, RFC 5492, RFC 9234).
pub mod open_subcode {
    /// 0: Unspecific (used for malformed optional parameters).
    pub const UNSPECIFIC: u8 = 0;
    /// 1: Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// 2: Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// 3: Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// 4: Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// 6: Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// 7: Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// 11: Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;
}

/// UPDATE Message Error subcodes (RFC 4271 §4.5).
pub mod update_subcode {
    /// 1: Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// 2: Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    /// 3: Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    /// 4: Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    /// 5: Attribute Length Error.
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    /// 6: Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    /// 8: Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    /// 9: Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    /// 10: Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// 11: Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Finite State Machine Error subcodes (RFC 6608).
pub mod fsm_subcode {
    /// 0: Unspecified Error.
    pub const UNSPECIFIED: u8 = 0;
    /// 1: Receive Unexpected Message in OpenSent State.
    pub const UNEXPECTED_IN_OPEN_SENT: u8 = 1;
    /// 2: Receive Unexpected Message in OpenConfirm State.
    pub const UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
    /// 3: Receive Unexpected Message in Established State.
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Cease subcodes (RFC 4486, RFC 8538, RFC 9384).
pub mod cease_subcode {
    /// 1: Maximum Number of Prefixes Reached (data: AFI, SAFI, upper bound).
    pub const MAX_PREFIXES: u8 = 1;
    /// 2: Administrative Shutdown (data: RFC 9003 shutdown communication).
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// 3: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// 4: Administrative Reset (data: RFC 9003 shutdown communication).
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// 5: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// 6: Other Configuration Change.
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// 7: Connection Collision Resolution.
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    /// 8: Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// 9: Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
    /// 10: BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313).
pub mod route_refresh_subcode {
    /// 1: Invalid Message Length.
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

/// Longest shutdown communication, in octets (RFC 9003 §2).
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION message: error code, subcode and data.
///
/// Decoding never fails once the header check passed (any data is legal); the accessors
/// interpret the data of the codes that define it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode (meaning depends on `code`).
    pub subcode: u8,
    /// Data field.
    pub data: Bytes,
}

impl Notification {
    /// A NOTIFICATION with the given code, subcode and data.
    pub fn new(code: ErrorCode, subcode: u8, data: impl Into<Bytes>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// Cease / Administrative Shutdown (or Reset when `reset`) carrying an RFC 9003 shutdown
    /// communication. The text is cut at a character boundary to fit 255 octets.
    pub fn administrative_shutdown(message: &str, reset: bool) -> Self {
        let text = truncate_utf8(message, MAX_SHUTDOWN_COMMUNICATION);
        let mut data = BytesMut::with_capacity(1 + text.len());
        if !text.is_empty() {
            // RFC 9003 §2: a length octet followed by that many octets of UTF-8.
            data.put_u8(text.len() as u8);
            data.put_slice(text.as_bytes());
        }
        let subcode = if reset {
            cease_subcode::ADMINISTRATIVE_RESET
        } else {
            cease_subcode::ADMINISTRATIVE_SHUTDOWN
        };
        Notification::new(ErrorCode::CEASE, subcode, data.freeze())
    }

    /// Cease / Maximum Number of Prefixes Reached with the RFC 4486 §4 data: AFI, SAFI and
    /// the configured upper bound.
    pub fn max_prefixes(afi: Afi, safi: Safi, limit: u32) -> Self {
        let mut data = BytesMut::with_capacity(7);
        data.put_u16(afi.0);
        data.put_u8(safi.0);
        data.put_u32(limit);
        Notification::new(ErrorCode::CEASE, cease_subcode::MAX_PREFIXES, data.freeze())
    }

    /// Hold Timer Expired (4/0).
    pub fn hold_timer_expired() -> Self {
        Notification::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, Bytes::new())
    }

    /// Finite State Machine Error with an RFC 6608 subcode (see [`fsm_subcode`]).
    pub fn fsm_error(subcode: u8) -> Self {
        Notification::new(ErrorCode::FSM, subcode, Bytes::new())
    }

    /// Send Hold Timer Expired (8/0, RFC 9687).
    pub fn send_hold_timer_expired() -> Self {
        Notification::new(ErrorCode::SEND_HOLD_TIMER_EXPIRED, 0, Bytes::new())
    }

    /// Cease with the given subcode and no data.
    pub fn cease(subcode: u8) -> Self {
        Notification::new(ErrorCode::CEASE, subcode, Bytes::new())
    }

    /// The RFC 9003 shutdown communication of a Cease / Administrative Shutdown or Reset.
    ///
    /// `None` when this is not such a NOTIFICATION or it carries no message. RFC 9003 §2
    /// says a malformed communication must not stop processing: invalid UTF-8 is replaced,
    /// and a length that overruns the data is cut to what is there.
    pub fn shutdown_communication(&self) -> Option<String> {
        if self.code != ErrorCode::CEASE
            || !matches!(
                self.subcode,
                cease_subcode::ADMINISTRATIVE_SHUTDOWN | cease_subcode::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        if len == 0 {
            return None;
        }
        let text = rest.get(..usize::from(len)).unwrap_or(rest);
        Some(String::from_utf8_lossy(text).into_owned())
    }

    /// Readable name of the code and subcode, e.g. "Cease / Administrative Shutdown".
    pub fn describe(&self) -> String {
        let code = self.code.name().unwrap_or("Unknown error code");
        match subcode_name(self.code, self.subcode) {
            Some(sub) => format!("{code} / {sub}"),
            None => format!("{code} / subcode {}", self.subcode),
        }
    }

    /// Encodes the body (without the 19-octet header).
    pub(crate) fn encode_body(&self, out: &mut BytesMut) {
        out.put_u8(self.code.0);
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }

    /// Length of the encoded body.
    pub(crate) fn body_len(&self) -> usize {
        2 + self.data.len()
    }
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Notification({}/{} {}",
            self.code.0,
            self.subcode,
            self.describe()
        )?;
        if !self.data.is_empty() {
            write!(f, ", data {}", crate::hex(&self.data))?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}/{})", self.describe(), self.code.0, self.subcode)?;
        if let Some(msg) = self.shutdown_communication() {
            write!(f, ": \"{}\"", msg.escape_debug())?;
        }
        Ok(())
    }
}

fn subcode_name(code: ErrorCode, subcode: u8) -> Option<&'static str> {
    Some(match (code.0, subcode) {
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 0) => "Unspecific",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 5) => "Authentication Failure (deprecated)",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (2, 8..=10) => "Deprecated",
        (2, 11) => "Role Mismatch",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 7) => "AS Routing Loop (deprecated)",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 0) => "Unspecified Error",
        (5, 1) => "Receive Unexpected Message in OpenSent State",
        (5, 2) => "Receive Unexpected Message in OpenConfirm State",
        (5, 3) => "Receive Unexpected Message in Established State",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (7, 1) => "Invalid Message Length",
        (4 | 8, 0) => "",
        _ => return None,
    })
    .map(|s| if s.is_empty() { "no subcode" } else { s })
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication_round_trips_and_truncates_on_char_boundary() {
        let n = Notification::administrative_shutdown("maintenance: tunnel 1 → 2", false);
        assert_eq!(n.code, ErrorCode::CEASE);
        assert_eq!(n.subcode, cease_subcode::ADMINISTRATIVE_SHUTDOWN);
        assert_eq!(
            n.shutdown_communication().as_deref(),
            Some("maintenance: tunnel 1 → 2")
        );

        let long = "é".repeat(200); // 400 octets
        let n = Notification::administrative_shutdown(&long, true);
        assert_eq!(n.subcode, cease_subcode::ADMINISTRATIVE_RESET);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.shutdown_communication().unwrap().chars().count(), 127);
    }

    #[test]
    fn malformed_shutdown_communication_is_tolerated() {
        let n = Notification::new(ErrorCode::CEASE, 2, Bytes::from_static(&[10, b'h', 0xff]));
        assert_eq!(n.shutdown_communication().as_deref(), Some("h\u{fffd}"));
        let n = Notification::new(ErrorCode::CEASE, 2, Bytes::new());
        assert_eq!(n.shutdown_communication(), None);
    }

    #[test]
    fn max_prefix_data_is_afi_safi_limit() {
        let n = Notification::max_prefixes(Afi::IPV4, Safi::UNICAST, 100);
        assert_eq!(&n.data[..], &[0, 1, 1, 0, 0, 0, 100]);
        assert_eq!(n.describe(), "Cease / Maximum Number of Prefixes Reached");
    }

    #[test]
    fn describe_names_unknown_codes() {
        assert_eq!(
            Notification::new(ErrorCode(42), 9, Bytes::new()).describe(),
            "Unknown error code / subcode 9"
        );
        assert_eq!(
            Notification::hold_timer_expired().describe(),
            "Hold Timer Expired / no subcode"
        );
    }
}
