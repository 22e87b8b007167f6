//! `UpdateBuilder`: packs many prefixes that share one attribute set into as few UPDATE
//! messages as the negotiated size allows, encoding the attributes once.

use bytes::{BufMut, Bytes, BytesMut};

use crate::attributes::{Aggregator, AttrFlags, AttrValue, Attribute, NextHop};
use crate::error::EncodeError;
use crate::header::{self, HEADER_LEN};
use crate::nlri::{self, Nlri, NlriBuf};
use crate::session::SessionParams;
use crate::types::{AS_TRANS, Afi, AttrType, Family, MessageType};

#[derive(Clone, Debug)]
enum Mode {
    /// IPv4 unicast with an IPv4 next hop: the NLRI field and NEXT_HOP (RFC 4271).
    Classic,
    /// MP_REACH_NLRI with this next hop (RFC 4760).
    MpReach(NextHop),
    /// Withdrawn Routes field (IPv4 unicast).
    ClassicWithdraw,
    /// MP_UNREACH_NLRI.
    MpUnreach,
}

/// Encodes announcements or withdrawals of one family with one attribute set.
///
/// The attributes are encoded once, when the builder is made; [`UpdateBuilder::encode`] then
/// only copies them and appends NLRI, starting a new message whenever the next prefix would
/// not fit the session's maximum message size. Attributes are written in ascending type
/// order (RFC 4271 §5) with MP_REACH_NLRI / MP_UNREACH_NLRI first (RFC 7606 §5.1).
///
/// ```
/// use bgp_wire::{Attribute, AttrValue, AsPath, Family, NextHop, Nlri, Origin, SessionParams, UpdateBuilder};
/// use bytes::BytesMut;
///
/// let session = SessionParams::default().with_four_octet_as(true);
/// let attrs = [
///     Attribute::new(AttrValue::Origin(Origin::Igp)),
///     Attribute::new(AttrValue::AsPath(AsPath::sequence([65530]))),
/// ];
/// let builder = UpdateBuilder::announce(
///     &session,
///     Family::IPV4_UNICAST,
///     NextHop::V4("169.254.10.1".parse().unwrap()),
///     &attrs,
/// )
/// .unwrap();
/// let prefixes = (0..2000u32).map(|i| Nlri::new(format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap()));
/// let mut out = BytesMut::new();
/// let messages = builder.encode(prefixes, &mut out).unwrap();
/// assert_eq!(messages, 2); // 2000 × 4 octets do not fit one 4096-octet message
/// ```
#[derive(Clone, Debug)]
pub struct UpdateBuilder {
    params: SessionParams,
    family: Family,
    mode: Mode,
    /// Encoded attributes other than MP_REACH_NLRI / MP_UNREACH_NLRI.
    attrs: Bytes,
}

impl UpdateBuilder {
    /// A builder for announcements of `family` via `next_hop` with `attributes`.
    ///
    /// NEXT_HOP, MP_REACH_NLRI and MP_UNREACH_NLRI in `attributes` are ignored: the builder
    /// writes the next hop where the family needs it. IPv4 unicast with an IPv6 next hop
    /// uses RFC 8950 encoding; the caller must have negotiated the Extended Next Hop
    /// capability.
    pub fn announce(
        params: &SessionParams,
        family: Family,
        next_hop: NextHop,
        attributes: &[Attribute],
    ) -> Result<Self, EncodeError> {
        let mode = match (&next_hop, family.afi) {
            (NextHop::V4(a), Afi::IPV4) if family == Family::IPV4_UNICAST => {
                let mut attrs: Vec<Attribute> = attributes.to_vec();
                attrs.push(Attribute::new(AttrValue::NextHop(*a)));
                return Self::with_attrs(params, family, Mode::Classic, &attrs);
            }
            (NextHop::V4(_), Afi::IPV4) | (NextHop::V6 { .. }, Afi::IPV4 | Afi::IPV6) => {
                Mode::MpReach(next_hop)
            }
            (NextHop::Raw(_), _) if !family.is_ip() => Mode::MpReach(next_hop),
            _ => return Err(EncodeError::NextHopFamilyMismatch(family)),
        };
        Self::with_attrs(params, family, mode, attributes)
    }

    /// Like [`UpdateBuilder::announce`], with the attributes already encoded for this
    /// session: `attributes` is a path attribute block (flags, type, length, value per
    /// attribute) in strictly ascending type order, without NEXT_HOP, MP_REACH_NLRI and
    /// MP_UNREACH_NLRI, with AS numbers in the session's width and the Extended Length bit
    /// set exactly when a value is longer than 255 octets. The builder checks that framing
    /// and order, and puts the next hop where the family needs it.
    ///
    /// Given the encoding of the same attributes, the messages are the same bytes
    /// [`UpdateBuilder::announce`] makes: a speaker that keeps its attribute sets encoded
    /// (a RIB exporting to many peers) makes a builder with one copy and no decoding.
    ///
    /// ```
    /// use bgp_wire::{Family, NextHop, Nlri, SessionParams, UpdateBuilder};
    /// use bytes::BytesMut;
    ///
    /// let session = SessionParams::default().with_four_octet_as(true);
    /// // ORIGIN IGP, AS_PATH [65530]
    /// let attrs = [0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xff, 0xfa];
    /// let nh = NextHop::V4("169.254.10.1".parse().unwrap());
    /// let b = UpdateBuilder::announce_encoded(&session, Family::IPV4_UNICAST, nh, &attrs).unwrap();
    /// let mut out = BytesMut::new();
    /// b.encode([Nlri::new("10.0.0.0/16".parse().unwrap())], &mut out).unwrap();
    /// assert_eq!(out.len(), 19 + 4 + attrs.len() + 7 + 3);
    /// ```
    pub fn announce_encoded(
        params: &SessionParams,
        family: Family,
        next_hop: NextHop,
        attributes: &[u8],
    ) -> Result<Self, EncodeError> {
        // Where NEXT_HOP goes: before the first attribute of a higher type.
        let mut insert_at = attributes.len();
        let mut at = 0;
        let mut last: Option<u8> = None;
        while at < attributes.len() {
            let bad = EncodeError::BadAttributeBlock(at);
            let (t, hdr, len) = match *attributes.get(at..).unwrap_or(&[]) {
                [flags, t, hi, lo, ..] if flags & AttrFlags::EXTENDED_LENGTH != 0 => {
                    let len = usize::from(u16::from_be_bytes([hi, lo]));
                    if len <= 255 {
                        return Err(bad);
                    }
                    (t, 4, len)
                }
                [flags, t, len, ..] if flags & AttrFlags::EXTENDED_LENGTH == 0 => {
                    (t, 3, usize::from(len))
                }
                _ => return Err(bad),
            };
            let t = AttrType(t);
            if last.is_some_and(|l| t.0 <= l)
                || matches!(
                    t,
                    AttrType::NEXT_HOP | AttrType::MP_REACH_NLRI | AttrType::MP_UNREACH_NLRI
                )
                || attributes.len() - at < hdr + len
            {
                return Err(bad);
            }
            if t.0 > AttrType::NEXT_HOP.0 && insert_at == attributes.len() {
                insert_at = at;
            }
            last = Some(t.0);
            at += hdr + len;
        }
        let mode = match (&next_hop, family.afi) {
            (NextHop::V4(a), Afi::IPV4) if family == Family::IPV4_UNICAST => {
                let (before, after) = attributes.split_at(insert_at);
                let mut out = BytesMut::with_capacity(attributes.len() + 7);
                out.put_slice(before);
                Attribute::new(AttrValue::NextHop(*a)).encode(params, &mut out)?;
                out.put_slice(after);
                return Ok(UpdateBuilder {
                    params: *params,
                    family,
                    mode: Mode::Classic,
                    attrs: out.freeze(),
                });
            }
            (NextHop::V4(_), Afi::IPV4) | (NextHop::V6 { .. }, Afi::IPV4 | Afi::IPV6) => {
                Mode::MpReach(next_hop)
            }
            (NextHop::Raw(_), _) if !family.is_ip() => Mode::MpReach(next_hop),
            _ => return Err(EncodeError::NextHopFamilyMismatch(family)),
        };
        Ok(UpdateBuilder {
            params: *params,
            family,
            mode,
            attrs: Bytes::copy_from_slice(attributes),
        })
    }

    /// A builder for withdrawals of `family`.
    pub fn withdraw(params: &SessionParams, family: Family) -> Self {
        let mode = if family == Family::IPV4_UNICAST {
            Mode::ClassicWithdraw
        } else {
            Mode::MpUnreach
        };
        UpdateBuilder {
            params: *params,
            family,
            mode,
            attrs: Bytes::new(),
        }
    }

    fn with_attrs(
        params: &SessionParams,
        family: Family,
        mode: Mode,
        attributes: &[Attribute],
    ) -> Result<Self, EncodeError> {
        let converted;
        let attributes = if params.four_octet_as {
            attributes
        } else {
            converted = for_two_octet_session(attributes);
            &converted[..]
        };
        let mut sorted: Vec<&Attribute> = attributes
            .iter()
            .filter(|a| {
                let t = a.value.type_code();
                !matches!(t, AttrType::MP_REACH_NLRI | AttrType::MP_UNREACH_NLRI)
                    && (t != AttrType::NEXT_HOP || matches!(mode, Mode::Classic))
            })
            .collect();
        sorted.sort_by_key(|a| a.value.type_code());
        let mut out = BytesMut::new();
        for a in sorted {
            a.encode(params, &mut out)?;
        }
        Ok(UpdateBuilder {
            params: *params,
            family,
            mode,
            attrs: out.freeze(),
        })
    }

    /// The encoded shared attributes.
    pub fn attribute_bytes(&self) -> &Bytes {
        &self.attrs
    }

    /// The same announcement builder with another next hop, without encoding the
    /// attributes again: an MP_REACH_NLRI builder shares them, a classic IPv4 builder gets
    /// a copy with the NEXT_HOP value replaced. `None` when the next hop would change how
    /// the family is carried (an IPv4 next hop for a builder made with an IPv6 one, or the
    /// reverse) or for a withdrawal builder; make a new builder then.
    ///
    /// Export to many peers that differ only in their own address (next-hop-self) uses
    /// this to encode each attribute set once.
    pub fn with_next_hop(&self, next_hop: &NextHop) -> Option<UpdateBuilder> {
        let mode = match (&self.mode, next_hop) {
            (Mode::Classic, NextHop::V4(a)) => {
                let attrs = replace_next_hop(&self.attrs, a.octets())?;
                return Some(UpdateBuilder {
                    params: self.params,
                    family: self.family,
                    mode: Mode::Classic,
                    attrs,
                });
            }
            (Mode::MpReach(NextHop::V4(_)), NextHop::V4(_))
            | (Mode::MpReach(NextHop::V6 { .. }), NextHop::V6 { .. }) => {
                Mode::MpReach(next_hop.clone())
            }
            _ => return None,
        };
        Some(UpdateBuilder {
            params: self.params,
            family: self.family,
            mode,
            attrs: self.attrs.clone(),
        })
    }

    /// Appends as many UPDATE messages as `nlri` needs to `out`; returns how many.
    ///
    /// ADD-PATH identifiers are written when the session sends them for the family (an
    /// entry without one gets 0).
    pub fn encode(
        &self,
        nlri: impl IntoIterator<Item = Nlri>,
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        self.parts().encode(nlri, out)
    }

    /// [`UpdateBuilder::encode`] for entries already in wire form: the same messages
    /// for the same entries, each message's NLRI taken in one copy.
    ///
    /// Fails with [`EncodeError::PrefixFamilyMismatch`] when `nlri` was made for another
    /// family or ADD-PATH setting.
    pub fn encode_buf(&self, nlri: &NlriBuf, out: &mut BytesMut) -> Result<usize, EncodeError> {
        self.parts().encode_buf(nlri, out)
    }

    fn parts(&self) -> Parts<'_> {
        Parts {
            params: &self.params,
            family: self.family,
            mode: &self.mode,
            attrs: &self.attrs,
        }
    }

    /// Like [`UpdateBuilder::encode`], returning one `Bytes` per message.
    pub fn messages(
        &self,
        nlri: impl IntoIterator<Item = Nlri>,
    ) -> Result<Vec<Bytes>, EncodeError> {
        let mut out = BytesMut::new();
        self.encode(nlri, &mut out)?;
        let mut all = out.freeze();
        let mut v = Vec::new();
        while all.len() >= HEADER_LEN {
            let len = usize::from(crate::update::be16(all.get(16..).unwrap_or(&[])));
            v.push(all.split_to(len.min(all.len())));
        }
        Ok(v)
    }
}

/// What encoding needs of a builder, borrowed: from an [`UpdateBuilder`] or from
/// [`PackedBuilders`].
#[derive(Clone, Copy, Debug)]
struct Parts<'a> {
    params: &'a SessionParams,
    family: Family,
    mode: &'a Mode,
    attrs: &'a [u8],
}

impl Parts<'_> {
    fn encode(
        &self,
        nlri: impl IntoIterator<Item = Nlri>,
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let max = self.params.max_message_len();
        let add_path = self.params.add_path_send.contains(self.family);
        let (fixed, tail) = self.frame();
        let mut open: Option<Open> = None;
        let mut count = 0;
        for n in nlri {
            let need = nlri::wire_len(&n, add_path);
            if fixed + need > max {
                return Err(EncodeError::MessageTooLarge {
                    needed: fixed + need,
                    max,
                });
            }
            if let Some(o) = &open
                && out.len() - o.start + need + tail > max
            {
                self.finish(out, o);
                open = None;
            }
            if open.is_none() {
                count += 1;
                open = Some(self.start(out, fixed));
            }
            nlri::encode_one(&n, self.family, add_path, out)?;
        }
        if let Some(o) = open {
            self.finish(out, &o);
        }
        Ok(count)
    }

    /// Octets every message needs before its first prefix, and octets appended when a
    /// message is finished (after its last prefix).
    fn frame(&self) -> (usize, usize) {
        let fixed = HEADER_LEN
            + 4
            + self.attrs.len()
            + match &self.mode {
                Mode::Classic | Mode::ClassicWithdraw => 0,
                Mode::MpReach(nh) => 4 + 5 + nh.encoded_len(),
                Mode::MpUnreach => 4 + 3,
            };
        let tail = match &self.mode {
            Mode::Classic | Mode::MpUnreach => 0,
            Mode::ClassicWithdraw => 2,
            Mode::MpReach(_) => self.attrs.len(),
        };
        (fixed, tail)
    }

    /// [`Parts::encode`] for entries already in wire form: each message takes its NLRI
    /// in one copy, and the entries are read one by one only where a message fills up.
    fn encode_buf(&self, nlri: &NlriBuf, out: &mut BytesMut) -> Result<usize, EncodeError> {
        if nlri.family() != self.family
            || nlri.add_path() != self.params.add_path_send.contains(self.family)
        {
            return Err(EncodeError::PrefixFamilyMismatch(self.family));
        }
        let max = self.params.max_message_len();
        let (fixed, tail) = self.frame();
        let bytes = nlri.as_bytes();
        let mut at = 0;
        let mut count = 0;
        while at < bytes.len() {
            let o = self.start(out, fixed);
            let room = max.saturating_sub(out.len() - o.start + tail);
            let end = if bytes.len() - at <= room {
                bytes.len()
            } else {
                let mut end = at;
                while let Some(n) = nlri.entry_len_at(end) {
                    if end + n - at > room {
                        break;
                    }
                    end += n;
                }
                end
            };
            let Some(part) = bytes.get(at..end).filter(|p| !p.is_empty()) else {
                // Not even the first entry fits in a message of its own.
                out.truncate(o.start);
                return Err(EncodeError::MessageTooLarge {
                    needed: fixed + nlri.entry_len_at(at).unwrap_or(0),
                    max,
                });
            };
            out.extend_from_slice(part);
            self.finish(out, &o);
            count += 1;
            at = end;
        }
        Ok(count)
    }

    fn start(&self, out: &mut BytesMut, fixed: usize) -> Open {
        out.reserve(fixed.max(512));
        let start = header::start_header(out, MessageType::UPDATE);
        match &self.mode {
            Mode::Classic => {
                // Withdrawn routes length 0, then the attributes' length and the attributes.
                let [hi, lo] = (self.attrs.len() as u16).to_be_bytes();
                out.extend_from_slice(&[0, 0, hi, lo]);
                out.extend_from_slice(self.attrs);
                Open { start, patch: None }
            }
            Mode::ClassicWithdraw => {
                out.put_u16(0); // patched: withdrawn routes length
                Open {
                    start,
                    patch: Some(Patch::Withdrawn(start + HEADER_LEN)),
                }
            }
            Mode::MpReach(nh) => {
                out.put_u16(0);
                let total_at = out.len();
                out.put_u16(0);
                out.put_u8(AttrFlags::OPTIONAL | AttrFlags::EXTENDED_LENGTH);
                out.put_u8(AttrType::MP_REACH_NLRI.0);
                let len_at = out.len();
                out.put_u16(0);
                out.put_u16(self.family.afi.0);
                out.put_u8(self.family.safi.0);
                out.put_u8(nh.encoded_len() as u8);
                nh.encode(out);
                out.put_u8(0);
                Open {
                    start,
                    patch: Some(Patch::Mp {
                        total_at,
                        len_at,
                        attrs_first: true,
                    }),
                }
            }
            Mode::MpUnreach => {
                out.put_u16(0);
                let total_at = out.len();
                out.put_u16(0);
                out.put_u8(AttrFlags::OPTIONAL | AttrFlags::EXTENDED_LENGTH);
                out.put_u8(AttrType::MP_UNREACH_NLRI.0);
                let len_at = out.len();
                out.put_u16(0);
                out.put_u16(self.family.afi.0);
                out.put_u8(self.family.safi.0);
                Open {
                    start,
                    patch: Some(Patch::Mp {
                        total_at,
                        len_at,
                        attrs_first: false,
                    }),
                }
            }
        }
    }

    fn finish(&self, out: &mut BytesMut, o: &Open) {
        match o.patch {
            None => {}
            Some(Patch::Withdrawn(at)) => {
                let wlen = (out.len() - at - 2) as u16;
                put_u16_at(out, at, wlen);
                out.put_u16(0); // total path attribute length
            }
            Some(Patch::Mp {
                total_at,
                len_at,
                attrs_first,
            }) => {
                let mp_len = out.len() - len_at - 2;
                put_u16_at(out, len_at, mp_len as u16);
                if attrs_first {
                    out.put_slice(self.attrs);
                }
                let total = out.len() - total_at - 2;
                put_u16_at(out, total_at, total as u16);
            }
        }
        header::finish_header(out, o.start);
    }
}

/// Largest chunk of [`PackedBuilders`] attribute storage.
const PACK_CHUNK: usize = 1 << 16;

/// The mode of every classic IPv4 announcement builder.
const CLASSIC: &Mode = &Mode::Classic;

/// Many announcement builders of one session and family, kept compactly.
///
/// An [`UpdateBuilder`] takes 88 octets plus an allocation for its attributes. A caller
/// that keeps a builder per attribute set of a whole table (an update group keeps about
/// 150,000 for an Internet table) keeps them here instead: the encoded attributes of all
/// of them in shared chunks of up to 64 KiB, each distinct MP_REACH_NLRI next hop once,
/// and 12 octets per builder besides its attributes. [`PackedBuilders::get`] gives a
/// builder back as a [`PackedBuilder`], which encodes exactly as the [`UpdateBuilder`]
/// it was made from. Builders are only added; [`PackedBuilders::clear`] drops them all.
///
/// ```
/// use bgp_wire::{Family, NextHop, Nlri, PackedBuilders, SessionParams, UpdateBuilder};
/// use bytes::BytesMut;
///
/// let session = SessionParams::default().with_four_octet_as(true);
/// let attrs = [0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xff, 0xfa];
/// let nh = NextHop::V4("169.254.10.1".parse().unwrap());
/// let b = UpdateBuilder::announce_encoded(&session, Family::IPV4_UNICAST, nh, &attrs).unwrap();
/// let mut packed = PackedBuilders::new(&session, Family::IPV4_UNICAST);
/// let i = packed.push(&b).unwrap();
/// let nlri = || [Nlri::new("10.0.0.0/16".parse().unwrap())];
/// let (mut one, mut two) = (BytesMut::new(), BytesMut::new());
/// b.encode(nlri(), &mut one).unwrap();
/// packed.get(i).unwrap().encode(nlri(), &mut two).unwrap();
/// assert_eq!(one, two);
/// ```
#[derive(Clone, Debug)]
pub struct PackedBuilders {
    params: SessionParams,
    family: Family,
    chunks: Vec<Vec<u8>>,
    spans: Vec<Span>,
    /// MP_REACH_NLRI modes, one per next hop, and where each is.
    modes: Vec<Mode>,
    mode_of: std::collections::HashMap<NextHop, u32>,
}

/// Where a [`PackedBuilders`] builder's attributes are, and its mode (`u32::MAX`:
/// classic).
#[derive(Clone, Copy, Debug)]
struct Span {
    chunk: u32,
    offset: u16,
    len: u16,
    mode: u32,
}

impl PackedBuilders {
    /// An empty store for builders of `family` made for a session with `params`.
    pub fn new(params: &SessionParams, family: Family) -> Self {
        PackedBuilders {
            params: *params,
            family,
            chunks: Vec::new(),
            spans: Vec::new(),
            modes: Vec::new(),
            mode_of: std::collections::HashMap::new(),
        }
    }

    /// Adds a copy of an announcement builder; returns its index. `None` when the
    /// builder is for another session or family, is a withdrawal builder, or has more
    /// attribute octets than a message can hold.
    pub fn push(&mut self, builder: &UpdateBuilder) -> Option<u32> {
        if builder.params != self.params || builder.family != self.family {
            return None;
        }
        let len = u16::try_from(builder.attrs.len()).ok()?;
        let index = u32::try_from(self.spans.len()).ok()?;
        let mode = match &builder.mode {
            Mode::Classic => u32::MAX,
            Mode::MpReach(nh) => match self.mode_of.get(nh) {
                Some(&m) => m,
                None => {
                    let m = u32::try_from(self.modes.len()).ok()?;
                    self.modes.push(builder.mode.clone());
                    self.mode_of.insert(nh.clone(), m);
                    m
                }
            },
            Mode::ClassicWithdraw | Mode::MpUnreach => return None,
        };
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + usize::from(len) <= PACK_CHUNK);
        if !fits {
            self.chunks.push(Vec::new());
        }
        let chunk = self.chunks.len() - 1;
        let c = self.chunks.last_mut()?;
        let offset = u16::try_from(c.len()).ok()?;
        c.extend_from_slice(&builder.attrs);
        self.spans.push(Span {
            chunk: u32::try_from(chunk).ok()?,
            offset,
            len,
            mode,
        });
        Some(index)
    }

    /// The builder at `index`.
    pub fn get(&self, index: u32) -> Option<PackedBuilder<'_>> {
        let s = self.spans.get(index as usize)?;
        let start = usize::from(s.offset);
        let attrs = self
            .chunks
            .get(s.chunk as usize)?
            .get(start..start + usize::from(s.len))?;
        let mode = if s.mode == u32::MAX {
            CLASSIC
        } else {
            self.modes.get(s.mode as usize)?
        };
        Some(PackedBuilder {
            parts: Parts {
                params: &self.params,
                family: self.family,
                mode,
                attrs,
            },
        })
    }

    /// The family of the store's builders.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Number of builders.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Drops every builder.
    pub fn clear(&mut self) {
        *self = PackedBuilders::new(&self.params, self.family);
    }

    /// Reserves room for `n` more builders' bookkeeping (not their attributes).
    pub fn reserve(&mut self, n: usize) {
        self.spans.reserve(n);
    }

    /// Heap octets held, about.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.chunks.capacity() * core::mem::size_of::<Vec<u8>>()
            + self.spans.capacity() * core::mem::size_of::<Span>()
            + self.modes.capacity() * core::mem::size_of::<Mode>()
            + self.mode_of.capacity() * (core::mem::size_of::<(NextHop, u32)>() + 1)
    }
}

/// A builder kept in [`PackedBuilders`].
#[derive(Clone, Copy, Debug)]
pub struct PackedBuilder<'a> {
    parts: Parts<'a>,
}

impl PackedBuilder<'_> {
    /// As [`UpdateBuilder::encode`].
    pub fn encode(
        &self,
        nlri: impl IntoIterator<Item = Nlri>,
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        self.parts.encode(nlri, out)
    }

    /// As [`UpdateBuilder::encode_buf`].
    pub fn encode_buf(&self, nlri: &NlriBuf, out: &mut BytesMut) -> Result<usize, EncodeError> {
        self.parts.encode_buf(nlri, out)
    }

    /// As [`UpdateBuilder::attribute_bytes`].
    pub fn attribute_bytes(&self) -> &[u8] {
        self.parts.attrs
    }
}

/// RFC 6793 §4.2.2: towards a speaker without 4-octet AS support, AS_PATH and AGGREGATOR
/// carry AS_TRANS where an AS needs 4 octets, and AS4_PATH / AS4_AGGREGATOR carry the real
/// values. Attributes that already hold AS4_* values are left as they are.
fn for_two_octet_session(attributes: &[Attribute]) -> Vec<Attribute> {
    let has = |t: AttrType| attributes.iter().any(|a| a.value.type_code() == t);
    let (has_as4_path, has_as4_agg) = (has(AttrType::AS4_PATH), has(AttrType::AS4_AGGREGATOR));
    let mut out = Vec::with_capacity(attributes.len() + 2);
    for a in attributes {
        match &a.value {
            AttrValue::AsPath(path) if !has_as4_path => {
                let (two, four) = path.split_for_two_octet();
                out.push(Attribute {
                    flags: a.flags,
                    value: AttrValue::AsPath(two),
                });
                if let Some(four) = four {
                    out.push(Attribute::new(AttrValue::As4Path(four)));
                }
            }
            AttrValue::Aggregator(agg) if agg.asn > 0xffff && !has_as4_agg => {
                let trans = Aggregator {
                    asn: AS_TRANS,
                    address: agg.address,
                };
                out.push(Attribute {
                    flags: a.flags,
                    value: AttrValue::Aggregator(trans),
                });
                out.push(Attribute::new(AttrValue::As4Aggregator(*agg)));
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

/// A message being filled.
struct Open {
    start: usize,
    patch: Option<Patch>,
}

#[derive(Clone, Copy)]
enum Patch {
    /// Withdrawn Routes Length at this offset.
    Withdrawn(usize),
    /// Total Path Attribute Length and MP attribute length to patch; shared attributes are
    /// appended after the MP attribute when `attrs_first` (MP_REACH_NLRI leads, RFC 7606 §5.1).
    Mp {
        total_at: usize,
        len_at: usize,
        attrs_first: bool,
    },
}

/// Rewrites, in place, the next hop of every UPDATE in `messages` (concatenated, as an
/// [`UpdateBuilder`] writes them) through `map`: the NEXT_HOP attribute and the next hop
/// field of MP_REACH_NLRI. A next hop `map` returns `None` for stays; a replacement must
/// have the same encoded length. Returns `false`, with `messages` possibly half
/// rewritten, if the bytes are not well-formed UPDATEs or a replacement does not fit.
///
/// Export uses it to give a second peer the UPDATEs made for a first one when the two
/// differ only in the next hop (their own address, with next-hop-self): copying and
/// patching is much cheaper than encoding again.
pub fn rewrite_next_hops(messages: &mut [u8], map: impl Fn(&[u8]) -> Option<Vec<u8>>) -> bool {
    let mut at = 0;
    while at < messages.len() {
        let Some(len) = read_u16(messages, at + 16) else {
            return false;
        };
        if len < HEADER_LEN + 4 || messages.get(at + 18) != Some(&MessageType::UPDATE.0) {
            return false;
        }
        let Some(msg) = messages.get_mut(at..at + len) else {
            return false;
        };
        if !rewrite_one(msg, &map) {
            return false;
        }
        at += len;
    }
    true
}

fn read_u16(b: &[u8], at: usize) -> Option<usize> {
    let v = b.get(at..at + 2)?;
    Some(usize::from(u16::from_be_bytes([*v.first()?, *v.get(1)?])))
}

/// [`rewrite_next_hops`] for one UPDATE message.
fn rewrite_one(msg: &mut [u8], map: &impl Fn(&[u8]) -> Option<Vec<u8>>) -> bool {
    let Some(wlen) = read_u16(msg, HEADER_LEN) else {
        return false;
    };
    let attrs_len_at = HEADER_LEN + 2 + wlen;
    let Some(alen) = read_u16(msg, attrs_len_at) else {
        return false;
    };
    let mut at = attrs_len_at + 2;
    let end = at + alen;
    if end > msg.len() {
        return false;
    }
    while at < end {
        let (Some(&flags), Some(&type_code)) = (msg.get(at), msg.get(at + 1)) else {
            return false;
        };
        let (hdr, len) = if flags & AttrFlags::EXTENDED_LENGTH != 0 {
            match read_u16(msg, at + 2) {
                Some(l) => (4, l),
                None => return false,
            }
        } else {
            match msg.get(at + 2) {
                Some(&l) => (3, usize::from(l)),
                None => return false,
            }
        };
        let value = at + hdr;
        let field = if type_code == AttrType::NEXT_HOP.0 {
            Some(value..value + len)
        } else if type_code == AttrType::MP_REACH_NLRI.0 {
            // AFI (2), SAFI (1), length of next hop (1), next hop.
            msg.get(value + 3)
                .map(|&l| value + 4..value + 4 + usize::from(l))
        } else {
            None
        };
        if let Some(field) = field {
            let Some(old) = msg.get(field.clone()) else {
                return false;
            };
            if let Some(new) = map(old) {
                match msg.get_mut(field) {
                    Some(dst) if dst.len() == new.len() => dst.copy_from_slice(&new),
                    _ => return false,
                }
            }
        }
        at = value + len;
    }
    at == end
}

/// A copy of encoded attributes with the 4-octet NEXT_HOP value replaced; `None` if
/// there is no well-formed NEXT_HOP.
fn replace_next_hop(attrs: &[u8], value: [u8; 4]) -> Option<Bytes> {
    let mut at = 0;
    while let Some(&[flags, type_code]) = attrs.get(at..at + 2) {
        let (hdr, len) = if flags & AttrFlags::EXTENDED_LENGTH != 0 {
            let l = attrs.get(at + 2..at + 4)?;
            (
                4,
                usize::from(u16::from_be_bytes([*l.first()?, *l.get(1)?])),
            )
        } else {
            (3, usize::from(*attrs.get(at + 2)?))
        };
        if type_code == AttrType::NEXT_HOP.0 {
            if len != 4 {
                return None;
            }
            let mut out = BytesMut::from(attrs);
            out.get_mut(at + hdr..at + hdr + 4)?.copy_from_slice(&value);
            return Some(out.freeze());
        }
        at += hdr + len;
    }
    None
}

fn put_u16_at(out: &mut BytesMut, at: usize, v: u16) {
    if let Some(slot) = out.get_mut(at..at + 2) {
        slot.copy_from_slice(&v.to_be_bytes());
    }
}
