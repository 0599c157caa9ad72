"""The link between agreements and the action-plan commitments of the ``action_plans`` plugin.

This plugin never imports another one: the ``commitment`` content type is looked up in the
content-type registry (:func:`comun_cms.toolkit.content_types`), and every function here works,
returning nothing to link, when that plugin is not installed or the current tenant does not
enable it.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.toolkit import ContentType, content_types, db

from .models import Agreement


def commitment_content_type() -> ContentType | None:
    """The ``commitment`` content type of the action_plans plugin, or ``None`` when that plugin
    is not installed or not enabled in the current tenant."""
    tenant = g.get("tenant")
    if tenant is None or not tenant.enables("action_plans"):
        return None
    registry = content_types()
    return registry.get("commitment") if "commitment" in registry else None


def commitment_choices() -> list[tuple[Any, Any]]:
    """``(id, label)`` of the tenant's published commitments, the empty choice ("No
    commitment") first; only that one when there is no commitment content type."""
    out: list[tuple[Any, Any]] = [("", _l("No commitment"))]
    ct = commitment_content_type()
    if ct is None:
        return out
    for c in db.session.scalars(select(ct.model).where(ct.model.status == "published").order_by(ct.model.id)):
        ext = getattr(c, "external_id", "")
        out.append((c.id, f"{ct.title(c)}" + (f" ({ext})" if ext else "")))
    return out


def commitment_ref(commitment_id: int | None, typed: str) -> str:
    """The external id to store on an agreement: ``typed`` when given, else the chosen
    commitment's ``external_id`` (``""`` when nothing is chosen or it cannot be found)."""
    if typed or commitment_id is None:
        return typed or ""
    ct = commitment_content_type()
    if ct is None:
        return ""
    record = db.session.scalar(select(ct.model).where(ct.model.id == commitment_id))
    return getattr(record, "external_id", "") or "" if record is not None else ""


def commitment_link(ag: Agreement) -> dict[str, Any] | None:
    """``{"title", "url"}`` of the action-plan commitment linked to ``ag``. ``None`` when nothing
    is linked; ``url`` is ``None`` when the plugin is not enabled or the commitment is not
    published (a failing ``title``/``url`` of the other plugin is logged, never raised)."""
    if ag.commitment_id is None and not ag.commitment_ref:
        return None
    found = {"title": ag.commitment_ref or f"#{ag.commitment_id}", "url": None}
    if ag.commitment_id is None or not g.tenant.enables("action_plans"):
        return found
    ct = commitment_content_type()
    if ct is None:
        return found
    record = db.session.scalar(select(ct.model).where(ct.model.id == ag.commitment_id))
    if record is not None and getattr(record, "status", "") == "published":
        try:
            found = {"title": str(ct.title(record)), "url": ct.url(record)}
        except Exception:  # noqa: BLE001 - a broken link must not break the agreement page
            current_app.logger.exception("commitment link of agreement %s", ag.id)
    return found
