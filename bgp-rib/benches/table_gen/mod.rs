//! A deterministic, DFZ-like IPv4 table for benches and tests.
//!
//! Prefix lengths follow the shape of today's default-free zone (about 60 % /24, then
//! /22, /23, /21, /20, /19, /16 …); about 150,000 distinct attribute sets for 1,000,000
//! prefixes, with a skewed number of prefixes per set (a few large origins, many small);
//! AS paths of 2–6 four-octet ASes starting with the peer's AS; MED on a third of the
//! sets, 1–4 communities on about 40 %.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::net::Ipv4Addr;

use bgp_wire::{
    AsPath, AttrValue, Attribute, Community, Family, Message, NextHop, Nlri, Origin, SessionParams,
    UpdateBuilder, UpdateRef, decode,
};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net};

/// xorshift64*: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub struct Table {
    /// Per attribute set: the attributes (no next hop).
    pub sets: Vec<Vec<Attribute>>,
    /// (prefix, set index), in the order a peer would send them (grouped by set).
    pub routes: Vec<(Ipv4Net, u32)>,
}

pub const PEER_AS: u32 = 65001;

fn prefix_len(r: &mut Rng) -> u8 {
    // Cumulative per-mille shares, roughly the 2024 DFZ.
    const MIX: [(u16, u8); 12] = [
        (600, 24),
        (700, 22),
        (790, 23),
        (840, 21),
        (880, 20),
        (905, 19),
        (925, 16),
        (945, 18),
        (960, 17),
        (975, 15),
        (990, 14),
        (1000, 12),
    ];
    let x = r.below(1000) as u16;
    MIX.iter().find(|(c, _)| x < *c).map_or(24, |(_, l)| *l)
}

/// `prefixes` prefixes over `sets` attribute sets.
pub fn generate(prefixes: usize, sets: usize, seed: u64) -> Table {
    let mut r = Rng::new(seed);
    let mut attr_sets = Vec::with_capacity(sets);
    for i in 0..sets {
        let len = 2 + r.below(5) as usize;
        let mut path = vec![PEER_AS];
        for _ in 1..len - 1 {
            path.push(64_500 + r.below(3_000) as u32 + if r.below(2) == 0 { 200_000 } else { 0 });
        }
        // The origin AS makes the set unique (sets are per origin and path).
        path.push(4_200_000_000 + i as u32);
        let mut v = vec![
            Attribute::new(AttrValue::Origin(if r.below(10) == 0 {
                Origin::Incomplete
            } else {
                Origin::Igp
            })),
            Attribute::new(AttrValue::AsPath(AsPath::sequence(path))),
        ];
        if r.below(3) == 0 {
            v.push(Attribute::new(AttrValue::Med(r.below(500) as u32)));
        }
        if r.below(10) < 4 {
            let n = 1 + r.below(4) as usize;
            let mut c: Vec<Community> = (0..n)
                .map(|_| Community::new(PEER_AS as u16, r.below(5000) as u16))
                .collect();
            c.sort();
            c.dedup();
            v.push(Attribute::new(AttrValue::Communities(c)));
        }
        attr_sets.push(v);
    }
    let mut seen = HashSet::with_capacity(prefixes * 2);
    let mut routes = Vec::with_capacity(prefixes);
    while routes.len() < prefixes {
        let len = prefix_len(&mut r);
        // Unicast space 1.0.0.0 – 223.255.255.255.
        let addr = (1u32 << 24) + r.below(222u64 << 24) as u32;
        let net = Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap().trunc();
        if !seen.insert(net) {
            continue;
        }
        // Every set gets one prefix; the rest go to sets with a skew (cube of a uniform
        // draw), so a few sets carry many prefixes.
        let set = if routes.len() < sets {
            routes.len()
        } else {
            let u = (r.below(1 << 20) as f64) / f64::from(1 << 20);
            ((u * u * u) * sets as f64) as usize
        };
        routes.push((net, set.min(sets - 1) as u32));
    }
    routes.sort_by_key(|&(_, s)| s);
    Table {
        sets: attr_sets,
        routes,
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
