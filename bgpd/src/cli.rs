//! `bgpd show ...`: the client side of the control socket and its text tables.
//!
//! [`show`] sends one request over the control socket ([`crate::control`]) and returns the
//! answer either as pretty-printed JSON (for scripts) or as the tables network engineers
//! know from other daemons' `show bgp summary` / `show bgp ipv4 unicast`:
//!
//! ```text
//! Neighbor      AS     State        Up/Down   Accepted  Advertised  Description
//! 169.254.10.2  65500  Established  01:02:03         2           1  tunnel 1
//! ```
//!
//! The client decodes the answer into its own lenient types (missing fields take defaults)
//! rather than the daemon's, so an older `bgpd show` still prints a newer daemon's answer.

use crate::control::{AdvertisedData, ConnectionInfo, Request, Response, RibData};
use crate::speaker::{PathEntry, RestartInfo};
use ipnet::IpNet;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long to wait for the daemon's answer.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What to show.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShowCommand {
    /// Every peer: `bgpd show neighbors`.
    Neighbors,
    /// One peer in detail: `bgpd show neighbor <address>`.
    Neighbor(IpAddr),
    /// Best routes, or every path of one prefix: `bgpd show rib [<prefix>] [--explain]`.
    Rib {
        /// One prefix, or every best route.
        prefix: Option<IpNet>,
        /// Show losing paths and the step each lost at.
        explain: bool,
    },
    /// Prefixes advertised to a peer: `bgpd show advertised <peer>`.
    Advertised(IpAddr),
    /// Tunnel pairs and which tunnel is active: `bgpd show connections`.
    Connections,
}

impl ShowCommand {
    /// The control-socket request for this command.
    pub fn request(self) -> Request {
        match self {
            ShowCommand::Neighbors => Request::Neighbors,
            ShowCommand::Neighbor(address) => Request::Neighbor { address },
            ShowCommand::Rib { prefix, explain } => Request::Rib {
                prefix,
                explain,
                limit: None,
            },
            ShowCommand::Advertised(peer) => Request::Advertised { peer, limit: None },
            ShowCommand::Connections => Request::Connections,
        }
    }
}

/// Asks the daemon listening on `socket` and returns what to print: the answer's data as
/// pretty-printed JSON when `json`, else a table. Errors are messages for the operator.
pub fn show(socket: &Path, what: ShowCommand, json: bool) -> Result<String, String> {
    let data = request(socket, &what.request())?;
    if json {
        let mut text = serde_json::to_string_pretty(&data).map_err(|e| e.to_string())?;
        text.push('\n');
        return Ok(text);
    }
    match what {
        ShowCommand::Neighbors => Ok(neighbors_table(&decode::<Vec<Neighbor>>(data)?)),
        ShowCommand::Neighbor(_) => Ok(neighbor_detail(&decode(data)?)),
        ShowCommand::Rib { prefix, explain } => {
            Ok(rib_table(&decode(data)?, prefix.is_some() || explain))
        }
        ShowCommand::Advertised(_) => Ok(advertised_list(&decode(data)?)),
        ShowCommand::Connections => Ok(connections_table(&decode::<Vec<ConnectionInfo>>(data)?)),
    }
}

/// Sends one request and returns the answer's `data`, or the daemon's error.
pub fn request(socket: &Path, request: &Request) -> Result<serde_json::Value, String> {
    let stream = UnixStream::connect(socket).map_err(|e| connect_error(socket, &e))?;
    let io_error = |e: io::Error| format!("{}: {e}", socket.display());
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io_error)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io_error)?;
    let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    (&stream).write_all(&line).map_err(io_error)?;
    let mut answer = String::new();
    let n = BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
                "bgpd did not answer on {} within {} s",
                socket.display(),
                TIMEOUT.as_secs()
            ),
            _ => io_error(e),
        })?;
    if n == 0 {
        return Err(format!(
            "bgpd closed {} without answering",
            socket.display()
        ));
    }
    let response: Response =
        serde_json::from_str(&answer).map_err(|e| format!("unreadable answer from bgpd: {e}"))?;
    if response.ok {
        Ok(response.data.unwrap_or(serde_json::Value::Null))
    } else {
        Err(response
            .error
            .unwrap_or_else(|| "bgpd refused the request".into()))
    }
}

fn connect_error(socket: &Path, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
            format!("cannot connect to {}: is bgpd running?", socket.display())
        }
        io::ErrorKind::PermissionDenied => format!(
            "cannot connect to {}: permission denied (the control socket is for root or \
             bgpd's user)",
            socket.display()
        ),
        _ => format!("cannot connect to {}: {e}", socket.display()),
    }
}

fn decode<T: DeserializeOwned>(data: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(data).map_err(|e| format!("unexpected answer from bgpd: {e}"))
}

/// A neighbor as the client reads it; missing fields take defaults.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct Neighbor {
    address: Option<IpAddr>,
    asn: u32,
    description: Option<String>,
    state: String,
    uptime_secs: Option<u64>,
    router_id: Option<Ipv4Addr>,
    hold_time: Option<u16>,
    families: Vec<String>,
    local_address: Option<SocketAddr>,
    prefixes_accepted: u64,
    prefixes_received: u64,
    prefixes_advertised: u64,
    last_error: Option<String>,
    stats: Stats,
    tunnel: Option<(String, bool)>,
    graceful_restart_helper: bool,
    graceful_restart: Option<RestartInfo>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct Stats {
    messages_in: BTreeMap<String, u64>,
    messages_out: BTreeMap<String, u64>,
    bytes_in: u64,
    bytes_out: u64,
    notifications_sent: BTreeMap<String, u64>,
    notifications_received: BTreeMap<String, u64>,
    queued_bytes: u64,
    established_count: u64,
}

/// Columns separated by two spaces; numbers right-aligned.
struct Table {
    header: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&'static str, bool)]) -> Table {
        Table {
            header: columns.iter().map(|c| c.0).collect(),
            right: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, indent: &str, out: &mut String) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::from(indent);
            for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right.get(i).copied().unwrap_or(false) {
                    let _ = write!(line, "{cell:>width$}");
                } else {
                    let _ = write!(line, "{cell:<width$}");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

/// Uptime the way FRR prints it: `hh:mm:ss` under a day, `1d02h03m` under a week, then
/// `2w3d04h`.
pub fn format_uptime(seconds: u64) -> String {
    let (w, d, h, m, s) = (
        seconds / 604_800,
        seconds / 86_400 % 7,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if seconds < 86_400 {
        format!("{:02}:{m:02}:{s:02}", seconds / 3600)
    } else if seconds < 604_800 {
        format!("{d}d{h:02}h{m:02}m")
    } else {
        format!("{w}w{d}d{h:02}h")
    }
}

fn uptime_cell(n: &Neighbor) -> String {
    match n.uptime_secs {
        Some(s) if n.state == "Established" => format_uptime(s),
        _ => "-".into(),
    }
}

fn address_cell(a: Option<IpAddr>) -> String {
    a.map_or_else(|| "?".into(), |a| a.to_string())
}

fn neighbors_table(neighbors: &[Neighbor]) -> String {
    let up = neighbors
        .iter()
        .filter(|n| n.state == "Established")
        .count();
    let mut out = format!(
        "BGP neighbors: {} configured, {up} established\n\n",
        neighbors.len()
    );
    if neighbors.is_empty() {
        out.push_str("No neighbors configured.\n");
        return out;
    }
    let mut table = Table::new(&[
        ("Neighbor", false),
        ("AS", true),
        ("State", false),
        ("Up/Down", true),
        ("Received", true),
        ("Accepted", true),
        ("Advertised", true),
        ("Description", false),
    ]);
    for n in neighbors {
        table.row(vec![
            address_cell(n.address),
            n.asn.to_string(),
            n.state.clone(),
            uptime_cell(n),
            n.prefixes_received.to_string(),
            n.prefixes_accepted.to_string(),
            n.prefixes_advertised.to_string(),
            n.description.clone().unwrap_or_default(),
        ]);
    }
    table.render("", &mut out);
    out
}

fn neighbor_detail(n: &Neighbor) -> String {
    let mut out = format!(
        "BGP neighbor is {}, remote AS {}",
        address_cell(n.address),
        n.asn
    );
    if let Some(d) = &n.description {
        let _ = write!(out, ", description \"{d}\"");
    }
    out.push('\n');
    let _ = write!(out, "  BGP state = {}", n.state);
    if let Some(s) = n.uptime_secs.filter(|_| n.state == "Established") {
        let _ = write!(out, ", up for {}", format_uptime(s));
    }
    out.push('\n');
    if let Some(id) = n.router_id {
        let _ = writeln!(out, "  Remote router ID {id}");
    }
    if let Some(h) = n.hold_time {
        let _ = writeln!(out, "  Hold time {h} s (negotiated)");
    }
    if let Some(l) = n.local_address {
        let _ = writeln!(out, "  Local address {l}");
    }
    if !n.families.is_empty() {
        let _ = writeln!(out, "  Address families: {}", n.families.join(", "));
    }
    if let Some((pair, active)) = &n.tunnel {
        let role = if *active { "active" } else { "standby" };
        let _ = writeln!(out, "  Tunnel pair {pair}: {role} tunnel");
    }
    let _ = writeln!(
        out,
        "  Established {} time(s); last error: {}",
        n.stats.established_count,
        n.last_error.as_deref().unwrap_or("none")
    );
    let _ = writeln!(
        out,
        "  Prefixes: {} received, {} accepted, {} advertised",
        n.prefixes_received, n.prefixes_accepted, n.prefixes_advertised
    );
    let _ = writeln!(
        out,
        "  Graceful restart helper: {}",
        if n.graceful_restart_helper {
            "on"
        } else {
            "off"
        }
    );
    if let Some(r) = &n.graceful_restart {
        let what = match r.phase.as_str() {
            "restarting" => "the peer is restarting; its routes are kept until it is back",
            "refreshing" => "the peer is back; stale routes stay until its End-of-RIB",
            other => other,
        };
        let _ = writeln!(
            out,
            "  Graceful restart: {what} ({} stale best routes, families {}; removed in {} s \
             at the latest)",
            r.stale_routes,
            r.families.join(", "),
            r.expires_in_secs
        );
    }
    out.push_str("\n  Message statistics:\n");
    let mut table = Table::new(&[("", false), ("Sent", true), ("Received", true)]);
    // In message type code order (RFC 4271 §4.1), then any other names.
    let rank = |t: &str| {
        MESSAGE_TYPE_ORDER
            .iter()
            .position(|k| k.eq_ignore_ascii_case(t))
            .unwrap_or(MESSAGE_TYPE_ORDER.len())
    };
    let mut types: Vec<&String> = n
        .stats
        .messages_out
        .keys()
        .chain(n.stats.messages_in.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    types.sort_by_key(|t| rank(t));
    let count = |m: &BTreeMap<String, u64>, t: &str| m.get(t).copied().unwrap_or(0);
    for t in &types {
        table.row(vec![
            format!("{t}:"),
            count(&n.stats.messages_out, t).to_string(),
            count(&n.stats.messages_in, t).to_string(),
        ]);
    }
    let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
    table.row(vec![
        "Total:".into(),
        total(&n.stats.messages_out).to_string(),
        total(&n.stats.messages_in).to_string(),
    ]);
    table.row(vec![
        "Bytes:".into(),
        n.stats.bytes_out.to_string(),
        n.stats.bytes_in.to_string(),
    ]);
    table.render("    ", &mut out);
    let notifications = |m: &BTreeMap<String, u64>| {
        if m.is_empty() {
            "none".to_string()
        } else {
            m.iter()
                .map(|(code, count)| format!("{code} x{count}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(
        out,
        "  Notifications sent: {}; received: {}",
        notifications(&n.stats.notifications_sent),
        notifications(&n.stats.notifications_received)
    );
    let _ = writeln!(out, "  Output queue: {} bytes", n.stats.queued_bytes);
    out
}

const MESSAGE_TYPE_ORDER: [&str; 5] = [
    "OPEN",
    "UPDATE",
    "NOTIFICATION",
    "KEEPALIVE",
    "ROUTE-REFRESH",
];

/// `*>` best, `*=` multipath, `* ` valid but not used, after `S` when the path is stale
/// (FRR's status codes).
fn status_code(p: &PathEntry) -> String {
    let code = match p.status.as_str() {
        "best" => "*>",
        "multipath" => "*=",
        _ => "* ",
    };
    if p.stale {
        format!("S{code}")
    } else {
        code.to_string()
    }
}

fn as_path_cell(p: &PathEntry) -> String {
    if p.as_path.is_empty() {
        return "(empty)".into();
    }
    p.as_path
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn opt_cell(v: Option<u32>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn rib_table(rib: &RibData, explain: bool) -> String {
    let mut out = String::new();
    if rib.routes.is_empty() {
        out.push_str("No matching routes.\n");
        return out;
    }
    let mut table = if explain {
        Table::new(&[
            ("", false),
            ("Prefix", false),
            ("From", false),
            ("Next Hop", false),
            ("LocPrf", true),
            ("MED", true),
            ("Origin", false),
            ("AS Path", false),
            ("Result", false),
        ])
    } else {
        Table::new(&[
            ("", false),
            ("Prefix", false),
            ("Next Hop", false),
            ("From", false),
            ("LocPrf", true),
            ("MED", true),
            ("AS Path", false),
            ("Origin", false),
        ])
    };
    for route in &rib.routes {
        for (i, p) in route.paths.iter().enumerate() {
            let prefix = if i == 0 {
                route.prefix.to_string()
            } else {
                String::new()
            };
            let next_hop = p
                .next_hop
                .map_or_else(|| "local".to_string(), |a| a.to_string());
            if explain {
                let mut result = p.status.clone();
                if p.stale {
                    result.push_str(" (stale)");
                }
                table.row(vec![
                    status_code(p),
                    prefix,
                    p.from.clone(),
                    next_hop,
                    opt_cell(p.local_pref),
                    opt_cell(p.med),
                    p.origin.clone(),
                    as_path_cell(p),
                    result,
                ]);
            } else {
                table.row(vec![
                    status_code(p),
                    prefix,
                    next_hop,
                    p.from.clone(),
                    opt_cell(p.local_pref),
                    opt_cell(p.med),
                    as_path_cell(p),
                    p.origin.clone(),
                ]);
            }
        }
    }
    out.push_str(
        "Status codes: *> best, *= multipath, *  valid (not used), S stale (kept across the \
         peer's graceful restart)\n\n",
    );
    table.render("", &mut out);
    let communities: Vec<String> = rib
        .routes
        .iter()
        .flat_map(|r| {
            r.paths
                .iter()
                .filter(|p| !p.communities.is_empty())
                .map(move |p| {
                    format!(
                        "  {} from {}: {}",
                        r.prefix,
                        p.from,
                        p.communities.join(" ")
                    )
                })
        })
        .collect();
    if explain && !communities.is_empty() {
        out.push_str("\nCommunities:\n");
        for c in communities {
            out.push_str(&c);
            out.push('\n');
        }
    }
    out.push('\n');
    let paths: usize = rib.routes.iter().map(|r| r.paths.len()).sum();
    if rib.truncated {
        let _ = writeln!(
            out,
            "Showing {} of {} prefixes ({paths} paths); ask for one prefix or use --json \
             with a limit for the rest.",
            rib.routes.len(),
            rib.total
        );
    } else {
        let _ = writeln!(
            out,
            "{}, {}",
            plural(rib.total, "prefix", "prefixes"),
            plural(paths, "path", "paths")
        );
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn advertised_list(a: &AdvertisedData) -> String {
    let mut out = format!("Prefixes advertised to {}: {}\n", a.peer, a.total);
    for p in &a.prefixes {
        let _ = writeln!(out, "  {p}");
    }
    if a.truncated {
        let _ = writeln!(
            out,
            "  ... {} more",
            a.total.saturating_sub(a.prefixes.len())
        );
    }
    out
}

fn connections_table(pairs: &[ConnectionInfo]) -> String {
    if pairs.is_empty() {
        return "No tunnel pairs configured.\n".into();
    }
    let mut out = String::new();
    for (i, pair) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "Connection {}: {}", pair.name, pair.status);
        let mut table = Table::new(&[
            ("Tunnel peer", false),
            ("Role", false),
            ("State", false),
            ("Up/Down", true),
            ("Description", false),
        ]);
        for m in &pair.members {
            let uptime = match m.uptime_secs {
                Some(s) if m.up => format_uptime(s),
                _ => "-".into(),
            };
            table.row(vec![
                m.peer.to_string(),
                if m.active { "active" } else { "standby" }.into(),
                m.state.clone(),
                uptime,
                m.description.clone().unwrap_or_default(),
            ]);
        }
        table.render("  ", &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_like_frr() {
        assert_eq!(format_uptime(0), "00:00:00");
        assert_eq!(format_uptime(3723), "01:02:03");
        assert_eq!(format_uptime(86_400 + 2 * 3600 + 3 * 60), "1d02h03m");
        assert_eq!(
            format_uptime(2 * 604_800 + 3 * 86_400 + 4 * 3600),
            "2w3d04h"
        );
    }

    #[test]
    fn neighbor_detail_shows_a_restart_in_progress() {
        let n: Neighbor = serde_json::from_value(serde_json::json!({
            "address": "192.0.2.2",
            "asn": 65002,
            "state": "Active",
            "graceful_restart_helper": true,
            "graceful_restart": {
                "phase": "restarting",
                "families": ["IPv4 unicast"],
                "expires_in_secs": 42,
                "stale_routes": 3
            }
        }))
        .unwrap();
        let text = neighbor_detail(&n);
        assert!(text.contains("  Graceful restart helper: on\n"), "{text}");
        assert!(
            text.contains(
                "  Graceful restart: the peer is restarting; its routes are kept until it is \
                 back (3 stale best routes, families IPv4 unicast; removed in 42 s at the latest)\n"
            ),
            "{text}"
        );
        // An older daemon sends neither field.
        let old: Neighbor = serde_json::from_value(serde_json::json!({"asn": 1})).unwrap();
        assert!(neighbor_detail(&old).contains("helper: off"));
    }

    #[test]
    fn stale_paths_are_marked_s() {
        let mut p = PathEntry {
            status: "best".into(),
            ..PathEntry::default()
        };
        assert_eq!(status_code(&p), "*>");
        p.stale = true;
        assert_eq!(status_code(&p), "S*>");
    }

    #[test]
    fn tables_align_and_trim() {
        let mut t = Table::new(&[("A", false), ("Count", true), ("C", false)]);
        t.row(vec!["long value".into(), "7".into(), String::new()]);
        let mut out = String::new();
        t.render("", &mut out);
        assert_eq!(out, "A           Count  C\nlong value      7\n");
    }

    #[test]
    fn not_running_is_explained() {
        let path = std::env::temp_dir().join(format!("bgpd-cli-none-{}.sock", std::process::id()));
        let e = show(&path, ShowCommand::Neighbors, false).unwrap_err();
        assert_eq!(
            e,
            format!("cannot connect to {}: is bgpd running?", path.display())
        );
    }

    #[test]
    fn old_client_reads_partial_answers() {
        let n: Neighbor =
            serde_json::from_str(r#"{"address":"127.0.0.1","state":"Idle"}"#).unwrap();
        let text = neighbors_table(&[n]);
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(text.contains("Idle"), "{text}");
    }
}
