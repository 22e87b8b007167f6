//! Per-peer configuration: the RFC 4271 §8.1 session attributes (mandatory and optional)
//! and what the local side announces and requires in its OPEN.

use bgp_wire::open::ExtendedNextHop;
use bgp_wire::{AS_TRANS, AddPathMode, Capability, CapabilityCode, Family, Open, Role};
use bytes::Bytes;
use core::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Which AS numbers the peer may announce in its OPEN (RFC 4271 §6.2 "Bad Peer AS").
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PeerAs {
    /// Exactly this AS.
    Exact(u32),
    /// Any AS of this set (e.g. a cloud that may answer from either of two ASNs).
    OneOf(Vec<u32>),
    /// Any AS at all (dynamic neighbours); eBGP or iBGP is decided from the OPEN.
    Any,
}

impl PeerAs {
    /// Whether `asn` is acceptable.
    pub fn allows(&self, asn: u32) -> bool {
        match self {
            PeerAs::Exact(a) => *a == asn,
            PeerAs::OneOf(set) => set.contains(&asn),
            PeerAs::Any => true,
        }
    }

    /// The single configured AS, if there is exactly one.
    pub fn exact(&self) -> Option<u32> {
        match self {
            PeerAs::Exact(a) => Some(*a),
            PeerAs::OneOf(set) if set.len() == 1 => set.first().copied(),
            _ => None,
        }
    }
}

/// Graceful Restart as the local side announces it (RFC 4724 §3).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GracefulRestartConfig {
    /// Restart Time in seconds (12 bits, at most 4095): how long the peer should keep our
    /// routes after the session goes down.
    pub restart_time: u16,
    /// Families for which we keep forwarding state across a restart (F bit).
    pub forwarding_families: Vec<Family>,
    /// R bit: we are announcing right after a restart.
    pub restarting: bool,
    /// N bit (RFC 8538): we support Graceful NOTIFICATION.
    pub notification: bool,
    /// List the session's families (with their F bit): we restart gracefully ourselves.
    /// Off, the capability carries no family and only says that we act as receiving
    /// speaker and send End-of-RIB (RFC 4724 §4: a speaker "MAY advertise the Graceful
    /// Restart Capability for an address family ... if it has the ability to preserve its
    /// forwarding state for the address family").
    pub restarting_speaker: bool,
}

impl Default for GracefulRestartConfig {
    fn default() -> Self {
        GracefulRestartConfig {
            restart_time: 120,
            forwarding_families: Vec::new(),
            restarting: false,
            notification: false,
            restarting_speaker: true,
        }
    }
}

/// BGP Role (RFC 9234) and whether the peer must announce a matching one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RoleConfig {
    /// Our role on this session.
    pub role: Role,
    /// RFC 9234 §4.2 strict mode: refuse a peer that does not announce its role.
    pub strict: bool,
}

/// Configuration of one peer session.
///
/// Build with [`Config::new`] (RFC defaults) and adjust fields; [`crate::Session::new`]
/// checks it. Times in seconds on the wire are `u16` seconds here too; the rest are
/// [`Duration`]s.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Our AS number (4-octet; RFC 6793 AS_TRANS handling is automatic).
    pub local_as: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// The AS number(s) the peer may use.
    pub peer_as: PeerAs,
    /// Hold Time we propose, in seconds: 0 (no keepalives) or at least 3. RFC 4271 §10
    /// suggests 90.
    pub hold_time: u16,
    /// Keepalive interval in seconds when lower than a third of the negotiated hold time.
    pub keepalive_time: Option<u16>,
    /// ConnectRetryTime (RFC 4271 §10 suggests 120 s).
    pub connect_retry_time: Duration,
    /// PassiveTcpEstablishment: never initiate a connection, only accept one. Start events
    /// behave as their "with PassiveTcpEstablishment" variants.
    pub passive: bool,
    /// DelayOpen with this DelayOpenTime: after the connection is up, wait this long for the
    /// peer's OPEN before sending ours.
    pub delay_open_time: Option<Duration>,
    /// Initial IdleHoldTime: how long a session that fell back to Idle waits before it
    /// starts again.
    pub idle_hold_time: Duration,
    /// Upper bound for the IdleHoldTime when it grows with DampPeerOscillations; also how
    /// long a session must stay Established for the back-off to reset.
    pub idle_hold_time_max: Duration,
    /// DampPeerOscillations: double the IdleHoldTime each time the session falls to Idle
    /// without having stayed up (RFC 4271 §8.1.1 leaves the method open).
    pub damp_peer_oscillations: bool,
    /// CollisionDetectEstablishedState: also resolve collisions against an Established
    /// session (RFC 4271 §6.8); otherwise the new connection always loses.
    pub collision_detect_established: bool,
    /// SendNOTIFICATIONwithoutOPEN: send a NOTIFICATION for a header or OPEN error even
    /// before our OPEN went out (only matters with DelayOpen).
    pub send_notification_without_open: bool,
    /// Accept My AS = AS_TRANS from a peer without the 4-octet AS capability when a
    /// configured peer AS is above 65535 (an old speaker that cannot say its real AS).
    pub allow_as_trans: bool,
    /// Capabilities the peer must announce, or we refuse it with OPEN Message Error /
    /// Unsupported Capability (RFC 5492 §5).
    pub required_capabilities: Vec<CapabilityCode>,
    /// Families announced with the Multiprotocol capability (RFC 4760).
    pub families: Vec<Family>,
    /// ADD-PATH modes per family (RFC 7911).
    pub add_path: Vec<(Family, AddPathMode)>,
    /// Announce Route Refresh (RFC 2918).
    pub route_refresh: bool,
    /// Announce Enhanced Route Refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Announce Extended Message (RFC 8654).
    pub extended_message: bool,
    /// Extended Next Hop encodings to announce (RFC 8950).
    pub extended_next_hop: Vec<ExtendedNextHop>,
    /// Graceful Restart to announce (RFC 4724).
    pub graceful_restart: Option<GracefulRestartConfig>,
    /// BGP Role (RFC 9234); only used on eBGP sessions.
    pub role: Option<RoleConfig>,
    /// SendHoldTime (RFC 9687 §3); `None` disables the SendHoldTimer. The effective value is
    /// at least twice the negotiated hold time.
    pub send_hold_time: Option<Duration>,
    /// Further capabilities to announce as they are (e.g. FQDN).
    pub extra_capabilities: Vec<Capability>,
}

/// RFC 4271 §10: "HoldTime: 90 seconds".
pub const DEFAULT_HOLD_TIME: u16 = 90;
/// RFC 4271 §10: "ConnectRetryTime: 120 seconds".
pub const DEFAULT_CONNECT_RETRY_TIME: Duration = Duration::from_secs(120);
/// RFC 4271 §8 suggests "a large value" for the hold timer while waiting for OPEN:
/// "A HoldTimer value of 4 minutes is suggested."
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);
/// RFC 9687 §4: "the suggested default value for the SendHoldTime is 8 minutes".
pub const DEFAULT_SEND_HOLD_TIME: Duration = Duration::from_secs(480);
/// Initial IdleHoldTime (BIRD's "start delay time" and FRR's idle hold use 5 s).
pub const DEFAULT_IDLE_HOLD_TIME: Duration = Duration::from_secs(5);
/// Largest IdleHoldTime reached by damping (BIRD's "error wait time" maximum).
pub const DEFAULT_IDLE_HOLD_TIME_MAX: Duration = Duration::from_secs(300);

impl Config {
    /// A configuration with the RFC 4271 §10 defaults: hold 90 s, keepalive hold/3,
    /// connect retry 120 s, active, no DelayOpen, IdleHold 5 s growing to 300 s with
    /// damping, IPv4 unicast, route refresh, send hold 8 min.
    pub fn new(local_as: u32, router_id: Ipv4Addr, peer_as: PeerAs) -> Self {
        Config {
            local_as,
            router_id,
            peer_as,
            hold_time: DEFAULT_HOLD_TIME,
            keepalive_time: None,
            connect_retry_time: DEFAULT_CONNECT_RETRY_TIME,
            passive: false,
            delay_open_time: None,
            idle_hold_time: DEFAULT_IDLE_HOLD_TIME,
            idle_hold_time_max: DEFAULT_IDLE_HOLD_TIME_MAX,
            damp_peer_oscillations: true,
            collision_detect_established: false,
            send_notification_without_open: false,
            allow_as_trans: false,
            required_capabilities: Vec::new(),
            families: vec![Family::IPV4_UNICAST],
            add_path: Vec::new(),
            route_refresh: true,
            enhanced_route_refresh: false,
            extended_message: false,
            extended_next_hop: Vec::new(),
            graceful_restart: None,
            role: None,
            send_hold_time: Some(DEFAULT_SEND_HOLD_TIME),
            extra_capabilities: Vec::new(),
        }
    }

    /// Whether the peer is known to be internal before its OPEN arrives.
    pub(crate) fn known_internal(&self) -> bool {
        self.peer_as.exact() == Some(self.local_as)
    }

    /// The capabilities we announce, in a stable order.
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut caps = vec![Capability::FourOctetAs(self.local_as)];
        let families: Vec<Family> = if self.families.is_empty() {
            vec![Family::IPV4_UNICAST]
        } else {
            self.families.clone()
        };
        caps.extend(families.iter().copied().map(Capability::Multiprotocol));
        if self.route_refresh {
            caps.push(Capability::RouteRefresh);
        }
        if self.enhanced_route_refresh {
            caps.push(Capability::EnhancedRouteRefresh);
        }
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        if !self.extended_next_hop.is_empty() {
            caps.push(Capability::ExtendedNextHop(self.extended_next_hop.clone()));
        }
        if !self.add_path.is_empty() {
            caps.push(Capability::AddPath(self.add_path.clone()));
        }
        if let Some(gr) = &self.graceful_restart {
            caps.push(Capability::GracefulRestart(bgp_wire::GracefulRestart {
                restart_state: gr.restarting,
                notification: gr.notification,
                restart_time: gr.restart_time.min(0x0fff),
                families: families
                    .iter()
                    .filter(|_| gr.restarting_speaker)
                    .map(|f| (*f, gr.forwarding_families.contains(f)))
                    .collect(),
            }));
        }
        // RFC 9234 §4.1: the Role capability is for eBGP sessions only.
        if let Some(role) = &self.role
            && !self.known_internal()
        {
            caps.push(Capability::Role(role.role));
        }
        caps.extend(self.extra_capabilities.iter().cloned());
        caps
    }

    /// Our OPEN message.
    pub fn open(&self) -> Open {
        Open::new(
            self.local_as,
            self.hold_time,
            self.router_id,
            self.capabilities(),
        )
    }

    /// Checks the configuration and encodes our OPEN once.
    pub(crate) fn validate(&self) -> Result<Bytes, ConfigError> {
        // RFC 7607: AS 0 must not be used as a BGP speaker's AS.
        if self.local_as == 0 {
            return Err(ConfigError::new(
                "local_as",
                "AS 0 is reserved (RFC 7607)",
                "set local_as to the AS this router belongs to",
            ));
        }
        if self.local_as == AS_TRANS {
            return Err(ConfigError::new(
                "local_as",
                "AS 23456 is AS_TRANS, reserved by RFC 6793",
                "set local_as to the real (possibly 4-octet) AS number",
            ));
        }
        if self.router_id.is_unspecified() {
            return Err(ConfigError::new(
                "router_id",
                "the BGP Identifier must be non-zero (RFC 6286 §2.1)",
                "set router_id, e.g. to a loopback address",
            ));
        }
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(ConfigError::new(
                "hold_time",
                "RFC 4271 §4.2: the Hold Time must be zero or at least three seconds",
                "use 0 (no keepalives) or a value of 3 or more; 90 is the default",
            ));
        }
        if matches!(&self.peer_as, PeerAs::OneOf(set) if set.is_empty()) {
            return Err(ConfigError::new(
                "peer_as",
                "the set of allowed peer AS numbers is empty",
                "list at least one AS, or use PeerAs::Any",
            ));
        }
        if self.idle_hold_time_max < self.idle_hold_time {
            return Err(ConfigError::new(
                "idle_hold_time_max",
                "the maximum IdleHoldTime is below the initial one",
                "set idle_hold_time_max to at least idle_hold_time",
            ));
        }
        self.open().encode().map_err(|_| {
            ConfigError::new(
                "families",
                "the capabilities do not fit in an OPEN message",
                "announce fewer families, ADD-PATH entries or extra capabilities",
            )
        })
    }
}

/// A configuration that cannot work, naming the field, the rule and how to fix it.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct ConfigError {
    /// The offending [`Config`] field.
    pub field: &'static str,
    /// The rule it breaks.
    pub rule: &'static str,
    /// How to fix it.
    pub fix: &'static str,
}

impl ConfigError {
    fn new(field: &'static str, rule: &'static str, fix: &'static str) -> Self {
        ConfigError { field, rule, fix }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (fix: {})", self.field, self.rule, self.fix)
    }
}

impl std::error::Error for ConfigError {}
