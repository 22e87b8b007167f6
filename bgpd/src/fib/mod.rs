//! Kernel routes and link state over rtnetlink (Linux).
//!
//! Three tasks carry the [`Speaker`]'s decisions into the kernel and the kernel's events
//! back into the speaker; none of them decides anything about BGP (conventions §1):
//!
//! - the **installer** follows [`Speaker::subscribe`] and programs each best route into
//!   `[global.fib] table` with `protocol` and `metric` (an ECMP set as one multipath route,
//!   each next hop on the interface the kernel reaches it through). It remembers what it
//!   installed, deletes a route when the prefix is withdrawn or only originated locally,
//!   and at shutdown (unless `keep_on_graceful_restart`). At start it removes the routes of
//!   our protocol id in our table that a previous run left behind (a crash, or a graceful
//!   restart once the grace period is over). It never touches a route of another protocol
//!   id: a first install is exclusive (NLM_F_EXCL), only our own route is replaced.
//!   A receiver that lags behind the broadcast resynchronises from [`Speaker::routes`].
//! - the **link watcher** listens to link and address events. A peer is bound to a link by
//!   its tunnel `interface`, or by the interface its `local_address` was seen on. When that
//!   link goes down (administratively or losing carrier) or loses the address, the session
//!   is shut at once (`set_peer_enabled(false)`) instead of waiting for the hold timer, so
//!   the standby tunnel's routes take over; when it comes back the session is restarted.
//! - **conditional origination**: a `[[networks]]` entry with `only_if_in_kernel` is
//!   announced while a route for exactly that prefix, of another protocol than ours, is in
//!   our table or the main table (route events, plus a periodic check).

mod kernel;
mod logic;

pub use kernel::{KernelNextHop, Link, Target};
pub use logic::{Binding, LinkTracker, LinkVerdict, wanted_from_snapshot};

use crate::config::Config;
use crate::speaker::{RouteEvent, RouteQuery, Speaker};
use futures::StreamExt;
use ipnet::IpNet;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, MulticastGroup};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// How long routes left by a previous run are kept when `keep_on_graceful_restart` is set:
/// the restart time bgpd announces (RFC 4724 §4.2, 120 s). Routes the new run has not
/// re-learned by then are deleted.
pub const STALE_GRACE: Duration = Duration::from_secs(120);

/// How often the watcher re-reads links and the kernel table even without events (a
/// netlink event socket can overflow and drop messages).
const RECHECK: Duration = Duration::from_secs(5);

/// What the FIB tasks need from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FibSettings {
    /// Install routes at all.
    pub install: bool,
    /// Table, protocol id, metric.
    pub target: Target,
    /// Leave our routes in the kernel at shutdown, and keep a previous run's for
    /// [`STALE_GRACE`].
    pub keep_on_graceful_restart: bool,
    /// Peers and the links they are bound to.
    pub bindings: Vec<Binding>,
    /// Prefixes originated only while present in the kernel.
    pub kernel_conditions: Vec<IpNet>,
}

impl FibSettings {
    /// The settings a checked file describes.
    pub fn from_config(cfg: &Config) -> FibSettings {
        let f = &cfg.global.fib;
        FibSettings {
            install: f.install,
            target: Target {
                table: f.table,
                protocol: f.protocol,
                metric: f.metric,
            },
            keep_on_graceful_restart: f.keep_on_graceful_restart,
            bindings: cfg
                .resolve()
                .into_iter()
                .map(|p| Binding {
                    peer: p.address,
                    interface: p.interface,
                    local_address: p.local_address,
                })
                .collect(),
            kernel_conditions: cfg
                .originated()
                .into_iter()
                .filter(|n| n.only_if_in_kernel)
                .map(|n| n.prefix)
                .collect(),
        }
    }
}

/// The running FIB tasks.
pub struct Fib {
    stop: Option<oneshot::Sender<()>>,
    installer: Option<JoinHandle<()>>,
    watcher: JoinHandle<()>,
    settings: watch::Sender<FibSettings>,
}

impl Fib {
    /// Starts the installer (when `install`) and the watcher. Fails when netlink is not
    /// available (the caller may run without kernel routes).
    pub async fn start(speaker: Speaker, settings: FibSettings) -> Result<Fib, String> {
        let handle = connect()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let installer = if settings.install {
            let mut inst = Installer::new(handle.clone(), settings.target);
            let rx = speaker.subscribe();
            inst.reconcile(settings.keep_on_graceful_restart).await;
            let keep = settings.keep_on_graceful_restart;
            let sp = speaker.clone();
            Some(tokio::spawn(async move {
                inst.run(sp, rx, stop_rx, keep).await
            }))
        } else {
            None
        };
        let (settings_tx, settings_rx) = watch::channel(settings);
        let watcher = tokio::spawn(watch_links(speaker, handle, settings_rx));
        Ok(Fib {
            stop: Some(stop_tx),
            installer,
            watcher,
            settings: settings_tx,
        })
    }

    /// Applies a reloaded configuration's bindings and conditions. `install`, the target
    /// (table, protocol, metric) and `keep_on_graceful_restart` keep their values from
    /// start: the installer runs with them, and the link watcher must tell our routes
    /// from others by the same marks (`config::check_reload` warns about such changes).
    pub fn reconfigure(&self, mut settings: FibSettings) {
        {
            let running = self.settings.borrow();
            settings.install = running.install;
            settings.target = running.target;
            settings.keep_on_graceful_restart = running.keep_on_graceful_restart;
        }
        self.settings.send_replace(settings);
    }

    /// Stops the tasks; removes our routes unless `keep_on_graceful_restart`. Call it
    /// before stopping the speaker, so the speaker's last withdrawals do not reach the
    /// kernel when the routes are to be kept.
    pub async fn shutdown(mut self) {
        self.watcher.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.installer.take() {
            let _ = task.await;
        }
    }
}

fn connect() -> Result<Handle, String> {
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(|e| format!("netlink socket: {e}"))?;
    tokio::spawn(conn);
    Ok(handle)
}

struct Installer {
    handle: Handle,
    target: Target,
    installed: BTreeMap<IpNet, Vec<KernelNextHop>>,
    /// Our routes a previous run left, with their metric.
    stale: BTreeMap<IpNet, u32>,
}

impl Installer {
    fn new(handle: Handle, target: Target) -> Self {
        Installer {
            handle,
            target,
            installed: BTreeMap::new(),
            stale: BTreeMap::new(),
        }
    }

    /// Finds the routes of our protocol id in our table; deletes them now, or keeps them
    /// as stale for [`STALE_GRACE`] after a graceful restart.
    async fn reconcile(&mut self, keep: bool) {
        let routes = match kernel::dump_routes(&self.handle).await {
            Ok(r) => r,
            Err(e) => {
                warn!("cannot list kernel routes: {e}");
                return;
            }
        };
        for r in routes {
            if r.table == self.target.table && r.protocol == self.target.protocol {
                self.stale.insert(r.prefix, r.metric);
            }
        }
        if self.stale.is_empty() {
            return;
        }
        if keep {
            info!(
                routes = self.stale.len(),
                "keeping our routes from the previous run while sessions come back"
            );
        } else {
            info!(
                routes = self.stale.len(),
                "removing our routes left by a previous run"
            );
            self.sweep().await;
        }
    }

    async fn sweep(&mut self) {
        for (prefix, metric) in std::mem::take(&mut self.stale) {
            let t = Target {
                metric,
                ..self.target
            };
            if let Err(e) = kernel::remove(&self.handle, t, prefix).await {
                warn!(%prefix, "cannot remove stale route: {e}");
            }
        }
    }

    async fn run(
        &mut self,
        speaker: Speaker,
        mut rx: broadcast::Receiver<RouteEvent>,
        mut stop: oneshot::Receiver<()>,
        keep: bool,
    ) {
        self.resync(&speaker).await;
        let sweep_at = tokio::time::Instant::now() + STALE_GRACE;
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep_until(sweep_at), if !self.stale.is_empty() => {
                    self.sweep().await;
                }
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        let hops = logic::next_hops(ev.best.as_ref());
                        self.apply(ev.prefix, hops).await;
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        warn!(missed = n, "route events lagged; resynchronising the kernel table");
                        self.resync(&speaker).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // The speaker stopped; wait for our own stop to decide what to keep.
                        let _ = (&mut stop).await;
                        break;
                    }
                },
            }
        }
        if keep {
            info!(
                routes = self.installed.len(),
                "leaving our kernel routes in place (keep_on_graceful_restart)"
            );
            return;
        }
        for prefix in std::mem::take(&mut self.installed).into_keys() {
            if let Err(e) = kernel::remove(&self.handle, self.target, prefix).await {
                warn!(%prefix, "cannot remove route at shutdown: {e}");
            }
        }
    }

    async fn resync(&mut self, speaker: &Speaker) {
        let entries = match speaker.routes(RouteQuery::default()).await {
            Ok(e) => e,
            Err(e) => {
                warn!("cannot read the Loc-RIB: {e}");
                return;
            }
        };
        let wanted = wanted_from_snapshot(&entries);
        let gone: Vec<IpNet> = self
            .installed
            .keys()
            .filter(|p| !wanted.contains_key(p))
            .copied()
            .collect();
        for p in gone {
            self.apply(p, Vec::new()).await;
        }
        for (p, hops) in wanted {
            self.apply(p, hops).await;
        }
    }

    /// Makes the kernel hold `next_hops` for `prefix` (none: no route of ours).
    async fn apply(&mut self, prefix: IpNet, next_hops: Vec<IpAddr>) {
        let mut resolved = Vec::with_capacity(next_hops.len());
        for address in next_hops {
            match kernel::resolve(&self.handle, address).await {
                Ok(Some(interface)) => resolved.push(KernelNextHop { address, interface }),
                Ok(None) => debug!(%prefix, %address, "next hop not directly reachable; skipped"),
                Err(e) => debug!(%prefix, %address, "cannot resolve next hop: {e}"),
            }
        }
        resolved.sort();
        resolved.dedup();
        if resolved.is_empty() {
            let ours = self.installed.remove(&prefix).is_some();
            let stale = self.stale.remove(&prefix);
            let remove = ours || stale == Some(self.target.metric);
            if remove && let Err(e) = kernel::remove(&self.handle, self.target, prefix).await {
                warn!(%prefix, "cannot remove route: {e}");
            }
            if let Some(metric) = stale.filter(|m| *m != self.target.metric) {
                self.stale.insert(prefix, metric);
            }
            return;
        }
        if self.installed.get(&prefix) == Some(&resolved) {
            return;
        }
        let ours = self.installed.contains_key(&prefix)
            || self.stale.get(&prefix) == Some(&self.target.metric);
        match kernel::install(&self.handle, self.target, prefix, &resolved, ours).await {
            Ok(()) => {
                debug!(%prefix, next_hops = resolved.len(), "route installed");
                if self.stale.get(&prefix) == Some(&self.target.metric) {
                    self.stale.remove(&prefix);
                }
                self.installed.insert(prefix, resolved);
            }
            Err(e) => {
                warn!(%prefix, "cannot install route (another route of the same metric there?): {e}");
            }
        }
    }
}

async fn watch_links(speaker: Speaker, handle: Handle, mut settings: watch::Receiver<FibSettings>) {
    let events = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ]);
    let mut link_events = match events {
        Ok((conn, _, messages)) => {
            tokio::spawn(conn);
            Some(messages)
        }
        Err(e) => {
            warn!("cannot listen to link events ({e}); checking every {RECHECK:?}");
            None
        }
    };
    let routes = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Ipv4Route,
        MulticastGroup::Ipv6Route,
    ]);
    let mut route_events = match routes {
        Ok((conn, _, messages)) => {
            tokio::spawn(conn);
            Some(messages)
        }
        Err(e) => {
            warn!("cannot listen to route events ({e}); checking every {RECHECK:?}");
            None
        }
    };
    let mut state = WatchState::default();
    let mut current = settings.borrow_and_update().clone();
    state.links(&speaker, &handle, &current, false).await;
    state.origins(&speaker, &handle, &current).await;
    let mut tick = tokio::time::interval(RECHECK);
    loop {
        tokio::select! {
            changed = settings.changed() => {
                if changed.is_err() { return; }
                current = settings.borrow_and_update().clone();
                state.origin_known.clear();
                state.links(&speaker, &handle, &current, true).await;
                state.origins(&speaker, &handle, &current).await;
            }
            Some((msg, _)) = next(&mut link_events) => {
                debug!("link event: {:?}", msg.payload);
                state.links(&speaker, &handle, &current, false).await;
            }
            Some((msg, _)) = next(&mut route_events) => {
                if let NetlinkPayload::InnerMessage(
                    RouteNetlinkMessage::NewRoute(m) | RouteNetlinkMessage::DelRoute(m),
                ) = &msg.payload
                {
                    let relevant = kernel::describe(m).is_some_and(|r| {
                        r.protocol != current.target.protocol
                            && current.kernel_conditions.contains(&r.prefix)
                    });
                    if relevant {
                        state.origins(&speaker, &handle, &current).await;
                    }
                }
            }
            _ = tick.tick() => {
                state.links(&speaker, &handle, &current, false).await;
                state.origins(&speaker, &handle, &current).await;
            }
        }
    }
}

type Events = futures::channel::mpsc::UnboundedReceiver<(
    rtnetlink::packet_core::NetlinkMessage<RouteNetlinkMessage>,
    rtnetlink::sys::SocketAddr,
)>;

async fn next(
    events: &mut Option<Events>,
) -> Option<(
    rtnetlink::packet_core::NetlinkMessage<RouteNetlinkMessage>,
    rtnetlink::sys::SocketAddr,
)> {
    match events {
        Some(e) => e.next().await,
        None => std::future::pending().await,
    }
}

#[derive(Default)]
struct WatchState {
    tracker: LinkTracker,
    /// Peers we shut because of their link.
    disabled: BTreeSet<IpAddr>,
    /// Last condition told to the speaker, per prefix.
    origin_known: BTreeMap<IpNet, bool>,
}

impl WatchState {
    /// Re-reads links and shuts or restarts the peers whose link changed. `force`
    /// re-asserts every down peer (after a reload re-created peers).
    async fn links(&mut self, speaker: &Speaker, handle: &Handle, s: &FibSettings, force: bool) {
        let links = match kernel::links(handle).await {
            Ok(l) => l,
            Err(e) => {
                warn!("cannot read links: {e}");
                return;
            }
        };
        for (peer, up) in self.tracker.evaluate(&s.bindings, &links) {
            let was_disabled = self.disabled.contains(&peer);
            if !up.up && (force || !was_disabled) {
                info!(%peer, link = %up.why, "tunnel link down: shutting the session now");
                let msg = format!("link down: {}", up.why);
                match speaker.set_peer_enabled(peer, false, &msg).await {
                    Ok(()) => {
                        self.disabled.insert(peer);
                    }
                    Err(e) => debug!(%peer, "cannot shut peer: {e}"),
                }
            } else if up.up && was_disabled {
                info!(%peer, link = %up.why, "tunnel link up: restarting the session");
                match speaker.set_peer_enabled(peer, true, "").await {
                    Ok(()) => {
                        self.disabled.remove(&peer);
                    }
                    Err(e) => debug!(%peer, "cannot restart peer: {e}"),
                }
            }
        }
    }

    /// Tells the speaker which `only_if_in_kernel` prefixes are in the kernel.
    async fn origins(&mut self, speaker: &Speaker, handle: &Handle, s: &FibSettings) {
        if s.kernel_conditions.is_empty() {
            return;
        }
        let routes = match kernel::dump_routes(handle).await {
            Ok(r) => r,
            Err(e) => {
                warn!("cannot list kernel routes: {e}");
                return;
            }
        };
        let present: BTreeSet<IpNet> = routes
            .iter()
            .filter(|r| {
                r.protocol != s.target.protocol && (r.table == s.target.table || r.table == 254)
            })
            .map(|r| r.prefix)
            .collect();
        for prefix in &s.kernel_conditions {
            let holds = present.contains(prefix);
            if self.origin_known.get(prefix) == Some(&holds) {
                continue;
            }
            info!(%prefix, holds, "kernel route condition");
            match speaker.set_origin_condition(*prefix, holds).await {
                Ok(()) => {
                    self.origin_known.insert(*prefix, holds);
                }
                Err(e) => debug!(%prefix, "cannot set origin condition: {e}"),
            }
        }
    }
}
