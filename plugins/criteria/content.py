"""Content types (what is frozen at publication), search documents and open datasets of the
criteria plugin.

Three publishable record kinds:

* ``criteria_framework``: a framework version with its categories and criteria;
* ``evaluation_cycle``: a cycle with every assessment (self-assessment and evaluators'),
  evidence (URL, capture date, SHA-256 of the uploaded snapshot), the secretariat's replies, the
  evaluators' declarations and the score snapshot;
* ``recommendation``: a recommendation with the criteria it is about, the secretariat's answer
  and the follow-up reports.
"""
from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from comun_cms.toolkit import Attachment, ContentType, Dataset, DatasetField, Publication, db, search_document_for

from . import scoring
from .framework_io import criterion_content, format_points, framework_content
from .models import Assessment, CriteriaFramework, EvaluationCycle, Recommendation
from .services import STATUS_LABELS, cycle_rows, recommendation_age, recommendation_status


# --------------------------------------------------------------------------- serialization
def serialize_framework(fw: CriteriaFramework) -> dict:
    """Published content of a framework version: :func:`framework_content` plus its hash."""
    return {**framework_content(fw), "content_sha256": fw.content_sha256}


def assessment_content(a: Assessment) -> dict:
    """Public content of one assessment and its reply."""
    reply = a.reply
    return {
        "evaluator_role": a.evaluator_role, "evaluator_name": a.evaluator_name, "organization": a.organization,
        "result": a.result, "value": a.value, "comment": a.comment, "evidence_url": a.evidence_url,
        "evidence_captured_on": a.evidence_captured_on,
        "evidence_sha256": a.attachment.sha256 if a.attachment is not None else None,
        "assessed_at": a.assessed_at,
        "reply": None if reply is None else {"body": reply.body, "evidence_url": reply.evidence_url,
                                             "author_name": reply.author_name, "replied_at": reply.replied_at},
    }


def serialize_cycle(cycle: EvaluationCycle) -> dict:
    """Published content of a cycle: dates, stage, framework version (slug, version, content
    hash), declarations, one entry per criterion with the self-assessment and the evaluators'
    assessments (each with its reply), and the score snapshot."""
    fw = cycle.framework
    rows = cycle_rows(cycle)
    return {
        "title": cycle.title, "period_label": cycle.period_label, "period_start": cycle.period_start,
        "period_end": cycle.period_end, "cutoff_date": cycle.cutoff_date, "reply_deadline": cycle.reply_deadline,
        "stage": cycle.stage, "methodology": cycle.methodology,
        "framework": {"record_id": fw.id, "slug": fw.slug, "version_label": fw.version_label, "name": fw.name,
                      "content_sha256": fw.content_sha256},
        "declarations": [{"evaluator_role": d.evaluator_role, "name": d.name, "organization": d.organization,
                          "has_conflict": d.has_conflict, "conflict_description": d.conflict_description,
                          "declared_at": d.declared_at} for d in cycle.declarations],
        "criteria": [{
            "code": r.criterion.code, "category": r.criterion.category.code, "title": r.criterion.title,
            "points": format_points(r.criterion.points_x100), "scoring_type": r.criterion.scoring_type,
            "applies": r.applies, "status": r.status, "fraction": scoring.round2(r.fraction, 4),
            "disagreement": r.disagreement,
            "self_assessment": assessment_content(r.self_assessment) if r.self_assessment else None,
            "evaluations": [assessment_content(a) for a in r.evaluations],
        } for r in rows],
        "scores": cycle.scores,
    }


def cycle_attachments(cycle: EvaluationCycle) -> list[Attachment]:
    """Evidence snapshots uploaded with the cycle's assessments."""
    return [a.attachment for a in cycle.assessments if a.attachment is not None]


def serialize_recommendation(rec: Recommendation) -> dict:
    """Published content of a recommendation, with its criteria, answer and follow-ups."""
    return {
        "number": rec.number, "title": rec.title, "body": rec.body,
        "cycle": None if rec.cycle is None else {"record_id": rec.cycle.id, "title": rec.cycle.title},
        "criteria": [{"code": c.code, "title": c.title, "framework_slug": c.framework.slug,
                      "framework_version": c.framework.version_label} for c in rec.criteria],
        "issued_on": rec.issued_on, "issuer_name": rec.issuer_name, "issuer_organization": rec.issuer_organization,
        "answer": rec.answer, "answer_reason": rec.answer_reason, "answered_at": rec.answered_at,
        "answered_by_name": rec.answered_by_name, "progress": rec.progress, "closed_on": rec.closed_on,
        "followups": [{"reported_on": f.reported_on, "body": f.body, "progress": f.progress,
                       "evidence_url": f.evidence_url, "author_name": f.author_name} for f in rec.followups],
    }


# --------------------------------------------------------------------------- search
def framework_search_document(fw: CriteriaFramework) -> dict:
    """Search fields of a framework version."""
    body = " ".join([fw.description] + [f"{c.code} {c.title} {c.legal_basis}" for c in fw.criteria])
    return {"title": f"{fw.name} ({fw.version_label})", "body": body, "status": "published",
            "date": fw.published_at, "keywords": ["criterios", fw.slug] + [c.code for c in fw.criteria]}


def cycle_search_document(cycle: EvaluationCycle) -> dict:
    """Search fields of a published cycle (comments and replies included)."""
    parts = [cycle.title, cycle.period_label, cycle.framework.name, cycle.methodology]
    for a in cycle.assessments:
        parts += [a.criterion.code, a.criterion.title, a.comment]
        if a.reply is not None:
            parts.append(a.reply.body)
    total = (cycle.scores or {}).get("total")
    return {"title": cycle.title, "body": " ".join(p for p in parts if p), "status": "published",
            "date": cycle.published_at, "keywords": ["evaluación", "criterios", cycle.period_label]
            + ([f"puntaje {total}"] if total is not None else [])}


def recommendation_search_document(rec: Recommendation) -> dict:
    """Search fields of a recommendation."""
    parts = [rec.title, rec.body, rec.answer_reason] + [f.body for f in rec.followups] + [c.title for c in rec.criteria]
    return {"title": f"{rec.number} · {rec.title}", "body": " ".join(p for p in parts if p),
            "status": recommendation_status(rec), "date": rec.published_at,
            "keywords": ["recomendación", rec.number] + [c.code for c in rec.criteria]}


FRAMEWORK_TYPE = ContentType(
    name="criteria_framework", plugin="criteria", model=CriteriaFramework,
    label=_l("Criteria framework"), label_plural=_l("Criteria frameworks"),
    serialize=serialize_framework, title=lambda fw: f"{fw.name} ({fw.version_label})",
    url=lambda fw: url_for("criteria.framework", tenant=fw.tenant_id, framework_id=fw.id),
    search_document=framework_search_document,
    admin_url=lambda fw: url_for("admin_criteria.framework_detail", tenant=fw.tenant_id, framework_id=fw.id),
)
CYCLE_TYPE = ContentType(
    name="evaluation_cycle", plugin="criteria", model=EvaluationCycle,
    label=_l("Evaluation cycle"), label_plural=_l("Evaluation cycles"),
    serialize=serialize_cycle, title=lambda c: c.title,
    url=lambda c: url_for("criteria.cycle", tenant=c.tenant_id, cycle_id=c.id),
    search_document=cycle_search_document, attachments=cycle_attachments,
    admin_url=lambda c: url_for("admin_criteria.cycle_detail", tenant=c.tenant_id, cycle_id=c.id),
)
RECOMMENDATION_TYPE = ContentType(
    name="recommendation", plugin="criteria", model=Recommendation,
    label=_l("Recommendation"), label_plural=_l("Recommendations"),
    serialize=serialize_recommendation, title=lambda r: f"{r.number} · {r.title}",
    url=lambda r: url_for("criteria.recommendation", tenant=r.tenant_id, rec_id=r.id),
    search_document=recommendation_search_document, status_labels=STATUS_LABELS,
    admin_url=lambda r: url_for("admin_criteria.recommendation_detail", tenant=r.tenant_id, rec_id=r.id),
)
CONTENT_TYPES = [FRAMEWORK_TYPE, CYCLE_TYPE, RECOMMENDATION_TYPE]


def iter_search_documents(tenant):
    """Yield the search document of every published framework, cycle and recommendation."""
    for ct in CONTENT_TYPES:
        for record in db.session.scalars(select(ct.model).where(ct.model.status == "published")
                                         .order_by(ct.model.id)):
            doc = search_document_for(ct, record, tenant)
            if doc is not None:
                yield doc


# --------------------------------------------------------------------------- open data
def current_shas(content_type: str) -> dict[tuple[str, int], str]:
    """``{(record id, version): sha256}`` of the current tenant's publications of a type."""
    rows = db.session.execute(select(Publication.record_id, Publication.version, Publication.sha256)
                              .where(Publication.content_type == content_type))
    return {(r.record_id, r.version): r.sha256 for r in rows}


def _published(model):
    return db.session.scalars(select(model).where(model.status == "published").order_by(model.id))


def framework_rows():
    """One row per criterion of every published framework version."""
    shas = current_shas(FRAMEWORK_TYPE.name)
    for fw in _published(CriteriaFramework):
        sha = shas.get((str(fw.id), fw.version))
        for c in fw.criteria:
            yield {"framework_id": fw.id, "framework_slug": fw.slug, "framework_version": fw.version_label,
                   "framework_content_sha256": fw.content_sha256, "category_name": c.category.name,
                   **criterion_content(c), "points": float(c.points), "published_at": fw.published_at, "version": fw.version,
                   "content_sha256": sha, "is_demo": fw.is_demo,
                   "url": url_for("criteria.framework", tenant=fw.tenant_id, framework_id=fw.id, _external=True)}


def cycle_dataset_rows():
    """One row per published cycle with its scores."""
    shas = current_shas(CYCLE_TYPE.name)
    for cycle in _published(EvaluationCycle):
        s = cycle.scores or {}
        yield {"id": cycle.id, "title": cycle.title, "period_label": cycle.period_label,
               "period_start": cycle.period_start, "period_end": cycle.period_end, "cutoff_date": cycle.cutoff_date,
               "framework_slug": cycle.framework.slug, "framework_version": cycle.framework.version_label,
               "framework_content_sha256": cycle.framework.content_sha256, "total_score": s.get("total"),
               "self_assessment_score": s.get("self_assessment_total"), "criteria_scored": s.get("scored"),
               "criteria_not_applicable": s.get("not_applicable"),
               "category_scores": {c["code"]: c["percent"] for c in s.get("categories", [])},
               "disagreements": s.get("disagreements", []), "evaluators": len(cycle.declarations),
               "published_at": cycle.published_at, "version": cycle.version,
               "content_sha256": shas.get((str(cycle.id), cycle.version)), "is_demo": cycle.is_demo,
               "url": url_for("criteria.cycle", tenant=cycle.tenant_id, cycle_id=cycle.id, _external=True)}


def assessment_rows():
    """One row per assessment (self-assessment and evaluators') of every published cycle."""
    shas = current_shas(CYCLE_TYPE.name)
    for cycle in _published(EvaluationCycle):
        sha = shas.get((str(cycle.id), cycle.version))
        for a in sorted(cycle.assessments, key=lambda a: (a.criterion.position, a.slot != "self", a.id)):
            yield {"cycle_id": cycle.id, "cycle_title": cycle.title, "criterion_code": a.criterion.code,
                   "category": a.criterion.category.code, "evaluator_role": a.evaluator_role,
                   "evaluator_name": a.evaluator_name, "organization": a.organization, "result": a.result,
                   "value": a.value,
                   "fraction": scoring.round2(scoring.fraction_for(a.criterion.scoring_type, a.result, a.value), 4),
                   "comment": a.comment, "evidence_url": a.evidence_url,
                   "evidence_captured_on": a.evidence_captured_on,
                   "evidence_sha256": a.attachment.sha256 if a.attachment else None,
                   "reply": a.reply.body if a.reply else "", "replied_at": a.reply.replied_at if a.reply else None,
                   "version": cycle.version, "content_sha256": sha, "is_demo": cycle.is_demo}


def recommendation_rows():
    """One row per published recommendation with status and age in days."""
    shas = current_shas(RECOMMENDATION_TYPE.name)
    for rec in _published(Recommendation):
        last = rec.followups[-1] if rec.followups else None
        yield {"id": rec.id, "number": rec.number, "title": rec.title, "body": rec.body,
               "criteria": [c.code for c in rec.criteria], "cycle_id": rec.cycle_id, "issued_on": rec.issued_on,
               "issuer_organization": rec.issuer_organization, "answer": rec.answer,
               "answer_reason": rec.answer_reason, "progress": rec.progress, "status": recommendation_status(rec),
               "age_days": recommendation_age(rec), "closed_on": rec.closed_on, "followups": len(rec.followups),
               "last_followup_on": last.reported_on if last else None, "version": rec.version,
               "content_sha256": shas.get((str(rec.id), rec.version)), "is_demo": rec.is_demo,
               "url": url_for("criteria.recommendation", tenant=rec.tenant_id, rec_id=rec.id, _external=True)}


_COMMON = (
    DatasetField("version", "integer", _l("Published version number of the record")),
    DatasetField("content_sha256", "string", _l("SHA-256 of the record's current published version")),
    DatasetField("is_demo", "boolean", _l("Demo data, not real")),
)


def datasets() -> list[Dataset]:
    """The plugin's open datasets (published records of the current tenant only)."""
    return [
        Dataset(name="criteria-framework", plugin="criteria", title=_l("Criteria framework"),
                description=_l("Every criterion of every published version of the criteria framework, with legal "
                               "basis (marked when unverified), points, periodicity and evidence rule."),
                fields=(
                    DatasetField("framework_id", "integer", _l("Framework version identifier")),
                    DatasetField("framework_slug", "string", _l("Framework name (slug)")),
                    DatasetField("framework_version", "string", _l("Framework version")),
                    DatasetField("framework_content_sha256", "string",
                                 _l("SHA-256 of the framework content, equal in every state using the version")),
                    DatasetField("code", "string", _l("Criterion code")),
                    DatasetField("category", "string", _l("Category code")),
                    DatasetField("category_name", "string", _l("Category")),
                    DatasetField("title", "string", _l("Criterion")),
                    DatasetField("description", "string", _l("Description")),
                    DatasetField("legal_basis", "string", _l("Legal basis as cited in this version")),
                    DatasetField("legal_basis_url", "string", _l("Link to the legal basis")),
                    DatasetField("legal_basis_unverified", "boolean",
                                 _l("The legal basis is not verified against the state law")),
                    DatasetField("applies_to", "string", _l("States the criterion applies to (all or slugs)")),
                    DatasetField("scoring_type", "string", _l("binary, scale (0-1-2) or percentage")),
                    DatasetField("points", "number", _l("Points (weight) of the criterion")),
                    DatasetField("periodicity", "string", _l("How often the information must be updated")),
                    DatasetField("deadline_days", "integer", _l("Publication deadline in days")),
                    DatasetField("evidence_required", "boolean", _l("Evidence is required")),
                    DatasetField("verification_guide", "string", _l("How to verify the criterion")),
                    DatasetField("source", "string", _l("Source of the criterion")),
                    DatasetField("published_at", "datetime", _l("Date of the current version (UTC)")),
                    *_COMMON, DatasetField("url", "string", _l("Public address")),
                ), rows=framework_rows),
        Dataset(name="evaluation-cycles", plugin="criteria", title=_l("Evaluation cycles"),
                description=_l("Published evaluation cycles with the total score, the self-assessment score and the "
                               "score of each category (0-100, normalized over applicable criteria)."),
                fields=(
                    DatasetField("id", "integer", _l("Record identifier")),
                    DatasetField("title", "string", _l("Title")),
                    DatasetField("period_label", "string", _l("Period evaluated")),
                    DatasetField("period_start", "date", _l("Start of the period")),
                    DatasetField("period_end", "date", _l("End of the period")),
                    DatasetField("cutoff_date", "date", _l("Cut-off date of the evaluation")),
                    DatasetField("framework_slug", "string", _l("Framework name (slug)")),
                    DatasetField("framework_version", "string", _l("Framework version")),
                    DatasetField("framework_content_sha256", "string", _l("SHA-256 of the framework content")),
                    DatasetField("total_score", "number", _l("Total score 0-100")),
                    DatasetField("self_assessment_score", "number", _l("Score of the self-assessment 0-100")),
                    DatasetField("criteria_scored", "integer", _l("Criteria scored")),
                    DatasetField("criteria_not_applicable", "integer", _l("Criteria not applicable")),
                    DatasetField("category_scores", "string", _l("Score of each category (JSON)")),
                    DatasetField("disagreements", "string", _l("Criteria where evaluators disagree (JSON)")),
                    DatasetField("evaluators", "integer", _l("Number of evaluators who declared")),
                    DatasetField("published_at", "datetime", _l("Date of the current version (UTC)")),
                    *_COMMON, DatasetField("url", "string", _l("Public address")),
                ), rows=cycle_dataset_rows),
        Dataset(name="criteria-assessments", plugin="criteria", title=_l("Assessments and replies"),
                description=_l("Every assessment of the published evaluation cycles, with its evidence and the "
                               "secretariat's reply."),
                fields=(
                    DatasetField("cycle_id", "integer", _l("Evaluation cycle")),
                    DatasetField("cycle_title", "string", _l("Title of the cycle")),
                    DatasetField("criterion_code", "string", _l("Criterion code")),
                    DatasetField("category", "string", _l("Category code")),
                    DatasetField("evaluator_role", "string",
                                 _l("self_assessment, citizen_committee, observatory or external")),
                    DatasetField("evaluator_name", "string", _l("Evaluator")),
                    DatasetField("organization", "string", _l("Organization")),
                    DatasetField("result", "string", _l("met, partial, not_met or not_applicable")),
                    DatasetField("value", "integer", _l("Raw score (binary 0-1, scale 0-2, percentage 0-100)")),
                    DatasetField("fraction", "number", _l("Score as a fraction 0-1")),
                    DatasetField("comment", "string", _l("Comment")),
                    DatasetField("evidence_url", "string", _l("Evidence address")),
                    DatasetField("evidence_captured_on", "date", _l("Date the evidence was captured")),
                    DatasetField("evidence_sha256", "string", _l("SHA-256 of the uploaded evidence snapshot")),
                    DatasetField("reply", "string", _l("Reply of the secretariat")),
                    DatasetField("replied_at", "datetime", _l("Date of the reply (UTC)")),
                    *_COMMON,
                ), rows=assessment_rows),
        Dataset(name="criteria-recommendations", plugin="criteria", title=_l("Recommendations"),
                description=_l("Recommendations of the evaluators to the secretariat, with its answer, follow-up, "
                               "status and age in days."),
                fields=(
                    DatasetField("id", "integer", _l("Record identifier")),
                    DatasetField("number", "string", _l("Number")),
                    DatasetField("title", "string", _l("Title")),
                    DatasetField("body", "string", _l("Text")),
                    DatasetField("criteria", "string", _l("Criteria codes (JSON)")),
                    DatasetField("cycle_id", "integer", _l("Evaluation cycle")),
                    DatasetField("issued_on", "date", _l("Date issued")),
                    DatasetField("issuer_organization", "string", _l("Organization that issued it")),
                    DatasetField("answer", "string", _l("pending, accepted or rejected")),
                    DatasetField("answer_reason", "string", _l("Reasons of the answer")),
                    DatasetField("progress", "string", _l("not_started, in_progress or implemented")),
                    DatasetField("status", "string", _l("Current status")),
                    DatasetField("age_days", "integer", _l("Days open (until closed or today)")),
                    DatasetField("closed_on", "date", _l("Date closed")),
                    DatasetField("followups", "integer", _l("Number of follow-up reports")),
                    DatasetField("last_followup_on", "date", _l("Date of the last follow-up report")),
                    *_COMMON, DatasetField("url", "string", _l("Public address")),
                ), rows=recommendation_rows),
    ]
