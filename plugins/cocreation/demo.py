"""Demo data of the co-creation plugin (``comun demo``): for Estado de México, a process of the
Plan de Acción Local 2021 whose timeline links step 4 to the STL's installation minutes and step
11 to the INFOEM plan (real records loaded by the other plugins, found through the content-type
registry), and the co-creation story of the INFOEM commitment:

* the open call (step 7) with its real dates (published 20 January 2022, registration from 20
  January to 4 February 2022) and the 13 participants by sector the INFOEM reported (names
  invented: "Persona participante N (dato de ejemplo)");
* the awareness workshop (step 8) of 18 February 2022, 18:00, online: "Introducción al gobierno
  abierto para miembros del grupo de trabajo colaborativo";
* the table (steps 9–10) "Mesas para el desarrollo de la metodología" (milestone 1.4 of the
  INFOEM commitment, 28 February to 25 March 2022) with its first and last sessions (real dates,
  example times) and a LOCKED results minute whose proposals are the four "propuestas
  relevantes" the INFOEM published; the minute itself is invented (``is_demo``);
* the proposal "Verificar el cumplimiento de las obligaciones de transparencia de los
  municipios" linked to the real INFOEM commitment, whose public page then shows its origin
  chain (consultation problem → tree → table → proposal → commitment).

What is invented (the process record, the open consultation dates, the problems, the tree, the
results minute, the participants' names) is ``is_demo=True`` or says "dato de ejemplo", and the
pages show "Dato de ejemplo". Loading is deterministic and idempotent.

Sources: shared data ``action_plans.json`` (edomex PAL 2021, INFOEM commitment, milestones) and
``documents/edomex-pal-2021-avances-infoem.txt``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from comun_cms.toolkit import content_types, db

from . import minutes as minutes_svc
from . import services as svc
from .models import (
    Call, CocreationTable, Problem, Process, ProcessStep, Proposal, Registration, ResultsMinute, TableSession, Tree,
    Workshop,
)

DEMO_TITLE = "Cocreación del Plan de Acción Local de Gobierno Abierto 2021"
SOURCE_NOTE = "Fuente: Avances del PAL 2021, compromiso proactivo del INFOEM (documento edomex-pal-2021-avances-infoem)."

#: (step, starts, ends, note, lookups): real facts of the INFOEM commitment; ``lookups`` are
#: ``(content type, {column: value})`` alternatives, the first published match is linked. Steps
#: 7 to 10 link the plugin's own call, workshop, table and minute (the timeline does it).
#: Step 4: the installation minutes when the platform holds them, else the STL's own page with
#: every published minute (the real edomex data has sessions 3, 11 and 19, not the installation).
REAL_STEPS = (
    (4, None, None, "Acta de la sesión de instalación del Secretariado Técnico Local (o, mientras no se cargue, "
     "la página del Secretariado con sus actas publicadas).",
     (("stl_session", {"kind": "inaugural"}), ("stl_body", {}))),
    (7, dt.date(2022, 1, 20), dt.date(2022, 2, 4),
     "Convocatoria pública del INFOEM para participar en el diseño del estudio sobre apertura gubernamental; "
     "recepción de postulaciones y propuestas. " + SOURCE_NOTE, None),
    (8, dt.date(2022, 2, 18), dt.date(2022, 2, 18),
     "Primera reunión con participantes: introducción al gobierno abierto para el grupo de trabajo colaborativo. "
     + SOURCE_NOTE, None),
    (9, dt.date(2022, 2, 28), dt.date(2022, 3, 25),
     "Mesas para el desarrollo de la metodología: normatividad y mecanismos de participación; transparencia, "
     "rendición de cuentas y TIC (hito 1.4 del compromiso del INFOEM). " + SOURCE_NOTE, None),
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
    """``demo_data`` for ``edomex`` (other tenants: nothing): the process, its problems and
    tree, then the co-creation story of the INFOEM commitment (:func:`load_story`). Idempotent.
    Returns how many records were created."""
    if tenant.slug != "edomex":
        return 0
    existing = _existing()
    if existing is not None:
        return load_story(db.session.get(Process, existing), tenant, ctx)
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
    return created + 1 + load_story(process, tenant, ctx)


# --------------------------------------------------------------------------- the INFOEM story (steps 7-10)
CALL_TITLE = ("Convocatoria pública para participar en el diseño e implementación de un estudio sobre Apertura "
              "Gubernamental en los municipios del Estado de México")
CALL_BODY = (
    "El Instituto de Transparencia, Acceso a la Información Pública y Protección de Datos Personales del Estado de "
    "México y Municipios (INFOEM) convocó a participar en el diseño e implementación de un estudio sobre apertura "
    "gubernamental en los municipios, como parte de su compromiso proactivo del Plan de Acción Local de Gobierno "
    "Abierto 2021.\n\n"
    "* Publicación de la convocatoria: 20 de enero de 2022.\n"
    "* Recepción de postulaciones y propuestas: del 20 de enero al 4 de febrero de 2022.\n"
    "* Participantes: 13 (2 personas servidoras públicas municipales, 1 de la academia, 5 de la sociedad civil, "
    "1 del sector empresarial y 4 ciudadanas).\n\n" + SOURCE_NOTE)
WORKSHOP_TITLE = "Introducción al gobierno abierto para miembros del grupo de trabajo colaborativo"
TABLE_TITLE = "Mesas para el desarrollo de la metodología"
TABLE_DESCRIPTION = (
    "Mesas de trabajo del compromiso proactivo del INFOEM (hito 1.4), del 28 de febrero al 25 de marzo de 2022, "
    "enfocadas en: normatividad y mecanismos de participación; transparencia, rendición de cuentas y TIC. "
    "Fecha estimada para contar con la herramienta: 26 de marzo de 2022. " + SOURCE_NOTE)
#: The 13 participants the INFOEM reported, by sector (real counts, invented names).
PARTICIPANTS = (("gobierno", 2), ("academia", 1), ("sociedad_civil", 5), ("sector_privado", 1), ("ciudadania", 4))
INFOEM = ("Instituto de Transparencia, Acceso a la Información Pública y Protección de Datos Personales del Estado "
          "de México y Municipios (INFOEM)")
#: The four "propuestas relevantes" the INFOEM published (real text) and the demo problem (index
#: in :data:`DEMO_PROBLEMS`) each answers in the example minute. The last one becomes the link to
#: the INFOEM commitment.
PROPOSALS = (
    ("Considerar la variable de desarrollo social y económico municipal/regional como indicador secundario del "
     "tipo de municipios con los que cuenta el Estado de México.", 0),
    ("Monitorear el uso que dan los gobiernos municipales a las Tecnologías de la Información y Comunicación como "
     "herramientas de empoderamiento ciudadano y canales de interacción entre sociedad y autoridades (atención "
     "ciudadana).", 2),
    ("Identificar los marcos normativos estatales y municipales que favorecen o alientan esquemas de participación "
     "ciudadana, control y vigilancia social (COPACI, COCICOVI, presupuestos participativos, denuncia ciudadana).", 1),
    ("Verificar el cumplimiento de las obligaciones de transparencia de los municipios.", 0),
)
MINUTE_SUMMARY = (
    "**Dato de ejemplo.** Minuta de resultados armada para la demostración: sus propuestas son las «propuestas "
    "relevantes» que el INFOEM publicó en los avances de su compromiso; la fecha de la sesión, la redacción y la "
    "relación con los problemas de la consulta son de ejemplo. " + SOURCE_NOTE)


def _local(day: dt.date, hour: int, tenant) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=tenant.tz).astimezone(dt.timezone.utc)


def load_story(process: Process, tenant, ctx) -> int:
    """The co-creation story of the INFOEM commitment on the demo ``process`` (see the module
    docstring): call, workshop, table with its sessions and participants, locked results minute,
    and the proposal linked to the INFOEM commitment when the action-plans demo loaded it.
    Idempotent (nothing when the table exists). Returns how many records were created."""
    if db.session.scalar(select(CocreationTable.id).where(CocreationTable.process_id == process.id,
                                                          CocreationTable.title == TABLE_TITLE)) is not None:
        return 0
    problems = list(db.session.scalars(select(Problem).where(Problem.process_id == process.id, Problem.is_demo.is_(True))
                                       .order_by(Problem.id)))
    call = Call(process_id=process.id, title=CALL_TITLE, body=CALL_BODY, registration_opens=dt.date(2022, 1, 20),
                registration_closes=dt.date(2022, 2, 4))
    starts = _local(dt.date(2022, 2, 18), 18, tenant)
    workshop = Workshop(process_id=process.id, title=WORKSHOP_TITLE, place="En línea (Zoom)",
                        description="Primera reunión con participantes del compromiso proactivo del INFOEM: "
                                    "introducción al gobierno abierto, 18 de febrero de 2022, 18:00 horas. "
                                    "La hora de término es un dato de ejemplo. " + SOURCE_NOTE,
                        starts_at=starts, ends_at=starts + dt.timedelta(hours=2))
    table = CocreationTable(process_id=process.id, title=TABLE_TITLE, theme=problems[0].theme,
                            description=TABLE_DESCRIPTION)
    db.session.add_all([call, workshop, table])
    db.session.flush()
    table.problems = list(problems)
    for day, note in ((dt.date(2022, 2, 28), "Arranque de los trabajos de las mesas (fecha real; hora: dato de ejemplo)."),
                      (dt.date(2022, 3, 25), "Cierre de los trabajos de las mesas (fecha real; hora: dato de ejemplo).")):
        start = _local(day, 10, tenant)
        table.sessions.append(TableSession(starts_at=start, ends_at=start + dt.timedelta(hours=2), note=note))
    number = 0
    for sector, count in PARTICIPANTS:
        for _i in range(count):
            number += 1
            table.registrations.append(Registration(   # entered by the staff: no consent record of the call
                name=f"Persona participante {number} (dato de ejemplo)",
                email=f"participante-{number:02d}@ejemplo.invalid", sector=sector, source="admin"))
    db.session.flush()
    for record in (call, workshop, table):
        ctx.publish(record)
    minute = ResultsMinute(table_id=table.id, held_on=dt.date(2022, 3, 25), summary=MINUTE_SUMMARY, is_demo=True)
    minute.table = table
    db.session.add(minute)
    for seq, (title, problem_index) in enumerate(PROPOSALS, start=1):
        minute.proposals.append(Proposal(seq=seq, title=title, problem_id=problems[problem_index].id,
                                         responsible_institution=INFOEM))
    db.session.flush()
    minutes_svc.approve_minute(minute, now=_local(dt.date(2022, 3, 25), 12, tenant))
    minutes_svc.LIFECYCLE.lock(minute, publisher=ctx.publish)
    linked = _link_commitment(minute.proposals[-1])
    ctx.log(f"  {tenant.slug}: co-creation call, workshop, table “{TABLE_TITLE}” with 13 participants and a locked "
            f"results minute (Dato de ejemplo){'; proposal 4 linked to the INFOEM commitment' if linked else ''}")
    return 3 + 1 + 13 + 2 + 1 + len(PROPOSALS)


def _link_commitment(proposal: Proposal) -> bool:
    """Link ``proposal`` to the published INFOEM commitment "Estudio sobre Apertura Gubernamental
    en los municipios del Estado de México" (found through the registry). ``False`` when the
    action-plans demo is not loaded."""
    found = svc.find_record("commitment", title_contains="Apertura Gubernamental")
    if found is None:
        return False
    commitment = db.session.get(content_types().get("commitment").model, found[1])
    # the demo links an existing commitment: "converted" when that record was created (the origin
    # chain only trusts commitments created no later than the conversion)
    proposal.commitment_id, proposal.converted_at = commitment.id, commitment.created_at
    db.session.flush()
    return True


def _existing():
    return db.session.scalar(select(Process.id).where(Process.title == DEMO_TITLE))
