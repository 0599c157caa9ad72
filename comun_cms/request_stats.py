"""Figures of the complaints loop per tenant: requests received, answered, answered on time and the
median number of business days to answer (the accountability table of "Dudas, quejas y
sugerencias", shown on each tenant's feedback section and on the portal).

A request counts when it has a folio (questions, complaints, suggestions; spam excluded). It is
answered on time when its answer's date, in the tenant's time zone, is on or before its due date.
Days to answer are business days (:func:`comun_cms.business_days.business_days_between`)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy import select

from comun_cms.business_days import business_days_between
from comun_cms.extensions import db
from comun_cms.models.core import Feedback
from comun_cms.tenancy import Tenant, all_tenants

__all__ = ["RequestStats", "request_stats"]


@dataclass(frozen=True)
class RequestStats:
    """The figures of one tenant (``tenant`` is ``None`` for the total of several)."""

    tenant: Tenant | None
    received: int
    answered: int
    on_time: int
    overdue: int
    median_days: float | None

    def pct(self, part: int) -> int:
        """``part`` as a whole percentage of ``received`` (0 when nothing was received)."""
        return round(100 * part / self.received) if self.received else 0


def request_stats(tenants: list[Tenant]) -> tuple[list[RequestStats], RequestStats]:
    """Figures per tenant of ``tenants`` (an explicit cross-tenant read of counts only: no
    personal data leaves this function) and their total. Returns ``(rows, total)``."""
    by_slug = {t.slug: t for t in tenants}
    stmt = all_tenants(select(Feedback.tenant_id, Feedback.created_at, Feedback.answered_at, Feedback.due_on,
                              Feedback.status)
                       .where(Feedback.tenant_id.in_(list(by_slug)), Feedback.folio.is_not(None),
                              Feedback.status != "spam"))
    acc: dict[str, dict] = {slug: {"received": 0, "answered": 0, "on_time": 0, "overdue": 0, "days": []}
                            for slug in by_slug}
    for slug, created, answered, due, status in db.session.execute(stmt):
        t, a = by_slug[slug], acc[slug]
        a["received"] += 1
        if answered is not None:
            a["answered"] += 1
            answered_on = t.today(answered)
            a["on_time"] += due is None or answered_on <= due
            a["days"].append(business_days_between(t.today(created), answered_on, t.days_off))
        elif status in ("new", "accepted") and due is not None and t.today() > due:
            a["overdue"] += 1
    rows = [RequestStats(by_slug[s], a["received"], a["answered"], a["on_time"], a["overdue"],
                         statistics.median(a["days"]) if a["days"] else None) for s, a in acc.items()]
    every = [d for a in acc.values() for d in a["days"]]
    total = RequestStats(None, sum(r.received for r in rows), sum(r.answered for r in rows),
                         sum(r.on_time for r in rows), sum(r.overdue for r in rows),
                         statistics.median(every) if every else None)
    return rows, total
