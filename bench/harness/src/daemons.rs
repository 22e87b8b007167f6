//! Launchers for the daemons under test, with equivalent configurations: every peer
//! passive on the daemon's side (the harness connects), accept everything in and out, next
//! hop self towards sinks on eBGP (every daemon's eBGP default), no kernel FIB, each daemon
//! on its own loopback range 127.D.0.0/16 and port.
//!
//! Addresses: the daemon listens on 127.D.0.1; injector i connects from 127.D.1.(i+1), sink
//! i from 127.D.2.(i+1). The daemon's AS is 65000; eBGP injectors are 65101+i, eBGP sinks
//! 65201+i; in the route-reflector scenario everybody is in AS 65000 and every peer is a
//! reflection client.

use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The daemons the harness knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Daemon {
    /// This project's `bgpd` (`bgpd run --config`).
    Bgpd,
    /// BIRD 2.
    Bird,
    /// FRR bgpd, without zebra.
    Frr,
    /// GoBGP.
    Gobgp,
    /// OpenBGPD.
    Openbgpd,
}

impl Daemon {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Bgpd => "bgpd",
            Daemon::Bird => "bird",
            Daemon::Frr => "frr",
            Daemon::Gobgp => "gobgp",
            Daemon::Openbgpd => "openbgpd",
        }
    }

    /// The second octet of the daemon's loopback range.
    fn octet(self) -> u8 {
        match self {
            Daemon::Bgpd => 10,
            Daemon::Bird => 11,
            Daemon::Frr => 12,
            Daemon::Gobgp => 13,
            Daemon::Openbgpd => 14,
        }
    }

    /// The daemon's address.
    pub fn address(self) -> Ipv4Addr {
        Ipv4Addr::new(127, self.octet(), 0, 1)
    }

    /// The daemon's listening port (OpenBGPD's too: `listen on ... port`).
    pub fn port(self) -> u16 {
        u16::from(self.octet()) * 1000 + 179
    }
}

/// Our AS on the daemon under test.
pub const DAEMON_ASN: u32 = 65000;

/// One peer as the daemon sees it.
#[derive(Clone, Copy, Debug)]
pub struct PeerDef {
    /// Address the harness connects from.
    pub address: Ipv4Addr,
    /// Its AS.
    pub asn: u32,
    /// Sink (next hop self, receives the table) or injector.
    pub sink: bool,
}

/// What the daemon must be configured with.
#[derive(Clone, Debug)]
pub struct Topology {
    /// Every peer.
    pub peers: Vec<PeerDef>,
    /// iBGP route reflection: every peer is a client.
    pub rr: bool,
    /// `global.threads` for bgpd; its own default when `None`.
    pub bgpd_threads: Option<u16>,
}

impl Topology {
    /// Builds the peer list for `daemon`.
    pub fn new(daemon: Daemon, injectors: usize, sinks: usize, rr: bool) -> Topology {
        let o = daemon.octet();
        let mut peers = Vec::new();
        for i in 0..injectors {
            peers.push(PeerDef {
                address: Ipv4Addr::new(127, o, 1, (i + 1) as u8),
                asn: if rr { DAEMON_ASN } else { 65101 + i as u32 },
                sink: false,
            });
        }
        for i in 0..sinks {
            peers.push(PeerDef {
                address: Ipv4Addr::new(127, o, 2, (i + 1) as u8),
                asn: if rr { DAEMON_ASN } else { 65201 + i as u32 },
                sink: true,
            });
        }
        Topology {
            peers,
            rr,
            bgpd_threads: None,
        }
    }
}

/// A running daemon.
pub struct Running {
    /// The process we started (the daemon itself; OpenBGPD's children are found from it).
    pub child: Child,
}

impl Running {
    /// Stops the daemon (SIGTERM, then SIGKILL after a second) and reaps it.
    pub fn stop(mut self) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        for _ in 0..20 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary for `daemon` (`bgpd_bin` is this project's).
fn binary(daemon: Daemon, bgpd_bin: &Path) -> PathBuf {
    match daemon {
        Daemon::Bgpd => bgpd_bin.to_path_buf(),
        Daemon::Bird => "/usr/sbin/bird".into(),
        Daemon::Frr => "/usr/lib/frr/bgpd".into(),
        Daemon::Gobgp => "/usr/bin/gobgpd".into(),
        Daemon::Openbgpd => "/usr/sbin/bgpd".into(),
    }
}

/// Writes the configuration into `dir` and starts the daemon in the foreground.
pub fn launch(
    daemon: Daemon,
    topo: &Topology,
    dir: &Path,
    bgpd_bin: &Path,
) -> Result<Running, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (file, text) = match daemon {
        Daemon::Bgpd => ("bgpd.toml", bgpd_config(daemon, topo, dir)),
        Daemon::Bird => ("bird.conf", bird_config(daemon, topo)),
        Daemon::Frr => ("frr.conf", frr_config(daemon, topo)),
        Daemon::Gobgp => ("gobgpd.toml", gobgp_config(daemon, topo)),
        Daemon::Openbgpd => ("openbgpd.conf", openbgpd_config(daemon, topo, dir)),
    };
    let conf = dir.join(file);
    fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
    let bin = binary(daemon, bgpd_bin);
    let mut cmd = Command::new(&bin);
    let c = conf.display().to_string();
    let d = dir.display().to_string();
    match daemon {
        Daemon::Bgpd => {
            cmd.args(["run", "--config", &c]).env("RUST_LOG", "warn");
        }
        Daemon::Bird => {
            cmd.args(["-f", "-c", &c, "-s", &format!("{d}/bird.ctl")]);
        }
        Daemon::Frr => {
            cmd.args([
                "-f",
                &c,
                "-Z",
                "-n",
                "-S",
                "-p",
                &daemon.port().to_string(),
                "-l",
                &daemon.address().to_string(),
                "-P",
                "0",
                "-i",
                &format!("{d}/frr.pid"),
                "--vty_socket",
                &d,
                "--log",
                &format!("file:{d}/frr.log"),
                "--log-level",
                "warn",
            ]);
        }
        Daemon::Gobgp => {
            cmd.args([
                "-f",
                &c,
                "-t",
                "toml",
                "-l",
                "warn",
                "--api-hosts",
                &format!("{}:50051", daemon.address()),
            ]);
        }
        Daemon::Openbgpd => {
            // Its unprivileged processes chroot to the _openbgpd user's home, which the
            // Debian package leaves to systemd's RuntimeDirectory to create.
            fs::create_dir_all("/run/openbgpd").map_err(|e| format!("/run/openbgpd: {e}"))?;
            cmd.args(["-d", "-f", &c]);
        }
    }
    let log = fs::File::create(dir.join("daemon.log")).map_err(|e| format!("log: {e}"))?;
    let log2 = log.try_clone().map_err(|e| format!("log: {e}"))?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("start {}: {e}", bin.display()))?;
    Ok(Running { child })
}

fn bgpd_config(daemon: Daemon, topo: &Topology, dir: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "[global]\nasn = {DAEMON_ASN}\nrouter_id = \"{a}\"\nlisten = [\"{a}\"]\nport = {p}\ncontrol_socket = \"{d}/bgpd.sock\"\nhold_time = 240\n",
        a = daemon.address(),
        p = daemon.port(),
        d = dir.display()
    );
    if let Some(n) = topo.bgpd_threads {
        let _ = writeln!(s, "threads = {n}\n");
    }
    if topo.rr {
        let _ = writeln!(s, "cluster_id = \"{}\"\n", daemon.address());
    }
    let _ = writeln!(s, "[global.fib]\ninstall = false\n");
    for p in &topo.peers {
        let _ = writeln!(
            s,
            "[[peers]]\naddress = \"{}\"\nasn = {}\npassive = true",
            p.address, p.asn
        );
        if topo.rr {
            let _ = writeln!(s, "route_reflector_client = true");
        } else if p.sink {
            // No sender-side loop detection towards sinks, as in BIRD (which has none) and
            // FRR (off by default): the sinks, one AS each, then share one update group.
            // Injectors keep it, so that their routes do not go back to them.
            let _ = writeln!(
                s,
                "next_hop_self = true\nsender_side_loop_detection = false"
            );
        }
        let _ = writeln!(s);
    }
    s
}

fn bird_config(daemon: Daemon, topo: &Topology) -> String {
    let a = daemon.address();
    let mut s = format!(
        "router id {a};\nlog stderr {{ warning, error, fatal }};\nprotocol device {{ }}\n\
         # Next hops of injected routes (192.0.2.0/24) resolve through this, as on a router\n\
         # with a connected route to them.\n\
         protocol static {{ ipv4; route 192.0.2.0/24 via \"lo\"; }}\n\n\
         template bgp peer {{\n  local {a} port {p} as {DAEMON_ASN};\n  passive on;\n  multihop;\n  hold time 240;\n  ipv4 {{ import all; export where source = RTS_BGP; }};\n}}\n\n",
        p = daemon.port()
    );
    for (i, p) in topo.peers.iter().enumerate() {
        let _ = write!(
            s,
            "protocol bgp p{i} from peer {{ neighbor {} as {};",
            p.address, p.asn
        );
        if topo.rr {
            let _ = write!(s, " rr client; rr cluster id {a};");
        } else if p.sink {
            let _ = write!(
                s,
                " ipv4 {{ import all; export where source = RTS_BGP; next hop self; }};"
            );
        }
        let _ = writeln!(s, " }}");
    }
    s
}

fn frr_config(daemon: Daemon, topo: &Topology) -> String {
    let a = daemon.address();
    let mut s = format!(
        "frr defaults traditional\nhostname bench\n!\nrouter bgp {DAEMON_ASN}\n bgp router-id {a}\n no bgp ebgp-requires-policy\n no bgp network import-check\n"
    );
    if topo.rr {
        let _ = writeln!(s, " bgp cluster-id {a}");
    }
    for p in &topo.peers {
        let _ = writeln!(
            s,
            " neighbor {n} remote-as {asn}\n neighbor {n} passive\n neighbor {n} timers 80 240\n neighbor {n} disable-connected-check",
            n = p.address,
            asn = p.asn
        );
    }
    let _ = writeln!(s, " address-family ipv4 unicast");
    for p in &topo.peers {
        let _ = writeln!(s, "  neighbor {} activate", p.address);
        if topo.rr {
            let _ = writeln!(s, "  neighbor {} route-reflector-client", p.address);
        } else if p.sink {
            let _ = writeln!(s, "  neighbor {} next-hop-self", p.address);
        }
    }
    let _ = writeln!(s, " exit-address-family\n!");
    s
}

fn gobgp_config(daemon: Daemon, topo: &Topology) -> String {
    let a = daemon.address();
    let mut s = format!(
        "[global.config]\n  as = {DAEMON_ASN}\n  router-id = \"{a}\"\n  port = {p}\n  local-address-list = [\"{a}\"]\n\n",
        p = daemon.port()
    );
    for p in &topo.peers {
        let _ = write!(
            s,
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n  [neighbors.timers.config]\n    hold-time = 240\n    keepalive-interval = 80\n  [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"{a}\"\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n",
            p.address, p.asn
        );
        if topo.rr {
            let _ = write!(
                s,
                "  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{a}\"\n"
            );
        }
        let _ = writeln!(s);
    }
    s
}

fn openbgpd_config(daemon: Daemon, topo: &Topology, dir: &Path) -> String {
    let a = daemon.address();
    let mut s = format!(
        "AS {DAEMON_ASN}\nrouter-id {a}\nsocket \"{d}/bgpd.sock\"\nlisten on {a} port {p}\nfib-update no\nholdtime 240\n",
        p = daemon.port(),
        d = dir.display()
    );
    // 192.0.2.0/24 next hops are not connected; OpenBGPD needs `nexthop qualify via
    // default`-style resolution only for the FIB, which is off.
    for p in &topo.peers {
        let _ = write!(
            s,
            "neighbor {} {{\n  remote-as {}\n  passive\n  local-address {a}\n  announce IPv4 unicast\n  enforce neighbor-as no\n",
            p.address, p.asn
        );
        if topo.rr {
            let _ = writeln!(s, "  route-reflector {a}");
        } else if p.sink {
            let _ = writeln!(s, "  set nexthop self");
        }
        let _ = writeln!(s, "}}");
    }
    s.push_str("allow from any\nallow to any\n");
    s
}
