"""Domain operations of the criteria plugin: frameworks, cycles, assessments, replies, scores and
recommendations.

Functions here add to ``db.session`` and flush but never commit: the admin views wrap them in
:func:`comun_cms.toolkit.admin_change` (one transaction with the audit event, or a rollback) and
the CLI commits or rolls back itself. Rules of the workflow are enforced here
(so every entry point obeys them) and broken rules raise :class:`CriteriaError` with a
translated message; *who* may call each operation is decided by the views
(:mod:`plugins.criteria.admin`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable

from flask_babel import lazy_gettext as _l, ngettext
from sqlalchemy import func, select

from comun_cms.toolkit import Attachment, Tenant, User, correct, db, get_current_tenant, publish as publish_record, utcnow

from . import scoring
from .framework_io import FrameworkImportError, ImportIssue, build_framework, content_sha256, parse_csv
from .models import (
    ANSWERS, DECLARED_ROLES, PROGRESS, RESULTS, STAGES, Assessment, CriteriaFramework, Criterion,
    EvaluationCycle, EvaluatorDeclaration, FollowUp, Recommendation, RecommendationCriterion, Reply, user_slot,
)

DEFAULT_REPLY_DAYS = 10

RESULT_LABELS = {"met": _l("Met"), "partial": _l("Partially met"), "not_met": _l("Not met"),
                 "not_applicable": _l("Not applicable")}
STAGE_LABELS = {"planned": _l("Planned"), "self_assessment": _l("Self-assessment"), "evaluation": _l("Evaluation"),
                "reply": _l("Right of reply"), "published": _l("Published")}
EVALUATOR_ROLE_LABELS = {"self_assessment": _l("Self-assessment by the secretariat"),
                         "citizen_committee": _l("Citizen participation committee"),
                         "observatory": _l("Observatory organization"), "external": _l("External evaluator")}
SCORING_TYPE_LABELS = {"binary": _l("Yes / no"), "scale": _l("Scale 0-1-2"), "percentage": _l("Percentage")}
PERIODICITY_LABELS = {"permanent": _l("Permanent"), "quarterly": _l("Quarterly"), "annual": _l("Annual"),
                      "per_session": _l("After each session"), "per_event": _l("After each event"),
                      "monthly": _l("Monthly"), "biannual": _l("Every six months")}
ANSWER_LABELS = {"pending": _l("Awaiting answer"), "accepted": _l("Accepted"), "rejected": _l("Rejected")}
PROGRESS_LABELS = {"not_started": _l("Not started"), "in_progress": _l("In progress"),
                   "implemented": _l("Implemented")}
STATUS_LABELS = {"awaiting_answer": _l("Awaiting answer"), "rejected": _l("Rejected"),
                 "accepted": _l("Accepted, not started"), "in_progress": _l("In progress"),
                 "implemented": _l("Implemented")}


class CriteriaError(Exception):
    """A workflow rule was broken; nothing was stored. ``str(error)`` (also ``message``) is
    user-facing and ``field`` names the form field concerned (or ``""``).

    The message is turned into text when the error is raised: a lazy string would reach the page
    (form errors, flashed messages) as markup that Jinja does not escape.
    """

    def __init__(self, message, field: str = ""):
        self.message = str(message)
        self.field = field
        super().__init__(str(message))

    def __str__(self) -> str:
        return str(self.message)


def today(tenant: Tenant | None = None) -> dt.date:
    """Today's date in the tenant's time zone (current tenant by default)."""
    tenant = tenant or get_current_tenant()
    return tenant.today(utcnow()) if tenant is not None else utcnow().date()


def display_name(user: User | None) -> str:
    """A user's public name (name, else the part of the e-mail before @)."""
    if user is None:
        return ""
    return user.name or user.email.split("@")[0]


# --------------------------------------------------------------------------- frameworks
def latest_framework(slug: str | None = None, published_only: bool = True) -> CriteriaFramework | None:
    """The newest framework version in the current tenant (of lineage ``slug`` if given)."""
    q = select(CriteriaFramework)
    if slug:
        q = q.where(CriteriaFramework.slug == slug)
    if published_only:
        q = q.where(CriteriaFramework.status == "published")
    return db.session.scalars(q.order_by(CriteriaFramework.first_published_at.desc().nulls_last(),
                                         CriteriaFramework.id.desc()).limit(1)).first()


def import_framework(data: bytes | str, *, slug: str, version_label: str, name: str, description: str = "",
                     valid_from: dt.date | None = None, source: str = "", is_demo: bool = False,
                     user: User | None = None, tenant_slugs: Iterable[str] | None = None) -> CriteriaFramework:
    """Validate a framework CSV and add it as a **draft** version in the current tenant.

    Categories the file leaves unnamed may come from the newest published version of the same
    ``slug``. Returns the new :class:`CriteriaFramework` (flushed, not committed).

    Raises:
        FrameworkImportError: the file is invalid (every problem, with line and column) or the
            version already exists in the tenant.
    """
    exists = db.session.scalar(select(CriteriaFramework.id).where(CriteriaFramework.slug == slug,
                                                                  CriteriaFramework.version_label == version_label))
    if exists is not None:
        raise FrameworkImportError([ImportIssue(None, "", _l(
            "version “%(version)s” of framework “%(slug)s” already exists; give the new version another label",
            version=version_label, slug=slug))])
    previous = latest_framework(slug)
    known = {c.code: c.name for c in previous.categories} if previous else None
    parsed = parse_csv(data, tenant_slugs=tenant_slugs, known_categories=known)
    fw = build_framework(parsed, slug=slug, version_label=version_label, name=name, description=description,
                         valid_from=valid_from, source=source, is_demo=is_demo,
                         imported_by_id=user.id if user else None)
    db.session.add(fw)
    db.session.flush()
    return fw


def publish_framework(fw: CriteriaFramework, user: User | None = None):
    """Publish a draft framework version; from then on its criteria rows are immutable.

    Returns the :class:`~comun_cms.toolkit.Publication`. Raises :class:`CriteriaError` if it is
    not a draft or has no criteria; ``PublishError`` from the publishing workflow.
    """
    if fw.status != "draft":
        raise CriteriaError(_l("This framework version is already published; import a new version to change it."))
    if not fw.criteria:
        raise CriteriaError(_l("The framework has no criteria."))
    fw.content_sha256 = content_sha256(fw)   # the hash of what is frozen now
    return publish_record(fw, user=user, commit=False)


def ensure_framework_editable(fw: CriteriaFramework) -> None:
    """Raise :class:`CriteriaError` unless ``fw`` is a draft (published versions never change)."""
    if fw.status != "draft":
        raise CriteriaError(_l("A published framework version cannot be changed; import a new version instead."))


def delete_draft_framework(fw: CriteriaFramework) -> None:
    """Delete a draft framework version (and its categories and criteria).

    Raises :class:`CriteriaError` for a published version or one used by a cycle.
    """
    ensure_framework_editable(fw)
    used = db.session.scalar(select(func.count()).select_from(EvaluationCycle)
                             .where(EvaluationCycle.framework_id == fw.id))
    if used:
        raise CriteriaError(_l("The framework is used by an evaluation cycle and cannot be deleted."))
    db.session.delete(fw)
    db.session.flush()


# --------------------------------------------------------------------------- cycles
def create_cycle(framework: CriteriaFramework, *, title: str, period_label: str, cutoff_date: dt.date,
                 period_start: dt.date | None = None, period_end: dt.date | None = None,
                 reply_deadline: dt.date | None = None, methodology: str = "", is_demo: bool = False,
                 user: User | None = None) -> EvaluationCycle:
    """Open a new evaluation cycle (stage ``planned``) on a **published** framework version.

    Raises :class:`CriteriaError` if the framework is a draft or the dates are inconsistent.
    """
    if framework.status != "published":
        raise CriteriaError(_l("Choose a published framework version."), "framework_id")
    if period_start and period_end and period_end < period_start:
        raise CriteriaError(_l("The period ends before it starts."), "period_end")
    if reply_deadline and reply_deadline < cutoff_date:
        raise CriteriaError(_l("The reply deadline cannot be before the cut-off date."), "reply_deadline")
    cycle = EvaluationCycle(framework=framework, framework_id=framework.id, title=title, period_label=period_label,
                            period_start=period_start, period_end=period_end, cutoff_date=cutoff_date,
                            reply_deadline=reply_deadline, methodology=methodology, is_demo=is_demo,
                            created_by_id=user.id if user else None, stage="planned")
    db.session.add(cycle)
    db.session.flush()
    return cycle


def next_stage(cycle: EvaluationCycle) -> str | None:
    """The stage after the cycle's current one (``None`` from ``reply`` on: publishing is a
    separate step)."""
    i = STAGES.index(cycle.stage)
    return STAGES[i + 1] if i + 1 < len(STAGES) - 1 else None


def advance_stage(cycle: EvaluationCycle, target: str, reply_days: int = DEFAULT_REPLY_DAYS) -> None:
    """Move the cycle one stage forward to ``target``.

    Entering ``reply`` requires every applicable criterion to have at least one evaluator
    assessment, and sets ``reply_deadline`` (today + ``reply_days``) if it was empty.

    Raises :class:`CriteriaError`: not the next stage, or the evaluation is incomplete.
    """
    if cycle.status != "draft":
        raise CriteriaError(_l("The cycle is published; its stage can no longer change."))
    if target != next_stage(cycle):
        raise CriteriaError(_l("A cycle moves one stage at a time: planned, self-assessment, evaluation, reply, published."))
    if target == "reply":
        missing = [r.criterion.code for r in cycle_rows(cycle) if r.applies and not r.evaluations]
        if missing:
            raise CriteriaError(_l("Every criterion needs an evaluator's assessment before the reply stage; "
                                   "missing: %(codes)s.", codes=", ".join(missing)))
        if cycle.reply_deadline is None:
            cycle.reply_deadline = today() + dt.timedelta(days=reply_days)
    cycle.stage = target
    db.session.flush()


def declaration_for(cycle: EvaluationCycle, user: User) -> EvaluatorDeclaration | None:
    """The user's declaration for the cycle, or ``None``."""
    return db.session.scalar(select(EvaluatorDeclaration).where(EvaluatorDeclaration.cycle_id == cycle.id,
                                                                EvaluatorDeclaration.user_id == user.id))


def save_declaration(cycle: EvaluationCycle, user: User, *, evaluator_role: str, name: str, organization: str,
                     has_conflict: bool, conflict_description: str) -> EvaluatorDeclaration:
    """Create or update an evaluator's declaration (role, organization, conflicts of interest).

    The evaluator's existing assessments of the cycle take the new name, role and organization.
    Raises :class:`CriteriaError` on a published cycle, unknown role, or a conflict without a
    description.
    """
    if cycle.status != "draft":
        raise CriteriaError(_l("The cycle is published; declarations can no longer change."))
    if evaluator_role not in DECLARED_ROLES:
        raise CriteriaError(_l("Choose your role as evaluator."), "evaluator_role")
    if has_conflict and not conflict_description.strip():
        raise CriteriaError(_l("Describe the conflict of interest."), "conflict_description")
    decl = declaration_for(cycle, user)
    if decl is None:
        decl = EvaluatorDeclaration(cycle_id=cycle.id, user_id=user.id)
        db.session.add(decl)
    decl.evaluator_role, decl.name, decl.organization = evaluator_role, name, organization
    decl.has_conflict = has_conflict
    decl.conflict_description = conflict_description.strip() if has_conflict else ""
    decl.declared_at = utcnow()
    for a in cycle.assessments:
        if a.slot == user_slot(user.id):
            a.evaluator_role, a.evaluator_name, a.organization = evaluator_role, name, organization
    db.session.flush()
    return decl


def cycle_criterion(cycle: EvaluationCycle, criterion_id: int) -> Criterion | None:
    """The criterion ``criterion_id`` if it belongs to the cycle's framework version."""
    return next((c for c in cycle.framework.criteria if c.id == criterion_id), None)


def find_assessment(cycle: EvaluationCycle, criterion: Criterion, slot: str) -> Assessment | None:
    """The assessment of ``criterion`` in ``slot`` (``"self"`` or ``"u<id>"``), or ``None``."""
    return next((a for a in cycle.assessments if a.criterion_id == criterion.id and a.slot == slot), None)


def save_assessment(cycle: EvaluationCycle, criterion: Criterion, *, slot: str, evaluator: User | None,
                    evaluator_role: str, evaluator_name: str, organization: str, result: str,
                    value: int | None, comment: str = "", evidence_url: str = "",
                    evidence_captured_on: dt.date | None = None,
                    attachment: Attachment | None = None, flush: bool = True) -> Assessment:
    """Create or update the assessment of ``criterion`` in ``slot``.

    Checks the criterion belongs to the cycle's framework and the result/value fit its scoring
    type (:func:`plugins.criteria.scoring.fraction_for`); binary and scale values are filled in
    from the result. Stage rules are the caller's (see the views). ``flush=False`` leaves the
    flush to the caller (bulk loading; not allowed with an attachment). Returns the assessment.

    Raises:
        CriteriaError: wrong criterion, result or value (``field`` names ``result`` or ``value``),
            or evidence missing where the criterion requires it.
    """
    if criterion.framework_id != cycle.framework_id:
        raise CriteriaError(_l("The criterion does not belong to this cycle's framework."))
    if result not in RESULTS:
        raise CriteriaError(_l("Choose a result."), "result")
    if result != "not_applicable" and criterion.scoring_type != "percentage":
        value = scoring.default_value(criterion.scoring_type, result) if value is None else value
    if result == "not_applicable":
        value = None
    try:
        scoring.fraction_for(criterion.scoring_type, result, value)
    except scoring.ScoreError as exc:
        raise CriteriaError(exc.message, exc.field) from None
    if result == "not_applicable" and not comment.strip():
        raise CriteriaError(_l("Explain in the comment why the criterion does not apply."), "comment")
    assessment = find_assessment(cycle, criterion, slot)
    if assessment is None:
        assessment = Assessment(cycle=cycle, criterion=criterion, criterion_id=criterion.id, slot=slot)
        db.session.add(assessment)
    assessment.evaluator_id = evaluator.id if evaluator else None
    assessment.evaluator_role = evaluator_role
    assessment.evaluator_name = evaluator_name
    assessment.organization = organization
    assessment.result, assessment.value = result, value
    assessment.comment = comment.strip()
    assessment.evidence_url = evidence_url.strip()
    assessment.evidence_captured_on = evidence_captured_on
    if attachment is not None:
        assessment.attachment = attachment
    assessment.assessed_at = utcnow()
    if flush or attachment is not None:
        db.session.flush()
    if attachment is not None:
        attachment.owner_type, attachment.owner_id = "criteria_assessment", str(assessment.id)
    return assessment


def save_reply(assessment: Assessment, *, body: str, evidence_url: str = "", user: User | None = None,
               flush: bool = True) -> Reply:
    """Create or update the secretariat's reply to an evaluator's assessment (``flush=False``
    leaves the flush to the caller).

    Raises :class:`CriteriaError` for a self-assessment or an empty reply.
    """
    if assessment.is_self:
        raise CriteriaError(_l("The self-assessment is the secretariat's own; there is nothing to reply to."))
    if not body.strip():
        raise CriteriaError(_l("Write the reply."), "body")
    reply = assessment.reply
    if reply is None:
        reply = Reply(assessment=assessment, body="")
        db.session.add(reply)
    reply.body, reply.evidence_url = body.strip(), evidence_url.strip()
    reply.author_id = user.id if user else None
    reply.author_name = display_name(user)
    reply.replied_at = utcnow()
    if flush:
        db.session.flush()
    return reply


# --------------------------------------------------------------------------- rows and scores
@dataclass
class CycleRow:
    """One criterion of a cycle with its assessments: ``self_assessment``, ``evaluations``
    (evaluator assessments, by id), ``applies`` (framework rule for the tenant), ``status`` and
    ``fraction`` (combined, see :mod:`scoring`) and ``disagreement`` (evaluators gave different
    results)."""

    criterion: Criterion
    applies: bool
    self_assessment: Assessment | None = None
    evaluations: list[Assessment] = field(default_factory=list)
    status: str = "pending"
    fraction: Fraction | None = None

    @property
    def disagreement(self) -> bool:
        return len({a.result for a in self.evaluations}) > 1

    @property
    def differs_from_self(self) -> bool:
        """The self-assessment's result is not among the evaluators' results."""
        return bool(self.self_assessment and self.evaluations
                    and self.self_assessment.result not in {a.result for a in self.evaluations})

    @property
    def replies_missing(self) -> int:
        return sum(1 for a in self.evaluations if a.reply is None)


def _fraction(a: Assessment) -> Fraction | None:
    return scoring.fraction_for(a.criterion.scoring_type, a.result, a.value)


def cycle_rows(cycle: EvaluationCycle) -> list[CycleRow]:
    """Rows of the cycle in framework order, with assessments grouped and combined."""
    rows = {c.id: CycleRow(c, c.applies_in(cycle.tenant_id or get_current_tenant().slug))
            for c in cycle.framework.criteria}
    for a in sorted(cycle.assessments, key=lambda a: a.id or 0):
        row = rows.get(a.criterion_id)
        if row is None:
            continue
        if a.is_self:
            row.self_assessment = a
        else:
            row.evaluations.append(a)
    for row in rows.values():
        row.status, row.fraction = scoring.combine([_fraction(a) for a in row.evaluations], row.applies)
    return list(rows.values())


def score_sheet(cycle: EvaluationCycle, self_assessment: bool = False,
                rows: list[CycleRow] | None = None) -> scoring.ScoreSheet:
    """Compute the cycle's scores from its evaluator assessments (or, with
    ``self_assessment=True``, from the secretariat's self-assessment)."""
    rows = rows if rows is not None else cycle_rows(cycle)
    names = {c.code: c.name for c in sorted(cycle.framework.categories, key=lambda c: c.position)}
    inputs = []
    for row in rows:
        if self_assessment:
            fractions = (_fraction(row.self_assessment),) if row.self_assessment else ()
        else:
            fractions = tuple(_fraction(a) for a in row.evaluations)
        inputs.append(scoring.CriterionInput(row.criterion.code, row.criterion.category.code,
                                             Fraction(row.criterion.points_x100, 100), fractions, row.applies))
    return scoring.compute(inputs, names)


def scores_snapshot(cycle: EvaluationCycle) -> dict:
    """The ``scores`` JSON stored on a cycle when it is published: evaluators' sheet
    (:meth:`ScoreSheet.to_json`) plus ``self_assessment_total`` and ``disagreements`` (codes)."""
    rows = cycle_rows(cycle)
    data = score_sheet(cycle, rows=rows).to_json()
    self_sheet = score_sheet(cycle, self_assessment=True, rows=rows)
    data["self_assessment_total"] = scoring.round2(self_sheet.total)
    data["self_assessment_scored"] = self_sheet.scored
    data["disagreements"] = [r.criterion.code for r in rows if r.disagreement]
    return data


def publication_blockers(cycle: EvaluationCycle, on: dt.date | None = None) -> list[str]:
    """Reasons the cycle cannot be published yet (empty list: it can).

    Rules: the cycle is in the ``reply`` stage; every applicable criterion has an evaluator
    assessment; every evaluator assessment has a reply, or the reply deadline has passed.
    """
    on = on or today()
    out = []
    if cycle.status != "draft":
        out.append(str(_l("The cycle is already published.")))
        return out
    if cycle.stage != "reply":
        out.append(str(_l("The cycle can be published only in the reply stage, after the secretariat has had "
                          "the chance to reply.")))
    rows = cycle_rows(cycle)
    missing = [r.criterion.code for r in rows if r.applies and not r.evaluations]
    if missing:
        out.append(str(_l("Criteria without an evaluator's assessment: %(codes)s.", codes=", ".join(missing))))
    unreplied = sum(r.replies_missing for r in rows)
    if unreplied and cycle.stage == "reply" and (cycle.reply_deadline is None or on <= cycle.reply_deadline):
        out.append(ngettext("%(num)d assessment has no reply yet and the secretariat can reply until %(date)s.",
                            "%(num)d assessments have no reply yet and the secretariat can reply until %(date)s.",
                            unreplied, date=cycle.reply_deadline.isoformat() if cycle.reply_deadline else "?"))
    return out


def publish_cycle(cycle: EvaluationCycle, user: User | None = None, on: dt.date | None = None):
    """Freeze the cycle: compute the score snapshot, set stage ``published`` and publish it
    (its assessments, replies and declarations are serialized in the publication).

    Returns the :class:`~comun_cms.toolkit.Publication`. Raises :class:`CriteriaError` with the
    blockers of :func:`publication_blockers`; ``PublishError`` from the workflow.
    """
    prepare_cycle_publication(cycle, on)
    return publish_record(cycle, user=user, commit=False)


def prepare_cycle_publication(cycle: EvaluationCycle, on: dt.date | None = None) -> None:
    """Check :func:`publication_blockers`, then store the score snapshot and set the stage to
    ``published`` (the caller publishes the record right after, in the same transaction).

    Raises :class:`CriteriaError` listing the blockers.
    """
    blockers = publication_blockers(cycle, on)
    if blockers:
        raise CriteriaError(" ".join(blockers))
    cycle.scores = scores_snapshot(cycle)
    cycle.stage = "published"


def correct_cycle(cycle: EvaluationCycle, reason: str, user: User | None = None):
    """Publish a correction of a published cycle (after an assessment or reply changed):
    scores recomputed, new version with ``reason``. Raises ``PublishError``."""
    cycle.scores = scores_snapshot(cycle)
    return correct(cycle, reason=reason, user=user, commit=False)


def published_cycles(newest_first: bool = True) -> list[EvaluationCycle]:
    """Published cycles of the current tenant, by cut-off date."""
    order = EvaluationCycle.cutoff_date.desc() if newest_first else EvaluationCycle.cutoff_date
    return list(db.session.scalars(select(EvaluationCycle).where(EvaluationCycle.status == "published")
                                   .order_by(order, EvaluationCycle.id)))


# --------------------------------------------------------------------------- recommendations
def next_recommendation_number(issued_on: dt.date) -> str:
    """``REC-<year>-<nn>``: the next free number of the year in the current tenant."""
    prefix = f"REC-{issued_on.year}-"
    numbers = db.session.scalars(select(Recommendation.number).where(Recommendation.number.like(prefix + "%")))
    used = [int(n[len(prefix):]) for n in numbers if n[len(prefix):].isdigit()]
    return f"{prefix}{(max(used) + 1) if used else 1:02d}"


def issue_recommendation(*, title: str, body: str, criteria: list[Criterion], issued_on: dt.date,
                         cycle: EvaluationCycle | None = None, issuer: User | None = None, issuer_name: str = "",
                         issuer_organization: str = "", number: str | None = None, is_demo: bool = False,
                         publish: bool = True) -> Recommendation:
    """Create a recommendation to the secretariat and (by default) publish it.

    Raises :class:`CriteriaError` without criteria, with criteria of different framework
    versions, or with a cycle that is not published (a draft cycle is not public);
    ``PublishError`` from the workflow.
    """
    if not criteria:
        raise CriteriaError(_l("Choose at least one criterion the recommendation is about."), "criteria")
    if len({c.framework_id for c in criteria}) > 1:
        raise CriteriaError(_l("Choose criteria of one framework version."), "criteria")
    if cycle is not None and cycle.status != "published":
        raise CriteriaError(_l("A recommendation can refer only to a published cycle."), "cycle_id")
    rec = Recommendation(number=number or next_recommendation_number(issued_on), title=title, body=body,
                         cycle=cycle, issued_on=issued_on, issuer_id=issuer.id if issuer else None,
                         issuer_name=issuer_name or display_name(issuer), issuer_organization=issuer_organization,
                         is_demo=is_demo)
    for c in criteria:
        rec.links.append(RecommendationCriterion(criterion=c, criterion_id=c.id))
    db.session.add(rec)
    db.session.flush()
    if publish:
        publish_record(rec, user=issuer, commit=False)
    return rec


def answer_recommendation(rec: Recommendation, *, answer: str, reason: str, user: User | None = None):
    """Record the secretariat's answer (accepted / rejected, with reasons) and publish it as a
    correction of the recommendation. Rejecting closes it (``closed_on`` today).

    Raises :class:`CriteriaError` (unknown answer, missing reason, already answered);
    ``PublishError``.
    """
    if answer not in ANSWERS[1:]:
        raise CriteriaError(_l("Choose whether the secretariat accepts or rejects the recommendation."), "answer")
    if not reason.strip():
        raise CriteriaError(_l("Give the reasons of the answer; they are published."), "reason")
    if rec.answer != "pending":
        raise CriteriaError(_l("The recommendation was already answered; report the follow-up instead."))
    rec.answer, rec.answer_reason = answer, reason.strip()
    rec.answered_at, rec.answered_by_name = utcnow(), display_name(user)
    if answer == "rejected":
        rec.closed_on = today()
    label = ANSWER_LABELS[answer]
    return correct(rec, reason=str(_l("Answer of the secretariat: %(answer)s", answer=label)),
                              user=user, commit=False)


def report_followup(rec: Recommendation, *, reported_on: dt.date, body: str, progress: str, evidence_url: str = "",
                    user: User | None = None):
    """Add a follow-up report to an accepted recommendation and publish it as a correction.
    Progress ``implemented`` closes the recommendation.

    Raises :class:`CriteriaError` (not accepted, unknown progress, empty text); ``PublishError``.
    """
    if rec.answer != "accepted":
        raise CriteriaError(_l("Only an accepted recommendation has follow-up reports."))
    if progress not in PROGRESS:
        raise CriteriaError(_l("Choose the progress."), "progress")
    if not body.strip():
        raise CriteriaError(_l("Describe what was done."), "body")
    rec.followups.append(FollowUp(reported_on=reported_on, body=body.strip(), progress=progress,
                                  evidence_url=evidence_url.strip(), author_id=user.id if user else None,
                                  author_name=display_name(user)))
    rec.progress = progress
    rec.closed_on = reported_on if progress == "implemented" else None
    return correct(rec, reason=str(_l("Follow-up report of %(date)s: %(progress)s",
                                                 date=reported_on.isoformat(), progress=PROGRESS_LABELS[progress])),
                              user=user, commit=False)


def recommendation_status(rec: Recommendation) -> str:
    """Public status: ``awaiting_answer``, ``rejected``, ``accepted`` (not started),
    ``in_progress`` or ``implemented``."""
    if rec.answer == "pending":
        return "awaiting_answer"
    if rec.answer == "rejected":
        return "rejected"
    return {"not_started": "accepted"}.get(rec.progress, rec.progress)


def recommendation_age(rec: Recommendation, on: dt.date | None = None) -> int:
    """Days the recommendation has been open: from ``issued_on`` to ``closed_on`` (or today)."""
    end = rec.closed_on or on or today()
    return max(0, (end - rec.issued_on).days)

