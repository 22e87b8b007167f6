//! `bgpd demo`: seed scenario S1 in one process over loopback.
//!
//! Two VPN gateways (Alibaba Cloud's dual-tunnel IPsec with BGP, seed 001): gateway 1 in
//! AS 65530 advertises VPC1 10.0.0.0/16, gateway 2 in AS 65500 advertises VPC2
//! 192.168.0.0/16, joined by two BGP sessions that stand in for the active and the standby
//! tunnel. Each "tunnel" is a pair of loopback addresses, so the demo needs no root and no
//! configuration. It shows the routes, drops the active tunnel, shows the standby take over
//! and how long that took, restores the tunnel and shows the switch back.

use crate::speaker::{PeerSpec, RouteEvent, RouteQuery, Speaker, SpeakerConfig, TunnelPairSpec};
use bgp_rib::LocalRoute;
use ipnet::IpNet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Loopback addresses of the two tunnels: (gateway 1 side, gateway 2 side).
const TUNNEL_1: (Ipv4Addr, Ipv4Addr) = (Ipv4Addr::new(127, 10, 0, 1), Ipv4Addr::new(127, 10, 0, 2));
const TUNNEL_2: (Ipv4Addr, Ipv4Addr) = (Ipv4Addr::new(127, 20, 0, 1), Ipv4Addr::new(127, 20, 0, 2));
/// Longest wait for any step.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// What a run measured, for tests.
#[derive(Clone, Debug)]
pub struct DemoReport {
    /// The text printed.
    pub output: String,
    /// From "tunnel 1 down" until both gateways route over tunnel 2.
    pub failover: Duration,
    /// From "tunnel 1 up" until both gateways route over tunnel 1 again.
    pub switchback: Duration,
}

/// Runs the demo and returns what it printed. Errors describe the step that failed.
pub async fn run(mut out: impl FnMut(&str)) -> Result<DemoReport, String> {
    let mut text = String::new();
    let mut say = |line: String| {
        out(&line);
        text.push_str(&line);
        text.push('\n');
    };
    let vpc1: IpNet = "10.0.0.0/16".parse().map_err(|e| format!("{e}"))?;
    let vpc2: IpNet = "192.168.0.0/16".parse().map_err(|e| format!("{e}"))?;

    say(
        "bgpd demo: seed scenario S1, two VPN gateways joined by an active and a standby tunnel"
            .into(),
    );
    say(String::new());
    say(format!(
        "  VPN Gateway 1   AS 65530   advertises VPC1 {vpc1}"
    ));
    say(format!(
        "  VPN Gateway 2   AS 65500   advertises VPC2 {vpc2}"
    ));
    say(format!(
        "  tunnel 1 (active)    {} <-> {}",
        TUNNEL_1.0, TUNNEL_1.1
    ));
    say(format!(
        "  tunnel 2 (standby)   {} <-> {}",
        TUNNEL_2.0, TUNNEL_2.1
    ));
    say(String::new());

    let started = Instant::now();
    // Gateway 2 answers (like a cloud gateway's responder side); gateway 1 dials.
    let mut c2 = SpeakerConfig::new(65500, Ipv4Addr::new(192, 168, 0, 1));
    c2.listen = vec![
        SocketAddr::new(TUNNEL_1.1.into(), 0),
        SocketAddr::new(TUNNEL_2.1.into(), 0),
    ];
    c2.networks = vec![LocalRoute::new(vpc2)];
    let gw2 = Speaker::start(c2.clone())
        .await
        .map_err(|e| format!("gateway 2 did not start: {e}"))?;
    let port = gw2
        .listening()
        .first()
        .map(|a| a.port())
        .ok_or("gateway 2 has no listener")?;
    for (ours, theirs) in [(TUNNEL_1.1, TUNNEL_1.0), (TUNNEL_2.1, TUNNEL_2.0)] {
        let mut p = PeerSpec::new(&c2, theirs.into(), 65530);
        p.session.passive = true;
        p.session.hold_time = 30;
        quick_restart(&mut p);
        p.transport.local_address = Some(ours.into());
        p.description = Some(tunnel_name(theirs.into()).into());
        gw2.add_peer(p)
            .await
            .map_err(|e| format!("gateway 2: {e}"))?;
    }
    gw2.set_tunnel_pair(pair("vpn-gw2", TUNNEL_1.0, TUNNEL_2.0))
        .await
        .map_err(|e| format!("gateway 2: {e}"))?;

    let mut c1 = SpeakerConfig::new(65530, Ipv4Addr::new(10, 0, 0, 1));
    c1.networks = vec![LocalRoute::new(vpc1)];
    let gw1 = Speaker::start(c1.clone())
        .await
        .map_err(|e| format!("gateway 1 did not start: {e}"))?;
    for (ours, theirs) in [(TUNNEL_1.0, TUNNEL_1.1), (TUNNEL_2.0, TUNNEL_2.1)] {
        let mut p = PeerSpec::new(&c1, theirs.into(), 65500);
        p.session.hold_time = 30;
        quick_restart(&mut p);
        p.transport.port = port;
        p.transport.local_address = Some(ours.into());
        p.description = Some(tunnel_name(theirs.into()).into());
        gw1.add_peer(p)
            .await
            .map_err(|e| format!("gateway 1: {e}"))?;
    }
    gw1.set_tunnel_pair(pair("vpn-gw1", TUNNEL_1.1, TUNNEL_2.1))
        .await
        .map_err(|e| format!("gateway 1: {e}"))?;
    let mut events1 = gw1.subscribe();
    let mut events2 = gw2.subscribe();

    wait_for(&gw1, &mut events1, vpc2, TUNNEL_1.1.into())
        .await
        .map_err(|e| format!("gateway 1: {e}"))?;
    wait_for(&gw2, &mut events2, vpc1, TUNNEL_1.0.into())
        .await
        .map_err(|e| format!("gateway 2: {e}"))?;
    wait_established(&gw1, 2).await?;
    wait_paths(&gw1, vpc2, 2).await?;
    wait_paths(&gw2, vpc1, 2).await?;
    say(format!(
        "Both gateways started; BGP sessions up on both tunnels after {}.",
        ms(started.elapsed())
    ));
    say(String::new());
    say("Routes each gateway learned:".into());
    say(routes_line("Gateway 1", &gw1, vpc2).await?);
    say(routes_line("Gateway 2", &gw2, vpc1).await?);
    say(String::new());

    say("Tunnel 1 goes down (its BGP session is shut on gateway 1)...".into());
    let t = Instant::now();
    gw1.set_peer_enabled(TUNNEL_1.1.into(), false, "demo: tunnel 1 down")
        .await
        .map_err(|e| e.to_string())?;
    let a = wait_for(&gw1, &mut events1, vpc2, TUNNEL_2.1.into())
        .await
        .map_err(|e| format!("gateway 1: {e}"))?;
    let b = wait_for(&gw2, &mut events2, vpc1, TUNNEL_2.0.into())
        .await
        .map_err(|e| format!("gateway 2: {e}"))?;
    let failover = t.elapsed();
    say(format!(
        "  Gateway 1 sends traffic for {vpc2} over tunnel 2 after {}",
        ms(a.duration_since(t))
    ));
    say(format!(
        "  Gateway 2 sends traffic for {vpc1} over tunnel 2 after {}",
        ms(b.duration_since(t))
    ));
    say(routes_line("Gateway 1", &gw1, vpc2).await?);
    say(String::new());

    say("Tunnel 1 comes back...".into());
    let t = Instant::now();
    gw1.set_peer_enabled(TUNNEL_1.1.into(), true, "")
        .await
        .map_err(|e| e.to_string())?;
    let a = wait_for(&gw1, &mut events1, vpc2, TUNNEL_1.1.into())
        .await
        .map_err(|e| format!("gateway 1: {e}"))?;
    let b = wait_for(&gw2, &mut events2, vpc1, TUNNEL_1.0.into())
        .await
        .map_err(|e| format!("gateway 2: {e}"))?;
    let switchback = t.elapsed();
    say(format!(
        "  Gateway 1 is back on tunnel 1 after {}",
        ms(a.duration_since(t))
    ));
    say(format!(
        "  Gateway 2 is back on tunnel 1 after {}",
        ms(b.duration_since(t))
    ));
    say(String::new());
    say("Done: traffic used the active tunnel, moved to the standby when it failed, and moved back.".into());

    gw1.shutdown("demo finished").await;
    gw2.shutdown("demo finished").await;
    Ok(DemoReport {
        output: text,
        failover,
        switchback,
    })
}

/// Tunnels come back quickly, so the sessions over them should too: retry every second
/// instead of RFC 4271's suggested 120 s, and do not damp the restart.
fn quick_restart(p: &mut PeerSpec) {
    p.session.connect_retry_time = Duration::from_secs(1);
    p.session.idle_hold_time = Duration::from_millis(500);
    p.session.damp_peer_oscillations = false;
}

fn pair(name: &str, active: Ipv4Addr, standby: Ipv4Addr) -> TunnelPairSpec {
    TunnelPairSpec {
        name: name.into(),
        members: vec![active.into(), standby.into()],
        active: Some(active.into()),
    }
}

fn tunnel_name(addr: IpAddr) -> &'static str {
    if addr == IpAddr::from(TUNNEL_1.0) || addr == IpAddr::from(TUNNEL_1.1) {
        "tunnel 1 (active)"
    } else {
        "tunnel 2 (standby)"
    }
}

fn ms(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// Waits until the best route of `prefix` goes via `peer`; returns when it happened.
async fn wait_for(
    speaker: &Speaker,
    events: &mut broadcast::Receiver<RouteEvent>,
    prefix: IpNet,
    peer: IpAddr,
) -> Result<Instant, String> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        // The current state first: the change may have happened before we subscribed.
        let routes = speaker
            .routes(RouteQuery {
                prefix: Some(prefix),
                explain: false,
            })
            .await
            .map_err(|e| e.to_string())?;
        let via = routes
            .first()
            .and_then(|r| r.paths.first())
            .map(|p| p.from.clone());
        if via.as_deref() == Some(peer.to_string().as_str()) {
            return Ok(Instant::now());
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => return Err(format!("{prefix} never went via {peer} (last: {via:?})")),
            Ok(Err(broadcast::error::RecvError::Closed)) => return Err("speaker stopped".into()),
            Ok(_) => {}
        }
    }
}

/// Waits until `prefix` has `count` paths (the standby one included).
async fn wait_paths(speaker: &Speaker, prefix: IpNet, count: usize) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let q = RouteQuery {
            prefix: Some(prefix),
            explain: true,
        };
        let n = speaker
            .routes(q)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .map(|r| r.paths.len())
            .sum::<usize>();
        if n >= count {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{prefix} has {n} paths, expected {count}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn wait_established(speaker: &Speaker, count: usize) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let n = speaker.neighbors().await.map_err(|e| e.to_string())?;
        if n.iter().filter(|n| n.state == "Established").count() >= count {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let states: Vec<String> = n
                .iter()
                .map(|n| format!("{} {}", n.address, n.state))
                .collect();
            return Err(format!("sessions did not come up: {}", states.join(", ")));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn routes_line(name: &str, speaker: &Speaker, prefix: IpNet) -> Result<String, String> {
    let routes = speaker
        .routes(RouteQuery {
            prefix: Some(prefix),
            explain: true,
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut line = format!("  {name}: {prefix}");
    for (i, p) in routes.iter().flat_map(|r| &r.paths).enumerate() {
        let via = p.from.parse::<IpAddr>().map(tunnel_name).unwrap_or("local");
        let what = if i == 0 { "used" } else { "standing by" };
        let _ = write!(
            line,
            "{}via {via} ({what})",
            if i == 0 { "  " } else { ", " }
        );
    }
    Ok(line)
}
