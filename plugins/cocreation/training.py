"""Training material and exercises of the co-creation plugin: steps 5 to 10 of the local
open-government strategy (hooks ``training_scenario`` and ``training_tasks``; see
docs/capacitacion.md and :class:`comun_cms.toolkit.TrainingTask`).

* :func:`load_scenario`: the practice co-creation process of the training tenant or workspace
  ("Cocreación del Plan de Acción Local del Estado de Ejemplo"), published, with its consultation
  open: three published problems, two pending ones (one to publish, one a duplicate to merge) and
  a published practice table with a session, which the open call of step 7 offers. Everything is
  invented (``is_demo=True``, "Dato de ejemplo") and published by nobody, so no check counts it.
* Tasks, one per step (:func:`tasks`):

  - 5 (:data:`MODERATE_TASK`): publish a pending problem and merge the duplicate;
  - 6 (:data:`TREE_TASK`): publish a problem tree (causes with a deeper cause, effects);
  - 7 (:data:`CALL_TASK`): publish the open call with its registration dates and register a
    participant to a table;
  - 8 (:data:`WORKSHOP_TASK`): publish an awareness workshop with its date, place or link and a
    material;
  - 9 (:data:`TABLE_TASK`): publish a co-creation table that takes up a problem, with a session;
  - 10 (:data:`RESULTS_TASK`): lock a results minute with its proposals and convert a proposal
    into a commitment ("Convertir en compromiso").

  Each ``check`` reads the participant's workspace (the current tenant): what the participant's
  accounts published (:func:`~comun_cms.toolkit.participant_publications`) or did in the admin
  (audit events), never the scenario. Each ``solve`` is the model answer, done as
  ``participant.editor`` with ``commit=False``.

Names of the interface are quoted through the same message ids the admin templates use
(:func:`ui`), so the exercise shows them exactly as the screen does, in the user's language; the
tests render the admin pages and look for each quoted name.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from flask_babel import LazyString, gettext as _, lazy_gettext as _l
from sqlalchemy import delete, insert, select

from comun_cms.toolkit import (
    AuditEvent, CheckItem, Participant, TrainingTask, correct, db, participant_publications, publish, record_audit,
    utcnow,
)

from . import call as call_svc
from . import minutes as minutes_svc
from . import origin
from . import services as svc
from . import tables as tables_svc
from . import workshops as workshops_svc
from .models import (
    SECTORS, Call, CocreationTable, Problem, Process, Proposal, Registration, ResultsMinute, TableSession, Tree,
    Workshop, WorkshopMaterial, table_problems,
)

#: Label of every invented training record.
TRAINING_NOTE = "Material de capacitación (dato de ejemplo)."

#: Problems of the practice consultation: (key, title, description, theme index, municipality,
#: moderation). ``to_publish`` waits for the participant (step 5); ``duplicate`` repeats ``works``.
SCENARIO_PROBLEMS = (
    ("works", "Las obras públicas municipales no informan su avance",
     "Las obras de pavimentación llevan meses detenidas y en el sitio del municipio no hay avance, monto ni "
     "empresa contratista.", 2, "Capital del Estado de Ejemplo", "published"),
    ("permits", "Los trámites de licencias de construcción son lentos y poco claros",
     "Nadie sabe qué requisitos se piden ni en qué etapa está la solicitud; se piden pagos informales.",
     3, "Ciudad Norte", "published"),
    ("committees", "Los comités de contraloría social no reciben capacitación",
     "Los comités ciudadanos de obra se integran pero nadie les explica qué pueden revisar.",
     1, "Villa del Sur", "published"),
    ("to_publish", "No se publican los contratos de recolección de basura",
     "El servicio de limpia está concesionado y el contrato no aparece en el portal de transparencia.",
     5, "Capital del Estado de Ejemplo", "pending"),
    ("duplicate", "Las obras de mi colonia no dicen cuánto cuestan ni cuándo terminan",
     "En la calle principal hay una obra sin letrero; no sabemos quién la hace ni cuánto cuesta.",
     2, "Capital del Estado de Ejemplo", "pending"),
)
#: The practice table the open call offers (step 7): title, theme index, place.
SCENARIO_TABLE = ("Mesa de práctica: obra pública y contraloría social", 2, "Sala de juntas de la Secretaría Ejecutiva")


def _of(state: str) -> str:
    return "del" if state.lower().startswith("estado ") else "de"


def scenario_title(tenant) -> str:
    """Title of the practice process of ``tenant``: "Cocreación del Plan de Acción Local del
    Estado de Ejemplo" (``tenant.state`` = "Estado de Ejemplo")."""
    state = tenant.state or tenant.slug
    return f"Cocreación del Plan de Acción Local {_of(state)} {state}"


def practice_process(tenant) -> Process | None:
    """The practice process of the current tenant (see :func:`scenario_title`), or ``None``."""
    return db.session.scalar(select(Process).where(Process.title == scenario_title(tenant)))


def load_scenario(tenant, ctx) -> int:
    """Load the practice process into a training tenant or workspace: the process with its
    consultation open (from 14 days ago to a year from now, tenant's dates), the problems of
    :data:`SCENARIO_PROBLEMS` and the practice table (:data:`SCENARIO_TABLE`) with a session
    in three weeks. Idempotent; flushes, never commits; published as ``ctx.user`` (``None`` in
    the hook: nobody).

    Args:
        tenant: the current tenant, a training tenant or workspace.
        ctx: :class:`comun_cms.toolkit.DemoContext`.

    Returns:
        Records created (process, problems and table), 0 when the process exists.

    Raises:
        ValueError: ``tenant`` is not a training tenant.
    """
    if not tenant.training:
        raise ValueError(f"tenant '{tenant.slug}' is not a training tenant")
    if practice_process(tenant) is not None:
        return 0
    today = svc.tenant_today(tenant)
    themes = svc.themes(tenant)
    process = Process(title=scenario_title(tenant), cycle="Plan de Acción Local 2027–2028", is_demo=True,
                      summary="Proceso de práctica del taller: consulta abierta, árboles, convocatoria, talleres y "
                              "mesas de cocreación. " + TRAINING_NOTE,
                      consultation_opens=today - dt.timedelta(days=14),
                      consultation_closes=today + dt.timedelta(days=365))
    svc.ensure_steps(process)
    db.session.add(process)
    db.session.flush()
    ctx.publish(process, commit=False)
    created = 1
    by_key: dict[str, Problem] = {}
    for key, title, description, theme, municipality, moderation in SCENARIO_PROBLEMS:
        problem = Problem(process_id=process.id, title=title, description=description,
                          theme=themes[min(theme, len(themes) - 1)], municipality=municipality,
                          source="paper" if key == "to_publish" else "online", is_demo=True)
        db.session.add(problem)
        db.session.flush()
        if moderation == "published":
            problem.moderation, problem.moderated_at = "published", utcnow()
            ctx.publish(problem, commit=False)
        by_key[key] = problem
        created += 1
    title, theme, place = SCENARIO_TABLE
    table = CocreationTable(process_id=process.id, title=title, theme=themes[min(theme, len(themes) - 1)],
                            description="Mesa de práctica que ofrece la convocatoria del ejercicio 7. " + TRAINING_NOTE,
                            place=place, capacity=25, is_demo=True)
    db.session.add(table)
    db.session.flush()
    table.problems = [by_key["works"], by_key["committees"]]
    starts = dt.datetime.combine(today + dt.timedelta(days=21), dt.time(10, 0), tzinfo=tenant.tz)
    table.sessions.append(TableSession(starts_at=starts.astimezone(dt.timezone.utc),
                                       ends_at=(starts + dt.timedelta(hours=2)).astimezone(dt.timezone.utc),
                                       place=place, note=TRAINING_NOTE))
    db.session.flush()
    ctx.publish(table, commit=False)
    db.session.flush()
    return created + 1


def reset_links(tenant, phase: str) -> None:
    """``tenant_reset`` of a training tenant or workspace. The association ``cc_table_problems``
    has no ``tenant_id``, so the core's scenario snapshot does not hold it: ``"before"`` the
    tenant's rows are deleted, drop the links of its tables (they would outlive them where the
    database does not cascade); ``"after"`` the scenario is back, link the practice table to its
    scenario problems again (:data:`SCENARIO_TABLE`). Adds to the session, never commits."""
    if phase == "before":
        ids = select(CocreationTable.id).where(CocreationTable.tenant_id == tenant.slug)
        db.session.execute(delete(table_problems).where(table_problems.c.table_id.in_(ids)))
        return
    if phase != "after":
        return
    process = practice_process(tenant)
    if process is None:
        return
    table = db.session.scalar(select(CocreationTable).where(CocreationTable.process_id == process.id,
                                                            CocreationTable.title == SCENARIO_TABLE[0]))
    titles = [title for key, title, *_rest in SCENARIO_PROBLEMS if key in ("works", "committees")]
    problem_ids = db.session.scalars(select(Problem.id).where(Problem.process_id == process.id,
                                                              Problem.title.in_(titles)).order_by(Problem.id)).all()
    if table is None or not problem_ids:
        return
    have = set(db.session.scalars(select(table_problems.c.problem_id).where(table_problems.c.table_id == table.id)))
    rows = [{"table_id": table.id, "problem_id": pid} for pid in problem_ids if pid not in have]
    if rows:
        db.session.execute(insert(table_problems), rows)
    db.session.expire(table)


# --------------------------------------------------------------------------- quoting the interface
def ui(template: str, **labels) -> LazyString:
    """Exercise text quoting the interface: ``template`` (Spanish, *usted*) whose ``{name}``
    fields are filled, when shown, with the labels the admin templates use (lazy message ids,
    e.g. ``_l("Publish tree")``), in the user's language. Returns a lazy string."""
    return LazyString(lambda: template.format(**{k: str(v) for k, v in labels.items()}))


#: Every interface name the exercises quote (the message ids of the admin templates and menus).
UI = {
    "admin": _l("Administration"), "cocreation": _l("Co-creation"), "moderate": _l("Moderate problems"),
    "publish": _l("Publish"), "published": _l("Published"), "duplicate_of": _l("Duplicate of"), "merge": _l("Merge"),
    "trees": _l("Problem and solution trees"), "problem_tree": _l("Problem tree"),
    "core": _l("Central problem or objective"), "roots": _l("Causes (problem tree) or means (solution tree)"),
    "branches": _l("Effects (problem tree) or ends (solution tree)"), "publish_tree": _l("Publish tree"),
    "call_page": _l("Open call and registrations"), "call_tables": _l("Co-creation tables and their registrations"),
    "save": _l("Save"), "publish_call": _l("Publish call"), "registration_opens": _l("Registration opens"),
    "registration_closes": _l("Registration closes"), "add_by_hand": _l("Add a participant by hand"),
    "add_participant": _l("Add participant"), "workshops": _l("Awareness workshops"),
    "new_workshop": _l("New workshop"), "add_material": _l("Add material"), "publish_workshop": _l("Publish workshop"),
    "tables": _l("Tables of the process"), "create_table": _l("Create table"), "add_session": _l("Add session"),
    "publish_table": _l("Publish table"), "results_minute": _l("Results minute"), "save_minute": _l("Save minute"),
    "add_proposal": _l("Add proposal"), "approve_minute": _l("Approve minute"),
    "lock_minute": _l("Publish and lock minute"), "proposals": _l("Proposals into the plan"),
    "convert": _l("Convert into a commitment"), "check": _l("Check my work"),
}


# --------------------------------------------------------------------------- helpers
def _published_by(participant: Participant, content_type: str, action: str = "publish") -> list[int]:
    """Ids (newest first, distinct) of the records of ``content_type`` the participant
    published (``action``: ``publish`` for version 1)."""
    seen: list[int] = []
    for pub in participant_publications(participant, content_type):
        if pub.action == action and pub.record_id.isdigit() and int(pub.record_id) not in seen:
            seen.append(int(pub.record_id))
    return seen


def _audited(participant: Participant, action: str) -> list[int]:
    """Object ids (newest first) of the participant's audit events ``action``."""
    if not participant.user_ids:
        return []
    rows = db.session.scalars(select(AuditEvent.object_id).where(
        AuditEvent.action == action, AuditEvent.user_id.in_(participant.user_ids)).order_by(AuditEvent.id.desc()))
    return [int(r) for r in rows if r and r.isdigit()]


def _best(candidates: list, items_of: Callable[[object], list[CheckItem]], empty: list[CheckItem]) -> list[CheckItem]:
    """The items of the candidate with most items done (the first, i.e. newest, on a tie)."""
    best = None
    for candidate in candidates:
        items = items_of(candidate)
        if best is None or sum(i.done for i in items) > sum(i.done for i in best):
            best = items
    return best if best is not None else empty


def _editor(participant: Participant):
    if participant.editor is None:
        raise ValueError("the participant has no editor account")
    return participant.editor


def _process(participant: Participant) -> Process:
    process = practice_process(participant.workspace)
    if process is None:
        raise ValueError("the practice process is not loaded; run `comun training load`")
    return process


# --------------------------------------------------------------------------- step 5: moderation
def check_moderation(participant: Participant) -> list[CheckItem]:
    """Step 5: a problem published by the participant (moderation) and a duplicate the
    participant merged into a published problem (audit ``cocreation_problem.merge``; the
    duplicate is still merged). Reads only."""
    published = [p for p in (db.session.get(Problem, i) for i in _published_by(participant, "cocreation_problem"))
                 if p is not None]
    merged = [p for p in (db.session.get(Problem, i) for i in _audited(participant, "cocreation_problem.merge"))
              if p is not None and p.moderation == "merged" and p.merged_into is not None
              and p.merged_into.moderation == "published"]
    return [
        CheckItem(_("You published a problem of the consultation"), bool(published),
                  _("In “%(page)s”, pending problems wait for you: press “%(button)s” on one that is not a "
                    "duplicate.", page=UI["moderate"], button=UI["publish"])),
        CheckItem(_("You merged a duplicate into a published problem"), bool(merged),
                  _("On the pending problem that repeats a published one, choose it in “%(field)s” and press "
                    "“%(button)s”.", field=UI["duplicate_of"], button=UI["merge"])),
    ]


def solve_moderation(participant: Participant) -> None:
    """Model answer of step 5: publish the pending problem of the scenario and merge the
    duplicate into the published problem it repeats. Flushes, never commits."""
    user = _editor(participant)
    process = _process(participant)
    titles = {key: title for key, title, *_rest in SCENARIO_PROBLEMS}
    rows = {p.title: p for p in db.session.scalars(select(Problem).where(Problem.process_id == process.id))}
    to_publish, duplicate, target = rows.get(titles["to_publish"]), rows.get(titles["duplicate"]), rows.get(titles["works"])
    if to_publish is not None and to_publish.moderation == "pending":
        svc.publish_problem(to_publish, user)
        record_audit("cocreation_problem.publish", "cocreation_problem", to_publish.id, None,
                     {"moderation": "published"}, user=user)
    if duplicate is not None and duplicate.moderation == "pending" and target is not None:
        svc.merge_problem(duplicate, target, user)
        record_audit("cocreation_problem.merge", "cocreation_problem", duplicate.id, None,
                     {"merged_into_id": target.id}, user=user)
    db.session.flush()


MODERATE_TASK = TrainingTask(
    step=5, key="cocreation.moderate", title="Moderar la consulta: publicar un problema y fusionar un duplicado",
    goals=("Revisar los problemas que la ciudadanía planteó en la consulta (en línea y en papel).",
           "Publicar un problema pendiente: queda público, se puede buscar, forma parte de los datos abiertos y la "
           "notaría registra su publicación.",
           "Fusionar un duplicado con el problema publicado que repite: el duplicado enlaza al otro y sus apoyos se "
           "suman una sola vez por correo."),
    steps=(ui("Entre a {admin} → {cocreation} y abra el proceso «Cocreación del Plan de Acción Local…» (dato de "
              "ejemplo); su consulta está abierta.", admin=UI["admin"], cocreation=UI["cocreation"]),
           ui("Pulse «{moderate}»: verá los problemas pendientes.", moderate=UI["moderate"]),
           ui("Publique el problema “No se publican los contratos de recolección de basura” (recogido en papel): "
              "pulse «{publish}» en su tarjeta.", publish=UI["publish"]),
           ui("El problema “Las obras de mi colonia no dicen cuánto cuestan…” repite uno publicado: en su tarjeta "
              "elija en «{duplicate_of}» el problema “Las obras públicas municipales no informan su avance” y pulse "
              "«{merge}».", duplicate_of=UI["duplicate_of"], merge=UI["merge"]),
           ui("Abra «{check}» de este ejercicio.", check=UI["check"])),
    check=check_moderation, solve=solve_moderation, start_endpoint="admin_cocreation.index")


# --------------------------------------------------------------------------- step 6: tree
def _tree_items(tree: Tree | None) -> list[CheckItem]:
    roots = svc.parse_outline(tree.roots, "roots") if tree is not None else []
    branches = svc.parse_outline(tree.branches, "branches") if tree is not None else []
    return [
        CheckItem(_("You published a problem tree"), tree is not None and tree.status == "published",
                  _("Open “%(trees)s” of a published problem, fill in the problem tree and press “%(button)s”.",
                    trees=UI["trees"], button=UI["publish_tree"])),
        CheckItem(_("It has at least two causes"), len(roots) >= 2,
                  _("Write one cause per line in “%(field)s”.", field=UI["roots"])),
        CheckItem(_("At least one cause has a deeper cause"), any(n.children for n in roots),
                  _("Indent a line two spaces under a cause to give it a deeper cause.")),
        CheckItem(_("It has at least one effect"), len(branches) >= 1,
                  _("Write the effects in “%(field)s”.", field=UI["branches"])),
    ]


def check_tree(participant: Participant) -> list[CheckItem]:
    """Step 6: the participant's best published problem tree (published by them): at least two
    causes, one of them with a deeper cause, and an effect. Reads only."""
    trees = [t for t in (db.session.get(Tree, i) for i in _published_by(participant, "cocreation_tree"))
             if t is not None and t.kind == "problem"]
    return _best(trees, _tree_items, _tree_items(None))


def solve_tree(participant: Participant) -> None:
    """Model answer of step 6: the problem tree of "Las obras públicas municipales no informan su
    avance", published (or corrected) as the participant. Flushes, never commits."""
    user = _editor(participant)
    process = _process(participant)
    problem = db.session.scalar(select(Problem).where(Problem.process_id == process.id,
                                                      Problem.title == SCENARIO_PROBLEMS[0][1]))
    tree = svc.tree_for(problem, "problem") or Tree(problem_id=problem.id, kind="problem")
    tree.core = "Opacidad en la obra pública municipal"
    tree.roots = ("- No hay reglas para publicar el avance de las obras\n"
                  "  - El reglamento municipal no lo exige\n"
                  "- Los comités de contraloría social no tienen capacitación")
    tree.branches = "- La ciudadanía no puede vigilar las obras\n  - Obras inconclusas sin responsables"
    db.session.add(tree)
    db.session.flush()
    if tree.status == "draft":
        publish(tree, user=user, commit=False)
    else:
        correct(tree, reason="Respuesta modelo del ejercicio 6.", user=user, commit=False)
    db.session.flush()


TREE_TASK = TrainingTask(
    step=6, key="cocreation.tree", title="Árbol de problemas de un problema de la consulta",
    goals=("Analizar un problema publicado: sus causas (raíces) y sus efectos (ramas).",
           "Escribir el árbol como listas anidadas y publicarlo: el sitio lo muestra como un diagrama accesible y "
           "la notaría registra cada versión."),
    steps=(ui("En {admin} → {cocreation}, abra el proceso de práctica y pulse «{moderate}».", admin=UI["admin"],
              cocreation=UI["cocreation"], moderate=UI["moderate"]),
           ui("Elija la pestaña «{published}» y, en el problema “Las obras públicas municipales no informan su "
              "avance”, abra «{trees}».", published=UI["published"], trees=UI["trees"]),
           ui("En «{problem_tree}» escriba el problema central en «{core}», una causa por renglón en «{roots}» "
              "(sangre dos espacios una causa más profunda) y los efectos en «{branches}».",
              problem_tree=UI["problem_tree"], core=UI["core"], roots=UI["roots"], branches=UI["branches"]),
           ui("Pulse «{publish_tree}» y revise el árbol en la página pública del problema.",
              publish_tree=UI["publish_tree"]),
           ui("Abra «{check}» de este ejercicio.", check=UI["check"])),
    check=check_tree, solve=solve_tree, start_endpoint="admin_cocreation.index")


# --------------------------------------------------------------------------- step 7: open call
def _call_items(call: Call | None) -> list[CheckItem]:
    registered = bool(call is not None and db.session.scalar(
        select(Registration.id).join(CocreationTable, CocreationTable.id == Registration.table_id).where(
            CocreationTable.process_id == call.process_id, Registration.sector.in_(SECTORS)).limit(1)))
    return [
        CheckItem(_("You published the open call to the co-creation tables"),
                  call is not None and call.status == "published",
                  _("In “%(page)s”, write the call, press “%(save)s” and then “%(publish)s”.",
                    page=UI["call_page"], save=UI["save"], publish=UI["publish_call"])),
        CheckItem(_("The call has its registration dates"),
                  bool(call is not None and call.registration_opens and call.registration_closes
                       and call.registration_closes >= call.registration_opens),
                  _("Fill in “%(opens)s” and “%(closes)s” (the closing day not before the opening one).",
                    opens=UI["registration_opens"], closes=UI["registration_closes"])),
        CheckItem(_("A person is registered to a table of the process, with a sector"), registered,
                  _("Open a table in “%(tables)s” and use “%(button)s”, or register through the public form of "
                    "the call.", tables=UI["call_tables"], button=UI["add_participant"])),
    ]


def check_call(participant: Participant) -> list[CheckItem]:
    """Step 7: the participant's published call (published by them) with its registration
    dates, and a registration (with a sector) to a table of the call's process. Reads only."""
    calls = [c for c in (db.session.get(Call, i) for i in _published_by(participant, "cocreation_call"))
             if c is not None]
    return _best(calls, _call_items, _call_items(None))


def solve_call(participant: Participant) -> None:
    """Model answer of step 7: the call of the practice process (registration open from
    yesterday for a month), published as the participant, and a person registered by hand to
    the practice table. Flushes, never commits."""
    user = _editor(participant)
    process = _process(participant)
    today = svc.tenant_today(participant.workspace)
    call = call_svc.call_of(process) or Call(process_id=process.id)
    if call.status in (None, "draft"):   # a new call has no status before its first flush
        call.title = "Convocatoria abierta para participar en las mesas de cocreación"
        call.body = ("Invitamos a la ciudadanía, la sociedad civil, la academia, el sector privado y el gobierno a "
                     "participar en las mesas de cocreación del Plan de Acción Local. Respuesta modelo del ejercicio 7.")
        call.registration_opens, call.registration_closes = today - dt.timedelta(days=1), today + dt.timedelta(days=30)
        db.session.add(call)
        db.session.flush()
        publish(call, user=user, commit=False)
    table = db.session.scalar(select(CocreationTable).where(CocreationTable.process_id == process.id,
                                                            CocreationTable.status == "published")
                              .order_by(CocreationTable.id))
    if table is None:
        raise ValueError("the practice process has no published table; run `comun training load`")
    email = "ana.lopez@ejemplo.invalid"
    if db.session.scalar(select(Registration.id).where(Registration.table_id == table.id,
                                                       Registration.email == email)) is None:
        row = call_svc.register(table, name="Ana López (dato de ejemplo)", email=email, sector="sociedad_civil",
                                organization="Colectivo de ejemplo", source="admin")
        record_audit("cocreation_registration.create", "cc_tables", table.id, None,
                     {"registration_id": row.id, "sector": row.sector, "source": "admin"}, user=user)
    db.session.flush()


CALL_TASK = TrainingTask(
    step=7, key="cocreation.call", title="Convocatoria abierta a las mesas de cocreación y un registro",
    goals=("Publicar la convocatoria del proceso con su texto y sus fechas de registro: la página pública lista las "
           "mesas con sus fechas y lugares libres.",
           "Registrar a una persona en una mesa con su sector (gobierno, sociedad civil, academia, sector privado o "
           "ciudadanía); sus datos personales nunca se publican."),
    steps=(ui("En {admin} → {cocreation}, abra el proceso de práctica y pulse «{call_page}».", admin=UI["admin"],
              cocreation=UI["cocreation"], call_page=UI["call_page"]),
           ui("Escriba el título y el texto, llene «{opens}» y «{closes}» y pulse «{save}».",
              opens=UI["registration_opens"], closes=UI["registration_closes"], save=UI["save"]),
           ui("Pulse «{publish_call}» y revise la página pública de la convocatoria.",
              publish_call=UI["publish_call"]),
           ui("En «{call_tables}» abra la mesa de práctica; en «{add_by_hand}» registre a una persona con su sector y "
              "pulse «{add_participant}» (o regístrela con el formulario público de la convocatoria).",
              call_tables=UI["call_tables"], add_by_hand=UI["add_by_hand"], add_participant=UI["add_participant"]),
           ui("Abra «{check}» de este ejercicio.", check=UI["check"])),
    check=check_call, solve=solve_call, start_endpoint="admin_cocreation.index")


# --------------------------------------------------------------------------- step 8: workshop
def _workshop_items(workshop: Workshop | None) -> list[CheckItem]:
    return [
        CheckItem(_("You published an awareness workshop"), workshop is not None and workshop.status == "published",
                  _("In “%(page)s”, fill in “%(new)s”, press “%(save)s” and then “%(publish)s”.",
                    page=UI["workshops"], new=UI["new_workshop"], save=UI["save"], publish=UI["publish_workshop"])),
        CheckItem(_("It has its date and a place or an online link"),
                  bool(workshop is not None and workshop.starts_at and (workshop.place or workshop.online_url)),
                  _("Give the start and end, and the place or the online link.")),
        CheckItem(_("It has at least one material"), bool(workshop is not None and workshop.materials),
                  _("Upload a file or write a link and press “%(button)s”.", button=UI["add_material"])),
    ]


def check_workshop(participant: Participant) -> list[CheckItem]:
    """Step 8: the participant's best workshop (published by them): date, place or link, and
    a material. Reads only."""
    rows = [w for w in (db.session.get(Workshop, i) for i in _published_by(participant, "cocreation_workshop"))
            if w is not None]
    return _best(rows, _workshop_items, _workshop_items(None))


def solve_workshop(participant: Participant) -> None:
    """Model answer of step 8: a workshop in a week (17:00 to 19:00, local time) in the
    secretariat's meeting room, with a material linking the process's public page, published as
    the participant. Flushes, never commits."""
    user = _editor(participant)
    if _published_by(participant, "cocreation_workshop"):
        return
    process = _process(participant)
    tenant = participant.workspace
    day = svc.tenant_today(tenant) + dt.timedelta(days=7)
    starts = workshops_svc.local_to_utc(dt.datetime.combine(day, dt.time(17, 0)), tenant)
    workshop = Workshop(process_id=process.id, title="Taller de sensibilización: ¿qué es la cocreación?",
                        description="Explicamos qué es el gobierno abierto y cómo funcionarán las mesas de cocreación "
                                    "(respuesta modelo del ejercicio 8).",
                        starts_at=starts, ends_at=starts + dt.timedelta(hours=2),
                        place="Sala de juntas de la Secretaría Ejecutiva")
    workshop.materials.append(WorkshopMaterial(title="Los 13 pasos del proceso de cocreación (página del proceso)",
                                               url=f"/{tenant.slug}/cocreacion/{process.id}", position=1))
    db.session.add(workshop)
    db.session.flush()
    publish(workshop, user=user, commit=False)
    db.session.flush()


WORKSHOP_TASK = TrainingTask(
    step=8, key="cocreation.workshop", title="Taller de sensibilización con sus materiales",
    goals=("Publicar un taller de sensibilización (paso 8, «expliquemos qué estamos haciendo») con su fecha, lugar "
           "o enlace en línea y al menos un material.",
           "Comprobar que el taller aparece en la página pública del proceso y en su calendario (.ics)."),
    steps=(ui("En {admin} → {cocreation}, abra el proceso de práctica y pulse «{workshops}».", admin=UI["admin"],
              cocreation=UI["cocreation"], workshops=UI["workshops"]),
           ui("En «{new_workshop}» escriba el título y la descripción, el inicio y el fin, y el lugar o el enlace en "
              "línea; pulse «{save}».", new_workshop=UI["new_workshop"], save=UI["save"]),
           ui("En el taller, suba un archivo o escriba un enlace y pulse «{add_material}».",
              add_material=UI["add_material"]),
           ui("Pulse «{publish_workshop}».", publish_workshop=UI["publish_workshop"]),
           ui("Abra «{check}» de este ejercicio.", check=UI["check"])),
    check=check_workshop, solve=solve_workshop, start_endpoint="admin_cocreation.index")


# --------------------------------------------------------------------------- step 9: table
def _table_items(table: CocreationTable | None) -> list[CheckItem]:
    return [
        CheckItem(_("You published a co-creation table"), table is not None and table.status == "published",
                  _("In “%(tables)s”, fill in the form and press “%(create)s”; then press “%(publish)s”.",
                    tables=UI["tables"], create=UI["create_table"], publish=UI["publish_table"])),
        CheckItem(_("The table takes up at least one problem of the consultation"),
                  table is not None and bool(table.problems),
                  _("Tick the published problems the table takes up and save.")),
        CheckItem(_("The table has at least one session"), table is not None and bool(table.sessions),
                  _("Give the date and time of a session and press “%(button)s”.", button=UI["add_session"])),
    ]


def _mine(participant: Participant, model, content_type: str, created: str) -> list:
    """Records of ``model`` the participant published (``content_type``) or created in the
    admin (audit ``created``), published ones first, each once."""
    ids = _published_by(participant, content_type)
    ids += [i for i in _audited(participant, created) if i not in ids]
    return [r for r in (db.session.get(model, i) for i in ids) if r is not None]


def participant_tables(participant: Participant) -> list[CocreationTable]:
    """The tables the participant published or created in their workspace, published ones
    first, newest first."""
    return _mine(participant, CocreationTable, "cocreation_table", "cocreation_table.create")


def check_table(participant: Participant) -> list[CheckItem]:
    """Step 9: the participant's best table (published or created by them): published, it
    takes up a problem and has a session. Reads only."""
    return _best(participant_tables(participant), _table_items, _table_items(None))


def solve_table(participant: Participant) -> CocreationTable:
    """Model answer of step 9: a table on the theme of public works that takes up the first
    published problem, with a session last week, published as the participant. Returns the
    table. Flushes, never commits."""
    user = _editor(participant)
    mine = [t for t in participant_tables(participant) if t.status == "published"]
    if mine:
        return mine[0]
    process = _process(participant)
    tenant = participant.workspace
    problem = db.session.scalar(select(Problem).where(Problem.process_id == process.id,
                                                      Problem.moderation == "published").order_by(Problem.id))
    table = CocreationTable(process_id=process.id, title="Mesa de cocreación: obra pública abierta",
                            theme=problem.theme, place="Sala de juntas de la Secretaría Ejecutiva")
    db.session.add(table)
    db.session.flush()
    tables_svc.set_problems(table, [problem.id])
    day = svc.tenant_today(tenant) - dt.timedelta(days=7)
    starts = dt.datetime.combine(day, dt.time(10, 0), tzinfo=tenant.tz).astimezone(dt.timezone.utc)
    table.sessions.append(TableSession(starts_at=starts, ends_at=starts + dt.timedelta(hours=2), place=table.place))
    db.session.flush()
    publish(table, user=user, commit=False)
    db.session.flush()
    return table


TABLE_TASK = TrainingTask(
    step=9, key="cocreation.table", title="Instalar una mesa de cocreación",
    goals=("Crear una mesa de cocreación del proceso con su tema y los problemas de la consulta que atiende.",
           "Fechar su sesión de instalación y publicarla: la página pública muestra a quienes participan solo "
           "como conteo por sector."),
    steps=(ui("En {admin} → {cocreation}, abra el proceso de práctica y luego «{tables}».", admin=UI["admin"],
              cocreation=UI["cocreation"], tables=UI["tables"]),
           ui("Escriba el título y el tema, marque al menos un problema publicado y pulse «{create}».",
              create=UI["create_table"]),
           ui("En la mesa, dé la fecha y la hora de una sesión y pulse «{add_session}».",
              add_session=UI["add_session"]),
           ui("Pulse «{publish_table}».", publish_table=UI["publish_table"]),
           ui("Abra «{check}» de este ejercicio.", check=UI["check"])),
    check=check_table, solve=solve_table, start_endpoint="admin_cocreation.index")


# --------------------------------------------------------------------------- step 10: results
def _minute_items(minute: ResultsMinute | None) -> list[CheckItem]:
    proposals = list(minute.proposals) if minute is not None else []
    return [
        CheckItem(_("You published and locked a results minute"),
                  minute is not None and minute.status == "published" and minute.stage == "published",
                  _("In the table's “%(minute)s”, press “%(save)s”, add the proposals, then “%(approve)s” and "
                    "“%(lock)s”.", minute=UI["results_minute"], save=UI["save_minute"],
                    approve=UI["approve_minute"], lock=UI["lock_minute"])),
        CheckItem(_("Its proposals answer a problem of the table and name the responsible institution"),
                  bool(proposals) and all(p.problem_id and p.responsible_institution for p in proposals),
                  _("Use “%(button)s” for each agreed proposal.", button=UI["add_proposal"])),
    ]


def _converted(participant: Participant) -> list[Proposal]:
    ids = _published_by(participant, "cocreation_minute")
    if not ids:
        return []
    rows = db.session.scalars(select(Proposal).where(Proposal.minute_id.in_(ids), Proposal.commitment_id.is_not(None)))
    return [p for p in rows if origin.commitment_of(p) is not None]


def check_results(participant: Participant) -> list[CheckItem]:
    """Step 10: the participant's best results minute (published or saved by them): locked,
    its proposals each answering a problem and naming the institution; and a proposal of a
    minute they published that became a commitment (the draft commitment exists). Reads only."""
    minutes = _mine(participant, ResultsMinute, "cocreation_minute", "cocreation_minute.save")
    items = _best(minutes, _minute_items, _minute_items(None))
    converted = _converted(participant)
    items.append(CheckItem(
        _("You turned a proposal into a commitment of an action plan"), bool(converted),
        _("In the process's “%(page)s”, choose an action plan on a proposal and press “%(button)s”.",
          page=UI["proposals"], button=UI["convert"])))
    return items


def solve_results(participant: Participant) -> None:
    """Model answer of step 10: on the participant's table (step 9's answer when there is none),
    a results minute held yesterday with one proposal, approved and locked, and that proposal
    converted into a draft commitment of the newest action plan. Flushes, never commits.

    Raises:
        ValueError: no action plan to convert into (the action plans' scenario is missing).
    """
    user = _editor(participant)
    table = solve_table(participant)
    minute = minutes_svc.minute_for(table, create=True)
    db.session.flush()
    if minute.status == "draft":
        if minute.stage == "approved":
            minutes_svc.return_minute_to_draft(minute)
        minutes_svc.save_minute(minute, held_on=svc.tenant_today(participant.workspace) - dt.timedelta(days=1),
                                summary="Acuerdos de la mesa de cocreación (respuesta modelo del ejercicio 10).")
        if not minute.proposals:
            minutes_svc.add_proposal(
                minute, title="Publicar en datos abiertos el avance físico y financiero de cada obra municipal",
                description="Cada mes, con monto, empresa contratista y fotografías.",
                problem_id=table.problems[0].id, responsible_institution="Secretaría de Obras Públicas del Estado")
        db.session.flush()
        minutes_svc.approve_minute(minute)
        minutes_svc.publish_minute(minute, user=user)
        db.session.flush()
    if not any(p.commitment_id for p in minute.proposals):
        plans = origin.plan_choices()
        if not plans:
            raise ValueError("there is no action plan to add the commitment to")
        origin.convert_proposal(minute.proposals[0], plans[0][0])
    db.session.flush()


RESULTS_TASK = TrainingTask(
    step=10, key="cocreation.results", title="Acta de resultados de la mesa y su paso al plan",
    goals=("Registrar el acta de resultados de una mesa: las propuestas acordadas, cada una con el problema que "
           "atiende y la institución responsable.",
           "Aprobar el acta y publicarla: queda bloqueada y solo admite adendas con motivo público.",
           "«Convertir en compromiso» una propuesta: nace un borrador de compromiso del plan, prellenado, cuya "
           "página mostrará su origen ciudadano al publicarse."),
    steps=(ui("Abra la mesa que instaló en el ejercicio 9 y entre a «{results_minute}».",
              results_minute=UI["results_minute"]),
           ui("Escriba la fecha de la sesión (no futura) y el resumen; pulse «{save}».", save=UI["save_minute"]),
           ui("Agregue cada propuesta acordada con el problema que atiende y la institución responsable "
              "(«{add_proposal}»).", add_proposal=UI["add_proposal"]),
           ui("Pulse «{approve}» y después «{lock}».", approve=UI["approve_minute"], lock=UI["lock_minute"]),
           ui("En el proceso, abra «{proposals}», elija un plan de acción en una propuesta y pulse «{convert}».",
              proposals=UI["proposals"], convert=UI["convert"]),
           ui("Abra «{check}» de este ejercicio.", check=UI["check"])),
    check=check_results, solve=solve_results, start_endpoint="admin_cocreation.index")


def tasks() -> list[TrainingTask]:
    """The plugin's training tasks (``training_tasks`` hook), steps 5 to 10."""
    return [MODERATE_TASK, TREE_TASK, CALL_TASK, WORKSHOP_TASK, TABLE_TASK, RESULTS_TASK]
