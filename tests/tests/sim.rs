//! Scenario 8 (conventions §7 layer 4): two bgp-fsm Peers wired back to back by
//! `bgp_fsm::testing::Pair` with a bgp-rib Rib on each side, on a simulated clock — no
//! sockets, no tokio, no real time. UPDATEs travel as the bytes the RIB encodes and are
//! decoded with the receiving session's parameters, exactly as the daemon does.

use bgp_fsm::testing::{Pair, Side, ebgp_configs};
use bgp_fsm::{Action, ConnectionId, Event};
use bgp_rib::{Change, LocalRoute, NextHopAddr, PeerConfig, PeerId, Rib, RibConfig};
use bgp_tests::{net, split_messages};
use bgp_wire::{Family, decode};
use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// One side's RIB and its view of the session.
struct Node {
    rib: Rib,
    peer: PeerId,
    conn: Option<ConnectionId>,
}

/// A [`Pair`] plus a RIB per side, driven by the pair's action log.
struct Sim {
    pair: Pair,
    a: Node,
    b: Node,
    /// How much of `pair.log` the RIBs have seen.
    cursor: usize,
}

const A_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn node(asn: u32, router_id: Ipv4Addr, peer_as: u32, peer: Ipv4Addr, me: Ipv4Addr) -> Node {
    let mut rib = Rib::new(RibConfig::new(asn, router_id));
    let mut pc = PeerConfig::new(IpAddr::V4(peer), peer_as);
    pc.local_v4 = Some(me);
    pc.local_v6 = Some(format!("2001:db8::{}", me.octets()[3]).parse().expect("v6"));
    let peer = rib.add_peer(pc).expect("add_peer");
    Node {
        rib,
        peer,
        conn: None,
    }
}

impl Sim {
    fn new(start: Instant) -> Sim {
        let (mut ca, mut cb) = ebgp_configs();
        for c in [&mut ca, &mut cb] {
            c.families = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
            c.hold_time = 90;
        }
        cb.passive = true;
        Sim {
            pair: Pair::new(start, ca, cb).expect("valid configurations"),
            a: node(65001, A_ADDR, 65002, B_ADDR, A_ADDR),
            b: node(65002, B_ADDR, 65001, A_ADDR, B_ADDR),
            cursor: 0,
        }
    }

    fn node(&mut self, side: Side) -> &mut Node {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Queues encoded UPDATEs from `from` to the other side.
    fn send(&mut self, from: Side, messages: Bytes) {
        let Some(conn) = self.node(from).conn else {
            return;
        };
        let to = from.other();
        let params = self
            .pair
            .peer(to)
            .sessions()
            .find(|s| s.connection() == Some(conn))
            .map(|s| s.session_params())
            .unwrap_or_default();
        for m in split_messages(messages, params.max_message_len()) {
            self.pair
                .push(to, Event::from_decoded(conn, decode(m, &params)));
        }
        // RFC 4271 §4.4: writing an UPDATE restarts the KeepaliveTimer.
        self.pair.push(from, Event::UpdateSent(conn));
    }

    fn propagate(&mut self, side: Side, changes: &[Change]) {
        let n = self.node(side);
        if changes.is_empty() || n.conn.is_none() {
            return;
        }
        let Some(group) = n.rib.update_group(n.peer) else {
            return;
        };
        let batch = n.rib.export_changes(group, changes).expect("export");
        if batch.message_count > 0 {
            self.send(side, batch.messages);
        }
    }

    /// Lets the FSMs settle and carries every new action into the RIBs (and the UPDATEs
    /// they produce back into the FSMs) until nothing new happens.
    fn pump(&mut self) {
        for _ in 0..1000 {
            self.pair.settle();
            if self.cursor == self.pair.log.len() {
                return;
            }
            let new = self.pair.log[self.cursor..].to_vec();
            self.cursor = self.pair.log.len();
            for entry in new {
                let side = entry.side;
                match entry.action {
                    Action::Established {
                        connection,
                        negotiated,
                    } => {
                        let n = self.node(side);
                        n.conn = Some(connection);
                        n.rib
                            .peer_up(n.peer, negotiated.peer_id, negotiated.params)
                            .expect("peer_up");
                        let group = n.rib.update_group(n.peer).expect("update group");
                        let mut out = Vec::new();
                        for family in &negotiated.families {
                            let batch = n.rib.export_full(group, *family).expect("export");
                            out.push(batch.messages);
                        }
                        for m in out {
                            if !m.is_empty() {
                                self.send(side, m);
                            }
                        }
                    }
                    Action::DeliverUpdate { update, .. } => {
                        let n = self.node(side);
                        let outcome = n.rib.apply_update(n.peer, &update).expect("apply");
                        self.propagate(side, &outcome.changes);
                    }
                    Action::Down {
                        was_established: true,
                        ..
                    } => {
                        let n = self.node(side);
                        n.conn = None;
                        let changes = n.rib.peer_down(n.peer).expect("peer_down");
                        self.propagate(side, &changes);
                    }
                    _ => {}
                }
            }
        }
        panic!("the simulation did not settle in 1000 rounds");
    }

    fn advance(&mut self, by: Duration) {
        self.pair.advance(by);
        self.pump();
    }

    /// The best path's (peer, next hop, AS path) for `prefix` in `side`'s RIB.
    fn best(&mut self, side: Side, prefix: &str) -> Option<(PeerId, IpAddr, Vec<u32>)> {
        let n = self.node(side);
        n.rib.best(net(prefix)).map(|r| {
            (
                r.peer,
                r.attrs.next_hop().addr(),
                r.attrs.as_path().collect(),
            )
        })
    }
}

#[test]
fn routes_exchanged_then_hold_timer_expiry_withdraws_them() {
    let start = Instant::now();
    let mut sim = Sim::new(start);
    for (side, v4, v6) in [
        (Side::A, "10.81.0.0/16", "2001:db8:81::/48"),
        (Side::B, "10.82.0.0/16", "2001:db8:82::/48"),
    ] {
        let n = sim.node(side);
        n.rib.originate(LocalRoute::new(net(v4)));
        n.rib.originate(LocalRoute::new(net(v6)));
    }
    sim.pair.handle(Side::B, Event::ManualStartPassive);
    sim.pair.handle(Side::A, Event::ManualStart);
    sim.pump();
    assert_eq!(sim.pair.a.state(), bgp_fsm::State::Established);
    assert_eq!(sim.pair.b.state(), bgp_fsm::State::Established);
    assert_eq!(sim.pair.now, start, "no simulated time passed to come up");

    // Each RIB's id for its one peer (A's id for B, B's id for A).
    let (a_peer, b_peer) = (sim.a.peer, sim.b.peer);
    assert_eq!(
        sim.best(Side::B, "10.81.0.0/16"),
        Some((b_peer, IpAddr::V4(A_ADDR), vec![65001]))
    );
    assert_eq!(
        sim.best(Side::B, "2001:db8:81::/48"),
        Some((b_peer, "2001:db8::1".parse().expect("v6"), vec![65001]))
    );
    assert_eq!(
        sim.best(Side::A, "10.82.0.0/16"),
        Some((a_peer, IpAddr::V4(B_ADDR), vec![65002]))
    );
    assert_eq!(
        sim.best(Side::A, "2001:db8:82::/48"),
        Some((a_peer, "2001:db8::2".parse().expect("v6"), vec![65002]))
    );
    assert!(
        matches!(sim.a.rib.best(net("10.81.0.0/16")).map(|r| r.attrs.next_hop()), Some(n) if n == NextHopAddr::LOCAL_V4),
        "A's own route stays local"
    );

    // An hour of keepalives keeps everything in place.
    sim.advance(Duration::from_secs(3600));
    assert_eq!(sim.pair.a.state(), bgp_fsm::State::Established);
    assert!(sim.best(Side::A, "10.82.0.0/16").is_some());
    assert!(sim.pair.notifications_sent(Side::A).is_empty());

    // B hangs: no more KEEPALIVEs. A's hold timer (90 s) runs out at most 90 s later and
    // not before 60 s (B's last KEEPALIVE went out at most 30 s before the freeze).
    let frozen_at = sim.pair.now;
    sim.pair.freeze(Side::B, true);
    sim.advance(Duration::from_secs(59));
    assert!(
        sim.best(Side::A, "10.82.0.0/16").is_some(),
        "withdrawn before the hold time could have run out"
    );
    sim.advance(Duration::from_secs(32));
    assert_eq!(
        sim.best(Side::A, "10.82.0.0/16"),
        None,
        "IPv4 route withdrawn"
    );
    assert_eq!(
        sim.best(Side::A, "2001:db8:82::/48"),
        None,
        "IPv6 route withdrawn"
    );
    assert!(
        sim.a.rib.best(net("10.81.0.0/16")).is_some(),
        "A keeps its own route"
    );
    let sent = sim.pair.notifications_sent(Side::A);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (at, n) = &sent[0];
    assert_eq!((n.code.0, n.subcode), (4, 0), "Hold Timer Expired, got {n}");
    let waited = at.duration_since(frozen_at);
    assert!(
        waited > Duration::from_secs(60) && waited <= Duration::from_secs(90),
        "hold timer expired {waited:?} after B froze"
    );
}
