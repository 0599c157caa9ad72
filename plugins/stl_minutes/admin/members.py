"""Admin pages of a body's members: add, edit, remove (each a correction of the body once it
is published)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from comun_cms.toolkit import ReasonForm, admin_change, db, one_or_404, require_role

from .. import services as svc
from ..forms import MemberForm
from ..models import Body, Member
from .common import EDITORS, INVALID, REFUSALS, member_choices


def _populate_member(form: MemberForm, member: Member) -> None:
    for name in ("name", "institution", "post", "sector", "capacity", "term_start", "term_end", "email", "is_demo"):
        value = getattr(form, name).data
        setattr(member, name, value if value is not None or name.startswith("term") else "")
    member.alternate_for_id = form.alternate_for.data
    member.position = form.position.data or 0


def _member_form(body: Body, member: Member | None = None) -> MemberForm:
    form = MemberForm(obj=member) if member is not None else MemberForm()
    form.alternate_for.choices = [c for c in member_choices(body, seats_only=True)
                                  if member is None or c[0] != member.id]
    if member is not None and request.method == "GET":
        form.alternate_for.data = member.alternate_for_id
    return form


def _members_url(body_id: int) -> str:
    return url_for("admin_stl_minutes.body_edit", body_id=body_id) + "#members"


@require_role(*EDITORS)
def member_new(body_id: int):
    """Add a member to a body (a correction of the body if it is published)."""
    body = one_or_404(Body, body_id)
    form = _member_form(body)
    if form.validate_on_submit():
        with admin_change("stl_member.create", object_type="stl_member", form=form, errors=REFUSALS,
                          success=_("Member added.")) as change:
            member = Member(body_id=body.id)
            _populate_member(form, member)
            if not form.position.data:
                member.position = max((m.position for m in body.members), default=-1) + 1
            body.members.append(member)
            db.session.flush()
            svc.sync_body(body, form.reason.data, user=current_user)
            change.record = member
            change.after = {"name": member.name, "body": body.id}
        if change.ok:
            return redirect(_members_url(body.id))
        body = one_or_404(Body, body_id)
    return render_template("stl_minutes/admin/member.html", form=form, b=body, member=None), \
        INVALID if form.errors or form.form_errors else 200


@require_role(*EDITORS)
def member_edit(member_id: int):
    """Edit a member (a correction of the body if it is published)."""
    member = one_or_404(Member, member_id)
    body = member.body
    form = _member_form(body, member)
    if form.validate_on_submit():
        with admin_change("stl_member.update", object_type="stl_member", object_id=member.id, form=form,
                          errors=REFUSALS, success=_("Member saved.")) as change:
            _populate_member(form, member)
            svc.sync_body(body, form.reason.data, user=current_user)
            change.after = {"name": member.name}
        if change.ok:
            return redirect(_members_url(body.id))
        member = one_or_404(Member, member_id)
        body = member.body
    return render_template("stl_minutes/admin/member.html", form=form, b=body, member=member,
                           delete_form=ReasonForm(prefix="del")), INVALID if form.errors or form.form_errors else 200


@require_role(*EDITORS)
def member_delete(member_id: int):
    """Remove a member (a correction of the body if it is published; the reason is required
    then). Past attendance keeps the person's name."""
    member = one_or_404(Member, member_id)
    body_id = member.body_id
    form = ReasonForm(prefix="del")
    form.require_reason = False
    if form.validate_on_submit():
        with admin_change("stl_member.delete", object_type="stl_member", object_id=member_id,
                          before={"name": member.name}, errors=REFUSALS, success=_("Member removed.")) as change:
            body = member.body
            for other in body.members:
                if other.alternate_for_id == member.id:
                    other.alternate_for_id = None
            body.members.remove(member)
            db.session.flush()
            svc.sync_body(body, form.reason.data, user=current_user)
        if change.ok:
            return redirect(_members_url(body_id))
    return redirect(url_for("admin_stl_minutes.member_edit", member_id=member_id))
