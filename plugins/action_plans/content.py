"""Content types of the action-plans plugin: what is frozen when a plan or a commitment is
published, how it is titled, linked and indexed, and which evidence files it carries.

Two publishable record kinds:

* ``action_plan``: a plan's facts, its published commitments (number, title, status, progress)
  and its rolled-up progress, so the plan's progress is versioned too;
* ``commitment``: a SMART commitment with its milestones and progress reports serialized inside
  it, so every change to them is a new version of the commitment.

Evidence files are core attachments owned by a plan, a commitment, a milestone or a report
(owner types in :mod:`plugins.action_plans.models`); the ``*_attachments`` functions give them
to the core, which adds each file's SHA-256 to the canonical content. ``serialize_*`` return
JSON-safe dictionaries (dates as ``date``, converted by :func:`comun_cms.toolkit.jsonable`).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from flask import url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import and_, or_, select

from comun_cms.toolkit import Attachment, ContentType, SearchDocument, db, plain_text, search_document_for

from . import progress as prog
from .models import (
    OWNER_COMMITMENT, OWNER_MILESTONE, OWNER_PLAN, OWNER_REPORT, PLUGIN, ActionPlan, Commitment, Milestone,
    ProgressReport,
)


# --------------------------------------------------------------------------- evidence
def attachments_of(owner_type: str, owner_ids: Iterable[Any]) -> list[Attachment]:
    """Attachments of the given owners (current tenant), ordered by id.

    Args:
        owner_type: one of the ``OWNER_*`` owner types of :mod:`plugins.action_plans.models`.
        owner_ids: the owners' ids (``None`` items are skipped).
    """
    ids = [str(i) for i in owner_ids if i is not None]
    if not ids:
        return []
    return list(db.session.scalars(select(Attachment).where(
        Attachment.owner_type == owner_type, Attachment.owner_id.in_(ids)).order_by(Attachment.id)))


def commitment_attachments(commitment: Commitment) -> list[Attachment]:
    """Every evidence file of a commitment: its own, its milestones' and its reports'."""
    if commitment.id is None:
        return []
    return (attachments_of(OWNER_COMMITMENT, [commitment.id])
            + attachments_of(OWNER_MILESTONE, [m.id for m in commitment.milestones])
            + attachments_of(OWNER_REPORT, [r.id for r in commitment.reports]))


def attachments_of_many(owners: dict[str, Iterable[Any]]) -> list[Attachment]:
    """Attachments of several owner types in one query (current tenant), ordered by id.

    Args:
        owners: ``{owner_type: owner ids}`` (``None`` ids are skipped; empty lists ignored).
    """
    clauses = []
    for owner_type, owner_ids in owners.items():
        ids = [str(i) for i in owner_ids if i is not None]
        if ids:
            clauses.append(and_(Attachment.owner_type == owner_type, Attachment.owner_id.in_(ids)))
    if not clauses:
        return []
    return list(db.session.scalars(select(Attachment).where(or_(*clauses)).order_by(Attachment.id)))


def plan_attachments(plan: ActionPlan) -> list[Attachment]:
    """Documents of a plan (methodology and others)."""
    if plan.id is None:
        return []
    return attachments_of(OWNER_PLAN, [plan.id])


def _evidence_refs(attachments: list[Attachment]) -> list[dict]:
    return [{"id": a.id, "filename": a.filename, "sha256": a.sha256} for a in attachments]


# --------------------------------------------------------------------------- plan figures
def published_commitments(plan: ActionPlan) -> list[Commitment]:
    """The plan's published commitments, by number."""
    return [c for c in plan.commitments if c.status == "published"]


def plan_progress(plan: ActionPlan, only_published: bool = True) -> float | None:
    """Rolled-up progress of a plan: mean of its (published) commitments' known progress.

    Args:
        plan: the plan.
        only_published: count only published commitments (the public figure); ``False`` counts
            every commitment (the admin's preview).

    Returns:
        A percentage (0–100) or ``None`` when no commitment has a known progress.
    """
    items = published_commitments(plan) if only_published else plan.commitments
    return prog.plan_progress(c.figures().progress for c in items)


# --------------------------------------------------------------------------- serialization
def serialize_milestone(m: Milestone) -> dict:
    """Public content of a milestone (inside its commitment's canonical JSON)."""
    return {"id": m.id, "number": m.number, "description": m.description, "deliverable": m.deliverable,
            "verification_means": m.verification_means, "owner": m.owner, "start_date": m.start_date,
            "end_date": m.end_date, "weight": m.weight, "progress_status": m.progress_status,
            "progress": prog.milestone_progress(m.progress_status, m.progress), "evidence_url": m.evidence_url,
            "evidence": _evidence_refs(attachments_of(OWNER_MILESTONE, [m.id]))}


def serialize_report(r: ProgressReport) -> dict:
    """Public content of a progress report (inside its commitment's canonical JSON)."""
    return {"id": r.id, "period_start": r.period_start, "period_end": r.period_end, "narrative": r.narrative,
            "progress": r.progress, "reported_by": r.reported_by, "evidence_url": r.evidence_url,
            "evidence": _evidence_refs(attachments_of(OWNER_REPORT, [r.id]))}


def serialize_commitment(c: Commitment) -> dict:
    """Public content of a commitment for canonical JSON: every public field (status and
    progress from :meth:`Commitment.figures`), its milestones and progress reports (with their
    evidence references)."""
    f = c.figures()
    return {
        "plan": {"id": c.plan.id, "number": c.plan.number, "title": c.plan.title},
        "number": c.number, "external_id": c.external_id, "title": c.title, "origin": c.origin,
        "description": c.description, "public_problem": c.public_problem, "objective": c.objective,
        "indicator": c.indicator, "baseline": c.baseline, "target": c.target, "unit": c.unit, "risks": c.risks,
        "og_values": list(c.og_values or []), "axis": c.axis, "sdg_goals": list(c.sdg_goals or []),
        "owner_institution": c.owner_institution,
        "co_responsible_government": list(c.co_responsible_government or []),
        "co_responsible_civil_society": list(c.co_responsible_civil_society or []),
        "contact_name": c.contact_name, "contact_email": c.contact_email,
        "start_date": c.start_date, "end_date": c.end_date,
        "progress_status": f.status, "progress": f.progress, "progress_manual": c.progress_manual,
        "progress_reason": c.progress_reason, "verified_by": c.verified_by, "verified_session": c.verified_session,
        "verification_url": c.verification_url,
        "irm": {"completion": c.irm_completion, "potential_for_results": c.irm_potential,
                "early_results": c.irm_early_results},
        "source": c.source, "notes": c.notes,
        "evidence": _evidence_refs(attachments_of(OWNER_COMMITMENT, [c.id])),
        "milestones": [serialize_milestone(m) for m in c.milestones],
        "progress_reports": [serialize_report(r) for r in c.reports],
    }


def serialize_plan(p: ActionPlan) -> dict:
    """Public content of a plan for canonical JSON, with its published commitments' number,
    title, status and progress and the rolled-up progress."""
    methodology = None
    if p.methodology_attachment_id:
        att = db.session.scalar(select(Attachment).where(Attachment.id == p.methodology_attachment_id))
        methodology = {"id": att.id, "filename": att.filename, "sha256": att.sha256} if att else None
    return {
        "number": p.number, "title": p.title, "summary": p.summary, "framework": p.framework,
        "axes": list(p.axes or []), "methodology_url": p.methodology_url, "methodology_document": methodology,
        "approval_date": p.approval_date, "valid_from": p.valid_from, "valid_until": p.valid_until,
        "phase": p.phase, "expected_commitments": p.expected_commitments, "source": p.source, "notes": p.notes,
        "progress": plan_progress(p),
        "commitments": [{"id": c.id, "number": c.number, "external_id": c.external_id, "title": c.title,
                         "progress_status": c.figures().status, "progress": c.figures().progress}
                        for c in published_commitments(p)],
    }


def commitment_label(c: Commitment) -> str:
    """``"Commitment 2: <title>"`` (translated)."""
    return _("Commitment %(n)s: %(title)s", n=c.number, title=c.title)


# --------------------------------------------------------------------------- search
def commitment_search_document(c: Commitment) -> dict:
    """Search fields of a published commitment."""
    parts = [c.description, c.public_problem, c.objective, c.indicator, c.owner_institution, c.axis,
             " ".join(c.co_responsible_government or []), " ".join(c.co_responsible_civil_society or []),
             plain_text(c.notes)]
    parts += [m.description + " " + m.deliverable for m in c.milestones]
    parts += [plain_text(r.narrative) for r in c.reports]
    keywords = [k for k in [c.external_id, *(c.sdg_goals or []), c.figures().status] if k]
    return {"title": f"{c.number}. {c.title} — {c.plan.title}", "body": " ".join(p for p in parts if p).strip(),
            "status": "corrected" if (c.version or 0) > 1 else "published", "date": c.published_at,
            "keywords": keywords}


def plan_search_document(p: ActionPlan) -> dict:
    """Search fields of a published plan."""
    parts = [p.summary, " ".join(p.axes or []), str(prog.FRAMEWORK_LABELS.get(p.framework, p.framework)),
             plain_text(p.notes)]
    parts += [c.title for c in published_commitments(p)]
    return {"title": p.title, "body": " ".join(x for x in parts if x).strip(),
            "status": "corrected" if (p.version or 0) > 1 else "published", "date": p.published_at,
            "keywords": [c.external_id for c in published_commitments(p) if c.external_id]}


# --------------------------------------------------------------------------- content types
COMMITMENT_TYPE = ContentType(
    name="commitment", plugin=PLUGIN, model=Commitment, label=_l("Commitment"), label_plural=_l("Commitments"),
    serialize=serialize_commitment, title=lambda c: f"{c.number}. {c.title}",
    url=lambda c: url_for("action_plans.commitment", tenant=c.tenant_id, commitment_id=c.id),
    search_document=commitment_search_document, attachments=commitment_attachments,
    admin_url=lambda c: url_for("admin_action_plans.commitment_edit", tenant=c.tenant_id, commitment_id=c.id),
)

PLAN_TYPE = ContentType(
    name="action_plan", plugin=PLUGIN, model=ActionPlan, label=_l("Action plan"), label_plural=_l("Action plans"),
    serialize=serialize_plan, title=lambda p: p.title,
    url=lambda p: url_for("action_plans.plan", tenant=p.tenant_id, plan_id=p.id),
    search_document=plan_search_document, attachments=plan_attachments,
    admin_url=lambda p: url_for("admin_action_plans.plan_detail", tenant=p.tenant_id, plan_id=p.id),
)

#: The plugin's content types (``register_content_types`` hook), plans first.
CONTENT_TYPES = [PLAN_TYPE, COMMITMENT_TYPE]


def iter_search_documents(tenant) -> Iterator[SearchDocument]:
    """Search documents of the current tenant's published plans, then commitments
    (``search_documents`` hook, used by a full reindex).

    Args:
        tenant: the tenant being indexed (its context is current).
    """
    for plan in db.session.scalars(select(ActionPlan).where(ActionPlan.status == "published")):
        doc = search_document_for(PLAN_TYPE, plan, tenant)
        if doc is not None:
            yield doc
    for commitment in db.session.scalars(select(Commitment).where(Commitment.status == "published")):
        doc = search_document_for(COMMITMENT_TYPE, commitment, tenant)
        if doc is not None:
            yield doc
