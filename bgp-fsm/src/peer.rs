//! Connection collision (RFC 4271 §6.8): a per-peer wrapper over up to two sessions.

use bgp_wire::{Capability, Open};
use std::time::Instant;

use crate::action::{Action, Actions, State};
use crate::config::{Config, ConfigError};
use crate::event::{ConnectionId, Event};
use crate::negotiate::negotiate;
use crate::session::Session;

/// All sessions with one peer: the usual one, plus a second while two connections race
/// (each side connected to the other at once).
///
/// RFC 4271 §6.8: "Upon receipt of an OPEN message, the local system MUST examine all of
/// its connections that are in the OpenConfirm state. A BGP speaker MAY also examine
/// connections in an OpenSent state if it knows the BGP Identifier of the peer by means
/// outside of the protocol." The OPEN just received tells the peer's identifier, so
/// sessions in Connect, Active (DelayOpen), OpenSent and OpenConfirm are all examined, and
/// Established ones with CollisionDetectEstablishedState. The loser gets OpenCollisionDump
/// (event 23): Cease / Connection Collision Resolution, then close.
///
/// Events that name a connection go to the session holding it; a new connection goes to the
/// session waiting for one, or else starts the second session. Start, stop and injected
/// timer events go to the main session (stops to both).
#[derive(Clone, Debug)]
pub struct Peer {
    primary: Session,
    secondary: Option<Session>,
}

impl Peer {
    /// A peer in Idle.
    pub fn new(config: Config) -> Result<Peer, ConfigError> {
        Ok(Peer {
            primary: Session::new(config)?,
            secondary: None,
        })
    }

    /// The main session (the one that restarts, and the one that carries the routes once
    /// a collision is resolved).
    pub fn session(&self) -> &Session {
        &self.primary
    }

    /// The second session while a collision is pending.
    pub fn second_session(&self) -> Option<&Session> {
        self.secondary.as_ref()
    }

    /// Both sessions.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> + '_ {
        core::iter::once(&self.primary).chain(self.secondary.as_ref())
    }

    /// The most advanced state of the two sessions.
    pub fn state(&self) -> State {
        self.sessions()
            .map(Session::state)
            .max_by_key(|s| rank(*s))
            .unwrap_or(State::Idle)
    }

    /// The Established session, if there is one.
    pub fn established(&self) -> Option<&Session> {
        self.sessions().find(|s| s.state() == State::Established)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.primary.config()
    }

    /// The earliest deadline of either session.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sessions().filter_map(Session::poll_timeout).min()
    }

    /// Handles every timer due at `now` in both sessions.
    pub fn handle_timeout(&mut self, now: Instant) -> Actions {
        let mut acts = self.primary.handle_timeout(now);
        if let Some(s) = &mut self.secondary {
            acts.extend(s.handle_timeout(now));
        }
        self.normalize();
        acts
    }

    /// Handles one event at time `now`.
    pub fn handle(&mut self, now: Instant, event: Event) -> Actions {
        let mut acts = Actions::new();
        self.route(now, event, &mut acts);
        self.normalize();
        acts
    }

    fn route(&mut self, now: Instant, event: Event, acts: &mut Actions) {
        let Some(id) = event.connection() else {
            if matches!(event, Event::ManualStop(_) | Event::AutomaticStop(_))
                && let Some(s) = &mut self.secondary
            {
                s.dispatch(now, event.clone(), acts);
            }
            self.primary.dispatch(now, event, acts);
            return;
        };
        if let Event::BgpOpen(_, open) = &event
            && self.collision(now, id, open, acts)
        {
            // This connection lost: its session is gone, the OPEN with it.
            return;
        }
        if self.primary.connection() == Some(id) {
            self.primary.dispatch(now, event, acts);
            return;
        }
        if let Some(s) = &mut self.secondary
            && s.connection() == Some(id)
        {
            s.dispatch(now, event, acts);
            return;
        }
        match event {
            Event::TcpCrAcked(_) | Event::TcpConnectionConfirmed(_) => {
                let waiting = self.primary.connection().is_none();
                if waiting || self.primary.state() == State::Idle {
                    // Adopted, or refused in Idle.
                    self.primary.dispatch(now, event, acts);
                } else if self.secondary.is_none() {
                    self.secondary = Some(self.primary.secondary(now, event, acts));
                } else {
                    // RFC 4271 §6.8 tracks at most two connections per peer.
                    acts.push(Action::Close { connection: id });
                }
            }
            Event::TcpConnectionValid(_) if self.primary.state() == State::Idle => {
                self.primary.dispatch(now, event, acts);
            }
            Event::TcpConnectionValid(_) => {}
            Event::TcpCrInvalid(_) => acts.push(Action::Close { connection: id }),
            // Our connection attempt failed; only the main session makes attempts.
            Event::TcpConnectionFails(_) => self.primary.dispatch(now, event, acts),
            // A message on a connection no session holds (already closed): drop it.
            _ => {}
        }
    }

    /// RFC 4271 §6.8 on receipt of a valid OPEN on `id`. Returns whether `id` lost.
    fn collision(
        &mut self,
        now: Instant,
        id: ConnectionId,
        open: &Open,
        acts: &mut Actions,
    ) -> bool {
        let in_primary = self.primary.connection() == Some(id);
        let (this, other) = match (&self.secondary, in_primary) {
            (Some(s), true) => (&self.primary, s),
            (Some(s), false) if s.connection() == Some(id) => (s, &self.primary),
            _ => return false,
        };
        let (Some(this_conn), Some(other_conn)) = (this.connection_info(), other.connection_info())
        else {
            return false;
        };
        let config = this.config();
        // "If the BGP message header checking and OPEN message checking is successful"
        // first: an invalid OPEN is refused on its own connection, not a collision.
        let Ok(negotiated) = negotiate(config, open) else {
            return false;
        };
        let this_loses = match other.state() {
            State::Idle => return false,
            // RFC 4724 §4.2: "In case it does not detect the termination of the old TCP
            // session and still considers the BGP session as being established, it MUST
            // treat the subsequent open connection from the peer as an indication of the
            // termination of the old TCP session and act accordingly (when the Graceful
            // Restart Capability has been received from the peer)." ... "the previous TCP
            // session MUST be closed, and the new one retained."
            // A connection both sides opened at the same time as the established one is
            // an ordinary collision (RFC 4271 §6.8), resolved below, even though on loopback
            // it can come up just after the first reached Established. So the new
            // connection is taken as the peer's restart when its OPEN says so (Restart
            // State bit) or when it came at least RESTART_AFTER after Established, longer
            // than any simultaneous open takes and shorter than any restart.
            State::Established
                if (restarted(open)
                    || other.established_since().is_some_and(|at| {
                        this_conn.since.saturating_duration_since(at) >= RESTART_AFTER
                    }))
                    && other.negotiated().is_some_and(|n| {
                        n.peer_open
                            .capabilities
                            .iter()
                            .any(|c| matches!(c, Capability::GracefulRestart(_)))
                    }) =>
            {
                let old = other_conn.id;
                self.superseded(now, old, acts);
                return false;
            }
            // "Unless allowed via configuration, a connection collision with an existing BGP
            // connection that is in the Established state causes closing of the newly
            // created connection."
            State::Established if !config.collision_detect_established => true,
            _ if this_conn.outgoing == other_conn.outgoing => true,
            _ => {
                // "If the value of the local BGP Identifier is less than the remote one,
                // the local system closes the BGP connection that already exists ... and
                // accepts the BGP connection initiated by the remote system." Read with
                // both sides in mind: the connection initiated by the higher identifier
                // survives, so both close the same one.
                let local = u32::from(config.router_id);
                let remote = u32::from(open.bgp_id);
                // RFC 6286 §2.3: with equal identifiers, "the connection initiated by the
                // BGP speaker with the larger AS number is preserved".
                let keep_ours = if local == remote {
                    config.local_as > negotiated.peer_as
                } else {
                    local > remote
                };
                this_conn.outgoing != keep_ours
            }
        };
        if this_loses {
            self.dump(now, id, acts);
            true
        } else {
            self.dump(now, other_conn.id, acts);
            false
        }
    }

    /// Ends the Established session on `id` that a restarted peer's new connection
    /// replaces; [`Peer::normalize`] then makes the new one the main session.
    fn superseded(&mut self, now: Instant, id: ConnectionId, acts: &mut Actions) {
        if self.primary.connection() == Some(id) {
            self.primary.superseded_by_restart(now, acts);
        } else if let Some(s) = &mut self.secondary
            && s.connection() == Some(id)
        {
            s.superseded_by_restart(now, acts);
        }
    }

    fn dump(&mut self, now: Instant, id: ConnectionId, acts: &mut Actions) {
        if self.primary.connection() == Some(id) {
            // Losing a collision is not an oscillation: the survivor takes over the restart
            // behaviour as it was before the dump.
            let before = self.primary.clone();
            self.primary
                .dispatch(now, Event::OpenCollisionDump(id), acts);
            if let Some(mut s) = self.secondary.take() {
                s.inherit_control(&before);
                self.primary = s;
            }
        } else if let Some(mut s) = self.secondary.take() {
            s.dispatch(now, Event::OpenCollisionDump(id), acts);
        }
    }

    /// Drops a finished second session, and promotes it when the main one lost its
    /// connection.
    fn normalize(&mut self) {
        if self
            .secondary
            .as_ref()
            .is_some_and(|s| s.state() == State::Idle)
        {
            self.secondary = None;
        }
        if self.primary.connection().is_none()
            && let Some(mut s) = self.secondary.take()
        {
            s.inherit_control(&self.primary);
            self.primary = s;
        }
    }
}

fn rank(state: State) -> u8 {
    match state {
        State::Idle => 0,
        State::Active => 1,
        State::Connect => 2,
        State::OpenSent => 3,
        State::OpenConfirm => 4,
        State::Established => 5,
    }
}

/// How long after a session reached Established a new connection from a graceful-restart
/// peer is taken as the peer's restart even without the Restart State bit.
const RESTART_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether an OPEN carries the Graceful Restart capability with the Restart State bit.
fn restarted(open: &Open) -> bool {
    open.capabilities
        .iter()
        .any(|c| matches!(c, Capability::GracefulRestart(g) if g.restart_state))
}
