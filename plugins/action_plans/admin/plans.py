"""Admin views of action plans: list, create, edit, publish, retract, delete a draft and attach
documents. On a published plan every change is published as a correction with the reason given.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import (
    ChangeRefused, ConfirmForm, ReasonForm, admin_change, autosave_reply, db, diff_values, discard_draft, get_draft,
    history, is_autosave, record_audit, require_role, retract, save_draft, snapshot, store_upload,
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


_NOT_DRAFTED = ("csrf_token", "reason", "autosave", "preview")


def _plan_form_for(plan: ActionPlan) -> PlanForm:
    form = PlanForm(formdata=None, obj=plan)
    form.axes.data = "\n".join(plan.axes or [])
    return form


def _draft_form(data: dict) -> PlanForm:
    """The plan form filled with a draft's submitted values (``{field: [values]}``)."""
    return PlanForm(formdata=MultiDict([(k, v) for k, values in data.items() for v in values]), meta={"csrf": False})


def plan_draft_changes(plan: ActionPlan, draft) -> list:
    """The changes of a plan's draft against the published plan (``ValueChange`` rows)."""
    published = _plan_form_for(plan)
    after = {f.name: f.data for f in _draft_form(draft.data) if f.name not in _NOT_DRAFTED}
    if after.get("number") is None:  # an empty number keeps the current one
        after["number"] = plan.number
    before = {f.name: f.data for f in published if f.name in after}
    labels = {f.name: f.label.text for f in published if f.name in after}
    choices = {f.name: {value: label for value, label, *_rest in f.iter_choices()} for f in published
               if f.name in after and hasattr(f, "iter_choices")}
    return diff_values(before, after, labels, choices)


def _render_form(form: PlanForm, plan: ActionPlan | None, status: int = 200, **forms):
    draft = get_draft(plan) if plan is not None and plan.status == "published" else None
    return render_template("action_plans/admin/plan_form.html", form=form, plan=plan, draft=draft,
                           changes=plan_draft_changes(plan, draft) if draft else [],
                           changes_form=forms.get("changes_form") or ReasonForm(formdata=None, prefix="changes"),
                           discard_form=ConfirmForm(formdata=None, prefix="discard"),
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
    """Edit a plan. A draft plan is saved in place; editing a published plan saves a draft of its
    next version (the public keeps the published plan until "Publicar cambios",
    :func:`plan_publish_changes`). ``autosave=1`` (``js/editing.js``) saves the same way and
    answers JSON (:func:`comun_cms.toolkit.autosave_reply`); the "Preview" button stores nothing."""
    plan = plan_or_404(plan_id)
    if request.method == "GET":
        draft = get_draft(plan) if plan.status == "published" else None
        return _render_form(_draft_form(draft.data) if draft else _plan_form_for(plan), plan)
    autosave = is_autosave()
    form = PlanForm()
    form.require_reason = False
    if plan.status == "retracted":
        form.form_errors.append(_("A retracted plan cannot be edited."))
        return autosave_reply(False, form, status=409, message=_("Not saved.")) if autosave \
            else _render_form(form, plan, 409)
    if form.validate_on_submit():
        number = form.number.data or plan.number
        if number_taken(ActionPlan, number, exclude_id=plan.id):
            form.number.errors = list(form.number.errors) + [_("Another plan already has number %(n)s.", n=number)]
        elif plan.status == "published":
            previous = get_draft(plan)
            data = {k: request.form.getlist(k) for k in request.form if k not in _NOT_DRAFTED}
            with admin_change("action_plan.draft", plan, object_type="action_plan", form=form,
                              before=dict(previous.data) if previous else None) as change:
                draft = save_draft(plan, data, user=current_user, keep_all=True)
                if not plan_draft_changes(plan, draft):
                    discard_draft(plan)
                    draft = None
                change.after = dict(draft.data) if draft is not None else None
            if autosave:
                return autosave_reply(change.ok, form)
            if change.ok:
                flash(_("Changes saved as a draft. The public still sees version %(n)d until you publish the changes.",
                        n=plan.version) if change.after else _("The draft is the same as the published version."),
                      "success")
                return redirect(url_for(".plan_edit", plan_id=plan.id), code=303)
        else:
            with admin_change("action_plan.update", plan, object_type="action_plan", form=form) as change:
                plan.number = number
                _fill_plan(plan, form)
                pubs = services.republish([], plan, form.reason.data, current_user)
                change.after = {**snapshot(plan), "publications": audit_pubs(pubs)}
            if autosave:
                return autosave_reply(change.ok, form)
            if change.ok:
                flash_pubs(pubs, _("Draft plan saved."))
                return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)
    if autosave:
        return autosave_reply(False, form)
    return _render_form(form, plan, INVALID)


@require_role(*ROLES)
def plan_publish_changes(plan_id: int):
    """"Publicar cambios": apply the draft of a published plan and publish it as one correction
    with the reason given; the draft is deleted."""
    plan = plan_or_404(plan_id)
    changes_form = ReasonForm(prefix="changes")
    draft = get_draft(plan)
    if draft is None or plan.status != "published":
        flash(_("There are no unpublished changes to publish."), "error")
        return redirect(url_for(".plan_edit", plan_id=plan.id), code=303)
    form = _draft_form(draft.data)
    form.require_reason = False
    if not changes_form.validate_on_submit():
        return _render_form(form, plan, INVALID, changes_form=changes_form)
    number = form.number.data or plan.number
    if not form.validate() or number_taken(ActionPlan, number, exclude_id=plan.id):
        changes_form.form_errors.append(_("The draft has problems; correct them in the card and save it again."))
        return _render_form(form, plan, INVALID, changes_form=changes_form)
    with admin_change("action_plan.correct", plan, object_type="action_plan", form=changes_form) as change:
        plan.number = number
        _fill_plan(plan, form)
        discard_draft(plan)
        pubs = services.republish([], plan, changes_form.reason.data, current_user)
        if not pubs:
            raise ChangeRefused(_("Nothing changed, so there is nothing to correct."))
        change.after = {**snapshot(plan), "reason": changes_form.reason.data, "publications": audit_pubs(pubs)}
    if change.failed:
        return _render_form(_draft_form(draft.data), plan_or_404(plan_id), INVALID, changes_form=changes_form)
    flash_pubs(pubs, _("Draft plan saved."))
    return redirect(url_for(".plan_detail", plan_id=plan.id), code=303)


@require_role(*ROLES)
def plan_discard_changes(plan_id: int):
    """Delete the draft of a published plan; the published plan stays as it is."""
    plan = plan_or_404(plan_id)
    form = ConfirmForm(prefix="discard")
    draft = get_draft(plan)
    if form.validate_on_submit() and draft is not None:
        with admin_change("action_plan.draft_discard", plan, object_type="action_plan", before=dict(draft.data),
                          success=_("Unpublished changes discarded.")) as change:
            discard_draft(plan)
            change.after = None
    return redirect(url_for(".plan_edit", plan_id=plan.id), code=303)


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
