//! From the file's shape to the explicit list of sessions the runtime runs.
//!
//! Provider knowledge ends here: a [`ResolvedPeer`] carries addresses, timers, caps and the
//! tunnel-pair role, never a provider name, so the runtime does not need to know clouds.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::profile::Profile;
use super::schema::{
    AddPath, Config, Connection, Family, MaxPrefixesAction, Mode, Side, Tunnel, TunnelRole,
};
use bgp_rib::policy::{Condition, Policy, PrefixList, PrefixListEntry, Rule};

/// Restart time announced with graceful restart when the file does not say (RFC 4724
/// leaves it to the operator; 120 s is the common default).
pub const DEFAULT_RESTART_TIME: u16 = 120;

/// Seconds stale routes of a restarted peer are kept at most, waiting for its End-of-RIB,
/// when the file does not say (FRR's `stalepath-time` default).
pub const DEFAULT_STALE_PATH_TIME: u32 = 360;

/// Seconds before a session shut down for `max_prefixes` on a connection restarts.
pub const CONNECTION_MAX_PREFIX_IDLE_HOLD: u32 = 60;

/// A limit on prefixes accepted from a peer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MaxPrefixes {
    /// Most prefixes.
    pub limit: u32,
    /// What to do past it.
    pub action: MaxPrefixesAction,
    /// Restart delay after a shutdown; none: stay down until an operator acts.
    pub idle_hold: Option<u32>,
}

/// Which tunnel of which pair a session runs over.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TunnelPair {
    /// The connection's name (the pair's name).
    pub name: String,
    /// How the tunnels share traffic.
    pub mode: Mode,
    /// This tunnel's role (always `Active` in active-active mode).
    pub role: TunnelRole,
    /// Index of this tunnel in the connection (0-based).
    pub index: usize,
    /// Number of tunnels in the connection.
    pub tunnels: usize,
}

/// One session the daemon runs, with every default applied.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ResolvedPeer {
    /// A name for logs: the description, `CONNECTION/tunnelN`, or the address.
    pub name: String,
    /// Where it came from in the file (`peers[2]`, `connections[0].tunnels[1]`).
    pub field: String,
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's TCP port.
    pub port: u16,
    /// Our address (bind source, next hop).
    pub local_address: Option<IpAddr>,
    /// Our IPv6 next hop for IPv6 routes over an IPv4 session.
    pub ipv6_next_hop: Option<std::net::Ipv6Addr>,
    /// Interface to bind to.
    pub interface: Option<String>,
    /// Our AS on the session.
    pub local_asn: u32,
    /// The peer's AS.
    pub peer_asn: u32,
    /// Only accept the connection, never open it.
    pub passive: bool,
    /// Hold time we propose.
    pub hold_time: u16,
    /// Keepalive interval.
    pub keepalive: u16,
    /// TCP-MD5 key.
    pub md5_password: Option<String>,
    /// GTSM hop count.
    pub ttl_security: Option<u8>,
    /// Families to negotiate.
    pub families: Vec<Family>,
    /// The peer is a route-reflector client.
    pub route_reflector_client: bool,
    /// Next hop self towards the peer.
    pub next_hop_self: bool,
    /// eBGP sender-side loop detection (the group is then per remote AS).
    pub sender_side_loop_detection: bool,
    /// Import policy name.
    pub import: Option<String>,
    /// Export policy name.
    pub export: Option<String>,
    /// When set, only these prefixes may be advertised (a connection's `networks`),
    /// before the export policy runs.
    pub export_prefixes: Option<Vec<IpNet>>,
    /// Limit on accepted prefixes.
    pub max_prefixes: Option<MaxPrefixes>,
    /// Limit on advertised prefixes per family (a cloud's cap).
    pub export_limit: Option<u32>,
    /// ADD-PATH.
    pub add_path: AddPath,
    /// Graceful restart as a restarting speaker (`graceful_restart`): the Restart Time
    /// announced, and the session's families listed in the capability.
    pub graceful_restart: Option<u16>,
    /// Graceful restart receiving speaker (RFC 4724 §4.2).
    pub graceful_restart_helper: bool,
    /// Most seconds stale routes stay once the restarted peer is back.
    pub stale_path_time: u32,
    /// Tunnel-pair information for sessions derived from a connection.
    pub tunnel: Option<TunnelPair>,
}

/// A connection's values after profile defaults (shared by `check` and `resolve`).
pub(crate) struct ConnectionView<'a> {
    pub(crate) connection: &'a Connection,
    pub(crate) profile: Profile,
    pub(crate) mode: Mode,
    pub(crate) hold_time: u16,
    pub(crate) keepalive: u16,
    pub(crate) passive: bool,
    pub(crate) graceful_restart: bool,
    pub(crate) graceful_restart_helper: bool,
    pub(crate) export_limit: Option<u32>,
}

/// A tunnel's values after defaults.
pub(crate) struct TunnelView {
    pub(crate) side: Side,
    pub(crate) cidr: IpNet,
    pub(crate) local: Option<IpAddr>,
    pub(crate) peer: Option<IpAddr>,
    pub(crate) local_asn: u32,
    pub(crate) peer_asn: Option<u32>,
    pub(crate) role: TunnelRole,
}

pub(crate) fn hold_keepalive(
    hold: Option<u16>,
    keepalive: Option<u16>,
    fallback: (u16, Option<u16>),
) -> (u16, u16) {
    match (hold, keepalive) {
        (Some(h), Some(k)) => (h, k),
        (Some(h), None) => (h, h / 3),
        (None, Some(k)) => (fallback.0, k),
        (None, None) => (fallback.0, fallback.1.unwrap_or(fallback.0 / 3)),
    }
}

impl Config {
    pub(crate) fn connection_view<'a>(&self, c: &'a Connection) -> ConnectionView<'a> {
        let profile = c.provider.profile();
        let fallback = match profile.timers {
            Some((k, h)) => (h, Some(k)),
            None => (self.global.hold_time, self.global.keepalive),
        };
        let (hold_time, keepalive) = hold_keepalive(c.hold_time, c.keepalive, fallback);
        let passive = c.passive.unwrap_or(
            // INIT-AZ-2: when we play Azure, it answers (ResponderOnly) and never opens
            // a session from an APIPA address (INIT-AZ-1).
            c.side == Side::Cloud && c.provider == super::schema::Provider::Azure,
        );
        let export_limit = match (c.export_limit, profile.export_cap) {
            (Some(l), Some((cap, _, raisable))) => Some(if raisable { l } else { l.min(cap) }),
            (Some(l), None) => Some(l),
            (None, cap) => cap.map(|(c, _, _)| c),
        };
        let graceful_restart = c.graceful_restart.unwrap_or(profile.graceful_restart);
        ConnectionView {
            connection: c,
            profile,
            mode: c.mode.unwrap_or(profile.default_mode),
            hold_time,
            keepalive,
            passive,
            graceful_restart,
            // A tunnel whose session drops must hand its traffic to the other tunnel at
            // once; keeping its routes stale is only right where the provider restarts
            // gracefully (GR-GCP), so the helper follows the GR setting.
            graceful_restart_helper: c.graceful_restart_helper.unwrap_or(graceful_restart),
            export_limit,
        }
    }

    pub(crate) fn tunnel_view(
        &self,
        cv: &ConnectionView<'_>,
        index: usize,
        t: &Tunnel,
    ) -> TunnelView {
        let c = cv.connection;
        let side = t.side.unwrap_or(c.side);
        let cidr = t.inside_cidr.trunc();
        let (dl, dp) = cv.profile.default_addresses(cidr, side);
        // With one address given, the other is the remaining host of a point-to-point
        // subnet, or the profile's position.
        let other = |given: IpAddr, default: Option<IpAddr>| -> Option<IpAddr> {
            let hosts = [super::profile::host(cidr, 1), super::profile::host(cidr, 2)];
            if cidr.max_prefix_len() - cidr.prefix_len() == 2 {
                hosts.into_iter().flatten().find(|h| *h != given)
            } else {
                default.filter(|d| *d != given)
            }
        };
        let (local, peer) = match (t.local_address, t.peer_address) {
            (Some(l), Some(p)) => (Some(l), Some(p)),
            (Some(l), None) => (Some(l), other(l, dp)),
            (None, Some(p)) => (other(p, dl), Some(p)),
            (None, None) => (dl, dp),
        };
        let peer_asn = t.peer_asn.or(c.peer_asn).map(|a| a.0).or(match side {
            Side::Customer => cv.profile.default_cloud_asn,
            Side::Cloud => None,
        });
        let role = match cv.mode {
            Mode::ActiveActive => TunnelRole::Active,
            Mode::ActiveStandby => t.role.unwrap_or(if index == 0 {
                TunnelRole::Active
            } else {
                TunnelRole::Standby
            }),
        };
        TunnelView {
            side,
            cidr,
            local,
            peer,
            local_asn: t.local_asn.or(c.local_asn).unwrap_or(self.global.asn).0,
            peer_asn,
            role,
        }
    }

    /// Every prefix this router originates: `[[networks]]` plus every connection's
    /// `networks`, without duplicates, with `only_if_in_kernel` from `[[networks]]`.
    pub fn originated(&self) -> Vec<super::schema::Network> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for n in &self.networks {
            if seen.insert(n.prefix.trunc()) {
                out.push(super::schema::Network {
                    prefix: n.prefix.trunc(),
                    only_if_in_kernel: n.only_if_in_kernel,
                });
            }
        }
        for c in &self.connections {
            for p in &c.networks {
                if seen.insert(p.trunc()) {
                    out.push(super::schema::Network {
                        prefix: p.trunc(),
                        only_if_in_kernel: false,
                    });
                }
            }
        }
        out
    }

    /// The originated prefixes as `bgp_rib` local routes.
    pub fn local_routes(&self) -> Vec<bgp_rib::LocalRoute> {
        self.originated()
            .into_iter()
            .map(|n| {
                let mut r = bgp_rib::LocalRoute::new(n.prefix);
                if n.only_if_in_kernel {
                    r.condition = bgp_rib::OriginCondition::WhileConditionHolds;
                }
                r
            })
            .collect()
    }

    /// The named policy converted for `bgp_rib`, if defined.
    pub fn rib_policy(&self, name: &str) -> Option<Policy> {
        self.policies.get(name).map(Policy::from)
    }

    /// The `bgp_rib` RIB-wide configuration.
    pub fn rib_config(&self) -> bgp_rib::RibConfig {
        let mut rc = bgp_rib::RibConfig::new(
            self.global.asn.0,
            self.global.router_id.unwrap_or(Ipv4Addr::UNSPECIFIED),
        );
        rc.cluster_id = self.global.cluster_id;
        rc.max_paths = usize::from(self.global.max_paths.max(1));
        rc
    }

    /// The tunnel pairs of the file's connections: (connection name, peer addresses in
    /// tunnel order, the active tunnel's peer in `active-standby` mode or `None` in
    /// `active-active`). The runtime hands them to `bgp_rib`'s tunnel pairs.
    pub fn tunnel_pairs(&self) -> Vec<(String, Vec<IpAddr>, Option<IpAddr>)> {
        let mut pairs: Vec<(String, Vec<IpAddr>, Option<IpAddr>)> = Vec::new();
        for p in self.resolve() {
            let Some(t) = &p.tunnel else { continue };
            let i = match pairs.iter().position(|x| x.0 == t.name) {
                Some(i) => i,
                None => {
                    pairs.push((t.name.clone(), Vec::new(), None));
                    pairs.len() - 1
                }
            };
            if let Some(entry) = pairs.get_mut(i) {
                entry.1.push(p.address);
                if t.mode == Mode::ActiveStandby && t.role == TunnelRole::Active {
                    entry.2 = Some(p.address);
                }
            }
        }
        pairs
    }

    /// The sessions to run: every `[[peers]]` entry, then one per tunnel of every
    /// `[[connections]]` entry, with profile defaults applied.
    ///
    /// Call it on a configuration that [`super::check_file`] accepted: tunnels whose
    /// addresses or peer AS cannot be determined (which `check` reports as errors) are
    /// left out.
    pub fn resolve(&self) -> Vec<ResolvedPeer> {
        let mut out = Vec::new();
        for (i, p) in self.peers.iter().enumerate() {
            let (hold_time, keepalive) = hold_keepalive(
                p.hold_time,
                p.keepalive,
                (self.global.hold_time, self.global.keepalive),
            );
            out.push(ResolvedPeer {
                name: p
                    .description
                    .clone()
                    .unwrap_or_else(|| p.address.to_string()),
                field: format!("peers[{i}]"),
                address: p.address,
                port: p.port,
                local_address: p.local_address,
                ipv6_next_hop: p.ipv6_next_hop,
                interface: p.interface.clone(),
                local_asn: self.global.asn.0,
                peer_asn: p.asn.0,
                passive: p.passive,
                hold_time,
                keepalive,
                md5_password: p.md5_password.clone(),
                ttl_security: p.ttl_security,
                families: p
                    .families
                    .clone()
                    .unwrap_or_else(|| vec![family_of(p.address)]),
                route_reflector_client: p.route_reflector_client,
                next_hop_self: p.next_hop_self,
                sender_side_loop_detection: p.sender_side_loop_detection,
                import: p.import.clone(),
                export: p.export.clone(),
                export_prefixes: None,
                max_prefixes: p.max_prefixes.map(|limit| MaxPrefixes {
                    limit,
                    action: p.max_prefixes_action,
                    idle_hold: p.idle_hold,
                }),
                export_limit: p.export_limit,
                add_path: p.add_path,
                graceful_restart: p
                    .graceful_restart
                    .then(|| p.restart_time.unwrap_or(DEFAULT_RESTART_TIME)),
                graceful_restart_helper: p.graceful_restart_helper,
                stale_path_time: p.stale_path_time.unwrap_or(DEFAULT_STALE_PATH_TIME),
                tunnel: None,
            });
        }
        for (i, c) in self.connections.iter().enumerate() {
            let cv = self.connection_view(c);
            for (j, t) in c.tunnels.iter().enumerate() {
                let tv = self.tunnel_view(&cv, j, t);
                let (Some(address), Some(local), Some(peer_asn)) = (tv.peer, tv.local, tv.peer_asn)
                else {
                    continue;
                };
                out.push(ResolvedPeer {
                    name: format!("{}/tunnel{}", c.name, j + 1),
                    field: format!("connections[{i}].tunnels[{j}]"),
                    address,
                    port: 179,
                    local_address: Some(local),
                    ipv6_next_hop: c.ipv6_next_hop,
                    interface: t.interface.clone(),
                    local_asn: tv.local_asn,
                    peer_asn,
                    passive: cv.passive,
                    hold_time: cv.hold_time,
                    keepalive: cv.keepalive,
                    md5_password: t.md5_password.clone().or_else(|| c.md5_password.clone()),
                    ttl_security: None,
                    families: connection_families(c, tv.cidr),
                    route_reflector_client: false,
                    next_hop_self: true,
                    // A cloud gateway has no use for its own routes back, and some count
                    // every prefix received against their cap.
                    sender_side_loop_detection: true,
                    import: c.import.clone(),
                    export: c.export.clone(),
                    export_prefixes: (!c.networks.is_empty())
                        .then(|| c.networks.iter().map(IpNet::trunc).collect()),
                    max_prefixes: match (c.max_prefixes, cv.profile.import_cap) {
                        (Some(limit), _) => Some(MaxPrefixes {
                            limit,
                            action: MaxPrefixesAction::Shutdown,
                            idle_hold: Some(CONNECTION_MAX_PREFIX_IDLE_HOLD),
                        }),
                        (None, Some(limit)) => Some(MaxPrefixes {
                            limit,
                            action: MaxPrefixesAction::Warn,
                            idle_hold: None,
                        }),
                        (None, None) => None,
                    },
                    export_limit: cv.export_limit,
                    add_path: AddPath::Off,
                    graceful_restart: cv.graceful_restart.then_some(DEFAULT_RESTART_TIME),
                    graceful_restart_helper: cv.graceful_restart_helper,
                    stale_path_time: DEFAULT_STALE_PATH_TIME,
                    tunnel: Some(TunnelPair {
                        name: c.name.clone(),
                        mode: cv.mode,
                        role: tv.role,
                        index: j,
                        tunnels: c.tunnels.len(),
                    }),
                });
            }
        }
        out
    }
}

pub(crate) fn family_of(a: IpAddr) -> Family {
    match a {
        IpAddr::V4(_) => Family::Ipv4Unicast,
        IpAddr::V6(_) => Family::Ipv6Unicast,
    }
}

fn family_of_net(n: &IpNet) -> Family {
    match n {
        IpNet::V4(_) => Family::Ipv4Unicast,
        IpNet::V6(_) => Family::Ipv6Unicast,
    }
}

/// The families a tunnel's session carries: the explicit list, else the inside CIDR's
/// family plus those of the advertised and remote networks (MP-BGP, RFC 4760).
pub(crate) fn connection_families(c: &Connection, cidr: IpNet) -> Vec<Family> {
    if let Some(f) = &c.families {
        return f.clone();
    }
    let mut set = BTreeSet::new();
    set.insert(family_of_net(&cidr));
    set.extend(c.networks.iter().map(family_of_net));
    set.extend(c.remote_networks.iter().map(family_of_net));
    set.into_iter().collect()
}

impl ResolvedPeer {
    /// The `bgp_rib` view of this peer: policies resolved by name from `config`, the
    /// `export_prefixes` restriction as a leading export rule, and limits. Tunnel roles are
    /// not encoded here: the runtime hands [`Config::tunnel_pairs`] to `bgp_rib`'s tunnel
    /// pairs, the one place that decides what active and standby mean for routes.
    pub fn rib_config(&self, config: &Config) -> bgp_rib::PeerConfig {
        let mut pc = bgp_rib::PeerConfig::new(self.address, self.peer_asn);
        pc.route_reflector_client = self.route_reflector_client;
        pc.next_hop_self = self.next_hop_self;
        pc.sender_side_loop_detection = self.sender_side_loop_detection;
        pc.max_prefix = self.max_prefixes.map(|m| bgp_rib::MaxPrefix {
            limit: m.limit,
            action: match m.action {
                MaxPrefixesAction::Warn => bgp_rib::MaxPrefixAction::Warn,
                MaxPrefixesAction::Shutdown => bgp_rib::MaxPrefixAction::Shutdown,
            },
        });
        pc.max_export = self.export_limit;
        match self.local_address {
            Some(IpAddr::V4(a)) => pc.local_v4 = Some(a),
            Some(IpAddr::V6(a)) => pc.local_v6 = Some(a),
            None => {}
        }
        if let Some(v6) = self.ipv6_next_hop {
            pc.local_v6 = Some(v6);
        }
        let import = self
            .import
            .as_deref()
            .and_then(|n| config.rib_policy(n))
            .unwrap_or_default();
        let mut export = self
            .export
            .as_deref()
            .and_then(|n| config.rib_policy(n))
            .unwrap_or_default();
        if let Some(list) = &self.export_prefixes {
            let only = Rule::new(vec![Condition::Prefix(PrefixList {
                entries: list
                    .iter()
                    .map(|p| PrefixListEntry {
                        prefix: *p,
                        ge: None,
                        le: None,
                        permit: true,
                    })
                    .collect(),
            })])
            .reject_unless_matched();
            export.rules.insert(0, only);
        }
        pc.import = import;
        pc.export = export;
        pc
    }

    /// Graceful restart receiving speaker settings.
    pub fn helper_config(&self) -> bgp_fsm::HelperConfig {
        bgp_fsm::HelperConfig {
            enabled: self.graceful_restart_helper,
            stale_path_time: std::time::Duration::from_secs(u64::from(self.stale_path_time)),
        }
    }

    /// The `bgp_fsm` session configuration (RFC 4271 §8.1 attributes and OPEN contents).
    pub fn fsm_config(&self, router_id: Ipv4Addr) -> bgp_fsm::Config {
        let mut fc = bgp_fsm::Config::new(
            self.local_asn,
            router_id,
            bgp_fsm::PeerAs::Exact(self.peer_asn),
        );
        fc.hold_time = self.hold_time;
        fc.keepalive_time = Some(self.keepalive);
        fc.passive = self.passive;
        fc.families = self.families.iter().map(|f| f.to_wire()).collect();
        let mode = match self.add_path {
            AddPath::Off => None,
            AddPath::Receive => Some(bgp_wire::AddPathMode::Receive),
            AddPath::Send => Some(bgp_wire::AddPathMode::Send),
            AddPath::Both => Some(bgp_wire::AddPathMode::Both),
        };
        if let Some(m) = mode {
            fc.add_path = fc.families.iter().map(|f| (*f, m)).collect();
        }
        // RFC 4486: after a Cease for too many prefixes the session waits this long before
        // it starts again (the FSM's IdleHoldTimer, which then grows with damping).
        if let Some(secs) = self.max_prefixes.and_then(|m| m.idle_hold) {
            fc.idle_hold_time = std::time::Duration::from_secs(u64::from(secs));
            fc.idle_hold_time_max = fc.idle_hold_time_max.max(fc.idle_hold_time);
        }
        // The helper announces the capability too, so that the peer restarts gracefully
        // with us and sends End-of-RIB; without `graceful_restart` it lists no family.
        fc.graceful_restart = match (self.graceful_restart, self.graceful_restart_helper) {
            (Some(t), _) => Some(bgp_fsm::GracefulRestartConfig {
                restart_time: t,
                ..Default::default()
            }),
            (None, true) => Some(bgp_fsm::GracefulRestartConfig {
                restarting_speaker: false,
                ..Default::default()
            }),
            (None, false) => None,
        };
        fc
    }
}
