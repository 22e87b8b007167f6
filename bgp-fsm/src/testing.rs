//! Test aids: a simulated-clock harness wiring two [`Peer`]s back to back, an invariant
//! check, and the fuzzing entry point [`drive_from_bytes`].
//!
//! Nothing here does I/O or reads the clock: the start time is a parameter.

use bgp_wire::{Capability, Family, Notification, Open, decode};
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::action::{Action, Actions, State};
use crate::config::{Config, PeerAs};
use crate::event::{ConnectionId, Event, Timer};
use crate::peer::Peer;
use crate::session::Session;

/// One of the two speakers of a [`Pair`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Side {
    /// The first speaker.
    A,
    /// The second speaker.
    B,
}

impl Side {
    /// The other one.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// What a speaker did, and when.
#[derive(Clone, Debug)]
pub struct Logged {
    /// Simulated time.
    pub at: Instant,
    /// Which speaker.
    pub side: Side,
    /// The action.
    pub action: Action,
}

/// A queued step of the simulation.
#[derive(Debug)]
enum Step {
    /// Deliver an event to a side.
    Deliver(Side, Event),
    /// A side's connection attempt reaches the other side.
    Dial(Side),
}

#[derive(Clone, Copy, Debug)]
struct Link {
    id: ConnectionId,
    open: bool,
}

/// Two [`Peer`]s wired back to back over simulated connections with a simulated clock.
///
/// Connections are instant and lossless; messages are delivered in order by encoding and
/// decoding them with bgp-wire, exactly as a daemon would. A side can be frozen (a hung
/// process: it neither runs timers nor reads nor writes).
#[derive(Debug)]
pub struct Pair {
    /// The current simulated time.
    pub now: Instant,
    /// Speaker A.
    pub a: Peer,
    /// Speaker B.
    pub b: Peer,
    /// Everything both did, in order.
    pub log: Vec<Logged>,
    frozen: [bool; 2],
    links: Vec<Link>,
    queue: VecDeque<Step>,
    next_id: u64,
}

/// Configurations for A (AS 65001, 10.0.0.1) and B (AS 65002, 10.0.0.2) peering over eBGP.
pub fn ebgp_configs() -> (Config, Config) {
    let a = Config::new(65001, Ipv4Addr::new(10, 0, 0, 1), PeerAs::Exact(65002));
    let b = Config::new(65002, Ipv4Addr::new(10, 0, 0, 2), PeerAs::Exact(65001));
    (a, b)
}

impl Pair {
    /// Two peers in Idle at time `start`. Returns `None` if a configuration is invalid.
    pub fn new(start: Instant, a: Config, b: Config) -> Option<Pair> {
        Some(Pair {
            now: start,
            a: Peer::new(a).ok()?,
            b: Peer::new(b).ok()?,
            log: Vec::new(),
            frozen: [false; 2],
            links: Vec::new(),
            queue: VecDeque::new(),
            next_id: 1,
        })
    }

    /// The peer of `side`.
    pub fn peer(&self, side: Side) -> &Peer {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    fn peer_mut(&mut self, side: Side) -> &mut Peer {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn frozen(&self, side: Side) -> bool {
        match side {
            Side::A => self.frozen[0],
            Side::B => self.frozen[1],
        }
    }

    /// Freezes (or thaws) a side: it stops running timers, reading and writing.
    pub fn freeze(&mut self, side: Side, frozen: bool) {
        match side {
            Side::A => self.frozen[0] = frozen,
            Side::B => self.frozen[1] = frozen,
        }
    }

    /// Feeds an event to one side now and runs everything that follows at this instant.
    pub fn handle(&mut self, side: Side, event: Event) {
        self.queue.push_back(Step::Deliver(side, event));
        self.settle();
    }

    /// Queues an event without running it: queue one for each side, then [`Pair::settle`],
    /// and both act at the same instant (e.g. both connect at once).
    pub fn push(&mut self, side: Side, event: Event) {
        self.queue.push_back(Step::Deliver(side, event));
    }

    /// Advances the clock by `by`, firing timers and delivering messages on the way.
    pub fn advance(&mut self, by: Duration) {
        let Some(end) = self.now.checked_add(by) else {
            return;
        };
        self.run_until(end);
    }

    /// Runs until simulated time `end`.
    pub fn run_until(&mut self, end: Instant) {
        self.settle();
        loop {
            let next = [Side::A, Side::B]
                .into_iter()
                .filter(|s| !self.frozen(*s))
                .filter_map(|s| self.peer(s).poll_timeout().map(|t| (t, s)))
                .min_by_key(|(t, _)| *t);
            match next {
                Some((t, side)) if t <= end => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    let actions = self.peer_mut(side).handle_timeout(now);
                    self.apply(side, actions);
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = self.now.max(end);
    }

    /// Delivers queued events until none remain (without advancing the clock).
    pub fn settle(&mut self) {
        // Bounded: a well-behaved pair settles in a few dozen steps per instant.
        for _ in 0..10_000 {
            let Some(step) = self.queue.pop_front() else {
                return;
            };
            match step {
                Step::Deliver(side, event) => {
                    if self.frozen(side) {
                        continue;
                    }
                    let now = self.now;
                    let actions = self.peer_mut(side).handle(now, event);
                    self.apply(side, actions);
                }
                Step::Dial(side) => self.dial(side),
            }
        }
    }

    fn dial(&mut self, side: Side) {
        let id = ConnectionId(self.next_id);
        self.next_id += 1;
        if self.peer(side.other()).state() == State::Idle {
            // Nobody listens: the connection attempt is refused.
            self.queue
                .push_back(Step::Deliver(side, Event::TcpConnectionFails(id)));
            return;
        }
        self.links.push(Link { id, open: true });
        self.queue.push_back(Step::Deliver(
            side.other(),
            Event::TcpConnectionConfirmed(id),
        ));
        self.queue
            .push_back(Step::Deliver(side, Event::TcpCrAcked(id)));
    }

    fn link_open(&self, id: ConnectionId) -> bool {
        self.links.iter().any(|l| l.id == id && l.open)
    }

    fn apply(&mut self, side: Side, actions: Actions) {
        for action in actions {
            self.log.push(Logged {
                at: self.now,
                side,
                action: action.clone(),
            });
            match action {
                Action::Connect => self.queue.push_back(Step::Dial(side)),
                Action::Send {
                    connection, bytes, ..
                } => {
                    if !self.link_open(connection) {
                        continue;
                    }
                    let receiver = side.other();
                    let params = self
                        .peer(receiver)
                        .sessions()
                        .find(|s| s.connection() == Some(connection))
                        .map(Session::session_params)
                        .unwrap_or_default();
                    let event = Event::from_decoded(connection, decode(bytes, &params));
                    self.queue.push_back(Step::Deliver(receiver, event));
                    self.queue
                        .push_back(Step::Deliver(side, Event::DataSent(connection)));
                }
                Action::Close { connection } => {
                    let mut was_open = false;
                    for l in self.links.iter_mut().filter(|l| l.id == connection) {
                        was_open |= l.open;
                        l.open = false;
                    }
                    if was_open {
                        self.queue.push_back(Step::Deliver(
                            side.other(),
                            Event::TcpConnectionFails(connection),
                        ));
                    }
                }
                _ => {}
            }
        }
    }

    /// Actions of one side, in order.
    pub fn actions(&self, side: Side) -> impl Iterator<Item = &Logged> + '_ {
        self.log.iter().filter(move |l| l.side == side)
    }

    /// NOTIFICATIONs one side sent, with the time.
    pub fn notifications_sent(&self, side: Side) -> Vec<(Instant, Notification)> {
        self.actions(side)
            .filter_map(|l| match &l.action {
                Action::Send {
                    message: crate::Outgoing::Notification(n),
                    ..
                } => Some((l.at, n.clone())),
                _ => None,
            })
            .collect()
    }

    /// Times at which one side sent KEEPALIVEs.
    pub fn keepalives_sent(&self, side: Side) -> Vec<Instant> {
        self.actions(side)
            .filter(|l| {
                matches!(
                    l.action,
                    Action::Send {
                        message: crate::Outgoing::Keepalive,
                        ..
                    }
                )
            })
            .map(|l| l.at)
            .collect()
    }
}

/// Checks the invariants every session must keep after any event; returns the first one
/// broken.
pub fn check_session(s: &Session) -> Result<(), String> {
    let state = s.state();
    let has_conn = s.connection().is_some();
    match state {
        State::Idle => {
            if has_conn {
                return Err("Idle with a connection".into());
            }
            if let Some(t) = Timer::ALL
                .iter()
                .find(|t| **t != Timer::IdleHold && s.timer(**t).is_some())
            {
                return Err(format!("Idle with {t:?} running"));
            }
        }
        State::OpenSent | State::OpenConfirm | State::Established if !has_conn => {
            return Err(format!("{state} without a connection"));
        }
        _ => {}
    }
    if matches!(state, State::OpenConfirm | State::Established) && s.negotiated().is_none() {
        return Err(format!("{state} without negotiated parameters"));
    }
    if state == State::Established
        && let Some(n) = s.negotiated()
        && n.hold_time != 0
        && (s.timer(Timer::Hold).is_none() || s.timer(Timer::Keepalive).is_none())
    {
        return Err("Established with hold time but no hold or keepalive timer".into());
    }
    if s.is_outgoing() == Some(true) && s.config().passive {
        return Err("a passive session holds a connection it initiated".into());
    }
    Ok(())
}

/// Checks one step of a [`Peer`]: the invariants of its sessions, and that nothing was
/// sent when it was Idle before and after.
pub fn check_step(before: State, peer: &Peer, actions: &Actions) -> Result<(), String> {
    for s in peer.sessions() {
        check_session(s)?;
    }
    if before == State::Idle && peer.state() == State::Idle && !actions.sent_types().is_empty() {
        return Err(format!("sent {:?} in Idle", actions.sent_types()));
    }
    if peer.config().passive && actions.connects() {
        return Err("a passive peer initiated a connection".into());
    }
    Ok(())
}

/// A cursor over fuzz input that yields zeros once exhausted.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

/// Fuzzing entry point: decodes `data` into a sequence of events (starts and stops,
/// connections coming and going among three ids, valid and arbitrary messages, timer
/// expiries, time passing) and drives one [`Peer`] with them from `start`, checking
/// [`check_step`] after every step.
///
/// Panics only if an invariant breaks (a bug); arbitrary input must never make the FSM
/// itself panic.
pub fn drive_from_bytes(start: Instant, data: &[u8]) {
    let mut input = Input(data);
    let mut config = Config::new(65001, Ipv4Addr::new(10, 0, 0, 5), PeerAs::Exact(65002));
    let flags = input.byte();
    config.passive = flags & 1 != 0;
    config.delay_open_time = (flags & 2 != 0).then_some(Duration::from_secs(5));
    config.collision_detect_established = flags & 4 != 0;
    config.send_notification_without_open = flags & 8 != 0;
    config.hold_time = if flags & 16 != 0 { 0 } else { 9 };
    config.damp_peer_oscillations = flags & 32 != 0;
    config.families = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
    let Ok(mut peer) = Peer::new(config) else {
        return;
    };
    let mut now = start;
    let mut steps = 0;
    while !input.0.is_empty() && steps < 4096 {
        steps += 1;
        let op = input.byte();
        let conn = ConnectionId(u64::from(input.byte() % 3));
        let before = peer.state();
        let actions = match op % 24 {
            0 => peer.handle(now, Event::ManualStart),
            1 => peer.handle(now, Event::ManualStop("fuzz".into())),
            2 => peer.handle(now, Event::AutomaticStart),
            3 => peer.handle(now, Event::ManualStartPassive),
            4 => peer.handle(now, Event::AutomaticStartPassive),
            5 => peer.handle(now, Event::AutomaticStartDamped),
            6 => peer.handle(now, Event::AutomaticStartDampedPassive),
            7 => peer.handle(
                now,
                Event::AutomaticStop(Notification::cease(
                    bgp_wire::notification::cease_subcode::MAX_PREFIXES,
                )),
            ),
            8 => {
                let step = Duration::from_millis(u64::from(input.byte()) * 500);
                now = now.checked_add(step).unwrap_or(now);
                peer.handle_timeout(now)
            }
            9 => peer.handle(now, Event::TcpCrAcked(conn)),
            10 => peer.handle(now, Event::TcpConnectionConfirmed(conn)),
            11 => peer.handle(now, Event::TcpConnectionFails(conn)),
            12 => peer.handle(now, Event::TcpCrInvalid(conn)),
            13 => peer.handle(now, Event::TcpConnectionValid(conn)),
            14 => {
                // A valid OPEN, from an identifier above or below ours.
                let id = Ipv4Addr::new(10, 0, 0, input.byte());
                let hold = u16::from(input.byte());
                let mut caps = vec![Capability::Multiprotocol(Family::IPV4_UNICAST)];
                if op & 0x80 != 0 {
                    caps.push(Capability::RouteRefresh);
                }
                let open = Open::new(65002, hold, id, caps);
                peer.handle(now, Event::BgpOpen(conn, open))
            }
            15 => peer.handle(now, Event::KeepAliveMsg(conn)),
            16 => {
                // Arbitrary bytes behind a valid marker, decoded as the daemon would.
                let kind = input.byte();
                let len = usize::from(input.byte());
                let body = input.take(len);
                let mut msg = BytesMut::with_capacity(19 + body.len());
                msg.put_slice(&[0xff; 16]);
                msg.put_u16((19 + body.len()) as u16);
                msg.put_u8(kind % 7);
                msg.put_slice(body);
                let params = peer
                    .sessions()
                    .find(|s| s.connection() == Some(conn))
                    .map(Session::session_params)
                    .unwrap_or_default();
                let decoded = decode(msg.freeze(), &params);
                peer.handle(now, Event::from_decoded(conn, decoded))
            }
            17 => {
                let code = input.byte() % 9;
                let sub = input.byte() % 12;
                let n = Notification::new(bgp_wire::ErrorCode(code), sub, Bytes::new());
                peer.handle(
                    now,
                    Event::from_decoded(conn, Ok(bgp_wire::Message::Notification(n))),
                )
            }
            18 => peer.handle(now, Event::OpenCollisionDump(conn)),
            19 => peer.handle(now, Event::UpdateSent(conn)),
            20 => peer.handle(now, Event::DataSent(conn)),
            21 => {
                let timer = Timer::ALL
                    .get(usize::from(input.byte()) % Timer::ALL.len())
                    .copied()
                    .unwrap_or(Timer::Hold);
                peer.handle(now, timer.expiry())
            }
            22 => {
                let family = if input.byte() & 1 == 0 {
                    Family::IPV4_UNICAST
                } else {
                    Family::IPV6_UNICAST
                };
                let rr = bgp_wire::RouteRefresh {
                    family,
                    subtype: bgp_wire::RefreshSubtype(input.byte() % 4),
                };
                peer.handle(now, Event::RouteRefreshMsg(conn, rr))
            }
            _ => match peer.poll_timeout() {
                Some(t) => {
                    now = now.max(t);
                    peer.handle_timeout(now)
                }
                None => Actions::new(),
            },
        };
        if let Err(broken) = check_step(before, &peer, &actions) {
            // An invariant broke: that is a bug, and the fuzzer must see it.
            unreachable!("invariant broken after op {op}: {broken}\n{peer:#?}");
        }
    }
}
