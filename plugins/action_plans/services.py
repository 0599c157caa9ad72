"""Action-plans services: tenant settings, evidence checks, progress recomputation and the
publishing rules that make every change of status or progress a published version.

The publishable units are the :class:`~plugins.action_plans.models.Commitment` (its milestones
and progress reports are serialized inside it) and the
:class:`~plugins.action_plans.models.ActionPlan` (which lists its published commitments with
their status and progress, so a plan's rolled-up progress is versioned too); what is frozen for
each is defined in :mod:`plugins.action_plans.content`.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

from flask_babel import gettext as _

from sqlalchemy import delete

from comun_cms.toolkit import (
    Attachment, ContentType, Publication, PublishError, canonical_content, correct, db, get_current_tenant,
    latest_publication, publish,
)

from . import progress as prog
from .content import COMMITMENT_TYPE, PLAN_TYPE, commitment_attachments
from .models import PLUGIN, ActionPlan, Commitment

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

def delete_attachments(owner_type: str, ids: Iterable[Any]) -> None:
    """Delete the evidence files of the given owners (records being deleted; not committed).

    Args:
        owner_type: one of the ``OWNER_*`` owner types of :mod:`plugins.action_plans.models`.
        ids: the owners' ids.
    """
    ids = [str(i) for i in ids]
    if ids:
        db.session.execute(delete(Attachment).where(Attachment.owner_type == owner_type, Attachment.owner_id.in_(ids)))


# --------------------------------------------------------------------------- progress
def figures(commitment: Commitment) -> prog.Figures:
    """The commitment's status, progress and bar (:func:`progress.commitment_figures`, the one
    definition), computed from its milestones now. Every surface shows these figures: the
    public commitment and plan pages and their bars, the admin, progress reports, the published
    content (and so the API), the open data, search and the portal widget."""
    return commitment.figures()


def recompute(commitment: Commitment) -> float | None:
    """Store the commitment's :func:`figures` in its ``progress_status`` and ``progress``
    columns (called by every write path before publishing). Returns the progress."""
    f = figures(commitment)
    commitment.progress_status, commitment.progress = f.status, f.progress
    return commitment.progress


def breakdown(commitment: Commitment) -> list[tuple[str, float]]:
    """Stacked-bar segments of a commitment (``figures(commitment).segments``)."""
    return list(figures(commitment).segments)


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
        pubs.append(correct(c, reason=reason, user=user, commit=False))
    if plan is not None and plan.status == "published" and content_changed(plan, PLAN_TYPE):
        if not (reason or "").strip():
            db.session.rollback()
            raise PublishError(_("The plan is published: give the reason for the correction."))
        pubs.append(correct(plan, reason=reason, user=user, commit=False))
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
    pubs = [publish(c, user=user, commit=False)]
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
        pubs.append(publish(c, user=user, commit=False))
    pubs.append(publish(plan, user=user, commit=False))
    return pubs


def next_number(numbers: Iterable[int]) -> int:
    """The next free number after ``numbers`` (1 when empty)."""
    return max(list(numbers) or [0]) + 1
