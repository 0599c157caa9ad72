"""Admin views of action plans: list, create, edit, publish, retract, delete a draft and attach
documents. On a published plan every change is published as a correction with the reason given.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import (
    ChangeRefused, ConfirmForm, admin_change, db, history, record_audit, require_role, retract, snapshot, store_upload,
)

from .. import progress as prog
from .. import services
from ..content import plan_attachments, plan_progress, published_commitments
from ..forms import DeleteForm, EvidenceForm, PlanForm, lines
from ..models import OWNER_COMMITMENT, OWNER_MILESTONE, OWNER_PLAN, OWNER_REPORT, ActionPlan
from .common import (
    INVALID, ROLES, audit_pubs, commitment_snapshot, delete_attachments, flash_pubs, labels, number_taken, plan_or_404,
)


@require_role(*ROLES)
def plans():
    """Every plan of the tenant with its commitments' count and publication status."""
    items = db.session.scalars(select(ActionPlan).order_by(ActionPlan.number)).all()
    return render_template("action_plans/admin/plans.html", plans=items, labels=labels())


def _fill_plan(plan: ActionPlan, form: PlanForm) -> None:
    for name in ("title", "summary", "framework", "methodology_url", "approval_date", "valid_from", "valid_until",
                 "phase", "expected_commitments", "source", "notes", "is_demo"):
        value = getattr(form, name).data
        setattr(plan, name, "" if value is None and name in ("summary", "methodology_url", "source", "notes") else value)
    plan.axes = lines(form.axes.data)
    if plan.valid_from and not plan.valid_until:
        plan.valid_until = prog.add_months(plan.valid_from, int(services.setting(g.tenant, "validity_months")))


def _render_form(form: PlanForm, plan: ActionPlan | None, status: int = 200):
    return render_template("action_plans/admin/plan_form.html", form=form, plan=plan,
                           validity_months=services.setting(g.tenant, "validity_months")), status


@require_role(*ROLES)
def plan_new():
    """Create a draft plan (expected commitments and validity from the tenant settings)."""
    form = PlanForm()
    if request.method == "GET":
        form.expected_commitments.data = int(services.setting(g.tenant, "default_commitments"))
    if form.validate_on_submit():
        numbers = db.session.scalars(select(ActionPlan.number)).all()
        number = form.number.data or services.next_number(numbers)
        if number_taken(ActionPlan, number):
            form.number.errors = list(form.number.errors) + [_("Another plan already has number %(n)s.", n=number)]
        else:
            plan = ActionPlan(number=number)
            _fill_plan(plan, form)
            with admin_change("action_plan.create", plan, object_type="action_plan", success=_("Draft plan saved."),
                              form=form) as change:
                db.session.add(plan)
            if change.ok:
                return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)
    return _render_form(form, None, INVALID if form.is_submitted() else 200)


@require_role(*ROLES)
def plan_edit(plan_id: int):
    """Edit a plan; on a published plan a correction is published with the reason given."""
    plan = plan_or_404(plan_id)
    if request.method == "GET":
        form = PlanForm(formdata=None, obj=plan)
        form.axes.data = "\n".join(plan.axes or [])
        return _render_form(form, plan)
    form = PlanForm()
    form.require_reason = plan.status == "published"
    if plan.status == "retracted":
        form.form_errors.append(_("A retracted plan cannot be edited."))
        return _render_form(form, plan, 409)
    if form.validate_on_submit():
        number = form.number.data or plan.number
        if number_taken(ActionPlan, number, exclude_id=plan.id):
            form.number.errors = list(form.number.errors) + [_("Another plan already has number %(n)s.", n=number)]
        else:
            with admin_change("action_plan.update", plan, object_type="action_plan", form=form) as change:
                plan.number = number
                _fill_plan(plan, form)
                pubs = services.republish([], plan, form.reason.data, current_user)
                if plan.status == "published" and not pubs:
                    raise ChangeRefused(_("Nothing changed, so there is nothing to correct."))
                change.after = {**snapshot(plan), "publications": audit_pubs(pubs)}
            if change.ok:
                flash_pubs(pubs, _("Draft plan saved."))
                return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)
    return _render_form(form, plan, INVALID)


def render_plan(plan: ActionPlan, status: int = 200, **forms):
    """The plan's admin page (commitments, documents, publishing, CSV); ``forms`` replaces the
    empty publish/retract/delete/upload forms by submitted ones (with their errors)."""
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
    return render_template("action_plans/admin/plan_detail.html", plan=plan, rows=rows, labels=labels(),
                           documents=plan_attachments(plan), history=history("action_plan", plan.id),
                           progress=plan_progress(plan, only_published=False), **context), status


@require_role(*ROLES)
def plan_detail(plan_id: int):
    """A plan's admin page: commitments, documents, publishing, CSV export and import."""
    return render_plan(plan_or_404(plan_id))


@require_role(*ROLES)
def plan_publish(plan_id: int):
    """Publish a draft plan with its draft commitments (all or nothing)."""
    plan = plan_or_404(plan_id)
    form = ConfirmForm(prefix="publish")
    if not form.validate_on_submit():
        return render_plan(plan, INVALID, publish_form=form)
    with admin_change("action_plan.publish", plan, object_type="action_plan", before=None, form=form) as change:
        pubs = services.publish_plan(plan, current_user)
        change.after = {"publications": audit_pubs(pubs)}
    if change.failed:
        return render_plan(plan_or_404(plan_id), INVALID, publish_form=form)
    flash(ngettext("Plan published with %(num)d commitment.", "Plan published with %(num)d commitments.", len(pubs) - 1),
          "success")
    return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)


@require_role(*ROLES)
def plan_retract(plan_id: int):
    """Retract a published plan and its published commitments (reason required, public)."""
    plan = plan_or_404(plan_id)
    form = DeleteForm(prefix="retract")
    form.require_reason = True
    if plan.status != "published":
        form.form_errors.append(_("Only a published plan can be retracted."))
    if form.form_errors or not form.validate_on_submit():
        return render_plan(plan, INVALID, retract_form=form)
    with admin_change("action_plan.retract", plan, object_type="action_plan", before=None, success=_("Plan retracted."),
                      form=form) as change:
        pubs = [retract(c, reason=form.reason.data, user=current_user, commit=False)
                for c in published_commitments(plan)]
        pubs.append(retract(plan, reason=form.reason.data, user=current_user, commit=False))
        change.after = {"reason": form.reason.data, "publications": audit_pubs(pubs)}
    if change.failed:
        return render_plan(plan_or_404(plan_id), INVALID, retract_form=form)
    return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)


@require_role(*ROLES)
def plan_delete(plan_id: int):
    """Delete a draft plan that was never published (with its draft commitments)."""
    plan = plan_or_404(plan_id)
    form = ConfirmForm(prefix="delete")
    if plan.status != "draft" or any(c.status != "draft" for c in plan.commitments):
        form.form_errors.append(_("Only a draft plan whose commitments are all drafts can be deleted; retract it instead."))
    if form.form_errors or not form.validate_on_submit():
        return render_plan(plan, INVALID, delete_form=form)
    before = {**snapshot(plan), "commitments": [commitment_snapshot(c) for c in plan.commitments]}
    with admin_change("action_plan.delete", plan, object_type="action_plan", object_id=plan.id, before=before,
                      success=_("Draft plan deleted."), form=form) as change:
        for c in plan.commitments:
            delete_attachments(OWNER_MILESTONE, [m.id for m in c.milestones])
            delete_attachments(OWNER_REPORT, [r.id for r in c.reports])
        delete_attachments(OWNER_COMMITMENT, [c.id for c in plan.commitments])
        delete_attachments(OWNER_PLAN, [plan.id])
        plan.methodology_attachment_id = None
        db.session.flush()
        db.session.delete(plan)
        change.after = None
    if change.failed:
        return render_plan(plan_or_404(plan_id), INVALID, delete_form=form)
    return redirect(url_for(".plans"), code=303)


@require_role(*ROLES)
def plan_upload(plan_id: int):
    """Attach a document (e.g. the methodology) to a plan; on a published plan a correction
    is published with the reason given."""
    plan = plan_or_404(plan_id)
    form = EvidenceForm(prefix="upload")
    form.require_reason = plan.status == "published"
    if plan.status == "retracted":
        form.form_errors.append(_("A retracted plan cannot receive files."))
        return render_plan(plan, 409, upload_form=form)
    if not form.validate_on_submit():
        return render_plan(plan, INVALID, upload_form=form)
    with admin_change("action_plan.update", plan, object_type="action_plan", form=form) as change:
        att = store_upload(form.file.data, owner_type=OWNER_PLAN, owner_id=str(plan.id), title=form.title.data,
                           user_id=current_user.id, field="file")
        db.session.flush()
        if form.methodology.data:
            plan.methodology_attachment_id = att.id
        record_audit("attachment.upload", "attachment", att.id, None, {**att.describe(), "owner": f"action_plan/{plan.id}"})
        pubs = services.republish([], plan, form.reason.data, current_user)
        change.after = {**snapshot(plan), "publications": audit_pubs(pubs)}
    if change.failed:
        return render_plan(plan_or_404(plan_id), INVALID, upload_form=form)
    flash_pubs(pubs, _("File “%(name)s” attached.", name=att.filename))
    return redirect(url_for(".plan_detail", plan_id=plan.id) + "#documentos", code=303)
