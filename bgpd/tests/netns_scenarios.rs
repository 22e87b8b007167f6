//! Seed scenarios S1–S5 end to end on the real kernel: every gateway is a network
//! namespace running a real `bgpd run` process, tunnels are veth links carrying the
//! 169.254.x.x/30 inside addresses, VPC hosts are namespaces behind the gateways, and the
//! routes bgpd learns are checked in each namespace's kernel table (`ip -n NS route`).
//! A UDP prober (one datagram every 10 ms from a host in one VPC to an echo in the other)
//! measures lost probes and the longest outage through each failure.
//!
//! Needs root and network namespaces; without them each test prints why and passes
//! (skipped). Namespaces are named `bgpn-<pid>-<tag>-<n>` and deleted on drop, also when
//! a test fails. Only addresses inside these namespaces are used.
//!
//! Run: `scripts/test-netns`, or `BGPD_NETNS=1 cargo test -p bgpd --test netns_scenarios --
//! --nocapture --test-threads=1`. Without `BGPD_NETNS` they skip.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BGPD: &str = env!("CARGO_BIN_EXE_bgpd");
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Why these tests cannot run here, if they cannot.
fn cannot_run() -> Option<String> {
    // Opt-in, so `cargo test --workspace` does not run these (they are slow, need root,
    // and time failover): `scripts/test-netns` sets it.
    if std::env::var_os("BGPD_NETNS").is_none() {
        return Some("set BGPD_NETNS=1 to run (scripts/test-netns does)".into());
    }
    // SAFETY: geteuid has no preconditions.
    #[allow(unsafe_code)]
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some("not root: network namespaces need CAP_SYS_ADMIN".into());
    }
    let name = format!("bgpn-{}-probe", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &name])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return Some("`ip netns add` failed (no iproute2, or namespaces unavailable)".into());
    }
    let _ = Command::new("ip").args(["netns", "del", &name]).status();
    None
}

macro_rules! skip_unless_netns {
    () => {
        if let Some(why) = cannot_run() {
            println!("SKIPPED: {why}");
            return;
        }
    };
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("bgpn-{}-{tag}-{n}", std::process::id());
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        for key in ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"] {
            ns.exec(&["sysctl", "-qw", key]);
        }
        ns
    }

    fn ip(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    fn exec(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Our routes (protocol 186) for `prefix` in the main table, as `ip` prints them.
    fn bgp_route(&self, prefix: &str) -> String {
        let v6 = if prefix.contains(':') { "-6" } else { "-4" };
        self.ip(&[v6, "route", "show", "table", "254", "proto", "186", prefix])
    }

    /// The devices our route for `prefix` uses (several for a multipath route).
    fn bgp_devs(&self, prefix: &str) -> BTreeSet<String> {
        let text = self.bgp_route(prefix);
        let words: Vec<&str> = text.split_whitespace().collect();
        words
            .windows(2)
            .filter(|w| w[0] == "dev")
            .map(|w| w[1].to_string())
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A veth pair `a_if` in `a` ↔ `b_if` in `b`, up, with addresses.
fn veth(a: &Netns, a_if: &str, a_addr: &[&str], b: &Netns, b_if: &str, b_addr: &[&str]) {
    a.ip(&[
        "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &b.name,
    ]);
    for (ns, ifname, addrs) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
        for addr in addrs {
            if addr.contains(':') {
                ns.ip(&["addr", "add", addr, "dev", ifname, "nodad"]);
            } else {
                ns.ip(&["addr", "add", addr, "dev", ifname]);
            }
        }
        ns.ip(&["link", "set", "dev", ifname, "up"]);
    }
}

/// A `bgpd run` process inside a namespace; killed on drop.
struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(ns: &Netns, dir: &Path, name: &str, toml: &str) -> Daemon {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, toml).unwrap();
        let check = Command::new(BGPD)
            .args(["check", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let log = dir.join(format!("{name}.log"));
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, BGPD, "run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(File::create(&log).unwrap())
            .stderr(File::options().append(true).open(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon {
            name: name.into(),
            child,
            log,
        }
    }

    fn signal(&self, sig: &str) {
        sh(&["kill", &format!("-{sig}"), &self.child.id().to_string()]);
    }

    /// SIGTERM and wait for the exit.
    fn stop(&mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{} did not stop on SIGTERM", self.name);
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- {} log ----\n{}",
                self.name,
                tail(&self.log_text(), 60)
            );
        }
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Polls `cond` until it holds; returns how long it took, or None at the deadline.
fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[track_caller]
fn must(what: &str, timeout: Duration, cond: impl FnMut() -> bool) -> Duration {
    match wait_for(timeout, cond) {
        Some(d) => d,
        None => panic!("timed out after {timeout:?} waiting for: {what}"),
    }
}

fn tempdir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("bgpn-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Inserts lines right after `[global]` (control socket, timers).
fn with_global(toml: &str, extra: &str) -> String {
    toml.replacen("[global]\n", &format!("[global]\n{extra}\n"), 1)
}

fn example(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

/// Runs `f` on a thread inside namespace `ns` (setns applies to the calling thread only).
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap();
        // SAFETY: setns on a valid namespace fd; it only changes this thread's namespace.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}");
        f()
    })
}

/// What a prober saw.
#[derive(Debug, Default, Clone)]
struct ProbeReport {
    sent: u32,
    received: u32,
    /// Longest time between two answered probes (send times).
    longest_gap: Duration,
}

impl ProbeReport {
    fn lost(&self) -> u32 {
        self.sent.saturating_sub(self.received)
    }

    /// Probes lost between an earlier snapshot and this one. A probe in flight at the
    /// earlier snapshot is answered inside the window, so the window can count more
    /// answers than sends: that is no loss, not a negative one.
    fn lost_since(&self, before: &ProbeReport) -> u32 {
        let sent = self.sent.saturating_sub(before.sent);
        let received = self.received.saturating_sub(before.received);
        sent.saturating_sub(received)
    }
}

/// One UDP probe every 10 ms from `from_ns` to an echo at `to_addr:7` in `to_ns`.
struct Prober {
    stop: Arc<AtomicBool>,
    sender: Option<JoinHandle<ProbeReport>>,
    echo: Option<JoinHandle<()>>,
    snapshot: Arc<Mutex<ProbeReport>>,
}

impl Prober {
    fn start(from_ns: &Netns, to_ns: &Netns, to_addr: &str) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let bind = format!("{to_addr}:7");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let echo = in_netns(&to_ns.name, move || {
            let sock = UdpSocket::bind(&bind).unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 64];
            while !s2.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], from);
                }
            }
        });
        ready_rx.recv().unwrap();
        let s3 = stop.clone();
        let target = format!("{to_addr}:7");
        let snapshot = Arc::new(Mutex::new(ProbeReport::default()));
        let snap = snapshot.clone();
        let sender = in_netns(&from_ns.name, move || {
            let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
            sock.set_nonblocking(true).unwrap();
            let start = Instant::now();
            let mut sent_at: Vec<Duration> = Vec::new();
            let mut answered: BTreeSet<u32> = BTreeSet::new();
            let mut buf = [0u8; 64];
            let mut next = Instant::now();
            let mut last_answer: Option<Duration> = None;
            let mut report = ProbeReport::default();
            while !s3.load(Ordering::Relaxed) {
                let seq = sent_at.len() as u32;
                sent_at.push(start.elapsed());
                let _ = sock.send_to(&seq.to_be_bytes(), &target);
                next += Duration::from_millis(10);
                while Instant::now() < next {
                    match sock.recv(&mut buf) {
                        Ok(4) => {
                            let s = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
                            if answered.insert(s) {
                                let t = sent_at[s as usize];
                                if let Some(prev) = last_answer
                                    && t > prev
                                {
                                    report.longest_gap = report.longest_gap.max(t - prev);
                                }
                                last_answer = Some(last_answer.map_or(t, |p| p.max(t)));
                            }
                        }
                        _ => std::thread::sleep(Duration::from_micros(200)),
                    }
                }
                report.sent = sent_at.len() as u32;
                report.received = answered.len() as u32;
                *snap.lock().unwrap() = report.clone();
            }
            report
        });
        Prober {
            stop,
            sender: Some(sender),
            echo: Some(echo),
            snapshot,
        }
    }

    fn now(&self) -> ProbeReport {
        self.snapshot.lock().unwrap().clone()
    }

    /// Waits until `n` more probes were answered (traffic flows).
    #[track_caller]
    fn flowing(&self, timeout: Duration) {
        let base = self.now().received;
        must("probes answered", timeout, || {
            self.now().received >= base + 20
        });
    }

    fn finish(mut self) -> ProbeReport {
        self.stop.store(true, Ordering::Relaxed);
        let r = self.sender.take().unwrap().join().unwrap();
        self.echo.take().unwrap().join().unwrap();
        r
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// S1 topology: vpc1-host — gw1 — (vti-ali1 active, vti-ali2 standby) — gw2 — vpc2-host.
struct S1 {
    // Fields drop in order: daemons before their namespaces.
    _gw1_bgpd: Daemon,
    gw2_bgpd: Daemon,
    gw1: Netns,
    gw2: Netns,
    h1: Netns,
    h2: Netns,
}

fn s1_lab(tag: &str, hold: u16) -> S1 {
    let dir = tempdir(tag);
    let gw1 = Netns::new("gw1");
    let gw2 = Netns::new("gw2");
    let h1 = Netns::new("vpc1");
    let h2 = Netns::new("vpc2");
    veth(
        &gw1,
        "vti-ali1",
        &["169.254.10.1/30"],
        &gw2,
        "vti-ali1",
        &["169.254.10.2/30"],
    );
    veth(
        &gw1,
        "vti-ali2",
        &["169.254.20.1/30"],
        &gw2,
        "vti-ali2",
        &["169.254.20.2/30"],
    );
    veth(
        &gw1,
        "vpc1",
        &["10.0.1.1/24"],
        &h1,
        "eth0",
        &["10.0.1.2/24"],
    );
    veth(
        &gw2,
        "vpc2",
        &["192.168.1.1/24"],
        &h2,
        "eth0",
        &["192.168.1.2/24"],
    );
    h1.ip(&["route", "add", "default", "via", "10.0.1.1"]);
    h2.ip(&["route", "add", "default", "via", "192.168.1.1"]);
    let extra = |n: &str| {
        format!(
            "control_socket = \"{}\"\nhold_time = {hold}",
            dir.join(format!("{n}.sock")).display()
        )
    };
    let c1 = with_global(&example("s1-alibaba-dual-tunnel.toml"), &extra("gw1"));
    let c2 = with_global(&example("s1-alibaba-gw2.toml"), &extra("gw2"));
    let gw1_bgpd = Daemon::start(&gw1, &dir, "gw1", &c1);
    let gw2_bgpd = Daemon::start(&gw2, &dir, "gw2", &c2);
    S1 {
        _gw1_bgpd: gw1_bgpd,
        gw2_bgpd,
        gw1,
        gw2,
        h1,
        h2,
    }
}

fn on(devs: BTreeSet<String>, dev: &str) -> bool {
    devs.len() == 1 && devs.contains(dev)
}

#[test]
fn s1_dual_tunnel_failover() {
    skip_unless_netns!();
    let lab = s1_lab("s1", 3);
    let up = Duration::from_secs(30);
    must("gw1 route to VPC2 on the active tunnel", up, || {
        on(lab.gw1.bgp_devs("192.168.0.0/16"), "vti-ali1")
    });
    must("gw2 route to VPC1 on the active tunnel", up, || {
        on(lab.gw2.bgp_devs("10.0.0.0/16"), "vti-ali1")
    });
    // The standby session must be up too before we break the active one.
    must(
        "standby session up (gw2 learned 10.0.0.0/16 twice)",
        up,
        || {
            let out = Command::new(BGPD)
                .args([
                    "show",
                    "rib",
                    "10.0.0.0/16",
                    "--explain",
                    "--json",
                    "--socket",
                ])
                .arg(
                    lab.gw2_bgpd
                        .log
                        .with_file_name("gw2.sock")
                        .to_string_lossy()
                        .as_ref(),
                )
                .output();
            out.map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .matches("\"from\"")
                    .count()
                    >= 2
            })
            .unwrap_or(false)
        },
    );
    let probe = Prober::start(&lab.h1, &lab.h2, "192.168.1.2");
    probe.flowing(Duration::from_secs(10));

    // (a) Active tunnel link down: the link watcher shuts the session at once.
    let before = probe.now();
    let t0 = Instant::now();
    lab.gw1.ip(&["link", "set", "vti-ali1", "down"]);
    let a_route = must("(a) gw1 route moves to the standby tunnel", up, || {
        on(lab.gw1.bgp_devs("192.168.0.0/16"), "vti-ali2")
    });
    let t_issue = t0.elapsed();
    must("(a) gw2 route moves to the standby tunnel", up, || {
        on(lab.gw2.bgp_devs("10.0.0.0/16"), "vti-ali2")
    });
    probe.flowing(Duration::from_secs(10));
    let after = probe.now();
    let a_lost = after.lost_since(&before);
    println!(
        "S1(a) link down: gw1 kernel route on standby {} ms after `ip link set down` \
         returned ({} ms after it was issued); probes lost {a_lost} (10 ms interval => \
         outage ~{} ms)",
        a_route.as_millis(),
        t_issue.as_millis(),
        a_lost * 10
    );
    assert!(
        a_route <= Duration::from_millis(100),
        "(a) target: route on standby within 100 ms, took {a_route:?}"
    );

    // (b) Link restored: back to the active tunnel.
    let before = probe.now();
    lab.gw1.ip(&["link", "set", "vti-ali1", "up"]);
    let b_route = must("(b) gw1 route back on the active tunnel", up, || {
        on(lab.gw1.bgp_devs("192.168.0.0/16"), "vti-ali1")
    });
    must("(b) gw2 route back on the active tunnel", up, || {
        on(lab.gw2.bgp_devs("10.0.0.0/16"), "vti-ali1")
    });
    probe.flowing(Duration::from_secs(10));
    let after = probe.now();
    println!(
        "S1(b) link restored: gw1 back on active after {} ms; probes lost {}",
        b_route.as_millis(),
        after.lost_since(&before)
    );

    // (c) Silent failure: the active tunnel stops carrying anything (both ends, like a
    // dead IPsec SA) while its link stays up. Both ends wait for their hold timers (3 s).
    let before = probe.now();
    assert!(blackhole(&lab.gw1, "vti-ali1", "169.254.10.2"));
    assert!(blackhole(&lab.gw2, "vti-ali1", "169.254.10.1"));
    let c_route = must("(c) gw1 moves to standby after the hold time", up, || {
        on(lab.gw1.bgp_devs("192.168.0.0/16"), "vti-ali2")
    });
    must("(c) gw2 moves to standby after the hold time", up, || {
        on(lab.gw2.bgp_devs("10.0.0.0/16"), "vti-ali2")
    });
    probe.flowing(Duration::from_secs(10));
    let after = probe.now();
    let c_lost = after.lost_since(&before);
    let report = probe.finish();
    println!(
        "S1(c) tunnel silent, link up (hold 3 s): gw1 kernel route on standby after {} ms; \
         probes lost {c_lost} (outage ~{} ms)",
        c_route.as_millis(),
        c_lost * 10
    );
    println!(
        "S1 total: {} probes sent, {} lost, longest gap {} ms",
        report.sent,
        report.lost(),
        report.longest_gap.as_millis()
    );
    assert!(
        c_route >= Duration::from_secs(2),
        "moved before the hold time"
    );
}

/// Makes `dev` in `ns` silently drop what it sends to `peer` while the link stays up: a
/// permanent neighbour entry with a MAC address nobody has, so the far end discards every
/// frame (no tc/netem needed, which minimal kernels lack).
fn blackhole(ns: &Netns, dev: &str, peer: &str) -> bool {
    Command::new("ip")
        .args([
            "-n",
            &ns.name,
            "neigh",
            "replace",
            peer,
            "lladdr",
            "02:00:00:00:de:ad",
            "dev",
            dev,
            "nud",
            "permanent",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Silent failure of the peer process (SIGSTOP): links and kernel stay up, nothing is
/// answered. Both of gw1's tunnels end in that process, so after the hold time gw1 has no
/// route to VPC2 at all (the kernel route is removed, not left pointing into a dead peer);
/// SIGCONT brings the sessions and the route on the active tunnel back.
#[test]
fn s1_frozen_peer_withdrawn_after_hold_time() {
    skip_unless_netns!();
    let lab = s1_lab("s1f", 3);
    let up = Duration::from_secs(30);
    must("gw1 on active", up, || {
        on(lab.gw1.bgp_devs("192.168.0.0/16"), "vti-ali1")
    });
    lab.gw2_bgpd.signal("STOP");
    let t = must("gw1 removes the route after the hold time", up, || {
        lab.gw1.bgp_route("192.168.0.0/16").trim().is_empty()
    });
    println!(
        "S1(c, frozen peer) hold 3 s: gw1 route removed after {} ms",
        t.as_millis()
    );
    assert!(t >= Duration::from_secs(2), "removed before the hold time");
    lab.gw2_bgpd.signal("CONT");
    must(
        "gw1 back on active after SIGCONT",
        Duration::from_secs(60),
        || on(lab.gw1.bgp_devs("192.168.0.0/16"), "vti-ali1"),
    );
}

#[test]
fn s2_azure_aws_active_active_ecmp() {
    skip_unless_netns!();
    let dir = tempdir("s2");
    let aws = Netns::new("aws");
    let azure = Netns::new("azure");
    let tunnels = [
        (
            "vti-az0a",
            "169.254.21.1/30",
            "vti-aws1a",
            "169.254.21.2/30",
        ),
        (
            "vti-az0b",
            "169.254.22.1/30",
            "vti-aws1b",
            "169.254.22.2/30",
        ),
        (
            "vti-az1a",
            "169.254.21.5/30",
            "vti-aws2a",
            "169.254.21.6/30",
        ),
        (
            "vti-az1b",
            "169.254.22.5/30",
            "vti-aws2b",
            "169.254.22.6/30",
        ),
    ];
    for (a, aa, z, za) in tunnels {
        veth(&aws, a, &[aa], &azure, z, &[za]);
    }
    let sock = |n: &str| format!("control_socket = \"{}\"", dir.join(n).display());
    let c_aws = with_global(
        &example("s2-azure-aws-active-active.toml"),
        &sock("aws.sock"),
    );
    let c_az = with_global(&example("s2-azure-side.toml"), &sock("azure.sock"));
    let _aws_bgpd = Daemon::start(&aws, &dir, "aws", &c_aws);
    let _az_bgpd = Daemon::start(&azure, &dir, "azure", &c_az);
    let all_aws: BTreeSet<String> = tunnels.iter().map(|t| t.0.to_string()).collect();
    let all_az: BTreeSet<String> = tunnels.iter().map(|t| t.2.to_string()).collect();
    let up = Duration::from_secs(60);
    must("AWS side: 10.1.0.0/16 over all four tunnels", up, || {
        aws.bgp_devs("10.1.0.0/16") == all_aws
    });
    must("Azure side: 10.2.0.0/16 over all four tunnels", up, || {
        azure.bgp_devs("10.2.0.0/16") == all_az
    });
    println!("S2 ECMP:\n{}", aws.bgp_route("10.1.0.0/16"));
    // Drop one tunnel (AWS tunnel 2 to Azure instance 0).
    azure.ip(&["link", "set", "vti-aws1b", "down"]);
    let mut three_aws = all_aws.clone();
    three_aws.remove("vti-az0b");
    let mut three_az = all_az.clone();
    three_az.remove("vti-aws1b");
    let t_aws = must("AWS side drops just that next hop", up, || {
        aws.bgp_devs("10.1.0.0/16") == three_aws
    });
    let t_az = must("Azure side drops just that next hop", up, || {
        azure.bgp_devs("10.2.0.0/16") == three_az
    });
    println!(
        "S2 one tunnel down: AWS side 3 next hops after {} ms, Azure side after {} ms",
        t_aws.as_millis(),
        t_az.as_millis()
    );
    azure.ip(&["link", "set", "vti-aws1b", "up"]);
    must("AWS side back to four next hops", up, || {
        aws.bgp_devs("10.1.0.0/16") == all_aws
    });
}

#[test]
fn s3_backup_path_and_route_hygiene() {
    skip_unless_netns!();
    let dir = tempdir("s3");
    let gw1 = Netns::new("s3gw1");
    let gw2 = Netns::new("s3gw2");
    let h1 = Netns::new("s3vpc1");
    let h2 = Netns::new("s3vpc2");
    veth(
        &gw1,
        "vti-ali1",
        &["169.254.10.1/30"],
        &gw2,
        "vti-ali1",
        &["169.254.10.2/30"],
    );
    veth(
        &gw1,
        "line",
        &["10.9.0.1/30"],
        &gw2,
        "line",
        &["10.9.0.2/30"],
    );
    veth(
        &gw1,
        "vpc1",
        &["10.0.1.1/24"],
        &h1,
        "eth0",
        &["10.0.1.2/24"],
    );
    veth(
        &gw2,
        "vpc2",
        &["10.2.1.1/24"],
        &h2,
        "eth0",
        &["10.2.1.2/24"],
    );
    h1.ip(&["route", "add", "default", "via", "10.0.1.1"]);
    h2.ip(&["route", "add", "default", "via", "10.2.1.1"]);
    // The backup: static routes over the private line, worse metric than bgpd's 20.
    gw1.ip(&[
        "route",
        "add",
        "10.2.0.0/16",
        "via",
        "10.9.0.2",
        "metric",
        "100",
    ]);
    gw2.ip(&[
        "route",
        "add",
        "10.0.0.0/16",
        "via",
        "10.9.0.1",
        "metric",
        "100",
    ]);
    // Left by a crashed earlier run (ours: proto 186), and someone else's route with our
    // metric (must survive).
    gw1.ip(&[
        "route",
        "add",
        "10.77.0.0/16",
        "via",
        "10.9.0.2",
        "proto",
        "186",
        "metric",
        "20",
    ]);
    gw1.ip(&[
        "route",
        "add",
        "10.78.0.0/16",
        "via",
        "10.9.0.2",
        "proto",
        "static",
        "metric",
        "20",
    ]);
    let conf = |asn: u32, rid: &str, peer: &str, local: &str, peer_asn: u32, net: &str, n: &str| {
        format!(
            "[global]\nasn = {asn}\nrouter_id = \"{rid}\"\nhold_time = 3\ncontrol_socket = \"{}\"\n\n\
             [[networks]]\nprefix = \"{net}\"\n\n\
             [[peers]]\naddress = \"{peer}\"\nasn = {peer_asn}\nlocal_address = \"{local}\"\n\
             interface = \"vti-ali1\"\n",
            dir.join(format!("{n}.sock")).display()
        )
    };
    let _gw1_bgpd = Daemon::start(
        &gw1,
        &dir,
        "gw1",
        &conf(
            65001,
            "10.0.0.1",
            "169.254.10.2",
            "169.254.10.1",
            65002,
            "10.0.0.0/16",
            "gw1",
        ),
    );
    let mut gw2_bgpd = Daemon::start(
        &gw2,
        &dir,
        "gw2",
        &conf(
            65002,
            "10.2.0.1",
            "169.254.10.1",
            "169.254.10.2",
            65001,
            "10.2.0.0/16",
            "gw2",
        ),
    );
    let up = Duration::from_secs(30);
    must("stale route of ours removed at start", up, || {
        gw1.bgp_route("10.77.0.0/16").trim().is_empty()
    });
    let route_get = |ns: &Netns, dst: &str| ns.ip(&["route", "get", dst]);
    must("gw1 prefers the BGP route over the tunnel", up, || {
        route_get(&gw1, "10.2.1.2").contains("dev vti-ali1")
    });
    must("gw2 prefers the BGP route over the tunnel", up, || {
        route_get(&gw2, "10.0.1.2").contains("dev vti-ali1")
    });
    let probe = Prober::start(&h1, &h2, "10.2.1.2");
    probe.flowing(Duration::from_secs(10));
    // Session loss: gw2's bgpd stops (Cease to gw1; gw2 removes its routes at shutdown).
    let before = probe.now();
    gw2_bgpd.stop();
    let t = must("gw1 falls back to the private line", up, || {
        route_get(&gw1, "10.2.1.2").contains("dev line")
    });
    must("gw2's own routes removed at shutdown", up, || {
        gw2.bgp_route("10.0.0.0/16").trim().is_empty()
    });
    probe.flowing(Duration::from_secs(10));
    let after = probe.now();
    println!(
        "S3 session loss: gw1 on the backup after {} ms; probes lost {}",
        t.as_millis(),
        after.lost_since(&before)
    );
    let _ = probe.finish();
    assert!(
        gw1.ip(&["route", "show", "10.78.0.0/16"])
            .contains("proto static"),
        "another protocol's route must never be touched"
    );
    assert!(
        gw1.ip(&["route", "show", "10.2.0.0/16"])
            .contains("metric 100")
    );
}

#[test]
fn s4_s5_extra_cidr_conditional_and_ipv6() {
    skip_unless_netns!();
    let dir = tempdir("s45");
    let gw1 = Netns::new("s4gw1");
    let gw2 = Netns::new("s4gw2");
    veth(
        &gw1,
        "vti1",
        &["169.254.10.1/30", "fd00:10::1/64"],
        &gw2,
        "vti1",
        &["169.254.10.2/30", "fd00:10::2/64"],
    );
    // Where the DTS servers' block is reached on gw1's side.
    // (A veth pair inside gw1: minimal kernels lack the dummy driver.)
    gw1.ip(&[
        "link", "add", "name", "dts", "type", "veth", "peer", "name", "dtsp",
    ]);
    gw1.ip(&["addr", "add", "10.5.0.1/24", "dev", "dts"]);
    gw1.ip(&["link", "set", "dev", "dts", "up"]);
    gw1.ip(&["link", "set", "dev", "dtsp", "up"]);
    let sock = |n: &str| dir.join(format!("{n}.sock")).display().to_string();
    let c1 = format!(
        "[global]\nasn = 65001\nrouter_id = \"10.0.0.1\"\ncontrol_socket = \"{}\"\n\n\
         [[networks]]\nprefix = \"10.0.0.0/16\"\n\n\
         [[networks]]\nprefix = \"100.104.0.0/16\"\nonly_if_in_kernel = true\n\n\
         [[networks]]\nprefix = \"fd00:1::/48\"\n\n\
         [[peers]]\naddress = \"169.254.10.2\"\nasn = 65002\nlocal_address = \"169.254.10.1\"\n\
         interface = \"vti1\"\nipv6_next_hop = \"fd00:10::1\"\n\
         families = [\"ipv4-unicast\", \"ipv6-unicast\"]\n",
        sock("gw1")
    );
    let c2 = format!(
        "[global]\nasn = 65002\nrouter_id = \"10.2.0.1\"\ncontrol_socket = \"{}\"\n\n\
         [[networks]]\nprefix = \"10.2.0.0/16\"\n\n\
         [[networks]]\nprefix = \"fd00:2::/48\"\n\n\
         [[peers]]\naddress = \"169.254.10.1\"\nasn = 65001\nlocal_address = \"169.254.10.2\"\n\
         interface = \"vti1\"\nipv6_next_hop = \"fd00:10::2\"\n\
         families = [\"ipv4-unicast\", \"ipv6-unicast\"]\n",
        sock("gw2")
    );
    let _b1 = Daemon::start(&gw1, &dir, "gw1", &c1);
    let _b2 = Daemon::start(&gw2, &dir, "gw2", &c2);
    let up = Duration::from_secs(30);
    must("S4: gw2 installs 10.0.0.0/16", up, || {
        on(gw2.bgp_devs("10.0.0.0/16"), "vti1")
    });
    must("S5: gw2 installs the IPv6 VPC CIDR fd00:1::/48", up, || {
        let r = gw2.bgp_route("fd00:1::/48");
        r.contains("via fd00:10::1") && r.contains("dev vti1")
    });
    must("S5: gw1 installs fd00:2::/48", up, || {
        on(gw1.bgp_devs("fd00:2::/48"), "vti1")
    });
    assert!(
        gw2.bgp_route("100.104.0.0/16").trim().is_empty(),
        "100.104.0.0/16 is not in gw1's kernel yet: must not be announced"
    );
    gw1.ip(&["route", "add", "100.104.0.0/16", "via", "10.5.0.2"]);
    let t = must("S4: extra CIDR announced once in the kernel", up, || {
        on(gw2.bgp_devs("100.104.0.0/16"), "vti1")
    });
    println!(
        "S4 only_if_in_kernel: announced and installed remotely after {} ms",
        t.as_millis()
    );
    gw1.ip(&["route", "del", "100.104.0.0/16", "via", "10.5.0.2"]);
    must("S4: withdrawn once gone from the kernel", up, || {
        gw2.bgp_route("100.104.0.0/16").trim().is_empty()
    });
}
