"""Training exercises of the action-plans plugin (hooks ``training_scenario`` and
``training_tasks``; see docs/training.md and :class:`comun_cms.toolkit.TrainingTask`).

* :func:`training_scenario`: loads the training material (Mexico's 4th national OGP plan and
  Jalisco's first local plan, :func:`plugins.action_plans.loaders.load_training_plans`) into a
  training tenant or a participant's workspace, published by nobody and without committing.
* Step 11 "Publicación del Plan de Acción" (task :data:`KEY_PLAN`): the participant co-creates
  and publishes a Local Action Plan with five commitments, each with its owner institution and
  at least one milestone with a due date (end date).
* Step 13 "Informe intermedio y final de cumplimiento del Plan de Acción" (task
  :data:`KEY_REPORT`): on the plan from step 11, at least three commitments get a progress
  report and move forward from "not started", published as corrections, and the plan's
  published progress rises above 0.

What counts as the participant's work: a plan whose first publication (``publish``) was made by
one of the participant's accounts, or a draft plan whose creation the audit log attributes to
them (``action_plan.create``). Scenario plans are published by nobody, so they never count.
The checks read the published versions (:class:`~comun_cms.toolkit.Publication`) where the task
is about what is public (reports, status changes, progress).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable

from flask_babel import gettext as _, ngettext
from sqlalchemy import select

from comun_cms.toolkit import (
    AuditEvent, CheckItem, Participant, TrainingTask, db, history, latest_publication, participant_publications,
    record_audit, snapshot,
)

from . import loaders
from . import progress as prog
from . import services
from .content import COMMITMENT_TYPE, PLAN_TYPE
from .models import ActionPlan, Commitment, Milestone, ProgressReport

KEY_PLAN = "action_plans.cocreate_plan"
KEY_REPORT = "action_plans.report_progress"
STEP_PLAN = 11
STEP_REPORT = 13
#: Commitments the plan of step 11 must have (the default of ``default_commitments``).
MIN_COMMITMENTS = 5
#: Commitments whose progress step 13 asks to report.
MIN_REPORTED = 3
#: Statuses a commitment reaches when it moves forward from "not started".
FORWARD = ("started", "completed", "verified")

#: The model answer of step 11: (title, owner institution, contact, [(milestone, deliverable)]).
MODEL_COMMITMENTS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("Datos abiertos de las contrataciones públicas", "Secretaría de Finanzas del Estado de Ejemplo",
     "Dirección de Adquisiciones",
     (("Diagnóstico de los sistemas de compras", "Informe del diagnóstico"),
      ("Publicación del primer conjunto de datos abiertos", "Conjunto de datos publicado"))),
    ("Contraloría social en la obra pública", "Secretaría de la Contraloría del Estado de Ejemplo",
     "Unidad de Contraloría Social",
     (("Capacitación a comités ciudadanos de obra", "Lista de asistencia y memoria"),
      ("Informe público de hallazgos de los comités", "Informe publicado"))),
    ("Lenguaje ciudadano en trámites con riesgo de corrupción", "Secretaría Ejecutiva del Sistema Anticorrupción",
     "Unidad de Riesgos y Política Pública",
     (("Selección de trámites con la ciudadanía", "Minuta de la mesa"),
      ("Publicación de las fichas reescritas", "Fichas publicadas"))),
    ("Presupuesto participativo con seguimiento ciudadano", "Ayuntamiento de la capital del Estado de Ejemplo",
     "Tesorería municipal",
     (("Reglas de operación cocreadas", "Reglas publicadas"),
      ("Micrositio de seguimiento de proyectos", "Micrositio en línea"))),
    ("Declaraciones patrimoniales en formato abierto", "Órgano Interno de Control del Poder Ejecutivo",
     "Enlace de transparencia",
     (("Versión pública y formato de datos acordados con el STL", "Acta de la sesión del STL"),
      ("Publicación trimestral de las declaraciones", "Conjunto de datos publicado"))),
)
MODEL_PLAN_TITLE = "Plan de Acción Local de Gobierno Abierto del Estado de Ejemplo"


# --------------------------------------------------------------------------- scenario
def training_scenario(tenant, ctx) -> int:
    """Load the training plans into ``tenant`` (a training tenant or workspace), published by
    ``ctx.user`` (``None``: nobody). Idempotent; flushes but never commits.

    Args:
        tenant: the training tenant or workspace (current tenant).
        ctx: a :class:`comun_cms.toolkit.DemoContext`.

    Returns:
        The number of plans created (0 when they are already there).

    Raises:
        ValueError: ``tenant`` is not a training tenant.
    """
    return loaders.load_training_plans(tenant, ctx, commit=False)


# --------------------------------------------------------------------------- the participant's plans
def _plan_publishers(participant: Participant) -> set[int]:
    """Ids of the plans whose first publication was made by the participant."""
    return {int(p.record_id) for p in participant_publications(participant, PLAN_TYPE.name)
            if p.action == "publish"}


def _plans_created_by(participant: Participant) -> set[int]:
    """Ids of the plans the audit log says the participant created (drafts included)."""
    if not participant.user_ids:
        return set()
    ids = db.session.scalars(select(AuditEvent.object_id).where(
        AuditEvent.action == "action_plan.create", AuditEvent.object_type == "action_plan",
        AuditEvent.user_id.in_(participant.user_ids)))
    return {int(i) for i in ids if i and i.isdigit()}


def participant_plans(participant: Participant, published_only: bool = False) -> list[ActionPlan]:
    """The participant's plans in the current tenant (their workspace), newest first, retracted
    ones left out.

    Args:
        participant: the workshop participant.
        published_only: only plans first published by the participant (otherwise also the
            drafts they created).

    Returns:
        The plans; never a scenario plan (those are published by nobody).
    """
    published = _plan_publishers(participant)
    ids = set(published) if published_only else published | _plans_created_by(participant)
    if not ids:
        return []
    plans = db.session.scalars(select(ActionPlan).where(ActionPlan.id.in_(ids)).order_by(ActionPlan.id.desc()))
    return [p for p in plans if p.status != "retracted" and (p.status == "draft" or p.id in published)]


def _best(plans: list[ActionPlan], check: Callable[[ActionPlan], list[CheckItem]]) -> tuple[ActionPlan | None, list[CheckItem]]:
    """The plan with the most items done (the newest on a tie) and its items."""
    best, best_items = None, None
    for plan in plans:
        items = check(plan)
        if best_items is None or sum(i.done for i in items) > sum(i.done for i in best_items):
            best, best_items = plan, items
    return best, best_items or []


def _open_commitments(plan: ActionPlan) -> list[Commitment]:
    return [c for c in plan.commitments if c.status != "retracted"]


def _numbers(commitments) -> str:
    return ", ".join(str(c.number) for c in commitments)


# --------------------------------------------------------------------------- step 11
def _plan_items(plan: ActionPlan | None, published_by_participant: bool) -> list[CheckItem]:
    if plan is None:
        return [
            CheckItem(_("You published a Local Action Plan"), False,
                      _("Create it in Administration → Action plans → “New plan”, add its commitments and press "
                        "“Publish plan and commitments”.")),
            CheckItem(_("The plan has at least %(n)d published commitments", n=MIN_COMMITMENTS), False,
                      _("Add the commitments with “New commitment” on your plan's page.")),
            CheckItem(_("Every commitment has an owner institution"), False,
                      _("Fill in “Owner institution” on each commitment's card.")),
            CheckItem(_("Every commitment has a milestone with a due date"), False,
                      _("Add a milestone to each commitment (“New milestone”) with its end date.")),
        ]
    items = []
    done = plan.status == "published" and published_by_participant
    items.append(CheckItem(
        _("You published a Local Action Plan"), done,
        "" if done else _("Your plan “%(title)s” is still a draft: press “Publish plan and commitments” on its page.",
                          title=plan.title)))
    open_commitments = _open_commitments(plan)
    published = [c for c in open_commitments if c.status == "published"]
    drafts = [c for c in open_commitments if c.status == "draft"]
    done = len(published) >= MIN_COMMITMENTS
    hint = ngettext("It has %(num)d published commitment.", "It has %(num)d published commitments.", len(published))
    if drafts:
        hint += " " + (_("Commitments still in draft: %(list)s; they are published with the plan (or, once the plan "
                         "is published, with “Publish commitment”).", list=_numbers(drafts)))
    if len(open_commitments) < MIN_COMMITMENTS:
        hint += " " + _("Add the missing ones with “New commitment” on the plan's page.")
    items.append(CheckItem(_("The plan has at least %(n)d published commitments", n=MIN_COMMITMENTS), done,
                           "" if done else hint))
    missing = [c for c in open_commitments if not (c.owner_institution or "").strip()]
    done = bool(open_commitments) and not missing
    items.append(CheckItem(
        _("Every commitment has an owner institution"), done,
        "" if done else (_("Commitments without an owner: %(list)s. Fill in “Owner institution” on their cards.",
                           list=_numbers(missing)) if missing else _("The plan has no commitments yet."))))
    missing = [c for c in open_commitments if not any(m.end_date for m in c.milestones)]
    done = bool(open_commitments) and not missing
    items.append(CheckItem(
        _("Every commitment has a milestone with a due date"), done,
        "" if done else (_("Commitments without a dated milestone: %(list)s. Add a milestone (“New milestone”) with "
                           "its end date.", list=_numbers(missing)) if missing
                         else _("The plan has no commitments yet."))))
    return items


def check_cocreate_plan(participant: Participant) -> list[CheckItem]:
    """Step 11 "check my work": the participant's best plan (published by them, or a draft
    they created) is published by them, has at least :data:`MIN_COMMITMENTS` published
    commitments, and every commitment has an owner institution and a milestone with an end
    date. Reads only.

    Returns:
        Four :class:`~comun_cms.toolkit.CheckItem` (label, done, hint when not done).
    """
    published = _plan_publishers(participant)
    plan, items = _best(participant_plans(participant), lambda p: _plan_items(p, p.id in published))
    return items if plan is not None else _plan_items(None, False)


def _require_editor(participant: Participant):
    if participant.editor is None:
        raise ValueError("the participant has no editor account; the model answer is done as the editor")
    return participant.editor


def solve_cocreate_plan(participant: Participant) -> None:
    """Step 11 model answer, as ``participant.editor``: create a plan valid for the tenant's
    ``validity_months`` from the first day of the current month, with the five commitments of
    :data:`MODEL_COMMITMENTS` (owner institution, contact, two dated milestones of weight 50
    each, status "not started") and publish it with its commitments (audit events as in the
    admin). Does nothing when step 11 is already done. Flushes, does not commit.

    Raises:
        ValueError: the participant has no editor account.
        comun_cms.toolkit.PublishError: publishing failed.
    """
    if all(i.done for i in check_cocreate_plan(participant)):
        return
    user = _require_editor(participant)
    tenant = participant.workspace
    today = prog.tenant_today(tenant)
    start = dt.date(today.year, today.month, 1)
    until = prog.add_months(start, int(services.setting(tenant, "validity_months")))
    numbers = db.session.scalars(select(ActionPlan.number)).all()
    plan = ActionPlan(
        number=services.next_number(numbers), title=MODEL_PLAN_TITLE, framework="inai_cocreation",
        summary="Compromisos cocreados en las mesas de cocreación con el Secretariado Técnico Local.",
        axes=["Datos abiertos y transparencia proactiva", "Participación ciudadana", "Prevención de la corrupción"],
        methodology_url="", approval_date=today, valid_from=start, valid_until=until, phase="implementation",
        expected_commitments=MIN_COMMITMENTS, source="Acta de resultados de las mesas de cocreación.", notes="",
        is_demo=False)
    midpoint = start + dt.timedelta(days=(until - start).days // 2)
    for n, (title, owner, contact, milestones) in enumerate(MODEL_COMMITMENTS, start=1):
        c = Commitment(number=n, title=title, origin="co_created", owner_institution=owner, contact_name=contact,
                       start_date=start, end_date=until, progress_status="not_started", og_values=[], sdg_goals=[],
                       co_responsible_government=[], co_responsible_civil_society=[], description="", source="",
                       notes="", external_id="")
        spans = ((start, midpoint), (midpoint + dt.timedelta(days=1), until))
        for i, ((description, deliverable), (m_start, m_end)) in enumerate(zip(milestones, spans), start=1):
            c.milestones.append(Milestone(number=i, description=description, deliverable=deliverable, owner=owner,
                                          start_date=m_start, end_date=m_end, weight=50.0,
                                          progress_status="not_started", progress=0.0))
        plan.commitments.append(c)
    db.session.add(plan)
    db.session.flush()
    record_audit("action_plan.create", "action_plan", plan.id, None, snapshot(plan), user=user)
    pubs = services.publish_plan(plan, user)
    record_audit("action_plan.publish", "action_plan", plan.id, None,
                 {"publications": [{"content_type": p.content_type, "record_id": p.record_id, "version": p.version}
                                   for p in pubs]}, user=user)
    db.session.flush()


# --------------------------------------------------------------------------- step 13
def _content(pub) -> dict[str, Any]:
    if pub is None:
        return {}
    return json.loads(pub.canonical_json).get("content") or {}


def _reported(c: Commitment) -> tuple[bool, bool]:
    """``(report published after the first version, status moved forward)`` for a published
    commitment, comparing its first and newest published versions."""
    versions = history(COMMITMENT_TYPE.name, c.id)
    if c.status != "published" or len(versions) < 2:
        return False, False
    first, last = _content(versions[0]), _content(versions[-1])
    report = len(last.get("progress_reports") or []) > len(first.get("progress_reports") or [])
    old, new = first.get("progress_status") or "", last.get("progress_status") or ""
    moved = new in FORWARD and prog.status_rank(new) > prog.status_rank(old)
    return report, moved


def _report_items(plan: ActionPlan | None) -> list[CheckItem]:
    labels = (_("Your Local Action Plan from exercise 11 is published"),
              _("At least %(n)d commitments have a published progress report", n=MIN_REPORTED),
              _("At least %(n)d commitments changed status to “Started” or “Completed” (published)", n=MIN_REPORTED),
              _("The plan's published progress is above zero"))
    if plan is None:
        return [CheckItem(labels[0], False, _("Do exercise 11 first: publish your plan with its five commitments.")),
                CheckItem(labels[1], False, _("Open a commitment of your plan and press “New progress report”.")),
                CheckItem(labels[2], False, _("Open a commitment and mark a milestone as started or completed, with "
                                              "the reason: the commitment's status follows from its milestones.")),
                CheckItem(labels[3], False, _("Mark milestones as started (with their percentage) or completed."))]
    results = {c.id: _reported(c) for c in _open_commitments(plan)}
    reports = [c for c in _open_commitments(plan) if results[c.id][0]]
    moved = [c for c in _open_commitments(plan) if results[c.id][1]]
    published = _content(latest_publication(PLAN_TYPE.name, plan.id)).get("progress")
    items = [CheckItem(labels[0], True, "")]
    done = len(reports) >= MIN_REPORTED
    items.append(CheckItem(labels[1], done, "" if done else _(
        "%(n)d so far. Open a commitment of “%(title)s”, press “New progress report”, fill in the period, the "
        "narrative and who reports, give the reason and save.", n=len(reports), title=plan.title)))
    done = len(moved) >= MIN_REPORTED
    items.append(CheckItem(labels[2], done, "" if done else _(
        "%(n)d so far. Open a commitment, edit one of its milestones and set its status to “Started” (with a "
        "percentage) or “Completed”, give the reason and save: the commitment's status follows from its "
        "milestones.", n=len(moved))))
    done = published is not None and published > 0
    items.append(CheckItem(labels[3], done, "" if done else _(
        "It is %(value)s. The progress of a commitment is the weighted mean of its milestones: edit a milestone and "
        "set its status to “Started” with a percentage, or to “Completed”.",
        value=_("no information") if published is None else f"{published:g} %")))
    return items


def check_report_progress(participant: Participant) -> list[CheckItem]:
    """Step 13 "check my work" on the participant's best plan published by them (step 11):
    at least :data:`MIN_REPORTED` commitments have a progress report added after the plan was
    published and at least :data:`MIN_REPORTED` moved forward from their first published
    status to started/completed, both in published versions; the plan's newest published
    version has a progress above 0. Reads only.

    Returns:
        Four :class:`~comun_cms.toolkit.CheckItem` (the first: the plan of step 11 exists).
    """
    plan, items = _best(participant_plans(participant, published_only=True), _report_items)
    return items if plan is not None else _report_items(None)


def solve_report_progress(participant: Participant) -> None:
    """Step 13 model answer, as ``participant.editor``, on the participant's plan (the step 11
    answer is applied first when there is none): for the first :data:`MIN_REPORTED` published
    commitments still "not started" or "started", the first open milestone is completed, the
    status moves one step forward (not started -> started, started -> completed) and a progress
    report is added; each change is published as a correction of the commitment and the plan
    (:func:`services.republish`). Does nothing when step 13 is already done. Flushes, does not
    commit.

    Raises:
        ValueError: the participant has no editor account, or the plan has fewer than
            :data:`MIN_REPORTED` commitments whose status can move forward.
        comun_cms.toolkit.PublishError: publishing a correction failed.
    """
    if all(i.done for i in check_report_progress(participant)):
        return
    user = _require_editor(participant)
    if not participant_plans(participant, published_only=True):
        solve_cocreate_plan(participant)
    plan, _items = _best(participant_plans(participant, published_only=True), _report_items)
    if plan is None:
        raise ValueError("the participant has no published plan to report on")
    today = prog.tenant_today(participant.workspace)
    published = [c for c in plan.commitments if c.status == "published"]
    done = [c for c in published if _reported(c) == (True, True)]
    pending = [c for c in published if c not in done
               and (c.progress_status or "not_started") in ("not_started", "started")]
    needed = max(0, MIN_REPORTED - len(done))
    if len(pending) < needed:
        raise ValueError(f"plan {plan.number} has fewer than {MIN_REPORTED} commitments whose status can move forward")
    for c in pending[:needed]:
        before = {**snapshot(c), "milestones": [snapshot(m) for m in c.milestones]}
        milestone = next((m for m in c.milestones if m.progress_status not in prog.DONE), None)
        if milestone is not None:
            milestone.progress_status, milestone.progress = "completed", 100.0
        c.progress_status = "started" if (c.progress_status or "not_started") == "not_started" else "completed"
        services.recompute(c)
        period_start = plan.valid_from if plan.valid_from and plan.valid_from <= today else None
        c.reports.append(ProgressReport(
            period_start=period_start, period_end=today, progress=c.progress,
            reported_by=user.name or user.email,
            narrative=(f"Informe intermedio: se concluyó el hito «{milestone.description}» y el compromiso avanza "
                       "según lo acordado con el Secretariado Técnico Local." if milestone is not None
                       else "Informe intermedio: el compromiso avanza según lo acordado con el Secretariado Técnico Local.")))
        db.session.flush()
        pubs = services.republish([c], plan, "Informe intermedio de cumplimiento del Plan de Acción.", user)
        record_audit("progress_report.create", "ap_progress_report", c.reports[-1].id, before,
                     {**snapshot(c), "publications": [{"content_type": p.content_type, "record_id": p.record_id,
                                                       "version": p.version} for p in pubs]}, user=user)
    db.session.flush()


# --------------------------------------------------------------------------- tasks
def training_tasks() -> list[TrainingTask]:
    """The plugin's tasks: step 11 (:data:`KEY_PLAN`) and step 13 (:data:`KEY_REPORT`)."""
    return [
        TrainingTask(
            step=STEP_PLAN, key=KEY_PLAN, title="Cocree y publique el Plan de Acción Local",
            goals=(
                "Practicar el paso 11 de la estrategia local: Publicación del Plan de Acción.",
                "Capturar en el sitio de práctica el Plan de Acción Local con los cinco compromisos que salieron "
                "de las mesas de cocreación, cada uno con su institución responsable y al menos un hito con fecha "
                "de entrega.",
                "Publicar el plan: el plan y sus compromisos quedan públicos como versión 1, con su huella "
                "(SHA-256) en el historial.",
            ),
            steps=(
                "Entre a Administración → Planes de acción y pulse «Nuevo plan». Escriba el título, el marco "
                "metodológico, los ejes temáticos (uno por línea) y la fecha «Vigente desde»; pulse «Guardar "
                "borrador».",
                "En la página del plan pulse «Nuevo compromiso». Escriba el título, el problema público, el "
                "objetivo, la «Institución responsable» y las fechas de inicio y de fin (dentro de la vigencia del "
                "plan); deje el estatus en «Por iniciar» y guarde el borrador.",
                "En el compromiso pulse «Nuevo hito»: describa la actividad, su responsable y su «Fecha de fin» "
                "(la fecha de entrega). Si le agrega más hitos, revise que los pesos de los hitos del compromiso "
                "sumen 100.",
                "Repita los dos pasos anteriores hasta tener cinco compromisos.",
                "Vuelva a la página del plan, revise que ningún compromiso tenga avisos y pulse «Publicar plan y "
                "compromisos».",
                "Abra «Revisar mi trabajo» de este ejercicio.",
            ),
            check=check_cocreate_plan, solve=solve_cocreate_plan, start_endpoint="admin_action_plans.plan_new"),
        TrainingTask(
            step=STEP_REPORT, key=KEY_REPORT, title="Informe el avance del Plan de Acción",
            goals=(
                "Practicar el paso 13 de la estrategia local: Informe intermedio y final de cumplimiento del Plan "
                "de Acción.",
                "Informar el avance de al menos tres compromisos del plan que publicó en el ejercicio 11: "
                "avance de sus hitos, cambio de estatus e informe de avance.",
                "Comprobar que cada cambio se publica como una nueva versión con su motivo y que el avance del "
                "plan sube.",
            ),
            steps=(
                "Entre a Administración → Planes de acción y abra el plan que publicó en el ejercicio 11 (si no "
                "lo tiene, haga primero ese ejercicio).",
                "Abra un compromiso. En «Hitos» edite un hito: cambie su estatus a «Iniciado» (con su porcentaje de "
                "avance) o a «Completado», escriba el motivo y guarde.",
                "En «Ficha del compromiso, estatus y avance» cambie el «Estatus» de «Por iniciar» a «Iniciado» (o "
                "«Completado» si ya terminó) y pulse «Guardar cambios como borrador»; después, en «Cambios sin "
                "publicar», revise la diferencia, escriba el motivo y pulse «Publicar cambios».",
                "Pulse «Nuevo informe de avance»: escriba el periodo, la narrativa del avance y quién informa; si "
                "la tiene, agregue una liga o un archivo de evidencia. Escriba el motivo y guarde.",
                "Repita con al menos otros dos compromisos.",
                "Consulte en el sitio público el avance del plan y el historial de versiones de un compromiso; luego "
                "abra «Revisar mi trabajo» de este ejercicio.",
            ),
            check=check_report_progress, solve=solve_report_progress, start_endpoint="admin_action_plans.plans"),
    ]
