//! `bgp-wire`: a zero-copy BGP-4 message codec.
//!
//! Decoding validates a message once and gives a view over the received
//! [`bytes::Bytes`]; encoding uses owned values and builders. There is no I/O, no global
//! state and no `unsafe`, and no input makes it panic (fuzzed; see `fuzz/`).
//!
//! # What it covers
//!
//! * Framing: [`frame_len`] checks marker, length and type from the first 19 octets, for a
//!   streaming reader (RFC 4271 §4.1, §6.1; RFC 8654 extended messages).
//! * OPEN with capabilities ([`Open`], [`Capability`]): multiprotocol, route refresh,
//!   extended next hop, extended message, graceful restart, 4-octet AS, ADD-PATH, enhanced
//!   route refresh, long-lived GR, FQDN, BGP role; unknown capabilities kept raw; RFC 9072
//!   extended optional parameters.
//! * UPDATE as a checked view ([`UpdateRef`]): every RFC 4271 attribute and COMMUNITIES,
//!   ORIGINATOR_ID, CLUSTER_LIST, MP_REACH/MP_UNREACH_NLRI (IPv4/IPv6, link-local next
//!   hops, IPv4 NLRI over IPv6 next hop), EXTENDED and LARGE communities, AS4_PATH /
//!   AS4_AGGREGATOR (with the RFC 6793 merge, [`merge_as4`]), OTC; any other attribute carried
//!   raw with its flags; ADD-PATH path identifiers per family; End-of-RIB.
//! * NOTIFICATION ([`Notification`]) with every registered code and subcode and RFC 9003
//!   shutdown communications; KEEPALIVE; ROUTE-REFRESH with BoRR/EoRR ([`RouteRefresh`]).
//! * [`UpdateBuilder`] packs prefixes sharing one attribute set into as few messages as the
//!   session's maximum size allows; [`PackedBuilders`] keeps many of them compactly (an
//!   update group's builder per attribute set of a whole table). A table walk appends its
//!   prefixes in wire form to an [`NlriBuf`], from which the messages are cut in a few
//!   copies ([`UpdateBuilder::encode_buf`]).
//!
//! # Invariants
//!
//! * After a successful decode, accessors cannot fail: iterating NLRI, AS paths and
//!   communities reads already-checked bytes and allocates nothing.
//! * Decoding takes the negotiated [`SessionParams`] (4-octet AS, ADD-PATH per family,
//!   extended message, eBGP or iBGP) explicitly.
//! * Every decode error is an [`Error`] that converts to the exact RFC 4271 §6
//!   [`Notification`] ([`Error::notification`]). Attribute errors RFC 7606 lets a session
//!   survive are not errors: the UPDATE decodes, and [`UpdateRef::errors`] /
//!   [`UpdateRef::action`] say, per attribute, whether to treat-as-withdraw, discard the
//!   attribute, or disable the AFI/SAFI.
//! * Memory use is bounded by the message: nothing is allocated in proportion to a length
//!   field that has not been checked against the bytes present.
//!
//! # Example: a receive loop
//!
//! ```
//! use bgp_wire::{decode, frame_len, ErrorAction, Message, SessionParams};
//! use bytes::{Bytes, BytesMut};
//!
//! // Bytes as they arrived from a peer: one UPDATE announcing 10.0.0.0/16 (AS 65530).
//! let wire: &[u8] = &[
//!     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
//!     0xff, 0xff, 0, 48, 2, // header: length 48, UPDATE
//!     0, 0, // no withdrawn routes
//!     0, 22, // path attributes
//!     0x40, 1, 1, 0, // ORIGIN IGP
//!     0x40, 2, 6, 2, 1, 0, 0, 0xff, 0xfa, // AS_PATH 65530
//!     0x40, 3, 4, 169, 254, 10, 1, // NEXT_HOP
//!     16, 10, 0, // NLRI 10.0.0.0/16
//! ];
//! let session = SessionParams::default().with_four_octet_as(true).with_external(true);
//! let mut buf = BytesMut::from(wire);
//! while let Some(len) = frame_len(&buf, session.max_message_len()).expect("header") {
//!     if buf.len() < len {
//!         break; // wait for the rest
//!     }
//!     let frame: Bytes = buf.split_to(len).freeze();
//!     match decode(frame, &session) {
//!         Ok(Message::Update(update)) => {
//!             let withdraw_all = update.action() == Some(ErrorAction::TreatAsWithdraw);
//!             assert!(!withdraw_all);
//!             let path: Vec<u32> = update.as_path().unwrap().asns().collect();
//!             assert_eq!(path, [65530]);
//!             for nlri in update.announced() {
//!                 assert_eq!(nlri.prefix.to_string(), "10.0.0.0/16");
//!             }
//!         }
//!         Ok(_) => {}
//!         // Send this NOTIFICATION, then close the session.
//!         Err(e) => panic!("would send {}", e.notification()),
//!     }
//! }
//! ```
//!
//! # Performance
//!
//! Measured with `cargo bench -p bgp-wire --bench decode` on the project's 2-core machine
//! over a synthetic full table (1,000,000 IPv4 + 200,000 IPv6 prefixes, ~150,000 attribute
//! sets): 5.6 ns per IPv4 prefix
//! (`decode/ipv4_prefixes`, target 4 ns) and 160 ns per attribute set
//! (`decode/attribute_sets`, target 120 ns). `docs/PERFORMANCE.md` has every bench and what
//! limits it.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod aspath;
pub mod attributes;
mod builder;
pub mod error;
pub mod header;
mod message;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod route_refresh;
mod session;
pub mod types;
pub mod update;

pub use aspath::{AsPath, AsPathRef, Segment, SegmentType};
pub use attributes::{
    Aggregator, AttrFlags, AttrValue, Attribute, Community, ExtendedCommunity, LargeCommunity,
    MpReach, MpUnreach, NextHop, Origin, merge_as4,
};
pub use builder::{PackedBuilder, PackedBuilders, UpdateBuilder, rewrite_next_hops};
pub use error::{AttributeError, AttributeErrorKind, EncodeError, Error, ErrorAction};
pub use header::{HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, frame_len};
pub use message::{Message, decode, keepalive};
pub use nlri::{Nlri, NlriBuf, NlriIter};
pub use notification::{ErrorCode, Notification};
pub use open::{AddPathMode, Capability, GracefulRestart, Open, Role};
pub use route_refresh::{RefreshSubtype, RouteRefresh};
pub use session::SessionParams;
pub use types::{AS_TRANS, Afi, AttrType, CapabilityCode, Family, FamilySet, MessageType, Safi};
pub use update::{AttributeRef, MpReachRef, MpUnreachRef, Update, UpdateRef};

/// Lower-case hex, for logs and Debug output.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
