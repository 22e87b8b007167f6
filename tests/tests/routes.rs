//! Scenarios 2 and 4: route exchange between speakers over loopback (IPv4 and IPv6, both
//! directions) and withdrawal when a peer goes away.

use bgp_tests::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A (AS 65021) and B (AS 65022) peer over an IPv4 session (127.2.0.1 <-> 127.2.0.2) and an
/// IPv6 session (::1 <-> ::1). Each learns the other's IPv4 prefix over the IPv4 session
/// and IPv6 prefix over the IPv6 session, with the peer's session address as next hop
/// and AS path [peer AS].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_ipv4_and_ipv6_both_directions() {
    let (a4, b4) = (v4(127, 2, 0, 1), v4(127, 2, 0, 2));
    let v6 = V6_LOOPBACK;
    let ca = speaker_config(65021, Ipv4Addr::new(2, 0, 0, 1), &[a4]);
    let cb = speaker_config(65022, Ipv4Addr::new(2, 0, 0, 2), &[b4, v6]);
    let a = start(ca.clone()).await;
    let b = start(cb.clone()).await;
    // One receiver per prefix: waiting on one prefix skips the events of the others.
    let mut events: Vec<_> = (0..4)
        .map(|i| if i < 2 { a.subscribe() } else { b.subscribe() })
        .collect();
    originate(&a, "10.1.0.0/16").await;
    originate(&a, "2001:db8:1::/48").await;
    originate(&b, "10.2.0.0/16").await;
    originate(&b, "2001:db8:2::/48").await;

    for (remote, local) in [(a4, b4), (v6, v6)] {
        let mut p = peer_spec(&cb, local, remote, 65021, 1);
        p.session.passive = true;
        add_peer(&b, p).await;
    }
    add_peer(&a, peer_spec(&ca, a4, b4, 65022, port_of(&b, b4))).await;
    add_peer(&a, peer_spec(&ca, v6, v6, 65022, port_of(&b, v6))).await;
    wait_established(&a, b4).await;
    wait_established(&a, v6).await;

    for (speaker, name, prefix, peer, asn) in [
        (&a, "A", "10.2.0.0/16", b4, 65022),
        (&a, "A", "2001:db8:2::/48", v6, 65022),
        (&b, "B", "10.1.0.0/16", a4, 65021),
        (&b, "B", "2001:db8:1::/48", v6, 65021),
    ] {
        let p = wait_route_from(speaker, net(prefix), peer).await;
        assert_eq!(p.next_hop, Some(peer), "{name}: next hop of {prefix}");
        assert_eq!(p.as_path, vec![asn], "{name}: AS path of {prefix}");
        assert_eq!(p.origin, "IGP", "{name}: origin of {prefix}");
        assert_eq!(p.local_pref, None, "{name}: no LOCAL_PREF over eBGP");
        let all = paths(speaker, net(prefix)).await;
        assert_eq!(all.len(), 1, "{name}: {prefix} learned once: {all:?}");
    }

    // The route events say the same.
    for (events, (which, prefix, peer, asn)) in events.iter_mut().zip([
        ("A", "10.2.0.0/16", b4, 65022),
        ("A", "2001:db8:2::/48", v6, 65022),
        ("B", "10.1.0.0/16", a4, 65021),
        ("B", "2001:db8:1::/48", v6, 65021),
    ]) {
        let ev = wait_event(events, net(prefix), &format!("via {peer}"), |e| {
            e.best.is_some()
        })
        .await;
        let best = ev.best.expect("best route");
        let hops: Vec<IpAddr> = best.next_hops.iter().map(|n| n.address).collect();
        assert_eq!(hops, vec![peer], "{which}: next hops of {prefix}");
        assert_eq!(best.next_hops[0].peer, peer);
        assert_eq!(best.as_path, vec![asn]);
        assert!(!best.local);
    }

    // Without an IPv6 address on the IPv4 session there is no IPv6 next hop to send, so
    // each family goes over its own session only. Routes learned from A are not sent back
    // to A (sender-side loop detection).
    let over_v4 = b.advertised(a4).await.expect("advertised");
    assert!(
        over_v4.contains(&net("10.2.0.0/16")) && over_v4.iter().all(|p| p.addr().is_ipv4()),
        "B advertises over the IPv4 session: {over_v4:?}"
    );
    assert!(
        !over_v4.contains(&net("10.1.0.0/16")),
        "A's own route went back to A: {over_v4:?}"
    );
    let over_v6 = b.advertised(v6).await.expect("advertised");
    assert!(
        over_v6.contains(&net("2001:db8:2::/48")) && over_v6.iter().all(|p| p.addr().is_ipv6()),
        "B advertises over the IPv6 session: {over_v6:?}"
    );

    a.shutdown("test done").await;
    b.shutdown("test done").await;
}

/// IPv6 prefixes over an IPv4-only session: with an IPv6 next hop configured for the peer
/// (`PeerConfig::local_v6`), they are advertised with it (RFC 4760 MP_REACH_NLRI).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_over_ipv4_session_with_configured_next_hop() {
    let (a4, b4) = (v4(127, 2, 1, 1), v4(127, 2, 1, 2));
    let nh: Ipv6Addr = "2001:db8:ffff::2".parse().expect("address");
    let ca = speaker_config(65021, Ipv4Addr::new(2, 0, 1, 1), &[]);
    let cb = speaker_config(65022, Ipv4Addr::new(2, 0, 1, 2), &[b4]);
    let a = start(ca.clone()).await;
    let b = start(cb.clone()).await;
    originate(&b, "2001:db8:2::/48").await;
    originate(&b, "10.2.0.0/16").await;
    let mut p = peer_spec(&cb, b4, a4, 65021, 1);
    p.session.passive = true;
    p.routing.local_v6 = Some(nh);
    add_peer(&b, p).await;
    add_peer(&a, peer_spec(&ca, a4, b4, 65022, port_of(&b, b4))).await;

    let p = wait_route_from(&a, net("2001:db8:2::/48"), b4).await;
    assert_eq!(p.next_hop, Some(IpAddr::V6(nh)));
    assert_eq!(p.as_path, vec![65022]);
    let p = wait_route_from(&a, net("10.2.0.0/16"), b4).await;
    assert_eq!(p.next_hop, Some(b4));
    a.shutdown("test done").await;
    b.shutdown("test done").await;
}

/// Scenario 4: A — B — C over eBGP (AS 65041, 65042, 65043). A originates; C learns the
/// route via B with AS path [65042, 65041]. A shuts down: B withdraws the route and C's
/// copy goes too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_on_peer_loss_propagates_down_a_chain() {
    let (a_addr, b_addr, c_addr) = (v4(127, 4, 0, 1), v4(127, 4, 0, 2), v4(127, 4, 0, 3));
    let ca = speaker_config(65041, Ipv4Addr::new(4, 0, 0, 1), &[]);
    let cb = speaker_config(65042, Ipv4Addr::new(4, 0, 0, 2), &[b_addr]);
    let cc = speaker_config(65043, Ipv4Addr::new(4, 0, 0, 3), &[]);
    let a = start(ca.clone()).await;
    let b = start(cb.clone()).await;
    let c = start(cc.clone()).await;
    let b_port = port_of(&b, b_addr);
    for (remote, asn) in [(a_addr, 65041), (c_addr, 65043)] {
        let mut p = peer_spec(&cb, b_addr, remote, asn, 1);
        p.session.passive = true;
        add_peer(&b, p).await;
    }
    add_peer(&a, peer_spec(&ca, a_addr, b_addr, 65042, b_port)).await;
    add_peer(&c, peer_spec(&cc, c_addr, b_addr, 65042, b_port)).await;
    originate(&a, "10.4.0.0/16").await;
    originate(&c, "10.43.0.0/16").await;

    let prefix = net("10.4.0.0/16");
    let p = wait_route_from(&c, prefix, b_addr).await;
    assert_eq!(p.next_hop, Some(b_addr));
    assert_eq!(p.as_path, vec![65042, 65041]);
    // The other direction, so we know C's route exists independently of A.
    let p = wait_route_from(&a, net("10.43.0.0/16"), b_addr).await;
    assert_eq!(p.as_path, vec![65042, 65043]);

    let mut events_c = c.subscribe();
    a.shutdown("scenario: A goes away").await;
    wait_no_route(&b, prefix).await;
    wait_no_route(&c, prefix).await;
    let ev = wait_event(&mut events_c, prefix, "withdrawn (best None)", |e| {
        e.best.is_none()
    })
    .await;
    assert_eq!(ev.best, None);
    // B told C why: not by dropping the session.
    let n = neighbor(&c, b_addr).await;
    assert_eq!(n.state, "Established");
    assert_eq!(n.stats.established_count, 1);
    let b_view = neighbor(&b, a_addr).await;
    assert_ne!(b_view.state, "Established");
    assert!(
        b_view
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("6/2") || e.contains("Administrative Shutdown")),
        "B should have received Cease / Administrative Shutdown from A: {:?}",
        b_view.last_error
    );
    // C's own route is still at B.
    wait_route_from(&b, net("10.43.0.0/16"), c_addr).await;
    b.shutdown("test done").await;
    c.shutdown("test done").await;
}
