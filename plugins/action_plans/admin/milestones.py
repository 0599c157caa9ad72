"""Admin views of milestones: add, edit (status forward only unless corrected with a reason),
attach evidence, remove, and edit all the weights of a commitment at once. The weights of a
published commitment's milestones always add up to 100; every change of a published commitment's
milestones publishes a correction of it.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from comun_cms.toolkit import ChangeRefused, admin_change, db, require_role, snapshot

from .. import csv_io
from .. import progress as prog
from .. import services
from ..content import attachments_of
from ..forms import DeleteForm, EvidenceForm, MilestoneForm, WeightsForm
from ..models import OWNER_MILESTONE, Commitment, Milestone
from .common import (
    INVALID, ROLES, audit_pubs, commitment_or_404, commitment_snapshot, delete_attachments, flash_pubs,
    milestone_or_404, number_taken, upload_evidence,
)


def rescale(milestones: list[Milestone], keep: Milestone | None = None) -> None:
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


def _check_milestone(m: Milestone | None, c: Commitment, form: MilestoneForm) -> bool:
    ok = True
    number = form.number.data
    if number and number_taken(Milestone, number, exclude_id=m.id if m else None, commitment_id=c.id):
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


def _save_milestone(c: Commitment, m: Milestone, form: MilestoneForm, *, is_new: bool):
    """Store a new (``is_new``: added to ``c`` here) or edited milestone, scaling the other
    weights when asked, and publish the commitment's correction when it is published. Returns
    the redirect, or ``None`` when the change was refused (the errors are on the form)."""
    rebalance = request.form.get("rebalance") == "y"
    before = None if is_new else snapshot(m)
    with admin_change("milestone.create" if is_new else "milestone.update", m, object_type="ap_milestone",
                      before=before, form=form) as change:
        if is_new:
            m.number = form.number.data or services.next_number(x.number for x in c.milestones)
            c.milestones.append(m)
        elif form.number.data:
            m.number = form.number.data
        _fill_milestone(m, form)
        db.session.flush()
        if rebalance:
            rescale(c.milestones, keep=m)
        total = prog.weights_total(x.weight for x in c.milestones)
        if c.status == "published" and not prog.weights_ok(total):
            raise ChangeRefused(
                _("With this weight the milestones add up to %(total)s, not 100. Tick “scale the other weights” or edit all the weights at once.",
                  total=csv_io._fmt_number(total)), field="weight")
        db.session.flush()
        pubs = services.republish([c], c.plan, form.reason.data, current_user)
        if c.status == "published" and not pubs:
            raise ChangeRefused(_("Nothing changed, so there is nothing to correct."))
        change.after = {**snapshot(m), "status_correction": form.status_correction.data, "rebalanced": rebalance,
                        "publications": audit_pubs(pubs)}
    if change.failed:
        return None
    if not prog.weights_ok(total):
        flash(_("The weights of the milestones add up to %(total)s; they must add up to 100 before the commitment is published.",
                total=csv_io._fmt_number(total)), "warning")
    flash_pubs(pubs, _("Milestone saved."))
    return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#hitos", code=303)


def _render_milestone(c: Commitment, m: Milestone, status: int = 200, form=None, upload_form=None, delete_form=None):
    """The admin page of an existing milestone (form, evidence, upload and delete forms)."""
    form = form or MilestoneForm(formdata=None, obj=m, status_choices=services.status_choices())
    return render_template("action_plans/admin/milestone_form.html", form=form, c=c, m=m,
                           rebalance=request.form.get("rebalance") == "y",
                           evidence=attachments_of(OWNER_MILESTONE, [m.id]),
                           upload_form=upload_form or EvidenceForm(formdata=None, prefix="upload"),
                           delete_form=delete_form or DeleteForm(formdata=None, prefix="delete")), status


@require_role(*ROLES)
def milestone_new(commitment_id: int):
    """Add a milestone to a commitment (optionally scaling the others' weights to keep 100)."""
    c = commitment_or_404(commitment_id)
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
        response = _save_milestone(c, Milestone(), form, is_new=True)
        if response is not None:
            return response
        c = commitment_or_404(commitment_id)
    return render_template("action_plans/admin/milestone_form.html", form=form, c=c, m=None,
                           rebalance=request.form.get("rebalance", "y" if c.milestones else "") == "y"), \
        INVALID if request.method == "POST" else 200


@require_role(*ROLES)
def milestone_edit(milestone_id: int):
    """Edit a milestone (status forward only unless corrected with a reason)."""
    m = milestone_or_404(milestone_id)
    c = m.commitment
    if request.method == "GET":
        form = MilestoneForm(formdata=None, obj=m, status_choices=services.status_choices())
        form.require_reason = c.status == "published"
        return _render_milestone(c, m, form=form)
    form = MilestoneForm(status_choices=services.status_choices())
    form.require_reason = c.status == "published"
    if c.status == "retracted":
        abort(409)
    if form.validate_on_submit() and _check_milestone(m, c, form):
        response = _save_milestone(c, m, form, is_new=False)
        if response is not None:
            return response
        m = milestone_or_404(milestone_id)
        c = m.commitment
    return _render_milestone(c, m, INVALID, form=form)


@require_role(*ROLES)
def milestone_upload(milestone_id: int):
    """Attach an evidence file to a milestone (a correction of its published commitment)."""
    m = milestone_or_404(milestone_id)
    c = m.commitment
    form = EvidenceForm(prefix="upload")
    form.require_reason = c.status == "published"

    def on_error():
        mm = milestone_or_404(milestone_id)
        return _render_milestone(mm.commitment, mm, INVALID, upload_form=form)
    if c.status == "retracted":
        abort(409)
    if not form.validate_on_submit():
        return on_error()
    return upload_evidence(c, form, OWNER_MILESTONE, m.id, on_error, anchor="#hitos")


@require_role(*ROLES)
def milestone_delete(milestone_id: int):
    """Remove a milestone; the remaining weights are scaled to add up to 100. On a published
    commitment a correction is published with the reason given."""
    m = milestone_or_404(milestone_id)
    c = m.commitment
    form = DeleteForm(prefix="delete")
    form.require_reason = c.status == "published"
    if c.status == "retracted":
        abort(409)
    if form.validate_on_submit():
        with admin_change("milestone.delete", m, object_type="ap_milestone", object_id=milestone_id,
                          before=commitment_snapshot(c), form=form) as change:
            delete_attachments(OWNER_MILESTONE, [m.id])
            c.milestones.remove(m)
            rescale(c.milestones)
            db.session.flush()
            pubs = services.republish([c], c.plan, form.reason.data, current_user)
            change.after = {**commitment_snapshot(c), "publications": audit_pubs(pubs)}
        if change.ok:
            flash_pubs(pubs, _("Milestone removed."))
            return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#hitos", code=303)
        m = milestone_or_404(milestone_id)
        c = m.commitment
    return _render_milestone(c, m, INVALID, delete_form=form)


@require_role(*ROLES)
def weights(commitment_id: int):
    """Edit the weights of all milestones at once (fields ``weight-<milestone id>``); they must
    add up to 100."""
    c = commitment_or_404(commitment_id)
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
            with admin_change("commitment.weights", c, object_type="commitment", before=commitment_snapshot(c),
                              form=form) as change:
                for m in c.milestones:
                    m.weight = parsed[m.id]
                pubs = services.republish([c], c.plan, form.reason.data, current_user)
                change.after = {**commitment_snapshot(c), "publications": audit_pubs(pubs)}
            if change.ok:
                flash_pubs(pubs, _("Weights saved."))
                return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#hitos", code=303)
            c = commitment_or_404(commitment_id)
    status = INVALID if request.method == "POST" else 200
    return render_template("action_plans/admin/weights.html", c=c, form=form, values=values, weight_errors=errors,
                           total=prog.weights_total(m.weight for m in c.milestones)), status
