//! Scenario 1: session establishment between two speakers over loopback — both active
//! (connection collision, RFC 4271 §6.8) and one side passive.

use bgp_tests::*;
use bgp_wire::{Message, notification::cease_subcode};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Both speakers listen and both dial: whichever connection wins the collision, each side
/// ends up with exactly one Established session, and both sides kept the same TCP
/// connection.
///
/// Timing decides whether the losing connection closes before or after the winner reached
/// Established; the latter once made the speaker forget the winner (about one run in
/// five; `second_connection_while_established_keeps_session` is the deterministic case).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_active_collision_leaves_one_session() {
    let (a_addr, b_addr) = (v4(127, 1, 1, 1), v4(127, 1, 1, 2));
    let ca = speaker_config(65011, Ipv4Addr::new(1, 1, 1, 1), &[a_addr]);
    let cb = speaker_config(65012, Ipv4Addr::new(2, 2, 2, 2), &[b_addr]);
    let a = start(ca.clone()).await;
    let b = start(cb.clone()).await;
    let (a_port, b_port) = (port_of(&a, a_addr), port_of(&b, b_addr));
    // Add both peers before either can finish a handshake, so both dial.
    let (ra, rb) = tokio::join!(
        a.add_peer(peer_spec(&ca, a_addr, b_addr, 65012, b_port)),
        b.add_peer(peer_spec(&cb, b_addr, a_addr, 65011, a_port)),
    );
    ra.expect("A add_peer");
    rb.expect("B add_peer");

    let na = wait_established(&a, b_addr).await;
    let nb = wait_established(&b, a_addr).await;
    assert_eq!(na.router_id, Some(Ipv4Addr::new(2, 2, 2, 2)));
    assert_eq!(nb.router_id, Some(Ipv4Addr::new(1, 1, 1, 1)));
    assert_eq!(na.asn, 65012);
    assert_eq!(nb.asn, 65011);

    // A route crossing the session proves it carries traffic, and gives any second session
    // time to show up in the counters before we look.
    originate(&a, "10.11.0.0/16").await;
    wait_route_from(&b, net("10.11.0.0/16"), a_addr).await;

    let na = neighbor(&a, b_addr).await;
    let nb = neighbor(&b, a_addr).await;
    assert_eq!(
        (na.stats.established_count, nb.stats.established_count),
        (1, 1),
        "each side must have reached Established exactly once: A {:?}, B {:?}",
        na.stats,
        nb.stats
    );
    // Both sides run the session over the same connection: exactly one end of it is a
    // listener's port (the side that accepted it).
    let la = na
        .local_address
        .unwrap_or_else(|| panic!("A's Established session has no connection: {na:#?}"));
    let lb = nb
        .local_address
        .unwrap_or_else(|| panic!("B's Established session has no connection: {nb:#?}"));
    assert_eq!(la.ip(), a_addr);
    assert_eq!(lb.ip(), b_addr);
    let a_accepted = la.port() == a_port;
    let b_accepted = lb.port() == b_port;
    assert!(
        a_accepted != b_accepted,
        "the two sides run the session over different connections: A local {la} (listens on \
         {a_port}), B local {lb} (listens on {b_port})"
    );
    // A collision, if there was one, is resolved with Cease / Connection Collision
    // Resolution (6/7) and nothing else goes wrong.
    for (name, n) in [("A", &na), ("B", &nb)] {
        for code in n
            .stats
            .notifications_sent
            .keys()
            .chain(n.stats.notifications_received.keys())
        {
            assert_eq!(
                code, "6/7",
                "{name} exchanged an unexpected NOTIFICATION: {n:?}"
            );
        }
    }
    a.shutdown("test done").await;
    b.shutdown("test done").await;
}

/// One side passive: it never dials, the active side's connection is the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_side_passive() {
    let (a_addr, b_addr) = (v4(127, 1, 2, 1), v4(127, 1, 2, 2));
    let ca = speaker_config(65011, Ipv4Addr::new(1, 1, 2, 1), &[]);
    let cb = speaker_config(65012, Ipv4Addr::new(1, 1, 2, 2), &[b_addr]);
    let a = start(ca.clone()).await;
    let b = start(cb.clone()).await;
    let b_port = port_of(&b, b_addr);
    let mut passive = peer_spec(&cb, b_addr, a_addr, 65011, 1);
    passive.session.passive = true;
    add_peer(&b, passive).await;
    // B is passive: it sits in Active, waiting.
    let nb = neighbor(&b, a_addr).await;
    assert_eq!(nb.state, "Active", "a passive peer waits in Active: {nb:?}");

    add_peer(&a, peer_spec(&ca, a_addr, b_addr, 65012, b_port)).await;
    let na = wait_established(&a, b_addr).await;
    let nb = wait_established(&b, a_addr).await;
    let lb = nb.local_address.expect("B's session has a local address");
    assert_eq!(
        lb,
        std::net::SocketAddr::new(b_addr, b_port),
        "B accepted the session"
    );
    let la = na.local_address.expect("A's session has a local address");
    assert_eq!(la.ip(), a_addr);
    assert_ne!(la.port(), b_port);
    assert_eq!(na.hold_time, Some(90));
    assert_eq!(
        na.families, nb.families,
        "both sides see the same negotiated families"
    );
    assert_eq!(
        na.families.len(),
        2,
        "IPv4 and IPv6 unicast: {:?}",
        na.families
    );
    a.shutdown("test done").await;
    b.shutdown("test done").await;
}

/// A passive peer configured without a local address (it never dials, so it needs none)
/// still advertises its routes: the next hop defaults to its address on the session
/// (`bgpd::speaker` core: "The next hop we advertise defaults to our address on the
/// session").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_side_without_local_address_advertises() {
    let (a_addr, b_addr) = (v4(127, 1, 3, 1), v4(127, 1, 3, 2));
    let ca = speaker_config(65011, Ipv4Addr::new(1, 1, 3, 1), &[]);
    let mut cb = speaker_config(65012, Ipv4Addr::new(1, 1, 3, 2), &[b_addr]);
    cb.networks = vec![bgp_rib::LocalRoute::new(net("10.13.0.0/16"))];
    let a = start(ca.clone()).await;
    let b = start(cb.clone()).await;
    let b_port = port_of(&b, b_addr);
    let mut passive = peer_spec(&cb, b_addr, a_addr, 65011, 1);
    passive.session.passive = true;
    passive.transport.local_address = None;
    add_peer(&b, passive).await;
    add_peer(&a, peer_spec(&ca, a_addr, b_addr, 65012, b_port)).await;
    wait_established(&a, b_addr).await;
    let p = wait_route_from(&a, net("10.13.0.0/16"), b_addr).await;
    assert_eq!(p.next_hop, Some(b_addr));
    assert_eq!(p.as_path, vec![65012]);
    a.shutdown("test done").await;
    b.shutdown("test done").await;
}

/// Reads the speaker's OPEN on a connection it just made or accepted.
async fn read_open(raw: &mut RawPeer) -> bgp_wire::Open {
    match raw.recv(STEP_TIMEOUT).await {
        Message::Open(o) => o,
        other => panic!("expected the speaker's OPEN, got {other:?}"),
    }
}

/// RFC 4271 §6.8 with a raw peer, deterministically: the speaker dials us (connection 1)
/// and we dial it (connection 2) before either session is up. The connection initiated by
/// the side with the higher BGP Identifier survives; the other gets Cease / Connection
/// Collision Resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collision_before_established_keeps_higher_identifier_connection() {
    // Round 1: the raw peer's identifier is higher, its connection wins.
    // Round 2: the speaker's identifier is higher, the speaker's connection wins.
    for (round, raw_id) in [
        (1u8, Ipv4Addr::new(9, 9, 9, 9)),
        (2, Ipv4Addr::new(0, 0, 0, 9)),
    ] {
        let (s_addr, r_addr) = (v4(127, 1, 4, 10 * round + 1), v4(127, 1, 4, 10 * round + 2));
        let cs = speaker_config(65011, Ipv4Addr::new(5, 5, 5, 5), &[s_addr]);
        let s = start(cs.clone()).await;
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(r_addr, 0))
            .await
            .expect("raw listener");
        let r_port = listener.local_addr().expect("raw listener address").port();
        add_peer(&s, peer_spec(&cs, s_addr, r_addr, 65012, r_port)).await;

        // Connection 1, initiated by the speaker: it sends its OPEN; we hold ours back.
        let mut c1 = RawPeer::accept(&listener).await;
        read_open(&mut c1).await;
        // Connection 2, initiated by us.
        let mut c2 = RawPeer::connect(r_addr, SocketAddr::new(s_addr, port_of(&s, s_addr))).await;
        read_open(&mut c2).await;
        let open = raw_open(65012, raw_id, true);
        c2.send(&open.encode().expect("OPEN")).await;

        let (mut winner, mut loser, speaker_listens) = if round == 1 {
            (c2, c1, true)
        } else {
            (c1, c2, false)
        };
        let n = loser.expect_notification(STEP_TIMEOUT).await;
        assert_eq!(
            (n.code.0, n.subcode),
            (6, cease_subcode::CONNECTION_COLLISION_RESOLUTION),
            "round {round}: the losing connection gets Cease / Connection Collision \
             Resolution, got {n}"
        );
        loser.expect_closed(STEP_TIMEOUT).await;

        if round == 2 {
            // Our OPEN on the surviving connection (the speaker's) is still owed.
            winner.send(&open.encode().expect("OPEN")).await;
        }
        match winner.recv(STEP_TIMEOUT).await {
            Message::Keepalive => {}
            other => panic!("round {round}: expected a KEEPALIVE on the winner, got {other:?}"),
        }
        winner.send_keepalive().await;
        winner.set_established(true);
        let info = wait_established(&s, r_addr).await;
        let local = info.local_address.expect("the session has a connection");
        assert_eq!(
            local.port() == port_of(&s, s_addr),
            speaker_listens,
            "round {round}: the speaker runs the session on the wrong connection ({local})"
        );
        // The session carries UPDATEs on the surviving connection.
        originate(&s, "10.14.0.0/16").await;
        let u = winner.next_update(STEP_TIMEOUT).await;
        let announced: Vec<String> = u.announced().map(|n| n.prefix.to_string()).collect();
        assert_eq!(announced, ["10.14.0.0/16"], "round {round}");
        s.shutdown("test done").await;
    }
}

/// A second connection from an Established peer loses (CollisionDetectEstablishedState
/// is off) and is closed; the Established session must carry on as before — in
/// particular the speaker must keep sending it UPDATEs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_connection_while_established_keeps_session() {
    let (s_addr, r_addr) = (v4(127, 1, 5, 1), v4(127, 1, 5, 2));
    let cs = speaker_config(65011, Ipv4Addr::new(5, 5, 5, 6), &[s_addr]);
    let s = start(cs.clone()).await;
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(r_addr, 0))
        .await
        .expect("raw listener");
    let r_port = listener.local_addr().expect("raw listener address").port();
    add_peer(&s, peer_spec(&cs, s_addr, r_addr, 65012, r_port)).await;
    let mut c1 = RawPeer::accept(&listener).await;
    c1.handshake(raw_open(65012, Ipv4Addr::new(9, 9, 9, 9), true), true)
        .await;
    wait_established(&s, r_addr).await;

    let mut c2 = RawPeer::connect(r_addr, SocketAddr::new(s_addr, port_of(&s, s_addr))).await;
    c2.send(
        &raw_open(65012, Ipv4Addr::new(9, 9, 9, 9), true)
            .encode()
            .expect("OPEN"),
    )
    .await;
    let n = c2.expect_notification(STEP_TIMEOUT).await;
    assert_eq!((n.code.0, n.subcode), (6, 7), "got {n}");
    c2.expect_closed(STEP_TIMEOUT).await;

    originate(&s, "10.15.0.0/16").await;
    let u = c1.next_update(Duration::from_secs(5)).await;
    let announced: Vec<String> = u.announced().map(|n| n.prefix.to_string()).collect();
    assert_eq!(announced, ["10.15.0.0/16"]);
    let info = neighbor(&s, r_addr).await;
    assert_eq!(info.state, "Established");
    assert!(
        info.local_address.is_some() && info.uptime_secs.is_some(),
        "the speaker lost track of the Established connection: {info:#?}"
    );
    s.shutdown("test done").await;
}
