#!/usr/bin/env python3
"""Benchmark: RFC 3161 time-stamping adds no latency to publishing (it is asynchronous).

Creates a scratch application (temporary instance folder, SQLite file, Alembic migrations) and a
real local TSA (``openssl ts -reply`` behind HTTP, plugins/notary/tests/local_tsa.py), then
publishes ``--pages`` pages one at a time through the core ``publish()`` (one commit each, a
checkpoint signed and cosigned by the two other states' witnesses after every publication) in
four configurations of the tenant:

1. no TSA;
2. a TSA answering at once;
3. a slow TSA (each answer waits ``--slow`` seconds);
4. a TSA that is down (connection refused).

The configurations take turns page by page (round robin), so a shared machine's changing load
hits them alike. It reports the median and p95 wall time of one ``publish()`` (its commit and
after-commit work included) and the median CPU time of the publishing thread (what publishing
itself costs, whatever else the machine runs), then waits for the background threads, runs
``timestamp_pending`` once (what ``comun notary timestamp`` does) and reports how many
checkpoints carry a verified token.

Usage (from the repository root)::

    .venv/bin/python bench/bench_timestamps.py [--pages 200] [--slow 1.0]

Target: the publishing thread's median CPU time with a TSA (up, slow or down) within 10 % of
the median without one.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=200, help="pages published per configuration")
    ap.add_argument("--slow", type=float, default=1.0, help="seconds the slow TSA waits per answer")
    args = ap.parse_args(argv)

    from sqlalchemy import func, select

    from comun_cms.app import create_app
    from comun_cms.extensions import db
    from comun_cms.models import Page
    from comun_cms.publishing import publish
    from comun_cms.setup import sync_tenants, upgrade_database
    from comun_cms.tenancy import tenant_context
    from plugins.notary import services, timestamps
    from plugins.notary.models import Checkpoint, Timestamp
    from plugins.notary.tests.local_tsa import LocalTSA, make_tsa
    logging.getLogger('plugins.notary').setLevel(logging.ERROR)  # the outage warnings

    tmp = tempfile.mkdtemp(prefix="bench-tsa-")
    files = make_tsa(Path(tmp) / "tsa")

    def tsa_process(*extra):  # the TSA in its own process, as a real one would be
        proc = subprocess.Popen([sys.executable, "-m", "plugins.notary.tests.local_tsa", str(files.dir), *extra],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        return proc, proc.stdout.readline().strip()
    up, up_url = tsa_process()
    slow, slow_url = tsa_process("--delay", str(args.slow))
    down = LocalTSA(files).start()
    down_url = down.url
    down.stop()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "INSTANCE_PATH": f"{tmp}/instance",
                      "TESTING": True, "SEARCH_SYNC": False, "RATELIMIT_ENABLED": False})
    configs = [("no TSA", {"tsa_url": ""}), ("TSA up", {"tsa_url": up_url}),
               (f"slow TSA ({args.slow:g} s per token)", {"tsa_url": slow_url}), ("TSA down", {"tsa_url": down_url})]
    medians = {}
    with app.app_context():
        upgrade_database(app)
        sync_tenants(app)
        state = app.extensions["comun"]
        for other in services.notary_tenants():
            with tenant_context(other):
                services.keyring(other)
        tenants = {}
        for label, values in configs:
            t = state.tenants["edomex"]
            settings = dict(t.plugin_settings)
            settings["notary"] = {**settings["notary"], "tsa_chain": str(files.chain_pem), **values}
            tenants[label] = dataclasses.replace(t, plugin_settings=settings)
        wall = {label: [] for label, _v in configs}
        cpu = {label: [] for label, _v in configs}
        n = 0
        for i in range(args.pages):  # round robin, so the machine's load drifts alike for every configuration
            for j in range(len(configs)):
                label = configs[(i + j) % len(configs)][0]
                state.tenants["edomex"] = t = tenants[label]
                state.hook_cache.clear()
                n += 1
                with tenant_context(t):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    publish(Page(slug=f"p-{n}", title=f"Página {n}", body="Texto " * 20))
                    wall[label].append(time.perf_counter() - t0)
                    cpu[label].append(time.thread_time() - c0)
        timestamps.wait_idle()
        state.tenants["edomex"] = t = tenants["TSA up"]
        timestamps.timestamp_pending(t)  # what `comun notary timestamp` does after an outage
        with tenant_context(t):
            stamped = db.session.scalar(select(func.count()).select_from(Timestamp))
            cps = db.session.scalar(select(func.count()).select_from(Checkpoint))
        for label, _v in configs:
            w, c = sorted(wall[label]), sorted(cpu[label])
            medians[label] = statistics.median(c)
            print(f"{label:28s} publish(): wall median {statistics.median(w) * 1000:6.1f} ms, p95 "
                  f"{w[int(len(w) * 0.95) - 1] * 1000:6.1f} ms; publishing thread CPU median "
                  f"{medians[label] * 1000:5.1f} ms (n={len(w)})")
        print(f"checkpoints with a verified token at the end (all configurations, after one catch-up run): "
              f"{stamped} of {cps}")
        db.session.remove()
        db.engine.dispose()
    up.terminate()
    slow.terminate()
    base = medians["no TSA"]
    worst = max(v for k, v in medians.items() if k != "no TSA")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ok = worst <= base * 1.10
    print(f"target (publishing thread CPU median with a TSA within 10 % of without: worst {worst / base - 1:+.1%}):",
          "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
