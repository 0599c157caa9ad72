"""Admin actions of the minutes' lifecycle: draft -> review -> approved (in a later session)
-> published and locked; addenda afterwards. Each audit event records the session's
:func:`~comun_cms.toolkit.snapshot` before and after."""
from __future__ import annotations

from flask import flash, g, redirect
from flask_babel import gettext as _
from flask_login import current_user

from comun_cms.toolkit import ConfirmForm, admin_change, require_role, snapshot

from .. import services as svc
from ..forms import AddendumForm, ApproveForm
from .common import EDITORS, INVALID, REFUSALS, render_session, session_or_404, session_url


@require_role(*EDITORS)
def submit_review(session_id: int):
    """draft -> in review: attendees can comment."""
    s = session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_session.review", s, object_type="stl_session", errors=REFUSALS,
                          success=_("The minutes are in review: attendees can comment.")):
            svc.submit_for_review(s)
    return redirect(session_url(s, "lifecycle"))


@require_role(*EDITORS)
def to_draft(session_id: int):
    """in review or approved -> draft (an approval is cleared)."""
    s = session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_session.draft", s, object_type="stl_session", errors=REFUSALS,
                          success=_("The minutes are a draft again.")):
            svc.return_to_draft(s)
    return redirect(session_url(s, "lifecycle"))


@require_role(*EDITORS)
def approve(session_id: int):
    """Record that the minutes were approved in a later session of the same body."""
    s = session_or_404(session_id)
    form = ApproveForm(prefix="appr")
    today = svc.tenant_today(g.tenant)
    form.approving.choices = [("", "")] + [(c.id, c.title) for c in svc.approving_candidates(s, today)]
    if not form.validate_on_submit():
        return render_session(s, INVALID, approve_form=form)
    approving = session_or_404(form.approving.data)
    with admin_change("stl_session.approve", s, object_type="stl_session", errors=REFUSALS,
                      success=_("Approval recorded. The minutes can now be published.")) as change:
        svc.approve(s, approving, today=today)
        change.after = {**snapshot(s), "approved_in": approving.id}
    return redirect(session_url(s, "lifecycle"))


@require_role(*EDITORS)
def publish(session_id: int):
    """Publish approved minutes and their agreements; the minutes are locked afterwards."""
    s = session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_session.publish", s, object_type="stl_session", errors=REFUSALS,
                          success=_("Minutes published and locked. From now on only addenda can be added.")):
            svc.publish_minutes(g.tenant, s, user=current_user)
    return redirect(session_url(s, "lifecycle"))


@require_role(*EDITORS)
def addendum(session_id: int):
    """Publish an addendum (reason and text) to published minutes: a new version."""
    s = session_or_404(session_id)
    form = AddendumForm(prefix="add")
    if not form.validate_on_submit():
        return render_session(s, INVALID, addendum_form=form)
    with admin_change("stl_session.addendum", s, object_type="stl_session", errors=REFUSALS) as change:
        svc.add_addendum(s, form.reason.data, form.text.data, user=current_user)
        change.after = {**snapshot(s), "reason": form.reason.data}
    if change.ok:
        flash(_("Addendum published as version %(n)d.", n=s.version), "success")
    return redirect(session_url(s, "addenda"))
