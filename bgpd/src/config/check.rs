//! The rules `bgpd check` runs on a parsed configuration: generic BGP sanity (`GEN-*`)
//! and, per connection, the provider rules of cloud-vpn-rules.md §1 (their IDs kept).
//!
//! Every check reports and goes on, so one run lists every problem.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::diag::Sink;
use super::profile::{
    ALIBABA_EXTRA_RESERVED, AWS_RESERVED, AWS_V6_INSIDE, AZURE_APIPA, GCP_V6_INSIDE, LINK_LOCAL_V4,
};
use super::resolve::{ConnectionView, TunnelView};
use super::schema::{Asn, Config, Connection, Mode, Provider, Side, TunnelRole};

/// TCP_MD5SIG_MAXKEYLEN in Linux.
const MD5_MAX_KEY: usize = 80;
/// IFNAMSIZ - 1.
const IFNAME_MAX: usize = 15;

pub(crate) fn check(cfg: &Config, s: &mut Sink<'_>) {
    check_global(cfg, s);
    check_policies(cfg, s);
    check_networks(cfg, s);
    for i in 0..cfg.peers.len() {
        check_peer(cfg, i, s);
    }
    for (i, c) in cfg.connections.iter().enumerate() {
        check_connection(cfg, i, c, s);
    }
    let overlapping = check_tunnel_overlaps(cfg, s);
    check_duplicate_peers(cfg, &overlapping, s);
}

fn asn_generic(asn: Asn, field: &str, s: &mut Sink<'_>) {
    let why = match asn.0 {
        0 => "AS 0 is reserved and may not be used in OPEN (RFC 7607)",
        23456 => "AS 23456 is AS_TRANS, a placeholder for 4-octet ASNs (RFC 6793)",
        65535 | 4_294_967_295 => "the last AS of each range is reserved (RFC 7300)",
        _ => return,
    };
    s.error(
        "GEN-ASN-RESERVED",
        field,
        format!("{asn}: {why}"),
        "use a private AS (64512-65534 or 4200000000-4294967294) or your assigned AS",
    );
}

fn check_timers(hold: u16, keepalive: u16, base: &str, s: &mut Sink<'_>) {
    let f_hold = format!("{base}.hold_time");
    let f_ka = format!("{base}.keepalive");
    if hold == 1 || hold == 2 {
        s.error(
            "GEN-TIMER-HOLD",
            f_hold,
            format!("hold time {hold}: RFC 4271 §4.2 allows 0 or at least 3 seconds"),
            "use hold_time = 0 (no keepalives) or 3 and above (90 is the RFC default)",
        );
        return;
    }
    if hold == 0 {
        return;
    }
    if keepalive == 0 || keepalive >= hold {
        s.error(
            "GEN-TIMER-KEEPALIVE",
            f_ka,
            format!(
                "keepalive {keepalive} with hold time {hold}: the peer's hold timer would expire"
            ),
            format!(
                "set keepalive to at most {} (a third of the hold time)",
                hold / 3
            ),
        );
    } else if keepalive > hold / 3 {
        s.warn(
            "GEN-TIMER-KEEPALIVE",
            f_ka,
            format!(
                "keepalive {keepalive} is more than a third of hold time {hold}; one lost \
                 KEEPALIVE brings the session close to expiry (RFC 4271 §10 suggests 1/3)"
            ),
            format!("set keepalive = {}", hold / 3),
        );
    }
}

fn check_md5(key: Option<&String>, field: String, s: &mut Sink<'_>) {
    if let Some(k) = key
        && (k.is_empty() || k.len() > MD5_MAX_KEY)
    {
        s.error(
            "GEN-MD5",
            field,
            format!(
                "TCP-MD5 key of {} bytes; Linux accepts 1 to {MD5_MAX_KEY}",
                k.len()
            ),
            "use a key of 1 to 80 bytes, the same on both ends, or remove the field",
        );
    }
}

fn check_interface(name: Option<&String>, field: String, s: &mut Sink<'_>) {
    if let Some(n) = name
        && (n.is_empty()
            || n.len() > IFNAME_MAX
            || n.contains(['/', ' ', '\t', '\n'])
            || n == "."
            || n == "..")
    {
        s.error(
            "GEN-INTERFACE",
            field,
            format!(
                "`{n}` is not a Linux interface name (1 to {IFNAME_MAX} bytes, no '/' or spaces)"
            ),
            "use the tunnel interface's name as `ip link` shows it",
        );
    }
}

fn check_policy_ref(cfg: &Config, name: Option<&String>, field: String, s: &mut Sink<'_>) {
    if let Some(n) = name
        && !cfg.policies.contains_key(n)
    {
        let known: Vec<&str> = cfg.policies.keys().map(String::as_str).collect();
        s.error(
            "GEN-POLICY-UNKNOWN",
            field,
            format!("policy `{n}` is not defined"),
            if known.is_empty() {
                format!("define it as [policies.{n}] or remove the reference")
            } else {
                format!("define [policies.{n}] or use one of: {}", known.join(", "))
            },
        );
    }
}

fn check_prefix(p: &IpNet, field: String, s: &mut Sink<'_>) {
    if p.trunc() != *p {
        s.error(
            "GEN-PREFIX",
            field,
            format!("{p} has host bits set after the /{}", p.prefix_len()),
            format!("write {}", p.trunc()),
        );
    }
}

fn check_global(cfg: &Config, s: &mut Sink<'_>) {
    let g = &cfg.global;
    match g.router_id {
        None => s.error(
            "GEN-ROUTER-ID",
            "global.router_id",
            "router_id is not set",
            "set router_id = \"a.b.c.d\", an IPv4 address of this router unique in the AS",
        ),
        Some(id) if id.is_unspecified() || id.is_broadcast() => s.error(
            "GEN-ROUTER-ID",
            "global.router_id",
            format!("{id} cannot be a BGP Identifier (RFC 6286: non-zero)"),
            "use an IPv4 address of this router",
        ),
        Some(_) => {}
    }
    asn_generic(g.asn, "global.asn", s);
    if g.port == 0 {
        s.error(
            "GEN-PORT",
            "global.port",
            "port 0",
            "use 179 or remove the field",
        );
    }
    check_timers(
        g.hold_time,
        g.keepalive.unwrap_or(g.hold_time / 3),
        "global",
        s,
    );
    if g.max_paths == 0 {
        s.error(
            "GEN-MAX-PATHS",
            "global.max_paths",
            "max_paths 0 leaves no best path",
            "use 1 (no ECMP) or more",
        );
    }
    if g.threads == 0 {
        s.error(
            "GEN-THREADS",
            "global.threads",
            "threads 0 leaves nothing to run the sessions",
            "use 1 (the default) or more",
        );
    }
    let has_clients = cfg.peers.iter().any(|p| p.route_reflector_client);
    if g.cluster_id.is_some() && !has_clients {
        s.warn(
            "GEN-RR",
            "global.cluster_id",
            "cluster_id is set but no peer is a route_reflector_client; it has no effect",
            "mark the clients with route_reflector_client = true, or remove cluster_id",
        );
    }
    let any_passive = cfg.peers.iter().any(|p| p.passive)
        || cfg
            .connections
            .iter()
            .any(|c| cfg.connection_view(c).passive);
    if g.listen.is_empty() && any_passive {
        s.error(
            "GEN-LISTEN",
            "global.listen",
            "listen is empty but some sessions are passive; they could never come up",
            "listen on the local addresses of the passive sessions (default [\"0.0.0.0\", \"::\"])",
        );
    }
}

fn check_policies(cfg: &Config, s: &mut Sink<'_>) {
    for (name, def) in &cfg.policies {
        for (j, t) in def.terms.iter().enumerate() {
            let base = format!("policies.{name}.terms[{j}]");
            if t.accept && t.reject {
                s.error(
                    "GEN-POLICY-TERM",
                    format!("{base}.reject"),
                    "a term cannot both accept and reject",
                    "keep one of accept = true / reject = true",
                );
            }
            if t.reject
                && (t.set_local_pref.is_some()
                    || t.set_med.is_some()
                    || t.prepend.is_some()
                    || !t.add_community.is_empty()
                    || !t.remove_community.is_empty())
            {
                s.warn(
                    "GEN-POLICY-TERM",
                    base.clone(),
                    "a rejecting term's actions have no effect",
                    "remove the actions or the reject",
                );
            }
            if let Some(p) = t.prepend
                && !(1..=10).contains(&p.count)
            {
                s.error(
                    "GEN-POLICY-TERM",
                    format!("{base}.prepend"),
                    format!("prepend count {} (allowed 1..=10)", p.count),
                    "prepend 1 to 10 times; longer paths are dropped by many networks",
                );
            }
            for (k, m) in t.prefix.iter().enumerate() {
                check_prefix(&m.prefix, format!("{base}.prefix[{k}]"), s);
            }
        }
    }
}

fn check_networks(cfg: &Config, s: &mut Sink<'_>) {
    let mut seen = BTreeMap::new();
    for (i, n) in cfg.networks.iter().enumerate() {
        let field = format!("networks[{i}].prefix");
        check_prefix(&n.prefix, field.clone(), s);
        if let Some(first) = seen.insert(n.prefix.trunc(), i) {
            s.warn(
                "GEN-NETWORK-DUP",
                field,
                format!("{} is already originated by networks[{first}]", n.prefix),
                "remove one of the entries",
            );
        }
    }
    for (i, c) in cfg.connections.iter().enumerate() {
        for (k, p) in c.networks.iter().enumerate() {
            check_prefix(p, format!("connections[{i}].networks[{k}]"), s);
        }
        for (k, p) in c.remote_networks.iter().enumerate() {
            check_prefix(p, format!("connections[{i}].remote_networks[{k}]"), s);
        }
    }
}

fn check_peer(cfg: &Config, i: usize, s: &mut Sink<'_>) {
    let Some(p) = cfg.peers.get(i) else { return };
    let base = format!("peers[{i}]");
    asn_generic(p.asn, &format!("{base}.asn"), s);
    if p.address.is_unspecified() || p.address.is_multicast() {
        s.error(
            "GEN-PEER-ADDRESS",
            format!("{base}.address"),
            format!("{} cannot be a neighbour's address", p.address),
            "use the neighbour's unicast address",
        );
    }
    if let IpAddr::V6(a) = p.address
        && a.is_unicast_link_local()
        && p.interface.is_none()
    {
        s.error(
            "GEN-INTERFACE",
            format!("{base}.interface"),
            format!("{a} is link-local; the session needs an interface to reach it"),
            "set interface = \"<name of the link>\"",
        );
    }
    if let Some(l) = p.local_address
        && l.is_ipv4() != p.address.is_ipv4()
    {
        s.error(
            "GEN-LOCAL-ADDRESS",
            format!("{base}.local_address"),
            format!(
                "local address {l} and peer address {} are of different families",
                p.address
            ),
            "use a local address of the peer address's family",
        );
    }
    check_interface(p.interface.as_ref(), format!("{base}.interface"), s);
    if p.port == 0 {
        s.error(
            "GEN-PORT",
            format!("{base}.port"),
            "port 0",
            "use 179 or remove the field",
        );
    }
    check_md5(p.md5_password.as_ref(), format!("{base}.md5_password"), s);
    if let Some(t) = p.ttl_security
        && !(1..=254).contains(&t)
    {
        s.error(
            "GEN-TTL",
            format!("{base}.ttl_security"),
            format!("ttl_security {t}: GTSM counts 1 to 254 hops (RFC 5082)"),
            "use 1 for a directly connected neighbour",
        );
    }
    let (hold, ka) = super::resolve::hold_keepalive(
        p.hold_time,
        p.keepalive,
        (cfg.global.hold_time, cfg.global.keepalive),
    );
    if p.hold_time.is_some() || p.keepalive.is_some() {
        check_timers(hold, ka, &base, s);
    }
    if p.route_reflector_client && p.asn != cfg.global.asn {
        s.error(
            "GEN-RR",
            format!("{base}.route_reflector_client"),
            format!(
                "AS {} is external; route reflection applies to iBGP peers only (RFC 4456)",
                p.asn
            ),
            format!(
                "remove route_reflector_client or use asn = {}",
                cfg.global.asn
            ),
        );
    }
    if !p.sender_side_loop_detection && p.asn == cfg.global.asn {
        s.warn(
            "GEN-LOOP-DETECT",
            format!("{base}.sender_side_loop_detection"),
            "sender-side loop detection applies to eBGP peers only; this peer is iBGP",
            "remove sender_side_loop_detection",
        );
    }
    if let Some(f) = &p.families {
        check_families(f, format!("{base}.families"), s);
    }
    check_policy_ref(cfg, p.import.as_ref(), format!("{base}.import"), s);
    check_policy_ref(cfg, p.export.as_ref(), format!("{base}.export"), s);
    if p.max_prefixes == Some(0) {
        s.error(
            "GEN-MAX-PREFIXES",
            format!("{base}.max_prefixes"),
            "max_prefixes 0 refuses every route",
            "use a positive limit or remove the field",
        );
    }
    if p.idle_hold.is_some()
        && (p.max_prefixes.is_none()
            || p.max_prefixes_action == super::schema::MaxPrefixesAction::Warn)
    {
        s.warn(
            "GEN-MAX-PREFIXES",
            format!("{base}.idle_hold"),
            "idle_hold only applies after a max_prefixes shutdown",
            "set max_prefixes with max_prefixes_action = \"shutdown\", or remove idle_hold",
        );
    }
    if p.export_limit == Some(0) {
        s.error(
            "GEN-MAX-PREFIXES",
            format!("{base}.export_limit"),
            "export_limit 0 advertises nothing",
            "use a positive limit or an export policy that rejects everything",
        );
    } else if let Some(l) = p.export_limit {
        let n = cfg.originated().len();
        if usize::try_from(l).is_ok_and(|l| l < n) {
            s.warn(
                "GEN-EXPORT-LIMIT",
                format!("{base}.export_limit"),
                format!("export_limit {l} is below the {n} prefixes this router originates"),
                "raise export_limit or filter with an export policy",
            );
        }
    }
    if p.restart_time.is_some_and(|t| t > 4095) {
        s.error(
            "GEN-GR",
            format!("{base}.restart_time"),
            "the restart time is a 12-bit field (RFC 4724 §3): at most 4095",
            "use 120",
        );
    } else if p.restart_time.is_some() && !p.graceful_restart {
        s.warn(
            "GEN-GR",
            format!("{base}.restart_time"),
            "restart_time without graceful_restart = true has no effect",
            "set graceful_restart = true or remove restart_time",
        );
    }
    if p.stale_path_time.is_some_and(|t| !(1..=4095).contains(&t)) {
        s.error(
            "GEN-GR",
            format!("{base}.stale_path_time"),
            "the stale path time must be 1 to 4095 seconds",
            "use 360",
        );
    } else if p.stale_path_time.is_some() && !p.graceful_restart_helper {
        s.warn(
            "GEN-GR",
            format!("{base}.stale_path_time"),
            "stale_path_time with graceful_restart_helper = false has no effect",
            "remove stale_path_time or turn the helper on",
        );
    }
}

fn check_families(f: &[super::schema::Family], field: String, s: &mut Sink<'_>) {
    if f.is_empty() {
        s.error(
            "GEN-FAMILY",
            field,
            "no address family: the session would carry nothing",
            "list ipv4-unicast and/or ipv6-unicast, or remove the field",
        );
    } else if f.iter().collect::<BTreeSet<_>>().len() != f.len() {
        s.warn(
            "GEN-FAMILY",
            field,
            "a family is listed twice",
            "list each family once",
        );
    }
}

fn in_range_v4(n: &Ipv4Net, lo: std::net::Ipv4Addr, hi: std::net::Ipv4Addr) -> bool {
    n.network() >= lo && n.broadcast() <= hi
}

fn is_private_asn(a: u32) -> bool {
    (64512..=65534).contains(&a) || (4_200_000_000..=4_294_967_294).contains(&a)
}

/// The AWS-reserved and Alibaba-reserved blocks an inside CIDR overlaps.
fn reserved_overlap(n: &Ipv4Net, alibaba: bool) -> Option<Ipv4Net> {
    AWS_RESERVED
        .iter()
        .chain(alibaba.then_some(&ALIBABA_EXTRA_RESERVED))
        .find(|r| r.contains(n) || n.contains(*r))
        .copied()
}

const RESERVED_FIX_AWS: &str = "pick another /30 inside 169.254.0.0/16 outside 169.254.0.0/30-169.254.5.0/30 and 169.254.169.252/30 (169.254.21.0-169.254.22.255 also suits Azure and Alibaba)";
const RESERVED_FIX_ALI: &str = "pick another /30 inside 169.254.0.0/16 outside the reserved list (169.254.0.0/30-169.254.6.0/30, 169.254.169.252/30)";

fn check_connection(cfg: &Config, i: usize, c: &Connection, s: &mut Sink<'_>) {
    let base = format!("connections[{i}]");
    let cv = cfg.connection_view(c);
    let p = c.provider;
    if c.tunnels.is_empty() {
        s.error(
            "GEN-TUN-NONE",
            format!("{base}.tunnels"),
            "a connection without tunnels makes no session",
            "add [[connections.tunnels]] with an inside_cidr",
        );
    }
    check_md5(c.md5_password.as_ref(), format!("{base}.md5_password"), s);
    check_policy_ref(cfg, c.import.as_ref(), format!("{base}.import"), s);
    check_policy_ref(cfg, c.export.as_ref(), format!("{base}.export"), s);
    if let Some(f) = &c.families {
        check_families(f, format!("{base}.families"), s);
    }
    if c.max_prefixes == Some(0) {
        s.error(
            "GEN-MAX-PREFIXES",
            format!("{base}.max_prefixes"),
            "max_prefixes 0 refuses every route",
            "use a positive limit or remove the field",
        );
    }

    let views: Vec<TunnelView> = c
        .tunnels
        .iter()
        .enumerate()
        .map(|(j, t)| cfg.tunnel_view(&cv, j, t))
        .collect();

    check_connection_asns(cfg, i, c, &views, s);
    check_connection_timers(&cv, &base, s);

    // BFD (§1.3).
    if c.bfd {
        match p {
            Provider::Azure => s.error(
                "BFD-AZ",
                format!("{base}.bfd"),
                "Azure VPN Gateway does not support BFD on site-to-site VPN",
                "remove bfd; BGP hold-timer expiry (180 s) detects failure",
            ),
            Provider::Gcp => s.error(
                "BFD-GCP",
                format!("{base}.bfd"),
                "Cloud Router supports BFD on VLAN attachments only, not on HA VPN",
                "remove bfd; lower the keepalive (20 s minimum) for faster detection",
            ),
            _ => s.warn(
                "GEN-BFD",
                format!("{base}.bfd"),
                "this daemon does not run BFD yet (and whether the provider supports it on VPN is undocumented)",
                "remove bfd",
            ),
        }
    }

    // Session initiation (§1.5 INIT-*).
    let customer_apipa_azure = p == Provider::Azure
        && views
            .iter()
            .any(|t| t.side == Side::Customer && t.cidr.addr().is_ipv4());
    if cv.passive && customer_apipa_azure {
        s.error(
            "INIT-AZ-1",
            format!("{base}.passive"),
            "Azure never opens BGP from an APIPA address; a passive on-premises side would never come up",
            "remove passive (only the Azure side, side = \"cloud\", is ResponderOnly)",
        );
    }
    if cv.passive && matches!(p, Provider::Aws | Provider::AwsTgw) && c.side == Side::Customer {
        s.warn(
            "INIT-AWS-1",
            format!("{base}.passive"),
            "the customer gateway initiates towards AWS by default (startup action Add); whether AWS opens BGP itself is undocumented",
            "remove passive",
        );
    }

    // Mode and tunnel roles (§1.5 PREF-*, ADDR-AZ-3).
    check_roles(c, &cv, &views, &base, s);

    // Export cap and forbidden exports (§1.4).
    check_exports(cfg, i, c, &cv, s);

    // Tunnels (§1.1).
    let families: BTreeSet<bool> = views.iter().map(|t| t.cidr.addr().is_ipv4()).collect();
    if p == Provider::AwsTgw && families.len() > 1 {
        s.error(
            "ADDR-AWS-6",
            format!("{base}.tunnels"),
            "one AWS VPN connection carries IPv4 or IPv6 inside addresses, not both",
            "split the IPv4 and IPv6 tunnels into two connections",
        );
    }
    for (j, (t, tv)) in c.tunnels.iter().zip(&views).enumerate() {
        let tb = format!("{base}.tunnels[{j}]");
        check_tunnel_cidr(c, &t.inside_cidr, &tb, s);
        check_tunnel_addresses(c, tv, &tb, s);
        check_interface(t.interface.as_ref(), format!("{tb}.interface"), s);
        check_md5(t.md5_password.as_ref(), format!("{tb}.md5_password"), s);
    }
}

fn check_connection_asns(
    cfg: &Config,
    i: usize,
    c: &Connection,
    views: &[TunnelView],
    s: &mut Sink<'_>,
) {
    let base = format!("connections[{i}]");
    let p = c.provider;
    if let Some(a) = c.local_asn {
        asn_generic(a, &format!("{base}.local_asn"), s);
    }
    if let Some(a) = c.peer_asn {
        asn_generic(a, &format!("{base}.peer_asn"), s);
    }
    let Some(first) = views.first() else { return };
    // The local ASN is the same on all tunnels (ASN-AWS-7, ASN-ALI-3) ...
    for (j, (t, tv)) in c.tunnels.iter().zip(views).enumerate().skip(1) {
        if tv.local_asn != first.local_asn {
            let rule = match p {
                Provider::Aws | Provider::AwsTgw => "ASN-AWS-7",
                Provider::Alibaba => "ASN-ALI-3",
                _ => "GEN-ASN-LOCAL",
            };
            let field = if t.local_asn.is_some() {
                format!("{base}.tunnels[{j}].local_asn")
            } else {
                format!("{base}.tunnels[{j}]")
            };
            s.error(
                rule,
                field,
                format!(
                    "local ASN {} differs from {} on tunnels[0]; all tunnels of one connection present one local ASN",
                    tv.local_asn, first.local_asn
                ),
                format!("use local_asn = {} on every tunnel", first.local_asn),
            );
        }
    }
    // ... and the daemon's (one RIB, one AS).
    if first.local_asn != cfg.global.asn.0 {
        let field = match (c.tunnels.first().and_then(|t| t.local_asn), c.local_asn) {
            (Some(_), _) => format!("{base}.tunnels[0].local_asn"),
            (None, _) => format!("{base}.local_asn"),
        };
        s.error(
            "GEN-ASN-LOCAL",
            field,
            format!(
                "local ASN {} differs from global.asn {}; the daemon speaks for one AS",
                first.local_asn, cfg.global.asn
            ),
            format!("remove local_asn or set global.asn = {}", first.local_asn),
        );
    }
    for (j, (t, tv)) in c.tunnels.iter().zip(views).enumerate() {
        let tb = format!("{base}.tunnels[{j}]");
        if let Some(a) = t.local_asn {
            asn_generic(a, &format!("{tb}.local_asn"), s);
        }
        if let Some(a) = t.peer_asn {
            asn_generic(a, &format!("{tb}.peer_asn"), s);
        }
        let peer_field = if t.peer_asn.is_some() {
            format!("{tb}.peer_asn")
        } else {
            format!("{base}.peer_asn")
        };
        let Some(peer) = tv.peer_asn else {
            // Report once per connection unless the tunnel is the odd one out.
            if j == 0 || views.first().is_some_and(|f| f.peer_asn.is_some()) {
                s.error(
                    "GEN-ASN-MISSING",
                    peer_field,
                    match tv.side {
                        Side::Customer => format!("provider {p} has no default cloud ASN; the peer ASN must be given"),
                        Side::Cloud => "we play the cloud side, so the peer is the customer device, whose ASN must be given".to_owned(),
                    },
                    "set peer_asn",
                );
            }
            continue;
        };
        let local = tv.local_asn;
        if local == peer {
            let (rule, what) = match p {
                Provider::Aws | Provider::AwsTgw => ("ASN-AWS-6", "the Amazon-side ASN"),
                Provider::Azure => ("ASN-AZ-6", "the Azure gateway's ASN"),
                Provider::Gcp => ("ASN-GCP-3", "the Cloud Router's ASN"),
                Provider::Alibaba | Provider::Generic => ("GEN-ASN-PEER", "the peer's ASN"),
            };
            let fix = if local == 64512 && matches!(p, Provider::Aws | Provider::AwsTgw) {
                "64512 is the Amazon-side default: use a different customer ASN (e.g. 65000, the API default) or create the gateway with another Amazon ASN".to_owned()
            } else {
                "use different ASNs on the two ends (eBGP)".to_owned()
            };
            s.error(
                rule,
                peer_field.clone(),
                format!("local ASN {local} equals {what}; the session would be iBGP"),
                fix,
            );
        }
        let (customer, cloud, customer_field, cloud_field) = match tv.side {
            Side::Customer => (local, peer, local_field(c, j, &base), peer_field.clone()),
            Side::Cloud => (peer, local, peer_field.clone(), local_field(c, j, &base)),
        };
        // Report role-specific ASN rules on the first tunnel, or where a tunnel overrides.
        if j > 0 && t.local_asn.is_none() && t.peer_asn.is_none() {
            continue;
        }
        provider_asn_rules(c, customer, cloud, &customer_field, &cloud_field, s);
    }
    // One ASN on the cloud end (ASN-GCP-2 hard, ASN-ALI-3 soft).
    let peers: BTreeSet<u32> = views.iter().filter_map(|t| t.peer_asn).collect();
    if peers.len() > 1 {
        let list: Vec<String> = peers.iter().map(u32::to_string).collect();
        match p {
            Provider::Gcp => s.error(
                "ASN-GCP-2",
                format!("{base}.tunnels"),
                format!("peer ASNs {} on one Cloud Router, which uses one ASN for all its sessions", list.join(", ")),
                "use the Cloud Router's single ASN on every tunnel",
            ),
            Provider::Alibaba => s.warn(
                "ASN-ALI-3",
                format!("{base}.tunnels"),
                format!("peer ASNs {} differ between the tunnels; Alibaba allows it but they should match", list.join(", ")),
                "use the same peer ASN on both tunnels",
            ),
            _ => {}
        }
    }
}

fn local_field(c: &Connection, j: usize, base: &str) -> String {
    if c.tunnels.get(j).is_some_and(|t| t.local_asn.is_some()) {
        format!("{base}.tunnels[{j}].local_asn")
    } else if c.local_asn.is_some() {
        format!("{base}.local_asn")
    } else {
        "global.asn".to_owned()
    }
}

fn provider_asn_rules(
    c: &Connection,
    customer: u32,
    cloud: u32,
    customer_field: &str,
    cloud_field: &str,
    s: &mut Sink<'_>,
) {
    match c.provider {
        Provider::Aws | Provider::AwsTgw => {
            match customer {
                7224 => s.error(
                    "ASN-AWS-2",
                    customer_field,
                    "7224 is reserved by AWS in all Regions and cannot be a customer-gateway ASN",
                    "use a private ASN such as 65000",
                ),
                9059 | 10124 | 17943 | 17493 => s.warn(
                    "ASN-AWS-2",
                    customer_field,
                    format!(
                        "{customer} is reserved by AWS in one Region (9059 eu-west-1, 10124 ap-northeast-1, 17943/17493 ap-southeast-1)"
                    ),
                    "use a private ASN unless you are sure of the Region",
                ),
                64512 if cloud != 64512 => s.warn(
                    "ASN-AWS-4",
                    customer_field,
                    "64512 is also the default Amazon-side ASN",
                    format!("make sure the gateway was created with Amazon-side ASN {cloud}"),
                ),
                _ => {}
            }
            let legacy = [7224, 9059, 10124, 17493, 17943];
            if !is_private_asn(cloud) && !legacy.contains(&cloud) {
                s.warn(
                    "ASN-AWS-5",
                    cloud_field,
                    format!("{cloud} is not private; an Amazon-side ASN is 64512-65534 or 4200000000-4294967294 (or a pre-2018 default)"),
                    "use the gateway's Amazon-side ASN (default 64512)",
                );
            }
        }
        Provider::Azure => {
            if matches!(customer, 8074 | 8075 | 12076 | 65515 | 65517..=65520) {
                s.error(
                    "ASN-AZ-1",
                    customer_field,
                    format!(
                        "{customer} is reserved by Azure and cannot be used by the on-premises side"
                    ),
                    "use 64512-65514 or 65521-65534, or a public ASN you hold",
                );
            } else if matches!(customer, 23456 | 64496..=64511 | 65535..=65551 | 429_496_729 | 4_294_967_295)
            {
                s.error(
                    "ASN-AZ-2",
                    customer_field,
                    format!("{customer} is reserved by IANA (Azure refuses it)"),
                    "use 64512-65514 or 65521-65534, or a public ASN you hold",
                );
            }
        }
        Provider::Alibaba => {
            if customer == 45104 {
                s.error(
                    "ASN-ALI-1",
                    customer_field,
                    "45104 is Alibaba Cloud's own ASN and cannot be a customer-gateway ASN",
                    "use a private ASN (64512-65534)",
                );
            }
        }
        Provider::Gcp => {
            if cloud == 16550 {
                s.warn(
                    "ASN-GCP-1",
                    cloud_field,
                    "16550 is the Cloud Router ASN for Partner Interconnect only; such a router cannot serve HA VPN",
                    "use the HA VPN Cloud Router's private ASN",
                );
            } else if !is_private_asn(cloud) {
                s.warn(
                    "ASN-GCP-1",
                    cloud_field,
                    format!("{cloud} is not private; a Cloud Router ASN is 64512-65534 or 4200000000-4294967294"),
                    "use the Cloud Router's ASN",
                );
            }
        }
        Provider::Generic => {}
    }
}

fn check_connection_timers(cv: &ConnectionView<'_>, base: &str, s: &mut Sink<'_>) {
    let c = cv.connection;
    let (hold, ka) = (cv.hold_time, cv.keepalive);
    match c.provider {
        Provider::Azure if (hold, ka) != (180, 60) => {
            s.error(
                "TMR-AZ-1",
                format!("{base}.hold_time"),
                format!(
                    "keepalive {ka} / hold {hold}: Azure VPN Gateway timers are fixed at 60 / 180 and it does not negotiate down"
                ),
                "remove hold_time and keepalive (the profile uses 60/180) or set keepalive = 60, hold_time = 180",
            );
            return;
        }
        Provider::Gcp if !(20..=60).contains(&ka) || u32::from(hold) != 3 * u32::from(ka) => {
            s.warn(
                "TMR-GCP-1",
                format!("{base}.keepalive"),
                format!(
                    "keepalive {ka} / hold {hold}: Cloud Router uses keepalive 20-60 and hold = 3 x keepalive; the lower hold wins"
                ),
                "use keepalive 20..=60 and hold_time = 3 x keepalive (default 20/60)",
            );
        }
        _ => {}
    }
    check_timers(hold, ka, base, s);
}

fn check_roles(
    c: &Connection,
    cv: &ConnectionView<'_>,
    views: &[TunnelView],
    base: &str,
    s: &mut Sink<'_>,
) {
    match cv.mode {
        Mode::ActiveActive => {
            for (j, t) in c.tunnels.iter().enumerate() {
                if t.role.is_some() {
                    s.warn(
                        "GEN-PAIR",
                        format!("{base}.tunnels[{j}].role"),
                        "role is ignored in active-active mode",
                        "remove role, or set mode = \"active-standby\"",
                    );
                }
            }
        }
        Mode::ActiveStandby => {
            let active = views
                .iter()
                .filter(|t| t.role == TunnelRole::Active)
                .count();
            if !views.is_empty() && active != 1 {
                s.error(
                    "GEN-PAIR",
                    format!("{base}.tunnels"),
                    format!("active-standby needs exactly one active tunnel, found {active}"),
                    "mark one tunnel role = \"active\" and the others \"standby\"",
                );
            }
            if c.provider == Provider::Alibaba
                && views.first().is_some_and(|t| t.role != TunnelRole::Active)
            {
                s.warn(
                    "PREF-ALI-1",
                    format!("{base}.tunnels[0].role"),
                    "Alibaba fixes tunnel 1 as active and tunnel 2 as standby; the other end will not follow this choice",
                    "make tunnels[0] active and tunnels[1] standby",
                );
            }
            if c.provider == Provider::Aws {
                s.warn(
                    "PREF-AWS-3",
                    format!("{base}.mode"),
                    "active-standby sets a lower local-pref on the standby tunnel; AWS recommends equal local-pref so its MED picks the tunnel (e.g. during endpoint maintenance)",
                    "use mode = \"active-active\" unless asymmetric routing is not allowed (PREF-AWS-4)",
                );
            }
            if c.provider == Provider::Azure && c.tunnels.len() > 1 {
                s.error(
                    "ADDR-AZ-3",
                    format!("{base}.mode"),
                    "an active-standby Azure gateway has only one BGP APIPA address, so it cannot terminate several tunnels' sessions",
                    "use an active-active Azure gateway (mode = \"active-active\")",
                );
            }
        }
    }
}

fn check_exports(
    cfg: &Config,
    i: usize,
    c: &Connection,
    cv: &ConnectionView<'_>,
    s: &mut Sink<'_>,
) {
    let base = format!("connections[{i}]");
    // What goes out over this connection: its own networks, else everything originated.
    let (prefixes, fields): (Vec<IpNet>, Vec<String>) = if c.networks.is_empty() {
        let mut fields = Vec::new();
        let mut prefixes = Vec::new();
        for (k, n) in cfg.networks.iter().enumerate() {
            prefixes.push(n.prefix.trunc());
            fields.push(format!("networks[{k}].prefix"));
        }
        for (ci, other) in cfg.connections.iter().enumerate() {
            for (k, n) in other.networks.iter().enumerate() {
                prefixes.push(n.trunc());
                fields.push(format!("connections[{ci}].networks[{k}]"));
            }
        }
        (prefixes, fields)
    } else {
        (
            c.networks.iter().map(IpNet::trunc).collect(),
            (0..c.networks.len())
                .map(|k| format!("{base}.networks[{k}]"))
                .collect(),
        )
    };
    let count = prefixes.iter().collect::<BTreeSet<_>>().len();
    // Export caps apply to what the customer sends to the cloud.
    if c.side == Side::Customer
        && let Some((cap, rule, raisable)) = cv.profile.export_cap
    {
        if let Some(l) = c.export_limit
            && l > cap
            && !raisable
        {
            s.error(
                rule,
                format!("{base}.export_limit"),
                format!(
                    "export_limit {l} is above {}'s fixed limit of {cap} prefixes",
                    c.provider
                ),
                format!("use export_limit <= {cap}"),
            );
        }
        let effective = cv.export_limit.unwrap_or(cap);
        if usize::try_from(effective).is_ok_and(|e| count > e) {
            let consequence = match c.provider {
                Provider::Aws => " (past it the VGW has been seen to reset the session: LIM-AWS-4)",
                Provider::Azure => " (Azure drops the session past it)",
                Provider::Gcp => " (Cloud Router resets the session past it)",
                _ => "",
            };
            s.error(
                rule,
                if c.networks.is_empty() { base.clone() } else { format!("{base}.networks") },
                format!(
                    "{count} prefixes advertised over this connection; {} accepts at most {effective}{consequence}",
                    c.provider
                ),
                if raisable {
                    format!("aggregate the prefixes, or raise the quota with the provider and set export_limit (now {effective})")
                } else {
                    "aggregate the prefixes or advertise fewer over this connection".to_owned()
                },
            );
        }
    }
    // LIM-ALI-2: 100.64.0.0/10, and anything in or around it, is refused by Alibaba.
    if c.provider == Provider::Alibaba && c.side == Side::Customer {
        let cgnat: IpNet = IpNet::V4(Ipv4Net::new_assert(
            std::net::Ipv4Addr::new(100, 64, 0, 0),
            10,
        ));
        for (p, f) in prefixes.iter().zip(&fields) {
            if p.contains(&cgnat) || cgnat.contains(p) {
                s.error(
                    "LIM-ALI-2",
                    f.clone(),
                    format!("{p} overlaps 100.64.0.0/10, which must not be advertised to an Alibaba VPN gateway"),
                    "do not advertise it over this connection (list the connection's networks explicitly)",
                );
            }
        }
    }
    // What the other end already has.
    for r in &c.remote_networks {
        for (p, f) in prefixes.iter().zip(&fields) {
            if p == r && c.provider == Provider::Azure {
                s.warn(
                    "LIM-AZ-2",
                    f.clone(),
                    format!("{p} is identical to a VNet prefix; Azure rejects it"),
                    "advertise a covering prefix (e.g. a /8) or not at all",
                );
            } else if r.contains(p) {
                s.warn(
                    "GEN-REMOTE-OVERLAP",
                    f.clone(),
                    format!("{p} lies inside the other end's network {r}; it would pull that network's own traffic into the tunnel"),
                    "do not advertise the other end's prefixes back to it",
                );
            }
        }
    }
}

fn check_tunnel_cidr(c: &Connection, cidr: &IpNet, tb: &str, s: &mut Sink<'_>) {
    let field = format!("{tb}.inside_cidr");
    if cidr.trunc() != *cidr {
        s.error(
            "GEN-PREFIX",
            field.clone(),
            format!("{cidr} has host bits set"),
            format!(
                "write inside_cidr = \"{}\" and put our address in local_address",
                cidr.trunc()
            ),
        );
    }
    let n = cidr.trunc();
    match (c.provider, n) {
        (Provider::Aws, IpNet::V6(_)) => s.error(
            "ADDR-AWS-6",
            field,
            format!("{n}: a virtual private gateway does not support IPv6 inside addresses"),
            "use an IPv4 /30 inside 169.254.0.0/16, or provider = \"aws-tgw\"",
        ),
        (Provider::AwsTgw, IpNet::V6(v6)) => {
            let within = Ipv6Net::new_assert(AWS_V6_INSIDE.0, AWS_V6_INSIDE.1);
            if v6.prefix_len() != 126 || !within.contains(&v6) {
                s.error(
                    "ADDR-AWS-6",
                    field,
                    format!("{n}: an AWS IPv6 inside CIDR is a /126 inside fd00::/8"),
                    "use e.g. fd00:0:0:1::/126",
                );
            }
        }
        (Provider::Aws | Provider::AwsTgw, IpNet::V4(v4)) => {
            if v4.prefix_len() != 30 || !LINK_LOCAL_V4.contains(&v4) {
                s.error(
                    "ADDR-AWS-1",
                    field,
                    format!("{n}: an AWS inside CIDR is a /30 inside 169.254.0.0/16"),
                    "use a /30 such as 169.254.21.0/30",
                );
            } else if let Some(r) = reserved_overlap(&v4, false) {
                s.error(
                    "ADDR-AWS-2",
                    field,
                    format!("{n} is reserved by AWS (overlaps {r})"),
                    RESERVED_FIX_AWS,
                );
            }
        }
        (Provider::Azure, IpNet::V6(_)) => s.error(
            "ADDR-AZ-1",
            field,
            format!("{n}: Azure APIPA BGP addresses are IPv4, inside 169.254.21.0-169.254.22.255"),
            "use a /30 inside 169.254.21.0-169.254.22.255",
        ),
        (Provider::Azure, IpNet::V4(v4)) => {
            if v4.prefix_len() != 30 {
                s.error(
                    "ADDR-AZ-4",
                    field,
                    format!("{n}: the APIPA peering subnet is a /30 (one address per end)"),
                    "use a /30 inside 169.254.21.0-169.254.22.255",
                );
            } else if !in_range_v4(&v4, AZURE_APIPA.0, AZURE_APIPA.1) {
                s.error(
                    "ADDR-AZ-1",
                    field,
                    format!(
                        "{n} is outside Azure's custom APIPA range 169.254.21.0-169.254.22.255"
                    ),
                    "pick a /30 inside 169.254.21.0-169.254.22.255 (e.g. 169.254.21.0/30)",
                );
            }
        }
        (Provider::Alibaba, _) => {
            let v4 = match n {
                IpNet::V4(v4) if v4.prefix_len() == 30 && LINK_LOCAL_V4.contains(&v4) => v4,
                _ => {
                    s.error(
                        "ADDR-ALI-1",
                        field,
                        format!("{n}: an Alibaba tunnel CIDR is a /30 inside 169.254.0.0/16"),
                        "use a /30 such as 169.254.10.0/30",
                    );
                    return;
                }
            };
            if let Some(r) = reserved_overlap(&v4, true) {
                s.error(
                    "ADDR-ALI-2",
                    field,
                    format!("{n} is reserved by Alibaba Cloud (overlaps {r})"),
                    RESERVED_FIX_ALI,
                );
            }
        }
        (Provider::Gcp, IpNet::V4(v4)) => {
            if !LINK_LOCAL_V4.contains(&v4) || v4.prefix_len() > 30 {
                s.error(
                    "ADDR-GCP-1",
                    field,
                    format!("{n}: Cloud Router IPv4 BGP addresses come from 169.254.0.0/16 (a /30 in Google's examples)"),
                    "use a /30 inside 169.254.0.0/16, e.g. 169.254.0.0/30",
                );
            }
        }
        (Provider::Gcp, IpNet::V6(v6)) => {
            let within = Ipv6Net::new_assert(GCP_V6_INSIDE.0, GCP_V6_INSIDE.1);
            if !within.contains(&v6) || v6.prefix_len() > 126 {
                s.error(
                    "ADDR-GCP-3",
                    field,
                    format!("{n}: Cloud Router IPv6 BGP addresses come from fdff:1::/64 with a /126 or shorter mask"),
                    "use e.g. fdff:1::/126",
                );
            }
        }
        (Provider::Generic, _) => {
            let spare = n.max_prefix_len() - n.prefix_len();
            if spare > 2 {
                s.error(
                    "GEN-TUN-PREFIX",
                    field,
                    format!("{n}: a tunnel's inside CIDR is a point-to-point subnet (/30 or /31; /126 or /127)"),
                    "use a /30 (or /126)",
                );
            } else if let IpNet::V4(v4) = n
                && let Some(r) = reserved_overlap(&v4, true)
            {
                s.warn(
                    "GEN-TUN-RESERVED",
                    field,
                    format!("{n} overlaps {r}, which AWS and/or Alibaba reserve; this config cannot move to those clouds unchanged"),
                    "prefer a /30 inside 169.254.21.0-169.254.22.255 (ADDR-GEN-2)",
                );
            }
        }
    }
}

fn check_tunnel_addresses(c: &Connection, tv: &TunnelView, tb: &str, s: &mut Sink<'_>) {
    let t_local_field = format!("{tb}.local_address");
    let t_peer_field = format!("{tb}.peer_address");
    let (Some(local), Some(peer)) = (tv.local, tv.peer) else {
        s.error(
            "ADDR-GEN-1",
            tb,
            format!("cannot derive both addresses from {}", tv.cidr),
            "set local_address and peer_address explicitly",
        );
        return;
    };
    let n = tv.cidr;
    let inside_rule = if c.provider == Provider::Alibaba {
        "ADDR-ALI-4"
    } else {
        "ADDR-GEN-1"
    };
    for (a, field, who) in [
        (local, &t_local_field, "our"),
        (peer, &t_peer_field, "the peer's"),
    ] {
        if !n.contains(&a) {
            s.error(
                inside_rule,
                field.clone(),
                format!("{who} address {a} is outside the inside CIDR {n}"),
                format!("use an address inside {n}"),
            );
            return;
        }
        let bad = match (n, a) {
            (IpNet::V4(v4), IpAddr::V4(x)) if v4.prefix_len() <= 30 => {
                if x == v4.network() {
                    Some("the network address")
                } else if x == v4.broadcast() {
                    Some("the broadcast address")
                } else {
                    None
                }
            }
            (IpNet::V6(v6), IpAddr::V6(x)) if v6.prefix_len() <= 126 && x == v6.network() => {
                Some("the subnet-router anycast address (RFC 4291 §2.6.1)")
            }
            _ => None,
        };
        if let Some(what) = bad {
            s.error(
                "ADDR-GEN-1",
                field.clone(),
                format!("{who} address {a} is {what} of {n}"),
                "use the first or second host of the subnet",
            );
            return;
        }
    }
    if local == peer {
        s.error(
            "ADDR-GEN-1",
            t_peer_field.clone(),
            format!("our address and the peer's are both {local}"),
            "give the two ends different hosts of the subnet",
        );
        return;
    }
    // Host positions.
    let (cloud, customer) = match tv.side {
        Side::Customer => (peer, local),
        Side::Cloud => (local, peer),
    };
    let (cloud_field, customer_field) = match tv.side {
        Side::Customer => (&t_peer_field, &t_local_field),
        Side::Cloud => (&t_local_field, &t_peer_field),
    };
    let offset = |a: IpAddr| -> Option<u128> {
        match (n, a) {
            (IpNet::V4(v4), IpAddr::V4(x)) => {
                Some(u128::from(u32::from(x) - u32::from(v4.network())))
            }
            (IpNet::V6(v6), IpAddr::V6(x)) => Some(u128::from(x) - u128::from(v6.network())),
            _ => None,
        }
    };
    match c.provider {
        Provider::Aws | Provider::AwsTgw
            if n.addr().is_ipv4() && (offset(cloud) != Some(1) || offset(customer) != Some(2)) =>
        {
            let (first, second) = (
                super::profile::host(n, 1).map_or_else(String::new, |a| a.to_string()),
                super::profile::host(n, 2).map_or_else(String::new, |a| a.to_string()),
            );
            // Point at our own address when it is the misplaced one.
            let ours_ok = offset(local) == Some(if tv.side == Side::Customer { 2 } else { 1 });
            let field = if ours_ok {
                &t_peer_field
            } else {
                &t_local_field
            };
            let fix = match tv.side {
                Side::Customer => format!(
                    "we are the customer: local_address = \"{second}\", peer_address = \"{first}\" (or omit both)"
                ),
                Side::Cloud => format!(
                    "we play AWS: local_address = \"{first}\", peer_address = \"{second}\" (or omit both)"
                ),
            };
            s.error(
                "ADDR-AWS-5",
                field.clone(),
                format!("AWS takes the first host of {n} ({first}) and the customer the second ({second}); here AWS is {cloud} and the customer {customer}"),
                fix,
            );
        }
        Provider::Azure => {
            if offset(cloud) == Some(1) && offset(customer) == Some(2) {
                s.warn(
                    "ADDR-AZ-4",
                    cloud_field.clone(),
                    format!("Azure is on the first host {cloud}; in the Azure<->AWS layout AWS takes the first and Azure the second"),
                    "swap the addresses unless the other end is not AWS",
                );
            }
            // ADDR-AZ-5: the on-premises BGP address must not lie inside the VNet.
            for r in &c.remote_networks {
                if r.contains(&customer) {
                    s.error(
                        "ADDR-AZ-5",
                        customer_field.clone(),
                        format!(
                            "the on-premises BGP address {customer} lies inside the VNet prefix {r}"
                        ),
                        "use an APIPA (169.254.21.x/169.254.22.x) address or one outside the VNet",
                    );
                }
            }
        }
        _ => {}
    }
}

/// Reports overlapping inside CIDRs; returns the tunnels reported (whose duplicate peer
/// address is the same mistake).
fn check_tunnel_overlaps(cfg: &Config, s: &mut Sink<'_>) -> BTreeSet<String> {
    let mut reported = BTreeSet::new();
    let mut seen: Vec<(IpNet, String)> = Vec::new();
    for (i, c) in cfg.connections.iter().enumerate() {
        for (j, t) in c.tunnels.iter().enumerate() {
            let n = t.inside_cidr.trunc();
            let here = format!("connections[{i}].tunnels[{j}]");
            if let Some((m, there)) = seen.iter().find(|(m, _)| m.contains(&n) || n.contains(m)) {
                let same = there.starts_with(&format!("connections[{i}]."));
                let (rule, why) = match c.provider {
                    Provider::Aws => (
                        "ADDR-AWS-3",
                        "an inside CIDR must be unique across all VPN connections of a virtual private gateway",
                    ),
                    Provider::AwsTgw => (
                        "ADDR-AWS-4",
                        "two tunnel interfaces on this host would share a subnet",
                    ),
                    Provider::Azure => (
                        "ADDR-AZ-2",
                        "APIPA BGP addresses must be unique across on-premises devices and gateways",
                    ),
                    Provider::Alibaba => (
                        "ADDR-ALI-3",
                        if same {
                            "the two tunnels of one connection must use different CIDRs"
                        } else {
                            "a tunnel CIDR must be unique per VPN gateway"
                        },
                    ),
                    Provider::Gcp | Provider::Generic => (
                        "GEN-TUN-DUP",
                        "two tunnel interfaces on this host would share a subnet",
                    ),
                };
                s.error(
                    rule,
                    format!("{here}.inside_cidr"),
                    format!("{n} overlaps {m} of {there}: {why}"),
                    "give every tunnel its own /30",
                );
                reported.insert(here);
            } else {
                seen.push((n, here));
            }
        }
    }
    reported
}

fn check_duplicate_peers(cfg: &Config, overlapping: &BTreeSet<String>, s: &mut Sink<'_>) {
    let mut seen: HashMap<(IpAddr, Option<String>), String> = HashMap::new();
    for rp in cfg.resolve() {
        // A link-local address is only unique per link.
        let scope = match rp.address {
            IpAddr::V6(a) if a.is_unicast_link_local() => rp.interface.clone(),
            _ => None,
        };
        let key = (rp.address, scope);
        if overlapping.contains(&rp.field) {
            continue;
        }
        if let Some(first) = seen.get(&key) {
            let field = if rp.field.starts_with("peers") {
                format!("{}.address", rp.field)
            } else {
                format!("{}.inside_cidr", rp.field)
            };
            s.error(
                "GEN-PEER-DUP",
                field,
                format!(
                    "a session to {} is already configured by {first}",
                    rp.address
                ),
                "remove one of the two, or correct the address",
            );
        } else {
            seen.insert(key, rp.field.clone());
        }
    }
}
