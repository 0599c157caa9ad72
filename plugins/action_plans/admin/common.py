"""Helpers shared by the admin views of the action-plans plugin: roles, look-ups, labels, audit
snapshots, flash messages and evidence uploads."""
from __future__ import annotations

from typing import Any, Callable

from flask import flash, redirect, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import admin_change, db, record_audit, snapshot, store_upload

from .. import progress as prog
from .. import services
from ..models import ActionPlan, Commitment, Milestone

#: Roles that may use the plugin's admin.
ROLES = ("admin", "editor")
#: Status of a page re-shown with form errors.
INVALID = 422


def plan_or_404(plan_id: int) -> ActionPlan:
    """The current tenant's plan ``plan_id`` (404 when missing or another tenant's)."""
    return db.first_or_404(select(ActionPlan).where(ActionPlan.id == plan_id))


def commitment_or_404(commitment_id: int) -> Commitment:
    """The current tenant's commitment ``commitment_id`` (404 when missing or another tenant's)."""
    return db.first_or_404(select(Commitment).where(Commitment.id == commitment_id))


def milestone_or_404(milestone_id: int) -> Milestone:
    """The current tenant's milestone ``milestone_id`` (404 when missing or another tenant's)."""
    return db.first_or_404(select(Milestone).where(Milestone.id == milestone_id))


def audit_pubs(pubs) -> list[dict]:
    """The publications of a change as recorded in its audit event (type, id, version, action,
    SHA-256)."""
    return [{"content_type": p.content_type, "record_id": p.record_id, "version": p.version, "action": p.action,
             "sha256": p.sha256} for p in pubs]


def labels() -> dict:
    """Labels of the codes shown in the admin templates (statuses, phases, frameworks, record
    states...)."""
    return {"status": prog.STATUS_LABELS, "phase": prog.PHASE_LABELS, "framework": prog.FRAMEWORK_LABELS,
            "origin": prog.ORIGIN_LABELS, "og": prog.OG_VALUE_LABELS, "irm": prog.IRM_LABELS,
            "record": {"draft": _("Draft"), "published": _("Published"), "retracted": _("Retracted")}}


def commitment_snapshot(c: Commitment) -> dict:
    """Audit snapshot of a commitment with its milestones and progress reports."""
    return {**snapshot(c), "milestones": [snapshot(m) for m in c.milestones],
            "reports": [snapshot(r) for r in c.reports]}


def flash_pubs(pubs, fallback: str) -> None:
    """Flash how many new versions a change published, or ``fallback`` when it published none."""
    versions = [p for p in pubs if p.action in ("publish", "correct")]
    if versions:
        flash(ngettext("Saved. %(num)d new published version: the change is public and in the history.",
                       "Saved. %(num)d new published versions: the change is public and in the history.", len(versions)),
              "success")
    else:
        flash(fallback, "success")


#: Delete the attachments of the given owners (drafts being deleted; not committed).
delete_attachments = services.delete_attachments


def number_taken(model, number: int, exclude_id: int | None = None, **where) -> bool:
    """``True`` when another ``model`` row (not ``exclude_id``) has ``number`` among the rows
    matching ``where`` (column = value)."""
    q = select(model.id).where(model.number == number)
    for key, value in where.items():
        q = q.where(getattr(model, key) == value)
    if exclude_id is not None:
        q = q.where(model.id != exclude_id)
    return db.session.scalar(q.limit(1)) is not None


def upload_evidence(c: Commitment, form, owner_type: str, owner_id: int, on_error: Callable[[], Any],
                    anchor: str = "#evidencia"):
    """Store an evidence file of a commitment, or of one of its milestones, and publish the
    commitment's correction when it is published (one transaction, audit events
    ``attachment.upload`` and ``commitment.update``).

    Args:
        c: the commitment the file is evidence of.
        form: a validated :class:`~plugins.action_plans.forms.EvidenceForm`.
        owner_type / owner_id: the attachment's owner (the commitment or a milestone).
        on_error: returns the response re-showing the form when the change is refused.
        anchor: fragment of the commitment page the redirect goes to.

    Returns:
        A redirect to the commitment's admin page, or ``on_error()``.
    """
    with admin_change("commitment.update", c, object_type="commitment", before=commitment_snapshot(c),
                      form=form) as change:
        att = store_upload(form.file.data, owner_type=owner_type, owner_id=str(owner_id), title=form.title.data,
                           user_id=current_user.id, field="file")
        db.session.flush()
        record_audit("attachment.upload", "attachment", att.id, None, {**att.describe(), "owner": f"{owner_type}/{owner_id}"})
        pubs = services.republish([c], c.plan, form.reason.data, current_user)
        change.after = {**commitment_snapshot(c), "publications": audit_pubs(pubs)}
    if change.failed:
        return on_error()
    flash_pubs(pubs, _("File “%(name)s” attached.", name=att.filename))
    return redirect(url_for(".commitment_edit", commitment_id=c.id) + anchor, code=303)
