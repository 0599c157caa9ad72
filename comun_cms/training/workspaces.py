"""Training workspaces: participants, the scenario and its snapshots, reset.

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
* **Participants.** :func:`create_participants` gives participant *n* workspace *n*, two accounts
  that expire after the workshop, and a printable sheet of logins.
* **Reset.** :func:`reset` restores snapshots (every workspace, or one); with ``exercise=N``
  each workspace then gets the model answers of exercises 1…N-1, so the group (or one
  participant) can start at exercise N.
"""
from __future__ import annotations

import datetime as dt
import html
import pickle
import time
from pathlib import Path
from typing import Any, Callable

from flask import Flask, current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import delete, insert, select

from comun_cms.extensions import db
from comun_cms.hooktypes import DemoContext, Participant
from comun_cms.models import REBUILT_ON_RESET, Membership, Page, SearchOutbox, User
from comun_cms.pagecache import bump_generation
from comun_cms.plugins import tenant_hook
from comun_cms.private_files import write_private
from comun_cms.publishing import publish
from comun_cms.setup import sync_tenants
from comun_cms.tenancy import Tenant, tenant_context, workspace_slug
from comun_cms.training.exercises import Exercise, TrainingError, exercises, get_exercise
from comun_cms.users import create_user, generate_password

__all__ = ["KEEP_TABLES", "PARTICIPANT_ROLES", "TRAINING_LABEL", "apply_answers", "create_participants", "dump_tenant",
           "get_workspace", "load_scenario", "logins_sheet", "participant", "reset", "save_snapshot", "sheet_path",
           "snapshot_path", "training_tenant", "workspace_of_user", "workspaces_of"]

#: Tables a reset keeps (participants' access).
KEEP_TABLES = frozenset({"memberships", "invitations"})
TRAINING_LABEL = "Material de capacitación (dato de ejemplo)"
#: Roles of a participant's two accounts in their workspace.
PARTICIPANT_ROLES = ("editor", "evaluator")


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
    with tenant_context(tenant):
        data = dump_tenant(tenant)
    write_private(path, pickle.dumps(data))  # users' rows: 0600 in a 0700 folder
    return path


def _restore(app: Flask, tenant: Tenant) -> int:
    """Delete ``tenant``'s rows (memberships and invitations kept) and re-insert its snapshot,
    inside the current transaction. Returns the rows inserted."""
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
    bump_generation(tenant.slug)  # its public pages changed wholesale
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
        password = generate_password(email, f"Participante {number:02d} ({workshop})")
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
    write_private(sheet, logins_sheet(tenant, workshop, workshop_date, out))  # passwords: 0600 in a 0700 folder
    return out


def sheet_path(app: Flask, workshop: str) -> Path:
    """``instance/training/<workshop>-accesos.html``: the printable sheet of logins."""
    return Path(app.instance_path) / "training" / f"{workshop}-accesos.html"


def logins_sheet(tenant: Tenant, workshop: str, workshop_date: dt.date, logins: list[dict[str, str]]) -> str:
    """A printable HTML page in the tenant's language (Spanish for ``capacitacion``): one card
    per participant with the workspace address, both accounts, the password and a reminder that
    the accounts expire. Needs an application context (translations)."""
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
