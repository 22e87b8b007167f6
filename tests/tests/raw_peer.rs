//! Scenarios 6 and 7: what a speaker does with a misbehaving peer, seen from a raw BGP peer
//! that receives the exact NOTIFICATION bytes.

use bgp_rib::{MaxPrefix, MaxPrefixAction};
use bgp_tests::*;
use bgp_wire::{AttrFlags, AttrType, AttrValue, Attribute};
use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A speaker at `addr` (AS 65060) with a passive peer for each raw peer address, returned
/// with its listening port.
async fn speaker_with_raw_peers(
    addr: IpAddr,
    router_id: Ipv4Addr,
    peers: &[(IpAddr, u32, Option<MaxPrefix>)],
) -> (bgpd::speaker::Speaker, u16) {
    let c = speaker_config(65060, router_id, &[addr]);
    let s = start(c.clone()).await;
    for (peer, asn, max) in peers {
        let mut p = peer_spec(&c, addr, *peer, *asn, 1);
        p.session.passive = true;
        p.routing.max_prefix = *max;
        add_peer(&s, p).await;
    }
    let port = port_of(&s, addr);
    (s, port)
}

/// Scenario 6: B sends 20 IPv4 prefixes; A allows 10 with Shutdown. A sends Cease /
/// Maximum Number of Prefixes Reached (RFC 4486 §4: data = AFI, SAFI, upper bound) and
/// drops B's routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_prefix_shutdown_sends_cease_with_afi_safi_limit() {
    let (a_addr, b_addr) = (v4(127, 6, 0, 1), v4(127, 6, 0, 2));
    let limit = MaxPrefix {
        limit: 10,
        action: MaxPrefixAction::Shutdown,
    };
    let (a, port) = speaker_with_raw_peers(
        a_addr,
        Ipv4Addr::new(6, 0, 0, 1),
        &[(b_addr, 65062, Some(limit))],
    )
    .await;
    let mut b = RawPeer::connect(b_addr, SocketAddr::new(a_addr, port)).await;
    b.handshake(raw_open(65062, Ipv4Addr::new(6, 0, 0, 2), false), true)
        .await;
    let prefixes: Vec<String> = (0..20).map(|i| format!("10.60.{i}.0/24")).collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    b.send(&ipv4_update(
        &b.params,
        Ipv4Addr::new(127, 6, 0, 2),
        &[65062],
        vec![],
        &refs,
    ))
    .await;

    let n = b.expect_notification(STEP_TIMEOUT).await;
    assert_eq!(
        (n.code.0, n.subcode),
        (6, 1),
        "expected Cease / Maximum Number of Prefixes Reached, got {n}"
    );
    assert_eq!(
        n.data,
        Bytes::from_static(&[0, 1, 1, 0, 0, 0, 10]),
        "data must be AFI 1 (IPv4), SAFI 1 (unicast), limit 10"
    );
    b.expect_closed(STEP_TIMEOUT).await;
    for p in ["10.60.0.0/24", "10.60.9.0/24", "10.60.19.0/24"] {
        wait_no_route(&a, net(p)).await;
    }
    let info = neighbor(&a, b_addr).await;
    assert_ne!(info.state, "Established");
    assert_eq!(info.stats.notifications_sent.get("6/1"), Some(&1));
    assert_eq!(info.prefixes_accepted, 0);
    a.shutdown("test done").await;
}

/// The same with IPv6 prefixes: the NOTIFICATION must name AFI 2 (IPv6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_prefix_shutdown_names_the_ipv6_family() {
    let (a_addr, b_addr) = (v4(127, 6, 1, 1), v4(127, 6, 1, 2));
    let limit = MaxPrefix {
        limit: 10,
        action: MaxPrefixAction::Shutdown,
    };
    let (a, port) = speaker_with_raw_peers(
        a_addr,
        Ipv4Addr::new(6, 0, 1, 1),
        &[(b_addr, 65062, Some(limit))],
    )
    .await;
    let mut b = RawPeer::connect(b_addr, SocketAddr::new(a_addr, port)).await;
    b.handshake(raw_open(65062, Ipv4Addr::new(6, 0, 1, 2), true), true)
        .await;
    let prefixes: Vec<String> = (0..20).map(|i| format!("2001:db8:60:{i}::/64")).collect();
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let nh: Ipv6Addr = "2001:db8:ffff::2".parse().expect("address");
    b.send(&ipv6_update(&b.params, nh, &[65062], &refs)).await;
    let n = b.expect_notification(STEP_TIMEOUT).await;
    assert_eq!((n.code.0, n.subcode), (6, 1), "got {n}");
    assert_eq!(
        n.data,
        Bytes::from_static(&[0, 2, 1, 0, 0, 0, 10]),
        "data must be AFI 2 (IPv6), SAFI 1 (unicast), limit 10"
    );
    a.shutdown("test done").await;
}

/// Scenario 7: a malformed COMMUNITIES attribute (length 3) is treat-as-withdraw (RFC 7606
/// §7.8): the UPDATE's prefixes are not installed (and one installed before is
/// withdrawn), the session stays up and the peer's other prefixes stay. Then a message
/// with a bad marker gets NOTIFICATION 1/1 (Connection Not Synchronized) and ends that
/// session only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_treat_as_withdraw_then_bad_marker() {
    let (a_addr, b_addr, c_addr) = (v4(127, 7, 0, 1), v4(127, 7, 0, 2), v4(127, 7, 0, 3));
    let (a, port) = speaker_with_raw_peers(
        a_addr,
        Ipv4Addr::new(7, 0, 0, 1),
        &[(b_addr, 65072, None), (c_addr, 65073, None)],
    )
    .await;
    let mut b = RawPeer::connect(b_addr, SocketAddr::new(a_addr, port)).await;
    b.handshake(raw_open(65072, Ipv4Addr::new(7, 0, 0, 2), false), true)
        .await;
    let mut c = RawPeer::connect(c_addr, SocketAddr::new(a_addr, port)).await;
    c.handshake(raw_open(65073, Ipv4Addr::new(7, 0, 0, 3), false), true)
        .await;
    let b_nh = Ipv4Addr::new(127, 7, 0, 2);
    let c_nh = Ipv4Addr::new(127, 7, 0, 3);

    b.send(&ipv4_update(
        &b.params,
        b_nh,
        &[65072],
        vec![],
        &["10.7.1.0/24", "10.7.4.0/24"],
    ))
    .await;
    c.send(&ipv4_update(
        &c.params,
        c_nh,
        &[65073],
        vec![],
        &["10.7.5.0/24"],
    ))
    .await;
    wait_route_from(&a, net("10.7.1.0/24"), b_addr).await;
    wait_route_from(&a, net("10.7.4.0/24"), b_addr).await;
    wait_route_from(&a, net("10.7.5.0/24"), c_addr).await;

    let bad_communities = Attribute {
        flags: AttrFlags::OPTIONAL_TRANSITIVE,
        value: AttrValue::Raw {
            type_code: AttrType::COMMUNITIES,
            value: Bytes::from_static(&[0xfd, 0xe8, 0x00]),
        },
    };
    let malformed = ipv4_update(
        &b.params,
        b_nh,
        &[65072],
        vec![bad_communities],
        &["10.7.2.0/24", "10.7.4.0/24"],
    );
    assert_eq!(
        malformed
            .windows(6)
            .filter(|w| *w == [0xc0, 8, 3, 0xfd, 0xe8, 0])
            .count(),
        1,
        "the test must really send COMMUNITIES with length 3: {malformed:02x?}"
    );
    b.send(&malformed).await;
    // A valid UPDATE after it: once installed, the malformed one was processed.
    b.send(&ipv4_update(
        &b.params,
        b_nh,
        &[65072],
        vec![],
        &["10.7.3.0/24"],
    ))
    .await;
    wait_route_from(&a, net("10.7.3.0/24"), b_addr).await;
    let two = paths(&a, net("10.7.2.0/24")).await;
    assert!(
        two.is_empty(),
        "treat-as-withdraw prefix installed: {two:?}"
    );
    wait_no_route(&a, net("10.7.4.0/24")).await;
    wait_route_from(&a, net("10.7.1.0/24"), b_addr).await;
    let info = neighbor(&a, b_addr).await;
    assert_eq!(info.state, "Established");
    assert_eq!(info.stats.established_count, 1);
    assert!(
        info.stats.notifications_sent.is_empty(),
        "no NOTIFICATION for a treat-as-withdraw error: {:?}",
        info.stats.notifications_sent
    );

    // A KEEPALIVE whose marker is not all ones.
    let mut bad_marker = [0u8; 19];
    bad_marker[16..].copy_from_slice(&[0, 19, 4]);
    b.send(&bad_marker).await;
    let n = b.expect_notification(STEP_TIMEOUT).await;
    assert_eq!(
        (n.code.0, n.subcode),
        (1, 1),
        "expected Message Header Error / Connection Not Synchronized, got {n}"
    );
    b.expect_closed(STEP_TIMEOUT).await;
    for p in ["10.7.1.0/24", "10.7.3.0/24"] {
        wait_no_route(&a, net(p)).await;
    }

    // C is unaffected: still up, its route still there, and it can still announce.
    c.send(&ipv4_update(
        &c.params,
        c_nh,
        &[65073],
        vec![],
        &["10.7.6.0/24"],
    ))
    .await;
    wait_route_from(&a, net("10.7.6.0/24"), c_addr).await;
    wait_route_from(&a, net("10.7.5.0/24"), c_addr).await;
    let info = neighbor(&a, c_addr).await;
    assert_eq!(info.state, "Established");
    assert_eq!(info.stats.established_count, 1);
    assert!(info.stats.notifications_sent.is_empty());
    a.shutdown("test done").await;
}
