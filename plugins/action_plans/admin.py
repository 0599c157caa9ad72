"""Admin of the action-plans plugin (blueprint ``admin_action_plans``, mounted at
``/<tenant>/admin/planes-de-accion``; roles admin and editor).

Rules kept by every view here:

* records are read with ``select()`` (the global tenant filter applies: another tenant's id is a
  404);
* every write records an audit event in the same transaction and commits once; on any error the
  session is rolled back and nothing is half stored;
* a published plan or commitment is never edited in place: saving it (or its milestones,
  reports, weights or evidence) publishes a correction with the reason given
  (:func:`plugins.action_plans.services.republish`);
* statuses move only forward unless a correction reason is given; "verified" needs a named
  verifier and evidence; milestone weights must add up to 100 before a commitment is published.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import (Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from sqlalchemy import delete, select

from comun_cms.toolkit import (
    Attachment, ConfirmForm, PublishError, UploadError, content_disposition, db, history, record_audit, require_role,
    retract, snapshot, store_upload,
)

from . import csv_io
from . import progress as prog
from . import services
from .content import attachments_of, plan_attachments, plan_progress, published_commitments
from .forms import (
    ApplyImportForm, CommitmentForm, DeleteForm, EvidenceForm, ImportForm, MilestoneForm, PlanForm, ReportForm,
    WeightsForm, lines,
)
from .models import (
    OWNER_COMMITMENT, OWNER_MILESTONE, OWNER_PLAN, OWNER_REPORT, ActionPlan, Commitment, Milestone, ProgressReport,
)

admin_bp = Blueprint("admin_action_plans", __name__, template_folder="templates", url_prefix="/planes-de-accion")

ROLES = ("admin", "editor")
INVALID = 422
IMPORT_SESSION_KEY = "action_plans.import"
ACTION_LABELS = {"publish": _l("Published"), "correct": _l("Corrected"), "retract": _l("Retracted")}


# --------------------------------------------------------------------------- helpers
def _plan_or_404(plan_id: int) -> ActionPlan:
    return db.first_or_404(select(ActionPlan).where(ActionPlan.id == plan_id))


def _commitment_or_404(commitment_id: int) -> Commitment:
    return db.first_or_404(select(Commitment).where(Commitment.id == commitment_id))


def _milestone_or_404(milestone_id: int) -> Milestone:
    return db.first_or_404(select(Milestone).where(Milestone.id == milestone_id))


def _pubs(pubs) -> list[dict]:
    return [{"content_type": p.content_type, "record_id": p.record_id, "version": p.version, "action": p.action,
             "sha256": p.sha256} for p in pubs]


def _labels() -> dict:
    return {"status": prog.STATUS_LABELS, "phase": prog.PHASE_LABELS, "framework": prog.FRAMEWORK_LABELS,
            "origin": prog.ORIGIN_LABELS, "og": prog.OG_VALUE_LABELS, "irm": prog.IRM_LABELS,
            "record": {"draft": _("Draft"), "published": _("Published"), "retracted": _("Retracted")},
            "action": ACTION_LABELS}


def _commitment_snapshot(c: Commitment) -> dict:
    return {**snapshot(c), "milestones": [snapshot(m) for m in c.milestones],
            "reports": [snapshot(r) for r in c.reports]}


def _flash_pubs(pubs, fallback: str) -> None:
    versions = [p for p in pubs if p.action in ("publish", "correct")]
    if versions:
        flash(ngettext("Saved. %(num)d new published version: the change is public and in the history.",
                       "Saved. %(num)d new published versions: the change is public and in the history.", len(versions)),
              "success")
    else:
        flash(fallback, "success")


def _delete_attachments(owner_type: str, ids) -> None:
    ids = [str(i) for i in ids]
    if ids:
        db.session.execute(delete(Attachment).where(Attachment.owner_type == owner_type, Attachment.owner_id.in_(ids)))


def _status_choices(current: str):
    return services.status_choices(blank=current == "")


def _rescale(milestones: list[Milestone], keep: Milestone | None = None) -> None:
    """Scale the weights of ``milestones`` (except ``keep``) so all add up to 100 (2 decimals;
    the rounding rest goes to the largest)."""
    fixed = keep.weight if keep is not None else 0.0
    others = [m for m in milestones if m is not keep]
    total = sum(m.weight for m in others)
    if not others:
        return
    room = 100.0 - fixed
    if total <= 0:
        for m in others:
            m.weight = round(room / len(others), 2)
    else:
        for m in others:
            m.weight = round(m.weight * room / total, 2)
    rest = round(100.0 - fixed - sum(m.weight for m in others), 2)
    if rest:
        biggest = max(others, key=lambda m: m.weight)
        biggest.weight = round(biggest.weight + rest, 2)


# --------------------------------------------------------------------------- plans
@admin_bp.route("/")
@require_role(*ROLES)
def plans():
    """Every plan of the tenant with its commitments' count and publication status."""
    items = db.session.scalars(select(ActionPlan).order_by(ActionPlan.number)).all()
    return render_template("action_plans/admin/plans.html", plans=items, labels=_labels())


def _fill_plan(plan: ActionPlan, form: PlanForm) -> None:
    for name in ("title", "summary", "framework", "methodology_url", "approval_date", "valid_from", "valid_until",
                 "phase", "expected_commitments", "source", "notes", "is_demo"):
        value = getattr(form, name).data
        setattr(plan, name, "" if value is None and name in ("summary", "methodology_url", "source", "notes") else value)
    plan.axes = lines(form.axes.data)
    if plan.valid_from and not plan.valid_until:
        plan.valid_until = prog.add_months(plan.valid_from, int(services.setting(g.tenant, "validity_months")))


def _number_taken(model, number: int, exclude_id: int | None = None, **where) -> bool:
    q = select(model.id).where(model.number == number)
    for key, value in where.items():
        q = q.where(getattr(model, key) == value)
    if exclude_id is not None:
        q = q.where(model.id != exclude_id)
    return db.session.scalar(q.limit(1)) is not None


@admin_bp.route("/nuevo", methods=["GET", "POST"])
@require_role(*ROLES)
def plan_new():
    """Create a draft plan (expected commitments and validity from the tenant settings)."""
    form = PlanForm()
    if request.method == "GET":
        form.expected_commitments.data = int(services.setting(g.tenant, "default_commitments"))
    if form.validate_on_submit():
        numbers = db.session.scalars(select(ActionPlan.number)).all()
        number = form.number.data or services.next_number(numbers)
        if _number_taken(ActionPlan, number):
            form.number.errors = list(form.number.errors) + [_("Another plan already has number %(n)s.", n=number)]
        else:
            plan = ActionPlan(number=number)
            _fill_plan(plan, form)
            try:
                db.session.add(plan)
                db.session.flush()
                record_audit("action_plan.create", "action_plan", plan.id, None, snapshot(plan))
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            flash(_("Draft plan saved."), "success")
            return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)
    return render_template("action_plans/admin/plan_form.html", form=form, plan=None,
                           validity_months=services.setting(g.tenant, "validity_months")), \
        INVALID if form.is_submitted() else 200


@admin_bp.route("/<int:plan_id>/editar", methods=["GET", "POST"])
@require_role(*ROLES)
def plan_edit(plan_id: int):
    """Edit a plan; on a published plan a correction is published with the reason given."""
    plan = _plan_or_404(plan_id)
    if request.method == "GET":
        form = PlanForm(formdata=None, obj=plan)
        form.axes.data = "\n".join(plan.axes or [])
        return render_template("action_plans/admin/plan_form.html", form=form, plan=plan,
                               validity_months=services.setting(g.tenant, "validity_months"))
    form = PlanForm()
    form.require_reason = plan.status == "published"
    if plan.status == "retracted":
        form.form_errors.append(_("A retracted plan cannot be edited."))
        return render_template("action_plans/admin/plan_form.html", form=form, plan=plan,
                               validity_months=services.setting(g.tenant, "validity_months")), 409
    if form.validate_on_submit():
        number = form.number.data or plan.number
        if _number_taken(ActionPlan, number, exclude_id=plan.id):
            form.number.errors = list(form.number.errors) + [_("Another plan already has number %(n)s.", n=number)]
        else:
            before = snapshot(plan)
            plan.number = number
            _fill_plan(plan, form)
            try:
                pubs = services.republish([], plan, form.reason.data, current_user)
                if plan.status == "published" and not pubs:
                    db.session.rollback()
                    form.form_errors.append(_("Nothing changed, so there is nothing to correct."))
                else:
                    record_audit("action_plan.update", "action_plan", plan.id, before,
                                 {**snapshot(plan), "publications": _pubs(pubs)})
                    db.session.commit()
                    _flash_pubs(pubs, _("Draft plan saved."))
                    return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)
            except PublishError as exc:
                db.session.rollback()
                form.form_errors.append(str(exc))
    return render_template("action_plans/admin/plan_form.html", form=form, plan=plan,
                           validity_months=services.setting(g.tenant, "validity_months")), INVALID


def _render_plan(plan: ActionPlan, status: int = 200, **forms):
    defaults = {"publish_form": lambda: ConfirmForm(formdata=None, prefix="publish"),
                "retract_form": lambda: DeleteForm(formdata=None, prefix="retract"),
                "delete_form": lambda: ConfirmForm(formdata=None, prefix="delete"),
                "upload_form": lambda: EvidenceForm(formdata=None, prefix="upload")}
    context = {k: forms.get(k) or make() for k, make in defaults.items()}
    rows = []
    for c in plan.commitments:
        total = prog.weights_total(m.weight for m in c.milestones)
        rows.append({"c": c, "weights": total, "weights_ok": not c.milestones or prog.weights_ok(total),
                     "problems": services.commitment_problems(c)})
    return render_template("action_plans/admin/plan_detail.html", plan=plan, rows=rows, labels=_labels(),
                           documents=plan_attachments(plan),
                           history=history("action_plan", plan.id),
                           progress=plan_progress(plan, only_published=False), **context), status


@admin_bp.route("/<int:plan_id>")
@require_role(*ROLES)
def plan_detail(plan_id: int):
    """A plan's admin page: commitments, documents, publishing, CSV export and import."""
    return _render_plan(_plan_or_404(plan_id))


@admin_bp.route("/<int:plan_id>/publicar", methods=["POST"])
@require_role(*ROLES)
def plan_publish(plan_id: int):
    """Publish a draft plan with its draft commitments (all or nothing)."""
    plan = _plan_or_404(plan_id)
    form = ConfirmForm(prefix="publish")
    if not form.validate_on_submit():
        return _render_plan(plan, INVALID, publish_form=form)
    try:
        pubs = services.publish_plan(plan, current_user)
        record_audit("action_plan.publish", "action_plan", plan.id, None, {"publications": _pubs(pubs)})
        db.session.commit()
    except PublishError as exc:
        db.session.rollback()
        plan = _plan_or_404(plan_id)
        form.form_errors.append(str(exc))
        return _render_plan(plan, INVALID, publish_form=form)
    flash(ngettext("Plan published with %(num)d commitment.", "Plan published with %(num)d commitments.", len(pubs) - 1),
          "success")
    return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)


@admin_bp.route("/<int:plan_id>/retirar", methods=["POST"])
@require_role(*ROLES)
def plan_retract(plan_id: int):
    """Retract a published plan and its published commitments (reason required, public)."""
    plan = _plan_or_404(plan_id)
    form = DeleteForm(prefix="retract")
    form.require_reason = True
    if plan.status != "published":
        form.form_errors.append(_("Only a published plan can be retracted."))
    if form.form_errors or not form.validate_on_submit():
        return _render_plan(plan, INVALID, retract_form=form)
    try:
        pubs = [retract(c, reason=form.reason.data, user=current_user, commit=False)
                for c in published_commitments(plan)]
        pubs.append(retract(plan, reason=form.reason.data, user=current_user, commit=False))
        record_audit("action_plan.retract", "action_plan", plan.id, None,
                     {"reason": form.reason.data, "publications": _pubs(pubs)})
        db.session.commit()
    except PublishError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render_plan(_plan_or_404(plan_id), INVALID, retract_form=form)
    flash(_("Plan retracted."), "success")
    return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)


@admin_bp.route("/<int:plan_id>/eliminar", methods=["POST"])
@require_role(*ROLES)
def plan_delete(plan_id: int):
    """Delete a draft plan that was never published (with its draft commitments)."""
    plan = _plan_or_404(plan_id)
    form = ConfirmForm(prefix="delete")
    if plan.status != "draft" or any(c.status != "draft" for c in plan.commitments):
        form.form_errors.append(_("Only a draft plan whose commitments are all drafts can be deleted; retract it instead."))
    if form.form_errors or not form.validate_on_submit():
        return _render_plan(plan, INVALID, delete_form=form)
    try:
        before = {**snapshot(plan), "commitments": [_commitment_snapshot(c) for c in plan.commitments]}
        for c in plan.commitments:
            _delete_attachments(OWNER_MILESTONE, [m.id for m in c.milestones])
            _delete_attachments(OWNER_REPORT, [r.id for r in c.reports])
        _delete_attachments(OWNER_COMMITMENT, [c.id for c in plan.commitments])
        _delete_attachments(OWNER_PLAN, [plan.id])
        plan.methodology_attachment_id = None
        db.session.flush()
        record_audit("action_plan.delete", "action_plan", plan.id, before, None)
        db.session.delete(plan)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    flash(_("Draft plan deleted."), "success")
    return redirect(url_for(".plans"), code=303)


@admin_bp.route("/<int:plan_id>/documentos", methods=["POST"])
@require_role(*ROLES)
def plan_upload(plan_id: int):
    """Attach a document (e.g. the methodology) to a plan; on a published plan a correction
    is published with the reason given."""
    plan = _plan_or_404(plan_id)
    form = EvidenceForm(prefix="upload")
    form.require_reason = plan.status == "published"
    if plan.status == "retracted":
        form.form_errors.append(_("A retracted plan cannot receive files."))
        return _render_plan(plan, 409, upload_form=form)
    if not form.validate_on_submit():
        return _render_plan(plan, INVALID, upload_form=form)
    before = snapshot(plan)
    try:
        att = store_upload(form.file.data, owner_type=OWNER_PLAN, owner_id=str(plan.id), title=form.title.data,
                           user_id=current_user.id, field="file")
        db.session.flush()
        if form.methodology.data:
            plan.methodology_attachment_id = att.id
        record_audit("attachment.upload", "attachment", att.id, None, {**att.describe(), "owner": f"action_plan/{plan.id}"})
        pubs = services.republish([], plan, form.reason.data, current_user)
        record_audit("action_plan.update", "action_plan", plan.id, before, {**snapshot(plan), "publications": _pubs(pubs)})
        db.session.commit()
    except UploadError as exc:
        db.session.rollback()
        form.file.errors = list(form.file.errors) + [str(exc)]
        return _render_plan(_plan_or_404(plan_id), INVALID, upload_form=form)
    except PublishError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render_plan(_plan_or_404(plan_id), INVALID, upload_form=form)
    _flash_pubs(pubs, _("File “%(name)s” attached.", name=att.filename))
    return redirect(url_for(".plan_detail", plan_id=plan.id) + "#documentos", code=303)


# --------------------------------------------------------------------------- commitments
def _fill_commitment(c: Commitment, form: CommitmentForm) -> None:
    text_fields = ("external_id", "title", "origin", "description", "public_problem", "objective", "indicator",
                   "baseline", "target", "unit", "risks", "axis", "owner_institution", "contact_name", "contact_email",
                   "verified_by", "verified_session", "verification_url", "irm_completion", "irm_potential",
                   "irm_early_results", "source", "notes")
    for name in text_fields:
        setattr(c, name, getattr(form, name).data or "")
    c.start_date, c.end_date = form.start_date.data, form.end_date.data
    c.progress_status = form.progress_status.data or ""
    c.og_values = list(form.og_values.data or [])
    c.sdg_goals = form.sdg_list()
    c.co_responsible_government = lines(form.co_responsible_government.data)
    c.co_responsible_civil_society = lines(form.co_responsible_civil_society.data)
    c.is_demo = bool(form.is_demo.data)
    c.progress_manual = bool(form.progress_manual.data)
    if c.progress_manual:
        c.progress = form.manual_progress.data
        c.progress_reason = form.progress_reason.data
    else:
        c.progress_reason = ""
    services.recompute(c)


def _check_commitment(c: Commitment | None, plan: ActionPlan, form: CommitmentForm) -> bool:
    """Rules that need the database: unique number, forward status, verification, dates within
    the plan's validity. Adds errors to the form; returns ``True`` when all pass."""
    ok = True
    number = form.number.data
    if number and _number_taken(Commitment, number, exclude_id=c.id if c else None, plan_id=plan.id):
        form.number.errors = list(form.number.errors) + [_("Another commitment of this plan has number %(n)s.", n=number)]
        ok = False
    old = c.progress_status if c is not None else ""
    new = form.progress_status.data or ""
    if c is not None:
        problem = prog.transition_problem(old, new, services.statuses(), form.status_correction.data)
        if problem:
            form.progress_status.errors = list(form.progress_status.errors) + [problem]
            ok = False
    if new == "verified":
        evidence = services.has_evidence(c, [form.verification_url.data]) if c is not None else bool(form.verification_url.data)
        problem = prog.verification_problem(new, form.verified_by.data, evidence)
        if problem:
            target = form.verified_by if not form.verified_by.data else form.verification_url
            target.errors = list(target.errors) + [problem]
            ok = False
    problem = prog.within_problem(form.start_date.data, form.end_date.data, plan.valid_from, plan.valid_until, _("plan"))
    if problem:
        form.end_date.errors = list(form.end_date.errors) + [problem]
        ok = False
    return ok


@admin_bp.route("/<int:plan_id>/compromisos/nuevo", methods=["GET", "POST"])
@require_role(*ROLES)
def commitment_new(plan_id: int):
    """Add a draft commitment to a plan."""
    plan = _plan_or_404(plan_id)
    if plan.status == "retracted":
        abort(409)
    form = CommitmentForm(status_choices=_status_choices("not_started"))
    if request.method == "GET":
        form.progress_status.data = services.statuses()[0]
        form.is_demo.data = plan.is_demo
    if form.validate_on_submit() and _check_commitment(None, plan, form):
        c = Commitment(plan=plan, number=form.number.data or services.next_number(x.number for x in plan.commitments))
        _fill_commitment(c, form)
        try:
            db.session.add(c)
            db.session.flush()
            record_audit("commitment.create", "commitment", c.id, None, _commitment_snapshot(c))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        flash(_("Draft commitment saved. Add its milestones."), "success")
        return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)
    return render_template("action_plans/admin/commitment_new.html", form=form, plan=plan), \
        INVALID if form.is_submitted() else 200


def _render_commitment(c: Commitment, status: int = 200, **forms):
    published = c.status == "published"
    defaults = {
        "form": lambda: _commitment_form_for(c),
        "publish_form": lambda: ConfirmForm(formdata=None, prefix="publish"),
        "retract_form": lambda: DeleteForm(formdata=None, prefix="retract"),
        "delete_form": lambda: ConfirmForm(formdata=None, prefix="delete"),
        "upload_form": lambda: EvidenceForm(formdata=None, prefix="upload"),
    }
    context = {k: forms.get(k) or make() for k, make in defaults.items()}
    context["form"].require_reason = context["upload_form"].require_reason = published
    total = prog.weights_total(m.weight for m in c.milestones)
    today = prog.tenant_today(g.tenant)
    return render_template(
        "action_plans/admin/commitment_edit.html", c=c, plan=c.plan, labels=_labels(),
        weights_total=total, weights_ok=not c.milestones or prog.weights_ok(total),
        problems=services.commitment_problems(c), today=today,
        evidence=attachments_of(OWNER_COMMITMENT, [c.id]),
        milestone_evidence={m.id: attachments_of(OWNER_MILESTONE, [m.id]) for m in c.milestones},
        report_evidence={r.id: attachments_of(OWNER_REPORT, [r.id]) for r in c.reports},
        history=history("commitment", c.id), **context), status


def _commitment_form_for(c: Commitment) -> CommitmentForm:
    form = CommitmentForm(formdata=None, obj=c, status_choices=_status_choices(c.progress_status))
    form.sdg_goals.data = ", ".join(c.sdg_goals or [])
    form.co_responsible_government.data = "\n".join(c.co_responsible_government or [])
    form.co_responsible_civil_society.data = "\n".join(c.co_responsible_civil_society or [])
    form.og_values.data = list(c.og_values or [])
    form.manual_progress.data = c.progress if c.progress_manual else None
    form.status_correction.data = ""
    return form


@admin_bp.route("/compromisos/<int:commitment_id>", methods=["GET", "POST"])
@require_role(*ROLES)
def commitment_edit(commitment_id: int):
    """Edit a commitment's SMART card, status and progress; shows its milestones, reports,
    evidence and history. Saving a published commitment publishes a correction."""
    c = _commitment_or_404(commitment_id)
    if request.method == "GET":
        return _render_commitment(c)
    form = CommitmentForm(status_choices=_status_choices(c.progress_status))
    form.require_reason = c.status == "published"
    if c.status == "retracted":
        form.form_errors.append(_("A retracted commitment cannot be edited."))
        return _render_commitment(c, 409, form=form)
    if not (form.validate_on_submit() and _check_commitment(c, c.plan, form)):
        return _render_commitment(c, INVALID, form=form)
    before = _commitment_snapshot(c)
    if form.number.data:
        c.number = form.number.data
    _fill_commitment(c, form)
    correction = form.status_correction.data
    try:
        db.session.flush()
        pubs = services.republish([c], c.plan, form.reason.data, current_user)
        if c.status == "published" and not pubs:
            db.session.rollback()
            form.form_errors.append(_("Nothing changed, so there is nothing to correct."))
            return _render_commitment(_commitment_or_404(commitment_id), INVALID, form=form)
        record_audit("commitment.update", "commitment", c.id, before,
                     {**_commitment_snapshot(c), "status_correction": correction, "publications": _pubs(pubs)})
        db.session.commit()
    except PublishError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render_commitment(_commitment_or_404(commitment_id), INVALID, form=form)
    _flash_pubs(pubs, _("Draft commitment saved."))
    return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)


@admin_bp.route("/compromisos/<int:commitment_id>/publicar", methods=["POST"])
@require_role(*ROLES)
def commitment_publish(commitment_id: int):
    """Publish a draft commitment of a published plan (version 1; the plan is corrected to
    list it)."""
    c = _commitment_or_404(commitment_id)
    form = ConfirmForm(prefix="publish")
    if not form.validate_on_submit():
        return _render_commitment(c, INVALID, publish_form=form)
    if c.status != "draft":
        form.form_errors.append(_("The commitment is already published."))
        return _render_commitment(c, INVALID, publish_form=form)
    try:
        pubs = services.publish_commitment(c, current_user)
        record_audit("commitment.publish", "commitment", c.id, None, {"publications": _pubs(pubs)})
        db.session.commit()
    except PublishError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render_commitment(_commitment_or_404(commitment_id), INVALID, publish_form=form)
    flash(_("Commitment published."), "success")
    return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)


@admin_bp.route("/compromisos/<int:commitment_id>/retirar", methods=["POST"])
@require_role(*ROLES)
def commitment_retract(commitment_id: int):
    """Retract a published commitment (reason required, public); the plan is corrected."""
    c = _commitment_or_404(commitment_id)
    form = DeleteForm(prefix="retract")
    form.require_reason = True
    if c.status != "published":
        form.form_errors.append(_("Only a published commitment can be retracted."))
    if form.form_errors or not form.validate_on_submit():
        return _render_commitment(c, INVALID, retract_form=form)
    try:
        pubs = [retract(c, reason=form.reason.data, user=current_user, commit=False)]
        pubs += services.republish([], c.plan, form.reason.data, current_user)
        record_audit("commitment.retract", "commitment", c.id, None, {"reason": form.reason.data, "publications": _pubs(pubs)})
        db.session.commit()
    except PublishError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render_commitment(_commitment_or_404(commitment_id), INVALID, retract_form=form)
    flash(_("Commitment retracted."), "success")
    return redirect(url_for(".plan_detail", plan_id=c.plan_id), code=303)


@admin_bp.route("/compromisos/<int:commitment_id>/eliminar", methods=["POST"])
@require_role(*ROLES)
def commitment_delete(commitment_id: int):
    """Delete a draft commitment that was never published."""
    c = _commitment_or_404(commitment_id)
    form = ConfirmForm(prefix="delete")
    if c.status != "draft":
        form.form_errors.append(_("A published commitment cannot be deleted; retract it instead."))
    if form.form_errors or not form.validate_on_submit():
        return _render_commitment(c, INVALID, delete_form=form)
    plan_id = c.plan_id
    try:
        record_audit("commitment.delete", "commitment", c.id, _commitment_snapshot(c), None)
        _delete_attachments(OWNER_MILESTONE, [m.id for m in c.milestones])
        _delete_attachments(OWNER_REPORT, [r.id for r in c.reports])
        _delete_attachments(OWNER_COMMITMENT, [c.id])
        c.plan.commitments.remove(c)
        db.session.flush()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    flash(_("Draft commitment deleted."), "success")
    return redirect(url_for(".plan_detail", plan_id=plan_id), code=303)


@admin_bp.route("/compromisos/<int:commitment_id>/evidencia", methods=["POST"])
@require_role(*ROLES)
def commitment_upload(commitment_id: int):
    """Attach an evidence file to a commitment (a correction on a published one)."""
    c = _commitment_or_404(commitment_id)
    form = EvidenceForm(prefix="upload")
    form.require_reason = c.status == "published"
    if c.status == "retracted":
        form.form_errors.append(_("A retracted commitment cannot receive files."))
        return _render_commitment(c, 409, upload_form=form)
    if not form.validate_on_submit():
        return _render_commitment(c, INVALID, upload_form=form)
    return _upload(c, form, OWNER_COMMITMENT, c.id, lambda: _render_commitment(_commitment_or_404(commitment_id), INVALID,
                                                                                 upload_form=form))


def _upload(c: Commitment, form, owner_type: str, owner_id: int, on_error, anchor: str = "#evidencia"):
    before = _commitment_snapshot(c)
    try:
        att = store_upload(form.file.data, owner_type=owner_type, owner_id=str(owner_id), title=form.title.data,
                           user_id=current_user.id, field="file")
        db.session.flush()
        record_audit("attachment.upload", "attachment", att.id, None, {**att.describe(), "owner": f"{owner_type}/{owner_id}"})
        pubs = services.republish([c], c.plan, form.reason.data, current_user)
        record_audit("commitment.update", "commitment", c.id, before, {**_commitment_snapshot(c), "publications": _pubs(pubs)})
        db.session.commit()
    except UploadError as exc:
        db.session.rollback()
        form.file.errors = list(form.file.errors) + [str(exc)]
        return on_error()
    except PublishError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return on_error()
    _flash_pubs(pubs, _("File “%(name)s” attached.", name=att.filename))
    return redirect(url_for(".commitment_edit", commitment_id=c.id) + anchor, code=303)


@admin_bp.route("/compromisos/<int:commitment_id>/pesos", methods=["GET", "POST"])
@require_role(*ROLES)
def weights(commitment_id: int):
    """Edit the weights of all milestones at once (fields ``weight-<milestone id>``); they must
    add up to 100."""
    c = _commitment_or_404(commitment_id)
    form = WeightsForm()
    form.require_reason = c.status == "published"
    values: dict[int, str] = {m.id: csv_io._fmt_number(m.weight) for m in c.milestones}
    errors: dict[int, str] = {}
    if request.method == "POST" and c.status != "retracted":
        parsed: dict[int, float] = {}
        for m in c.milestones:
            raw = request.form.get(f"weight-{m.id}", "")
            values[m.id] = raw
            try:
                number = csv_io.parse_number(raw)
                if number is None or number <= 0:
                    raise ValueError(_("The weight must be above 0 and at most 100."))
                parsed[m.id] = number
            except ValueError as exc:
                errors[m.id] = str(exc)
        valid = form.validate_on_submit()
        total = prog.weights_total(parsed.values())
        if not errors and not prog.weights_ok(total):
            form.form_errors.append(_("The weights add up to %(total)s, not 100.", total=csv_io._fmt_number(total)))
        elif valid and not errors:
            before = _commitment_snapshot(c)
            for m in c.milestones:
                m.weight = parsed[m.id]
            try:
                pubs = services.republish([c], c.plan, form.reason.data, current_user)
                record_audit("commitment.weights", "commitment", c.id, before,
                             {**_commitment_snapshot(c), "publications": _pubs(pubs)})
                db.session.commit()
            except PublishError as exc:
                db.session.rollback()
                form.form_errors.append(str(exc))
                c = _commitment_or_404(commitment_id)
            else:
                _flash_pubs(pubs, _("Weights saved."))
                return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#hitos", code=303)
    status = INVALID if request.method == "POST" else 200
    return render_template("action_plans/admin/weights.html", c=c, form=form, values=values, weight_errors=errors,
                           total=prog.weights_total(m.weight for m in c.milestones)), status


# --------------------------------------------------------------------------- milestones
def _check_milestone(m: Milestone | None, c: Commitment, form: MilestoneForm) -> bool:
    ok = True
    number = form.number.data
    if number and _number_taken(Milestone, number, exclude_id=m.id if m else None, commitment_id=c.id):
        form.number.errors = list(form.number.errors) + [_("Another milestone of this commitment has number %(n)s.", n=number)]
        ok = False
    if m is not None:
        problem = prog.transition_problem(m.progress_status, form.progress_status.data, services.statuses(),
                                          form.status_correction.data)
        if problem:
            form.progress_status.errors = list(form.progress_status.errors) + [problem]
            ok = False
    problem = prog.within_problem(form.start_date.data, form.end_date.data, c.start_date, c.end_date, _("commitment"))
    if problem:
        form.end_date.errors = list(form.end_date.errors) + [problem]
        ok = False
    return ok


def _fill_milestone(m: Milestone, form: MilestoneForm) -> None:
    for name in ("description", "deliverable", "verification_means", "owner", "evidence_url"):
        setattr(m, name, getattr(form, name).data or "")
    m.start_date, m.end_date = form.start_date.data, form.end_date.data
    m.weight = round(float(form.weight.data), 2)
    m.progress_status = form.progress_status.data
    m.progress = prog.milestone_progress(m.progress_status, form.progress.data)


def _save_milestone(c: Commitment, m: Milestone, form: MilestoneForm, before: dict, is_new: bool):
    rebalance = request.form.get("rebalance") == "y"
    if rebalance:
        _rescale(c.milestones, keep=m)
    total = prog.weights_total(x.weight for x in c.milestones)
    if c.status == "published" and not prog.weights_ok(total):
        db.session.rollback()
        form.weight.errors = list(form.weight.errors) + [
            _("With this weight the milestones add up to %(total)s, not 100. Tick “scale the other weights” or edit all the weights at once.",
              total=csv_io._fmt_number(total))]
        return None
    try:
        db.session.flush()
        pubs = services.republish([c], c.plan, form.reason.data, current_user)
        if c.status == "published" and not pubs:
            db.session.rollback()
            form.form_errors.append(_("Nothing changed, so there is nothing to correct."))
            return None
        record_audit("milestone.create" if is_new else "milestone.update", "ap_milestone", m.id, before,
                     {**snapshot(m), "status_correction": form.status_correction.data, "rebalanced": rebalance,
                      "publications": _pubs(pubs)})
        db.session.commit()
    except PublishError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return None
    if not prog.weights_ok(total):
        flash(_("The weights of the milestones add up to %(total)s; they must add up to 100 before the commitment is published.",
                total=csv_io._fmt_number(total)), "warning")
    _flash_pubs(pubs, _("Milestone saved."))
    return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#hitos", code=303)


@admin_bp.route("/compromisos/<int:commitment_id>/hitos/nuevo", methods=["GET", "POST"])
@require_role(*ROLES)
def milestone_new(commitment_id: int):
    """Add a milestone to a commitment (optionally scaling the others' weights to keep 100)."""
    c = _commitment_or_404(commitment_id)
    if c.status == "retracted":
        abort(409)
    form = MilestoneForm(status_choices=services.status_choices())
    form.require_reason = c.status == "published"
    if request.method == "GET":
        form.progress_status.data = services.statuses()[0]
        form.owner.data = c.owner_institution
        if not c.milestones:
            form.weight.data = 100.0
    elif form.validate_on_submit() and _check_milestone(None, c, form):
        m = Milestone(number=form.number.data or services.next_number(x.number for x in c.milestones))
        _fill_milestone(m, form)
        c.milestones.append(m)
        db.session.flush()
        response = _save_milestone(c, m, form, None, True)
        if response is not None:
            return response
        c = _commitment_or_404(commitment_id)
    return render_template("action_plans/admin/milestone_form.html", form=form, c=c, m=None,
                           rebalance=request.form.get("rebalance", "y" if c.milestones else "") == "y"), \
        INVALID if request.method == "POST" else 200


@admin_bp.route("/hitos/<int:milestone_id>", methods=["GET", "POST"])
@require_role(*ROLES)
def milestone_edit(milestone_id: int):
    """Edit a milestone (status forward only unless corrected with a reason)."""
    m = _milestone_or_404(milestone_id)
    c = m.commitment
    if request.method == "GET":
        form = MilestoneForm(formdata=None, obj=m, status_choices=services.status_choices())
        form.require_reason = c.status == "published"
        return render_template("action_plans/admin/milestone_form.html", form=form, c=c, m=m, rebalance=False,
                               evidence=attachments_of(OWNER_MILESTONE, [m.id]),
                               upload_form=EvidenceForm(formdata=None, prefix="upload"),
                               delete_form=DeleteForm(formdata=None, prefix="delete"))
    form = MilestoneForm(status_choices=services.status_choices())
    form.require_reason = c.status == "published"
    if c.status == "retracted":
        abort(409)
    if form.validate_on_submit() and _check_milestone(m, c, form):
        before = snapshot(m)
        if form.number.data:
            m.number = form.number.data
        _fill_milestone(m, form)
        response = _save_milestone(c, m, form, before, False)
        if response is not None:
            return response
        m = _milestone_or_404(milestone_id)
        c = m.commitment
    return render_template("action_plans/admin/milestone_form.html", form=form, c=c, m=m,
                           rebalance=request.form.get("rebalance") == "y",
                           evidence=attachments_of(OWNER_MILESTONE, [m.id]),
                           upload_form=EvidenceForm(formdata=None, prefix="upload"),
                           delete_form=DeleteForm(formdata=None, prefix="delete")), INVALID


@admin_bp.route("/hitos/<int:milestone_id>/evidencia", methods=["POST"])
@require_role(*ROLES)
def milestone_upload(milestone_id: int):
    """Attach an evidence file to a milestone (a correction of its published commitment)."""
    m = _milestone_or_404(milestone_id)
    c = m.commitment
    form = EvidenceForm(prefix="upload")
    form.require_reason = c.status == "published"

    def on_error():
        mm = _milestone_or_404(milestone_id)
        return render_template("action_plans/admin/milestone_form.html",
                               form=MilestoneForm(formdata=None, obj=mm, status_choices=services.status_choices()),
                               c=mm.commitment, m=mm, rebalance=False, evidence=attachments_of(OWNER_MILESTONE, [mm.id]),
                               upload_form=form, delete_form=DeleteForm(formdata=None, prefix="delete")), INVALID
    if c.status == "retracted":
        abort(409)
    if not form.validate_on_submit():
        return on_error()
    return _upload(c, form, OWNER_MILESTONE, m.id, on_error, anchor="#hitos")


@admin_bp.route("/hitos/<int:milestone_id>/eliminar", methods=["POST"])
@require_role(*ROLES)
def milestone_delete(milestone_id: int):
    """Remove a milestone; the remaining weights are scaled to add up to 100. On a published
    commitment a correction is published with the reason given."""
    m = _milestone_or_404(milestone_id)
    c = m.commitment
    form = DeleteForm(prefix="delete")
    form.require_reason = c.status == "published"
    if c.status == "retracted":
        abort(409)
    if form.validate_on_submit():
        before = _commitment_snapshot(c)
        _delete_attachments(OWNER_MILESTONE, [m.id])
        c.milestones.remove(m)
        _rescale(c.milestones)
        try:
            db.session.flush()
            pubs = services.republish([c], c.plan, form.reason.data, current_user)
            record_audit("milestone.delete", "ap_milestone", milestone_id, before,
                         {**_commitment_snapshot(c), "publications": _pubs(pubs)})
            db.session.commit()
        except PublishError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            _flash_pubs(pubs, _("Milestone removed."))
            return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#hitos", code=303)
        m = _milestone_or_404(milestone_id)
        c = m.commitment
    return render_template("action_plans/admin/milestone_form.html",
                           form=MilestoneForm(formdata=None, obj=m, status_choices=services.status_choices()),
                           c=c, m=m, rebalance=False, evidence=attachments_of(OWNER_MILESTONE, [m.id]),
                           upload_form=EvidenceForm(formdata=None, prefix="upload"), delete_form=form), INVALID


# --------------------------------------------------------------------------- progress reports
@admin_bp.route("/compromisos/<int:commitment_id>/reportes/nuevo", methods=["GET", "POST"])
@require_role(*ROLES)
def report_new(commitment_id: int):
    """Add a progress report (narrative, figure, evidence) to a commitment."""
    c = _commitment_or_404(commitment_id)
    if c.status == "retracted":
        abort(409)
    form = ReportForm()
    form.require_reason = c.status == "published"
    if request.method == "GET":
        form.reported_by.data = current_user.name or current_user.email
        form.progress.data = c.progress
    elif form.validate_on_submit():
        before = _commitment_snapshot(c)
        r = ProgressReport(period_start=form.period_start.data, period_end=form.period_end.data,
                           narrative=form.narrative.data, progress=form.progress.data, reported_by=form.reported_by.data,
                           evidence_url=form.evidence_url.data or "")
        c.reports.append(r)
        try:
            db.session.flush()
            if form.file.data and getattr(form.file.data, "filename", ""):
                att = store_upload(form.file.data, owner_type=OWNER_REPORT, owner_id=str(r.id), user_id=current_user.id,
                                   field="file")
                db.session.flush()
                record_audit("attachment.upload", "attachment", att.id, None, {**att.describe(), "owner": f"{OWNER_REPORT}/{r.id}"})
            pubs = services.republish([c], c.plan, form.reason.data, current_user)
            record_audit("progress_report.create", "ap_progress_report", r.id, before,
                         {**_commitment_snapshot(c), "publications": _pubs(pubs)})
            db.session.commit()
        except UploadError as exc:
            db.session.rollback()
            form.file.errors = list(form.file.errors) + [str(exc)]
        except PublishError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            _flash_pubs(pubs, _("Progress report saved."))
            return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#reportes", code=303)
        c = _commitment_or_404(commitment_id)
    return render_template("action_plans/admin/report_form.html", form=form, c=c), \
        INVALID if request.method == "POST" else 200


# --------------------------------------------------------------------------- CSV round trip
@admin_bp.route("/<int:plan_id>/exportar.csv")
@require_role(*ROLES)
def plan_export(plan_id: int):
    """Download the plan's commitments and milestones as CSV (UTF-8 with BOM; ``?sep=semicolon``
    for Excel in Spanish locales)."""
    plan = _plan_or_404(plan_id)
    delimiter = ";" if request.args.get("sep") == "semicolon" else ","
    text = csv_io.export_csv(plan, delimiter)
    suffix = "-excel" if delimiter == ";" else ""
    return Response(text.encode("utf-8"), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition("attachment", f"{g.tenant.slug}-plan-{plan.number}{suffix}.csv"),
                             "X-Content-Type-Options": "nosniff"})


#: Previewed files older than this are removed (seconds).
IMPORT_MAX_AGE = 24 * 3600


def _import_dir() -> Path:
    """``instance/action_plans_imports/<tenant>``: previewed CSV files named by SHA-256."""
    path = Path(current_app.instance_path) / "action_plans_imports" / g.tenant.slug
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove_old_imports() -> None:
    """Delete previewed files that were never applied, after :data:`IMPORT_MAX_AGE`."""
    import time
    limit = time.time() - IMPORT_MAX_AGE
    for path in _import_dir().glob("*.csv"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


def _stored_import(sha256: str) -> bytes | None:
    if not sha256 or len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        return None
    path = _import_dir() / f"{sha256}.csv"
    if not path.is_file():
        return None
    data = path.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _render_import(plan, form, analysis=None, errors=None, apply_form=None, status: int = 200):
    return render_template("action_plans/admin/import.html", plan=plan, form=form, analysis=analysis,
                           errors=errors if errors is not None else (analysis.errors if analysis else []),
                           apply_form=apply_form, columns=csv_io.COLUMNS, required=csv_io.REQUIRED,
                           labels=_labels()), status


@admin_bp.route("/<int:plan_id>/importar", methods=["GET", "POST"])
@require_role(*ROLES)
def plan_import(plan_id: int):
    """Step 1: upload a CSV; it is validated and a preview of every change (or every error,
    with line and column) is shown. The file is kept server-side under its SHA-256, which the
    session remembers; nothing is changed yet."""
    plan = _plan_or_404(plan_id)
    form = ImportForm()
    if request.method == "GET":
        return _render_import(plan, form)
    if plan.status == "retracted":
        form.form_errors.append(_("A retracted plan cannot be changed."))
        return _render_import(plan, form, status=409)
    if not form.validate_on_submit():
        return _render_import(plan, form, status=INVALID)
    data = form.file.data.stream.read(csv_io.MAX_BYTES + 1)
    try:
        text = csv_io.decode(data)
    except csv_io.ImportRejected as exc:
        return _render_import(plan, form, errors=exc.errors, status=INVALID)
    analysis = csv_io.analyze(plan, text, g.tenant)
    db.session.rollback()  # the analysis reads only; drop anything it loaded
    if not analysis.ok:
        session.pop(IMPORT_SESSION_KEY, None)
        return _render_import(plan, form, analysis, status=INVALID)
    sha = hashlib.sha256(data).hexdigest()
    _remove_old_imports()
    path = _import_dir() / f"{sha}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    session[IMPORT_SESSION_KEY] = {"plan_id": plan.id, "sha256": sha, "filename": form.file.data.filename or ""}
    apply_form = ApplyImportForm(formdata=None)
    apply_form.sha256.data = sha
    return _render_import(plan, form, analysis, apply_form=apply_form)


@admin_bp.route("/<int:plan_id>/importar/aplicar", methods=["POST"])
@require_role(*ROLES)
def plan_import_apply(plan_id: int):
    """Step 2: apply the previewed file. The file is read back from the server by the SHA-256
    kept in the session (the form's copy must match), validated again against the current data
    and applied all or nothing, with corrections of published records."""
    plan = _plan_or_404(plan_id)
    form = ApplyImportForm()
    pending = session.get(IMPORT_SESSION_KEY) or {}
    data = None
    if pending.get("plan_id") == plan.id and pending.get("sha256") == form.sha256.data:
        data = _stored_import(pending.get("sha256", ""))
    if data is None:
        flash(_("The preview expired or does not match this plan. Upload the file again."), "error")
        return redirect(url_for(".plan_import", plan_id=plan.id), code=303)
    text = csv_io.decode(data)
    analysis = csv_io.analyze(plan, text, g.tenant)
    form.require_reason = analysis.needs_reason
    if not form.validate():
        db.session.rollback()
        return _render_import(_plan_or_404(plan_id), ImportForm(formdata=None), analysis, apply_form=form, status=INVALID)
    try:
        result = csv_io.apply(plan, text, g.tenant, form.reason.data, current_user)
        record_audit("action_plan.import", "action_plan", plan.id, None,
                     {"rows": result.rows, "changes": len(result.changes),
                      "publications": [{"content_type": p.content_type, "record_id": p.record_id, "version": p.version,
                                        "sha256": p.sha256} for p in result.publications]})
        db.session.commit()
    except csv_io.ImportRejected as exc:
        db.session.rollback()
        return _render_import(_plan_or_404(plan_id), ImportForm(formdata=None), errors=exc.errors, status=INVALID)
    except PublishError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render_import(_plan_or_404(plan_id), ImportForm(formdata=None), csv_io.analyze(_plan_or_404(plan_id), text, g.tenant),
                              apply_form=form, status=INVALID)
    session.pop(IMPORT_SESSION_KEY, None)
    try:
        (_import_dir() / f"{pending['sha256']}.csv").unlink()
    except OSError:
        pass
    flash(ngettext("Import applied: %(num)d record changed.", "Import applied: %(num)d records changed.",
                   len(result.changes)), "success")
    return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)
