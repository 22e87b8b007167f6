//! The load generator's BGP speakers: just enough BGP to be a well-behaved peer.
//!
//! A session is: connect from a chosen loopback source address, exchange OPEN (4-octet AS,
//! multiprotocol IPv4 unicast, route refresh) and KEEPALIVE, then stream or count UPDATEs
//! while a separate task sends KEEPALIVEs at a third of the negotiated hold time. No FSM
//! library is needed: the harness never reconnects (a dropped session fails the run).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bgp_wire::{Capability, Community, Family, Message, Open, SessionParams, frame_len};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;
use tokio::time::{Instant, timeout_at};

/// Hold time we propose (seconds). Large, so a daemon busy with a full table is not
/// dropped by us; we never enforce the hold timer ourselves.
const HOLD_TIME: u16 = 240;

/// The community the churn phase adds to every re-announced route, so sinks can tell the
/// new version of a route from the old one.
pub const CHURN_MARKER: Community = Community(0xfffe_0001);

/// An established session.
pub struct Session {
    /// Negotiated wire parameters.
    pub params: SessionParams,
    /// Read half; bytes already buffered after the handshake are in `buf`.
    pub reader: OwnedReadHalf,
    /// Bytes read but not yet consumed.
    pub buf: BytesMut,
    /// Write half, shared with the keepalive task.
    pub writer: Arc<Mutex<OwnedWriteHalf>>,
    /// Stops the keepalive task when dropped.
    pub keepalive: KeepaliveGuard,
}

/// Aborts the session's keepalive task when dropped.
pub struct KeepaliveGuard(tokio::task::JoinHandle<()>);

impl Drop for KeepaliveGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connects from `local` to `remote`, retrying until `deadline` (the daemon may still be
/// starting), and completes the OPEN exchange.
pub async fn establish(
    local: Ipv4Addr,
    remote: SocketAddr,
    asn: u32,
    deadline: Instant,
) -> Result<Session, String> {
    let stream = loop {
        let sock = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
        sock.set_reuseaddr(true).ok();
        sock.bind(SocketAddr::new(local.into(), 0))
            .map_err(|e| format!("bind {local}: {e}"))?;
        match timeout_at(deadline, sock.connect(remote)).await {
            Ok(Ok(s)) => break s,
            Ok(Err(e)) => {
                if Instant::now() + Duration::from_millis(200) > deadline {
                    return Err(format!("{local} -> {remote}: connect: {e}"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => return Err(format!("{local} -> {remote}: connect timed out")),
        }
    };
    stream.set_nodelay(true).ok();
    let (mut reader, mut writer) = stream.into_split();
    let open = Open::new(
        asn,
        HOLD_TIME,
        local,
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::RouteRefresh,
        ],
    );
    let bytes = open.encode().map_err(|e| format!("encode OPEN: {e:?}"))?;
    writer
        .write_all(&bytes)
        .await
        .map_err(|e| format!("{local}: send OPEN: {e}"))?;

    let mut buf = BytesMut::with_capacity(1 << 20);
    let mut params = SessionParams::default();
    let mut hold = HOLD_TIME;
    let mut got_open = false;
    loop {
        let msg = match timeout_at(deadline, next_frame(&mut reader, &mut buf, 4096)).await {
            Ok(Ok(Some(m))) => m,
            Ok(Ok(None)) => return Err(format!("{local}: peer closed during OPEN exchange")),
            Ok(Err(e)) => return Err(format!("{local}: {e}")),
            Err(_) => return Err(format!("{local}: OPEN exchange timed out")),
        };
        match bgp_wire::decode(msg, &params) {
            Ok(Message::Open(peer)) => {
                params = SessionParams::default()
                    .with_four_octet_as(peer.four_octet_as().is_some())
                    .with_external(peer.asn() != asn);
                hold = hold.min(peer.hold_time);
                got_open = true;
                writer
                    .write_all(&bgp_wire::keepalive())
                    .await
                    .map_err(|e| format!("{local}: send KEEPALIVE: {e}"))?;
            }
            Ok(Message::Keepalive) if got_open => break,
            Ok(Message::Notification(n)) => {
                return Err(format!("{local}: NOTIFICATION during OPEN: {n:?}"));
            }
            Ok(other) => {
                return Err(format!(
                    "{local}: unexpected {:?} during OPEN",
                    other.message_type()
                ));
            }
            Err(e) => return Err(format!("{local}: bad message during OPEN: {e:?}")),
        }
    }
    let writer = Arc::new(Mutex::new(writer));
    let ka_writer = Arc::clone(&writer);
    let keepalive = tokio::spawn(async move {
        if hold == 0 {
            return;
        }
        let every = Duration::from_secs(u64::from(hold / 3).max(1));
        loop {
            tokio::time::sleep(every).await;
            let mut w = ka_writer.lock().await;
            if w.write_all(&bgp_wire::keepalive()).await.is_err() {
                return;
            }
        }
    });
    Ok(Session {
        params,
        reader,
        buf,
        writer,
        keepalive: KeepaliveGuard(keepalive),
    })
}

/// Reads until one whole message is buffered and returns it; `None` at end of stream.
async fn next_frame(
    reader: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    max: usize,
) -> Result<Option<Bytes>, String> {
    loop {
        match frame_len(buf, max) {
            Ok(Some(len)) if buf.len() >= len => return Ok(Some(buf.split_to(len).freeze())),
            Ok(_) => {}
            Err(e) => return Err(format!("framing: {e:?}")),
        }
        if buf.capacity() - buf.len() < 65536 {
            buf.reserve(1 << 20);
        }
        let n = reader
            .read_buf(buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Ok(None);
        }
    }
}

/// Writes pre-encoded chunks (each a run of whole messages), holding the lock per chunk so
/// keepalives slip in between.
pub async fn stream(writer: &Mutex<OwnedWriteHalf>, chunks: &[Bytes]) -> Result<(), String> {
    for c in chunks {
        let mut w = writer.lock().await;
        w.write_all(c).await.map_err(|e| format!("write: {e}"))?;
    }
    Ok(())
}

/// Reads and drops everything the daemon sends an injector (it may advertise other
/// injectors' routes back), without decoding, until the stream ends or `stop` is set.
pub async fn drain(mut session_reader: OwnedReadHalf, mut buf: BytesMut) {
    buf.clear();
    loop {
        if buf.capacity() < 65536 {
            buf.reserve(1 << 20);
        }
        match session_reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => buf.clear(),
        }
    }
}

/// What a sink has seen, readable from the coordinator while the sink runs.
#[derive(Default)]
pub struct SinkStats {
    /// Distinct IPv4 prefixes currently announced to the sink.
    pub prefixes: AtomicU64,
    /// Of those, how many carry [`CHURN_MARKER`] in their latest announcement.
    pub marked: AtomicU64,
    /// UPDATE messages received.
    pub updates: AtomicU64,
    /// Set when the session ended or a message could not be decoded.
    pub failed: AtomicBool,
    /// Why it failed.
    pub error: std::sync::Mutex<Option<String>>,
}

/// A cheap, well-mixed hasher for prefix keys (splitmix64's finaliser).
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type Build = BuildHasherDefault<KeyHasher>;

fn key(p: &IpNet) -> u64 {
    match p {
        IpNet::V4(n) => (u64::from(u32::from(n.addr())) << 8) | u64::from(n.prefix_len()),
        // IPv6 is not announced by the harness; fold it somewhere harmless.
        IpNet::V6(n) => (1 << 40) | u64::from(n.prefix_len()),
    }
}

/// Counts distinct prefixes (and, with `track_marker`, marked ones) until the session ends.
pub async fn sink(mut s: Session, stats: Arc<SinkStats>, expected: usize, track_marker: bool) {
    let fail = |stats: &SinkStats, e: String| {
        if let Ok(mut g) = stats.error.lock() {
            *g = Some(e);
        }
        stats.failed.store(true, Ordering::Release);
    };
    let mut plain: HashSet<u64, Build> =
        HashSet::with_capacity_and_hasher(expected, Build::default());
    let mut tracked: HashMap<u64, bool, Build> = if track_marker {
        HashMap::with_capacity_and_hasher(expected, Build::default())
    } else {
        HashMap::default()
    };
    let mut marked: u64 = 0;
    let max = s.params.max_message_len();
    loop {
        let msg = match next_frame(&mut s.reader, &mut s.buf, max).await {
            Ok(Some(m)) => m,
            Ok(None) => return fail(&stats, "session closed by the daemon".into()),
            Err(e) => return fail(&stats, e),
        };
        match bgp_wire::decode(msg, &s.params) {
            Ok(Message::Update(u)) => {
                stats.updates.fetch_add(1, Ordering::Relaxed);
                if track_marker {
                    for n in u.withdrawn() {
                        if let Some(m) = tracked.remove(&key(&n.prefix)) {
                            marked -= u64::from(m);
                        }
                    }
                    let is_marked = u.communities().any(|c| c == CHURN_MARKER);
                    for n in u.nlri() {
                        if let Some(m) = tracked.insert(key(&n.prefix), is_marked) {
                            marked -= u64::from(m);
                        }
                        marked += u64::from(is_marked);
                    }
                    stats
                        .prefixes
                        .store(tracked.len() as u64, Ordering::Release);
                    stats.marked.store(marked, Ordering::Release);
                } else {
                    for n in u.withdrawn() {
                        plain.remove(&key(&n.prefix));
                    }
                    for n in u.nlri() {
                        plain.insert(key(&n.prefix));
                    }
                    stats.prefixes.store(plain.len() as u64, Ordering::Release);
                }
            }
            Ok(Message::Keepalive) | Ok(Message::RouteRefresh(_)) | Ok(Message::Open(_)) => {}
            Ok(Message::Notification(n)) => {
                return fail(&stats, format!("NOTIFICATION from the daemon: {n:?}"));
            }
            Err(e) => return fail(&stats, format!("undecodable message: {e:?}")),
        }
    }
}
