#!/usr/bin/env python3
"""Benchmark: a subscription digest run for many subscribers.

Creates a scratch application (temporary instance folder, SQLite file or an empty PostgreSQL
database, Alembic migrations), then:

1. **subscribers**: ``--subscribers`` active, immediate subscriptions to the whole ``edomex``
   tenant (generated addresses), inserted in bulk;
2. **publish**: publishes one page; the ``on_publish`` listener writes one digest item per
   subscriber inside the publishing transaction (one ``INSERT … SELECT``); reports its time;
3. **digest**: ``comun_cms.subscriptions.run_digest`` renders and queues one e-mail per subscriber
   (text + HTML, es-MX, RFC 8058 headers) and marks the items sent; reports the time and checks
   that each subscriber got exactly one message.

Usage (from the repository root)::

    .venv/bin/python bench/bench_digest.py [--subscribers 10000] [--database-url postgresql://.../empty_db]

Target (issue 14): a digest run for 10,000 subscribers finishes under 60 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scratch import add_database_option, scratch_app  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subscribers", type=int, default=10000, help="active subscriptions to the tenant")
    add_database_option(ap)
    args = ap.parse_args(argv)

    from sqlalchemy import func, select

    from comun_cms import publishing, subscriptions
    from comun_cms.extensions import db
    from comun_cms.models import MailOutbox, Page, Subscription
    from comun_cms.tenancy import tenant_context

    app, url = scratch_app(args.database_url, "bench-digest-", SEARCH_SYNC=False)
    with app.app_context():
        tenant = app.extensions["comun"].tenants["edomex"]
        now = dt.datetime.now(dt.timezone.utc)
        rows = [{"tenant_id": "edomex", "email": f"persona{i}@example.org", "target": "tenant", "content_type": "",
                 "record_id": "", "query": "", "label": tenant.secretariat, "frequency": "immediate",
                 "locale": "es_MX", "status": "active", "nonce": f"n{i:08d}", "confirmed_at": now,
                 "created_at": now, "updated_at": now} for i in range(args.subscribers)]
        db.session.execute(Subscription.__table__.insert(), rows)
        db.session.commit()

        with app.test_request_context(), tenant_context(tenant):
            page = Page(slug="informe", title="Informe anual de actividades", summary="Resumen.",
                        body="Texto del informe.", section="links")
            db.session.add(page)
            db.session.flush()
            t0 = time.perf_counter()
            publishing.publish(page)
            publish_s = time.perf_counter() - t0

        t0, c0 = time.perf_counter(), time.process_time()
        mails, items = subscriptions.run_digest()
        digest_s, digest_cpu = time.perf_counter() - t0, time.process_time() - c0
        queued = db.session.scalar(select(func.count()).select_from(MailOutbox)
                                   .where(MailOutbox.kind == "subscription_digest"))
        recipients = db.session.scalar(select(func.count(func.distinct(MailOutbox.recipient)))
                                       .where(MailOutbox.kind == "subscription_digest"))
    ok = mails == items == queued == recipients == args.subscribers
    print(f"database: {url.split('://')[0]}")
    print(f"publish: 1 page, {args.subscribers} digest items written in the transaction in {publish_s:.2f} s")
    print(f"digest:  {mails} e-mails ({items} items) queued in {digest_s:.2f} s "
          f"= {1000 * digest_s / max(mails, 1):.2f} ms per subscriber (target: 10,000 in < 60 s); "
          f"one message per subscriber: {'yes' if ok else 'NO'}")
    print(f"cpu:     {digest_cpu:.1f} s of this process's CPU for the digest run (the wall time less the waits "
          f"for the database and for a CPU on a loaded machine)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
