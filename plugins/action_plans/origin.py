"""Draft commitments asked for by another plugin (hook ``create_draft``): co-creation's
"Convertir en compromiso" turns an agreed proposal of a table's results minute into an
unpublished commitment of a plan, pre-filled, without importing this plugin.

The draft is never published here: the plan's editors complete it (objective, indicator,
milestones...) and publish it through the usual admin page.
"""
from __future__ import annotations

import html
from typing import Any

import nh3
from flask_babel import gettext as _
from sqlalchemy import select

from comun_cms.toolkit import ChangeRefused, db, record_audit

from . import services
from .admin.common import commitment_snapshot
from .models import ActionPlan, Commitment

#: The content type this plugin creates drafts of.
CONTENT_TYPE = "commitment"
#: The origin code of a commitment that comes from co-creation with citizens
#: (:data:`plugins.action_plans.progress.ORIGINS`, shown as "Cocreado").
CO_CREATED = "co_created"


def _text(value: Any, limit: int | None = None) -> str:
    """``value`` as plain text: HTML tags removed (entities decoded), ends stripped, cut to
    ``limit`` characters (the column's length) when given."""
    text = html.unescape(nh3.clean(str(value or ""), tags=set())).strip()
    return text[:limit] if limit else text


def create_commitment_draft(fields: dict[str, Any], origin: dict[str, Any]) -> Commitment:
    """Add a draft commitment to a plan of the current tenant, pre-filled from ``fields``
    (flushed, audited as ``commitment.create``; not committed, not published).

    Args:
        fields: ``plan_id`` (int, required: a plan of the current tenant that is not
            retracted), ``title`` (required), ``description``, ``public_problem``,
            ``owner_institution`` (texts; HTML removed; cut to the columns' lengths).
        origin: ``{"content_type", "record_id", "label", ...}``; ``label`` becomes the
            commitment's ``source`` note; the whole dict goes to the audit event.

    Returns:
        The new :class:`Commitment`: the plan's next number, origin ``co_created``, the
        tenant's first status.

    Raises:
        ChangeRefused: the plan is not one of the tenant's (or is retracted), or the title is
            empty; the message names the field.
    """
    try:
        plan_id = int(fields.get("plan_id"))
    except (TypeError, ValueError):
        plan_id = None
    # the core's tenant filter applies: another tenant's plan id finds nothing
    plan = db.session.scalar(select(ActionPlan).where(ActionPlan.id == plan_id)) if plan_id else None
    if plan is None or plan.status == "retracted":
        raise ChangeRefused(_("Action plan: choose one of the action plans of this site that is not retracted."),
                            field="plan_id")
    title = _text(fields.get("title"), 300)
    if not title:
        raise ChangeRefused(_("Title: the commitment needs a title."), field="title")
    commitment = Commitment(
        plan=plan, number=services.next_number(c.number for c in plan.commitments), title=title,
        description=_text(fields.get("description")), public_problem=_text(fields.get("public_problem")),
        owner_institution=_text(fields.get("owner_institution"), 300), origin=CO_CREATED,
        progress_status=services.statuses()[0], source=_text(origin.get("label")), is_demo=plan.is_demo)
    db.session.add(commitment)
    services.recompute(commitment)
    db.session.flush()
    record_audit("commitment.create", "commitment", commitment.id, None,
                 {**commitment_snapshot(commitment), "origin_record": dict(origin)})
    return commitment


def create_draft(content_type: str, fields: dict[str, Any], origin: dict[str, Any]) -> Commitment | None:
    """The ``create_draft`` hook: a draft commitment for ``content_type == "commitment"``
    (:func:`create_commitment_draft`), ``None`` for any other content type."""
    if content_type != CONTENT_TYPE:
        return None
    return create_commitment_draft(fields, origin)
