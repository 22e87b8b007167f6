//! NLRI encoding (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3).
//!
//! ```text
//! +---------------------------+
//! | Path Identifier (4 octets)|   only when ADD-PATH is negotiated for the family
//! +---------------------------+
//! | Length (1 octet, in bits) |
//! +---------------------------+
//! | Prefix (ceil(Length/8))   |
//! +---------------------------+
//! ```

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::EncodeError;
use crate::types::{Afi, Family};

/// One NLRI entry: a prefix and, with ADD-PATH, its path identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Nlri {
    /// ADD-PATH path identifier (RFC 7911), present only when negotiated for the family.
    pub path_id: Option<u32>,
    /// The prefix, with host bits cleared.
    pub prefix: IpNet,
}

impl Nlri {
    /// An NLRI without path identifier.
    pub fn new(prefix: IpNet) -> Self {
        Nlri {
            path_id: None,
            prefix: prefix.trunc(),
        }
    }

    /// An NLRI with an ADD-PATH path identifier.
    pub fn with_path_id(prefix: IpNet, path_id: u32) -> Self {
        Nlri {
            path_id: Some(path_id),
            prefix: prefix.trunc(),
        }
    }

    /// Octets this entry takes on the wire.
    pub fn encoded_len(&self) -> usize {
        let id = if self.path_id.is_some() { 4 } else { 0 };
        id + 1 + usize::from(self.prefix.prefix_len()).div_ceil(8)
    }
}

impl From<IpNet> for Nlri {
    fn from(prefix: IpNet) -> Self {
        Nlri::new(prefix)
    }
}

impl From<Ipv4Net> for Nlri {
    fn from(prefix: Ipv4Net) -> Self {
        Nlri::new(IpNet::V4(prefix))
    }
}

impl From<Ipv6Net> for Nlri {
    fn from(prefix: Ipv6Net) -> Self {
        Nlri::new(IpNet::V6(prefix))
    }
}

/// Why an NLRI field failed validation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum NlriFault {
    /// Prefix length exceeds the address width.
    PrefixTooLong,
    /// The field ends inside an entry.
    Truncated,
}

impl NlriFault {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            NlriFault::PrefixTooLong => "prefix length exceeds the address width",
            NlriFault::Truncated => "field ends inside a prefix",
        }
    }
}

/// Checks a whole NLRI field once, so that iterating it later cannot fail.
///
/// RFC 7606 §5.3: a prefix length larger than the address allows, or a field that ends in
/// the middle of a prefix, makes the whole field unusable.
pub(crate) fn validate(field: &[u8], max_bits: u8, add_path: bool) -> Result<usize, NlriFault> {
    let mut pos = 0usize;
    let mut count = 0usize;
    let id_len = if add_path { 4 } else { 0 };
    while pos < field.len() {
        pos += id_len;
        let Some(&len) = field.get(pos) else {
            return Err(NlriFault::Truncated);
        };
        if len > max_bits {
            return Err(NlriFault::PrefixTooLong);
        }
        pos += 1 + usize::from(len).div_ceil(8);
        count += 1;
    }
    if pos != field.len() {
        return Err(NlriFault::Truncated);
    }
    Ok(count)
}

/// Iterator over a validated NLRI field. Allocates nothing.
///
/// Produced by the UPDATE view; the field was checked when the UPDATE was decoded, so every
/// step succeeds. Should the invariant ever be broken the iterator ends instead of
/// panicking.
#[derive(Clone, Debug)]
pub struct NlriIter<'a> {
    data: &'a [u8],
    v6: bool,
    add_path: bool,
}

impl<'a> NlriIter<'a> {
    pub(crate) fn new(data: &'a [u8], afi: Afi, add_path: bool) -> Self {
        NlriIter {
            data,
            v6: afi == Afi::IPV6,
            add_path,
        }
    }

    pub(crate) fn empty() -> Self {
        NlriIter {
            data: &[],
            v6: false,
            add_path: false,
        }
    }

    /// Whether no entries remain.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The remaining raw field.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }
}

impl Iterator for NlriIter<'_> {
    type Item = Nlri;

    #[inline]
    fn next(&mut self) -> Option<Nlri> {
        let mut data = self.data;
        let path_id = if self.add_path {
            let (id, rest) = data.split_first_chunk::<4>()?;
            data = rest;
            Some(u32::from_be_bytes(*id))
        } else {
            None
        };
        let (&len, rest) = data.split_first()?;
        let n = usize::from(len).div_ceil(8);
        self.data = rest.get(n..)?;
        // Read a whole address when the buffer allows and mask it: one fixed-size load
        // instead of a variable-length copy per prefix (the hot loop of a table load).
        let prefix = if self.v6 {
            let raw = match rest.first_chunk::<16>() {
                Some(b) => u128::from_be_bytes(*b),
                None => {
                    let mut b = [0u8; 16];
                    b.get_mut(..n)?.copy_from_slice(rest.get(..n)?);
                    u128::from_be_bytes(b)
                }
            };
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(raw & mask128(len)), len).ok()?)
        } else {
            let raw = match rest.first_chunk::<4>() {
                Some(b) => u32::from_be_bytes(*b),
                None => {
                    let mut b = [0u8; 4];
                    b.get_mut(..n)?.copy_from_slice(rest.get(..n)?);
                    u32::from_be_bytes(b)
                }
            };
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(raw & mask32(len)), len).ok()?)
        };
        Some(Nlri { path_id, prefix })
    }
}

#[inline]
fn mask32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

#[inline]
fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

/// The family an NLRI's prefix belongs to (unicast SAFI).
pub(crate) fn afi_of(prefix: &IpNet) -> Afi {
    match prefix {
        IpNet::V4(_) => Afi::IPV4,
        IpNet::V6(_) => Afi::IPV6,
    }
}

/// An IPv4 prefix's length octet and whole network address, and how many of the
/// trailing octets are not part of its wire form. Entries are appended as this field (a
/// copy of fixed size, where one of the prefix's own size is a library call per prefix)
/// and then cut to length.
#[inline]
fn v4_field(p: Ipv4Net) -> ([u8; 5], usize) {
    let len = p.prefix_len();
    let [a, b, c, d] = p.network().octets();
    ([len, a, b, c, d], 4 - usize::from(len).div_ceil(8).min(4))
}

/// [`v4_field`] for an IPv6 prefix.
#[inline]
fn v6_field(p: Ipv6Net) -> ([u8; 17], usize) {
    let len = p.prefix_len();
    let mut field = [len; 17];
    if let Some(rest) = field.get_mut(1..) {
        rest.copy_from_slice(&p.network().octets());
    }
    (field, 16 - usize::from(len).div_ceil(8).min(16))
}

/// Appends one entry. `add_path` decides whether a path identifier is written (0 when the
/// entry has none); an identifier on an entry for a session without ADD-PATH is dropped.
pub(crate) fn encode_one(
    nlri: &Nlri,
    family: Family,
    add_path: bool,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    if afi_of(&nlri.prefix) != family.afi {
        return Err(EncodeError::PrefixFamilyMismatch(family));
    }
    if add_path {
        out.put_u32(nlri.path_id.unwrap_or(0));
    }
    match nlri.prefix {
        IpNet::V4(p) => {
            let (field, cut) = v4_field(p);
            out.extend_from_slice(&field);
            out.truncate(out.len() - cut);
        }
        IpNet::V6(p) => {
            let (field, cut) = v6_field(p);
            out.extend_from_slice(&field);
            out.truncate(out.len() - cut);
        }
    }
    Ok(())
}

/// NLRI entries of one family already in wire form, for one session's ADD-PATH setting:
/// what an encoder that walks a table appends per prefix, so that the messages are then
/// cut from it in a few copies ([`crate::UpdateBuilder::encode_buf`],
/// [`crate::PackedBuilder::encode_buf`]) instead of one entry at a time.
///
/// Only whole entries of the buffer's family go in, so the buffer is always well formed.
///
/// ```
/// use bgp_wire::{Family, Nlri, NlriBuf, SessionParams};
///
/// let session = SessionParams::default();
/// let mut buf = NlriBuf::new(&session, Family::IPV4_UNICAST);
/// buf.push(Nlri::new("203.0.113.0/24".parse().unwrap())).unwrap();
/// buf.push(Nlri::new("10.0.0.0/8".parse().unwrap())).unwrap();
/// assert_eq!(buf.as_bytes(), &[24, 203, 0, 113, 8, 10]);
/// assert_eq!(buf.len(), 2);
/// // An IPv6 prefix is not of the buffer's family.
/// assert!(buf.push(Nlri::new("2001:db8::/32".parse().unwrap())).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct NlriBuf {
    bytes: Vec<u8>,
    family: Family,
    add_path: bool,
    count: usize,
}

impl NlriBuf {
    /// An empty buffer for `family` on a session with `params` (path identifiers are
    /// written when the session sends them for the family).
    pub fn new(params: &crate::SessionParams, family: Family) -> NlriBuf {
        NlriBuf {
            bytes: Vec::new(),
            family,
            add_path: params.add_path_send.contains(family),
            count: 0,
        }
    }

    /// Appends one entry; its path identifier is written as for
    /// [`crate::UpdateBuilder::encode`] (0 when it has none, dropped when the session
    /// sends none).
    #[inline]
    pub fn push(&mut self, nlri: Nlri) -> Result<(), EncodeError> {
        match nlri.prefix {
            IpNet::V4(p) => self.put_v4(p, nlri.path_id),
            IpNet::V6(p) => self.put_v6(p, nlri.path_id),
        }
    }

    /// Appends an IPv4 prefix without path identifier (0 when the session sends them):
    /// [`NlriBuf::push`] for a walk that holds its prefixes as `Ipv4Net`.
    #[inline]
    pub fn push_v4(&mut self, prefix: Ipv4Net) -> Result<(), EncodeError> {
        self.put_v4(prefix, None)
    }

    /// Appends an IPv6 prefix without path identifier (0 when the session sends them).
    #[inline]
    pub fn push_v6(&mut self, prefix: Ipv6Net) -> Result<(), EncodeError> {
        self.put_v6(prefix, None)
    }

    #[inline]
    fn put_v4(&mut self, p: Ipv4Net, path_id: Option<u32>) -> Result<(), EncodeError> {
        let (field, cut) = v4_field(p);
        self.put(Afi::IPV4, path_id, &field, cut)
    }

    #[inline]
    fn put_v6(&mut self, p: Ipv6Net, path_id: Option<u32>) -> Result<(), EncodeError> {
        let (field, cut) = v6_field(p);
        self.put(Afi::IPV6, path_id, &field, cut)
    }

    /// Appends one entry of family `afi`: its path identifier if the session sends them,
    /// then `field` (a fixed-size prefix field) less its last `cut` octets.
    #[inline]
    fn put(
        &mut self,
        afi: Afi,
        path_id: Option<u32>,
        field: &[u8],
        cut: usize,
    ) -> Result<(), EncodeError> {
        if self.family.afi != afi {
            return Err(EncodeError::PrefixFamilyMismatch(self.family));
        }
        self.put_id(path_id);
        self.bytes.extend_from_slice(field);
        self.bytes.truncate(self.bytes.len() - cut);
        self.count += 1;
        Ok(())
    }

    #[inline]
    fn put_id(&mut self, path_id: Option<u32>) {
        if self.add_path {
            self.bytes
                .extend_from_slice(&path_id.unwrap_or(0).to_be_bytes());
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The entries, in wire form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The family of the entries.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Whether the entries carry path identifiers.
    pub fn add_path(&self) -> bool {
        self.add_path
    }

    /// Drops every entry (the buffer keeps its capacity).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
    }

    /// Octets the entry starting at `at` takes (`None` past the end).
    pub(crate) fn entry_len_at(&self, at: usize) -> Option<usize> {
        let id = if self.add_path { 4 } else { 0 };
        let len = *self.bytes.get(at + id)?;
        Some(id + 1 + usize::from(len).div_ceil(8))
    }
}

/// Octets an entry takes for this session.
pub(crate) fn wire_len(nlri: &Nlri, add_path: bool) -> usize {
    (if add_path { 4 } else { 0 }) + 1 + usize::from(nlri.prefix.prefix_len()).div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_and_masks_host_bits() {
        // 10.1.2.0/23 with the host bit of the third octet set on the wire.
        let field = [23, 10, 1, 3, 0, 32, 192, 0, 2, 1];
        assert_eq!(validate(&field, 32, false), Ok(3));
        let v: Vec<_> = NlriIter::new(&field, Afi::IPV4, false)
            .map(|n| n.prefix.to_string())
            .collect();
        assert_eq!(v, ["10.1.2.0/23", "0.0.0.0/0", "192.0.2.1/32"]);
    }

    #[test]
    fn add_path_ids_are_read() {
        let field = [0, 0, 0, 7, 8, 10];
        assert_eq!(validate(&field, 32, true), Ok(1));
        let n = NlriIter::new(&field, Afi::IPV4, true).next().unwrap();
        assert_eq!(n.path_id, Some(7));
        assert_eq!(n.prefix.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn rejects_long_prefixes_and_truncation() {
        assert_eq!(
            validate(&[33, 1, 2, 3, 4, 5], 32, false),
            Err(NlriFault::PrefixTooLong)
        );
        assert_eq!(validate(&[24, 10, 0], 32, false), Err(NlriFault::Truncated));
        assert_eq!(validate(&[0, 0, 0], 32, true), Err(NlriFault::Truncated));
        assert_eq!(validate(&[129], 128, false), Err(NlriFault::PrefixTooLong));
    }

    #[test]
    fn v6_entries() {
        let field = [
            48, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ];
        assert_eq!(validate(&field, 128, false), Ok(2));
        let v: Vec<_> = NlriIter::new(&field, Afi::IPV6, false)
            .map(|n| n.prefix.to_string())
            .collect();
        assert_eq!(v, ["2001:db8:1::/48", "::1/128"]);
    }
}
