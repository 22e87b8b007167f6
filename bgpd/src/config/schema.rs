//! The TOML schema: plain serde types, documented field by field in docs/CONFIG.md.
//!
//! Every struct refuses unknown fields (a misspelt `hold_tme` must not be silently
//! ignored). Values that need a rule-specific message (AS numbers, prefix-list entries,
//! communities) have their own deserializers that tag errors with a rule ID; everything
//! that can be checked after parsing is checked in `check.rs`, so one run reports every
//! problem instead of the first.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::diag::tagged;
use super::policy::PolicyDef;

/// A whole configuration file.
#[derive(Clone, PartialEq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[global]`: the router itself.
    pub global: Global,
    /// `[[peers]]`: explicitly configured neighbours.
    #[serde(default)]
    pub peers: Vec<Peer>,
    /// `[[connections]]`: VPN connections to cloud gateways; each tunnel becomes a peer.
    #[serde(default)]
    pub connections: Vec<Connection>,
    /// `[[networks]]`: locally originated prefixes.
    #[serde(default)]
    pub networks: Vec<Network>,
    /// `[policies.NAME]`: import/export policies referenced by name.
    #[serde(default)]
    pub policies: BTreeMap<String, PolicyDef>,
}

/// `[global]`.
#[derive(Clone, PartialEq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Global {
    /// Our AS number (plain or asdot `"a.b"`).
    pub asn: Asn,
    /// BGP Identifier. Required (rule GEN-ROUTER-ID); optional in the schema so its
    /// absence is reported with a rule ID rather than as a parse error.
    #[serde(default)]
    pub router_id: Option<Ipv4Addr>,
    /// Addresses to accept BGP connections on.
    #[serde(default = "default_listen")]
    pub listen: Vec<IpAddr>,
    /// TCP port to listen on.
    #[serde(default = "default_port")]
    pub port: u16,
    /// CLUSTER_ID (RFC 4456 §7); setting it (or having route-reflector clients) makes us a
    /// route reflector. The router id is used when absent.
    #[serde(default)]
    pub cluster_id: Option<Ipv4Addr>,
    /// Unix socket of the control interface (`bgpd show ...`).
    #[serde(default = "default_control_socket")]
    pub control_socket: PathBuf,
    /// Address to serve Prometheus metrics on; none when absent.
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
    /// Default hold time for peers in seconds (RFC 4271 §10: 90).
    #[serde(default = "default_hold_time")]
    pub hold_time: u16,
    /// Default keepalive interval in seconds; hold_time / 3 when absent.
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// Largest ECMP set (1 = no multipath).
    #[serde(default = "default_max_paths")]
    pub max_paths: u16,
    /// Kernel routing table (FIB) installation.
    #[serde(default)]
    pub fib: Fib,
    /// Worker threads of the daemon's runtime (1 by default). The RIB is one task, so a
    /// second worker only runs socket I/O beside it, and pays for that in cross-thread
    /// wake-ups and in the RIB's cache contents moving between cores (see
    /// docs/PERFORMANCE.md). Read at start only: a reload that changes it is warned about.
    #[serde(default = "default_threads")]
    pub threads: u16,
}

fn default_listen() -> Vec<IpAddr> {
    vec![
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    ]
}
fn default_port() -> u16 {
    179
}
fn default_control_socket() -> PathBuf {
    PathBuf::from("/run/bgpd.sock")
}
fn default_hold_time() -> u16 {
    90
}
fn default_max_paths() -> u16 {
    1
}
fn default_threads() -> u16 {
    1
}
fn default_true() -> bool {
    true
}

/// `[global.fib]`: how best routes go into the kernel.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fib {
    /// Install best routes at all.
    #[serde(default = "default_true")]
    pub install: bool,
    /// Routing table id (254 = main).
    #[serde(default = "default_fib_table")]
    pub table: u32,
    /// Route protocol id marking our routes (186 = `bgp` in /etc/iproute2/rt_protos).
    #[serde(default = "default_fib_protocol")]
    pub protocol: u8,
    /// Route metric (priority); lower wins over other sources of the same prefix.
    #[serde(default = "default_fib_metric")]
    pub metric: u32,
    /// Leave our routes in the kernel when the daemon stops for a graceful restart.
    #[serde(default)]
    pub keep_on_graceful_restart: bool,
}

fn default_fib_table() -> u32 {
    254
}
fn default_fib_protocol() -> u8 {
    186
}
fn default_fib_metric() -> u32 {
    20
}

impl Default for Fib {
    fn default() -> Self {
        Fib {
            install: true,
            table: default_fib_table(),
            protocol: default_fib_protocol(),
            metric: default_fib_metric(),
            keep_on_graceful_restart: false,
        }
    }
}

/// An address family the session carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// `ipv4-unicast`.
    Ipv4Unicast,
    /// `ipv6-unicast` (MP-BGP, RFC 4760).
    Ipv6Unicast,
}

impl Family {
    /// The wire family.
    pub fn to_wire(self) -> bgp_wire::Family {
        match self {
            Family::Ipv4Unicast => bgp_wire::Family::IPV4_UNICAST,
            Family::Ipv6Unicast => bgp_wire::Family::IPV6_UNICAST,
        }
    }
}

/// What happens when a peer sends more than `max_prefixes`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxPrefixesAction {
    /// Log and keep going.
    Warn,
    /// Close the session (Cease / Maximum Number of Prefixes Reached, RFC 4486) and
    /// restart it after `idle_hold` seconds (never, when `idle_hold` is absent).
    #[default]
    Shutdown,
}

/// ADD-PATH (RFC 7911) for the session's families.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddPath {
    /// Not announced.
    #[default]
    Off,
    /// Receive multiple paths.
    Receive,
    /// Send multiple paths.
    Send,
    /// Both.
    Both,
}

/// `[[peers]]`: one explicitly configured neighbour.
#[derive(Clone, PartialEq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// The neighbour's address.
    pub address: IpAddr,
    /// The neighbour's AS (equal to `global.asn` for iBGP).
    pub asn: Asn,
    /// Our address on the session (source of the TCP connection, next hop we advertise).
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// Our IPv6 address to advertise as next hop for IPv6 routes over an IPv4 session
    /// (MP-BGP, RFC 4760 / RFC 2545); without it IPv6 routes go only over IPv6 sessions.
    #[serde(default)]
    pub ipv6_next_hop: Option<std::net::Ipv6Addr>,
    /// Bind the session to this interface (SO_BINDTODEVICE), e.g. a tunnel interface.
    #[serde(default)]
    pub interface: Option<String>,
    /// The neighbour's TCP port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Never open the connection; wait for the neighbour.
    #[serde(default)]
    pub passive: bool,
    /// TCP-MD5 signature key (RFC 2385), at most 80 bytes.
    #[serde(default)]
    pub md5_password: Option<String>,
    /// GTSM (RFC 5082): the neighbour is at most this many hops away (1 = directly
    /// connected; we then require TTL 255).
    #[serde(default)]
    pub ttl_security: Option<u8>,
    /// Hold time; `global.hold_time` when absent.
    #[serde(default)]
    pub hold_time: Option<u16>,
    /// Keepalive interval; `global.keepalive` or hold/3 when absent.
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// The neighbour is a route-reflector client (iBGP only).
    #[serde(default)]
    pub route_reflector_client: bool,
    /// Advertise ourselves as next hop, also to iBGP neighbours.
    #[serde(default)]
    pub next_hop_self: bool,
    /// eBGP: do not send the neighbour routes whose AS_PATH holds its AS (it would drop
    /// them). Off lets eBGP neighbours of different ASes share one update group.
    #[serde(default = "default_true")]
    pub sender_side_loop_detection: bool,
    /// Families to negotiate; the family of `address` when absent.
    #[serde(default)]
    pub families: Option<Vec<Family>>,
    /// Import policy name (`[policies.NAME]`); accept all when absent.
    #[serde(default)]
    pub import: Option<String>,
    /// Export policy name; advertise all when absent.
    #[serde(default)]
    pub export: Option<String>,
    /// Most prefixes accepted from the neighbour.
    #[serde(default)]
    pub max_prefixes: Option<u32>,
    /// What to do past `max_prefixes`.
    #[serde(default)]
    pub max_prefixes_action: MaxPrefixesAction,
    /// Seconds before a session shut down by `max_prefixes` restarts.
    #[serde(default)]
    pub idle_hold: Option<u32>,
    /// Most prefixes advertised to the neighbour per family.
    #[serde(default)]
    pub export_limit: Option<u32>,
    /// Free text for logs and `show`.
    #[serde(default)]
    pub description: Option<String>,
    /// ADD-PATH mode.
    #[serde(default)]
    pub add_path: AddPath,
    /// Restarting speaker side of graceful restart (RFC 4724): list the session's families
    /// in the capability, so that the neighbour keeps our routes while we restart.
    #[serde(default)]
    pub graceful_restart: bool,
    /// Restart time announced with graceful restart, seconds (≤ 4095).
    #[serde(default)]
    pub restart_time: Option<u16>,
    /// Graceful restart receiving speaker (RFC 4724 §4.2): keep the neighbour's routes,
    /// marked stale, when its session drops without a NOTIFICATION. Announces the
    /// capability.
    #[serde(default = "default_true")]
    pub graceful_restart_helper: bool,
    /// Most seconds stale routes are kept once the restarted neighbour is back, waiting
    /// for its End-of-RIB (1–4095); 360 when absent.
    #[serde(default)]
    pub stale_path_time: Option<u32>,
}

/// A cloud provider profile: which rules of cloud-vpn-rules.md apply.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// AWS Site-to-Site VPN on a virtual private gateway.
    Aws,
    /// AWS Site-to-Site VPN on a transit gateway.
    AwsTgw,
    /// Azure VPN Gateway (active-active, APIPA).
    Azure,
    /// Alibaba Cloud VPN Gateway (dual tunnel).
    Alibaba,
    /// Google Cloud HA VPN with Cloud Router.
    Gcp,
    /// No provider: generic sanity rules only.
    Generic,
}

impl Provider {
    /// The name as written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::AwsTgw => "aws-tgw",
            Provider::Azure => "azure",
            Provider::Alibaba => "alibaba",
            Provider::Gcp => "gcp",
            Provider::Generic => "generic",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the tunnels of a connection share traffic.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// One tunnel carries traffic, the others stand by (preferred by local-pref inbound,
    /// AS-path prepend / MED outbound).
    ActiveStandby,
    /// All tunnels are equal (ECMP when `global.max_paths` allows).
    ActiveActive,
}

/// Which end of the tunnel we play.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// We are the customer (on-premises) device; the peer is the cloud gateway.
    #[default]
    Customer,
    /// We play the cloud gateway; the peer is the customer device (e.g. emulating Azure
    /// towards AWS in scenario S2, or a lab).
    Cloud,
}

impl Side {
    /// The other end.
    pub fn other(self) -> Side {
        match self {
            Side::Customer => Side::Cloud,
            Side::Cloud => Side::Customer,
        }
    }
}

/// A tunnel's role in an active-standby connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TunnelRole {
    /// Carries traffic while up.
    Active,
    /// Carries traffic only while the active tunnel is down.
    Standby,
}

/// `[[connections]]`: one VPN connection to a cloud gateway.
#[derive(Clone, PartialEq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Name (used as the tunnel-pair name and in logs).
    pub name: String,
    /// Our IPv6 address to advertise as next hop for IPv6 routes over the (IPv4) tunnels
    /// (MP-BGP, RFC 4760 / RFC 2545), e.g. the gateway's address in the IPv6 VPC CIDR.
    #[serde(default)]
    pub ipv6_next_hop: Option<std::net::Ipv6Addr>,
    /// Provider profile.
    pub provider: Provider,
    /// Which end we play; customer when absent.
    #[serde(default)]
    pub side: Side,
    /// Our AS on this connection; `global.asn` when absent (must equal it).
    #[serde(default)]
    pub local_asn: Option<Asn>,
    /// The peer's AS; the profile's default cloud ASN when absent and we are the customer
    /// (AWS 64512, Azure 65515, Alibaba 45104; GCP and generic have none).
    #[serde(default)]
    pub peer_asn: Option<Asn>,
    /// active-standby or active-active; the profile default when absent.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Prefixes advertised over this connection (also originated). When set, only these
    /// prefixes go out over the connection; when empty, everything originated does.
    #[serde(default)]
    pub networks: Vec<IpNet>,
    /// The prefixes behind the other end (VPC / VNet CIDRs); optional, used by checks.
    #[serde(default)]
    pub remote_networks: Vec<IpNet>,
    /// Only accept connections (Azure "ResponderOnly"); the profile default when absent.
    #[serde(default)]
    pub passive: Option<bool>,
    /// Hold time; the profile's when absent.
    #[serde(default)]
    pub hold_time: Option<u16>,
    /// Keepalive; the profile's when absent.
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// BFD on the tunnels (refused where the provider does not support it). The daemon
    /// does not run BFD yet; the field exists so a copied setting is caught.
    #[serde(default)]
    pub bfd: bool,
    /// Graceful restart; the profile default when absent (on for GCP).
    #[serde(default)]
    pub graceful_restart: Option<bool>,
    /// Graceful restart receiving speaker on the tunnels' sessions; `graceful_restart`
    /// when absent.
    #[serde(default)]
    pub graceful_restart_helper: Option<bool>,
    /// TCP-MD5 key for all tunnels (a tunnel may override).
    #[serde(default)]
    pub md5_password: Option<String>,
    /// Families on each session; the family of the inside CIDR plus the families of
    /// `networks` when absent.
    #[serde(default)]
    pub families: Option<Vec<Family>>,
    /// Import policy name.
    #[serde(default)]
    pub import: Option<String>,
    /// Export policy name (applied after the `networks` restriction).
    #[serde(default)]
    pub export: Option<String>,
    /// Most prefixes accepted per tunnel; the profile's import cap (action warn) when absent.
    #[serde(default)]
    pub max_prefixes: Option<u32>,
    /// Most prefixes advertised per tunnel; the profile's cap when absent. Raising it
    /// above a fixed provider cap is an error; Alibaba's quota can be raised by ticket.
    #[serde(default)]
    pub export_limit: Option<u32>,
    /// The tunnels.
    #[serde(default)]
    pub tunnels: Vec<Tunnel>,
}

/// One tunnel of a connection: one BGP session over a /30 (or /126) inside CIDR.
#[derive(Clone, PartialEq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tunnel {
    /// The inside CIDR, e.g. 169.254.10.0/30.
    pub inside_cidr: IpNet,
    /// Which end we play on this tunnel; the connection's `side` when absent.
    #[serde(default)]
    pub side: Option<Side>,
    /// Our address; derived from the provider's host positions when absent.
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// The peer's address; derived when absent.
    #[serde(default)]
    pub peer_address: Option<IpAddr>,
    /// The tunnel interface the session is bound to.
    #[serde(default)]
    pub interface: Option<String>,
    /// TCP-MD5 key; the connection's when absent.
    #[serde(default)]
    pub md5_password: Option<String>,
    /// Role in an active-standby connection; the first tunnel is active and the others
    /// standby when absent.
    #[serde(default)]
    pub role: Option<TunnelRole>,
    /// The peer's AS on this tunnel; the connection's when absent.
    #[serde(default)]
    pub peer_asn: Option<Asn>,
    /// Our AS on this tunnel; the connection's when absent (providers require the same
    /// on all tunnels, which `check` enforces).
    #[serde(default)]
    pub local_asn: Option<Asn>,
}

/// `[[networks]]`: a locally originated prefix.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// The prefix (IPv4 or IPv6).
    pub prefix: IpNet,
    /// Announce only while the kernel routing table has a route for exactly this prefix.
    #[serde(default)]
    pub only_if_in_kernel: bool,
}

/// An AS number. Written as an integer (`65000`) or as a string, either decimal
/// (`"65000"`) or asdot (`"1.10"` = 1×65536+10 = 65546, RFC 5396).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Asn(pub u32);

impl Asn {
    /// Parses decimal or asdot text.
    pub fn parse(s: &str) -> Result<Asn, String> {
        let s = s.trim();
        let num = |t: &str| -> Option<u64> {
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u64>().ok())
                .flatten()
        };
        if let Some((hi, lo)) = s.split_once('.') {
            let (Some(hi), Some(lo)) = (num(hi), num(lo)) else {
                return Err(format!("`{s}` is not an AS number in asdot form (a.b)"));
            };
            if hi > 65535 || lo > 65535 {
                return Err(format!(
                    "`{s}`: both halves of an asdot AS number must be 0..=65535"
                ));
            }
            return Ok(Asn(((hi as u32) << 16) | lo as u32));
        }
        match num(s) {
            Some(v) if v <= u64::from(u32::MAX) => Ok(Asn(v as u32)),
            Some(_) => Err(format!("`{s}` is larger than 4294967295")),
            None => Err(format!("`{s}` is not an AS number")),
        }
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

const ASN_FIX: &str = "write the AS number as an integer (65000) or in asdot form (\"1.10\")";

impl<'de> Deserialize<'de> for Asn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Asn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AS number (integer or \"a.b\" asdot string)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Asn, E> {
                u32::try_from(v).map(Asn).map_err(|_| {
                    E::custom(tagged(
                        "CFG-ASN",
                        format!("{v} is not an AS number (0..=4294967295)"),
                        ASN_FIX,
                    ))
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Asn, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Asn, E> {
                Asn::parse(v).map_err(|m| E::custom(tagged("CFG-ASN", m, ASN_FIX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Asn, E> {
                Err(E::custom(tagged(
                    "CFG-ASN",
                    format!("{v} is a float; an asdot AS number must be quoted"),
                    format!("write \"{v}\" in quotes"),
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Asn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn_forms() {
        assert_eq!(Asn::parse("65000"), Ok(Asn(65000)));
        assert_eq!(Asn::parse("1.10"), Ok(Asn(65546)));
        assert_eq!(Asn::parse("123.456"), Ok(Asn(8_061_384)));
        assert_eq!(Asn::parse("64086.59904"), Ok(Asn(4_200_000_000)));
        assert_eq!(Asn::parse("0.45104"), Ok(Asn(45104)));
        assert!(Asn::parse("1.70000").is_err());
        assert!(Asn::parse("1.").is_err());
        assert!(Asn::parse("-1").is_err());
        assert!(Asn::parse("4294967296").is_err());
        assert!(Asn::parse("AS65000").is_err());
    }
}
