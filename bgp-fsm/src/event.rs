//! Inputs of the state machine: the RFC 4271 §8.1 events.

use bgp_wire::{Error, ErrorCode, Message, Notification, Open, RouteRefresh, UpdateRef};
use core::fmt;

/// A transport connection, named by the caller (e.g. a counter it increments per socket).
///
/// The FSM only compares ids; the collision wrapper ([`crate::Peer`]) uses them to say which
/// of two connections to close.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ConnectionId(pub u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// The FSM timers (RFC 4271 §8.1.3, RFC 9687).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Timer {
    /// ConnectRetryTimer (event 9 on expiry).
    ConnectRetry,
    /// HoldTimer (event 10).
    Hold,
    /// KeepaliveTimer (event 11).
    Keepalive,
    /// DelayOpenTimer (event 12).
    DelayOpen,
    /// IdleHoldTimer (event 13).
    IdleHold,
    /// SendHoldTimer (RFC 9687, event 29).
    SendHold,
}

impl Timer {
    /// Every timer, in the order expiries are handled when several are due at once.
    pub const ALL: [Timer; 6] = [
        Timer::IdleHold,
        Timer::ConnectRetry,
        Timer::DelayOpen,
        Timer::Hold,
        Timer::SendHold,
        Timer::Keepalive,
    ];

    /// The event its expiry raises.
    pub fn expiry(self) -> Event {
        match self {
            Timer::ConnectRetry => Event::ConnectRetryTimerExpires,
            Timer::Hold => Event::HoldTimerExpires,
            Timer::Keepalive => Event::KeepaliveTimerExpires,
            Timer::DelayOpen => Event::DelayOpenTimerExpires,
            Timer::IdleHold => Event::IdleHoldTimerExpires,
            Timer::SendHold => Event::SendHoldTimerExpires,
        }
    }
}

/// An RFC 4271 §8.1 event (plus ROUTE-REFRESH and the transport progress reports the
/// keepalive and send hold timers need).
///
/// Timer events are normally raised by [`crate::Session::handle_timeout`]; feeding them to
/// `handle` directly is allowed (tests do) and behaves exactly as an expiry.
/// Event 20 (BGPOpen with DelayOpenTimer running) is [`Event::BgpOpen`]: the FSM knows
/// whether its DelayOpenTimer runs. Event 24 is recognised from [`Event::NotifMsg`] too.
#[derive(Clone, Debug)]
pub enum Event {
    /// Event 1: ManualStart.
    ManualStart,
    /// Event 2: ManualStop. Sends Cease / Administrative Shutdown carrying this RFC 9003
    /// shutdown communication (may be empty) if an OPEN went out.
    ManualStop(String),
    /// Event 3: AutomaticStart.
    AutomaticStart,
    /// Event 4: ManualStart_with_PassiveTcpEstablishment.
    ManualStartPassive,
    /// Event 5: AutomaticStart_with_PassiveTcpEstablishment.
    AutomaticStartPassive,
    /// Event 6: AutomaticStart_with_DampPeerOscillations.
    AutomaticStartDamped,
    /// Event 7: AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment.
    AutomaticStartDampedPassive,
    /// Event 8: AutomaticStop, e.g. a prefix limit: sends this NOTIFICATION (normally a
    /// Cease such as [`Notification::max_prefixes`]) if an OPEN went out.
    AutomaticStop(Notification),
    /// Event 9: ConnectRetryTimer_Expires.
    ConnectRetryTimerExpires,
    /// Event 10: HoldTimer_Expires.
    HoldTimerExpires,
    /// Event 11: KeepaliveTimer_Expires.
    KeepaliveTimerExpires,
    /// Event 12: DelayOpenTimer_Expires.
    DelayOpenTimerExpires,
    /// Event 13: IdleHoldTimer_Expires.
    IdleHoldTimerExpires,
    /// Event 14: TcpConnection_Valid: a connection request from the peer's address arrived.
    TcpConnectionValid(ConnectionId),
    /// Event 15: Tcp_CR_Invalid: a connection request from an address that is not the
    /// peer's. Always refused.
    TcpCrInvalid(ConnectionId),
    /// Event 16: Tcp_CR_Acked: the connection we initiated (after [`crate::Action::Connect`])
    /// is up.
    TcpCrAcked(ConnectionId),
    /// Event 17: TcpConnectionConfirmed: a connection the peer initiated is up.
    TcpConnectionConfirmed(ConnectionId),
    /// Event 18: TcpConnectionFails: the connection closed or failed, or our connection
    /// attempt failed (any id the FSM does not hold, while it waits for one).
    TcpConnectionFails(ConnectionId),
    /// Event 19 (or 20 when the DelayOpenTimer runs): BGPOpen, a syntactically valid OPEN.
    /// The FSM checks it against the configuration (peer AS, identifier, capabilities).
    BgpOpen(ConnectionId, Open),
    /// Event 21: BGPHeaderErr: the header check failed (the error says which NOTIFICATION).
    BgpHeaderErr(ConnectionId, Error),
    /// Event 22: BGPOpenMsgErr: an OPEN failed to decode.
    BgpOpenMsgErr(ConnectionId, Error),
    /// Event 23: OpenCollisionDump: this connection lost a collision (RFC 4271 §6.8).
    OpenCollisionDump(ConnectionId),
    /// Event 24: NotifMsgVerErr: a NOTIFICATION with OPEN Message Error / Unsupported
    /// Version Number.
    NotifMsgVerErr(ConnectionId, Notification),
    /// Event 25: NotifMsg: any other NOTIFICATION.
    NotifMsg(ConnectionId, Notification),
    /// Event 26: KeepAliveMsg.
    KeepAliveMsg(ConnectionId),
    /// Event 27: UpdateMsg: a decoded UPDATE (RFC 7606 outcomes are on the view).
    UpdateMsg(ConnectionId, UpdateRef),
    /// Event 28: UpdateMsgErr: an UPDATE (or ROUTE-REFRESH) failed to decode and the
    /// session must reset.
    UpdateMsgErr(ConnectionId, Error),
    /// A ROUTE-REFRESH message (RFC 2918, RFC 7313); not numbered in RFC 4271.
    RouteRefreshMsg(ConnectionId, RouteRefresh),
    /// Event 29 (RFC 9687): SendHoldTimer_Expires.
    SendHoldTimerExpires,
    /// The caller wrote an UPDATE on this connection. RFC 4271 §4.4: the KeepaliveTimer
    /// restarts "each time the local system sends a KEEPALIVE or UPDATE message"; this also
    /// counts as transport progress ([`Event::DataSent`]).
    UpdateSent(ConnectionId),
    /// The transport accepted outgoing data on this connection, or has nothing queued.
    /// RFC 9687: the SendHoldTimer restarts on progress; report this at least every few
    /// seconds while the connection is writable, or the session ends after SendHoldTime.
    DataSent(ConnectionId),
}

impl Event {
    /// The event for a message as [`bgp_wire::decode`] returned it on `connection`.
    ///
    /// Decode errors map by the NOTIFICATION they owe: Message Header Error is event 21,
    /// OPEN Message Error event 22, anything else (UPDATE, ROUTE-REFRESH) event 28.
    pub fn from_decoded(connection: ConnectionId, decoded: Result<Message, Error>) -> Event {
        match decoded {
            Ok(Message::Open(open)) => Event::BgpOpen(connection, open),
            Ok(Message::Update(update)) => Event::UpdateMsg(connection, update),
            Ok(Message::Notification(n)) if is_version_error(&n) => {
                Event::NotifMsgVerErr(connection, n)
            }
            Ok(Message::Notification(n)) => Event::NotifMsg(connection, n),
            Ok(Message::Keepalive) => Event::KeepAliveMsg(connection),
            Ok(Message::RouteRefresh(r)) => Event::RouteRefreshMsg(connection, r),
            Err(e) => match e.notification().code {
                ErrorCode::MESSAGE_HEADER => Event::BgpHeaderErr(connection, e),
                ErrorCode::OPEN_MESSAGE => Event::BgpOpenMsgErr(connection, e),
                _ => Event::UpdateMsgErr(connection, e),
            },
        }
    }

    /// The RFC 4271 §8.1 event number (29 for SendHoldTimer_Expires, RFC 9687); `None` for
    /// the events RFC 4271 does not number.
    pub fn number(&self) -> Option<u8> {
        Some(match self {
            Event::ManualStart => 1,
            Event::ManualStop(_) => 2,
            Event::AutomaticStart => 3,
            Event::ManualStartPassive => 4,
            Event::AutomaticStartPassive => 5,
            Event::AutomaticStartDamped => 6,
            Event::AutomaticStartDampedPassive => 7,
            Event::AutomaticStop(_) => 8,
            Event::ConnectRetryTimerExpires => 9,
            Event::HoldTimerExpires => 10,
            Event::KeepaliveTimerExpires => 11,
            Event::DelayOpenTimerExpires => 12,
            Event::IdleHoldTimerExpires => 13,
            Event::TcpConnectionValid(_) => 14,
            Event::TcpCrInvalid(_) => 15,
            Event::TcpCrAcked(_) => 16,
            Event::TcpConnectionConfirmed(_) => 17,
            Event::TcpConnectionFails(_) => 18,
            Event::BgpOpen(..) => 19,
            Event::BgpHeaderErr(..) => 21,
            Event::BgpOpenMsgErr(..) => 22,
            Event::OpenCollisionDump(_) => 23,
            Event::NotifMsgVerErr(..) => 24,
            Event::NotifMsg(..) => 25,
            Event::KeepAliveMsg(_) => 26,
            Event::UpdateMsg(..) => 27,
            Event::UpdateMsgErr(..) => 28,
            Event::SendHoldTimerExpires => 29,
            Event::RouteRefreshMsg(..) | Event::UpdateSent(_) | Event::DataSent(_) => {
                return None;
            }
        })
    }

    /// The connection the event concerns, if any.
    pub fn connection(&self) -> Option<ConnectionId> {
        match self {
            Event::TcpConnectionValid(c)
            | Event::TcpCrInvalid(c)
            | Event::TcpCrAcked(c)
            | Event::TcpConnectionConfirmed(c)
            | Event::TcpConnectionFails(c)
            | Event::BgpOpen(c, _)
            | Event::BgpHeaderErr(c, _)
            | Event::BgpOpenMsgErr(c, _)
            | Event::OpenCollisionDump(c)
            | Event::NotifMsgVerErr(c, _)
            | Event::NotifMsg(c, _)
            | Event::KeepAliveMsg(c)
            | Event::UpdateMsg(c, _)
            | Event::UpdateMsgErr(c, _)
            | Event::RouteRefreshMsg(c, _)
            | Event::UpdateSent(c)
            | Event::DataSent(c) => Some(*c),
            _ => None,
        }
    }

    /// The RFC 4271 name of the event, for logs and down reasons.
    pub fn name(&self) -> &'static str {
        match self {
            Event::ManualStart => "ManualStart",
            Event::ManualStop(_) => "ManualStop",
            Event::AutomaticStart => "AutomaticStart",
            Event::ManualStartPassive => "ManualStart_with_PassiveTcpEstablishment",
            Event::AutomaticStartPassive => "AutomaticStart_with_PassiveTcpEstablishment",
            Event::AutomaticStartDamped => "AutomaticStart_with_DampPeerOscillations",
            Event::AutomaticStartDampedPassive => {
                "AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment"
            }
            Event::AutomaticStop(_) => "AutomaticStop",
            Event::ConnectRetryTimerExpires => "ConnectRetryTimer_Expires",
            Event::HoldTimerExpires => "HoldTimer_Expires",
            Event::KeepaliveTimerExpires => "KeepaliveTimer_Expires",
            Event::DelayOpenTimerExpires => "DelayOpenTimer_Expires",
            Event::IdleHoldTimerExpires => "IdleHoldTimer_Expires",
            Event::TcpConnectionValid(_) => "TcpConnection_Valid",
            Event::TcpCrInvalid(_) => "Tcp_CR_Invalid",
            Event::TcpCrAcked(_) => "Tcp_CR_Acked",
            Event::TcpConnectionConfirmed(_) => "TcpConnectionConfirmed",
            Event::TcpConnectionFails(_) => "TcpConnectionFails",
            Event::BgpOpen(..) => "BGPOpen",
            Event::BgpHeaderErr(..) => "BGPHeaderErr",
            Event::BgpOpenMsgErr(..) => "BGPOpenMsgErr",
            Event::OpenCollisionDump(_) => "OpenCollisionDump",
            Event::NotifMsgVerErr(..) => "NotifMsgVerErr",
            Event::NotifMsg(..) => "NotifMsg",
            Event::KeepAliveMsg(_) => "KeepAliveMsg",
            Event::UpdateMsg(..) => "UpdateMsg",
            Event::UpdateMsgErr(..) => "UpdateMsgErr",
            Event::RouteRefreshMsg(..) => "RouteRefreshMsg",
            Event::SendHoldTimerExpires => "SendHoldTimer_Expires",
            Event::UpdateSent(_) => "UpdateSent",
            Event::DataSent(_) => "DataSent",
        }
    }

    /// Whether this is a message (or message error) received on a connection.
    pub(crate) fn is_message(&self) -> bool {
        matches!(
            self,
            Event::BgpOpen(..)
                | Event::BgpHeaderErr(..)
                | Event::BgpOpenMsgErr(..)
                | Event::NotifMsgVerErr(..)
                | Event::NotifMsg(..)
                | Event::KeepAliveMsg(_)
                | Event::UpdateMsg(..)
                | Event::UpdateMsgErr(..)
                | Event::RouteRefreshMsg(..)
        )
    }
}

/// RFC 4271 §8.1.2 Event 24: "NOTIFICATION message with Version Error".
pub(crate) fn is_version_error(n: &Notification) -> bool {
    n.code == ErrorCode::OPEN_MESSAGE
        && n.subcode == bgp_wire::notification::open_subcode::UNSUPPORTED_VERSION
}
