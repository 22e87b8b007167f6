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
pub use session::Session;
