//! Scenario 3: route reflection (RFC 4456) among three iBGP speakers in AS 65030: a route
//! reflector RR, a client C1 (a Speaker) and a client C2 (a raw peer, so the test sees the
//! exact reflected attributes).

use bgp_tests::*;
use bgp_wire::{AttrValue, Attribute};
use std::net::{Ipv4Addr, SocketAddr};

const AS: u32 = 65030;
const RR_ID: Ipv4Addr = Ipv4Addr::new(3, 0, 0, 1);
const C1_ID: Ipv4Addr = Ipv4Addr::new(3, 0, 0, 2);
const C2_ID: Ipv4Addr = Ipv4Addr::new(3, 0, 0, 3);
const CLUSTER: Ipv4Addr = Ipv4Addr::new(3, 3, 3, 3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_sets_originator_and_cluster_list_and_drops_loops() {
    let (rr_addr, c1_addr, c2_addr) = (v4(127, 3, 0, 1), v4(127, 3, 0, 2), v4(127, 3, 0, 3));
    let mut crr = speaker_config(AS, RR_ID, &[rr_addr]);
    crr.cluster_id = Some(CLUSTER);
    let rr = start(crr.clone()).await;
    let rr_port = port_of(&rr, rr_addr);
    for client in [c1_addr, c2_addr] {
        let mut p = peer_spec(&crr, rr_addr, client, AS, 1);
        p.session.passive = true;
        p.routing.route_reflector_client = true;
        add_peer(&rr, p).await;
    }
    let cc1 = speaker_config(AS, C1_ID, &[]);
    let c1 = start(cc1.clone()).await;
    add_peer(&c1, peer_spec(&cc1, c1_addr, rr_addr, AS, rr_port)).await;
    let mut c2 = RawPeer::connect(c2_addr, SocketAddr::new(rr_addr, rr_port)).await;
    c2.handshake(raw_open(AS, C2_ID, false), false).await;
    wait_established(&c1, rr_addr).await;

    // C1's route reaches C2 through the reflector with ORIGINATOR_ID = C1 and
    // CLUSTER_LIST = [cluster id], next hop and AS path unchanged (iBGP).
    originate(&c1, "10.3.1.0/24").await;
    let update = loop {
        let u = c2.next_update(STEP_TIMEOUT).await;
        if u.announced().any(|n| n.prefix == net("10.3.1.0/24")) {
            break u;
        }
    };
    assert_eq!(
        update.originator_id(),
        Some(C1_ID),
        "ORIGINATOR_ID: {update:?}"
    );
    assert_eq!(
        update.cluster_list().collect::<Vec<_>>(),
        vec![CLUSTER],
        "CLUSTER_LIST: {update:?}"
    );
    assert_eq!(update.next_hop(), Some(Ipv4Addr::new(127, 3, 0, 2)));
    assert_eq!(
        update.as_path().map(|p| p.asns().count()),
        Some(0),
        "empty AS_PATH inside the AS: {update:?}"
    );
    assert_eq!(update.local_pref(), Some(100));

    // A route whose ORIGINATOR_ID is C1's identifier, reflected to C1, is dropped there
    // (RFC 4456 §8: "a router that recognizes the ORIGINATOR_ID attribute SHOULD ignore a
    // route received with its BGP Identifier as the ORIGINATOR_ID").
    let lp = || Attribute::new(AttrValue::LocalPref(100));
    let looped = ipv4_update(
        &c2.params,
        Ipv4Addr::new(127, 3, 0, 3),
        &[],
        vec![lp(), Attribute::new(AttrValue::OriginatorId(C1_ID))],
        &["10.3.9.0/24"],
    );
    c2.send(&looped).await;
    // A plain route after it: once C1 has it, C1 has processed the looped one too (the
    // reflector forwards in order over one connection).
    let plain = ipv4_update(
        &c2.params,
        Ipv4Addr::new(127, 3, 0, 3),
        &[],
        vec![lp()],
        &["10.3.8.0/24"],
    );
    c2.send(&plain).await;
    let p = wait_route_from(&c1, net("10.3.8.0/24"), rr_addr).await;
    assert_eq!(p.next_hop, Some(c2_addr));
    // The reflector itself accepted the route (its identifier is not the originator)...
    wait_route_from(&rr, net("10.3.9.0/24"), c2_addr).await;
    // ...and C1 dropped it.
    let at_c1 = paths(&c1, net("10.3.9.0/24")).await;
    assert!(
        at_c1.is_empty(),
        "C1 installed a route it originated: {at_c1:?}"
    );
    // C1's own route came back to it from the reflector too and was dropped: only the
    // local path remains.
    let own = paths(&c1, net("10.3.1.0/24")).await;
    assert_eq!(
        own.iter().map(|p| p.from.as_str()).collect::<Vec<_>>(),
        ["local"],
        "C1 keeps only its own path: {own:?}"
    );

    // A route carrying the reflector's own CLUSTER_ID is a cluster loop: RR drops it
    // (RFC 4456 §8).
    let cluster_loop = ipv4_update(
        &c2.params,
        Ipv4Addr::new(127, 3, 0, 3),
        &[],
        vec![
            lp(),
            Attribute::new(AttrValue::OriginatorId(Ipv4Addr::new(3, 0, 0, 99))),
            Attribute::new(AttrValue::ClusterList(vec![CLUSTER])),
        ],
        &["10.3.7.0/24"],
    );
    c2.send(&cluster_loop).await;
    c2.send(&ipv4_update(
        &c2.params,
        Ipv4Addr::new(127, 3, 0, 3),
        &[],
        vec![lp()],
        &["10.3.6.0/24"],
    ))
    .await;
    wait_route_from(&rr, net("10.3.6.0/24"), c2_addr).await;
    let at_rr = paths(&rr, net("10.3.7.0/24")).await;
    assert!(at_rr.is_empty(), "RR installed a cluster loop: {at_rr:?}");
    assert_eq!(neighbor(&rr, c2_addr).await.state, "Established");

    c1.shutdown("test done").await;
    rr.shutdown("test done").await;
}
