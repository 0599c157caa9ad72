"""Personal data of the co-creation plugin: the optional e-mail of a problem and the e-mail of
each support, registered with the core's privacy module (exports, ARCO cancellations, purge).

Retention (the tenant's ``retention.join`` days, the period of sign-ups to the open-government
exercises): a problem's follow-up address is blanked (the problem, public content, stays) and a
counted support's address is replaced by its pseudonym (:func:`services.support_pseudonym`), so
the count stays right and one address still supports a problem once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from comun_cms.toolkit import PersonalDataSource, db, jsonable

from .models import Problem, Support
from .services import support_pseudonym

#: Days an unconfirmed support is kept before the purge deletes it.
UNCONFIRMED_DAYS = 30


def _export(email: str) -> list[dict]:
    email = email.strip().lower()
    rows = [{"kind": "problem", "id": p.id, "title": p.title, "created_at": jsonable(p.created_at),
             "consent_at": jsonable(p.consent_at)}
            for p in db.session.scalars(select(Problem).where(Problem.email == email))]
    rows += [{"kind": "support", "problem_id": s.problem_id, "confirmed_at": jsonable(s.confirmed_at),
              "consent_at": jsonable(s.consent_at)}
             for s in db.session.scalars(select(Support).where(Support.email.in_((email, support_pseudonym(email)))))]
    return rows


def _erase(email: str) -> int:
    """Blank the address of problems; delete supports (their count goes down)."""
    email = email.strip().lower()
    n = 0
    for p in db.session.scalars(select(Problem).where(Problem.email == email)):
        p.email = ""
        n += 1
    for s in db.session.scalars(select(Support).where(Support.email.in_((email, support_pseudonym(email))))):
        db.session.delete(s)
        n += 1
    return n


def _purge(tenant, now: dt.datetime) -> dict[str, int]:
    """Delete supports never confirmed after :data:`UNCONFIRMED_DAYS` days; after the tenant's
    ``retention.join`` days blank problems' follow-up addresses and replace counted supports'
    addresses by their pseudonyms. ``now`` is an aware UTC datetime; returns only non-zero
    counts by kind, as the core's sources do."""
    cutoff = now - dt.timedelta(days=UNCONFIRMED_DAYS)
    rows = db.session.scalars(select(Support).where(Support.confirmed_at.is_(None), Support.created_at < cutoff)).all()
    for row in rows:
        db.session.delete(row)
    counts = {"cocreation_unconfirmed_supports": len(rows)} if rows else {}
    kept = now - dt.timedelta(days=tenant.retention["join"])
    problems = db.session.scalars(select(Problem).where(Problem.email != "", Problem.created_at < kept)).all()
    for problem in problems:
        problem.email = ""
    supports = db.session.scalars(select(Support).where(
        Support.confirmed_at.is_not(None), Support.confirmed_at < kept, Support.email.not_like("hmac:%"))).all()
    for support in supports:
        support.email = support_pseudonym(support.email)
    if problems:
        counts["cocreation_problem_addresses"] = len(problems)
    if supports:
        counts["cocreation_support_addresses"] = len(supports)
    return counts


SOURCE = PersonalDataSource("cocreation", _export, _erase, _purge)
