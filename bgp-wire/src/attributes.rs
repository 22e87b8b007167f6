//! Path attributes (RFC 4271 §4.3, §5) as owned values, and their encoding.
//!
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |O|T|P|E| unused|  Type Code    |   O optional, T transitive, P partial, E extended length
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Length (1 octet, or 2 with E) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Value ...                     |
//! ```
//!
//! The views over received attributes live on [`crate::UpdateRef`]; this module has the
//! owned forms used to build UPDATEs and to keep attributes after the message is gone.

use bytes::{BufMut, Bytes, BytesMut};
use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::aspath::AsPath;
use crate::error::EncodeError;
use crate::nlri::{self, Nlri};
use crate::session::SessionParams;
use crate::types::{AS_TRANS, AttrType, Family};

/// Attribute flags octet.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct AttrFlags(pub u8);

impl AttrFlags {
    /// Optional bit.
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive bit.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial bit.
    pub const PARTIAL: u8 = 0x20;
    /// Extended Length bit.
    pub const EXTENDED_LENGTH: u8 = 0x10;

    /// Well-known (mandatory or discretionary): transitive, not optional.
    pub const WELL_KNOWN: AttrFlags = AttrFlags(Self::TRANSITIVE);
    /// Optional transitive.
    pub const OPTIONAL_TRANSITIVE: AttrFlags = AttrFlags(Self::OPTIONAL | Self::TRANSITIVE);
    /// Optional non-transitive.
    pub const OPTIONAL_NON_TRANSITIVE: AttrFlags = AttrFlags(Self::OPTIONAL);

    /// Optional bit set.
    pub fn is_optional(self) -> bool {
        self.0 & Self::OPTIONAL != 0
    }
    /// Transitive bit set.
    pub fn is_transitive(self) -> bool {
        self.0 & Self::TRANSITIVE != 0
    }
    /// Partial bit set.
    pub fn is_partial(self) -> bool {
        self.0 & Self::PARTIAL != 0
    }
    /// Extended Length bit set.
    pub fn is_extended_length(self) -> bool {
        self.0 & Self::EXTENDED_LENGTH != 0
    }

    /// The flags RFC 4271 and later specifications define for a known type: the Optional and
    /// Transitive bits that a received attribute must match (RFC 7606 §3(c)). `None` for an
    /// unknown type.
    pub fn expected_for(t: AttrType) -> Option<AttrFlags> {
        let rule = AttrRule::of(t);
        rule.known.then_some(AttrFlags(rule.flags))
    }
}

/// What the RFCs say about one attribute type, in one table so that decoding a path
/// attribute costs one lookup instead of a chain of matches.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttrRule {
    /// Whether this crate knows the type.
    pub known: bool,
    /// Optional and Transitive bits it must carry.
    pub flags: u8,
    /// Where the UPDATE view indexes it (`NO_SLOT` for none).
    pub slot: u8,
    /// Allowed value lengths (RFC 7606 §7, RFC 8092 §5, RFC 9234 §5).
    pub len: LenRule,
}

/// A length rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LenRule {
    /// Any length (parsed further by its own check).
    Any,
    /// Exactly this many octets.
    Exact(u8),
    /// A multiple of this many octets, zero allowed.
    Multiple(u8),
    /// A non-zero multiple of this many octets.
    NonZeroMultiple(u8),
    /// 6 octets, or 8 once the 4-octet AS capability is negotiated (RFC 7606 §7.7).
    Aggregator,
}

impl LenRule {
    #[inline]
    pub(crate) fn allows(self, n: usize, four_octet_as: bool) -> bool {
        match self {
            LenRule::Any => true,
            LenRule::Exact(k) => n == usize::from(k),
            LenRule::Multiple(k) => n.is_multiple_of(usize::from(k)),
            LenRule::NonZeroMultiple(k) => n != 0 && n.is_multiple_of(usize::from(k)),
            LenRule::Aggregator => n == if four_octet_as { 8 } else { 6 },
        }
    }
}

/// No UPDATE-view slot.
pub(crate) const NO_SLOT: u8 = u8::MAX;

impl AttrRule {
    const UNKNOWN: AttrRule = AttrRule {
        known: false,
        flags: 0,
        slot: NO_SLOT,
        len: LenRule::Any,
    };

    const fn new(flags: AttrFlags, slot: u8, len: LenRule) -> AttrRule {
        AttrRule {
            known: true,
            flags: flags.0,
            slot,
            len,
        }
    }

    /// The rule for a type code.
    #[inline]
    pub(crate) fn of(t: AttrType) -> AttrRule {
        RULES
            .get(usize::from(t.0))
            .copied()
            .unwrap_or(AttrRule::UNKNOWN)
    }
}

const WK: AttrFlags = AttrFlags::WELL_KNOWN;
const OT: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;
const ON: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// Indexed by type code. Slots are the UPDATE view's (see `update.rs`).
static RULES: [AttrRule; 256] = {
    use LenRule::*;
    let mut r = [AttrRule::UNKNOWN; 256];
    r[1] = AttrRule::new(WK, 0, Exact(1)); // ORIGIN
    r[2] = AttrRule::new(WK, 1, Any); // AS_PATH
    r[3] = AttrRule::new(WK, 2, Exact(4)); // NEXT_HOP
    r[4] = AttrRule::new(ON, 3, Exact(4)); // MULTI_EXIT_DISC
    r[5] = AttrRule::new(WK, 4, Exact(4)); // LOCAL_PREF
    r[6] = AttrRule::new(WK, 5, Exact(0)); // ATOMIC_AGGREGATE
    r[7] = AttrRule::new(OT, 6, Aggregator); // AGGREGATOR
    r[8] = AttrRule::new(OT, 7, NonZeroMultiple(4)); // COMMUNITIES
    r[9] = AttrRule::new(ON, 8, Exact(4)); // ORIGINATOR_ID
    r[10] = AttrRule::new(ON, 9, NonZeroMultiple(4)); // CLUSTER_LIST
    r[14] = AttrRule::new(ON, NO_SLOT, Any); // MP_REACH_NLRI
    r[15] = AttrRule::new(ON, NO_SLOT, Any); // MP_UNREACH_NLRI
    r[16] = AttrRule::new(OT, 10, Multiple(8)); // EXTENDED_COMMUNITIES
    r[17] = AttrRule::new(OT, 11, Any); // AS4_PATH
    r[18] = AttrRule::new(OT, 12, Exact(8)); // AS4_AGGREGATOR
    r[32] = AttrRule::new(OT, 13, NonZeroMultiple(12)); // LARGE_COMMUNITY
    r[35] = AttrRule::new(OT, 14, Exact(4)); // OTC
    r
};

/// ORIGIN (RFC 4271 §5.1.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Origin {
    /// 0: learned from an interior protocol.
    Igp = 0,
    /// 1: learned from EGP.
    Egp = 1,
    /// 2: learned some other way.
    Incomplete = 2,
}

impl Origin {
    /// From the wire value; `None` for undefined values.
    pub fn from_code(v: u8) -> Option<Self> {
        Some(match v {
            0 => Origin::Igp,
            1 => Origin::Egp,
            2 => Origin::Incomplete,
            _ => return None,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Igp => "IGP",
            Origin::Egp => "EGP",
            Origin::Incomplete => "incomplete",
        })
    }
}

/// A standard community (RFC 1997), shown as `asn:value`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT (RFC 1997): do not advertise outside the AS (or confederation).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997): do not advertise to any peer.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997): do not advertise to external peers, even inside a
    /// confederation.
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// NOPEER (RFC 3765).
    pub const NO_PEER: Community = Community(0xFFFF_FF04);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);

    /// From the two 16-bit halves.
    pub fn new(asn: u16, value: u16) -> Self {
        Community((u32::from(asn) << 16) | u32::from(value))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

impl fmt::Debug for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An extended community (RFC 4360), eight octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ExtendedCommunity {
    /// Type octet (high).
    pub fn type_high(&self) -> u8 {
        self.0[0]
    }
    /// Whether the community may cross AS boundaries (RFC 4360 §2: the T bit, 0x40, clear).
    pub fn is_transitive(&self) -> bool {
        self.0[0] & 0x40 == 0
    }
    /// Two-octet-AS route target `asn:value` (type 0x00, subtype 0x02).
    pub fn route_target(asn: u16, value: u32) -> Self {
        let a = asn.to_be_bytes();
        let v = value.to_be_bytes();
        ExtendedCommunity([0x00, 0x02, a[0], a[1], v[0], v[1], v[2], v[3]])
    }
}

impl fmt::Display for ExtendedCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex(&self.0))
    }
}

/// A large community (RFC 8092): `global:local1:local2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct LargeCommunity {
    /// Global administrator (an ASN).
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// AGGREGATOR / AS4_AGGREGATOR value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Aggregator {
    /// AS of the aggregating speaker.
    pub asn: u32,
    /// Its BGP identifier.
    pub address: Ipv4Addr,
}

/// Next hop carried in MP_REACH_NLRI (RFC 4760 §3, RFC 2545 §3, RFC 8950 §3).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum NextHop {
    /// IPv4 next hop (4 octets).
    V4(Ipv4Addr),
    /// IPv6 next hop: global, plus link-local when the length is 32 (RFC 2545 §3).
    V6 {
        /// Global (or the only) address.
        global: Ipv6Addr,
        /// Link-local address, when present.
        link_local: Option<Ipv6Addr>,
    },
    /// A next hop of a family this crate does not interpret, carried as is.
    Raw(Bytes),
}

impl NextHop {
    /// Octets on the wire.
    pub fn encoded_len(&self) -> usize {
        match self {
            NextHop::V4(_) => 4,
            NextHop::V6 {
                link_local: None, ..
            } => 16,
            NextHop::V6 {
                link_local: Some(_),
                ..
            } => 32,
            NextHop::Raw(b) => b.len(),
        }
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        match self {
            NextHop::V4(a) => out.put_slice(&a.octets()),
            NextHop::V6 { global, link_local } => {
                out.put_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.put_slice(&ll.octets());
                }
            }
            NextHop::Raw(b) => out.put_slice(b),
        }
    }

    /// Decodes a next hop of the given length for `family`. `None` when the length does
    /// not fit the family (RFC 7606 §7.11 malformed).
    pub(crate) fn decode(family: Family, data: &[u8]) -> Option<NextHop> {
        if !family.is_ip() {
            return Some(NextHop::Raw(Bytes::copy_from_slice(data)));
        }
        match data.len() {
            4 if family.afi == crate::Afi::IPV4 => {
                let b: [u8; 4] = data.try_into().ok()?;
                Some(NextHop::V4(Ipv4Addr::from(b)))
            }
            // IPv6 next hops, for IPv6 NLRI (RFC 2545) or IPv4 NLRI (RFC 8950).
            16 => {
                let b: [u8; 16] = data.try_into().ok()?;
                Some(NextHop::V6 {
                    global: Ipv6Addr::from(b),
                    link_local: None,
                })
            }
            32 => {
                let (g, l) = data.split_at(16);
                let g: [u8; 16] = g.try_into().ok()?;
                let l: [u8; 16] = l.try_into().ok()?;
                Some(NextHop::V6 {
                    global: Ipv6Addr::from(g),
                    link_local: Some(Ipv6Addr::from(l)),
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHop::V4(a) => write!(f, "{a}"),
            NextHop::V6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            NextHop::V6 {
                global,
                link_local: Some(ll),
            } => write!(f, "{global} ({ll})"),
            NextHop::Raw(b) => write!(f, "0x{}", crate::hex(b)),
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3).
///
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// | Subsequent Address Family Identifier (1 octet)          |
/// | Length of Next Hop Network Address (1 octet)            |
/// | Network Address of Next Hop (variable)                  |
/// | Reserved (1 octet)                                      |
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MpReach {
    /// Address family.
    pub family: Family,
    /// Next hop.
    pub next_hop: NextHop,
    /// Announced prefixes (IP families).
    pub nlri: Vec<Nlri>,
    /// NLRI of a family this crate does not parse, carried as is (empty for IP families).
    pub raw_nlri: Bytes,
}

/// MP_UNREACH_NLRI (RFC 4760 §4).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MpUnreach {
    /// Address family.
    pub family: Family,
    /// Withdrawn prefixes (IP families).
    pub withdrawn: Vec<Nlri>,
    /// Withdrawn NLRI of a family this crate does not parse, carried as is.
    pub raw_withdrawn: Bytes,
}

/// The value of one path attribute.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AttrValue {
    /// ORIGIN.
    Origin(Origin),
    /// AS_PATH (width decided by the session when encoding).
    AsPath(AsPath),
    /// NEXT_HOP.
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC.
    Med(u32),
    /// LOCAL_PREF.
    LocalPref(u32),
    /// ATOMIC_AGGREGATE.
    AtomicAggregate,
    /// AGGREGATOR (6 or 8 octets depending on the session).
    Aggregator(Aggregator),
    /// COMMUNITIES.
    Communities(Vec<Community>),
    /// ORIGINATOR_ID.
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST.
    ClusterList(Vec<Ipv4Addr>),
    /// MP_REACH_NLRI.
    MpReach(MpReach),
    /// MP_UNREACH_NLRI.
    MpUnreach(MpUnreach),
    /// EXTENDED_COMMUNITIES.
    ExtendedCommunities(Vec<ExtendedCommunity>),
    /// AS4_PATH (always 4-octet).
    As4Path(AsPath),
    /// AS4_AGGREGATOR.
    As4Aggregator(Aggregator),
    /// LARGE_COMMUNITY.
    LargeCommunities(Vec<LargeCommunity>),
    /// OTC, Only to Customer (RFC 9234).
    Otc(u32),
    /// Any other attribute, carried with its type code.
    Raw {
        /// Type code.
        type_code: AttrType,
        /// Value.
        value: Bytes,
    },
}

impl AttrValue {
    /// The attribute's type code.
    pub fn type_code(&self) -> AttrType {
        match self {
            AttrValue::Origin(_) => AttrType::ORIGIN,
            AttrValue::AsPath(_) => AttrType::AS_PATH,
            AttrValue::NextHop(_) => AttrType::NEXT_HOP,
            AttrValue::Med(_) => AttrType::MULTI_EXIT_DISC,
            AttrValue::LocalPref(_) => AttrType::LOCAL_PREF,
            AttrValue::AtomicAggregate => AttrType::ATOMIC_AGGREGATE,
            AttrValue::Aggregator(_) => AttrType::AGGREGATOR,
            AttrValue::Communities(_) => AttrType::COMMUNITIES,
            AttrValue::OriginatorId(_) => AttrType::ORIGINATOR_ID,
            AttrValue::ClusterList(_) => AttrType::CLUSTER_LIST,
            AttrValue::MpReach(_) => AttrType::MP_REACH_NLRI,
            AttrValue::MpUnreach(_) => AttrType::MP_UNREACH_NLRI,
            AttrValue::ExtendedCommunities(_) => AttrType::EXTENDED_COMMUNITIES,
            AttrValue::As4Path(_) => AttrType::AS4_PATH,
            AttrValue::As4Aggregator(_) => AttrType::AS4_AGGREGATOR,
            AttrValue::LargeCommunities(_) => AttrType::LARGE_COMMUNITIES,
            AttrValue::Otc(_) => AttrType::OTC,
            AttrValue::Raw { type_code, .. } => *type_code,
        }
    }

    /// Octets of the encoded value for this session.
    pub fn value_len(&self, params: &SessionParams) -> usize {
        match self {
            AttrValue::Origin(_) => 1,
            AttrValue::AsPath(p) => p.encoded_len(params.four_octet_as),
            AttrValue::NextHop(_)
            | AttrValue::Med(_)
            | AttrValue::LocalPref(_)
            | AttrValue::OriginatorId(_)
            | AttrValue::Otc(_) => 4,
            AttrValue::AtomicAggregate => 0,
            AttrValue::Aggregator(_) => {
                if params.four_octet_as {
                    8
                } else {
                    6
                }
            }
            AttrValue::As4Aggregator(_) => 8,
            AttrValue::Communities(c) => 4 * c.len(),
            AttrValue::ClusterList(c) => 4 * c.len(),
            AttrValue::ExtendedCommunities(c) => 8 * c.len(),
            AttrValue::LargeCommunities(c) => 12 * c.len(),
            AttrValue::As4Path(p) => p.encoded_len(true),
            AttrValue::MpReach(r) => {
                let add_path = params.add_path_send.contains(r.family);
                5 + r.next_hop.encoded_len()
                    + r.nlri
                        .iter()
                        .map(|n| nlri::wire_len(n, add_path))
                        .sum::<usize>()
                    + r.raw_nlri.len()
            }
            AttrValue::MpUnreach(u) => {
                let add_path = params.add_path_send.contains(u.family);
                3 + u
                    .withdrawn
                    .iter()
                    .map(|n| nlri::wire_len(n, add_path))
                    .sum::<usize>()
                    + u.raw_withdrawn.len()
            }
            AttrValue::Raw { value, .. } => value.len(),
        }
    }

    /// Appends the encoded value (no header).
    pub fn encode_value(
        &self,
        params: &SessionParams,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        match self {
            AttrValue::Origin(o) => out.put_u8(*o as u8),
            AttrValue::AsPath(p) => p.encode(params.four_octet_as, out),
            AttrValue::NextHop(a) | AttrValue::OriginatorId(a) => out.put_slice(&a.octets()),
            AttrValue::Med(v) | AttrValue::LocalPref(v) | AttrValue::Otc(v) => out.put_u32(*v),
            AttrValue::AtomicAggregate => {}
            AttrValue::Aggregator(a) => {
                if params.four_octet_as {
                    out.put_u32(a.asn);
                } else {
                    out.put_u16(u16::try_from(a.asn).unwrap_or(AS_TRANS as u16));
                }
                out.put_slice(&a.address.octets());
            }
            AttrValue::As4Aggregator(a) => {
                out.put_u32(a.asn);
                out.put_slice(&a.address.octets());
            }
            AttrValue::Communities(c) => c.iter().for_each(|c| out.put_u32(c.0)),
            AttrValue::ClusterList(c) => c.iter().for_each(|c| out.put_slice(&c.octets())),
            AttrValue::ExtendedCommunities(c) => c.iter().for_each(|c| out.put_slice(&c.0)),
            AttrValue::LargeCommunities(c) => c.iter().for_each(|c| {
                out.put_u32(c.global);
                out.put_u32(c.local1);
                out.put_u32(c.local2);
            }),
            AttrValue::As4Path(p) => p.encode(true, out),
            AttrValue::MpReach(r) => {
                let add_path = params.add_path_send.contains(r.family);
                out.put_u16(r.family.afi.0);
                out.put_u8(r.family.safi.0);
                out.put_u8(r.next_hop.encoded_len() as u8);
                r.next_hop.encode(out);
                out.put_u8(0);
                for n in &r.nlri {
                    nlri::encode_one(n, r.family, add_path, out)?;
                }
                out.put_slice(&r.raw_nlri);
            }
            AttrValue::MpUnreach(u) => {
                let add_path = params.add_path_send.contains(u.family);
                out.put_u16(u.family.afi.0);
                out.put_u8(u.family.safi.0);
                for n in &u.withdrawn {
                    nlri::encode_one(n, u.family, add_path, out)?;
                }
                out.put_slice(&u.raw_withdrawn);
            }
            AttrValue::Raw { value, .. } => out.put_slice(value),
        }
        Ok(())
    }
}

/// A path attribute: flags and value.
///
/// `flags` never carries the Extended Length bit: the encoder sets it when the value needs
/// it and the decoder clears it, so an attribute compares equal however it was framed.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Attribute {
    /// Flags without the Extended Length bit.
    pub flags: AttrFlags,
    /// Value.
    pub value: AttrValue,
}

impl Attribute {
    /// An attribute of a known type with the flags its specification defines (for
    /// [`AttrValue::Raw`]: optional transitive).
    pub fn new(value: AttrValue) -> Self {
        let flags =
            AttrFlags::expected_for(value.type_code()).unwrap_or(AttrFlags::OPTIONAL_TRANSITIVE);
        Attribute { flags, value }
    }

    /// Appends flags, type, length and value.
    pub fn encode(&self, params: &SessionParams, out: &mut BytesMut) -> Result<(), EncodeError> {
        let len = self.value.value_len(params);
        let type_code = self.value.type_code();
        let len16 = u16::try_from(len).map_err(|_| EncodeError::AttributeTooLarge(type_code))?;
        // RFC 4271 §4.3: the Extended Length bit may be used only when the value exceeds
        // 255 octets; we set it exactly then.
        let mut flags = self.flags.0 & !AttrFlags::EXTENDED_LENGTH;
        if len > 255 {
            flags |= AttrFlags::EXTENDED_LENGTH;
        }
        out.reserve(4 + len);
        out.put_u8(flags);
        out.put_u8(type_code.0);
        if len > 255 {
            out.put_u16(len16);
        } else {
            out.put_u8(len as u8);
        }
        self.value.encode_value(params, out)
    }

    /// Octets the attribute takes, header included.
    pub fn encoded_len(&self, params: &SessionParams) -> usize {
        let len = self.value.value_len(params);
        len + if len > 255 { 4 } else { 3 }
    }
}

impl From<AttrValue> for Attribute {
    fn from(value: AttrValue) -> Self {
        Attribute::new(value)
    }
}

/// Applies RFC 6793 §4.2.3 to attributes received from a 2-octet-AS speaker: returns the
/// reconstructed AS path and aggregator.
///
/// "If the AGGREGATOR attribute's AS is not AS_TRANS, AS4_AGGREGATOR and AS4_PATH are
/// ignored"; otherwise AS4_AGGREGATOR replaces AGGREGATOR and AS4_PATH is merged into
/// AS_PATH ([`AsPath::merge_as4_path`]).
pub fn merge_as4(
    as_path: &AsPath,
    as4_path: Option<&AsPath>,
    aggregator: Option<Aggregator>,
    as4_aggregator: Option<Aggregator>,
) -> (AsPath, Option<Aggregator>) {
    if let Some(agg) = aggregator
        && agg.asn != AS_TRANS
    {
        return (as_path.clone(), Some(agg));
    }
    let aggregator = match (aggregator, as4_aggregator) {
        (Some(_), Some(a4)) => Some(a4),
        (a, _) => a,
    };
    let path = match as4_path {
        Some(p4) => AsPath::merge_as4_path(as_path, p4),
        None => as_path.clone(),
    };
    (path, aggregator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_length_is_set_only_when_needed() {
        let p = SessionParams::default().with_four_octet_as(true);
        let short = Attribute::new(AttrValue::Communities(vec![Community(1); 10]));
        let mut out = BytesMut::new();
        short.encode(&p, &mut out).unwrap();
        assert_eq!(out[0], 0xC0);
        assert_eq!(out.len(), 3 + 40);
        let long = Attribute::new(AttrValue::Communities(vec![Community(1); 100]));
        let mut out = BytesMut::new();
        long.encode(&p, &mut out).unwrap();
        assert_eq!(out[0], 0xD0);
        assert_eq!(&out[2..4], &400u16.to_be_bytes());
        assert_eq!(long.encoded_len(&p), out.len());
    }

    #[test]
    fn aggregator_width_follows_session() {
        let a = Attribute::new(AttrValue::Aggregator(Aggregator {
            asn: 4_200_000_000,
            address: Ipv4Addr::new(192, 0, 2, 1),
        }));
        let mut out = BytesMut::new();
        a.encode(&SessionParams::default(), &mut out).unwrap();
        assert_eq!(&out[..], &[0xC0, 7, 6, 0x5b, 0xa0, 192, 0, 2, 1]);
    }

    #[test]
    fn merge_as4_respects_real_aggregator() {
        let path = AsPath::sequence([AS_TRANS, 1]);
        let p4 = AsPath::sequence([4_200_000_000, 1]);
        let agg = Aggregator {
            asn: 65000,
            address: Ipv4Addr::LOCALHOST,
        };
        let (p, a) = merge_as4(&path, Some(&p4), Some(agg), None);
        assert_eq!(p, path);
        assert_eq!(a, Some(agg));
        let trans = Aggregator {
            asn: AS_TRANS,
            address: Ipv4Addr::LOCALHOST,
        };
        let real = Aggregator {
            asn: 4_200_000_000,
            address: Ipv4Addr::LOCALHOST,
        };
        let (p, a) = merge_as4(&path, Some(&p4), Some(trans), Some(real));
        assert_eq!(p, p4);
        assert_eq!(a, Some(real));
    }

    #[test]
    fn community_display_and_constants() {
        assert_eq!(Community::new(65000, 100).to_string(), "65000:100");
        assert_eq!(Community::NO_EXPORT.to_string(), "65535:65281");
        assert!(ExtendedCommunity::route_target(65000, 1).is_transitive());
    }
}
