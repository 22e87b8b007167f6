//! The bench table: `bgp_tablegen`'s deterministic DFZ-like table (the one every bench of
//! the project measures), as one eBGP peer in AS [`PEER_AS`] sends it: each AS path starts
//! with the peer's AS, as RFC 4271 §9.1.2 import checks expect.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv4Addr;

use bgp_tablegen::TableSpec;
use bgp_wire::{
    AsPath, AttrValue, Attribute, Community, Family, Message, NextHop, Nlri, Origin, SessionParams,
    UpdateBuilder, UpdateRef, decode,
};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net};

/// The table as the RIB bench feeds it.
pub struct Table {
    /// Per attribute set: the attributes (no next hop).
    pub sets: Vec<Vec<Attribute>>,
    /// (prefix, set index), in the order a peer would send them (grouped by set).
    pub routes: Vec<(Ipv4Net, u32)>,
}

pub const PEER_AS: u32 = 65001;

/// `prefixes` IPv4 prefixes over `sets` attribute sets (seed `seed`).
pub fn generate(prefixes: usize, sets: usize, seed: u64) -> Table {
    let spec = TableSpec {
        ipv4_prefixes: prefixes,
        ipv6_prefixes: 0,
        attr_sets: sets,
        seed,
    };
    let t = bgp_tablegen::Table::generate(spec);
    let sets = t
        .sets
        .iter()
        .map(|s| {
            let mut v = vec![
                Attribute::new(AttrValue::Origin(match s.origin {
                    0 => Origin::Igp,
                    1 => Origin::Egp,
                    _ => Origin::Incomplete,
                })),
                Attribute::new(AttrValue::AsPath(AsPath::sequence(
                    std::iter::once(PEER_AS).chain(s.as_path.iter().copied()),
                ))),
            ];
            if let Some(m) = s.med {
                v.push(Attribute::new(AttrValue::Med(m)));
            }
            if !s.communities.is_empty() {
                v.push(Attribute::new(AttrValue::Communities(
                    s.communities.iter().map(|&c| Community(c)).collect(),
                )));
            }
            v
        })
        .collect();
    Table {
        sets,
        routes: t.ipv4,
    }
}

pub fn session() -> SessionParams {
    SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true)
}

impl Table {
    /// The table as UPDATE messages from one peer with next hop `next_hop`.
    pub fn encode(&self, next_hop: Ipv4Addr) -> Vec<Bytes> {
        let params = session();
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.routes.len() {
            let set = self.routes[i].1;
            let mut j = i;
            while j < self.routes.len() && self.routes[j].1 == set {
                j += 1;
            }
            let b = UpdateBuilder::announce(
                &params,
                Family::IPV4_UNICAST,
                NextHop::V4(next_hop),
                &self.sets[set as usize],
            )
            .unwrap();
            out.extend(
                b.messages(
                    self.routes[i..j]
                        .iter()
                        .map(|(p, _)| Nlri::new(IpNet::V4(*p))),
                )
                .unwrap(),
            );
            i = j;
        }
        out
    }

    /// Decoded views of [`Table::encode`].
    pub fn decoded(&self, next_hop: Ipv4Addr) -> Vec<UpdateRef> {
        let params = session();
        self.encode(next_hop)
            .into_iter()
            .map(|m| match decode(m, &params).unwrap() {
                Message::Update(u) => u,
                _ => unreachable!(),
            })
            .collect()
    }
}
