"""Small database helpers shared by the core views and plugins."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from flask import request
from sqlalchemy import select

from comun_cms.extensions import db


@contextlib.contextmanager
def atomic() -> Iterator[None]:
    """Commit the block's changes, or roll everything back if it raises (the exception
    propagates). Use around every multi-row write of a request so nothing is half written."""
    try:
        yield
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def one_or_404(model: type, object_id: int) -> Any:
    """Return the row of ``model`` with ``id == object_id`` in the current tenant, else 404.

    Uses ``select()``: the tenant filter applies even when another tenant's row is in the
    identity map, unlike ``Session.get``.
    """
    return db.first_or_404(select(model).where(model.id == object_id))


def page_arg(name: str = "page", maximum: int = 10_000) -> int:
    """The 1-based page number in request argument ``name``, clamped to ``1..maximum``
    (bad values give page 1)."""
    return min(max(request.args.get(name, 1, type=int) or 1, 1), maximum)
