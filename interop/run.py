#!/usr/bin/env python3
"""Interop suite: bgpd against BIRD 2, FRR bgpd, GoBGP, OpenBGPD and ExaBGP (issue 6).

Network rule: all traffic stays inside namespaces created here (bgpi-*), on veth pairs
addressed with 169.254.x.x/30 and fd00::/8 ULA, or on loopback. Everything is torn down
in a finally/atexit/signal handler, also on failure.

Topology: namespace bgpi-dut runs our bgpd (AS 4200000000, a 4-octet AS). Each peer daemon
runs in its own namespace bgpi-<name> and has one veth pair per session:
  k=0 eBGP IPv4 (both active)   k=1 eBGP IPv6 over ULA   k=2 bgpd passive
  k=3 bgpd configured with a wrong peer AS                k=4 TCP-MD5 matching keys
  k=5 TCP-MD5 mismatched keys   k=6 iBGP route-reflector client
BIRD and ExaBGP play the route-reflector client in the same process (a local AS per
session); FRR, GoBGP and OpenBGPD cannot make one session iBGP in another AS than the
rest, so a second instance of each, in AS 4200000000, runs in namespace bgpi-<name>-rr and
holds session k=6.
Session k of daemon i: 169.254.(10*i+k).1/30 (bgpd) / .2 (peer), fd00:0:i:k::1/64 / ::2.

Graceful restart (6d), last because it restarts the daemon: every daemon announces the
capability with a 30 s Restart Time. bgpd is a helper on k=1 (IPv6) and not on k=0 (IPv4,
graceful_restart_helper = false: 4b needs a plain session end, and ExaBGP closes without a
NOTIFICATION when GR is negotiated). The daemon is killed with SIGKILL (no NOTIFICATION);
bgpd must keep its IPv6 route, stale, and withdraw the IPv4 one; the downstream observer
must keep the IPv6 route; the daemon is started again so that it sets the Forwarding State
bit (BIRD -R with a short "graceful restart wait", FRR preserve-fw-state, GoBGP -r with a
short deferral time, ExaBGP always), bgpd keeps the route stale until the daemon's
End-of-RIB, and then the route is fresh and the daemon has bgpd's routes again.
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUN = Path(os.environ.get("BGPI_RUN", "/tmp/bgpi-run"))
BGPD = os.environ.get("BGPD_BIN", str(ROOT / "target/release/bgpd"))
DUT = "bgpi-dut"
DUT_AS = 4200000000
DUT_ID = "10.255.0.1"
CLUSTER_ID = "10.255.0.100"
HOLD = 9
WRONG_AS = 64999
OWN4, OWN6 = "192.0.2.0/24", "2001:db8:ffff::/48"
GR_TIME = 30  # Restart Time the daemons announce (s)

DAEMONS = ["bird", "frr", "gobgp", "openbgpd", "exabgp"]
IDX = {d: i + 1 for i, d in enumerate(DAEMONS)}
ASN = {d: 65000 + IDX[d] for d in DAEMONS}
RR_INLINE = ["bird", "exabgp"]  # the k=6 client is a session of the main instance
RR_SEPARATE = ["frr", "gobgp", "openbgpd"]  # the k=6 client is a second instance
RR_CLIENTS = RR_INLINE + RR_SEPARATE
RR_LOCAL_PREF = {"bird": 250, "exabgp": 240, "frr": 222, "gobgp": 223, "openbgpd": 224}
SCENARIOS = [
    ("1a", "eBGP, both active"),
    ("1b", "eBGP, bgpd passive"),
    ("2a", "IPv4+IPv6 peer→bgpd, attributes"),
    ("2b", "IPv4+IPv6 bgpd→peer, attributes"),
    ("3", "bgpd as route reflector"),
    ("4a", "peer withdraws → withdrawn downstream"),
    ("4b", "peer goes down → withdrawn downstream"),
    ("5a", "wrong peer AS → 2/2 Bad Peer AS"),
    ("5b", "hold timer expiry (SIGSTOP) → 4/0"),
    ("6a", "4-octet AS"),
    ("6b", "route refresh from peer"),
    ("6c", "graceful restart capability"),
    ("6d", "graceful restart: peer killed → routes kept stale, then refreshed"),
    ("7a", "TCP-MD5 matching keys"),
    ("7b", "TCP-MD5 mismatched keys"),
    ("8", "ExaBGP unusual messages"),
]

PROCS = []
NAMESPACES = []


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*args, ns=None, check=False, timeout=20, env=None):
    cmd = list(args)
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: rc={p.returncode}: {p.stderr.strip()}")
    return p.returncode, p.stdout, p.stderr


def spawn(name, args, ns, env=None):
    out = open(RUN / f"{name}.out", "w")
    p = subprocess.Popen(["ip", "netns", "exec", ns] + args, stdout=out, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True)
    PROCS.append((name, p))
    return p


def wait_for(cond, timeout, step=0.5):
    """Poll cond() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = cond()
        except Exception as e:  # noqa: BLE001 - a probe failing is "not yet"
            last = None
            _ = e
        if last:
            return last
        if time.monotonic() >= deadline:
            return last
        time.sleep(step)


def stale_cleanup():
    rc, out, _ = sh("ip", "netns", "list")
    for line in out.splitlines():
        n = line.split()[0] if line.split() else ""
        if n.startswith("bgpi-"):
            # kill anything still running inside, then delete
            _, pids, _ = sh("ip", "netns", "pids", n)
            for pid in pids.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", n)


def teardown():
    for name, p in reversed(PROCS):
        try:
            os.killpg(p.pid, signal.SIGCONT)
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 5
    for name, p in PROCS:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    # daemons that daemonize themselves: kill whatever still lives in our namespaces
    for n in NAMESPACES:
        _, pids, _ = sh("ip", "netns", "pids", n)
        for pid in pids.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", n)
    PROCS.clear()
    NAMESPACES.clear()


def v4(i, k, side):
    return f"169.254.{10 * i + k}.{side}"


def v6(i, k, side):
    return f"fd00:0:{i}:{k}::{side}"


def addr(i, k, side):
    return v6(i, k, side) if k == 1 else v4(i, k, side)


def sessions_for(d):
    """Sessions bgpd has with daemon d (k=6 may be held by d's second instance)."""
    return [0, 1, 2, 3, 4, 5, 6]


def ns_of(d, k):
    return f"bgpi-{d}-rr" if k == 6 and d in RR_SEPARATE else f"bgpi-{d}"


def make_topology():
    ns_list = [DUT] + [f"bgpi-{d}" for d in DAEMONS] + [f"bgpi-{d}-rr" for d in RR_SEPARATE]
    for n in ns_list:
        sh("ip", "netns", "add", n, check=True)
        NAMESPACES.append(n)
        sh("ip", "link", "set", "lo", "up", ns=n, check=True)
        sh("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
           "net.ipv6.conf.default.accept_dad=0", ns=n)
    for d in DAEMONS:
        i = IDX[d]
        for k in sessions_for(d):
            a, b = f"d{i}k{k}", f"p{i}k{k}"
            sh("ip", "link", "add", a, "netns", DUT, "type", "veth", "peer", "name", b,
               "netns", ns_of(d, k), check=True)
            for ns_, ifn, side in ((DUT, a, 1), (ns_of(d, k), b, 2)):
                sh("ip", "addr", "add", f"{v4(i, k, side)}/30", "dev", ifn, ns=ns_, check=True)
                sh("ip", "addr", "add", f"{v6(i, k, side)}/64", "dev", ifn, "nodad", ns=ns_,
                   check=True)
                sh("ip", "link", "set", ifn, "up", ns=ns_, check=True)


# ------------------------------------------------------------------ route views
def norm(as_path=None, med=None, local_pref=None, communities=(), ext=(), large=(),
         originator_id=None, cluster_list=(), unknown=()):
    return {"as_path": [int(x) for x in as_path or []], "med": med, "local_pref": local_pref,
            "communities": sorted(set(communities)), "ext": sorted(set(ext)),
            "large": sorted(set(large)), "originator_id": originator_id,
            "cluster_list": list(cluster_list), "unknown": list(unknown)}


def prefix_of(d, which, v6_=False):
    """Per-daemon prefixes: 'p' (kept, rich attributes), 'w' (withdrawn in 4a), 'r' (RR)."""
    i = IDX[d]
    if v6_:
        return {"p": f"2001:db8:{i}::/48", "w": f"2001:db8:{i}:100::/56"}[which]
    return {"p": f"10.{i}.0.0/24", "w": f"10.{i}.1.0/24", "r": f"10.{100 + i}.0.0/24",
            "loop": f"10.{100 + i}.9.0/24"}[which]


def expected_attrs(d):
    i = IDX[d]
    a = ASN[d]
    return {"med": 10 * i, "communities": [f"{a}:1"], "ext": [f"rt:{a}:100"],
            "large": [f"{a}:{i}:1"]}


class Daemon:
    name = ""
    tool = ""

    def __init__(self, rr=False):
        """rr: the second instance, in bgpd's AS, that holds only session k=6."""
        self.rr = rr
        self.i = IDX[self.name]
        self.asn = DUT_AS if rr else ASN[self.name]
        self.ns = ns_of(self.name, 6 if rr else 0)
        self.rid = f"10.255.0.{(20 if rr else 10) + self.i}"
        self.dir = RUN / (f"{self.name}-rr" if rr else self.name)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o777)

    restarts = 0  # times start() ran again after a kill (6d)

    def sessions(self):
        if self.rr:
            return [6]
        return [k for k in sessions_for(self.name) if ns_of(self.name, k) == self.ns]

    def pname(self, base):
        """Process (and log file) name of this start: BASE, then BASE.2, BASE.3 ..."""
        base = f"{base}-rr" if self.rr else base
        return base if not self.restarts else f"{base}.{self.restarts + 1}"

    def peer_addr(self, k):  # bgpd's address as seen by the daemon
        return addr(self.i, k, 1)

    def my_addr(self, k):
        return addr(self.i, k, 2)

    def logs(self):
        return ""

    def version(self):
        return "?"


class Bird(Daemon):
    name, tool = "bird", "birdc"

    def start(self):
        i = self.i
        sess = []
        for k in self.sessions():
            ibgp = k == 6
            fam = "ipv6" if k == 1 else "ipv4"
            pw = {4: 'password "interop-md5";', 5: 'password "wrong-key";'}.get(k, "")
            exp = "filter ex_rr" if ibgp else ("filter ex" if k in (0, 1) else "none")
            extra = "gateway recursive;" if ibgp else ""
            sess.append(f"""
protocol bgp s{k} {{
  local {self.my_addr(k)} as {DUT_AS if ibgp else self.asn};
  neighbor {self.peer_addr(k)} as {DUT_AS};
  hold time {HOLD}; connect retry time 2; error wait time 1, 2;
  graceful restart on; graceful restart time {GR_TIME}; enable route refresh on;
  {pw}
  {fam} {{ import all; export {exp}; {extra} }};
}}""")
        conf = f"""
log "{self.dir}/bird.log" all;
router id {self.rid};
graceful restart wait 8;
protocol device {{ scan time 2; }}
protocol static st4 {{ ipv4; route {prefix_of('bird', 'p')} blackhole; }}
protocol static st6 {{ ipv6; route {prefix_of('bird', 'p', True)} blackhole; }}
protocol static stw4 {{ ipv4; route {prefix_of('bird', 'w')} blackhole; }}
protocol static stw6 {{ ipv6; route {prefix_of('bird', 'w', True)} blackhole; }}
protocol static strr {{ ipv4; route {prefix_of('bird', 'r')} blackhole; }}
protocol static stigp {{ ipv4; route 169.254.0.0/16 via {self.peer_addr(6)}; }}
filter ex {{
  if !(proto = "st4" || proto = "st6" || proto = "stw4" || proto = "stw6") then reject;
  bgp_med = {10 * i};
  bgp_community.add(({self.asn}, 1));
  bgp_ext_community.add((rt, {self.asn}, 100));
  bgp_large_community.add(({self.asn}, {i}, 1));
  accept;
}}
filter ex_rr {{
  if proto != "strr" then reject;
  bgp_local_pref = 250;
  bgp_community.add(({self.asn}, 6));
  accept;
}}
""" + "\n".join(sess)
        (self.dir / "bird.conf").write_text(conf)
        # Started again after a kill: graceful restart recovery (-R), which sets the R and
        # Forwarding State bits.
        spawn(self.pname("bird"), ["/usr/sbin/bird", "-f", "-c", str(self.dir / "bird.conf"),
                                   "-s", str(self.dir / "bird.ctl")] + (["-R"] if self.restarts else []),
              self.ns)

    def c(self, *args):
        return sh("/usr/sbin/birdc", "-s", str(self.dir / "bird.ctl"), *args, ns=self.ns)[1]

    def established(self, k):
        return "Established" in self.c("show", "protocols", f"s{k}")

    def route(self, prefix, k=None):
        if k is None:
            k = 1 if ":" in prefix else 0
        out = self.c("show", "route", prefix, "protocol", f"s{k}", "all")
        if "BGP.as_path" not in out:
            return None
        f = {}
        for line in out.splitlines():
            m = re.match(r"\s*BGP\.(\w+):\s*(.*)", line)
            if m:
                f.setdefault(m.group(1), m.group(2).strip())
        comms = re.findall(r"\((\d+),\s*(\d+)\)", f.get("community", ""))
        ext = re.findall(r"\((\w+),\s*(\d+),\s*(\d+)\)", f.get("ext_community", ""))
        large = re.findall(r"\((\d+),\s*(\d+),\s*(\d+)\)", f.get("large_community", ""))
        unknown = [u for u in f if re.match(r"\[t\d+\]|unknown", u)]
        return norm(as_path=f.get("as_path", "").split(),
                    med=int(f["med"]) if "med" in f else None,
                    local_pref=int(f["local_pref"]) if "local_pref" in f else None,
                    communities=[f"{a}:{b}" for a, b in comms],
                    ext=[f"{t}:{a}:{b}" for t, a, b in ext],
                    large=[f"{a}:{b}:{c}" for a, b, c in large],
                    originator_id=f.get("originator_id"),
                    cluster_list=f.get("cluster_list", "").split(), unknown=unknown)

    def logs(self):
        p = self.dir / "bird.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def got_notification(self, k, code, sub):
        text = {(2, 2): "Bad peer AS", (4, 0): "Hold timer expired"}[(code, sub)]
        return f"Received: {text}" in self.c("show", "protocols", "all", f"s{k}") or \
            re.search(rf"s{k}: .*Received: {text}", self.logs())

    def withdraw(self):
        self.c("disable", "stw4")
        self.c("disable", "stw6")
        return True

    def session_down(self, k):
        self.c("disable", f"s{k}")

    def session_up(self, k):
        self.c("enable", f"s{k}")

    def refresh(self, k):
        self.c("reload", "in", f"s{k}")
        return True

    def gr(self, k):
        out = self.c("show", "protocols", "all", f"s{k}")
        part = out.split("Neighbor capabilities")[-1] if "Neighbor capabilities" in out else ""
        return "Graceful restart" in part

    def version(self):
        return sh("/usr/sbin/bird", "--version")[2].strip() or "BIRD 2"


class Frr(Daemon):
    name, tool = "frr", "vtysh"

    def start(self):
        if self.rr:
            return self.start_rr()
        nb, af4, af6 = [], [], []
        for k in self.sessions():
            p = self.peer_addr(k)
            nb.append(f" neighbor {p} remote-as {DUT_AS}")
            nb.append(f" neighbor {p} update-source {self.my_addr(k)}")
            nb.append(f" neighbor {p} timers 3 {HOLD}")
            nb.append(f" neighbor {p} timers connect 2")
            if k == 4:
                nb.append(f" neighbor {p} password interop-md5")
            if k == 5:
                nb.append(f" neighbor {p} password wrong-key")
            (af6 if k == 1 else af4).append(f"  neighbor {p} activate")
        i = self.i
        conf = f"""hostname frr
log file {self.dir}/frr.log debugging
debug bgp neighbor-events
debug bgp updates in
route-map RICH permit 10
 set metric {10 * i}
 set community {self.asn}:1 additive
 set extcommunity rt {self.asn}:100
 set large-community {self.asn}:{i}:1
!
router bgp {self.asn}
 bgp router-id {self.rid}
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 bgp graceful-restart
 bgp graceful-restart restart-time {GR_TIME}
 bgp graceful-restart preserve-fw-state
{chr(10).join(nb)}
 address-family ipv4 unicast
  network {prefix_of('frr', 'p')} route-map RICH
  network {prefix_of('frr', 'w')} route-map RICH
{chr(10).join(af4)}
 exit-address-family
 address-family ipv6 unicast
  network {prefix_of('frr', 'p', True)} route-map RICH
  network {prefix_of('frr', 'w', True)} route-map RICH
{chr(10).join(af6)}
 exit-address-family
!
"""
        self.spawn_conf(conf)

    def start_rr(self):
        p = self.peer_addr(6)
        conf = f"""hostname frr-rr
log file {self.dir}/frr.log debugging
route-map RR permit 10
 set local-preference {RR_LOCAL_PREF['frr']}
 set community {ASN['frr']}:6 additive
!
router bgp {DUT_AS}
 bgp router-id {self.rid}
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 neighbor {p} remote-as {DUT_AS}
 neighbor {p} update-source {self.my_addr(6)}
 neighbor {p} timers 3 {HOLD}
 neighbor {p} timers connect 2
 address-family ipv4 unicast
  network {prefix_of('frr', 'r')} route-map RR
  neighbor {p} activate
 exit-address-family
!
"""
        self.spawn_conf(conf)

    def spawn_conf(self, conf):
        (self.dir / "frr.conf").write_text(conf)
        spawn(self.pname("frr"), ["/usr/lib/frr/bgpd", "-Z", "-n", "-S", "-u", "root", "-g", "root",
                      "-f", str(self.dir / "frr.conf"), "-i", str(self.dir / "bgpd.pid"),
                      "--vty_socket", str(self.dir)], self.ns)

    def c(self, *cmds):
        a = ["/usr/bin/vtysh", "--vty_socket", str(self.dir)]
        for c in cmds:
            a += ["-c", c]
        return sh(*a, ns=self.ns)[1]

    def nbr(self, k):
        j = json.loads(self.c(f"show bgp neighbors {self.peer_addr(k)} json"))
        return j.get(self.peer_addr(k), {})

    def established(self, k):
        return self.nbr(k).get("bgpState") == "Established"

    def route(self, prefix, k=None):
        fam = "ipv6" if ":" in prefix else "ipv4"
        j = json.loads(self.c(f"show bgp {fam} unicast {prefix} json"))
        paths = j.get("paths") or []
        if not paths:
            return None
        p = paths[0]
        ext = []
        for e in (p.get("extendedCommunity", {}).get("string", "")).split():
            m = re.match(r"RT:(\d+):(\d+)", e)
            ext.append(f"rt:{m.group(1)}:{m.group(2)}" if m else e)
        # An empty AS_PATH reads "Local".
        asp = [x for x in p.get("aspath", {}).get("string", "").split() if x.isdigit()]
        return norm(as_path=asp, med=p.get("metric"),
                    local_pref=p.get("locPrf"),
                    communities=p.get("community", {}).get("string", "").split(),
                    ext=ext, large=p.get("largeCommunity", {}).get("string", "").split(),
                    originator_id=p.get("originatorId"),
                    cluster_list=p.get("clusterList", {}).get("list", []))

    def logs(self):
        p = self.dir / "frr.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def got_notification(self, k, code, sub):
        return re.search(rf"received from neighbor {re.escape(self.peer_addr(k))}.* {code}/{sub}",
                         self.logs())

    def withdraw(self):
        self.c("configure terminal", f"router bgp {self.asn}", "address-family ipv4 unicast",
               f"no network {prefix_of('frr', 'w')}")
        self.c("configure terminal", f"router bgp {self.asn}", "address-family ipv6 unicast",
               f"no network {prefix_of('frr', 'w', True)}")
        return True

    def session_down(self, k):
        self.c("configure terminal", f"router bgp {self.asn}",
               f"neighbor {self.peer_addr(k)} shutdown")

    def session_up(self, k):
        self.c("configure terminal", f"router bgp {self.asn}",
               f"no neighbor {self.peer_addr(k)} shutdown")

    def refresh(self, k):
        self.c(f"clear bgp ipv4 unicast {self.peer_addr(k)} soft in")
        return True

    def gr(self, k):
        caps = self.nbr(k).get("neighborCapabilities", {})
        return caps.get("gracefulRestart") == "advertisedAndReceived"

    def version(self):
        return (sh("/usr/lib/frr/bgpd", "-v")[1].splitlines() or ["FRR"])[0]


class GoBgp(Daemon):
    name, tool = "gobgp", "gobgp"

    def start(self):
        if self.rr:
            return self.start_rr()
        lines = [f"""[global.config]
  as = {self.asn}
  router-id = "{self.rid}"
  port = 179
"""]
        for k in self.sessions():
            fam = "ipv6-unicast" if k == 1 else "ipv4-unicast"
            pw = {4: 'auth-password = "interop-md5"', 5: 'auth-password = "wrong-key"'}.get(k, "")
            # Restarted with -r, GoBGP holds its UPDATEs until every GR peer sent
            # End-of-RIB, and sessions 3 and 5 never come up: bound the wait (deferral).
            lines.append(self.neighbor(k, fam, pw, gr=f"""  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = {GR_TIME}
    deferral-time = 8
""") + """    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
""")
        self.spawn_conf(lines)

    def neighbor(self, k, fam, pw="", gr=""):
        """One [[neighbors]] block for session k (iBGP to the DUT), `gr` inserted before
        its address family."""
        return f"""[[neighbors]]
  [neighbors.config]
    neighbor-address = "{self.peer_addr(k)}"
    peer-as = {DUT_AS}
    {pw}
  [neighbors.timers.config]
    hold-time = {HOLD}
    keepalive-interval = 3
    connect-retry = 2
  [neighbors.transport.config]
    local-address = "{self.my_addr(k)}"
{gr}  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "{fam}"
"""

    def start_rr(self):
        self.spawn_conf([f"""[global.config]
  as = {DUT_AS}
  router-id = "{self.rid}"
  port = 179
""", self.neighbor(6, "ipv4-unicast")])

    def spawn_conf(self, lines):
        (self.dir / "gobgpd.toml").write_text("\n".join(lines))
        # Started again after a kill: -r flags the restart (R and Forwarding State bits).
        spawn(self.pname("gobgpd"), ["/usr/bin/gobgpd", "-f", str(self.dir / "gobgpd.toml"), "-p", "-l",
                                     "debug", "--log-plain", "--api-hosts", "127.0.0.1:50051",
                                     "--pprof-disable"] + (["-r"] if self.restarts else []), self.ns)
        self.announced = False

    def c(self, *args):
        return sh("/usr/bin/gobgp", "-u", "127.0.0.1", "-p", "50051", *args, ns=self.ns)

    def announce(self):
        if self.rr:
            self.c("global", "rib", "add", "-a", "ipv4", prefix_of("gobgp", "r"), "nexthop", "0.0.0.0",
                   "origin", "igp", "local-pref", str(RR_LOCAL_PREF["gobgp"]),
                   "community", f"{ASN['gobgp']}:6")
            return
        i, a = self.i, self.asn
        common = ["origin", "igp", "med", str(10 * i), "community", f"{a}:1",
                  "large-community", f"{a}:{i}:1", "rt", f"{a}:100"]
        for which in ("p", "w"):
            self.c("global", "rib", "add", "-a", "ipv4", prefix_of("gobgp", which),
                   "nexthop", "0.0.0.0", *common)
            self.c("global", "rib", "add", "-a", "ipv6", prefix_of("gobgp", which, True),
                   "nexthop", "::", *common)

    def established(self, k):
        if not self.announced:
            if self.c("global")[0] == 0:
                self.announce()
                self.announced = True
        rc, out, _ = self.c("neighbor", self.peer_addr(k), "-j")
        j = json.loads(out)
        st = j.get("state", {}).get("session_state")
        return st in (6, "established", "ESTABLISHED")

    def route(self, prefix, k=None):
        fam = "ipv6" if ":" in prefix else "ipv4"
        rc, out, _ = self.c("global", "rib", "-a", fam, prefix, "-j")
        j = json.loads(out) if out.strip() else {}
        paths = j.get(prefix) or []
        if not paths:
            return None
        p = next((x for x in paths if x.get("best")), paths[0])
        r = norm()
        for at in p.get("attrs", []):
            t = at.get("type")
            if t == 2:
                r["as_path"] = [n for s in at.get("as_paths", []) for n in s.get("asns", [])]
            elif t == 4:
                r["med"] = at.get("metric")
            elif t == 5:
                r["local_pref"] = at.get("value")
            elif t == 8:
                r["communities"] = sorted(f"{c >> 16}:{c & 0xFFFF}" for c in at.get("communities", []))
            elif t == 9:
                r["originator_id"] = at.get("value")
            elif t == 10:
                r["cluster_list"] = at.get("value", [])
            elif t == 16:
                r["ext"] = sorted(f"rt:{e.get('value')}" for e in at.get("value", []) if e.get("subtype") == 2)
            elif t == 32:
                r["large"] = sorted(f"{e['ASN']}:{e['LocalData1']}:{e['LocalData2']}"
                                    for e in at.get("value", []))
            elif t not in (1, 3, 14, 15):
                r["unknown"].append(t)
        return r

    def logs(self):
        p = RUN / "gobgpd.out"
        return p.read_text(errors="replace") if p.exists() else ""

    def got_notification(self, k, code, sub):
        pa = re.escape(self.peer_addr(k))
        for line in self.logs().splitlines():
            if re.search(pa, line) and re.search(r"received notification", line, re.I) and \
                    re.search(rf"[Cc]ode[\"=: ]+{code}\b.*[Ss]ubcode[\"=: ]+{sub}\b", line):
                return True
        # GoBGP 3.10 does not log a NOTIFICATION received in OpenConfirm: it drops the session
        # with reason=invalid-msg. Then the NOTIFICATION is read from the capture on the link.
        if (code, sub) == (2, 2) and re.search(rf"Key={pa} .*old=BGP_FSM_OPENCONFIRM reason=invalid-msg",
                                               self.logs()):
            self.note_5a = "GoBGP logs only reason=invalid-msg (NOTIFICATION in OpenConfirm); 2/2 read from the pcap"
            return pcap_has(self.peer_addr(k), self.my_addr(k), "Bad Peer AS")
        return False

    def withdraw(self):
        self.c("global", "rib", "del", "-a", "ipv4", prefix_of("gobgp", "w"))
        self.c("global", "rib", "del", "-a", "ipv6", prefix_of("gobgp", "w", True))
        return True

    def session_down(self, k):
        self.c("neighbor", self.peer_addr(k), "disable")

    def session_up(self, k):
        self.c("neighbor", self.peer_addr(k), "enable")

    def refresh(self, k):
        return None  # gobgp 3.10 softresetin sends no ROUTE-REFRESH (see capture-vectors README)

    def gr(self, k):
        rc, out, _ = self.c("neighbor", self.peer_addr(k), "-j")
        (self.dir / f"neighbor{k}.json").write_text(out)
        j = json.loads(out)
        caps = j.get("state", {}).get("remote_cap", [])
        return any(isinstance(c, dict) and "GracefulRestart" in json.dumps(c)
                   for c in caps)

    def version(self):
        return sh("/usr/bin/gobgpd", "--version")[1].strip() or "gobgpd"


class OpenBgpd(Daemon):
    name, tool = "openbgpd", "bgpctl"

    def start(self):
        if self.rr:
            return self.start_rr()
        i, a = self.i, self.asn
        rich = f"set {{ metric {10 * i} community {a}:1 ext-community rt {a}:100 large-community {a}:{i}:1 }}"
        nb = []
        for k in self.sessions():
            pw = {4: 'tcp md5sig password "interop-md5"', 5: 'tcp md5sig password "wrong-key"'}.get(k, "")
            fam = "announce IPv6 unicast\n  announce IPv4 none" if k == 1 else "announce IPv4 unicast"
            nb.append(f"""neighbor {self.peer_addr(k)} {{
  remote-as {DUT_AS}
  local-address {self.my_addr(k)}
  descr "s{k}"
  holdtime {HOLD}
  {fam}
  {pw}
}}""")
        conf = f"""AS {a}
router-id {self.rid}
socket "{self.dir}/bgpd.sock"
fib-update no
network {prefix_of('openbgpd', 'p')} {rich}
network {prefix_of('openbgpd', 'p', True)} {rich}
{chr(10).join(nb)}
allow from any
allow to any
"""
        self.spawn_conf(conf)
        self.added = False

    def start_rr(self):
        conf = f"""AS {DUT_AS}
router-id {self.rid}
socket "{self.dir}/bgpd.sock"
fib-update no
network {prefix_of('openbgpd', 'r')} set {{ localpref {RR_LOCAL_PREF['openbgpd']} community {ASN['openbgpd']}:6 }}
neighbor {self.peer_addr(6)} {{
  remote-as {DUT_AS}
  local-address {self.my_addr(6)}
  descr "s6"
  holdtime {HOLD}
  announce IPv4 unicast
}}
allow from any
allow to any
"""
        self.spawn_conf(conf)
        self.added = True  # nothing to add through bgpctl

    def spawn_conf(self, conf):
        (self.dir / "bgpd.conf").write_text(conf)
        os.chmod(self.dir / "bgpd.conf", 0o600)
        Path("/run/openbgpd").mkdir(parents=True, exist_ok=True)  # chroot of the privsep children
        spawn(self.pname("openbgpd"), ["/usr/sbin/bgpd", "-d", "-v", "-f", str(self.dir / "bgpd.conf")],
              self.ns)

    def c(self, *args):
        return sh("/usr/sbin/bgpctl", "-s", str(self.dir / "bgpd.sock"), *args, ns=self.ns)[1]

    def established(self, k):
        if not self.added:
            rc, _, _ = sh("/usr/sbin/bgpctl", "-s", str(self.dir / "bgpd.sock"), "show", ns=self.ns)
            if rc == 0:
                i, a = self.i, self.asn
                for pfx in (prefix_of("openbgpd", "w"), prefix_of("openbgpd", "w", True)):
                    sh("/usr/sbin/bgpctl", "-s", str(self.dir / "bgpd.sock"), "network", "add", pfx,
                       "metric", str(10 * i), "community", f"{a}:1", "ext-community", "rt", f"{a}:100",
                       "large-community", f"{a}:{i}:1", ns=self.ns)
                self.added = True
        out = self.c("show", "neighbor", self.peer_addr(k))
        return re.search(r"BGP state = Established", out)

    def route(self, prefix, k=None):
        out = self.c("-j", "show", "rib", prefix, "detail") if False else \
            sh("/usr/sbin/bgpctl", "-j", "-s", str(self.dir / "bgpd.sock"), "show", "rib", "detail",
               prefix, ns=self.ns)[1]
        j = json.loads(out) if out.strip() else {}
        rib = j.get("rib") or []
        if not rib:
            return None
        p = rib[0]
        comms, ext, large = [], [], []
        for cm in p.get("communities", []) or []:
            comms.append(cm if isinstance(cm, str) else str(cm))
        for cm in p.get("extended_communities", []) or []:
            s = cm if isinstance(cm, str) else json.dumps(cm)
            m = re.search(r"rt (\d+):(\d+)", s)
            ext.append(f"rt:{m.group(1)}:{m.group(2)}" if m else s)
        for cm in p.get("large_communities", []) or []:
            large.append(cm if isinstance(cm, str) else str(cm))
        asp = p.get("aspath", "")
        # ORIGINATOR_ID and CLUSTER_LIST come in the list of other attributes.
        attrs = {a.get("type"): a for a in p.get("attributes", []) or [] if isinstance(a, dict)}
        return norm(as_path=[x for x in str(asp).split() if x.isdigit()], med=p.get("metric", p.get("med")),
                    local_pref=p.get("localpref"), communities=comms, ext=ext, large=large,
                    originator_id=attrs.get("Originator Id", {}).get("originator"),
                    cluster_list=attrs.get("Cluster Id List", {}).get("cluster_list", []))

    def logs(self):
        p = RUN / "openbgpd.out"
        return p.read_text(errors="replace") if p.exists() else ""

    def got_notification(self, k, code, sub):
        text = {(2, 2): r"received notification: error in OPEN message, (bad peer AS|AS unacceptable)",
                (4, 0): r"received notification: HoldTimer expired"}[(code, sub)]
        return re.search(rf"{re.escape(self.peer_addr(k))}.*{text}", self.logs(), re.I)

    def withdraw(self):
        self.c("network", "delete", prefix_of("openbgpd", "w"))
        self.c("network", "delete", prefix_of("openbgpd", "w", True))
        return True

    def session_down(self, k):
        self.c("neighbor", self.peer_addr(k), "down")

    def session_up(self, k):
        self.c("neighbor", self.peer_addr(k), "up")

    def refresh(self, k):
        self.c("neighbor", self.peer_addr(k), "refresh")
        return True

    def gr(self, k):
        out = self.c("show", "neighbor", self.peer_addr(k))
        part = out.split("Neighbor capabilities:")[-1].split("Message statistics")[0] \
            if "Neighbor capabilities:" in out else ""
        return "Graceful Restart" in part

    def version(self):
        return "OpenBGPD " + (sh("dpkg-query", "-W", "-f", "${Version}", "openbgpd")[1] or "?")


class ExaBgp(Daemon):
    name, tool = "exabgp", "exabgp-api"

    def start(self):
        i, a = self.i, self.asn
        api = self.dir / "api.jsonl"
        self.cmd = self.dir / "cmd.txt"
        self.cmd.write_text("")
        rich = (f"origin igp med {10 * i} community [ {a}:1 ] extended-community [ target:{a}:100 ] "
                f"large-community [ {a}:{i}:1 ]")
        nb = []
        for k in self.sessions():
            ibgp = k == 6
            # ExaBGP 4.2 connects one peer at a time: a SYN to a peer that drops it (mismatched
            # TCP-MD5 key) stalls the other sessions, so it stays passive there and listens.
            pw = {4: "md5-password interop-md5;", 5: "md5-password wrong-key; passive true;"}.get(k, "")
            if k == 0:
                routes = f"""
    route {prefix_of('exabgp', 'p')} next-hop self {rich};
    route {prefix_of('exabgp', 'w')} next-hop self {rich};"""
            elif k == 1:
                routes = f"""
    route {prefix_of('exabgp', 'p', True)} next-hop self {rich};
    route {prefix_of('exabgp', 'w', True)} next-hop self {rich};"""
            elif ibgp:
                routes = f"""
    route {prefix_of('exabgp', 'r')} next-hop self origin igp local-preference 240 community [ {a}:6 ];"""
            else:
                routes = ""
            fam = "ipv6 unicast;" if k == 1 else "ipv4 unicast;"
            nb.append(f"""neighbor {self.peer_addr(k)} {{
  router-id {self.rid};
  local-address {self.my_addr(k)};
  local-as {DUT_AS if ibgp else a};
  peer-as {DUT_AS};
  hold-time {HOLD};
  {pw}
  capability {{ route-refresh enable; graceful-restart {GR_TIME}; asn4 enable; }}
  family {{ {fam} }}
  api {{ processes [ api ]; receive {{ parsed; update; notification; open; }} neighbor-changes; }}
  static {{ {routes}
  }}
}}""")
        conf = f"""process api {{
  run {sys.executable} {HERE / 'exabgp-api.py'} {api} {self.cmd};
  encoder json;
}}
""" + "\n".join(nb)
        (self.dir / "exabgp.conf").write_text(conf)
        env = dict(os.environ, **{"exabgp.daemon.user": "root", "exabgp.daemon.drop": "false",
                                  "exabgp.tcp.bind": " ".join(self.my_addr(k) for k in self.sessions()),
                                  "exabgp.tcp.port": "179", "exabgp.log.destination": str(self.dir / "exabgp.log"),
                                  "exabgp.log.level": "INFO", "exabgp.api.cli": "false",
                                  "exabgp.tcp.delay": "0"})
        spawn(self.pname("exabgp"), ["/usr/sbin/exabgp", str(self.dir / "exabgp.conf")], self.ns, env=env)

    def send(self, line):
        with open(self.cmd, "a") as f:
            f.write(line + "\n")

    def messages(self):
        p = self.dir / "api.jsonl"
        out = []
        if p.exists():
            for line in p.read_text(errors="replace").splitlines():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def established(self, k):
        st = None
        for m in self.messages():
            if m.get("type") == "state" and m["neighbor"]["address"]["peer"] == self.peer_addr(k):
                st = m["neighbor"].get("state")
        return st == "up"

    def route(self, prefix, k=None):
        if k is None:
            k = 1 if ":" in prefix else 0
        cur = None
        for m in self.messages():
            if m.get("type") != "update":
                continue
            nbh = m["neighbor"]
            if nbh["address"]["peer"] != self.peer_addr(k):
                continue
            upd = nbh.get("message", {}).get("update", {})
            for fam, nhs in (upd.get("announce") or {}).items():
                for nh, nlris in nhs.items():
                    for n in nlris:
                        if (n.get("nlri") if isinstance(n, dict) else n) == prefix:
                            cur = upd.get("attribute", {})
            for fam, nlris in (upd.get("withdraw") or {}).items():
                for n in nlris:
                    if (n.get("nlri") if isinstance(n, dict) else n) == prefix:
                        cur = None
        if cur is None:
            return None
        ext = []
        for e in cur.get("extended-community", []):
            s = e.get("string", "") if isinstance(e, dict) else str(e)
            m = re.match(r"target:(\d+):(\d+)", s)
            ext.append(f"rt:{m.group(1)}:{m.group(2)}" if m else s)
        unknown = [k2 for k2 in cur if k2.startswith("attribute-")]
        return norm(as_path=cur.get("as-path", []), med=cur.get("med"),
                    local_pref=cur.get("local-preference"),
                    communities=[f"{x}:{y}" for x, y in cur.get("community", [])],
                    ext=ext, large=[":".join(map(str, x)) for x in cur.get("large-community", [])],
                    originator_id=cur.get("originator-id"), cluster_list=cur.get("cluster-list", []),
                    unknown=unknown)

    def logs(self):
        p = self.dir / "exabgp.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def got_notification(self, k, code, sub):
        for m in self.messages():
            if m.get("type") == "notification" and m["neighbor"]["address"]["peer"] == self.peer_addr(k):
                n = m["neighbor"].get("message", {}).get("notification", m.get("notification", {}))
                if n.get("code") == code and n.get("subcode") == sub:
                    return True
        if re.search(rf"{re.escape(self.peer_addr(k))}.*[Nn]otification.*\({code}, ?{sub}\)", self.logs()):
            return True
        # ExaBGP 4.2 neither logs nor reports through its API a NOTIFICATION that arrives
        # before the session is up (checked at DEBUG level too): read it from the capture on
        # the link, as for GoBGP.
        if (code, sub) == (2, 2):
            self.note_5a = "ExaBGP 4.2 does not log a NOTIFICATION received before Established; 2/2 read from the pcap"
            return pcap_has(self.peer_addr(k), self.my_addr(k), "Bad Peer AS")
        return False

    def withdraw(self):
        self.send(f"neighbor {self.peer_addr(0)} withdraw route {prefix_of('exabgp', 'w')} next-hop self")
        self.send(f"neighbor {self.peer_addr(1)} withdraw route {prefix_of('exabgp', 'w', True)} next-hop self")
        return True

    def session_down(self, k):
        self.send(f"neighbor {self.peer_addr(k)} teardown 2")

    def session_up(self, k):
        pass  # ExaBGP reconnects by itself

    def refresh(self, k):
        self.send(f"neighbor {self.peer_addr(k)} announce route-refresh ipv4 unicast")
        return True

    def gr(self, k):
        for m in self.messages():
            if m.get("type") == "open" and m["neighbor"]["address"]["peer"] == self.peer_addr(k) \
                    and m["neighbor"].get("direction") == "receive":
                caps = m["neighbor"]["open"].get("capabilities", {})
                return "64" in caps or any("graceful" in json.dumps(v).lower() for v in caps.values())
        return False

    def version(self):
        return "ExaBGP " + (sh("dpkg-query", "-W", "-f", "${Version}", "exabgp")[1] or "?")


CLASSES = {"bird": Bird, "frr": Frr, "gobgp": GoBgp, "openbgpd": OpenBgpd, "exabgp": ExaBgp}


# ------------------------------------------------------------------ our bgpd
def bgpd_config(dead_md5=()):
    out = [f"""[global]
asn = {DUT_AS}
router_id = "{DUT_ID}"
cluster_id = "{CLUSTER_ID}"
control_socket = "{RUN}/bgpd.sock"
hold_time = {HOLD}

[global.fib]
install = false

[[networks]]
prefix = "{OWN4}"

[[networks]]
prefix = "{OWN6}"

[policies.none]
default = "reject"
"""]
    for d in DAEMONS:
        i = IDX[d]
        for k in sessions_for(d):
            e = [f'address = "{addr(i, k, 2)}"', f'local_address = "{addr(i, k, 1)}"',
                 f'description = "{d}-s{k}"']
            if k == 6:
                e += [f"asn = {DUT_AS}", "route_reflector_client = true"]
            else:
                e.append(f"asn = {WRONG_AS if k == 3 else ASN[d]}")
            if k == 1:
                e.append('families = ["ipv6-unicast"]')
            if k == 0:
                # 4b (peer goes down → withdrawn) needs a plain session end; 6d checks
                # that this session's routes go at once while k=1's are kept.
                e += ["graceful_restart = true", "graceful_restart_helper = false"]
            if k == 1:
                e += ["graceful_restart = true", f"stale_path_time = {GR_TIME}"]
            if k == 2:
                e.append("passive = true")
            if k in (4, 5):
                e.append('md5_password = "interop-md5"')
            if k in (2, 3, 4, 5):
                e += ['import = "none"', 'export = "none"']
            out.append("[[peers]]\n" + "\n".join(e) + "\n")
    return "\n".join(out)


def bgpd_show(*args):
    rc, out, err = sh(BGPD, "show", *args, "--json", "--socket", str(RUN / "bgpd.sock"), ns=DUT)
    return json.loads(out) if rc == 0 and out.strip() else None


def bgpd_neighbor(a):
    for n in bgpd_show("neighbors") or []:
        if n.get("address") == a:
            return n
    return None


def bgpd_state(a):
    n = bgpd_neighbor(a)
    return n.get("state") if n else None


def bgpd_paths(prefix):
    j = bgpd_show("rib", prefix, "--explain")
    if not j:
        return []
    routes = j.get("routes", []) if isinstance(j, dict) else j
    paths = []
    for r in routes:
        if r.get("prefix") == prefix:
            paths += r.get("paths", [])
    return paths


def bgpd_log():
    p = RUN / "bgpd.out"
    return p.read_text(errors="replace") if p.exists() else ""


# ------------------------------------------------------------------ scenarios
RESULTS = {}  # (daemon, sid) -> (status, detail)


def record(d, sid, status, detail=""):
    RESULTS[(d, sid)] = (status, detail)
    title = dict(SCENARIOS)[sid]
    line = f"{status.upper():4} {d:9} {sid:3} {title}"
    if detail and status != "pass":
        line += f" -- {detail}"
    print(line, flush=True)


def check_attrs(got, exp, as_path, med_expected=True):
    probs = []
    if got is None:
        return ["route absent"]
    if got["as_path"] != as_path:
        probs.append(f"AS_PATH {got['as_path']} != {as_path}")
    if med_expected and got["med"] != exp["med"]:
        probs.append(f"MED {got['med']} != {exp['med']}")
    for key in ("communities", "ext", "large"):
        miss = [c for c in exp[key] if c not in got[key]]
        if miss:
            probs.append(f"{key} missing {miss} (got {got[key]})")
    return probs


def run_daemon(dm, observers):
    d = dm.name
    i = dm.i
    obs = observers[0] if observers[0].name != d else observers[1]

    # 1a / 1b
    ok = wait_for(lambda: dm.established(0) and bgpd_state(addr(i, 0, 2)) == "Established", 40)
    record(d, "1a", "pass" if ok else "fail", "" if ok else
           f"peer({dm.tool}) established={dm.established(0)} bgpd state={bgpd_state(addr(i, 0, 2))}")
    ok = wait_for(lambda: dm.established(2) and bgpd_state(addr(i, 2, 2)) == "Established", 30)
    record(d, "1b", "pass" if ok else "fail", "" if ok else
           f"peer({dm.tool}) established={dm.established(2)} bgpd state={bgpd_state(addr(i, 2, 2))}")
    wait_for(lambda: dm.established(1), 20)

    # 2a peer -> bgpd: our RIB, and what a downstream daemon sees
    exp = expected_attrs(d)
    probs = []
    for v6_ in (False, True):
        pfx = prefix_of(d, "p", v6_)
        paths = wait_for(lambda: bgpd_paths(pfx), 20)
        if not paths:
            probs.append(f"bgpd RIB has no {pfx}")
            continue
        p = paths[0]
        if p.get("as_path") != [ASN[d]]:
            probs.append(f"bgpd {pfx} AS_PATH {p.get('as_path')}")
        if p.get("med") != exp["med"]:
            probs.append(f"bgpd {pfx} MED {p.get('med')} != {exp['med']}")
        if f"{ASN[d]}:1" not in p.get("communities", []):
            probs.append(f"bgpd {pfx} communities {p.get('communities')}")
        got = wait_for(lambda: obs.route(pfx), 15)
        # downstream (eBGP): MED is not propagated (RFC 4271 §5.1.4); ext/large kept
        pr = check_attrs(got, exp, [DUT_AS, ASN[d]], med_expected=False)
        if got and got["med"] == exp["med"]:
            pr.append(f"MED {got['med']} propagated to another AS (RFC 4271 §5.1.4)")
        probs += [f"{obs.name}({obs.tool}) {pfx}: {x}" for x in pr]
    record(d, "2a", "fail" if probs else "pass", "; ".join(probs))

    # 2b bgpd -> peer: our own networks and a transit route, read with the peer's tool
    src = observers[1] if d == observers[0].name or d == "exabgp" else observers[-1]
    src = CLASSES_BY_NAME["bird"] if d == "exabgp" else CLASSES_BY_NAME["exabgp"]
    probs = []
    for v6_ in (False, True):
        own = OWN6 if v6_ else OWN4
        got = wait_for(lambda: dm.route(own), 15)
        if got is None:
            probs.append(f"{dm.tool}: {own} absent")
        elif got["as_path"] != [DUT_AS]:
            probs.append(f"{dm.tool}: {own} AS_PATH {got['as_path']}")
        tp = prefix_of(src.name, "p", v6_)
        got = wait_for(lambda: dm.route(tp), 15)
        pr = check_attrs(got, expected_attrs(src.name), [DUT_AS, ASN[src.name]], med_expected=False)
        probs += [f"{dm.tool}: {tp} (from {src.name}): {x}" for x in pr]
    record(d, "2b", "fail" if probs else "pass", "; ".join(probs))

    # 6a 4-octet AS: the peer shows bgpd's AS 4200000000 in the AS_PATH
    got = dm.route(OWN4)
    ok = got is not None and got["as_path"] == [DUT_AS]
    record(d, "6a", "pass" if ok else "fail", "" if ok else f"{dm.tool} {OWN4}: {got}")

    # 5a wrong peer AS: bgpd expects AS 64999, the peer logs OPEN error / Bad Peer AS
    ok = wait_for(lambda: dm.got_notification(3, 2, 2), 20)
    n = bgpd_neighbor(addr(i, 3, 2)) or {}
    record(d, "5a", "pass" if ok else "fail", getattr(dm, "note_5a", "") if ok else
           f"peer log has no received 2/2; bgpd state={n.get('state')} "
           f"notifications_sent={n.get('stats', {}).get('notifications_sent')} last_error={n.get('last_error')}")

    # 7a / 7b TCP-MD5
    ok = wait_for(lambda: dm.established(4) and bgpd_state(addr(i, 4, 2)) == "Established", 25)
    record(d, "7a", "pass" if ok else "fail", "" if ok else
           f"peer established={dm.established(4)} bgpd state={bgpd_state(addr(i, 4, 2))}")
    bad = wait_for(lambda: dm.established(5) or bgpd_state(addr(i, 5, 2)) == "Established", 6)
    record(d, "7b", "fail" if bad else "pass", "session with mismatched keys established" if bad else "")

    # 6c graceful restart capability seen by the peer
    ok = wait_for(lambda: dm.gr(0), 5)
    record(d, "6c", "pass" if ok else "fail", "" if ok else f"{dm.tool} shows no GR capability from bgpd")

    # 6b route refresh from the peer
    before = bgpd_log().count("route refresh requested")
    r = dm.refresh(0)
    if r is None:
        record(d, "6b", "n/a", "GoBGP 3.10 softresetin sends no ROUTE-REFRESH")
    else:
        ok = wait_for(lambda: bgpd_log().count("route refresh requested") > before, 10)
        still = dm.route(OWN4) is not None
        record(d, "6b", "pass" if ok and still else "fail", "" if ok and still else
               f"bgpd logged refresh={bool(ok)}, {OWN4} at peer after refresh={still}")

    # 4a withdraw
    probs = []
    for v6_ in (False, True):
        w = prefix_of(d, "w", v6_)
        if not wait_for(lambda: obs.route(w), 10):
            probs.append(f"precondition: {obs.name}({obs.tool}) never saw {w}; bgpd paths={bgpd_paths(w)}")
    dm.withdraw()
    for v6_ in (False, True):
        w = prefix_of(d, "w", v6_)
        gone = wait_for(lambda: not bgpd_paths(w) and obs.route(w) is None, 20)
        if not gone:
            probs.append(f"{w}: bgpd paths={bgpd_paths(w)} {obs.name} sees {obs.route(w)}")
    record(d, "4a", "fail" if probs else "pass", "; ".join(probs))

    # 4b session goes down
    p4 = prefix_of(d, "p")
    pre = obs.route(p4) is not None
    dm.session_down(0)
    gone = wait_for(lambda: not bgpd_paths(p4) and obs.route(p4) is None, 20)
    gone = gone and pre
    record(d, "4b", "pass" if gone else "fail", "" if gone else f"precondition {obs.name} saw {p4}: {pre}; " +
           f"{p4}: bgpd state={bgpd_state(addr(i, 0, 2))} paths={bgpd_paths(p4)} {obs.name} sees {obs.route(p4)}")
    dm.session_up(0)


def hold_timer(dm, obs):
    d, i = dm.name, dm.i
    up = wait_for(lambda: dm.established(0) and obs.route(prefix_of(d, "p")) is not None, 40)
    if not up:
        record(d, "5b", "fail", "session 0 did not come back before the hold-timer test")
        return
    procs = [p for n, p in PROCS if n == {"bird": "bird", "frr": "frr", "gobgp": "gobgpd",
                                            "openbgpd": "openbgpd", "exabgp": "exabgp"}[d]]
    _, pids, _ = sh("ip", "netns", "pids", dm.ns)
    pidl = [int(x) for x in pids.split()]
    sent_before = (bgpd_neighbor(addr(i, 0, 2)) or {}).get("stats", {}).get("notifications_sent", {})
    for pid in pidl:
        os.kill(pid, signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        down = wait_for(lambda: bgpd_state(addr(i, 0, 2)) != "Established", HOLD + 10)
        took = time.monotonic() - t0
        gone = wait_for(lambda: obs.route(prefix_of(d, "p")) is None, 10)
        n = bgpd_neighbor(addr(i, 0, 2)) or {}
    finally:
        for pid in pidl:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    sent = n.get("stats", {}).get("notifications_sent", {})
    hold_sent = any(k.startswith("4/0") or "hold" in k.lower() for k in sent) and sent != sent_before
    ok = down and gone and (hold_sent or "hold" in str(n.get("last_error", "")).lower())
    record(d, "5b", "pass" if ok else "fail", "" if ok else
           f"bgpd down={bool(down)} after {took:.1f}s last_error={n.get('last_error')} "
           f"notifications_sent={sent}; {obs.name} withdrew={bool(gone)}")


def kill_daemon(dm):
    """SIGKILL every process in the daemon's namespace (no NOTIFICATION can be sent) and
    reap them."""
    _, pids, _ = sh("ip", "netns", "pids", dm.ns)
    for pid in pids.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    gone = wait_for(lambda: not sh("ip", "netns", "pids", dm.ns)[1].strip(), 10, step=0.1)
    for _, p in PROCS:
        p.poll()
    return bool(gone)


def graceful_restart(dm, obs):
    """6d: the daemon is killed and started again; bgpd helps it through (RFC 4724 §4.2)."""
    d, i = dm.name, dm.i
    peer6, peer4 = addr(i, 1, 2), addr(i, 0, 2)
    p6, p4 = prefix_of(d, "p", True), prefix_of(d, "p")

    def path(prefix, peer):
        return next((p for p in bgpd_paths(prefix) if p.get("from") == peer), None)

    def restart_phase(peer):
        gr = (bgpd_neighbor(peer) or {}).get("graceful_restart")
        return gr.get("phase") if gr else None

    up = wait_for(lambda: dm.established(1) and bgpd_state(peer6) == "Established"
                  and (path(p6, peer6) or {}).get("stale") is False and path(p4, peer4)
                  and obs.route(p6) is not None, 40)
    if not up:
        record(d, "6d", "fail", f"precondition: session 1 up with {p6} fresh at bgpd and {obs.name}: "
               f"bgpd state={bgpd_state(peer6)} path={path(p6, peer6)} {obs.name} sees {obs.route(p6)}")
        return
    probs = []
    t0 = time.monotonic()
    if not kill_daemon(dm):
        probs.append("the daemon's processes did not die")
    # Away: the IPv6 route (helper on) is kept stale and still advertised; the IPv4 one
    # (helper off on k=0) is withdrawn.
    kept = wait_for(lambda: restart_phase(peer6) == "restarting"
                    and (path(p6, peer6) or {}).get("stale") is True, 15)
    if not kept:
        probs.append(f"while away: bgpd phase={restart_phase(peer6)} path={path(p6, peer6)}")
    if obs.route(p6) is None:
        probs.append(f"while away: {obs.name}({obs.tool}) lost {p6}")
    if not wait_for(lambda: path(p4, peer4) is None, 15):
        probs.append(f"while away: {p4} from k=0 (helper off) still there: {path(p4, peer4)}")
    away = time.monotonic() - t0
    dm.restarts += 1
    dm.start()
    # Back: the session is Established again, End-of-RIB ended the restart, the route is
    # fresh, and the restarted daemon has bgpd's routes again (its own tool).
    # (dm.established() also re-adds what GoBGP and OpenBGPD hold only through their API.)
    back = wait_for(lambda: dm.established(1) and bgpd_state(peer6) == "Established"
                    and restart_phase(peer6) is None
                    and (path(p6, peer6) or {}).get("stale") is False, 60)
    took = time.monotonic() - t0
    if not back:
        probs.append(f"after the restart: bgpd state={bgpd_state(peer6)} phase={restart_phase(peer6)} "
                     f"path={path(p6, peer6)}")
    if obs.route(p6) is None:
        probs.append(f"after the restart: {obs.name}({obs.tool}) lacks {p6}")
    if not wait_for(lambda: dm.route(OWN6), 20):
        probs.append(f"after the restart: {dm.tool} lacks bgpd's {OWN6}")
    plain = re.sub(r"\x1b\[[0-9;]*m", "", bgpd_log())
    until_eor = re.search(rf"the peer is back; its stale routes stay until End-of-RIB peer={re.escape(peer6)}", plain)
    how = ("Forwarding State bit set: kept stale until its End-of-RIB" if until_eor else
           "back without the Forwarding State bit: stale route dropped, then learnt again")
    log(f"6d {d}: away {away:.1f}s, back and refreshed after {took:.1f}s ({how})")
    record(d, "6d", "fail" if probs else "pass",
           "; ".join(probs) if probs else f"{how}, fresh {took:.0f} s after the kill")


def route_reflector(clients):
    """3: every client's route reflected to every other client (RFC 4456)."""
    bird, exa = clients["bird"], clients["exabgp"]
    up = {d: bool(wait_for(lambda: c.established(6), 30)) for d, c in clients.items()}
    probs = {d: [] for d in clients}
    for d, ok in up.items():
        if not ok:
            probs[d].append(f"iBGP session 6 not up ({clients[d].tool}); bgpd state={bgpd_state(addr(IDX[d], 6, 2))}")
    for src in clients.values():
        pfx = prefix_of(src.name, "r")
        for dst in clients.values():
            if dst is src or not (up[src.name] and up[dst.name]):
                continue
            got = wait_for(lambda: dst.route(pfx, 6), 15)
            lp = RR_LOCAL_PREF[src.name]
            where = f"{dst.name}({dst.tool}) {pfx} from {src.name}"
            found = []
            if got is None:
                found.append(f"{dst.name}({dst.tool}) lacks reflected {pfx} from {src.name}; "
                             f"bgpd paths={bgpd_paths(pfx)}")
            else:
                if got["originator_id"] != src.rid:
                    found.append(f"{where}: ORIGINATOR_ID {got['originator_id']} != {src.rid}")
                if CLUSTER_ID not in [str(c) for c in got["cluster_list"]]:
                    found.append(f"{where}: CLUSTER_LIST {got['cluster_list']} lacks {CLUSTER_ID}")
                if got["local_pref"] != lp:
                    found.append(f"{where}: LOCAL_PREF {got['local_pref']} != {lp}")
                if got["as_path"] != []:
                    found.append(f"{where}: AS_PATH {got['as_path']} != []")
            # A problem shows on the receiving side, but may come from either end.
            for d in {src.name, dst.name}:
                probs[d] += found
    # loop: ExaBGP sends a route whose CLUSTER_LIST already holds our CLUSTER_ID
    loop = prefix_of("exabgp", "loop")
    exa.send(f"neighbor {addr(IDX['exabgp'], 6, 1)} announce route {loop} next-hop self "
             f"local-preference 100 originator-id 10.255.0.99 cluster-list [ {CLUSTER_ID} ]")
    leaked = wait_for(lambda: bgpd_paths(loop) or bird.route(loop, 6), 6)
    if leaked:
        probs["exabgp"].append(f"looped route {loop} accepted: bgpd={bgpd_paths(loop)} bird={bird.route(loop)}")
    for d in clients:
        record(d, "3", "fail" if probs[d] else "pass", "; ".join(dict.fromkeys(probs[d])))


def unusual(ds):
    exa, bird, frr = ds["exabgp"], ds["bird"], ds["frr"]
    nbr = addr(IDX["exabgp"], 0, 1)
    long_path = " ".join(str(65100 + n) for n in range(200))
    comms = " ".join(f"65005:{n}" for n in range(200))
    pfx_a, pfx_b = "10.5.200.0/24", "10.5.201.0/24"
    exa.send(f"neighbor {nbr} announce route {pfx_a} next-hop self origin egp med 5 "
             f"as-path [ {long_path} ] community [ {comms} ] "
             f"large-community [ 65005:1:1 65005:2:2 65005:3:3 ] extended-community [ target:65005:1 origin:65005:2 ] "
             f"atomic-aggregate aggregator ( 65005:10.255.0.15 )")
    # unknown optional transitive attribute 0xf0 (flags 0xc0) and an optional non-transitive one 0xf1
    exa.send(f"neighbor {nbr} announce route {pfx_b} next-hop self attribute [ 0xf0 0xc0 0xdeadbeef ] "
             f"attribute [ 0xf1 0x80 0x0102 ]")
    probs = []
    # ExaBGP sends the configured AS_PATH verbatim (it does not prepend its own AS), and
    # bgpd prepends its own on the eBGP session to BIRD.
    want = [str(DUT_AS)] + [str(65100 + n) for n in range(200)]

    def bird_long_path():
        # BIRD also learns the prefix over its route-reflector-client session; look at every
        # route it holds for the prefix and pick the one bgpd sent over eBGP.
        out = bird.c("show", "route", pfx_a, "all")
        for block in re.split(r"\n(?=\S)|\n\s{10,}(?=unicast)", out):
            m = re.search(r"BGP\.as_path:\s*([0-9 ]+)", block)
            if m and m.group(1).split()[:2] == want[:2]:
                return block
        return None

    got = wait_for(bird_long_path, 15)
    if got is None:
        raw = bird.c("show", "route", pfx_a, "all")
        probs.append(f"birdc: {pfx_a} (200-AS path, 200 communities) not received from bgpd over "
                     f"eBGP; birdc said: {raw[:600]!r}")
    else:
        comms = re.findall(r"\((\d+),\s*(\d+)\)", got.split("BGP.community:", 1)[-1].split("BGP.", 1)[0])
        if len(comms) != 200:
            probs.append(f"birdc: {pfx_a} {len(comms)} communities != 200")
        if got.count("BGP.large_community") != 1 or len(re.findall(r"\(65005, \d, \d\)", got)) != 3:
            probs.append(f"birdc: {pfx_a} large communities not all there")
    # the unknown transitive attribute must reach FRR with the Partial bit (flags 0xe0)
    fl = wait_for(lambda: frr_unknown_attr(frr, pfx_b), 15)
    if not fl:
        probs.append(f"vtysh: {pfx_b} did not arrive with unknown attribute 240; "
                     f"frr route={frr.route(pfx_b)}; bgpd paths={bgpd_paths(pfx_b)}")
    elif fl.get(240) is None:
        probs.append(f"{pfx_b}: attribute 240 not passed on (FRR saw {fl})")
    elif not fl[240] & 0x20:
        probs.append(f"{pfx_b}: attribute 240 passed on without the Partial bit (flags {fl[240]:#x})")
    if fl and 241 in fl:
        probs.append(f"{pfx_b}: optional non-transitive attribute 241 was passed on")
    record("exabgp", "8", "fail" if probs else "pass", "; ".join(probs))


def frr_unknown_attr(frr, pfx):
    """Flags of unknown attributes FRR logged for pfx (from 'debug bgp updates in')."""
    text = frr.logs()
    if pfx not in text or frr.route(pfx) is None:
        return None
    res = {}
    # FRR logs unknown attributes as "Unknown attribute is received (type 240, length 4)" and
    # keeps them in the transit attribute; read the raw flags from our own pcap instead.
    pc = RUN / "dut.pcap"
    if pc.exists():
        res = pcap_attr_flags(pc, frr_peer=addr(IDX["frr"], 0, 2), prefix=pfx)
    # Nothing parsed yet (the capture may lag FRR's log by a moment): keep waiting.
    return res or None


def pcap_attr_flags(pc, frr_peer, prefix):
    """Parse bgpd->FRR UPDATEs from the pcap (tcpdump in bgpi-dut) and return {type: flags}
    of attributes in the UPDATE carrying prefix."""
    rc, out, _ = sh("tcpdump", "-r", str(pc), "-nn", "-x", "-s0", f"tcp and src port 179 and dst host {frr_peer} or "
                    f"tcp and dst port 179 and dst host {frr_peer}", timeout=30)
    # reassemble payload per packet (good enough: updates fit in one segment here)
    import ipaddress
    net = ipaddress.ip_network(prefix)
    want = bytes([net.prefixlen]) + net.network_address.packed[:(net.prefixlen + 7) // 8]
    pkts, cur = [], []
    for line in out.splitlines():
        if not line.startswith("\t"):
            if cur:
                pkts.append(bytes.fromhex("".join(cur)))
            cur = []
            continue
        cur.append("".join(line.split(":", 1)[1].split()))
    if cur:
        pkts.append(bytes.fromhex("".join(cur)))
    # Several UPDATEs share a TCP stream and a message may span segments: reassemble each
    # direction by sequence number, then walk the messages from the start of the stream.
    streams = {}
    for p in pkts:
        ihl = (p[0] & 0xF) * 4
        tcp = p[ihl:]
        doff = (tcp[12] >> 4) * 4
        key = (p[12:16], p[16:20], tcp[0:2], tcp[2:4])
        seq = int.from_bytes(tcp[4:8], "big")
        payload = tcp[doff:]
        if payload:
            streams.setdefault(key, {})[seq] = payload
    for segs in streams.values():
        data, nxt = b"", None
        for seq in sorted(segs):
            if nxt is not None and seq < nxt:
                continue  # retransmission
            data += segs[seq]
            nxt = seq + len(segs[seq])
        j = 0
        while j + 19 <= len(data):
            ln = int.from_bytes(data[j + 16:j + 18], "big")
            msg = data[j:j + ln]
            j += max(ln, 19)
            if len(msg) < 23 or msg[18] != 2 or not msg.endswith(want):
                continue
            body = msg[19:]
            wl = int.from_bytes(body[:2], "big")
            al = int.from_bytes(body[2 + wl:4 + wl], "big")
            ad = body[4 + wl:4 + wl + al]
            res, x = {}, 0
            while x < len(ad):
                fl, t = ad[x], ad[x + 1]
                if fl & 0x10:
                    l2 = int.from_bytes(ad[x + 2:x + 4], "big")
                    x += 4
                else:
                    l2 = ad[x + 2]
                    x += 3
                res[t] = fl
                x += l2
            return res
    return {}


CLASSES_BY_NAME = {}


def pcap_has(src, dst, text):
    """tcpdump's own decode of the capture in bgpi-dut: a message from src to dst containing text."""
    rc, out, _ = sh("tcpdump", "-r", str(RUN / "dut.pcap"), "-nn", "-v", f"src host {src} and dst host {dst}",
                    timeout=30)
    return text in out


def write_matrix(versions, elapsed):
    lines = ["# Interoperability matrix", "",
             "Generated by `scripts/test-interop` (`interop/run.py`) from the last run's results; "
             "do not edit by hand.", "",
             f"bgpd: AS {DUT_AS} (4-octet), hold time {HOLD} s, run in network namespaces "
             "(169.254.x.x/30 and fd00::/8 ULA on one veth pair per session).", "",
             f"Run took {elapsed:.0f} s on {time.strftime('%Y-%m-%d')}.", "",
             "| daemon | version |", "| --- | --- |"]
    for d in DAEMONS:
        lines.append(f"| {d} | {versions.get(d, '?')} |")
    lines += ["", "| scenario | " + " | ".join(DAEMONS) + " |",
              "| --- | " + " | ".join("---" for _ in DAEMONS) + " |"]
    notes = []
    for sid, title in SCENARIOS:
        row = []
        for d in DAEMONS:
            st, det = RESULTS.get((d, sid), ("n/a", "not run"))
            cell = st
            if st != "pass" or det:
                notes.append(f"- **{d} {sid}** ({st}): {det}")
                cell += f" [{len(notes)}]"
            row.append(cell)
        lines.append(f"| {sid} {title} | " + " | ".join(row) + " |")
    lines += ["", "## Notes", ""] + [f"{n + 1}. {x[2:]}" for n, x in enumerate(notes)]
    lines += ["", "Scenario details: see the docstring and `run_daemon` in `interop/run.py`.", ""]
    (ROOT / "docs/INTEROP.md").write_text("\n".join(lines))


NA = {
    ("bird", "8"): "ExaBGP-only scenario", ("frr", "8"): "ExaBGP-only scenario (FRR is the receiver)",
    ("gobgp", "8"): "ExaBGP-only scenario", ("openbgpd", "8"): "ExaBGP-only scenario",
    ("openbgpd", "6d"): "OpenBGPD is a receiving speaker only: its capability lists no family "
                        "(Restart Time 0), so there is nothing to keep across its restart",
}


def main():
    only = [d for d in os.environ.get("BGPI_ONLY", "").split(",") if d]
    t0 = time.monotonic()
    if os.geteuid() != 0 or sh("ip", "netns", "add", "bgpi-probe")[0] != 0:
        print("skipped: needs root and network namespaces")
        return 0
    sh("ip", "netns", "del", "bgpi-probe")
    stale_cleanup()
    shutil.rmtree(RUN, ignore_errors=True)
    RUN.mkdir(parents=True)
    os.chmod(RUN, 0o777)
    atexit.register(teardown)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda *_: sys.exit(130))

    make_topology()
    (RUN / "bgpd.toml").write_text(bgpd_config())
    spawn("tcpdump", ["tcpdump", "-i", "any", "-s0", "-U", "-w", str(RUN / "dut.pcap"), "tcp port 179"], DUT)
    spawn("bgpd", ["env", "RUST_LOG=info", BGPD, "run", "--config", str(RUN / "bgpd.toml")], DUT)
    ds = {}
    for d in DAEMONS:
        ds[d] = CLASSES[d]()
        CLASSES_BY_NAME[d] = ds[d]
        ds[d].start()
    rr = {d: CLASSES[d](rr=True) for d in RR_SEPARATE}
    for c in rr.values():
        c.start()
    versions = {d: ds[d].version() for d in DAEMONS}
    versions_bgpd = sh(BGPD, "--version")[1].strip()
    log(f"bgpd {versions_bgpd}; " + "; ".join(f"{d}: {v}" for d, v in versions.items()))

    observers = [ds["bird"], ds["gobgp"]]
    for d in DAEMONS:
        if only and d not in only:
            continue
        log(f"--- {d}")
        try:
            run_daemon(ds[d], observers)
        except Exception as e:  # noqa: BLE001
            record(d, "1a" if (d, "1a") not in RESULTS else "2a", "fail", f"runner error: {e!r}")
    if True:  # every daemon is started even with BGPI_ONLY, and each is a client
        log("--- route reflector")
        route_reflector({d: rr.get(d, ds[d]) for d in RR_CLIENTS})
    if not only or "exabgp" in only:
        log("--- exabgp unusual messages")
        unusual(ds)
    for d in DAEMONS:
        if only and d not in only:
            continue
        log(f"--- hold timer {d}")
        obs = observers[0] if observers[0].name != d else observers[1]
        hold_timer(ds[d], obs)
    for d in DAEMONS:
        if (only and d not in only) or (d, "6d") in NA:
            continue
        log(f"--- graceful restart {d}")
        obs = observers[0] if observers[0].name != d else observers[1]
        try:
            graceful_restart(ds[d], obs)
        except Exception as e:  # noqa: BLE001
            record(d, "6d", "fail", f"runner error: {e!r}")
    for (d, sid), reason in NA.items():
        RESULTS.setdefault((d, sid), ("n/a", reason))
        if (d, sid) in NA:
            print(f"N/A  {d:9} {sid:3} {dict(SCENARIOS)[sid]} -- {reason}")
    for d in DAEMONS:
        if only and d not in only:
            continue
        for sid, _ in SCENARIOS:
            if (d, sid) not in RESULTS:
                RESULTS[(d, sid)] = ("fail", "not run (earlier step failed)")
    elapsed = time.monotonic() - t0
    if not only:
        write_matrix(versions, elapsed)
    for (d, sid), (st, det) in RESULTS.items():
        if st == "fail":
            (RUN / "failures.txt").open("a").write(f"{d} {sid}: {det}\n")
    n_pass = sum(1 for s, _ in RESULTS.values() if s == "pass")
    n_fail = sum(1 for s, _ in RESULTS.values() if s == "fail")
    n_na = sum(1 for s, _ in RESULTS.values() if s == "n/a")
    print(f"interop: {n_pass} passed, {n_fail} failed, {n_na} n/a ({elapsed:.0f} s; logs in {RUN})")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
