"""Admin pages of the STL-minutes plugin (blueprint ``admin_stl_minutes``, mounted at
``/<tenant>/admin/actas``): bodies and members, sessions from the call to the locked
publication, agreements follow-up, review comments.

One module per thing edited; this module holds the blueprint and its URL map (:data:`ROUTES`),
so the view modules never import it back:

* :mod:`.overview`: the overview page and the dashboard widget;
* :mod:`.bodies`, :mod:`.members`: collegiate bodies and their members;
* :mod:`.sessions`: recording a session, its page, deleting it;
* :mod:`.calls`, :mod:`.agenda`, :mod:`.attendance`, :mod:`.agreements`, :mod:`.evidence`: the
  parts of a session (and the follow-up of published agreements);
* :mod:`.lifecycle`: review, approval, publication, addenda;
* :mod:`.comments`: review comments;
* :mod:`.common`: what they share (roles, the session page, member choices).

Rules kept by every view:

* guarded by :func:`comun_cms.toolkit.require_role` (``admin``, ``editor``), except the review
  comments, open to any staff role of the tenant and to attendees whose member record carries
  their login e-mail;
* records are read with ``select()`` (the tenant filter applies: another tenant's id is a 404);
* every write goes through :func:`comun_cms.toolkit.admin_change`: the audit event is added in
  the same transaction, which commits once; on a refused change (a broken rule of the minutes,
  a publishing or upload error) the transaction is rolled back and the form is shown again with
  the problem (status 422) or a flash message says it, nothing half-written;
* published records are never edited in place: bodies get corrections with a reason, minutes
  get addenda, agreements get follow-up entries (each a new published version).
"""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint

from ..templating import helpers
from . import (
    agenda, agreements, attendance, bodies, calls, comments, evidence, lifecycle, members, members_import, overview,
    sessions,
)
from .overview import render_dashboard_widget

__all__ = ["ROUTES", "bp", "render_dashboard_widget"]

bp = Blueprint("admin_stl_minutes", __name__, url_prefix="/actas", template_folder="../templates")

GET, POST, GET_POST = ("GET",), ("POST",), ("GET", "POST")

#: ``(rule, view, methods)`` of every admin page; the endpoint is the view's name
#: (``admin_stl_minutes.body_edit``).
ROUTES: tuple[tuple[str, Callable[..., Any], tuple[str, ...]], ...] = (
    ("/", overview.index, GET),
    # bodies and members
    ("/organos/nuevo", bodies.body_new, GET_POST),
    ("/organos/<int:body_id>", bodies.body_edit, GET_POST),
    ("/organos/<int:body_id>/publicar", bodies.body_publish, POST),
    ("/organos/<int:body_id>/integrantes/nuevo", members.member_new, GET_POST),
    ("/organos/<int:body_id>/integrantes/importar", members_import.members_import, GET_POST),
    ("/integrantes/<int:member_id>", members.member_edit, GET_POST),
    ("/integrantes/<int:member_id>/eliminar", members.member_delete, POST),
    # sessions
    ("/sesiones/nueva", sessions.session_new, GET_POST),
    ("/sesiones/<int:session_id>", sessions.session_edit, GET_POST),
    ("/sesiones/<int:session_id>/eliminar", sessions.session_delete, POST),
    # agenda
    ("/sesiones/<int:session_id>/orden-del-dia", agenda.agenda_add, POST),
    ("/sesiones/<int:session_id>/orden-del-dia/estandar", agenda.agenda_standard, POST),
    ("/orden-del-dia/<int:item_id>/eliminar", agenda.agenda_delete, POST),
    ("/orden-del-dia/<int:item_id>/mover", agenda.agenda_move, POST),
    # attendance
    ("/sesiones/<int:session_id>/asistencia/integrantes", attendance.attendance_members, POST),
    ("/sesiones/<int:session_id>/asistencia", attendance.attendance_add, POST),
    ("/asistencia/<int:attendance_id>/eliminar", attendance.attendance_delete, POST),
    # agreements of the draft minutes
    ("/sesiones/<int:session_id>/acuerdos", agreements.agreement_add, POST),
    ("/acuerdos/<int:agreement_id>/editar", agreements.agreement_edit, GET_POST),
    ("/acuerdos/<int:agreement_id>/eliminar", agreements.agreement_delete, POST),
    # evidence and call
    ("/sesiones/<int:session_id>/evidencia", evidence.evidence_add, POST),
    ("/evidencia/<int:evidence_id>/eliminar", evidence.evidence_delete, POST),
    ("/sesiones/<int:session_id>/convocatoria/documento", calls.call_document, POST),
    ("/sesiones/<int:session_id>/convocatoria/corregir", calls.call_correct, POST),
    ("/sesiones/<int:session_id>/convocatoria/publicar", calls.call_publish, POST),
    # lifecycle
    ("/sesiones/<int:session_id>/revision", lifecycle.submit_review, POST),
    ("/sesiones/<int:session_id>/borrador", lifecycle.to_draft, POST),
    ("/sesiones/<int:session_id>/aprobar", lifecycle.approve, POST),
    ("/sesiones/<int:session_id>/publicar", lifecycle.publish, POST),
    ("/sesiones/<int:session_id>/adenda", lifecycle.addendum, POST),
    # review comments
    ("/sesiones/<int:session_id>/comentarios", comments.comments, GET_POST),
    # follow-up of published agreements
    ("/acuerdos", agreements.agreements, GET),
    ("/acuerdos/<int:agreement_id>/seguimiento", agreements.agreement_follow_up, GET_POST),
)

for _rule, _view, _methods in ROUTES:
    bp.add_url_rule(_rule, view_func=_view, methods=list(_methods))


@bp.context_processor
def _context() -> dict[str, Any]:
    # the admin menu and role come from the core's admin context processor
    return helpers()
