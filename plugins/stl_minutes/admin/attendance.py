"""Admin actions on a session's attendance: members present, other attendees, removal."""
from __future__ import annotations

from flask import flash, redirect, request
from flask_babel import gettext as _, lazy_gettext as _l

from comun_cms.toolkit import ConfirmForm, admin_change, one_or_404, require_role

from .. import services as svc
from ..forms import AttendanceForm
from ..models import Attendance
from ..services import MinutesError
from .common import EDITORS, INVALID, REFUSALS, member_choices, render_session, session_or_404, session_url


@require_role(*EDITORS)
def attendance_members(session_id: int):
    """Mark which members attended (checkboxes ``present`` with member ids)."""
    s = session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_attendance.members", object_type="stl_session", object_id=s.id,
                          errors=REFUSALS) as change:
            ids = set()
            for value in request.form.getlist("present"):
                if not (value.isascii() and value.isdigit() and len(value) < 10):
                    raise MinutesError(_l("Choose members of this body only."))
                ids.add(int(value))
            added, removed = svc.set_member_attendance(s, ids)
            change.after = {"added": added, "removed": removed}
        if change.ok:
            flash(_("Attendance saved: %(a)d added, %(r)d removed.", a=added, r=removed), "success")
    return redirect(session_url(s, "attendance"))


@require_role(*EDITORS)
def attendance_add(session_id: int):
    """Add an attendee typed in (guest, facilitator, or someone not on the member list)."""
    s = session_or_404(session_id)
    form = AttendanceForm(prefix="att")
    form.represents.choices = member_choices(s.body, seats_only=True)
    if not form.validate_on_submit():
        return render_session(s, INVALID, attendance_form=form)
    with admin_change("stl_attendance.create", object_type="stl_session", object_id=s.id, errors=REFUSALS,
                      success=_("Attendee added.")) as change:
        svc.ensure_editable(s)
        s.attendance.append(Attendance(
            name=form.name.data, institution=form.institution.data or "", post=form.post.data or "",
            sector=form.sector.data or "", capacity=form.capacity.data or "", role=form.role.data or "",
            represents_id=form.represents.data, position=max((a.position for a in s.attendance), default=0) + 1))
        change.after = {"name": form.name.data}
    return redirect(session_url(s, "attendance"))


@require_role(*EDITORS)
def attendance_delete(attendance_id: int):
    """Remove an attendee."""
    row = one_or_404(Attendance, attendance_id)
    s = row.session
    if ConfirmForm().validate_on_submit():
        with admin_change("stl_attendance.delete", object_type="stl_session", object_id=s.id,
                          before={"name": row.name}, errors=REFUSALS, success=_("Attendee removed.")):
            svc.ensure_editable(s)
            s.attendance.remove(row)
    return redirect(session_url(s, "attendance"))
