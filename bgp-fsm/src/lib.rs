//! `bgp-fsm`: a sans-IO BGP-4 session state machine (RFC 4271 §8) with capability
//! negotiation and connection collision handling.
//!
//! It performs no I/O, starts no tasks and never reads the clock. The caller (a daemon, a
//! test, a gateway of your own) owns sockets and timers and drives it:
//!
//! * [`Session::handle`]`(now, event)` or [`Peer::handle`] feeds one RFC 4271 §8.1
//!   [`Event`] (a start or stop, a connection coming up or failing, a decoded message) and
//!   returns the [`Actions`] to carry out, in order: [`Action::Connect`],
//!   [`Action::Send`] (encoded bytes, ready to write), [`Action::Close`],
//!   [`Action::Established`] with the [`Negotiated`] parameters, [`Action::Down`] with a
//!   [`DownReason`], and UPDATE / ROUTE-REFRESH deliveries for the RIB.
//! * `poll_timeout()` says when the next timer is due; call `handle_timeout(now)` then.
//!
//! [`Peer`] wraps up to two [`Session`]s and resolves connection collisions (RFC 4271 §6.8);
//! use it unless you know only one connection can ever exist (e.g. passive mode behind a
//! listener that refuses a second connection).
//!
//! # Invariants
//!
//! * No input makes it panic; arithmetic on deadlines is checked.
//! * No message is sent while the session is Idle, and every [`Action::Send`] and
//!   [`Action::Close`] names a connection the caller reported.
//! * In Established with a non-zero negotiated hold time, the hold and keepalive timers run.
//! * A session that is enabled (started, not manually stopped) and falls to Idle arms its
//!   IdleHoldTimer and starts again when it expires; with DampPeerOscillations the wait
//!   doubles per fall up to [`Config::idle_hold_time_max`], and resets after a session
//!   stayed Established that long.
//!
//! # What the caller reports
//!
//! Besides connections and messages, report [`Event::UpdateSent`] when you write an UPDATE
//! (the KeepaliveTimer restarts, RFC 4271 §4.4) and [`Event::DataSent`] when the socket
//! accepts data or has nothing queued (the RFC 9687 SendHoldTimer restarts; without these
//! reports the session ends after the SendHoldTime, 8 minutes by default).
//!
//! # Example: driving one peer
//!
//! ```
//! use bgp_fsm::{Action, Config, ConnectionId, Event, Peer, PeerAs, State};
//! use bgp_wire::{Message, Open, SessionParams, decode, keepalive};
//! use std::net::Ipv4Addr;
//! use std::time::{Duration, Instant};
//!
//! let config = Config::new(65001, Ipv4Addr::new(192, 0, 2, 1), PeerAs::Exact(64512));
//! let mut peer = Peer::new(config)?;
//! let mut now = Instant::now(); // the caller's clock; the FSM never reads one
//!
//! // Start: the FSM asks for a connection.
//! let actions = peer.handle(now, Event::ManualStart);
//! assert!(matches!(actions.as_slice(), [Action::Connect]));
//!
//! // The socket connected: the FSM sends its OPEN.
//! let conn = ConnectionId(1);
//! let actions = peer.handle(now, Event::TcpCrAcked(conn));
//! for action in &actions {
//!     if let Action::Send { bytes, .. } = action {
//!         // socket.write_all(bytes) in a real driver
//!         assert!(matches!(decode(bytes.clone(), &SessionParams::default()), Ok(Message::Open(_))));
//!     }
//! }
//! assert_eq!(peer.state(), State::OpenSent);
//!
//! // Bytes from the peer are framed and decoded with bgp-wire, then fed back in.
//! let their_open = Open::new(64512, 90, Ipv4Addr::new(192, 0, 2, 2), vec![]).encode()?;
//! let params = peer.session().session_params();
//! peer.handle(now, Event::from_decoded(conn, decode(their_open, &params)));
//! let actions = peer.handle(now, Event::from_decoded(conn, decode(keepalive(), &params)));
//! let negotiated = actions.established().expect("session up");
//! assert_eq!((negotiated.peer_as, negotiated.hold_time), (64512, 90));
//!
//! // Timers: sleep until poll_timeout(), then let the FSM act (here: send a KEEPALIVE).
//! let deadline = peer.poll_timeout().expect("keepalive timer runs");
//! assert_eq!(deadline, now + Duration::from_secs(30));
//! now = deadline;
//! let actions = peer.handle_timeout(now);
//! assert_eq!(actions.sent_types(), [bgp_wire::MessageType::KEEPALIVE]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # RFC 4271 §8 coverage
//!
//! All six states and the §8.2.2 transitions for events 1-28, plus RFC 9687 event 29
//! (SendHoldTimer_Expires) and ROUTE-REFRESH. Optional session attributes (§8.1.1):
//!
//! | attribute | here |
//! |---|---|
//! | PassiveTcpEstablishment | [`Config::passive`], events 4/5/7 |
//! | DelayOpen, DelayOpenTime/Timer | [`Config::delay_open_time`], events 12/20 |
//! | DampPeerOscillations, IdleHoldTime/Timer | [`Config::damp_peer_oscillations`], [`Config::idle_hold_time`], events 6/7/13 |
//! | CollisionDetectEstablishedState | [`Config::collision_detect_established`] ([`Peer`]) |
//! | SendNOTIFICATIONwithoutOPEN | [`Config::send_notification_without_open`] |
//! | AllowAutomaticStart / AllowAutomaticStop | not flags: the caller decides whether to send events 3-8 |
//! | TrackTcpState | left out: events 14/15 are accepted but TCP flags are the socket layer's business |
//!
//! Also left out, with reasons: timer jitter (§10) — the FSM has no source of randomness and
//! deadlines are exact so that tests are deterministic; a driver may jitter
//! [`Config::connect_retry_time`] per peer. MinRouteAdvertisementInterval and
//! MinASOriginationInterval pace UPDATEs, which the RIB and daemon send, not the FSM.
//! Graceful restart is negotiated ([`Negotiated::graceful_restart`]); the receiving
//! speaker procedures of RFC 4724 §4.2 (which routes to keep stale, the Restart Time and
//! stale path timers) are decided by [`RestartHelper`], the routes themselves are kept by
//! the RIB. Not implemented: RFC 8538 (graceful restart after a NOTIFICATION) and
//! Long-Lived GR.
//!
//! Deliberate deviations from the letter of §8.2.2:
//!
//! * A received NOTIFICATION in OpenSent is not answered with an FSM Error (the peer has
//!   already closed); the session just goes down.
//! * BGPHeaderErr in Established sends the §6.1 Message Header Error, not an FSM Error;
//!   §6.1 and §8.2.2 disagree and the error the peer can act on wins.
//! * A passive session never moves from Active to Connect on ConnectRetryTimer expiry:
//!   passive must mean never initiating (Azure's "ResponderOnly").
//! * Any enabled session, not only a damped one, restarts itself via the IdleHoldTimer after
//!   falling to Idle; automatic starts wait for a running IdleHoldTimer, manual ones do not.
//! * Collision detection also examines sessions in OpenSent (the OPEN just received tells
//!   the peer's identifier, which §6.8 allows) and resolves by who initiated each
//!   connection, so both speakers close the same one.
//! * A second OPEN on a connection in OpenConfirm or Established is an FSM Error (RFC 6608
//!   subcodes); OPENs on the other connection go through collision detection.
//!
//! # Testing aids
//!
//! [`testing`] holds a simulated-clock harness that wires two [`Peer`]s back to back, and
//! [`testing::drive_from_bytes`], the fuzzing entry point.

#![forbid(unsafe_code)]

mod action;
mod config;
mod event;
mod negotiate;
mod peer;
mod restart;
mod session;
pub mod testing;

pub use action::{Action, Actions, DownReason, Notified, Outgoing, State};
pub use config::{
    Config, ConfigError, DEFAULT_CONNECT_RETRY_TIME, DEFAULT_HOLD_TIME, DEFAULT_IDLE_HOLD_TIME,
    DEFAULT_IDLE_HOLD_TIME_MAX, DEFAULT_SEND_HOLD_TIME, GracefulRestartConfig, OPEN_HOLD_TIME,
    PeerAs, RoleConfig,
};
pub use event::{ConnectionId, Event, Timer};
pub use negotiate::{Negotiated, Rejection, negotiate};
pub use peer::Peer;
pub use restart::{
    DEFAULT_STALE_PATH_TIME, HelperAction, HelperConfig, Restart, RestartHelper, RestartPhase,
};
pub use session::Session;
