"""Admin pages of the STL-minutes plugin (blueprint ``admin_stl_minutes``, mounted at
``/<tenant>/admin/actas``): bodies and members, sessions from the call to the locked
publication, agreements follow-up, review comments.

Rules kept by every view:

* guarded by :func:`comun_cms.permissions.require_role` (``admin``, ``editor``), except the
  review comments, open to any staff role of the tenant and to attendees whose member record
  carries their login e-mail;
* records are read with ``select()`` (the tenant filter applies: another tenant's id is a 404);
* every write adds an audit event in the same transaction and commits once; on any error the
  transaction is rolled back and the form is shown again with the problem (status 422) or a
  flash message, nothing half-written;
* published records are never edited in place: bodies get corrections with a reason, minutes
  get addenda, agreements get follow-up entries (each a new published version).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from comun_cms.audit import record_audit
from comun_cms.database import one_or_404
from comun_cms.extensions import db
from comun_cms.forms import ConfirmForm, ReasonForm
from comun_cms.models import Attachment
from comun_cms.permissions import has_role, require_role
from comun_cms.publishing import PublishError, history
from comun_cms.uploads import UploadError, store_upload

from . import services as svc
from . import vocab
from .content import serialize_body
from .forms import (
    AddendumForm, AgendaItemForm, AgreementForm, ApproveForm, AttendanceForm, BodyForm, CallDocumentForm,
    CommentForm, EvidenceForm, FollowUpForm, MemberForm, SessionForm,
)
from .models import AgendaItem, Agreement, Attendance, Body, Evidence, Member, ReviewComment, Session
from .services import MinutesError
from .views import helpers

bp = Blueprint("admin_stl_minutes", __name__, url_prefix="/actas", template_folder="templates")

EDITORS = ("admin", "editor")
INVALID = 422
_ERRORS = (MinutesError, PublishError, UploadError)


# --------------------------------------------------------------------------- helpers
@bp.context_processor
def _context() -> dict[str, Any]:
    # the admin menu and role come from the core's admin context processor
    return helpers()


_one = one_or_404  # row of the current tenant, else 404 (never ``Session.get``)


def _commit(action: str, object_type: str, object_id: Any, before: Any = None, after: Any = None) -> None:
    """Add the audit event and commit the transaction."""
    record_audit(action, object_type, object_id, before=before, after=after)
    db.session.commit()


def _fail(exc: Exception) -> None:
    """Roll back and flash the error's message."""
    db.session.rollback()
    flash(str(exc), "error")


def _session_url(s: Session, anchor: str = "") -> str:
    return url_for("admin_stl_minutes.session_edit", session_id=s.id) + (f"#{anchor}" if anchor else "")


def _snapshot(s: Session) -> dict[str, Any]:
    return {"title": s.title, "body": s.body_id, "stage": s.stage, "status": s.status, "date": s.session_date,
            "version": s.version}


def commitment_content_type():
    """The ``commitment`` content type of the action_plans plugin, or ``None`` when that plugin
    is not installed or not enabled in the current tenant (found through the registry, so this
    plugin never imports action_plans)."""
    from comun_cms.content_types import get_registry
    tenant = g.get("tenant")
    if tenant is None or not tenant.enables("action_plans"):
        return None
    registry = get_registry()
    return registry.get("commitment") if "commitment" in registry else None


def commitment_choices() -> list[tuple[Any, Any]]:
    """``(id, label)`` of the tenant's published commitments (empty choice first)."""
    out: list[tuple[Any, Any]] = [("", _l("No commitment"))]
    ct = commitment_content_type()
    if ct is None:
        return out
    for c in db.session.scalars(select(ct.model).where(ct.model.status == "published").order_by(ct.model.id)):
        ext = getattr(c, "external_id", "")
        out.append((c.id, f"{ct.title(c)}" + (f" ({ext})" if ext else "")))
    return out


def _commitment_ref(commitment_id: int | None, typed: str) -> str:
    """The external id to store: the typed one, else the chosen commitment's ``external_id``."""
    if typed or commitment_id is None:
        return typed or ""
    ct = commitment_content_type()
    if ct is None:
        return ""
    record = db.session.scalar(select(ct.model).where(ct.model.id == commitment_id))
    return getattr(record, "external_id", "") or "" if record is not None else ""


def _member_choices(body: Body, seats_only: bool = False) -> list[tuple[Any, Any]]:
    members = [m for m in body.members if not seats_only or m.capacity == "member"]
    return [("", _l("None"))] + [(m.id, f"{m.name}" + (f" · {m.institution}" if m.institution else "")) for m in members]


def _session_forms(s: Session, **bound) -> dict[str, Any]:
    """Every form of the session page; ``bound`` replaces some with submitted (invalid) ones."""
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
    att.represents.choices = _member_choices(s.body, seats_only=True)
    forms["attendance_form"] = att
    agr = bound.get("agreement_form") or AgreementForm(prefix="agr", formdata=None)
    agr.commitment.choices = commitment_choices()
    forms["agreement_form"] = agr
    forms["evidence_form"] = bound.get("evidence_form") or EvidenceForm(prefix="ev", formdata=None)
    forms["call_form"] = bound.get("call_form") or CallDocumentForm(prefix="call", formdata=None)
    approve = bound.get("approve_form") or ApproveForm(prefix="appr", formdata=None)
    approve.approving.choices = [("", _l("Choose a session"))] + [
        (c.id, f"{c.title} · {c.session_date.isoformat()}")
        for c in svc.approving_candidates(s, svc.tenant_today(tenant))]
    forms["approve_form"] = approve
    forms["addendum_form"] = bound.get("addendum_form") or AddendumForm(prefix="add", formdata=None)
    forms["confirm"] = ConfirmForm()
    return forms


def _render_session(s: Session, status: int = 200, **bound):
    call = svc.call_for(s)
    present = {a.member_id for a in s.attendance if a.member_id is not None}
    call_changed = call is not None and call.status == "published" and svc.content_changed(call)
    context = dict(
        s=s, call=call, call_changed=call_changed, call_fix_form=ReasonForm(prefix="callfix", formdata=None), present=present, quorum=svc.session_quorum(s),
        members=svc.members_in_term(s.body, s.session_date) if s.session_date else list(s.body.members),
        versions=history("stl_session", s.id) if s.id else [],
        call_versions=history("stl_call", call.id) if call is not None and call.id else [],
        editable=s.status == "draft" and s.stage in svc.EDITABLE_STAGES,
        evidence_open=s.status == "published" or (s.status == "draft" and s.stage in svc.EVIDENCE_STAGES),
        comments=s.comments, **_session_forms(s, **bound))
    return render_template("stl_minutes/admin/session.html", **context), status


def _session_or_404(session_id: int) -> Session:
    return _one(Session, session_id)


# --------------------------------------------------------------------------- index
@bp.route("/")
@require_role(*EDITORS)
def index():
    """Bodies, sessions by stage and the agreements that need attention."""
    today = svc.tenant_today(g.tenant)
    bodies = db.session.scalars(select(Body).order_by(Body.name)).all()
    sessions = db.session.scalars(select(Session).order_by(Session.session_date.desc().nulls_last(),
                                                           Session.id.desc())).all()
    overdue = db.session.scalar(select(func.count(Agreement.id)).where(
        Agreement.status == "published", svc.overdue_condition(today))) or 0
    by_stage = {stage: [s for s in sessions if s.stage == stage] for stage in vocab.STAGES}
    return render_template("stl_minutes/admin/index.html", bodies=bodies, by_stage=by_stage, overdue=overdue)


# --------------------------------------------------------------------------- bodies
def _populate_body(form: BodyForm, body: Body) -> None:
    for name in ("kind", "name", "short_name", "description", "key_prefix", "quorum_rule", "source", "is_demo"):
        value = getattr(form, name).data
        setattr(body, name, value if value is not None else "")


def _body_name_taken(name: str, body_id: int | None) -> bool:
    q = select(Body.id).where(Body.name == name)
    if body_id is not None:
        q = q.where(Body.id != body_id)
    return db.session.scalar(q) is not None


@bp.route("/organos/nuevo", methods=["GET", "POST"])
@require_role(*EDITORS)
def body_new():
    """Create a body (a draft until published)."""
    form = BodyForm()
    if not form.is_submitted():
        form.kind.data = "stl"
    if form.validate_on_submit():
        if _body_name_taken(form.name.data, None):
            form.name.errors.append(_("Another body already has this name."))
        else:
            body = Body()
            _populate_body(form, body)
            db.session.add(body)
            db.session.flush()
            _commit("stl_body.create", "stl_body", body.id, after={"name": body.name, "kind": body.kind})
            flash(_("Body created as a draft. Add its members, then publish it."), "success")
            return redirect(url_for("admin_stl_minutes.body_edit", body_id=body.id))
    return render_template("stl_minutes/admin/body.html", form=form, b=None), INVALID if form.errors else 200


@bp.route("/organos/<int:body_id>", methods=["GET", "POST"])
@require_role(*EDITORS)
def body_edit(body_id: int):
    """Edit a body; once published, saving publishes a correction with the reason given."""
    body = _one(Body, body_id)
    form = BodyForm(obj=body)
    if form.validate_on_submit():
        before = serialize_body(body)
        if _body_name_taken(form.name.data, body.id):
            form.name.errors.append(_("Another body already has this name."))
        else:
            try:
                _populate_body(form, body)
                pub = svc.sync_body(body, form.reason.data, user=current_user)
                _commit("stl_body.update", "stl_body", body.id, before=before, after=serialize_body(body))
                flash(_("Correction published.") if pub else _("Body saved."), "success")
                return redirect(url_for("admin_stl_minutes.body_edit", body_id=body.id))
            except _ERRORS as exc:
                db.session.rollback()
                body = _one(Body, body_id)
                (form.reason.errors if getattr(exc, "field", "") == "reason" else form.form_errors).append(str(exc))
    return render_template("stl_minutes/admin/body.html", form=form, b=body, confirm=ConfirmForm(),
                           versions=history("stl_body", body.id)), INVALID if form.errors or form.form_errors else 200


@bp.route("/organos/<int:body_id>/publicar", methods=["POST"])
@require_role(*EDITORS)
def body_publish(body_id: int):
    """Publish a body with its members (version 1)."""
    body = _one(Body, body_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            svc.publish_body(body, user=current_user)
            _commit("stl_body.publish", "stl_body", body.id, after={"version": 1})
            flash(_("Body published."), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(url_for("admin_stl_minutes.body_edit", body_id=body_id))


def _populate_member(form: MemberForm, member: Member) -> None:
    for name in ("name", "institution", "post", "sector", "capacity", "term_start", "term_end", "email", "is_demo"):
        value = getattr(form, name).data
        setattr(member, name, value if value is not None or name.startswith("term") else "")
    member.alternate_for_id = form.alternate_for.data
    member.position = form.position.data or 0


def _member_form(body: Body, member: Member | None = None) -> MemberForm:
    form = MemberForm(obj=member) if member is not None else MemberForm()
    form.alternate_for.choices = [c for c in _member_choices(body, seats_only=True)
                                  if member is None or c[0] != member.id]
    if member is not None and request.method == "GET":
        form.alternate_for.data = member.alternate_for_id
    return form


@bp.route("/organos/<int:body_id>/integrantes/nuevo", methods=["GET", "POST"])
@require_role(*EDITORS)
def member_new(body_id: int):
    """Add a member to a body (a correction of the body if it is published)."""
    body = _one(Body, body_id)
    form = _member_form(body)
    if form.validate_on_submit():
        try:
            member = Member(body_id=body.id)
            _populate_member(form, member)
            if not form.position.data:
                member.position = max((m.position for m in body.members), default=-1) + 1
            body.members.append(member)
            db.session.flush()
            svc.sync_body(body, form.reason.data, user=current_user)
            _commit("stl_member.create", "stl_member", member.id, after={"name": member.name, "body": body.id})
            flash(_("Member added."), "success")
            return redirect(url_for("admin_stl_minutes.body_edit", body_id=body.id) + "#members")
        except _ERRORS as exc:
            db.session.rollback()
            body = _one(Body, body_id)
            (form.reason.errors if getattr(exc, "field", "") == "reason" else form.form_errors).append(str(exc))
    return render_template("stl_minutes/admin/member.html", form=form, b=body, member=None), \
        INVALID if form.errors or form.form_errors else 200


@bp.route("/integrantes/<int:member_id>", methods=["GET", "POST"])
@require_role(*EDITORS)
def member_edit(member_id: int):
    """Edit a member (a correction of the body if it is published)."""
    member = _one(Member, member_id)
    body = member.body
    form = _member_form(body, member)
    if form.validate_on_submit():
        try:
            _populate_member(form, member)
            svc.sync_body(body, form.reason.data, user=current_user)
            _commit("stl_member.update", "stl_member", member.id, after={"name": member.name})
            flash(_("Member saved."), "success")
            return redirect(url_for("admin_stl_minutes.body_edit", body_id=body.id) + "#members")
        except _ERRORS as exc:
            db.session.rollback()
            member = _one(Member, member_id)
            body = member.body
            (form.reason.errors if getattr(exc, "field", "") == "reason" else form.form_errors).append(str(exc))
    return render_template("stl_minutes/admin/member.html", form=form, b=body, member=member,
                           delete_form=ReasonForm(prefix="del")), INVALID if form.errors or form.form_errors else 200


@bp.route("/integrantes/<int:member_id>/eliminar", methods=["POST"])
@require_role(*EDITORS)
def member_delete(member_id: int):
    """Remove a member (a correction of the body if it is published; the reason is required
    then). Past attendance keeps the person's name."""
    member = _one(Member, member_id)
    body_id = member.body_id
    form = ReasonForm(prefix="del")
    form.require_reason = False
    if form.validate_on_submit():
        try:
            body = member.body
            name = member.name
            for other in body.members:
                if other.alternate_for_id == member.id:
                    other.alternate_for_id = None
            body.members.remove(member)
            db.session.flush()
            svc.sync_body(body, form.reason.data, user=current_user)
            _commit("stl_member.delete", "stl_member", member_id, before={"name": name})
            flash(_("Member removed."), "success")
            return redirect(url_for("admin_stl_minutes.body_edit", body_id=body_id) + "#members")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(url_for("admin_stl_minutes.member_edit", member_id=member_id))


# --------------------------------------------------------------------------- sessions
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


@bp.route("/sesiones/nueva", methods=["GET", "POST"])
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
            s = Session(body=body)
            _populate_session(form, s)
            db.session.add(s)
            db.session.flush()
            _commit("stl_session.create", "stl_session", s.id, after=_snapshot(s))
            flash(_("Session recorded as a draft: add the agenda, the attendance and the agreements."), "success")
            return redirect(_session_url(s))
    return render_template("stl_minutes/admin/session_new.html", form=form), INVALID if form.errors else 200


@bp.route("/sesiones/<int:session_id>", methods=["GET", "POST"])
@require_role(*EDITORS)
def session_edit(session_id: int):
    """The session's page: every part of the minutes and the lifecycle actions. POST saves the
    session's facts (draft or review only); if its call is published and the call changes, the
    reason is required and a correction of the call is published."""
    s = _session_or_404(session_id)
    if request.method == "GET":
        return _render_session(s)
    form = SessionForm()
    del form.body
    if not form.validate_on_submit():
        return _render_session(s, INVALID, form=form)
    try:
        svc.ensure_editable(s)
        if _number_taken(s.body_id, form.kind.data, form.number.data, s.id):
            form.number.errors.append(_("This body already has a session of this kind with this number."))
            return _render_session(s, INVALID, form=form)
        before = _snapshot(s)
        call_facts = lambda: (s.kind, s.number, s.session_date, s.starts_at, s.ends_at, s.modality,  # noqa: E731
                              s.place, s.video_url, s.call_url)
        facts_before = call_facts()
        _populate_session(form, s)
        svc.renumber_agreements(g.tenant, s)
        pub = None
        if call_facts() != facts_before or form.reason.data:
            pub = svc.sync_call(s, form.reason.data, user=current_user)
        _commit("stl_session.update", "stl_session", s.id, before=before, after=_snapshot(s))
        flash(_("Session saved; a correction of its call was published.") if pub else _("Session saved."), "success")
        return redirect(_session_url(s))
    except _ERRORS as exc:
        db.session.rollback()
        s = _session_or_404(session_id)
        (form.reason.errors if getattr(exc, "field", "") == "reason" else form.form_errors).append(str(exc))
        return _render_session(s, INVALID, form=form)


@bp.route("/sesiones/<int:session_id>/eliminar", methods=["POST"])
@require_role(*EDITORS)
def session_delete(session_id: int):
    """Delete a session that was never made public (no published minutes, no published call)."""
    s = _session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        call = svc.call_for(s)
        if s.status != "draft" or (call is not None and call.status != "draft"):
            flash(_("This session has public versions; it cannot be deleted."), "error")
            return redirect(_session_url(s))
        before = _snapshot(s)
        if call is not None:
            db.session.delete(call)
        for other in db.session.scalars(select(Session).where(Session.approved_in_id == s.id)):
            flash(_("The session approves the minutes of “%(title)s”; reopen those minutes first.", title=other.title), "error")
            db.session.rollback()
            return redirect(_session_url(s))
        for att in db.session.scalars(select(Attachment).where(Attachment.owner_type == "stl_session",
                                                              Attachment.owner_id == str(s.id),
                                                              Attachment.public.is_(False))):
            db.session.delete(att)
        db.session.delete(s)
        _commit("stl_session.delete", "stl_session", session_id, before=before)
        flash(_("Session deleted."), "success")
    return redirect(url_for("admin_stl_minutes.index"))


# ----- agenda
@bp.route("/sesiones/<int:session_id>/orden-del-dia", methods=["POST"])
@require_role(*EDITORS)
def agenda_add(session_id: int):
    """Add an agenda item (in the standard order)."""
    s = _session_or_404(session_id)
    form = AgendaItemForm(prefix="agenda")
    if not form.validate_on_submit():
        return _render_session(s, INVALID, agenda_form=form)
    try:
        item = svc.add_agenda_item(s, form.kind.data, form.title.data, form.description.data or "")
        db.session.flush()
        _commit("stl_agenda.create", "stl_session", s.id, after={"item": item.title})
        flash(_("Agenda item added."), "success")
    except _ERRORS as exc:
        _fail(exc)
    return redirect(_session_url(s, "agenda"))


@bp.route("/sesiones/<int:session_id>/orden-del-dia/estandar", methods=["POST"])
@require_role(*EDITORS)
def agenda_standard(session_id: int):
    """Add the standard items that are missing (roll call, agenda approval, previous minutes,
    general matters)."""
    s = _session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        try:
            n = svc.add_standard_agenda(s)
            db.session.flush()
            _commit("stl_agenda.standard", "stl_session", s.id, after={"added": n})
            flash(_("%(n)d standard items added.", n=n), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "agenda"))


@bp.route("/orden-del-dia/<int:item_id>/eliminar", methods=["POST"])
@require_role(*EDITORS)
def agenda_delete(item_id: int):
    """Remove an agenda item."""
    item = _one(AgendaItem, item_id)
    s = item.session
    if ConfirmForm().validate_on_submit():
        try:
            title = item.title
            svc.remove_agenda_item(item)
            db.session.flush()
            _commit("stl_agenda.delete", "stl_session", s.id, before={"item": title})
            flash(_("Agenda item removed."), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "agenda"))


@bp.route("/orden-del-dia/<int:item_id>/mover", methods=["POST"])
@require_role(*EDITORS)
def agenda_move(item_id: int):
    """Move an agenda item up or down (``direction`` = ``up`` | ``down``)."""
    item = _one(AgendaItem, item_id)
    s = item.session
    direction = request.form.get("direction")
    if ConfirmForm().validate_on_submit() and direction in ("up", "down"):
        try:
            svc.move_agenda_item(item, direction)
            db.session.flush()
            _commit("stl_agenda.move", "stl_session", s.id, after={"item": item.title, "direction": direction})
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "agenda"))


# ----- attendance
@bp.route("/sesiones/<int:session_id>/asistencia/integrantes", methods=["POST"])
@require_role(*EDITORS)
def attendance_members(session_id: int):
    """Mark which members attended (checkboxes ``present`` with member ids)."""
    s = _session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        try:
            ids = set()
            for value in request.form.getlist("present"):
                if not (value.isascii() and value.isdigit() and len(value) < 10):
                    raise MinutesError(_l("Choose members of this body only."))
                ids.add(int(value))
            added, removed = svc.set_member_attendance(s, ids)
            _commit("stl_attendance.members", "stl_session", s.id, after={"added": added, "removed": removed})
            flash(_("Attendance saved: %(a)d added, %(r)d removed.", a=added, r=removed), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "attendance"))


@bp.route("/sesiones/<int:session_id>/asistencia", methods=["POST"])
@require_role(*EDITORS)
def attendance_add(session_id: int):
    """Add an attendee typed in (guest, facilitator, or someone not on the member list)."""
    s = _session_or_404(session_id)
    form = AttendanceForm(prefix="att")
    form.represents.choices = _member_choices(s.body, seats_only=True)
    if not form.validate_on_submit():
        return _render_session(s, INVALID, attendance_form=form)
    try:
        svc.ensure_editable(s)
        s.attendance.append(Attendance(
            name=form.name.data, institution=form.institution.data or "", post=form.post.data or "",
            sector=form.sector.data or "", capacity=form.capacity.data or "", role=form.role.data or "",
            represents_id=form.represents.data, position=max((a.position for a in s.attendance), default=0) + 1))
        _commit("stl_attendance.create", "stl_session", s.id, after={"name": form.name.data})
        flash(_("Attendee added."), "success")
    except _ERRORS as exc:
        _fail(exc)
    return redirect(_session_url(s, "attendance"))


@bp.route("/asistencia/<int:attendance_id>/eliminar", methods=["POST"])
@require_role(*EDITORS)
def attendance_delete(attendance_id: int):
    """Remove an attendee."""
    row = _one(Attendance, attendance_id)
    s = row.session
    if ConfirmForm().validate_on_submit():
        try:
            svc.ensure_editable(s)
            name = row.name
            s.attendance.remove(row)
            _commit("stl_attendance.delete", "stl_session", s.id, before={"name": name})
            flash(_("Attendee removed."), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "attendance"))


# ----- agreements (draft)
@bp.route("/sesiones/<int:session_id>/acuerdos", methods=["POST"])
@require_role(*EDITORS)
def agreement_add(session_id: int):
    """Add an agreement; its key is generated (``STL-MEX/ORD19/2023/01``)."""
    s = _session_or_404(session_id)
    form = AgreementForm(prefix="agr")
    form.commitment.choices = commitment_choices()
    if not form.validate_on_submit():
        return _render_session(s, INVALID, agreement_form=form)
    try:
        ag = svc.add_agreement(g.tenant, s, text=form.text.data, vote=form.vote.data or "", owner=form.owner.data or "",
                               due_date=form.due_date.data, commitment_id=form.commitment.data,
                               commitment_ref=_commitment_ref(form.commitment.data, form.commitment_ref.data))
        _commit("stl_agreement.create", "stl_agreement", ag.id, after={"key": ag.key, "text": ag.text})
        flash(_("Agreement %(key)s added.", key=ag.key), "success")
    except _ERRORS as exc:
        _fail(exc)
    return redirect(_session_url(s, "agreements"))


@bp.route("/acuerdos/<int:agreement_id>/editar", methods=["GET", "POST"])
@require_role(*EDITORS)
def agreement_edit(agreement_id: int):
    """Edit an agreement of minutes in draft or review."""
    ag = _one(Agreement, agreement_id)
    s = ag.session
    if s.status != "draft" or s.stage not in svc.EDITABLE_STAGES:
        flash(_("The minutes are not editable; published agreements are followed up instead."), "warning")
        return redirect(url_for("admin_stl_minutes.agreement_follow_up", agreement_id=ag.id)
                        if ag.status == "published" else _session_url(s, "agreements"))
    form = AgreementForm(obj=ag)
    form.commitment.choices = commitment_choices()
    if request.method == "GET":
        form.commitment.data = ag.commitment_id
    if form.validate_on_submit():
        before = {"text": ag.text, "owner": ag.owner, "due_date": ag.due_date}
        ag.text, ag.vote, ag.owner = form.text.data, form.vote.data or "", form.owner.data or ""
        ag.due_date = ag.current_due_date = form.due_date.data
        ag.commitment_id = form.commitment.data
        ag.commitment_ref = _commitment_ref(form.commitment.data, form.commitment_ref.data)
        _commit("stl_agreement.update", "stl_agreement", ag.id, before=before,
                after={"text": ag.text, "owner": ag.owner, "due_date": ag.due_date})
        flash(_("Agreement saved."), "success")
        return redirect(_session_url(s, "agreements"))
    return render_template("stl_minutes/admin/agreement_edit.html", form=form, ag=ag, s=s), INVALID if form.errors else 200


@bp.route("/acuerdos/<int:agreement_id>/eliminar", methods=["POST"])
@require_role(*EDITORS)
def agreement_delete(agreement_id: int):
    """Delete an agreement of minutes in draft or review (the others are renumbered)."""
    ag = _one(Agreement, agreement_id)
    s = ag.session
    if ConfirmForm().validate_on_submit():
        try:
            key = ag.key
            svc.remove_agreement(g.tenant, ag)
            _commit("stl_agreement.delete", "stl_agreement", agreement_id, before={"key": key})
            flash(_("Agreement removed."), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "agreements"))


# ----- evidence and call
@bp.route("/sesiones/<int:session_id>/evidencia", methods=["POST"])
@require_role(*EDITORS)
def evidence_add(session_id: int):
    """Add evidence (file or link). Files are validated by :func:`comun_cms.uploads.store_upload`
    (size limit, type sniffed from the content, name sanitized, SHA-256). On published minutes the
    reason is required and the evidence is published as an addendum."""
    s = _session_or_404(session_id)
    form = EvidenceForm(prefix="ev")
    published = s.status == "published"
    form.require_reason = published
    if not form.validate_on_submit():
        return _render_session(s, INVALID, evidence_form=form)
    try:
        if not published and (s.status != "draft" or s.stage not in svc.EVIDENCE_STAGES):
            raise MinutesError(_l("Evidence cannot be added to these minutes now."))
        category = form.category.data
        att = None
        if form.file.data and getattr(form.file.data, "filename", ""):
            att = store_upload(form.file.data, owner_type="stl_session", owner_id=str(s.id),
                               title=form.title.data or "", kinds=vocab.EVIDENCE_KINDS[category],
                               field="ev-file", user_id=current_user.id)
            db.session.flush()
        ev = Evidence(category=category, title=form.title.data or (att.filename if att else ""),
                      url=form.url.data or "", attachment=att,
                      position=max((e.position for e in s.evidence), default=0) + 1)
        s.evidence.append(ev)
        db.session.flush()
        if published:
            what = ev.title or ev.url
            svc.add_addendum(s, form.reason.data, _("Evidence added: %(what)s (%(kind)s).", what=what,
                                                     kind=vocab.EVIDENCE_CATEGORIES[category]), user=current_user)
        _commit("stl_evidence.create", "stl_session", s.id,
                after={"category": category, "sha256": att.sha256 if att else None, "url": ev.url})
        flash(_("Evidence added.") + (" " + _("An addendum was published.") if published else ""), "success")
        return redirect(_session_url(s, "evidence"))
    except UploadError as exc:
        db.session.rollback()
        s = _session_or_404(session_id)
        form.file.errors = list(form.file.errors) + [str(exc)]
        return _render_session(s, INVALID, evidence_form=form)
    except _ERRORS as exc:
        db.session.rollback()
        s = _session_or_404(session_id)
        form.form_errors.append(str(exc))
        return _render_session(s, INVALID, evidence_form=form)


@bp.route("/evidencia/<int:evidence_id>/eliminar", methods=["POST"])
@require_role(*EDITORS)
def evidence_delete(evidence_id: int):
    """Remove evidence of minutes not yet published (its file, if not public, is deleted too)."""
    ev = _one(Evidence, evidence_id)
    s = ev.session
    if ConfirmForm().validate_on_submit():
        if s.status != "draft":
            flash(_("The minutes are published; evidence cannot be removed, only added by an addendum."), "error")
            return redirect(_session_url(s, "evidence"))
        att = ev.attachment
        s.evidence.remove(ev)
        db.session.flush()
        if att is not None and not att.public:
            db.session.delete(att)
        _commit("stl_evidence.delete", "stl_session", s.id, before={"title": ev.title})
        flash(_("Evidence removed."), "success")
    return redirect(_session_url(s, "evidence"))


@bp.route("/sesiones/<int:session_id>/convocatoria/documento", methods=["POST"])
@require_role(*EDITORS)
def call_document(session_id: int):
    """Upload the call document (PDF). If the call is published, the reason is required and a
    correction of the call is published."""
    s = _session_or_404(session_id)
    form = CallDocumentForm(prefix="call")
    if not form.validate_on_submit():
        return _render_session(s, INVALID, call_form=form)
    try:
        if s.status != "draft":
            raise MinutesError(_l("The minutes of this session are already published."))
        att = store_upload(form.file.data, owner_type="stl_session", owner_id=str(s.id), title=_("Call"),
                           kinds=("pdf",), field="call-file", user_id=current_user.id)
        db.session.flush()
        s.call_attachment = att
        svc.sync_call(s, form.reason.data, user=current_user)
        _commit("stl_call.document", "stl_session", s.id, after={"sha256": att.sha256})
        flash(_("Call document uploaded."), "success")
        return redirect(_session_url(s, "call"))
    except UploadError as exc:
        db.session.rollback()
        s = _session_or_404(session_id)
        form.file.errors = list(form.file.errors) + [str(exc)]
        return _render_session(s, INVALID, call_form=form)
    except _ERRORS as exc:
        db.session.rollback()
        s = _session_or_404(session_id)
        (form.reason.errors if getattr(exc, "field", "") == "reason" else form.form_errors).append(str(exc))
        return _render_session(s, INVALID, call_form=form)


@bp.route("/sesiones/<int:session_id>/convocatoria/corregir", methods=["POST"])
@require_role(*EDITORS)
def call_correct(session_id: int):
    """Publish a correction of the call after agenda changes, with the reason given (the public
    calendar shows the call as last published until then)."""
    s = _session_or_404(session_id)
    form = ReasonForm(prefix="callfix")
    if form.validate_on_submit():
        try:
            pub = svc.sync_call(s, form.reason.data, user=current_user)
            if pub is None:
                flash(_("The call has no changes to publish."), "info")
                return redirect(_session_url(s, "call"))
            _commit("stl_call.correct", "stl_session", s.id, after={"version": pub.version, "reason": form.reason.data})
            flash(_("Correction of the call published."), "success")
        except _ERRORS as exc:
            _fail(exc)
    else:
        flash(_("Explain the reason of the correction; it is published."), "error")
    return redirect(_session_url(s, "call"))


@bp.route("/sesiones/<int:session_id>/convocatoria/publicar", methods=["POST"])
@require_role(*EDITORS)
def call_publish(session_id: int):
    """Publish the call: the session appears in the public calendar and its iCalendar feed."""
    s = _session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        try:
            svc.publish_call(s, user=current_user)
            _commit("stl_call.publish", "stl_session", s.id, after={"date": s.session_date})
            flash(_("Call published: the session is in the public calendar."), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "call"))


# ----- lifecycle
@bp.route("/sesiones/<int:session_id>/revision", methods=["POST"])
@require_role(*EDITORS)
def submit_review(session_id: int):
    """draft -> in review: attendees can comment."""
    s = _session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        try:
            before = _snapshot(s)
            svc.submit_for_review(s)
            _commit("stl_session.review", "stl_session", s.id, before=before, after=_snapshot(s))
            flash(_("The minutes are in review: attendees can comment."), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "lifecycle"))


@bp.route("/sesiones/<int:session_id>/borrador", methods=["POST"])
@require_role(*EDITORS)
def to_draft(session_id: int):
    """in review or approved -> draft (an approval is cleared)."""
    s = _session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        try:
            before = _snapshot(s)
            svc.return_to_draft(s)
            _commit("stl_session.draft", "stl_session", s.id, before=before, after=_snapshot(s))
            flash(_("The minutes are a draft again."), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "lifecycle"))


@bp.route("/sesiones/<int:session_id>/aprobar", methods=["POST"])
@require_role(*EDITORS)
def approve(session_id: int):
    """Record that the minutes were approved in a later session of the same body."""
    s = _session_or_404(session_id)
    form = ApproveForm(prefix="appr")
    today = svc.tenant_today(g.tenant)
    form.approving.choices = [("", "")] + [(c.id, c.title) for c in svc.approving_candidates(s, today)]
    if not form.validate_on_submit():
        return _render_session(s, INVALID, approve_form=form)
    try:
        approving = _session_or_404(form.approving.data)
        before = _snapshot(s)
        svc.approve(s, approving, today=today)
        _commit("stl_session.approve", "stl_session", s.id, before=before,
                after={**_snapshot(s), "approved_in": approving.id})
        flash(_("Approval recorded. The minutes can now be published."), "success")
    except _ERRORS as exc:
        _fail(exc)
    return redirect(_session_url(s, "lifecycle"))


@bp.route("/sesiones/<int:session_id>/publicar", methods=["POST"])
@require_role(*EDITORS)
def publish(session_id: int):
    """Publish approved minutes and their agreements; the minutes are locked afterwards."""
    s = _session_or_404(session_id)
    if ConfirmForm().validate_on_submit():
        try:
            before = _snapshot(s)
            svc.publish_minutes(g.tenant, s, user=current_user)
            _commit("stl_session.publish", "stl_session", s.id, before=before, after=_snapshot(s))
            flash(_("Minutes published and locked. From now on only addenda can be added."), "success")
        except _ERRORS as exc:
            _fail(exc)
    return redirect(_session_url(s, "lifecycle"))


@bp.route("/sesiones/<int:session_id>/adenda", methods=["POST"])
@require_role(*EDITORS)
def addendum(session_id: int):
    """Publish an addendum (reason and text) to published minutes: a new version."""
    s = _session_or_404(session_id)
    form = AddendumForm(prefix="add")
    if not form.validate_on_submit():
        return _render_session(s, INVALID, addendum_form=form)
    try:
        before = _snapshot(s)
        svc.add_addendum(s, form.reason.data, form.text.data, user=current_user)
        _commit("stl_session.addendum", "stl_session", s.id, before=before,
                after={**_snapshot(s), "reason": form.reason.data})
        flash(_("Addendum published as version %(n)d.", n=s.version), "success")
    except _ERRORS as exc:
        _fail(exc)
    return redirect(_session_url(s, "addenda"))


# ----- review comments
def _attendee_of(s: Session) -> bool:
    email = (getattr(current_user, "email", "") or "").strip().lower()
    return bool(email) and any(a.member is not None and (a.member.email or "").strip().lower() == email
                               for a in s.attendance)


@bp.route("/sesiones/<int:session_id>/comentarios", methods=["GET", "POST"])
def comments(session_id: int):
    """Read the minutes in review and comment on them. Open to the tenant's staff (any role) and
    to attendees whose member record carries the e-mail they log in with; others get 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    staff = has_role()
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
            s.comments.append(ReviewComment(user_id=current_user.id, author_name=current_user.name or current_user.email,
                                            is_attendee=attendee, body=form.body.data, created_at=svc.now_utc()))
            _commit("stl_session.comment", "stl_session", s.id, after={"attendee": attendee})
            flash(_("Comment added."), "success")
            return redirect(url_for("admin_stl_minutes.comments", session_id=s.id) + "#comments")
    template = "stl_minutes/admin/comments.html" if staff else "stl_minutes/admin/comments_attendee.html"
    return render_template(template, s=s, form=form, staff=staff, attendee=attendee), INVALID if form.errors else 200


# --------------------------------------------------------------------------- agreements follow-up
@bp.route("/acuerdos")
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


@bp.route("/acuerdos/<int:agreement_id>/seguimiento", methods=["GET", "POST"])
@require_role(*EDITORS)
def agreement_follow_up(agreement_id: int):
    """Record follow-up of a published agreement (status, note, extension, evidence link or
    file, commitment link); each entry publishes a new version with the note as reason."""
    ag = _one(Agreement, agreement_id)
    if ag.status != "published":
        flash(_("The minutes of this agreement are not published yet; edit it in the session."), "warning")
        return redirect(_session_url(ag.session, "agreements"))
    today = svc.tenant_today(g.tenant)
    form = FollowUpForm()
    form.commitment.choices = commitment_choices()
    if request.method == "GET":
        form.entry_date.data = today
        form.progress.data = ag.progress
        form.commitment.data = ag.commitment_id
        form.commitment_ref.data = ag.commitment_ref
    if form.validate_on_submit():
        try:
            att = None
            if form.file.data and getattr(form.file.data, "filename", ""):
                att = store_upload(form.file.data, owner_type="stl_agreement", owner_id=str(ag.id),
                                   kinds=("pdf", "image", "audio", "video", "document"), field="file",
                                   user_id=current_user.id)
                db.session.flush()
            before = {"progress": ag.progress, "due": ag.current_due_date, "version": ag.version}
            svc.record_follow_up(
                ag, entry_date=form.entry_date.data, progress=form.progress.data, note=form.note.data,
                new_due_date=form.new_due_date.data, link_url=form.link_url.data or "", attachment=att,
                commitment_id=form.commitment.data,
                commitment_ref=_commitment_ref(form.commitment.data, form.commitment_ref.data),
                user=current_user, today=today)
            _commit("stl_agreement.follow_up", "stl_agreement", ag.id, before=before,
                    after={"progress": ag.progress, "due": ag.current_due_date, "version": ag.version})
            flash(_("Follow-up published as version %(n)d.", n=ag.version), "success")
            return redirect(url_for("admin_stl_minutes.agreement_follow_up", agreement_id=ag.id))
        except UploadError as exc:
            db.session.rollback()
            form.file.errors = list(form.file.errors) + [str(exc)]
        except _ERRORS as exc:
            db.session.rollback()
            field = getattr(form, getattr(exc, "field", "") or "", None)
            (field.errors if field is not None and hasattr(field, "errors") else form.form_errors).append(str(exc))
        ag = _one(Agreement, agreement_id)
    errors = form.errors or form.form_errors
    return render_template("stl_minutes/admin/follow_up.html", form=form, ag=ag,
                           versions=history("stl_agreement", ag.id)), INVALID if errors else 200


# --------------------------------------------------------------------------- dashboard widget
def render_dashboard_widget() -> str:
    """HTML of the admin dashboard widget: minutes waiting in review or approval, and overdue
    agreements (with links)."""
    today = svc.tenant_today(g.tenant)
    waiting = db.session.scalars(select(Session).where(Session.status == "draft",
                                                       Session.stage.in_(("review", "approved")))).all()
    overdue = db.session.scalar(select(func.count(Agreement.id)).where(
        Agreement.status == "published", svc.overdue_condition(today))) or 0
    return render_template("stl_minutes/admin/_widget.html", waiting=waiting, overdue=overdue, **helpers())
