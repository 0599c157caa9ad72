"""Review comments on minutes in review: open to the tenant's staff (any role) and to the
attendees whose member record carries the e-mail they log in with."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import VIEW_UNPUBLISHED, admin_change, can, db

from .. import services as svc
from ..forms import CommentForm
from ..models import ReviewComment, Session
from .common import INVALID


def _attendee_of(s: Session) -> bool:
    email = (getattr(current_user, "email", "") or "").strip().lower()
    return bool(email) and any(a.member is not None and (a.member.email or "").strip().lower() == email
                               for a in s.attendance)


def comments(session_id: int):
    """Read the minutes in review and comment on them. Open to the tenant's staff who may see
    drafts (``content.view_unpublished``; not evaluators) and to attendees whose member record
    carries the e-mail they log in with; others get 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    staff = can(VIEW_UNPUBLISHED)
    s = db.session.scalar(select(Session).where(Session.id == session_id))
    attendee = s is not None and _attendee_of(s)
    if not (staff or attendee):
        abort(403)
    if s is None or (not staff and s.stage != "review"):
        abort(404)
    form = CommentForm()
    if request.method == "POST":
        if s.stage != "review" or s.status != "draft":
            flash(_("Comments are only taken while the minutes are in review."), "error")
            return redirect(url_for("admin_stl_minutes.comments", session_id=s.id))
        if form.validate_on_submit():
            with admin_change("stl_session.comment", object_type="stl_session", object_id=s.id, form=form,
                              success=_("Comment added.")) as change:
                s.comments.append(ReviewComment(user_id=current_user.id,
                                                author_name=current_user.name or current_user.email,
                                                is_attendee=attendee, body=form.body.data, created_at=svc.now_utc()))
                change.after = {"attendee": attendee}
            if change.ok:
                return redirect(url_for("admin_stl_minutes.comments", session_id=s.id) + "#comments")
    template = "stl_minutes/admin/comments.html" if staff else "stl_minutes/admin/comments_attendee.html"
    return render_template(template, s=s, form=form, staff=staff, attendee=attendee), \
        INVALID if form.errors or form.form_errors else 200
