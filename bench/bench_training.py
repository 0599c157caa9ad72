#!/usr/bin/env python3
"""Benchmark: a workshop's set-up and resets on the training tenant, on SQLite.

Creates a scratch application (temporary instance folder, SQLite file, Alembic migrations), then
times, with the search index built as in production (``SEARCH_SYNC`` off, reindex after resets):

1. ``comun training load``: the training tenant's scenario and its 13 exercise pages;
2. ``comun training participants N``: N participant workspaces with accounts and scenario;
3. each participant does exercise 1 and 4 (the model answers), so there is work to remove;
4. ``comun training reset``: the training tenant and every workspace back to the scenario
   (the before/after dumps of workspace 1 are compared);
5. ``reset --workspace 1``: one participant;
6. ``reset --exercise 13``: every workspace back to the scenario with the model answers of
   exercises 1–12 applied (the group starts at exercise 13).

Usage (from the repository root)::

    .venv/bin/python bench/bench_training.py [--participants 30]

Targets ("restores the scenario in seconds"): full reset of 30 workspaces < 10 s; one workspace
< 2 s; participants 30 < 60 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _timed(label: str, fn, results: list):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    results.append((label, wall, cpu))
    print(f"  {label:58} {wall:7.2f} s wall  {cpu:7.2f} s CPU", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--participants", type=int, default=30, help="participant workspaces to set up (1-30)")
    args = ap.parse_args(argv)

    from comun_cms import training
    from comun_cms.app import create_app
    from comun_cms.extensions import db
    from comun_cms.setup import initialize_plugins, sync_tenants, upgrade_database
    from comun_cms.tenancy import tenant_context

    tmp = tempfile.mkdtemp(prefix="bench-training-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "INSTANCE_PATH": f"{tmp}/instance",
                      "TESTING": True, "SEARCH_SYNC": False, "RATELIMIT_ENABLED": False})
    print(f"machine: {platform.node()} · {os.cpu_count()} CPU · Python {platform.python_version()} · "
          f"load {os.getloadavg()[0]:.2f} · {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", flush=True)
    results: list = []
    with app.app_context():
        upgrade_database(app)
        sync_tenants(app)
        initialize_plugins(app)
        tenant = training.training_tenant(app)
        n = args.participants
        _timed("load (training tenant scenario + 13 exercise pages)", lambda: training.load_scenario(app, tenant), results)
        _timed(f"participants {n} (accounts + scenario in {n} workspaces)",
               lambda: training.create_participants(app, tenant, n, dt.date.today(), workshop="bench"), results)
        ws1 = training.get_workspace(app, tenant, 1)
        with tenant_context(ws1):
            before = training.dump_tenant(ws1)

        def work():
            for ws in training.workspaces_of(app, tenant)[:n]:
                who = training.participant(ws)
                with tenant_context(ws):
                    for number in (1, 4):
                        for task in training.get_exercise(number, ws).tasks:
                            task.solve(who)
                    db.session.commit()
        _timed(f"participants' work (exercises 1 and 4 in {n} workspaces)", work, results)
        info = _timed(f"reset (training tenant + {n} workspaces, search rebuilt)", lambda: training.reset(app, tenant), results)
        with tenant_context(ws1):
            assert training.dump_tenant(ws1) == before, "workspace 1 differs from its scenario after the reset"
        print(f"    {info['rows']} rows restored in {len(info['tenants'])} tenants; workspace 1 dump identical", flush=True)
        _timed("reset --workspace 1", lambda: training.reset(app, tenant, workspace=1), results)
        _timed(f"reset --exercise 13 ({n} workspaces, model answers of 1-12)",
               lambda: training.reset(app, tenant, exercise=13), results)
        done = sum(r.done for r in training.progress(training.participant(ws1)))
        assert done == 12, f"after reset --exercise 13, {done} exercises are done in workspace 1 (expected 12)"
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
