"""Admin pages of sessions: record a new one, the session's page (its facts saved, the call
corrected when it changed) and deleting a session that was never made public."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from comun_cms.toolkit import (
    Attachment, ChangeRefused, ConfirmForm, admin_change, autosave_reply, db, is_autosave, require_role,
)

from .. import services as svc
from ..forms import SessionForm
from ..models import Body, Session
from .common import EDITORS, INVALID, REFUSALS, render_session, session_or_404, session_url


def _populate_session(form: SessionForm, s: Session) -> None:
    tenant = g.tenant
    for name in ("kind", "number", "session_date", "modality", "place", "video_url", "call_url", "summary",
                 "source_url", "source_note", "is_demo"):
        value = getattr(form, name).data
        setattr(s, name, value if value is not None or name in ("number", "session_date") else "")
    if s.kind == "inaugural" and not s.number:
        s.number = None
    s.starts_at = svc.local_to_utc(tenant, form.session_date.data, form.start_time.data)
    s.ends_at = svc.local_to_utc(tenant, form.session_date.data, form.end_time.data)


def _number_taken(body_id: int, kind: str, number: int | None, session_id: int | None) -> bool:
    q = select(Session.id).where(Session.body_id == body_id, Session.kind == kind)
    q = q.where(Session.number.is_(None)) if number is None else q.where(Session.number == number)
    if session_id is not None:
        q = q.where(Session.id != session_id)
    return db.session.scalar(q) is not None


def _call_facts(s: Session) -> tuple:
    """What the public call says about the session (a change publishes a correction of it)."""
    return (s.kind, s.number, s.session_date, s.starts_at, s.ends_at, s.modality, s.place, s.video_url, s.call_url)


@require_role(*EDITORS)
def session_new():
    """Record a new session (a draft): body, kind and number (the next free one is suggested),
    date and times in the tenant's zone, modality, place, links."""
    bodies = db.session.scalars(select(Body).order_by(Body.name)).all()
    if not bodies:
        flash(_("Create the body that meets before recording its sessions."), "warning")
        return redirect(url_for("admin_stl_minutes.body_new"))
    form = SessionForm()
    form.body.choices = [(b.id, b.name) for b in bodies]
    if not form.is_submitted():
        body_id = request.args.get("organo", type=int)
        form.body.data = body_id if body_id in {b.id for b in bodies} else bodies[0].id
        form.number.data = svc.suggest_number(form.body.data, "regular")
        form.is_demo.data = next(b for b in bodies if b.id == form.body.data).is_demo
    if form.validate_on_submit():
        body = next(b for b in bodies if b.id == form.body.data)
        number = form.number.data if form.kind.data != "inaugural" or form.number.data else None
        if _number_taken(body.id, form.kind.data, number, None):
            form.number.errors.append(_("This body already has a session of this kind with this number."))
        else:
            with admin_change("stl_session.create", object_type="stl_session", form=form, errors=REFUSALS,
                              success=_("Session recorded as a draft: add the agenda, the attendance and the "
                                        "agreements.")) as change:
                s = Session(body=body)
                _populate_session(form, s)
                db.session.add(s)
                change.record = s
            if change.ok:
                return redirect(session_url(s))
    return render_template("stl_minutes/admin/session_new.html", form=form), \
        INVALID if form.errors or form.form_errors else 200


@require_role(*EDITORS)
def session_edit(session_id: int):
    """The session's page: every part of the minutes and the lifecycle actions. POST saves the
    session's facts (draft or review only). When its call is published, the public keeps seeing
    the published call: the page then shows the changes against it and "Publicar cambios"
    (``call_correct``) publishes them as one correction with a reason. ``autosave=1``
    (``js/editing.js``) saves the same way and answers JSON
    (:func:`comun_cms.toolkit.autosave_reply`); the "Preview" button stores nothing."""
    s = session_or_404(session_id)
    if request.method == "GET":
        return render_session(s)
    autosave = is_autosave()
    form = SessionForm()
    del form.body
    if not form.validate_on_submit():
        return autosave_reply(False, form) if autosave else render_session(s, INVALID, form=form)
    with admin_change("stl_session.update", s, object_type="stl_session", form=form, errors=REFUSALS) as change:
        svc.ensure_editable(s)
        if _number_taken(s.body_id, form.kind.data, form.number.data, s.id):
            raise ChangeRefused(_("This body already has a session of this kind with this number."), field="number")
        facts_before = _call_facts(s)
        _populate_session(form, s)
        svc.renumber_agreements(g.tenant, s)
        call = svc.call_for(s)
        pending = (call is not None and call.status == "published" and _call_facts(s) != facts_before
                   and svc.content_changed(call))
    if autosave:
        return autosave_reply(change.ok, form)
    if change.failed:
        return render_session(session_or_404(session_id), INVALID, form=form)
    if pending:
        flash(_("Session saved. The public call still shows version %(n)d until you publish the changes.",
                n=call.version), "success")
        return redirect(session_url(s, "call"))
    flash(_("Session saved."), "success")
    return redirect(session_url(s))


@require_role(*EDITORS)
def session_delete(session_id: int):
    """Delete a session that was never made public (no published minutes, no published call)."""
    s = session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        call = svc.call_for(s)
        if s.status != "draft" or (call is not None and call.status != "draft"):
            flash(_("This session has public versions; it cannot be deleted."), "error")
            return redirect(session_url(s))
        with admin_change("stl_session.delete", s, object_type="stl_session", object_id=session_id,
                          success=_("Session deleted.")) as change:
            if call is not None:
                db.session.delete(call)
            approved = db.session.scalars(select(Session).where(Session.approved_in_id == s.id)).first()
            if approved is not None:
                raise ChangeRefused(_("The session approves the minutes of “%(title)s”; reopen those minutes first.",
                                      title=approved.title))
            for att in db.session.scalars(select(Attachment).where(Attachment.owner_type == "stl_session",
                                                                  Attachment.owner_id == str(s.id),
                                                                  Attachment.public.is_(False))):
                db.session.delete(att)
            db.session.delete(s)
            change.after = None
        if change.failed:
            return redirect(session_url(s))
    return redirect(url_for("admin_stl_minutes.index"))
