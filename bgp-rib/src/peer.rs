//! Peers as the RIB sees them: configuration and per-session state.

use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::{Family, FamilySet, SessionParams};

use crate::policy::Policy;

/// Index of a peer in the RIB. [`PeerId::LOCAL`] stands for locally originated routes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PeerId(pub(crate) u16);

impl PeerId {
    /// The pseudo-peer that owns locally originated routes.
    pub const LOCAL: PeerId = PeerId(0);

    /// The index.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// What to do when a peer sends more prefixes than [`MaxPrefix::limit`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum MaxPrefixAction {
    /// Keep accepting; report that the limit was crossed.
    Warn,
    /// Ignore new prefixes beyond the limit (replacements of accepted ones still apply).
    DropExcess,
    /// Stop accepting and ask the daemon to close the session (RFC 4486: Cease,
    /// "Maximum Number of Prefixes Reached").
    Shutdown,
}

/// A per-peer limit on accepted prefixes (paths).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MaxPrefix {
    /// Largest number of paths kept from the peer.
    pub limit: u32,
    /// What to do beyond it.
    pub action: MaxPrefixAction,
}

/// Configuration of one peer.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// The peer's address (last best-path tie-breaker).
    pub address: IpAddr,
    /// The peer's AS. Equal to the local AS makes the session internal (iBGP).
    pub remote_as: u32,
    /// The peer is a route-reflection client (RFC 4456). Only meaningful for iBGP.
    pub route_reflector_client: bool,
    /// How many times the local AS may appear in a received AS path (allowas-in); 0 is the
    /// RFC 4271 §9.1.2 loop check.
    pub allowas_in: u8,
    /// Limit on accepted paths.
    pub max_prefix: Option<MaxPrefix>,
    /// Import policy.
    pub import: Policy,
    /// Export policy.
    pub export: Policy,
    /// Set the next hop to our address when advertising to this peer, also to iBGP peers.
    pub next_hop_self: bool,
    /// Leave the next hop unchanged when advertising to this eBGP peer (route servers).
    pub next_hop_unchanged: bool,
    /// Our IPv4 address on the session (next hop for IPv4 routes we advertise).
    pub local_v4: Option<std::net::Ipv4Addr>,
    /// Our IPv6 address on the session (next hop for IPv6 routes we advertise).
    pub local_v6: Option<std::net::Ipv6Addr>,
    /// Prepend the local AS this many extra times when advertising (eBGP only).
    pub export_prepend: u8,
    /// Set MULTI_EXIT_DISC to this when advertising.
    pub export_med: Option<u32>,
    /// Advertise at most this many prefixes per family (cloud gateways cap what they
    /// accept, e.g. 100 on an AWS virtual private gateway).
    pub max_export: Option<u32>,
    /// Sender-side loop detection (eBGP only): do not advertise a route whose AS_PATH
    /// already holds the peer's AS, since the peer would drop it (RFC 4271 §9.1.2). On by
    /// default; this also keeps a route from going back to the eBGP peer it came from.
    ///
    /// Off (FRR's default; BIRD has no such check), eBGP peers that differ only in their
    /// AS share one update group: one export decision and one encoding for all of them.
    /// Each peer then drops the looping routes itself.
    pub sender_side_loop_detection: bool,
}

impl PeerConfig {
    /// A peer with defaults: no policy (accept all), no limits.
    pub fn new(address: IpAddr, remote_as: u32) -> Self {
        PeerConfig {
            address,
            remote_as,
            route_reflector_client: false,
            allowas_in: 0,
            max_prefix: None,
            import: Policy::accept_all(),
            export: Policy::accept_all(),
            next_hop_self: false,
            next_hop_unchanged: false,
            local_v4: None,
            local_v6: None,
            export_prepend: 0,
            export_med: None,
            max_export: None,
            sender_side_loop_detection: true,
        }
    }
}

/// Whether a peer is external.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PeerKind {
    /// eBGP.
    External,
    /// iBGP, not a route-reflection client.
    Internal,
    /// iBGP route-reflection client.
    Client,
    /// The local pseudo-peer.
    Local,
}

/// Per-peer state held by the RIB.
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    pub config: PeerConfig,
    pub kind: PeerKind,
    /// BGP identifier from the peer's OPEN.
    pub router_id: Ipv4Addr,
    /// Names this peer as of its last [`Rib::add_peer`](crate::Rib::add_peer) or
    /// [`Rib::peer_up`](crate::Rib::peer_up), unique in the RIB (never 0): what export
    /// caches record a path's source by, since the index can be reused and the router-id
    /// can change.
    pub stamp: u32,
    pub session: Option<SessionParams>,
    /// Paths currently held from the peer.
    pub paths: u32,
    pub max_prefix_hit: bool,
    /// LOCAL_PREF forced on import (tunnel pair role).
    pub import_local_pref: Option<u32>,
    /// Export adjustments from a tunnel pair role.
    pub tunnel_prepend: u8,
    pub tunnel_med: Option<u32>,
    /// Graceful restart helper: paths are stale until End-of-RIB or the timer.
    pub restarting: bool,
    /// Update group while the session is up.
    pub group: Option<u32>,
    /// Families negotiated on the session (RFC 4760 §8); nothing else is sent to the peer.
    pub families: FamilySet,
}

impl Peer {
    pub(crate) fn new(config: PeerConfig, local_as: u32) -> Peer {
        let kind = if config.remote_as != local_as {
            PeerKind::External
        } else if config.route_reflector_client {
            PeerKind::Client
        } else {
            PeerKind::Internal
        };
        Peer {
            config,
            kind,
            router_id: Ipv4Addr::UNSPECIFIED,
            stamp: 1,
            session: None,
            paths: 0,
            max_prefix_hit: false,
            import_local_pref: None,
            tunnel_prepend: 0,
            tunnel_med: None,
            restarting: false,
            group: None,
            families: [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
                .into_iter()
                .collect(),
        }
    }

    pub(crate) fn local() -> Peer {
        let mut p = Peer::new(PeerConfig::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0), 0);
        p.kind = PeerKind::Local;
        p
    }

    pub(crate) fn is_external(&self) -> bool {
        self.kind == PeerKind::External
    }
}
