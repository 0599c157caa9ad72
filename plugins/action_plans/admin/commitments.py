"""Admin views of commitments: create, edit the SMART card (status, progress, verification),
publish, retract, delete a draft and attach evidence. Statuses move only forward unless a
correction reason is given; saving a published commitment publishes a correction.
"""
from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from comun_cms.toolkit import ChangeRefused, ConfirmForm, admin_change, db, history, require_role, retract

from .. import progress as prog
from .. import services
from ..content import attachments_of
from ..forms import CommitmentForm, DeleteForm, EvidenceForm, lines
from ..models import OWNER_COMMITMENT, OWNER_MILESTONE, OWNER_REPORT, ActionPlan, Commitment
from .common import (
    INVALID, ROLES, audit_pubs, commitment_or_404, commitment_snapshot, delete_attachments, flash_pubs, labels,
    number_taken, plan_or_404, upload_evidence,
)


def _status_choices(current: str):
    return services.status_choices(blank=current == "")


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
    if number and number_taken(Commitment, number, exclude_id=c.id if c else None, plan_id=plan.id):
        form.number.errors = list(form.number.errors) + [_("Another commitment of this plan has number %(n)s.", n=number)]
        ok = False
    old = services.figures(c).status if c is not None else ""
    new = form.progress_status.data or ""
    if c is not None and c.milestones and prog.derived_status(c.milestones, new) != new:
        form.progress_status.errors = list(form.progress_status.errors) + [_(
            "This commitment has milestones, so its status follows from them: it is “%(status)s”. Change the "
            "status of its milestones instead (“verified” can be chosen once all of them are completed).",
            status=prog.STATUS_LABELS.get(old, old))]
        ok = False
    elif c is not None:
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


@require_role(*ROLES)
def commitment_new(plan_id: int):
    """Add a draft commitment to a plan."""
    plan = plan_or_404(plan_id)
    if plan.status == "retracted":
        abort(409)
    form = CommitmentForm(status_choices=_status_choices("not_started"))
    if request.method == "GET":
        form.progress_status.data = services.statuses()[0]
        form.is_demo.data = plan.is_demo
    if form.validate_on_submit() and _check_commitment(None, plan, form):
        c = Commitment(plan=plan, number=form.number.data or services.next_number(x.number for x in plan.commitments))
        _fill_commitment(c, form)
        with admin_change("commitment.create", c, object_type="commitment", before=None,
                          success=_("Draft commitment saved. Add its milestones."), form=form) as change:
            db.session.add(c)
            db.session.flush()
            change.after = commitment_snapshot(c)
        if change.ok:
            return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)
    return render_template("action_plans/admin/commitment_new.html", form=form, plan=plan), \
        INVALID if form.is_submitted() else 200


def _commitment_form_for(c: Commitment) -> CommitmentForm:
    form = CommitmentForm(formdata=None, obj=c, status_choices=_status_choices(c.progress_status))
    form.sdg_goals.data = ", ".join(c.sdg_goals or [])
    form.co_responsible_government.data = "\n".join(c.co_responsible_government or [])
    form.co_responsible_civil_society.data = "\n".join(c.co_responsible_civil_society or [])
    form.og_values.data = list(c.og_values or [])
    form.manual_progress.data = c.progress if c.progress_manual else None
    form.progress_status.data = services.figures(c).status
    form.status_correction.data = ""
    return form


def render_commitment(c: Commitment, status: int = 200, **forms):
    """The commitment's admin page (card, milestones, reports, evidence, publishing, history);
    ``forms`` replaces the empty edit/publish/retract/delete/upload forms by submitted ones."""
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
        "action_plans/admin/commitment_edit.html", c=c, plan=c.plan, labels=labels(),
        weights_total=total, weights_ok=not c.milestones or prog.weights_ok(total),
        problems=services.commitment_problems(c), today=today,
        evidence=attachments_of(OWNER_COMMITMENT, [c.id]),
        milestone_evidence={m.id: attachments_of(OWNER_MILESTONE, [m.id]) for m in c.milestones},
        report_evidence={r.id: attachments_of(OWNER_REPORT, [r.id]) for r in c.reports},
        history=history("commitment", c.id), **context), status


@require_role(*ROLES)
def commitment_edit(commitment_id: int):
    """Edit a commitment's SMART card, status and progress; shows its milestones, reports,
    evidence and history. Saving a published commitment publishes a correction."""
    c = commitment_or_404(commitment_id)
    if request.method == "GET":
        return render_commitment(c)
    form = CommitmentForm(status_choices=_status_choices(c.progress_status))
    form.require_reason = c.status == "published"
    if c.status == "retracted":
        form.form_errors.append(_("A retracted commitment cannot be edited."))
        return render_commitment(c, 409, form=form)
    if not (form.validate_on_submit() and _check_commitment(c, c.plan, form)):
        return render_commitment(c, INVALID, form=form)
    with admin_change("commitment.update", c, object_type="commitment", before=commitment_snapshot(c),
                      form=form) as change:
        if form.number.data:
            c.number = form.number.data
        _fill_commitment(c, form)
        db.session.flush()
        pubs = services.republish([c], c.plan, form.reason.data, current_user)
        if c.status == "published" and not pubs:
            raise ChangeRefused(_("Nothing changed, so there is nothing to correct."))
        change.after = {**commitment_snapshot(c), "status_correction": form.status_correction.data,
                        "publications": audit_pubs(pubs)}
    if change.failed:
        return render_commitment(commitment_or_404(commitment_id), INVALID, form=form)
    flash_pubs(pubs, _("Draft commitment saved."))
    return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)


@require_role(*ROLES)
def commitment_publish(commitment_id: int):
    """Publish a draft commitment of a published plan (version 1; the plan is corrected to
    list it)."""
    c = commitment_or_404(commitment_id)
    form = ConfirmForm(prefix="publish")
    if not form.validate_on_submit():
        return render_commitment(c, INVALID, publish_form=form)
    if c.status != "draft":
        form.form_errors.append(_("The commitment is already published."))
        return render_commitment(c, INVALID, publish_form=form)
    with admin_change("commitment.publish", c, object_type="commitment", before=None,
                      success=_("Commitment published."), form=form) as change:
        pubs = services.publish_commitment(c, current_user)
        change.after = {"publications": audit_pubs(pubs)}
    if change.failed:
        return render_commitment(commitment_or_404(commitment_id), INVALID, publish_form=form)
    return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)


@require_role(*ROLES)
def commitment_retract(commitment_id: int):
    """Retract a published commitment (reason required, public); the plan is corrected."""
    c = commitment_or_404(commitment_id)
    form = DeleteForm(prefix="retract")
    form.require_reason = True
    if c.status != "published":
        form.form_errors.append(_("Only a published commitment can be retracted."))
    if form.form_errors or not form.validate_on_submit():
        return render_commitment(c, INVALID, retract_form=form)
    with admin_change("commitment.retract", c, object_type="commitment", before=None,
                      success=_("Commitment retracted."), form=form) as change:
        pubs = [retract(c, reason=form.reason.data, user=current_user, commit=False)]
        pubs += services.republish([], c.plan, form.reason.data, current_user)
        change.after = {"reason": form.reason.data, "publications": audit_pubs(pubs)}
    if change.failed:
        return render_commitment(commitment_or_404(commitment_id), INVALID, retract_form=form)
    return redirect(url_for(".plan_detail", plan_id=c.plan_id), code=303)


@require_role(*ROLES)
def commitment_delete(commitment_id: int):
    """Delete a draft commitment that was never published."""
    c = commitment_or_404(commitment_id)
    form = ConfirmForm(prefix="delete")
    if c.status != "draft":
        form.form_errors.append(_("A published commitment cannot be deleted; retract it instead."))
    if form.form_errors or not form.validate_on_submit():
        return render_commitment(c, INVALID, delete_form=form)
    plan_id = c.plan_id
    with admin_change("commitment.delete", c, object_type="commitment", object_id=c.id, before=commitment_snapshot(c),
                      success=_("Draft commitment deleted."), form=form) as change:
        delete_attachments(OWNER_MILESTONE, [m.id for m in c.milestones])
        delete_attachments(OWNER_REPORT, [r.id for r in c.reports])
        delete_attachments(OWNER_COMMITMENT, [c.id])
        c.plan.commitments.remove(c)
        change.after = None
    if change.failed:
        return render_commitment(commitment_or_404(commitment_id), INVALID, delete_form=form)
    return redirect(url_for(".plan_detail", plan_id=plan_id), code=303)


@require_role(*ROLES)
def commitment_upload(commitment_id: int):
    """Attach an evidence file to a commitment (a correction on a published one)."""
    c = commitment_or_404(commitment_id)
    form = EvidenceForm(prefix="upload")
    form.require_reason = c.status == "published"
    if c.status == "retracted":
        form.form_errors.append(_("A retracted commitment cannot receive files."))
        return render_commitment(c, 409, upload_form=form)
    if not form.validate_on_submit():
        return render_commitment(c, INVALID, upload_form=form)
    return upload_evidence(c, form, OWNER_COMMITMENT, c.id,
                           lambda: render_commitment(commitment_or_404(commitment_id), INVALID, upload_form=form))
