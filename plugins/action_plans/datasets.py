"""Open datasets of the action-plans plugin (``open_datasets`` hook): published plans,
commitments and milestones of the current tenant, each row with the ``version`` and
``content_sha256`` of the publication it comes from (a milestone comes from its commitment's
publication, where it is serialized)."""
from __future__ import annotations

from flask import g, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.toolkit import Dataset, DatasetField, Publication, db, get_current_tenant

from . import progress as prog
from .content import plan_progress, published_commitments
from .models import PLUGIN, ActionPlan, Commitment

F = DatasetField


def _shas(content_type: str, records) -> dict[str, str]:
    """``{record id: sha256}`` of the publication matching each record's current version."""
    wanted = {str(r.id): r.version for r in records}
    if not wanted:
        return {}
    out = {}
    for pub in db.session.scalars(select(Publication).where(Publication.content_type == content_type,
                                                            Publication.record_id.in_(list(wanted)))):
        if wanted.get(pub.record_id) == pub.version:
            out[pub.record_id] = pub.sha256
    return out


def _published_plans() -> list[ActionPlan]:
    return list(db.session.scalars(select(ActionPlan).where(ActionPlan.status == "published").order_by(ActionPlan.number)))


def _published_commitments() -> list[Commitment]:
    return list(db.session.scalars(
        select(Commitment).join(ActionPlan, Commitment.plan_id == ActionPlan.id)
        .where(Commitment.status == "published", ActionPlan.status == "published")
        .order_by(ActionPlan.number, Commitment.number)))


def plan_rows():
    """Rows of the ``action_plans`` dataset."""
    plans = _published_plans()
    shas = _shas("action_plan", plans)
    for p in plans:
        commitments = published_commitments(p)
        yield {"id": p.id, "number": p.number, "title": p.title, "framework": p.framework, "phase": p.phase,
               "axes": list(p.axes or []), "approval_date": p.approval_date, "valid_from": p.valid_from,
               "valid_until": p.valid_until, "expected_commitments": p.expected_commitments,
               "commitments": len(commitments), "progress": plan_progress(p), "source": p.source,
               "is_demo": p.is_demo, "published_at": p.published_at, "version": p.version,
               "content_sha256": shas.get(str(p.id)),
               "url": url_for("action_plans.plan", tenant=p.tenant_id, plan_id=p.id, _external=True)}


def commitment_rows():
    """Rows of the ``commitments`` dataset."""
    commitments = _published_commitments()
    shas = _shas("commitment", commitments)
    for c in commitments:
        f = c.figures()
        yield {"id": c.id, "plan_id": c.plan_id, "plan_number": c.plan.number, "number": c.number,
               "external_id": c.external_id, "title": c.title, "origin": c.origin,
               "owner_institution": c.owner_institution, "axis": c.axis, "sdg_goals": list(c.sdg_goals or []),
               "og_values": list(c.og_values or []), "start_date": c.start_date, "end_date": c.end_date,
               "status": f.status, "progress": f.progress, "progress_manual": c.progress_manual,
               "progress_reason": c.progress_reason, "milestones": len(c.milestones), "verified_by": c.verified_by,
               "verified_session": c.verified_session, "irm_completion": c.irm_completion,
               "irm_potential_for_results": c.irm_potential, "irm_early_results": c.irm_early_results,
               "source": c.source, "is_demo": c.is_demo, "published_at": c.published_at, "version": c.version,
               "content_sha256": shas.get(str(c.id)),
               "url": url_for("action_plans.commitment", tenant=c.tenant_id, commitment_id=c.id, _external=True)}


def milestone_rows():
    """Rows of the ``milestones`` dataset (``overdue`` is computed for today in the tenant's
    time zone)."""
    commitments = _published_commitments()
    shas = _shas("commitment", commitments)
    tenant = get_current_tenant() or g.tenant
    today = prog.tenant_today(tenant)
    for c in commitments:
        for m in c.milestones:
            yield {"id": m.id, "commitment_id": c.id, "plan_number": c.plan.number, "commitment_number": c.number,
                   "number": m.number, "description": m.description, "deliverable": m.deliverable,
                   "verification_means": m.verification_means, "owner": m.owner, "start_date": m.start_date,
                   "end_date": m.end_date, "weight": m.weight, "status": m.progress_status,
                   "progress": prog.milestone_progress(m.progress_status, m.progress),
                   "overdue": prog.is_overdue(m.end_date, m.progress_status, today), "evidence_url": m.evidence_url,
                   "is_demo": c.is_demo, "version": c.version, "content_sha256": shas.get(str(c.id))}


_COMMON = (
    F("is_demo", "boolean", _l("Demo data, not real")),
    F("version", "integer", _l("Published version number")),
    F("content_sha256", "string", _l("SHA-256 of the version's canonical JSON")),
)


def datasets() -> list[Dataset]:
    """The plugin's three datasets (plans, commitments, milestones)."""
    return [
        Dataset(name="action-plans", title=_l("Action plans"), plugin=PLUGIN,
                description=_l("Published local open-government action plans with their rolled-up progress."),
                fields=(F("id", "integer", _l("Record identifier")), F("number", "integer", _l("Plan number")),
                        F("title", "string", _l("Title")),
                        F("framework", "string", _l("Framework: inai_cocreation, ogp_local, ogp_national or own")),
                        F("phase", "string", _l("Phase: co_creation, implementation, concluded, evaluated (empty: not reported)")),
                        F("axes", "string", _l("Thematic axes (JSON list)")),
                        F("approval_date", "date", _l("Approval date")), F("valid_from", "date", _l("Valid from")),
                        F("valid_until", "date", _l("Valid until")),
                        F("expected_commitments", "integer", _l("Expected number of commitments")),
                        F("commitments", "integer", _l("Published commitments")),
                        F("progress", "number", _l("Progress: mean of the commitments' known progress (percent)")),
                        F("source", "string", _l("Source of the facts")),
                        F("published_at", "datetime", _l("Date of the current version (UTC)")),
                        *_COMMON, F("url", "string", _l("Public address"))),
                rows=plan_rows),
        Dataset(name="commitments", title=_l("Commitments"), plugin=PLUGIN,
                description=_l("Published commitments of the action plans, with status and progress."),
                fields=(F("id", "integer", _l("Record identifier")), F("plan_id", "integer", _l("Plan identifier")),
                        F("plan_number", "integer", _l("Plan number")), F("number", "integer", _l("Commitment number")),
                        F("external_id", "string", _l("External identifier (e.g. OGP)")), F("title", "string", _l("Title")),
                        F("origin", "string", _l("Origin: co_created or proactive")),
                        F("owner_institution", "string", _l("Owner institution")), F("axis", "string", _l("Axis")),
                        F("sdg_goals", "string", _l("SDG goals and targets (JSON list)")),
                        F("og_values", "string", _l("Open-government values (JSON list)")),
                        F("start_date", "date", _l("Start date")), F("end_date", "date", _l("End date")),
                        F("status", "string", _l("Status: not_started, started, completed, verified (empty: not reported)")),
                        F("progress", "number", _l("Progress (percent; empty: not reported)")),
                        F("progress_manual", "boolean", _l("Progress set by hand instead of computed from the milestones")),
                        F("progress_reason", "string", _l("Reason for a progress set by hand")),
                        F("milestones", "integer", _l("Number of milestones")),
                        F("verified_by", "string", _l("Who verified it")),
                        F("verified_session", "string", _l("STL session in which it was verified")),
                        F("irm_completion", "string", _l("OGP IRM: completion")),
                        F("irm_potential_for_results", "string", _l("OGP IRM: potential for results")),
                        F("irm_early_results", "string", _l("OGP IRM: early results")),
                        F("source", "string", _l("Source of the facts")),
                        F("published_at", "datetime", _l("Date of the current version (UTC)")),
                        *_COMMON, F("url", "string", _l("Public address"))),
                rows=commitment_rows),
        Dataset(name="milestones", title=_l("Milestones"), plugin=PLUGIN,
                description=_l("Milestones of the published commitments; version and SHA-256 are those of the commitment."),
                fields=(F("id", "integer", _l("Record identifier")), F("commitment_id", "integer", _l("Commitment identifier")),
                        F("plan_number", "integer", _l("Plan number")),
                        F("commitment_number", "integer", _l("Commitment number")),
                        F("number", "integer", _l("Milestone number")), F("description", "string", _l("Description")),
                        F("deliverable", "string", _l("Deliverable")),
                        F("verification_means", "string", _l("Means of verification")), F("owner", "string", _l("Owner")),
                        F("start_date", "date", _l("Start date")), F("end_date", "date", _l("End date")),
                        F("weight", "number", _l("Weight in the commitment (percent)")),
                        F("status", "string", _l("Status: not_started, started, completed, verified")),
                        F("progress", "number", _l("Progress (percent)")),
                        F("overdue", "boolean", _l("End date passed (tenant time zone) and not completed")),
                        F("evidence_url", "string", _l("Link to evidence")), *_COMMON),
                rows=milestone_rows),
    ]
