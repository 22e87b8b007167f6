//! The core task: owns the RIB and the FSMs, and carries out what they decide.

use super::Command;
use super::types::*;
use crate::net::{
    self, ConnectOptions, ListenOptions, Listener, MessageSender, ReadError, WriterHandle,
};
use bgp_fsm::{
    Action, ConnectionId, Event, HelperAction, Notified, Peer as Fsm, RestartHelper, RestartPhase,
    State,
};
use bgp_rib::{
    Change, ExportBatch, GroupId, NextHopAddr, PathStatus, PeerId, Rib, RibConfig, Route,
    TunnelMode, TunnelPair,
};
use bgp_wire::{Family, Message, MessageType, Notification, SessionParams, Update, decode};
use bytes::Bytes;
use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// Messages queued per connection before the core keeps them in its own backlog.
const WRITE_QUEUE: usize = 1024;
/// Frames in flight from all readers to the core. Bounded: a peer that sends faster than the
/// core processes is slowed down by TCP flow control, and nothing grows without limit.
const EVENT_QUEUE: usize = 4096;
/// How often a loading peer gets a progress log line.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Events handled before the pending RIB changes are exported.
const EVENT_BATCH: usize = 512;
/// Pending RIB changes that end a batch early: the export pass then finds the trie nodes
/// the import just touched still in the CPU cache (a few hundred KB for this many
/// prefixes), instead of missing on every lookup as it does after a batch of a million
/// withdrawals.
const FLUSH_CHANGES: usize = 2048;
/// Changes exported to a group in one pass, at most.
const OUT_PASS: usize = 16_384;

/// What connection tasks tell the core.
enum ConnEvent {
    Connected {
        peer: IpAddr,
        conn: ConnectionId,
        stream: TcpStream,
    },
    ConnectFailed {
        peer: IpAddr,
        conn: ConnectionId,
        error: io::Error,
    },
    Accepted {
        stream: TcpStream,
        remote: SocketAddr,
        local: SocketAddr,
    },
    Frame {
        conn: ConnectionId,
        bytes: Bytes,
    },
    ReadFailed {
        conn: ConnectionId,
        error: ReadError,
    },
    Eof {
        conn: ConnectionId,
    },
    Progress {
        conn: ConnectionId,
    },
}

/// Octets queued towards a connection: in the writer queue and in the core's backlog.
fn c_queued(c: &Conn) -> usize {
    c.sender.as_ref().map_or(0, MessageSender::queued_bytes) + c.backlog.bytes
}

/// Messages the writer queue of a connection had no room for, in order, with their
/// octet count (read for every export pass, so kept rather than summed).
#[derive(Default)]
struct Backlog {
    queue: VecDeque<Bytes>,
    bytes: usize,
}

impl Backlog {
    /// Queues `message` behind the backlog, or straight to the writer when there is none
    /// and the writer has room.
    fn send(&mut self, writer: &MessageSender, message: Bytes) {
        let message = if self.queue.is_empty() {
            match writer.try_send(message) {
                Ok(()) => return,
                Err(tokio::sync::mpsc::error::TrySendError::Full(m)) => m,
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => return,
            }
        } else {
            message
        };
        self.bytes += message.len();
        self.queue.push_back(message);
    }

    /// Moves as much of the backlog to the writer as it has room for.
    fn drain_into(&mut self, writer: &MessageSender) {
        while let Some(m) = self.queue.pop_front() {
            let len = m.len();
            match writer.try_send(m) {
                Ok(()) => self.bytes -= len,
                Err(tokio::sync::mpsc::error::TrySendError::Full(m)) => {
                    self.queue.push_front(m);
                    break;
                }
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                    self.bytes -= len;
                    break;
                }
            }
        }
    }
}

struct Conn {
    peer: IpAddr,
    sender: Option<MessageSender>,
    writer: Option<WriterHandle>,
    reader: JoinHandle<()>,
    progress: JoinHandle<()>,
    max_len: Arc<AtomicUsize>,
    local: SocketAddr,
    /// Messages the writer queue had no room for.
    backlog: Backlog,
}

struct PeerState {
    spec: PeerSpec,
    rib_id: PeerId,
    fsm: Fsm,
    /// The connect attempt in flight.
    connecting: Option<(ConnectionId, JoinHandle<()>)>,
    /// The Established connection and when it came up.
    up: Option<(ConnectionId, Instant)>,
    stats: PeerStats,
    prefixes_received: u64,
    last_error: Option<String>,
    /// Progress logging while a table loads.
    load: Option<Load>,
    /// Graceful restart receiving speaker (RFC 4724 §4.2).
    helper: RestartHelper,
}

struct Load {
    started: Instant,
    last_log: Instant,
    received_at_last_log: u64,
}

pub(super) async fn spawn(
    config: SpeakerConfig,
    commands: mpsc::Receiver<Command>,
    routes: broadcast::Sender<RouteEvent>,
) -> io::Result<(JoinHandle<()>, Vec<SocketAddr>)> {
    let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
    let listener = if config.listen.is_empty() {
        None
    } else {
        let l = Arc::new(Listener::bind(&config.listen, &ListenOptions::default())?);
        info!(addresses = ?l.local_addrs(), "listening for BGP connections");
        let accept = Arc::clone(&l);
        let tx = events_tx.clone();
        tokio::spawn(async move {
            loop {
                match accept.accept().await {
                    Ok((stream, remote, local)) => {
                        if tx
                            .send(ConnEvent::Accepted {
                                stream,
                                remote,
                                local,
                            })
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Some(l)
    };
    let mut rib_config = RibConfig::new(config.asn, config.router_id);
    rib_config.cluster_id = config.cluster_id;
    rib_config.max_paths = config.max_paths.max(1);
    let mut core = Core {
        rib: Rib::new(rib_config),
        peers: HashMap::new(),
        by_rib_id: HashMap::new(),
        conns: HashMap::new(),
        next_conn: 1,
        events_tx,
        routes,
        listener,
        tunnels: Vec::new(),
        stopping: false,
        pending: Vec::new(),
        out_log: Vec::new(),
        out_base: 0,
        cursors: HashMap::new(),
        out_queue_limit: config.out_queue_limit.max(1),
    };
    let now = Instant::now();
    for route in config.networks {
        let changes = core.rib.originate(route);
        core.propagate(&changes, now);
    }
    for spec in config.peers {
        if let Err(e) = core.add_peer(spec, now) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string()));
        }
    }
    for pair in config.tunnel_pairs {
        if let Err(e) = core.set_tunnel_pair(pair) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string()));
        }
    }
    let bound = core
        .listener
        .as_ref()
        .map(|l| l.local_addrs())
        .unwrap_or_default();
    Ok((tokio::spawn(core.run(commands, events)), bound))
}

struct Core {
    rib: Rib,
    peers: HashMap<IpAddr, PeerState>,
    by_rib_id: HashMap<PeerId, IpAddr>,
    conns: HashMap<ConnectionId, Conn>,
    next_conn: u64,
    events_tx: mpsc::Sender<ConnEvent>,
    routes: broadcast::Sender<RouteEvent>,
    listener: Option<Arc<Listener>>,
    tunnels: Vec<TunnelPairSpec>,
    stopping: bool,
    /// RIB changes of UPDATEs not yet exported (see [`Core::flush`]).
    pending: Vec<Change>,
    /// RIB changes not yet exported to every update group: entry `i` has sequence number
    /// `out_base + i`; each group's cursor is the sequence number of the first change it
    /// has not been sent. Groups whose peers are slow to read fall behind here (see
    /// [`SpeakerConfig::out_queue_limit`]).
    out_log: Vec<Change>,
    out_base: u64,
    cursors: HashMap<GroupId, u64>,
    out_queue_limit: usize,
}

impl Core {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::Receiver<ConnEvent>,
    ) {
        loop {
            // One deadline for every timer: the FSMs' and the graceful restart helpers'.
            let deadline = self
                .peers
                .values()
                .flat_map(|p| [p.fsm.poll_timeout(), p.helper.poll_timeout()])
                .flatten()
                .min();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => {
                        if self.command(cmd).await {
                            return;
                        }
                    }
                    None => {
                        self.stop_all("speaker handle dropped").await;
                        return;
                    }
                },
                Some(ev) = events.recv() => {
                    // Take every event already waiting (up to a bound), then export the
                    // RIB changes of all their UPDATEs in one pass per update group: a
                    // table arriving in thousands of UPDATEs costs passes per batch, not
                    // per UPDATE.
                    self.event(ev);
                    for _ in 0..EVENT_BATCH {
                        if self.pending.len() >= FLUSH_CHANGES {
                            break;
                        }
                        match events.try_recv() {
                            Ok(ev) => self.event(ev),
                            Err(_) => break,
                        }
                    }
                    self.flush();
                }
                () = sleep => self.timers(),
            }
        }
    }

    /// Exports the RIB changes of the UPDATEs handled since the last flush, and whatever
    /// update groups that were waiting for their peers can now take.
    fn flush(&mut self) {
        let now = Instant::now();
        if !self.pending.is_empty() {
            let changes = core::mem::take(&mut self.pending);
            self.propagate(&changes, now);
        } else {
            self.pump(now, false);
        }
    }

    fn timers(&mut self) {
        self.flush();
        let now = Instant::now();
        let due: Vec<IpAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| p.fsm.poll_timeout().is_some_and(|d| d <= now))
            .map(|(a, _)| *a)
            .collect();
        for addr in due {
            if let Some(p) = self.peers.get_mut(&addr) {
                let before = p.fsm.state();
                let actions = p.fsm.handle_timeout(now);
                tracing::trace!(peer = %addr, ?before, after = ?p.fsm.state(), actions = actions.len(), "fsm timer");
                self.carry_out(addr, actions.iter().cloned().collect(), now);
            }
        }
        let restarts: Vec<IpAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| p.helper.poll_timeout().is_some_and(|d| d <= now))
            .map(|(a, _)| *a)
            .collect();
        for addr in restarts {
            let Some(p) = self.peers.get_mut(&addr) else {
                continue;
            };
            let phase = p.helper.restart().map(|r| r.phase);
            let actions = p.helper.handle_timeout(now);
            if !actions.is_empty() {
                match phase {
                    Some(RestartPhase::Away) => {
                        warn!(peer = %addr, "graceful restart: the peer did not come back within its Restart Time; removing its stale routes")
                    }
                    _ => {
                        warn!(peer = %addr, "graceful restart: no End-of-RIB within the stale path time; removing the routes still stale")
                    }
                }
            }
            self.restart_actions(addr, actions, now);
        }
    }

    // ---- commands ------------------------------------------------------------------------

    /// Returns true when the speaker must stop.
    async fn command(&mut self, cmd: Command) -> bool {
        self.flush();
        let now = Instant::now();
        match cmd {
            Command::AddPeer(spec, reply) => {
                let _ = reply.send(self.add_peer(*spec, now));
            }
            Command::RemovePeer(addr, reply) => {
                let _ = reply.send(self.remove_peer(addr, now));
            }
            Command::SetPeerEnabled(addr, enabled, message, reply) => {
                let r = match self.peers.get_mut(&addr) {
                    None => Err(SpeakerError::UnknownPeer(addr)),
                    Some(p) => {
                        let event = if !enabled {
                            Event::ManualStop(message)
                        } else if p.spec.session.passive {
                            Event::ManualStartPassive
                        } else {
                            Event::ManualStart
                        };
                        let actions = p.fsm.handle(now, event);
                        self.carry_out(addr, actions.iter().cloned().collect(), now);
                        // A peer the operator stops is not coming back: what was kept
                        // for its restart goes too.
                        if !enabled && let Some(p) = self.peers.get_mut(&addr) {
                            let actions = p.helper.abandon();
                            self.restart_actions(addr, actions, now);
                        }
                        Ok(())
                    }
                };
                let _ = reply.send(r);
            }
            Command::Originate(route, reply) => {
                let changes = self.rib.originate(route);
                self.propagate(&changes, now);
                let _ = reply.send(());
            }
            Command::StopOriginating(prefix, reply) => {
                let changes = self.rib.stop_originating(prefix);
                self.propagate(&changes, now);
                let _ = reply.send(());
            }
            Command::SetOriginCondition(prefix, holds, reply) => {
                let changes = self.rib.set_origin_condition(prefix, holds);
                self.propagate(&changes, now);
                let _ = reply.send(());
            }
            Command::SetTunnelPair(pair, reply) => {
                let _ = reply.send(self.set_tunnel_pair(pair));
            }
            Command::Neighbors(reply) => {
                let _ = reply.send(self.neighbors(now));
            }
            Command::Routes(query, reply) => {
                let _ = reply.send(self.routes_query(query));
            }
            Command::Advertised(addr, reply) => {
                let r = match self.peers.get(&addr) {
                    None => Err(SpeakerError::UnknownPeer(addr)),
                    Some(p) => Ok(self.rib.advertised(p.rib_id)),
                };
                let _ = reply.send(r);
            }
            Command::Stats(reply) => {
                let _ = reply.send(SpeakerStats {
                    rib_prefixes: self.rib.prefix_count(),
                    attribute_sets: self.rib.attribute_set_count(),
                    neighbors: self.neighbors(now),
                    best_per_peer: self.best_per_peer(),
                });
            }
            Command::Shutdown(message, reply) => {
                self.stop_all(&message).await;
                let _ = reply.send(());
                return true;
            }
        }
        false
    }

    fn add_peer(&mut self, spec: PeerSpec, now: Instant) -> Result<(), SpeakerError> {
        let addr = spec.address();
        if self.peers.contains_key(&addr) {
            return Err(SpeakerError::DuplicatePeer(addr));
        }
        let fsm =
            Fsm::new(spec.session.clone()).map_err(|e| SpeakerError::Config(e.to_string()))?;
        let mut routing = spec.routing.clone();
        // The next hop we advertise defaults to our address on the session.
        match spec.transport.local_address {
            Some(IpAddr::V4(a)) if routing.local_v4.is_none() => routing.local_v4 = Some(a),
            Some(IpAddr::V6(a)) if routing.local_v6.is_none() => routing.local_v6 = Some(a),
            _ => {}
        }
        let rib_id = self
            .rib
            .add_peer(routing)
            .map_err(|e| SpeakerError::Config(format!("{e:?}")))?;
        if let (Some(l), Some(key)) = (&self.listener, &spec.transport.md5_key)
            && let Err(e) = l.set_md5(addr, Some(key))
        {
            warn!(peer = %addr, error = %e, "cannot set the TCP-MD5 key on the listener");
        }
        let enabled = spec.enabled;
        let passive = spec.session.passive;
        let helper = RestartHelper::new(spec.helper);
        self.by_rib_id.insert(rib_id, addr);
        self.peers.insert(
            addr,
            PeerState {
                spec,
                rib_id,
                fsm,
                connecting: None,
                up: None,
                stats: PeerStats::default(),
                prefixes_received: 0,
                last_error: None,
                load: None,
                helper,
            },
        );
        info!(peer = %addr, passive, "peer added");
        if enabled {
            let event = if passive {
                Event::ManualStartPassive
            } else {
                Event::ManualStart
            };
            if let Some(p) = self.peers.get_mut(&addr) {
                let actions = p.fsm.handle(now, event);
                self.carry_out(addr, actions.iter().cloned().collect(), now);
            }
        }
        Ok(())
    }

    fn remove_peer(&mut self, addr: IpAddr, now: Instant) -> Result<(), SpeakerError> {
        let Some(p) = self.peers.get_mut(&addr) else {
            return Err(SpeakerError::UnknownPeer(addr));
        };
        // RFC 4486: Cease / Peer De-configured.
        let stop = Event::AutomaticStop(Notification::cease(
            bgp_wire::notification::cease_subcode::PEER_DECONFIGURED,
        ));
        let actions = p.fsm.handle(now, stop);
        self.carry_out(addr, actions.iter().cloned().collect(), now);
        let Some(p) = self.peers.remove(&addr) else {
            return Ok(());
        };
        if let Some((_, task)) = p.connecting {
            task.abort();
        }
        let conns: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.peer == addr)
            .map(|(id, _)| *id)
            .collect();
        for c in conns {
            self.close_conn(c);
        }
        if let Some(l) = &self.listener {
            let _ = l.set_md5(addr, None);
        }
        self.by_rib_id.remove(&p.rib_id);
        if let Ok(changes) = self.rib.remove_peer(p.rib_id) {
            self.propagate(&changes, now);
        }
        self.tunnels
            .iter_mut()
            .for_each(|t| t.members.retain(|m| *m != addr));
        info!(peer = %addr, "peer removed");
        Ok(())
    }

    fn set_tunnel_pair(&mut self, pair: TunnelPairSpec) -> Result<(), SpeakerError> {
        let mut members = Vec::new();
        for m in &pair.members {
            let p = self.peers.get(m).ok_or(SpeakerError::UnknownPeer(*m))?;
            members.push(p.rib_id);
        }
        let mode = match pair.active {
            None => TunnelMode::ActiveActive,
            Some(a) => {
                let p = self.peers.get(&a).ok_or(SpeakerError::UnknownPeer(a))?;
                TunnelMode::active_standby(p.rib_id)
            }
        };
        // Members whose sessions are up moved to new update groups; the RIB says what each
        // must now be sent. Every group is first sent what it is owed: the move rebuilds
        // the new groups' records from the present.
        self.pump(Instant::now(), true);
        let moved = self
            .rib
            .set_tunnel_pair(&TunnelPair { members, mode })
            .map_err(|e| SpeakerError::Config(format!("{e:?}")))?;
        self.tunnels.retain(|t| t.name != pair.name);
        self.tunnels.push(pair);
        let now = Instant::now();
        for (id, batch) in moved {
            let Some(addr) = self.by_rib_id.get(&id).copied() else {
                continue;
            };
            let Some(conn) = self.peers.get(&addr).and_then(|p| p.up.map(|u| u.0)) else {
                continue;
            };
            if batch.message_count > 0 {
                self.count_updates(addr, batch.message_count, batch.messages.len());
                self.send(conn, batch.messages);
                self.fsm_event(addr, Event::UpdateSent(conn), now);
            }
            // The import LOCAL_PREF changed too; the RIB keeps no pre-policy copy, so ask
            // the peer to send its routes again (RFC 2918).
            self.request_refresh(addr);
        }
        Ok(())
    }

    /// Sends ROUTE-REFRESH for every negotiated family when the peer supports it.
    fn request_refresh(&mut self, addr: IpAddr) {
        let Some(p) = self.peers.get(&addr) else {
            return;
        };
        let (Some((conn, _)), Some(n)) = (p.up, p.fsm.established().and_then(|s| s.negotiated()))
        else {
            return;
        };
        if !n.route_refresh {
            return;
        }
        for family in n.families.clone() {
            let m = bgp_wire::RouteRefresh::request(family).encode();
            if let Some(p) = self.peers.get_mut(&addr) {
                *p.stats
                    .messages_out
                    .entry("ROUTE-REFRESH".into())
                    .or_default() += 1;
                p.stats.bytes_out += m.len() as u64;
            }
            self.send(conn, m);
        }
    }

    async fn stop_all(&mut self, message: &str) {
        self.stopping = true;
        let now = Instant::now();
        let addrs: Vec<IpAddr> = self.peers.keys().copied().collect();
        for addr in addrs {
            if let Some(p) = self.peers.get_mut(&addr) {
                let actions = p.fsm.handle(now, Event::ManualStop(message.to_string()));
                self.carry_out(addr, actions.iter().cloned().collect(), now);
            }
        }
        // Let the writers flush the NOTIFICATIONs, then stop.
        let ids: Vec<ConnectionId> = self.conns.keys().copied().collect();
        let mut writers = Vec::new();
        for id in ids {
            if let Some(mut c) = self.conns.remove(&id) {
                c.sender = None;
                c.reader.abort();
                c.progress.abort();
                writers.extend(c.writer.take());
            }
        }
        for w in writers {
            let _ = tokio::time::timeout(Duration::from_secs(2), w.join()).await;
        }
        info!("stopped: {message}");
    }

    // ---- connection events ---------------------------------------------------------------

    fn event(&mut self, ev: ConnEvent) {
        let now = Instant::now();
        match ev {
            ConnEvent::Connected { peer, conn, stream } => {
                let wanted = self
                    .peers
                    .get(&peer)
                    .and_then(|p| p.connecting.as_ref())
                    .is_some_and(|(c, _)| *c == conn);
                if !wanted {
                    return; // abandoned attempt: dropping the stream closes it
                }
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.connecting = None;
                }
                self.register(peer, conn, stream);
                self.fsm_event(peer, Event::TcpCrAcked(conn), now);
                self.close_if_unused(peer, conn, "the session no longer wants this connection");
            }
            ConnEvent::ConnectFailed { peer, conn, error } => {
                let wanted = self
                    .peers
                    .get(&peer)
                    .and_then(|p| p.connecting.as_ref())
                    .is_some_and(|(c, _)| *c == conn);
                if wanted {
                    debug!(%peer, %error, "connect failed");
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.connecting = None;
                        p.last_error = Some(format!("connect: {error}"));
                    }
                    self.fsm_event(peer, Event::TcpConnectionFails(conn), now);
                }
            }
            ConnEvent::Accepted {
                stream,
                remote,
                local,
            } => {
                let addr = canonical(remote.ip());
                debug!(%remote, %local, "accepted a connection");
                if self.stopping || !self.peers.contains_key(&addr) {
                    // RFC 4271 §8.2.1.2 leaves unknown peers to the implementation: refuse.
                    info!(remote = %remote, local = %local, "refused connection from an unknown peer");
                    return;
                }
                if let Some(hops) = self
                    .peers
                    .get(&addr)
                    .and_then(|p| p.spec.transport.ttl_security)
                    && let Err(e) = net::set_ttl_security(&stream, Some(hops))
                {
                    warn!(peer = %addr, error = %e, "cannot set GTSM on the accepted connection");
                }
                let conn = self.new_conn_id();
                self.register(addr, conn, stream);
                self.fsm_event(addr, Event::TcpConnectionConfirmed(conn), now);
                self.close_if_unused(
                    addr,
                    conn,
                    "the session is not accepting connections (Idle)",
                );
            }
            ConnEvent::Frame { conn, bytes } => self.frame(conn, bytes, now),
            ConnEvent::ReadFailed { conn, error } => {
                let Some(peer) = self.conns.get(&conn).map(|c| c.peer) else {
                    return;
                };
                let event = match error {
                    ReadError::Header(e) => {
                        warn!(%peer, error = %e, "malformed message header");
                        Event::BgpHeaderErr(conn, e)
                    }
                    other => {
                        debug!(%peer, error = %other, "read failed");
                        Event::TcpConnectionFails(conn)
                    }
                };
                self.fsm_event(peer, event, now);
            }
            ConnEvent::Eof { conn } => {
                let Some(peer) = self.conns.get(&conn).map(|c| c.peer) else {
                    return;
                };
                self.fsm_event(peer, Event::TcpConnectionFails(conn), now);
            }
            ConnEvent::Progress { conn } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                let peer = c.peer;
                // Room in the writer queue again: move the backlog over.
                if let Some(s) = &c.sender {
                    c.backlog.drain_into(s);
                }
                self.fsm_event(peer, Event::DataSent(conn), now);
            }
        }
    }

    /// RFC 4271 §8.2.2: a connection the FSM did not take (e.g. one that arrived while the
    /// session is Idle, which "refuses all incoming BGP connections") is closed at once.
    fn close_if_unused(&mut self, peer: IpAddr, conn: ConnectionId, why: &str) {
        let used = self
            .peers
            .get(&peer)
            .is_some_and(|p| p.fsm.sessions().any(|s| s.connection() == Some(conn)));
        if !used && self.conns.contains_key(&conn) {
            debug!(%peer, "closing connection: {why}");
            self.close_conn(conn);
        }
    }

    fn new_conn_id(&mut self) -> ConnectionId {
        let id = ConnectionId(self.next_conn);
        self.next_conn += 1;
        id
    }

    fn register(&mut self, peer: IpAddr, conn: ConnectionId, stream: TcpStream) {
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (mut reader, sender, writer) = net::split(stream, WRITE_QUEUE);
        let max_len = Arc::new(AtomicUsize::new(bgp_wire::MAX_MESSAGE_LEN));
        let tx = self.events_tx.clone();
        let max = Arc::clone(&max_len);
        let reader_task = tokio::spawn(async move {
            loop {
                let want = max.load(Ordering::Relaxed);
                if reader.max_message_len() != want {
                    reader.set_max_message_len(want);
                }
                let ev = match reader.read_message().await {
                    Ok(Some(bytes)) => ConnEvent::Frame { conn, bytes },
                    Ok(None) => ConnEvent::Eof { conn },
                    Err(error) => ConnEvent::ReadFailed { conn, error },
                };
                let last = !matches!(ev, ConnEvent::Frame { .. });
                if tx.send(ev).await.is_err() || last {
                    return;
                }
            }
        });
        let mut progress = writer.progress();
        let tx = self.events_tx.clone();
        let progress_task = tokio::spawn(async move {
            while progress.changed().await.is_ok() {
                if tx.send(ConnEvent::Progress { conn }).await.is_err() {
                    return;
                }
                // Progress also tells the core that an update group waiting for this
                // peer to read (out_queue_limit) may go on: often enough to keep it busy,
                // at most 200 reports a second.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        self.conns.insert(
            conn,
            Conn {
                peer,
                sender: Some(sender),
                writer: Some(writer),
                reader: reader_task,
                progress: progress_task,
                max_len,
                local,
                backlog: Backlog::default(),
            },
        );
    }

    fn close_conn(&mut self, conn: ConnectionId) {
        let Some(mut c) = self.conns.remove(&conn) else {
            return;
        };
        // Dropping the sender lets the writer flush what is queued (a NOTIFICATION), then
        // shut the socket down; a peer that stopped reading gets 5 s.
        c.sender = None;
        c.reader.abort();
        c.progress.abort();
        if let Some(w) = c.writer.take() {
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                while !w.is_finished() {
                    if tokio::time::Instant::now() >= deadline {
                        w.abort();
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
    }

    fn send(&mut self, conn: ConnectionId, bytes: Bytes) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Some(s) = &c.sender {
            c.backlog.send(s, bytes);
        }
    }

    fn frame(&mut self, conn: ConnectionId, bytes: Bytes, now: Instant) {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer) else {
            return;
        };
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let params = p
            .fsm
            .sessions()
            .find(|s| s.connection() == Some(conn))
            .map(|s| s.session_params())
            .unwrap_or_default();
        let message_type = MessageType(bytes.get(18).copied().unwrap_or(0));
        p.stats.bytes_in += bytes.len() as u64;
        *p.stats
            .messages_in
            .entry(message_type.to_string())
            .or_default() += 1;
        let decoded = decode(bytes, &params);
        if let Ok(Message::Notification(n)) = &decoded {
            *p.stats
                .notifications_received
                .entry(format!("{}/{}", n.code.0, n.subcode))
                .or_default() += 1;
        }
        if let Err(e) = &decoded {
            warn!(%peer, error = %e, notification = %e.notification(), "malformed message");
        }
        self.fsm_event(peer, Event::from_decoded(conn, decoded), now);
    }

    fn fsm_event(&mut self, peer: IpAddr, event: Event, now: Instant) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let name = event.name();
        let before = p.fsm.state();
        let actions = p.fsm.handle(now, event);
        tracing::trace!(%peer, event = name, ?before, after = ?p.fsm.state(), actions = actions.len(), "fsm");
        self.carry_out(peer, actions.iter().cloned().collect(), now);
    }

    // ---- FSM actions ---------------------------------------------------------------------

    fn carry_out(&mut self, peer: IpAddr, actions: Vec<Action>, now: Instant) {
        for action in actions {
            match action {
                Action::Connect => self.connect(peer),
                Action::Send {
                    connection,
                    message,
                    bytes,
                } => {
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.stats.bytes_out += bytes.len() as u64;
                        *p.stats
                            .messages_out
                            .entry(message.message_type().to_string())
                            .or_default() += 1;
                        if let bgp_fsm::Outgoing::Notification(n) = &message {
                            *p.stats
                                .notifications_sent
                                .entry(format!("{}/{}", n.code.0, n.subcode))
                                .or_default() += 1;
                        }
                    }
                    self.send(connection, bytes);
                }
                Action::Close { connection } => self.close_conn(connection),
                Action::Established {
                    connection,
                    negotiated,
                } => self.established(peer, connection, &negotiated, now),
                Action::Down {
                    connection,
                    was_established,
                    reason,
                } => self.down(peer, connection, was_established, &reason, now),
                Action::DeliverUpdate {
                    connection: _,
                    update,
                } => self.update(peer, &update, now),
                Action::DeliverRouteRefresh {
                    connection,
                    refresh,
                } => {
                    if refresh.subtype.is_known()
                        && refresh.subtype == bgp_wire::RefreshSubtype::REQUEST
                    {
                        self.refresh(peer, connection, refresh.family, now);
                    }
                }
            }
        }
    }

    fn connect(&mut self, peer: IpAddr) {
        let conn = self.new_conn_id();
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if let Some((_, old)) = p.connecting.take() {
            old.abort();
        }
        let t = &p.spec.transport;
        let mut opts = ConnectOptions::new(SocketAddr::new(peer, t.port))
            .with_connect_timeout(t.connect_timeout);
        if let Some(a) = t.local_address {
            opts = opts.with_local(a);
        }
        if let Some(i) = &t.interface {
            opts = opts.with_interface(i.clone());
        }
        if let Some(k) = &t.md5_key {
            opts = opts.with_md5_key(k.clone());
        }
        if let Some(h) = t.ttl_security {
            opts = opts.with_ttl_security(h);
        }
        let tx = self.events_tx.clone();
        let task = tokio::spawn(async move {
            let ev = match net::connect(&opts).await {
                Ok(stream) => ConnEvent::Connected { peer, conn, stream },
                Err(error) => ConnEvent::ConnectFailed { peer, conn, error },
            };
            let _ = tx.send(ev).await;
        });
        p.connecting = Some((conn, task));
    }

    fn established(
        &mut self,
        peer: IpAddr,
        conn: ConnectionId,
        n: &bgp_fsm::Negotiated,
        now: Instant,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.up = Some((conn, now));
        p.stats.established_count += 1;
        p.last_error = None;
        p.load = Some(Load {
            started: now,
            last_log: now,
            received_at_last_log: p.prefixes_received,
        });
        let rib_id = p.rib_id;
        let families: Vec<String> = n.families.iter().map(|f| f.to_string()).collect();
        info!(
            %peer,
            description = p.spec.description.as_deref().unwrap_or(""),
            asn = n.peer_as,
            router_id = %n.peer_id,
            hold = n.hold_time,
            families = %families.join(", "),
            "session established"
        );
        if let Some(c) = self.conns.get(&conn)
            && n.params.extended_message
        {
            c.max_len
                .store(bgp_wire::MAX_EXTENDED_MESSAGE_LEN, Ordering::Relaxed);
        }
        // The next hop we advertise is our address on this session unless configured.
        if let Some(c) = self.conns.get(&conn) {
            let _ = self
                .rib
                .learn_local_address(rib_id, canonical(c.local.ip()));
        }
        // RFC 2545 §3 / RFC 4760: IPv6 routes need an IPv6 next hop. Over an IPv4 session
        // without a configured one there is none to give, so say so once instead of leaving
        // the peer without IPv6 routes and no word why.
        let no_v6_next_hop = self
            .rib
            .peer_config(rib_id)
            .is_ok_and(|c| c.local_v6.is_none());
        if no_v6_next_hop && n.families.contains(&Family::IPV6_UNICAST) {
            warn!(%peer, "IPv6 unicast negotiated but no IPv6 address is configured for this session (local_v6): IPv6 routes will not be advertised to it");
        }
        let _ = self
            .rib
            .set_negotiated_families(rib_id, n.families.iter().copied());
        if let Err(e) = self.rib.peer_up(rib_id, n.peer_id, n.params) {
            warn!(%peer, error = ?e, "RIB refused the session");
            return;
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            let restarting = p.helper.restart().is_some();
            let actions = p.helper.session_up(now, n);
            if restarting {
                match p.helper.restart() {
                    Some(r) => info!(%peer, families = %family_list(&r.families),
                        "graceful restart: the peer is back; its stale routes stay until End-of-RIB"),
                    None => info!(%peer,
                        "graceful restart: the peer is back without forwarding state; its stale routes are removed"),
                }
            }
            self.restart_actions(peer, actions, now);
        }
        // Initial advertisement: the whole Loc-RIB through the peer's export policy, then
        // End-of-RIB per family (RFC 4724 §4).
        for family in n.families.clone() {
            self.send_full(peer, conn, family, now);
            if let Ok(eor) = Update::end_of_rib(family).encode(&n.params) {
                self.count_updates(peer, 1, eor.len());
                self.send(conn, eor);
            }
        }
    }

    fn send_full(&mut self, peer: IpAddr, conn: ConnectionId, family: Family, now: Instant) {
        let Some(rib_id) = self.peers.get(&peer).map(|p| p.rib_id) else {
            return;
        };
        let Some(group) = self.rib.update_group(rib_id) else {
            return;
        };
        // The full export resets the group's record: its other members get what they
        // were still owed first, and the group is then level with the log.
        self.pump(now, true);
        let end = self.out_base + self.out_log.len() as u64;
        self.cursors.insert(group, end);
        match self.rib.export_full(group, family) {
            Ok(batch) => {
                if batch.message_count > 0 {
                    self.count_updates(peer, batch.message_count, batch.messages.len());
                    self.send(conn, batch.messages);
                    self.fsm_event(peer, Event::UpdateSent(conn), now);
                }
                if batch.suppressed > 0 {
                    warn!(%peer, suppressed = batch.suppressed, "export limit reached; prefixes not advertised");
                }
            }
            Err(e) => warn!(%peer, error = ?e, "export failed"),
        }
    }

    fn refresh(&mut self, peer: IpAddr, conn: ConnectionId, family: Family, now: Instant) {
        info!(%peer, %family, "route refresh requested");
        self.send_full(peer, conn, family, now);
    }

    fn down(
        &mut self,
        peer: IpAddr,
        conn: Option<ConnectionId>,
        was_established: bool,
        reason: &bgp_fsm::DownReason,
        now: Instant,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        // A second connection that lost a collision (RFC 4271 §6.8) or never got anywhere
        // goes down on its own; the established session, if any, is not affected.
        let established_conn = p.up.map(|u| u.0);
        if !was_established && established_conn.is_some() && established_conn != conn {
            debug!(%peer, reason = %reason, "second connection closed");
            return;
        }
        p.last_error = Some(reason.to_string());
        p.up = None;
        p.load = None;
        if let Some(Notified::Sent(n) | Notified::Received(n)) = &reason.notification {
            debug!(%peer, notification = %n, "session ended with a NOTIFICATION");
        }
        if was_established {
            warn!(%peer, reason = %reason, "session down");
            let actions = p.helper.session_down(now, reason);
            if let Some(r) = p.helper.restart() {
                let secs = r.deadline.saturating_duration_since(now).as_secs();
                info!(%peer, families = %family_list(&r.families), restart_time = secs,
                    "graceful restart: keeping the peer's routes, marked stale (RFC 4724 §4.2)");
            }
            self.restart_actions(peer, actions, now);
        } else {
            debug!(%peer, reason = %reason, "session attempt failed");
        }
    }

    /// Starts a session that fell to Idle again without waiting for the IdleHoldTimer, as an
    /// operator's start would: the peer is restarting and will connect soon.
    fn restart_session_now(&mut self, peer: IpAddr, now: Instant) {
        let Some(p) = self.peers.get(&peer) else {
            return;
        };
        if p.fsm.state() != State::Idle {
            // A new connection already replaced the session (RFC 4724 §4.2).
            return;
        }
        let event = if p.spec.session.passive {
            Event::ManualStartPassive
        } else {
            Event::ManualStart
        };
        self.fsm_event(peer, event, now);
    }

    /// Carries out what the graceful restart helper decided on the RIB.
    fn restart_actions(&mut self, peer: IpAddr, actions: Vec<HelperAction>, now: Instant) {
        let Some(rib_id) = self.peers.get(&peer).map(|p| p.rib_id) else {
            return;
        };
        for action in actions {
            let result = match action {
                HelperAction::RemoveAll => self.rib.peer_down(rib_id),
                HelperAction::KeepStale { families } => {
                    self.restart_session_now(peer, now);
                    // Every path is kept stale, then the families the peer did not list in
                    // its capability go at once.
                    self.rib.peer_down_graceful(rib_id).and_then(|()| {
                        let mut changes = Vec::new();
                        for f in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
                            if !families.contains(&f) {
                                changes.extend(self.rib.end_of_rib(rib_id, f)?);
                            }
                        }
                        Ok(changes)
                    })
                }
                HelperAction::RemoveStale(family) => self.rib.end_of_rib(rib_id, family),
                HelperAction::RemoveAllStale => self.rib.restart_timer_expired(rib_id),
            };
            match result {
                Ok(changes) => self.propagate(&changes, now),
                Err(e) => warn!(%peer, error = ?e, "RIB refused a graceful restart step"),
            }
        }
    }

    fn update(&mut self, peer: IpAddr, update: &bgp_wire::UpdateRef, now: Instant) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let rib_id = p.rib_id;
        for e in update.errors() {
            warn!(%peer, error = %e, "malformed attribute handled per RFC 7606");
        }
        p.prefixes_received += update.announced().count() as u64;
        let outcome = match self.rib.apply_update(rib_id, update) {
            Ok(o) => o,
            Err(e) => {
                warn!(%peer, error = ?e, "RIB refused an UPDATE");
                return;
            }
        };
        if let Some(family) = outcome.end_of_rib {
            // The RIB removed the family's stale paths itself (apply_update).
            if p.helper.end_of_rib(family) {
                info!(%peer, %family, "graceful restart: End-of-RIB received; stale routes of the family removed");
            }
            if let Some(load) = p.load.take() {
                info!(%peer, %family, prefixes = self.rib.peer_path_count(rib_id),
                    seconds = format!("{:.2}", now.duration_since(load.started).as_secs_f64()),
                    "initial table received");
            }
        } else if let Some(load) = &mut p.load
            && now.duration_since(load.last_log) >= PROGRESS_EVERY
        {
            let secs = now.duration_since(load.last_log).as_secs_f64();
            let rate = (p.prefixes_received - load.received_at_last_log) as f64 / secs;
            info!(%peer, received = p.prefixes_received, rate = format!("{rate:.0}/s"), "loading table");
            load.last_log = now;
            load.received_at_last_log = p.prefixes_received;
        }
        if outcome.max_prefix_exceeded {
            warn!(%peer, accepted = self.rib.peer_path_count(rib_id), "maximum prefix count exceeded");
        }
        // Exported when the batch of events this UPDATE arrived in is done (Core::flush).
        self.pending.extend(outcome.changes);
        if outcome.shutdown {
            let limit = p_limit(&self.peers, peer);
            // RFC 4486 §4: the data names the family whose limit was crossed: the one this
            // UPDATE announced in.
            let family = match update.mp_reach() {
                Some(m) if update.nlri().is_empty() => m.family,
                _ => Family::IPV4_UNICAST,
            };
            let n = Notification::max_prefixes(family.afi, family.safi, limit);
            self.fsm_event(peer, Event::AutomaticStop(n), now);
        }
    }

    fn count_updates(&mut self, peer: IpAddr, messages: usize, bytes: usize) {
        if let Some(p) = self.peers.get_mut(&peer) {
            *p.stats.messages_out.entry("UPDATE".into()).or_default() += messages as u64;
            p.stats.bytes_out += bytes as u64;
        }
    }

    /// Carries RIB changes to route subscribers at once, and to every update group
    /// (encoded once per group, the same bytes to each member) as fast as its peers read.
    fn propagate(&mut self, changes: &[Change], now: Instant) {
        if changes.is_empty() {
            return;
        }
        self.out_log.extend_from_slice(changes);
        self.pump(now, false);
        if self.routes.receiver_count() > 0 {
            for c in changes {
                let best = self.best_route(c.prefix);
                let _ = self.routes.send(RouteEvent {
                    prefix: c.prefix,
                    best,
                });
            }
        }
    }

    /// The update groups of the established peers.
    fn live_groups(&self) -> Vec<GroupId> {
        let mut groups = Vec::new();
        for p in self.peers.values() {
            if p.up.is_some()
                && let Some(g) = self.rib.update_group(p.rib_id)
                && !groups.contains(&g)
            {
                groups.push(g);
            }
        }
        groups
    }

    /// Whether every member of `group` has room for more UPDATEs
    /// ([`SpeakerConfig::out_queue_limit`]).
    fn has_room(&self, group: GroupId) -> bool {
        self.rib.group_members(group).iter().all(|m| {
            let Some(conn) = self
                .by_rib_id
                .get(m)
                .and_then(|a| self.peers.get(a))
                .and_then(|p| p.up.map(|u| u.0))
                .and_then(|c| self.conns.get(&c))
            else {
                return true;
            };
            c_queued(conn) < self.out_queue_limit
        })
    }

    /// Exports the change log to the update groups that are behind: those whose peers
    /// have room, or all of them with `force` (before a full export resets a group's
    /// record, which must not skip changes its other members were not sent yet). Groups
    /// at the same place in the log are exported together, one RIB pass for all.
    fn pump(&mut self, now: Instant, force: bool) {
        if self.out_log.is_empty() {
            return;
        }
        let end = self.out_base + self.out_log.len() as u64;
        let live = self.live_groups();
        self.cursors.retain(|g, _| live.contains(g));
        for &g in &live {
            // A group seen for the first time was just made: its record is the present.
            self.cursors.entry(g).or_insert(end);
        }
        loop {
            let ready: Vec<(u64, GroupId)> = live
                .iter()
                .filter_map(|&g| {
                    let c = self.cursors.get(&g).copied().unwrap_or(end);
                    (c < end && (force || self.has_room(g))).then_some((c, g))
                })
                .collect();
            let Some(from) = ready.iter().map(|r| r.0).min() else {
                break;
            };
            let groups: Vec<GroupId> = ready.iter().filter(|r| r.0 == from).map(|r| r.1).collect();
            let to = end.min(from + OUT_PASS as u64);
            let range = (from - self.out_base) as usize..(to - self.out_base) as usize;
            let changes = self.out_log.get(range).unwrap_or_default();
            let batches = self.rib.export_changes_to(&groups, changes);
            for (&g, batch) in groups.iter().zip(batches) {
                self.cursors.insert(g, to);
                match batch {
                    Ok(b) => self.send_to_group(g, &b, now),
                    Err(e) => warn!(error = ?e, "export failed"),
                }
            }
        }
        // Forget what every group has been sent.
        let done = live
            .iter()
            .map(|g| self.cursors.get(g).copied().unwrap_or(end))
            .min()
            .unwrap_or(end);
        let consumed = (done - self.out_base) as usize;
        if consumed == self.out_log.len() {
            self.out_log.clear();
            if self.out_log.capacity() > 4 * OUT_PASS {
                self.out_log = Vec::new();
            }
            self.out_base = done;
        } else if consumed > 0 && consumed * 2 >= self.out_log.len() {
            self.out_log.drain(..consumed);
            self.out_base = done;
        }
    }

    /// Sends an export batch to every established member of `group`.
    fn send_to_group(&mut self, group: GroupId, batch: &ExportBatch, now: Instant) {
        if batch.message_count == 0 {
            return;
        }
        let members: Vec<PeerId> = self.rib.group_members(group).to_vec();
        for m in members {
            let Some(addr) = self.by_rib_id.get(&m).copied() else {
                continue;
            };
            let Some(conn) = self.peers.get(&addr).and_then(|p| p.up.map(|u| u.0)) else {
                continue;
            };
            self.count_updates(addr, batch.message_count, batch.messages.len());
            self.send(conn, batch.messages.clone());
            self.fsm_event(addr, Event::UpdateSent(conn), now);
        }
    }

    fn peer_addr(&self, id: PeerId) -> IpAddr {
        self.by_rib_id
            .get(&id)
            .copied()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn best_route(&self, prefix: IpNet) -> Option<BestRoute> {
        let best = self.rib.best(prefix)?;
        let local = best.peer == PeerId::LOCAL;
        let mut next_hops = Vec::new();
        if !local {
            next_hops.push(NextHopEntry {
                address: best.attrs.next_hop().addr(),
                peer: self.peer_addr(best.peer),
            });
            for r in self.rib.multipath(prefix) {
                if r.peer == best.peer && r.path_id == best.path_id {
                    continue;
                }
                let e = NextHopEntry {
                    address: r.attrs.next_hop().addr(),
                    peer: self.peer_addr(r.peer),
                };
                if !next_hops.contains(&e) {
                    next_hops.push(e);
                }
            }
        }
        Some(BestRoute {
            next_hops,
            as_path: best.attrs.as_path().collect(),
            local,
        })
    }

    // ---- queries -------------------------------------------------------------------------

    fn path_entry(&self, r: &Route<'_>) -> PathEntry {
        let local = r.peer == PeerId::LOCAL;
        PathEntry {
            from: if local {
                "local".into()
            } else {
                self.peer_addr(r.peer).to_string()
            },
            next_hop: (!local).then(|| r.attrs.next_hop().addr()),
            as_path: r.attrs.as_path().collect(),
            local_pref: r.attrs.local_pref(),
            med: r.attrs.med(),
            origin: r.attrs.origin().to_string(),
            communities: r.attrs.communities().map(|c| c.to_string()).collect(),
            status: match r.status {
                PathStatus::Best => "best".into(),
                PathStatus::Multipath => "multipath".into(),
                PathStatus::Lost(step) => format!("lost at {step:?}"),
            },
            stale: r.stale,
        }
    }

    fn routes_query(&self, q: RouteQuery) -> Vec<RouteEntry> {
        match q.prefix {
            Some(prefix) => {
                let paths: Vec<PathEntry> = if q.explain {
                    self.rib
                        .explain(prefix)
                        .iter()
                        .map(|r| self.path_entry(r))
                        .collect()
                } else {
                    self.rib
                        .multipath(prefix)
                        .iter()
                        .map(|r| self.path_entry(r))
                        .collect()
                };
                if paths.is_empty() {
                    Vec::new()
                } else {
                    vec![RouteEntry { prefix, paths }]
                }
            }
            None => self
                .rib
                .best_v4()
                .chain(self.rib.best_v6())
                .map(|r| RouteEntry {
                    prefix: r.prefix,
                    paths: vec![self.path_entry(&r)],
                })
                .collect(),
        }
    }

    /// Best routes per peer. A scan of the Loc-RIB's rows (a few milliseconds for a full
    /// table), done per metrics scrape rather than kept up to date on every change.
    fn best_per_peer(&self) -> BTreeMap<IpAddr, usize> {
        self.rib
            .best_path_counts()
            .into_iter()
            .filter_map(|(id, c)| self.by_rib_id.get(&id).map(|a| (*a, c.best)))
            .collect()
    }

    /// Stale best routes of each peer whose restart we are helping through: a scan of the
    /// Loc-RIB's rows, done only while a restart is in progress.
    fn stale_best(&self) -> HashMap<PeerId, usize> {
        if self.peers.values().all(|p| p.helper.restart().is_none()) {
            return HashMap::new();
        }
        self.rib
            .best_path_counts()
            .into_iter()
            .filter(|(_, c)| c.stale > 0)
            .map(|(id, c)| (id, c.stale))
            .collect()
    }

    fn neighbors(&self, now: Instant) -> Vec<NeighborInfo> {
        let stale = self.stale_best();
        let mut v: Vec<NeighborInfo> = self
            .peers
            .iter()
            .map(|(addr, p)| {
                let negotiated = p.fsm.established().and_then(|s| s.negotiated());
                let conn = p.up.map(|u| u.0);
                let mut stats = p.stats.clone();
                stats.queued_bytes = conn.and_then(|c| self.conns.get(&c)).map_or(0, c_queued);
                NeighborInfo {
                    address: *addr,
                    asn: negotiated.map_or(p.spec.routing.remote_as, |n| n.peer_as),
                    description: p.spec.description.clone(),
                    state: state_name(p.fsm.state()).into(),
                    uptime_secs: p.up.map(|u| now.duration_since(u.1).as_secs()),
                    router_id: negotiated.map(|n| n.peer_id),
                    hold_time: negotiated.map(|n| n.hold_time),
                    families: negotiated
                        .map(|n| n.families.iter().map(|f| f.to_string()).collect())
                        .unwrap_or_default(),
                    local_address: conn.and_then(|c| self.conns.get(&c)).map(|c| c.local),
                    prefixes_accepted: self.rib.peer_path_count(p.rib_id),
                    prefixes_received: p.prefixes_received,
                    prefixes_advertised: if p.up.is_some() {
                        self.rib.advertised(p.rib_id).len()
                    } else {
                        0
                    },
                    last_error: p.last_error.clone(),
                    stats,
                    tunnel: self
                        .tunnels
                        .iter()
                        .find(|t| t.members.contains(addr))
                        .map(|t| {
                            let active = t.active.is_none_or(|a| a == *addr);
                            (t.name.clone(), active)
                        }),
                    graceful_restart_helper: p.helper.config().enabled,
                    graceful_restart: p.helper.restart().map(|r| RestartInfo {
                        phase: match r.phase {
                            RestartPhase::Away => "restarting".into(),
                            RestartPhase::Back => "refreshing".into(),
                        },
                        families: r.families.iter().map(|f| f.to_string()).collect(),
                        expires_in_secs: r.deadline.saturating_duration_since(now).as_secs(),
                        stale_routes: stale.get(&p.rib_id).copied().unwrap_or(0),
                    }),
                }
            })
            .collect();
        v.sort_by_key(|n| n.address);
        v
    }
}

fn family_list(families: &[Family]) -> String {
    families
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn p_limit(peers: &HashMap<IpAddr, PeerState>, peer: IpAddr) -> u32 {
    peers
        .get(&peer)
        .and_then(|p| p.spec.routing.max_prefix.as_ref())
        .map_or(0, |m| m.limit)
}

/// IPv4-mapped IPv6 addresses (from a dual-stack socket) become IPv4.
fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Idle => "Idle",
        State::Connect => "Connect",
        State::Active => "Active",
        State::OpenSent => "OpenSent",
        State::OpenConfirm => "OpenConfirm",
        State::Established => "Established",
    }
}

#[allow(dead_code)]
fn _assert_send(_: &BTreeMap<u8, u8>, _: SessionParams, _: NextHopAddr) {}
