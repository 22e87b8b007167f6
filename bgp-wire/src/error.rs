//! Decode errors and RFC 7606 outcomes.
//!
//! Two kinds of answer are owed to a peer that sent bad input:
//!
//! * [`Error`]: the message cannot be processed and the session must end. Every variant maps
//!   to the exact RFC 4271 §6 NOTIFICATION (code, subcode, data) through
//!   [`Error::notification`], so the driver never has to invent one.
//! * [`AttributeError`] with an [`ErrorAction`]: an UPDATE whose attributes are wrong in a way
//!   RFC 7606 lets us survive (treat-as-withdraw, attribute discard, AFI/SAFI disable). The
//!   UPDATE still decodes; the outcome is recorded on it, per attribute, together with the
//!   NOTIFICATION RFC 4271 would have sent (for logs, or for a driver that prefers to reset).
//!
//! Encoding errors are a separate type, [`EncodeError`]: nothing is owed to a peer for them.

use bytes::Bytes;
use core::fmt;
use std::net::Ipv4Addr;

use crate::notification::{
    ErrorCode, Notification, header_subcode, open_subcode, route_refresh_subcode, update_subcode,
};
use crate::types::{AttrType, CapabilityCode, Family};

/// The BGP version this crate speaks; sent as data of an Unsupported Version Number error.
pub const BGP_VERSION: u8 = 4;

/// A malformed message that ends the session.
///
/// `#[non_exhaustive]`: new checks may add variants; match with a wildcard and use
/// [`Error::notification`] for the answer.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// RFC 4271 §6.1: the marker is not all ones (1/1).
    ConnectionNotSynchronized,
    /// RFC 4271 §6.1: the length field is out of range for the message type (1/2, data =
    /// the length field).
    BadMessageLength {
        /// The erroneous length field.
        length: u16,
    },
    /// RFC 4271 §6.1: unknown message type (1/3, data = the type octet).
    BadMessageType {
        /// The erroneous type.
        message_type: u8,
    },
    /// RFC 4271 §6.2: version is not 4 (2/1, data = 2-octet largest supported version).
    UnsupportedVersion {
        /// The version the peer sent.
        version: u8,
    },
    /// RFC 4271 §6.2 / RFC 6286: the BGP Identifier is syntactically invalid (zero) (2/3).
    BadBgpIdentifier {
        /// The identifier the peer sent.
        identifier: Ipv4Addr,
    },
    /// RFC 4271 §6.2: a Hold Time of one or two seconds (2/6).
    UnacceptableHoldTime {
        /// The hold time the peer sent.
        hold_time: u16,
    },
    /// RFC 4271 §6.2: an optional parameter type we do not recognise (2/4).
    UnsupportedOptionalParameter {
        /// The parameter type.
        parameter_type: u8,
    },
    /// RFC 4271 §6.2 / RFC 9072: the optional parameters do not add up, or a recognised
    /// parameter is malformed (2/0).
    MalformedOptionalParameters {
        /// What was wrong.
        reason: &'static str,
    },
    /// A capability whose value does not match its code's format (2/0: RFC 5492 defines no
    /// subcode for this, and "Unspecific" is what RFC 4271 §6.2 prescribes for a recognised
    /// but malformed optional parameter).
    MalformedCapability {
        /// The capability.
        code: CapabilityCode,
        /// What was wrong.
        reason: &'static str,
    },
    /// RFC 4271 §6.3 / RFC 7606 §3(g): lengths inside the UPDATE do not add up, or
    /// MP_REACH_NLRI / MP_UNREACH_NLRI appears twice (3/1).
    MalformedAttributeList {
        /// What was wrong.
        reason: &'static str,
    },
    /// RFC 4271 §6.3 / RFC 7606 §5.3: the NLRI or withdrawn-routes field is malformed
    /// (3/10).
    InvalidNetworkField {
        /// The family of the field.
        family: Family,
        /// What was wrong.
        reason: &'static str,
    },
    /// An attribute error whose RFC 7606 action is session reset (e.g. an unrecognised
    /// well-known attribute, or an MP_REACH_NLRI whose family cannot be determined).
    Attribute(AttributeError),
    /// RFC 7313 §5: an Enhanced Route Refresh BoRR/EoRR whose length is not 23 (7/1, data =
    /// the complete message).
    RouteRefreshInvalidLength {
        /// The complete message as received.
        message: Bytes,
    },
}

impl Error {
    /// The NOTIFICATION that RFC 4271 §6 (and its updates) prescribe for this error.
    pub fn notification(&self) -> Notification {
        use Error::*;
        match self {
            ConnectionNotSynchronized => Notification::new(
                ErrorCode::MESSAGE_HEADER,
                header_subcode::CONNECTION_NOT_SYNCHRONIZED,
                Bytes::new(),
            ),
            BadMessageLength { length } => Notification::new(
                ErrorCode::MESSAGE_HEADER,
                header_subcode::BAD_MESSAGE_LENGTH,
                Bytes::copy_from_slice(&length.to_be_bytes()),
            ),
            BadMessageType { message_type } => Notification::new(
                ErrorCode::MESSAGE_HEADER,
                header_subcode::BAD_MESSAGE_TYPE,
                Bytes::copy_from_slice(&[*message_type]),
            ),
            // RFC 4271 §6.2: "The Data field is a 2-octet unsigned integer, which indicates
            // the largest, locally-supported version number less than the version the remote
            // BGP peer bid".
            UnsupportedVersion { .. } => Notification::new(
                ErrorCode::OPEN_MESSAGE,
                open_subcode::UNSUPPORTED_VERSION,
                Bytes::copy_from_slice(&u16::from(BGP_VERSION).to_be_bytes()),
            ),
            BadBgpIdentifier { .. } => Notification::new(
                ErrorCode::OPEN_MESSAGE,
                open_subcode::BAD_BGP_IDENTIFIER,
                Bytes::new(),
            ),
            UnacceptableHoldTime { .. } => Notification::new(
                ErrorCode::OPEN_MESSAGE,
                open_subcode::UNACCEPTABLE_HOLD_TIME,
                Bytes::new(),
            ),
            UnsupportedOptionalParameter { .. } => Notification::new(
                ErrorCode::OPEN_MESSAGE,
                open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER,
                Bytes::new(),
            ),
            MalformedOptionalParameters { .. } | MalformedCapability { .. } => Notification::new(
                ErrorCode::OPEN_MESSAGE,
                open_subcode::UNSPECIFIC,
                Bytes::new(),
            ),
            MalformedAttributeList { .. } => Notification::new(
                ErrorCode::UPDATE_MESSAGE,
                update_subcode::MALFORMED_ATTRIBUTE_LIST,
                Bytes::new(),
            ),
            InvalidNetworkField { .. } => Notification::new(
                ErrorCode::UPDATE_MESSAGE,
                update_subcode::INVALID_NETWORK_FIELD,
                Bytes::new(),
            ),
            Attribute(e) => e.notification.clone().unwrap_or_else(|| {
                Notification::new(
                    ErrorCode::UPDATE_MESSAGE,
                    update_subcode::MALFORMED_ATTRIBUTE_LIST,
                    Bytes::new(),
                )
            }),
            RouteRefreshInvalidLength { message } => Notification::new(
                ErrorCode::ROUTE_REFRESH_MESSAGE,
                route_refresh_subcode::INVALID_MESSAGE_LENGTH,
                message.clone(),
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            ConnectionNotSynchronized => f.write_str("header marker is not all ones"),
            BadMessageLength { length } => write!(f, "bad message length {length}"),
            BadMessageType { message_type } => write!(f, "unknown message type {message_type}"),
            UnsupportedVersion { version } => {
                write!(
                    f,
                    "unsupported BGP version {version} (we speak {BGP_VERSION})"
                )
            }
            BadBgpIdentifier { identifier } => write!(f, "invalid BGP identifier {identifier}"),
            UnacceptableHoldTime { hold_time } => {
                write!(
                    f,
                    "unacceptable hold time {hold_time} s (must be 0 or at least 3)"
                )
            }
            UnsupportedOptionalParameter { parameter_type } => {
                write!(f, "unsupported optional parameter type {parameter_type}")
            }
            MalformedOptionalParameters { reason } => {
                write!(f, "malformed optional parameters: {reason}")
            }
            MalformedCapability { code, reason } => {
                write!(f, "malformed {code} capability: {reason}")
            }
            MalformedAttributeList { reason } => write!(f, "malformed attribute list: {reason}"),
            InvalidNetworkField { family, reason } => {
                write!(f, "invalid {family} network field: {reason}")
            }
            Attribute(e) => fmt::Display::fmt(e, f),
            RouteRefreshInvalidLength { message } => {
                write!(f, "ROUTE-REFRESH of invalid length {}", message.len())
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} -> {:?}", self.notification())
    }
}

impl std::error::Error for Error {}

/// What RFC 7606 says to do about a malformed attribute, from mildest to most severe.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum ErrorAction {
    /// RFC 7606 §2 "attribute discard": drop this attribute, keep processing the UPDATE.
    AttributeDiscard,
    /// RFC 7606 §2 "treat-as-withdraw": every prefix the UPDATE announces (NLRI field and
    /// MP_REACH_NLRI) must be handled as if it had been withdrawn.
    TreatAsWithdraw,
    /// RFC 7606 §2 / RFC 4760 §7 "AFI/SAFI disable": drop every route of this family from
    /// the peer and ignore the family for the rest of the session (or reset the session).
    AfiSafiDisable(Family),
    /// RFC 7606 §2 "session reset": send the NOTIFICATION and close.
    SessionReset,
}

/// What exactly was wrong with an attribute.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum AttributeErrorKind {
    /// Optional/Transitive bits conflict with the attribute's definition (RFC 7606 §3(c)).
    Flags,
    /// The length is not one the attribute allows.
    Length,
    /// The attribute's length overruns the path attributes, or fewer octets remain than an
    /// attribute header needs (RFC 7606 §4).
    Overrun,
    /// A value the attribute does not define (e.g. ORIGIN 3).
    InvalidValue,
    /// AS_PATH / AS4_PATH segments malformed (RFC 7606 §7.2).
    MalformedAsPath,
    /// AS_CONFED segments received from an external peer (RFC 5065 §5.1).
    ConfederationSegmentFromExternalPeer,
    /// NEXT_HOP is not a usable unicast address (RFC 4271 §6.3).
    InvalidNextHop,
    /// The attribute appeared more than once (RFC 7606 §3(g)); later copies are discarded.
    Duplicate,
    /// A well-known mandatory attribute is missing (RFC 7606 §3(d)).
    Missing,
    /// An attribute that must not arrive on this session (LOCAL_PREF from an external peer,
    /// AS4_PATH / AS4_AGGREGATOR from a 4-octet-AS speaker).
    Unexpected,
    /// A well-known attribute type we do not recognise (RFC 4271 §6.3).
    UnrecognizedWellKnown,
    /// MP_REACH_NLRI / MP_UNREACH_NLRI malformed: next-hop length, NLRI encoding.
    MalformedMultiprotocol,
}

/// One malformed attribute of an UPDATE, the RFC 7606 action chosen for it, and the
/// NOTIFICATION RFC 4271 §6.3 would have sent.
#[derive(Clone, PartialEq, Eq)]
pub struct AttributeError {
    /// Attribute type code.
    pub attr_type: AttrType,
    /// What was wrong.
    pub kind: AttributeErrorKind,
    /// What to do about it (RFC 7606 §7 for this attribute).
    pub action: ErrorAction,
    /// The RFC 4271 §6.3 NOTIFICATION that would end the session over this error (data =
    /// the erroneous attribute where the RFC says so). `None` where no error is defined,
    /// e.g. LOCAL_PREF from an external peer, which is simply ignored.
    pub notification: Option<Notification>,
}

impl fmt::Display for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} -> {:?}", self.attr_type, self.kind, self.action)?;
        if let Some(n) = &self.notification {
            write!(f, " ({n})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Errors from the encoders. Nothing here is owed to a peer: these are mistakes in what the
/// caller asked to send.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message would exceed the negotiated maximum size.
    MessageTooLarge {
        /// Octets needed.
        needed: usize,
        /// Negotiated maximum.
        max: usize,
    },
    /// An attribute value is longer than 65535 octets.
    AttributeTooLarge(AttrType),
    /// A next hop of the wrong kind for the family (e.g. IPv6 next hop for IPv4 NLRI without
    /// extended next hop negotiated).
    NextHopFamilyMismatch(Family),
    /// The prefix does not belong to the family being encoded.
    PrefixFamilyMismatch(Family),
    /// Optional parameters longer than RFC 9072 allows.
    OpenTooLarge,
    /// A pre-encoded attribute block handed to [`crate::UpdateBuilder::announce_encoded`]
    /// is not a well-framed block in strictly ascending type order without NEXT_HOP,
    /// MP_REACH_NLRI and MP_UNREACH_NLRI; the offset of the first bad attribute.
    BadAttributeBlock(usize),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::MessageTooLarge { needed, max } => {
                write!(
                    f,
                    "message needs {needed} octets, negotiated maximum is {max}"
                )
            }
            EncodeError::AttributeTooLarge(t) => write!(f, "{t} attribute longer than 65535"),
            EncodeError::NextHopFamilyMismatch(fam) => write!(f, "next hop does not fit {fam}"),
            EncodeError::PrefixFamilyMismatch(fam) => write!(f, "prefix is not {fam}"),
            EncodeError::OpenTooLarge => f.write_str("OPEN optional parameters too long"),
            EncodeError::BadAttributeBlock(at) => {
                write!(f, "pre-encoded attribute block is malformed at octet {at}")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
