//! Scenario 5: a VPN connection's two tunnels as a tunnel pair, through the Speaker API:
//! active/standby failover and switch-back, and active/active ECMP.

use bgp_tests::*;
use bgpd::speaker::{Speaker, SpeakerConfig, TunnelPairSpec};
use std::net::{IpAddr, Ipv4Addr};

/// Two gateways joined by two tunnels, each tunnel a pair of loopback addresses
/// (gateway 1 side, gateway 2 side). Gateway 2 answers; gateway 1 dials. The peers of
/// gateway 1 start disabled so the tunnel pair is configured before any route arrives.
async fn gateways(
    tunnels: [(IpAddr, IpAddr); 2],
    max_paths: usize,
    active: bool,
) -> (Speaker, Speaker) {
    let mut c1 = speaker_config(65051, Ipv4Addr::new(5, 0, 0, 1), &[]);
    let mut c2: SpeakerConfig = speaker_config(
        65052,
        Ipv4Addr::new(5, 0, 0, 2),
        &[tunnels[0].1, tunnels[1].1],
    );
    c1.max_paths = max_paths;
    c2.max_paths = max_paths;
    let gw1 = start(c1.clone()).await;
    let gw2 = start(c2.clone()).await;
    originate(&gw1, "10.51.0.0/16").await;
    originate(&gw2, "10.52.0.0/16").await;
    for (ours, theirs) in tunnels {
        let mut p = peer_spec(&c2, theirs, ours, 65051, 1);
        p.session.passive = true;
        add_peer(&gw2, p).await;
        let mut p = peer_spec(&c1, ours, theirs, 65052, port_of(&gw2, theirs));
        p.enabled = false;
        add_peer(&gw1, p).await;
    }
    for (gw, name, side) in [(&gw1, "vpn-gw1", 1), (&gw2, "vpn-gw2", 0)] {
        let pick = |t: (IpAddr, IpAddr)| if side == 1 { t.1 } else { t.0 };
        let members = vec![pick(tunnels[0]), pick(tunnels[1])];
        gw.set_tunnel_pair(TunnelPairSpec {
            name: name.into(),
            members: members.clone(),
            active: active.then_some(members[0]),
        })
        .await
        .unwrap_or_else(|e| panic!("set_tunnel_pair {name}: {e}"));
    }
    for (_, theirs) in tunnels {
        gw1.set_peer_enabled(theirs, true, "")
            .await
            .unwrap_or_else(|e| panic!("enable {theirs}: {e}"));
    }
    (gw1, gw2)
}

async fn wait_path_count(speaker: &Speaker, prefix: &str, count: usize) {
    let prefix = net(prefix);
    wait_for(
        &format!("{count} paths for {prefix}"),
        STEP_TIMEOUT,
        || async {
            let v = paths(speaker, prefix).await;
            if v.len() == count {
                Ok(())
            } else {
                Err(format!("{v:?}"))
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_standby_fails_over_and_back() {
    let t1 = (v4(127, 5, 1, 1), v4(127, 5, 1, 2));
    let t2 = (v4(127, 5, 2, 1), v4(127, 5, 2, 2));
    let (gw1, gw2) = gateways([t1, t2], 1, true).await;
    let mut events1 = gw1.subscribe();

    // Both tunnels carry the routes; the active one wins on both sides.
    wait_path_count(&gw1, "10.52.0.0/16", 2).await;
    wait_path_count(&gw2, "10.51.0.0/16", 2).await;
    let p = wait_route_from(&gw1, net("10.52.0.0/16"), t1.1).await;
    assert_eq!(p.next_hop, Some(t1.1));
    assert_eq!(p.local_pref, Some(200), "active tunnel's LOCAL_PREF: {p:?}");
    let all = paths(&gw1, net("10.52.0.0/16")).await;
    assert_eq!(all[1].from, t2.1.to_string());
    assert_eq!(
        all[1].local_pref,
        Some(100),
        "standby tunnel's LOCAL_PREF: {all:?}"
    );
    let p = wait_route_from(&gw2, net("10.51.0.0/16"), t1.0).await;
    assert_eq!(p.next_hop, Some(t1.0));

    // Tunnel 1 goes down: both sides move to tunnel 2.
    gw1.set_peer_enabled(t1.1, false, "test: tunnel 1 down")
        .await
        .expect("disable tunnel 1");
    let ev = wait_event(&mut events1, net("10.52.0.0/16"), "via tunnel 2", |e| {
        event_next_hops(e) == vec![t2.1]
    })
    .await;
    assert_eq!(ev.best.expect("best").as_path, vec![65052]);
    let p = wait_route_from(&gw2, net("10.51.0.0/16"), t2.0).await;
    assert_eq!(p.next_hop, Some(t2.0));
    wait_path_count(&gw1, "10.52.0.0/16", 1).await;

    // Tunnel 1 comes back: both sides move back.
    gw1.set_peer_enabled(t1.1, true, "")
        .await
        .expect("enable tunnel 1");
    wait_event(
        &mut events1,
        net("10.52.0.0/16"),
        "back via tunnel 1",
        |e| event_next_hops(e) == vec![t1.1],
    )
    .await;
    wait_route_from(&gw2, net("10.51.0.0/16"), t1.0).await;
    wait_path_count(&gw1, "10.52.0.0/16", 2).await;
    gw1.shutdown("test done").await;
    gw2.shutdown("test done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_active_installs_both_next_hops() {
    let t1 = (v4(127, 5, 3, 1), v4(127, 5, 3, 2));
    let t2 = (v4(127, 5, 4, 1), v4(127, 5, 4, 2));
    let (gw1, gw2) = gateways([t1, t2], 2, false).await;
    let mut events1 = gw1.subscribe();
    let mut events2 = gw2.subscribe();
    let sorted = |mut v: Vec<IpAddr>| {
        v.sort();
        v
    };

    // The subscription may start after the second path arrived: check the RIB first,
    // then the events of the next change.
    wait_path_count(&gw1, "10.52.0.0/16", 2).await;
    wait_path_count(&gw2, "10.51.0.0/16", 2).await;
    let multi = best(&gw1, net("10.52.0.0/16")).await;
    let mut statuses: Vec<&str> = multi.iter().map(|p| p.status.as_str()).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        ["best", "multipath"],
        "ECMP set at gateway 1: {multi:?}"
    );
    let hops = sorted(multi.iter().filter_map(|p| p.next_hop).collect());
    assert_eq!(hops, vec![t1.1, t2.1]);

    // Tunnel 2 goes down and comes back; the events carry the ECMP set.
    gw1.set_peer_enabled(t2.1, false, "test: tunnel 2 down")
        .await
        .expect("disable tunnel 2");
    wait_event(&mut events1, net("10.52.0.0/16"), "only tunnel 1", |e| {
        event_next_hops(e) == vec![t1.1]
    })
    .await;
    wait_event(&mut events2, net("10.51.0.0/16"), "only tunnel 1", |e| {
        event_next_hops(e) == vec![t1.0]
    })
    .await;
    gw1.set_peer_enabled(t2.1, true, "")
        .await
        .expect("enable tunnel 2");
    let ev = wait_event(&mut events1, net("10.52.0.0/16"), "both tunnels", |e| {
        sorted(event_next_hops(e)) == vec![t1.1, t2.1]
    })
    .await;
    let best_route = ev.best.expect("best");
    let mut peers: Vec<IpAddr> = best_route.next_hops.iter().map(|n| n.peer).collect();
    peers.sort();
    assert_eq!(peers, vec![t1.1, t2.1], "each next hop names its session");
    wait_event(&mut events2, net("10.51.0.0/16"), "both tunnels", |e| {
        sorted(event_next_hops(e)) == vec![t1.0, t2.0]
    })
    .await;
    gw1.shutdown("test done").await;
    gw2.shutdown("test done").await;
}
