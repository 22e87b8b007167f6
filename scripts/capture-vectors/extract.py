#!/usr/bin/env python3
"""Reassemble the BGP TCP streams of a capture and list every BGP message.

Usage: extract.py RUN_DIR        (reads RUN_DIR/capture.pcapng,
                                  writes RUN_DIR/messages.jsonl and prints a summary)

Each TCP direction is reassembled from tshark's per-frame tcp.seq_raw/tcp.payload
(duplicates dropped), then split on the BGP length field, so messages split across
segments or packed several per segment are handled.
"""
import json
import subprocess
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import bgpdecode  # noqa: E402

DAEMON_BY_ADDR = {
    "169.254.179.1": "bird", "169.254.179.5": "bird", "169.254.180.1": "bird", "fd00:179:3::1": "bird", "169.254.179.9": "bird", "169.254.179.10": "frr",
    "169.254.179.2": "gobgp",
    "169.254.179.6": "exabgp", "169.254.180.2": "exabgp",
    "fd00:179:3::2": "frr",
}


def frames(pcap):
    fields = ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "tcp.srcport",
              "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.stream", "tcp.seq_raw",
              "tcp.flags.syn", "tcp.payload"]
    cmd = ["tshark", "-r", pcap, "-Y", "tcp", "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        p = line.split("\t")
        yield {"frame": int(p[0]), "time": float(p[1]), "src": p[2] or p[3], "sport": int(p[4]),
               "dst": p[5] or p[6], "dport": int(p[7]), "stream": int(p[8]),
               "seq": int(p[9]), "syn": p[10] in ("1", "True"), "payload": bytes.fromhex(p[11].replace(":", ""))}


def main(run):
    dirs = {}
    for f in frames(f"{run}/capture.pcapng"):
        key = (f["stream"], f["src"], f["sport"], f["dst"], f["dport"])
        d = dirs.setdefault(key, {"isn": None, "segs": {}, "first": f["time"]})
        if f["syn"]:
            d["isn"] = f["seq"]
        if f["payload"]:
            d["segs"].setdefault(f["seq"], (f["payload"], f["time"], f["frame"]))
    msgs = []
    for key, d in dirs.items():
        if d["isn"] is None or not d["segs"]:
            continue
        stream = b""
        times = []  # (offset, time, frame)
        nxt = d["isn"] + 1
        for seq in sorted(d["segs"]):
            data, t, fr = d["segs"][seq]
            if seq + len(data) <= nxt:
                continue  # retransmission
            if seq > nxt:
                print(f"gap in {key} at {seq}", file=sys.stderr)
                break
            data = data[nxt - seq:]
            times.append((len(stream), t, fr))
            stream += data
            nxt += len(data)
        off = 0
        for m in bgpdecode.split_messages(stream):
            t, fr = next((t, fr) for o, t, fr in reversed(times) if o <= off)
            msgs.append({"stream": key[0], "src": key[1], "sport": key[2], "dst": key[3], "dport": key[4],
                         "sender": DAEMON_BY_ADDR.get(key[1], "?"), "receiver": DAEMON_BY_ADDR.get(key[3], "?"),
                         "time": t, "frame": fr, "hex": m.hex()})
            off += len(m)
    msgs.sort(key=lambda m: (m["time"], m["frame"]))
    # session context: OPENs of both directions of the same TCP connection
    opens = {}
    for m in msgs:
        if m["hex"][36:38] == "01":
            opens[(m["stream"], m["src"])] = bgpdecode.decode(bytes.fromhex(m["hex"]))
    for m in msgs:
        so = opens.get((m["stream"], m["src"]))
        ro = opens.get((m["stream"], m["dst"]))
        m["session"] = bgpdecode.session_from_opens(so, ro)
        m["decoded"] = bgpdecode.decode(bytes.fromhex(m["hex"]), m["session"]["four_octet_as"],
                                        m["session"]["add_path_receive"])
    with open(f"{run}/messages.jsonl", "w") as fh:
        for i, m in enumerate(msgs):
            m["idx"] = i
            fh.write(json.dumps(m) + "\n")
    for m in msgs:
        d = m["decoded"]
        extra = ""
        if d["type"] == "update":
            u = d["update"]
            extra = json.dumps({k: v for k, v in u.items()}, separators=(",", ":"))[:260]
        elif d["type"] in ("notification", "route_refresh"):
            extra = json.dumps(d[d["type"]])
        elif d["type"] == "open":
            extra = " ".join(str(c["code"]) for c in d["open"]["capabilities"])
        print(f'{m["idx"]:3d} s{m["stream"]} {m["sender"]:>6}->{m["receiver"]:<6} {d["type"]:<13} '
              f'{len(m["hex"])//2:4d}B {extra}')


if __name__ == "__main__":
    main(sys.argv[1])
