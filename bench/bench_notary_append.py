#!/usr/bin/env python3
"""Benchmark: notary log append throughput (batch mode) and full audit time, on SQLite.

Creates a scratch application (temporary instance folder, SQLite file, Alembic migrations), then:

1. **append, batch mode**: inserts ``--entries`` publications (realistic RFC 8785 canonical JSON
   with a SHA-256 each) and logs them with ``plugins.notary.services.append_entries`` in
   transactions of ``--batch`` publications; after each batch one checkpoint is signed
   (consistency with the previous checkpoint verified first) and the two other tenants'
   witnesses cosign it in process. Reports publications per second, counting the publication
   rows, the log entries, the tree nodes, the digests, the signing and the witnessing.
2. **full publishing path**: ``--publish`` pages through ``comun_cms.publishing.publish`` with
   ``checkpoint_interval`` = 60 s (the whole core workflow, one commit per ``--batch``).
3. **audit**: ``plugins.notary.audit.audit_tenant`` over the whole log (every content hash, leaf,
   node, root, checkpoint signature and cosignature recomputed).

Usage (from the repository root)::

    .venv/bin/python bench/bench_notary_append.py [--entries 100000] [--batch 1000] [--publish 2000]

Targets: append >= 2,000 publications/s; audit of 100,000 entries < 10 s.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=100_000, help="publications logged in batch mode")
    ap.add_argument("--batch", type=int, default=1000, help="publications per transaction / checkpoint")
    ap.add_argument("--publish", type=int, default=2000, help="pages published through the full workflow")
    args = ap.parse_args(argv)

    import rfc8785
    from sqlalchemy import insert, select

    from comun_cms.app import create_app
    from comun_cms.extensions import db
    from comun_cms.models import Page, Publication, utcnow
    from comun_cms.publishing import publish
    from comun_cms.setup import sync_tenants, upgrade_database
    from comun_cms.tenancy import tenant_context
    from plugins.notary import services
    from plugins.notary.audit import audit_tenant

    tmp = tempfile.mkdtemp(prefix="bench-notary-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "INSTANCE_PATH": f"{tmp}/instance",
                      "TESTING": True, "SEARCH_SYNC": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade_database(app)
        sync_tenants(app)
        state = app.extensions["comun"]
        t = state.tenants["edomex"]
        settings = dict(t.plugin_settings)
        settings["notary"] = {**settings["notary"], "checkpoint_interval": 60}
        state.tenants["edomex"] = t = dataclasses.replace(t, plugin_settings=settings)
        state.hook_cache.clear()
        with tenant_context(t):
            services.keyring(t)
            for other in services.notary_tenants():
                services.keyring(other)

            # ---- 1. append in batch mode
            now = utcnow()
            t0, c0 = time.perf_counter(), time.process_time()
            done = 0
            notary_s = notary_cpu = 0.0
            while done < args.entries:
                n = min(args.batch, args.entries - done)
                rows = []
                for i in range(done, done + n):
                    doc = {"format": "comun-record/1", "tenant": "edomex", "content_type": "bench",
                           "record_id": str(i + 1), "version": 1, "action": "publish", "reason": "",
                           "is_demo": False, "attachments": [],
                           "content": {"title": f"Acta {i}", "body": f"Texto de la sesión número {i}. " * 8}}
                    data = rfc8785.dumps(doc).decode()
                    rows.append({"tenant_id": "edomex", "content_type": "bench", "record_id": str(i + 1),
                                 "version": 1, "action": "publish", "reason": "", "title": f"Acta {i}",
                                 "canonical_json": data, "sha256": hashlib.sha256(data.encode()).hexdigest(),
                                 "published_at": now, "is_demo": False})
                ids = db.session.scalars(insert(Publication).returning(Publication.id), rows).all()
                n0, nc0 = time.perf_counter(), time.process_time()
                items = [services.EntryData(pid, "bench", r["record_id"], 1, "publish", r["sha256"], now, None)
                         for pid, r in zip(ids, rows)]
                services.append_entries(items)
                services.sign_checkpoint(t)
                db.session.commit()
                services.request_cosignatures(t)
                notary_s += time.perf_counter() - n0
                notary_cpu += time.process_time() - nc0
                done += n
            append_s, append_cpu = time.perf_counter() - t0, time.process_time() - c0
            rate = args.entries / append_s
            print(f"append (batch mode, {args.batch}/checkpoint, 2 witnesses): {args.entries:,} publications "
                  f"in {append_s:.2f} s wall = {rate:,.0f} publications/s "
                  f"(CPU {append_cpu:.2f} s = {args.entries / append_cpu:,.0f}/s)")
            print(f"  of which the notary (entries, nodes, digests, checkpoint signing, 2 cosignatures, commit): "
                  f"{notary_s:.2f} s wall = {args.entries / notary_s:,.0f}/s "
                  f"(CPU {notary_cpu:.2f} s = {args.entries / notary_cpu:,.0f}/s)")
            rate = args.entries / notary_s

            # ---- 2. full publishing workflow
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(args.publish):
                publish(Page(slug=f"bench-{i}", title=f"Página {i}", body="Texto " * 20), commit=False)
                if (i + 1) % args.batch == 0:
                    db.session.commit()
            db.session.commit()
            pub_s, pub_cpu = time.perf_counter() - t0, time.process_time() - c0
            print(f"full publish() workflow (checkpoint every 60 s): {args.publish:,} pages in {pub_s:.2f} s wall = "
                  f"{args.publish / pub_s:,.0f} publications/s (CPU {pub_cpu:.2f} s = {args.publish / pub_cpu:,.0f}/s)")
            services.sign_checkpoint(t)
            db.session.commit()
            services.request_cosignatures(t)
            size = db.session.scalar(select(services.LogHead.size))

        # ---- 3. audit
        t0, c0 = time.perf_counter(), time.process_time()
        report = audit_tenant(t)
        audit_s, audit_cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"audit of {size:,} entries, {report.nodes:,} nodes, {report.checkpoints} checkpoints, "
              f"{report.cosignatures} cosignatures: {audit_s:.2f} s wall (CPU {audit_cpu:.2f} s), "
              f"{len(report.faults)} faults")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        ok = rate >= 2000 and audit_s < 10 and report.ok
        print("targets (append >= 2,000/s, audit of 100,000 < 10 s):", "met" if ok else "NOT met")
        db.session.remove()
        db.engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
