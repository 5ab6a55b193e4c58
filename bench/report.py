#!/usr/bin/env python3
"""Prints the table of one bench/run.sh run from its results TSV.

Columns of the TSV: name, test, requests, req/s, CPU µs per request, p50, p90, p99 (µs), noise %,
extra, JIT % (gateway only), CPU µs per request without the JIT threads (gateway only).
"""
import re
import sys

NAMES = ["direct", "gateway", "haproxy", "nginx"]
TESTS = [("h1", "h1 keep-alive 1 KiB"), ("h2", "h2 streams 1 KiB"),
         ("handshake", "new TLS conn per req"), ("bulk", "bulk 10 MiB")]


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def ratio(a, b):
    a, b = num(a), num(b)
    return "{:.2f}".format(a / b) if a is not None and b else "-"


def mbps(row):
    m = re.search(r"([0-9.]+) MB/s", row[9])
    return m.group(1) if m else None


def main(path, header):
    rows = {}
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            cols += [""] * (12 - len(cols))
            rows[(cols[0], cols[1])] = cols
    names = [n for n in NAMES if any(k[0] == n for k in rows)]
    out = [header, ""]
    fmt = "{:<22} {:<8} {:>7} {:>10} {:>8} {:>8} {:>8} {:>5}  {}"
    out.append(fmt.format("test", "server", "req/s", "CPU µs/req", "p50 µs", "p90 µs", "p99 µs",
                          "noise", "notes"))
    out.append("-" * 104)
    for test, label in TESTS:
        for n in names:
            r = rows.get((n, test))
            if not r:
                continue
            notes = r[9]
            if n == "direct" and test == "handshake":
                notes = "plain TCP, no TLS"
            if r[10]:
                notes = (notes + "; JIT {}%, {} µs/req without it".format(r[10], r[11])).lstrip("; ")
            out.append(fmt.format(label, n, r[3], r[4], r[5], r[6], r[7], r[8] + "%", notes))
        out.append("")
    out.append("memory per idle TLS connection (fresh server, after one request on each connection)")
    for n in names:
        r = rows.get((n, "idle"))
        if r:
            out.append("  {:<8} {:>7} bytes/conn over {} connections ({})".format(
                n, r[4], r[2], r[9]))
    out.append("")
    if "gateway" in names:
        out.append("ratios gateway / peer: CPU and p99 above 1 mean the gateway costs more or is"
                   " slower; req/s and MB/s above 1 mean it is faster")
        fmt2 = "{:<22} {:<8} {:>10} {:>14} {:>7} {:>7} {:>7}"
        out.append(fmt2.format("test", "peer", "CPU µs/req", "CPU w/o JIT", "req/s", "p99",
                               "MB/s"))
        for test, label in TESTS:
            g = rows.get(("gateway", test))
            if not g:
                continue
            for peer in ["haproxy", "nginx"]:
                p = rows.get((peer, test))
                if not p:
                    continue
                out.append(fmt2.format(label, peer, ratio(g[4], p[4]),
                                       ratio(g[11], p[4]) if g[11] else "-",
                                       ratio(g[3], p[3]), ratio(g[7], p[7]),
                                       ratio(mbps(g), mbps(p)) if test == "bulk" else "-"))
        g = rows.get(("gateway", "idle"))
        for peer in ["haproxy", "nginx"]:
            p = rows.get((peer, "idle"))
            if g and p:
                out.append(fmt2.format("idle memory per conn", peer, ratio(g[4], p[4]), "", "",
                                       "", ""))
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
