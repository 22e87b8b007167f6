//! Adj-RIB-In / Loc-RIB behaviour: deltas, best path, multipath, explain, peer_down,
//! the wire path, and the order-independence and cleanup properties.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp_rib::{
    AllReachable, ChangeKind, LostAt, NextHopAddr, NextHopResolver, PathStatus, PeerId, Rib,
    RibConfig,
};
use bgp_wire::{
    AsPath, AttrValue, Attribute, Family, FamilySet, Message, NextHop, Nlri, Origin, SessionParams,
    UpdateBuilder, decode,
};
use common::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

#[test]
fn announce_replace_withdraw_deltas() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let out = rib
        .announce(a, nh(1), &A::path(&[65001]).build(), [nlri("10.0.0.0/8")])
        .unwrap();
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].kind, ChangeKind::Best);
    // Same again: nothing changed.
    let out = rib
        .announce(a, nh(1), &A::path(&[65001]).build(), [nlri("10.0.0.0/8")])
        .unwrap();
    assert!(out.changes.is_empty());
    // New attributes from the same peer (implicit withdraw): best changed.
    let out = rib
        .announce(
            a,
            nh(1),
            &A::path(&[65001, 3]).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.changes[0].kind, ChangeKind::Best);
    assert_eq!(rib.attribute_set_count(), 1, "old set freed");
    let ch = rib.withdraw(a, [nlri("10.0.0.0/8")]).unwrap();
    assert_eq!(ch[0].kind, ChangeKind::Withdrawn);
    assert!(rib.is_empty());
    // Withdrawing what is not there changes nothing.
    assert!(rib.withdraw(a, [nlri("10.0.0.0/8")]).unwrap().is_empty());
}

#[test]
fn better_path_takes_over_and_loser_records_step() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65002);
    rib.announce(
        a,
        nh(1),
        &A::path(&[65001, 7, 8]).build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    let out = rib
        .announce(
            b,
            nh(2),
            &A::path(&[65002, 8]).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.changes[0].kind, ChangeKind::Best);
    let ex = rib.explain(p("10.0.0.0/8"));
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].peer, b);
    assert_eq!(ex[0].status, PathStatus::Best);
    assert_eq!(ex[1].peer, a);
    assert_eq!(ex[1].status, PathStatus::Lost(LostAt::AsPathLength));
    // A worse path arriving changes nothing for the Loc-RIB.
    let c = peer(&mut rib, 3, 65003);
    let out = rib
        .announce(
            c,
            nh(3),
            &A::path(&[65003, 1, 2, 3]).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert!(out.changes.is_empty());
    // Best goes down: the next one takes over.
    let ch = rib.peer_down(b).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].kind, ChangeKind::Best);
    assert_eq!(rib.best(p("10.0.0.0/8")).unwrap().peer, a);
    assert_eq!(rib.peer_path_count(b), 0);
}

#[test]
fn ibgp_local_pref_and_med_rules() {
    let mut rib = rib();
    let i1 = peer(&mut rib, 1, LOCAL_AS);
    let i2 = peer(&mut rib, 2, LOCAL_AS);
    rib.announce(
        i1,
        nh(1),
        &A::path(&[65001]).lp(200).build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    rib.announce(
        i2,
        nh(2),
        &A::path(&[65001]).lp(100).build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    let ex = rib.explain(p("10.0.0.0/8"));
    assert_eq!(ex[0].peer, i1);
    assert_eq!(ex[1].status, PathStatus::Lost(LostAt::LocalPref));
    rib.announce(
        i1,
        nh(1),
        &A::path(&[65001]).lp(100).med(50).build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    let ex = rib.explain(p("10.0.0.0/8"));
    assert_eq!(ex[0].peer, i2);
    assert_eq!(ex[1].status, PathStatus::Lost(LostAt::Med));
}

#[test]
fn ebgp_preferred_over_ibgp() {
    let mut rib = rib();
    let i = peer(&mut rib, 1, LOCAL_AS);
    let e = peer(&mut rib, 2, 65001);
    rib.announce(i, nh(1), &A::path(&[65001]).build(), [nlri("10.0.0.0/8")])
        .unwrap();
    rib.announce(e, nh(2), &A::path(&[65001]).build(), [nlri("10.0.0.0/8")])
        .unwrap();
    let ex = rib.explain(p("10.0.0.0/8"));
    assert_eq!(ex[0].peer, e);
    assert_eq!(ex[1].status, PathStatus::Lost(LostAt::ExternalOverInternal));
}

struct Costs;
impl NextHopResolver for Costs {
    fn igp_cost(&self, nh: IpAddr) -> Option<u32> {
        match nh {
            IpAddr::V4(a) if a.octets()[3] == 9 => None,
            IpAddr::V4(a) => Some(u32::from(a.octets()[3]) * 10),
            _ => Some(0),
        }
    }
}

#[test]
fn igp_cost_and_unreachable_next_hop() {
    let mut rib = rib();
    rib.set_resolver(Box::new(Costs));
    let a = peer(&mut rib, 1, LOCAL_AS);
    let b = peer(&mut rib, 2, LOCAL_AS);
    let c = peer(&mut rib, 9, LOCAL_AS);
    rib.announce(
        c,
        nh(9),
        &A::path(&[1]).lp(500).build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    assert!(
        rib.best(p("10.0.0.0/8")).is_none(),
        "unresolvable: ineligible"
    );
    rib.announce(b, nh(2), &A::path(&[1]).build(), [nlri("10.0.0.0/8")])
        .unwrap();
    rib.announce(a, nh(1), &A::path(&[1]).build(), [nlri("10.0.0.0/8")])
        .unwrap();
    let ex = rib.explain(p("10.0.0.0/8"));
    assert_eq!(ex[0].peer, a);
    assert_eq!(ex[1].status, PathStatus::Lost(LostAt::IgpCost));
    assert_eq!(ex[2].status, PathStatus::Lost(LostAt::Unreachable));
    // The IGP changes: everything reachable at equal cost.
    let ch = rib.set_resolver(Box::new(AllReachable));
    assert_eq!(ch.len(), 1);
    assert_eq!(rib.best(p("10.0.0.0/8")).unwrap().peer, c);
}

#[test]
fn reflected_routes_cluster_list_and_originator() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, LOCAL_AS);
    let b = peer(&mut rib, 2, LOCAL_AS);
    rib.announce(
        a,
        nh(5),
        &A::path(&[1])
            .originator(v4("9.9.9.9"))
            .cluster(v4("7.7.7.7"))
            .build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    rib.announce(
        b,
        nh(5),
        &A::path(&[1]).originator(v4("9.9.9.9")).build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    let ex = rib.explain(p("10.0.0.0/8"));
    assert_eq!(ex[0].peer, b);
    assert_eq!(ex[1].status, PathStatus::Lost(LostAt::ClusterListLength));
    // ORIGINATOR_ID stands in for the router id: 1.1.1.2 (peer b) vs originator 0.0.0.1.
    rib.announce(
        a,
        nh(5),
        &A::path(&[1]).originator(v4("0.0.0.1")).build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    let ex = rib.explain(p("10.0.0.0/8"));
    assert_eq!(ex[0].peer, a);
    assert_eq!(ex[1].status, PathStatus::Lost(LostAt::RouterId));
}

#[test]
fn rfc4456_section8_rules_on_import() {
    let mut rib = Rib::new(RibConfig {
        cluster_id: Some(v4("5.5.5.5")),
        ..RibConfig::new(LOCAL_AS, v4("192.0.2.1"))
    });
    let a = peer(&mut rib, 1, LOCAL_AS);
    // ORIGINATOR_ID is our router id: ignored.
    let out = rib
        .announce(
            a,
            nh(1),
            &A::path(&[1]).originator(v4("192.0.2.1")).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.rejected, 1);
    assert!(out.changes.is_empty());
    // Our CLUSTER_ID in CLUSTER_LIST: ignored.
    let out = rib
        .announce(
            a,
            nh(1),
            &A::path(&[1])
                .originator(v4("9.9.9.9"))
                .cluster(v4("6.6.6.6"))
                .cluster(v4("5.5.5.5"))
                .build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.rejected, 1);
    // Someone else's cluster: accepted.
    let out = rib
        .announce(
            a,
            nh(1),
            &A::path(&[1]).cluster(v4("6.6.6.6")).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.rejected, 0);
    assert_eq!(out.changes.len(), 1);
    // A rejected re-announcement withdraws the earlier path (implicit withdraw).
    let out = rib
        .announce(
            a,
            nh(1),
            &A::path(&[1]).originator(v4("192.0.2.1")).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.changes[0].kind, ChangeKind::Withdrawn);
    assert!(rib.is_empty());
}

#[test]
fn multipath_set_and_changes() {
    let mut rib = Rib::new(RibConfig {
        max_paths: 4,
        ..RibConfig::new(LOCAL_AS, v4("192.0.2.1"))
    });
    let a = peer(&mut rib, 1, 65001);
    let b = peer(&mut rib, 2, 65001);
    let c = peer(&mut rib, 3, 65001);
    rib.announce(
        a,
        nh(1),
        &A::path(&[65001, 9]).build(),
        [nlri("10.0.0.0/8")],
    )
    .unwrap();
    let out = rib
        .announce(
            b,
            nh(2),
            &A::path(&[65001, 9]).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.changes[0].kind, ChangeKind::Multipath);
    let mp = rib.multipath(p("10.0.0.0/8"));
    assert_eq!(mp.len(), 2);
    assert_eq!(mp[0].peer, a);
    assert_eq!(mp[1].status, PathStatus::Multipath);
    // Longer path: not in the set, no change.
    let out = rib
        .announce(
            c,
            nh(3),
            &A::path(&[65001, 9, 9]).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert!(out.changes.is_empty());
    // Member leaves: multipath change only.
    let ch = rib.peer_down(b).unwrap();
    assert_eq!(ch[0].kind, ChangeKind::Multipath);
    // Best leaves: best change.
    let ch = rib.peer_down(a).unwrap();
    assert_eq!(ch[0].kind, ChangeKind::Best);
    assert_eq!(rib.best(p("10.0.0.0/8")).unwrap().peer, c);
}

#[test]
fn add_path_ids_are_separate_paths() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, LOCAL_AS);
    let n1 = Nlri::with_path_id(p("10.0.0.0/8"), 1);
    let n2 = Nlri::with_path_id(p("10.0.0.0/8"), 2);
    rib.announce(a, nh(1), &A::path(&[1, 2]).build(), [n1])
        .unwrap();
    rib.announce(a, nh(2), &A::path(&[1]).build(), [n2])
        .unwrap();
    let ex = rib.explain(p("10.0.0.0/8"));
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].path_id, Some(2));
    assert_eq!(ex[1].path_id, Some(1));
    let ch = rib.withdraw(a, [n2]).unwrap();
    assert_eq!(ch[0].kind, ChangeKind::Best);
    assert_eq!(rib.best(p("10.0.0.0/8")).unwrap().path_id, Some(1));
    rib.withdraw(a, [n1]).unwrap();
    assert!(rib.is_empty());
}

#[test]
fn as_path_loop_and_allowas_in() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let out = rib
        .announce(
            a,
            nh(1),
            &A::path(&[65001, LOCAL_AS, 3]).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.rejected, 1);
    let mut cfg = bgp_rib::PeerConfig::new(IpAddr::V4(v4("10.0.0.2")), 65002);
    cfg.allowas_in = 1;
    let b = peer_with(&mut rib, 2, cfg);
    let out = rib
        .announce(
            b,
            nh(2),
            &A::path(&[65002, LOCAL_AS, 3]).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.rejected, 0);
    let out = rib
        .announce(
            b,
            nh(2),
            &A::path(&[65002, LOCAL_AS, LOCAL_AS]).build(),
            [nlri("10.0.0.0/8")],
        )
        .unwrap();
    assert_eq!(out.rejected, 1);
}

fn wire_session() -> SessionParams {
    SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true)
}

fn encode(attrs: &[Attribute], family: Family, next_hop: NextHop, nlri: &[Nlri]) -> bytes::Bytes {
    let b = UpdateBuilder::announce(&wire_session(), family, next_hop, attrs).unwrap();
    let mut msgs = b.messages(nlri.iter().copied()).unwrap();
    assert_eq!(msgs.len(), 1);
    msgs.remove(0)
}

fn apply_wire(
    rib: &mut Rib,
    peer: PeerId,
    msg: bytes::Bytes,
    params: &SessionParams,
) -> bgp_rib::UpdateOutcome {
    match decode(msg, params).unwrap() {
        Message::Update(u) => rib.apply_update(peer, &u).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wire_updates_v4_and_v6_intern_with_owned_form() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let attrs = A::path(&[65001, 2]).med(5).build();
    let msg = encode(
        &attrs,
        Family::IPV4_UNICAST,
        NextHop::V4(v4("10.0.0.1")),
        &[nlri("10.0.0.0/8"), nlri("11.0.0.0/8")],
    );
    let out = apply_wire(&mut rib, a, msg, &wire_session());
    assert_eq!(out.changes.len(), 2);
    // The same attributes given owned intern to the same set.
    rib.announce(a, nh(1), &attrs, [nlri("12.0.0.0/8")])
        .unwrap();
    assert_eq!(rib.attribute_set_count(), 1);
    let best = rib.best(p("10.0.0.0/8")).unwrap();
    assert_eq!(best.attrs.med(), Some(5));
    assert_eq!(best.attrs.next_hop(), nh(1));
    // IPv6 through MP_REACH_NLRI.
    let g: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let msg = encode(
        &attrs,
        Family::IPV6_UNICAST,
        NextHop::V6 {
            global: g,
            link_local: None,
        },
        &[nlri("2001:db8:1::/48")],
    );
    let out = apply_wire(&mut rib, a, msg, &wire_session());
    assert_eq!(out.changes.len(), 1);
    assert_eq!(rib.prefix_count(), (3, 1));
    let v6 = rib.best(p("2001:db8:1::/48")).unwrap();
    assert_eq!(
        v6.attrs.next_hop(),
        NextHopAddr::V6 {
            global: g,
            link_local: None
        }
    );
    assert_eq!(rib.attribute_set_count(), 2, "next hop is part of the set");
    // Withdraw through the wire, both families.
    let w4 = UpdateBuilder::withdraw(&wire_session(), Family::IPV4_UNICAST)
        .messages([nlri("10.0.0.0/8"), nlri("11.0.0.0/8"), nlri("12.0.0.0/8")])
        .unwrap();
    let w6 = UpdateBuilder::withdraw(&wire_session(), Family::IPV6_UNICAST)
        .messages([nlri("2001:db8:1::/48")])
        .unwrap();
    for m in w4.into_iter().chain(w6) {
        apply_wire(&mut rib, a, m, &wire_session());
    }
    assert!(rib.is_empty());
}

#[test]
fn two_octet_session_is_widened_to_the_same_set() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let two = SessionParams::default().with_external(true);
    let attrs = A::path(&[65001, 2]).build();
    let b = UpdateBuilder::announce(
        &two,
        Family::IPV4_UNICAST,
        NextHop::V4(v4("10.0.0.1")),
        &attrs,
    )
    .unwrap();
    let msg = b.messages([nlri("10.0.0.0/8")]).unwrap().remove(0);
    apply_wire(&mut rib, a, msg, &two);
    rib.announce(a, nh(1), &attrs, [nlri("11.0.0.0/8")])
        .unwrap();
    assert_eq!(rib.attribute_set_count(), 1);
    let best = rib.best(p("10.0.0.0/8")).unwrap();
    assert_eq!(best.attrs.as_path().collect::<Vec<_>>(), [65001, 2]);
}

#[test]
fn treat_as_withdraw_and_end_of_rib() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    rib.announce(a, nh(1), &A::path(&[65001]).build(), [nlri("10.0.0.0/8")])
        .unwrap();
    // An UPDATE announcing 10/8 with a malformed ORIGIN (value 7): treat-as-withdraw.
    let mut m: Vec<u8> = vec![0xff; 16];
    let body: Vec<u8> = vec![
        0, 0, // withdrawn
        0, 20, // attrs
        0x40, 1, 1, 7, // ORIGIN 7
        0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9, // AS_PATH 65001
        0x40, 3, 4, 10, 0, 0, 1, // NEXT_HOP
        8, 10, // 10.0.0.0/8
    ];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&body);
    let out = apply_wire(&mut rib, a, bytes::Bytes::from(m), &wire_session());
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].kind, ChangeKind::Withdrawn);
    // End-of-RIB is recognised.
    let eor = bgp_wire::Update::end_of_rib(Family::IPV6_UNICAST)
        .encode(&wire_session())
        .unwrap();
    let out = apply_wire(&mut rib, a, eor, &wire_session());
    assert_eq!(out.end_of_rib, Some(Family::IPV6_UNICAST));
}

#[test]
fn unknown_peer_and_down_peer_are_errors() {
    let mut rib = rib();
    let id = rib
        .add_peer(bgp_rib::PeerConfig::new(IpAddr::V4(v4("10.0.0.1")), 1))
        .unwrap();
    assert!(
        rib.announce(id, nh(1), &A::path(&[1]).build(), [nlri("10.0.0.0/8")])
            .is_err()
    );
    assert!(rib.peer_down(PeerId::LOCAL).is_err());
}

// --- properties -------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Arrival {
    peer: usize,
    path_id: Option<u32>,
    attrs: A,
    nh: u8,
}

fn arb_arrival() -> impl Strategy<Value = Arrival> {
    (
        0usize..5,
        prop::option::of(0u32..3),
        prop::collection::vec(1u32..4, 0..4),
        prop::option::of(0u32..3),
        prop::option::of(90u32..110),
        0u8..3,
        1u8..4,
    )
        .prop_map(|(peer, path_id, path, med, lp, origin, nh)| {
            let mut a = A::path(&path);
            a.med = med;
            a.local_pref = lp;
            a.origin = match origin {
                0 => Origin::Igp,
                1 => Origin::Egp,
                _ => Origin::Incomplete,
            };
            Arrival {
                peer,
                path_id,
                attrs: a,
                nh,
            }
        })
}

struct Cost;
impl NextHopResolver for Cost {
    fn igp_cost(&self, nh: IpAddr) -> Option<u32> {
        match nh {
            IpAddr::V4(a) if a.octets()[3] == 3 => None,
            IpAddr::V4(a) => Some(u32::from(a.octets()[3] % 2)),
            _ => Some(0),
        }
    }
}

/// Loads the arrivals (last one per (peer, path id) wins, as on a session) and returns
/// the multipath set as comparable values.
fn load(
    arrivals: &[Arrival],
    order: &[usize],
    always_med: bool,
) -> (Vec<(usize, Option<u32>, String)>, Rib) {
    let mut rib = Rib::new(RibConfig {
        max_paths: 3,
        always_compare_med: always_med,
        ..RibConfig::new(LOCAL_AS, v4("192.0.2.1"))
    });
    rib.set_resolver(Box::new(Cost));
    let peers: Vec<PeerId> = (0..5)
        .map(|i| {
            // Two iBGP, three eBGP peers in two neighbour ASes.
            let asn = if i < 2 {
                LOCAL_AS
            } else {
                65000 + (i as u32 % 2)
            };
            peer(&mut rib, i as u8 + 1, asn)
        })
        .collect();
    // Deduplicate (peer, path_id): keep the last in arrival order of the *original*
    // list, so every permutation loads the same final set of paths.
    let mut last: std::collections::BTreeMap<(usize, Option<u32>), usize> = Default::default();
    for (i, a) in arrivals.iter().enumerate() {
        last.insert((a.peer, a.path_id), i);
    }
    for &i in order {
        let a = &arrivals[i];
        if last.get(&(a.peer, a.path_id)) != Some(&i) {
            continue;
        }
        let mut attrs = a.attrs.clone();
        attrs.path.insert(
            0,
            if a.peer < 2 {
                65000
            } else {
                65000 + (a.peer as u32 % 2)
            },
        );
        let n = Nlri {
            path_id: a.path_id,
            prefix: p("10.0.0.0/8"),
        };
        rib.announce(
            peers[a.peer],
            NextHopAddr::V4(Ipv4Addr::new(10, 9, 9, a.nh)),
            &attrs.build(),
            [n],
        )
        .unwrap();
    }
    let set = rib
        .multipath(p("10.0.0.0/8"))
        .iter()
        .map(|r| (r.peer.index(), r.path_id, format!("{:?}", r.attrs)))
        .collect();
    (set, rib)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn best_and_multipath_do_not_depend_on_arrival_order(
        arrivals in prop::collection::vec(arb_arrival(), 1..10),
        seed in any::<u64>(),
        always_med in any::<bool>(),
    ) {
        let forward: Vec<usize> = (0..arrivals.len()).collect();
        let mut shuffled = forward.clone();
        // Deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let (a, rib_a) = load(&arrivals, &forward, always_med);
        let (b, _) = load(&arrivals, &shuffled, always_med);
        prop_assert_eq!(&a, &b);
        // Statuses are consistent: best first, then multipath, then losers.
        let ex = rib_a.explain(p("10.0.0.0/8"));
        let used = ex.iter().take_while(|r| r.status.is_used()).count();
        prop_assert!(ex.iter().skip(used).all(|r| !r.status.is_used()));
        prop_assert!(ex.first().is_none_or(|r| r.status == PathStatus::Best || !r.status.is_used()));
    }

    #[test]
    fn withdrawing_everything_leaves_the_rib_empty(
        prefixes in prop::collection::vec((any::<u32>(), 8u8..33, 0usize..3, 0u32..5), 1..60),
    ) {
        let mut rib = rib();
        let peers: Vec<PeerId> = (0..3).map(|i| peer(&mut rib, i as u8 + 1, 65001 + i as u32)).collect();
        let mut sent = Vec::new();
        for &(addr, len, who, attr) in &prefixes {
            let net = ipnet::Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap().trunc();
            let a = A::path(&[65001 + who as u32, attr]).build();
            rib.announce(peers[who], nh(who as u8 + 1), &a, [Nlri::new(net.into())]).unwrap();
            sent.push((who, net));
        }
        for (who, net) in sent {
            rib.withdraw(peers[who], [Nlri::new(net.into())]).unwrap();
        }
        prop_assert!(rib.is_empty());
        prop_assert_eq!(rib.prefix_count(), (0, 0));
    }
}

#[test]
fn owned_attribute_roundtrip() {
    let mut rib = rib();
    let a = peer(&mut rib, 1, 65001);
    let attrs = vec![
        Attribute::new(AttrValue::Origin(Origin::Egp)),
        Attribute::new(AttrValue::AsPath(AsPath::sequence([65001, 4_200_000_000]))),
        Attribute::new(AttrValue::Med(3)),
    ];
    rib.announce(a, nh(1), &attrs, [nlri("10.0.0.0/8")])
        .unwrap();
    let got = rib.best(p("10.0.0.0/8")).unwrap().attrs.to_attributes();
    assert_eq!(got, attrs);
    let _ = FamilySet::EMPTY;
}
