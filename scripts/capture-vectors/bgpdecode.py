"""Small independent BGP-4 message decoder producing the vector JSON schema.

Used only to write the expected-decode files; every result is cross-checked
against tshark's dissector by crosscheck.py.
"""
import ipaddress
import struct

AF_NAMES = {(1, 1): "ipv4-unicast", (2, 1): "ipv6-unicast"}
TYPES = {1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "route_refresh"}
SEG_TYPES = {1: "set", 2: "sequence", 3: "confed_sequence", 4: "confed_set"}
ADDPATH_MODES = {1: "receive", 2: "send", 3: "both"}


def split_messages(stream: bytes):
    """Split a reassembled TCP byte stream into BGP messages (bytes)."""
    out = []
    i = 0
    while i + 19 <= len(stream):
        if stream[i:i + 16] != b"\xff" * 16:
            raise ValueError(f"bad marker at offset {i}")
        ln = struct.unpack("!H", stream[i + 16:i + 18])[0]
        if ln < 19 or i + ln > len(stream):
            break  # truncated tail (capture stopped mid-message)
        out.append(stream[i:i + ln])
        i += ln
    return out


def ip4(b):
    return str(ipaddress.IPv4Address(b))


def ip6(b):
    return str(ipaddress.IPv6Address(b))


def prefixes(data, afi, addpath):
    """Decode a list of (path_id or None, prefix string)."""
    res = []
    i = 0
    alen = 4 if afi == 1 else 16
    while i < len(data):
        pid = None
        if addpath:
            pid = struct.unpack("!I", data[i:i + 4])[0]
            i += 4
        plen = data[i]
        i += 1
        nb = (plen + 7) // 8
        if plen > alen * 8 or i + nb > len(data):
            raise ValueError("bad prefix")
        raw = data[i:i + nb] + b"\x00" * (alen - nb)
        i += nb
        addr = ip4(raw) if afi == 1 else ip6(raw)
        res.append((pid, f"{addr}/{plen}"))
    return res


def decode_caps(opt):
    caps = []
    i = 0
    while i < len(opt):
        ptype, plen = opt[i], opt[i + 1]
        pval = opt[i + 2:i + 2 + plen]
        i += 2 + plen
        if ptype != 2:
            caps.append({"param_type": ptype, "raw": pval.hex()})
            continue
        j = 0
        while j < len(pval):
            code, clen = pval[j], pval[j + 1]
            v = pval[j + 2:j + 2 + clen]
            j += 2 + clen
            caps.append(decode_cap(code, v))
    return caps


def decode_cap(code, v):
    if code == 1 and len(v) == 4:
        afi, _res, safi = struct.unpack("!HBB", v)
        return {"code": 1, "afi": afi, "safi": safi}
    if code == 65 and len(v) == 4:
        return {"code": 65, "asn": struct.unpack("!I", v)[0]}
    if code == 64 and len(v) >= 2:
        flags_time = struct.unpack("!H", v[:2])[0]
        fams = []
        for k in range(2, len(v), 4):
            afi, safi, fl = struct.unpack("!HBB", v[k:k + 4])
            fams.append({"afi": afi, "safi": safi, "forwarding": bool(fl & 0x80)})
        return {"code": 64, "restart_time": flags_time & 0x0FFF,
                "restart_state": bool(flags_time & 0x8000), "families": fams}
    if code == 69 and len(v) % 4 == 0:
        fams = []
        for k in range(0, len(v), 4):
            afi, safi, mode = struct.unpack("!HBB", v[k:k + 4])
            fams.append({"afi": afi, "safi": safi, "mode": ADDPATH_MODES.get(mode, mode)})
        return {"code": 69, "families": fams}
    if code == 73 and len(v) >= 1:
        hl = v[0]
        host = v[1:1 + hl].decode()
        dl = v[1 + hl]
        dom = v[2 + hl:2 + hl + dl].decode()
        return {"code": 73, "hostname": host, "domain": dom}
    if len(v) == 0:
        return {"code": code}
    return {"code": code, "raw": v.hex()}


def decode_open(body):
    version, my_as, hold, bid, optlen = struct.unpack("!BHH4sB", body[:10])
    opt = body[10:10 + optlen]
    return {"version": version, "my_as": my_as, "hold_time": hold, "bgp_id": ip4(bid),
            "capabilities": decode_caps(opt)}


def decode_as_path(v, four):
    w = 4 if four else 2
    segs = []
    i = 0
    while i < len(v):
        st, cnt = v[i], v[i + 1]
        i += 2
        asns = [int.from_bytes(v[i + k * w:i + (k + 1) * w], "big") for k in range(cnt)]
        i += cnt * w
        segs.append({"type": SEG_TYPES.get(st, st), "asns": asns})
    if i != len(v):
        raise ValueError("AS_PATH length mismatch")
    return segs


def decode_update(body, four, addpath_fams):
    wl = struct.unpack("!H", body[:2])[0]
    wd = body[2:2 + wl]
    al = struct.unpack("!H", body[2 + wl:4 + wl])[0]
    ad = body[4 + wl:4 + wl + al]
    nl = body[4 + wl + al:]
    ap4 = "ipv4-unicast" in addpath_fams
    u = {}
    w = prefixes(wd, 1, ap4)
    n = prefixes(nl, 1, ap4)
    attrs = {}
    other = []
    i = 0
    while i < len(ad):
        flags, typ = ad[i], ad[i + 1]
        if flags & 0x10:
            ln = struct.unpack("!H", ad[i + 2:i + 4])[0]
            i += 4
        else:
            ln = ad[i + 2]
            i += 3
        v = ad[i:i + ln]
        i += ln
        if typ == 1:
            attrs["origin"] = v[0]
        elif typ == 2:
            attrs["as_path"] = decode_as_path(v, four)
        elif typ == 3:
            attrs["next_hop"] = ip4(v)
        elif typ == 4:
            attrs["med"] = struct.unpack("!I", v)[0]
        elif typ == 5:
            attrs["local_pref"] = struct.unpack("!I", v)[0]
        elif typ == 6:
            attrs["atomic_aggregate"] = True
        elif typ == 7:
            if len(v) == 8:
                attrs["aggregator"] = {"asn": struct.unpack("!I", v[:4])[0], "address": ip4(v[4:])}
            else:
                attrs["aggregator"] = {"asn": struct.unpack("!H", v[:2])[0], "address": ip4(v[2:])}
        elif typ == 8:
            attrs["communities"] = [list(struct.unpack("!HH", v[k:k + 4])) for k in range(0, len(v), 4)]
        elif typ == 9:
            attrs["originator_id"] = ip4(v)
        elif typ == 10:
            attrs["cluster_list"] = [ip4(v[k:k + 4]) for k in range(0, len(v), 4)]
        elif typ == 14:
            afi, safi, nhl = struct.unpack("!HBB", v[:4])
            nh = v[4:4 + nhl]
            rest = v[5 + nhl:]  # skip reserved byte
            if afi == 2:
                nhs = [ip6(nh[k:k + 16]) for k in range(0, len(nh), 16)]
            else:
                nhs = [ip4(nh[k:k + 4]) for k in range(0, len(nh), 4)]
            ap = AF_NAMES.get((afi, safi)) in addpath_fams
            pl = prefixes(rest, afi, ap)
            mr = {"afi": afi, "safi": safi, "next_hop": nhs, "nlri": [p for _, p in pl]}
            if ap:
                mr["path_ids"] = [pid for pid, _ in pl]
            attrs["mp_reach"] = mr
        elif typ == 15:
            afi, safi = struct.unpack("!HB", v[:3])
            ap = AF_NAMES.get((afi, safi)) in addpath_fams
            pl = prefixes(v[3:], afi, ap)
            mu = {"afi": afi, "safi": safi, "withdrawn": [p for _, p in pl]}
            if ap:
                mu["path_ids"] = [pid for pid, _ in pl]
            attrs["mp_unreach"] = mu
        elif typ == 16:
            attrs["extended_communities"] = [v[k:k + 8].hex() for k in range(0, len(v), 8)]
        elif typ == 17:
            attrs["as4_path"] = decode_as_path(v, True)
        elif typ == 32:
            attrs["large_communities"] = [list(struct.unpack("!III", v[k:k + 12])) for k in range(0, len(v), 12)]
        else:
            other.append({"flags": flags, "type": typ, "value": v.hex()})
    if other:
        attrs["other"] = other
    if w:
        u["withdrawn"] = [p for _, p in w]
        if ap4:
            u["withdrawn_path_ids"] = [pid for pid, _ in w]
    if n:
        u["nlri"] = [p for _, p in n]
        if ap4:
            u["path_ids"] = [pid for pid, _ in n]
    if wl == 0 and al == 0 and not nl:
        u["eor"] = "ipv4-unicast"
    elif (not w and not n and list(attrs) == ["mp_unreach"]
          and not attrs["mp_unreach"]["withdrawn"]):
        mu = attrs["mp_unreach"]
        u["eor"] = AF_NAMES.get((mu["afi"], mu["safi"]), f"{mu['afi']}-{mu['safi']}")
    u["attributes"] = attrs
    return u


def decode_notification(body):
    code, sub = body[0], body[1]
    data = body[2:]
    n = {"code": code, "subcode": sub, "data": data.hex()}
    if code == 6 and sub in (2, 4) and len(data) >= 1 and data[0] == len(data) - 1 and data[0] > 0:
        n["shutdown_message"] = data[1:].decode("utf-8")
    return n


def decode(msg, four=True, addpath_fams=()):
    typ = msg[18]
    body = msg[19:]
    d = {"type": TYPES.get(typ, typ)}
    if typ == 1:
        d["open"] = decode_open(body)
    elif typ == 2:
        d["update"] = decode_update(body, four, addpath_fams)
    elif typ == 3:
        d["notification"] = decode_notification(body)
    elif typ == 5:
        afi, sub, safi = struct.unpack("!HBB", body[:4])
        d["route_refresh"] = {"afi": afi, "safi": safi, "subtype": sub}
    return d


def session_from_opens(sender_open, receiver_open):
    """What the receiver negotiated with the sender (for decoding sender's messages)."""
    def caps(o):
        return o["open"]["capabilities"] if o else []
    s, r = caps(sender_open), caps(receiver_open)
    four = any(c.get("code") == 65 for c in s) and any(c.get("code") == 65 for c in r)
    def ap(cs, want):
        res = set()
        for c in cs:
            if c.get("code") == 69:
                for f in c["families"]:
                    if f["mode"] in want:
                        res.add(AF_NAMES.get((f["afi"], f["safi"]), f"{f['afi']}-{f['safi']}"))
        return res
    fams = sorted(ap(s, ("send", "both")) & ap(r, ("receive", "both")))
    return {"four_octet_as": four, "add_path_receive": fams}
