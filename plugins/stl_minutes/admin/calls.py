"""Admin actions on a session's public call: its document, its publication (the session enters
the public calendar) and corrections of it."""
from __future__ import annotations

from flask import flash, redirect
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from comun_cms.toolkit import ChangeRefused, ConfirmForm, ReasonForm, admin_change, db, require_role, store_upload

from .. import services as svc
from ..forms import CallDocumentForm
from ..services import MinutesError
from .common import EDITORS, INVALID, REFUSALS, render_session, session_or_404, session_url


@require_role(*EDITORS)
def call_document(session_id: int):
    """Upload the call document (PDF). If the call is published, the reason is required and a
    correction of the call is published."""
    s = session_or_404(session_id)
    form = CallDocumentForm(prefix="call")
    if not form.validate_on_submit():
        return render_session(s, INVALID, call_form=form)
    with admin_change("stl_call.document", object_type="stl_session", object_id=s.id, form=form,
                      errors=REFUSALS, success=_("Call document uploaded.")) as change:
        if s.status != "draft":
            raise MinutesError(_l("The minutes of this session are already published."))
        att = store_upload(form.file.data, owner_type="stl_session", owner_id=str(s.id), title=_("Call"),
                           kinds=("pdf",), field="file", user_id=current_user.id)
        db.session.flush()
        s.call_attachment = att
        svc.sync_call(s, form.reason.data, user=current_user)
        change.after = {"sha256": att.sha256}
    if change.failed:
        return render_session(session_or_404(session_id), INVALID, call_form=form)
    return redirect(session_url(s, "call"))


@require_role(*EDITORS)
def call_correct(session_id: int):
    """Publish a correction of the call after agenda changes, with the reason given (the public
    calendar shows the call as last published until then)."""
    s = session_or_404(session_id)
    form = ReasonForm(prefix="callfix")
    if not form.validate_on_submit():
        flash(_("Explain the reason of the correction; it is published."), "error")
        return redirect(session_url(s, "call"))
    call = svc.call_for(s)
    if call is None or call.status != "published" or not svc.content_changed(call):
        flash(_("The call has no changes to publish."), "info")
        return redirect(session_url(s, "call"))
    with admin_change("stl_call.correct", object_type="stl_session", object_id=s.id, errors=REFUSALS,
                      success=_("Correction of the call published.")) as change:
        pub = svc.sync_call(s, form.reason.data, user=current_user)
        if pub is None:  # changed back meanwhile
            raise ChangeRefused(_("The call has no changes to publish."))
        change.after = {"version": pub.version, "reason": form.reason.data}
    return redirect(session_url(s, "call"))


@require_role(*EDITORS)
def call_publish(session_id: int):
    """Publish the call: the session appears in the public calendar and its iCalendar feed."""
    s = session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_call.publish", object_type="stl_session", object_id=s.id, errors=REFUSALS,
                          success=_("Call published: the session is in the public calendar.")) as change:
            svc.publish_call(s, user=current_user)
            change.after = {"date": s.session_date}
    return redirect(session_url(s, "call"))
