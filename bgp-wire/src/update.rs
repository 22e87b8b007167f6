//! UPDATE message (RFC 4271 §4.3) as a checked view, and its owned form.
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! [`UpdateRef::decode`] walks the message once: it checks every length, every attribute
//! RFC 7606 §7 has rules for, and every NLRI field, and records where each known attribute
//! lies. After that the accessors only read: they cannot fail and do not allocate.

use bytes::{BufMut, Bytes, BytesMut};
use core::fmt;
use std::net::Ipv4Addr;

use crate::aspath::{self, AsPathRef};
use crate::attributes::{
    Aggregator, AttrFlags, AttrRule, AttrValue, Attribute, Community, ExtendedCommunity,
    LargeCommunity, MpReach, MpUnreach, NO_SLOT, NextHop, Origin,
};
use crate::error::{AttributeError, AttributeErrorKind, EncodeError, Error, ErrorAction};
use crate::header::{self, HEADER_LEN};
use crate::nlri::{self, Nlri, NlriIter};
use crate::notification::{ErrorCode, Notification, update_subcode};
use crate::session::SessionParams;
use crate::types::{Afi, AttrType, Family, MessageType, Safi};

/// Where a piece of the message lies: offset into the whole message and length. Offset 0
/// means absent (nothing of interest can start inside the 19-octet header).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Span {
    start: u16,
    len: u16,
}

impl Span {
    fn new(start: usize, len: usize) -> Span {
        Span {
            start: start as u16,
            len: len as u16,
        }
    }
    fn is_present(self) -> bool {
        self.start != 0
    }
    fn range(self) -> core::ops::Range<usize> {
        usize::from(self.start)..usize::from(self.start) + usize::from(self.len)
    }
}

/// Slots for the attributes the view indexes (the `slot` column of the attribute rule
/// table in `attributes.rs`).
const SLOT_ORIGIN: usize = 0;
const SLOT_AS_PATH: usize = 1;
const SLOT_NEXT_HOP: usize = 2;
const SLOT_MED: usize = 3;
const SLOT_LOCAL_PREF: usize = 4;
const SLOT_ATOMIC_AGGREGATE: usize = 5;
const SLOT_AGGREGATOR: usize = 6;
const SLOT_COMMUNITIES: usize = 7;
const SLOT_ORIGINATOR_ID: usize = 8;
const SLOT_CLUSTER_LIST: usize = 9;
const SLOT_EXTENDED_COMMUNITIES: usize = 10;
const SLOT_AS4_PATH: usize = 11;
const SLOT_AS4_AGGREGATOR: usize = 12;
const SLOT_LARGE_COMMUNITIES: usize = 13;
const SLOT_OTC: usize = 14;
const SLOTS: usize = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MpReachIndex {
    family: Family,
    next_hop: Span,
    nlri: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MpUnreachIndex {
    family: Family,
    withdrawn: Span,
}

/// A decoded, validated UPDATE: a view over the received message.
///
/// Cloning is cheap (the bytes are reference counted). Attributes that RFC 7606 said to
/// discard, and malformed ones, are invisible through the accessors; what was wrong is in
/// [`UpdateRef::errors`] and the overall outcome in [`UpdateRef::action`].
#[derive(Clone)]
pub struct UpdateRef {
    buf: Bytes,
    params: SessionParams,
    withdrawn: Span,
    nlri: Span,
    /// Path attributes, up to where they could be parsed.
    attrs: Span,
    slots: [Span; SLOTS],
    mp_reach: Option<MpReachIndex>,
    mp_unreach: Option<MpUnreachIndex>,
    /// Offsets of attribute headers hidden from [`UpdateRef::attributes`] (discarded,
    /// duplicate or malformed). Empty, and so unallocated, for a clean message.
    hidden: Vec<u16>,
    errors: Vec<AttributeError>,
    end_of_rib: Option<Family>,
}

/// Fault found in one attribute, before it is turned into an [`AttributeError`].
struct Fault {
    kind: AttributeErrorKind,
    /// RFC 4271 §6.3 subcode, if the RFC would have sent one.
    subcode: Option<u8>,
    /// Whether the NOTIFICATION data is the erroneous attribute.
    data_is_attribute: bool,
}

impl Fault {
    fn length() -> Fault {
        Fault {
            kind: AttributeErrorKind::Length,
            subcode: Some(update_subcode::ATTRIBUTE_LENGTH_ERROR),
            data_is_attribute: true,
        }
    }
    fn new(kind: AttributeErrorKind, subcode: u8, data_is_attribute: bool) -> Fault {
        Fault {
            kind,
            subcode: Some(subcode),
            data_is_attribute,
        }
    }
    fn silent(kind: AttributeErrorKind) -> Fault {
        Fault {
            kind,
            subcode: None,
            data_is_attribute: false,
        }
    }
}

/// What the per-attribute check decided.
enum Checked {
    /// Index it in this slot.
    Slot(usize),
    MpReach(MpReachIndex),
    MpUnreach(MpUnreachIndex),
    /// Valid, not indexed (unknown optional attribute).
    Carry,
}

impl UpdateRef {
    /// Decodes and validates an UPDATE. `message` is the whole message, header included,
    /// as framed by [`crate::frame_len`].
    ///
    /// `Err` means the session must be reset with [`Error::notification`]. `Ok` may still
    /// carry RFC 7606 outcomes: check [`UpdateRef::action`].
    pub fn decode(message: Bytes, params: &SessionParams) -> Result<UpdateRef, Error> {
        let len = message.len();
        if len < HEADER_LEN + 4 || len > params.max_message_len() {
            return Err(Error::BadMessageLength {
                length: len.min(usize::from(u16::MAX)) as u16,
            });
        }
        let buf = &message[..];
        let read_u16 = |at: usize| -> Option<usize> {
            let b = buf.get(at..at + 2)?;
            Some(usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?])))
        };
        // RFC 4271 §6.3: "if the Withdrawn Routes Length or Total Attribute Length is too
        // large (i.e., if Withdrawn Routes Length + Total Attribute Length + 23 exceeds the
        // message Length), then the Error Subcode MUST be set to Malformed Attribute List."
        let wlen = read_u16(HEADER_LEN).unwrap_or(0);
        let wstart = HEADER_LEN + 2;
        let alen_at = wstart + wlen;
        let alen = read_u16(alen_at).ok_or(Error::MalformedAttributeList {
            reason: "withdrawn routes length overruns the message",
        })?;
        let astart = alen_at + 2;
        let nstart = astart + alen;
        if nstart > len {
            return Err(Error::MalformedAttributeList {
                reason: "total path attribute length overruns the message",
            });
        }
        let v4_add_path = params.add_path_receive.contains(Family::IPV4_UNICAST);
        let withdrawn_field = buf.get(wstart..alen_at).unwrap_or(&[]);
        nlri::validate(withdrawn_field, 32, v4_add_path).map_err(|f| {
            Error::InvalidNetworkField {
                family: Family::IPV4_UNICAST,
                reason: f.reason(),
            }
        })?;
        let nlri_field = buf.get(nstart..).unwrap_or(&[]);
        nlri::validate(nlri_field, 32, v4_add_path).map_err(|f| Error::InvalidNetworkField {
            family: Family::IPV4_UNICAST,
            reason: f.reason(),
        })?;

        let mut u = UpdateRef {
            buf: Bytes::new(),
            params: *params,
            withdrawn: Span::new(wstart, wlen),
            nlri: Span::new(nstart, len - nstart),
            attrs: Span::new(astart, alen),
            slots: [Span::default(); SLOTS],
            mp_reach: None,
            mp_unreach: None,
            hidden: Vec::new(),
            errors: Vec::new(),
            end_of_rib: None,
        };
        let attr_count = u.walk_attributes(&message, astart, nstart)?;

        // RFC 7606 §3(d): a missing well-known mandatory attribute means treat-as-withdraw.
        // ORIGIN and AS_PATH are needed whenever something is announced, NEXT_HOP when the
        // NLRI field is used (RFC 4760 §3: MP_REACH_NLRI carries its own next hop).
        let announces_v4 = u.nlri.len > 0;
        let announces_mp = u.mp_reach.is_some_and(|m| m.nlri.len > 0);
        if announces_v4 || announces_mp {
            let mut required = [AttrType::ORIGIN, AttrType::AS_PATH, AttrType::NEXT_HOP].as_slice();
            if !announces_v4 {
                required = &[AttrType::ORIGIN, AttrType::AS_PATH];
            }
            for &t in required {
                if !u.was_seen(&message, t) {
                    u.errors.push(AttributeError {
                        attr_type: t,
                        kind: AttributeErrorKind::Missing,
                        action: ErrorAction::TreatAsWithdraw,
                        notification: Some(Notification::new(
                            ErrorCode::UPDATE_MESSAGE,
                            update_subcode::MISSING_WELL_KNOWN_ATTRIBUTE,
                            Bytes::copy_from_slice(&[t.0]),
                        )),
                    });
                }
            }
        }

        // RFC 4724 §2: End-of-RIB is an UPDATE with nothing in it (IPv4 unicast), or with
        // only an empty MP_UNREACH_NLRI (other families).
        if wlen == 0 && u.nlri.len == 0 {
            if alen == 0 {
                u.end_of_rib = Some(Family::IPV4_UNICAST);
            } else if attr_count == 1
                && u.errors.is_empty()
                && let Some(m) = u.mp_unreach
                && m.withdrawn.len == 0
            {
                u.end_of_rib = Some(m.family);
            }
        }
        u.buf = message;
        Ok(u)
    }

    /// Walks the path attributes; returns how many there were.
    fn walk_attributes(&mut self, buf: &Bytes, start: usize, end: usize) -> Result<usize, Error> {
        let mut seen = [0u64; 4];
        let mut pos = start;
        let mut count = 0usize;
        while pos < end {
            let flags = AttrFlags(buf.get(pos).copied().unwrap_or(0));
            let hdr = if flags.is_extended_length() { 4 } else { 3 };
            // RFC 7606 §4: too few octets for an attribute header, or a length running past
            // the Total Path Attribute Length: treat-as-withdraw, relying on the total
            // length to find the NLRI.
            let value_len = if pos + hdr > end {
                None
            } else if flags.is_extended_length() {
                buf.get(pos + 2..pos + 4).map(|b| usize::from(be16(b)))
            } else {
                buf.get(pos + 2).map(|&b| usize::from(b))
            };
            let Some(value_len) = value_len.filter(|l| pos + hdr + l <= end) else {
                let t = AttrType(buf.get(pos + 1).copied().unwrap_or(0));
                self.errors.push(AttributeError {
                    attr_type: t,
                    kind: AttributeErrorKind::Overrun,
                    action: ErrorAction::TreatAsWithdraw,
                    notification: Some(Notification::new(
                        ErrorCode::UPDATE_MESSAGE,
                        update_subcode::MALFORMED_ATTRIBUTE_LIST,
                        Bytes::new(),
                    )),
                });
                self.attrs = Span::new(start, pos - start);
                break;
            };
            count += 1;
            let type_code = AttrType(buf.get(pos + 1).copied().unwrap_or(0));
            let vstart = pos + hdr;
            let vend = vstart + value_len;
            let attr_start = pos;
            pos = vend;

            // RFC 7606 §3(g): a repeated MP_REACH_NLRI or MP_UNREACH_NLRI is a Malformed
            // Attribute List; any other repeat is discarded after the first.
            let (word, bit) = (usize::from(type_code.0 / 64), 1u64 << (type_code.0 % 64));
            let already = seen.get(word).is_some_and(|w| w & bit != 0);
            if let Some(w) = seen.get_mut(word) {
                *w |= bit;
            }
            if already {
                if matches!(
                    type_code,
                    AttrType::MP_REACH_NLRI | AttrType::MP_UNREACH_NLRI
                ) {
                    return Err(Error::MalformedAttributeList {
                        reason: "MP_REACH_NLRI or MP_UNREACH_NLRI appears more than once",
                    });
                }
                self.hidden.push(attr_start as u16);
                self.errors.push(AttributeError {
                    attr_type: type_code,
                    kind: AttributeErrorKind::Duplicate,
                    action: ErrorAction::AttributeDiscard,
                    notification: Some(Notification::new(
                        ErrorCode::UPDATE_MESSAGE,
                        update_subcode::MALFORMED_ATTRIBUTE_LIST,
                        Bytes::new(),
                    )),
                });
                continue;
            }

            let value = buf.get(vstart..vend).unwrap_or(&[]);
            match self.check_attribute(type_code, flags, value, vstart) {
                Ok(Checked::Slot(slot)) => {
                    if let Some(s) = self.slots.get_mut(slot) {
                        *s = Span::new(vstart, value_len);
                    }
                }
                Ok(Checked::MpReach(m)) => self.mp_reach = Some(m),
                Ok(Checked::MpUnreach(m)) => self.mp_unreach = Some(m),
                Ok(Checked::Carry) => {}
                Err(fault) => {
                    let action = self.action_for(type_code, fault.kind, value);
                    let attribute = buf.slice(attr_start..vend);
                    let notification = fault.subcode.map(|sub| {
                        let data = if fault.data_is_attribute {
                            attribute
                        } else {
                            Bytes::new()
                        };
                        Notification::new(ErrorCode::UPDATE_MESSAGE, sub, data)
                    });
                    let error = AttributeError {
                        attr_type: type_code,
                        kind: fault.kind,
                        action,
                        notification,
                    };
                    if action == ErrorAction::SessionReset {
                        return Err(Error::Attribute(error));
                    }
                    self.hidden.push(attr_start as u16);
                    self.errors.push(error);
                }
            }
        }
        Ok(count)
    }

    /// The RFC 7606 §7 action for a malformed attribute of this type.
    fn action_for(&self, t: AttrType, kind: AttributeErrorKind, value: &[u8]) -> ErrorAction {
        match t {
            // §7.6, §7.7; RFC 6793 §6 for the AS4_ pair.
            AttrType::ATOMIC_AGGREGATE
            | AttrType::AGGREGATOR
            | AttrType::AS4_PATH
            | AttrType::AS4_AGGREGATOR => ErrorAction::AttributeDiscard,
            // §7.5: "If the LOCAL_PREF attribute is received from an external neighbor, it
            // SHALL be discarded".
            AttrType::LOCAL_PREF if self.params.external => ErrorAction::AttributeDiscard,
            // §7.11 / RFC 4760 §7: AFI/SAFI disable if the family can be determined,
            // otherwise session reset.
            AttrType::MP_REACH_NLRI | AttrType::MP_UNREACH_NLRI => match value {
                [a0, a1, s, ..] => ErrorAction::AfiSafiDisable(Family::new(
                    Afi(u16::from_be_bytes([*a0, *a1])),
                    Safi(*s),
                )),
                _ => ErrorAction::SessionReset,
            },
            _ if kind == AttributeErrorKind::UnrecognizedWellKnown => ErrorAction::SessionReset,
            _ if AttrFlags::expected_for(t).is_some() => ErrorAction::TreatAsWithdraw,
            _ => ErrorAction::AttributeDiscard,
        }
    }

    /// RFC 7606 §7 per-attribute checks.
    fn check_attribute(
        &self,
        t: AttrType,
        flags: AttrFlags,
        v: &[u8],
        vstart: usize,
    ) -> Result<Checked, Fault> {
        use AttributeErrorKind as K;
        let rule = AttrRule::of(t);
        if !rule.known {
            // RFC 4271 §6.3: an unrecognized well-known attribute is an error; unknown
            // optional attributes are carried (and passed on if transitive).
            if !flags.is_optional() {
                return Err(Fault::new(
                    K::UnrecognizedWellKnown,
                    update_subcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                    true,
                ));
            }
            return Ok(Checked::Carry);
        }
        let p = &self.params;
        if t == AttrType::LOCAL_PREF && p.external {
            return Err(Fault::silent(K::Unexpected));
        }
        // RFC 6793 §6: AS4_PATH and AS4_AGGREGATOR from a 4-octet speaker are discarded.
        if matches!(t, AttrType::AS4_PATH | AttrType::AS4_AGGREGATOR) && p.four_octet_as {
            return Err(Fault::silent(K::Unexpected));
        }
        // RFC 7606 §3(c): Optional/Transitive bits in conflict with the definition make
        // the attribute malformed.
        if flags.0 & (AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE) != rule.flags {
            return Err(Fault::new(
                K::Flags,
                update_subcode::ATTRIBUTE_FLAGS_ERROR,
                true,
            ));
        }
        // RFC 7606 §7 length rules; RFC 8092 §5 for LARGE_COMMUNITY, RFC 9234 §5 for OTC.
        if !rule.len.allows(v.len(), p.four_octet_as) {
            return Err(Fault::length());
        }
        match t {
            AttrType::ORIGIN if v.first().is_some_and(|&o| o > 2) => {
                return Err(Fault::new(
                    K::InvalidValue,
                    update_subcode::INVALID_ORIGIN_ATTRIBUTE,
                    true,
                ));
            }
            AttrType::AS_PATH | AttrType::AS4_PATH => {
                let four = t == AttrType::AS4_PATH || p.four_octet_as;
                let summary = aspath::validate(v, four).map_err(|_| {
                    Fault::new(K::MalformedAsPath, update_subcode::MALFORMED_AS_PATH, false)
                })?;
                // RFC 5065 §5.1: confederation segments from a peer outside the
                // confederation are a malformed AS_PATH; RFC 6793 §3 keeps them out of
                // AS4_PATH altogether.
                if summary.has_confed && (p.external || t == AttrType::AS4_PATH) {
                    return Err(Fault::new(
                        K::ConfederationSegmentFromExternalPeer,
                        update_subcode::MALFORMED_AS_PATH,
                        false,
                    ));
                }
            }
            AttrType::NEXT_HOP => {
                let a = Ipv4Addr::from(be32(v));
                // RFC 4271 §6.3: a syntactically incorrect NEXT_HOP; RFC 7606 §7.3 makes it
                // treat-as-withdraw.
                if a.is_unspecified() || a.is_broadcast() || a.is_multicast() {
                    return Err(Fault::new(
                        K::InvalidNextHop,
                        update_subcode::INVALID_NEXT_HOP_ATTRIBUTE,
                        true,
                    ));
                }
            }
            AttrType::MP_REACH_NLRI => return self.check_mp_reach(v, vstart).map(Checked::MpReach),
            AttrType::MP_UNREACH_NLRI => {
                return self.check_mp_unreach(v, vstart).map(Checked::MpUnreach);
            }
            _ => {}
        }
        Ok(if rule.slot == NO_SLOT {
            Checked::Carry
        } else {
            Checked::Slot(usize::from(rule.slot))
        })
    }

    fn check_mp_reach(&self, v: &[u8], vstart: usize) -> Result<MpReachIndex, Fault> {
        let mp_fault = || {
            Fault::new(
                AttributeErrorKind::MalformedMultiprotocol,
                update_subcode::OPTIONAL_ATTRIBUTE_ERROR,
                true,
            )
        };
        let [a0, a1, safi, nh_len, rest @ ..] = v else {
            return Err(mp_fault());
        };
        let family = Family::new(Afi(u16::from_be_bytes([*a0, *a1])), Safi(*safi));
        let nh_len = usize::from(*nh_len);
        // The next hop, then one reserved octet (RFC 4760 §3: ignored on receipt).
        let nh = rest.get(..nh_len).ok_or_else(mp_fault)?;
        let nlri_field = rest.get(nh_len + 1..).ok_or_else(mp_fault)?;
        if family.is_ip() {
            NextHop::decode(family, nh).ok_or_else(mp_fault)?;
            let bits = if family.afi == Afi::IPV6 { 128 } else { 32 };
            nlri::validate(
                nlri_field,
                bits,
                self.params.add_path_receive.contains(family),
            )
            .map_err(|_| mp_fault())?;
        }
        let nh_start = vstart + 4;
        Ok(MpReachIndex {
            family,
            next_hop: Span::new(nh_start, nh_len),
            nlri: Span::new(nh_start + nh_len + 1, nlri_field.len()),
        })
    }

    fn check_mp_unreach(&self, v: &[u8], vstart: usize) -> Result<MpUnreachIndex, Fault> {
        let [a0, a1, safi, rest @ ..] = v else {
            return Err(Fault::new(
                AttributeErrorKind::MalformedMultiprotocol,
                update_subcode::OPTIONAL_ATTRIBUTE_ERROR,
                true,
            ));
        };
        let family = Family::new(Afi(u16::from_be_bytes([*a0, *a1])), Safi(*safi));
        if family.is_ip() {
            let bits = if family.afi == Afi::IPV6 { 128 } else { 32 };
            nlri::validate(rest, bits, self.params.add_path_receive.contains(family)).map_err(
                |_| {
                    Fault::new(
                        AttributeErrorKind::MalformedMultiprotocol,
                        update_subcode::OPTIONAL_ATTRIBUTE_ERROR,
                        true,
                    )
                },
            )?;
        }
        Ok(MpUnreachIndex {
            family,
            withdrawn: Span::new(vstart + 3, rest.len()),
        })
    }

    /// Whether an attribute of this type appeared at all (well-formed or not).
    fn was_seen(&self, buf: &Bytes, t: AttrType) -> bool {
        let slot = usize::from(AttrRule::of(t).slot);
        if self.slots.get(slot).is_some_and(|s| s.is_present()) {
            return true;
        }
        self.errors
            .iter()
            .any(|e| e.attr_type == t && e.kind != AttributeErrorKind::Missing)
            || RawAttrIter::new(buf, self.attrs).any(|a| a.type_code == t)
    }

    fn slot(&self, slot: usize) -> Option<&[u8]> {
        let s = *self.slots.get(slot)?;
        if !s.is_present() {
            return None;
        }
        self.buf.get(s.range())
    }

    fn u32_slot(&self, slot: usize) -> Option<u32> {
        let v: [u8; 4] = self.slot(slot)?.try_into().ok()?;
        Some(u32::from_be_bytes(v))
    }

    /// The session parameters the message was decoded with.
    pub fn params(&self) -> &SessionParams {
        &self.params
    }

    /// The whole message as received.
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }

    /// Attribute errors RFC 7606 lets the session survive, in message order.
    pub fn errors(&self) -> &[AttributeError] {
        &self.errors
    }

    /// The strongest RFC 7606 action among [`UpdateRef::errors`]; `None` for a clean
    /// message. Never [`ErrorAction::SessionReset`] (that is an `Err` from decode).
    pub fn action(&self) -> Option<ErrorAction> {
        self.errors.iter().map(|e| e.action).max()
    }

    /// Whether every announced prefix must be treated as withdrawn (RFC 7606 §2).
    pub fn is_treat_as_withdraw(&self) -> bool {
        self.errors
            .iter()
            .any(|e| e.action == ErrorAction::TreatAsWithdraw)
    }

    /// The family this UPDATE is the End-of-RIB marker of (RFC 4724 §2).
    pub fn end_of_rib(&self) -> Option<Family> {
        self.end_of_rib
    }

    /// IPv4 unicast prefixes in the Withdrawn Routes field.
    pub fn withdrawn(&self) -> NlriIter<'_> {
        self.nlri_iter(self.withdrawn)
    }

    /// IPv4 unicast prefixes in the NLRI field.
    pub fn nlri(&self) -> NlriIter<'_> {
        self.nlri_iter(self.nlri)
    }

    fn nlri_iter(&self, span: Span) -> NlriIter<'_> {
        NlriIter::new(
            self.buf.get(span.range()).unwrap_or(&[]),
            Afi::IPV4,
            self.params.add_path_receive.contains(Family::IPV4_UNICAST),
        )
    }

    /// MP_REACH_NLRI, if present and well-formed.
    pub fn mp_reach(&self) -> Option<MpReachRef<'_>> {
        let m = self.mp_reach?;
        let nh = self.buf.get(m.next_hop.range())?;
        let nlri = self.buf.get(m.nlri.range())?;
        Some(MpReachRef {
            family: m.family,
            next_hop: nh,
            nlri,
            add_path: self.params.add_path_receive.contains(m.family),
        })
    }

    /// MP_UNREACH_NLRI, if present and well-formed.
    pub fn mp_unreach(&self) -> Option<MpUnreachRef<'_>> {
        let m = self.mp_unreach?;
        Some(MpUnreachRef {
            family: m.family,
            withdrawn: self.buf.get(m.withdrawn.range())?,
            add_path: self.params.add_path_receive.contains(m.family),
        })
    }

    /// Every prefix the message announces, NLRI field then MP_REACH_NLRI (IP families).
    /// Under treat-as-withdraw these are the prefixes to withdraw.
    pub fn announced(&self) -> impl Iterator<Item = Nlri> + '_ {
        let mp = self
            .mp_reach()
            .filter(|m| m.family.is_ip())
            .map(|m| m.nlri());
        self.nlri().chain(mp.into_iter().flatten())
    }

    /// Every prefix the message withdraws, Withdrawn Routes then MP_UNREACH_NLRI.
    pub fn withdrawn_all(&self) -> impl Iterator<Item = Nlri> + '_ {
        let mp = self
            .mp_unreach()
            .filter(|m| m.family.is_ip())
            .map(|m| m.withdrawn());
        self.withdrawn().chain(mp.into_iter().flatten())
    }

    /// ORIGIN.
    pub fn origin(&self) -> Option<Origin> {
        Origin::from_code(*self.slot(SLOT_ORIGIN)?.first()?)
    }

    /// AS_PATH, with the session's AS width.
    pub fn as_path(&self) -> Option<AsPathRef<'_>> {
        Some(AsPathRef::new(
            self.slot(SLOT_AS_PATH)?,
            self.params.four_octet_as,
        ))
    }

    /// AS4_PATH (only from 2-octet speakers; discarded otherwise per RFC 6793).
    pub fn as4_path(&self) -> Option<AsPathRef<'_>> {
        Some(AsPathRef::new(self.slot(SLOT_AS4_PATH)?, true))
    }

    /// NEXT_HOP.
    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        let v: [u8; 4] = self.slot(SLOT_NEXT_HOP)?.try_into().ok()?;
        Some(Ipv4Addr::from(v))
    }

    /// MULTI_EXIT_DISC.
    pub fn med(&self) -> Option<u32> {
        self.u32_slot(SLOT_MED)
    }

    /// LOCAL_PREF (never from an external peer: RFC 7606 §7.5 discards it).
    pub fn local_pref(&self) -> Option<u32> {
        self.u32_slot(SLOT_LOCAL_PREF)
    }

    /// ATOMIC_AGGREGATE present.
    pub fn atomic_aggregate(&self) -> bool {
        self.slot(SLOT_ATOMIC_AGGREGATE).is_some()
    }

    /// AGGREGATOR, with the session's AS width.
    pub fn aggregator(&self) -> Option<Aggregator> {
        let v = self.slot(SLOT_AGGREGATOR)?;
        decode_aggregator(v, self.params.four_octet_as)
    }

    /// AS4_AGGREGATOR.
    pub fn as4_aggregator(&self) -> Option<Aggregator> {
        decode_aggregator(self.slot(SLOT_AS4_AGGREGATOR)?, true)
    }

    /// COMMUNITIES.
    pub fn communities(&self) -> impl ExactSizeIterator<Item = Community> + '_ {
        chunks::<4>(self.slot(SLOT_COMMUNITIES)).map(|c| Community(u32::from_be_bytes(c)))
    }

    /// ORIGINATOR_ID.
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        self.u32_slot(SLOT_ORIGINATOR_ID).map(Ipv4Addr::from)
    }

    /// CLUSTER_LIST.
    pub fn cluster_list(&self) -> impl ExactSizeIterator<Item = Ipv4Addr> + '_ {
        chunks::<4>(self.slot(SLOT_CLUSTER_LIST)).map(Ipv4Addr::from)
    }

    /// EXTENDED_COMMUNITIES.
    pub fn extended_communities(&self) -> impl ExactSizeIterator<Item = ExtendedCommunity> + '_ {
        chunks::<8>(self.slot(SLOT_EXTENDED_COMMUNITIES)).map(ExtendedCommunity)
    }

    /// LARGE_COMMUNITY.
    pub fn large_communities(&self) -> impl ExactSizeIterator<Item = LargeCommunity> + '_ {
        chunks::<12>(self.slot(SLOT_LARGE_COMMUNITIES)).map(large_community)
    }

    /// OTC (RFC 9234).
    pub fn otc(&self) -> Option<u32> {
        self.u32_slot(SLOT_OTC)
    }

    /// Every attribute that survived validation, raw, in message order: what a speaker
    /// forwards (unknown optional transitive ones included) and what the RIB interns.
    pub fn attributes(&self) -> AttributeIter<'_> {
        AttributeIter {
            raw: RawAttrIter::new(&self.buf, self.attrs),
            hidden: &self.hidden,
        }
    }

    /// The owned form of this UPDATE (what survived validation).
    pub fn to_update(&self) -> Update {
        Update {
            withdrawn: self.withdrawn().collect(),
            attributes: self
                .attributes()
                .map(|a| a.to_attribute(&self.params))
                .collect(),
            nlri: self.nlri().collect(),
        }
    }
}

impl fmt::Debug for UpdateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UpdateRef");
        d.field("withdrawn", &self.withdrawn().collect::<Vec<_>>());
        d.field("attributes", &self.to_update().attributes);
        d.field("nlri", &self.nlri().collect::<Vec<_>>());
        if !self.errors.is_empty() {
            d.field("errors", &self.errors);
        }
        d.finish()
    }
}

fn decode_aggregator(v: &[u8], four: bool) -> Option<Aggregator> {
    let (asn, addr) = if four {
        let (a, r) = v.split_first_chunk::<4>()?;
        (u32::from_be_bytes(*a), r)
    } else {
        let (a, r) = v.split_first_chunk::<2>()?;
        (u32::from(u16::from_be_bytes(*a)), r)
    };
    let addr: [u8; 4] = addr.try_into().ok()?;
    Some(Aggregator {
        asn,
        address: Ipv4Addr::from(addr),
    })
}

fn chunks<const N: usize>(v: Option<&[u8]>) -> impl ExactSizeIterator<Item = [u8; N]> + '_ {
    v.unwrap_or(&[]).as_chunks::<N>().0.iter().copied()
}

fn large_community(c: [u8; 12]) -> LargeCommunity {
    let [g0, g1, g2, g3, a0, a1, a2, a3, b0, b1, b2, b3] = c;
    LargeCommunity {
        global: u32::from_be_bytes([g0, g1, g2, g3]),
        local1: u32::from_be_bytes([a0, a1, a2, a3]),
        local2: u32::from_be_bytes([b0, b1, b2, b3]),
    }
}

/// Big-endian u16 from the first two octets (0 when shorter: callers pass checked slices).
pub(crate) fn be16(b: &[u8]) -> u16 {
    match b {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// Big-endian u32 from the first four octets (0 when shorter).
pub(crate) fn be32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

/// MP_REACH_NLRI view.
#[derive(Clone, Copy, Debug)]
pub struct MpReachRef<'a> {
    /// Address family.
    pub family: Family,
    next_hop: &'a [u8],
    nlri: &'a [u8],
    add_path: bool,
}

impl<'a> MpReachRef<'a> {
    /// The next hop (validated for IP families; [`NextHop::Raw`] otherwise).
    pub fn next_hop(&self) -> NextHop {
        NextHop::decode(self.family, self.next_hop)
            .unwrap_or_else(|| NextHop::Raw(Bytes::copy_from_slice(self.next_hop)))
    }

    /// Announced prefixes (empty for non-IP families; see [`MpReachRef::raw_nlri`]).
    pub fn nlri(&self) -> NlriIter<'a> {
        if self.family.is_ip() {
            NlriIter::new(self.nlri, self.family.afi, self.add_path)
        } else {
            NlriIter::empty()
        }
    }

    /// The NLRI octets as received.
    pub fn raw_nlri(&self) -> &'a [u8] {
        self.nlri
    }
}

/// MP_UNREACH_NLRI view.
#[derive(Clone, Copy, Debug)]
pub struct MpUnreachRef<'a> {
    /// Address family.
    pub family: Family,
    withdrawn: &'a [u8],
    add_path: bool,
}

impl<'a> MpUnreachRef<'a> {
    /// Withdrawn prefixes (empty for non-IP families).
    pub fn withdrawn(&self) -> NlriIter<'a> {
        if self.family.is_ip() {
            NlriIter::new(self.withdrawn, self.family.afi, self.add_path)
        } else {
            NlriIter::empty()
        }
    }

    /// The withdrawn NLRI octets as received.
    pub fn raw_withdrawn(&self) -> &'a [u8] {
        self.withdrawn
    }
}

/// One attribute as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeRef<'a> {
    /// Flags as received (Extended Length included).
    pub flags: AttrFlags,
    /// Type code.
    pub type_code: AttrType,
    /// Value.
    pub value: &'a [u8],
    /// The whole attribute, header included.
    pub raw: &'a [u8],
}

impl AttributeRef<'_> {
    /// Owned form. The view was validated, so known types parse; anything that would not
    /// is kept as [`AttrValue::Raw`] rather than lost.
    pub fn to_attribute(&self, params: &SessionParams) -> Attribute {
        let flags = AttrFlags(self.flags.0 & !AttrFlags::EXTENDED_LENGTH);
        let value =
            parse_value(self.type_code, self.value, params).unwrap_or_else(|| AttrValue::Raw {
                type_code: self.type_code,
                value: Bytes::copy_from_slice(self.value),
            });
        Attribute { flags, value }
    }
}

fn parse_value(t: AttrType, v: &[u8], p: &SessionParams) -> Option<AttrValue> {
    let u32v = || -> Option<u32> { Some(u32::from_be_bytes(v.try_into().ok()?)) };
    Some(match t {
        AttrType::ORIGIN => AttrValue::Origin(Origin::from_code(*v.first()?)?),
        AttrType::AS_PATH => AttrValue::AsPath(AsPathRef::new(v, p.four_octet_as).to_owned()),
        AttrType::AS4_PATH => AttrValue::As4Path(AsPathRef::new(v, true).to_owned()),
        AttrType::NEXT_HOP => AttrValue::NextHop(Ipv4Addr::from(u32v()?)),
        AttrType::MULTI_EXIT_DISC => AttrValue::Med(u32v()?),
        AttrType::LOCAL_PREF => AttrValue::LocalPref(u32v()?),
        AttrType::ATOMIC_AGGREGATE => AttrValue::AtomicAggregate,
        AttrType::AGGREGATOR => AttrValue::Aggregator(decode_aggregator(v, p.four_octet_as)?),
        AttrType::AS4_AGGREGATOR => AttrValue::As4Aggregator(decode_aggregator(v, true)?),
        AttrType::COMMUNITIES => AttrValue::Communities(
            chunks::<4>(Some(v))
                .map(|c| Community(u32::from_be_bytes(c)))
                .collect(),
        ),
        AttrType::ORIGINATOR_ID => AttrValue::OriginatorId(Ipv4Addr::from(u32v()?)),
        AttrType::CLUSTER_LIST => {
            AttrValue::ClusterList(chunks::<4>(Some(v)).map(Ipv4Addr::from).collect())
        }
        AttrType::EXTENDED_COMMUNITIES => {
            AttrValue::ExtendedCommunities(chunks::<8>(Some(v)).map(ExtendedCommunity).collect())
        }
        AttrType::LARGE_COMMUNITIES => {
            AttrValue::LargeCommunities(chunks::<12>(Some(v)).map(large_community).collect())
        }
        AttrType::OTC => AttrValue::Otc(u32v()?),
        AttrType::MP_REACH_NLRI => {
            let [a0, a1, safi, nh_len, rest @ ..] = v else {
                return None;
            };
            let family = Family::new(Afi(u16::from_be_bytes([*a0, *a1])), Safi(*safi));
            let nh_len = usize::from(*nh_len);
            let next_hop = NextHop::decode(family, rest.get(..nh_len)?)?;
            let field = rest.get(nh_len + 1..)?;
            let add_path = p.add_path_receive.contains(family);
            let (nlri, raw_nlri) = if family.is_ip() {
                (
                    NlriIter::new(field, family.afi, add_path).collect(),
                    Bytes::new(),
                )
            } else {
                (Vec::new(), Bytes::copy_from_slice(field))
            };
            AttrValue::MpReach(MpReach {
                family,
                next_hop,
                nlri,
                raw_nlri,
            })
        }
        AttrType::MP_UNREACH_NLRI => {
            let [a0, a1, safi, rest @ ..] = v else {
                return None;
            };
            let family = Family::new(Afi(u16::from_be_bytes([*a0, *a1])), Safi(*safi));
            let add_path = p.add_path_receive.contains(family);
            let (withdrawn, raw_withdrawn) = if family.is_ip() {
                (
                    NlriIter::new(rest, family.afi, add_path).collect(),
                    Bytes::new(),
                )
            } else {
                (Vec::new(), Bytes::copy_from_slice(rest))
            };
            AttrValue::MpUnreach(MpUnreach {
                family,
                withdrawn,
                raw_withdrawn,
            })
        }
        _ => return None,
    })
}

/// Walks attribute headers of an already-checked region.
#[derive(Clone, Debug)]
struct RawAttrIter<'a> {
    data: &'a [u8],
    /// Offset of `data` within the message, to match hidden offsets.
    offset: usize,
}

impl<'a> RawAttrIter<'a> {
    fn new(buf: &'a Bytes, span: Span) -> Self {
        RawAttrIter {
            data: buf.get(span.range()).unwrap_or(&[]),
            offset: usize::from(span.start),
        }
    }
}

impl<'a> Iterator for RawAttrIter<'a> {
    type Item = (usize, AttributeRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let &[flags, type_code, ..] = self.data else {
            return None;
        };
        let flags = AttrFlags(flags);
        let (hdr, len) = if flags.is_extended_length() {
            let b = self.data.get(2..4)?;
            (
                4,
                usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?])),
            )
        } else {
            (3, usize::from(*self.data.get(2)?))
        };
        let raw = self.data.get(..hdr + len)?;
        let value = raw.get(hdr..)?;
        let at = self.offset;
        self.data = self.data.get(hdr + len..)?;
        self.offset += hdr + len;
        Some((
            at,
            AttributeRef {
                flags,
                type_code: AttrType(type_code),
                value,
                raw,
            },
        ))
    }
}

impl<'a> RawAttrIter<'a> {
    fn any(mut self, mut f: impl FnMut(&AttributeRef<'a>) -> bool) -> bool {
        self.by_ref().any(|(_, a)| f(&a))
    }
}

/// Iterator over the attributes that survived validation.
#[derive(Clone, Debug)]
pub struct AttributeIter<'a> {
    raw: RawAttrIter<'a>,
    /// Offsets of hidden attributes, ascending (recorded in walk order), not yet passed.
    hidden: &'a [u16],
}

impl<'a> Iterator for AttributeIter<'a> {
    type Item = AttributeRef<'a>;

    fn next(&mut self) -> Option<AttributeRef<'a>> {
        loop {
            let (at, a) = self.raw.next()?;
            // Both sequences ascend, so one pass over each: linear even for an extended
            // message full of discarded duplicates.
            while self.hidden.first().is_some_and(|&h| usize::from(h) < at) {
                self.hidden = self.hidden.get(1..).unwrap_or(&[]);
            }
            if self.hidden.first().is_some_and(|&h| usize::from(h) == at) {
                self.hidden = self.hidden.get(1..).unwrap_or(&[]);
                continue;
            }
            return Some(a);
        }
    }
}

/// An owned UPDATE: what to send, or what a view holds, detached from the buffer.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Update {
    /// IPv4 unicast withdrawn routes.
    pub withdrawn: Vec<Nlri>,
    /// Path attributes in order (MP_REACH_NLRI / MP_UNREACH_NLRI among them).
    pub attributes: Vec<Attribute>,
    /// IPv4 unicast NLRI.
    pub nlri: Vec<Nlri>,
}

impl Update {
    /// The End-of-RIB marker for `family` (RFC 4724 §2).
    pub fn end_of_rib(family: Family) -> Update {
        if family == Family::IPV4_UNICAST {
            return Update::default();
        }
        Update {
            attributes: vec![Attribute::new(AttrValue::MpUnreach(MpUnreach {
                family,
                withdrawn: Vec::new(),
                raw_withdrawn: Bytes::new(),
            }))],
            ..Update::default()
        }
    }

    /// Encodes as one message. Fails if it does not fit the session's maximum size; use
    /// [`crate::UpdateBuilder`] to split large sets of prefixes.
    pub fn encode(&self, params: &SessionParams) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::new();
        self.encode_into(params, &mut out)?;
        Ok(out.freeze())
    }

    /// Appends the encoded message to `out`.
    pub fn encode_into(
        &self,
        params: &SessionParams,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let add_path = params.add_path_send.contains(Family::IPV4_UNICAST);
        let v4 = Family::IPV4_UNICAST;
        let wlen: usize = self
            .withdrawn
            .iter()
            .map(|n| nlri::wire_len(n, add_path))
            .sum();
        let alen: usize = self.attributes.iter().map(|a| a.encoded_len(params)).sum();
        let nlen: usize = self.nlri.iter().map(|n| nlri::wire_len(n, add_path)).sum();
        let total = HEADER_LEN + 4 + wlen + alen + nlen;
        let max = params.max_message_len();
        if total > max {
            return Err(EncodeError::MessageTooLarge { needed: total, max });
        }
        out.reserve(total);
        let start = header::start_header(out, MessageType::UPDATE);
        out.put_u16(wlen as u16);
        for n in &self.withdrawn {
            nlri::encode_one(n, v4, add_path, out)?;
        }
        out.put_u16(alen as u16);
        for a in &self.attributes {
            a.encode(params, out)?;
        }
        for n in &self.nlri {
            nlri::encode_one(n, v4, add_path, out)?;
        }
        header::finish_header(out, start);
        Ok(())
    }
}
