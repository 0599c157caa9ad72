"""Content loaded by ``comun demo`` for the criteria plugin.

* **Real**: the 40-criterion framework of ``data/criteria.csv`` (copied from
  ``shared/data/criteria.csv``: six categories, 100 points, legal basis, periodicity and source of
  each criterion; fractions marked "unverified" are shown as such). Each tenant gets its own copy
  of the published version; the copies share one content hash.
* **Demo** (``is_demo=True``, shown as "Dato de ejemplo"): two evaluation cycles per tenant
  (2024 and 2025) with a self-assessment, an evaluator's assessments, some replies and the
  published scores, and three recommendations (accepted with follow-up, rejected, awaiting an
  answer). The results are generated deterministically from a hash of the state and criterion;
  they describe no real evaluation.

Idempotent: every record is looked up (framework by slug and version, cycles by period, demo
recommendations by number) before it is created.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import select

from comun_cms.toolkit import User, db

from . import services
from .framework_io import FrameworkImportError
from .models import SELF_SLOT, CriteriaFramework, EvaluationCycle, FollowUp, Recommendation, user_slot

DATA_DIR = Path(__file__).parent / "data"
FRAMEWORK_CSV = DATA_DIR / "criteria.csv"
FRAMEWORK_SLUG = "sistema-criterios-comun"
FRAMEWORK_VERSION = "1"
FRAMEWORK_NAME = "Sistema de criterios CO+MÚN"
FRAMEWORK_DESCRIPTION = (
    "Cuarenta criterios en seis categorías (100 puntos) sobre la información que una Secretaría Ejecutiva "
    "del Sistema Estatal Anticorrupción publica acerca de su organización y funcionamiento.\n\n"
    "Las citas «LGTAIP 2015» se refieren a la Ley General de Transparencia y Acceso a la Información "
    "Pública de 2015, sustituida por una nueva ley general en 2025: una versión nueva del sistema debe "
    "actualizar esas citas; esta versión conserva las de origen. Las fracciones marcadas «unverified» "
    "(no verificadas) deben contrastarse con la ley estatal antes de un ciclo oficial.")
FRAMEWORK_SOURCE = ("Archivo criteria.csv del proyecto CO+MÚN (datos compartidos); la fuente de cada criterio "
                    "está en su columna «source».")

#: (period, title, cut-off, reply deadline, issued date of recommendations, level bonus)
CYCLES = (
    ("2024", "Evaluación 2024 (dato de ejemplo)", dt.date(2024, 11, 29), dt.date(2024, 12, 13), 0.0),
    ("2025", "Evaluación 2025 (dato de ejemplo)", dt.date(2025, 11, 28), dt.date(2025, 12, 12), 0.1),
)
#: Invented base level of each state for the demo results (not a real measurement).
LEVELS = {"hidalgo": 0.45, "puebla": 0.6, "edomex": 0.72}
EVALUATOR_NAME = "Organización evaluadora (dato de ejemplo)"
EVALUATOR_ORG = "Colectivo ciudadano de ejemplo"
COMMENTS = {
    "met": "Dato de ejemplo: la información está publicada, vigente y es fácil de encontrar.",
    "partial": "Dato de ejemplo: la información está publicada pero incompleta o sin actualizar en el periodo.",
    "not_met": "Dato de ejemplo: no se encontró la información en el sitio de la Secretaría Ejecutiva.",
    "not_applicable": "Dato de ejemplo: el órgano no existe en la estructura de este sistema estatal.",
}
REPLY = ("Dato de ejemplo: la Secretaría Ejecutiva reconoce la observación; la información se publicará "
         "o actualizará en el siguiente trimestre.")
RECOMMENDATIONS = (
    ("01", "Publicar las actas y acuerdos del Comité Coordinador dentro del plazo", ("B-03", "B-04"),
     "Dato de ejemplo: publicar cada acta del Comité Coordinador y sus acuerdos en formato abierto, con su estado "
     "de seguimiento, dentro del plazo que fija la normatividad.", "accepted"),
    ("02", "Publicar el calendario anual de sesiones ordinarias", ("B-02",),
     "Dato de ejemplo: publicar al inicio de cada año el calendario de sesiones ordinarias del Comité Coordinador.",
     "rejected"),
    ("03", "Publicar la cobertura de los sistemas de la Plataforma Digital Estatal", ("E-05", "E-06"),
     "Dato de ejemplo: publicar trimestralmente la cobertura de los sistemas 1 y 2 por poder y orden de gobierno.",
     "pending"),
)


def _unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from the SHA-256 of ``parts``."""
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def _result(level: float, u: float) -> str:
    if u < level - 0.15:
        return "met"
    if u < level + 0.12:
        return "partial"
    return "not_met"


def ensure_framework(tenant, ctx, commit: bool = True) -> CriteriaFramework:
    """The tenant's copy of the default framework version (imported and published as
    ``ctx.user`` if missing). ``commit=False`` leaves the commit to the caller (the training
    scenario, :mod:`plugins.criteria.training`); the demo commits the publication.

    Raises:
        RuntimeError: ``data/criteria.csv`` is not a valid framework.
    """
    fw = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.slug == FRAMEWORK_SLUG,
                                                           CriteriaFramework.version_label == FRAMEWORK_VERSION))
    if fw is not None:
        return fw
    try:
        fw = services.import_framework(FRAMEWORK_CSV.read_bytes(), slug=FRAMEWORK_SLUG, version_label=FRAMEWORK_VERSION,
                                       name=FRAMEWORK_NAME, description=FRAMEWORK_DESCRIPTION, source=FRAMEWORK_SOURCE,
                                       user=ctx.user)
    except FrameworkImportError as exc:  # the shipped file is valid; this guards edits of it
        raise RuntimeError(f"data/criteria.csv is not a valid framework:\n{exc}") from exc
    ctx.publish(fw, commit=commit)
    ctx.log(f"  {tenant.slug}: criteria framework “{FRAMEWORK_NAME}” v{FRAMEWORK_VERSION} ({len(fw.criteria)} criteria)")
    return fw


def _evaluator(tenant, ctx) -> User:
    user = db.session.scalar(select(User).where(User.email == f"evaluator@{tenant.slug}.demo.comun.mx"))
    return user or ctx.user


def ensure_cycle(tenant, ctx, fw: CriteriaFramework, period: str, title: str, cutoff: dt.date,
                 reply_deadline: dt.date, bonus: float) -> EvaluationCycle:
    """A published demo cycle for ``period`` (created with its assessments if missing)."""
    cycle = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.period_label == period,
                                                            EvaluationCycle.is_demo.is_(True)))
    if cycle is not None:
        return cycle
    evaluator = _evaluator(tenant, ctx)
    cycle = services.create_cycle(
        fw, title=title, period_label=period, cutoff_date=cutoff, period_start=dt.date(int(period), 1, 1),
        period_end=dt.date(int(period), 12, 31), reply_deadline=reply_deadline, is_demo=True, user=evaluator,
        methodology="Dato de ejemplo: ciclo generado para mostrar el funcionamiento del sistema de criterios; "
                    "no describe una evaluación real.")
    services.save_declaration(cycle, evaluator, evaluator_role="observatory", name=EVALUATOR_NAME,
                              organization=EVALUATOR_ORG, has_conflict=False, conflict_description="")
    level = LEVELS.get(tenant.slug, 0.55) + bonus
    for criterion in fw.criteria:
        u = _unit(tenant.slug, period, criterion.code)
        result = _result(level, u)
        if tenant.slug == "hidalgo" and criterion.code == "B-06":
            result = "not_applicable"
        own = "met" if result == "partial" and _unit("self", tenant.slug, period, criterion.code) < 0.6 else result
        services.save_assessment(cycle, criterion, slot=SELF_SLOT, evaluator=ctx.user, evaluator_role="self_assessment",
                                 evaluator_name=services.display_name(ctx.user), organization=tenant.short_name,
                                 result=own, value=None, comment=COMMENTS[own], flush=False)
        a = services.save_assessment(cycle, criterion, slot=user_slot(evaluator.id), evaluator=evaluator,
                                     evaluator_role="observatory", evaluator_name=EVALUATOR_NAME,
                                     organization=EVALUATOR_ORG, result=result, value=None, comment=COMMENTS[result],
                                     flush=False)
        if result in ("partial", "not_met") and _unit("reply", tenant.slug, period, criterion.code) < 0.5:
            services.save_reply(a, body=REPLY, user=ctx.user, flush=False)
    db.session.flush()
    cycle.stage = "reply"
    services.prepare_cycle_publication(cycle, on=reply_deadline + dt.timedelta(days=1))
    ctx.publish(cycle)
    ctx.log(f"  {tenant.slug}: demo evaluation cycle {period} (total {cycle.scores['total']})")
    return cycle


def ensure_recommendations(tenant, ctx, cycle: EvaluationCycle) -> None:
    """Three published demo recommendations linked to ``cycle``'s criteria."""
    evaluator = _evaluator(tenant, ctx)
    by_code = {c.code: c for c in cycle.framework.criteria}
    issued = cycle.reply_deadline + dt.timedelta(days=5)
    for n, title, codes, body, answer in RECOMMENDATIONS:
        number = f"REC-{cycle.period_label}-{n}"
        if db.session.scalar(select(Recommendation.id).where(Recommendation.number == number)) is not None:
            continue
        rec = services.issue_recommendation(
            title=title, body=body, criteria=[by_code[c] for c in codes], issued_on=issued, cycle=cycle,
            issuer=evaluator, issuer_name=EVALUATOR_NAME, issuer_organization=EVALUATOR_ORG, number=number,
            is_demo=True, publish=False)
        if answer != "pending":
            rec.answer = answer
            rec.answered_at = dt.datetime.combine(issued + dt.timedelta(days=20), dt.time(17), tzinfo=dt.timezone.utc)
            rec.answered_by_name = services.display_name(ctx.user)
            if answer == "accepted":
                rec.answer_reason = ("Dato de ejemplo: la Secretaría Ejecutiva acepta la recomendación y la incluye "
                                     "en su programa de trabajo.")
                rec.followups.append(FollowUp(
                    reported_on=issued + dt.timedelta(days=90), progress="in_progress",
                    body="Dato de ejemplo: se publicaron las actas del primer trimestre; faltan los acuerdos en "
                         "formato abierto.", author_id=ctx.user.id, author_name=services.display_name(ctx.user)))
                rec.progress = "in_progress"
            else:
                rec.answer_reason = ("Dato de ejemplo: la Secretaría Ejecutiva considera que el calendario depende "
                                     "del Comité Coordinador y no de ella.")
                rec.closed_on = issued + dt.timedelta(days=20)
        ctx.publish(rec)
        ctx.log(f"  {tenant.slug}: demo recommendation {number}")


def load(tenant, ctx) -> None:
    """``demo_data`` entry point: framework, two demo cycles and demo recommendations."""
    fw = ensure_framework(tenant, ctx)
    latest = None
    for period, title, cutoff, deadline, bonus in CYCLES:
        latest = ensure_cycle(tenant, ctx, fw, period, title, cutoff, deadline, bonus)
    if latest is not None:
        ensure_recommendations(tenant, ctx, latest)
