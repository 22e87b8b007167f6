//! Control socket: JSON requests and responses, one per line, over a local Unix socket.
//!
//! The socket is how `bgpd show ...` (see [`crate::cli`]) and scripts query a running daemon.
//! It is local only and mode 0600, so only the daemon's user (root) can use it. The file
//! mode is the access control: an operator who wants a group to use `bgpd show` can
//! `chgrp` and `chmod 0660` it, as with BIRD's and FRR's sockets.
//!
//! # Protocol
//!
//! Each request is one JSON object on one line (at most [`MAX_REQUEST_BYTES`]); each answer
//! is one JSON object on one line, in order. A client may send any number of requests on
//! one connection.
//!
//! ```text
//! {"cmd":"neighbors"}
//! {"cmd":"neighbor","address":"169.254.10.2"}
//! {"cmd":"rib"}                                       every best route (up to `limit`)
//! {"cmd":"rib","prefix":"10.0.0.0/16","explain":true,"limit":100}
//! {"cmd":"advertised","peer":"169.254.10.2"}          (`limit` too)
//! {"cmd":"connections"}                               tunnel pairs
//!
//! {"ok":true,"data":...}
//! {"ok":false,"error":"no peer 169.254.10.9"}
//! ```
//!
//! `data` is, per command: a list of [`NeighborInfo`]; one [`NeighborInfo`]; a [`RibData`];
//! an [`AdvertisedData`]; a list of [`ConnectionInfo`].

use crate::speaker::{NeighborInfo, RouteEntry, RouteQuery, Speaker};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tracing::debug;

/// Where the daemon puts its control socket unless configured otherwise.
pub const DEFAULT_SOCKET: &str = "/run/bgpd.sock";
/// Longest request line, newline included. A longer one is answered with an error and the
/// connection is closed (there is no telling where the next request would start).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Entries returned by `rib` and `advertised` when the request names no `limit`.
pub const DEFAULT_LIMIT: usize = 1000;
/// Clients served at once; further connections wait in the listen backlog.
pub const MAX_CLIENTS: usize = 64;
/// After refusing an oversized request: how long and how much of the rest to read and
/// discard before closing.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: u64 = 1024 * 1024;
/// A client that sends nothing for this long is disconnected.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// One request.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// Every peer and its session.
    Neighbors,
    /// One peer.
    Neighbor {
        /// The peer's address.
        address: IpAddr,
    },
    /// Best routes, or every path of one prefix.
    Rib {
        /// One prefix (all its paths), or every best route when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<IpNet>,
        /// Include losing paths and the best-path step each lost at.
        #[serde(default)]
        explain: bool,
        /// Most entries to return ([`DEFAULT_LIMIT`] when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// Prefixes advertised to a peer.
    Advertised {
        /// The peer's address.
        peer: IpAddr,
        /// Most prefixes to return ([`DEFAULT_LIMIT`] when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// Tunnel pairs and the state of their tunnels.
    Connections,
}

/// One response line.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The answer, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// What went wrong, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    fn data(data: impl Serialize) -> Response {
        match serde_json::to_value(data) {
            Ok(v) => Response {
                ok: true,
                data: Some(v),
                error: None,
            },
            Err(e) => Response::error(format!("cannot encode the answer: {e}")),
        }
    }

    fn error(message: impl Into<String>) -> Response {
        Response {
            ok: false,
            data: None,
            error: Some(message.into()),
        }
    }
}

/// The answer to `rib`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RibData {
    /// Entries that matched, before the limit.
    pub total: usize,
    /// Whether `routes` holds fewer than `total` entries.
    pub truncated: bool,
    /// The entries (a prefix and its paths, best first).
    pub routes: Vec<RouteEntry>,
}

/// The answer to `advertised`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AdvertisedData {
    /// The peer.
    pub peer: IpAddr,
    /// Prefixes advertised, before the limit.
    pub total: usize,
    /// Whether `prefixes` holds fewer than `total`.
    pub truncated: bool,
    /// The prefixes, in order.
    pub prefixes: Vec<IpNet>,
}

/// One tunnel pair (a VPN connection's tunnels) in the answer to `connections`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ConnectionInfo {
    /// The pair's name.
    pub name: String,
    /// Its tunnels' sessions, in address order.
    pub members: Vec<TunnelMember>,
    /// Peers of the active tunnel(s): one in active/standby, all in active/active.
    pub active: Vec<IpAddr>,
    /// Peers whose session is Established.
    pub up: Vec<IpAddr>,
    /// One-line summary: whether the active tunnel is up, failed over, or everything is down.
    pub status: String,
}

/// One tunnel of a pair.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TunnelMember {
    /// The peer at the far end of the tunnel.
    pub peer: IpAddr,
    /// The peer's description.
    pub description: Option<String>,
    /// Whether this is (one of) the active tunnel(s).
    pub active: bool,
    /// The BGP session state.
    pub state: String,
    /// Whether the session is Established.
    pub up: bool,
    /// Seconds since Established.
    pub uptime_secs: Option<u64>,
}

/// Groups peers into their tunnel pairs, in the order the pairs' first members appear.
pub fn connections(neighbors: &[NeighborInfo]) -> Vec<ConnectionInfo> {
    let mut pairs: Vec<ConnectionInfo> = Vec::new();
    for n in neighbors {
        let Some((name, active)) = &n.tunnel else {
            continue;
        };
        let up = n.state == "Established";
        let member = TunnelMember {
            peer: n.address,
            description: n.description.clone(),
            active: *active,
            state: n.state.clone(),
            up,
            uptime_secs: n.uptime_secs,
        };
        let pair = match pairs.iter().position(|p| &p.name == name) {
            Some(i) => pairs.get_mut(i),
            None => {
                pairs.push(ConnectionInfo {
                    name: name.clone(),
                    members: Vec::new(),
                    active: Vec::new(),
                    up: Vec::new(),
                    status: String::new(),
                });
                pairs.last_mut()
            }
        };
        let Some(pair) = pair else { continue };
        if *active {
            pair.active.push(n.address);
        }
        if up {
            pair.up.push(n.address);
        }
        pair.members.push(member);
    }
    for pair in &mut pairs {
        pair.status = pair_status(pair);
    }
    pairs
}

fn pair_status(pair: &ConnectionInfo) -> String {
    let list = |v: &[IpAddr]| {
        v.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let active_up: Vec<IpAddr> = pair
        .active
        .iter()
        .filter(|a| pair.up.contains(a))
        .copied()
        .collect();
    let standby_up: Vec<IpAddr> = pair
        .up
        .iter()
        .filter(|a| !pair.active.contains(a))
        .copied()
        .collect();
    if pair.up.is_empty() {
        "down: no tunnel has an established session".into()
    } else if active_up.len() == pair.active.len() {
        format!("up: active tunnel {} established", list(&active_up))
    } else if !active_up.is_empty() {
        format!(
            "degraded: active tunnels established: {}; down: {}",
            list(&active_up),
            list(
                &pair
                    .active
                    .iter()
                    .filter(|a| !active_up.contains(a))
                    .copied()
                    .collect::<Vec<_>>()
            )
        )
    } else {
        format!(
            "failed over: active tunnel {} down, standby {} established",
            list(&pair.active),
            list(&standby_up)
        )
    }
}

/// Answers one request line.
pub async fn handle_line(speaker: &Speaker, line: &[u8]) -> Response {
    let request: Request = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => return Response::error(format!("malformed request: {e}")),
    };
    handle(speaker, request).await
}

/// Answers one request.
pub async fn handle(speaker: &Speaker, request: Request) -> Response {
    let result = match request {
        Request::Neighbors => speaker.neighbors().await.map(Response::data),
        Request::Neighbor { address } => speaker.neighbors().await.map(|all| {
            match all.into_iter().find(|n| n.address == address) {
                Some(n) => Response::data(n),
                None => Response::error(format!("no peer {address}")),
            }
        }),
        Request::Rib {
            prefix,
            explain,
            limit,
        } => speaker
            .routes(RouteQuery { prefix, explain })
            .await
            .map(|routes| {
                let total = routes.len();
                let limit = limit.unwrap_or(DEFAULT_LIMIT);
                Response::data(RibData {
                    total,
                    truncated: total > limit,
                    routes: routes.into_iter().take(limit).collect(),
                })
            }),
        Request::Advertised { peer, limit } => match speaker.advertised(peer).await {
            Ok(prefixes) => {
                let total = prefixes.len();
                let limit = limit.unwrap_or(DEFAULT_LIMIT);
                Ok(Response::data(AdvertisedData {
                    peer,
                    total,
                    truncated: total > limit,
                    prefixes: prefixes.into_iter().take(limit).collect(),
                }))
            }
            Err(e) => Err(e),
        },
        Request::Connections => speaker
            .neighbors()
            .await
            .map(|n| Response::data(connections(&n))),
    };
    result.unwrap_or_else(|e| Response::error(e.to_string()))
}

/// Binds the control socket at `path`: creates the parent directory if missing (mode 0700),
/// replaces a stale socket left by a daemon that died, refuses to replace one a running
/// daemon still answers on, and leaves the socket with mode 0600.
///
/// The socket is bound in a private directory, restricted, then renamed into place, so it
/// is never reachable with a wider mode, whatever the umask. Call it inside a tokio
/// runtime (the listener registers with its reactor).
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&parent)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is in use: is another bgpd running?", path.display()),
                ));
            }
            debug!(path = %path.display(), "removing stale control socket");
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bgpd.sock".into());
    let private = parent.join(format!(".{file_name}.{}.tmp", std::process::id()));
    // Left over from an attempt that failed half way; ignore errors, create_dir will tell.
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let result = (|| {
        let temporary = private.join("sock");
        let listener = UnixListener::bind(&temporary)?;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&temporary, path)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&private);
    result
}

/// Binds the control socket at `path` (see [`bind`]) and serves it until the process ends.
pub async fn serve(speaker: Speaker, path: &Path) -> io::Result<()> {
    let listener = bind(path)?;
    serve_listener(speaker, listener).await
}

/// Serves clients on a bound listener, one task per client, at most [`MAX_CLIENTS`] at a
/// time, until the process ends.
pub async fn serve_listener(speaker: Speaker, listener: UnixListener) -> io::Result<()> {
    crate::serve::serve_bounded("control socket", MAX_CLIENTS, listener, |stream| {
        let speaker = speaker.clone();
        async move { client(&speaker, stream).await }
    })
    .await
}

async fn client(speaker: &Speaker, stream: UnixStream) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let complete = tokio::time::timeout(IDLE_TIMEOUT, read_line(&mut read, &mut line))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle"))??;
        let response = match complete {
            LineRead::Eof => return Ok(()),
            LineRead::TooLong => Response::error(format!(
                "request longer than {MAX_REQUEST_BYTES} bytes; closing"
            )),
            LineRead::Line if line.iter().all(u8::is_ascii_whitespace) => continue,
            LineRead::Line => handle_line(speaker, &line).await,
        };
        let mut out = serde_json::to_vec(&response)
            .unwrap_or_else(|_| br#"{"ok":false,"error":"cannot encode the answer"}"#.to_vec());
        out.push(b'\n');
        write.write_all(&out).await?;
        if matches!(complete, LineRead::TooLong) {
            write.shutdown().await?;
            // Closing with unread input would reset the connection before the client read
            // the error; take (a bounded amount of) the rest first.
            let mut rest = read.take(LINGER_BYTES);
            let _ =
                tokio::time::timeout(LINGER, tokio::io::copy(&mut rest, &mut tokio::io::sink()))
                    .await;
            return Ok(());
        }
    }
}

enum LineRead {
    Line,
    TooLong,
    Eof,
}

/// Reads up to a newline into `line` (without it), never buffering more than
/// [`MAX_REQUEST_BYTES`]. A final line without a newline counts as a line.
async fn read_line(
    read: &mut (impl tokio::io::AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
) -> io::Result<LineRead> {
    loop {
        let buf = read.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if line.is_empty() {
                LineRead::Eof
            } else {
                LineRead::Line
            });
        }
        let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (buf.get(..i).unwrap_or_default(), Some(i + 1)),
            None => (buf, None),
        };
        if line.len() + chunk.len() + usize::from(found.is_some()) > MAX_REQUEST_BYTES {
            return Ok(LineRead::TooLong);
        }
        line.extend_from_slice(chunk);
        let used = found.unwrap_or(buf.len());
        read.consume(used);
        if found.is_some() {
            return Ok(LineRead::Line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speaker::PeerStats;

    #[test]
    fn requests_parse_and_typos_are_refused() {
        let r: Request =
            serde_json::from_str(r#"{"cmd":"rib","prefix":"10.0.0.0/16","explain":true}"#).unwrap();
        assert_eq!(
            r,
            Request::Rib {
                prefix: Some("10.0.0.0/16".parse().unwrap()),
                explain: true,
                limit: None
            }
        );
        let r: Request = serde_json::from_str(r#"{"cmd":"rib"}"#).unwrap();
        assert_eq!(
            r,
            Request::Rib {
                prefix: None,
                explain: false,
                limit: None
            }
        );
        for bad in [
            r#"{"cmd":"rib","explian":true}"#,
            r#"{"cmd":"reboot"}"#,
            r#"{"cmd":"neighbor","address":"not an address"}"#,
            r#"{"cmd":"rib","prefix":"10.0.0.0/33"}"#,
            r#"{"address":"127.0.0.1"}"#,
            "[1,2]",
        ] {
            assert!(serde_json::from_str::<Request>(bad).is_err(), "{bad}");
        }
        // What the client sends, the server reads.
        let r = Request::Advertised {
            peer: "127.0.0.1".parse().unwrap(),
            limit: Some(5),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"cmd":"advertised","peer":"127.0.0.1","limit":5}"#);
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
    }

    fn member(address: &str, state: &str, pair: &str, active: bool) -> NeighborInfo {
        NeighborInfo {
            address: address.parse().unwrap(),
            asn: 65000,
            description: None,
            state: state.into(),
            uptime_secs: None,
            router_id: None,
            hold_time: None,
            families: Vec::new(),
            local_address: None,
            prefixes_accepted: 0,
            prefixes_received: 0,
            prefixes_advertised: 0,
            last_error: None,
            stats: PeerStats::default(),
            tunnel: (!pair.is_empty()).then(|| (pair.to_string(), active)),
            graceful_restart_helper: true,
            graceful_restart: None,
        }
    }

    #[test]
    fn connections_group_pairs_and_say_when_failed_over() {
        let pairs = connections(&[
            member("10.0.0.1", "Established", "a", true),
            member("10.0.0.2", "Established", "b", false),
            member("10.0.0.3", "Established", "", false),
            member("10.0.0.4", "Active", "b", true),
            member("10.0.0.5", "Established", "a", false),
        ]);
        assert_eq!(pairs.len(), 2);
        let (a, b) = (&pairs[0], &pairs[1]);
        assert_eq!(a.name, "a");
        assert_eq!(a.members.len(), 2);
        assert_eq!(a.active, vec!["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert!(
            a.status.starts_with("up: active tunnel 10.0.0.1"),
            "{}",
            a.status
        );
        assert_eq!(b.up, vec!["10.0.0.2".parse::<IpAddr>().unwrap()]);
        assert!(
            b.status
                .starts_with("failed over: active tunnel 10.0.0.4 down, standby 10.0.0.2"),
            "{}",
            b.status
        );
    }

    #[tokio::test]
    async fn lines_are_bounded() {
        let mut input: &[u8] = b"{\"cmd\":\"neighbors\"}\n";
        let mut line = Vec::new();
        assert!(matches!(
            read_line(&mut input, &mut line).await.unwrap(),
            LineRead::Line
        ));
        assert_eq!(line, b"{\"cmd\":\"neighbors\"}");
        line.clear();
        assert!(matches!(
            read_line(&mut input, &mut line).await.unwrap(),
            LineRead::Eof
        ));

        let long = vec![b'x'; MAX_REQUEST_BYTES];
        let mut input: &[u8] = &long;
        line.clear();
        assert!(matches!(
            read_line(&mut input, &mut line).await.unwrap(),
            LineRead::Line
        ));
        let mut long = vec![b'x'; MAX_REQUEST_BYTES];
        long.push(b'\n');
        let mut input: &[u8] = &long;
        line.clear();
        assert!(matches!(
            read_line(&mut input, &mut line).await.unwrap(),
            LineRead::TooLong
        ));
    }
}
