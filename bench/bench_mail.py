#!/usr/bin/env python3
"""Benchmark: the mail worker's delivery rate to a local SMTP server, and the cost of queueing.

Creates a scratch application (temporary instance folder, SQLite file, Alembic migrations) and a
local SMTP server (aiosmtpd, in a thread, accepting everything), then:

1. **queue**: ``--messages`` invitation e-mails rendered from the theme templates (text + HTML,
   es-MX) and queued with ``comun_cms.mail.send_mail``, committed in batches of 100; reports the
   mean milliseconds per queued message (what a form submission adds to its request).
2. **deliver**: ``comun_cms.mail.deliver_due`` until the outbox is empty, as the worker does
   (batches of 100 claimed in one statement, one SMTP connection per batch, outcomes committed
   every ``--commit-every`` messages); reports messages per second and checks the server
   received each ``Message-ID`` exactly once. The SMTP server runs in this process (a thread),
   so it takes its share of the same interpreter: a server in its own process is faster.

Usage (from the repository root)::

    .venv/bin/python bench/bench_mail.py [--messages 1000] [--commit-every 20] \
        [--database-url postgresql://.../empty_db]

Target (issue 14): the sender delivers at least 50 messages/s to a local SMTP server.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scratch import add_database_option, scratch_app  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1000, help="messages queued and delivered")
    add_database_option(ap)
    ap.add_argument("--commit-every", type=int, default=20,
                    help="MAIL_COMMIT_EVERY: delivery outcomes committed every N messages (1: after each)")
    args = ap.parse_args(argv)

    from aiosmtpd.controller import Controller

    from comun_cms import mail
    from comun_cms.extensions import db
    from comun_cms.tenancy import tenant_context

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.content)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()

    try:
        app, url = scratch_app(args.database_url, "bench-mail-", MAIL_BACKEND="smtp", MAIL_HOST="127.0.0.1",
                               MAIL_PORT=port, MAIL_COMMIT_EVERY=args.commit_every)
        with app.app_context():
            tenant = app.extensions["comun"].tenants["edomex"]
            expires = dt.datetime(2026, 12, 13, 18, 0, tzinfo=dt.timezone.utc)
            t0 = time.perf_counter()
            with app.test_request_context(), tenant_context(tenant):
                for i in range(args.messages):
                    mail.send_mail(f"persona{i}@example.org", "invitation", tenant=tenant, kind="bench",
                                   context={"link": f"http://127.0.0.1:5000/auth/invitacion/{i}", "inviter": "Ana",
                                            "role": "Edición", "expires": expires})
                    if i % 100 == 99:
                        db.session.commit()
                db.session.commit()
            queue_s = time.perf_counter() - t0

            t0, c0 = time.perf_counter(), time.process_time()
            sent = 0
            while True:
                n, failed = mail.deliver_due()
                if failed:
                    raise SystemExit(f"{failed} delivery failures")
                if n == 0:
                    break
                sent += n
            deliver_s, deliver_cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        controller.stop()
    ids = {line for m in received for line in m.split(b"\n") if line.lower().startswith(b"message-id:")}
    ok = sent == args.messages == len(received) == len(ids)
    print(f"database: {url.split('://')[0]}; outcomes committed every {args.commit_every} message(s)")
    print(f"queue:   {args.messages} messages, {1000 * queue_s / args.messages:.2f} ms per message (render + insert)")
    print(f"deliver: {sent} messages in {deliver_s:.2f} s = {sent / deliver_s:.0f} messages/s "
          f"(target >= 50); each received once: {'yes' if ok else 'NO'}")
    print(f"cpu:     {1000 * deliver_cpu / max(sent, 1):.1f} ms of this process's CPU per message delivered "
          f"(sender and in-process SMTP server together)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
