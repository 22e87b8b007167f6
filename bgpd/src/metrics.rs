//! Prometheus metrics over HTTP, built from the speaker's counters on each scrape.
//!
//! `GET /metrics` answers with the text exposition format 0.0.4, rendered by [`render`] from
//! one [`Speaker::stats`] snapshot. The exposition is written by hand: the speaker already
//! keeps every counter, so a client library's registry would only hold a second copy that
//! has to be kept in step, and the format is a few lines of text per sample.
//!
//! The HTTP side is deliberately minimal: one request per connection (`Connection: close`),
//! the request head bounded to [`MAX_REQUEST_BYTES`] and [`REQUEST_TIMEOUT`], at most
//! [`MAX_CONNECTIONS`] scrapes at a time. Anything but `/metrics` is 404.

use crate::speaker::{NeighborInfo, Speaker, SpeakerStats};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest request head (request line and headers) read before answering 431.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Time a client gets to send its request head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// After answering: how long and how much unread input to discard before closing.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: u64 = 64 * 1024;
/// Connections served at once; further ones wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 32;
/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The FSM states `bgp_session_state` has a sample for (RFC 4271 §8.2.2).
const STATES: [&str; 6] = [
    "Idle",
    "Connect",
    "Active",
    "OpenSent",
    "OpenConfirm",
    "Established",
];
/// Message types always present in the per-type counters, so `rate()` has a zero to start
/// from before the first message of a type is seen.
const MESSAGE_TYPES: [&str; 5] = [
    "open",
    "update",
    "notification",
    "keepalive",
    "route-refresh",
];

/// Binds `addr` and serves `/metrics` until the process ends.
pub async fn serve(speaker: Speaker, addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_listener(speaker, listener).await
}

/// Serves `/metrics` on a bound listener (tests bind 127.0.0.1:0 and read the port back).
pub async fn serve_listener(speaker: Speaker, listener: TcpListener) -> io::Result<()> {
    crate::serve::serve_bounded("metrics", MAX_CONNECTIONS, listener, |stream| {
        let speaker = speaker.clone();
        async move { connection(&speaker, stream).await }
    })
    .await
}

async fn connection(speaker: &Speaker, mut stream: TcpStream) -> io::Result<()> {
    let head = match tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => {
            return respond(
                &mut stream,
                "408 Request Timeout",
                "request timeout\n",
                false,
            )
            .await;
        }
    };
    let Some(head) = head else {
        return respond(
            &mut stream,
            "431 Request Header Fields Too Large",
            "request too large\n",
            false,
        )
        .await;
    };
    let mut parts = head.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if path != "/metrics" {
        return respond(&mut stream, "404 Not Found", "not found\n", false).await;
    }
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "method not allowed\n",
            false,
        )
        .await;
    }
    match speaker.stats().await {
        Ok(stats) => respond(&mut stream, "200 OK", &render(&stats), head_only).await,
        Err(e) => {
            let body = format!("{e}\n");
            respond(&mut stream, "503 Service Unavailable", &body, head_only).await
        }
    }
}

/// Reads until the end of the request head; returns its first line, or `None` when the
/// head is longer than [`MAX_REQUEST_BYTES`]. A body, if any, is ignored.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
            return Ok(Some(String::from_utf8_lossy(line).trim_end().to_string()));
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Ok(None);
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    body: &str,
    head_only: bool,
) -> io::Result<()> {
    let content_type = if status.starts_with("200") {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out).await?;
    stream.shutdown().await?;
    // Closing with unread input (a request body, the rest of an oversized head) would make
    // the kernel send a reset that can overtake the response; read and discard a bounded
    // amount first ("lingering close").
    let mut rest = (&mut *stream).take(LINGER_BYTES);
    let _ = tokio::time::timeout(LINGER, tokio::io::copy(&mut rest, &mut tokio::io::sink())).await;
    Ok(())
}

/// Renders the exposition for one snapshot of the speaker's counters.
pub fn render(stats: &SpeakerStats) -> String {
    let mut out = Exposition::default();
    let peers = &stats.neighbors;
    let peer = |n: &NeighborInfo| vec![("peer", n.address.to_string())];
    let described = |n: &NeighborInfo| {
        vec![
            ("peer", n.address.to_string()),
            ("description", n.description.clone().unwrap_or_default()),
        ]
    };

    out.family(
        "bgp_session_state",
        "gauge",
        "BGP FSM state of the session (RFC 4271 8.2.2): 1 for the current state, 0 otherwise.",
    );
    for n in peers {
        for state in STATES {
            let mut labels = described(n);
            labels.push(("state", state.to_string()));
            out.sample("bgp_session_state", &labels, u64::from(n.state == state));
        }
    }
    out.family(
        "bgp_session_up",
        "gauge",
        "Whether the session is Established (1) or not (0).",
    );
    for n in peers {
        let up = n.state == "Established";
        out.sample("bgp_session_up", &described(n), u64::from(up));
    }
    out.family(
        "bgp_session_uptime_seconds",
        "gauge",
        "Seconds since the session reached Established; 0 while it is down.",
    );
    for n in peers {
        out.sample(
            "bgp_session_uptime_seconds",
            &peer(n),
            n.uptime_secs.unwrap_or(0),
        );
    }
    out.family(
        "bgp_session_established_total",
        "counter",
        "Times the session reached Established.",
    );
    for n in peers {
        out.sample(
            "bgp_session_established_total",
            &peer(n),
            n.stats.established_count,
        );
    }
    out.family(
        "bgp_tunnel_active",
        "gauge",
        "For peers in a tunnel pair: 1 if the peer's tunnel is (one of) the active one(s).",
    );
    for n in peers {
        if let Some((pair, active)) = &n.tunnel {
            let mut labels = peer(n);
            labels.push(("pair", pair.clone()));
            out.sample("bgp_tunnel_active", &labels, u64::from(*active));
        }
    }

    out.family(
        "bgp_prefixes_received_total",
        "counter",
        "Prefixes received from the peer in UPDATE messages, before import policy.",
    );
    for n in peers {
        out.sample("bgp_prefixes_received_total", &peer(n), n.prefixes_received);
    }
    out.family(
        "bgp_prefixes_accepted",
        "gauge",
        "Paths from the peer held in the RIB after import policy.",
    );
    for n in peers {
        out.sample(
            "bgp_prefixes_accepted",
            &peer(n),
            n.prefixes_accepted as u64,
        );
    }
    out.family(
        "bgp_prefixes_best",
        "gauge",
        "Loc-RIB best routes whose best path came from the peer.",
    );
    for n in peers {
        let best = stats.best_per_peer.get(&n.address).copied().unwrap_or(0);
        out.sample("bgp_prefixes_best", &peer(n), best as u64);
    }
    out.family(
        "bgp_prefixes_advertised",
        "gauge",
        "Prefixes currently advertised to the peer.",
    );
    for n in peers {
        out.sample(
            "bgp_prefixes_advertised",
            &peer(n),
            n.prefixes_advertised as u64,
        );
    }
    out.family(
        "bgp_prefixes_stale",
        "gauge",
        "Loc-RIB best routes from the peer kept stale across its graceful restart (RFC 4724).",
    );
    for n in peers {
        let stale = n.graceful_restart.as_ref().map_or(0, |r| r.stale_routes);
        out.sample("bgp_prefixes_stale", &peer(n), stale as u64);
    }

    for (name, help, get) in [
        (
            "bgp_messages_received_total",
            "BGP messages received from the peer, by type.",
            (|n: &NeighborInfo| &n.stats.messages_in) as fn(&NeighborInfo) -> &BTreeMap<_, _>,
        ),
        (
            "bgp_messages_sent_total",
            "BGP messages sent to the peer, by type.",
            |n: &NeighborInfo| &n.stats.messages_out,
        ),
    ] {
        out.family(name, "counter", help);
        for n in peers {
            let mut by_type: BTreeMap<String, u64> =
                MESSAGE_TYPES.iter().map(|t| (t.to_string(), 0)).collect();
            for (t, count) in get(n) {
                *by_type.entry(t.to_ascii_lowercase()).or_default() += count;
            }
            for (t, count) in by_type {
                let mut labels = peer(n);
                labels.push(("type", t));
                out.sample(name, &labels, count);
            }
        }
    }
    out.family(
        "bgp_bytes_received_total",
        "counter",
        "Octets of BGP messages received from the peer.",
    );
    for n in peers {
        out.sample("bgp_bytes_received_total", &peer(n), n.stats.bytes_in);
    }
    out.family(
        "bgp_bytes_sent_total",
        "counter",
        "Octets of BGP messages sent to the peer.",
    );
    for n in peers {
        out.sample("bgp_bytes_sent_total", &peer(n), n.stats.bytes_out);
    }
    for (name, help, get) in [
        (
            "bgp_notifications_sent_total",
            "NOTIFICATION messages sent to the peer, by \"code/subcode\" (RFC 4271 4.5).",
            (|n: &NeighborInfo| &n.stats.notifications_sent)
                as fn(&NeighborInfo) -> &BTreeMap<_, _>,
        ),
        (
            "bgp_notifications_received_total",
            "NOTIFICATION messages received from the peer, by \"code/subcode\" (RFC 4271 4.5).",
            |n: &NeighborInfo| &n.stats.notifications_received,
        ),
    ] {
        out.family(name, "counter", help);
        for n in peers {
            for (code, count) in get(n) {
                let mut labels = peer(n);
                labels.push(("code", code.clone()));
                out.sample(name, &labels, *count);
            }
        }
    }
    out.family(
        "bgp_update_queue_bytes",
        "gauge",
        "Octets queued for writing to the peer.",
    );
    for n in peers {
        out.sample(
            "bgp_update_queue_bytes",
            &peer(n),
            n.stats.queued_bytes as u64,
        );
    }

    out.family(
        "bgp_rib_prefixes",
        "gauge",
        "Prefixes in the Loc-RIB, by address family.",
    );
    let (v4, v6) = stats.rib_prefixes;
    out.sample(
        "bgp_rib_prefixes",
        &[("family", "ipv4".to_string())],
        v4 as u64,
    );
    out.sample(
        "bgp_rib_prefixes",
        &[("family", "ipv6".to_string())],
        v6 as u64,
    );
    out.family(
        "bgp_rib_attribute_sets",
        "gauge",
        "Distinct path attribute sets interned in the RIB.",
    );
    out.sample("bgp_rib_attribute_sets", &[], stats.attribute_sets as u64);
    out.text
}

#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, String)], value: u64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text escapes backslash and line feed.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speaker::PeerStats;

    fn neighbor(state: &str, description: &str) -> NeighborInfo {
        NeighborInfo {
            address: "127.0.0.2".parse().unwrap(),
            asn: 65001,
            description: Some(description.into()),
            state: state.into(),
            uptime_secs: Some(42),
            router_id: None,
            hold_time: None,
            families: Vec::new(),
            local_address: None,
            prefixes_accepted: 3,
            prefixes_received: 4,
            prefixes_advertised: 5,
            last_error: None,
            stats: PeerStats {
                messages_in: [("UPDATE".to_string(), 7)].into(),
                notifications_sent: [("6/2".to_string(), 1)].into(),
                ..PeerStats::default()
            },
            tunnel: Some(("vpn \"a\"".into(), true)),
            graceful_restart_helper: true,
            graceful_restart: None,
        }
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        let text = render(&SpeakerStats {
            best_per_peer: Default::default(),
            rib_prefixes: (1, 2),
            attribute_sets: 3,
            neighbors: vec![neighbor("Established", "tunnel \"1\"\nnew line \\")],
        });
        assert!(text.contains(
            r#"bgp_session_up{peer="127.0.0.2",description="tunnel \"1\"\nnew line \\"} 1"#
        ));
        assert!(text.contains(r#"bgp_tunnel_active{peer="127.0.0.2",pair="vpn \"a\""} 1"#));
    }

    #[test]
    fn every_family_has_help_and_type_and_samples_parse() {
        let text = render(&SpeakerStats {
            best_per_peer: Default::default(),
            rib_prefixes: (10, 20),
            attribute_sets: 3,
            neighbors: vec![neighbor("OpenSent", "t")],
        });
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_string());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let name = line.split(['{', ' ']).next().unwrap();
            assert_eq!(declared.last().map(String::as_str), Some(name), "{line}");
            let value = line.rsplit(' ').next().unwrap();
            value.parse::<f64>().unwrap();
        }
        for needle in [
            r#"bgp_session_state{peer="127.0.0.2",description="t",state="OpenSent"} 1"#,
            r#"bgp_session_state{peer="127.0.0.2",description="t",state="Established"} 0"#,
            r#"bgp_session_up{peer="127.0.0.2",description="t"} 0"#,
            r#"bgp_messages_received_total{peer="127.0.0.2",type="update"} 7"#,
            r#"bgp_messages_received_total{peer="127.0.0.2",type="keepalive"} 0"#,
            r#"bgp_notifications_sent_total{peer="127.0.0.2",code="6/2"} 1"#,
            r#"bgp_rib_prefixes{family="ipv6"} 20"#,
            "bgp_rib_attribute_sets 3",
            "# TYPE bgp_prefixes_received_total counter",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
