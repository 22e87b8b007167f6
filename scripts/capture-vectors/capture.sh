#!/usr/bin/env bash
# Capture real BGP messages exchanged between BIRD 2, GoBGP, ExaBGP and FRR.
#
# Network rule: every packet stays inside network namespaces created here
# (cv-a .. cv-d, link-local 169.254.179.0/22 and ULA fd00:179::/32 addresses on
# veth pairs) or on their loopback.  Nothing is sent anywhere else.
#
# Topology (BIRD is the hub, the capture runs on its three veths):
#   cv-a  BIRD   169.254.179.1  <-> cv-b GoBGP  169.254.179.2                  (ab-a / ab-b)
#   cv-a  BIRD   169.254.179.5  <-> cv-c ExaBGP 169.254.179.6   iBGP           (ac-a / ac-c)
#   cv-a  BIRD   169.254.180.1  <-> cv-c ExaBGP 169.254.180.2   2-octet AS     (ac-a / ac-c)
#   cv-a  BIRD   169.254.179.9  <-> cv-d FRR    169.254.179.10  IPv4 unicast   (ad-a / ad-d)
#   cv-a  BIRD   fd00:179:3::1  <-> cv-d FRR    fd00:179:3::2   IPv6 unicast   (ad-a / ad-d)
#
# Usage: capture.sh [RUN_DIR]     (default /tmp/cv-run)
# Output: RUN_DIR/capture.pcapng plus daemon logs.  Then run extract.py.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RUN=${1:-/tmp/cv-run}
NS=(cv-a cv-b cv-c cv-d)
PIDS=()

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

cleanup() {
  set +e
  log "cleanup"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  # daemons that fork themselves write pid files
  for f in "$RUN"/bird.pid "$RUN"/bgpd.pid; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for f in "$RUN"/bird.pid "$RUN"/bgpd.pid; do
    [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
}
trap cleanup EXIT INT TERM

inns() { local n=$1; shift; ip netns exec "$n" "$@"; }
birdc() { inns cv-a /usr/sbin/birdc -s "$RUN/bird.ctl" "$@"; }
gobgp() { inns cv-b /usr/bin/gobgp -u 127.0.0.1 -p 50051 "$@"; }
vtysh() { inns cv-d /usr/bin/vtysh --vty_socket "$RUN/frr" "$@"; }
exacmd() { echo "$*" >>"$RUN/exa.cmd"; }

rm -rf "$RUN"; mkdir -p "$RUN/frr"; chmod 777 "$RUN" "$RUN/frr"
: >"$RUN/exa.cmd"

# ---------------------------------------------------------------- namespaces
for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
for n in "${NS[@]}"; do
  ip netns add "$n"
  inns "$n" ip link set lo up
  inns "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
mkveth() { # nsA ifA nsB ifB
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  inns "$1" ip link set "$2" up
  inns "$3" ip link set "$4" up
}
mkveth cv-a ab-a cv-b ab-b
mkveth cv-a ac-a cv-c ac-c
mkveth cv-a ad-a cv-d ad-d
inns cv-a ip addr add 169.254.179.1/30 dev ab-a
inns cv-b ip addr add 169.254.179.2/30 dev ab-b
inns cv-a ip addr add fd00:179:1::1/64 dev ab-a nodad
inns cv-b ip addr add fd00:179:1::2/64 dev ab-b nodad
inns cv-a ip addr add 169.254.179.5/30 dev ac-a
inns cv-c ip addr add 169.254.179.6/30 dev ac-c
inns cv-a ip addr add 169.254.180.1/30 dev ac-a
inns cv-c ip addr add 169.254.180.2/30 dev ac-c
inns cv-a ip addr add fd00:179:2::1/64 dev ac-a nodad
inns cv-c ip addr add fd00:179:2::2/64 dev ac-c nodad
inns cv-a ip addr add 169.254.179.9/30 dev ad-a
inns cv-d ip addr add 169.254.179.10/30 dev ad-d
inns cv-a ip addr add fd00:179:3::1/64 dev ad-a nodad
inns cv-d ip addr add fd00:179:3::2/64 dev ad-d nodad
sleep 2   # link-local addresses

# ---------------------------------------------------------------- capture
ip netns exec cv-a dumpcap -q -i ab-a -i ac-a -i ad-a -f 'tcp port 179' -w "$RUN/capture.pcapng" \
  >"$RUN/dumpcap.log" 2>&1 &
PIDS+=($!)
sleep 2

# ---------------------------------------------------------------- daemons
sed "s|@RUN@|$RUN|g" "$HERE/configs/bird.conf" >"$RUN/bird.conf"
sed "s|@RUN@|$RUN|g" "$HERE/configs/exabgp.conf" >"$RUN/exabgp.conf"
sed "s|@RUN@|$RUN|g" "$HERE/configs/frr.conf" >"$RUN/frr.conf"
cp "$HERE/configs/gobgpd.toml" "$RUN/gobgpd.toml"

ip netns exec cv-b gobgpd -f "$RUN/gobgpd.toml" -p -l info --api-hosts 127.0.0.1:50051 --pprof-disable \
  >"$RUN/gobgpd.log" 2>&1 &
PIDS+=($!)
ip netns exec cv-d /usr/lib/frr/bgpd -Z -n -S -u root -g root -f "$RUN/frr.conf" -i "$RUN/bgpd.pid" \
  --vty_socket "$RUN/frr" -l fd00:179:3::2 -l 169.254.179.10 >"$RUN/bgpd.out" 2>&1 &
PIDS+=($!)
ip netns exec cv-c env exabgp.daemon.user=root exabgp.daemon.drop=false exabgp.tcp.bind='' \
  exabgp.log.destination="$RUN/exabgp.log" exabgp.log.level=INFO \
  exabgp.api.cli=false exabgp "$RUN/exabgp.conf" >"$RUN/exabgp.out" 2>&1 &
PIDS+=($!)
sleep 1
inns cv-a /usr/sbin/bird -c "$RUN/bird.conf" -s "$RUN/bird.ctl" -P "$RUN/bird.pid"

# ---------------------------------------------------------------- wait for sessions
log "waiting for BGP sessions"
for i in $(seq 1 90); do
  up=$(birdc show protocols | grep -c Established || true)
  [ "$up" -ge 5 ] && break
  sleep 1
done
birdc show protocols >&2
[ "$up" -ge 5 ] || { log "not all sessions came up"; exit 1; }
sleep 3

# ---------------------------------------------------------------- routes from GoBGP (ADD-PATH send)
log "GoBGP announcements"
gobgp global rib add -a ipv4 203.0.113.0/24 identifier 1 nexthop 169.254.179.2 origin igp \
  aspath 65100,4200000100 med 20 community 65002:1,65002:2 large-community 4200000002:7:8 rt 65002:100
gobgp global rib add -a ipv4 203.0.113.0/24 identifier 2 nexthop 169.254.179.2 origin incomplete med 40
gobgp global rib add -a ipv6 2001:db8:2::/48 nexthop fd00:179:1::2 origin igp community 65002:6
gobgp global rib add -a ipv6 2001:db8:2:100::/56 nexthop fd00:179:1::2 origin igp community 65002:6
sleep 3

# ---------------------------------------------------------------- withdrawals
log "withdrawals"
gobgp global rib del -a ipv4 203.0.113.0/24 identifier 2
gobgp global rib del -a ipv6 2001:db8:2:100::/56
exacmd "neighbor 169.254.179.5 withdraw route 192.0.2.128/26 next-hop 169.254.179.6"
exacmd "neighbor 169.254.179.5 withdraw route 2001:db8:c:100::/56 next-hop fd00:179:2::2"
vtysh -c 'configure terminal' -c 'router bgp 4200000002' -c 'address-family ipv4 unicast' \
  -c 'no network 203.0.113.128/25'
vtysh -c 'configure terminal' -c 'router bgp 4200000002' -c 'address-family ipv6 unicast' \
  -c 'no network 2001:db8:d:100::/56'
sleep 2
birdc disable s4
birdc disable s6
sleep 3

# ---------------------------------------------------------------- route refresh
log "route refresh"
birdc reload in gobgp1
sleep 1
birdc reload in frr4
sleep 1
birdc reload in frr6
sleep 2
# (GoBGP 3.10 'softresetin' re-filters its Adj-RIB-In and sends no ROUTE-REFRESH)
vtysh -c 'clear bgp ipv6 unicast fd00:179:3::1 soft in'
sleep 1
exacmd "neighbor 169.254.179.5 announce route-refresh ipv6 unicast"
sleep 3

# ---------------------------------------------------------------- notifications
log "shutdowns"
gobgp neighbor 169.254.179.1 shutdown --reason "gobgp maintenance"
sleep 1
birdc disable exa_ibgp '"planned maintenance window"'
sleep 1
vtysh -c 'configure terminal' -c 'router bgp 4200000002' \
  -c 'neighbor 169.254.179.9 shutdown message frr planned maintenance'
sleep 1
exacmd "neighbor 169.254.180.1 teardown 2"
sleep 3

birdc show protocols all >"$RUN/bird-protocols.txt" 2>&1 || true
log "stopping capture"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
log "done: $RUN/capture.pcapng"
