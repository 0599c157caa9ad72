"""Training workshops on a training tenant (``training = true`` in ``tenant.toml``, e.g.
``states/capacitacion``): scenario, exercises, participants, reset and "check my work".

* :func:`load_scenario` loads the plugins' training material (``action_plans``:
  ``load_training_plans``; ``stl_minutes``: ``load_training_sessions``) and one published page
  per exercise ("Material de capacitación", ``is_demo=True``), then saves a snapshot of every
  tenant-scoped row of the training tenant in ``instance/training/<slug>.snapshot``.
* :data:`EXERCISES`: 13 exercises, one per step of the local open-government strategy
  (``local_strategy_steps`` in shared/data/stl_sessions.json), each with goals, steps and a check.
* :func:`create_participants` creates N editor accounts of the training tenant that expire the
  day after the workshop, and writes a printable HTML sheet of logins.
* Workspaces are approximated: participant *u<id>* works on pages whose address starts with
  ``u<id>-`` (``u12-ej04`` for exercise 4); :func:`check_exercise` looks only at those pages
  and at publications made by that participant.
* :func:`reset` restores the snapshot: deletes every tenant-scoped row of the training tenant
  (memberships and invitations are kept, so participants can still log in) and re-inserts the
  saved rows with their ids (``--exercise N`` restores the same scenario, the common starting
  point of every exercise).

Command line: ``comun training load|participants|reset|check|exercises``.
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
from flask.cli import with_appcontext
from flask import Blueprint, Flask, abort, current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from comun_cms.extensions import db
from comun_cms.models import Page, Publication, SearchOutbox, User
from comun_cms.tenancy import Tenant, tenant_context

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


class TrainingError(Exception):
    """Training operation refused; ``str(error)`` says why (e.g. not a training tenant)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``number`` (1–13), ``step`` (strategy step), ``section`` (site section the
    participant's page goes in), ``goals`` and ``steps`` (Spanish text), ``keywords`` the page
    must mention."""

    number: int
    step: str
    section: str
    goals: tuple[str, ...]
    steps: tuple[str, ...]
    keywords: tuple[str, ...]

    def slug_for(self, user: User) -> str:
        """Address of the participant's page for this exercise (``u<id>-ej<NN>``)."""
        return f"{workspace_prefix(user)}-ej{self.number:02d}"


@dataclass
class CheckItem:
    """One line of "check my work": ``label``, ``done`` and a ``hint`` when not done."""

    label: str
    done: bool
    hint: str = ""


@dataclass
class CheckResult:
    """Result of :func:`check_exercise`: the items and ``done`` (all items done)."""

    exercise: Exercise
    items: list[CheckItem] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(i.done for i in self.items)


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


def _build_exercises() -> tuple[Exercise, ...]:
    out = []
    for number, (step, (section, keywords, what)) in enumerate(zip(strategy_steps(), _SPEC), 1):
        out.append(Exercise(
            number=number, step=step, section=section,
            goals=(f"Practicar el paso {number} de la estrategia local: {step}.",
                   f"Redactar y publicar en el sitio de práctica {what}.",
                   "Comprobar que lo publicado queda registrado con su versión y su huella (SHA-256)."),
            steps=(f"Entra a Administración → Páginas y crea una página nueva con la dirección "
                   f"«<tu prefijo>-ej{number:02d}» (tu prefijo está en tu hoja de acceso).",
                   f"Elige la sección del sitio «{section}».",
                   "Escribe el texto; menciona: " + ", ".join(f"«{k}»" for k in keywords) + ".",
                   "Guarda el borrador, revísalo y publícalo.",
                   "Abre «Revisar mi trabajo» de este ejercicio."),
            keywords=keywords))
    return tuple(out)


EXERCISES: tuple[Exercise, ...] = _build_exercises()


def get_exercise(number: int) -> Exercise:
    """Return exercise ``number`` (1–13); raises :class:`TrainingError` otherwise."""
    if not 1 <= number <= len(EXERCISES):
        raise TrainingError(f"there is no exercise {number}; exercises go from 1 to {len(EXERCISES)}")
    return EXERCISES[number - 1]


def workspace_prefix(user: User) -> str:
    """The participant's page-address prefix: ``u<user id>``."""
    return f"u{user.id}"


def training_tenant(app: Flask, slug: str | None = None) -> Tenant:
    """Return the training tenant ``slug`` (default: the only training tenant).

    Raises:
        TrainingError: unknown slug, not a training tenant, or no/ambiguous training tenant.
    """
    tenants = app.extensions["comun"].tenants
    if slug is not None:
        tenant = tenants.get(slug)
        if tenant is None:
            raise TrainingError(f"unknown tenant '{slug}'")
        if not tenant.training:
            raise TrainingError(f"tenant '{slug}' is not a training tenant (training = true in tenant.toml)")
        return tenant
    found = [t for t in tenants.values() if t.training]
    if len(found) != 1:
        raise TrainingError("give --tenant: there is no training tenant or more than one")
    return found[0]


# --------------------------------------------------------------------------- scenario
def _exercise_page_body(ex: Exercise) -> str:
    lines = [f"*{TRAINING_LABEL}.*", "", f"## Paso {ex.number}: {ex.step}", "", "### Objetivos", ""]
    lines += [f"- {g}" for g in ex.goals]
    lines += ["", "### Pasos", ""]
    lines += [f"{i}. {s}" for i, s in enumerate(ex.steps, 1)]
    return "\n".join(lines) + "\n"


def load_scenario(app: Flask, tenant: Tenant, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Load the training scenario into ``tenant`` and save its snapshot. Idempotent.

    Returns ``{"plans": int, "sessions": int, "exercises": int, "missing": [str]}`` where
    ``missing`` names training loaders that are not available.

    Raises:
        TrainingError: ``tenant`` is not a training tenant.
    """
    import importlib

    from comun_cms.demo import DemoContext
    from comun_cms.publishing import publish
    if not tenant.training:
        raise TrainingError(f"tenant '{tenant.slug}' is not a training tenant")
    pm = app.extensions["comun"].pm
    result: dict[str, Any] = {"plans": 0, "sessions": 0, "exercises": 0, "missing": []}
    loaders = (("plans", "action_plans", "plugins.action_plans.loaders", "load_training_plans"),
               ("sessions", "stl_minutes", "plugins.stl_minutes.demo", "load_training_sessions"))
    with tenant_context(tenant):
        ctx = DemoContext(tenant=tenant, user=None, log=log)
        for key, plugin, module_name, func_name in loaders:
            if pm.get_plugin(plugin) is None or not tenant.enables(plugin):
                result["missing"].append(f"{plugin} (not installed or not enabled)")
                continue
            try:
                func = getattr(importlib.import_module(module_name), func_name)
            except (ImportError, AttributeError):
                result["missing"].append(f"{module_name}.{func_name}")
                continue
            result[key] = func(tenant, ctx) or 0
            db.session.commit()
        for ex in EXERCISES:
            slug = f"ejercicio-{ex.number:02d}"
            if db.session.scalar(select(Page.id).where(Page.slug == slug)) is not None:
                continue
            page = Page(slug=slug, title=f"Ejercicio {ex.number}: {ex.step}", summary=TRAINING_LABEL,
                        body=_exercise_page_body(ex), section="", language="es", source=TRAINING_LABEL, is_demo=True)
            db.session.add(page)
            publish(page)
            result["exercises"] += 1
        db.session.commit()
    save_snapshot(app, tenant)
    log(f"{tenant.slug}: scenario loaded {result}")
    return result


def _tables(tenant_only: bool = True):
    # plugins' own derived tables (the notary log) are handled by the tenant_reset hook
    return [t for t in db.metadata.sorted_tables
            if "tenant_id" in t.c and t.name not in KEEP_TABLES and not t.name.startswith("notary_")]


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


def reset(app: Flask, tenant: Tenant, exercise: int | None = None) -> dict[str, Any]:
    """Restore the training scenario: delete the tenant's rows (except memberships and
    invitations) and re-insert the snapshot; drop the tenant's pending search work and rebuild
    its search documents. ``exercise`` (validated) names the exercise the trainer restarts:
    every exercise starts from the same scenario, so the whole scenario is restored.

    Returns ``{"rows": restored row count, "seconds": float}``.

    Raises:
        TrainingError: not a training tenant, no snapshot (run ``comun training load``), or an
            unknown exercise.
    """
    if not tenant.training:
        raise TrainingError(f"tenant '{tenant.slug}' is not a training tenant; refusing to reset it")
    if exercise is not None:
        get_exercise(exercise)
    path = snapshot_path(app, tenant)
    if not path.exists():
        raise TrainingError(f"no scenario snapshot at {path}; run `comun training load` first")
    started = time.monotonic()
    data = pickle.loads(path.read_bytes())  # our own file in the instance folder
    tables = _tables()
    from comun_cms.plugins import tenant_hook
    with tenant_context(tenant):
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
        db.session.commit()
    service = app.extensions["comun"].search
    if service is not None:
        try:
            service.reindex(tenants=[tenant])
        except Exception:  # noqa: BLE001 - the data is restored; only the index lags
            current_app.logger.warning("training reset: search reindex failed; run `comun search reindex`",
                                       exc_info=True)
    return {"rows": rows, "seconds": round(time.monotonic() - started, 3), "exercise": exercise}


# --------------------------------------------------------------------------- participants
def create_participants(app: Flask, tenant: Tenant, count: int, workshop_date: dt.date, *, workshop: str = "taller",
                        role: str = "editor") -> list[dict[str, str]]:
    """Create ``count`` participant accounts (role ``editor`` in the training tenant) that
    expire at the end of the day after ``workshop_date`` (UTC), and write the printable sheet
    ``instance/training/<workshop>-accesos.html``.

    Returns ``[{"email", "password", "prefix", "expires"}]``.

    Raises:
        TrainingError: not a training tenant, count outside 1–200, or a bad workshop name.
    """
    from comun_cms.users import create_user
    if not tenant.training:
        raise TrainingError(f"tenant '{tenant.slug}' is not a training tenant")
    if not 1 <= count <= 200:
        raise TrainingError("the number of participants must be between 1 and 200")
    if not workshop.replace("-", "").isalnum():
        raise TrainingError("the workshop name may only have letters, digits and hyphens")
    expires = dt.datetime.combine(workshop_date + dt.timedelta(days=2), dt.time(0, 0), tzinfo=dt.timezone.utc)
    out = []
    for n in range(1, count + 1):
        email = f"participante-{n:02d}-{workshop}@{tenant.slug}.capacitacion.test"
        password = secrets.token_urlsafe(9)
        user = create_user(email, password=password, role=role, tenant=tenant, name=f"Participante {n:02d} ({workshop})",
                           expires_at=expires, is_demo=True, commit=False)
        if user.expires_at != expires or not user.check_password(password):  # existing account: new password
            user.set_password(password)
            user.expires_at = expires
        out.append({"email": email, "password": password, "prefix": workspace_prefix(user),
                    "expires": expires.isoformat()})
    db.session.commit()
    sheet = Path(app.instance_path) / "training" / f"{workshop}-accesos.html"
    sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.write_text(logins_sheet(tenant, workshop, workshop_date, out), encoding="utf-8")
    return out


def logins_sheet(tenant: Tenant, workshop: str, workshop_date: dt.date, logins: list[dict[str, str]]) -> str:
    """A printable HTML page: one card per participant (address, e-mail, password, prefix)."""
    e = html.escape
    cards = "".join(
        f'<section class="card"><h2>{e(item["email"].split("@")[0])}</h2><dl>'
        f'<dt>Entrada</dt><dd>/auth/login · /{e(tenant.slug)}/capacitacion/</dd><dt>Correo</dt><dd>{e(item["email"])}</dd>'
        f'<dt>Contraseña</dt><dd><code>{e(item["password"])}</code></dd>'
        f'<dt>Tu prefijo</dt><dd><code>{e(item["prefix"])}</code></dd></dl>'
        f'<p>La cuenta vence después del taller. Datos de capacitación, no reales.</p></section>'
        for item in logins)
    return (f'<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Accesos · {e(workshop)}</title>'
            f'<style>body{{font-family:sans-serif}}.card{{border:1px dashed #555;padding:.5em 1em;margin:.5em;'
            f'width:20em;display:inline-block;page-break-inside:avoid}}dt{{font-weight:bold}}</style></head><body>'
            f'<h1>Taller «{e(workshop)}» · {e(workshop_date.isoformat())} · {e(tenant.state)}</h1>{cards}</body></html>')


# --------------------------------------------------------------------------- check my work
def check_exercise(user: User, exercise: int | Exercise, tenant: Tenant) -> CheckResult:
    """Inspect ``user``'s workspace for one exercise: the page ``u<id>-ej<NN>`` exists, is in
    the expected section, mentions every keyword, and was published by ``user``.

    Returns a :class:`CheckResult`; nothing is changed.
    """
    ex = exercise if isinstance(exercise, Exercise) else get_exercise(exercise)
    slug = ex.slug_for(user)
    result = CheckResult(ex)
    with tenant_context(tenant):
        page = db.session.scalar(select(Page).where(Page.slug == slug))
        result.items.append(CheckItem(_("A page with the address “%(slug)s” exists", slug=slug), page is not None,
                                      _("Create it in Administration → Pages.")))
        if page is None:
            return result
        result.items.append(CheckItem(_("It is in the section “%(section)s”", section=ex.section),
                                      page.section == ex.section, _("Change the page's section.")))
        text = f"{page.title} {page.summary} {page.body}".lower()
        for keyword in ex.keywords:
            result.items.append(CheckItem(_("The text mentions “%(word)s”", word=keyword), keyword.lower() in text,
                                          _("Add it to the text and save.")))
        published = db.session.scalar(select(Publication.id).where(
            Publication.content_type == "page", Publication.record_id == str(page.id),
            Publication.published_by_id == user.id)) is not None
        result.items.append(CheckItem(_("You published it"), published,
                                      _("Publish the page (or publish a correction).")))
    return result


def progress(user: User, tenant: Tenant) -> list[CheckResult]:
    """:func:`check_exercise` for every exercise."""
    return [check_exercise(user, ex, tenant) for ex in EXERCISES]


# --------------------------------------------------------------------------- web pages
bp = Blueprint("training", __name__, url_prefix="/capacitacion")

def _require_training():
    from comun_cms.tenancy import get_current_tenant
    tenant = get_current_tenant()
    if tenant is None or not tenant.training:
        abort(404)
    return tenant


@bp.get("/")
def index():
    """List of exercises (with the participant's progress when logged in)."""
    from flask_login import current_user
    tenant = _require_training()
    results = progress(current_user, tenant) if current_user.is_authenticated else None
    return render_template("training/page.html", heading=_("Training exercises"), exercises=EXERCISES, results=results,
                                  ex=None, result=None, prefix=None)


@bp.get("/<int:number>")
def exercise(number: int):
    """Goals and steps of one exercise."""
    from flask_login import current_user
    _require_training()
    try:
        ex = get_exercise(number)
    except TrainingError:
        abort(404)
    prefix = workspace_prefix(current_user) if current_user.is_authenticated else None
    return render_template("training/page.html", heading=_("Exercise %(n)d", n=number), ex=ex, exercises=None, results=None,
                                  result=None, prefix=prefix)


@bp.get("/<int:number>/revisar")
def check(number: int):
    """"Check my work": what the logged-in participant has done in this exercise."""
    from flask import redirect, request, url_for
    from flask_login import current_user
    tenant = _require_training()
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    try:
        ex = get_exercise(number)
    except TrainingError:
        abort(404)
    return render_template("training/page.html", heading=_("Check my work: exercise %(n)d", n=number), ex=None,
                                  exercises=None, results=None, result=check_exercise(current_user, ex, tenant),
                                  prefix=None)


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
    """Training workshops: scenario, participants, reset, check my work."""


@training_group.command("load")
@_tenant_opt
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@with_appcontext
def load_cmd(slug: str | None, quiet: bool) -> None:
    """Load the training scenario (plugins' training material and the 13 exercises) and save
    it as the state `comun training reset` restores."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(slug)
    from comun_cms.setup import sync_tenants
    sync_tenants(app)
    result = load_scenario(app, tenant, log=(lambda m: None) if quiet else click.echo)
    click.echo(f"Scenario of {tenant.slug}: {result['plans']} plan(s), {result['sessions']} session(s), "
               f"{result['exercises']} new exercise page(s).")
    for missing in result["missing"]:
        click.echo(f"  training loader not available: {missing}")


@training_group.command("participants")
@click.argument("count", type=click.IntRange(1, 200))
@click.option("--date", "workshop_date", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Workshop date (YYYY-MM-DD); accounts stop working after the next day.")
@click.option("--workshop", default="taller", show_default=True, help="Workshop name (letters, digits, hyphens).")
@_tenant_opt
@with_appcontext
def participants_cmd(count: int, workshop_date, workshop: str, slug: str | None) -> None:
    """Create COUNT participant accounts and print their logins (a printable HTML sheet is
    written to instance/training/<workshop>-accesos.html)."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(slug)
    try:
        logins = create_participants(app, tenant, count, workshop_date.date(), workshop=workshop)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    sheet = Path(app.instance_path) / "training" / f"{workshop}-accesos.html"
    for item in logins:
        click.echo(f"{item['email']:52} {item['password']:14} prefix {item['prefix']}")
    click.echo(f"Printable sheet: {sheet}")


@training_group.command("reset")
@click.option("--exercise", type=int, default=None, help="Restart exercise N (every exercise starts from the scenario).")
@_tenant_opt
@with_appcontext
def reset_cmd(exercise: int | None, slug: str | None) -> None:
    """Restore the training scenario saved by `comun training load` (participants keep their
    accounts; their work is removed)."""
    app = current_app._get_current_object()
    tenant = _tenant_or_fail(slug)
    try:
        result = reset(app, tenant, exercise)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Scenario of {tenant.slug} restored: {result['rows']} row(s) in {result['seconds']} s.")


@training_group.command("check")
@click.argument("email")
@click.option("--exercise", type=int, default=None, help="Only exercise N.")
@_tenant_opt
@with_appcontext
def check_cmd(email: str, exercise: int | None, slug: str | None) -> None:
    """Show what participant EMAIL has done (check my work), for every exercise or one."""
    from comun_cms.users import find_user
    tenant = _tenant_or_fail(slug)
    user = find_user(email)
    if user is None:
        raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
    try:
        results = [check_exercise(user, exercise, tenant)] if exercise else progress(user, tenant)
    except TrainingError as exc:
        raise click.UsageError(str(exc)) from None
    for res in results:
        click.echo(f"{res.exercise.number:2}. {res.exercise.step}: {'done' if res.done else 'pending'}")
        for item in res.items:
            click.echo(f"    [{'x' if item.done else ' '}] {item.label}" + ("" if item.done else f" — {item.hint}"))


@training_group.command("exercises")
def exercises_cmd() -> None:
    """List the 13 exercises (steps of the local strategy)."""
    for ex in EXERCISES:
        click.echo(f"{ex.number:2}. {ex.step}  [section: {ex.section}; mention: {', '.join(ex.keywords)}]")


__all__ = ["EXERCISES", "CheckItem", "CheckResult", "Exercise", "TrainingError", "check_exercise",
           "create_participants", "dump_tenant", "get_exercise", "init_app", "load_scenario", "logins_sheet",
           "progress", "reset", "save_snapshot", "training_tenant", "workspace_prefix"]
