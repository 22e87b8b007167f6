//! Scenario tests: tunnel pairs (seed scenario S2 and its active/standby form), local
//! origination, graceful restart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp_rib::{
    BestCounts, ChangeKind, LocalRoute, LostAt, OriginCondition, PathStatus, PeerConfig, PeerId,
    Rib, RibConfig, StandbyExport, TunnelMode, TunnelPair,
};
use bgp_wire::{Family, Message, SessionParams, decode};
use common::*;
use std::net::{IpAddr, Ipv4Addr};

const VGW_AS: u32 = 64512 + 100;

/// A VPN connection: two tunnels, one eBGP session each, to the same gateway AS.
fn vpn(max_paths: usize) -> (Rib, PeerId, PeerId) {
    let mut rib = Rib::new(RibConfig {
        max_paths,
        ..RibConfig::new(65000, v4("192.0.2.1"))
    });
    let tunnel = |n: u8| {
        let mut c = PeerConfig::new(IpAddr::V4(Ipv4Addr::new(169, 254, n, 1)), VGW_AS);
        c.local_v4 = Some(Ipv4Addr::new(169, 254, n, 2));
        c
    };
    let t1 = rib.add_peer(tunnel(1)).unwrap();
    let t2 = rib.add_peer(tunnel(2)).unwrap();
    (rib, t1, t2)
}

fn up(rib: &mut Rib, p: PeerId, n: u8) {
    let s = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true);
    rib.peer_up(p, Ipv4Addr::new(1, 1, 1, n), s).unwrap();
}

fn announce_vpc(rib: &mut Rib, p: PeerId, n: u8) -> Vec<bgp_rib::Change> {
    rib.announce(
        p,
        bgp_rib::NextHopAddr::V4(Ipv4Addr::new(169, 254, n, 1)),
        &A::path(&[VGW_AS]).build(),
        [nlri("172.31.0.0/16")],
    )
    .unwrap()
    .changes
}

#[test]
fn active_standby_failover_and_switch_back() {
    let (mut rib, t1, t2) = vpn(1);
    rib.set_tunnel_pair(&TunnelPair {
        members: vec![t1, t2],
        mode: TunnelMode::active_standby(t2),
    })
    .unwrap();
    up(&mut rib, t1, 1);
    up(&mut rib, t2, 2);
    announce_vpc(&mut rib, t1, 1);
    announce_vpc(&mut rib, t2, 2);
    // The active tunnel wins on LOCAL_PREF although t1 has the lower address.
    let ex = rib.explain(p("172.31.0.0/16"));
    assert_eq!(ex[0].peer, t2);
    assert_eq!(ex[0].attrs.local_pref(), Some(200));
    assert_eq!(ex[1].status, PathStatus::Lost(LostAt::LocalPref));
    // Active goes down: the standby path is best, with no other trigger.
    let ch = rib.peer_down(t2).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].kind, ChangeKind::Best);
    assert_eq!(rib.best(p("172.31.0.0/16")).unwrap().peer, t1);
    // Active comes back: traffic switches back.
    up(&mut rib, t2, 2);
    let ch = announce_vpc(&mut rib, t2, 2);
    assert_eq!(ch[0].kind, ChangeKind::Best);
    assert_eq!(rib.best(p("172.31.0.0/16")).unwrap().peer, t2);
}

#[test]
fn active_standby_export_makes_the_far_side_prefer_the_active_tunnel() {
    for export in [
        StandbyExport::Med {
            active: 100,
            standby: 200,
        },
        StandbyExport::Prepend(3),
    ] {
        let (mut rib, t1, t2) = vpn(1);
        rib.set_tunnel_pair(&TunnelPair {
            members: vec![t1, t2],
            mode: TunnelMode::ActiveStandby {
                active: t1,
                active_local_pref: 200,
                standby_local_pref: 100,
                export,
            },
        })
        .unwrap();
        up(&mut rib, t1, 1);
        up(&mut rib, t2, 2);
        rib.originate(LocalRoute::new(p("10.0.0.0/16")));
        let s = SessionParams::default()
            .with_four_octet_as(true)
            .with_external(true);
        let mut got = Vec::new();
        for t in [t1, t2] {
            let g = rib.update_group(t).unwrap();
            let b = rib.export_full(g, Family::IPV4_UNICAST).unwrap();
            let Message::Update(u) = decode(b.messages.clone(), &s).unwrap() else {
                panic!()
            };
            got.push((u.med(), u.as_path().unwrap().path_len()));
        }
        match export {
            StandbyExport::Med { .. } => assert_eq!(got, [(Some(100), 1), (Some(200), 1)]),
            StandbyExport::Prepend(_) => assert_eq!(got, [(None, 1), (None, 4)]),
        }
        assert_ne!(rib.update_group(t1), rib.update_group(t2));
    }
}

#[test]
fn active_active_installs_both_tunnels() {
    let (mut rib, t1, t2) = vpn(2);
    rib.set_tunnel_pair(&TunnelPair {
        members: vec![t1, t2],
        mode: TunnelMode::ActiveActive,
    })
    .unwrap();
    up(&mut rib, t1, 1);
    up(&mut rib, t2, 2);
    announce_vpc(&mut rib, t1, 1);
    let ch = announce_vpc(&mut rib, t2, 2);
    assert_eq!(ch[0].kind, ChangeKind::Multipath);
    let mp = rib.multipath(p("172.31.0.0/16"));
    assert_eq!(mp.len(), 2);
    let mut peers: Vec<PeerId> = mp.iter().map(|r| r.peer).collect();
    peers.sort();
    assert_eq!(peers, [t1, t2]);
    // Losing one tunnel shrinks the set; the other keeps forwarding.
    let ch = rib.peer_down(t1).unwrap();
    assert_eq!(ch[0].kind, ChangeKind::Best);
    assert_eq!(rib.multipath(p("172.31.0.0/16")).len(), 1);
    assert!(rib.update_group(t2).is_some());
}

#[test]
fn local_origination_with_condition() {
    let mut rib = rib();
    let ch = rib.originate(LocalRoute::new(p("10.0.0.0/16")));
    assert_eq!(ch[0].kind, ChangeKind::Best);
    let extra = LocalRoute {
        condition: OriginCondition::WhileConditionHolds,
        ..LocalRoute::new(p("100.104.0.0/16"))
    };
    assert!(rib.originate(extra).is_empty(), "not in the kernel yet");
    let ch = rib.set_origin_condition(p("100.104.0.0/16"), true);
    assert_eq!(ch[0].kind, ChangeKind::Best);
    let best = rib.best(p("100.104.0.0/16")).unwrap();
    assert_eq!(best.peer, PeerId::LOCAL);
    assert_eq!(best.attrs.origin(), bgp_wire::Origin::Igp);
    let ch = rib.set_origin_condition(p("100.104.0.0/16"), false);
    assert_eq!(ch[0].kind, ChangeKind::Withdrawn);
    // v6 too.
    let ch = rib.originate(LocalRoute::new(p("2001:db8::/48")));
    assert_eq!(ch[0].kind, ChangeKind::Best);
    // A learned route loses to the local one on AS-path length.
    let e = peer(&mut rib, 1, 65001);
    let out = rib
        .announce(e, nh(1), &A::path(&[65001]).build(), [nlri("10.0.0.0/16")])
        .unwrap();
    assert!(out.changes.is_empty());
    rib.stop_originating(p("10.0.0.0/16"));
    assert_eq!(rib.best(p("10.0.0.0/16")).unwrap().peer, e);
}

#[test]
fn graceful_restart_keeps_stale_paths_until_end_of_rib() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    rib.announce(
        a,
        nh(1),
        &A::path(&[65001]).build(),
        [nlri("10.1.0.0/16"), nlri("10.2.0.0/16")],
    )
    .unwrap();
    rib.peer_down_graceful(a).unwrap();
    let best = rib.best(p("10.1.0.0/16")).unwrap();
    assert!(best.stale, "kept, marked stale, still used");
    // The peer restarts and re-announces one prefix.
    up(&mut rib, a, 1);
    let out = rib
        .announce(a, nh(1), &A::path(&[65001]).build(), [nlri("10.1.0.0/16")])
        .unwrap();
    assert!(
        out.changes.is_empty(),
        "same path: no change, just refreshed"
    );
    assert!(!rib.best(p("10.1.0.0/16")).unwrap().stale);
    // End-of-RIB: what was not refreshed goes.
    let ch = rib.end_of_rib(a, Family::IPV4_UNICAST).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].prefix, p("10.2.0.0/16"));
    assert_eq!(ch[0].kind, ChangeKind::Withdrawn);
}

/// Best paths per peer (and stale ones) counted from the prefix-ordered listing.
fn counts_from_listing(rib: &Rib) -> Vec<(PeerId, BestCounts)> {
    let mut m = std::collections::BTreeMap::<PeerId, BestCounts>::new();
    for r in rib.best_v4().chain(rib.best_v6()) {
        let c = m.entry(r.peer).or_default();
        c.best += 1;
        c.stale += usize::from(r.stale);
    }
    m.into_iter().collect()
}

#[test]
fn best_path_counts_agree_with_the_listing() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    let two = [nlri("10.1.0.0/16"), nlri("10.2.0.0/16")];
    rib.announce(a, nh(1), &A::path(&[65001]).build(), two)
        .unwrap();
    // b's path to 10.2/16 is longer and loses; 10.3/16 and the IPv6 prefix are b's alone.
    rib.announce(
        b,
        nh(2),
        &A::path(&[65002, 7]).build(),
        [nlri("10.2.0.0/16")],
    )
    .unwrap();
    rib.announce(b, nh(2), &A::path(&[65002]).build(), [nlri("10.3.0.0/16")])
        .unwrap();
    let v6_nh = bgp_rib::NextHopAddr::V6 {
        global: "2001:db8::2".parse().unwrap(),
        link_local: None,
    };
    rib.announce(
        b,
        v6_nh,
        &A::path(&[65002]).build(),
        [nlri("2001:db8::/32")],
    )
    .unwrap();
    rib.originate(LocalRoute::new(p("100.104.0.0/16")));
    let counts = rib.best_path_counts();
    let c = |best, stale| BestCounts { best, stale };
    assert_eq!(
        counts,
        [(PeerId::LOCAL, c(1, 0)), (a, c(2, 0)), (b, c(2, 0))]
    );
    assert_eq!(counts, counts_from_listing(&rib));
    // a restarts: its paths stay best, stale.
    rib.peer_down_graceful(a).unwrap();
    let counts = rib.best_path_counts();
    assert_eq!(counts[1], (a, c(2, 2)));
    assert_eq!(counts, counts_from_listing(&rib));
    rib.restart_timer_expired(a).unwrap();
    let counts = rib.best_path_counts();
    assert_eq!(counts, [(PeerId::LOCAL, c(1, 0)), (b, c(3, 0))]);
    assert_eq!(counts, counts_from_listing(&rib));
}

#[test]
fn graceful_restart_timer_expiry_removes_stale_paths() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    rib.announce(a, nh(1), &A::path(&[65001]).build(), [nlri("10.1.0.0/16")])
        .unwrap();
    rib.announce(
        b,
        nh(2),
        &A::path(&[65002, 1]).build(),
        [nlri("10.1.0.0/16")],
    )
    .unwrap();
    rib.peer_down_graceful(a).unwrap();
    assert_eq!(rib.best(p("10.1.0.0/16")).unwrap().peer, a);
    let ch = rib.restart_timer_expired(a).unwrap();
    assert_eq!(ch[0].kind, ChangeKind::Best);
    assert_eq!(rib.best(p("10.1.0.0/16")).unwrap().peer, b);
}

#[test]
fn regrouping_an_up_session_returns_what_to_send_it() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let mut cfg = bgp_rib::PeerConfig::new("169.254.10.2".parse().unwrap(), 65100);
    cfg.local_v4 = Some(v4("169.254.10.1"));
    let t1 = rib.add_peer(cfg).unwrap();
    rib.set_negotiated_families(t1, [bgp_wire::Family::IPV4_UNICAST])
        .unwrap();
    rib.peer_up(
        t1,
        v4("9.9.9.9"),
        bgp_wire::SessionParams::default()
            .with_four_octet_as(true)
            .with_external(true),
    )
    .unwrap();
    rib.announce(
        src,
        nh(1),
        &A::path(&[65001]).build(),
        [nlri("10.1.0.0/16")],
    )
    .unwrap();
    let g = rib.update_group(t1).unwrap();
    rib.export_full(g, bgp_wire::Family::IPV4_UNICAST).unwrap();
    assert_eq!(rib.advertised(t1), vec![p("10.1.0.0/16")]);

    // t1 becomes the standby tunnel of a pair: it moves group and must be re-sent the route
    // with the standby MED, and its record of what it was sent must survive.
    let t2 = peer(&mut rib, 3, 65100);
    let moved = rib
        .set_tunnel_pair(&TunnelPair {
            members: vec![t2, t1],
            mode: TunnelMode::active_standby(t2),
        })
        .unwrap();
    // Both members are up (the helper brings t2 up too), so both moved.
    assert_eq!(moved.iter().map(|m| m.0).collect::<Vec<_>>(), vec![t2, t1]);
    let (_, batch) = &moved[1];
    assert_eq!((batch.announced, batch.withdrawn), (1, 0));
    let params = bgp_wire::SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true);
    let Ok(bgp_wire::Message::Update(u)) = bgp_wire::decode(batch.messages.clone(), &params) else {
        panic!()
    };
    assert_eq!(u.med(), Some(200), "standby MED");
    assert_eq!(rib.advertised(t1), vec![p("10.1.0.0/16")]);
}
