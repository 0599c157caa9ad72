"""Folios: request numbers a person can read over the phone, ``EDOMEX-2026-QJ-000123``.

A folio is ``<TENANT>-<YEAR>-<CODE>-<NUMBER>``: the tenant's slug in capitals, the year in the
tenant's time zone, a two-letter code for the kind of request (``DU`` duda/question, ``QJ``
queja/complaint, ``SG`` sugerencia/suggestion, ``AR`` ARCO request) and a six-digit number, gap-free
per series. The number comes from :class:`~comun_cms.models.FolioCounter`, incremented inside the
caller's transaction (an ``UPDATE … SET value = value + 1``, which the database serializes per
row), so two concurrent requests never get the same folio and a rolled-back request leaves no gap.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from comun_cms.extensions import db
from comun_cms.models.core import FolioCounter

__all__ = ["FOLIO_CODES", "next_folio"]

#: request kind -> folio code
FOLIO_CODES = {"question": "DU", "complaint": "QJ", "suggestion": "SG", "arco": "AR"}


def next_folio(tenant_slug: str, code: str, year: int) -> str:
    """Reserve the next folio of series ``<TENANT>-<year>-<code>`` in the current transaction.

    Args:
        tenant_slug: the tenant (``edomex``).
        code: two capital letters (see :data:`FOLIO_CODES`).
        year: four digits, in the tenant's time zone.

    Returns ``"EDOMEX-2026-QJ-000123"``. Raises ``ValueError`` for a malformed ``code``.
    """
    if len(code) != 2 or not code.isalpha() or not code.isupper():
        raise ValueError(f"folio code must be two capital letters, not {code!r}")
    series = f"{tenant_slug.upper()}-{year:04d}-{code}"
    for _ in range(3):
        bumped = db.session.execute(update(FolioCounter).where(FolioCounter.series == series)
                                    .values(value=FolioCounter.value + 1))
        if bumped.rowcount:
            break
        try:  # first folio of the series: create its counter (another request may race us)
            with db.session.begin_nested():
                db.session.add(FolioCounter(series=series, value=1))
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - three lost races in a row
        raise RuntimeError(f"could not reserve a folio of {series}")
    value = db.session.scalar(select(FolioCounter.value).where(FolioCounter.series == series))
    return f"{series}-{value:06d}"
