#!/usr/bin/env python3
"""Pick messages out of RUN_DIR/messages.jsonl (written by extract.py) and write
bgp-wire/tests/vectors/<daemon>/<name>.{hex,json}.

Usage: make_vectors.py RUN_DIR OUT_DIR
Each vector is the first captured message matching its predicate.
"""
import json
import os
import subprocess
import sys


def pkgver(pkg):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                          capture_output=True, text=True, check=True).stdout


def upstream(pkg):
    return pkgver(pkg).split("-")[0]


SOURCE = {
    "bird": f"BIRD {upstream('bird2')} (Debian package bird2 {pkgver('bird2')})",
    "gobgp": f"GoBGP {upstream('gobgpd')} (Debian package gobgpd {pkgver('gobgpd')})",
    "exabgp": f"ExaBGP {upstream('exabgp')} (Debian package exabgp {pkgver('exabgp')})",
    "frr": f"FRRouting {upstream('frr')} (Debian package frr {pkgver('frr')})",
}

# peer addresses as seen in the capture
GOBGP, EXA_IBGP, EXA_AS2, FRR4, FRR6 = ("169.254.179.2", "169.254.179.6", "169.254.180.2",
                                        "169.254.179.10", "fd00:179:3::2")
BIRD_GOBGP, BIRD_EXA_IBGP, BIRD_EXA_AS2, BIRD_FRR4, BIRD_FRR6 = (
    "169.254.179.1", "169.254.179.5", "169.254.180.1", "169.254.179.9", "fd00:179:3::1")


def typ(t):
    return lambda m: m["decoded"]["type"] == t


def upd(pred):
    return lambda m: m["decoded"]["type"] == "update" and pred(m["decoded"]["update"])


def rr(afi, sub):
    return lambda m: (m["decoded"]["type"] == "route_refresh"
                      and m["decoded"]["route_refresh"]["afi"] == afi
                      and m["decoded"]["route_refresh"]["subtype"] == sub)


def a(u):
    return u.get("attributes", {})


# (daemon, name, src, dst, predicate, how)
VECTORS = [
    # ------------------------------------------------------------------ BIRD
    ("bird", "open_ebgp_addpath", BIRD_GOBGP, GOBGP, typ("open"),
     "BIRD eBGP session to GoBGP (local as 4200000001, IPv4+IPv6 unicast, graceful restart + long-lived GR, "
     "extended messages, advertise hostname, 'add paths on' for IPv4)"),
    ("bird", "open_role_provider", BIRD_FRR4, FRR4, typ("open"),
     "BIRD eBGP IPv4-only session to FRR with 'local role provider' (RFC 9234 role capability)"),
    ("bird", "update_ipv4_addpath", BIRD_GOBGP, GOBGP, upd(lambda u: "nlri" in u),
     "static routes exported to GoBGP through filter 'ex' (MED 50, communities, RT/RO ext communities, "
     "large community, AS path prepends 65010 4200000099) over a session with ADD-PATH for IPv4"),
    ("bird", "update_ipv4_ebgp_otc", BIRD_FRR4, FRR4, upd(lambda u: "nlri" in u),
     "same static routes exported to FRR over an eBGP session with 'local role provider'; BIRD adds OTC (type 35)"),
    ("bird", "update_ipv4_ibgp", BIRD_EXA_IBGP, EXA_IBGP, upd(lambda u: "nlri" in u),
     "same static routes exported to ExaBGP over iBGP (local as 65001): LOCAL_PREF, no own AS prepended"),
    ("bird", "update_ipv4_as4_path", BIRD_EXA_AS2, EXA_AS2, upd(lambda u: "nlri" in u),
     "same static routes exported to ExaBGP whose OPEN lacks the 4-octet AS capability: AS_PATH uses "
     "AS_TRANS 23456, full path in AS4_PATH"),
    ("bird", "update_ipv6_mp_reach_ll", BIRD_GOBGP, GOBGP, upd(lambda u: "mp_reach" in a(u)),
     "IPv6 static routes exported to directly connected GoBGP ('next hop address fd00:179:1::1'): "
     "MP_REACH_NLRI with global + link-local next hop"),
    ("bird", "update_ipv4_withdraw_addpath", BIRD_GOBGP, GOBGP, upd(lambda u: "withdrawn" in u),
     "'birdc disable s4' withdrew the IPv4 static routes; ADD-PATH session, so path ids precede the prefixes"),
    ("bird", "update_ipv6_mp_unreach", BIRD_FRR6, FRR6, upd(lambda u: a(u).get("mp_unreach", {}).get("withdrawn")),
     "'birdc disable s6' withdrew the IPv6 static routes (MP_UNREACH_NLRI)"),
    ("bird", "eor_ipv4", BIRD_GOBGP, GOBGP, upd(lambda u: u.get("eor") == "ipv4-unicast"),
     "End-of-RIB for IPv4 unicast after the initial table transfer (graceful restart negotiated)"),
    ("bird", "route_refresh_ipv4", BIRD_GOBGP, GOBGP, rr(1, 0),
     "'birdc reload in gobgp1' (peer without enhanced route refresh)"),
    ("bird", "route_refresh_borr_ipv6", BIRD_FRR6, FRR6, rr(2, 1),
     "BIRD answering FRR's ROUTE-REFRESH with enhanced route refresh (RFC 7313): Beginning-of-RIB-Refresh"),
    ("bird", "route_refresh_eorr_ipv6", BIRD_FRR6, FRR6, rr(2, 2),
     "BIRD answering FRR's ROUTE-REFRESH with enhanced route refresh (RFC 7313): End-of-RIB-Refresh"),
    ("bird", "notification_cease_shutdown", BIRD_EXA_IBGP, EXA_IBGP, typ("notification"),
     "birdc disable exa_ibgp \"planned maintenance window\" (Cease / Administrative Shutdown, RFC 9003 message)"),
    ("bird", "keepalive", BIRD_GOBGP, GOBGP, typ("keepalive"),
     "KEEPALIVE sent by BIRD right after the OPEN exchange"),
    # ------------------------------------------------------------------ GoBGP
    ("gobgp", "open", GOBGP, BIRD_GOBGP, typ("open"),
     "gobgpd.toml: AS 65002, IPv4+IPv6 unicast, graceful restart + long-lived GR, ADD-PATH send-max 4 + receive for IPv4"),
    ("gobgp", "update_ipv4_addpath", GOBGP, BIRD_GOBGP, upd(lambda u: u.get("path_ids") == [1]),
     "gobgp global rib add -a ipv4 203.0.113.0/24 identifier 1 nexthop 169.254.179.2 origin igp aspath 65100,4200000100 "
     "med 20 community 65002:1,65002:2 large-community 4200000002:7:8 rt 65002:100 (ADD-PATH session)"),
    ("gobgp", "update_ipv6_mp_reach", GOBGP, BIRD_GOBGP, upd(lambda u: "mp_reach" in a(u)),
     "gobgp global rib add -a ipv6 2001:db8:2::/48 nexthop fd00:179:1::2 origin igp community 65002:6"),
    ("gobgp", "update_ipv4_withdraw_addpath", GOBGP, BIRD_GOBGP, upd(lambda u: "withdrawn" in u),
     "gobgp global rib del -a ipv4 203.0.113.0/24 identifier 2 (withdrawal with path id)"),
    ("gobgp", "update_ipv6_mp_unreach", GOBGP, BIRD_GOBGP, upd(lambda u: a(u).get("mp_unreach", {}).get("withdrawn")),
     "gobgp global rib del -a ipv6 2001:db8:2:100::/56"),
    ("gobgp", "eor_ipv6", GOBGP, BIRD_GOBGP, upd(lambda u: u.get("eor") == "ipv6-unicast"),
     "End-of-RIB for IPv6 unicast after session establishment (empty MP_UNREACH_NLRI)"),
    ("gobgp", "notification_cease_shutdown", GOBGP, BIRD_GOBGP, typ("notification"),
     "gobgp neighbor 169.254.179.1 shutdown --reason \"gobgp maintenance\""),
    # ------------------------------------------------------------------ ExaBGP
    ("exabgp", "open_ibgp", EXA_IBGP, BIRD_EXA_IBGP, typ("open"),
     "exabgp.conf neighbor 169.254.179.5: iBGP AS 65001, IPv4+IPv6 unicast, route-refresh, graceful-restart 120, "
     "asn4, extended-message"),
    ("exabgp", "open_no_asn4", EXA_AS2, BIRD_EXA_AS2, typ("open"),
     "exabgp.conf neighbor 169.254.180.1: AS 65003 with 'asn4 disable' (no 4-octet AS capability), IPv4 only"),
    ("exabgp", "update_ipv4_ibgp_attrs", EXA_IBGP, BIRD_EXA_IBGP, upd(lambda u: u.get("nlri") == ["192.0.2.0/25"]),
     "static route 192.0.2.0/25 with local-preference, med, as-path, communities (incl. no-export), "
     "extended/large communities, originator-id, cluster-list, atomic-aggregate, aggregator"),
    ("exabgp", "update_ipv4_as_set_unknown_attr", EXA_IBGP, BIRD_EXA_IBGP,
     upd(lambda u: u.get("nlri") == ["192.0.2.128/26"]),
     "static route 192.0.2.128/26 with origin incomplete, as-path [ 65100 ( 65200 4200000200 ) ] (AS_SET) and "
     "attribute [ 0x63 0xc0 0x0102030405 ] (unknown optional transitive type 99)"),
    ("exabgp", "update_ipv4_2octet_as", EXA_AS2, BIRD_EXA_AS2, upd(lambda u: "nlri" in u),
     "static route 192.0.2.192/27 as-path [ 65003 64999 ] on the session without 4-octet AS: 2-octet AS_PATH"),
    ("exabgp", "update_ipv6_mp_reach", EXA_IBGP, BIRD_EXA_IBGP, upd(lambda u: "mp_reach" in a(u)),
     "static route 2001:db8:c::/48 next-hop fd00:179:2::2 origin egp local-preference 150 as-path [ 4200000300 ]"),
    ("exabgp", "update_ipv6_mp_unreach_with_attrs", EXA_IBGP, BIRD_EXA_IBGP,
     upd(lambda u: a(u).get("mp_unreach", {}).get("withdrawn")),
     "API 'withdraw route 2001:db8:c:100::/56 next-hop fd00:179:2::2': ExaBGP also sends ORIGIN, empty AS_PATH, LOCAL_PREF"),
    ("exabgp", "update_ipv4_withdraw", EXA_IBGP, BIRD_EXA_IBGP, upd(lambda u: "withdrawn" in u),
     "API 'withdraw route 192.0.2.128/26 next-hop 169.254.179.6'"),
    ("exabgp", "eor_ipv6", EXA_IBGP, BIRD_EXA_IBGP, upd(lambda u: u.get("eor") == "ipv6-unicast"),
     "End-of-RIB for IPv6 unicast; ExaBGP encodes MP_UNREACH_NLRI with the extended-length flag"),
    ("exabgp", "route_refresh_ipv6", EXA_IBGP, BIRD_EXA_IBGP, rr(2, 0),
     "API 'announce route-refresh ipv6 unicast'"),
    ("exabgp", "notification_cease_shutdown", EXA_AS2, BIRD_EXA_AS2, typ("notification"),
     "API 'neighbor 169.254.180.1 teardown 2' (Cease / Administrative Shutdown; ExaBGP adds its own message)"),
    ("exabgp", "notification_header_error", EXA_IBGP, BIRD_EXA_IBGP, typ("notification"),
     "ExaBGP's reply after receiving BIRD's Cease NOTIFICATION: Message Header Error / subcode 0 with text data"),
    # ------------------------------------------------------------------ FRR
    ("frr", "open_role_customer", FRR4, BIRD_FRR4, typ("open"),
     "frr.conf neighbor 169.254.179.9: local-role customer, graceful-restart, long-lived GR stale-time 3600, "
     "addpath-tx-all-paths, hostname frr-d, domainname example.org"),
    ("frr", "update_ipv4", FRR4, BIRD_FRR4, upd(lambda u: len(u.get("nlri", [])) == 2),
     "network 203.0.113.0/25 and 203.0.113.128/25 with route-map SET4 (metric 30, communities, large community, "
     "RT ext community, as-path prepend 65020 4200000020, origin egp)"),
    ("frr", "update_ipv6_mp_reach", FRR6, BIRD_FRR6, upd(lambda u: len(a(u).get("mp_reach", {}).get("nlri", [])) == 2),
     "network 2001:db8:d::/48 and 2001:db8:d:100::/56 with route-map SET6 (community, large community)"),
    ("frr", "update_ipv4_withdraw", FRR4, BIRD_FRR4, upd(lambda u: "withdrawn" in u),
     "vtysh: router bgp / address-family ipv4 unicast / no network 203.0.113.128/25"),
    ("frr", "update_ipv6_mp_unreach", FRR6, BIRD_FRR6, upd(lambda u: a(u).get("mp_unreach", {}).get("withdrawn")),
     "vtysh: router bgp / address-family ipv6 unicast / no network 2001:db8:d:100::/56"),
    ("frr", "eor_ipv4", FRR4, BIRD_FRR4, upd(lambda u: u.get("eor") == "ipv4-unicast"),
     "End-of-RIB for IPv4 unicast after the initial table transfer"),
    ("frr", "route_refresh_ipv6", FRR6, BIRD_FRR6, rr(2, 0),
     "vtysh: clear bgp ipv6 unicast fd00:179:3::1 soft in"),
    ("frr", "route_refresh_borr_ipv4", FRR4, BIRD_FRR4, rr(1, 1),
     "FRR answering 'birdc reload in frr4' with enhanced route refresh: Beginning-of-RIB-Refresh"),
    ("frr", "notification_cease_shutdown", FRR4, BIRD_FRR4, typ("notification"),
     "vtysh: neighbor 169.254.179.9 shutdown message frr planned maintenance"),
]


def main(run, out):
    msgs = [json.loads(line) for line in open(f"{run}/messages.jsonl")]
    seen = set()
    missing = []
    for daemon, name, src, dst, pred, how in VECTORS:
        m = next((m for m in msgs if m["src"] == src and m["dst"] == dst and pred(m)), None)
        if m is None:
            missing.append(f"{daemon}/{name}")
            continue
        assert m["sender"] == daemon, (name, m["sender"])
        d = m["decoded"]
        doc = {"source": SOURCE[daemon], "how": how}
        if d["type"] != "open":
            doc["session"] = m["session"]
        doc.update(d)
        os.makedirs(f"{out}/{daemon}", exist_ok=True)
        with open(f"{out}/{daemon}/{name}.hex", "w") as fh:
            fh.write(m["hex"] + "\n")
        with open(f"{out}/{daemon}/{name}.json", "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
        if m["hex"] in seen:
            print(f"note: {daemon}/{name} duplicates an earlier vector", file=sys.stderr)
        seen.add(m["hex"])
        print(f"{daemon}/{name}: message {m['idx']} ({len(m['hex']) // 2} bytes)")
    if missing:
        print("MISSING: " + ", ".join(missing), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
