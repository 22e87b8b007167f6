//! proptest: random event sequences never panic and keep the invariants
//! (bgp_fsm::testing::check_session / check_step), and two speakers always converge.

// Test helpers outside #[test] functions are not covered by clippy.toml's test
// allowances; a failing helper should fail the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bgp_fsm::testing::{Pair, Side, check_step, drive_from_bytes, ebgp_configs};
use bgp_fsm::{Config, ConnectionId, Event, Peer, PeerAs, State, Timer};
use bgp_wire::notification::cease_subcode;
use bgp_wire::{Capability, Family, Notification, Open};
use proptest::prelude::*;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// One step of a random run against a single peer.
#[derive(Clone, Debug)]
enum Op {
    Event(u8, u8),
    Open { conn: u8, id: u8, hold: u16 },
    Advance(u16),
    Timeout,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..30, 0u8..3).prop_map(|(e, c)| Op::Event(e, c)),
        2 => (0u8..3, any::<u8>(), prop_oneof![Just(0u16), Just(3), 3u16..200]).prop_map(
            |(conn, id, hold)| Op::Open { conn, id, hold }
        ),
        1 => any::<u16>().prop_map(Op::Advance),
        2 => Just(Op::Timeout),
    ]
}

fn event(e: u8, conn: ConnectionId) -> Event {
    match e {
        0 => Event::ManualStart,
        1 => Event::ManualStop("proptest".into()),
        2 => Event::AutomaticStart,
        3 => Event::ManualStartPassive,
        4 => Event::AutomaticStartPassive,
        5 => Event::AutomaticStartDamped,
        6 => Event::AutomaticStartDampedPassive,
        7 => Event::AutomaticStop(Notification::cease(cease_subcode::MAX_PREFIXES)),
        8 => Event::ConnectRetryTimerExpires,
        9 => Event::HoldTimerExpires,
        10 => Event::KeepaliveTimerExpires,
        11 => Event::DelayOpenTimerExpires,
        12 => Event::IdleHoldTimerExpires,
        13 => Event::TcpConnectionValid(conn),
        14 => Event::TcpCrInvalid(conn),
        15 => Event::TcpCrAcked(conn),
        16 => Event::TcpConnectionConfirmed(conn),
        17 => Event::TcpConnectionFails(conn),
        18 => Event::BgpHeaderErr(conn, bgp_wire::Error::ConnectionNotSynchronized),
        19 => Event::BgpOpenMsgErr(conn, bgp_wire::Error::UnsupportedVersion { version: 9 }),
        20 => Event::OpenCollisionDump(conn),
        21 => Event::NotifMsgVerErr(
            conn,
            Notification::new(bgp_wire::ErrorCode::OPEN_MESSAGE, 1, bytes::Bytes::new()),
        ),
        22 => Event::NotifMsg(conn, Notification::hold_timer_expired()),
        23 => Event::KeepAliveMsg(conn),
        24 => Event::UpdateMsgErr(
            conn,
            bgp_wire::Error::MalformedAttributeList { reason: "proptest" },
        ),
        25 => Event::RouteRefreshMsg(conn, bgp_wire::RouteRefresh::request(Family::IPV4_UNICAST)),
        26 => Event::SendHoldTimerExpires,
        27 => Event::UpdateSent(conn),
        28 => Event::DataSent(conn),
        _ => Event::KeepAliveMsg(conn),
    }
}

fn config(flags: u8) -> Config {
    let mut c = Config::new(65001, Ipv4Addr::new(10, 0, 0, 100), PeerAs::Exact(65002));
    c.passive = flags & 1 != 0;
    c.delay_open_time = (flags & 2 != 0).then_some(Duration::from_secs(5));
    c.collision_detect_established = flags & 4 != 0;
    c.send_notification_without_open = flags & 8 != 0;
    c.hold_time = if flags & 16 != 0 { 0 } else { 9 };
    c.damp_peer_oscillations = flags & 32 != 0;
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_event_sequences_keep_the_invariants(
        flags in any::<u8>(),
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let mut peer = Peer::new(config(flags)).unwrap();
        let mut now = Instant::now();
        for op in ops {
            let before = peer.state();
            let actions = match op {
                Op::Event(e, c) => peer.handle(now, event(e, ConnectionId(u64::from(c)))),
                Op::Open { conn, id, hold } => {
                    let open = Open::new(
                        65002,
                        hold,
                        Ipv4Addr::new(10, 0, 0, id),
                        vec![Capability::Multiprotocol(Family::IPV4_UNICAST)],
                    );
                    peer.handle(now, Event::BgpOpen(ConnectionId(u64::from(conn)), open))
                }
                Op::Advance(ms) => {
                    now += Duration::from_millis(u64::from(ms) * 10);
                    peer.handle_timeout(now)
                }
                Op::Timeout => match peer.poll_timeout() {
                    Some(t) => {
                        now = now.max(t);
                        peer.handle_timeout(now)
                    }
                    None => bgp_fsm::Actions::new(),
                },
            };
            if let Err(e) = check_step(before, &peer, &actions) {
                prop_assert!(false, "{e} after {op:?}");
            }
            // In Established with a non-zero hold time, the hold timer is armed.
            if let Some(s) = peer.established() {
                let hold = s.negotiated().unwrap().hold_time;
                prop_assert!(hold == 0 || s.timer(Timer::Hold).is_some());
            }
            prop_assert!(peer.sessions().count() <= 2);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drive_from_bytes(Instant::now(), &data);
    }

    #[test]
    fn two_speakers_converge_after_any_disturbance(
        script in proptest::collection::vec((0u8..6, 0u16..400), 0..30),
        a_passive in any::<bool>(),
    ) {
        let (mut a, mut b) = ebgp_configs();
        a.passive = a_passive;
        b.passive = !a_passive;
        let mut pair = Pair::new(Instant::now(), a, b).unwrap();
        pair.push(Side::A, Event::ManualStart);
        pair.push(Side::B, Event::AutomaticStartDamped);
        pair.settle();
        for (what, secs) in script {
            match what {
                0 => pair.handle(Side::A, Event::ManualStop("script".into())),
                1 => pair.handle(Side::A, Event::ManualStart),
                2 => pair.freeze(Side::B, true),
                3 => pair.freeze(Side::B, false),
                4 => pair.handle(
                    Side::B,
                    Event::AutomaticStop(Notification::cease(cease_subcode::OUT_OF_RESOURCES)),
                ),
                _ => pair.handle(Side::B, Event::AutomaticStart),
            }
            pair.advance(Duration::from_secs(u64::from(secs)));
            for side in [Side::A, Side::B] {
                for s in pair.peer(side).sessions() {
                    if let Err(e) = bgp_fsm::testing::check_session(s) {
                        prop_assert!(false, "{side:?}: {e}");
                    }
                }
            }
        }
        // Whatever happened, once both run again they come up within a bounded time:
        // at most the longest IdleHoldTime, the OpenSent hold time and a hold time.
        pair.freeze(Side::B, false);
        pair.handle(Side::A, Event::ManualStart);
        pair.handle(Side::B, Event::ManualStart);
        pair.advance(Duration::from_secs(300 + 240 + 90 + 120));
        prop_assert_eq!(pair.a.state(), State::Established, "{:#?}", pair.a);
        prop_assert_eq!(pair.b.state(), State::Established);
    }
}
