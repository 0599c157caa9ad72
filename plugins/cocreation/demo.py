"""Demo data of the co-creation plugin (``comun demo``): for Estado de México, a process of the
Plan de Acción Local 2021 whose timeline links step 4 to the STL's installation minutes and
steps 7, 9 and 11 to the INFOEM commitment and its plan (real records loaded by the other
plugins, found through the content-type registry), with the real dates of the INFOEM call and
of its "mesas para el desarrollo de la metodología" (milestone 1.4). What is invented (the
process record, the open consultation dates, the problems and the tree) is ``is_demo=True`` and
shows "Dato de ejemplo".

Sources: shared data ``action_plans.json`` (edomex PAL 2021, INFOEM commitment, milestones) and
``documents/edomex-pal-2021-avances-infoem.txt``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from comun_cms.toolkit import db

from . import services as svc
from .models import Problem, Process, ProcessStep, Tree
from .tables import load_demo_table

DEMO_TITLE = "Cocreación del Plan de Acción Local de Gobierno Abierto 2021"
SOURCE_NOTE = "Fuente: Avances del PAL 2021, compromiso proactivo del INFOEM (documento edomex-pal-2021-avances-infoem)."

#: (step, starts, ends, note, lookups): real facts of the INFOEM commitment; ``lookups`` are
#: ``(content type, {column: value})`` alternatives, the first published match is linked.
#: Step 4: the installation minutes when the platform holds them, else the STL's own page with
#: every published minute (the real edomex data has sessions 3, 11 and 19, not the installation).
REAL_STEPS = (
    (4, None, None, "Acta de la sesión de instalación del Secretariado Técnico Local (o, mientras no se cargue, "
     "la página del Secretariado con sus actas publicadas).",
     (("stl_session", {"kind": "inaugural"}), ("stl_body", {}))),
    (7, dt.date(2022, 1, 20), dt.date(2022, 2, 4),
     "Convocatoria pública del INFOEM para participar en el diseño del estudio sobre apertura gubernamental; "
     "recepción de postulaciones y propuestas. " + SOURCE_NOTE,
     (("commitment", {"title_contains": "Apertura Gubernamental"}),)),
    (8, dt.date(2022, 2, 18), dt.date(2022, 2, 18),
     "Primera reunión con participantes: introducción al gobierno abierto para el grupo de trabajo colaborativo. "
     + SOURCE_NOTE, None),
    (9, dt.date(2022, 2, 28), dt.date(2022, 3, 25),
     "Mesas para el desarrollo de la metodología: normatividad y mecanismos de participación; transparencia, "
     "rendición de cuentas y TIC (hito 1.4 del compromiso del INFOEM). " + SOURCE_NOTE,
     (("commitment", {"title_contains": "Apertura Gubernamental"}),)),
    (11, None, None, "Plan de Acción Local 2021 con el compromiso proactivo del INFOEM.",
     (("action_plan", {"title_contains": "INFOEM"}),)),
)

DEMO_PROBLEMS = (
    ("Los municipios no publican a tiempo sus obligaciones de transparencia",
     "En varios portales municipales la información de obras y contratos está desactualizada.",
     "Transparencia y acceso a la información", "Toluca"),
    ("Pocas personas conocen los mecanismos de participación ciudadana municipal",
     "Los COPACI y las contralorías sociales no se difunden y casi nadie sabe cómo integrarse.",
     "Participación ciudadana", "Metepec"),
    ("Falta seguimiento público a las denuncias ciudadanas",
     "Quien presenta una denuncia no puede consultar en qué etapa está ni qué se resolvió.",
     "Rendición de cuentas", "Naucalpan de Juárez"),
)


def load_demo(tenant, ctx, today: dt.date | None = None) -> int:
    """``demo_data`` for ``edomex`` (other tenants: nothing). Idempotent. Returns how many
    records were created."""
    if tenant.slug != "edomex":
        return 0
    if _existing() is not None:
        return 0
    today = today or svc.tenant_today(tenant)
    process = Process(title=DEMO_TITLE, cycle="Plan de Acción Local 2021", is_demo=True,
                      summary="Ejercicio de cocreación que integra la consulta, los árboles y las mesas que dieron "
                              "origen al compromiso del INFOEM. La consulta abierta y sus problemas son datos de ejemplo.",
                      consultation_opens=today - dt.timedelta(days=7), consultation_closes=today + dt.timedelta(days=30))
    svc.ensure_steps(process)
    steps = {s.number: s for s in process.steps}
    steps[5].note, steps[5].is_demo = "Consulta en línea y en papel (fechas de ejemplo).", True
    steps[5].starts, steps[5].ends = process.consultation_opens, process.consultation_closes
    for number, starts, ends, note, lookups in REAL_STEPS:
        step: ProcessStep = steps[number]
        step.starts, step.ends, step.note = starts, ends, note
        found = next((hit for kind, where in lookups or () if (hit := svc.find_record(kind, **dict(where)))), None)
        if found:
            step.link_type, step.link_id = found
        elif lookups:
            ctx.log(f"  {tenant.slug}: cocreation step {number}: nothing published to link yet")
    db.session.add(process)
    db.session.flush()
    ctx.publish(process)
    created = 1
    first = None
    for title, description, theme, municipality in DEMO_PROBLEMS:
        problem = Problem(process_id=process.id, title=title, description=description, theme=theme,
                          municipality=municipality, moderation="published", is_demo=True)
        db.session.add(problem)
        db.session.flush()
        ctx.publish(problem)
        first = first or problem
        created += 1
    tree = Tree(problem_id=first.id, kind="problem", core=first.title, is_demo=True,
                roots="- Falta de personal capacitado en las unidades de transparencia\n"
                      "  - Rotación del personal al cambiar la administración\n"
                      "- Portales sin procedimientos de actualización",
                branches="- La ciudadanía no puede vigilar obras y contratos\n"
                         "  - Menor confianza en el gobierno municipal")
    db.session.add(tree)
    db.session.flush()
    ctx.publish(tree)
    ctx.log(f"  {tenant.slug}: co-creation process “{DEMO_TITLE}” with 3 problems and a tree (Dato de ejemplo)")
    created += load_demo_table(tenant, ctx, process, today)
    return created + 1


def _existing():
    return db.session.scalar(select(Process.id).where(Process.title == DEMO_TITLE))
