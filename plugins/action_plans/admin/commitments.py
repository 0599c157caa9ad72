"""Admin views of commitments: create, edit the SMART card (status, progress, verification),
publish, retract, delete a draft and attach evidence. Statuses move only forward unless a
correction reason is given; saving a published commitment publishes a correction.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from comun_cms.toolkit import (
    ChangeRefused, ConfirmForm, ReasonForm, admin_change, autosave_reply, db, diff_values, discard_draft, get_draft,
    history, is_autosave, require_role, retract, save_draft,
)

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


#: Form fields that are not part of a commitment's draft (the reason is given when publishing).
_NOT_DRAFTED = ("csrf_token", "reason", "autosave", "preview")


def _draft_form(c: Commitment, data: dict) -> CommitmentForm:
    """The edit form filled with a draft's submitted values (``{field: [values]}``)."""
    return CommitmentForm(formdata=MultiDict([(k, v) for k, values in data.items() for v in values]),
                          status_choices=_status_choices(c.progress_status), meta={"csrf": False})


def _card_values(form: CommitmentForm) -> dict:
    return {f.name: f.data for f in form if f.name not in _NOT_DRAFTED and f.name != "status_correction"}


def draft_changes(c: Commitment, draft) -> list:
    """The changes of a commitment's draft against its published card, as ``ValueChange`` rows."""
    published_form = _commitment_form_for(c)
    after = _card_values(_draft_form(c, draft.data))
    if after.get("number") is None:  # an empty number keeps the current one
        after["number"] = c.number
    labels = {f.name: f.label.text for f in published_form if f.name in after}
    choices = {f.name: {value: label for value, label, *_rest in f.iter_choices()} for f in published_form
               if f.name in after and hasattr(f, "iter_choices")}
    return diff_values(_card_values(published_form), after, labels, choices)


def render_commitment(c: Commitment, status: int = 200, **forms):
    """The commitment's admin page (card, milestones, reports, evidence, publishing, history);
    ``forms`` replaces the empty edit/publish/retract/delete/upload forms by submitted ones. A
    published commitment's card shows its draft (the next version) and the changes."""
    published = c.status == "published"
    draft = get_draft(c) if published else None
    defaults = {
        "form": lambda: _draft_form(c, draft.data) if draft is not None else _commitment_form_for(c),
        "changes_form": lambda: ReasonForm(formdata=None, prefix="changes"),
        "discard_form": lambda: ConfirmForm(formdata=None, prefix="discard"),
        "publish_form": lambda: ConfirmForm(formdata=None, prefix="publish"),
        "retract_form": lambda: DeleteForm(formdata=None, prefix="retract"),
        "delete_form": lambda: ConfirmForm(formdata=None, prefix="delete"),
        "upload_form": lambda: EvidenceForm(formdata=None, prefix="upload"),
    }
    context = {k: forms.get(k) or make() for k, make in defaults.items()}
    context["upload_form"].require_reason = published
    context["form"].require_reason = False
    total = prog.weights_total(m.weight for m in c.milestones)
    today = prog.tenant_today(g.tenant)
    return render_template(
        "action_plans/admin/commitment_edit.html", c=c, plan=c.plan, labels=labels(),
        weights_total=total, weights_ok=not c.milestones or prog.weights_ok(total),
        problems=services.commitment_problems(c), today=today,
        evidence=attachments_of(OWNER_COMMITMENT, [c.id]),
        milestone_evidence={m.id: attachments_of(OWNER_MILESTONE, [m.id]) for m in c.milestones},
        report_evidence={r.id: attachments_of(OWNER_REPORT, [r.id]) for r in c.reports},
        history=history("commitment", c.id), draft=draft, changes=draft_changes(c, draft) if draft else [],
        **context), status


@require_role(*ROLES)
def commitment_edit(commitment_id: int):
    """Edit a commitment's SMART card, status and progress; shows its milestones, reports,
    evidence and history. A draft commitment is saved in place; editing a published one saves a
    draft of the next version (the public keeps seeing the published card until "Publicar
    cambios", :func:`commitment_publish_changes`). ``autosave=1`` (``js/editing.js``) answers
    JSON (:func:`comun_cms.toolkit.autosave_reply`); the "Preview" button stores nothing."""
    c = commitment_or_404(commitment_id)
    if request.method == "GET":
        return render_commitment(c)
    autosave = is_autosave()
    form = CommitmentForm(status_choices=_status_choices(c.progress_status))
    form.require_reason = False
    if c.status == "retracted":
        form.form_errors.append(_("A retracted commitment cannot be edited."))
        return autosave_reply(False, form, status=409, message=_("Not saved.")) if autosave \
            else render_commitment(c, 409, form=form)
    if not (form.validate_on_submit() and _check_commitment(c, c.plan, form)):
        if autosave:
            return autosave_reply(False, form)
        return render_commitment(c, INVALID, form=form)
    if c.status == "published":
        previous = get_draft(c)
        data = {k: request.form.getlist(k) for k in request.form if k not in _NOT_DRAFTED}
        with admin_change("commitment.draft", c, object_type="commitment", form=form,
                          before=dict(previous.data) if previous else None) as change:
            draft = save_draft(c, data, user=current_user, keep_all=True)
            if not draft_changes(c, draft):
                discard_draft(c)
                draft = None
            change.after = dict(draft.data) if draft is not None else None
        message = (_("Changes saved as a draft. The public still sees version %(n)d until you publish the changes.",
                     n=c.version) if change.after else _("The draft is the same as the published version."))
        if autosave:
            return autosave_reply(change.ok, form)
        if change.failed:
            return render_commitment(commitment_or_404(commitment_id), INVALID, form=form)
        flash(message, "success")
        return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)
    with admin_change("commitment.update", c, object_type="commitment", before=commitment_snapshot(c),
                      form=form) as change:
        if form.number.data:
            c.number = form.number.data
        _fill_commitment(c, form)
        db.session.flush()
        pubs = services.republish([c], c.plan, form.reason.data, current_user)
        change.after = {**commitment_snapshot(c), "status_correction": form.status_correction.data,
                        "publications": audit_pubs(pubs)}
    if autosave:
        return autosave_reply(change.ok, form)
    if change.failed:
        return render_commitment(commitment_or_404(commitment_id), INVALID, form=form)
    flash_pubs(pubs, _("Draft commitment saved."))
    return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)


@require_role(*ROLES)
def commitment_publish_changes(commitment_id: int):
    """"Publicar cambios": apply the draft of a published commitment and publish it as a
    correction with the reason given (the plan is corrected too when its figures change); the
    draft is deleted. A draft that no longer passes the checks (e.g. its number was taken since)
    is shown with its problems and nothing is published."""
    c = commitment_or_404(commitment_id)
    changes_form = ReasonForm(prefix="changes")
    draft = get_draft(c)
    if draft is None or c.status != "published":
        flash(_("There are no unpublished changes to publish."), "error")
        return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)
    if not changes_form.validate_on_submit():
        return render_commitment(c, INVALID, changes_form=changes_form)
    form = _draft_form(c, draft.data)
    form.require_reason = False
    if not (form.validate() and _check_commitment(c, c.plan, form)):
        changes_form.form_errors.append(_("The draft has problems; correct them in the card and save it again."))
        return render_commitment(c, INVALID, form=form, changes_form=changes_form)
    with admin_change("commitment.correct", c, object_type="commitment", before=commitment_snapshot(c),
                      form=changes_form) as change:
        if form.number.data:
            c.number = form.number.data
        _fill_commitment(c, form)
        discard_draft(c)
        db.session.flush()
        pubs = services.republish([c], c.plan, changes_form.reason.data, current_user)
        if not pubs:
            raise ChangeRefused(_("Nothing changed, so there is nothing to correct."))
        change.after = {**commitment_snapshot(c), "reason": changes_form.reason.data,
                        "status_correction": form.status_correction.data, "publications": audit_pubs(pubs)}
    if change.failed:
        return render_commitment(commitment_or_404(commitment_id), INVALID, changes_form=changes_form)
    flash_pubs(pubs, _("Draft commitment saved."))
    return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)


@require_role(*ROLES)
def commitment_discard_changes(commitment_id: int):
    """Delete the draft of a published commitment; the published card stays as it is."""
    c = commitment_or_404(commitment_id)
    form = ConfirmForm(prefix="discard")
    draft = get_draft(c)
    if not form.validate_on_submit() or draft is None:
        return redirect(url_for(".commitment_edit", commitment_id=c.id), code=303)
    with admin_change("commitment.draft_discard", c, object_type="commitment", before=dict(draft.data),
                      success=_("Unpublished changes discarded.")) as change:
        discard_draft(c)
        change.after = None
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
