//! Export / Adj-RIB-Out: RFC 4456 §8 reflection, split horizon, well-known communities,
//! next hop handling, prepend, max export, update groups, incremental changes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp_rib::{ExportBatch, GroupId, PeerConfig, PeerId, Rib, RibConfig};
use bgp_wire::{Community, Family, Message, SessionParams, UpdateRef, decode};
use common::*;
use std::net::{IpAddr, Ipv4Addr};

fn updates(batch: &ExportBatch, params: &SessionParams) -> Vec<UpdateRef> {
    let mut all = batch.messages.clone();
    let mut v = Vec::new();
    while all.len() >= 19 {
        let len = u16::from_be_bytes([all[16], all[17]]) as usize;
        match decode(all.split_to(len), params).unwrap() {
            Message::Update(u) => v.push(u),
            m => panic!("{m:?}"),
        }
    }
    assert_eq!(v.len(), batch.message_count);
    v
}

fn session(ext: bool) -> SessionParams {
    SessionParams::default()
        .with_four_octet_as(true)
        .with_external(ext)
}

struct Net {
    rib: Rib,
    client1: PeerId,
    client2: PeerId,
    nonclient: PeerId,
    ebgp: PeerId,
}

fn net() -> Net {
    let mut rib = Rib::new(RibConfig {
        cluster_id: Some(v4("5.5.5.5")),
        ..RibConfig::new(LOCAL_AS, v4("192.0.2.1"))
    });
    let client = |n: u8| {
        let mut c = PeerConfig::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), LOCAL_AS);
        c.route_reflector_client = true;
        c.local_v4 = Some(v4("10.0.0.254"));
        c
    };
    let client1 = peer_with(&mut rib, 1, client(1));
    let client2 = peer_with(&mut rib, 2, client(2));
    let mut nc = PeerConfig::new(IpAddr::V4(v4("10.0.0.3")), LOCAL_AS);
    nc.local_v4 = Some(v4("10.0.0.254"));
    let nonclient = peer_with(&mut rib, 3, nc);
    let mut e = PeerConfig::new(IpAddr::V4(v4("169.254.0.1")), 65001);
    e.local_v4 = Some(v4("169.254.0.2"));
    let ebgp = peer_with(&mut rib, 4, e);
    Net {
        rib,
        client1,
        client2,
        nonclient,
        ebgp,
    }
}

fn full(rib: &mut Rib, peer: PeerId) -> (ExportBatch, Vec<UpdateRef>) {
    let g = rib.update_group(peer).unwrap();
    let ext = rib.peer_config(peer).unwrap().remote_as != LOCAL_AS;
    let b = rib.export_full(g, Family::IPV4_UNICAST).unwrap();
    let u = updates(&b, &session(ext));
    (b, u)
}

#[test]
fn clients_with_identical_config_share_an_update_group() {
    let n = net();
    assert_eq!(n.rib.update_group(n.client1), n.rib.update_group(n.client2));
    assert_ne!(
        n.rib.update_group(n.client1),
        n.rib.update_group(n.nonclient)
    );
    let g: GroupId = n.rib.update_group(n.client1).unwrap();
    assert_eq!(n.rib.group_members(g), &[n.client1, n.client2]);
}

/// Sender-side loop detection on (the default): eBGP peers of different ASes are in
/// different groups, and a route holding a peer's AS is not sent to it. Off: they share a
/// group, and each gets every route (the peer drops the looping ones itself).
#[test]
fn sender_side_loop_detection_decides_grouping_and_looping_routes() {
    for detect in [true, false] {
        let mut rib = Rib::new(RibConfig::new(LOCAL_AS, v4("192.0.2.1")));
        let mut sink = |n: u8, asn: u32| {
            let mut c = PeerConfig::new(IpAddr::V4(Ipv4Addr::new(169, 254, 1, n)), asn);
            c.local_v4 = Some(v4("169.254.1.254"));
            c.sender_side_loop_detection = detect;
            peer_with(&mut rib, n, c)
        };
        let a = sink(1, 65001);
        let b = sink(2, 65002);
        let src = peer(&mut rib, 3, 65003);
        rib.announce(
            src,
            nh(3),
            &A::path(&[65003, 65002, 64999]).build(),
            [nlri("10.2.0.0/16")],
        )
        .unwrap();
        rib.announce(
            src,
            nh(3),
            &A::path(&[65003]).build(),
            [nlri("10.3.0.0/16")],
        )
        .unwrap();
        let shared = rib.update_group(a) == rib.update_group(b);
        assert_eq!(shared, !detect, "detection {detect}: grouping");
        let (ba, ua) = full(&mut rib, a);
        let (bb, _) = full(&mut rib, b);
        assert_eq!(ba.announced, 2, "detection {detect}: 65001 is in no path");
        assert_eq!(
            bb.announced,
            if detect { 1 } else { 2 },
            "detection {detect}: the path through 65002"
        );
        let path: Vec<u32> = ua[0].as_path().unwrap().asns().collect();
        assert_eq!(path[0], LOCAL_AS);
        // The source's own group (it is alone in its AS) never gets its routes back
        // while detection is on for it (the default).
        let (bs, _) = full(&mut rib, src);
        assert_eq!(bs.announced, 0);
    }
}

#[test]
fn route_from_client_is_reflected_to_everyone_with_originator_and_cluster_list() {
    let mut n = net();
    n.rib
        .announce(
            n.client1,
            nh(1),
            &A::path(&[65010]).lp(150).build(),
            [nlri("10.1.0.0/16")],
        )
        .unwrap();
    // To clients (client1 itself included: it drops the route on its ORIGINATOR_ID).
    let (b, u) = full(&mut n.rib, n.client2);
    assert_eq!(b.announced, 1);
    assert_eq!(u[0].originator_id(), Some(v4("1.1.1.1")));
    assert_eq!(u[0].cluster_list().collect::<Vec<_>>(), [v4("5.5.5.5")]);
    assert_eq!(u[0].local_pref(), Some(150));
    assert_eq!(
        u[0].next_hop(),
        Some(v4("10.0.0.1")),
        "next hop unchanged on iBGP"
    );
    // To the non-client.
    let (b, u) = full(&mut n.rib, n.nonclient);
    assert_eq!(b.announced, 1);
    assert_eq!(u[0].cluster_list().count(), 1);
    // To eBGP: own AS prepended, iBGP-only attributes gone, next hop self.
    let (b, u) = full(&mut n.rib, n.ebgp);
    assert_eq!(b.announced, 1);
    let path: Vec<u32> = u[0].as_path().unwrap().asns().collect();
    assert_eq!(path, [LOCAL_AS, 65010]);
    assert_eq!(u[0].originator_id(), None);
    assert_eq!(u[0].cluster_list().count(), 0);
    assert_eq!(u[0].next_hop(), Some(v4("169.254.0.2")));
}

#[test]
fn route_from_non_client_goes_to_clients_only() {
    let mut n = net();
    n.rib
        .announce(
            n.nonclient,
            nh(3),
            &A::path(&[65010]).build(),
            [nlri("10.1.0.0/16")],
        )
        .unwrap();
    assert_eq!(full(&mut n.rib, n.client1).0.announced, 1);
    assert_eq!(
        full(&mut n.rib, n.nonclient).0.announced,
        0,
        "iBGP split horizon"
    );
    assert_eq!(full(&mut n.rib, n.ebgp).0.announced, 1);
}

#[test]
fn route_from_ebgp_goes_to_all_ibgp_without_reflection_attributes() {
    let mut n = net();
    n.rib
        .announce(
            n.ebgp,
            nh(4),
            &A::path(&[65001]).med(20).build(),
            [nlri("10.1.0.0/16")],
        )
        .unwrap();
    for p in [n.client1, n.nonclient] {
        let (b, u) = full(&mut n.rib, p);
        assert_eq!(b.announced, 1);
        assert_eq!(u[0].originator_id(), None);
        assert_eq!(u[0].cluster_list().count(), 0);
        assert_eq!(u[0].med(), Some(20), "MED kept inside the AS");
        assert_eq!(u[0].local_pref(), Some(100));
    }
}

#[test]
fn well_known_communities() {
    let mut n = net();
    n.rib
        .announce(
            n.client1,
            nh(1),
            &A::path(&[65010]).community(Community::NO_EXPORT).build(),
            [nlri("10.1.0.0/16")],
        )
        .unwrap();
    n.rib
        .announce(
            n.client1,
            nh(1),
            &A::path(&[65011]).community(Community::NO_ADVERTISE).build(),
            [nlri("10.2.0.0/16")],
        )
        .unwrap();
    n.rib
        .announce(
            n.client1,
            nh(1),
            &A::path(&[65012])
                .community(Community::NO_EXPORT_SUBCONFED)
                .build(),
            [nlri("10.3.0.0/16")],
        )
        .unwrap();
    assert_eq!(full(&mut n.rib, n.ebgp).0.announced, 0);
    assert_eq!(full(&mut n.rib, n.nonclient).0.announced, 2);
}

#[test]
fn next_hop_self_unchanged_prepend_and_med() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    rib.announce(
        src,
        nh(1),
        &A::path(&[65001]).med(9).build(),
        [nlri("10.1.0.0/16")],
    )
    .unwrap();
    let mut c = PeerConfig::new(IpAddr::V4(v4("10.0.0.2")), 65002);
    c.next_hop_unchanged = true;
    c.export_prepend = 2;
    c.export_med = Some(77);
    let e = peer_with(&mut rib, 2, c);
    let (_, u) = full(&mut rib, e);
    assert_eq!(u[0].next_hop(), Some(v4("10.0.0.1")));
    let path: Vec<u32> = u[0].as_path().unwrap().asns().collect();
    assert_eq!(path, [LOCAL_AS, LOCAL_AS, LOCAL_AS, 65001]);
    assert_eq!(u[0].med(), Some(77));
    let mut c = PeerConfig::new(IpAddr::V4(v4("10.0.0.3")), LOCAL_AS);
    c.next_hop_self = true;
    c.local_v4 = Some(v4("10.0.0.254"));
    let i = peer_with(&mut rib, 3, c);
    let (_, u) = full(&mut rib, i);
    assert_eq!(u[0].next_hop(), Some(v4("10.0.0.254")));
    // eBGP without a local address and without next-hop-unchanged: cannot advertise.
    let bare = peer(&mut rib, 4, 65004);
    assert_eq!(full(&mut rib, bare).0.announced, 0);
}

#[test]
fn max_export_caps_the_advertised_count() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let prefixes: Vec<_> = (0..150u32)
        .map(|i| bgp_wire::Nlri::new(p(&format!("10.{}.{}.0/24", i / 256, i % 256))))
        .collect();
    rib.announce(src, nh(1), &A::path(&[65001]).build(), prefixes.clone())
        .unwrap();
    let mut c = PeerConfig::new(IpAddr::V4(v4("169.254.0.1")), 7224);
    c.local_v4 = Some(v4("169.254.0.2"));
    c.max_export = Some(100);
    let vgw = peer_with(&mut rib, 2, c);
    let (b, _) = full(&mut rib, vgw);
    assert_eq!(b.announced, 100);
    assert_eq!(b.suppressed, 50);
    // One advertised prefix goes away: its withdrawal frees a slot for the next change.
    let ch = rib.withdraw(src, [prefixes[0]]).unwrap();
    let g = rib.update_group(vgw).unwrap();
    let b = rib.export_changes(g, &ch).unwrap();
    assert_eq!(b.withdrawn, 1);
    let ch = rib
        .announce(src, nh(1), &A::path(&[65001, 5]).build(), [prefixes[120]])
        .unwrap()
        .changes;
    let b = rib.export_changes(g, &ch).unwrap();
    assert_eq!(b.announced, 1);
    assert_eq!(b.suppressed, 0);
}

#[test]
fn export_changes_announces_and_withdraws() {
    let mut n = net();
    let g = n.rib.update_group(n.ebgp).unwrap();
    let ch = n
        .rib
        .announce(
            n.client1,
            nh(1),
            &A::path(&[65010]).build(),
            [nlri("10.1.0.0/16"), nlri("10.2.0.0/16")],
        )
        .unwrap()
        .changes;
    let b = n.rib.export_changes(g, &ch).unwrap();
    assert_eq!((b.announced, b.withdrawn), (2, 0));
    let u = updates(&b, &session(true));
    assert_eq!(u.len(), 1, "one attribute set: one UPDATE");
    let ch = n.rib.peer_down(n.client1).unwrap();
    let b = n.rib.export_changes(g, &ch).unwrap();
    assert_eq!((b.announced, b.withdrawn), (0, 2));
    let u = updates(&b, &session(true));
    assert_eq!(u[0].withdrawn().count(), 2);
    // Withdrawing again sends nothing: the group no longer advertises them.
    let b = n.rib.export_changes(g, &ch).unwrap();
    assert_eq!(b.message_count, 0);
}

#[test]
fn ipv6_and_local_routes_export() {
    let mut rib = rib();
    let mut c = PeerConfig::new(IpAddr::V4(v4("169.254.0.1")), 65001);
    c.local_v4 = Some(v4("169.254.0.2"));
    c.local_v6 = Some("2001:db8::2".parse().unwrap());
    let e = peer_with(&mut rib, 1, c);
    rib.originate(bgp_rib::LocalRoute::new(p("100.104.0.0/16")));
    rib.originate(bgp_rib::LocalRoute::new(p("2001:db8:100::/48")));
    let g = rib.update_group(e).unwrap();
    let b = rib.export_full(g, Family::IPV6_UNICAST).unwrap();
    let u = updates(&b, &session(true));
    let mp = u[0].mp_reach().unwrap();
    assert_eq!(mp.nlri().next().unwrap().prefix, p("2001:db8:100::/48"));
    let (_, u) = full(&mut rib, e);
    assert_eq!(
        u[0].as_path().unwrap().asns().collect::<Vec<_>>(),
        [LOCAL_AS]
    );
    assert_eq!(u[0].origin(), Some(bgp_wire::Origin::Igp));
    assert_eq!(u[0].next_hop(), Some(v4("169.254.0.2")));
}

#[test]
fn route_is_not_sent_to_an_external_peer_whose_as_is_in_the_path() {
    let mut n = net();
    // The eBGP peer (AS 65001) sends a route; its own AS leads the path.
    n.rib
        .announce(
            n.ebgp,
            nh(4),
            &A::path(&[65001, 65020]).build(),
            [nlri("10.4.0.0/16")],
        )
        .unwrap();
    // Sender-side loop detection: not advertised back to AS 65001...
    let (b, _) = full(&mut n.rib, n.ebgp);
    assert_eq!(b.announced, 0);
    // ...but to everyone else.
    let (b, _) = full(&mut n.rib, n.client1);
    assert_eq!(b.announced, 1);
    // Another external AS gets it.
    let mut other = PeerConfig::new(IpAddr::V4(v4("169.254.1.1")), 65002);
    other.local_v4 = Some(v4("169.254.1.2"));
    let other = peer_with(&mut n.rib, 5, other);
    let (b, u) = full(&mut n.rib, other);
    assert_eq!(b.announced, 1);
    assert_eq!(
        u[0].as_path().unwrap().asns().collect::<Vec<_>>(),
        [LOCAL_AS, 65001, 65020]
    );
}

#[test]
fn families_the_peer_did_not_negotiate_are_never_exported() {
    let mut rib = Rib::new(RibConfig::new(LOCAL_AS, v4("192.0.2.1")));
    let src = peer(&mut rib, 1, 65001);
    let mut cfg = PeerConfig::new(IpAddr::V4(v4("10.0.0.2")), LOCAL_AS);
    cfg.local_v4 = Some(v4("10.0.0.254"));
    cfg.local_v6 = Some("2001:db8::254".parse().unwrap());
    let v4_only = rib.add_peer(cfg).unwrap();
    rib.set_negotiated_families(v4_only, [Family::IPV4_UNICAST])
        .unwrap();
    rib.peer_up(v4_only, v4("2.2.2.2"), session(false)).unwrap();
    let attrs = A::path(&[65001]).build();
    rib.announce(src, nh(1), &attrs, [nlri("10.1.0.0/16")])
        .unwrap();
    let v6_nh = bgp_rib::NextHopAddr::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: None,
    };
    let changes = rib
        .announce(src, v6_nh, &attrs, [nlri("2001:db8:1::/48")])
        .unwrap()
        .changes;
    let g = rib.update_group(v4_only).unwrap();
    // Incremental export of both changes: only the IPv4 one goes out.
    let b = rib.export_changes(g, &changes).unwrap();
    assert_eq!(b.announced, 0, "the IPv6 change must not be sent");
    assert!(
        rib.export_full(g, Family::IPV6_UNICAST)
            .unwrap()
            .messages
            .is_empty()
    );
    let b = rib.export_full(g, Family::IPV4_UNICAST).unwrap();
    assert_eq!(b.announced, 1);
    assert!(rib.advertised(v4_only).iter().all(|p| p.addr().is_ipv4()));
}

/// A full pass over more attribute sets than a group keeps builders for makes each
/// (set, source peer) builder once, even when the same set arrives from two peers in
/// turn: every pair's prefixes go out together, in one UPDATE.
#[test]
fn a_full_pass_over_many_sets_packs_each_set_and_peer_once() {
    const SETS: u32 = 9000;
    let mut rib = Rib::new(RibConfig::new(LOCAL_AS, v4("192.0.2.1")));
    let a = peer(&mut rib, 1, 65010);
    let b = peer(&mut rib, 2, 65020);
    let sink = ebgp_sink(&mut rib);
    // Set i from a and from b (same attributes and next hop, so one interned set), two
    // prefixes each, arriving a, b, a, b.
    for i in 0..SETS {
        let attrs = A::path(&[65030, 70_000 + i]).build();
        let net = |k: u32| {
            let x = (i << 2) | k;
            nlri(&format!("10.{}.{}.0/24", x >> 8, x & 0xff))
        };
        for k in 0..4 {
            let from = if k % 2 == 0 { a } else { b };
            rib.announce(from, nh(7), &attrs, [net(k)]).unwrap();
        }
    }
    assert_eq!(rib.attribute_set_count(), SETS as usize);
    let (batch, ups) = full(&mut rib, sink);
    assert_eq!(batch.announced, 4 * SETS as usize);
    assert_eq!(
        batch.message_count,
        2 * SETS as usize,
        "one UPDATE per (set, peer)"
    );
    assert!(ups.iter().all(|u| u.nlri().count() == 2));
    // And again, now that the group has a record: the same UPDATEs.
    let (again, _) = full(&mut rib, sink);
    assert_eq!(again.messages, batch.messages);
}

/// An eBGP peer of AS 65099 that takes everything, next hop 169.254.1.2.
fn ebgp_sink(rib: &mut Rib) -> PeerId {
    let mut c = PeerConfig::new(IpAddr::V4(v4("169.254.1.1")), 65099);
    c.local_v4 = Some(v4("169.254.1.2"));
    peer_with(rib, 9, c)
}

/// AS_PATH of the UPDATE that carries `prefix`.
fn path_of(ups: &[UpdateRef], prefix: &str) -> Vec<u32> {
    let want = p(prefix);
    let u = ups
        .iter()
        .find(|u| u.nlri().any(|n| n.prefix == want))
        .unwrap_or_else(|| panic!("{prefix} not sent"));
    u.as_path().unwrap().asns().collect()
}

#[test]
fn a_peer_back_with_another_router_id_is_reflected_with_the_new_one() {
    let mut n = net();
    // One attribute set held by two iBGP peers (same attributes, same next hop): it
    // outlives client1's session.
    let attrs = A::path(&[65010]).build();
    n.rib
        .announce(n.client1, nh(1), &attrs, [nlri("10.1.0.0/16")])
        .unwrap();
    n.rib
        .announce(n.nonclient, nh(1), &attrs, [nlri("10.2.0.0/16")])
        .unwrap();
    let (_, u) = full(&mut n.rib, n.client2);
    let originator = |ups: &[UpdateRef], prefix: &str| {
        ups.iter()
            .find(|u| u.nlri().any(|x| x.prefix == p(prefix)))
            .and_then(UpdateRef::originator_id)
    };
    assert_eq!(originator(&u, "10.1.0.0/16"), Some(v4("1.1.1.1")));
    assert_eq!(originator(&u, "10.2.0.0/16"), Some(v4("1.1.1.3")));
    // client1 comes back as another router (new BGP identifier) with the same route.
    n.rib.peer_down(n.client1).unwrap();
    n.rib
        .peer_up(n.client1, v4("9.9.9.9"), session(false))
        .unwrap();
    n.rib
        .announce(n.client1, nh(1), &attrs, [nlri("10.1.0.0/16")])
        .unwrap();
    let (b, u) = full(&mut n.rib, n.client2);
    assert_eq!(b.announced, 2);
    assert_eq!(
        originator(&u, "10.1.0.0/16"),
        Some(v4("9.9.9.9")),
        "RFC 4456 §8: ORIGINATOR_ID is the identifier of the peer the route came from now"
    );
    assert_eq!(originator(&u, "10.2.0.0/16"), Some(v4("1.1.1.3")));
}

#[test]
fn a_freed_set_whose_index_is_reused_is_exported_with_the_new_attributes() {
    let mut rib = Rib::new(RibConfig::new(LOCAL_AS, v4("192.0.2.1")));
    let a = peer(&mut rib, 1, 65010);
    let sink = ebgp_sink(&mut rib);
    rib.announce(
        a,
        nh(1),
        &A::path(&[65010, 1]).build(),
        [nlri("10.1.0.0/16")],
    )
    .unwrap();
    rib.announce(
        a,
        nh(1),
        &A::path(&[65010, 2]).build(),
        [nlri("10.2.0.0/16")],
    )
    .unwrap();
    let (_, u) = full(&mut rib, sink);
    assert_eq!(path_of(&u, "10.1.0.0/16"), [LOCAL_AS, 65010, 1]);
    // The first set goes; a new one takes its index.
    rib.withdraw(a, [nlri("10.1.0.0/16")]).unwrap();
    rib.announce(
        a,
        nh(1),
        &A::path(&[65010, 3]).build(),
        [nlri("10.3.0.0/16")],
    )
    .unwrap();
    let (b, u) = full(&mut rib, sink);
    assert_eq!(b.announced, 2);
    assert_eq!(path_of(&u, "10.2.0.0/16"), [LOCAL_AS, 65010, 2]);
    assert_eq!(path_of(&u, "10.3.0.0/16"), [LOCAL_AS, 65010, 3]);
}

#[test]
fn more_sets_freed_between_passes_than_the_caches_can_follow_are_exported_right() {
    // Enough sets that a full pass keeps its decisions by set index, and more freed
    // between two passes than the attribute store remembers for the caches.
    const SETS: u32 = 40_000;
    let mut rib = Rib::new(RibConfig::new(LOCAL_AS, v4("192.0.2.1")));
    let a = peer(&mut rib, 1, 65010);
    let b = peer(&mut rib, 2, 65020);
    let sink = ebgp_sink(&mut rib);
    let net = |i: u32| nlri(&format!("10.{}.{}.0/24", i >> 8, i & 0xff));
    // b's one set keeps the store from emptying (which starts it over).
    rib.announce(
        b,
        nh(2),
        &A::path(&[65020]).build(),
        [nlri("192.168.0.0/16")],
    )
    .unwrap();
    for i in 0..SETS {
        rib.announce(a, nh(1), &A::path(&[65010, i]).build(), [net(i)])
            .unwrap();
    }
    let (first, u) = full(&mut rib, sink);
    assert_eq!(first.announced, SETS as usize + 1);
    assert_eq!(path_of(&u, "10.0.7.0/24"), [LOCAL_AS, 65010, 7]);
    for i in 0..SETS {
        rib.withdraw(a, [net(i)]).unwrap();
        rib.announce(
            a,
            nh(1),
            &A::path(&[65010, 1_000_000 + i]).build(),
            [net(i)],
        )
        .unwrap();
    }
    let (again, u) = full(&mut rib, sink);
    assert_eq!(again.announced, SETS as usize + 1);
    for i in [0, 7, SETS / 2, SETS - 1] {
        let prefix = format!("10.{}.{}.0/24", i >> 8, i & 0xff);
        assert_eq!(path_of(&u, &prefix), [LOCAL_AS, 65010, 1_000_000 + i]);
    }
    assert_eq!(path_of(&u, "192.168.0.0/16"), [LOCAL_AS, 65020]);
}

/// Every prefix an export carries, with its AS_PATH; no prefix twice.
fn announced_paths(ups: &[UpdateRef]) -> std::collections::BTreeMap<ipnet::IpNet, Vec<u32>> {
    let mut all = std::collections::BTreeMap::new();
    for u in ups {
        let path: Vec<u32> = u.as_path().unwrap().asns().collect();
        for n in u.nlri() {
            assert!(
                all.insert(n.prefix, path.clone()).is_none(),
                "{} twice",
                n.prefix
            );
        }
    }
    all
}

#[test]
fn full_passes_that_encode_while_walking_send_the_same_routes() {
    // A table loaded set by set: each set's prefixes sit in consecutive rows, so the
    // group's second full pass encodes during the walk. Every tenth set is NO_EXPORT.
    const SETS: u32 = 3000;
    let sent = |i: u32| i % 10 != 3;
    let mut rib = Rib::new(RibConfig::new(LOCAL_AS, v4("192.0.2.1")));
    let a = peer(&mut rib, 1, 65010);
    let sink = ebgp_sink(&mut rib);
    let net = |i: u32, k: u32| {
        let x = 2 * i + k;
        nlri(&format!("10.{}.{}.0/24", x >> 8, x & 0xff))
    };
    for i in 0..SETS {
        let mut attrs = A::path(&[65010, i]);
        if !sent(i) {
            attrs = attrs.community(Community::NO_EXPORT);
        }
        rib.announce(a, nh(1), &attrs.build(), [net(i, 0), net(i, 1)])
            .unwrap();
    }
    let mut expected = std::collections::BTreeMap::new();
    for i in (0..SETS).filter(|&i| sent(i)) {
        for k in 0..2 {
            expected.insert(net(i, k).prefix, vec![LOCAL_AS, 65010, i]);
        }
    }
    let exported = expected.len();
    let (first, u) = full(&mut rib, sink);
    assert_eq!(first.message_count, exported / 2, "one UPDATE per set");
    assert_eq!(announced_paths(&u), expected);
    let (second, _) = full(&mut rib, sink);
    assert_eq!(second.messages, first.messages);
    assert_eq!(second.announced, first.announced);
    assert_eq!(rib.advertised(sink).len(), exported);

    // The first prefix moves to the last set: that set's prefixes are no longer one
    // run in row order (first row, then the last two).
    let last = SETS - 1;
    rib.announce(a, nh(1), &A::path(&[65010, last]).build(), [net(0, 0)])
        .unwrap();
    expected.insert(net(0, 0).prefix, vec![LOCAL_AS, 65010, last]);
    let (third, u) = full(&mut rib, sink);
    assert_eq!(third.announced, exported);
    assert_eq!(announced_paths(&u), expected);
    assert_eq!(
        third.message_count,
        exported / 2 + 1,
        "the set met again after its run takes one more UPDATE"
    );
    // The next full pass groups first again: one UPDATE per set.
    let (fourth, u) = full(&mut rib, sink);
    assert_eq!(fourth.message_count, exported / 2);
    assert_eq!(announced_paths(&u), expected);
    assert_eq!(rib.advertised(sink).len(), exported);
}

/// The same for IPv6 towards a session that sends ADD-PATH identifiers: the streamed
/// pass gives the bytes of the grouped one, and every prefix goes out once, with its
/// path identifier, in as many UPDATEs as the message size needs (some sets' prefixes
/// fill more than one).
#[test]
fn streamed_ipv6_passes_with_add_path_send_the_same_routes() {
    const SETS: u32 = 400;
    let mut rib = Rib::new(RibConfig::new(LOCAL_AS, v4("192.0.2.1")));
    let a = peer(&mut rib, 1, 65010);
    let mut c = PeerConfig::new(IpAddr::V4(v4("169.254.1.1")), 65099);
    c.local_v4 = Some(v4("169.254.1.2"));
    c.local_v6 = Some("2001:db8::2".parse().unwrap());
    let sink = rib.add_peer(c).unwrap();
    let v6 = [Family::IPV6_UNICAST].into_iter().collect();
    let params = session(true).with_add_path(bgp_wire::FamilySet::EMPTY, v6);
    rib.peer_up(sink, v4("9.9.9.9"), params).unwrap();
    let v6_nh = bgp_rib::NextHopAddr::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: None,
    };
    // Set i holds 1 + i % 7 prefixes, and every 50th set 500 (more than one message).
    let count = |i: u32| if i.is_multiple_of(50) { 500 } else { 1 + i % 7 };
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..SETS {
        let prefixes: Vec<_> = (0..count(i))
            .map(|k| nlri(&format!("2001:db8:{i:x}:{k:x}::/64")))
            .collect();
        for n in &prefixes {
            expected.insert(n.prefix, vec![LOCAL_AS, 65010, i]);
        }
        rib.announce(a, v6_nh, &A::path(&[65010, i]).build(), prefixes)
            .unwrap();
    }
    let g = rib.update_group(sink).unwrap();
    let pass = |rib: &mut Rib| {
        let b = rib.export_full(g, Family::IPV6_UNICAST).unwrap();
        let mut all = std::collections::BTreeMap::new();
        // Read as the sink does: it receives the identifiers.
        let theirs = session(true).with_add_path(v6, bgp_wire::FamilySet::EMPTY);
        for u in updates(&b, &theirs) {
            let path: Vec<u32> = u.as_path().unwrap().asns().collect();
            let mp = u.mp_reach().unwrap();
            for n in mp.nlri() {
                assert_eq!(n.path_id, Some(0));
                assert!(all.insert(n.prefix, path.clone()).is_none(), "{n:?} twice");
            }
        }
        (b, all)
    };
    let (first, got) = pass(&mut rib);
    assert_eq!(got, expected);
    assert!(
        first.message_count > SETS as usize,
        "large sets take several UPDATEs"
    );
    let (second, got) = pass(&mut rib);
    assert_eq!(got, expected);
    assert_eq!(second.messages, first.messages);
    assert_eq!(second.message_count, first.message_count);
    assert_eq!(second.announced, expected.len());
}
