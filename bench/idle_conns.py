#!/usr/bin/env python3
"""Memory per idle TLS connection.

Opens N TLS connections to a proxy, makes one small HTTP/1.1 keep-alive request on each (so the
connection is in the state a real client leaves it in between requests), keeps them all open and
reports how much the proxy's resident memory grew. The proxy is named by one or more PIDs (nginx:
the worker processes); their VmRSS values are added up.

An optional --probe command is run before and after; it must print one number in KiB (run.sh uses
it for the gateway's live Java heap after a full GC, which RSS alone does not show when the heap
pages were already touched). Prints one JSON object on stdout.
"""
import argparse
import json
import socket
import ssl
import subprocess
import sys
import time


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def probe(cmd):
    if not cmd:
        return None
    out = subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout
    return int(out.strip().split()[-1])


def read_response(sock):
    """Reads one response with a Content-Length body; returns the status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the response body")
        body += chunk
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="bench.pep.localhost")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--path", default="/1k")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--settle", type=float, default=1.5, help="seconds to wait before measuring")
    ap.add_argument("--probe", default="")
    ap.add_argument("pids", nargs="+", type=int)
    args = ap.parse_args()

    ctx = ssl.create_default_context(cafile=args.cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\n"
               "User-Agent: pep-bench-idle\r\n\r\n").encode()

    time.sleep(args.settle)
    probe_before = probe(args.probe)
    rss_before = rss_kib(args.pids)
    conns = []
    bad = 0
    started = time.monotonic()
    try:
        for _ in range(args.n):
            raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
            tls = ctx.wrap_socket(raw, server_hostname=args.host)
            tls.sendall(request)
            if read_response(tls) != 200:
                bad += 1
            conns.append(tls)
        opened = time.monotonic() - started
        time.sleep(args.settle)
        rss_after = rss_kib(args.pids)
        probe_after = probe(args.probe)
    finally:
        for c in conns:
            try:
                c.close()
            except OSError:
                pass
    result = {
        "connections": len(conns),
        "non_200": bad,
        "open_seconds": round(opened, 2),
        "rss_kib_before": rss_before,
        "rss_kib_after": rss_after,
        "rss_bytes_per_conn": round((rss_after - rss_before) * 1024 / max(1, len(conns))),
    }
    if probe_before is not None:
        result["probe_kib_before"] = probe_before
        result["probe_kib_after"] = probe_after
        result["probe_bytes_per_conn"] = round(
            (probe_after - probe_before) * 1024 / max(1, len(conns)))
    print(json.dumps(result))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
