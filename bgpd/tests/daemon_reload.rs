//! SIGHUP reload semantics, driven through `bgpd::daemon::reload` against real sessions on
//! loopback: unchanged peers keep their sessions, changed ones restart, removed ones go, and a
//! file with errors is refused while the running configuration stays.

use bgpd::daemon::{plan_reload, reload, speaker_config};
use bgpd::speaker::{NeighborInfo, PeerSpec, Speaker, SpeakerConfig};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

const US: Ipv4Addr = Ipv4Addr::new(127, 41, 0, 1);
const X: Ipv4Addr = Ipv4Addr::new(127, 41, 0, 2);
const Y: Ipv4Addr = Ipv4Addr::new(127, 41, 0, 3);

/// A peer that answers our sessions: passive, listening on its own loopback address.
async fn far_end(addr: Ipv4Addr, asn: u32) -> (Speaker, u16) {
    let mut c = SpeakerConfig::new(asn, addr);
    c.listen = vec![SocketAddr::new(addr.into(), 0)];
    let s = Speaker::start(c.clone()).await.expect("far end");
    let mut p = PeerSpec::new(&c, US.into(), 65001);
    p.session.passive = true;
    p.session.idle_hold_time = Duration::from_millis(200);
    p.session.damp_peer_oscillations = false;
    s.add_peer(p).await.expect("peer");
    let port = s.listening()[0].port();
    (s, port)
}

fn config(px: u16, py: u16, y_hold: u16, extra: &str) -> String {
    format!(
        r#"
[global]
asn = 65001
router_id = "{US}"
listen = []

[[peers]]
address = "{X}"
asn = 65002
port = {px}
local_address = "{US}"
description = "x"

[[peers]]
address = "{Y}"
asn = 65003
port = {py}
local_address = "{US}"
hold_time = {y_hold}
description = "y"
{extra}
"#
    )
}

async fn neighbor(s: &Speaker, addr: Ipv4Addr) -> NeighborInfo {
    s.neighbors()
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.address == IpAddr::from(addr))
        .unwrap()
}

/// The session with `addr` is up and has come up exactly once (never flapped).
async fn assert_still_up_once(s: &Speaker, addr: Ipv4Addr, why: &str) {
    let n = neighbor(s, addr).await;
    assert_eq!(
        (n.state.as_str(), n.stats.established_count),
        ("Established", 1),
        "{addr}: {why}"
    );
}

async fn wait(
    s: &Speaker,
    addr: Ipv4Addr,
    what: &str,
    ok: impl Fn(&NeighborInfo) -> bool,
) -> NeighborInfo {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let n = neighbor(s, addr).await;
        if ok(&n) {
            return n;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{addr}: never {what}; last {n:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_restarts_only_what_changed_and_refuses_bad_files() {
    let (_x, px) = far_end(X, 65002).await;
    let (_y, py) = far_end(Y, 65003).await;
    let dir = std::env::temp_dir().join(format!("bgpd-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join("bgpd.toml");
    std::fs::write(&path, config(px, py, 90, "")).unwrap();
    let (cfg, _) = bgpd::config::check_file(&path).unwrap_or_else(|r| panic!("{}", r.render()));
    let speaker = Speaker::start(speaker_config(&cfg)).await.unwrap();
    let started = cfg.clone();
    let up = |n: &NeighborInfo| n.state == "Established";
    wait(&speaker, X, "established", up).await;
    wait(&speaker, Y, "established", up).await;

    // Y's hold time changes and a network is added: Y restarts, X does not.
    std::fs::write(
        &path,
        config(px, py, 60, "[[networks]]\nprefix = \"10.41.0.0/16\"\n"),
    )
    .unwrap();
    let (new_cfg, _) = bgpd::config::check_file(&path).unwrap();
    let plan = plan_reload(&cfg, &new_cfg);
    assert_eq!(plan.changed, vec![IpAddr::from(Y)]);
    assert_eq!(plan.originate, vec!["10.41.0.0/16".parse().unwrap()]);
    let cfg = reload(&speaker, &started, &cfg, &path)
        .await
        .expect("reload");
    let y = wait(&speaker, Y, "re-established with hold 60", |n| {
        up(n) && n.hold_time == Some(60)
    })
    .await;
    assert_eq!(
        y.stats.established_count, 1,
        "Y is a new peer entry after the change"
    );
    assert_still_up_once(&speaker, X, "X must not flap").await;
    wait(&speaker, X, "advertised the new network", |n| {
        n.prefixes_advertised == 1
    })
    .await;

    // A file with an error is refused; the running configuration stays.
    std::fs::write(&path, "[global]\nasn = \"not a number\"\n").unwrap();
    let err = reload(&speaker, &started, &cfg, &path)
        .await
        .expect_err("bad file must be refused");
    assert!(
        err.contains("bgpd.toml:2"),
        "the error names file and line: {err}"
    );
    assert_still_up_once(&speaker, X, "a refused file must not touch the sessions").await;

    // A new local AS cannot be applied to running sessions: refused, nothing changes.
    std::fs::write(
        &path,
        config(px, py, 60, "").replace("asn = 65001", "asn = 65009"),
    )
    .unwrap();
    let err = reload(&speaker, &started, &cfg, &path)
        .await
        .expect_err("a new local AS must be refused");
    assert!(
        err.contains("bgpd.toml:3") && err.contains("CFG-RELOAD-IDENTITY"),
        "the error names file, line and rule: {err}"
    );
    assert_still_up_once(&speaker, X, "a refused reload must not touch the sessions").await;

    // Removing Y from the file: Y gets Cease / Peer De-configured and is forgotten; X stays.
    let without_y = config(px, py, 60, "");
    let cut = without_y.rfind("[[peers]]").unwrap();
    std::fs::write(&path, &without_y[..cut]).unwrap();
    reload(&speaker, &started, &cfg, &path)
        .await
        .expect("reload without Y");
    let n = speaker.neighbors().await.unwrap();
    assert_eq!(
        n.iter().map(|n| n.address).collect::<Vec<_>>(),
        vec![IpAddr::from(X)]
    );
    assert_eq!(n[0].stats.established_count, 1, "X must not flap");
    speaker.shutdown("test done").await;
    let _ = std::fs::remove_dir_all(&dir);
}
