//! Encoding the shared `bench/tablegen` table into the UPDATE stream an injector sends.
//!
//! Everything is encoded before the clock starts, with `bgp-wire`'s `UpdateBuilder` (one
//! builder per attribute set, prefixes packed into 4096-octet messages), and cut into
//! chunks of whole messages so the session's keepalive task can interleave.

use bgp_tablegen::{AttrSet, Table};
use bgp_wire::{
    AsPath, AttrValue, Attribute, Community, Family, NextHop, Nlri, Origin, SessionParams,
    UpdateBuilder,
};
use bytes::{Bytes, BytesMut};

use crate::peer::CHURN_MARKER;

/// Target size of one write.
const CHUNK: usize = 64 * 1024;

/// How an injector dresses the table.
#[derive(Clone, Copy, Debug)]
pub struct Dress {
    /// The injector's AS, prepended to every path on eBGP sessions.
    pub asn: u32,
    /// iBGP session: no prepend, LOCAL_PREF 100.
    pub ibgp: bool,
    /// Churn version: one more hop in the path and [`CHURN_MARKER`] added.
    pub churn: bool,
}

fn attributes(set: &AttrSet, d: Dress) -> Vec<Attribute> {
    let origin = match set.origin {
        0 => Origin::Igp,
        1 => Origin::Egp,
        _ => Origin::Incomplete,
    };
    let mut path: Vec<u32> = Vec::with_capacity(set.as_path.len() + 2);
    if !d.ibgp {
        path.push(d.asn);
    }
    if d.churn {
        // A different path (one hop longer) for the re-announcement.
        path.push(set.as_path.first().copied().unwrap_or(d.asn));
    }
    path.extend_from_slice(&set.as_path);
    let mut attrs = vec![
        Attribute::new(AttrValue::Origin(origin)),
        Attribute::new(AttrValue::AsPath(AsPath::sequence(path))),
    ];
    if let Some(med) = set.med {
        attrs.push(Attribute::new(AttrValue::Med(med)));
    }
    if d.ibgp {
        attrs.push(Attribute::new(AttrValue::LocalPref(100)));
    }
    let mut communities: Vec<Community> = set.communities.iter().map(|&c| Community(c)).collect();
    if d.churn {
        communities.push(CHURN_MARKER);
    }
    if !communities.is_empty() {
        attrs.push(Attribute::new(AttrValue::Communities(communities)));
    }
    attrs
}

/// Encodes announcements of the prefixes of `table` selected by `pick(index)`.
pub fn announcements(
    table: &Table,
    params: &SessionParams,
    d: Dress,
    pick: impl Fn(usize) -> bool,
) -> Result<Vec<Bytes>, String> {
    let mut out = BytesMut::with_capacity(table.ipv4.len() * 6 + table.sets.len() * 60);
    let mut index = 0usize;
    for (set_idx, run) in table.ipv4_groups() {
        let first = index;
        index += run.len();
        let set = table
            .sets
            .get(set_idx as usize)
            .ok_or_else(|| format!("set {set_idx} missing"))?;
        let chosen: Vec<Nlri> = run
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(first + i))
            .map(|(_, (p, _))| Nlri::from(*p))
            .collect();
        if chosen.is_empty() {
            continue;
        }
        let b = UpdateBuilder::announce(
            params,
            Family::IPV4_UNICAST,
            NextHop::V4(set.next_hop_v4),
            &attributes(set, d),
        )
        .map_err(|e| format!("encode: {e:?}"))?;
        b.encode(chosen, &mut out)
            .map_err(|e| format!("encode: {e:?}"))?;
    }
    Ok(chunks(out.freeze()))
}

/// Encodes withdrawals of every IPv4 prefix of `table`.
pub fn withdrawals(table: &Table, params: &SessionParams) -> Result<Vec<Bytes>, String> {
    let mut out = BytesMut::with_capacity(table.ipv4.len() * 5);
    UpdateBuilder::withdraw(params, Family::IPV4_UNICAST)
        .encode(table.ipv4.iter().map(|(p, _)| Nlri::from(*p)), &mut out)
        .map_err(|e| format!("encode: {e:?}"))?;
    Ok(chunks(out.freeze()))
}

/// Cuts a run of whole messages into chunks of about [`CHUNK`] octets at message
/// boundaries.
fn chunks(all: Bytes) -> Vec<Bytes> {
    let mut v = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    while pos + 19 <= all.len() {
        let len = all
            .get(pos + 16..pos + 18)
            .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        if len < 19 {
            break;
        }
        if pos + len - start > CHUNK && pos > start {
            v.push(all.slice(start..pos));
            start = pos;
        }
        pos += len;
    }
    if start < all.len() {
        v.push(all.slice(start..));
    }
    v
}

/// Number of messages in a chunk list (for the report).
pub fn octets(chunks: &[Bytes]) -> usize {
    chunks.iter().map(Bytes::len).sum()
}
