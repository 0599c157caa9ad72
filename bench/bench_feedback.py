#!/usr/bin/env python3
"""Benchmark: server time of a complaint submitted through the public form, with its
acknowledgement e-mail queued.

Creates a scratch application (temporary instance folder, SQLite file or an empty PostgreSQL
database, Alembic migrations, the ``edomex`` privacy notices published as ``comun init`` does),
then POSTs ``--submissions`` complaints to ``/edomex/seccion/feedback`` through the WSGI
application (Flask's test client: no network, so the time is the application's own: form
validation, consent version lookup, folio, business-day deadline, the ``Feedback`` row, the
acknowledgement rendered from the theme templates and queued in ``mail_outbox``, the commit and
the redirect to the tracking page). Reports the median, 95th percentile and maximum of the wall
time and the median of the CPU time this process spent per request, and checks
that every submission got its folio and exactly one queued acknowledgement.

Usage (from the repository root)::

    .venv/bin/python bench/bench_feedback.py [--submissions 300] [--database-url postgresql://.../empty_db]

Target (issue 14): a submission stays under 50 ms server time with the mail queued.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scratch import add_database_option, scratch_app  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--submissions", type=int, default=300, help="complaints submitted")
    add_database_option(ap)
    args = ap.parse_args(argv)

    from sqlalchemy import func, select

    from comun_cms.extensions import db
    from comun_cms.models import Feedback, MailOutbox
    from comun_cms.privacy import ensure_notices
    from comun_cms.tenancy import all_tenants, tenant_context
    from comun_cms.views.public import make_form_token

    app, url = scratch_app(args.database_url, "bench-feedback-", SEARCH_SYNC=False, MAIL_BACKEND="file")
    times: list[float] = []
    cpu: list[float] = []
    with app.app_context():
        tenant = app.extensions["comun"].tenants["edomex"]
        with app.test_request_context(), tenant_context(tenant):
            ensure_notices(tenant)
            db.session.commit()
            issued = make_form_token("feedback", "edomex", issued_at=time.time() - 60)
        client = app.test_client()
        client.get("/edomex/seccion/feedback")   # warm up: templates compiled, connections open
        for i in range(args.submissions):
            data = {"kind": "complaint", "name": f"Persona {i}", "email": f"persona{i}@example.org",
                    "subject": "Sin minutas", "message": "No encuentro las minutas de las sesiones de 2026.",
                    "website": "", "issued": issued, "privacy_consent": "y"}
            t0, c0 = time.perf_counter(), time.process_time()
            resp = client.post("/edomex/seccion/feedback", data=data)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            if resp.status_code != 303:
                raise SystemExit(f"submission {i}: {resp.status_code}\n{resp.get_data(as_text=True)[:2000]}")
        folios = db.session.scalar(all_tenants(select(func.count(func.distinct(Feedback.folio)))))
        acks = db.session.scalar(select(func.count()).select_from(MailOutbox)
                                 .where(MailOutbox.kind == "request_received"))
    ms = sorted(1000 * t for t in times)
    cpu_ms = sorted(1000 * t for t in cpu)
    ok = folios == acks == args.submissions
    print(f"database: {url.split('://')[0]}")
    print(f"submit:  {args.submissions} complaints, median {statistics.median(ms):.1f} ms, "
          f"p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms, max {ms[-1]:.1f} ms (target < 50 ms); "
          f"one folio and one acknowledgement queued each: {'yes' if ok else 'NO'}")
    print(f"cpu:     median {statistics.median(cpu_ms):.1f} ms of this process's CPU per submission "
          f"(p95 {cpu_ms[int(0.95 * (len(cpu_ms) - 1))]:.1f} ms): the wall time less the waits for the "
          f"database's disk sync and for a CPU on a loaded machine")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
