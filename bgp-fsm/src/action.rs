//! Outputs of the state machine: what the caller must do.

use bgp_wire::{MessageType, Notification, Open, RouteRefresh, UpdateRef};
use bytes::Bytes;
use core::fmt;

use crate::event::ConnectionId;
use crate::negotiate::Negotiated;

/// The six RFC 4271 §8.2.2 states.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum State {
    /// Refuses connections; waits for a start event (or the IdleHoldTimer).
    Idle,
    /// Waiting for the connection we initiated (and listening).
    Connect,
    /// Listening for the peer's connection.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the first KEEPALIVE.
    OpenConfirm,
    /// Session up: UPDATEs flow.
    Established,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A message the FSM wants written, typed for inspection.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outgoing {
    /// OPEN.
    Open(Open),
    /// KEEPALIVE.
    Keepalive,
    /// NOTIFICATION.
    Notification(Notification),
}

impl Outgoing {
    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Outgoing::Open(_) => MessageType::OPEN,
            Outgoing::Keepalive => MessageType::KEEPALIVE,
            Outgoing::Notification(_) => MessageType::NOTIFICATION,
        }
    }
}

/// Who sent the NOTIFICATION that ended a session.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Notified {
    /// We sent it.
    Sent(Notification),
    /// The peer sent it.
    Received(Notification),
}

impl Notified {
    /// The NOTIFICATION, whoever sent it.
    pub fn notification(&self) -> &Notification {
        match self {
            Notified::Sent(n) | Notified::Received(n) => n,
        }
    }
}

/// Why a session (or an attempt at one) ended.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DownReason {
    /// What happened, for a person ("hold timer expired", "peer sent Cease / ...").
    pub description: String,
    /// The NOTIFICATION sent or received, if one was.
    pub notification: Option<Notified>,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)?;
        match &self.notification {
            Some(Notified::Sent(n)) => write!(f, "; sent {n}"),
            Some(Notified::Received(n)) => write!(f, "; received {n}"),
            None => Ok(()),
        }
    }
}

/// Something the caller must do, in order.
#[derive(Clone, Debug)]
pub enum Action {
    /// Start a connection attempt to the peer, abandoning any attempt still pending. Report
    /// the outcome with [`crate::Event::TcpCrAcked`] or [`crate::Event::TcpConnectionFails`].
    Connect,
    /// Write this message on the connection. `bytes` is the encoded message.
    Send {
        /// Where to write.
        connection: ConnectionId,
        /// The message, typed.
        message: Outgoing,
        /// The message, encoded.
        bytes: Bytes,
    },
    /// Close the connection (after writing what was queued before this action).
    Close {
        /// Which connection.
        connection: ConnectionId,
    },
    /// The session reached Established on this connection. Decode further messages with
    /// [`Negotiated::params`].
    Established {
        /// The connection the session runs on.
        connection: ConnectionId,
        /// What the two OPENs agreed.
        negotiated: Box<Negotiated>,
    },
    /// The session, or an attempt at one, ended and the FSM went back to Idle. When
    /// `was_established`, the routes learnt over it must go (or be kept stale, with
    /// graceful restart).
    Down {
        /// The connection it ran on, if it had one.
        connection: Option<ConnectionId>,
        /// Whether the session had been Established.
        was_established: bool,
        /// Why.
        reason: DownReason,
    },
    /// Hand this UPDATE to the RIB.
    DeliverUpdate {
        /// The connection it arrived on.
        connection: ConnectionId,
        /// The validated UPDATE.
        update: UpdateRef,
    },
    /// Hand this ROUTE-REFRESH to the RIB (re-advertise the family, or BoRR/EoRR markers).
    DeliverRouteRefresh {
        /// The connection it arrived on.
        connection: ConnectionId,
        /// The request.
        refresh: RouteRefresh,
    },
}

/// The actions one call produced, in the order they must be carried out.
#[derive(Clone, Debug, Default)]
pub struct Actions(pub(crate) Vec<Action>);

impl Actions {
    /// No actions.
    pub fn new() -> Self {
        Actions(Vec::new())
    }

    /// The actions as a slice.
    pub fn as_slice(&self) -> &[Action] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Iterates over the actions.
    pub fn iter(&self) -> core::slice::Iter<'_, Action> {
        self.0.iter()
    }

    /// The messages to send, in order, with their connection.
    pub fn sent(&self) -> impl Iterator<Item = (ConnectionId, &Outgoing)> + '_ {
        self.0.iter().filter_map(|a| match a {
            Action::Send {
                connection,
                message,
                ..
            } => Some((*connection, message)),
            _ => None,
        })
    }

    /// The types of the messages to send, in order (handy in tests and logs).
    pub fn sent_types(&self) -> Vec<MessageType> {
        self.sent().map(|(_, m)| m.message_type()).collect()
    }

    /// The first NOTIFICATION to send, if any.
    pub fn notification(&self) -> Option<&Notification> {
        self.sent().find_map(|(_, m)| match m {
            Outgoing::Notification(n) => Some(n),
            _ => None,
        })
    }

    /// Whether a connection is asked for.
    pub fn connects(&self) -> bool {
        self.0.iter().any(|a| matches!(a, Action::Connect))
    }

    /// Connections to close.
    pub fn closed(&self) -> Vec<ConnectionId> {
        self.0
            .iter()
            .filter_map(|a| match a {
                Action::Close { connection } => Some(*connection),
                _ => None,
            })
            .collect()
    }

    /// The negotiated parameters if the session came up.
    pub fn established(&self) -> Option<&Negotiated> {
        self.0.iter().find_map(|a| match a {
            Action::Established { negotiated, .. } => Some(&**negotiated),
            _ => None,
        })
    }

    /// The reason if a session went down.
    pub fn down(&self) -> Option<&DownReason> {
        self.0.iter().find_map(|a| match a {
            Action::Down { reason, .. } => Some(reason),
            _ => None,
        })
    }

    pub(crate) fn push(&mut self, action: Action) {
        self.0.push(action);
    }

    pub(crate) fn extend(&mut self, other: Actions) {
        self.0.extend(other.0);
    }
}

impl IntoIterator for Actions {
    type Item = Action;
    type IntoIter = std::vec::IntoIter<Action>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Actions {
    type Item = &'a Action;
    type IntoIter = core::slice::Iter<'a, Action>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
