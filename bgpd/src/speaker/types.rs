//! Public types of the speaker API.

use bgp_fsm::PeerAs;
use bgp_rib::LocalRoute;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Speaker-wide configuration.
#[derive(Clone, Debug)]
pub struct SpeakerConfig {
    /// Our AS.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// CLUSTER_ID for route reflection (RFC 4456); the router id when `None`.
    pub cluster_id: Option<Ipv4Addr>,
    /// Addresses to accept connections on (empty: no listener, active sessions only).
    pub listen: Vec<SocketAddr>,
    /// Largest ECMP set (1 disables multipath).
    pub max_paths: usize,
    /// Peers to start with.
    pub peers: Vec<PeerSpec>,
    /// Tunnel pairs among those peers.
    pub tunnel_pairs: Vec<TunnelPairSpec>,
    /// Routes to originate.
    pub networks: Vec<LocalRoute>,
    /// Capacity of the best-route change channel.
    pub route_event_capacity: usize,
    /// Octets queued towards a peer (not yet taken by its socket) above which its update
    /// group is given no more UPDATEs until the peer reads: what it is owed waits in the
    /// speaker's change log, a few octets per prefix shared by every group, rather than as
    /// encoded UPDATEs. Default 4 MiB.
    pub out_queue_limit: usize,
}

impl SpeakerConfig {
    /// A speaker with no listener, peers or networks yet.
    pub fn new(asn: u32, router_id: Ipv4Addr) -> Self {
        SpeakerConfig {
            asn,
            router_id,
            cluster_id: None,
            listen: Vec::new(),
            max_paths: 1,
            peers: Vec::new(),
            tunnel_pairs: Vec::new(),
            networks: Vec::new(),
            route_event_capacity: 65536,
            out_queue_limit: 4 << 20,
        }
    }
}

/// How to reach a peer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Transport {
    /// TCP port of the peer (179).
    pub port: u16,
    /// Our (inside-tunnel) address to connect from.
    pub local_address: Option<IpAddr>,
    /// Interface to bind to (SO_BINDTODEVICE), e.g. the tunnel interface.
    pub interface: Option<String>,
    /// TCP-MD5 key (RFC 2385).
    pub md5_key: Option<Vec<u8>>,
    /// GTSM (RFC 5082): the peer is at most this many hops away.
    pub ttl_security: Option<u8>,
    /// Connect timeout.
    pub connect_timeout: Duration,
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            port: crate::net::BGP_PORT,
            local_address: None,
            interface: None,
            md5_key: None,
            ttl_security: None,
            connect_timeout: crate::net::DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// One peer: session parameters for `bgp-fsm`, routing parameters for `bgp-rib`, and how
/// to reach it.
#[derive(Clone, Debug)]
pub struct PeerSpec {
    /// Session configuration (AS numbers, timers, capabilities, passive mode).
    pub session: bgp_fsm::Config,
    /// Routing configuration (policies, route-reflector client, limits, next hop).
    pub routing: bgp_rib::PeerConfig,
    /// Sockets.
    pub transport: Transport,
    /// Start the session when added.
    pub enabled: bool,
    /// Free text for `show neighbors`.
    pub description: Option<String>,
    /// Graceful restart receiving speaker (RFC 4724 §4.2): keep the routes of a peer whose
    /// session drops without a NOTIFICATION. The peer restarts gracefully only if we
    /// announce the capability (`session.graceful_restart`).
    pub helper: bgp_fsm::HelperConfig,
}

impl PeerSpec {
    /// A peer at `address` in AS `asn` with defaults: active, hold 90 s, IPv4 and IPv6
    /// unicast, accept and advertise everything, graceful restart helper (the capability
    /// announced with no families: we do not preserve forwarding state ourselves).
    pub fn new(speaker: &SpeakerConfig, address: IpAddr, asn: u32) -> Self {
        let mut session = bgp_fsm::Config::new(speaker.asn, speaker.router_id, PeerAs::Exact(asn));
        session.families = vec![
            bgp_wire::Family::IPV4_UNICAST,
            bgp_wire::Family::IPV6_UNICAST,
        ];
        session.enhanced_route_refresh = true;
        session.graceful_restart = Some(bgp_fsm::GracefulRestartConfig {
            restarting_speaker: false,
            ..Default::default()
        });
        PeerSpec {
            session,
            routing: bgp_rib::PeerConfig::new(address, asn),
            transport: Transport::default(),
            enabled: true,
            description: None,
            helper: bgp_fsm::HelperConfig::default(),
        }
    }

    /// The peer's address.
    pub fn address(&self) -> IpAddr {
        self.routing.address
    }
}

/// The sessions of one VPN connection and how they share traffic.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct TunnelPairSpec {
    /// Name (the connection's), for `show connections`.
    pub name: String,
    /// Peer addresses, one per tunnel.
    pub members: Vec<IpAddr>,
    /// Active/standby with this active tunnel's peer; `None` for active/active.
    pub active: Option<IpAddr>,
}

/// A change of the best route of a prefix.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct RouteEvent {
    /// The prefix.
    pub prefix: IpNet,
    /// The new best route; `None` when the prefix is gone.
    pub best: Option<BestRoute>,
}

/// What a data plane needs to forward a prefix.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct BestRoute {
    /// Next hops: the best path's, then the rest of the ECMP set.
    pub next_hops: Vec<NextHopEntry>,
    /// AS path of the best path.
    pub as_path: Vec<u32>,
    /// Locally originated (no next hop to install).
    pub local: bool,
}

/// One next hop and the peer it came from.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct NextHopEntry {
    /// Next-hop address.
    pub address: IpAddr,
    /// The peer that sent the path.
    pub peer: IpAddr,
}

/// A query on the Loc-RIB.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RouteQuery {
    /// One prefix (all its paths), or every best route.
    pub prefix: Option<IpNet>,
    /// Include losing paths and why they lost.
    pub explain: bool,
}

/// A prefix and its paths, as `show rib` prints them.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RouteEntry {
    /// The prefix.
    pub prefix: IpNet,
    /// Paths, best first.
    pub paths: Vec<PathEntry>,
}

/// One path. Fields a newer daemon adds are tolerated by an older `bgpd show` and vice
/// versa (`serde(default)`).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PathEntry {
    /// The peer it came from, or "local".
    pub from: String,
    /// Next hop.
    pub next_hop: Option<IpAddr>,
    /// AS path.
    pub as_path: Vec<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// ORIGIN.
    pub origin: String,
    /// Communities as `asn:value`.
    pub communities: Vec<String>,
    /// "best", "multipath", or the best-path step it lost at.
    pub status: String,
    /// Kept stale across a peer's graceful restart.
    pub stale: bool,
}

/// One peer as `show neighbors` prints it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct NeighborInfo {
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS (configured, or negotiated once up).
    pub asn: u32,
    /// Description.
    pub description: Option<String>,
    /// FSM state.
    pub state: String,
    /// Seconds since Established.
    pub uptime_secs: Option<u64>,
    /// Peer's BGP identifier, once up.
    pub router_id: Option<Ipv4Addr>,
    /// Negotiated hold time, once up.
    pub hold_time: Option<u16>,
    /// Families both sides announced, once up.
    pub families: Vec<String>,
    /// Our address on the session.
    pub local_address: Option<SocketAddr>,
    /// Paths accepted from the peer (after import policy).
    pub prefixes_accepted: usize,
    /// Prefixes received in UPDATEs (before policy).
    pub prefixes_received: u64,
    /// Prefixes currently advertised to the peer.
    pub prefixes_advertised: usize,
    /// Why the session last went down.
    pub last_error: Option<String>,
    /// Message counters.
    pub stats: PeerStats,
    /// Tunnel pair this peer belongs to, and whether it is the active tunnel.
    pub tunnel: Option<(String, bool)>,
    /// Graceful restart helper mode is on for this peer.
    pub graceful_restart_helper: bool,
    /// The peer's restart we are helping through, if one is in progress.
    pub graceful_restart: Option<RestartInfo>,
}

/// A peer's graceful restart in progress (RFC 4724 §4.2), as `show neighbor` prints it.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartInfo {
    /// `restarting` (the session is down, the peer's Restart Time runs) or `refreshing`
    /// (the session is back, End-of-RIB is awaited for at most the stale path time).
    pub phase: String,
    /// Families whose routes are kept stale.
    pub families: Vec<String>,
    /// Seconds until the remaining stale routes are removed, if nothing removes them
    /// earlier.
    pub expires_in_secs: u64,
    /// Loc-RIB best routes whose path from this peer is stale.
    pub stale_routes: usize,
}

/// Per-peer counters.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct PeerStats {
    /// Messages received by type name.
    pub messages_in: BTreeMap<String, u64>,
    /// Messages sent by type name.
    pub messages_out: BTreeMap<String, u64>,
    /// Octets received.
    pub bytes_in: u64,
    /// Octets sent.
    pub bytes_out: u64,
    /// NOTIFICATIONs sent by "code/subcode".
    pub notifications_sent: BTreeMap<String, u64>,
    /// NOTIFICATIONs received by "code/subcode".
    pub notifications_received: BTreeMap<String, u64>,
    /// Octets queued for writing.
    pub queued_bytes: usize,
    /// Times the session reached Established.
    pub established_count: u64,
}

/// Speaker-wide counters.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct SpeakerStats {
    /// IPv4 and IPv6 prefixes in the Loc-RIB.
    pub rib_prefixes: (usize, usize),
    /// Distinct interned attribute sets.
    pub attribute_sets: usize,
    /// Peers.
    pub neighbors: Vec<NeighborInfo>,
    /// How many Loc-RIB best routes each peer's path is (counted at each call).
    pub best_per_peer: BTreeMap<IpAddr, usize>,
}

/// Errors of the speaker API.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum SpeakerError {
    /// No peer with this address.
    UnknownPeer(IpAddr),
    /// A peer with this address exists already.
    DuplicatePeer(IpAddr),
    /// The session or routing configuration was refused.
    Config(String),
    /// The speaker has stopped.
    Stopped,
}

impl fmt::Display for SpeakerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpeakerError::UnknownPeer(a) => write!(f, "no peer {a}"),
            SpeakerError::DuplicatePeer(a) => write!(f, "peer {a} exists already"),
            SpeakerError::Config(e) => write!(f, "configuration refused: {e}"),
            SpeakerError::Stopped => f.write_str("the speaker has stopped"),
        }
    }
}

impl std::error::Error for SpeakerError {}
