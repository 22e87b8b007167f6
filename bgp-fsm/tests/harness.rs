//! Two FSMs back to back on a simulated clock (bgp_fsm::testing::Pair).

// Test helpers outside #[test] functions are not covered by clippy.toml's test
// allowances; a failing helper should fail the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bgp_fsm::testing::{Pair, Side, ebgp_configs};
use bgp_fsm::{Action, ConnectionId, Event, Notified, State, Timer};
use bgp_wire::notification::{cease_subcode, open_subcode};
use bgp_wire::{CapabilityCode, ErrorCode};
use std::time::{Duration, Instant};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn established_pair() -> Pair {
    let (a, mut b) = ebgp_configs();
    b.passive = true;
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::B, Event::ManualStart);
    pair.handle(Side::A, Event::ManualStart);
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
    pair
}

fn downs(pair: &Pair, side: Side) -> Vec<(bool, String, Option<Notified>)> {
    pair.actions(side)
        .filter_map(|l| match &l.action {
            Action::Down {
                was_established,
                reason,
                ..
            } => Some((
                *was_established,
                reason.description.clone(),
                reason.notification.clone(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn reach_established_and_exchange_keepalives_on_schedule() {
    let mut pair = established_pair();
    let t0 = pair.now;
    let n = pair.a.established().unwrap().negotiated().unwrap().clone();
    assert_eq!((n.hold_time, n.keepalive_time, n.peer_as), (90, 30, 65002));
    assert!(n.params.four_octet_as && n.params.external);
    assert!(n.route_refresh);

    pair.advance(secs(301));
    for side in [Side::A, Side::B] {
        let kas: Vec<Duration> = pair
            .keepalives_sent(side)
            .into_iter()
            .map(|t| t - t0)
            .collect();
        // The KEEPALIVE that answers the OPEN at t0, then one every hold/3 = 30 s.
        let expected: Vec<Duration> = (0..=10).map(|k| secs(30 * k)).collect();
        assert_eq!(kas, expected, "{side:?}");
        assert!(downs(&pair, side).is_empty());
    }
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
}

#[test]
fn configured_keepalive_below_a_third_is_used() {
    let (mut a, mut b) = ebgp_configs();
    a.keepalive_time = Some(10);
    b.passive = true;
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::B, Event::ManualStart);
    pair.handle(Side::A, Event::ManualStart);
    let t0 = pair.now;
    pair.advance(secs(60));
    let a_kas: Vec<Duration> = pair
        .keepalives_sent(Side::A)
        .iter()
        .map(|t| *t - t0)
        .collect();
    assert_eq!(a_kas, (0..=6).map(|k| secs(10 * k)).collect::<Vec<_>>());
    assert_eq!(pair.keepalives_sent(Side::B).len(), 3); // 0, 30, 60
}

#[test]
fn silent_peer_is_detected_by_the_hold_timer() {
    let mut pair = established_pair();
    pair.advance(secs(45)); // B's last KEEPALIVE goes out at +30 s
    let last_from_b = *pair.keepalives_sent(Side::B).last().unwrap();
    pair.freeze(Side::B, true);
    pair.advance(secs(200));

    let notes = pair.notifications_sent(Side::A);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let (at, n) = &notes[0];
    assert_eq!((n.code, n.subcode), (ErrorCode::HOLD_TIMER_EXPIRED, 0));
    assert_eq!(*at, last_from_b + secs(90));
    let d = downs(&pair, Side::A);
    assert_eq!(d.len(), 1);
    assert!(d[0].0, "was established");
    assert!(d[0].1.contains("hold timer expired"), "{}", d[0].1);
    // A restarts by itself after the IdleHoldTimer and keeps trying.
    assert_ne!(pair.a.state(), State::Established);
    assert!(pair.a.session().is_enabled());
}

#[test]
fn simultaneous_connect_resolves_the_collision() {
    // A = 10.0.0.1 < B = 10.0.0.2: the connection B initiated survives on both sides.
    let (a, b) = ebgp_configs();
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.push(Side::A, Event::ManualStart);
    pair.push(Side::B, Event::ManualStart);
    pair.settle();
    // Both asked for a connection at the same instant.
    let connects = pair
        .log
        .iter()
        .filter(|l| matches!(l.action, Action::Connect))
        .count();
    assert_eq!(connects, 2);

    let a_conn = pair.a.established().and_then(|s| s.connection()).unwrap();
    let b_conn = pair.b.established().and_then(|s| s.connection()).unwrap();
    assert_eq!(a_conn, b_conn, "both keep the same connection");
    assert_eq!(pair.a.established().unwrap().is_outgoing(), Some(false));
    assert_eq!(pair.b.established().unwrap().is_outgoing(), Some(true));
    assert!(pair.a.second_session().is_none() && pair.b.second_session().is_none());
    for side in [Side::A, Side::B] {
        let notes = pair.notifications_sent(side);
        assert_eq!(notes.len(), 1, "{side:?}: {notes:?}");
        assert_eq!(
            (notes[0].1.code, notes[0].1.subcode),
            (
                ErrorCode::CEASE,
                cease_subcode::CONNECTION_COLLISION_RESOLUTION
            )
        );
        let d = downs(&pair, side);
        assert_eq!(d.len(), 1);
        assert!(!d[0].0 && d[0].1.contains("collision"), "{d:?}");
    }
    // And it stays up.
    pair.advance(secs(600));
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
}

#[test]
fn collision_keeps_the_connection_of_the_higher_identifier_either_way() {
    let (mut a, mut b) = ebgp_configs();
    // Swap identifiers: now A is higher, so A's connection survives.
    std::mem::swap(&mut a.router_id, &mut b.router_id);
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.push(Side::B, Event::ManualStart);
    pair.push(Side::A, Event::ManualStart);
    pair.settle();
    assert_eq!(pair.a.established().unwrap().is_outgoing(), Some(true));
    assert_eq!(pair.b.established().unwrap().is_outgoing(), Some(false));
}

#[test]
fn collision_with_established_session_closes_the_new_connection() {
    let mut pair = established_pair();
    let kept = pair.a.established().unwrap().connection().unwrap();
    // B (which is passive) gets a new connection from A's side, as after a reconnect.
    let now = pair.now;
    let extra = ConnectionId(77);
    let acts = pair.b.handle(now, Event::TcpConnectionConfirmed(extra));
    assert_eq!(acts.sent_types(), [bgp_wire::MessageType::OPEN]);
    let open = pair.a.config().open();
    let acts = pair.b.handle(now, Event::BgpOpen(extra, open.clone()));
    assert_eq!(
        acts.notification().map(|n| (n.code, n.subcode)),
        Some((
            ErrorCode::CEASE,
            cease_subcode::CONNECTION_COLLISION_RESOLUTION
        ))
    );
    assert_eq!(acts.closed(), [extra]);
    assert_eq!(
        pair.b.established().unwrap().connection(),
        Some(kept),
        "the Established session stays"
    );

    // With CollisionDetectEstablishedState, the identifiers decide: B (10.0.0.2) is higher
    // and initiated neither, so the connection A initiated (the Established one) survives
    // only if A were higher. Here the new connection is also A-initiated: the new one loses.
    let (mut a, mut b) = ebgp_configs();
    a.collision_detect_established = true;
    b.passive = true;
    let mut p2 = Pair::new(Instant::now(), a, b).unwrap();
    p2.handle(Side::B, Event::ManualStart);
    p2.handle(Side::A, Event::ManualStart);
    let kept = p2.a.established().unwrap().connection().unwrap();
    // A (10.0.0.1, lower) receives a connection initiated by B: it must win over A's own.
    let now = p2.now;
    let incoming = ConnectionId(99);
    p2.a.handle(now, Event::TcpConnectionConfirmed(incoming));
    let acts =
        p2.a.handle(now, Event::BgpOpen(incoming, p2.b.config().open()));
    assert_eq!(acts.closed(), [kept]);
    let down = acts.down().unwrap();
    assert!(down.description.contains("collision"));
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Down {
            was_established: true,
            ..
        }
    )));
    assert_eq!(p2.a.session().connection(), Some(incoming));
    assert_eq!(p2.a.state(), State::OpenConfirm);
}

/// Brings `a` and a passive `b` to Established, then has a second connection (`new`)
/// from A arrive on B with A's OPEN. Returns the pair, B's established connection and
/// B's actions for that OPEN.
fn second_open_on_established_b(
    a: bgp_fsm::Config,
    mut b: bgp_fsm::Config,
    new: ConnectionId,
) -> (Pair, ConnectionId, bgp_fsm::Actions) {
    b.passive = true;
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::B, Event::ManualStart);
    pair.handle(Side::A, Event::ManualStart);
    let old = pair.b.established().unwrap().connection().unwrap();
    let now = pair.now;
    pair.b.handle(now, Event::TcpConnectionConfirmed(new));
    let acts = pair
        .b
        .handle(now, Event::BgpOpen(new, pair.a.config().open()));
    (pair, old, acts)
}

#[test]
fn new_connection_from_a_graceful_restart_peer_replaces_the_established_one() {
    // A announces Graceful Restart; B is Established with it when A's new connection
    // arrives, as after A crashed without B noticing (RFC 4724 §4.2). A restarted peer
    // sets the Restart State bit.
    let (mut a, b) = ebgp_configs();
    a.graceful_restart = Some(bgp_fsm::GracefulRestartConfig {
        restarting: true,
        ..bgp_fsm::GracefulRestartConfig::default()
    });
    let new = ConnectionId(77);
    let (pair, old, acts) = second_open_on_established_b(a, b, new);
    assert_eq!(
        acts.notification(),
        None,
        "no NOTIFICATION on either connection"
    );
    assert_eq!(
        acts.closed(),
        [old],
        "the old connection is closed, the new one kept"
    );
    let down = acts.down().unwrap();
    assert!(down.notification.is_none(), "{down:?}");
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Down {
            was_established: true,
            connection: Some(c),
            ..
        } if *c == old
    )));
    assert_eq!(pair.b.session().connection(), Some(new));
    assert_eq!(pair.b.state(), State::OpenConfirm);
}

#[test]
fn administrative_shutdown_carries_the_rfc9003_message() {
    let mut pair = established_pair();
    pair.handle(Side::A, Event::ManualStop("moving to new tunnel 2".into()));
    let notes = pair.notifications_sent(Side::A);
    assert_eq!(notes.len(), 1);
    let n = &notes[0].1;
    assert_eq!(
        (n.code, n.subcode),
        (ErrorCode::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN)
    );
    assert_eq!(
        n.shutdown_communication().as_deref(),
        Some("moving to new tunnel 2")
    );
    let d = downs(&pair, Side::B);
    assert_eq!(d.len(), 1);
    assert!(d[0].0);
    match &d[0].2 {
        Some(Notified::Received(r)) => assert_eq!(r, n),
        other => panic!("{other:?}"),
    }
    assert!(d[0].1.contains("moving to new tunnel 2"), "{}", d[0].1);
    // A stays down (ManualStop disables it); B, enabled, waits in Active to be reconnected.
    pair.advance(secs(3600));
    assert_eq!(pair.a.state(), State::Idle);
    assert!(pair.a.poll_timeout().is_none());
    assert_eq!(pair.b.state(), State::Active);
}

#[test]
fn flapping_peer_is_damped_with_exponential_idle_hold() {
    // B never starts: every connection A makes is refused and A falls back to Idle.
    let (a, b) = ebgp_configs();
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    let t0 = pair.now;
    pair.handle(Side::A, Event::AutomaticStartDamped);
    pair.advance(secs(1500));
    let connects: Vec<u64> = pair
        .actions(Side::A)
        .filter(|l| matches!(l.action, Action::Connect))
        .map(|l| (l.at - t0).as_secs())
        .collect();
    // IdleHold 5 s doubling per fall, capped at 300 s.
    assert_eq!(
        connects,
        [0, 5, 15, 35, 75, 155, 315, 615, 915, 1215],
        "connection attempts"
    );
}

#[test]
fn stable_session_resets_the_back_off() {
    let mut pair = established_pair();
    pair.handle(
        Side::A,
        Event::AutomaticStop(bgp_wire::Notification::cease(
            cease_subcode::OTHER_CONFIGURATION_CHANGE,
        )),
    );
    let idle_hold = pair.a.session().idle_hold_time();
    assert_eq!(idle_hold, secs(10), "one fall doubled it");
    // Up again (A's first retry may find B still in Idle and double it again), then stable
    // for longer than the maximum: back to the initial value.
    pair.advance(secs(60));
    assert_eq!(pair.a.state(), State::Established);
    assert!(pair.a.session().idle_hold_time() >= secs(10));
    pair.advance(secs(400));
    pair.handle(
        Side::A,
        Event::AutomaticStop(bgp_wire::Notification::cease(
            cease_subcode::OTHER_CONFIGURATION_CHANGE,
        )),
    );
    assert_eq!(
        pair.a.session().idle_hold_time(),
        secs(10),
        "5 s used, next 10 s"
    );
}

#[test]
fn passive_side_never_initiates() {
    let (mut a, mut b) = ebgp_configs();
    a.passive = true;
    b.passive = true;
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::A, Event::ManualStart);
    pair.handle(Side::B, Event::AutomaticStart);
    pair.advance(secs(3600));
    assert!(!pair.log.iter().any(|l| matches!(l.action, Action::Connect)));
    assert_eq!(pair.a.state(), State::Active);
    assert!(pair.a.session().timer(Timer::ConnectRetry).is_none());
}

#[test]
fn delay_open_waits_for_the_peer_open() {
    let (mut a, mut b) = ebgp_configs();
    a.delay_open_time = Some(secs(5));
    a.passive = true;
    b.delay_open_time = None;
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::A, Event::ManualStart);
    pair.handle(Side::B, Event::ManualStart);
    // B sent its OPEN at once; A answered with OPEN + KEEPALIVE (event 20).
    assert_eq!(pair.a.state(), State::Established);
    let a_first: Vec<_> = pair
        .actions(Side::A)
        .filter_map(|l| match &l.action {
            Action::Send { message, .. } => Some(message.message_type()),
            _ => None,
        })
        .take(2)
        .collect();
    assert_eq!(
        a_first,
        [
            bgp_wire::MessageType::OPEN,
            bgp_wire::MessageType::KEEPALIVE
        ]
    );

    // Both delaying: nothing moves until the DelayOpenTimer fires, then both send OPEN.
    let (mut a, mut b) = ebgp_configs();
    a.delay_open_time = Some(secs(5));
    b.delay_open_time = Some(secs(5));
    b.passive = true;
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::B, Event::ManualStart);
    pair.handle(Side::A, Event::ManualStart);
    assert_eq!(pair.a.state(), State::Connect);
    assert_eq!(pair.b.state(), State::Active);
    pair.advance(secs(5));
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
}

#[test]
fn wrong_peer_as_is_refused_with_bad_peer_as() {
    let (a, mut b) = ebgp_configs();
    b.local_as = 65099;
    b.passive = true;
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::B, Event::ManualStart);
    pair.handle(Side::A, Event::ManualStart);
    let notes = pair.notifications_sent(Side::A);
    assert_eq!(
        (notes[0].1.code, notes[0].1.subcode),
        (ErrorCode::OPEN_MESSAGE, open_subcode::BAD_PEER_AS)
    );
    let d = downs(&pair, Side::A);
    assert!(d[0].1.contains("65099"), "{:?}", d[0].1);
    let d = downs(&pair, Side::B);
    assert!(matches!(&d[0].2, Some(Notified::Received(n)) if n.subcode == 2));
}

#[test]
fn missing_required_capability_is_named_in_the_notification() {
    let (mut a, mut b) = ebgp_configs();
    a.required_capabilities = vec![CapabilityCode::ROUTE_REFRESH];
    b.route_refresh = false;
    b.passive = true;
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::B, Event::ManualStart);
    pair.handle(Side::A, Event::ManualStart);
    let n = &pair.notifications_sent(Side::A)[0].1;
    assert_eq!(
        (n.code, n.subcode),
        (
            ErrorCode::OPEN_MESSAGE,
            open_subcode::UNSUPPORTED_CAPABILITY
        )
    );
    assert_eq!(&n.data[..], &[2, 0], "the Route Refresh capability");
}

#[test]
fn send_hold_timer_closes_a_session_whose_peer_reads_nothing() {
    let (mut a, b) = ebgp_configs();
    a.hold_time = 0; // no hold timer: only the SendHoldTimer can notice
    let mut s = bgp_fsm::Session::new(a).unwrap();
    let t0 = Instant::now();
    let c = ConnectionId(1);
    s.handle(t0, Event::ManualStart);
    s.handle(t0, Event::TcpCrAcked(c));
    s.handle(t0, Event::BgpOpen(c, b.open()));
    s.handle(t0, Event::KeepAliveMsg(c));
    assert_eq!(s.state(), State::Established);
    assert!(s.timer(Timer::Hold).is_none() && s.timer(Timer::Keepalive).is_none());
    // Progress reports keep it alive...
    s.handle(t0 + secs(400), Event::DataSent(c));
    assert!(s.handle_timeout(t0 + secs(800)).is_empty());
    // ...and 8 minutes without one end it.
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + secs(880));
    let acts = s.handle_timeout(deadline);
    assert_eq!(
        acts.notification().map(|n| n.code),
        Some(ErrorCode::SEND_HOLD_TIMER_EXPIRED)
    );
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn open_decode_errors_carry_the_prescribed_data() {
    let (a, _) = ebgp_configs();
    let mut s = bgp_fsm::Session::new(a).unwrap();
    let t0 = Instant::now();
    let c = ConnectionId(1);
    s.handle(t0, Event::ManualStart);
    s.handle(t0, Event::TcpCrAcked(c));
    // An OPEN with version 5.
    let mut open = vec![0xff; 16];
    open.extend_from_slice(&[0, 29, 1, 5, 0xfd, 0xea, 0, 90, 10, 0, 0, 2, 0]);
    let decoded = bgp_wire::decode(open.into(), &bgp_wire::SessionParams::default());
    let acts = s.handle(t0, Event::from_decoded(c, decoded));
    let n = acts.notification().unwrap();
    assert_eq!(
        (n.code, n.subcode, &n.data[..]),
        (
            ErrorCode::OPEN_MESSAGE,
            open_subcode::UNSUPPORTED_VERSION,
            &[0u8, 4][..]
        )
    );

    // An unsupported optional parameter (type 3).
    let mut s = bgp_fsm::Session::new(ebgp_configs().0).unwrap();
    s.handle(t0, Event::ManualStart);
    s.handle(t0, Event::TcpCrAcked(c));
    let mut open = vec![0xff; 16];
    open.extend_from_slice(&[0, 32, 1, 4, 0xfd, 0xea, 0, 90, 10, 0, 0, 2, 3, 3, 1, 0]);
    let decoded = bgp_wire::decode(open.into(), &bgp_wire::SessionParams::default());
    let acts = s.handle(t0, Event::from_decoded(c, decoded));
    let n = acts.notification().unwrap();
    assert_eq!(
        (n.code, n.subcode),
        (
            ErrorCode::OPEN_MESSAGE,
            open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER
        )
    );
}

#[test]
fn manual_stop_in_idle_cancels_the_pending_restart() {
    let (a, b) = ebgp_configs();
    let mut pair = Pair::new(Instant::now(), a, b).unwrap();
    pair.handle(Side::A, Event::AutomaticStart); // refused: B is Idle
    assert_eq!(pair.a.state(), State::Idle);
    assert!(pair.a.session().timer(Timer::IdleHold).is_some());
    pair.handle(Side::A, Event::ManualStop(String::new()));
    assert!(pair.a.poll_timeout().is_none());
    pair.advance(secs(3600));
    assert_eq!(pair.a.state(), State::Idle);
    let connects = pair
        .actions(Side::A)
        .filter(|l| matches!(l.action, Action::Connect))
        .count();
    assert_eq!(connects, 1);
}

#[test]
fn a_simultaneous_open_with_a_graceful_restart_peer_is_a_collision_not_a_restart() {
    // Both sides dialled; on B the second connection's OPEN arrives right after the first
    // session reached Established, without the Restart State bit: RFC 4271 §6.8 applies
    // (the new connection is closed with Cease / Connection Collision Resolution), not
    // RFC 4724's restart rule.
    let (mut a, b) = ebgp_configs();
    a.graceful_restart = Some(bgp_fsm::GracefulRestartConfig::default());
    let new = ConnectionId(78);
    let (mut pair, old, acts) = second_open_on_established_b(a, b, new);
    let now = pair.now;
    let n = acts
        .notification()
        .expect("the new connection gets a NOTIFICATION");
    assert_eq!((n.code.0, n.subcode), (6, 7), "{n}");
    assert_eq!(acts.closed(), [new]);
    assert!(!acts.iter().any(|a| matches!(
        a,
        Action::Down {
            was_established: true,
            ..
        }
    )));
    assert_eq!(pair.b.established().unwrap().connection(), Some(old));
    assert_eq!(pair.b.state(), State::Established);

    // The same OPEN two seconds later is the peer having restarted.
    let later = now + Duration::from_secs(2);
    let newer = ConnectionId(79);
    pair.b.handle(later, Event::TcpConnectionConfirmed(newer));
    let acts = pair
        .b
        .handle(later, Event::BgpOpen(newer, pair.a.config().open()));
    assert_eq!(acts.notification(), None);
    assert_eq!(acts.closed(), [old]);
    assert_eq!(pair.b.session().connection(), Some(newer));
}
