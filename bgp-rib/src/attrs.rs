//! Interned path attribute sets.
//!
//! A full table carries about 150,000 distinct attribute sets for 1,000,000 prefixes, so
//! the RIB decodes and stores each set once, in an arena, and every path refers to it by a
//! 4-octet [`AttrId`]. A set is kept in a canonical wire form so that two UPDATEs carrying
//! the same attributes intern to the same set however the sender framed them:
//!
//! * attributes sorted by type code, at most one of each;
//! * the Extended Length bit set exactly when the value exceeds 255 octets;
//! * AS_PATH and AGGREGATOR always with 4-octet AS numbers (AS4_PATH / AS4_AGGREGATOR from a
//!   2-octet speaker are merged per RFC 6793 §4.2.3 and dropped);
//! * NEXT_HOP, MP_REACH_NLRI and MP_UNREACH_NLRI left out: the next hop is kept beside the
//!   bytes ([`NextHopAddr`]), the NLRI is what the table is keyed by;
//! * unknown optional non-transitive attributes dropped (RFC 4271 §5: "quietly ignored and
//!   not passed along").

use bytes::Bytes;
use core::fmt;
use core::hash::{BuildHasher, Hasher};
use std::collections::hash_map::RandomState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_wire::{
    AsPath, AttrFlags, AttrType, AttrValue, Attribute, Community, LargeCommunity, NextHop, Origin,
    Segment, SegmentType, SessionParams, UpdateRef,
};
use hashbrown::HashTable;

/// Index of an interned attribute set in the RIB's arena.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AttrId(pub(crate) u32);

impl AttrId {
    /// The arena index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The next hop of a path: IPv4, or IPv6 with an optional link-local address (RFC 2545 §3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum NextHopAddr {
    /// IPv4 next hop (NEXT_HOP, or MP_REACH_NLRI with 4 octets).
    V4(Ipv4Addr),
    /// IPv6 next hop (MP_REACH_NLRI; also IPv4 NLRI per RFC 8950).
    V6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address, when the sender gave one.
        link_local: Option<Ipv6Addr>,
    },
}

impl NextHopAddr {
    /// Unspecified IPv4 next hop: used by locally originated routes until export fills in
    /// the session's own address.
    pub const LOCAL_V4: NextHopAddr = NextHopAddr::V4(Ipv4Addr::UNSPECIFIED);
    /// Unspecified IPv6 next hop, likewise.
    pub const LOCAL_V6: NextHopAddr = NextHopAddr::V6 {
        global: Ipv6Addr::UNSPECIFIED,
        link_local: None,
    };

    /// The address to resolve (the global one for IPv6).
    pub fn addr(&self) -> IpAddr {
        match *self {
            NextHopAddr::V4(a) => IpAddr::V4(a),
            NextHopAddr::V6 { global, .. } => IpAddr::V6(global),
        }
    }

    /// Whether this is the placeholder of a locally originated route.
    pub fn is_unspecified(&self) -> bool {
        self.addr().is_unspecified()
    }

    /// As the codec's type.
    pub fn to_wire(self) -> NextHop {
        match self {
            NextHopAddr::V4(a) => NextHop::V4(a),
            NextHopAddr::V6 { global, link_local } => NextHop::V6 { global, link_local },
        }
    }

    /// From the codec's type (`None` for a next hop of a non-IP family).
    pub fn from_wire(nh: &NextHop) -> Option<Self> {
        match nh {
            NextHop::V4(a) => Some(NextHopAddr::V4(*a)),
            NextHop::V6 { global, link_local } => Some(NextHopAddr::V6 {
                global: *global,
                link_local: *link_local,
            }),
            NextHop::Raw(_) => None,
        }
    }
}

impl From<IpAddr> for NextHopAddr {
    fn from(a: IpAddr) -> Self {
        match a {
            IpAddr::V4(a) => NextHopAddr::V4(a),
            IpAddr::V6(global) => NextHopAddr::V6 {
                global,
                link_local: None,
            },
        }
    }
}

impl fmt::Display for NextHopAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHopAddr::V4(a) => write!(f, "{a}"),
            NextHopAddr::V6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            NextHopAddr::V6 {
                global,
                link_local: Some(l),
            } => write!(f, "{global} ({l})"),
        }
    }
}

/// Bits of [`PathAttrs`] flags.
mod flag {
    pub const HAS_MED: u8 = 1;
    pub const HAS_LOCAL_PREF: u8 = 2;
    pub const NO_EXPORT: u8 = 4;
    pub const NO_ADVERTISE: u8 = 8;
    pub const NO_EXPORT_SUBCONFED: u8 = 16;
    pub const HAS_ORIGINATOR: u8 = 32;
    pub const HAS_NEIGHBOR_AS: u8 = 64;
}

/// One interned attribute set: the canonical bytes and the values best-path selection and
/// export read on every comparison, decoded once.
#[derive(Clone, PartialEq, Eq)]
pub struct PathAttrs {
    /// The next hop (see [`encode_next_hop`]) followed by the canonical attributes: one
    /// allocation, and no 36-octet next-hop field in every set.
    data: Box<[u8]>,
    local_pref: u32,
    med: u32,
    neighbor_as: u32,
    originator_id: u32,
    as_path_len: u16,
    cluster_list_len: u16,
    origin: Origin,
    flags: u8,
}

impl fmt::Debug for PathAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PathAttrs");
        d.field("next_hop", &self.next_hop())
            .field("origin", &self.origin)
            .field("as_path", &self.as_path().collect::<Vec<_>>());
        if let Some(lp) = self.local_pref() {
            d.field("local_pref", &lp);
        }
        if let Some(med) = self.med() {
            d.field("med", &med);
        }
        let c: Vec<Community> = self.communities().collect();
        if !c.is_empty() {
            d.field("communities", &c);
        }
        d.finish()
    }
}

/// One attribute of a canonical set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawAttr<'a> {
    pub flags: u8,
    pub type_code: AttrType,
    pub value: &'a [u8],
    /// The whole attribute, header included.
    pub raw: &'a [u8],
}

/// Walks a canonical attribute block. Stops at the first inconsistency (cannot happen for
/// bytes this module built).
#[derive(Clone, Debug)]
pub(crate) struct RawAttrs<'a>(&'a [u8]);

impl<'a> Iterator for RawAttrs<'a> {
    type Item = RawAttr<'a>;
    fn next(&mut self) -> Option<RawAttr<'a>> {
        let &[flags, type_code, ..] = self.0 else {
            return None;
        };
        let (hdr, len) = if flags & AttrFlags::EXTENDED_LENGTH != 0 {
            let b = self.0.get(2..4)?;
            (
                4,
                usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?])),
            )
        } else {
            (3, usize::from(*self.0.get(2)?))
        };
        let raw = self.0.get(..hdr + len)?;
        self.0 = self.0.get(hdr + len..)?;
        Some(RawAttr {
            flags,
            type_code: AttrType(type_code),
            value: raw.get(hdr..)?,
            raw,
        })
    }
}

/// Appends one attribute in canonical framing.
pub(crate) fn push_attr(out: &mut Vec<u8>, flags: u8, type_code: AttrType, value: &[u8]) {
    let len = value.len().min(usize::from(u16::MAX));
    let mut flags = flags & !AttrFlags::EXTENDED_LENGTH;
    if len > 255 {
        flags |= AttrFlags::EXTENDED_LENGTH;
        out.extend_from_slice(&[flags, type_code.0]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&[flags, type_code.0, len as u8]);
    }
    out.extend_from_slice(value.get(..len).unwrap_or(value));
}

/// Iterator over the AS numbers of a canonical (4-octet) AS_PATH value with segment types.
#[derive(Clone, Debug)]
pub struct AsPathIter<'a> {
    data: &'a [u8],
    kind: u8,
    left: usize,
}

impl<'a> AsPathIter<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        AsPathIter {
            data,
            kind: 0,
            left: 0,
        }
    }

    /// Like `next`, with the segment type of the AS.
    pub fn next_with_kind(&mut self) -> Option<(SegmentType, u32)> {
        while self.left == 0 {
            let (&[kind, count], rest) = self.data.split_first_chunk::<2>()?;
            self.kind = kind;
            self.left = usize::from(count);
            self.data = rest;
        }
        let (a, rest) = self.data.split_first_chunk::<4>()?;
        self.data = rest;
        self.left -= 1;
        Some((SegmentType::from_code(self.kind)?, u32::from_be_bytes(*a)))
    }
}

impl Iterator for AsPathIter<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        self.next_with_kind().map(|(_, a)| a)
    }
}

/// Summary of a canonical AS_PATH value.
fn as_path_summary(v: &[u8]) -> (u16, Option<u32>) {
    let mut len = 0usize;
    let mut first = None;
    let mut rest = v;
    let mut seg_index = 0;
    while let Some((&[kind, count], body)) = rest.split_first_chunk::<2>() {
        let n = usize::from(count);
        match SegmentType::from_code(kind) {
            Some(SegmentType::Sequence) => {
                if seg_index == 0 {
                    first = body.first_chunk::<4>().map(|a| u32::from_be_bytes(*a));
                }
                len += n;
            }
            Some(SegmentType::Set) => len += 1,
            _ => {}
        }
        seg_index += 1;
        rest = body.get(n * 4..).unwrap_or(&[]);
    }
    (len.min(usize::from(u16::MAX)) as u16, first)
}

fn be32(v: &[u8]) -> Option<u32> {
    v.first_chunk::<4>().map(|a| u32::from_be_bytes(*a))
}

impl PathAttrs {
    /// Builds a set from canonical bytes (see the module docs) and a next hop.
    pub(crate) fn from_canonical(raw: &[u8], next_hop: NextHopAddr) -> PathAttrs {
        let mut data = Vec::with_capacity(raw.len() + 33);
        encode_next_hop(next_hop, &mut data);
        data.extend_from_slice(raw);
        PathAttrs::from_key(data.into_boxed_slice())
    }

    /// Builds a set from its interning key (next hop, then canonical attributes).
    pub(crate) fn from_key(data: Box<[u8]>) -> PathAttrs {
        let mut a = PathAttrs {
            data: Box::new([]),
            local_pref: 0,
            med: 0,
            neighbor_as: 0,
            originator_id: 0,
            as_path_len: 0,
            cluster_list_len: 0,
            origin: Origin::Incomplete,
            flags: 0,
        };
        let raw = data.get(next_hop_len(&data)..).unwrap_or(&[]);
        for at in RawAttrs(raw) {
            let v = at.value;
            match at.type_code {
                AttrType::ORIGIN => {
                    a.origin = v
                        .first()
                        .and_then(|&o| Origin::from_code(o))
                        .unwrap_or(Origin::Incomplete)
                }
                AttrType::AS_PATH => {
                    let (len, first) = as_path_summary(v);
                    a.as_path_len = len;
                    if let Some(f) = first {
                        a.neighbor_as = f;
                        a.flags |= flag::HAS_NEIGHBOR_AS;
                    }
                }
                AttrType::MULTI_EXIT_DISC => {
                    if let Some(m) = be32(v) {
                        a.med = m;
                        a.flags |= flag::HAS_MED;
                    }
                }
                AttrType::LOCAL_PREF => {
                    if let Some(lp) = be32(v) {
                        a.local_pref = lp;
                        a.flags |= flag::HAS_LOCAL_PREF;
                    }
                }
                AttrType::COMMUNITIES => {
                    for c in v.chunks_exact(4).filter_map(be32) {
                        a.flags |= match Community(c) {
                            Community::NO_EXPORT => flag::NO_EXPORT,
                            Community::NO_ADVERTISE => flag::NO_ADVERTISE,
                            Community::NO_EXPORT_SUBCONFED => flag::NO_EXPORT_SUBCONFED,
                            _ => 0,
                        };
                    }
                }
                AttrType::ORIGINATOR_ID => {
                    if let Some(o) = be32(v) {
                        a.originator_id = o;
                        a.flags |= flag::HAS_ORIGINATOR;
                    }
                }
                AttrType::CLUSTER_LIST => {
                    a.cluster_list_len = (v.len() / 4).min(usize::from(u16::MAX)) as u16
                }
                _ => {}
            }
        }
        a.data = data;
        a
    }

    /// The interning key: encoded next hop, then the canonical attributes.
    pub(crate) fn key(&self) -> &[u8] {
        &self.data
    }

    fn raw(&self) -> &[u8] {
        self.data.get(next_hop_len(&self.data)..).unwrap_or(&[])
    }

    /// The canonical attribute bytes (wire framing, ascending type code, 4-octet AS
    /// numbers, no NEXT_HOP / MP_REACH_NLRI / MP_UNREACH_NLRI).
    pub fn canonical_bytes(&self) -> &[u8] {
        self.raw()
    }

    pub(crate) fn raw_attrs(&self) -> RawAttrs<'_> {
        RawAttrs(self.raw())
    }

    pub(crate) fn find(&self, t: AttrType) -> Option<RawAttr<'_>> {
        self.raw_attrs().find(|a| a.type_code == t)
    }

    /// The next hop.
    pub fn next_hop(&self) -> NextHopAddr {
        decode_next_hop(&self.data)
    }

    /// ORIGIN (INCOMPLETE when absent).
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// LOCAL_PREF as carried, if present.
    pub fn local_pref(&self) -> Option<u32> {
        (self.flags & flag::HAS_LOCAL_PREF != 0).then_some(self.local_pref)
    }

    /// MULTI_EXIT_DISC, if present.
    pub fn med(&self) -> Option<u32> {
        (self.flags & flag::HAS_MED != 0).then_some(self.med)
    }

    /// ORIGINATOR_ID (RFC 4456), if present.
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        (self.flags & flag::HAS_ORIGINATOR != 0).then_some(Ipv4Addr::from(self.originator_id))
    }

    /// Number of entries in CLUSTER_LIST.
    pub fn cluster_list_len(&self) -> usize {
        usize::from(self.cluster_list_len)
    }

    /// CLUSTER_LIST entries.
    pub fn cluster_list(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let v = self
            .find(AttrType::CLUSTER_LIST)
            .map_or(&[][..], |a| a.value);
        v.chunks_exact(4).filter_map(be32).map(Ipv4Addr::from)
    }

    /// AS path length for best-path selection (RFC 4271 §9.1.2.2 a; AS_SET counts one,
    /// confederation segments zero per RFC 5065 §5.3).
    pub fn as_path_len(&self) -> usize {
        usize::from(self.as_path_len)
    }

    /// The neighbouring AS: the first AS of a leading AS_SEQUENCE (RFC 4271 §9.1.2.2 c).
    pub fn neighbor_as(&self) -> Option<u32> {
        (self.flags & flag::HAS_NEIGHBOR_AS != 0).then_some(self.neighbor_as)
    }

    /// Every AS number of AS_PATH, in order.
    pub fn as_path(&self) -> AsPathIter<'_> {
        AsPathIter::new(self.as_path_bytes())
    }

    /// The AS the route originated in: the last AS of the path.
    pub fn origin_as(&self) -> Option<u32> {
        self.as_path().last()
    }

    pub(crate) fn as_path_bytes(&self) -> &[u8] {
        self.find(AttrType::AS_PATH).map_or(&[][..], |a| a.value)
    }

    /// The AS path as the codec's owned type.
    pub fn as_path_owned(&self) -> AsPath {
        let mut segments = Vec::new();
        let mut rest = self.as_path_bytes();
        while let Some((&[kind, count], body)) = rest.split_first_chunk::<2>() {
            let n = usize::from(count) * 4;
            let Some(kind) = SegmentType::from_code(kind) else {
                break;
            };
            let asns = body
                .get(..n)
                .unwrap_or(&[])
                .chunks_exact(4)
                .filter_map(be32)
                .collect();
            segments.push(Segment { kind, asns });
            rest = body.get(n..).unwrap_or(&[]);
        }
        AsPath { segments }
    }

    /// COMMUNITIES.
    pub fn communities(&self) -> impl Iterator<Item = Community> + '_ {
        let v = self
            .find(AttrType::COMMUNITIES)
            .map_or(&[][..], |a| a.value);
        v.chunks_exact(4).filter_map(be32).map(Community)
    }

    /// LARGE_COMMUNITY.
    pub fn large_communities(&self) -> impl Iterator<Item = LargeCommunity> + '_ {
        let v = self
            .find(AttrType::LARGE_COMMUNITIES)
            .map_or(&[][..], |a| a.value);
        v.chunks_exact(12).filter_map(|c| {
            Some(LargeCommunity {
                global: be32(c)?,
                local1: be32(c.get(4..)?)?,
                local2: be32(c.get(8..)?)?,
            })
        })
    }

    /// Carries NO_EXPORT (RFC 1997).
    pub fn no_export(&self) -> bool {
        self.flags & flag::NO_EXPORT != 0
    }

    /// Carries NO_ADVERTISE (RFC 1997).
    pub fn no_advertise(&self) -> bool {
        self.flags & flag::NO_ADVERTISE != 0
    }

    /// Carries NO_EXPORT_SUBCONFED (RFC 1997).
    pub fn no_export_subconfed(&self) -> bool {
        self.flags & flag::NO_EXPORT_SUBCONFED != 0
    }

    /// The attributes as the codec's owned values (NEXT_HOP not included).
    pub fn to_attributes(&self) -> Vec<Attribute> {
        let params = SessionParams::default().with_four_octet_as(true);
        self.raw_attrs()
            .map(|a| {
                let flags = AttrFlags(a.flags & !AttrFlags::EXTENDED_LENGTH);
                let value = match a.type_code {
                    AttrType::AS_PATH => AttrValue::AsPath(self.as_path_owned()),
                    _ => owned_value(a, &params),
                };
                Attribute { flags, value }
            })
            .collect()
    }

    /// A copy with attribute `t` replaced (or removed with `None`), keeping the canonical
    /// order.
    pub(crate) fn with_attr(&self, t: AttrType, new: Option<(u8, &[u8])>) -> PathAttrs {
        let mut out = Vec::with_capacity(self.data.len() + 16);
        let nh_len = next_hop_len(&self.data);
        out.extend_from_slice(self.data.get(..nh_len).unwrap_or(&[]));
        splice_attr(self.raw(), t, new, &mut out);
        PathAttrs::from_key(out.into_boxed_slice())
    }

    /// Approximate heap and inline size, for memory accounting in docs and tests.
    pub fn approx_size(&self) -> usize {
        core::mem::size_of::<Self>() + self.data.len()
    }
}

/// Appends the next hop as interning key prefix: a length octet (4, 16 or 32) and the
/// address(es).
pub(crate) fn encode_next_hop(nh: NextHopAddr, out: &mut Vec<u8>) {
    match nh {
        NextHopAddr::V4(a) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        NextHopAddr::V6 { global, link_local } => {
            out.push(if link_local.is_some() { 32 } else { 16 });
            out.extend_from_slice(&global.octets());
            if let Some(l) = link_local {
                out.extend_from_slice(&l.octets());
            }
        }
    }
}

fn next_hop_len(data: &[u8]) -> usize {
    1 + usize::from(data.first().copied().unwrap_or(0))
}

fn decode_next_hop(data: &[u8]) -> NextHopAddr {
    let v6 = |b: Option<&[u8]>| -> Option<Ipv6Addr> {
        let a: [u8; 16] = b?.try_into().ok()?;
        Some(Ipv6Addr::from(a))
    };
    match data.first() {
        Some(4) => NextHopAddr::V4(
            data.get(1..5)
                .and_then(be32)
                .map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from),
        ),
        Some(16) => NextHopAddr::V6 {
            global: v6(data.get(1..17)).unwrap_or(Ipv6Addr::UNSPECIFIED),
            link_local: None,
        },
        Some(32) => NextHopAddr::V6 {
            global: v6(data.get(1..17)).unwrap_or(Ipv6Addr::UNSPECIFIED),
            link_local: v6(data.get(17..33)),
        },
        _ => NextHopAddr::LOCAL_V4,
    }
}

fn owned_value(a: RawAttr<'_>, params: &SessionParams) -> AttrValue {
    // Re-decode through the codec so the owned form is exactly what bgp-wire would give.
    let mut msg = Vec::with_capacity(23 + a.raw.len());
    msg.extend_from_slice(&[0xff; 16]);
    let total = 23 + a.raw.len();
    msg.extend_from_slice(&(total as u16).to_be_bytes());
    msg.push(2);
    msg.extend_from_slice(&0u16.to_be_bytes());
    msg.extend_from_slice(&(a.raw.len() as u16).to_be_bytes());
    msg.extend_from_slice(a.raw);
    let fallback = || AttrValue::Raw {
        type_code: a.type_code,
        value: Bytes::copy_from_slice(a.value),
    };
    let Ok(u) = UpdateRef::decode(Bytes::from(msg), params) else {
        return fallback();
    };
    u.attributes()
        .next()
        .map(|x| x.to_attribute(params).value)
        .unwrap_or_else(fallback)
}

/// Copies canonical `raw` into `out` with attribute `t` replaced, inserted or removed.
pub(crate) fn splice_attr(raw: &[u8], t: AttrType, new: Option<(u8, &[u8])>, out: &mut Vec<u8>) {
    let mut placed = false;
    for a in RawAttrs(raw) {
        if !placed && a.type_code >= t {
            if let Some((flags, value)) = new {
                push_attr(out, flags, t, value);
            }
            placed = true;
        }
        if a.type_code != t {
            out.extend_from_slice(a.raw);
        }
    }
    if !placed && let Some((flags, value)) = new {
        push_attr(out, flags, t, value);
    }
}

/// Builds canonical attribute bytes into a reusable buffer.
#[derive(Default)]
pub(crate) struct Canonicalizer {
    scratch: Vec<u8>,
}

impl Canonicalizer {
    pub(crate) fn new() -> Self {
        Canonicalizer {
            scratch: Vec::with_capacity(256),
        }
    }

    /// Canonical bytes of the UPDATE's attributes into the scratch buffer.
    pub(crate) fn canonical_update(&mut self, u: &UpdateRef) -> &[u8] {
        self.scratch.clear();
        let params = u.params();
        let two_octet = !params.four_octet_as;
        // Fast path, one walk: a 4-octet session sending attributes in ascending order with
        // minimal framing (what every common implementation does) is copied as is.
        if !two_octet {
            let mut last = 0u8;
            let mut canonical = true;
            for a in u.attributes() {
                let t = a.type_code;
                if skip_on_import(t, a.flags.0) {
                    continue;
                }
                if t.0 < last || a.flags.is_extended_length() != (a.value.len() > 255) {
                    canonical = false;
                    break;
                }
                last = t.0;
                self.scratch.extend_from_slice(a.raw);
            }
            if canonical {
                return &self.scratch;
            }
            self.scratch.clear();
        }
        // Slow path: sort, reframe, and for 2-octet sessions widen AS numbers.
        let mut owned: Vec<(AttrType, u8, Vec<u8>)> = Vec::new();
        let (merged_path, merged_agg) = if two_octet {
            let path = u.as_path().map(|p| p.to_owned()).unwrap_or_default();
            let p4 = u.as4_path().map(|p| p.to_owned());
            bgp_wire::merge_as4(&path, p4.as_ref(), u.aggregator(), u.as4_aggregator())
        } else {
            (AsPath::default(), None)
        };
        for a in u.attributes() {
            let t = a.type_code;
            if skip_on_import(t, a.flags.0) {
                continue;
            }
            let value = if two_octet && t == AttrType::AS_PATH {
                let mut b = bytes::BytesMut::new();
                merged_path.encode(true, &mut b);
                b.to_vec()
            } else if two_octet && t == AttrType::AGGREGATOR {
                match merged_agg {
                    Some(g) => {
                        let mut v = g.asn.to_be_bytes().to_vec();
                        v.extend_from_slice(&g.address.octets());
                        v
                    }
                    None => continue,
                }
            } else {
                a.value.to_vec()
            };
            owned.push((t, a.flags.0, value));
        }
        owned.sort_by_key(|(t, _, _)| *t);
        for (t, f, v) in &owned {
            push_attr(&mut self.scratch, *f, *t, v);
        }
        &self.scratch
    }

    /// Canonical bytes of owned attributes (4-octet AS numbers) into the scratch buffer.
    pub(crate) fn canonical_attributes(&mut self, attrs: &[Attribute]) -> &[u8] {
        self.scratch.clear();
        let params = SessionParams::default().with_four_octet_as(true);
        let mut sorted: Vec<&Attribute> = attrs
            .iter()
            .filter(|a| !skip_on_import(a.value.type_code(), a.flags.0))
            .collect();
        sorted.sort_by_key(|a| a.value.type_code());
        sorted.dedup_by_key(|a| a.value.type_code());
        for a in sorted {
            let mut v = bytes::BytesMut::new();
            if a.value.encode_value(&params, &mut v).is_ok() {
                push_attr(&mut self.scratch, a.flags.0, a.value.type_code(), &v);
            }
        }
        &self.scratch
    }
}

/// Attributes that are not part of an interned set.
fn skip_on_import(t: AttrType, flags: u8) -> bool {
    match t {
        AttrType::NEXT_HOP
        | AttrType::MP_REACH_NLRI
        | AttrType::MP_UNREACH_NLRI
        | AttrType::AS4_PATH
        | AttrType::AS4_AGGREGATOR => true,
        // RFC 4271 §5: an unrecognized optional non-transitive attribute "MUST be quietly
        // ignored and not passed along to other BGP peers".
        _ => {
            AttrFlags::expected_for(t).is_none()
                && flags & AttrFlags::OPTIONAL != 0
                && flags & AttrFlags::TRANSITIVE == 0
        }
    }
}

struct Slot {
    attrs: PathAttrs,
    refs: u32,
    /// Distinguishes this set from earlier ones that used the same index (export caches
    /// key on it).
    generation: u32,
    hash: u64,
}

/// Slots per arena chunk: the arena grows a chunk at a time instead of doubling, so a
/// table of 150,000 sets does not carry room for 262,144.
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The arena of interned attribute sets with reference counts.
pub(crate) struct AttrStore {
    chunks: Vec<Vec<Option<Slot>>>,
    free: Vec<u32>,
    /// (index, 32 bits of the set's hash): growing the table rehashes from the entries
    /// alone, without reading the arena.
    table: HashTable<(u32, u32)>,
    hasher: RandomState,
    live: usize,
    key: Vec<u8>,
    generation: u32,
    /// Indices freed, oldest first, so that export caches keyed by index can forget
    /// exactly those ([`AttrStore::freed_since`]); at most [`FREED_LOG_MAX`].
    freed_log: Vec<u32>,
    /// Frees that have dropped out of `freed_log`.
    freed_base: u64,
}

/// Frees remembered for the export caches: a cache further behind starts over.
const FREED_LOG_MAX: usize = 1 << 15;

/// The table's hash from the 32 bits of a set's hash it keeps: spread over 64 bits, as
/// hashbrown takes the bucket from the low bits and its tag from the high ones.
fn spread(hash: u64) -> u64 {
    (hash & u64::from(u32::MAX))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(26)
}

fn slot_at(chunks: &[Vec<Option<Slot>>], i: u32) -> Option<&Slot> {
    chunks
        .get((i >> CHUNK_BITS) as usize)?
        .get(i as usize & (CHUNK - 1))?
        .as_ref()
}

impl AttrStore {
    pub(crate) fn new() -> Self {
        AttrStore {
            chunks: Vec::new(),
            free: Vec::new(),
            table: HashTable::new(),
            hasher: RandomState::new(),
            live: 0,
            key: Vec::with_capacity(128),
            generation: 0,
            freed_log: Vec::new(),
            freed_base: 0,
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(key);
        h.finish()
    }

    fn slot_mut(&mut self, i: u32) -> Option<&mut Option<Slot>> {
        self.chunks
            .get_mut((i >> CHUNK_BITS) as usize)?
            .get_mut(i as usize & (CHUNK - 1))
    }

    /// Looks up or inserts the set and takes one reference to it.
    pub(crate) fn intern(&mut self, raw: &[u8], nh: NextHopAddr) -> AttrId {
        let mut key = core::mem::take(&mut self.key);
        key.clear();
        encode_next_hop(nh, &mut key);
        key.extend_from_slice(raw);
        let id = self.intern_key(&key, None);
        self.key = key;
        id
    }

    /// Interns an already built set and takes one reference.
    pub(crate) fn intern_attrs(&mut self, attrs: PathAttrs) -> AttrId {
        let key = attrs.data.clone();
        self.intern_key(&key, Some(attrs))
    }

    fn intern_key(&mut self, key: &[u8], built: Option<PathAttrs>) -> AttrId {
        let hash = self.hash(key);
        let chunks = &self.chunks;
        if let Some(&(id, _)) = self.table.find(spread(hash), |&(i, h)| {
            h == hash as u32 && slot_at(chunks, i).is_some_and(|s| s.attrs.key() == key)
        }) {
            if let Some(Some(s)) = self.slot_mut(id) {
                s.refs = s.refs.saturating_add(1);
            }
            return AttrId(id);
        }
        let attrs = built.unwrap_or_else(|| PathAttrs::from_key(key.to_vec().into_boxed_slice()));
        self.generation = self.generation.wrapping_add(1);
        let slot = Slot {
            attrs,
            refs: 1,
            generation: self.generation,
            hash,
        };
        let id = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slot_mut(i) {
                    *s = Some(slot);
                }
                i
            }
            None => {
                if self.chunks.last().is_none_or(|c| c.len() >= CHUNK) {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                let n = self.chunks.len() - 1;
                let last = self.chunks.last_mut();
                let at = last.as_ref().map_or(0, |c| c.len());
                if let Some(c) = last {
                    c.push(Some(slot));
                }
                ((n << CHUNK_BITS) + at) as u32
            }
        };
        self.table
            .insert_unique(spread(hash), (id, hash as u32), |&(_, h)| spread(h.into()));
        self.live += 1;
        AttrId(id)
    }

    /// Takes another reference.
    pub(crate) fn retain(&mut self, id: AttrId) {
        if let Some(Some(s)) = self.slot_mut(id.0) {
            s.refs = s.refs.saturating_add(1);
        }
    }

    /// Drops a reference; frees the set with the last one.
    pub(crate) fn release(&mut self, id: AttrId) {
        let Some(Some(s)) = self.slot_mut(id.0) else {
            return;
        };
        s.refs = s.refs.saturating_sub(1);
        if s.refs > 0 {
            return;
        }
        let hash = s.hash;
        if let Ok(e) = self.table.find_entry(spread(hash), |&(i, _)| i == id.0) {
            e.remove();
        }
        if let Some(s) = self.slot_mut(id.0) {
            *s = None;
        }
        self.free.push(id.0);
        if self.freed_log.len() >= FREED_LOG_MAX {
            let half = FREED_LOG_MAX / 2;
            self.freed_log.drain(..half);
            self.freed_base += half as u64;
        }
        self.freed_log.push(id.0);
        self.live -= 1;
        if self.live == 0 {
            // Give the arena back once the table is empty.
            self.chunks = Vec::new();
            self.free = Vec::new();
            self.table = HashTable::new();
            self.freed_base += self.freed_log.len() as u64;
            self.freed_log = Vec::new();
        }
    }

    /// How many sets have been freed so far: a mark for [`AttrStore::freed_since`].
    pub(crate) fn free_mark(&self) -> u64 {
        self.freed_base + self.freed_log.len() as u64
    }

    /// The indices freed since `mark` (any of them may hold a new set now); `None` when
    /// they are no longer all known, and whatever was recorded by index must go.
    pub(crate) fn freed_since(&self, mark: u64) -> Option<&[u32]> {
        let from = usize::try_from(mark.checked_sub(self.freed_base)?).ok()?;
        self.freed_log.get(from..)
    }

    pub(crate) fn get(&self, id: AttrId) -> Option<&PathAttrs> {
        slot_at(&self.chunks, id.0).map(|s| &s.attrs)
    }

    /// The generation of the set now at `id`.
    pub(crate) fn generation(&self, id: AttrId) -> u32 {
        slot_at(&self.chunks, id.0).map_or(0, |s| s.generation)
    }

    /// Number of live sets.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// One more than the highest index a set can have now.
    pub(crate) fn index_bound(&self) -> usize {
        self.chunks.len() * CHUNK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(attrs: &[Attribute]) -> Vec<u8> {
        Canonicalizer::new().canonical_attributes(attrs).to_vec()
    }

    #[test]
    fn canonical_form_sorts_and_decodes_fields() {
        let attrs = vec![
            Attribute::new(AttrValue::Med(7)),
            Attribute::new(AttrValue::AsPath(AsPath::sequence([65001, 65002]))),
            Attribute::new(AttrValue::Origin(Origin::Egp)),
            Attribute::new(AttrValue::Communities(vec![Community::NO_EXPORT])),
            Attribute::new(AttrValue::NextHop(Ipv4Addr::new(1, 2, 3, 4))),
        ];
        let raw = canon(&attrs);
        let a = PathAttrs::from_canonical(&raw, NextHopAddr::V4(Ipv4Addr::LOCALHOST));
        let types: Vec<u8> = a.raw_attrs().map(|x| x.type_code.0).collect();
        assert_eq!(types, [1, 2, 4, 8]);
        assert_eq!(a.med(), Some(7));
        assert_eq!(a.origin(), Origin::Egp);
        assert_eq!(a.as_path_len(), 2);
        assert_eq!(a.neighbor_as(), Some(65001));
        assert_eq!(a.origin_as(), Some(65002));
        assert!(a.no_export());
        assert_eq!(a.as_path_owned(), AsPath::sequence([65001, 65002]));
        assert_eq!(a.to_attributes().len(), 4);
    }

    #[test]
    fn splice_replaces_inserts_and_removes() {
        let raw = canon(&[
            Attribute::new(AttrValue::Origin(Origin::Igp)),
            Attribute::new(AttrValue::Med(1)),
        ]);
        let a = PathAttrs::from_canonical(&raw, NextHopAddr::LOCAL_V4);
        let b = a.with_attr(AttrType::LOCAL_PREF, Some((0x40, &200u32.to_be_bytes())));
        assert_eq!(b.local_pref(), Some(200));
        let types: Vec<u8> = b.raw_attrs().map(|x| x.type_code.0).collect();
        assert_eq!(types, [1, 4, 5]);
        let c = b.with_attr(AttrType::MULTI_EXIT_DISC, None);
        assert_eq!(c.med(), None);
        let d = c.with_attr(AttrType::ORIGIN, Some((0x40, &[2])));
        assert_eq!(d.origin(), Origin::Incomplete);
    }

    #[test]
    fn store_interns_and_frees() {
        let mut s = AttrStore::new();
        let raw = canon(&[Attribute::new(AttrValue::Origin(Origin::Igp))]);
        let a = s.intern(&raw, NextHopAddr::LOCAL_V4);
        let b = s.intern(&raw, NextHopAddr::LOCAL_V4);
        let c = s.intern(&raw, NextHopAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(s.len(), 2);
        s.release(a);
        assert_eq!(s.len(), 2);
        s.release(b);
        assert_eq!(s.len(), 1);
        assert!(s.get(a).is_none());
        s.release(c);
        assert_eq!(s.len(), 0);
    }
}
