//! The embeddable BGP speaker: one tokio task that owns the RIB and every peer's state
//! machine, fed by per-connection tasks that only frame bytes.
//!
//! ```text
//!   accept task ──┐                        ┌──> writer task (per connection) ──> socket
//!   connect tasks ├─ ConnEvent (bounded) ─>│ core task: bgp-fsm Peers + bgp-rib Rib
//!   reader tasks ─┘                        └──> RouteEvent broadcast (best-route changes)
//!   Speaker handle ── Command (bounded) ──>
//! ```
//!
//! Protocol decisions are made by `bgp-fsm` (sessions) and `bgp-rib` (routes); this module
//! carries out their actions: it connects, writes, closes, decodes frames with the session's
//! negotiated parameters, and sends each update group's encoded UPDATEs to its members.
//!
//! # Embedding
//!
//! ```no_run
//! use bgpd::speaker::{PeerSpec, Speaker, SpeakerConfig};
//! use std::net::Ipv4Addr;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = SpeakerConfig::new(65001, Ipv4Addr::new(192, 0, 2, 1));
//! config.listen = vec!["127.0.0.1:1179".parse()?];
//! let speaker = Speaker::start(config).await?;
//! let mut routes = speaker.subscribe();
//! speaker.add_peer(PeerSpec::new(&speaker.config(), "127.0.0.2".parse()?, 65002)).await?;
//! while let Ok(event) = routes.recv().await {
//!     println!("{} -> {:?}", event.prefix, event.best.map(|b| b.next_hops));
//! }
//! # Ok(())
//! # }
//! ```

mod core;
mod types;

pub use types::*;

use bgp_rib::LocalRoute;
use ipnet::IpNet;
use std::io;
use std::net::IpAddr;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Handle to a running speaker. Cheap to clone; every clone talks to the same core task.
#[derive(Clone)]
pub struct Speaker {
    commands: mpsc::Sender<Command>,
    routes: broadcast::Sender<RouteEvent>,
    config: SpeakerConfig,
    listening: Vec<std::net::SocketAddr>,
    task: std::sync::Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

/// Requests from handles to the core task.
pub(crate) enum Command {
    AddPeer(Box<PeerSpec>, oneshot::Sender<Result<(), SpeakerError>>),
    RemovePeer(IpAddr, oneshot::Sender<Result<(), SpeakerError>>),
    SetPeerEnabled(
        IpAddr,
        bool,
        String,
        oneshot::Sender<Result<(), SpeakerError>>,
    ),
    Originate(LocalRoute, oneshot::Sender<()>),
    StopOriginating(IpNet, oneshot::Sender<()>),
    SetOriginCondition(IpNet, bool, oneshot::Sender<()>),
    SetTunnelPair(TunnelPairSpec, oneshot::Sender<Result<(), SpeakerError>>),
    Neighbors(oneshot::Sender<Vec<NeighborInfo>>),
    Routes(RouteQuery, oneshot::Sender<Vec<RouteEntry>>),
    Advertised(IpAddr, oneshot::Sender<Result<Vec<IpNet>, SpeakerError>>),
    Stats(oneshot::Sender<SpeakerStats>),
    Shutdown(String, oneshot::Sender<()>),
}

impl Speaker {
    /// Starts the speaker: binds the listen addresses, adds the configured peers, tunnel
    /// pairs and networks, and starts the sessions.
    pub async fn start(config: SpeakerConfig) -> io::Result<Speaker> {
        let (commands, rx) = mpsc::channel(256);
        let (routes, _) = broadcast::channel(config.route_event_capacity.max(16));
        let (task, listening) = core::spawn(config.clone(), rx, routes.clone()).await?;
        Ok(Speaker {
            commands,
            routes,
            config,
            listening,
            task: std::sync::Arc::new(std::sync::Mutex::new(Some(task))),
        })
    }

    /// The addresses the listener is bound to (with the port the system chose when the
    /// configuration asked for port 0).
    pub fn listening(&self) -> &[std::net::SocketAddr] {
        &self.listening
    }

    /// The configuration the speaker started with.
    pub fn config(&self) -> SpeakerConfig {
        self.config.clone()
    }

    /// Best-route changes, as they happen. A receiver that falls behind gets
    /// `RecvError::Lagged` and should resynchronise with [`Speaker::routes`].
    pub fn subscribe(&self) -> broadcast::Receiver<RouteEvent> {
        self.routes.subscribe()
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SpeakerError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| SpeakerError::Stopped)?;
        rx.await.map_err(|_| SpeakerError::Stopped)
    }

    /// Adds a peer and starts its session (unless `spec.enabled` is false).
    pub async fn add_peer(&self, spec: PeerSpec) -> Result<(), SpeakerError> {
        self.ask(|tx| Command::AddPeer(Box::new(spec), tx)).await?
    }

    /// Stops a peer's session (Cease / Peer De-configured), withdraws its routes and forgets
    /// it.
    pub async fn remove_peer(&self, address: IpAddr) -> Result<(), SpeakerError> {
        self.ask(|tx| Command::RemovePeer(address, tx)).await?
    }

    /// Administratively stops (`false`, with an RFC 9003 shutdown message) or restarts
    /// (`true`) a peer's session without forgetting it.
    pub async fn set_peer_enabled(
        &self,
        address: IpAddr,
        enabled: bool,
        message: &str,
    ) -> Result<(), SpeakerError> {
        self.ask(|tx| Command::SetPeerEnabled(address, enabled, message.to_string(), tx))
            .await?
    }

    /// Originates a route (a VPC CIDR, an extra block).
    pub async fn originate(&self, route: LocalRoute) -> Result<(), SpeakerError> {
        self.ask(|tx| Command::Originate(route, tx)).await
    }

    /// Stops originating a route.
    pub async fn stop_originating(&self, prefix: IpNet) -> Result<(), SpeakerError> {
        self.ask(|tx| Command::StopOriginating(prefix, tx)).await
    }

    /// Tells whether the condition of a conditionally originated route holds (e.g. the
    /// prefix is present in the kernel table).
    pub async fn set_origin_condition(
        &self,
        prefix: IpNet,
        holds: bool,
    ) -> Result<(), SpeakerError> {
        self.ask(|tx| Command::SetOriginCondition(prefix, holds, tx))
            .await
    }

    /// Groups peers into a tunnel pair (active/standby or active/active).
    pub async fn set_tunnel_pair(&self, pair: TunnelPairSpec) -> Result<(), SpeakerError> {
        self.ask(|tx| Command::SetTunnelPair(pair, tx)).await?
    }

    /// Every peer and its session state.
    pub async fn neighbors(&self) -> Result<Vec<NeighborInfo>, SpeakerError> {
        self.ask(Command::Neighbors).await
    }

    /// Routes in the Loc-RIB: every best route, or all paths of one prefix (with why each
    /// lost when `explain`).
    pub async fn routes(&self, query: RouteQuery) -> Result<Vec<RouteEntry>, SpeakerError> {
        self.ask(|tx| Command::Routes(query, tx)).await
    }

    /// Prefixes currently advertised to a peer.
    pub async fn advertised(&self, peer: IpAddr) -> Result<Vec<IpNet>, SpeakerError> {
        self.ask(|tx| Command::Advertised(peer, tx)).await?
    }

    /// Counters for metrics.
    pub async fn stats(&self) -> Result<SpeakerStats, SpeakerError> {
        self.ask(Command::Stats).await
    }

    /// Sends Cease / Administrative Shutdown with `message` (RFC 9003) to every peer, waits
    /// briefly for the NOTIFICATIONs to go out, and stops the core task.
    pub async fn shutdown(&self, message: &str) {
        let _ = self
            .ask(|tx| Command::Shutdown(message.to_string(), tx))
            .await;
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
