"""Action-plans services: tenant settings, evidence look-ups, serialization (content types),
progress recomputation and the publishing rules that make every change of status or progress a
published version.

The publishable units are the :class:`~plugins.action_plans.models.Commitment` (its milestones
and progress reports are serialized inside it) and the
:class:`~plugins.action_plans.models.ActionPlan` (which lists its published commitments with
their status and progress, so a plan's rolled-up progress is versioned too).
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

from flask import url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select

from comun_cms import publishing
from comun_cms.content_types import ContentType
from comun_cms.extensions import db
from comun_cms.models import Attachment, Publication
from comun_cms.publishing import PublishError, canonical_content, latest_publication
from comun_cms.richtext import plain_text
from comun_cms.tenancy import get_current_tenant

from plugins.action_plans import progress as prog
from plugins.action_plans.models import (
    OWNER_COMMITMENT, OWNER_MILESTONE, OWNER_PLAN, OWNER_REPORT, ActionPlan, Commitment, Milestone, ProgressReport,
)

PLUGIN = "action_plans"

#: Default values of the tenant settings (tenant_settings hook). Source of the defaults of
#: five commitments and twelve months: "plan_defaults" in shared/data/action_plans.json
#: (co-creation workshop document).
DEFAULT_SETTINGS = {
    "default_commitments": 5,
    "validity_months": 12,
    "statuses": list(prog.STATUSES),
    "agenda_days": 120,
}


# --------------------------------------------------------------------------- settings
def setting(tenant, key: str) -> Any:
    """Return the tenant's value of setting ``key`` (the default when the tenant has none)."""
    try:
        return tenant.setting(PLUGIN, key)
    except KeyError:
        return DEFAULT_SETTINGS[key]


def statuses(tenant=None) -> tuple[str, ...]:
    """The statuses the tenant uses, in forward order (setting ``statuses``; always in the
    canonical order of :data:`~plugins.action_plans.progress.STATUSES`)."""
    tenant = tenant or get_current_tenant()
    chosen = set(setting(tenant, "statuses") if tenant else prog.STATUSES)
    return tuple(s for s in prog.STATUSES if s in chosen) or prog.STATUSES


def status_choices(tenant=None, blank: bool = False) -> list[tuple[str, Any]]:
    """``(code, label)`` pairs of the tenant's statuses (with ``("", "No information")`` first
    when ``blank``)."""
    items = [(s, prog.STATUS_LABELS[s]) for s in statuses(tenant)]
    return ([("", prog.STATUS_LABELS[""])] if blank else []) + items


# --------------------------------------------------------------------------- evidence
def attachments_of(owner_type: str, owner_ids: Iterable[Any]) -> list[Attachment]:
    """Attachments of the given owners (current tenant), ordered by id."""
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


def plan_attachments(plan: ActionPlan) -> list[Attachment]:
    """Documents of a plan (methodology and others)."""
    if plan.id is None:
        return []
    return attachments_of(OWNER_PLAN, [plan.id])


def has_evidence(commitment: Commitment, extra_urls: Sequence[str] = ()) -> bool:
    """``True`` if the commitment has an evidence file, or an evidence link on itself, a
    milestone or a report (``extra_urls`` counts links about to be saved)."""
    if any(u.strip() for u in extra_urls if u):
        return True
    if commitment.verification_url:
        return True
    if any(m.evidence_url for m in commitment.milestones) or any(r.evidence_url for r in commitment.reports):
        return True
    return bool(commitment_attachments(commitment))


def _evidence_refs(attachments: list[Attachment]) -> list[dict]:
    return [{"id": a.id, "filename": a.filename, "sha256": a.sha256} for a in attachments]


# --------------------------------------------------------------------------- progress
def recompute(commitment: Commitment) -> float | None:
    """Recompute and store the commitment's progress (weighted mean of its milestones unless
    set by hand). Returns the new value."""
    commitment.progress = prog.commitment_progress(commitment.milestones, commitment.progress_status,
                                                   commitment.progress_manual, commitment.progress)
    return commitment.progress


def published_commitments(plan: ActionPlan) -> list[Commitment]:
    """The plan's published commitments, by number."""
    return [c for c in plan.commitments if c.status == "published"]


def plan_progress(plan: ActionPlan, only_published: bool = True) -> float | None:
    """Rolled-up progress of a plan: mean of its (published) commitments' known progress."""
    items = published_commitments(plan) if only_published else plan.commitments
    return prog.plan_progress(c.progress for c in items)


def breakdown(commitment: Commitment) -> list[tuple[str, float]]:
    """Stacked-bar segments of a commitment (see :func:`progress.status_breakdown`)."""
    return prog.status_breakdown(commitment.milestones, commitment.progress_status, commitment.progress)


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
    """Public content of a commitment for canonical JSON: every public field, its milestones and
    progress reports (with their evidence references)."""
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
        "progress_status": c.progress_status, "progress": c.progress, "progress_manual": c.progress_manual,
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
                         "progress_status": c.progress_status, "progress": c.progress}
                        for c in published_commitments(p)],
    }


def commitment_label(c: Commitment) -> str:
    """``"Commitment 2: <title>"`` (translated)."""
    return _("Commitment %(n)s: %(title)s", n=c.number, title=c.title)


def commitment_search_document(c: Commitment) -> dict:
    """Search fields of a published commitment."""
    parts = [c.description, c.public_problem, c.objective, c.indicator, c.owner_institution, c.axis,
             " ".join(c.co_responsible_government or []), " ".join(c.co_responsible_civil_society or []),
             plain_text(c.notes)]
    parts += [m.description + " " + m.deliverable for m in c.milestones]
    parts += [plain_text(r.narrative) for r in c.reports]
    keywords = [k for k in [c.external_id, *(c.sdg_goals or []), c.progress_status] if k]
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


# --------------------------------------------------------------------------- publishing rules
def latest_sha(content_type: str, record_id: Any) -> str | None:
    """SHA-256 of the record's newest publication in the current tenant, or ``None``."""
    pub = latest_publication(content_type, record_id)
    return pub.sha256 if pub else None


def content_changed(record: Any, content_type: ContentType) -> bool:
    """``True`` when the record's current content (or evidence) differs from its newest
    published version (always ``True`` for a record never published)."""
    latest = latest_publication(content_type.name, record.id)
    if latest is None:
        return True
    frozen = json.loads(latest.canonical_json)
    tenant = get_current_tenant()
    now = json.loads(json.dumps(canonical_content(record, content_type, tenant.slug, 0, "correct")))
    return now["content"] != frozen.get("content") or now["attachments"] != frozen.get("attachments")


def commitment_problems(c: Commitment) -> list[str]:
    """Problems that stop a commitment from being published (translated messages): no title,
    dates out of order, milestone weights not adding up to 100, verified without verifier or
    evidence, a manual progress without a reason."""
    problems = []
    if not (c.title or "").strip():
        problems.append(_("The commitment has no title."))
    p = prog.date_order_problem(c.start_date, c.end_date)
    if p:
        problems.append(str(p))
    if c.milestones:
        total = prog.weights_total(m.weight for m in c.milestones)
        if not prog.weights_ok(total):
            problems.append(_("The weights of the milestones add up to %(total)s, not 100.", total=total))
    p = prog.verification_problem(c.progress_status, c.verified_by, has_evidence(c))
    if p:
        problems.append(str(p))
    if c.progress_manual and not (c.progress_reason or "").strip():
        problems.append(_("The progress was set by hand without a reason."))
    return problems


def republish(commitments: Sequence[Commitment], plan: ActionPlan | None, reason: str, user) -> list[Publication]:
    """Publish a correction of every published record among ``commitments`` and ``plan`` whose
    content changed (commitments first, so the plan lists their new figures).

    Does not commit (the caller commits or rolls back the whole change).

    Args:
        commitments: commitments that may have changed (their progress is recomputed first).
        plan: their plan (``None`` to skip it).
        reason: the correction reason (published with each new version).
        user: who publishes.

    Returns:
        The new publications.

    Raises:
        PublishError: a changed published record has problems (:func:`commitment_problems`),
            the reason is empty, or publishing failed; the session has then been rolled back.
    """
    pubs = []
    for c in commitments:
        recompute(c)
    db.session.flush()
    for c in commitments:
        if c.status != "published" or not content_changed(c, COMMITMENT_TYPE):
            continue
        problems = commitment_problems(c)
        if problems:
            db.session.rollback()
            raise PublishError(_("Commitment %(n)s cannot be published: %(problems)s", n=c.number,
                                 problems=" ".join(problems)))
        if not (reason or "").strip():
            db.session.rollback()
            raise PublishError(_("Commitment %(n)s is published: give the reason for the correction.", n=c.number))
        pubs.append(publishing.correct(c, reason=reason, user=user, commit=False))
    if plan is not None and plan.status == "published" and content_changed(plan, PLAN_TYPE):
        if not (reason or "").strip():
            db.session.rollback()
            raise PublishError(_("The plan is published: give the reason for the correction."))
        pubs.append(publishing.correct(plan, reason=reason, user=user, commit=False))
    return pubs


def publish_commitment(c: Commitment, user) -> list[Publication]:
    """Publish a draft commitment (its plan must be published) and correct the plan so it lists
    it. Does not commit.

    Raises:
        PublishError: the plan is a draft, the commitment is not a draft or has problems.
    """
    if c.plan.status != "published":
        raise PublishError(_("Publish the plan first; its commitments are published with it or after it."))
    recompute(c)
    problems = commitment_problems(c)
    if problems:
        raise PublishError(" ".join(problems))
    pubs = [publishing.publish(c, user=user, commit=False)]
    pubs += republish([], c.plan, _("Commitment %(n)s published.", n=c.number), user)
    return pubs


def publish_plan(plan: ActionPlan, user) -> list[Publication]:
    """Publish a draft plan together with its draft commitments (one transaction, not
    committed here). Commitments with problems stop the whole publication.

    Raises:
        PublishError: the plan is not a draft, has no title, or a commitment has problems.
    """
    if plan.status != "draft":
        raise PublishError(_("The plan is already published."))
    if not (plan.title or "").strip():
        raise PublishError(_("The plan has no title."))
    p = prog.date_order_problem(plan.valid_from, plan.valid_until)
    if p:
        raise PublishError(str(p))
    pubs = []
    for c in plan.commitments:
        if c.status != "draft":
            continue
        recompute(c)
        problems = commitment_problems(c)
        if problems:
            raise PublishError(_("Commitment %(n)s cannot be published: %(problems)s", n=c.number,
                                 problems=" ".join(problems)))
        pubs.append(publishing.publish(c, user=user, commit=False))
    pubs.append(publishing.publish(plan, user=user, commit=False))
    return pubs


def next_number(numbers: Iterable[int]) -> int:
    """The next free number after ``numbers`` (1 when empty)."""
    return max(list(numbers) or [0]) + 1
