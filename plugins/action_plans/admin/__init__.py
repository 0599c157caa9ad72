"""Admin of the action-plans plugin (blueprint ``admin_action_plans``, mounted at
``/<tenant>/admin/planes-de-accion``; roles admin and editor).

The views live in one module per entity: :mod:`.plans`, :mod:`.commitments`,
:mod:`.milestones` (and the weights), :mod:`.reports` and :mod:`.imports` (CSV export and
import); :mod:`.common` holds what they share. The URL map is :data:`ROUTES` below.

Rules kept by every view here:

* records are read with ``select()`` (the global tenant filter applies: another tenant's id is a
  404);
* every write goes through :func:`comun_cms.toolkit.admin_change`: the change and its audit
  event are committed together, or rolled back together with the reason shown on the form;
* a published plan or commitment is never edited in place: saving it (or its milestones,
  reports, weights or evidence) publishes a correction with the reason given
  (:func:`plugins.action_plans.services.republish`);
* statuses move only forward unless a correction reason is given; "verified" needs a named
  verifier and evidence; milestone weights must add up to 100 before a commitment is published.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from . import commitments, imports, milestones, plans, reports

admin_bp = Blueprint("admin_action_plans", __name__, url_prefix="/planes-de-accion",
                     template_folder=str(Path(__file__).resolve().parent.parent / "templates"))

GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")

#: ``(rule, view, methods)``; the endpoint is the view's name (``admin_action_plans.<name>``).
ROUTES = (
    ("/", plans.plans, GET),
    ("/nuevo", plans.plan_new, BOTH),
    ("/<int:plan_id>", plans.plan_detail, GET),
    ("/<int:plan_id>/editar", plans.plan_edit, BOTH),
    ("/<int:plan_id>/publicar", plans.plan_publish, POST),
    ("/<int:plan_id>/publicar-cambios", plans.plan_publish_changes, POST),
    ("/<int:plan_id>/descartar-cambios", plans.plan_discard_changes, POST),
    ("/<int:plan_id>/retirar", plans.plan_retract, POST),
    ("/<int:plan_id>/eliminar", plans.plan_delete, POST),
    ("/<int:plan_id>/documentos", plans.plan_upload, POST),
    ("/<int:plan_id>/compromisos/nuevo", commitments.commitment_new, BOTH),
    ("/compromisos/<int:commitment_id>", commitments.commitment_edit, BOTH),
    ("/compromisos/<int:commitment_id>/publicar", commitments.commitment_publish, POST),
    ("/compromisos/<int:commitment_id>/publicar-cambios", commitments.commitment_publish_changes, POST),
    ("/compromisos/<int:commitment_id>/descartar-cambios", commitments.commitment_discard_changes, POST),
    ("/compromisos/<int:commitment_id>/retirar", commitments.commitment_retract, POST),
    ("/compromisos/<int:commitment_id>/eliminar", commitments.commitment_delete, POST),
    ("/compromisos/<int:commitment_id>/evidencia", commitments.commitment_upload, POST),
    ("/compromisos/<int:commitment_id>/pesos", milestones.weights, BOTH),
    ("/compromisos/<int:commitment_id>/hitos/nuevo", milestones.milestone_new, BOTH),
    ("/hitos/<int:milestone_id>", milestones.milestone_edit, BOTH),
    ("/hitos/<int:milestone_id>/evidencia", milestones.milestone_upload, POST),
    ("/hitos/<int:milestone_id>/eliminar", milestones.milestone_delete, POST),
    ("/compromisos/<int:commitment_id>/reportes/nuevo", reports.report_new, BOTH),
    ("/<int:plan_id>/exportar.csv", imports.plan_export, GET),
    ("/<int:plan_id>/importar", imports.plan_import, BOTH),
    ("/<int:plan_id>/importar/aplicar", imports.plan_import_apply, POST),
)

for _rule, _view, _methods in ROUTES:
    admin_bp.add_url_rule(_rule, _view.__name__, _view, methods=list(_methods))
del _rule, _view, _methods
