//! Shared helpers for the cross-crate and end-to-end scenarios in `tests/tests/`
//! (conventions §7, layers 4 and 5 on loopback).
//!
//! * Waiting: [`wait_for`] polls a probe until it reports success or a deadline passes, and
//!   then fails with what was expected and what was last seen. Nothing here sleeps in place
//!   of waiting for a condition; every wait is bounded.
//! * Speakers: [`speaker_config`], [`start`] and [`peer_spec`] build embeddable
//!   [`bgpd::speaker::Speaker`]s listening on port 0 of a loopback address, with timers
//!   short enough for tests; [`best`], [`paths`], [`neighbor`] and the `wait_*` helpers
//!   query them.
//! * Raw peer: [`RawPeer`] speaks BGP with `bgp-wire` over a plain tokio socket, so a test
//!   sees the exact bytes a speaker sends (reflection attributes, NOTIFICATION data) and
//!   can send bytes no speaker would (malformed attributes, a bad marker).
//!
//! Every test uses its own 127.x.y.z addresses (the IPv6 scenarios use `::1` with distinct
//! ports) so that tests run in parallel without seeing each other's connections: a speaker
//! refuses connections from addresses it has no peer for.

use bgp_wire::{
    AsPath, AttrValue, Attribute, Capability, Family, Message, MpReach, NextHop, Nlri,
    Notification, Open, Origin, SessionParams, Update, UpdateRef, decode, frame_len, keepalive,
};
use bgpd::speaker::{
    NeighborInfo, PathEntry, PeerSpec, RouteEvent, RouteQuery, Speaker, SpeakerConfig,
};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Longest wait for one step of a scenario (a session coming up, a route arriving).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often [`wait_for`] polls.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Polls `probe` until it returns `Ok`, and returns that value.
///
/// `probe` returns `Err(seen)` describing the state it saw while the condition does not
/// hold yet. When `timeout` passes (a probe that itself hangs counts against it) the call
/// panics with `expected` and the last `seen`, so a failing test says what it waited for
/// and what it got instead.
pub async fn wait_for<T, F, Fut>(expected: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    let mut seen = String::from("(the probe never completed)");
    loop {
        match tokio::time::timeout_at(deadline, probe()).await {
            Ok(Ok(v)) => return v,
            Ok(Err(s)) => seen = s,
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {expected}; last seen: {seen}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A loopback IPv4 address as an [`IpAddr`].
pub const fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// `::1`.
pub const V6_LOOPBACK: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// Parses a prefix, panicking on a typo in the test.
pub fn net(s: &str) -> IpNet {
    s.parse()
        .unwrap_or_else(|e| panic!("bad prefix {s} in test: {e}"))
}

/// A speaker configuration listening on port 0 of each of `listen` (no listener when
/// empty).
pub fn speaker_config(asn: u32, router_id: Ipv4Addr, listen: &[IpAddr]) -> SpeakerConfig {
    let mut c = SpeakerConfig::new(asn, router_id);
    c.listen = listen.iter().map(|a| SocketAddr::new(*a, 0)).collect();
    c
}

/// Starts a speaker, panicking with the reason if it cannot.
pub async fn start(config: SpeakerConfig) -> Speaker {
    let what = format!("AS {} / {}", config.asn, config.router_id);
    Speaker::start(config)
        .await
        .unwrap_or_else(|e| panic!("speaker {what} did not start: {e}"))
}

/// The port a speaker listens on at `address`.
pub fn port_of(speaker: &Speaker, address: IpAddr) -> u16 {
    speaker
        .listening()
        .iter()
        .find(|a| a.ip() == address)
        .map(|a| a.port())
        .unwrap_or_else(|| {
            panic!(
                "speaker does not listen on {address}: {:?}",
                speaker.listening()
            )
        })
}

/// A peer at `remote` (AS `remote_as`, listening on `remote_port`) reached from our
/// `local` address, with quick restarts: connect retry 1 s, idle hold 200 ms, no damping.
///
/// `local` is also the next hop the speaker advertises to this peer.
pub fn peer_spec(
    config: &SpeakerConfig,
    local: IpAddr,
    remote: IpAddr,
    remote_as: u32,
    remote_port: u16,
) -> PeerSpec {
    let mut p = PeerSpec::new(config, remote, remote_as);
    p.transport.local_address = Some(local);
    p.transport.port = remote_port;
    p.transport.connect_timeout = Duration::from_secs(2);
    p.session.connect_retry_time = Duration::from_secs(1);
    p.session.idle_hold_time = Duration::from_millis(200);
    p.session.damp_peer_oscillations = false;
    p
}

/// Adds a peer, panicking with the reason if the speaker refuses it.
pub async fn add_peer(speaker: &Speaker, spec: PeerSpec) {
    let addr = spec.address();
    speaker
        .add_peer(spec)
        .await
        .unwrap_or_else(|e| panic!("add_peer {addr}: {e}"));
}

/// Originates `prefix` (always announced).
pub async fn originate(speaker: &Speaker, prefix: &str) {
    speaker
        .originate(bgp_rib::LocalRoute::new(net(prefix)))
        .await
        .unwrap_or_else(|e| panic!("originate {prefix}: {e}"));
}

/// Every path of `prefix` with why each lost (`explain`), best first.
pub async fn paths(speaker: &Speaker, prefix: IpNet) -> Vec<PathEntry> {
    let q = RouteQuery {
        prefix: Some(prefix),
        explain: true,
    };
    speaker
        .routes(q)
        .await
        .unwrap_or_else(|e| panic!("routes({prefix}): {e}"))
        .into_iter()
        .flat_map(|r| r.paths)
        .collect()
}

/// The best path and the rest of the multipath set of `prefix` (`explain: false`).
pub async fn best(speaker: &Speaker, prefix: IpNet) -> Vec<PathEntry> {
    let q = RouteQuery {
        prefix: Some(prefix),
        explain: false,
    };
    speaker
        .routes(q)
        .await
        .unwrap_or_else(|e| panic!("routes({prefix}): {e}"))
        .into_iter()
        .flat_map(|r| r.paths)
        .collect()
}

/// The neighbor entry of `address`.
pub async fn neighbor(speaker: &Speaker, address: IpAddr) -> NeighborInfo {
    let all = speaker
        .neighbors()
        .await
        .unwrap_or_else(|e| panic!("neighbors(): {e}"));
    all.into_iter()
        .find(|n| n.address == address)
        .unwrap_or_else(|| panic!("no neighbor {address}"))
}

fn describe_paths(v: &[PathEntry]) -> String {
    if v.is_empty() {
        return "no paths".into();
    }
    v.iter()
        .map(|p| {
            format!(
                "[from {} nh {:?} path {:?} {}]",
                p.from, p.next_hop, p.as_path, p.status
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Waits until the session with `peer` is Established and returns its entry.
pub async fn wait_established(speaker: &Speaker, peer: IpAddr) -> NeighborInfo {
    wait_for(
        &format!("session with {peer} Established"),
        STEP_TIMEOUT,
        || async {
            let n = neighbor(speaker, peer).await;
            if n.state == "Established" {
                Ok(n)
            } else {
                Err(format!("state {} (last error {:?})", n.state, n.last_error))
            }
        },
    )
    .await
}

/// Waits until the best path of `prefix` satisfies `ok` (described by `expected`) and
/// returns it.
pub async fn wait_best(
    speaker: &Speaker,
    prefix: IpNet,
    expected: &str,
    ok: impl Fn(&PathEntry) -> bool,
) -> PathEntry {
    wait_for(
        &format!("best path of {prefix}: {expected}"),
        STEP_TIMEOUT,
        || async {
            let v = best(speaker, prefix).await;
            match v.first() {
                Some(p) if ok(p) => Ok(p.clone()),
                _ => Err(describe_paths(&v)),
            }
        },
    )
    .await
}

/// Waits until the best path of `prefix` was learned from `peer` and returns it.
pub async fn wait_route_from(speaker: &Speaker, prefix: IpNet, peer: IpAddr) -> PathEntry {
    let from = peer.to_string();
    wait_best(speaker, prefix, &format!("from {peer}"), |p| p.from == from).await
}

/// Waits until the speaker has no path at all for `prefix`.
pub async fn wait_no_route(speaker: &Speaker, prefix: IpNet) {
    wait_for(
        &format!("{prefix} gone from the RIB"),
        STEP_TIMEOUT,
        || async {
            let v = paths(speaker, prefix).await;
            if v.is_empty() {
                Ok(())
            } else {
                Err(describe_paths(&v))
            }
        },
    )
    .await
}

/// Waits for a [`RouteEvent`] about `prefix` that satisfies `ok` (described by
/// `expected`) and returns it. Events about other prefixes are consumed and dropped, so
/// use one receiver per prefix when waiting for several; a lagging receiver fails the
/// test (the channel is sized for far more than a test produces).
pub async fn wait_event(
    events: &mut broadcast::Receiver<RouteEvent>,
    prefix: IpNet,
    expected: &str,
    ok: impl Fn(&RouteEvent) -> bool,
) -> RouteEvent {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut seen: Vec<String> = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => panic!(
                "timed out after {STEP_TIMEOUT:?} waiting for a route event for {prefix}: \
                 {expected}; events seen for it: {seen:?}"
            ),
            Ok(Err(e)) => panic!("route events: {e} while waiting for {prefix}: {expected}"),
            Ok(Ok(ev)) if ev.prefix == prefix => {
                if ok(&ev) {
                    return ev;
                }
                seen.push(format!("{:?}", ev.best));
            }
            Ok(Ok(_)) => {}
        }
    }
}

/// The next-hop addresses of a route event, in order (empty when the prefix is gone).
pub fn event_next_hops(ev: &RouteEvent) -> Vec<IpAddr> {
    ev.best
        .as_ref()
        .map(|b| b.next_hops.iter().map(|n| n.address).collect())
        .unwrap_or_default()
}

/// A hand-driven BGP speaker over a plain socket: the test decides every byte.
///
/// It answers nothing by itself (no KEEPALIVEs): keep scenarios shorter than the hold
/// time it proposes, or call [`RawPeer::send_keepalive`].
pub struct RawPeer {
    stream: TcpStream,
    buf: BytesMut,
    /// Parameters for decoding what the speaker sends and encoding what we send; set by
    /// [`RawPeer::handshake`].
    pub params: SessionParams,
    /// The speaker's OPEN, once received.
    pub their_open: Option<Open>,
}

impl RawPeer {
    /// Connects from `local` (port chosen by the system) to `remote`.
    pub async fn connect(local: IpAddr, remote: SocketAddr) -> RawPeer {
        Self::connect_with_recv_buffer(local, remote, None).await
    }

    /// [`RawPeer::connect`] with the socket's receive buffer set first (a small one makes
    /// a peer that stops reading stall the sender within a few kilobytes).
    pub async fn connect_with_recv_buffer(
        local: IpAddr,
        remote: SocketAddr,
        recv_buffer: Option<u32>,
    ) -> RawPeer {
        let socket = if local.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .unwrap_or_else(|e| panic!("socket: {e}"));
        if let Some(size) = recv_buffer {
            socket
                .set_recv_buffer_size(size)
                .unwrap_or_else(|e| panic!("SO_RCVBUF: {e}"));
        }
        socket
            .bind(SocketAddr::new(local, 0))
            .unwrap_or_else(|e| panic!("bind {local}: {e}"));
        let stream = tokio::time::timeout(STEP_TIMEOUT, socket.connect(remote))
            .await
            .unwrap_or_else(|_| panic!("connect {local} -> {remote} timed out"))
            .unwrap_or_else(|e| panic!("connect {local} -> {remote}: {e}"));
        RawPeer {
            stream,
            buf: BytesMut::new(),
            params: SessionParams::default(),
            their_open: None,
        }
    }

    /// Accepts one connection on `listener` (e.g. a speaker dialling us).
    pub async fn accept(listener: &tokio::net::TcpListener) -> RawPeer {
        let (stream, _) = tokio::time::timeout(STEP_TIMEOUT, listener.accept())
            .await
            .unwrap_or_else(|_| panic!("no connection to the raw peer within {STEP_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("accept: {e}"));
        RawPeer {
            stream,
            buf: BytesMut::new(),
            params: SessionParams::default(),
            their_open: None,
        }
    }

    /// Sets [`RawPeer::params`] for a session where both sides announced the 4-octet AS
    /// capability, as after [`RawPeer::handshake`].
    pub fn set_established(&mut self, external: bool) {
        self.params = SessionParams::default()
            .with_four_octet_as(true)
            .with_external(external);
    }

    /// Writes raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("raw peer write: {e}"));
    }

    /// Sends a KEEPALIVE.
    pub async fn send_keepalive(&mut self) {
        self.send(&keepalive()).await;
    }

    /// The next whole message as received, or `None` when the speaker closed the
    /// connection. Panics after `timeout`.
    pub async fn recv_frame(&mut self, timeout: Duration) -> Option<Bytes> {
        let deadline = Instant::now() + timeout;
        loop {
            let max = self.params.max_message_len();
            match frame_len(&self.buf, max) {
                Ok(Some(len)) if self.buf.len() >= len => {
                    return Some(self.buf.split_to(len).freeze());
                }
                Ok(_) => {}
                Err(e) => panic!("the speaker sent a bad header: {e}"),
            }
            let mut chunk = [0u8; 4096];
            let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => panic!("no complete message from the speaker within {timeout:?}"),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Ok(Err(e)) => panic!("raw peer read: {e}"),
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                if !self.buf.is_empty() {
                    panic!(
                        "connection closed with {} octets of a partial message",
                        self.buf.len()
                    );
                }
                return None;
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }

    /// The next message, decoded with [`RawPeer::params`]; panics on EOF or a decode
    /// error.
    pub async fn recv(&mut self, timeout: Duration) -> Message {
        let frame = self
            .recv_frame(timeout)
            .await
            .unwrap_or_else(|| panic!("the speaker closed the connection"));
        decode(frame.clone(), &self.params)
            .unwrap_or_else(|e| panic!("cannot decode {frame:02x?}: {e}"))
    }

    /// Sends `open`, reads the speaker's OPEN, and exchanges KEEPALIVEs: afterwards both
    /// sides are Established. `external` says whether the session is eBGP (for decoding).
    pub async fn handshake(&mut self, open: Open, external: bool) -> Open {
        let bytes = open
            .encode()
            .unwrap_or_else(|e| panic!("encode OPEN: {e:?}"));
        self.send(&bytes).await;
        let theirs = match self.recv(STEP_TIMEOUT).await {
            Message::Open(o) => o,
            other => panic!("expected the speaker's OPEN, got {other:?}"),
        };
        self.send_keepalive().await;
        match self.recv(STEP_TIMEOUT).await {
            Message::Keepalive => {}
            other => panic!("expected a KEEPALIVE after the OPENs, got {other:?}"),
        }
        self.params = SessionParams::default()
            .with_four_octet_as(open.four_octet_as().is_some() && theirs.four_octet_as().is_some())
            .with_external(external);
        self.their_open = Some(theirs.clone());
        theirs
    }

    /// The next UPDATE that is not an End-of-RIB marker, skipping KEEPALIVEs and
    /// End-of-RIBs; panics on anything else.
    pub async fn next_update(&mut self, timeout: Duration) -> UpdateRef {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left).await {
                Message::Keepalive => {}
                Message::Update(u) if u.end_of_rib().is_some() => {}
                Message::Update(u) => return u,
                other => panic!("expected an UPDATE, got {other:?}"),
            }
        }
    }

    /// Waits for a NOTIFICATION (skipping KEEPALIVEs and UPDATEs) and returns it.
    pub async fn expect_notification(&mut self, timeout: Duration) -> Notification {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = match self.recv_frame(left).await {
                Some(f) => f,
                None => panic!("the connection closed without a NOTIFICATION"),
            };
            // Decode leniently: only the type matters for skipping.
            if let Ok(Message::Notification(n)) = decode(frame, &self.params) {
                return n;
            }
        }
    }

    /// Waits until the speaker closes the connection, skipping whatever it still sends.
    pub async fn expect_closed(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.recv_frame(left).await.is_none() {
                return;
            }
        }
    }
}

/// An OPEN for a raw peer: IPv4 (and, when `ipv6`, IPv6) unicast, route refresh, 4-octet
/// AS, hold time 90 s.
pub fn raw_open(asn: u32, router_id: Ipv4Addr, ipv6: bool) -> Open {
    let mut caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::RouteRefresh,
    ];
    if ipv6 {
        caps.push(Capability::Multiprotocol(Family::IPV6_UNICAST));
    }
    Open::new(asn, 90, router_id, caps)
}

/// An IPv4 unicast UPDATE announcing `prefixes` via `next_hop` with ORIGIN IGP,
/// `as_path` and `extra` attributes, encoded for `params`.
pub fn ipv4_update(
    params: &SessionParams,
    next_hop: Ipv4Addr,
    as_path: &[u32],
    extra: Vec<Attribute>,
    prefixes: &[&str],
) -> Bytes {
    let mut attributes = vec![
        Attribute::new(AttrValue::Origin(Origin::Igp)),
        Attribute::new(AttrValue::AsPath(AsPath::sequence(as_path.iter().copied()))),
        Attribute::new(AttrValue::NextHop(next_hop)),
    ];
    attributes.extend(extra);
    attributes.sort_by_key(|a| a.value.type_code());
    let update = Update {
        withdrawn: Vec::new(),
        attributes,
        nlri: prefixes.iter().map(|p| Nlri::new(net(p))).collect(),
    };
    update
        .encode(params)
        .unwrap_or_else(|e| panic!("encode UPDATE: {e:?}"))
}

/// An IPv6 unicast UPDATE (MP_REACH_NLRI) announcing `prefixes` via `next_hop`.
pub fn ipv6_update(
    params: &SessionParams,
    next_hop: Ipv6Addr,
    as_path: &[u32],
    prefixes: &[&str],
) -> Bytes {
    let reach = MpReach {
        family: Family::IPV6_UNICAST,
        next_hop: NextHop::V6 {
            global: next_hop,
            link_local: None,
        },
        nlri: prefixes.iter().map(|p| Nlri::new(net(p))).collect(),
        raw_nlri: Bytes::new(),
    };
    let update = Update {
        withdrawn: Vec::new(),
        attributes: vec![
            Attribute::new(AttrValue::Origin(Origin::Igp)),
            Attribute::new(AttrValue::AsPath(AsPath::sequence(as_path.iter().copied()))),
            Attribute::new(AttrValue::MpReach(reach)),
        ],
        nlri: Vec::new(),
    };
    update
        .encode(params)
        .unwrap_or_else(|e| panic!("encode UPDATE: {e:?}"))
}

/// Splits concatenated messages (as in an `ExportBatch`) into single messages.
pub fn split_messages(mut bytes: Bytes, max_len: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        match frame_len(&bytes, max_len) {
            Ok(Some(len)) if len <= bytes.len() => out.push(bytes.split_to(len)),
            other => panic!("cannot split messages: {other:?} with {} left", bytes.len()),
        }
    }
    out
}
