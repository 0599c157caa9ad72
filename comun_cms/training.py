"""Training workshops on a training tenant (``training = true`` in ``tenant.toml``, e.g.
``states/capacitacion``): scenario, exercises, participants and their workspaces, reset and
"check my work".

* **Workspaces.** A training tenant with ``workspaces = N`` has N participant workspaces
  (``capacitacion-01`` … , see :func:`comun_cms.tenancy.derive_workspaces`): tenants of their own,
  so the global tenant filter, roles and the plugins' isolation keep one participant's work out of
  every other workspace. A participant has two accounts in their workspace only: ``editor`` (the
  SESEA side) and ``evaluator`` (the evaluating organization).
* **Scenario.** :func:`load_scenario` calls every enabled plugin's ``training_scenario`` hook
  (plans of other jurisdictions, the Sinaloa STL session, the criteria framework and an open
  cycle...) and, on the training tenant itself, publishes one page per exercise ("Material de
  capacitación"); then it saves a snapshot of every tenant-scoped row
  (``instance/training/<slug>.snapshot``).
* **Exercises.** :func:`exercises` gives the 13 exercises, one per step of the local
  open-government strategy (``local_strategy_steps`` in shared/data/stl_sessions.json). Plugins
  contribute :class:`TrainingTask` objects through the ``training_tasks`` hook (record the STL
  installation session, co-create a plan with five commitments, report progress, evaluate
  criteria, verify a receipt); the other steps have the core's task "write and publish a page".
* **Participants.** :func:`create_participants` gives participant *n* workspace *n*, two accounts
  that expire after the workshop, and a printable sheet of logins.
* **Reset.** :func:`reset` restores snapshots (every workspace, or one); with ``exercise=N``
  each workspace then gets the model answers of exercises 1…N-1, so the group (or one
  participant) can start at exercise N.

Command line: ``comun training load|participants|reset|check|progress|exercises``.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import pickle
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete, insert, select
from werkzeug.routing import BuildError

from comun_cms.hooktypes import CheckItem, Participant, TrainingTask  # noqa: F401 (re-exported)
from comun_cms.extensions import db
from comun_cms.models import REBUILT_ON_RESET, Membership, Page, Publication, SearchOutbox, User
from comun_cms.permissions import require_role
from comun_cms.tenancy import Tenant, tenant_context, workspace_slug

STRATEGY_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "stl_sessions.json"
#: Steps of the local strategy (fallback when shared/data is not beside the project).
STEPS = (
    "Firma de la Declaratoria de Gobierno Abierto",
    "Convocatoria abierta para conformar el Secretariado Técnico Local",
    "Convocatoria para incorporar a una persona facilitadora",
    "Acta de instalación del Secretariado Técnico Local",
    "Consulta, encuesta o recolección de opiniones",
    "Árbol de problemas y de soluciones",
    "Convocatoria abierta para participar en las mesas de cocreación",
    "Talleres de sensibilización",
    "Instalación de mesas de cocreación",
    "Acta de resultados de las mesas de cocreación",
    "Publicación del Plan de Acción",
    "Página web con la información del ejercicio y avances del Plan de Acción",
    "Informe intermedio y final de cumplimiento del Plan de Acción",
)
#: Tables a reset keeps (participants' access).
KEEP_TABLES = frozenset({"memberships", "invitations"})
TRAINING_LABEL = "Material de capacitación (dato de ejemplo)"
#: Roles of a participant's two accounts in their workspace.
PARTICIPANT_ROLES = ("editor", "evaluator")


class TrainingError(Exception):
    """Training operation refused; ``str(error)`` says why (e.g. not a training tenant)."""


def participant_publications(participant: Participant, content_type: str) -> list[Publication]:
    """Publications of ``content_type`` made in the current tenant (the participant's workspace)
    by the participant's accounts, newest first. Scenario records (published by nobody) are not
    included. Call inside ``tenant_context(participant.workspace)``."""
    if not participant.user_ids:
        return []
    return list(db.session.scalars(select(Publication).where(
        Publication.content_type == content_type,
        Publication.published_by_id.in_(participant.user_ids)).order_by(Publication.id.desc())))


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``number`` (1–13), ``step`` (the strategy step) and its ``tasks``."""

    number: int
    step: str
    tasks: tuple[TrainingTask, ...]

    @property
    def goals(self) -> tuple[str, ...]:
        """Every task's goals, in order."""
        return tuple(g for task in self.tasks for g in task.goals)

    @property
    def steps(self) -> tuple[str, ...]:
        """Every task's steps, in order."""
        return tuple(s for task in self.tasks for s in task.steps)


@dataclass
class CheckResult:
    """Result of :func:`check_exercise`: ``groups`` (each task with its items) and ``done``."""

    exercise: Exercise
    groups: list[tuple[TrainingTask, list[CheckItem]]] = field(default_factory=list)

    @property
    def items(self) -> list[CheckItem]:
        """Every item of every task."""
        return [item for _task, items in self.groups for item in items]

    @property
    def done(self) -> bool:
        return bool(self.items) and all(i.done for i in self.items)


# --------------------------------------------------------------------------- exercises
_SPEC = (  # section, keywords, what the page is
    ("links", ("declaratoria", "firma"), "la Declaratoria de Gobierno Abierto firmada"),
    ("join", ("convocatoria", "requisitos", "fecha"), "la convocatoria para conformar el STL"),
    ("join", ("facilitadora", "perfil"), "la convocatoria para la persona facilitadora"),
    ("minutes", ("acta", "instalación", "integrantes"), "el acta de instalación del STL"),
    ("feedback", ("consulta", "resultados"), "los resultados de la consulta ciudadana"),
    ("commitments", ("problema", "causas", "soluciones"), "el árbol de problemas y de soluciones"),
    ("join", ("mesas", "cocreación", "registro"), "la convocatoria a las mesas de cocreación"),
    ("minutes", ("taller", "participantes"), "la memoria de un taller de sensibilización"),
    ("minutes", ("mesa", "instalación"), "la instalación de las mesas de cocreación"),
    ("minutes", ("acta", "resultados", "propuestas"), "el acta de resultados de las mesas"),
    ("commitments", ("plan de acción", "compromisos"), "el Plan de Acción Local"),
    ("links", ("avances", "página"), "la página del ejercicio con sus avances"),
    ("commitments", ("informe", "cumplimiento"), "el informe de cumplimiento del plan"),
)


def strategy_steps() -> tuple[str, ...]:
    """The 13 steps from ``local_strategy_steps`` in shared/data/stl_sessions.json (or the
    built-in copy :data:`STEPS` when the file is not available)."""
    try:
        data = json.loads(STRATEGY_DATA.read_text(encoding="utf-8"))
        steps = tuple(data["local_strategy_steps"]["steps"])
        if len(steps) == len(_SPEC):
            return steps
    except (OSError, KeyError, ValueError):
        pass
    return STEPS


def page_slug(number: int) -> str:
    """Address of the participant's page for the core task of exercise ``number`` (``paso-04``)."""
    return f"paso-{number:02d}"


def _page_task(number: int, step: str, section: str, keywords: tuple[str, ...], what: str) -> TrainingTask:
    slug = page_slug(number)

    def check(participant: Participant) -> list[CheckItem]:
        page = db.session.scalar(select(Page).where(Page.slug == slug))
        items = [CheckItem(_("A page with the address “%(slug)s” exists", slug=slug), page is not None,
                           _("Create it in Administration → Pages."))]
        if page is None:
            return items
        items.append(CheckItem(_("It is in the section “%(section)s”", section=section), page.section == section,
                               _("Change the page's section.")))
        text = f"{page.title} {page.summary} {page.body}".lower()
        for keyword in keywords:
            items.append(CheckItem(_("The text mentions “%(word)s”", word=keyword), keyword.lower() in text,
                                   _("Add it to the text and save.")))
        published = bool(participant.user_ids) and db.session.scalar(select(Publication.id).where(
            Publication.content_type == "page", Publication.record_id == str(page.id),
            Publication.published_by_id.in_(participant.user_ids))) is not None
        items.append(CheckItem(_("You published it"), published, _("Publish the page (or publish a correction).")))
        return items

    def solve(participant: Participant) -> None:
        from comun_cms.publishing import publish
        page = db.session.scalar(select(Page).where(Page.slug == slug))
        if page is None:
            page = Page(slug=slug, language="es")
            db.session.add(page)
        page.title = f"Paso {number}: {step}"
        page.section = section
        page.summary = f"Respuesta modelo: {what}."
        page.body = f"Respuesta modelo del ejercicio {number}: {what}. Menciona: {', '.join(keywords)}.\n"
        db.session.flush()
        publish(page, user=participant.editor, commit=False)

    return TrainingTask(
        step=number, key=f"core.page_{number:02d}", title=f"Publica {what}",
        goals=(f"Practicar el paso {number} de la estrategia local: {step}.",
               f"Redactar y publicar en tu espacio de práctica {what}.",
               "Comprobar que lo publicado queda registrado con su versión y su huella (SHA-256)."),
        steps=(f"Entra a Administración → Páginas y crea una página nueva con la dirección «{slug}».",
               f"Elige la sección del sitio «{section}».",
               "Escribe el texto; menciona: " + ", ".join(f"«{k}»" for k in keywords) + ".",
               "Guarda el borrador, revísalo y publícalo.",
               "Abre «Revisar mi trabajo» de este ejercicio."),
        check=check, solve=solve, start_endpoint="admin.page_new")


#: The core's tasks, one per step ("write and publish a page").
CORE_TASKS: tuple[TrainingTask, ...] = tuple(
    _page_task(n, step, *spec) for n, (step, spec) in enumerate(zip(strategy_steps(), _SPEC), 1))


def exercises(tenant: Tenant | None = None) -> tuple[Exercise, ...]:
    """The 13 exercises. With ``tenant`` (inside an application), a step gets the
    ``training_tasks`` of the plugins ``tenant`` enables when there are any, otherwise the core's
    page task; without one, only the core's tasks.

    Raises:
        TrainingError: a plugin task with a step outside 1–13 or a duplicate key.
    """
    by_step: dict[int, list[TrainingTask]] = {}
    if tenant is not None:
        from comun_cms.plugins import tenant_hook
        seen: set[str] = set()
        for result in tenant_hook(tenant, "training_tasks")():
            for task in result or []:
                if not 1 <= task.step <= len(CORE_TASKS):
                    raise TrainingError(f"training task '{task.key}' has step {task.step}; steps go from 1 to {len(CORE_TASKS)}")
                if task.key in seen:
                    raise TrainingError(f"two training tasks have the key '{task.key}'")
                seen.add(task.key)
                by_step.setdefault(task.step, []).append(task)
    steps = strategy_steps()
    return tuple(Exercise(number=n, step=steps[n - 1], tasks=tuple(by_step.get(n) or (CORE_TASKS[n - 1],)))
                 for n in range(1, len(CORE_TASKS) + 1))


#: The exercises with the core's tasks only (for listings outside an application).
EXERCISES: tuple[Exercise, ...] = exercises()


def get_exercise(number: int, tenant: Tenant | None = None) -> Exercise:
    """Return exercise ``number`` (1–13) of :func:`exercises` for ``tenant``.

    Raises:
        TrainingError: no such exercise.
    """
    if not 1 <= number <= len(CORE_TASKS):
        raise TrainingError(f"there is no exercise {number}; exercises go from 1 to {len(CORE_TASKS)}")
    return exercises(tenant)[number - 1]


# --------------------------------------------------------------------------- tenants
def training_tenant(app: Flask, slug: str | None = None) -> Tenant:
    """Return the training tenant ``slug`` (default: the only training tenant that is not a
    workspace).

    Raises:
        TrainingError: unknown slug, not a training tenant, a workspace, or no/ambiguous training tenant.
    """
    tenants = app.extensions["comun"].tenants
    if slug is not None:
        tenant = tenants.get(slug)
        if tenant is None:
            raise TrainingError(f"unknown tenant '{slug}'")
        if not tenant.training:
            raise TrainingError(f"tenant '{slug}' is not a training tenant (training = true in tenant.toml)")
        if tenant.is_workspace:
            raise TrainingError(f"'{slug}' is a participant workspace; give its training tenant '{tenant.workspace_of}'")
        return tenant
    found = [t for t in tenants.values() if t.training and not t.is_workspace]
    if len(found) != 1:
        raise TrainingError("give --tenant: there is no training tenant or more than one")
    return found[0]


def workspaces_of(app: Flask, tenant: Tenant) -> list[Tenant]:
    """The participant workspaces of training tenant ``tenant``, by number."""
    tenants = app.extensions["comun"].tenants
    return [tenants[workspace_slug(tenant.slug, n)] for n in range(1, tenant.workspaces + 1)]


def get_workspace(app: Flask, tenant: Tenant, number: int) -> Tenant:
    """Workspace ``number`` (1-based) of training tenant ``tenant``.

    Raises:
        TrainingError: no such workspace (names the ``workspaces`` setting).
    """
    if not 1 <= number <= tenant.workspaces:
        raise TrainingError(f"there is no workspace {number}: '{tenant.slug}' has {tenant.workspaces} "
                            f"(workspaces = N in states/{tenant.slug}/tenant.toml)")
    return workspaces_of(app, tenant)[number - 1]


def participant(workspace: Tenant) -> Participant:
    """The :class:`Participant` of ``workspace``: the workspace and its ``editor`` and
    ``evaluator`` accounts (``None`` where there is none)."""
    with tenant_context(workspace):
        rows = db.session.execute(select(Membership.role, User).join(User, User.id == Membership.user_id)
                                  .where(Membership.role.in_(PARTICIPANT_ROLES)).order_by(Membership.id)).all()
    accounts: dict[str, User] = {}
    for role, user in rows:
        accounts.setdefault(role, user)
    return Participant(workspace=workspace, editor=accounts.get("editor"), evaluator=accounts.get("evaluator"))


def workspace_of_user(app: Flask, user: User, tenant: Tenant) -> Tenant | None:
    """The workspace of training tenant ``tenant`` where ``user`` holds a participant role, or ``None``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    slugs = {ws.slug for ws in workspaces_of(app, tenant)}
    found = db.session.scalars(select(Membership.tenant_id).where(Membership.user_id == user.id)
                               .order_by(Membership.tenant_id).execution_options(all_tenants=True)).all()
    slug = next((s for s in found if s in slugs), None)
    return app.extensions["comun"].tenants[slug] if slug else None


# --------------------------------------------------------------------------- scenario
def _exercise_page_body(ex: Exercise) -> str:
    lines = [f"*{TRAINING_LABEL}.*", "", f"## Paso {ex.number}: {ex.step}", ""]
    for task in ex.tasks:
        lines += [f"### {task.title}", "", "Objetivos:", ""]
        lines += [f"- {g}" for g in task.goals]
        lines += ["", "Pasos:", ""]
        lines += [f"{i}. {s}" for i, s in enumerate(task.steps, 1)]
        lines.append("")
    return "\n".join(lines)


def load_scenario(app: Flask, tenant: Tenant, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Load the training scenario into ``tenant`` (a training tenant or one of its workspaces)
    and save its snapshot. Idempotent.

    Runs the plugins' ``initialize`` hook for the tenant (keys...), then their
    ``training_scenario`` hook; on a training tenant that is not a workspace, also publishes one
    page per exercise ("Material de capacitación"). Commits once.

    Returns ``{"records": int, "exercises": int}`` (records and exercise pages created).

    Raises:
        TrainingError: ``tenant`` is not a training tenant.
    """
    from comun_cms.demo import DemoContext
    from comun_cms.plugins import tenant_hook
    from comun_cms.publishing import publish
    if not tenant.training:
        raise TrainingError(f"tenant '{tenant.slug}' is not a training tenant")
    result: dict[str, Any] = {"records": 0, "exercises": 0}
    with tenant_context(tenant):
        tenant_hook(tenant, "initialize")(tenant=tenant, instance_path=app.instance_path)
        ctx = DemoContext(tenant=tenant, user=None, log=log)
        try:
            counts = tenant_hook(tenant, "training_scenario")(tenant=tenant, ctx=ctx)
            result["records"] = sum(c or 0 for c in counts)
            if not tenant.is_workspace:
                for ex in exercises(tenant):
                    slug = f"ejercicio-{ex.number:02d}"
                    if db.session.scalar(select(Page.id).where(Page.slug == slug)) is not None:
                        continue
                    page = Page(slug=slug, title=f"Ejercicio {ex.number}: {ex.step}", summary=TRAINING_LABEL,
                                body=_exercise_page_body(ex), section="", language="es", source=TRAINING_LABEL,
                                is_demo=True)
                    db.session.add(page)
                    db.session.flush()
                    publish(page, commit=False)
                    result["exercises"] += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    save_snapshot(app, tenant)
    log(f"{tenant.slug}: scenario loaded {result}")
    return result


def _tables():
    # tables a plugin rebuilds in its tenant_reset hook (the notary's log) are left to it
    return [t for t in db.metadata.sorted_tables
            if "tenant_id" in t.c and t.name not in KEEP_TABLES and not t.info.get(REBUILT_ON_RESET)]


def dump_tenant(tenant: Tenant) -> dict[str, list[dict]]:
    """Every row of every tenant-scoped table of ``tenant`` (memberships and invitations left
    out), ``{table: [row dict, ...]}`` ordered by primary key. Used for snapshots and tests."""
    out = {}
    for table in _tables():
        stmt = select(table).where(table.c.tenant_id == tenant.slug).order_by(*table.primary_key.columns)
        out[table.name] = [dict(r._mapping) for r in db.session.execute(stmt)]
    return out


def snapshot_path(app: Flask, tenant: Tenant) -> Path:
    """``instance/training/<slug>.snapshot`` (pickle of :func:`dump_tenant`)."""
    return Path(app.instance_path) / "training" / f"{tenant.slug}.snapshot"


def save_snapshot(app: Flask, tenant: Tenant) -> Path:
    """Save the tenant's rows as the scenario to restore. Returns the file path."""
    path = snapshot_path(app, tenant)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tenant_context(tenant):
        data = dump_tenant(tenant)
    path.write_bytes(pickle.dumps(data))
    return path


def _restore(app: Flask, tenant: Tenant) -> int:
    """Delete ``tenant``'s rows (memberships and invitations kept) and re-insert its snapshot,
    inside the current transaction. Returns the rows inserted."""
    from comun_cms.plugins import tenant_hook
    data = pickle.loads(snapshot_path(app, tenant).read_bytes())  # our own file in the instance folder
    tables = _tables()
    tenant_hook(tenant, "tenant_reset")(tenant=tenant, phase="before")
    for table in reversed(tables):
        db.session.execute(delete(table).where(table.c.tenant_id == tenant.slug))
    db.session.execute(delete(SearchOutbox).where(SearchOutbox.tenant == tenant.slug))
    rows = 0
    for table in tables:
        batch = data.get(table.name) or []
        if batch:
            db.session.execute(insert(table), batch)
            rows += len(batch)
    tenant_hook(tenant, "tenant_reset")(tenant=tenant, phase="after")
    return rows


def apply_answers(tenant: Tenant, before: int) -> list[str]:
    """Do the model answers of exercises 1…``before``-1 in workspace ``tenant`` as its
    participant (:attr:`TrainingTask.solve`), inside the current transaction. Returns the task
    keys applied.

    Raises:
        TrainingError: the workspace has no participant accounts, or a task's answer failed
            (names the task).
    """
    who = participant(tenant)
    if who.editor is None:
        raise TrainingError(f"workspace '{tenant.slug}' has no participant; run `comun training participants` first")
    applied = []
    with tenant_context(tenant):
        for ex in exercises(tenant)[:before - 1]:
            for task in ex.tasks:
                try:
                    task.solve(who)
                    db.session.flush()
                except Exception as exc:
                    raise TrainingError(f"the model answer of task '{task.key}' (exercise {ex.number}) failed: {exc}") from exc
                applied.append(task.key)
    return applied


def reset(app: Flask, tenant: Tenant, exercise: int | None = None, workspace: int | None = None) -> dict[str, Any]:
    """Restore the training scenario.

    Args:
        tenant: a training tenant (restores it and every workspace, those that have a
            scenario) or one workspace.
        exercise: start at exercise N: after the restore, each restored workspace that has a
            participant gets the model answers of exercises 1…N-1 (see :func:`apply_answers`).
        workspace: restore only this workspace number of ``tenant``.

    Each tenant is restored in its own transaction (the plugins' ``tenant_reset`` hook runs in
    it); then the restored tenants' search documents are rebuilt. Memberships are kept, so
    participants can still log in.

    Returns ``{"rows": int, "tenants": [slug], "exercise": int | None, "seconds": float}``.

    Raises:
        TrainingError: not a training tenant, no snapshot (run ``comun training load`` /
            ``participants``), unknown exercise or workspace, or a failed model answer (that
            tenant's transaction is rolled back; tenants restored before it stay restored).
    """
    if not tenant.training:
        raise TrainingError(f"tenant '{tenant.slug}' is not a training tenant; refusing to reset it")
    if exercise is not None:
        get_exercise(exercise)
    if tenant.is_workspace:
        targets = [tenant]
    elif workspace is not None:
        targets = [get_workspace(app, tenant, workspace)]
    else:  # the training tenant and the workspaces that have a scenario
        targets = [t for t in [tenant, *workspaces_of(app, tenant)] if snapshot_path(app, t).exists()] or [tenant]
    for target in targets:
        if not snapshot_path(app, target).exists():
            command = "participants" if target.is_workspace else "load"
            raise TrainingError(f"no scenario snapshot for '{target.slug}' at {snapshot_path(app, target)}; "
                                f"run `comun training {command}` first")
    started = time.monotonic()
    rows = 0
    restored: list[Tenant] = []
    from comun_cms.plugins import tenant_hook
    try:
        for target in targets:
            with tenant_context(target):
                try:
                    rows += _restore(app, target)
                    if exercise and exercise > 1 and target.is_workspace and participant(target).editor is not None:
                        apply_answers(target, exercise)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    try:
                        tenant_hook(target, "tenant_reset")(tenant=target, phase="rolled_back")
                    except Exception:  # noqa: BLE001 - the reset's own error is the one to report
                        current_app.logger.exception("training reset of %s: tenant_reset(rolled_back) failed", target.slug)
                    raise
                tenant_hook(target, "tenant_reset")(tenant=target, phase="committed")
            restored.append(target)
    finally:
        _reindex(app, restored)
    return {"rows": rows, "tenants": [t.slug for t in targets], "exercise": exercise,
            "seconds": round(time.monotonic() - started, 3)}


def _reindex(app: Flask, tenants: list[Tenant]) -> None:
    service = app.extensions["comun"].search
    if service is None or not tenants:
        return
    try:
        service.reindex(tenants=tenants)
    except Exception:  # noqa: BLE001 - the data is restored; only the index lags
        current_app.logger.warning("training reset: search reindex failed; run `comun search reindex`", exc_info=True)


# --------------------------------------------------------------------------- participants
def _participant_emails(tenant: Tenant, number: int, workshop: str) -> tuple[str, str]:
    domain = f"{tenant.slug}.taller.test"
    return f"participante-{number:02d}-{workshop}@{domain}", f"evaluador-{number:02d}-{workshop}@{domain}"


def create_participants(app: Flask, tenant: Tenant, count: int, workshop_date: dt.date, *, workshop: str = "taller",
                        log: Callable[[str], None] = lambda m: None) -> list[dict[str, str]]:
    """Give participants 1…``count`` of a workshop their workspaces and accounts, and write the
    printable sheet ``instance/training/<workshop>-accesos.html``.

    Participant *n* gets workspace *n* (``<slug>-NN``) and two accounts there with one password:
    ``participante-NN-<workshop>@…`` (role ``editor``, the SESEA side) and
    ``evaluador-NN-<workshop>@…`` (role ``evaluator``). Accounts expire at 00:00 UTC two days
    after ``workshop_date``. A workspace that changes hands (another workshop's accounts) loses
    the previous accounts' roles and is restored to the scenario; a workspace already held by the
    same accounts keeps its work (the passwords are renewed). A workspace without a scenario gets
    one (:func:`load_scenario`, about a second each).

    Returns ``[{"number", "workspace", "email", "evaluator_email", "password", "expires"}]``.

    Raises:
        TrainingError: not a training tenant, a workspace, count outside 1…``tenant.workspaces``,
            a bad workshop name, or a workshop date so past that the accounts would be expired.
    """
    from comun_cms.setup import sync_tenants
    from comun_cms.users import create_user
    if not tenant.training or tenant.is_workspace:
        raise TrainingError(f"tenant '{tenant.slug}' is not a training tenant with workspaces")
    if tenant.workspaces < 1:
        raise TrainingError(f"'{tenant.slug}' has no participant workspaces: set workspaces = N in "
                            f"states/{tenant.slug}/tenant.toml and run `comun init`")
    if not 1 <= count <= tenant.workspaces:
        raise TrainingError(f"the number of participants must be between 1 and {tenant.workspaces} (the workspaces of "
                            f"'{tenant.slug}'; raise workspaces in states/{tenant.slug}/tenant.toml for more)")
    if not workshop.replace("-", "").isalnum() or not workshop.isascii() or len(workshop) > 30:
        raise TrainingError("the workshop name may only have letters, digits and hyphens (at most 30)")
    expires = dt.datetime.combine(workshop_date + dt.timedelta(days=2), dt.time(0, 0), tzinfo=dt.timezone.utc)
    if expires <= dt.datetime.now(dt.timezone.utc):
        raise TrainingError(f"the workshop date {workshop_date.isoformat()} is past: the accounts would already "
                            "have expired (they last until two days after the workshop)")
    sync_tenants(app)
    out = []
    for number, ws in enumerate(workspaces_of(app, tenant)[:count], 1):
        email, evaluator_email = _participant_emails(tenant, number, workshop)
        password = secrets.token_urlsafe(9)
        previous = participant(ws)
        users = []
        for address, role in ((email, "editor"), (evaluator_email, "evaluator")):
            user = create_user(address, password=password, role=role, tenant=ws, name=f"Participante {number:02d} ({workshop})",
                               expires_at=expires, is_demo=True, commit=False)
            user.set_password(password)
            user.expires_at = expires
            users.append(user)
        with tenant_context(ws):
            db.session.execute(delete(Membership).where(Membership.user_id.notin_([u.id for u in users])))
        db.session.commit()
        changed_hands = previous.editor is not None and previous.editor.id != users[0].id
        if not snapshot_path(app, ws).exists():
            load_scenario(app, ws, log=log)
        elif changed_hands:
            reset(app, ws)
        log(f"{ws.slug}: {email}")
        out.append({"number": str(number), "workspace": ws.slug, "email": email, "evaluator_email": evaluator_email,
                    "password": password, "expires": expires.isoformat()})
    sheet = sheet_path(app, workshop)
    sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.write_text(logins_sheet(tenant, workshop, workshop_date, out), encoding="utf-8")
    return out


def sheet_path(app: Flask, workshop: str) -> Path:
    """``instance/training/<workshop>-accesos.html``: the printable sheet of logins."""
    return Path(app.instance_path) / "training" / f"{workshop}-accesos.html"


def logins_sheet(tenant: Tenant, workshop: str, workshop_date: dt.date, logins: list[dict[str, str]]) -> str:
    """A printable HTML page in the tenant's language (Spanish for ``capacitacion``): one card
    per participant with the workspace address, both accounts, the password and a reminder that
    the accounts expire. Needs an application context (translations)."""
    from flask_babel import force_locale
    e = html.escape
    with force_locale(tenant.default_locale):
        labels = {"sign_in": _("Sign in"), "exercises": _("Exercises"), "editor": _("SESEA account (editing)"),
                  "evaluator": _("Evaluating organization account"), "password": _("Password (both accounts)"),
                  "expire": _("The accounts expire after the workshop. Training data, not real.")}
        headings = [_("Participant %(n)s · workspace %(slug)s", n=item["number"], slug=item["workspace"]) for item in logins]
        title = _("Logins · %(workshop)s", workshop=workshop)
        heading = _("Workshop “%(workshop)s” · %(date)s · %(state)s", workshop=workshop, date=workshop_date.isoformat(),
                    state=tenant.state)
        lang = "es" if tenant.default_locale.startswith("es") else "en"
    cards = "".join(
        f'<section class="card"><h2>{e(head)}</h2><dl>'
        f'<dt>{e(labels["sign_in"])}</dt><dd>/auth/login</dd>'
        f'<dt>{e(labels["exercises"])}</dt><dd>/{e(item["workspace"])}/capacitacion/</dd>'
        f'<dt>{e(labels["editor"])}</dt><dd>{e(item["email"])}</dd>'
        f'<dt>{e(labels["evaluator"])}</dt><dd>{e(item["evaluator_email"])}</dd>'
        f'<dt>{e(labels["password"])}</dt><dd><code>{e(item["password"])}</code></dd></dl>'
        f'<p>{e(labels["expire"])}</p></section>'
        for head, item in zip(headings, logins))
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f'<style>body{{font-family:sans-serif}}.card{{border:1px dashed #555;padding:.5em 1em;margin:.5em;'
            f'width:22em;display:inline-block;vertical-align:top;page-break-inside:avoid}}dt{{font-weight:bold}}'
            f'dd{{margin:0 0 .3em 0;word-break:break-all}}</style></head><body>'
            f'<h1>{e(heading)}</h1>{cards}</body></html>')


# --------------------------------------------------------------------------- check my work
def check_exercise(who: Participant, exercise: int | Exercise) -> CheckResult:
    """Inspect ``who``'s workspace for one exercise (every task's ``check``). Nothing is changed.

    Raises:
        TrainingError: unknown exercise number.
    """
    ex = exercise if isinstance(exercise, Exercise) else get_exercise(exercise, who.workspace)
    result = CheckResult(ex)
    with tenant_context(who.workspace):
        for task in ex.tasks:
            result.groups.append((task, list(task.check(who))))
    return result


def progress(who: Participant) -> list[CheckResult]:
    """:func:`check_exercise` for every exercise."""
    return [check_exercise(who, ex) for ex in exercises(who.workspace)]


# --------------------------------------------------------------------------- web pages
bp = Blueprint("training", __name__, url_prefix="/capacitacion")


def _require_training() -> Tenant:
    from comun_cms.tenancy import get_current_tenant
    tenant = get_current_tenant()
    if tenant is None or not tenant.training:
        abort(404)
    return tenant


def _parent(tenant: Tenant) -> Tenant:
    return current_app.extensions["comun"].tenants[tenant.workspace_of] if tenant.is_workspace else tenant


def can_follow(workspace: Tenant, user=None) -> bool:
    """``True`` if ``user`` (default: the current user) may see the progress of ``workspace``:
    its own accounts, and trainers and administrators of its training tenant."""
    from comun_cms.permissions import has_role
    user = user or current_user
    if not getattr(user, "is_authenticated", False):
        return False
    return has_role(*PARTICIPANT_ROLES, tenant=workspace, user=user) or \
        has_role("trainer", "admin", tenant=_parent(workspace), user=user)


def _render(heading: str, **context):
    defaults = {"exercises": None, "results": None, "ex": None, "result": None, "own_workspace": None,
                "is_trainer": False, "rows": None, "start_links": {}}
    return render_template("training/page.html", heading=heading, **{**defaults, **context})


@bp.get("/")
def index():
    """The exercises; in a workspace, its progress for its participant and trainers; on the
    training tenant, a link to the visitor's own workspace and, for trainers, to the overview."""
    from comun_cms.permissions import has_role
    tenant = _require_training()
    exs = exercises(tenant)
    results = progress(participant(tenant)) if tenant.is_workspace and can_follow(tenant) else None
    own = None if tenant.is_workspace else workspace_of_user(current_app, current_user, tenant)
    trainer = not tenant.is_workspace and current_user.is_authenticated and has_role("trainer", "admin")
    return _render(_("Training exercises"), exercises=exs, results=results, own_workspace=own, is_trainer=trainer)


@bp.get("/<int:number>")
def exercise(number: int):
    """Goals and steps of one exercise, with links to where each task starts (in a workspace)."""
    tenant = _require_training()
    try:
        ex = get_exercise(number, tenant)
    except TrainingError:
        abort(404)
    links = {}
    if tenant.is_workspace and can_follow(tenant):
        for task in ex.tasks:
            if task.start_endpoint:
                try:
                    links[task.key] = url_for(task.start_endpoint)
                except BuildError:  # a plugin naming an endpoint that does not exist: no link
                    current_app.logger.warning("training task %s: unknown start_endpoint %r", task.key, task.start_endpoint)
    own = None if tenant.is_workspace else workspace_of_user(current_app, current_user, tenant)
    return _render(_("Exercise %(n)d", n=number), ex=ex, start_links=links, own_workspace=own)


@bp.get("/<int:number>/revisar")
def check(number: int):
    """"Check my work": what the workspace's participant has done in this exercise (its
    accounts and the trainers may look). On the training tenant it leads to the visitor's own
    workspace."""
    tenant = _require_training()
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    try:
        ex = get_exercise(number, tenant)
    except TrainingError:
        abort(404)
    if not tenant.is_workspace:
        own = workspace_of_user(current_app, current_user, tenant)
        if own is not None:
            return redirect(url_for("training.check", tenant=own.slug, number=number), code=303)
        return _render(_("Check my work: exercise %(n)d", n=number), no_workspace=True)
    if not can_follow(tenant):
        abort(403)
    return _render(_("Check my work: exercise %(n)d", n=number), result=check_exercise(participant(tenant), ex))


@bp.get("/avance")
@require_role("trainer", "admin")
def overview():
    """The trainer's overview: each workspace with a participant and the exercises done."""
    tenant = _require_training()
    if tenant.is_workspace:
        abort(404)
    rows = []
    for ws in workspaces_of(current_app, tenant):
        who = participant(ws)
        if who.editor is None:
            continue
        rows.append((ws, who, progress(who)))
    return _render(_("Workshop progress"), rows=rows, exercises=exercises(tenant), is_trainer=True)


def init_app(app: Flask) -> None:
    """Mount the training pages under ``/<tenant>/capacitacion/`` (404 outside training
    tenants). Call in ``create_app`` before the first request."""
    from comun_cms.app import register_tenant_blueprint
    if "training" not in app.blueprints:
        register_tenant_blueprint(app, bp)


# --------------------------------------------------------------------------- command line
def _tenant_or_fail(slug: str | None) -> Tenant:
    try:
        return training_tenant(current_app._get_current_object(), slug)
    except TrainingError as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant") from None


_tenant_opt = click.option("--tenant", "slug", default=None, metavar="SLUG", help="Training tenant (default: the only one).")


@click.group("training")
def training_group() -> None:
    """Training workshops: scenario, participants and workspaces, reset, check my work."""


@training_group.command("load")
@_tenant_opt
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@with_appcontext
def load_cmd(slug: str | None, quiet: bool) -> None:
    """Load the training scenario (the plugins' training material and the 13 exercise pages)
    into the training tenant and save it as the state `comun training reset` restores.
    Workspaces get theirs from `comun training participants`."""
    from comun_cms.setup import sync_tenants
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(slug)
    sync_tenants(app)
    result = load_scenario(app, tenant, log=(lambda m: None) if quiet else click.echo)
    click.echo(f"Scenario of {tenant.slug}: {result['records']} training record(s), "
               f"{result['exercises']} new exercise page(s).")


@training_group.command("participants")
@click.argument("count", type=click.IntRange(1, 200))
@click.option("--date", "workshop_date", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Workshop date (YYYY-MM-DD); accounts stop working two days later.")
@click.option("--workshop", default="taller", show_default=True, help="Workshop name (letters, digits, hyphens).")
@_tenant_opt
@with_appcontext
def participants_cmd(count: int, workshop_date, workshop: str, slug: str | None) -> None:
    """Give COUNT participants their workspaces and accounts and print their logins (a
    printable HTML sheet is written to instance/training/<workshop>-accesos.html)."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(slug)
    try:
        logins = create_participants(app, tenant, count, workshop_date.date(), workshop=workshop)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    for item in logins:
        click.echo(f"{item['workspace']:18} {item['email']:48} {item['evaluator_email']:46} {item['password']}")
    click.echo(f"Printable sheet: {sheet_path(app, workshop)}")


@training_group.command("reset")
@click.option("--exercise", type=int, default=None,
              help="Start at exercise N: workspaces get the model answers of exercises 1..N-1.")
@click.option("--workspace", type=int, default=None, help="Only workspace N (one participant).")
@_tenant_opt
@with_appcontext
def reset_cmd(exercise: int | None, workspace: int | None, slug: str | None) -> None:
    """Restore the training scenario of the training tenant and every workspace (or one);
    participants keep their accounts, their work is removed."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(slug)
    try:
        result = reset(app, tenant, exercise, workspace)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    start = f", starting at exercise {exercise}" if exercise is not None else ""
    click.echo(f"Scenario restored in {len(result['tenants'])} tenant(s) ({', '.join(result['tenants'])}){start}: "
               f"{result['rows']} row(s) in {result['seconds']} s.")


def _print_results(results: list[CheckResult]) -> None:
    for res in results:
        click.echo(f"{res.exercise.number:2}. {res.exercise.step}: {'done' if res.done else 'pending'}")
        for item in res.items:
            click.echo(f"    [{'x' if item.done else ' '}] {item.label}" + ("" if item.done else f" — {item.hint}"))


@training_group.command("check")
@click.argument("email")
@click.option("--exercise", type=int, default=None, help="Only exercise N.")
@_tenant_opt
@with_appcontext
def check_cmd(email: str, exercise: int | None, slug: str | None) -> None:
    """Show what participant EMAIL (either of their accounts) has done, for every exercise or one."""
    from comun_cms.users import find_user
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(slug)
    user = find_user(email)
    if user is None:
        raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
    ws = workspace_of_user(app, user, tenant)
    if ws is None:
        raise click.BadParameter(f"{email} has no workspace in '{tenant.slug}'", param_hint="EMAIL")
    try:
        who = participant(ws)
        results = [check_exercise(who, exercise)] if exercise is not None else progress(who)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Workspace {ws.slug}")
    _print_results(results)


@training_group.command("progress")
@_tenant_opt
@with_appcontext
def progress_cmd(slug: str | None) -> None:
    """One line per workspace with a participant: exercises done (✔) and pending (·)."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(slug)
    shown = 0
    for ws in workspaces_of(app, tenant):
        who = participant(ws)
        if who.editor is None:
            continue
        marks = "".join("✔" if r.done else "·" for r in progress(who))
        click.echo(f"{ws.slug:18} {marks} {marks.count('✔'):2}/13 {who.editor.email}")
        shown += 1
    if not shown:
        click.echo("No workspace has a participant yet (comun training participants N --date YYYY-MM-DD).")


@training_group.command("exercises")
@_tenant_opt
@with_appcontext
def exercises_cmd(slug: str | None) -> None:
    """List the 13 exercises (steps of the local strategy) and their tasks."""
    tenant = _tenant_or_fail(slug)
    for ex in exercises(tenant):
        click.echo(f"{ex.number:2}. {ex.step}  [{'; '.join(task.key for task in ex.tasks)}]")


__all__ = ["CORE_TASKS", "EXERCISES", "CheckItem", "CheckResult", "Exercise", "Participant", "TrainingError",
           "TrainingTask", "apply_answers", "can_follow", "check_exercise", "create_participants", "dump_tenant",
           "exercises", "get_exercise", "get_workspace", "init_app", "load_scenario", "logins_sheet", "participant",
           "participant_publications", "progress", "reset", "save_snapshot", "training_tenant", "workspace_of_user",
           "workspaces_of"]
