//! The negotiated session description that decoding and encoding take explicitly.

use crate::header::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
use crate::types::FamilySet;

/// What the two speakers agreed in their OPEN messages, as far as the wire format depends
/// on it. Decoding and encoding take it as a parameter; there is no global state.
///
/// The default is a session before OPEN: 2-octet AS numbers, no ADD-PATH, 4096-octet
/// messages, internal peer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SessionParams {
    /// Both sides announced the 4-octet AS capability (RFC 6793): AS_PATH and AGGREGATOR
    /// carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families in which we receive ADD-PATH path identifiers (RFC 7911): we announced
    /// receive and the peer announced send.
    pub add_path_receive: FamilySet,
    /// Families in which we send ADD-PATH path identifiers.
    pub add_path_send: FamilySet,
    /// Both sides announced the Extended Message capability (RFC 8654): UPDATE and
    /// ROUTE-REFRESH messages may be up to 65535 octets.
    pub extended_message: bool,
    /// The peer is external (eBGP, outside our confederation). Decides RFC 7606 §7.5
    /// (LOCAL_PREF is discarded) and RFC 5065 §5.1 (confederation segments are malformed).
    pub external: bool,
}

impl SessionParams {
    /// The largest message this session may carry, header included.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// Builder-style setter for [`SessionParams::four_octet_as`].
    pub fn with_four_octet_as(mut self, yes: bool) -> Self {
        self.four_octet_as = yes;
        self
    }

    /// Builder-style setter for [`SessionParams::external`].
    pub fn with_external(mut self, yes: bool) -> Self {
        self.external = yes;
        self
    }

    /// Builder-style setter for [`SessionParams::extended_message`].
    pub fn with_extended_message(mut self, yes: bool) -> Self {
        self.extended_message = yes;
        self
    }

    /// Builder-style setter for both ADD-PATH directions.
    pub fn with_add_path(mut self, receive: FamilySet, send: FamilySet) -> Self {
        self.add_path_receive = receive;
        self.add_path_send = send;
        self
    }
}
