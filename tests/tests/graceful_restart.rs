//! Graceful restart, receiving speaker side (RFC 4724 §4.2): speaker A helps raw peer R
//! through a restart while raw peer D, downstream, records every UPDATE A sends it.
//!
//! R announces the Graceful Restart capability with IPv4 unicast and the Forwarding State
//! bit, announces routes, and then its TCP connection drops without a NOTIFICATION. A must
//! keep R's routes (stale) and D must see nothing; when R is back and sends End-of-RIB,
//! only what R did not announce again is withdrawn, and the rest is never withdrawn and
//! re-announced. When R does not come back within its Restart Time, everything goes.

use bgp_tests::*;
use bgp_wire::{
    Capability, Family, GracefulRestart, Message, Notification, Open, Update,
    notification::cease_subcode,
};
use bgpd::speaker::Speaker;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const A_AS: u32 = 65240;
const R_AS: u32 = 65242;
const D_AS: u32 = 65243;

/// Speaker A at `a` with passive peers R (`r`) and D (`d`), and its port.
async fn speaker(a: IpAddr, r: IpAddr, d: IpAddr, router_id: Ipv4Addr) -> (Speaker, u16) {
    let c = speaker_config(A_AS, router_id, &[a]);
    let s = start(c.clone()).await;
    for (peer, asn) in [(r, R_AS), (d, D_AS)] {
        let mut p = peer_spec(&c, a, peer, asn, 1);
        p.session.passive = true;
        add_peer(&s, p).await;
    }
    let port = port_of(&s, a);
    (s, port)
}

/// R's OPEN: IPv4 unicast, 4-octet AS, Graceful Restart with `restart_time` and IPv4
/// unicast with the Forwarding State bit `forwarding`; R bit `restarted`.
fn gr_open(router_id: Ipv4Addr, restart_time: u16, forwarding: bool, restarted: bool) -> Open {
    let mut open = raw_open(R_AS, router_id, false);
    open.capabilities
        .push(Capability::GracefulRestart(GracefulRestart {
            restart_state: restarted,
            notification: false,
            restart_time,
            families: vec![(Family::IPV4_UNICAST, forwarding)],
        }));
    open
}

/// Connects R to A, once A is ready to accept it again (a session that just went down is
/// Idle for a moment and refuses connections).
async fn connect_r(a: &Speaker, a_addr: IpAddr, port: u16, r_addr: IpAddr, open: Open) -> RawPeer {
    wait_for(
        &format!("A accepting {r_addr} again"),
        STEP_TIMEOUT,
        || async {
            let n = neighbor(a, r_addr).await;
            if n.state == "Active" {
                Ok(())
            } else {
                Err(format!("state {}", n.state))
            }
        },
    )
    .await;
    let mut r = RawPeer::connect(r_addr, SocketAddr::new(a_addr, port)).await;
    r.handshake(open, true).await;
    r
}

/// What D has been sent since it last looked: announced and withdrawn prefixes, in order.
#[derive(Default, Debug)]
struct Seen {
    announced: Vec<IpNet>,
    withdrawn: Vec<IpNet>,
}

/// Reads D's messages until `done` holds for what was read (KEEPALIVEs and End-of-RIB
/// markers skipped), failing after [`STEP_TIMEOUT`].
async fn read_until(d: &mut RawPeer, what: &str, done: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    let mut seen = Seen::default();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            panic!("D: timed out waiting for {what}; seen {seen:?}");
        }
        match d.recv(left).await {
            Message::Keepalive => {}
            Message::Update(u) if u.end_of_rib().is_some() => {}
            Message::Update(u) => {
                seen.announced.extend(u.announced().map(|n| n.prefix));
                seen.withdrawn.extend(u.withdrawn_all().map(|n| n.prefix));
            }
            other => panic!("D: unexpected {other:?} while waiting for {what}"),
        }
    }
    seen
}

/// Waits until every path of each prefix in `prefixes` has the stale mark `stale`.
async fn wait_stale(a: &Speaker, prefixes: &[&str], stale: bool) {
    for p in prefixes {
        let prefix = net(p);
        wait_for(
            &format!("{prefix} present with stale = {stale}"),
            STEP_TIMEOUT,
            || async {
                let v = paths(a, prefix).await;
                if !v.is_empty() && v.iter().all(|x| x.stale == stale) {
                    Ok(())
                } else {
                    Err(format!("{v:?}"))
                }
            },
        )
        .await;
    }
}

/// Waits until A's view of R's restart satisfies `ok`.
async fn wait_restart(a: &Speaker, r: IpAddr, expected: &str, ok: impl Fn(Option<&str>) -> bool) {
    wait_for(expected, STEP_TIMEOUT, || async {
        let n = neighbor(a, r).await;
        let phase = n.graceful_restart.as_ref().map(|g| g.phase.as_str());
        if ok(phase) {
            Ok(())
        } else {
            Err(format!(
                "state {} graceful_restart {:?}",
                n.state, n.graceful_restart
            ))
        }
    })
    .await;
}

const PREFIXES: [&str; 3] = ["10.24.0.0/24", "10.24.1.0/24", "10.24.2.0/24"];

/// Brings up D and R, R announces [`PREFIXES`] and End-of-RIB, and D receives them.
async fn established(
    a: &Speaker,
    a_addr: IpAddr,
    port: u16,
    r_addr: IpAddr,
    d_addr: IpAddr,
    r_open: Open,
) -> (RawPeer, RawPeer) {
    let mut d = RawPeer::connect(d_addr, SocketAddr::new(a_addr, port)).await;
    d.handshake(raw_open(D_AS, Ipv4Addr::new(24, 0, 0, 3), false), true)
        .await;
    let mut r = connect_r(a, a_addr, port, r_addr, r_open).await;
    let IpAddr::V4(nh) = r_addr else {
        unreachable!("R is IPv4")
    };
    r.send(&ipv4_update(&r.params, nh, &[R_AS], vec![], &PREFIXES))
        .await;
    r.send(
        &Update::end_of_rib(Family::IPV4_UNICAST)
            .encode(&r.params)
            .unwrap(),
    )
    .await;
    let seen = read_until(&mut d, "R's three prefixes", |s| {
        PREFIXES.iter().all(|p| s.announced.contains(&net(p)))
    })
    .await;
    assert!(seen.withdrawn.is_empty(), "{seen:?}");
    wait_stale(a, &PREFIXES, false).await;
    (r, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_peer_keeps_its_routes_until_end_of_rib() {
    let (a_addr, r_addr, d_addr) = (v4(127, 24, 0, 1), v4(127, 24, 0, 2), v4(127, 24, 0, 3));
    let r_id = Ipv4Addr::new(24, 0, 0, 2);
    let (a, port) = speaker(a_addr, r_addr, d_addr, Ipv4Addr::new(24, 0, 0, 1)).await;
    let (r, mut d) = established(
        &a,
        a_addr,
        port,
        r_addr,
        d_addr,
        gr_open(r_id, 60, true, false),
    )
    .await;

    // R goes away without a NOTIFICATION: its socket just closes.
    drop(r);
    wait_restart(&a, r_addr, "R restarting", |p| p == Some("restarting")).await;
    wait_stale(&a, &PREFIXES, true).await;
    let info = neighbor(&a, r_addr).await;
    let gr = info.graceful_restart.expect("restart in progress");
    assert_eq!(gr.families, ["IPv4 unicast"]);
    assert_eq!(gr.stale_routes, 3);
    assert!(gr.expires_in_secs <= 60, "{gr:?}");
    for p in PREFIXES {
        wait_route_from(&a, net(p), r_addr).await;
    }

    // R is back (R bit set, forwarding state kept) and announces two of the three again,
    // with the same attributes.
    let mut r = connect_r(&a, a_addr, port, r_addr, gr_open(r_id, 60, true, true)).await;
    wait_restart(&a, r_addr, "R refreshing", |p| p == Some("refreshing")).await;
    let IpAddr::V4(nh) = r_addr else {
        unreachable!("R is IPv4")
    };
    let (kept, dropped) = (&PREFIXES[..2], PREFIXES[2]);
    r.send(&ipv4_update(&r.params, nh, &[R_AS], vec![], kept))
        .await;
    wait_stale(&a, kept, false).await;
    wait_stale(&a, &[dropped], true).await;
    r.send(
        &Update::end_of_rib(Family::IPV4_UNICAST)
            .encode(&r.params)
            .unwrap(),
    )
    .await;
    wait_no_route(&a, net(dropped)).await;
    wait_restart(&a, r_addr, "restart over", |p| p.is_none()).await;
    wait_stale(&a, kept, false).await;

    // D saw exactly one thing since the restart began: the withdrawal of the prefix R did
    // not announce again. Messages arrive in order, so nothing else came before it.
    let seen = read_until(&mut d, "the withdrawal of the dropped prefix", |s| {
        !s.withdrawn.is_empty()
    })
    .await;
    assert_eq!(seen.withdrawn, [net(dropped)], "{seen:?}");
    assert!(
        seen.announced.is_empty(),
        "routes that came back unchanged were re-announced: {seen:?}"
    );
    assert_eq!(neighbor(&a, r_addr).await.stats.established_count, 2);
    a.shutdown("test done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_time_expiry_withdraws_the_stale_routes() {
    let (a_addr, r_addr, d_addr) = (v4(127, 24, 1, 1), v4(127, 24, 1, 2), v4(127, 24, 1, 3));
    let r_id = Ipv4Addr::new(24, 0, 1, 2);
    let (a, port) = speaker(a_addr, r_addr, d_addr, Ipv4Addr::new(24, 0, 1, 1)).await;
    // A Restart Time of 2 s, and R never comes back.
    let (r, mut d) = established(
        &a,
        a_addr,
        port,
        r_addr,
        d_addr,
        gr_open(r_id, 2, true, false),
    )
    .await;
    drop(r);
    wait_restart(&a, r_addr, "R restarting", |p| p == Some("restarting")).await;
    let seen = read_until(&mut d, "every prefix of R withdrawn", |s| {
        PREFIXES.iter().all(|p| s.withdrawn.contains(&net(p)))
    })
    .await;
    assert!(seen.announced.is_empty(), "{seen:?}");
    for p in PREFIXES {
        wait_no_route(&a, net(p)).await;
    }
    wait_restart(&a, r_addr, "restart over", |p| p.is_none()).await;
    a.shutdown("test done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_without_forwarding_state_drops_the_stale_routes_at_once() {
    let (a_addr, r_addr, d_addr) = (v4(127, 24, 2, 1), v4(127, 24, 2, 2), v4(127, 24, 2, 3));
    let r_id = Ipv4Addr::new(24, 0, 2, 2);
    let (a, port) = speaker(a_addr, r_addr, d_addr, Ipv4Addr::new(24, 0, 2, 1)).await;
    let (r, mut d) = established(
        &a,
        a_addr,
        port,
        r_addr,
        d_addr,
        gr_open(r_id, 60, true, false),
    )
    .await;
    drop(r);
    wait_stale(&a, &PREFIXES, true).await;
    // RFC 4724 §4.2: back without the Forwarding State bit, the family's stale routes go
    // immediately, before any UPDATE or End-of-RIB.
    let _r = connect_r(&a, a_addr, port, r_addr, gr_open(r_id, 60, false, true)).await;
    for p in PREFIXES {
        wait_no_route(&a, net(p)).await;
    }
    read_until(&mut d, "every prefix of R withdrawn", |s| {
        PREFIXES.iter().all(|p| s.withdrawn.contains(&net(p)))
    })
    .await;
    wait_restart(&a, r_addr, "restart over", |p| p.is_none()).await;
    a.shutdown("test done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_ends_the_session_the_normal_way() {
    let (a_addr, r_addr, d_addr) = (v4(127, 24, 3, 1), v4(127, 24, 3, 2), v4(127, 24, 3, 3));
    let r_id = Ipv4Addr::new(24, 0, 3, 2);
    let (a, port) = speaker(a_addr, r_addr, d_addr, Ipv4Addr::new(24, 0, 3, 1)).await;
    let (mut r, mut d) = established(
        &a,
        a_addr,
        port,
        r_addr,
        d_addr,
        gr_open(r_id, 60, true, false),
    )
    .await;
    // RFC 4724 §4: a session ended by a NOTIFICATION follows the normal procedures.
    let cease = Notification::cease(cease_subcode::ADMINISTRATIVE_SHUTDOWN);
    r.send(&cease.encode()).await;
    r.expect_closed(STEP_TIMEOUT).await;
    read_until(&mut d, "every prefix of R withdrawn", |s| {
        PREFIXES.iter().all(|p| s.withdrawn.contains(&net(p)))
    })
    .await;
    for p in PREFIXES {
        wait_no_route(&a, net(p)).await;
    }
    assert!(neighbor(&a, r_addr).await.graceful_restart.is_none());
    a.shutdown("test done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connection_while_established_is_taken_as_a_restart() {
    let (a_addr, r_addr, d_addr) = (v4(127, 24, 4, 1), v4(127, 24, 4, 2), v4(127, 24, 4, 3));
    let r_id = Ipv4Addr::new(24, 0, 4, 2);
    let (a, port) = speaker(a_addr, r_addr, d_addr, Ipv4Addr::new(24, 0, 4, 1)).await;
    let (mut old, mut d) = established(
        &a,
        a_addr,
        port,
        r_addr,
        d_addr,
        gr_open(r_id, 60, true, false),
    )
    .await;
    // R restarted without A noticing (no FIN, no RST): its new connection arrives while
    // the old session is still Established. RFC 4724 §4.2: the old one is closed, the new
    // one kept, and R's routes are kept stale as for any restart.
    let mut r = RawPeer::connect(r_addr, SocketAddr::new(a_addr, port)).await;
    r.handshake(gr_open(r_id, 60, true, true), true).await;
    loop {
        match old.recv_frame(STEP_TIMEOUT).await {
            None => break,
            Some(f) => assert_ne!(
                f.get(18),
                Some(&3),
                "the old connection got a NOTIFICATION: {f:02x?}"
            ),
        }
    }
    wait_restart(&a, r_addr, "R refreshing", |p| p == Some("refreshing")).await;
    wait_stale(&a, &PREFIXES, true).await;
    let IpAddr::V4(nh) = r_addr else {
        unreachable!("R is IPv4")
    };
    r.send(&ipv4_update(&r.params, nh, &[R_AS], vec![], &PREFIXES))
        .await;
    r.send(
        &Update::end_of_rib(Family::IPV4_UNICAST)
            .encode(&r.params)
            .unwrap(),
    )
    .await;
    wait_restart(&a, r_addr, "restart over", |p| p.is_none()).await;
    wait_stale(&a, &PREFIXES, false).await;
    // Then a new prefix: the first thing D hears since the restart began.
    r.send(&ipv4_update(
        &r.params,
        nh,
        &[R_AS],
        vec![],
        &["10.24.9.0/24"],
    ))
    .await;
    let seen = read_until(&mut d, "the new prefix", |s| !s.announced.is_empty()).await;
    assert_eq!(seen.announced, [net("10.24.9.0/24")], "{seen:?}");
    assert!(seen.withdrawn.is_empty(), "{seen:?}");
    a.shutdown("test done").await;
}
