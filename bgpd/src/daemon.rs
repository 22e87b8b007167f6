//! `bgpd run`: the daemon over a configuration file.
//!
//! The file is checked with the same rules as `bgpd check`; a file with errors is refused at
//! start and on reload (SIGHUP), and on reload the running configuration stays in place.
//! Reload touches only what changed: peers whose resolved settings are equal keep their
//! sessions; removed peers get Cease / Peer De-configured; changed peers are restarted.
//! SIGTERM and SIGINT send Cease / Administrative Shutdown with an RFC 9003 message to every
//! peer before the process exits.

use crate::config::{self, Config, ResolvedPeer};
use crate::speaker::{PeerSpec, Speaker, SpeakerConfig, Transport, TunnelPairSpec};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use tracing::{error, info, warn};

/// The speaker configuration a checked file describes.
pub fn speaker_config(cfg: &Config) -> SpeakerConfig {
    let router_id = cfg
        .global
        .router_id
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    let mut sc = SpeakerConfig::new(cfg.global.asn.0, router_id);
    sc.cluster_id = cfg.global.cluster_id;
    sc.max_paths = usize::from(cfg.global.max_paths.max(1));
    sc.listen = cfg
        .global
        .listen
        .iter()
        .map(|a| SocketAddr::new(*a, cfg.global.port))
        .collect();
    sc.networks = cfg.local_routes();
    sc.peers = cfg.resolve().iter().map(|p| peer_spec(cfg, p)).collect();
    sc.tunnel_pairs = tunnel_pairs(cfg);
    sc
}

/// ConnectRetryTime for the daemon's peers. RFC 4271 §10 suggests 120 s, but a tunnel peer
/// that refused a connection while it was Idle (e.g. right after either side restarted the
/// session) is usually ready a few seconds later, and a VPN gateway should not stay on its
/// standby tunnel for two minutes because of that.
pub const CONNECT_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

fn peer_spec(cfg: &Config, p: &ResolvedPeer) -> PeerSpec {
    let router_id = cfg
        .global
        .router_id
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    let mut session = p.fsm_config(router_id);
    session.connect_retry_time = CONNECT_RETRY;
    PeerSpec {
        session,
        routing: p.rib_config(cfg),
        transport: Transport {
            port: p.port,
            local_address: p.local_address,
            interface: p.interface.clone(),
            md5_key: p.md5_password.as_ref().map(|k| k.as_bytes().to_vec()),
            ttl_security: p.ttl_security,
            ..Transport::default()
        },
        enabled: true,
        description: Some(p.name.clone()),
        helper: p.helper_config(),
    }
}

fn tunnel_pairs(cfg: &Config) -> Vec<TunnelPairSpec> {
    cfg.tunnel_pairs()
        .into_iter()
        .map(|(name, members, active)| TunnelPairSpec {
            name,
            members,
            active,
        })
        .collect()
}

/// What a reload has to do, computed from the old and new files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReloadPlan {
    /// Peers to remove.
    pub remove: Vec<IpAddr>,
    /// Peers to add (new, or changed and removed first).
    pub add: Vec<IpAddr>,
    /// Peers whose settings changed (in both lists above).
    pub changed: Vec<IpAddr>,
    /// Prefixes to stop originating.
    pub stop_originating: Vec<IpNet>,
    /// Prefixes to start originating.
    pub originate: Vec<IpNet>,
}

/// Compares two checked files.
pub fn plan_reload(old: &Config, new: &Config) -> ReloadPlan {
    let by_addr = |c: &Config| -> BTreeMap<IpAddr, ResolvedPeer> {
        c.resolve().into_iter().map(|p| (p.address, p)).collect()
    };
    let (o, n) = (by_addr(old), by_addr(new));
    let mut plan = ReloadPlan::default();
    // Global settings the peers' sessions depend on: a change restarts every peer. (A
    // running daemon refuses such a reload: see `config::check_reload`.)
    let global_changed =
        old.global.asn != new.global.asn || old.global.router_id != new.global.router_id;
    for (addr, p) in &o {
        match n.get(addr) {
            None => plan.remove.push(*addr),
            Some(q) if q != p || global_changed || old.policies != new.policies => {
                plan.remove.push(*addr);
                plan.add.push(*addr);
                plan.changed.push(*addr);
            }
            Some(_) => {}
        }
    }
    plan.add.extend(n.keys().filter(|a| !o.contains_key(a)));
    let nets =
        |c: &Config| -> BTreeSet<IpNet> { c.originated().into_iter().map(|n| n.prefix).collect() };
    let (on, nn) = (nets(old), nets(new));
    plan.stop_originating = on.difference(&nn).copied().collect();
    plan.originate = nn.difference(&on).copied().collect();
    plan
}

/// Runs the daemon until SIGTERM/SIGINT, with the file at `path` already read and checked
/// ([`config::check_file`]: `bgpd run` does that before it starts the runtime, whose
/// worker count is `global.threads`); `path` is read again on SIGHUP. Returns an error
/// message for start-up failures.
pub async fn run(path: &Path, mut cfg: Config, report: &config::Report) -> Result<(), String> {
    for w in report.warnings() {
        warn!("{w}");
    }
    let speaker = Speaker::start(speaker_config(&cfg))
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    // Operator interfaces: bind first so a clash (another bgpd on the socket, a taken
    // metrics port) is reported at start, then serve in the background.
    let control = crate::control::bind(&cfg.global.control_socket).map_err(|e| {
        format!(
            "control socket {}: {e}",
            cfg.global.control_socket.display()
        )
    })?;
    tokio::spawn(crate::control::serve_listener(speaker.clone(), control));
    if let Some(addr) = cfg.global.metrics {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("metrics address {addr}: {e}"))?;
        info!(%addr, "serving Prometheus metrics on /metrics");
        tokio::spawn(crate::metrics::serve_listener(speaker.clone(), listener));
    }
    // Kernel routes and link watching (issue 7). Without netlink (not Linux, no
    // permission) the daemon still speaks BGP, without touching the kernel.
    let fib =
        match crate::fib::Fib::start(speaker.clone(), crate::fib::FibSettings::from_config(&cfg))
            .await
        {
            Ok(f) => Some(f),
            Err(e) => {
                warn!("kernel routes and link watching disabled: {e}");
                None
            }
        };
    info!(config = %path.display(), asn = cfg.global.asn.0, "bgpd running");
    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = signal(tokio::signal::unix::SignalKind::interrupt())?;
    // What the process runs with for the settings read only at start.
    let started = cfg.clone();
    loop {
        tokio::select! {
            _ = hup.recv() => match reload(&speaker, &started, &cfg, path).await {
                Ok(new) => {
                    if let Some(f) = &fib {
                        f.reconfigure(crate::fib::FibSettings::from_config(&new));
                    }
                    cfg = new
                }
                Err(e) => error!("reload refused, keeping the running configuration:\n{e}"),
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    info!("shutting down");
    if let Some(f) = fib {
        f.shutdown().await;
    }
    speaker.shutdown("bgpd is shutting down").await;
    Ok(())
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal, String> {
    tokio::signal::unix::signal(kind).map_err(|e| format!("cannot install a signal handler: {e}"))
}

/// Applies a changed file to a running speaker that started with `started` and last
/// applied `old`. The file must pass the checks of [`config::check_reload`]: a change of
/// the local AS or router id refuses it, and start-only settings that differ from
/// `started` are warned about (again on every reload until bgpd restarts).
pub async fn reload(
    speaker: &Speaker,
    started: &Config,
    old: &Config,
    path: &Path,
) -> Result<Config, String> {
    let (new, report) = config::check_reload(path, started).map_err(|r| r.render())?;
    for w in report.warnings() {
        warn!("{w}");
    }
    let plan = plan_reload(old, &new);
    let specs: BTreeMap<IpAddr, PeerSpec> = new
        .resolve()
        .iter()
        .map(|p| (p.address, peer_spec(&new, p)))
        .collect();
    for addr in &plan.remove {
        speaker
            .remove_peer(*addr)
            .await
            .map_err(|e| e.to_string())?;
    }
    for addr in &plan.add {
        if let Some(spec) = specs.get(addr) {
            speaker
                .add_peer(spec.clone())
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    for prefix in &plan.stop_originating {
        speaker
            .stop_originating(*prefix)
            .await
            .map_err(|e| e.to_string())?;
    }
    for route in new.local_routes() {
        if plan.originate.contains(&route.prefix) {
            speaker.originate(route).await.map_err(|e| e.to_string())?;
        }
    }
    // Re-apply a pair only when it changed or one of its peers was re-added: regrouping
    // sessions that are up means re-advertising to them.
    let old_pairs = tunnel_pairs(old);
    for pair in tunnel_pairs(&new) {
        let touched = pair.members.iter().any(|m| plan.add.contains(m));
        if touched || !old_pairs.contains(&pair) {
            speaker
                .set_tunnel_pair(pair)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    info!(
        removed = plan.remove.len() - plan.changed.len(),
        added = plan.add.len() - plan.changed.len(),
        changed = plan.changed.len(),
        "configuration reloaded"
    );
    Ok(new)
}

/// The default configuration path.
pub fn default_config_path() -> PathBuf {
    PathBuf::from("/etc/bgpd/bgpd.toml")
}
