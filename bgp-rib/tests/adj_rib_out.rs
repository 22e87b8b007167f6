//! The Adj-RIB-Out record of update groups: bits in the Loc-RIB trie for the first groups,
//! own prefix sets beyond them, prefixes kept with no path until every group that had
//! them has withdrawn them, and several groups exported in one pass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use bgp_rib::{Change, GroupId, PeerConfig, PeerId, Rib};
use bgp_wire::{Message, SessionParams, decode};
use common::*;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

/// An eBGP sink 10.0.0.N in `asn`, next hop self from 10.0.1.N.
fn sink(rib: &mut Rib, n: u8, asn: u32) -> PeerId {
    let mut c = PeerConfig::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), asn);
    c.local_v4 = Some(Ipv4Addr::new(10, 0, 1, n));
    peer_with(rib, n, c)
}

fn group(rib: &Rib, peer: PeerId) -> GroupId {
    rib.update_group(peer).unwrap()
}

fn announce(rib: &mut Rib, src: PeerId, path: &[u32], prefixes: &[&str]) -> Vec<Change> {
    rib.announce(
        src,
        nh(1),
        &A::path(path).build(),
        prefixes.iter().map(|s| nlri(s)),
    )
    .unwrap()
    .changes
}

fn sorted(mut v: Vec<IpNet>) -> Vec<IpNet> {
    v.sort();
    v
}

#[test]
fn a_prefix_with_no_path_stays_until_every_group_has_withdrawn_it() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let (s1, s2) = (sink(&mut rib, 2, 65002), sink(&mut rib, 3, 65003));
    let (g1, g2) = (group(&rib, s1), group(&rib, s2));
    assert_ne!(g1, g2);
    let ch = announce(&mut rib, src, &[65001], &["10.1.0.0/16", "10.2.0.0/16"]);
    for r in rib.export_changes_to(&[g1, g2], &ch) {
        assert_eq!(r.unwrap().announced, 2);
    }
    let ch = rib.withdraw(src, [nlri("10.1.0.0/16")]).unwrap();
    assert_eq!(
        rib.prefix_count(),
        (1, 0),
        "the withdrawn prefix is no route"
    );
    assert!(rib.best(p("10.1.0.0/16")).is_none());
    assert!(rib.explain(p("10.1.0.0/16")).is_empty());
    assert_eq!(rib.best_v4().count(), 1);

    let b = rib.export_changes(g1, &ch).unwrap();
    assert_eq!((b.announced, b.withdrawn), (0, 1));
    assert_eq!(rib.advertised(s1), vec![p("10.2.0.0/16")]);
    assert_eq!(
        sorted(rib.advertised(s2)).len(),
        2,
        "g2 has not been told yet"
    );

    let b = rib.export_changes(g2, &ch).unwrap();
    assert_eq!((b.announced, b.withdrawn), (0, 1));
    assert_eq!(rib.advertised(s2), vec![p("10.2.0.0/16")]);
    // Exporting the same changes again sends nothing.
    let b = rib.export_changes(g2, &ch).unwrap();
    assert_eq!(b.message_count, 0);

    let ch = rib.peer_down(src).unwrap();
    assert!(!rib.is_empty(), "the groups still have 10.2/16 advertised");
    for r in rib.export_changes_to(&[g1, g2], &ch) {
        assert_eq!(r.unwrap().withdrawn, 1);
    }
    assert!(rib.is_empty(), "all withdrawn: nothing left");
}

#[test]
fn a_prefix_back_before_its_withdrawal_was_exported_is_announced_not_withdrawn() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let s = sink(&mut rib, 2, 65002);
    let g = group(&rib, s);
    let ch = announce(&mut rib, src, &[65001], &["10.1.0.0/16"]);
    assert_eq!(rib.export_changes(g, &ch).unwrap().announced, 1);
    let mut ch = rib.withdraw(src, [nlri("10.1.0.0/16")]).unwrap();
    assert_eq!(rib.prefix_count(), (0, 0));
    ch.extend(announce(&mut rib, src, &[65001, 7], &["10.1.0.0/16"]));
    assert_eq!(rib.prefix_count(), (1, 0));
    let b = rib.export_changes(g, &ch).unwrap();
    assert_eq!(b.withdrawn, 0);
    assert!(b.announced >= 1);
    assert_eq!(rib.advertised(s), vec![p("10.1.0.0/16")]);
    // The re-announced prefix carries the new path.
    let best = rib.best(p("10.1.0.0/16")).unwrap();
    assert_eq!(best.attrs.as_path().collect::<Vec<_>>(), vec![65001, 7]);
}

#[test]
fn groups_beyond_the_trie_bits_keep_their_own_record() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    // Forty eBGP sinks in forty ASes: forty update groups, more than the trie holds bits
    // for.
    let sinks: Vec<PeerId> = (0..40u8)
        .map(|i| sink(&mut rib, 10 + i, 65100 + u32::from(i)))
        .collect();
    let groups: Vec<GroupId> = sinks.iter().map(|&s| group(&rib, s)).collect();
    let mut distinct = groups.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 40);

    let ch = announce(
        &mut rib,
        src,
        &[65001],
        &["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"],
    );
    // Every group's UPDATE carries its own address as next hop (groups after the first
    // copy the first one's UPDATE and rewrite the next hop).
    let params = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true);
    for (i, r) in rib.export_changes_to(&groups, &ch).into_iter().enumerate() {
        let r = r.unwrap();
        assert_eq!((r.announced, r.message_count), (3, 1));
        let Message::Update(u) = decode(r.messages.clone(), &params).unwrap() else {
            panic!("not an UPDATE");
        };
        assert_eq!(u.next_hop(), Some(Ipv4Addr::new(10, 0, 1, 10 + i as u8)));
        assert_eq!(u.announced().count(), 3);
    }
    let ch = rib.withdraw(src, [nlri("10.2.0.0/16")]).unwrap();
    for r in rib.export_changes_to(&groups, &ch) {
        assert_eq!(r.unwrap().withdrawn, 1);
    }
    for &s in &sinks {
        assert_eq!(
            sorted(rib.advertised(s)),
            vec![p("10.1.0.0/16"), p("10.3.0.0/16")]
        );
    }
    // A group past the bits that has not exported keeps the prefix alive for the others
    // only through its own set: the trie drops it once the bit groups are done.
    let ch = rib.peer_down(src).unwrap();
    let (early, late) = groups.split_at(39);
    for r in rib.export_changes_to(early, &ch) {
        assert_eq!(r.unwrap().withdrawn, 2);
    }
    assert_eq!(rib.advertised(sinks[39]).len(), 2);
    let b = rib.export_changes(late[0], &ch).unwrap();
    assert_eq!(b.withdrawn, 2);
    assert!(rib.is_empty());
}

#[test]
fn a_new_group_in_a_freed_slot_inherits_nothing() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let s1 = sink(&mut rib, 2, 65002);
    let g1 = group(&rib, s1);
    let ch = announce(&mut rib, src, &[65001], &["10.1.0.0/16", "10.2.0.0/16"]);
    assert_eq!(rib.export_changes(g1, &ch).unwrap().announced, 2);
    // The withdrawal is not exported before the only member goes down: the prefix is
    // kept for nobody and must go with the group.
    let withdrawn = rib.withdraw(src, [nlri("10.1.0.0/16")]).unwrap();
    rib.peer_down(s1).unwrap();
    assert_eq!(rib.prefix_count(), (1, 0));

    let s2 = sink(&mut rib, 3, 65003);
    let g2 = group(&rib, s2);
    assert_eq!(g2, g1, "the freed group slot is reused");
    assert!(rib.advertised(s2).is_empty());
    let b = rib.export_changes(g2, &withdrawn).unwrap();
    assert_eq!(
        b.message_count, 0,
        "never sent to this group: nothing to withdraw"
    );
    let b = rib.export_full(g2, bgp_wire::Family::IPV4_UNICAST).unwrap();
    assert_eq!(b.announced, 1);
    assert_eq!(rib.advertised(s2), vec![p("10.2.0.0/16")]);
    let ch = rib.peer_down(src).unwrap();
    assert_eq!(rib.export_changes(g2, &ch).unwrap().withdrawn, 1);
    assert!(rib.is_empty());
}

#[test]
fn a_full_export_resets_the_record_of_its_group_only() {
    let mut rib = rib();
    let src = peer(&mut rib, 1, 65001);
    let (s1, s2) = (sink(&mut rib, 2, 65002), sink(&mut rib, 3, 65003));
    let (g1, g2) = (group(&rib, s1), group(&rib, s2));
    let ch = announce(&mut rib, src, &[65001], &["10.1.0.0/16", "10.2.0.0/16"]);
    for r in rib.export_changes_to(&[g1, g2], &ch) {
        assert_eq!(r.unwrap().announced, 2);
    }
    // 10.1/16 is withdrawn; g1 is then sent its full view (a new member), which holds
    // one prefix; g2 still has to hear of the withdrawal.
    let ch = rib.withdraw(src, [nlri("10.1.0.0/16")]).unwrap();
    let b = rib.export_full(g1, bgp_wire::Family::IPV4_UNICAST).unwrap();
    assert_eq!((b.announced, b.withdrawn), (1, 0));
    assert_eq!(rib.advertised(s1), vec![p("10.2.0.0/16")]);
    assert_eq!(rib.advertised(s2).len(), 2);
    let r = rib.export_changes_to(&[g1, g2], &ch);
    assert_eq!(r[0].as_ref().unwrap().withdrawn, 0);
    assert_eq!(r[1].as_ref().unwrap().withdrawn, 1);
    let ch = rib.peer_down(src).unwrap();
    for r in rib.export_changes_to(&[g1, g2], &ch) {
        assert_eq!(r.unwrap().withdrawn, 1);
    }
    assert!(rib.is_empty());
}

#[test]
fn exporting_groups_together_equals_exporting_them_one_by_one() {
    let build = || {
        let mut rib = rib();
        let a = peer(&mut rib, 1, 65001);
        let b = peer(&mut rib, 4, 65004);
        let s1 = sink(&mut rib, 2, 65002);
        let s2 = sink(&mut rib, 3, 65003);
        (rib, a, b, s1, s2)
    };
    let (mut one, a1, b1, x1, y1) = build();
    let (mut two, a2, b2, x2, y2) = build();
    let steps: Vec<(bool, &[u32], Vec<&str>, bool)> = vec![
        (
            true,
            &[65001],
            vec!["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"],
            true,
        ),
        (
            false,
            &[65004, 65002],
            vec!["10.2.0.0/16", "10.4.0.0/16"],
            true,
        ),
        (true, &[65001, 9, 9], vec!["10.3.0.0/16"], true),
        (true, &[], vec!["10.1.0.0/16", "10.4.0.0/16"], false),
    ];
    for (from_a, path, prefixes, is_announce) in steps {
        let (s1, s2) = if from_a { (a1, a2) } else { (b1, b2) };
        let (c1, c2) = if is_announce {
            (
                announce(&mut one, s1, path, &prefixes),
                announce(&mut two, s2, path, &prefixes),
            )
        } else {
            let n: Vec<_> = prefixes.iter().map(|s| nlri(s)).collect();
            (
                one.withdraw(s1, n.clone()).unwrap(),
                two.withdraw(s2, n).unwrap(),
            )
        };
        let together = one.export_changes_to(&[group(&one, x1), group(&one, y1)], &c1);
        let apart = [
            two.export_changes(group(&two, x2), &c2),
            two.export_changes(group(&two, y2), &c2),
        ];
        for (t, a) in together.iter().zip(apart.iter()) {
            assert_eq!(t.as_ref().unwrap(), a.as_ref().unwrap());
        }
    }
    assert_eq!(sorted(one.advertised(x1)), sorted(two.advertised(x2)));
    assert_eq!(sorted(one.advertised(y1)), sorted(two.advertised(y2)));
}
