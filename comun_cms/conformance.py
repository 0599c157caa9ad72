"""Conformance kit for Común CMS plugins: ``check_plugin(app, name)``.

A plugin author calls it from a pytest test with the fixtures of :mod:`comun_cms.testing`::

    from comun_cms.testing import check_plugin

    def test_plugin_conforms(app):
        check_plugin(app, "news")          # raises AssertionError listing every problem

It checks, in order:

``hooks``
    every ``@hookimpl`` matches a spec of :mod:`comun_cms.hookspecs` (no unknown hook names such
    as a misspelled ``on_publsh``, no argument the spec does not have; pluggy's own validation
    and ``check_pending``), and no function named like a hook lacks the decorator.
``migrations``
    the plugin's models have an Alembic branch labelled with the plugin name; upgrading to every
    head works; autogenerate finds no difference for the plugin's tables.
``templates``
    every template of the plugin's blueprints compiles, and the templates it extends, includes
    or imports exist, in every tenant's theme chain (state overrides, theme, default theme).
``publishing``
    a sample record of each of the plugin's content types publishes in every tenant, gets a
    search-outbox row, and a notary log entry where the notary plugin is enabled.
``isolation``
    every GET route of the plugin, for every tenant, shows no draft and no other tenant's
    record; detail routes of another tenant's records do not show them; admin routes answer
    403/404 to users of other tenants.
``translations``
    every msgid extracted from the plugin's Python code and templates is in its ``es_MX`` and
    ``en`` catalogs.

The kit writes sample records, users and publications: run it on a test database (the ``app``
fixture). The plugin is enabled in every tenant while the kit runs (see :func:`enable_plugin`).
Sample records come from the plugin module's ``sample_record(content_type, tenant, marker)``
when it has one, from ``factories={content type name: callable}``, or else from the content
type's model with every required column filled with defaults.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import difflib
import inspect
import secrets
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pluggy
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from flask import g, has_app_context, request_started, url_for
from jinja2 import TemplateNotFound, meta
from sqlalchemy import select

from comun_cms import hookspecs
from comun_cms.extensions import db
from comun_cms.models import SearchOutbox
from comun_cms.plugins import tenant_hook
from comun_cms.publishing import publish
from comun_cms.search.service import doc_id
from comun_cms.setup import alembic_config, upgrade_database
from comun_cms.tenancy import get_current_tenant, reset_current_tenant, set_current_tenant, tenant_context
from comun_cms.users import create_user

CHECKS = ("hooks", "migrations", "templates", "publishing", "isolation", "translations")

#: babel extraction map used for plugin packages (same rules as the project's babel.cfg).
METHOD_MAP = [
    ("**/tests/**", "ignore"),
    ("**/migrations/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),
    ("**/templates/**.xml", "jinja2"),
]


@dataclass(frozen=True)
class Problem:
    """One failed check: ``check`` (one of :data:`CHECKS`), ``message`` (what is wrong) and
    ``fix`` (what to do)."""

    check: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}" + (f"\n    fix: {self.fix}" if self.fix else "")


@dataclass
class Report:
    """Result of :func:`check_plugin`: ``problems`` (failures), ``warnings`` (advice that does
    not fail), ``checked`` (one line per thing verified)."""

    plugin: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """``True`` when no problem was found."""
        return not self.problems

    def add(self, check: str, message: str, fix: str = "") -> None:
        """Record a problem."""
        self.problems.append(Problem(check, message, fix))

    def format(self) -> str:
        """Human-readable text: every problem with its fix (or that the plugin passes, with
        what was checked), then the warnings."""
        if self.passed:
            lines = [f"plugin '{self.plugin}' passes the Común CMS conformance kit (no problems):"]
            lines += [f"  - {c}" for c in self.checked]
        else:
            lines = [f"plugin '{self.plugin}' fails the Común CMS conformance kit "
                     f"({len(self.problems)} problem(s)):"]
            lines += [f"  {i}. {p}" for i, p in enumerate(self.problems, 1)]
        if self.warnings:
            lines.append("warnings:")
            lines += [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


class ConformanceError(AssertionError):
    """Raised by :func:`check_plugin`; ``report`` is the :class:`Report`."""

    def __init__(self, report: Report):
        self.report = report
        super().__init__(report.format())


# --------------------------------------------------------------------------- helpers
def _spec_signatures() -> dict[str, tuple[str, ...]]:
    out = {}
    for name in dir(hookspecs):
        func = getattr(hookspecs, name)
        if callable(func) and hasattr(func, hookspecs.PROJECT_NAME + "_spec"):
            out[name] = tuple(inspect.signature(func).parameters)
    return out


def _required_args(func: Callable) -> tuple[str, ...]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return ()
    return tuple(p.name for p in params if p.default is inspect.Parameter.empty
                 and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self")


def check_hooks(plugin: Any, name: str) -> list[Problem]:
    """Static check of a plugin object's hook implementations against the specs.

    Returns a list of :class:`Problem` (empty when every hook matches). Does not need an app.
    """
    problems: list[Problem] = []
    specs = _spec_signatures()
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for attr in sorted(dir(plugin)):
        if attr.startswith("__"):
            continue
        try:
            value = getattr(plugin, attr)
        except Exception:  # pragma: no cover - exotic descriptors
            continue
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            if attr in specs and (inspect.isfunction(value) or inspect.ismethod(value)):
                problems.append(Problem("hooks", f"function '{attr}' has the name of a hook but is not decorated "
                                                 f"with @hookimpl, so the core never calls it",
                                        f"add `@hookimpl` (from comun_cms.toolkit import hookimpl) above `def {attr}`"))
            continue
        hook = opts.get("specname") or attr
        if hook not in specs:
            close = difflib.get_close_matches(hook, list(specs), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(Problem("hooks", f"'{hook}' is not a hook of Común CMS ({hint}known hooks: see "
                                             f"comun_cms/hookspecs.py)",
                                    f"rename it to '{close[0]}'" if close else "remove the @hookimpl marker or "
                                    "rename the function to an existing hook"))
            continue
        extra = [a for a in _required_args(value) if a not in specs[hook]]
        if extra:
            problems.append(Problem("hooks", f"hook '{hook}' takes argument(s) {', '.join(repr(a) for a in extra)} "
                                             f"that the spec does not pass",
                                    f"use the spec's signature: def {hook}({', '.join(specs[hook])})"))
    if not problems:
        try:
            pm.register(plugin, name=f"conformance-{name}")
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            problems.append(Problem("hooks", f"pluggy rejects the plugin: {exc}",
                                    "match every hook's name and arguments to comun_cms/hookspecs.py"))
    return problems


def package_dir(plugin: Any) -> Path | None:
    """Folder of the plugin's package (its module's folder), or ``None``."""
    module = plugin if inspect.ismodule(plugin) else inspect.getmodule(type(plugin))
    path = getattr(module, "__file__", None)
    return Path(path).resolve().parent if path else None


def extract_messages(directory: Path | str) -> dict[str, list[tuple[str, int]]]:
    """Extract the msgids of a package (Python ``_``/``gettext``/``_l``/``lazy_gettext``/
    ``ngettext`` calls and Jinja ``_()``/``{% trans %}`` in ``templates/``), ignoring ``tests``
    and ``migrations``.

    Returns ``{msgid: [(relative file, line), ...]}`` (plural messages by their singular).
    """
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
    out: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(directory), METHOD_MAP, {}, keywords=keywords):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            out.setdefault(msgid, []).append((filename, lineno))
    return out


def _own_hook(pm, plugin, hook: str, **kwargs) -> list:
    """Call only ``plugin``'s implementation of ``hook``; returns ``[]`` when it has none."""
    caller = getattr(pm.hook, hook)
    for impl in caller.get_hookimpls():
        if impl.plugin is plugin:
            result = impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})
            if result is None:
                return []
            return list(result) if isinstance(result, (list, tuple)) else [result]
    return []


def notary_entry_model(pm: pluggy.PluginManager) -> type | None:
    """The notary plugin's log-entry model, found through the plugin manager: among the models
    the plugin registered as ``notary`` returns from ``register_models``, the one with a
    ``publication_id`` column (one log entry per publication). ``None`` when no notary plugin is
    registered or it has no such model."""
    notary = pm.get_plugin("notary")
    if notary is None:
        return None
    for model in _own_hook(pm, notary, "register_models"):
        table = getattr(model, "__table__", None)
        if table is not None and "publication_id" in table.c:
            return model
    return None


@contextlib.contextmanager
def enable_plugin(app, name: str) -> Iterator[None]:
    """Enable plugin ``name`` (already registered in ``app``) in every tenant for the block, with
    its default settings; restores the tenants afterwards. The current tenant, if any, is
    switched to its updated description for the block."""
    state = app.extensions["comun"]
    saved = dict(state.tenants)
    specs: dict = {}
    plugin = state.pm.get_plugin(name)
    for impl in state.pm.hook.tenant_settings.get_hookimpls():
        if impl.plugin is plugin:
            specs = impl.function() or {}
    defaults = {k: s.default for k, s in specs.items()}
    for slug, t in saved.items():
        if not t.enables(name):
            state.tenants[slug] = dataclasses.replace(
                t, plugins=t.plugins + (name,), plugin_settings={**t.plugin_settings, name: defaults})
    state.hook_cache.clear()
    current = get_current_tenant()
    token = set_current_tenant(state.tenants[current.slug]) if current is not None and current.slug in state.tenants else None
    try:
        yield
    finally:
        if token is not None:
            reset_current_tenant(token)
        state.tenants.clear()
        state.tenants.update(saved)
        state.hook_cache.clear()


# --------------------------------------------------------------------------- checks needing the app
def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):
        for item in diff:
            name = _table_of(item)
            if name:
                return name
        return None
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        return diff[1].name
    if kind in ("add_column", "remove_column"):
        return diff[2]
    if kind.startswith("modify_"):
        return diff[2]
    obj = diff[1]
    table = getattr(obj, "table", None)
    if table is None:  # a Table has no truth value: compare with None
        table = getattr(obj, "parent", None)
    return getattr(table, "name", None)


def _check_migrations(app, pm, plugin, name: str, report: Report) -> None:
    models = _own_hook(pm, plugin, "register_models")
    tables = {m.__table__.name for m in models if hasattr(m, "__table__")}
    if not tables:
        report.checked.append("migrations: the plugin defines no models")
        return
    versions = [v for v in _own_hook(pm, plugin, "register_migrations") if v]
    fix_first = (f"implement `register_migrations()` returning the absolute path of the plugin's "
                 f"migrations/versions folder, and add a first revision with down_revision = None, "
                 f"branch_labels = ('{name}',), depends_on = '0001' (comun plugins new {name} creates one)")
    if not versions:
        report.add("migrations", f"tables {', '.join(sorted(tables))} have no migration: the plugin does not "
                                 f"implement register_migrations", fix_first)
        return
    if not Path(versions[0]).is_dir():
        report.add("migrations", f"register_migrations returns '{versions[0]}', which is not a folder", fix_first)
        return
    script = ScriptDirectory.from_config(alembic_config(app))
    labels = {label for rev in script.walk_revisions() for label in (rev.branch_labels or ())}
    if name not in labels:
        report.add("migrations", f"no Alembic revision carries branch_labels = ('{name}',) in {versions[0]}",
                   fix_first)
        return
    db.session.commit()
    try:
        upgrade_database(app)
    except Exception as exc:  # noqa: BLE001 - reported
        report.add("migrations", f"`alembic upgrade heads` fails: {type(exc).__name__}: {exc}",
                   "fix the plugin's revision files (run `comun init` on an empty database to see the error)")
        return
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, db.metadata) if _table_of(d) in tables]
    if diffs:
        shown = "; ".join(repr(d)[:160] for d in diffs[:8])
        report.add("migrations", f"models and migrations differ for the plugin's tables: {shown}",
                   f"add a revision: comun db revision --autogenerate --head {name}@head -m \"...\"")
        return
    report.checked.append(f"migrations: branch '{name}' creates {', '.join(sorted(tables))} as the models say")


def _plugin_blueprints(app, name: str) -> list:
    state = app.extensions["comun"]
    return [app.blueprints[bp] for bp, plugin in state.blueprint_plugins.items()
            if plugin == name and bp in app.blueprints]


def _check_templates(app, name: str, report: Report, tenants) -> None:
    names: set[str] = set()
    for bp in _plugin_blueprints(app, name):
        if bp.template_folder:
            folder = Path(bp.root_path) / bp.template_folder
            names.update(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                         and p.suffix in (".html", ".txt", ".xml", ".j2"))
    if not names:
        report.checked.append("templates: the plugin has no templates")
        return
    env = app.jinja_env
    # a file that several tenants' chains resolve to is parsed and compiled once (same source,
    # same result); the templates it references are still looked up in every tenant's chain
    references: dict[tuple[str, str], list[str]] = {}
    compiled: set[tuple[str, str]] = set()
    for tenant in tenants:
        with app.test_request_context(f"/{tenant.slug}/"), tenant_context(tenant):
            for tname in sorted(names):
                try:
                    source, filename, _uptodate = env.loader.get_source(env, tname)
                    key = (tname, filename or f"{tenant.slug}:{tname}")
                    if key not in references:
                        references[key] = [r for r in meta.find_referenced_templates(env.parse(source))
                                           if r is not None]
                    for ref in references[key]:
                        env.loader.get_source(env, ref)
                    if key not in compiled:
                        env.get_template(tname)
                        compiled.add(key)
                except TemplateNotFound as exc:
                    report.add("templates", f"template '{tname}' needs '{exc.name}', which tenant '{tenant.slug}' "
                                            f"(theme '{tenant.theme}') does not have",
                               "extend/include templates of the default theme (base.html, admin/_layout.html, "
                               "_macros.html) or ship the missing template in the plugin")
                except Exception as exc:  # noqa: BLE001 - reported
                    report.add("templates", f"template '{tname}' does not compile in tenant '{tenant.slug}': "
                                            f"{type(exc).__name__}: {exc}", "fix the Jinja syntax")
    report.checked.append(f"templates: {len(names)} template(s) compile in {len(tenants)} tenant theme chain(s)")


def _default_record(content_type, marker: str):
    """An instance of ``content_type.model`` with every required column filled."""
    model = content_type.model
    values: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.primary_key or column.name == "tenant_id" or column.nullable or column.default is not None \
                or column.server_default is not None:
            continue
        if column.foreign_keys:
            raise LookupError(f"column '{column.name}' is a required foreign key")
        attr = column.key
        t = column.type
        if isinstance(t, (sa.String, sa.Text)):
            length = getattr(t, "length", None) or 200
            values[attr] = f"{marker}"[:length]
        elif isinstance(t, sa.Boolean):
            values[attr] = False
        elif isinstance(t, (sa.Integer, sa.Numeric, sa.Float)):
            values[attr] = 1
        elif isinstance(t, sa.Date) and not isinstance(t, sa.DateTime):
            values[attr] = dt.date.today()
        elif isinstance(t, (sa.DateTime,)) or "DateTime" in type(t).__name__:
            values[attr] = dt.datetime.now(dt.timezone.utc)
        elif isinstance(t, sa.JSON):
            values[attr] = {}
        else:
            raise LookupError(f"column '{column.name}' of type {t} has no default")
    record = model(**values)
    for attr in ("title", "name", "body", "summary", "description"):
        if hasattr(model, attr) and isinstance(getattr(record, attr, None), (str, type(None))):
            try:
                setattr(record, attr, f"{attr} {marker}")
            except Exception:  # noqa: BLE001
                pass
    return record


@dataclass
class _Sample:
    tenant: str
    content_type: str
    record_id: Any
    marker: str
    published: bool
    url: str | None = None


def _make_samples(app, pm, plugin, name: str, report: Report, tenants, factories) -> list[_Sample]:
    """Publish one sample and keep one draft per content type and tenant; check outbox/notary."""
    state = app.extensions["comun"]
    models = set(_own_hook(pm, plugin, "register_models"))
    types = [ct for ct in state.content_types if ct.plugin == name or ct.model in models]
    if not types:
        report.checked.append("publishing: the plugin has no content types")
        return []
    factory_fn = getattr(plugin, "sample_record", None)
    notary_entries = notary_entry_model(pm)
    samples: list[_Sample] = []
    for tenant in tenants:
        with tenant_context(tenant):
            try:
                tenant_hook(tenant, "initialize")(tenant=tenant, instance_path=app.instance_path)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported
                db.session.rollback()
                report.add("publishing", f"initialize failed in tenant '{tenant.slug}': {exc}",
                           "make the initialize hook idempotent and independent of other tenants")
            for ct in types:
                made = []
                for published in (True, False):
                    marker = f"cnf{secrets.token_hex(6)}"
                    try:
                        if factories and ct.name in factories:
                            record = factories[ct.name](tenant, marker)
                        elif factory_fn is not None:
                            record = factory_fn(ct, tenant, marker)
                        else:
                            record = _default_record(ct, marker)
                        db.session.add(record)
                        db.session.commit()
                    except Exception as exc:  # noqa: BLE001 - reported
                        db.session.rollback()
                        report.add("publishing", f"could not create a sample '{ct.name}' in '{tenant.slug}': "
                                                 f"{type(exc).__name__}: {exc}",
                                   "define `sample_record(content_type, tenant, marker)` in the plugin module "
                                   "returning an unsaved draft whose public text contains `marker`, or pass "
                                   "factories={content type: callable(tenant, marker)} to check_plugin")
                        break
                    made.append((record, marker, published))
                for record, marker, published in made:
                    sample = _Sample(tenant.slug, ct.name, record.id, marker, published)
                    if published:
                        try:
                            pub = publish(record)
                        except Exception as exc:  # noqa: BLE001 - reported
                            report.add("publishing", f"publishing a sample '{ct.name}' in '{tenant.slug}' failed: "
                                                     f"{exc}", "make serialize() return JSON-safe data and "
                                                               "on_publish listeners not raise")
                            continue
                        if not pub.sha256:
                            report.add("publishing", f"'{ct.name}': publication without SHA-256")
                        row = db.session.scalar(select(SearchOutbox).where(
                            SearchOutbox.doc_id == doc_id(tenant.slug, ct.name, record.id)))
                        indexed = ct.search_document(record) is not None  # None: kept out on purpose
                        if indexed and (row is None or row.op != "upsert"):
                            report.add("publishing", f"'{ct.name}' published in '{tenant.slug}' was not queued "
                                                     f"for the search index",
                                       "return a dict with at least 'body' from ContentType.search_document")
                        if tenant.enables("notary") and notary_entries is not None:
                            try:
                                entry = db.session.scalar(select(notary_entries).where(
                                    notary_entries.publication_id == pub.id))
                            except Exception:  # noqa: BLE001 - the notary's log cannot be read: not checked
                                entry = True
                            if entry is None:
                                report.add("publishing", f"'{ct.name}' published in '{tenant.slug}' is not in the "
                                                         f"notary log", "do not bypass comun_cms.publishing.publish")
                        try:
                            with app.test_request_context(f"/{tenant.slug}/"):
                                sample.url = ct.url(record)
                        except Exception as exc:  # noqa: BLE001 - reported
                            report.add("publishing", f"ContentType '{ct.name}'.url(record) fails: {exc}",
                                       "build the URL with url_for(endpoint, tenant=record.tenant_id, ...)")
                    samples.append(sample)
            db.session.commit()
    n_pub = sum(1 for s in samples if s.published)
    report.checked.append(f"publishing: {n_pub} sample record(s) of {len(types)} content type(s) published in "
                          f"{len(tenants)} tenant(s) (search outbox, notary where enabled)")
    return samples


def _login(client, user) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


def _routes(app, name: str) -> list:
    state = app.extensions["comun"]
    out = []
    for rule in app.url_map.iter_rules():
        bp = rule.endpoint.split(".")[0] if "." in rule.endpoint else None
        if bp is None or state.blueprint_plugins.get(bp) != name or "GET" not in (rule.methods or ()):
            continue
        out.append(rule)
    return out


def _check_isolation(app, name: str, report: Report, tenants, samples: list[_Sample]) -> None:
    rules = _routes(app, name)
    if not rules:
        report.checked.append("isolation: the plugin has no GET routes")
        return
    slugs = [t.slug for t in tenants]
    ids = sorted({s.record_id for s in samples if isinstance(s.record_id, int)})
    leaks: dict[tuple[str, str], set[str]] = {}  # (route, kind) -> details
    errors: set[str] = set()
    requests = 0

    def forbidden_markers(viewer: str | None, admin: bool) -> dict[str, _Sample]:
        out = {}
        for s in samples:
            if not s.published and not (admin and s.tenant == viewer):
                out[s.marker] = s
            elif s.published and viewer is not None and s.tenant != viewer:
                out[s.marker] = s
        return out

    def urls_for(rule, slug: str, record_ids: list[int] | None = None) -> list[str]:
        ids_ = ids if record_ids is None else record_ids
        args = set(rule.arguments) - {"tenant"}
        with app.test_request_context("/"):
            try:
                if not args:
                    return [url_for(rule.endpoint, **({"tenant": slug} if "tenant" in rule.arguments else {}))]
                if len(args) == 1:
                    arg = next(iter(args))
                    conv = rule._converters.get(arg)
                    if type(conv).__name__ in ("IntegerConverter",) or arg.endswith("id"):
                        return [url_for(rule.endpoint, **{arg: i}, **({"tenant": slug} if "tenant" in rule.arguments
                                                                       else {})) for i in ids_]
            except Exception:  # noqa: BLE001 - cannot build: skipped
                return []
        return []

    def inspect_response(url: str, resp, viewer: str | None, admin: bool, route: str) -> None:
        if resp.status_code >= 500:
            errors.add(f"GET {url} answered {resp.status_code}")
            return
        if resp.status_code != 200:
            return
        body = resp.get_data(as_text=True)
        for marker, s in forbidden_markers(viewer, admin).items():
            if marker in body:
                kind = "draft" if not s.published else "other"
                leaks.setdefault((route, kind), set()).add(f"GET {url} shows {s.tenant}'s {s.content_type} {s.record_id}")

    public_client = app.test_client()
    asked: set[tuple[str, str | None]] = set()  # (url, viewer): a route without <tenant> is the same for every slug
    for slug in slugs:
        for rule in rules:
            if rule.endpoint.split(".")[0].startswith("admin_"):
                continue
            viewer = slug if "tenant" in rule.arguments else None
            for url in urls_for(rule, slug):
                if (url, viewer) in asked:
                    continue
                asked.add((url, viewer))
                requests += 1
                try:
                    resp = public_client.get(url)
                except Exception as exc:  # noqa: BLE001 - reported
                    errors.add(f"GET {url} raised {type(exc).__name__}: {exc}")
                    continue
                inspect_response(url, resp, viewer, admin=False, route=rule.rule)
        # content-type URLs of every sample, asked under this tenant's prefix
        for s in samples:
            if not s.url or not s.url.startswith(f"/{s.tenant}/"):
                continue
            url = f"/{slug}/" + s.url[len(s.tenant) + 2:]
            if (url, slug) in asked:  # records shown on one page (e.g. a session and its agreements)
                continue
            asked.add((url, slug))
            requests += 1
            try:
                inspect_response(url, public_client.get(url), slug, admin=False, route=f"ContentType '{s.content_type}'.url")
            except Exception as exc:  # noqa: BLE001 - reported
                errors.add(f"GET {url} raised {type(exc).__name__}: {exc}")
    # admin routes: users of one tenant never see another tenant's admin
    admin_rules = [r for r in rules if r.endpoint.split(".")[0].startswith("admin_") and "tenant" in r.arguments]
    if admin_rules:
        users = {}
        for slug in slugs:
            users[slug] = create_user(f"conformance-{secrets.token_hex(4)}@{slug}.test", password=secrets.token_hex(8),
                                      role="admin", tenant=app.extensions["comun"].tenants[slug])
        db.session.commit()
        def ids_of(*tenant_slugs: str) -> list[int]:
            return sorted({s.record_id for s in samples if isinstance(s.record_id, int) and s.tenant in tenant_slugs})

        for owner in slugs:
            client = app.test_client()
            _login(client, users[owner])
            for slug in slugs:
                # in its own admin, every sample id (other tenants' ids must not show); in another
                # tenant's admin, the ids of both tenants' records (each must be refused)
                record_ids = None if slug == owner else ids_of(owner, slug)
                for rule in admin_rules:
                    for url in urls_for(rule, slug, record_ids):
                        requests += 1
                        try:
                            resp = client.get(url)
                        except Exception as exc:  # noqa: BLE001 - reported
                            errors.add(f"GET {url} as admin of '{owner}' raised {type(exc).__name__}: {exc}")
                            continue
                        if slug != owner and resp.status_code not in (403, 404):
                            leaks.setdefault((rule.rule, "admin"), set()).add(
                                f"GET {url} answered {resp.status_code} to an admin of '{owner}'")
                        else:
                            inspect_response(url, resp, slug, admin=True, route=rule.rule)
    for message in sorted(errors):
        report.add("isolation", message, "the page must render for every tenant (read the traceback with a test "
                                         "that GETs it)")
    kinds = {
        "draft": ("shows drafts", "show only records with status 'published' (or 'retracted') on public pages"),
        "other": ("shows another tenant's records", "query through db.session with select(): the core adds the "
                  "tenant filter; never use all_tenants()/platform_session or raw SQL in views"),
        "admin": ("lets users of another tenant in (expected 403 or 404)", "protect admin views with "
                  "@require_role(...) from comun_cms.permissions"),
    }
    for (route, kind), details in sorted(leaks.items()):
        shown = sorted(details)
        more = f" (+{len(shown) - 3} more)" if len(shown) > 3 else ""
        report.add("isolation", f"route {route} {kinds[kind][0]}: {'; '.join(shown[:3])}{more}", kinds[kind][1])
    report.checked.append(f"isolation: {requests} GET request(s) over {len(rules)} route(s) and {len(slugs)} tenant(s)")


def _check_translations(app, pm, plugin, name: str, report: Report) -> None:
    directory = package_dir(plugin)
    if directory is None:
        report.warnings.append("translations: the plugin is not a package; not checked")
        return
    messages = extract_messages(directory)
    if pm is not None and pm.get_plugin(name) is plugin:
        tdirs = [d for d in _own_hook(pm, plugin, "register_translations") if d]
    else:
        func = getattr(plugin, "register_translations", None)
        tdirs = [func()] if callable(func) and func() else []
    if not messages:
        report.checked.append("translations: no translatable strings")
        return
    if not tdirs:
        report.add("translations", f"{len(messages)} translatable string(s) but the plugin has no catalogs",
                   f"implement register_translations() returning the plugin's translations folder and create "
                   f"catalogs: python -m comun_cms.scaffold catalogs {directory}")
        return
    tdir = Path(tdirs[0])
    languages = list(app.config.get("LANGUAGES", ["es_MX", "en"])) if app is not None else ["es_MX", "en"]
    for locale in languages:
        po = tdir / locale / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            report.add("translations", f"catalog {po} is missing",
                       f"python -m comun_cms.scaffold catalogs {directory}")
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        present = {m.id[0] if isinstance(m.id, (tuple, list)) else m.id: m for m in catalog if m.id}
        missing = [mid for mid in messages if mid not in present]
        if missing:
            where = "; ".join(f"'{mid}' ({messages[mid][0][0]}:{messages[mid][0][1]})" for mid in missing[:8])
            report.add("translations", f"{len(missing)} msgid(s) missing from {po}: {where}",
                       f"python -m comun_cms.scaffold catalogs {directory}  (then translate the new entries)")
        untranslated = [mid for mid in messages if mid in present and not present[mid].string]
        if untranslated and locale.startswith("es"):
            report.warnings.append(f"{po}: {len(untranslated)} untranslated msgid(s), e.g. '{untranslated[0]}'")
    report.checked.append(f"translations: {len(messages)} msgid(s) found in {', '.join(languages)}")


# --------------------------------------------------------------------------- entry point
def check_plugin(app, plugin: str | Any, *, checks: Iterable[str] = CHECKS,
                 factories: dict[str, Callable[[Any, str], Any]] | None = None,
                 raise_on_failure: bool = True) -> Report:
    """Run the conformance kit on one plugin.

    Args:
        app: a Común CMS application on a **test** database (the ``app`` fixture); the kit writes
            sample records, publications and users. Called inside or outside an app context.
        plugin: the plugin's name as registered in ``app`` (``"news"``), or the plugin object
            (module). An object that is not registered in ``app`` (e.g. one pluggy rejects) only
            gets the static checks (hooks, translations) plus a problem saying so.
        checks: subset of :data:`CHECKS` to run.
        factories: ``{content type name: callable(tenant, marker) -> unsaved draft record}``
            overriding the plugin's ``sample_record`` and the model-defaults fallback. The
            record's public text must contain ``marker``.
        raise_on_failure: raise :class:`ConformanceError` (an ``AssertionError``) when a check
            fails; ``False`` returns the report instead.

    Returns:
        The :class:`Report` (``report.passed``, ``report.problems``, ``report.checked``).

    Raises:
        ConformanceError: one error listing every problem, each with what to fix.
    """
    ctx = app.app_context() if not has_app_context() else contextlib.nullcontext()

    def fresh_g(sender, **extra):
        # requests made inside a long-lived app context would share `g` (and its cached user)
        g.__dict__.clear()
    request_started.connect(fresh_g, app)
    try:
        with ctx:
            return _run(app, plugin, tuple(checks), factories, raise_on_failure)
    finally:
        request_started.disconnect(fresh_g, app)


def _run(app, plugin, checks, factories, raise_on_failure) -> Report:
    state = app.extensions["comun"]
    pm = state.pm
    if isinstance(plugin, str):
        name, obj = plugin, pm.get_plugin(plugin)
    else:
        obj = plugin
        name = pm.get_name(plugin) or getattr(plugin, "__name__", type(plugin).__name__).split(".")[-1]
        if pm.get_plugin(name) is not obj:
            name = pm.get_name(plugin) or name
    report = Report(name)
    if obj is None:
        report.add("hooks", f"no plugin named '{name}' is registered in the app (installed: "
                            f"{', '.join(n for n, _ in pm.list_name_plugin())})",
                   "install the distribution (pip install -e .) so its `comun_cms` entry point loads, or create "
                   "the app with extra_plugins=[(name, module)]")
        raise ConformanceError(report) if raise_on_failure else report
    registered = pm.get_plugin(name) is obj
    if "hooks" in checks:
        problems = check_hooks(obj, name)
        report.problems.extend(problems)
        if not problems:
            report.checked.append("hooks: every @hookimpl matches comun_cms/hookspecs.py")
    if not registered:
        report.add("hooks", f"plugin '{name}' is not registered in this app, so the migrations, templates, "
                            f"publishing and isolation checks did not run",
                   "create the app with extra_plugins=[(name, module)] or install the plugin's entry point")
        if "translations" in checks:
            _check_translations(app, None, obj, name, report)
        if report.problems and raise_on_failure:
            raise ConformanceError(report)
        return report
    with tenant_context(None), enable_plugin(app, name):
        tenants = state.representative_tenants(workspaces=1)
        if "migrations" in checks:
            _check_migrations(app, pm, obj, name, report)
        migrations_ok = not any(p.check == "migrations" for p in report.problems)
        if "templates" in checks:
            _check_templates(app, name, report, tenants)
        samples: list[_Sample] = []
        if migrations_ok and ("publishing" in checks or "isolation" in checks):
            try:
                samples = _make_samples(app, pm, obj, name, report, tenants, factories)
            except Exception as exc:  # noqa: BLE001 - reported
                db.session.rollback()
                report.add("publishing", f"sample data failed: {type(exc).__name__}: {exc}\n"
                           + "".join(traceback.format_exc(limit=3)))
        if migrations_ok and "isolation" in checks:
            _check_isolation(app, name, report, tenants, samples)
        elif not migrations_ok:
            report.warnings.append("publishing and isolation were not checked because the migrations check failed")
        db.session.commit()
    if "translations" in checks:
        _check_translations(app, pm, obj, name, report)
    if report.problems and raise_on_failure:
        raise ConformanceError(report)
    return report


__all__ = ["CHECKS", "ConformanceError", "Problem", "Report", "check_hooks", "check_plugin", "enable_plugin",
           "extract_messages", "notary_entry_model", "package_dir"]
