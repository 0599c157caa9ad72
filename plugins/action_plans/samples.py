"""Sample records for the conformance kit (:func:`comun_cms.toolkit.testing.check_plugin`).

``sample_record(content_type, tenant, marker)`` returns a **draft** record of one of the
plugin's content types in the current tenant whose public text contains ``marker``. Plans get
the next free plan number of the tenant; commitments belong to one published sample plan per
tenant (created and published once with :func:`~plugins.action_plans.services.publish_plan`)
and get the next free commitment number of that plan, so repeated calls never clash with the
unique constraints. Nothing is committed here (the kit adds the record and commits).
"""
from __future__ import annotations

from sqlalchemy import select

from comun_cms.toolkit import db

from . import services
from .models import ActionPlan, Commitment

#: Title of the published plan that sample commitments belong to.
PARENT_PLAN_TITLE = "Plan de acción de ejemplo (kit de conformidad)"


def _next_plan_number() -> int:
    return services.next_number(db.session.scalars(select(ActionPlan.number)).all())


def draft_plan(marker: str) -> ActionPlan:
    """A new draft plan (next free number) whose title and summary contain ``marker``."""
    plan = ActionPlan(number=_next_plan_number(), title=f"Plan de ejemplo {marker}",
                      summary=f"Resumen de ejemplo {marker}", framework="own")
    db.session.add(plan)
    db.session.flush()
    return plan


def parent_plan() -> ActionPlan:
    """The tenant's published sample plan (created and published once)."""
    plan = db.session.scalar(select(ActionPlan).where(ActionPlan.title == PARENT_PLAN_TITLE)
                             .order_by(ActionPlan.id).limit(1))
    if plan is None:
        plan = ActionPlan(number=_next_plan_number(), title=PARENT_PLAN_TITLE, framework="own",
                          summary="Plan de ejemplo del kit de conformidad.")
        db.session.add(plan)
        db.session.flush()
    if plan.status == "draft":
        services.publish_plan(plan, None)
    return plan


def sample_record(content_type, tenant, marker: str):
    """Draft ``action_plan`` or ``commitment`` containing ``marker`` (conformance kit).
    ``content_type`` is a ContentType or its name."""
    name = getattr(content_type, "name", content_type)
    if name == "action_plan":
        return draft_plan(marker)
    if name == "commitment":
        plan = parent_plan()
        c = Commitment(plan=plan, plan_id=plan.id,
                       number=services.next_number(x.number for x in plan.commitments),
                       title=f"Compromiso de ejemplo {marker}", description=f"Descripción de ejemplo {marker}",
                       progress_status=services.statuses(tenant)[0])
        db.session.add(c)
        db.session.flush()
        return c
    raise LookupError(f"action_plans has no content type '{name}'")
