#!/usr/bin/env python3
"""ExaBGP API helper: appends every JSON message ExaBGP sends us to LOG, and forwards each
line appended to CMD (commands written by the interop runner) to ExaBGP on stdout."""
import os
import sys
import threading
import time

log_path, cmd_path = sys.argv[1], sys.argv[2]


def reader():
    with open(log_path, "a", buffering=1) as log:
        for line in sys.stdin:
            log.write(line)


def writer():
    pos = 0
    while True:
        try:
            with open(cmd_path) as f:
                f.seek(pos)
                data = f.read()
                pos = f.tell()
        except FileNotFoundError:
            data = ""
        for line in data.splitlines():
            if line.strip():
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
        time.sleep(0.2)


threading.Thread(target=reader, daemon=True).start()
try:
    writer()
except (BrokenPipeError, KeyboardInterrupt):
    os._exit(0)
