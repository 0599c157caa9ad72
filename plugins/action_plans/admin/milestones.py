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


#: Key of the milestone being added or edited in a weights proposal (the others use their ids).
THIS = "this"


def weights_token(proposal: dict) -> str:
    """A text form of a weights proposal (``"this=40;12=30;13=30"``), sent back by the confirm
    button so that only the numbers the user saw are applied."""
    return ";".join(f"{k}={csv_io._fmt_number(w)}" for k, w in proposal.items())


def weights_proposal(c: Commitment, m: Milestone | None, weight: float | None, description: str = "") -> dict | None:
    """What the weights would be if the milestone ``m`` (``None``: a new one, described by
    ``description``) had ``weight`` (percent), and the proposed rebalance that keeps it.

    Returns:
        ``{"total", "others_total", "rows": [{"label", "current", "proposed", "this"}], "token",
        "proposal"}`` (``proposal``: ``{milestone id or THIS: weight}``); ``None`` when the
        commitment has no other milestone. Reads only.
    """
    others = [x for x in c.milestones if m is None or x.id != m.id]
    if not others:
        return None
    typed = round(float(weight or 0), 2)
    pairs = [(x.id, x.weight) for x in others] + [(THIS, typed)]
    proposal = prog.proposed_weights(pairs, keep=THIS)
    number = (m.number if m is not None else None)
    rows = [{"label": f"{c.number}.{x.number} {x.description}", "current": x.weight, "proposed": proposal[x.id],
             "this": False} for x in others]
    rows.append({"label": (f"{c.number}.{number} " if number else "") + (description or str(_("this milestone"))),
                 "current": typed, "proposed": typed, "this": True})
    others_total = prog.weights_total(x.weight for x in others)
    return {"total": prog.weights_total([others_total, typed]), "others_total": others_total, "rows": rows,
            "token": weights_token(proposal), "proposal": proposal}


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
    """Store a new (``is_new``: added to ``c`` here) or edited milestone with the weight typed,
    and publish the commitment's correction when it is published.

    The other milestones' weights change only when the user confirmed the rebalance shown to
    them (button ``rebalance`` carrying :func:`weights_token` of the proposal seen); if the
    weights changed since, the change is refused and the new proposal shown. A published
    commitment's weights must add up to 100, so there a total other than 100 is refused with the
    total and the proposal; a draft is saved as typed, with a notice giving the total.

    Returns the redirect, or ``None`` when the change was refused (the errors are on the form).
    """
    token = request.form.get("rebalance", "")
    before = None if is_new else snapshot(m)
    with admin_change("milestone.create" if is_new else "milestone.update", m, object_type="ap_milestone",
                      before=before, form=form) as change:
        if is_new:
            m.number = form.number.data or services.next_number(x.number for x in c.milestones)
        elif form.number.data:
            m.number = form.number.data
        preview = weights_proposal(c, None if is_new else m, round(float(form.weight.data), 2))
        if is_new:
            c.milestones.append(m)
        _fill_milestone(m, form)
        db.session.flush()
        if token:
            if preview is None or token != preview["token"]:
                raise ChangeRefused(_("The weights changed since the proposal was shown; check the new proposal "
                                      "below and confirm it again."), field="weight")
            for x in c.milestones:
                if x is not m:
                    x.weight = preview["proposal"][x.id]
        total = prog.weights_total(x.weight for x in c.milestones)
        if c.status == "published" and not prog.weights_ok(total):
            raise ChangeRefused(
                _("With this weight the milestones add up to %(total)s %%, not 100, and the weights of a published "
                  "commitment must add up to 100. Change this weight, use the proposal below, or edit all the "
                  "weights at once.", total=csv_io._fmt_number(total)), field="weight")
        db.session.flush()
        pubs = services.republish([c], c.plan, form.reason.data, current_user)
        if c.status == "published" and not pubs:
            raise ChangeRefused(_("Nothing changed, so there is nothing to correct."))
        change.after = {**snapshot(m), "status_correction": form.status_correction.data,
                        "rebalanced": {str(k): v for k, v in preview["proposal"].items()} if token else None,
                        "publications": audit_pubs(pubs)}
    if change.failed:
        return None
    if not prog.weights_ok(total):
        flash(_("Milestone saved with the weight you typed (%(weight)s %%). The weights of the milestones now add "
                "up to %(total)s %%, not 100; the commitment cannot be published until they do. “Edit all "
                "weights” shows a proposal to rebalance them.",
                weight=csv_io._fmt_number(m.weight), total=csv_io._fmt_number(total)), "warning")
    if token:
        flash(_("Milestone saved; the other milestones' weights were rebalanced as you confirmed."), "success")
    flash_pubs(pubs, _("Milestone saved."))
    return redirect(url_for(".commitment_edit", commitment_id=c.id) + "#hitos", code=303)


def _typed_weight(form: MilestoneForm, m: Milestone | None) -> float | None:
    """The weight on the form (the stored one when the form has none or it is out of range)."""
    if form.weight.data is not None and 0 < form.weight.data <= 100:
        return round(float(form.weight.data), 2)
    return m.weight if m is not None else None


def _preview_for(c: Commitment, m: Milestone | None, form: MilestoneForm, posted: bool) -> dict | None:
    """The weights preview shown on the milestone form: always the other milestones' total;
    the proposed rebalance only after a submission whose total is not 100."""
    weight = _typed_weight(form, m)
    preview = weights_proposal(c, m, weight or 0, form.description.data or "")
    if preview is not None:
        preview["show"] = posted and weight is not None and not prog.weights_ok(preview["total"])
    return preview


def _render_milestone(c: Commitment, m: Milestone, status: int = 200, form=None, upload_form=None, delete_form=None):
    """The admin page of an existing milestone (form, evidence, upload and delete forms, the
    weights preview and the weights the others would get if it is removed)."""
    posted = form is not None and request.method == "POST"
    form = form or MilestoneForm(formdata=None, obj=m, status_choices=services.status_choices())
    remaining = [(x.id, x.weight) for x in c.milestones if x.id != m.id]
    after_delete = prog.proposed_weights(remaining) if remaining else {}
    return render_template("action_plans/admin/milestone_form.html", form=form, c=c, m=m,
                           preview=_preview_for(c, m, form, posted),
                           after_delete=[(x, after_delete[x.id]) for x in c.milestones if x.id in after_delete],
                           evidence=attachments_of(OWNER_MILESTONE, [m.id]),
                           upload_form=upload_form or EvidenceForm(formdata=None, prefix="upload"),
                           delete_form=delete_form or DeleteForm(formdata=None, prefix="delete")), status


@require_role(*ROLES)
def milestone_new(commitment_id: int):
    """Add a milestone to a commitment with the weight typed (the others' weights change only
    through a rebalance the user saw and confirmed)."""
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
                           preview=_preview_for(c, None, form, request.method == "POST")), \
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
    """Remove a milestone; the remaining weights get the proportional rebalance that the delete
    form shows (they keep adding up to 100). On a published commitment a correction is
    published with the reason given."""
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
            proposal = prog.proposed_weights([(x.id, x.weight) for x in c.milestones])
            for x in c.milestones:
                x.weight = proposal[x.id]
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
    add up to 100.

    When they do not, the page shows the current total and a proposed proportional rebalance
    (:func:`~plugins.action_plans.progress.proposed_weights`; ``?mantener=<milestone id>``
    keeps that milestone's weight). ``?propuesta=1`` fills the fields with the proposal, which
    is stored only when the user saves the form: nothing is rescaled without being shown.
    """
    c = commitment_or_404(commitment_id)
    form = WeightsForm()
    form.require_reason = c.status == "published"
    values: dict[int, str] = {m.id: csv_io._fmt_number(m.weight) for m in c.milestones}
    errors: dict[int, str] = {}
    total = prog.weights_total(m.weight for m in c.milestones)
    keep = request.args.get("mantener", type=int)
    keep = keep if any(m.id == keep for m in c.milestones) else None
    proposal = None
    if c.milestones and not prog.weights_ok(total):
        proposal = prog.proposed_weights([(m.id, m.weight) for m in c.milestones], keep=keep)
    filled = request.method == "GET" and proposal is not None and request.args.get("propuesta") == "1"
    if filled:
        values = {m.id: csv_io._fmt_number(proposal[m.id]) for m in c.milestones}
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
        typed_total = prog.weights_total(parsed.values())
        if not errors and not prog.weights_ok(typed_total):
            form.form_errors.append(_("The weights add up to %(total)s, not 100.", total=csv_io._fmt_number(typed_total)))
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
                           total=total, proposal=proposal, keep=keep, filled=filled), status
