//! One BGP session over at most one connection: the RFC 4271 §8.2.2 state machine.

use bgp_wire::notification::{cease_subcode, fsm_subcode};
use bgp_wire::{ErrorCode, Notification, Open, SessionParams, keepalive};
use bytes::Bytes;
use std::time::{Duration, Instant};

use crate::action::{Action, Actions, DownReason, Notified, Outgoing, State};
use crate::config::{Config, ConfigError, OPEN_HOLD_TIME};
use crate::event::{ConnectionId, Event, Timer, is_version_error};
use crate::negotiate::{Negotiated, negotiate};

/// At most this many timer expiries are handled per [`Session::handle_timeout`] call, so a
/// zero-length timer re-armed by its own expiry cannot loop; the rest fire on the next call.
const MAX_EXPIRIES_PER_CALL: usize = 16;

/// The connection a session runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Connection {
    pub(crate) id: ConnectionId,
    /// We initiated it (event 16) rather than accepted it (event 17).
    pub(crate) outgoing: bool,
    /// When the session took it.
    pub(crate) since: Instant,
}

#[derive(Clone, Copy, Default, Debug)]
struct Timers {
    connect_retry: Option<Instant>,
    hold: Option<Instant>,
    keepalive: Option<Instant>,
    delay_open: Option<Instant>,
    idle_hold: Option<Instant>,
    send_hold: Option<Instant>,
}

impl Timers {
    fn slot(&mut self, timer: Timer) -> &mut Option<Instant> {
        match timer {
            Timer::ConnectRetry => &mut self.connect_retry,
            Timer::Hold => &mut self.hold,
            Timer::Keepalive => &mut self.keepalive,
            Timer::DelayOpen => &mut self.delay_open,
            Timer::IdleHold => &mut self.idle_hold,
            Timer::SendHold => &mut self.send_hold,
        }
    }

    fn get(&self, timer: Timer) -> Option<Instant> {
        match timer {
            Timer::ConnectRetry => self.connect_retry,
            Timer::Hold => self.hold,
            Timer::Keepalive => self.keepalive,
            Timer::DelayOpen => self.delay_open,
            Timer::IdleHold => self.idle_hold,
            Timer::SendHold => self.send_hold,
        }
    }
}

/// What to do with the ConnectRetryCounter when falling back to Idle.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counter {
    Reset,
    Keep,
    Increment,
}

/// A BGP session with one peer over at most one connection (RFC 4271 §8).
///
/// It performs no I/O and never reads the clock: feed it [`Event`]s with the current time
/// through [`Session::handle`], call [`Session::handle_timeout`] when
/// [`Session::poll_timeout`] is reached, and carry out the returned [`Actions`] in order.
/// For a peer that may connect to us while we connect to it, use [`crate::Peer`], which
/// resolves connection collisions over two sessions.
#[derive(Clone, Debug)]
pub struct Session {
    config: Config,
    local_open: Open,
    open_bytes: Bytes,
    state: State,
    connection: Option<Connection>,
    timers: Timers,
    connect_retry_counter: u32,
    /// A start event arrived and no ManualStop since: falling to Idle arms the
    /// IdleHoldTimer, whose expiry starts the session again.
    enabled: bool,
    /// The current run never initiates connections (PassiveTcpEstablishment).
    passive: bool,
    /// The current run grows the IdleHoldTimer (DampPeerOscillations).
    damping: bool,
    /// The IdleHoldTime the next fall to Idle waits.
    idle_hold: Duration,
    /// Our OPEN went out on the current connection.
    open_sent: bool,
    negotiated: Option<Negotiated>,
    established_at: Option<Instant>,
}

impl Session {
    /// A session in Idle. Fails when the configuration cannot work (the error names the
    /// field and how to fix it).
    pub fn new(config: Config) -> Result<Session, ConfigError> {
        let open_bytes = config.validate()?;
        Ok(Session {
            local_open: config.open(),
            open_bytes,
            state: State::Idle,
            connection: None,
            timers: Timers::default(),
            connect_retry_counter: 0,
            enabled: false,
            passive: config.passive,
            damping: config.damp_peer_oscillations,
            idle_hold: config.idle_hold_time,
            open_sent: false,
            negotiated: None,
            established_at: None,
            config,
        })
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The connection the session runs on.
    pub fn connection(&self) -> Option<ConnectionId> {
        self.connection.map(|c| c.id)
    }

    /// Whether the current connection is one we initiated.
    pub fn is_outgoing(&self) -> Option<bool> {
        self.connection.map(|c| c.outgoing)
    }

    /// What the OPENs agreed (from OpenConfirm on).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Parameters to decode this session's messages with: the negotiated ones once both
    /// OPENs are in, the pre-OPEN defaults before.
    pub fn session_params(&self) -> SessionParams {
        self.negotiated
            .as_ref()
            .map_or_else(SessionParams::default, |n| n.params)
    }

    /// Deadline of a timer, if it runs.
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// The ConnectRetryCounter (RFC 4271 §8.1.1).
    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// The IdleHoldTime the next fall to Idle will wait (grows with damping).
    pub fn idle_hold_time(&self) -> Duration {
        self.idle_hold
    }

    /// Whether the session restarts by itself after falling to Idle (a start event came and
    /// no ManualStop since).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Our OPEN.
    pub fn local_open(&self) -> &Open {
        &self.local_open
    }

    /// The earliest running timer's deadline: call [`Session::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Timer::ALL.iter().filter_map(|t| self.timers.get(*t)).min()
    }

    /// Handles every timer due at `now` (RFC 4271 events 9-13, RFC 9687 event 29).
    pub fn handle_timeout(&mut self, now: Instant) -> Actions {
        let mut actions = Actions::new();
        for _ in 0..MAX_EXPIRIES_PER_CALL {
            let due = Timer::ALL
                .iter()
                .filter_map(|t| self.timers.get(*t).map(|at| (at, *t)))
                .filter(|(at, _)| *at <= now)
                .min_by_key(|(at, _)| *at);
            let Some((_, timer)) = due else { break };
            *self.timers.slot(timer) = None;
            self.dispatch(now, timer.expiry(), &mut actions);
        }
        actions
    }

    /// Handles one event at time `now`.
    pub fn handle(&mut self, now: Instant, event: Event) -> Actions {
        let mut actions = Actions::new();
        self.dispatch(now, event, &mut actions);
        actions
    }

    pub(crate) fn dispatch(&mut self, now: Instant, event: Event, acts: &mut Actions) {
        if let Some(id) = event.connection()
            && !self.accepts_connection_event(id, &event, acts)
        {
            return;
        }
        match self.state {
            State::Idle => self.idle(now, event, acts),
            State::Connect | State::Active => self.connect_or_active(now, event, acts),
            State::OpenSent => self.open_sent(now, event, acts),
            State::OpenConfirm => self.open_confirm(now, event, acts),
            State::Established => self.established(now, event, acts),
        }
    }

    /// Filters events about a connection that is not this session's: stale messages are
    /// dropped, a second connection is refused (the collision wrapper never passes one),
    /// and a failure of an unknown connection counts as our connection attempt failing.
    fn accepts_connection_event(
        &mut self,
        id: ConnectionId,
        event: &Event,
        acts: &mut Actions,
    ) -> bool {
        let current = self.connection.map(|c| c.id);
        if current == Some(id) {
            return match event {
                // A connection cannot come up twice.
                Event::TcpCrAcked(_)
                | Event::TcpConnectionConfirmed(_)
                | Event::TcpConnectionValid(_) => false,
                _ => true,
            };
        }
        match event {
            // A passive peer never initiates, so a connection "we" initiated is not ours.
            Event::TcpCrAcked(_) if self.config.passive => {
                acts.push(Action::Close { connection: id });
                false
            }
            Event::TcpCrInvalid(_) => {
                // RFC 4271 §8.2.2: Tcp_CR_Invalid is rejected in every state.
                acts.push(Action::Close { connection: id });
                false
            }
            Event::TcpCrAcked(_) | Event::TcpConnectionConfirmed(_) => {
                if current.is_some() {
                    acts.push(Action::Close { connection: id });
                    false
                } else {
                    true
                }
            }
            Event::TcpConnectionValid(_) => current.is_none(),
            // Our connection attempt (which has no id the FSM knows) failed.
            Event::TcpConnectionFails(_) => current.is_none() && self.state == State::Connect,
            _ => false,
        }
    }

    // ----- helpers -------------------------------------------------------------------

    fn arm(&mut self, now: Instant, timer: Timer, after: Duration) {
        // A deadline past what Instant can hold never comes: leave the timer off rather
        // than overflow.
        *self.timers.slot(timer) = now.checked_add(after);
    }

    fn stop(&mut self, timer: Timer) {
        *self.timers.slot(timer) = None;
    }

    fn running(&self, timer: Timer) -> bool {
        self.timers.get(timer).is_some()
    }

    fn arm_connect_retry(&mut self, now: Instant) {
        if self.passive {
            // A passive session never initiates, so it has nothing to retry.
            self.stop(Timer::ConnectRetry);
        } else {
            self.arm(now, Timer::ConnectRetry, self.config.connect_retry_time);
        }
    }

    fn send_hold_time(&self) -> Option<Duration> {
        let configured = self.config.send_hold_time?;
        // RFC 9687 §3: "the SendHoldTimer ... SHOULD be ... at least ... twice the
        // negotiated HoldTime"; before negotiation the hold timer runs at its large
        // OpenSent value.
        let hold = self.negotiated.as_ref().map_or(OPEN_HOLD_TIME, |n| {
            Duration::from_secs(u64::from(n.hold_time))
        });
        Some(configured.max(hold.saturating_mul(2)))
    }

    fn restart_send_hold(&mut self, now: Instant) {
        match self.send_hold_time() {
            Some(d) => self.arm(now, Timer::SendHold, d),
            None => self.stop(Timer::SendHold),
        }
    }

    fn restart_hold(&mut self, now: Instant) {
        match self.negotiated.as_ref().and_then(Negotiated::hold) {
            Some(d) => self.arm(now, Timer::Hold, d),
            None => self.stop(Timer::Hold),
        }
    }

    fn restart_keepalive(&mut self, now: Instant) {
        match self.negotiated.as_ref().and_then(Negotiated::keepalive) {
            Some(d) => self.arm(now, Timer::Keepalive, d),
            None => self.stop(Timer::Keepalive),
        }
    }

    fn send(&mut self, message: Outgoing, acts: &mut Actions) {
        let Some(conn) = self.connection else { return };
        let bytes = match &message {
            Outgoing::Open(_) => self.open_bytes.clone(),
            Outgoing::Keepalive => keepalive(),
            Outgoing::Notification(n) => n.encode(),
        };
        acts.push(Action::Send {
            connection: conn.id,
            message,
            bytes,
        });
    }

    fn send_notification(&mut self, n: &Notification, acts: &mut Actions) -> Option<Notified> {
        self.connection?;
        self.send(Outgoing::Notification(n.clone()), acts);
        Some(Notified::Sent(n.clone()))
    }

    fn adopt(&mut self, now: Instant, id: ConnectionId, outgoing: bool) {
        self.connection = Some(Connection {
            id,
            outgoing,
            since: now,
        });
        self.open_sent = false;
    }

    /// Enters Connect or Active from Idle (events 1, 3-7, 13).
    fn start(&mut self, now: Instant, passive: bool, damped: bool, acts: &mut Actions) {
        self.enabled = true;
        self.passive = passive || self.config.passive;
        self.damping = damped || self.config.damp_peer_oscillations;
        self.stop(Timer::IdleHold);
        // RFC 4271 §8.2.2 Idle: "sets ConnectRetryCounter to zero, starts the
        // ConnectRetryTimer with the initial value".
        self.connect_retry_counter = 0;
        self.arm_connect_retry(now);
        if self.passive {
            self.state = State::Active;
        } else {
            self.state = State::Connect;
            acts.push(Action::Connect);
        }
    }

    /// Sends our OPEN and waits for the peer's (RFC 4271 §8.2.2 Connect, events 12/16/17).
    fn enter_open_sent(&mut self, now: Instant, acts: &mut Actions) {
        self.stop(Timer::ConnectRetry);
        self.stop(Timer::DelayOpen);
        self.send(Outgoing::Open(self.local_open.clone()), acts);
        self.open_sent = true;
        // "sets the HoldTimer to a large value ... A HoldTimer value of 4 minutes is
        // suggested."
        self.arm(now, Timer::Hold, OPEN_HOLD_TIME);
        self.restart_send_hold(now);
        self.state = State::OpenSent;
    }

    /// A TCP connection came up in Connect or Active (events 16, 17).
    fn connection_up(
        &mut self,
        now: Instant,
        id: ConnectionId,
        outgoing: bool,
        acts: &mut Actions,
    ) {
        self.adopt(now, id, outgoing);
        match self.config.delay_open_time {
            // "If the DelayOpen attribute is set to TRUE, the local system: stops the
            // ConnectRetryTimer (if running) and sets the ConnectRetryTimer to zero, sets
            // the DelayOpenTimer to the initial value, and stays in the Connect state."
            Some(delay) => {
                self.stop(Timer::ConnectRetry);
                self.arm(now, Timer::DelayOpen, delay);
            }
            None => self.enter_open_sent(now, acts),
        }
    }

    /// Checks the peer's OPEN (events 19, 20) and moves to OpenConfirm, or refuses it.
    fn receive_open(&mut self, now: Instant, open: &Open, acts: &mut Actions) {
        match negotiate(&self.config, open) {
            Ok(negotiated) => {
                self.stop(Timer::ConnectRetry);
                if self.running(Timer::DelayOpen) || !self.open_sent {
                    // Event 20: "sends an OPEN message" first.
                    self.stop(Timer::DelayOpen);
                    self.send(Outgoing::Open(self.local_open.clone()), acts);
                    self.open_sent = true;
                }
                self.negotiated = Some(negotiated);
                self.send(Outgoing::Keepalive, acts);
                // "If the HoldTimer initial value is non-zero, starts the KeepaliveTimer
                // ... and resets the HoldTimer to the negotiated value; else ... resets
                // the KeepaliveTimer and the HoldTimer value to zero".
                self.restart_keepalive(now);
                self.restart_hold(now);
                self.restart_send_hold(now);
                self.state = State::OpenConfirm;
            }
            Err(rejection) => {
                let notified = self.notify_if_allowed(&rejection.notification, acts);
                self.go_idle(
                    now,
                    acts,
                    rejection.description,
                    notified,
                    Counter::Increment,
                );
            }
        }
    }

    /// Sends an error NOTIFICATION, unless no OPEN went out yet and
    /// SendNOTIFICATIONwithoutOPEN is off (RFC 4271 §8.2.2 Connect/Active, events 21/22).
    fn notify_if_allowed(&mut self, n: &Notification, acts: &mut Actions) -> Option<Notified> {
        if self.open_sent || self.config.send_notification_without_open {
            self.send_notification(n, acts)
        } else {
            None
        }
    }

    /// Releases the connection and resources and enters Idle, arming the IdleHoldTimer
    /// when the session is enabled.
    fn go_idle(
        &mut self,
        now: Instant,
        acts: &mut Actions,
        description: String,
        notification: Option<Notified>,
        counter: Counter,
    ) {
        let was_established = self.state == State::Established;
        if was_established
            && let Some(since) = self.established_at
            && now.saturating_duration_since(since) >= self.config.idle_hold_time_max
        {
            // The session stayed up long enough: it is not oscillating.
            self.idle_hold = self.config.idle_hold_time;
        }
        let connection = self.connection.take().map(|c| c.id);
        if let Some(id) = connection {
            acts.push(Action::Close { connection: id });
        }
        acts.push(Action::Down {
            connection,
            was_established,
            reason: DownReason {
                description,
                notification,
            },
        });
        self.timers = Timers::default();
        self.negotiated = None;
        self.established_at = None;
        self.open_sent = false;
        self.state = State::Idle;
        match counter {
            Counter::Reset => self.connect_retry_counter = 0,
            Counter::Keep => {}
            Counter::Increment => {
                self.connect_retry_counter = self.connect_retry_counter.saturating_add(1)
            }
        }
        if self.enabled {
            let wait = self.idle_hold;
            self.arm(now, Timer::IdleHold, wait);
            if self.damping {
                // DampPeerOscillations: each fall without a stable session doubles the
                // wait, up to the configured maximum.
                self.idle_hold = wait
                    .saturating_mul(2)
                    .max(Duration::from_secs(1))
                    .min(self.config.idle_hold_time_max);
            }
        }
    }

    fn stop_by_operator(&mut self, now: Instant, message: &str, acts: &mut Actions) {
        self.enabled = false;
        let n = Notification::administrative_shutdown(message, false);
        // An OPEN must precede any other message; before it, only SendNOTIFICATIONwithoutOPEN
        // allows the Cease.
        let notified = self.notify_if_allowed(&n, acts);
        self.idle_hold = self.config.idle_hold_time;
        self.go_idle(
            now,
            acts,
            "stopped by the operator (ManualStop)".into(),
            notified,
            Counter::Reset,
        );
    }

    fn fail(&mut self, now: Instant, n: Notification, description: String, acts: &mut Actions) {
        let notified = self.send_notification(&n, acts);
        self.go_idle(now, acts, description, notified, Counter::Increment);
    }

    /// RFC 6608: "Receive Unexpected Message in <state>" (or Unspecified Error for an
    /// event that is not a message).
    fn fsm_error(&mut self, now: Instant, event: &Event, acts: &mut Actions) {
        let subcode = if !event.is_message() {
            fsm_subcode::UNSPECIFIED
        } else {
            match self.state {
                State::OpenSent => fsm_subcode::UNEXPECTED_IN_OPEN_SENT,
                State::OpenConfirm => fsm_subcode::UNEXPECTED_IN_OPEN_CONFIRM,
                State::Established => fsm_subcode::UNEXPECTED_IN_ESTABLISHED,
                _ => fsm_subcode::UNSPECIFIED,
            }
        };
        let n = Notification::new(ErrorCode::FSM, subcode, Bytes::new());
        let description = format!("unexpected {} in {}", event.name(), self.state);
        self.fail(now, n, description, acts);
    }

    fn hold_expired(&mut self, now: Instant, acts: &mut Actions) {
        let held = self
            .negotiated
            .as_ref()
            .map_or(OPEN_HOLD_TIME.as_secs(), |n| u64::from(n.hold_time));
        self.fail(
            now,
            Notification::hold_timer_expired(),
            format!("hold timer expired: nothing heard from the peer for {held} s"),
            acts,
        );
    }

    fn send_hold_expired(&mut self, now: Instant, acts: &mut Actions) {
        // RFC 9687 §4: the peer has not taken our data for SendHoldTime; close with Send
        // Hold Timer Expired (the NOTIFICATION may not get through the full window).
        let n = Notification::new(ErrorCode::SEND_HOLD_TIMER_EXPIRED, 0, Bytes::new());
        let secs = self.send_hold_time().map_or(0, |d| d.as_secs());
        self.fail(
            now,
            n,
            format!("send hold timer expired: the peer read nothing from us for {secs} s"),
            acts,
        );
    }

    fn automatic_stop(&mut self, now: Instant, n: &Notification, acts: &mut Actions) {
        let notified = self.notify_if_allowed(n, acts);
        self.go_idle(
            now,
            acts,
            "stopped automatically (AutomaticStop)".into(),
            notified,
            Counter::Increment,
        );
    }

    fn received_notification(&mut self, now: Instant, n: Notification, acts: &mut Actions) {
        let mut description = format!("peer sent NOTIFICATION {n}");
        if n.code == ErrorCode::CEASE && n.subcode == cease_subcode::CONNECTION_COLLISION_RESOLUTION
        {
            description.push_str(" (it kept the other connection)");
        }
        // Event 24 in Connect/Active with the DelayOpenTimer running, and in OpenSent and
        // OpenConfirm: "releases all BGP resources, drops the TCP connection, and changes
        // its state to Idle" without counting it.
        let counter = if is_version_error(&n)
            && (self.running(Timer::DelayOpen)
                || matches!(self.state, State::OpenSent | State::OpenConfirm))
        {
            Counter::Keep
        } else {
            Counter::Increment
        };
        self.go_idle(now, acts, description, Some(Notified::Received(n)), counter);
    }

    fn connection_lost(&mut self, now: Instant, acts: &mut Actions) {
        // The transport is already gone: nothing to close.
        self.connection = None;
        self.go_idle(
            now,
            acts,
            "connection closed or failed".into(),
            None,
            Counter::Increment,
        );
    }

    /// RFC 4724 §4.2: the peer, which announced Graceful Restart, opened a new connection
    /// while this session was Established: the old connection is closed without a
    /// NOTIFICATION, and the session ends as if its transport had failed, so that the
    /// peer's routes are kept as for any restart.
    pub(crate) fn superseded_by_restart(&mut self, now: Instant, acts: &mut Actions) {
        self.go_idle(
            now,
            acts,
            "the peer restarted: a new connection replaced the Established one".into(),
            None,
            Counter::Increment,
        );
    }

    fn collision_dump(&mut self, now: Instant, acts: &mut Actions) {
        let n = Notification::cease(cease_subcode::CONNECTION_COLLISION_RESOLUTION);
        let notified = self.notify_if_allowed(&n, acts);
        self.go_idle(
            now,
            acts,
            "connection collision resolution: the other connection to this peer wins".into(),
            notified,
            Counter::Increment,
        );
    }

    // ----- states --------------------------------------------------------------------

    /// RFC 4271 §8.2.2 Idle: "In this state, BGP FSM refuses all incoming BGP connections
    /// for this peer."
    fn idle(&mut self, now: Instant, event: Event, acts: &mut Actions) {
        let waiting = self.running(Timer::IdleHold);
        match event {
            Event::ManualStart => {
                self.idle_hold = self.config.idle_hold_time;
                self.start(now, false, false, acts);
            }
            Event::ManualStartPassive => {
                self.idle_hold = self.config.idle_hold_time;
                self.start(now, true, false, acts);
            }
            // Automatic starts respect a running IdleHoldTimer: that is what damping is
            // for. The start happens when it expires (event 13).
            Event::AutomaticStart
            | Event::AutomaticStartPassive
            | Event::AutomaticStartDamped
            | Event::AutomaticStartDampedPassive => {
                let passive = matches!(
                    event,
                    Event::AutomaticStartPassive | Event::AutomaticStartDampedPassive
                );
                let damped = matches!(
                    event,
                    Event::AutomaticStartDamped | Event::AutomaticStartDampedPassive
                );
                if waiting {
                    self.enabled = true;
                    self.passive = passive || self.config.passive;
                    self.damping = damped || self.config.damp_peer_oscillations;
                } else {
                    self.start(now, passive, damped, acts);
                }
            }
            Event::IdleHoldTimerExpires if self.enabled => {
                let (passive, damping) = (self.passive, self.damping);
                self.start(now, passive, damping, acts);
            }
            Event::TcpCrAcked(id) | Event::TcpConnectionConfirmed(id) => {
                acts.push(Action::Close { connection: id });
            }
            // RFC 4271 ignores ManualStop in Idle; it still cancels a pending automatic
            // restart, or the operator's stop would be undone by the IdleHoldTimer.
            Event::ManualStop(_) => {
                self.enabled = false;
                self.stop(Timer::IdleHold);
                self.idle_hold = self.config.idle_hold_time;
            }
            // Events 8-12, 14, 18-29: "does not cause change in the state".
            _ => {}
        }
    }

    /// RFC 4271 §8.2.2 Connect and Active: the two differ only in a few events.
    fn connect_or_active(&mut self, now: Instant, event: Event, acts: &mut Actions) {
        let connect = self.state == State::Connect;
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::ManualStartPassive
            | Event::AutomaticStartPassive
            | Event::AutomaticStartDamped
            | Event::AutomaticStartDampedPassive => {}
            Event::ManualStop(message) => self.stop_by_operator(now, &message, acts),
            Event::ConnectRetryTimerExpires => {
                if self.passive {
                    // Passive mode never initiates (a deviation from the Active-state text,
                    // which moves to Connect: PassiveTcpEstablishment must mean it).
                    return;
                }
                // Connect: "drops the TCP connection, restarts the ConnectRetryTimer, stops
                // the DelayOpenTimer ..., initiates a TCP connection"; Active: "restarts the
                // ConnectRetryTimer, initiates a TCP connection ..., changes its state to
                // Connect".
                if let Some(c) = self.connection.take() {
                    acts.push(Action::Close { connection: c.id });
                }
                self.stop(Timer::DelayOpen);
                self.arm_connect_retry(now);
                acts.push(Action::Connect);
                self.state = State::Connect;
            }
            Event::DelayOpenTimerExpires if self.connection.is_some() => {
                self.enter_open_sent(now, acts);
            }
            // Nothing to open without a connection.
            Event::DelayOpenTimerExpires => {}
            Event::TcpConnectionValid(_) => {}
            Event::TcpCrAcked(id) => self.connection_up(now, id, true, acts),
            Event::TcpConnectionConfirmed(id) => self.connection_up(now, id, false, acts),
            Event::TcpConnectionFails(_) => {
                if connect && self.running(Timer::DelayOpen) {
                    // Connect: "If the DelayOpenTimer is running, ... restarts the
                    // ConnectRetryTimer ..., stops the DelayOpenTimer ..., continues to
                    // listen ..., and changes its state to Active."
                    self.connection = None;
                    self.stop(Timer::DelayOpen);
                    self.arm_connect_retry(now);
                    self.state = State::Active;
                } else if connect {
                    // "If the DelayOpenTimer is not running, ... stops the
                    // ConnectRetryTimer to zero, drops the TCP connection, releases all
                    // BGP resources, and changes its state to Idle."
                    self.connection = None;
                    self.go_idle(
                        now,
                        acts,
                        "could not connect to the peer".into(),
                        None,
                        Counter::Keep,
                    );
                } else {
                    // Active: "restarts the ConnectRetryTimer ..., stops and resets the
                    // DelayOpenTimer ..., releases all BGP resources, increments the
                    // ConnectRetryCounter by 1, ... changes its state to Idle."
                    self.connection_lost(now, acts);
                }
            }
            Event::BgpOpen(_, open) if self.running(Timer::DelayOpen) => {
                // Event 20: BGPOpen with the DelayOpenTimer running.
                self.receive_open(now, &open, acts);
            }
            Event::BgpHeaderErr(_, e) | Event::BgpOpenMsgErr(_, e) => {
                let notified = self.notify_if_allowed(&e.notification(), acts);
                self.go_idle(
                    now,
                    acts,
                    format!("malformed message from the peer: {e}"),
                    notified,
                    Counter::Increment,
                );
            }
            Event::NotifMsgVerErr(_, n) => self.received_notification(now, n, acts),
            Event::NotifMsg(_, n) if is_version_error(&n) => {
                self.received_notification(now, n, acts)
            }
            Event::UpdateSent(_) | Event::DataSent(_) => {}
            // "In response to any other event (Events 8, 10-11, 13, 19, 23, 25-28), the
            // local system: ... increments the ConnectRetryCounter by 1, performs peer
            // oscillation damping ..., and changes its state to Idle."
            Event::NotifMsg(_, n) => self.received_notification(now, n, acts),
            other => {
                let description = match &other {
                    Event::AutomaticStop(_) => "stopped automatically (AutomaticStop)".into(),
                    Event::OpenCollisionDump(_) => {
                        "connection collision resolution: the other connection wins".into()
                    }
                    e => format!("unexpected {} in {}", e.name(), self.state),
                };
                let notified = match other {
                    Event::AutomaticStop(n) => self.notify_if_allowed(&n, acts),
                    Event::OpenCollisionDump(_) => self.notify_if_allowed(
                        &Notification::cease(cease_subcode::CONNECTION_COLLISION_RESOLUTION),
                        acts,
                    ),
                    _ => None,
                };
                self.go_idle(now, acts, description, notified, Counter::Increment);
            }
        }
    }

    /// RFC 4271 §8.2.2 OpenSent.
    fn open_sent(&mut self, now: Instant, event: Event, acts: &mut Actions) {
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::ManualStartPassive
            | Event::AutomaticStartPassive
            | Event::AutomaticStartDamped
            | Event::AutomaticStartDampedPassive
            | Event::TcpConnectionValid(_) => {}
            Event::ManualStop(message) => self.stop_by_operator(now, &message, acts),
            Event::AutomaticStop(n) => self.automatic_stop(now, &n, acts),
            Event::HoldTimerExpires => self.hold_expired(now, acts),
            Event::SendHoldTimerExpires => self.send_hold_expired(now, acts),
            Event::TcpConnectionFails(_) => {
                // "closes the BGP connection, restarts the ConnectRetryTimer, continues to
                // listen for a connection that may be initiated by the remote BGP peer, and
                // changes its state to Active."
                self.connection = None;
                self.open_sent = false;
                let keep = self.timers.idle_hold;
                self.timers = Timers {
                    idle_hold: keep,
                    ..Timers::default()
                };
                self.arm_connect_retry(now);
                self.state = State::Active;
            }
            Event::BgpOpen(_, open) => self.receive_open(now, &open, acts),
            Event::BgpHeaderErr(_, e) | Event::BgpOpenMsgErr(_, e) => self.fail(
                now,
                e.notification(),
                format!("malformed message from the peer: {e}"),
                acts,
            ),
            Event::OpenCollisionDump(_) => self.collision_dump(now, acts),
            Event::NotifMsgVerErr(_, n) | Event::NotifMsg(_, n) => {
                // RFC 4271 lists NotifMsg among the events answered with an FSM Error;
                // answering a NOTIFICATION with one is pointless (the peer has closed), so
                // the session just goes down.
                self.received_notification(now, n, acts)
            }
            Event::DataSent(_) | Event::UpdateSent(_) => self.restart_send_hold(now),
            // Events 9, 11-13, 20, 26-28 and ROUTE-REFRESH: FSM Error.
            other => self.fsm_error(now, &other, acts),
        }
    }

    /// RFC 4271 §8.2.2 OpenConfirm.
    fn open_confirm(&mut self, now: Instant, event: Event, acts: &mut Actions) {
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::ManualStartPassive
            | Event::AutomaticStartPassive
            | Event::AutomaticStartDamped
            | Event::AutomaticStartDampedPassive
            | Event::TcpConnectionValid(_) => {}
            Event::ManualStop(message) => self.stop_by_operator(now, &message, acts),
            Event::AutomaticStop(n) => self.automatic_stop(now, &n, acts),
            Event::HoldTimerExpires => self.hold_expired(now, acts),
            Event::SendHoldTimerExpires => self.send_hold_expired(now, acts),
            Event::KeepaliveTimerExpires => {
                self.send(Outgoing::Keepalive, acts);
                self.restart_keepalive(now);
            }
            Event::TcpConnectionFails(_) => self.connection_lost(now, acts),
            Event::BgpHeaderErr(_, e) | Event::BgpOpenMsgErr(_, e) => self.fail(
                now,
                e.notification(),
                format!("malformed message from the peer: {e}"),
                acts,
            ),
            Event::OpenCollisionDump(_) => self.collision_dump(now, acts),
            Event::NotifMsgVerErr(_, n) | Event::NotifMsg(_, n) => {
                self.received_notification(now, n, acts)
            }
            Event::KeepAliveMsg(id) => {
                // "restarts the HoldTimer and changes its state to Established."
                self.restart_hold(now);
                self.state = State::Established;
                self.established_at = Some(now);
                if let Some(n) = &self.negotiated {
                    acts.push(Action::Established {
                        connection: id,
                        negotiated: Box::new(n.clone()),
                    });
                }
            }
            Event::DataSent(_) | Event::UpdateSent(_) => self.restart_send_hold(now),
            // Events 9, 12-13, 19 on this connection, 20, 27-28, ROUTE-REFRESH: FSM Error.
            other => self.fsm_error(now, &other, acts),
        }
    }

    /// RFC 4271 §8.2.2 Established.
    fn established(&mut self, now: Instant, event: Event, acts: &mut Actions) {
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::ManualStartPassive
            | Event::AutomaticStartPassive
            | Event::AutomaticStartDamped
            | Event::AutomaticStartDampedPassive
            | Event::TcpConnectionValid(_) => {}
            Event::ManualStop(message) => self.stop_by_operator(now, &message, acts),
            Event::AutomaticStop(n) => self.automatic_stop(now, &n, acts),
            Event::HoldTimerExpires => self.hold_expired(now, acts),
            Event::SendHoldTimerExpires => self.send_hold_expired(now, acts),
            Event::KeepaliveTimerExpires => {
                // "sends a KEEPALIVE message, and restarts its KeepaliveTimer, unless the
                // negotiated HoldTime value is zero."
                self.send(Outgoing::Keepalive, acts);
                self.restart_keepalive(now);
            }
            Event::TcpConnectionFails(_) => self.connection_lost(now, acts),
            Event::OpenCollisionDump(_) => self.collision_dump(now, acts),
            Event::NotifMsgVerErr(_, n) | Event::NotifMsg(_, n) => {
                self.received_notification(now, n, acts)
            }
            Event::KeepAliveMsg(_) => self.restart_hold(now),
            Event::UpdateMsg(id, update) => {
                self.restart_hold(now);
                acts.push(Action::DeliverUpdate {
                    connection: id,
                    update,
                });
            }
            Event::RouteRefreshMsg(id, refresh) => {
                self.restart_hold(now);
                // RFC 2918 §4: a ROUTE-REFRESH for a family that was not negotiated "shall
                // be ignored"; RFC 7313 §5: so is an unknown subtype.
                let wanted = self.negotiated.as_ref().is_some_and(|n| {
                    (n.route_refresh || n.enhanced_route_refresh)
                        && n.families.contains(&refresh.family)
                });
                if wanted && refresh.subtype.is_known() {
                    acts.push(Action::DeliverRouteRefresh {
                        connection: id,
                        refresh,
                    });
                }
            }
            Event::UpdateMsgErr(_, e) | Event::BgpHeaderErr(_, e) => {
                // RFC 4271 §6.1 and §6.3 name the NOTIFICATION for these; the §8.2.2 text
                // that answers a header error with an FSM Error contradicts §6.1, and §6
                // wins here.
                self.fail(
                    now,
                    e.notification(),
                    format!("malformed message from the peer: {e}"),
                    acts,
                )
            }
            Event::UpdateSent(_) => {
                // RFC 4271 §4.4: "each time the local system sends a KEEPALIVE or UPDATE
                // message, it restarts its KeepaliveTimer".
                self.restart_keepalive(now);
                self.restart_send_hold(now);
            }
            Event::DataSent(_) => self.restart_send_hold(now),
            // Events 9, 12-13, 19 on this connection, 20, 22: FSM Error.
            other => self.fsm_error(now, &other, acts),
        }
    }

    // ----- for the collision wrapper -------------------------------------------------

    pub(crate) fn connection_info(&self) -> Option<Connection> {
        self.connection
    }

    /// When the session reached Established (`None` when it is not).
    pub(crate) fn established_since(&self) -> Option<Instant> {
        self.established_at
            .filter(|_| self.state == State::Established)
    }

    /// A session for a second connection to the same peer (RFC 4271 §6.8): it takes over
    /// the connection at once and never restarts by itself.
    pub(crate) fn secondary(&self, now: Instant, event: Event, acts: &mut Actions) -> Session {
        let mut s = Session {
            config: self.config.clone(),
            local_open: self.local_open.clone(),
            open_bytes: self.open_bytes.clone(),
            state: State::Active,
            connection: None,
            timers: Timers::default(),
            connect_retry_counter: 0,
            enabled: false,
            passive: true,
            damping: false,
            idle_hold: self.config.idle_hold_time,
            open_sent: false,
            negotiated: None,
            established_at: None,
        };
        s.dispatch(now, event, acts);
        s
    }

    /// Takes over the restart behaviour of the session this one replaces.
    pub(crate) fn inherit_control(&mut self, from: &Session) {
        self.enabled = from.enabled;
        self.passive = from.passive;
        self.damping = from.damping;
        self.idle_hold = from.idle_hold;
        self.connect_retry_counter = from.connect_retry_counter;
    }
}
