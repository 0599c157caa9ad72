"""Admin pages of agreements: adding, editing and removing them while the minutes are a draft,
the follow-up list of published agreements and the follow-up of one (each entry a new
published version)."""
from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import ConfirmForm, admin_change, db, history, one_or_404, require_role, snapshot, store_upload

from .. import services as svc
from .. import vocab
from ..commitments import commitment_choices, commitment_ref
from ..forms import AgreementForm, FollowUpForm
from ..models import Agreement
from .common import EDITORS, INVALID, REFUSALS, render_session, session_or_404, session_url

#: What an agreement's audit event records of an edit of its draft.
EDIT_FIELDS = ("text", "owner", "due_date")


def _follow_up_state(ag: Agreement) -> dict:
    """What an agreement's audit event records of a follow-up entry."""
    return {"progress": ag.progress, "due": ag.current_due_date, "version": ag.version}


@require_role(*EDITORS)
def agreement_add(session_id: int):
    """Add an agreement; its key is generated (``STL-MEX/ORD19/2023/01``)."""
    s = session_or_404(session_id)
    form = AgreementForm(prefix="agr")
    form.commitment.choices = commitment_choices()
    if not form.validate_on_submit():
        return render_session(s, INVALID, agreement_form=form)
    with admin_change("stl_agreement.create", object_type="stl_agreement", errors=REFUSALS) as change:
        ag = svc.add_agreement(g.tenant, s, text=form.text.data, vote=form.vote.data or "", owner=form.owner.data or "",
                               due_date=form.due_date.data, commitment_id=form.commitment.data,
                               commitment_ref=commitment_ref(form.commitment.data, form.commitment_ref.data))
        change.record = ag
        change.after = {"key": ag.key, "text": ag.text}
    if change.ok:
        flash(_("Agreement %(key)s added.", key=ag.key), "success")
    return redirect(session_url(s, "agreements"))


@require_role(*EDITORS)
def agreement_edit(agreement_id: int):
    """Edit an agreement of minutes in draft or review."""
    ag = one_or_404(Agreement, agreement_id)
    s = ag.session
    if s.status != "draft" or s.stage not in svc.EDITABLE_STAGES:
        flash(_("The minutes are not editable; published agreements are followed up instead."), "warning")
        return redirect(url_for("admin_stl_minutes.agreement_follow_up", agreement_id=ag.id)
                        if ag.status == "published" else session_url(s, "agreements"))
    form = AgreementForm(obj=ag)
    form.commitment.choices = commitment_choices()
    if request.method == "GET":
        form.commitment.data = ag.commitment_id
    if form.validate_on_submit():
        with admin_change("stl_agreement.update", object_type="stl_agreement", object_id=ag.id,
                          before=snapshot(ag, EDIT_FIELDS), form=form, errors=REFUSALS,
                          success=_("Agreement saved.")) as change:
            ag.text, ag.vote, ag.owner = form.text.data, form.vote.data or "", form.owner.data or ""
            ag.due_date = ag.current_due_date = form.due_date.data
            ag.commitment_id = form.commitment.data
            ag.commitment_ref = commitment_ref(form.commitment.data, form.commitment_ref.data)
            change.after = snapshot(ag, EDIT_FIELDS)
        if change.ok:
            return redirect(session_url(s, "agreements"))
    return render_template("stl_minutes/admin/agreement_edit.html", form=form, ag=ag, s=s), \
        INVALID if form.errors or form.form_errors else 200


@require_role(*EDITORS)
def agreement_delete(agreement_id: int):
    """Delete an agreement of minutes in draft or review (the others are renumbered)."""
    ag = one_or_404(Agreement, agreement_id)
    s = ag.session
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_agreement.delete", object_type="stl_agreement", object_id=agreement_id,
                          before={"key": ag.key}, errors=REFUSALS, success=_("Agreement removed.")):
            svc.remove_agreement(g.tenant, ag)
    return redirect(session_url(s, "agreements"))


@require_role(*EDITORS)
def agreements():
    """Published agreements with their status today; ``?estado=overdue`` and other statuses."""
    today = svc.tenant_today(g.tenant)
    items = list(db.session.scalars(select(Agreement).where(Agreement.status == "published")))
    status = request.args.get("estado", "")
    if status in vocab.FILTER_STATUSES:
        items = [a for a in items if svc.effective_progress(a, today) == status]
    items.sort(key=lambda a: (not svc.is_overdue(a, today), a.current_due_date or dt.date.max, a.key))
    drafts = list(db.session.scalars(select(Agreement).where(Agreement.status == "draft")))
    return render_template("stl_minutes/admin/agreements.html", items=items, status=status, drafts=drafts)


@require_role(*EDITORS)
def agreement_follow_up(agreement_id: int):
    """Record follow-up of a published agreement (status, note, extension, evidence link or
    file, commitment link); each entry publishes a new version with the note as reason."""
    ag = one_or_404(Agreement, agreement_id)
    if ag.status != "published":
        flash(_("The minutes of this agreement are not published yet; edit it in the session."), "warning")
        return redirect(session_url(ag.session, "agreements"))
    today = svc.tenant_today(g.tenant)
    form = FollowUpForm()
    form.commitment.choices = commitment_choices()
    if request.method == "GET":
        form.entry_date.data = today
        form.progress.data = ag.progress
        form.commitment.data = ag.commitment_id
        form.commitment_ref.data = ag.commitment_ref
    if form.validate_on_submit():
        with admin_change("stl_agreement.follow_up", object_type="stl_agreement", object_id=ag.id,
                          before=_follow_up_state(ag), form=form, errors=REFUSALS) as change:
            att = None
            if form.file.data and getattr(form.file.data, "filename", ""):
                att = store_upload(form.file.data, owner_type="stl_agreement", owner_id=str(ag.id),
                                   kinds=("pdf", "image", "audio", "video", "document"), field="file",
                                   user_id=current_user.id)
                db.session.flush()
            svc.record_follow_up(
                ag, entry_date=form.entry_date.data, progress=form.progress.data, note=form.note.data,
                new_due_date=form.new_due_date.data, link_url=form.link_url.data or "", attachment=att,
                commitment_id=form.commitment.data,
                commitment_ref=commitment_ref(form.commitment.data, form.commitment_ref.data),
                user=current_user, today=today)
            change.after = _follow_up_state(ag)
        if change.ok:
            flash(_("Follow-up published as version %(n)d.", n=ag.version), "success")
            return redirect(url_for("admin_stl_minutes.agreement_follow_up", agreement_id=ag.id))
        ag = one_or_404(Agreement, agreement_id)
    errors = form.errors or form.form_errors
    return render_template("stl_minutes/admin/follow_up.html", form=form, ag=ag,
                           versions=history("stl_agreement", ag.id)), INVALID if errors else 200
