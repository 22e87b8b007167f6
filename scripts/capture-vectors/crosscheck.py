#!/usr/bin/env python3
"""Cross-check every vector's expected JSON against tshark's BGP dissector.

Usage: crosscheck.py VECTOR_DIR

For each <daemon>/<name>.hex the message is wrapped in a synthetic TCP/IPv4
segment with text2pcap (written to a temporary file; nothing is sent on any
network), dissected by `tshark -T json -x` with AS number length auto-detection,
and the dissector's values are rebuilt into the vector schema and compared with
<name>.json.  Attributes tshark 4.0 cannot decode (e.g. OTC type 35, and type 99
which it takes for the pre-standard BGP-LS code point) are compared by type,
flags and length only.  Exit status 1 on any mismatch.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

WELLKNOWN = {0xFFFFFF01: (65535, 65281), 0xFFFFFF02: (65535, 65282), 0xFFFFFF03: (65535, 65283),
             0xFFFFFF04: (65535, 65284), 0xFFFF0000: (65535, 0)}
SEG = {"1": "set", "2": "sequence", "3": "confed_sequence", "4": "confed_set"}
ATTR_CODES = {"origin": 1, "as_path": 2, "next_hop": 3, "med": 4, "local_pref": 5, "atomic_aggregate": 6,
              "aggregator": 7, "communities": 8, "originator_id": 9, "cluster_list": 10, "mp_reach": 14,
              "mp_unreach": 15, "extended_communities": 16, "as4_path": 17, "large_communities": 32}


def dissect(hexstr, tmp):
    b = bytes.fromhex(hexstr)
    with open(f"{tmp}/m.txt", "w") as fh:
        for i in range(0, len(b), 16):
            fh.write("%06x " % i + " ".join("%02x" % x for x in b[i:i + 16]) + "\n")
    subprocess.run(["text2pcap", "-q", "-T", "40000,179", f"{tmp}/m.txt", f"{tmp}/m.pcap"], check=True,
                   capture_output=True)
    out = subprocess.run(["tshark", "-r", f"{tmp}/m.pcap", "-T", "json", "-x"],
                         capture_output=True, text=True, check=True).stdout
    pkts = json.loads(out, object_pairs_hook=lambda p: p)
    layers = dict(dict(pkts[0])["_source"])["layers"]
    bgps = [v for k, v in layers if k == "bgp"]
    assert len(bgps) == 1, "tshark did not see exactly one BGP message"
    flat = []

    def walk(pairs):
        for k, v in pairs:
            if isinstance(v, list) and v and isinstance(v[0], (list, tuple)) and len(v[0]) == 2 \
                    and isinstance(v[0][0], str):
                flat.append((k, None))
                walk(v)
            else:
                flat.append((k, v))
    walk(bgps[0])
    return flat


def get(flat, key):
    return [v for k, v in flat if k == key]


def one(flat, key, conv=str):
    vals = get(flat, key)
    return conv(vals[0]) if vals else None


def prefixes(flat, pkey):
    """(path_id, prefix/len) from runs of nlri_path_id, prefix_length, <pkey>."""
    res, pid, plen = [], None, None
    for k, v in flat:
        if k == "bgp.nlri_path_id":
            pid = int(v)
        elif k == "bgp.prefix_length":
            plen = int(v)
        elif k == pkey:
            res.append((pid, f"{v}/{plen}"))
            pid = plen = None
    return res


def segments(fields):
    segs = []
    for k, v in fields:
        if k == "bgp.update.path_attribute.as_path_segment.type":
            segs.append({"type": SEG[v], "asns": []})
        elif k in ("bgp.update.path_attribute.as_path_segment.as2",
                   "bgp.update.path_attribute.as_path_segment.as4"):
            segs[-1]["asns"].append(int(v))
    return segs


def rebuild_update(flat):
    u = {}
    # split flat into: before attributes (withdrawn), per-attribute, after (nlri)
    attrs_f, cur, flags, pre, post, section = [], None, None, [], [], "pre"
    for k, v in flat:
        if k == "bgp.update.path_attribute.flags":
            flags = int(v, 16)
            continue
        if k == "bgp.update.path_attribute.type_code":
            cur = {"type": int(v), "flags": flags, "fields": []}
            attrs_f.append(cur)
            section = "attr"
            continue
        if k == "bgp.update.nlri":
            section = "post"
        if section == "pre":
            pre.append((k, v))
        elif section == "attr":
            cur["fields"].append((k, v))
        else:
            post.append((k, v))
    w = prefixes(pre, "bgp.withdrawn_prefix")
    n = prefixes(post, "bgp.nlri_prefix")
    if w:
        u["withdrawn"] = [p for _, p in w]
        if w[0][0] is not None:
            u["withdrawn_path_ids"] = [i for i, _ in w]
    if n:
        u["nlri"] = [p for _, p in n]
        if n[0][0] is not None:
            u["path_ids"] = [i for i, _ in n]
    at = {}
    other = []
    for a in attrs_f:
        f, t = a["fields"], a["type"]
        if t == 1:
            at["origin"] = one(f, "bgp.update.path_attribute.origin", int)
        elif t == 2:
            at["as_path"] = segments(f)
        elif t == 17:
            at["as4_path"] = segments(f)
        elif t == 3:
            at["next_hop"] = one(f, "bgp.update.path_attribute.next_hop")
        elif t == 4:
            at["med"] = one(f, "bgp.update.path_attribute.multi_exit_disc", int)
        elif t == 5:
            at["local_pref"] = one(f, "bgp.update.path_attribute.local_pref", int)
        elif t == 6:
            at["atomic_aggregate"] = True
        elif t == 7:
            at["aggregator"] = {"asn": one(f, "bgp.update.path_attribute.aggregator_as", int),
                                "address": one(f, "bgp.update.path_attribute.aggregator_origin")}
        elif t == 8:
            cs, asn = [], None
            for k, v in f:
                if k == "bgp.update.path_attribute.community_as":
                    asn = int(v)
                elif k == "bgp.update.path_attribute.community_value":
                    cs.append([asn, int(v)])
                elif k == "bgp.update.path_attribute.community_wellknown":
                    cs.append(list(WELLKNOWN[int(v, 16)]))
            at["communities"] = cs
        elif t == 9:
            at["originator_id"] = one(f, "bgp.update.path_attribute.originator_id")
        elif t == 10:
            at["cluster_list"] = get(f, "bgp.path_attribute.cluster_id")
        elif t == 16:
            at["extended_communities"] = [v[0] for v in get(f, "bgp.ext_community_raw")]
        elif t == 32:
            ga, l1, l2 = (get(f, "bgp.large_communities." + x) for x in ("ga", "ldp1", "ldp2"))
            at["large_communities"] = [[int(x), int(y), int(z)] for x, y, z in zip(ga, l1, l2)]
        elif t == 14:
            nh = (get(f, "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6")
                  + get(f, "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local")
                  + get(f, "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4"))
            afi = one(f, "bgp.update.path_attribute.mp_reach_nlri.afi", int)
            pl = prefixes(f, "bgp.mp_reach_nlri_ipv6_prefix" if afi == 2 else "bgp.mp_reach_nlri_ipv4_prefix")
            mr = {"afi": afi, "safi": one(f, "bgp.update.path_attribute.mp_reach_nlri.safi", int),
                  "next_hop": nh, "nlri": [p for _, p in pl]}
            if pl and pl[0][0] is not None:
                mr["path_ids"] = [i for i, _ in pl]
            at["mp_reach"] = mr
        elif t == 15:
            afi = one(f, "bgp.update.path_attribute.mp_unreach_nlri.afi", int)
            pl = prefixes(f, "bgp.mp_unreach_nlri_ipv6_prefix" if afi == 2 else "bgp.mp_unreach_nlri_ipv4_prefix")
            mu = {"afi": afi, "safi": one(f, "bgp.update.path_attribute.mp_unreach_nlri.safi", int),
                  "withdrawn": [p for _, p in pl]}
            if pl and pl[0][0] is not None:
                mu["path_ids"] = [i for i, _ in pl]
            at["mp_unreach"] = mu
        else:
            other.append({"flags": a["flags"], "type": t,
                          "length": one(f, "bgp.update.path_attribute.length", int)})
    if other:
        at["other"] = other
    u["attributes"] = at
    return u, [a["type"] for a in attrs_f]


def rebuild_open(flat):
    o = {"version": one(flat, "bgp.open.version", int), "my_as": one(flat, "bgp.open.myas", int),
         "hold_time": one(flat, "bgp.open.holdtime", int), "bgp_id": one(flat, "bgp.open.identifier")}
    caps, cur = [], None
    for k, v in flat:
        if k == "bgp.cap.type":
            cur = {"code": int(v)}
            caps.append(cur)
        elif cur is None:
            continue
        elif k == "bgp.cap.mp.afi":
            cur["afi"] = int(v)
        elif k == "bgp.cap.mp.safi":
            cur["safi"] = int(v)
        elif k == "bgp.cap.4as":
            cur["asn"] = int(v)
        elif k == "bgp.cap.gr.timers.restart_time":
            cur["restart_time"] = int(v)
        elif k == "bgp.cap.gr.timers.restart_flag":
            cur["restart_state"] = v == "1"
            cur["families"] = []
        elif k == "bgp.cap.gr.afi":
            cur["families"].append({"afi": int(v)})
        elif k == "bgp.cap.gr.safi":
            cur["families"][-1]["safi"] = int(v)
        elif k == "bgp.cap.gr.flag.pfs":
            cur["families"][-1]["forwarding"] = v == "1"
        elif k == "bgp.cap.ap.afi":
            cur.setdefault("families", []).append({"afi": int(v)})
        elif k == "bgp.cap.ap.safi":
            cur["families"][-1]["safi"] = int(v)
        elif k == "bgp.cap.ap.sendreceive":
            cur["families"][-1]["mode"] = {"1": "receive", "2": "send", "3": "both"}[v]
        elif k == "bgp.cap.orf.fqdn.hostname":
            cur["hostname"] = v
        elif k == "bgp.cap.orf.fqdn.domain_name":
            cur["domain"] = v
        elif k in ("bgp.cap.enh.afi", "bgp.cap.enh.safi", "bgp.cap.enh.nhafi"):
            cur["raw"] = cur.get("raw", "") + "%04x" % int(v)  # RFC 8950 tuple: AFI(2) SAFI(2) NH AFI(2)
        elif k == "bgp.cap.unknown":
            cur["raw"] = v.replace(":", "")
    o["capabilities"] = caps
    return o


def rebuild_notification(flat):
    n = {"code": one(flat, "bgp.notify.major_error", int)}
    for k, v in flat:
        if k.startswith("bgp.notify.minor_error") and not k.endswith("_raw"):
            n["subcode"] = int(v)
    msg = one(flat, "bgp.notify.communication")
    data = one(flat, "bgp.notify.minor_data")
    if msg is not None:
        n["shutdown_message"] = msg
    if data is not None:
        n["data"] = data.replace(":", "")
    return n


def compare(exp, got, path, errs):
    if isinstance(exp, dict) and isinstance(got, dict):
        for k in exp.keys() | got.keys():
            if k not in got:
                errs.append(f"{path}.{k}: expected {exp[k]!r}, tshark has nothing")
            elif k not in exp:
                errs.append(f"{path}.{k}: tshark has {got[k]!r}, not in expected")
            else:
                compare(exp[k], got[k], f"{path}.{k}", errs)
    elif isinstance(exp, list) and isinstance(got, list) and len(exp) == len(got):
        for i, (a, b) in enumerate(zip(exp, got)):
            compare(a, b, f"{path}[{i}]", errs)
    elif exp != got:
        errs.append(f"{path}: expected {exp!r}, tshark {got!r}")


def check(hexfile, tmp):
    exp = json.load(open(hexfile[:-4] + ".json"))
    hexstr = open(hexfile).read().strip()
    assert hexstr == hexstr.lower() and len(hexstr) // 2 == int(hexstr[32:36], 16), "hex/length"
    flat = dissect(hexstr, tmp)
    errs, notes = [], []
    t = {"1": "open", "2": "update", "3": "notification", "4": "keepalive", "5": "route_refresh"}[one(flat, "bgp.type")]
    if t != exp["type"]:
        errs.append(f"type: expected {exp['type']}, tshark {t}")
    if int(one(flat, "bgp.length")) != len(hexstr) // 2:
        errs.append("length mismatch")
    if t == "open":
        compare(exp["open"], rebuild_open(flat), "open", errs)
    elif t == "update":
        got, order = rebuild_update(flat)
        e = json.loads(json.dumps(exp["update"]))
        e.pop("eor", None)
        # attribute order of the expected decode follows the wire order (except 'other')
        keys = [ATTR_CODES[k] for k in e["attributes"] if k != "other"]
        if keys != [c for c in order if c in ATTR_CODES.values()]:
            errs.append(f"attribute order: expected {keys}, tshark {order}")
        for o in e["attributes"].get("other", []):
            o["length"] = len(o.pop("value")) // 2
            notes.append(f"attr {o['type']} not decoded by tshark: checked type/flags/length only")
        compare(e, got, "update", errs)
        eor = exp["update"].get("eor")
        if eor == "ipv4-unicast" and len(hexstr) // 2 != 23:
            errs.append("eor ipv4 but not a 23-byte UPDATE")
    elif t == "notification":
        e = dict(exp["notification"])
        if "shutdown_message" in e:
            e.pop("data")  # tshark shows the RFC 9003 text instead of the raw data
        compare(e, rebuild_notification(flat), "notification", errs)
    elif t == "route_refresh":
        got = {k: one(flat, "bgp.route_refresh." + k, int) for k in ("afi", "safi", "subtype")}
        compare(exp["route_refresh"], got, "route_refresh", errs)
    return errs, notes


def main(vdir):
    bad = 0
    files = sorted(glob.glob(f"{vdir}/*/*.hex"))
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            name = os.path.relpath(f, vdir)
            errs, notes = check(f, tmp)
            status = "OK " if not errs else "BAD"
            print(f"{status} {name}" + "".join(f"\n      note: {n}" for n in sorted(set(notes))))
            for e in errs:
                print(f"      {e}")
            bad += bool(errs)
    print(f"{len(files) - bad}/{len(files)} vectors agree with tshark")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main(sys.argv[1])
