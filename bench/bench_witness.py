#!/usr/bin/env python3
"""Benchmark: ``comun-witness`` add-checkpoint requests per second over a 1,000,000-entry log.

Builds a synthetic log of ``--size`` leaves (only the perfect-subtree hashes a consistency proof
needs are kept: ``CompactRange`` output, about 2 × size hashes in memory), initialises a witness
folder in a temporary directory, registers the log, and starts ``comun-witness serve`` as a
**separate process** (as it runs in production). ``--clients`` threads, each with its own HTTP
keep-alive connection, then submit checkpoints of growing sizes (one new leaf per request,
strictly serialised by the log's size, so every request is a real one: signature check, RFC 6962
consistency proof over the 1,000,000-entry tree, cosignature, SQLite transaction committed with
``synchronous=FULL``), followed by a second phase where the clients send to ``--origins``
``--origins`` - 1 other logs at once (the witness serialises per origin only).

Usage (from the repository root)::

    .venv/bin/python bench/bench_witness.py [--size 1000000] [--requests 3000] [--clients 16] [--origins 17]

Target (issue 18): >= 500 add-checkpoint requests/s with consistency proofs over 1,000,000 entries.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugins.notary import witness_server as ws  # noqa: E402
from plugins.notary.tlog import checkpoint as tcp  # noqa: E402
from plugins.notary.tlog import merkle  # noqa: E402
from plugins.notary.tlog import note as tnote  # noqa: E402
from plugins.notary.tlog import witness as twit  # noqa: E402


def build_tree(size: int, extra: int) -> tuple[dict, int]:
    """Perfect-subtree hashes of a synthetic log of ``size + extra`` leaves (leaf i = "entry i")."""
    nodes: dict = {}
    cr = merkle.CompactRange()
    for i in range(size + extra):
        for level, index, h in cr.append(merkle.leaf_hash(b"entry %d" % i)):
            nodes[(level, index)] = h
    return nodes, size + extra


def bodies(origin: str, signer, nodes: dict, start: int, count: int) -> list[bytes]:
    """Add-checkpoint bodies start -> start+1 -> ... (each with its consistency proof)."""
    get = lambda lv, ix: nodes[(lv, ix)]  # noqa: E731
    out = []
    old = start
    for size in range(start + 1, start + count + 1):
        cp = tcp.sign_checkpoint(tcp.Checkpoint(origin, size, merkle.subtree_hash(0, size, get)), [signer])
        out.append(twit.format_add_checkpoint_request(old, merkle.consistency_proof(old, size, get), cp))
        old = size
    return out


def run_phase(port: int, queues: list[list[bytes]], clients: int) -> tuple[float, int, dict]:
    """Send every body of every queue (queues are independent origins; one queue is served by
    one client at a time, in order). Returns (seconds, requests, {status: count})."""
    statuses: dict = {}
    lock = threading.Lock()
    work = [(q, 0) for q in queues]
    per_client = [work[i::clients] for i in range(clients)]

    def client(items):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for q, _ in items:
            for body in q:
                conn.request("POST", "/add-checkpoint", body=body, headers={"Content-Type": "text/plain"})
                resp = conn.getresponse()
                resp.read()
                with lock:
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
        conn.close()
    threads = [threading.Thread(target=client, args=(items,)) for items in per_client if items]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, sum(len(q) for q in queues), statuses


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="entries in the log before the run")
    ap.add_argument("--requests", type=int, default=3000, help="add-checkpoint requests per phase")
    ap.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (phase 2)")
    ap.add_argument("--origins", type=int, default=17, help="logs: one for phase 1, the others at once in phase 2")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    nodes, _ = build_tree(args.size, args.requests)
    print(f"tree of {args.size + args.requests:,} leaves built in {time.perf_counter() - t0:.1f} s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "witness"
        ws.init_folder(d, "bench.example/testigo")
        logs = []
        for i in range(args.origins):
            skey, vkey = tnote.generate_key(f"bench.example/log{i}")
            ws.add_log(d, f"bench.example/log{i}", vkey)
            logs.append((f"bench.example/log{i}", tnote.new_signer(skey)))
        # every log starts cosigned at --size (the state a long-running witness would have)
        store = ws.SqliteWitnessStore(d)
        get = lambda lv, ix: nodes[(lv, ix)]  # noqa: E731
        root = merkle.subtree_hash(0, args.size, get)
        for origin, _ in logs:
            store.save(origin, None, twit.LogState(args.size, root, b""))

        t0 = time.perf_counter()
        per_origin = args.requests // args.origins
        phase1 = bodies(logs[0][0], logs[0][1], nodes, args.size, args.requests)
        phase2 = [bodies(o, s, nodes, args.size, per_origin) for o, s in logs[1:]]
        print(f"{args.requests + per_origin * (args.origins - 1):,} request bodies signed in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)

        proc = subprocess.Popen([sys.executable, "-m", "plugins.notary.witness_server", "serve", "--dir", str(d),
                                 "--port", "0", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "LANGUAGE": "en"})
        try:
            line = proc.stdout.readline()
            port = int(re.search(r":(\d+)/", line).group(1))
            cpu0 = _cpu(proc.pid)
            secs, n, st = run_phase(port, [phase1], 1)
            cpu1 = _cpu(proc.pid)
            print(f"one log, one client (keep-alive), sizes {args.size:,} -> {args.size + args.requests:,}: "
                  f"{n / secs:,.0f} req/s wall, witness CPU {(cpu1 - cpu0) / n * 1000:.2f} ms/req; statuses {st}")
            queues = phase2
            if queues:
                secs, n, st = run_phase(port, queues, args.clients)
                cpu2 = _cpu(proc.pid)
                print(f"{len(queues)} logs, {args.clients} clients: {n / secs:,.0f} req/s wall, "
                      f"witness CPU {(cpu2 - cpu1) / n * 1000:.2f} ms/req; statuses {st}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


def _cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    raise SystemExit(main())
