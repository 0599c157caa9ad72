"""Liveness, readiness and the outboxes' figures (``/healthz``, ``/readyz``; docs/deploy.md).

* ``GET /healthz``: the process is alive and answers. Touches nothing else (no database, no
  cache): ``200 {"status": "ok"}``. For systemd watchdogs and the load balancer's liveness probe.
* ``GET /readyz``: the host can serve the site. Runs :func:`readiness`: the database answers and
  its schema is at the code's migration heads, the search backend answers its canary query, and
  neither outbox (mail, search index) has work waiting longer than ``READY_OUTBOX_MAX_AGE``
  seconds (default 900) or more than ``READY_OUTBOX_MAX_BACKLOG`` rows (default 10,000) waiting.
  ``200`` with ``"status": "ok"``, else ``503`` with ``"status": "fail"`` and ``"failed"``
  naming the checks that failed. Errors are named by their exception class only (the body is
  public); the details go to the log.

Both answer JSON with ``Cache-Control: no-store``, for ``GET`` and ``HEAD``, and are served by
:class:`comun_cms.ops.OpsMiddleware` before the application: no tenant, host check, session,
rate limit or page cache is involved.

*Waiting* is measured on work that is due: a mail message is due from its ``next_attempt_at``
(a message waiting for its next retry after an SMTP failure is not late: an SMTP outage does not
make the site unready) or, when claimed by a worker, from ``claimed_at`` plus
``MAIL_CLAIM_TIMEOUT``; a search-outbox row is due from its ``created_at``. A dead mail worker or
indexer therefore shows within ``READY_OUTBOX_MAX_AGE`` seconds.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import func, literal, or_, select

from comun_cms.extensions import db
from comun_cms.models import MailOutbox, SearchOutbox, utcnow

__all__ = ["OutboxStats", "expected_heads", "liveness", "outbox_stats", "readiness"]

log = logging.getLogger(__name__)
_HEADS_KEY = "comun_ops_migration_heads"


@dataclass(frozen=True)
class OutboxStats:
    """Figures of one outbox: ``backlog`` (rows waiting: mail ``pending`` or ``sending``, every
    search row), ``due`` (of those, rows that are due now), ``oldest_due_age`` (seconds the oldest
    due row has waited; 0.0 when none) and ``failed`` (mail given up after its last attempt)."""

    name: str
    backlog: int
    due: int
    oldest_due_age: float
    failed: int = 0


def outbox_stats(app: Flask, now: dt.datetime | None = None) -> list[OutboxStats]:
    """Return the figures of the mail outbox and the search outbox (four small queries, inside
    the caller's application context; both outboxes are platform tables, not tenant-scoped).

    Args:
        app: the application (``MAIL_CLAIM_TIMEOUT``, seconds).
        now: the present (aware UTC; default :func:`comun_cms.models.utcnow`), for tests.

    Returns:
        ``[mail, search]`` :class:`OutboxStats`.
    """
    now = now or utcnow()
    claim = dt.timedelta(seconds=float(app.config.get("MAIL_CLAIM_TIMEOUT", 300)))
    waiting = MailOutbox.status.in_(("pending", "sending"))
    mail_backlog = db.session.scalar(select(func.count()).select_from(MailOutbox).where(waiting)) or 0
    due_pending = (MailOutbox.status == "pending") & (MailOutbox.next_attempt_at <= now)
    stuck_sending = (MailOutbox.status == "sending") & (MailOutbox.claimed_at <= now - claim)
    due_count, oldest_pending, oldest_claim = db.session.execute(
        select(func.count(), func.min(MailOutbox.next_attempt_at), func.min(MailOutbox.claimed_at))
        .where(or_(due_pending, stuck_sending))).one()
    failed = db.session.scalar(select(func.count()).select_from(MailOutbox).where(MailOutbox.status == "failed")) or 0
    since = [t for t in (oldest_pending, oldest_claim + claim if oldest_claim else None) if t is not None]
    mail = OutboxStats("mail", mail_backlog, due_count or 0, _age(now, min(since)) if since else 0.0, failed)
    count, oldest = db.session.execute(select(func.count(), func.min(SearchOutbox.created_at))).one()
    search = OutboxStats("search", count or 0, count or 0, _age(now, oldest) if oldest else 0.0)
    return [mail, search]


def _age(now: dt.datetime, since: dt.datetime) -> float:
    if since.tzinfo is None:  # aggregates bypass the UTC column type on some drivers
        since = since.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (now - since).total_seconds())


def expected_heads(app: Flask) -> set[str]:
    """The migration heads of the code (core and plugin branches), read once per application."""
    heads = app.extensions.get(_HEADS_KEY)
    if heads is None:
        from comun_cms.setup import alembic_config

        heads = app.extensions[_HEADS_KEY] = set(ScriptDirectory.from_config(alembic_config(app)).get_heads())
    return heads


def liveness() -> dict[str, Any]:
    """The body of ``/healthz``."""
    return {"status": "ok"}


def _timed(check) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a check that cannot run has failed; the details go to the log
        log.warning("readiness check failed: %s", exc, exc_info=True)
        db.session.rollback()
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - start) * 1000, 2)
    return result


def readiness(app: Flask) -> tuple[bool, dict[str, Any]]:
    """Run the readiness checks (see the module docstring) in an application context of ``app``.

    Returns:
        ``(ready, body)``; ``body`` = ``{"status": "ok" | "fail", "failed": [check names],
        "checks": {name: {"ok": bool, "ms": float, ...}}}`` with the checks ``database``,
        ``schema``, ``search``, ``mail_outbox`` and ``search_outbox``.
    """
    checks: dict[str, dict[str, Any]] = {}
    max_age = float(app.config.get("READY_OUTBOX_MAX_AGE", 900))
    max_backlog = int(app.config.get("READY_OUTBOX_MAX_BACKLOG", 10_000))
    with app.app_context():
        checks["database"] = _timed(lambda: {"ok": db.session.scalar(select(literal(1))) == 1})
        if checks["database"]["ok"]:
            def schema():
                with db.engine.connect() as conn:
                    current = set(MigrationContext.configure(conn).get_current_heads())
                expected = expected_heads(app)
                return {"ok": current == expected, **({} if current == expected else {"error": "not at head"})}
            checks["schema"] = _timed(schema)

            def outboxes():
                return {s.name: s for s in outbox_stats(app)}
            stats = _timed(lambda: {"ok": True, "stats": outboxes()})
            for name in ("mail", "search"):
                if not stats["ok"]:
                    checks[f"{name}_outbox"] = {"ok": False, "error": stats["error"], "ms": stats["ms"]}
                    continue
                s = stats["stats"][name]
                ok = s.oldest_due_age <= max_age and s.backlog <= max_backlog
                entry = {"ok": ok, "backlog": s.backlog, "due": s.due, "oldest_due_age_s": round(s.oldest_due_age, 1)}
                if name == "mail":
                    entry["failed"] = s.failed
                if not ok:
                    entry["error"] = "backlog too old" if s.oldest_due_age > max_age else "backlog too large"
                checks[f"{name}_outbox"] = entry
        else:
            for name in ("schema", "mail_outbox", "search_outbox"):
                checks[name] = {"ok": False, "error": "database unavailable"}

        def search():
            result = app.extensions["comun"].search.backend.canary()
            entry = {"ok": bool(result.ok), "backend": app.config.get("SEARCH_BACKEND", "whoosh"),
                     "documents": result.documents}
            if not result.ok:
                log.warning("readiness: search canary failed: %s", result.detail)
                entry["error"] = "canary failed"
            return entry
        checks["search"] = _timed(search)
        db.session.remove()
    failed = sorted(name for name, c in checks.items() if not c["ok"])
    return not failed, {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}
