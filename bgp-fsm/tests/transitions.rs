//! RFC 4271 §8.2.2, table-driven: every (state, event) pair, asserting the next state and
//! the actions.
//!
//! Connect and Active appear twice: without a connection (waiting for one: messages on an
//! unknown connection are stale and ignored) and with one while the DelayOpenTimer runs,
//! which is where the RFC's Connect/Active rows about messages apply.

// Test helpers outside #[test] functions are not covered by clippy.toml's test
// allowances; a failing helper should fail the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bgp_fsm::{Action, Actions, Config, ConnectionId, Event, Outgoing, PeerAs, Session, State};
use bgp_wire::notification::cease_subcode;
use bgp_wire::{Capability, Family, Notification, Open, RouteRefresh, SessionParams};
use bytes::Bytes;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// The connection the session holds.
const C: ConnectionId = ConnectionId(1);
/// Another connection.
const N: ConnectionId = ConnectionId(9);

fn config(delay_open: bool) -> Config {
    let mut c = Config::new(65001, Ipv4Addr::new(10, 0, 0, 1), PeerAs::Exact(65002));
    c.delay_open_time = delay_open.then_some(Duration::from_secs(5));
    c
}

fn peer_open() -> Open {
    Open::new(
        65002,
        90,
        Ipv4Addr::new(10, 0, 0, 2),
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::RouteRefresh,
        ],
    )
}

fn end_of_rib() -> bgp_wire::UpdateRef {
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(&[0, 23, 2, 0, 0, 0, 0]);
    let params = SessionParams::default()
        .with_four_octet_as(true)
        .with_external(true);
    match bgp_wire::decode(Bytes::from(msg), &params) {
        Ok(bgp_wire::Message::Update(u)) => u,
        other => panic!("End-of-RIB did not decode: {other:?}"),
    }
}

fn event(name: &str) -> Event {
    match name {
        "E1" => Event::ManualStart,
        "E2" => Event::ManualStop("maintenance".into()),
        "E3" => Event::AutomaticStart,
        "E4" => Event::ManualStartPassive,
        "E5" => Event::AutomaticStartPassive,
        "E6" => Event::AutomaticStartDamped,
        "E7" => Event::AutomaticStartDampedPassive,
        "E8" => Event::AutomaticStop(Notification::cease(
            cease_subcode::OTHER_CONFIGURATION_CHANGE,
        )),
        "E9" => Event::ConnectRetryTimerExpires,
        "E10" => Event::HoldTimerExpires,
        "E11" => Event::KeepaliveTimerExpires,
        "E12" => Event::DelayOpenTimerExpires,
        "E13" => Event::IdleHoldTimerExpires,
        "E14" => Event::TcpConnectionValid(N),
        "E15" => Event::TcpCrInvalid(N),
        "E16" => Event::TcpCrAcked(C),
        "E16n" => Event::TcpCrAcked(N),
        "E17" => Event::TcpConnectionConfirmed(C),
        "E17n" => Event::TcpConnectionConfirmed(N),
        "E18" => Event::TcpConnectionFails(C),
        "E19" => Event::BgpOpen(C, peer_open()),
        "E21" => Event::BgpHeaderErr(C, bgp_wire::Error::BadMessageType { message_type: 9 }),
        "E22" => Event::BgpOpenMsgErr(C, bgp_wire::Error::UnsupportedVersion { version: 5 }),
        "E23" => Event::OpenCollisionDump(C),
        "E24" => Event::NotifMsgVerErr(
            C,
            Notification::new(bgp_wire::ErrorCode::OPEN_MESSAGE, 1, Bytes::new()),
        ),
        "E25" => Event::NotifMsg(C, Notification::cease(cease_subcode::PEER_DECONFIGURED)),
        "E26" => Event::KeepAliveMsg(C),
        "E27" => Event::UpdateMsg(C, end_of_rib()),
        "E28" => Event::UpdateMsgErr(
            C,
            bgp_wire::Error::MalformedAttributeList { reason: "test" },
        ),
        "E29" => Event::SendHoldTimerExpires,
        "RR" => Event::RouteRefreshMsg(C, RouteRefresh::request(Family::IPV4_UNICAST)),
        "US" => Event::UpdateSent(C),
        "DS" => Event::DataSent(C),
        other => panic!("unknown event {other}"),
    }
}

/// A session in the named situation, at time `t0`.
fn setup(name: &str, t0: Instant) -> Session {
    let delay = name.ends_with("+conn");
    let mut s = Session::new(config(delay)).unwrap();
    let feed = |s: &mut Session, e: Event| {
        s.handle(t0, e);
    };
    match name {
        "Idle" => {}
        "Connect" => feed(&mut s, Event::ManualStart),
        "Connect+conn" => {
            feed(&mut s, Event::ManualStart);
            feed(&mut s, Event::TcpCrAcked(C));
        }
        "Active" => feed(&mut s, Event::ManualStartPassive),
        "Active(not passive)" => {
            feed(&mut s, Event::ManualStart);
            feed(&mut s, Event::TcpCrAcked(C));
            feed(&mut s, Event::TcpConnectionFails(C));
        }
        "Active+conn" => {
            feed(&mut s, Event::ManualStartPassive);
            feed(&mut s, Event::TcpConnectionConfirmed(C));
        }
        "OpenSent" => {
            feed(&mut s, Event::ManualStart);
            feed(&mut s, Event::TcpCrAcked(C));
        }
        "OpenConfirm" => {
            feed(&mut s, Event::ManualStart);
            feed(&mut s, Event::TcpCrAcked(C));
            feed(&mut s, Event::BgpOpen(C, peer_open()));
        }
        "Established" => {
            feed(&mut s, Event::ManualStart);
            feed(&mut s, Event::TcpCrAcked(C));
            feed(&mut s, Event::BgpOpen(C, peer_open()));
            feed(&mut s, Event::KeepAliveMsg(C));
        }
        other => panic!("unknown setup {other}"),
    }
    s
}

/// A compact description of the actions: "send NOTIFICATION 6/2, close 1, down".
fn summary(actions: &Actions) -> String {
    actions
        .iter()
        .map(|a| match a {
            Action::Connect => "connect".to_string(),
            Action::Send { message, .. } => match message {
                Outgoing::Open(_) => "send OPEN".into(),
                Outgoing::Keepalive => "send KEEPALIVE".into(),
                Outgoing::Notification(n) => {
                    format!("send NOTIFICATION {}/{}", n.code.0, n.subcode)
                }
            },
            Action::Close { connection } => format!("close {}", connection.0),
            Action::Established { .. } => "established".into(),
            Action::Down { .. } => "down".into(),
            Action::DeliverUpdate { .. } => "update".into(),
            Action::DeliverRouteRefresh { .. } => "refresh".into(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

use State::*;

/// (situation, event, next state, actions).
#[rustfmt::skip]
const TABLE: &[(&str, &str, State, &str)] = &[
    // ---- Idle: "refuses all incoming BGP connections"; start events leave it.
    ("Idle", "E1", Connect, "connect"),
    ("Idle", "E2", Idle, ""),
    ("Idle", "E3", Connect, "connect"),
    ("Idle", "E4", Active, ""),
    ("Idle", "E5", Active, ""),
    ("Idle", "E6", Connect, "connect"),
    ("Idle", "E7", Active, ""),
    ("Idle", "E8", Idle, ""),
    ("Idle", "E9", Idle, ""),
    ("Idle", "E10", Idle, ""),
    ("Idle", "E11", Idle, ""),
    ("Idle", "E12", Idle, ""),
    ("Idle", "E13", Idle, ""),
    ("Idle", "E14", Idle, ""),
    ("Idle", "E15", Idle, "close 9"),
    ("Idle", "E16", Idle, "close 1"),
    ("Idle", "E17", Idle, "close 1"),
    ("Idle", "E18", Idle, ""),
    ("Idle", "E19", Idle, ""),
    ("Idle", "E21", Idle, ""),
    ("Idle", "E22", Idle, ""),
    ("Idle", "E23", Idle, ""),
    ("Idle", "E24", Idle, ""),
    ("Idle", "E25", Idle, ""),
    ("Idle", "E26", Idle, ""),
    ("Idle", "E27", Idle, ""),
    ("Idle", "E28", Idle, ""),
    ("Idle", "E29", Idle, ""),
    ("Idle", "RR", Idle, ""),
    ("Idle", "US", Idle, ""),
    ("Idle", "DS", Idle, ""),
    // ---- Connect, waiting for our connection attempt.
    ("Connect", "E1", Connect, ""),
    ("Connect", "E2", Idle, "down"),
    ("Connect", "E3", Connect, ""),
    ("Connect", "E4", Connect, ""),
    ("Connect", "E5", Connect, ""),
    ("Connect", "E6", Connect, ""),
    ("Connect", "E7", Connect, ""),
    ("Connect", "E8", Idle, "down"),
    ("Connect", "E9", Connect, "connect"),
    ("Connect", "E10", Idle, "down"),
    ("Connect", "E11", Idle, "down"),
    ("Connect", "E12", Connect, ""),
    ("Connect", "E13", Idle, "down"),
    ("Connect", "E14", Connect, ""),
    ("Connect", "E15", Connect, "close 9"),
    ("Connect", "E16", OpenSent, "send OPEN"),
    ("Connect", "E17", OpenSent, "send OPEN"),
    ("Connect", "E18", Idle, "down"),
    ("Connect", "E19", Connect, ""),
    ("Connect", "E21", Connect, ""),
    ("Connect", "E22", Connect, ""),
    ("Connect", "E23", Connect, ""),
    ("Connect", "E24", Connect, ""),
    ("Connect", "E25", Connect, ""),
    ("Connect", "E26", Connect, ""),
    ("Connect", "E27", Connect, ""),
    ("Connect", "E28", Connect, ""),
    ("Connect", "E29", Idle, "down"),
    ("Connect", "RR", Connect, ""),
    ("Connect", "US", Connect, ""),
    ("Connect", "DS", Connect, ""),
    // ---- Connect with a connection, DelayOpenTimer running.
    ("Connect+conn", "E1", Connect, ""),
    ("Connect+conn", "E2", Idle, "close 1, down"),
    ("Connect+conn", "E3", Connect, ""),
    ("Connect+conn", "E4", Connect, ""),
    ("Connect+conn", "E5", Connect, ""),
    ("Connect+conn", "E6", Connect, ""),
    ("Connect+conn", "E7", Connect, ""),
    ("Connect+conn", "E8", Idle, "close 1, down"),
    ("Connect+conn", "E9", Connect, "close 1, connect"),
    ("Connect+conn", "E10", Idle, "close 1, down"),
    ("Connect+conn", "E11", Idle, "close 1, down"),
    ("Connect+conn", "E12", OpenSent, "send OPEN"),
    ("Connect+conn", "E13", Idle, "close 1, down"),
    ("Connect+conn", "E14", Connect, ""),
    ("Connect+conn", "E15", Connect, "close 9"),
    ("Connect+conn", "E16n", Connect, "close 9"),
    ("Connect+conn", "E17n", Connect, "close 9"),
    ("Connect+conn", "E18", Active, ""),
    // Event 20: BGPOpen with the DelayOpenTimer running.
    ("Connect+conn", "E19", OpenConfirm, "send OPEN, send KEEPALIVE"),
    ("Connect+conn", "E21", Idle, "close 1, down"),
    ("Connect+conn", "E22", Idle, "close 1, down"),
    ("Connect+conn", "E23", Idle, "close 1, down"),
    ("Connect+conn", "E24", Idle, "close 1, down"),
    ("Connect+conn", "E25", Idle, "close 1, down"),
    ("Connect+conn", "E26", Idle, "close 1, down"),
    ("Connect+conn", "E27", Idle, "close 1, down"),
    ("Connect+conn", "E28", Idle, "close 1, down"),
    ("Connect+conn", "E29", Idle, "close 1, down"),
    ("Connect+conn", "RR", Idle, "close 1, down"),
    ("Connect+conn", "US", Connect, ""),
    ("Connect+conn", "DS", Connect, ""),
    // ---- Active (passive start), waiting for the peer's connection.
    ("Active", "E1", Active, ""),
    ("Active", "E2", Idle, "down"),
    ("Active", "E3", Active, ""),
    ("Active", "E4", Active, ""),
    ("Active", "E5", Active, ""),
    ("Active", "E6", Active, ""),
    ("Active", "E7", Active, ""),
    ("Active", "E8", Idle, "down"),
    // Passive never initiates (the RFC's Active row moves to Connect: see below).
    ("Active", "E9", Active, ""),
    ("Active(not passive)", "E9", Connect, "connect"),
    ("Active", "E10", Idle, "down"),
    ("Active", "E11", Idle, "down"),
    ("Active", "E12", Active, ""),
    ("Active", "E13", Idle, "down"),
    ("Active", "E14", Active, ""),
    ("Active", "E15", Active, "close 9"),
    ("Active", "E16", OpenSent, "send OPEN"),
    ("Active", "E17", OpenSent, "send OPEN"),
    ("Active", "E18", Active, ""),
    ("Active", "E19", Active, ""),
    ("Active", "E21", Active, ""),
    ("Active", "E22", Active, ""),
    ("Active", "E23", Active, ""),
    ("Active", "E24", Active, ""),
    ("Active", "E25", Active, ""),
    ("Active", "E26", Active, ""),
    ("Active", "E27", Active, ""),
    ("Active", "E28", Active, ""),
    ("Active", "E29", Idle, "down"),
    ("Active", "RR", Active, ""),
    ("Active", "US", Active, ""),
    ("Active", "DS", Active, ""),
    // ---- Active with the peer's connection, DelayOpenTimer running.
    ("Active+conn", "E1", Active, ""),
    ("Active+conn", "E2", Idle, "close 1, down"),
    ("Active+conn", "E3", Active, ""),
    ("Active+conn", "E4", Active, ""),
    ("Active+conn", "E5", Active, ""),
    ("Active+conn", "E6", Active, ""),
    ("Active+conn", "E7", Active, ""),
    ("Active+conn", "E8", Idle, "close 1, down"),
    ("Active+conn", "E9", Active, ""),
    ("Active+conn", "E10", Idle, "close 1, down"),
    ("Active+conn", "E11", Idle, "close 1, down"),
    ("Active+conn", "E12", OpenSent, "send OPEN"),
    ("Active+conn", "E13", Idle, "close 1, down"),
    ("Active+conn", "E14", Active, ""),
    ("Active+conn", "E15", Active, "close 9"),
    ("Active+conn", "E16n", Active, "close 9"),
    ("Active+conn", "E17n", Active, "close 9"),
    ("Active+conn", "E18", Idle, "down"),
    ("Active+conn", "E19", OpenConfirm, "send OPEN, send KEEPALIVE"),
    ("Active+conn", "E21", Idle, "close 1, down"),
    ("Active+conn", "E22", Idle, "close 1, down"),
    ("Active+conn", "E23", Idle, "close 1, down"),
    ("Active+conn", "E24", Idle, "close 1, down"),
    ("Active+conn", "E25", Idle, "close 1, down"),
    ("Active+conn", "E26", Idle, "close 1, down"),
    ("Active+conn", "E27", Idle, "close 1, down"),
    ("Active+conn", "E28", Idle, "close 1, down"),
    ("Active+conn", "E29", Idle, "close 1, down"),
    ("Active+conn", "RR", Idle, "close 1, down"),
    ("Active+conn", "US", Active, ""),
    ("Active+conn", "DS", Active, ""),
    // ---- OpenSent.
    ("OpenSent", "E1", OpenSent, ""),
    ("OpenSent", "E2", Idle, "send NOTIFICATION 6/2, close 1, down"),
    ("OpenSent", "E3", OpenSent, ""),
    ("OpenSent", "E4", OpenSent, ""),
    ("OpenSent", "E5", OpenSent, ""),
    ("OpenSent", "E6", OpenSent, ""),
    ("OpenSent", "E7", OpenSent, ""),
    ("OpenSent", "E8", Idle, "send NOTIFICATION 6/6, close 1, down"),
    ("OpenSent", "E9", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("OpenSent", "E10", Idle, "send NOTIFICATION 4/0, close 1, down"),
    ("OpenSent", "E11", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("OpenSent", "E12", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("OpenSent", "E13", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("OpenSent", "E14", OpenSent, ""),
    ("OpenSent", "E15", OpenSent, "close 9"),
    ("OpenSent", "E16n", OpenSent, "close 9"),
    ("OpenSent", "E17n", OpenSent, "close 9"),
    ("OpenSent", "E18", Active, ""),
    ("OpenSent", "E19", OpenConfirm, "send KEEPALIVE"),
    ("OpenSent", "E21", Idle, "send NOTIFICATION 1/3, close 1, down"),
    ("OpenSent", "E22", Idle, "send NOTIFICATION 2/1, close 1, down"),
    ("OpenSent", "E23", Idle, "send NOTIFICATION 6/7, close 1, down"),
    ("OpenSent", "E24", Idle, "close 1, down"),
    ("OpenSent", "E25", Idle, "close 1, down"),
    ("OpenSent", "E26", Idle, "send NOTIFICATION 5/1, close 1, down"),
    ("OpenSent", "E27", Idle, "send NOTIFICATION 5/1, close 1, down"),
    ("OpenSent", "E28", Idle, "send NOTIFICATION 5/1, close 1, down"),
    ("OpenSent", "E29", Idle, "send NOTIFICATION 8/0, close 1, down"),
    ("OpenSent", "RR", Idle, "send NOTIFICATION 5/1, close 1, down"),
    ("OpenSent", "US", OpenSent, ""),
    ("OpenSent", "DS", OpenSent, ""),
    // ---- OpenConfirm.
    ("OpenConfirm", "E1", OpenConfirm, ""),
    ("OpenConfirm", "E2", Idle, "send NOTIFICATION 6/2, close 1, down"),
    ("OpenConfirm", "E3", OpenConfirm, ""),
    ("OpenConfirm", "E4", OpenConfirm, ""),
    ("OpenConfirm", "E5", OpenConfirm, ""),
    ("OpenConfirm", "E6", OpenConfirm, ""),
    ("OpenConfirm", "E7", OpenConfirm, ""),
    ("OpenConfirm", "E8", Idle, "send NOTIFICATION 6/6, close 1, down"),
    ("OpenConfirm", "E9", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("OpenConfirm", "E10", Idle, "send NOTIFICATION 4/0, close 1, down"),
    ("OpenConfirm", "E11", OpenConfirm, "send KEEPALIVE"),
    ("OpenConfirm", "E12", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("OpenConfirm", "E13", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("OpenConfirm", "E14", OpenConfirm, ""),
    ("OpenConfirm", "E15", OpenConfirm, "close 9"),
    ("OpenConfirm", "E16n", OpenConfirm, "close 9"),
    ("OpenConfirm", "E17n", OpenConfirm, "close 9"),
    ("OpenConfirm", "E18", Idle, "down"),
    ("OpenConfirm", "E19", Idle, "send NOTIFICATION 5/2, close 1, down"),
    ("OpenConfirm", "E21", Idle, "send NOTIFICATION 1/3, close 1, down"),
    ("OpenConfirm", "E22", Idle, "send NOTIFICATION 2/1, close 1, down"),
    ("OpenConfirm", "E23", Idle, "send NOTIFICATION 6/7, close 1, down"),
    ("OpenConfirm", "E24", Idle, "close 1, down"),
    ("OpenConfirm", "E25", Idle, "close 1, down"),
    ("OpenConfirm", "E26", Established, "established"),
    ("OpenConfirm", "E27", Idle, "send NOTIFICATION 5/2, close 1, down"),
    ("OpenConfirm", "E28", Idle, "send NOTIFICATION 5/2, close 1, down"),
    ("OpenConfirm", "E29", Idle, "send NOTIFICATION 8/0, close 1, down"),
    ("OpenConfirm", "RR", Idle, "send NOTIFICATION 5/2, close 1, down"),
    ("OpenConfirm", "US", OpenConfirm, ""),
    ("OpenConfirm", "DS", OpenConfirm, ""),
    // ---- Established.
    ("Established", "E1", Established, ""),
    ("Established", "E2", Idle, "send NOTIFICATION 6/2, close 1, down"),
    ("Established", "E3", Established, ""),
    ("Established", "E4", Established, ""),
    ("Established", "E5", Established, ""),
    ("Established", "E6", Established, ""),
    ("Established", "E7", Established, ""),
    ("Established", "E8", Idle, "send NOTIFICATION 6/6, close 1, down"),
    ("Established", "E9", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("Established", "E10", Idle, "send NOTIFICATION 4/0, close 1, down"),
    ("Established", "E11", Established, "send KEEPALIVE"),
    ("Established", "E12", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("Established", "E13", Idle, "send NOTIFICATION 5/0, close 1, down"),
    ("Established", "E14", Established, ""),
    ("Established", "E15", Established, "close 9"),
    ("Established", "E16n", Established, "close 9"),
    ("Established", "E17n", Established, "close 9"),
    ("Established", "E18", Idle, "down"),
    ("Established", "E19", Idle, "send NOTIFICATION 5/3, close 1, down"),
    ("Established", "E21", Idle, "send NOTIFICATION 1/3, close 1, down"),
    ("Established", "E22", Idle, "send NOTIFICATION 5/3, close 1, down"),
    ("Established", "E23", Idle, "send NOTIFICATION 6/7, close 1, down"),
    ("Established", "E24", Idle, "close 1, down"),
    ("Established", "E25", Idle, "close 1, down"),
    ("Established", "E26", Established, ""),
    ("Established", "E27", Established, "update"),
    ("Established", "E28", Idle, "send NOTIFICATION 3/1, close 1, down"),
    ("Established", "E29", Idle, "send NOTIFICATION 8/0, close 1, down"),
    ("Established", "RR", Established, "refresh"),
    ("Established", "US", Established, ""),
    ("Established", "DS", Established, ""),
];

#[test]
fn every_state_event_pair() {
    let t0 = Instant::now();
    let mut failures = Vec::new();
    for (situation, name, next, expected) in TABLE {
        let mut s = setup(situation, t0);
        let actions = s.handle(t0 + Duration::from_secs(1), event(name));
        let got = summary(&actions);
        if s.state() != *next || got != *expected {
            failures.push(format!(
                "{situation} + {name}: expected {next:?} [{expected}], got {:?} [{got}]",
                s.state()
            ));
        }
        bgp_fsm::testing::check_session(&s)
            .unwrap_or_else(|e| failures.push(format!("{situation} + {name}: {e}")));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn table_covers_every_numbered_event_in_every_state() {
    let numbered = [
        "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9", "E10", "E11", "E12", "E13", "E14",
        "E15", "E17", "E18", "E19", "E21", "E22", "E23", "E24", "E25", "E26", "E27", "E28", "E29",
    ];
    for situation in ["Idle", "Connect", "Connect+conn", "Active", "Active+conn"]
        .into_iter()
        .chain(["OpenSent", "OpenConfirm", "Established"])
    {
        for e in numbered {
            let alt = match e {
                "E17" => "E17n",
                other => other,
            };
            assert!(
                TABLE
                    .iter()
                    .any(|(s, n, _, _)| *s == situation && (*n == e || *n == alt)),
                "missing row {situation} + {e}"
            );
        }
    }
}
