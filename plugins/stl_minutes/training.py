"""Training material and exercise of the STL-minutes plugin (training tenants and workshop
participants' workspaces; see docs/capacitacion.md).

* :func:`load_scenario` (``training_scenario`` hook and ``comun minutes load-training``): the
  Sinaloa STL sessions (:func:`plugins.stl_minutes.demo.load_training_sessions`, real facts from a
  public source, an example of published minutes) and the practice STL of the workshop's state
  (:func:`load_practice_body`): a published body with its members by sector, as the open call of
  step 2 of the local strategy would have formed it. Invented, ``is_demo=True``.
* :data:`INSTALLATION_TASK` (step 4, "Acta de instalación del Secretariado Técnico Local"): the
  participant records the installation session of the practice STL in the admin — attendance by
  sector with quorum, agenda, an agreement with a responsible and a due date — and takes the
  minutes through review and approval (in the first regular session) to their locked
  publication. :func:`check_installation` says what is done; :func:`solve_installation` does it.

Scenario records are published by nobody (``published_by_id`` NULL); the check never counts
them: it looks at installation sessions that are not scenario sessions, and at publications made
by the participant's accounts.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from flask_babel import gettext as _
from sqlalchemy import select

from comun_cms.toolkit import CheckItem, Participant, Publication, TrainingTask, db, participant_publications, publish

from . import services as svc
from .demo import load_training_sessions
from .models import Body, Member, Session

#: Label of invented training records (description and source of the practice body).
TRAINING_SOURCE = "Material de capacitación (dato de ejemplo)."

#: Members of the practice STL: (name, institution, post, sector, capacity). ``{secretariat}`` and
#: ``{guarantor}`` are filled from the tenant. Seven seats (three of government, three of civil
#: society, one of the transparency authority), an alternate of the second government seat and a
#: facilitator. Invented people.
PRACTICE_MEMBERS = (
    ("Laura Méndez Ruiz", "{secretariat}", "Secretaria Técnica", "government", "member"),
    ("Jorge Salas Pérez", "Secretaría de la Contraloría", "Director de Gobierno Abierto", "government", "member"),
    ("Marta Ríos Luna", "Secretaría de Finanzas", "Directora de Planeación", "government", "member"),
    ("Rosa Elena Campos", "Observatorio Ciudadano, A. C.", "Coordinadora", "civil_society", "member"),
    ("Tomás Aguilar Vega", "Colectivo Transparencia Local", "Representante", "civil_society", "member"),
    ("Carmen Villa Ortiz", "Red de Jóvenes por la Rendición de Cuentas", "Vocera", "civil_society", "member"),
    ("Patricia Lara Núñez", "{guarantor}", "Comisionada", "guarantor", "member"),
    ("Andrés Mora Gil", "Secretaría de la Contraloría", "Subdirector de Transparencia", "government", "alternate"),
    ("Sofía Beltrán Ochoa", "Universidad Pública del Estado", "Investigadora", "academia", "facilitator"),
)
#: Index in :data:`PRACTICE_MEMBERS` of the seat the alternate covers.
ALTERNATE_OF = {7: 1}


def practice_body_name(tenant) -> str:
    """Name of the practice STL of ``tenant``: "Secretariado Técnico Local de Gobierno Abierto
    del Estado de Ejemplo" (``tenant.state`` = "Estado de Ejemplo")."""
    state = tenant.state or tenant.slug
    of = "del" if state.lower().startswith("estado ") else "de"
    return f"Secretariado Técnico Local de Gobierno Abierto {of} {state}"


def practice_body(tenant) -> Body | None:
    """The practice STL of the current tenant (see :func:`practice_body_name`), or ``None``."""
    return db.session.scalar(select(Body).where(Body.name == practice_body_name(tenant)))


def load_practice_body(tenant, publisher: Callable[[Any], Any]) -> int:
    """Create and publish the practice STL with its members (:data:`PRACTICE_MEMBERS`), quorum
    rule "majority with at least one seat of every sector". Idempotent; never commits.

    Args:
        tenant: the current tenant (a training tenant or workspace).
        publisher: ``record -> Publication`` (the scenario publishes as nobody).

    Returns:
        1 when the body was created, 0 when it already existed.
    """
    if practice_body(tenant) is not None:
        return 0
    body = Body(kind="stl", name=practice_body_name(tenant), short_name="STL", quorum_rule="majority_all_sectors",
                description=("Órgano de práctica del taller de capacitación. Sus integrantes se eligieron mediante "
                             "la convocatoria abierta para conformar el Secretariado Técnico Local (paso 2 de la "
                             "estrategia local): representación equilibrada de gobierno, sociedad civil y órgano "
                             "garante, con una persona facilitadora. Ningún dato es real."),
                source=TRAINING_SOURCE, is_demo=True)
    fill = {"secretariat": tenant.secretariat or "Secretaría Ejecutiva del Sistema Anticorrupción",
            "guarantor": tenant.transparency_authority or "Órgano garante de transparencia"}
    for i, (name, institution, post, sector, capacity) in enumerate(PRACTICE_MEMBERS):
        body.members.append(Member(name=name, institution=institution.format(**fill), post=post, sector=sector,
                                   capacity=capacity, position=i, is_demo=True))
    db.session.add(body)
    db.session.flush()
    for alternate, seat in ALTERNATE_OF.items():
        body.members[alternate].alternate_for_id = body.members[seat].id
    db.session.flush()
    publisher(body)
    return 1


def load_scenario(tenant, ctx) -> int:
    """Load the plugin's training material into a training tenant or workspace: the Sinaloa STL
    sessions and the practice STL. Idempotent; never commits (flushes only).

    Args:
        tenant: a training tenant (the current tenant).
        ctx: :class:`comun_cms.toolkit.DemoContext`; records are published as ``ctx.user`` (``None``
            in the hook: published by nobody).

    Returns:
        Records created (sessions and bodies).

    Raises:
        ValueError: ``tenant`` is not a training tenant.
    """
    created = load_training_sessions(tenant, ctx, commit=False)
    created += load_practice_body(tenant, lambda record: ctx.publish(record, commit=False))
    db.session.flush()
    return created


# --------------------------------------------------------------------------- step 4: installation
def _scenario_session_ids() -> set[int]:
    """Ids of sessions published by nobody (the scenario's)."""
    return {int(r) for r in db.session.scalars(select(Publication.record_id).where(
        Publication.content_type == "stl_session", Publication.published_by_id.is_(None)))}


def installation_sessions() -> list[Session]:
    """Installation (``inaugural``) sessions of STL bodies in the current tenant that are not
    scenario sessions, newest first."""
    scenario = _scenario_session_ids()
    rows = db.session.scalars(select(Session).join(Body, Body.id == Session.body_id).where(
        Session.kind == "inaugural", Body.kind == "stl").order_by(Session.id.desc()))
    return [s for s in rows if s.id not in scenario]


def _quorum(s: Session):
    return svc.frozen_quorum(s) or svc.session_quorum(s)


def _installation_items(s: Session | None, published_ids: set[int]) -> list[CheckItem]:
    sectors = {a.sector for a in s.attendance} if s is not None else set()
    quorum = _quorum(s) if s is not None else None
    matters = [i for i in s.agenda_items if i.kind in ("informative", "deliberative")] if s is not None else []
    return [
        CheckItem(_("You recorded the installation session of the STL, with its date"),
                  s is not None and s.session_date is not None,
                  _("In Minutes, use “Record a session”: choose the practice STL, the kind “Inaugural session” "
                    "(no number) and the date of the session.")),
        CheckItem(_("The attendance shows members of government and of civil society"),
                  {"government", "civil_society"} <= sectors,
                  _("In “Attendance”, tick the members who attended (at least one of government and one of civil "
                    "society) and save the members present.")),
        CheckItem(_("The quorum was reached"), bool(quorum is not None and quorum.met),
                  _("Mark present the seats the body's quorum rule asks for (shown in the attendance box): in the "
                    "practice STL, more than half of the seats and at least one of each sector.")),
        CheckItem(_("The agenda has at least two items, one of them a matter of the session"),
                  s is not None and len(s.agenda_items) >= 2 and bool(matters),
                  _("In “Agenda”, add the standard items and at least one informative or deliberative item, such "
                    "as the formal installation of the STL.")),
        CheckItem(_("At least one agreement has a responsible and a due date"),
                  s is not None and any(a.owner and a.due_date for a in s.agreements),
                  _("In “Agreements”, add an agreement with its vote, the responsible and the due date.")),
        CheckItem(_("The minutes were approved in a later session"),
                  s is not None and s.approved_in_id is not None,
                  _("Send the minutes to review; record the first regular session of the same body (a later date, "
                    "not in the future) and then record the approval of these minutes in that session.")),
        CheckItem(_("You published the minutes: they are locked"),
                  s is not None and s.status == "published" and s.id in published_ids,
                  _("Once the approval is recorded, press “Publish minutes”.")),
    ]


def check_installation(participant: Participant) -> list[CheckItem]:
    """"Check my work" of step 4: the participant's best installation session (the one with
    most items done; newest on a tie) — recorded with its date, attendance of government and
    civil society, quorum met, agenda with at least two items (one a matter of the session),
    an agreement with a responsible and a due date, approval in a later session, minutes
    published by the participant. Reads only; call inside the workspace's tenant context.

    Returns:
        Seven :class:`~comun_cms.toolkit.CheckItem` (all not done when there is no such session).
    """
    published_ids = {int(p.record_id) for p in participant_publications(participant, "stl_session")}
    best: list[CheckItem] | None = None
    for s in installation_sessions():
        items = _installation_items(s, published_ids)
        if best is None or sum(i.done for i in items) > sum(i.done for i in best):
            best = items
    return best if best is not None else _installation_items(None, published_ids)


def solve_installation(participant: Participant) -> None:
    """Model answer of step 4, as ``participant.editor``: the installation session of the
    practice STL a month ago (continuing the participant's own one if there is one), standard
    agenda plus the installation item, every seat and the facilitator present, an agreement,
    review, the first regular session (created if no later held session exists), approval and
    publication. Flushes, never commits. Call inside the workspace's tenant context.

    Raises:
        ValueError: the participant has no editor account.
        plugins.stl_minutes.services.MinutesError: a rule of the minutes refused a step.
    """
    user = participant.editor
    if user is None:
        raise ValueError("the participant has no editor account to record the session with")
    tenant = participant.workspace
    today = svc.tenant_today(tenant)
    publisher = lambda record: publish(record, user=user, commit=False)  # noqa: E731
    body = practice_body(tenant)
    if body is None:
        load_practice_body(tenant, publisher)
        body = practice_body(tenant)
    elif body.status == "draft":
        publisher(body)
    mine = [s for s in installation_sessions() if s.body_id == body.id]
    s = mine[0] if mine else None
    if s is not None and s.status == "published":
        return
    if s is None:
        s = Session(body=body, kind="inaugural", number=None, is_demo=body.is_demo)
        db.session.add(s)
    if s.stage in ("review", "approved"):
        svc.return_to_draft(s)
    if s.session_date is None or s.session_date >= today:
        s.session_date = today - dt.timedelta(days=30)
        s.starts_at = svc.local_to_utc(tenant, s.session_date, dt.time(10, 0))
        s.ends_at = svc.local_to_utc(tenant, s.session_date, dt.time(12, 0))
        s.modality = s.modality or "in_person"
        s.place = s.place or "Sala de juntas de la Secretaría Ejecutiva"
        s.summary = s.summary or "Instalación formal del Secretariado Técnico Local de Gobierno Abierto."
    db.session.flush()
    svc.add_standard_agenda(s)
    if not any(i.kind in ("informative", "deliberative") for i in s.agenda_items):
        svc.add_agenda_item(s, "deliberative", "Instalación formal del Secretariado Técnico Local")
        svc.add_agenda_item(s, "deliberative", "Aprobación de los lineamientos de operación del STL")
    present = {a.member_id for a in s.attendance if a.member_id is not None}
    present |= {m.id for m in body.members if m.capacity in ("member", "facilitator") and m.in_term(s.session_date)}
    svc.set_member_attendance(s, present)
    if not any(a.owner and a.due_date for a in s.agreements):
        svc.add_agreement(tenant, s, text="Publicar los lineamientos de operación del STL en el sitio de gobierno "
                                          "abierto.", vote="unanimous", owner="Secretaría técnica del STL",
                          due_date=s.session_date + dt.timedelta(days=45))
    svc.submit_for_review(s)
    candidates = svc.approving_candidates(s, today)
    if candidates:
        approving = candidates[0]
    else:
        approving = Session(body=body, kind="regular", number=svc.suggest_number(body.id, "regular"),
                            session_date=min(s.session_date + dt.timedelta(days=14), today), modality="in_person",
                            place=s.place, is_demo=body.is_demo)
        db.session.add(approving)
        db.session.flush()
        svc.add_standard_agenda(approving)
    svc.approve(s, approving, today=today)
    svc.publish_minutes(tenant, s, user=user)
    db.session.flush()


INSTALLATION_TASK = TrainingTask(
    step=4,
    key="stl_minutes.installation",
    title="Acta de instalación del Secretariado Técnico Local",
    goals=(
        "Registrar en el sitio de práctica la sesión de instalación del Secretariado Técnico Local (STL).",
        "Dejar constancia de quién asistió, por sector (gobierno, sociedad civil y órgano garante), y de que "
        "hubo quórum.",
        "Registrar el orden del día y al menos un acuerdo con su responsable y su fecha límite.",
        "Llevar el acta por su ciclo completo —borrador, revisión, aprobación en la sesión siguiente— hasta "
        "publicarla: ya publicada queda bloqueada y solo admite adendas.",
    ),
    steps=(
        "Entre a Administración → Minutas. El órgano «Secretariado Técnico Local de Gobierno Abierto» del estado "
        "de práctica ya está publicado con sus integrantes por sector (los eligió la convocatoria del paso 2). "
        "Como ejemplo, consulte el acta publicada de la Octava Sesión Ordinaria del STL de Sinaloa.",
        "Pulse «Registrar una sesión»: elija ese órgano, el tipo «Sesión de instalación» (sin número), la fecha "
        "(hace unas semanas; no la ponga en el futuro), el horario, la modalidad y el lugar. Guarde el borrador.",
        "En «Orden del día» pulse «Agregar los puntos estándar» y agregue un punto deliberativo, por ejemplo "
        "«Instalación formal del Secretariado Técnico Local».",
        "En «Asistencia» marque a las personas integrantes que asistieron y pulse «Guardar integrantes "
        "presentes». Para que haya quórum deben asistir más de la mitad de los asientos y al menos uno de cada "
        "sector; el recuadro de quórum le dice si se alcanzó.",
        "En «Acuerdos» agregue al menos un acuerdo con su votación, responsable y fecha límite (por ejemplo, "
        "«Publicar los lineamientos de operación del STL»).",
        "En «Ciclo de vida» pulse «Enviar a revisión».",
        "El acta se aprueba en la sesión siguiente: registre la Primera Sesión Ordinaria del mismo órgano "
        "(tipo «Sesión ordinaria», número 1) con una fecha posterior a la instalación que no sea futura.",
        "Vuelva a la sesión de instalación; en «Ciclo de vida» elija la Primera Sesión Ordinaria, pulse "
        "«Registrar aprobación» y después «Publicar minuta». Revise la página pública del acta.",
        "Abra «Revisar mi trabajo» de este ejercicio.",
    ),
    check=check_installation,
    solve=solve_installation,
    start_endpoint="admin_stl_minutes.index",
)


def tasks() -> list[TrainingTask]:
    """The plugin's training tasks (``training_tasks`` hook)."""
    return [INSTALLATION_TASK]
