#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bgp_rib::{NextHopAddr, PeerConfig, PeerId, Rib, RibConfig};
use bgp_wire::{AsPath, AttrValue, Attribute, Community, Nlri, Origin, SessionParams};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

pub const LOCAL_AS: u32 = 64512;

pub fn rib() -> Rib {
    Rib::new(RibConfig::new(LOCAL_AS, Ipv4Addr::new(192, 0, 2, 1)))
}

pub fn p(s: &str) -> IpNet {
    s.parse().unwrap()
}

pub fn nlri(s: &str) -> Nlri {
    Nlri::new(p(s))
}

pub fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Adds a peer with address 10.0.0.N and router id 1.1.1.N, and brings it up.
pub fn peer(rib: &mut Rib, n: u8, remote_as: u32) -> PeerId {
    peer_with(
        rib,
        n,
        PeerConfig::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), remote_as),
    )
}

pub fn peer_with(rib: &mut Rib, n: u8, cfg: PeerConfig) -> PeerId {
    let id = rib.add_peer(cfg).unwrap();
    let params = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(rib.peer_config(id).unwrap().remote_as != LOCAL_AS);
    rib.peer_up(id, Ipv4Addr::new(1, 1, 1, n), params).unwrap();
    id
}

pub fn nh(n: u8) -> NextHopAddr {
    NextHopAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

#[derive(Clone, Debug)]
pub struct A {
    pub path: Vec<u32>,
    pub origin: Origin,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub communities: Vec<Community>,
    pub originator: Option<Ipv4Addr>,
    pub cluster_list: Vec<Ipv4Addr>,
}

impl A {
    pub fn path(path: &[u32]) -> A {
        A {
            path: path.to_vec(),
            origin: Origin::Igp,
            med: None,
            local_pref: None,
            communities: Vec::new(),
            originator: None,
            cluster_list: Vec::new(),
        }
    }
    pub fn med(mut self, m: u32) -> A {
        self.med = Some(m);
        self
    }
    pub fn lp(mut self, m: u32) -> A {
        self.local_pref = Some(m);
        self
    }
    pub fn origin(mut self, o: Origin) -> A {
        self.origin = o;
        self
    }
    pub fn community(mut self, c: Community) -> A {
        self.communities.push(c);
        self
    }
    pub fn originator(mut self, o: Ipv4Addr) -> A {
        self.originator = Some(o);
        self
    }
    pub fn cluster(mut self, c: Ipv4Addr) -> A {
        self.cluster_list.push(c);
        self
    }
    pub fn build(&self) -> Vec<Attribute> {
        let mut v = vec![
            Attribute::new(AttrValue::Origin(self.origin)),
            Attribute::new(AttrValue::AsPath(AsPath::sequence(
                self.path.iter().copied(),
            ))),
        ];
        if let Some(m) = self.med {
            v.push(Attribute::new(AttrValue::Med(m)));
        }
        if let Some(m) = self.local_pref {
            v.push(Attribute::new(AttrValue::LocalPref(m)));
        }
        if !self.communities.is_empty() {
            v.push(Attribute::new(AttrValue::Communities(
                self.communities.clone(),
            )));
        }
        if let Some(o) = self.originator {
            v.push(Attribute::new(AttrValue::OriginatorId(o)));
        }
        if !self.cluster_list.is_empty() {
            v.push(Attribute::new(AttrValue::ClusterList(
                self.cluster_list.clone(),
            )));
        }
        v
    }
}
