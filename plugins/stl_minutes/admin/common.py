"""What the admin pages of the STL-minutes plugin share: the roles that may edit, the status of
a refused form, the session page (every form of it, rendered again with a submitted one) and the
choices of member lists."""
from __future__ import annotations

from typing import Any

from flask import g, render_template, url_for
from flask_babel import format_date, lazy_gettext as _l

from comun_cms.toolkit import ConfirmForm, ReasonForm, diff_values, history, jsonable, one_or_404

from .. import services as svc
from ..commitments import commitment_choices
from ..forms import (
    AddendumForm, AgendaItemForm, AgreementForm, ApproveForm, AttendanceForm, CallDocumentForm, EvidenceForm,
    SessionForm,
)
from ..models import Body, Session
from ..content import serialize_call
from ..services import MinutesError
from ..templating import parse_datetime
from ..vocab import MODALITIES, SESSION_KINDS

#: Roles of the tenant that may edit bodies, sessions and agreements.
EDITORS = ("admin", "editor")
#: HTTP status of a form shown again with its problems.
INVALID = 422
#: Errors of the minutes' rules that refuse an admin change (besides the toolkit's own), for
#: :func:`comun_cms.toolkit.admin_change`'s ``errors``.
REFUSALS = (MinutesError,)


def session_url(s: Session, anchor: str = "") -> str:
    """Admin URL of the session's page, optionally at one of its sections (``#agenda``)."""
    return url_for("admin_stl_minutes.session_edit", session_id=s.id) + (f"#{anchor}" if anchor else "")


def session_or_404(session_id: int) -> Session:
    """The current tenant's session ``session_id``; 404 for another tenant's or a missing one."""
    return one_or_404(Session, session_id)


def member_choices(body: Body, seats_only: bool = False) -> list[tuple[Any, Any]]:
    """``(id, label)`` of the body's members (only those holding a seat with ``seats_only``),
    the empty choice ("None") first."""
    members = [m for m in body.members if not seats_only or m.capacity == "member"]
    return [("", _l("None"))] + [(m.id, f"{m.name}" + (f" · {m.institution}" if m.institution else "")) for m in members]


def session_forms(s: Session, **bound) -> dict[str, Any]:
    """Every form of the session page, empty; ``bound`` replaces some (by their template name,
    e.g. ``agenda_form``) with submitted, invalid ones."""
    tenant = g.tenant
    forms: dict[str, Any] = {}
    if "form" in bound:
        forms["form"] = bound["form"]
    else:
        form = SessionForm(obj=s, formdata=None)
        del form.body
        form.start_time.data = svc.utc_to_local_time(tenant, s.starts_at)
        form.end_time.data = svc.utc_to_local_time(tenant, s.ends_at)
        forms["form"] = form
    forms["agenda_form"] = bound.get("agenda_form") or AgendaItemForm(prefix="agenda", formdata=None)
    att = bound.get("attendance_form") or AttendanceForm(prefix="att", formdata=None)
    att.represents.choices = member_choices(s.body, seats_only=True)
    forms["attendance_form"] = att
    agr = bound.get("agreement_form") or AgreementForm(prefix="agr", formdata=None)
    agr.commitment.choices = commitment_choices()
    forms["agreement_form"] = agr
    forms["evidence_form"] = bound.get("evidence_form") or EvidenceForm(prefix="ev", formdata=None)
    forms["call_form"] = bound.get("call_form") or CallDocumentForm(prefix="call", formdata=None)
    approve = bound.get("approve_form") or ApproveForm(prefix="appr", formdata=None)
    approve.approving.choices = [("", _l("Choose a session"))] + [
        (c.id, f"{c.title} · {format_date(c.session_date, 'long')}")
        for c in svc.approving_candidates(s, svc.tenant_today(tenant))]
    forms["approve_form"] = approve
    forms["addendum_form"] = bound.get("addendum_form") or AddendumForm(prefix="add", formdata=None)
    forms["confirm"] = ConfirmForm()
    return forms


#: Labels of what a call says, in the order the changes are shown.
CALL_LABELS = {
    "kind": _l("Kind of session"), "number": _l("Number"), "session_date": _l("Date"), "starts_at": _l("Starts"),
    "ends_at": _l("Ends"), "modality": _l("Modality"), "place": _l("Place"), "video_url": _l("Video link"),
    "call_url": _l("Link to the call"), "call_document": _l("Call document"), "agenda": _l("Agenda"),
}


def _call_text(content: dict) -> dict[str, Any]:
    """What a call says as text per field (times in the tenant's zone, the agenda one item a line)."""
    out: dict[str, Any] = {}
    for key in CALL_LABELS:
        value = content.get(key)
        if key in ("starts_at", "ends_at") and value:
            moment = parse_datetime(value)
            value = moment.astimezone(g.tenant.tz).strftime("%Y-%m-%d %H:%M") if moment else value
        elif key == "call_document":
            value = f"{value.get('filename', '')} (SHA-256 {value.get('sha256', '')[:16]}…)" if value else ""
        elif key == "agenda":
            value = "\n".join(f"{item.get('position')}. {item.get('title')}" for item in value or [])
        out[key] = value
    return out


def call_changes(call) -> list:
    """The changes of a published call's session against the call as published (toolkit
    ``ValueChange`` rows, labelled in words): what "Publicar cambios" would publish."""
    published = svc.published_call_content(call)
    if published is None:
        return []
    return diff_values(_call_text(published), _call_text(jsonable(serialize_call(call))), CALL_LABELS,
                       {"kind": SESSION_KINDS, "modality": MODALITIES})


def render_session(s: Session, status: int = 200, **bound) -> tuple[str, int]:
    """The session's admin page (``stl_minutes/admin/session.html``) with HTTP ``status``;
    ``bound`` as in :func:`session_forms`."""
    call = svc.call_for(s)
    present = {a.member_id for a in s.attendance if a.member_id is not None}
    call_changed = call is not None and call.status == "published" and svc.content_changed(call)
    context = dict(
        s=s, call=call, call_changed=call_changed, call_fix_form=ReasonForm(prefix="callfix", formdata=None),
        call_changes=call_changes(call) if call_changed else [],
        present=present, quorum=svc.session_quorum(s),
        members=svc.members_in_term(s.body, s.session_date) if s.session_date else list(s.body.members),
        versions=history("stl_session", s.id) if s.id else [],
        call_versions=history("stl_call", call.id) if call is not None and call.id else [],
        editable=s.status == "draft" and s.stage in svc.EDITABLE_STAGES,
        evidence_open=s.status == "published" or (s.status == "draft" and s.stage in svc.EVIDENCE_STAGES),
        comments=s.comments, **session_forms(s, **bound))
    return render_template("stl_minutes/admin/session.html", **context), status
