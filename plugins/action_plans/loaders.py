"""Real, demo and training content of the action-plans plugin.

* :func:`load_real_plans`: the real plans of a tenant from ``data/action_plans.json`` (a copy of
  ``shared/data/action_plans.json``): today the three Estado de México plans. Facts the source
  does not give (approval dates, validity, statuses) stay empty; milestone weights, which the
  source does not publish, are equal shares (stated in the commitment's notes).
* :func:`load_demo_plans`: a clearly labelled demo plan (``is_demo=True``) for a state with no
  published plan (Hidalgo, Puebla), dated around the day it is loaded so the agenda has
  upcoming activities. Its size and validity follow the tenant settings.
* :func:`load_training_plans`: Mexico's 4th national OGP plan and Jalisco's first local plan,
  for a training tenant only.

Every loader is idempotent (plans are looked up by title) and publishes through
``ctx.publish`` (commitments first, then the plan that lists them). :func:`load_training_plans`
can leave the commit to its caller (``commit=False``: the ``training_scenario`` hook).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from comun_cms.toolkit import db

from . import progress as prog
from . import services
from .models import ActionPlan, Commitment, Milestone, ProgressReport

DATA_FILE = Path(__file__).parent / "data" / "action_plans.json"
#: Source documents that the core publishes as pages (file name -> page slug, comun_cms.demo.DOCUMENTS).
DOCUMENT_PAGES = {"edomex-pal-2021-avances-infoem.txt": "pal-2021-avances-compromiso-proactivo-infoem"}
FRAMEWORKS = {"INAI cocreación desde lo local": "inai_cocreation", "OGP Local": "ogp_local",
              "OGP national": "ogp_national"}
MILESTONE_STATUS = {"completed": "completed", "planned": "not_started", "started": "started", "verified": "verified"}
ORIGINS = {"proactive": "proactive", "co-created": "co_created", "co_created": "co_created"}
PARTICIPANT_LABELS = {"municipal_public_servants": "servidores públicos municipales", "academia": "academia",
                      "civil_society": "sociedad civil", "private_sector": "sector empresarial", "citizens": "ciudadanos"}


def load_data() -> dict:
    """The real action plans file (``data/action_plans.json``)."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _source_text(source: str | None, tenant) -> str:
    """Cite a source: URLs as they are; a document of the shared corpus by its title and file."""
    if not source:
        return ""
    if source.startswith("documents/"):
        name = source.split(" ", 1)[0]
        return (f"Documento público (texto extraído de PDF): {name.removeprefix('documents/')}"
                + (f" {source.split(' ', 1)[1]}" if " " in source else ""))
    return source


def _find_plan(title: str) -> ActionPlan | None:
    return db.session.scalar(select(ActionPlan).where(ActionPlan.title == title))


def _next_plan_number() -> int:
    return services.next_number(db.session.scalars(select(ActionPlan.number)).all())


def _publish_plan(plan: ActionPlan, ctx, commit: bool = True) -> None:
    """Publish the plan's commitments, then the plan, through ``ctx.publish`` in one transaction.

    Args:
        plan: a draft plan (already added to the session and flushed).
        ctx: the :class:`~comun_cms.toolkit.DemoContext` (publishes as ``ctx.user``, which may be
            ``None`` for training scenarios).
        commit: commit once at the end (a failure rolls the whole plan back). With ``False``
            nothing is committed or rolled back: the caller commits once (training scenarios).

    Raises:
        ValueError: a commitment has problems (:func:`services.commitment_problems`).
    """
    for c in plan.commitments:
        services.recompute(c)
    db.session.flush()
    try:
        for c in plan.commitments:
            if c.status == "draft":
                problems = services.commitment_problems(c)
                if problems:
                    raise ValueError(f"{plan.title} / {c.number}: {' '.join(problems)}")
                ctx.publish(c, commit=False)
        if plan.status == "draft":
            ctx.publish(plan, commit=False)
        if commit:
            db.session.commit()
    except Exception:
        if commit:
            db.session.rollback()
        raise


def _commitment_notes(data: dict, weights_note: bool) -> str:
    parts = []
    participants = data.get("participants")
    if participants:
        detail = ", ".join(f"{n} {PARTICIPANT_LABELS.get(k, k)}" for k, n in participants.items() if k != "total")
        parts.append(f"**Participantes:** {participants.get('total')} ({detail}).")
    proposals = data.get("proposals_received")
    if proposals:
        parts.append("**Propuestas relevantes recibidas:**\n\n" + "\n".join(f"- {p}" for p in proposals))
    if data.get("note"):
        parts.append(_translate_note(data["note"]))
    if weights_note:
        parts.append("La fuente no publica la ponderación de los hitos: se les asignó el mismo peso.")
    return "\n\n".join(parts)


def _translate_note(note: str) -> str:
    """Spanish text of the JSON's English notes (the facts are the same)."""
    m = re.fullmatch(r"Legal reforms published on (\d{4}-\d{2}-\d{2})\.", note)
    if m:
        return f"Las reformas legales se publicaron el {m.group(1)}."
    m = re.fullmatch(r"Field registration from (\d{4}-\d{2}-\d{2})\.", note)
    if m:
        return f"Registro en campo a partir del {m.group(1)}."
    return note


def _build_plan(data: dict, tenant, number: int, is_demo: bool = False) -> ActionPlan:
    plan = ActionPlan(number=number, title=data["title"], framework=FRAMEWORKS.get(data.get("framework", ""), "own"),
                      axes=[], phase="", source=_source_text(data.get("source"), tenant), notes="",
                      summary="", methodology_url="", is_demo=is_demo,
                      expected_commitments=len(data.get("commitments", [])) or None)
    for cdata in data.get("commitments", []):
        milestones = cdata.get("milestones") or []
        c = Commitment(
            number=cdata["number"], external_id=cdata.get("external_id", ""), title=cdata["title"],
            origin=ORIGINS.get(cdata.get("origin", ""), ""), description=cdata.get("description", ""),
            owner_institution=cdata.get("owner", ""), start_date=_date(cdata.get("start")),
            end_date=_date(cdata.get("end")), progress_status="", source=_source_text(cdata.get("source"), tenant),
            notes=_commitment_notes(cdata, weights_note=bool(milestones)), is_demo=is_demo,
            og_values=[], sdg_goals=[], co_responsible_government=[], co_responsible_civil_society=[])
        equal = round(100.0 / len(milestones), 2) if milestones else 0
        for i, mdata in enumerate(milestones, start=1):
            status = MILESTONE_STATUS.get(mdata.get("status", ""), "not_started")
            weight = equal if i < len(milestones) else round(100.0 - equal * (len(milestones) - 1), 2)
            c.milestones.append(Milestone(
                number=i, description=mdata["title"], start_date=_date(mdata.get("start")),
                end_date=_date(mdata.get("end")), weight=weight, progress_status=status,
                progress=prog.milestone_progress(status, None), owner=mdata.get("owner", "")))
        if milestones:
            done = sum(1 for m in c.milestones if m.progress_status in prog.DONE)
            # The status follows from the milestones the source reports: some done -> started.
            c.progress_status = ("completed" if done == len(c.milestones) else "started" if done
                                 else "not_started")
        published = cdata.get("progress_as_published")
        if published:
            value = _published_progress(published)
            if value is not None:
                c.progress_manual, c.progress = True, value
                c.progress_reason = ("Cifra publicada en la gráfica «Progreso de acciones y actividades por "
                                     "compromiso» (fuente: Alianza para el Gobierno Abierto Mx).")
            else:
                c.notes = (c.notes + "\n\n" if c.notes else "") + (
                    f"Cifra publicada ambigua: {published.replace('(ambiguous)', '').strip()}; la extracción del "
                    "texto perdió los segmentos de la barra, por lo que el avance se deja sin dato.")
        plan.commitments.append(c)
    note = data.get("note")
    if note:
        plan.notes = _plan_note(note)
    return plan


def _plan_note(note: str) -> str:
    m = re.match(r"(\d+) commitments \((\d+) co-created, (\d+) proactive\)", note)
    if m:
        return (f"{m.group(1)} compromisos ({m.group(2)} cocreados y {m.group(3)} proactivos). La gráfica original "
                "apila cuatro estados (verificados, completados, iniciados, por iniciar); la extracción del texto "
                "perdió los segmentos de las barras, así que cuando se imprimen dos cifras el reparto es ambiguo y "
                "el avance se deja sin dato.")
    m = re.match(r"(\d+) commitments approved on (\d{4}-\d{2}-\d{2}); the 7th \(public scrutiny of state contracts\) has no captured title\.", note)
    if m:
        return (f"{m.group(1)} compromisos aprobados el {m.group(2)}; el séptimo (escrutinio público de los contratos "
                "del estado) no tiene título capturado en la fuente, por eso no aparece.")
    return note


def _published_progress(text: str) -> float | None:
    """``"77.86 %"`` -> 77.86; ambiguous figures (``"7.5 % / 78.33 % (ambiguous)"``) -> ``None``."""
    if "ambiguous" in text or "/" in text:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", text)
    return float(m.group(1)) if m else None


def load_real_plans(tenant, ctx) -> int:
    """Import and publish the real plans of ``tenant`` from ``data/action_plans.json``
    (entries whose ``tenant`` is its slug). Returns the number of plans created."""
    created = 0
    for data in load_data()["plans"]:
        if data.get("tenant") != tenant.slug or _find_plan(data["title"]) is not None:
            continue
        plan = _build_plan(data, tenant, _next_plan_number())
        if data.get("framework") == "INAI cocreación desde lo local" and data["commitments"] and \
                data["commitments"][0].get("origin") == "proactive":
            plan.summary = ("Avances del compromiso proactivo del INFOEM dentro del Plan de Acción Local de Gobierno "
                            "Abierto 2021.")
        db.session.add(plan)
        db.session.flush()
        _publish_plan(plan, ctx)
        created += 1
        ctx.log(f"  {tenant.slug}: plan de acción «{plan.title}» ({len(plan.commitments)} compromisos)")
    return created


def load_training_plans(tenant, ctx, commit: bool = True) -> int:
    """Load the training material: Mexico's 4th national OGP plan (13 commitments, published
    progress where unambiguous) and Jalisco's first local plan, into a *training* tenant.
    Idempotent (plans are looked up by title).

    Args:
        tenant: the training tenant (current tenant).
        ctx: the :class:`~comun_cms.toolkit.DemoContext`; its ``user`` publishes (``None`` for the
            training scenario: records published by nobody).
        commit: commit after each plan (``comun demo``, ``comun action-plans load-training``);
            ``False`` only flushes and leaves the commit to the caller (``training_scenario``).

    Returns:
        The number of plans created.

    Raises:
        ValueError: ``tenant`` is not a training tenant (these are not the states' own plans).
    """
    if not tenant.training:
        raise ValueError(f"tenant '{tenant.slug}' is not a training tenant; training plans are not loaded into a state")
    created = 0
    for data in load_data()["plans"]:
        if data.get("tenant") is not None or _find_plan(data["title"]) is not None:
            continue
        plan = _build_plan(data, tenant, _next_plan_number())
        plan.summary = f"Material de capacitación: plan de {data.get('jurisdiction', '')}."
        if data.get("jurisdiction") == "Jalisco":
            plan.approval_date = dt.date(2016, 11, 30)
            plan.expected_commitments = 7
        db.session.add(plan)
        db.session.flush()
        _publish_plan(plan, ctx, commit=commit)
        created += 1
        ctx.log(f"  {tenant.slug}: plan de capacitación «{plan.title}»")
    return created


# --------------------------------------------------------------------------- demo plans
DEMO_TITLE = "Plan de Acción Local de Gobierno Abierto (ejemplo)"
#: Invented commitments of the demo plan: (title, owner, axis, SDG targets, [(milestone, weight, start offset
#: in months, duration in months)]). Offsets count from the plan's start.
DEMO_COMMITMENTS: list[dict[str, Any]] = [
    {"title": "Datos abiertos de las contrataciones públicas estatales", "owner": "Secretaría de Finanzas (ejemplo)",
     "axis": "Seguimiento de recursos públicos en el ámbito local", "sdg": ["16.5", "16.6"],
     "problem": "La información de las contrataciones estatales está dispersa y no se publica en formatos abiertos.",
     "objective": "Publicar cada mes las contrataciones del estado en el Estándar de Datos para las Contrataciones Abiertas.",
     "indicator": "Procedimientos de contratación publicados en formato abierto", "baseline": "0", "target": "100",
     "unit": "% de los procedimientos",
     "milestones": [("Diagnóstico de los sistemas de compras", 20, 0, 2), ("Mesa de cocreación con sociedad civil", 20, 2, 1),
                    ("Publicación del primer conjunto de datos", 30, 3, 3), ("Tablero público de seguimiento", 30, 6, 5)]},
    {"title": "Contraloría social en la obra pública municipal", "owner": "Secretaría de Contraloría (ejemplo)",
     "axis": "Fortalecimiento de los sistemas locales anticorrupción", "sdg": ["11.3", "16.7"],
     "problem": "Las personas beneficiarias de la obra pública no cuentan con herramientas para vigilarla.",
     "objective": "Instalar comités de contraloría social en las obras municipales de mayor monto.",
     "indicator": "Obras con comité de contraloría social instalado", "baseline": "5", "target": "40", "unit": "obras",
     "milestones": [("Capacitación a comités ciudadanos", 25, 0, 2), ("Instalación de comités en diez municipios", 40, 1, 4),
                    ("Informe público de hallazgos", 35, 5, 3)]},
    {"title": "Lenguaje ciudadano en trámites con riesgo de corrupción", "owner": "Secretaría Ejecutiva (ejemplo)",
     "axis": "Gobierno centrado en la ciudadanía", "sdg": ["16.6"],
     "problem": "Los requisitos de los trámites son confusos y favorecen a intermediarios.",
     "objective": "Reescribir en lenguaje ciudadano los diez trámites con más quejas.",
     "indicator": "Trámites reescritos en lenguaje ciudadano", "baseline": "0", "target": "10", "unit": "trámites",
     "milestones": [("Selección de trámites con ciudadanía", 30, 4, 2), ("Reescritura y pruebas de usuario", 40, 6, 3),
                    ("Publicación de las nuevas fichas", 30, 9, 2)]},
    {"title": "Presupuesto participativo con seguimiento ciudadano", "owner": "Ayuntamiento de la capital (ejemplo)",
     "axis": "Presupuesto abierto y participativo", "sdg": ["16.7", "11.3"],
     "problem": "Los proyectos elegidos por la ciudadanía no tienen seguimiento público.",
     "objective": "Publicar el avance físico y financiero de cada proyecto del presupuesto participativo.",
     "indicator": "Proyectos con avance publicado", "baseline": "0", "target": "100", "unit": "% de los proyectos",
     "milestones": [("Reglas de operación cocreadas", 25, 0, 3), ("Consulta y votación de proyectos", 25, 3, 2),
                    ("Micrositio de seguimiento", 50, 5, 6)]},
    {"title": "Agenda local 2030 y gobierno abierto", "owner": "Secretaría Ejecutiva (ejemplo)",
     "axis": "Agenda 2030 de Desarrollo Sostenible", "sdg": ["16.10", "17.17"],
     "problem": "Los compromisos de gobierno abierto no se vinculan con las metas de desarrollo sostenible.",
     "objective": "Vincular cada compromiso del plan con metas ODS y reportarlo en el informe anual.",
     "indicator": "Compromisos vinculados con metas ODS", "baseline": "0", "target": "5", "unit": "compromisos",
     "milestones": [("Taller de alineación con los ODS", 50, 1, 1), ("Informe anual de vinculación", 50, 10, 2)]},
]


def _month_start(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    return dt.date(day.year + index // 12, index % 12 + 1, 1)


def load_demo_plans(tenant, ctx, today: dt.date | None = None) -> int:
    """Create and publish one demo plan (``is_demo=True``) for a tenant with no published real
    plan. It starts on the first day of the month six months before ``today`` (tenant time
    zone), lasts the tenant's ``validity_months`` and has ``default_commitments`` commitments
    (up to five invented ones); statuses follow the dates: milestones that ended are completed,
    one ended milestone is left started so the overdue flag shows. Returns plans created."""
    if _find_plan(DEMO_TITLE) is not None:
        return 0
    today = today or prog.tenant_today(tenant)
    months = int(services.setting(tenant, "validity_months"))
    count = min(int(services.setting(tenant, "default_commitments")), len(DEMO_COMMITMENTS))
    start = _month_start(today, -6)
    plan = ActionPlan(number=_next_plan_number(), title=DEMO_TITLE, framework="inai_cocreation", is_demo=True,
                      summary="Plan inventado para mostrar cómo se da seguimiento a un plan de acción local. "
                              "No es un plan real de la entidad.",
                      axes=["Seguimiento de recursos públicos en el ámbito local", "Perspectiva de género",
                            "Fortalecimiento de los sistemas locales anticorrupción", "Agenda 2030 de Desarrollo Sostenible"],
                      approval_date=start - dt.timedelta(days=15), valid_from=start,
                      valid_until=prog.add_months(start, months), phase="implementation",
                      expected_commitments=int(services.setting(tenant, "default_commitments")),
                      source="Dato de ejemplo: contenido inventado, no proviene de una fuente pública.", notes="",
                      methodology_url="")
    for n, spec in enumerate(DEMO_COMMITMENTS[:count], start=1):
        c = Commitment(number=n, title=spec["title"], origin="co_created" if n % 2 else "proactive",
                       owner_institution=spec["owner"], axis=spec["axis"], sdg_goals=list(spec["sdg"]),
                       public_problem=spec["problem"], objective=spec["objective"], indicator=spec["indicator"],
                       baseline=spec["baseline"], target=spec["target"], unit=spec["unit"],
                       risks="Cambios de administración; falta de presupuesto (ejemplo).",
                       og_values=["access_to_information", "civic_participation"],
                       co_responsible_government=[f"Órgano garante: {tenant.transparency_authority_short}"],
                       co_responsible_civil_society=["Organización de la sociedad civil (ejemplo)"],
                       contact_name="Enlace de gobierno abierto (ejemplo)", start_date=start,
                       end_date=prog.add_months(start, months), is_demo=True, source=plan.source, notes="",
                       description="", external_id="", progress_status="not_started")
        for i, (title, weight, offset, duration) in enumerate(spec["milestones"], start=1):
            m_start = _month_start(start, offset)
            m_end = min(prog.add_months(m_start, duration), c.end_date)
            if m_end < today:
                status, value = "completed", 100.0
                if n == 2 and i == 2:  # left open on purpose: shows the overdue flag
                    status, value = "started", 60.0
            elif m_start <= today:
                status, value = "started", 50.0
            else:
                status, value = "not_started", 0.0
            c.milestones.append(Milestone(number=i, description=title, weight=float(weight), start_date=m_start,
                                          end_date=m_end, progress_status=status, progress=value,
                                          owner=spec["owner"], deliverable="Entregable de ejemplo",
                                          verification_means="Minuta de la sesión del STL (ejemplo)"))
        statuses = [m.progress_status for m in c.milestones]
        c.progress_status = ("completed" if all(s in prog.DONE for s in statuses)
                             else "not_started" if all(s == "not_started" for s in statuses) else "started")
        if c.progress_status == "started":
            c.reports.append(ProgressReport(period_start=start, period_end=today, reported_by="Enlace de gobierno abierto (ejemplo)",
                                            narrative="Reporte de avance de ejemplo: se concluyeron los primeros hitos "
                                                      "y se presentaron en sesión del Secretariado Técnico Local.",
                                            progress=None))
        plan.commitments.append(c)
    db.session.add(plan)
    db.session.flush()
    for c in plan.commitments:
        services.recompute(c)
        for r in c.reports:
            r.progress = c.progress
    _publish_plan(plan, ctx)
    ctx.log(f"  {tenant.slug}: plan de acción de ejemplo ({len(plan.commitments)} compromisos, dato de ejemplo)")
    return 1


def demo_data(tenant, ctx) -> None:
    """``demo_data`` hook body: real plans where they exist (Estado de México), a labelled demo
    plan otherwise (Hidalgo, Puebla), the training plans on a training tenant."""
    if tenant.training:
        load_training_plans(tenant, ctx)
        return
    real = [p for p in load_data()["plans"] if p.get("tenant") == tenant.slug]
    if real:
        load_real_plans(tenant, ctx)
    else:
        load_demo_plans(tenant, ctx)
