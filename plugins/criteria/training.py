"""Training material and exercise of the criteria plugin (training tenants and workspaces).

* **Scenario** (:func:`load_scenario`, hook ``training_scenario``): the real 40-criterion
  framework (the same published version ``comun demo`` loads, see
  :func:`plugins.criteria.demo.ensure_framework`) and one evaluation cycle labelled as training
  material, "Evaluación de práctica 2026 (material de capacitación)" (``is_demo=True``), left
  open in the **evaluation** stage. The secretariat's self-assessment and the assessments of an
  invented citizen participation committee cover every criterion, so the participant can move
  the cycle to the right of reply after assessing only a few criteria. Scenario rows belong to
  nobody: the committee's assessments use the slot :data:`SCENARIO_SLOT` (not a user) and have
  no ``evaluator_id``; the self-assessment has no ``evaluator_id`` either.
* **Task** of step 12 "Página web con la información del ejercicio y avances del Plan de
  Acción" (:func:`tasks`, hook ``training_tasks``), key ``criteria.evaluate``: with the evaluator
  account the participant declares their role and conflicts of interest, assesses at least
  three criteria (result, a comment that justifies it, the evidence address where the criterion
  requires evidence) and moves the cycle to the right of reply; with the editor account (the
  secretariat) they reply to at least one assessment.

  Publishing the cycle is **not** part of the exercise: it needs a reply to every evaluator
  assessment (more than forty, counting the committee's) or the reply deadline to have passed,
  and the deadline is set to today + ``reply_days`` (at least one day) when the reply stage
  opens, so it cannot be done in a 20-minute exercise without bending the workflow.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select

from comun_cms.toolkit import CheckItem, TrainingTask, db, tenant_context

from . import services
from .demo import FRAMEWORK_SLUG, FRAMEWORK_VERSION, _result, _unit, ensure_framework
from .models import (SELF_SLOT, Assessment, CriteriaFramework, EvaluationCycle, EvaluatorDeclaration, Reply,
                     user_slot)

#: Label of the training material.
TRAINING_LABEL = "Material de capacitación"
#: Period label that identifies the scenario's cycle (the demo's cycles use "2024" and "2025").
TRAINING_PERIOD = "2026 (práctica)"
TRAINING_TITLE = "Evaluación de práctica 2026 (material de capacitación)"
TRAINING_CUTOFF = dt.date(2026, 10, 30)
TRAINING_METHODOLOGY = (
    "Material de capacitación: ciclo de práctica para los talleres de gobierno abierto; no describe una "
    "evaluación real. La autoevaluación de la Secretaría Ejecutiva y las evaluaciones del Comité de "
    "Participación Ciudadana de ejemplo ya cubren los cuarenta criterios; cada participante agrega las suyas "
    "como organización evaluadora y la Secretaría Ejecutiva ejerce su derecho de réplica.")
#: Assessment slot of the scenario's evaluator (an invented committee, not a user account).
SCENARIO_SLOT = "capacitacion"
SCENARIO_EVALUATOR = "Comité de Participación Ciudadana de ejemplo (material de capacitación)"
SCENARIO_ORGANIZATION = "Comité de Participación Ciudadana del Estado de Ejemplo"
SCENARIO_SECRETARIAT = "Secretaría Ejecutiva (material de capacitación)"
#: Invented level of the scenario's results (see :func:`plugins.criteria.demo._result`).
SCENARIO_LEVEL = 0.55
SCENARIO_COMMENTS = {
    "met": "Material de capacitación: la información está publicada, vigente y es fácil de encontrar.",
    "partial": "Material de capacitación: la información está publicada pero incompleta o sin actualizar.",
    "not_met": "Material de capacitación: no se encontró la información en el sitio de la Secretaría Ejecutiva.",
}
#: Criteria the exercise suggests (the site's open data, participation mechanisms, update dates).
SUGGESTED_CODES = ("F-03", "F-04", "F-06")
#: Criteria the participant must assess.
MIN_ASSESSED = 3

#: What :func:`solve` writes (the model answer).
MODEL_ANSWERS = {
    "F-03": ("partial", "La sección de datos abiertos publica las actas en CSV, pero no los acuerdos ni el Plan de "
                        "Acción Local."),
    "F-04": ("met", "La página del ejercicio de gobierno abierto publica las mesas de cocreación y sus resultados."),
    "F-06": ("not_met", "Las secciones del sitio no muestran la fecha de su última actualización."),
}
MODEL_EVIDENCE = "https://sesea.example.org/gobierno-abierto"
MODEL_REPLY = ("La Secretaría Ejecutiva publicará los acuerdos y el Plan de Acción Local en formato abierto en la "
               "sección de datos abiertos durante el siguiente trimestre.")


# --------------------------------------------------------------------------- scenario
def training_cycle() -> EvaluationCycle | None:
    """The scenario's cycle in the current tenant (by :data:`TRAINING_PERIOD`), or ``None``."""
    return db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.period_label == TRAINING_PERIOD,
                                                           EvaluationCycle.is_demo.is_(True))
                             .order_by(EvaluationCycle.id).limit(1))


def load_scenario(tenant, ctx) -> int:
    """Load the training material into ``tenant`` (a training tenant or a participant's
    workspace): the framework (reused when ``comun demo`` already loaded it, and vice versa) and
    the open training cycle with the self-assessment and the committee's assessments.

    Idempotent (framework looked up by slug and version, cycle by :data:`TRAINING_PERIOD`).
    Never commits: it flushes and publishes with ``commit=False``; the caller commits.

    Args:
        tenant: the training tenant or workspace (:class:`~comun_cms.toolkit.Tenant`).
        ctx: :class:`comun_cms.toolkit.DemoContext` with ``user=None`` (the framework is published
            by nobody when this creates it).

    Returns:
        The number of records created (framework version and cycle; 0 when both existed).
        The cycle is created only in a tenant without it (a participant's work in it is kept).

    Raises:
        RuntimeError: the shipped ``data/criteria.csv`` is not a valid framework.
    """
    created = 0
    with tenant_context(tenant):
        had_framework = db.session.scalar(select(CriteriaFramework.id).where(
            CriteriaFramework.slug == FRAMEWORK_SLUG, CriteriaFramework.version_label == FRAMEWORK_VERSION)) is not None
        fw = ensure_framework(tenant, ctx, commit=False)
        created += 0 if had_framework else 1
        if training_cycle() is not None:
            return created
        cycle = services.create_cycle(
            fw, title=TRAINING_TITLE, period_label=TRAINING_PERIOD, cutoff_date=TRAINING_CUTOFF,
            period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31), methodology=TRAINING_METHODOLOGY,
            is_demo=True, user=None)
        services.advance_stage(cycle, "self_assessment")
        for criterion in fw.criteria:
            if not criterion.applies_in(tenant.slug):
                continue
            result = _result(SCENARIO_LEVEL + 0.15, _unit("capacitacion", "self", criterion.code))
            services.save_assessment(cycle, criterion, slot=SELF_SLOT, evaluator=None, evaluator_role="self_assessment",
                                     evaluator_name=SCENARIO_SECRETARIAT, organization=tenant.short_name,
                                     result=result, value=None, comment=SCENARIO_COMMENTS[result], flush=False)
        db.session.flush()
        services.advance_stage(cycle, "evaluation")
        for criterion in fw.criteria:
            if not criterion.applies_in(tenant.slug):
                continue
            result = _result(SCENARIO_LEVEL, _unit("capacitacion", "committee", criterion.code))
            services.save_assessment(cycle, criterion, slot=SCENARIO_SLOT, evaluator=None,
                                     evaluator_role="citizen_committee", evaluator_name=SCENARIO_EVALUATOR,
                                     organization=SCENARIO_ORGANIZATION, result=result, value=None,
                                     comment=SCENARIO_COMMENTS[result], flush=False)
        db.session.flush()
        created += 1
        ctx.log(f"  {tenant.slug}: criteria training cycle “{TRAINING_TITLE}” (stage evaluation)")
    return created


# --------------------------------------------------------------------------- task
def _qualifies(a: Assessment) -> bool:
    """An assessment counts when it has a justification (comment) and, where the criterion
    requires evidence, an evidence address."""
    return bool((a.comment or "").strip()) and (bool(a.evidence_url) or not a.criterion.evidence_required)


def _own_assessments(participant) -> list[Assessment]:
    ev = participant.evaluator
    if ev is None:
        return []
    return list(db.session.scalars(select(Assessment).where(Assessment.evaluator_id == ev.id,
                                                            Assessment.slot == user_slot(ev.id))
                                   .order_by(Assessment.id)))


def _editor_replied(participant) -> bool:
    editor = participant.editor
    return editor is not None and db.session.scalar(
        select(Reply.id).join(Assessment, Reply.assessment_id == Assessment.id)
        .where(Reply.author_id == editor.id, Assessment.slot != SELF_SLOT).limit(1)) is not None


def check(participant) -> list:
    """"Check my work" of the task ``criteria.evaluate`` (reads only).

    Looks only at the participant's accounts' rows in their workspace: the evaluator account's
    declaration and assessments (slot ``u<id>``, ``evaluator_id`` = the account) and the editor
    account's replies (``author_id``); the scenario's rows belong to nobody and never count.

    Args:
        participant: :class:`comun_cms.toolkit.Participant`.

    Returns:
        Four :class:`~comun_cms.toolkit.CheckItem`: declaration, three justified assessments
        (in one cycle), a cycle with the participant's assessments in the right-of-reply stage,
        a reply by the secretariat.
    """
    with tenant_context(participant.workspace):
        ev = participant.evaluator
        declared = ev is not None and db.session.scalar(
            select(EvaluatorDeclaration.id).where(EvaluatorDeclaration.user_id == ev.id).limit(1)) is not None
        own = _own_assessments(participant)
        per_cycle: dict[int, int] = {}
        for a in own:
            if _qualifies(a):
                per_cycle[a.cycle_id] = per_cycle.get(a.cycle_id, 0) + 1
        best = max(per_cycle.values(), default=0)
        cycle_ids = {a.cycle_id for a in own}
        handed_over = bool(cycle_ids) and db.session.scalar(select(EvaluationCycle.id).where(
            EvaluationCycle.id.in_(cycle_ids), EvaluationCycle.stage.in_(("reply", "published"))).limit(1)) is not None
        replied = _editor_replied(participant)
    return [
        CheckItem(_("Evaluator account: you declared your role and conflicts of interest in the cycle"), declared,
                  _("With the evaluator account, open the training cycle in Criteria evaluation and use “Declare "
                    "your role and conflicts of interest”.")),
        CheckItem(_("Evaluator account: at least %(n)d criteria assessed with a comment and evidence (%(done)d so far)",
                    n=MIN_ASSESSED, done=best), best >= MIN_ASSESSED,
                  _("Assess more criteria of the training cycle (e.g. F-03, F-04, F-06): choose the result, write a "
                    "comment that justifies it and, where the criterion requires evidence, the evidence address "
                    "and the date you looked at it.")),
        CheckItem(_("Evaluator account: the cycle you assessed is in the stage “Right of reply”"), handed_over,
                  _("When your assessments are saved, move the cycle to the stage “Right of reply” with the button "
                    "on the cycle's page, so the secretariat can see them and reply.")),
        CheckItem(_("Editor account: the secretariat replied to at least one assessment"), replied,
                  _("With the editor (SESEA) account, open the cycle in the stage “Right of reply” and use "
                    "“Reply” next to one of the assessments.")),
    ]


def _reply_days(tenant) -> int:
    try:
        return int(tenant.setting("criteria", "reply_days"))
    except (KeyError, TypeError, ValueError):
        return services.DEFAULT_REPLY_DAYS


def solve(participant) -> None:
    """The model answer of ``criteria.evaluate``, done as the participant's accounts: the
    evaluator declares, assesses F-03, F-04 and F-06 (comment, evidence address and capture
    date) and moves the training cycle to the right of reply; the editor replies to the first
    of the evaluator's assessments. Steps already done are kept (a partly done exercise is
    completed). Flushes only; the caller commits.

    Args:
        participant: :class:`comun_cms.toolkit.Participant` with both accounts.

    Raises:
        RuntimeError: an account is missing or the workspace has no training cycle (load the
            scenario first).
        CriteriaError: the training cycle is past the right of reply (published) or before
            the evaluation stage, so the model answer cannot be written through the workflow.
    """
    ev, editor = participant.evaluator, participant.editor
    if ev is None or editor is None:
        raise RuntimeError("the participant needs an evaluator and an editor account")
    with tenant_context(participant.workspace):
        cycle = training_cycle()
        if cycle is None:
            raise RuntimeError(f"no criteria training cycle in '{participant.workspace.slug}'; load the scenario first")
        slot = user_slot(ev.id)
        if cycle.stage == "evaluation":
            decl = services.declaration_for(cycle, ev)
            if decl is None:
                decl = services.save_declaration(cycle, ev, evaluator_role="observatory",
                                                 name=services.display_name(ev),
                                                 organization="Organización evaluadora de práctica",
                                                 has_conflict=False, conflict_description="")
            by_code = {c.code: c for c in cycle.framework.criteria}
            good = sum(1 for a in cycle.assessments if a.slot == slot and a.evaluator_id == ev.id and _qualifies(a))
            for code in SUGGESTED_CODES:
                if good >= MIN_ASSESSED:
                    break
                existing = services.find_assessment(cycle, by_code[code], slot)
                if existing is not None and _qualifies(existing):
                    continue
                result, comment = MODEL_ANSWERS[code]
                services.save_assessment(cycle, by_code[code], slot=slot, evaluator=ev,
                                         evaluator_role=decl.evaluator_role, evaluator_name=decl.name,
                                         organization=decl.organization, result=result, value=None, comment=comment,
                                         evidence_url=MODEL_EVIDENCE,
                                         evidence_captured_on=services.today(participant.workspace))
                good += 1
            services.advance_stage(cycle, "reply", _reply_days(participant.workspace))
        elif cycle.stage != "reply":
            raise services.CriteriaError(f"the training cycle is in the stage '{cycle.stage}'")
        if not _editor_replied(participant):
            mine = [a for a in cycle.assessments if a.slot == slot]
            target = min(mine or [a for a in cycle.assessments if not a.is_self], key=lambda a: a.id)
            services.save_reply(target, body=MODEL_REPLY, user=editor)
        db.session.flush()


def tasks() -> list:
    """The plugin's training tasks (hook ``training_tasks``): ``criteria.evaluate`` (step 12)."""
    return [TrainingTask(
        step=12,
        key="criteria.evaluate",
        title="Evaluar criterios de la página web y ejercer el derecho de réplica",
        goals=(
            "Evaluar, como organización evaluadora, la información que la Secretaría Ejecutiva publica en su "
            "página web sobre el ejercicio de gobierno abierto.",
            "Justificar cada evaluación con un comentario y la dirección de la evidencia.",
            "Entregar las evaluaciones a la Secretaría Ejecutiva pasando el ciclo a la etapa «Derecho de réplica».",
            "Responder, como Secretaría Ejecutiva, a una evaluación con el derecho de réplica.",
        ),
        steps=(
            "Entre con su cuenta de organización evaluadora y abra Administración → Evaluación por criterios.",
            f"Abra el ciclo «{TRAINING_TITLE}», que está en la etapa «Evaluación». El Comité de Participación "
            "Ciudadana de ejemplo ya evaluó los cuarenta criterios; sus evaluaciones se suman a las del Comité.",
            "Use «Declare su rol y sus conflictos de interés»: elija su papel, escriba su nombre y su organización, "
            "indique si tiene un conflicto de interés y guarde la declaración (es obligatoria antes de evaluar).",
            "Evalúe al menos tres criterios con «Evaluar»; le sugerimos F-03 (sección de datos abiertos con actas, "
            "acuerdos y plan de acción), F-04 (mecanismos de participación y sus resultados) y F-06 (fecha de "
            "última actualización). En cada uno elija el resultado, escriba un comentario que lo justifique y anote "
            "la dirección de la evidencia (o de la página donde la buscó) con la fecha en que la consultó.",
            "Cuando tenga sus evaluaciones, use «Pasar a la etapa “Derecho de réplica”» en la página del ciclo: "
            "así la Secretaría Ejecutiva puede verlas y responder.",
            "Salga y entre con su cuenta de la Secretaría Ejecutiva (editor), abra el mismo ciclo y use «Réplica» "
            "junto a una de sus evaluaciones; escriba la respuesta y guárdela.",
            "No publique el ciclo: la publicación exige una réplica a cada evaluación o que venza el plazo de "
            "réplica, y queda fuera de este ejercicio.",
            "Abra «Revisar mi trabajo» de este ejercicio.",
        ),
        check=check,
        solve=solve,
        start_endpoint="admin_criteria.admin_index",
    )]
