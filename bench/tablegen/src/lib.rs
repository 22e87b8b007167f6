//! Deterministic synthetic BGP tables shaped like the Internet's default-free zone.
//!
//! Used by the codec and RIB benches and by the end-to-end benchmark harness so that every
//! number in the project is measured on the same data. The table is data only (prefixes and
//! attribute sets); each consumer encodes it with its own builders.
//!
//! Shape (defaults of [`TableSpec::full`]):
//! * 1,000,000 distinct IPv4 prefixes with a DFZ-like length mix (about 60 % /24, then /22,
//!   /23, /20, /21, /16 … /8), from public unicast space;
//! * 200,000 distinct IPv6 prefixes (mostly /48, then /32, /44, /40, /36, /29 …) in 2000::/3;
//! * 150,000 distinct attribute sets: AS paths of 2–6 public ASNs (a quarter of them
//!   4-octet), ORIGIN mostly IGP, MED on 30 %, 1–4 standard communities on 40 %;
//! * prefixes are spread over sets with a skew (a few sets carry hundreds of prefixes, most
//!   a handful), as in real tables.
//!
//! Next hops come from documentation ranges (192.0.2.0/24, 2001:db8::/32) so no daemon under
//! test rejects them as loopback or martian.

use ipnet::{Ipv4Net, Ipv6Net};
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One attribute set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrSet {
    /// ORIGIN code (0 IGP, 1 EGP, 2 incomplete).
    pub origin: u8,
    /// AS_SEQUENCE, nearest AS first.
    pub as_path: Vec<u32>,
    /// MULTI_EXIT_DISC, when present.
    pub med: Option<u32>,
    /// Standard communities (may be empty).
    pub communities: Vec<u32>,
    /// IPv4 next hop (192.0.2.0/24).
    pub next_hop_v4: Ipv4Addr,
    /// IPv6 next hop (2001:db8::/32).
    pub next_hop_v6: Ipv6Addr,
}

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct TableSpec {
    /// Distinct IPv4 prefixes.
    pub ipv4_prefixes: usize,
    /// Distinct IPv6 prefixes.
    pub ipv6_prefixes: usize,
    /// Distinct attribute sets.
    pub attr_sets: usize,
    /// PRNG seed.
    pub seed: u64,
}

impl TableSpec {
    /// The full table: 1,000,000 IPv4 + 200,000 IPv6 prefixes, 150,000 attribute sets.
    pub fn full() -> Self {
        TableSpec {
            ipv4_prefixes: 1_000_000,
            ipv6_prefixes: 200_000,
            attr_sets: 150_000,
            seed: 0x5eed_0001,
        }
    }

    /// The full table scaled by `factor`, keeping the prefixes-per-set ratio.
    pub fn scaled(factor: f64) -> Self {
        let f = TableSpec::full();
        let s = |n: usize| ((n as f64 * factor).round() as usize).max(1);
        TableSpec {
            ipv4_prefixes: s(f.ipv4_prefixes),
            ipv6_prefixes: s(f.ipv6_prefixes),
            attr_sets: s(f.attr_sets),
            seed: f.seed,
        }
    }
}

/// A generated table.
#[derive(Clone, Debug)]
pub struct Table {
    /// Attribute sets; prefixes refer to them by index.
    pub sets: Vec<AttrSet>,
    /// IPv4 prefixes, grouped by attribute set (consecutive entries share a set), as a speaker
    /// would send them.
    pub ipv4: Vec<(Ipv4Net, u32)>,
    /// IPv6 prefixes, grouped by attribute set.
    pub ipv6: Vec<(Ipv6Net, u32)>,
}

impl Table {
    /// Generates the table described by `spec`. Same spec, same table, on every machine.
    pub fn generate(spec: TableSpec) -> Table {
        let mut rng = Rng(spec.seed);
        let sets: Vec<AttrSet> = (0..spec.attr_sets.max(1))
            .map(|i| attr_set(&mut rng, i))
            .collect();
        let n_sets = sets.len() as u64;

        let mut seen4 = HashSet::with_capacity(spec.ipv4_prefixes);
        let mut ipv4 = Vec::with_capacity(spec.ipv4_prefixes);
        while ipv4.len() < spec.ipv4_prefixes {
            let len = pick(&mut rng, V4_LENGTHS);
            let addr = public_v4(&mut rng);
            let Ok(net) = Ipv4Net::new(addr, len) else {
                continue;
            };
            let net = net.trunc();
            if seen4.insert(net) {
                ipv4.push((net, skewed_set(&mut rng, n_sets)));
            }
        }
        let mut seen6 = HashSet::with_capacity(spec.ipv6_prefixes);
        let mut ipv6 = Vec::with_capacity(spec.ipv6_prefixes);
        while ipv6.len() < spec.ipv6_prefixes {
            let len = pick(&mut rng, V6_LENGTHS);
            // 2000::/3, avoiding the documentation block.
            let hi = (0x2000u128 | u128::from(rng.next() as u16 & 0x1fff)) << 112;
            let raw = hi | (u128::from(rng.next()) << 48) | u128::from(rng.next() & 0xffff);
            let Ok(net) = Ipv6Net::new(Ipv6Addr::from(raw), len) else {
                continue;
            };
            let net = net.trunc();
            if seen6.insert(net) {
                ipv6.push((net, skewed_set(&mut rng, n_sets)));
            }
        }
        // Group by set, as a speaker sends one UPDATE per attribute set.
        ipv4.sort_by_key(|&(p, s)| (s, p));
        ipv6.sort_by_key(|&(p, s)| (s, p));
        Table { sets, ipv4, ipv6 }
    }

    /// Runs of consecutive IPv4 prefixes that share an attribute set.
    pub fn ipv4_groups(&self) -> impl Iterator<Item = (u32, &[(Ipv4Net, u32)])> {
        groups(&self.ipv4)
    }

    /// Runs of consecutive IPv6 prefixes that share an attribute set.
    pub fn ipv6_groups(&self) -> impl Iterator<Item = (u32, &[(Ipv6Net, u32)])> {
        groups(&self.ipv6)
    }
}

fn groups<P>(v: &[(P, u32)]) -> impl Iterator<Item = (u32, &[(P, u32)])> {
    v.chunk_by(|a, b| a.1 == b.1)
        .filter_map(|run| run.first().map(|f| (f.1, run)))
}

/// Prefix length mix, weights in per mille (roughly the IPv4 DFZ in 2025).
const V4_LENGTHS: &[(u8, u32)] = &[
    (24, 600),
    (23, 90),
    (22, 110),
    (21, 50),
    (20, 50),
    (19, 30),
    (18, 20),
    (17, 12),
    (16, 20),
    (15, 5),
    (14, 5),
    (13, 3),
    (12, 2),
    (11, 1),
    (10, 1),
    (8, 1),
];

const V6_LENGTHS: &[(u8, u32)] = &[
    (48, 480),
    (32, 120),
    (44, 90),
    (40, 80),
    (36, 50),
    (46, 40),
    (29, 40),
    (47, 30),
    (33, 20),
    (28, 20),
    (64, 20),
    (56, 10),
];

fn pick(rng: &mut Rng, table: &[(u8, u32)]) -> u8 {
    let total: u32 = table.iter().map(|e| e.1).sum();
    let mut x = (rng.next() % u64::from(total.max(1))) as u32;
    for &(len, w) in table {
        if x < w {
            return len;
        }
        x -= w;
    }
    24
}

fn public_v4(rng: &mut Rng) -> Ipv4Addr {
    loop {
        let a = Ipv4Addr::from(rng.next() as u32);
        let o = a.octets()[0];
        if (1..=223).contains(&o) && !matches!(o, 10 | 100 | 127 | 169 | 172 | 192 | 198) {
            return a;
        }
    }
}

fn public_asn(rng: &mut Rng) -> u32 {
    if rng.next().is_multiple_of(4) {
        // 4-octet public space (RFC 6793 allocations start at 131072).
        131_072 + (rng.next() % 270_000) as u32
    } else {
        1 + (rng.next() % 63_999) as u32
    }
}

fn attr_set(rng: &mut Rng, i: usize) -> AttrSet {
    let hops = 2 + (rng.next() % 5) as usize;
    let as_path = (0..hops).map(|_| public_asn(rng)).collect::<Vec<_>>();
    let origin = match rng.next() % 20 {
        0 => 2,
        1 => 1,
        _ => 0,
    };
    let med = (rng.next() % 10 < 3).then(|| (rng.next() % 1000) as u32);
    let communities = if rng.next() % 10 < 4 {
        let n = 1 + (rng.next() % 4) as usize;
        let first = as_path.first().copied().unwrap_or(1) & 0xffff;
        (0..n)
            .map(|_| (first << 16) | (rng.next() % 4000) as u32)
            .collect()
    } else {
        Vec::new()
    };
    AttrSet {
        origin,
        as_path,
        med,
        communities,
        next_hop_v4: Ipv4Addr::new(192, 0, 2, 1 + (i % 250) as u8),
        next_hop_v6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1 + (i % 250) as u16),
    }
}

/// A set index with a heavy head: squaring a uniform draw gives low indices more prefixes.
fn skewed_set(rng: &mut Rng, n: u64) -> u32 {
    let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    ((u * u * n as f64) as u64).min(n - 1) as u32
}

/// splitmix64: small, fast and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_distinct_and_shaped() {
        let spec = TableSpec::scaled(0.01);
        let a = Table::generate(spec);
        let b = Table::generate(spec);
        assert_eq!(a.ipv4, b.ipv4);
        assert_eq!(a.ipv4.len(), 10_000);
        assert_eq!(a.ipv6.len(), 2_000);
        let distinct: HashSet<_> = a.ipv4.iter().map(|p| p.0).collect();
        assert_eq!(distinct.len(), a.ipv4.len());
        let slash24 = a.ipv4.iter().filter(|p| p.0.prefix_len() == 24).count();
        assert!((5_000..7_000).contains(&slash24), "{slash24} /24s");
        assert!(a.sets.iter().all(|s| (2..=6).contains(&s.as_path.len())));
        let used: HashSet<_> = a.ipv4.iter().map(|p| p.1).collect();
        assert!(used.len() > a.sets.len() / 3, "{} sets used", used.len());
    }
}
