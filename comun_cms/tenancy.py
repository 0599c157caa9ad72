"""Tenants: one per state secretariat, loaded from ``states/<slug>/tenant.toml``.

* :class:`Tenant` is a frozen description read at start-up (no secrets live in ``states/``).
* :data:`current_tenant` is the tenant of the running request or CLI block (a context variable).
* :func:`install_tenant_filter` adds the global tenant filter: every ORM ``SELECT`` gets
  ``with_loader_criteria(TenantScoped, tenant_id == current tenant)``; new rows get the current
  tenant in ``before_flush``; writing a row of another tenant raises
  :class:`TenantIsolationError`. Portal code that must read all tenants passes the execution
  option ``all_tenants=True`` (see :func:`all_tenants`).
"""
from __future__ import annotations

import contextlib
import copy
import contextvars
import dataclasses
import datetime as dt
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from sqlalchemy import event, false
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from werkzeug.local import LocalProxy

SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
SUPPORTED_LOCALES = ("es_MX", "en")
#: URL prefixes that can never be tenant slugs (they belong to the portal).
RESERVED_SLUGS = frozenset({"api", "static", "auth", "admin", "buscar", "search", "theme", "portal"})


class TenantConfigError(Exception):
    """A ``tenant.toml`` is invalid. ``str(error)`` names the file, the key and the problem."""

    def __init__(self, path: Path | str, key: str, problem: str):
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"{self.path}: key '{key}': {problem}")


class TenantIsolationError(RuntimeError):
    """Raised when code tries to write a row that belongs to another tenant than the current one."""


@dataclass(frozen=True)
class Tenant:
    """One state tenant, as declared in ``states/<slug>/tenant.toml``.

    Attributes are plain data: ``slug`` (URL prefix), ``state`` (state name), ``secretariat``
    (official SESEA name), ``short_name``, ``transparency_authority`` and its short name,
    ``default_locale`` (``es_MX`` or ``en``), ``timezone`` (IANA name), ``theme``, ``colors``
    (``{"primary": "#RRGGBB", ...}``), ``logo`` (file name inside the state folder or ``None``),
    ``contact`` and ``social`` mappings, ``deadlines`` (``{"feedback_days": n, "join_days": n}``,
    business days to answer the public), ``privacy`` (personal-data contact: ``officer``,
    ``email``, ``phone``, ``notice_url``), ``logo_sha256`` (set when the logo was uploaded on the
    web, see :mod:`comun_cms.web_settings`), ``hosts`` (host names that select this tenant),
    ``plugins`` (enabled plugin names, in order), ``plugin_settings`` (validated
    ``{plugin: {key: value}}``), ``facts`` (public facts with sources), ``training`` (a training
    tenant whose data never shows outside its own site), ``workspaces`` (number of participant
    workspaces a training tenant offers), ``workspace_of`` and ``workspace_number`` (set on a
    participant workspace: the slug of its training tenant and its number, 1-based),
    ``days_off`` (the secretariat's own non-working dates, besides the federal holidays),
    ``arco_days`` (business days to answer an ARCO request, default 20, LGPDPPSO art. 51),
    ``retention`` (days personal data is kept per kind of data, :data:`RETENTION_DEFAULTS`
    filled in; see docs/privacy.md) and ``path`` (the state folder).
    """

    slug: str
    state: str
    secretariat: str
    short_name: str
    transparency_authority: str
    transparency_authority_short: str
    default_locale: str = "es_MX"
    timezone: str = "America/Mexico_City"
    theme: str = "comun"
    colors: Mapping[str, str] = field(default_factory=dict)
    logo: str | None = None
    contact: Mapping[str, str] = field(default_factory=dict)
    social: Mapping[str, str] = field(default_factory=dict)
    deadlines: Mapping[str, int] = field(default_factory=dict)
    privacy: Mapping[str, str] = field(default_factory=dict)
    logo_sha256: str | None = None
    hosts: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    plugin_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    facts: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    training: bool = False
    workspaces: int = 0
    workspace_of: str | None = None
    workspace_number: int = 0
    days_off: tuple["dt.date", ...] = ()
    arco_days: int = 20
    retention: Mapping[str, int] = field(default_factory=lambda: dict(RETENTION_DEFAULTS))
    path: Path = field(default=Path("."), compare=False)

    @property
    def answer_days(self) -> int:
        """Business days to answer a question, complaint or suggestion (``deadlines.feedback_days``)."""
        return int(self.deadlines.get("feedback_days", DEFAULT_DEADLINES["feedback_days"]))

    @property
    def is_workspace(self) -> bool:
        """``True`` for a participant workspace derived from a training tenant."""
        return self.workspace_of is not None

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The tenant's time zone object."""
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self, now: "dt.datetime | None" = None) -> "dt.date":
        """Calendar date in the tenant's time zone at ``now`` (aware datetime, default: the
        current UTC time). At 2024-03-02 03:00 UTC it is still 2024-03-01 in Mexico City."""
        now = now or dt.datetime.now(dt.timezone.utc)
        return now.astimezone(self.tz).date()

    def enables(self, plugin: str) -> bool:
        """Return ``True`` if the tenant enables plugin ``plugin`` (the core plugin is always on)."""
        return plugin == "core" or plugin in self.plugins

    def setting(self, plugin: str, key: str) -> Any:
        """Return the validated value of setting ``key`` of ``plugin`` (defaults filled in).

        Raises ``KeyError`` if the plugin declares no such setting.
        """
        return self.plugin_settings[plugin][key]

    @property
    def logo_path(self) -> Path | None:
        """Absolute path of the logo file, or ``None``."""
        return self.path / self.logo if self.logo else None


# --------------------------------------------------------------------------- loading
_FIELDS_REQUIRED = {
    "slug": str, "state": str, "secretariat": str, "short_name": str,
    "transparency_authority": str, "transparency_authority_short": str,
}
_FIELDS_OPTIONAL = {
    "default_locale": str, "timezone": str, "theme": str, "colors": dict, "logo": str,
    "contact": dict, "social": dict, "deadlines": dict, "privacy": dict, "hosts": list, "plugins": list, "plugin_settings": dict,
    "facts": list, "sources": list, "training": bool, "workspaces": int,
    "days_off": list, "arco_days": int, "retention": dict,
}
#: Days personal data is kept, per kind of data, unless ``[retention]`` in tenant.toml says
#: otherwise: ``complaints`` (questions, complaints, suggestions; counted from closing or
#: answering), ``join`` (sign-ups to the open-government exercises), ``subscriptions``
#: (counted from the unsubscription), ``arco`` (ARCO requests, from when they were done) and
#: ``mail`` (delivered or failed e-mail and invitations). See docs/privacy.md.
RETENTION_DEFAULTS = {"complaints": 730, "join": 365, "subscriptions": 30, "arco": 730, "mail": 90}
#: Most participant workspaces one training tenant may declare.
MAX_WORKSPACES = 200
_COLOUR_KEYS = {"primary", "secondary", "accent", "text_on_primary"}
_CONTACT_KEYS = {"email", "phone", "address", "website", "hours"}
_SOCIAL_KEYS = {"facebook", "x", "instagram", "youtube", "linkedin", "tiktok"}
_PRIVACY_KEYS = {"officer", "email", "phone", "notice_url"}
_DEADLINE_KEYS = {"feedback_days", "join_days"}
#: Business days a deadline may have (``[deadlines]`` of tenant.toml and the settings form).
DEADLINE_RANGE = (1, 60)
#: Business days to answer the public when tenant.toml does not say.
DEFAULT_DEADLINES = {"feedback_days": 10, "join_days": 10}


def _type_name(t: type) -> str:
    return {str: "text", dict: "table", list: "list", bool: "true/false", int: "a whole number"}.get(t, t.__name__)


def load_tenant(path: Path, installed_plugins: Mapping[str, Mapping[str, Any]] | None = None) -> Tenant:
    """Read and validate one ``tenant.toml``.

    Args:
        path: the ``tenant.toml`` file.
        installed_plugins: ``{plugin name: {setting key: SettingSpec}}`` of installed plugins;
            ``None`` skips plugin validation.

    Returns:
        The :class:`Tenant`.

    Raises:
        TenantConfigError: missing field, unknown key, wrong type, bad colour, unknown plugin,
            unknown time zone or locale, invalid setting, or TOML syntax error.
    """
    path = Path(path)
    try:
        data = read_toml(path)
    except FileNotFoundError:
        raise TenantConfigError(path, "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise TenantConfigError(path, "-", f"invalid TOML: {exc}") from None

    for key in data:
        if key not in _FIELDS_REQUIRED and key not in _FIELDS_OPTIONAL:
            raise TenantConfigError(path, key, "unknown key")
    for key, typ in _FIELDS_REQUIRED.items():
        if key not in data:
            raise TenantConfigError(path, key, "missing required field")
    for key, typ in {**_FIELDS_REQUIRED, **_FIELDS_OPTIONAL}.items():
        if key in data and (not isinstance(data[key], typ) or (typ is int and isinstance(data[key], bool))):
            raise TenantConfigError(path, key, f"must be {_type_name(typ)}")
        if typ is str and key in data and not data[key].strip():
            raise TenantConfigError(path, key, "must not be empty")

    slug = data["slug"]
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise TenantConfigError(path, "slug", f"'{slug}' is not a valid slug (a-z, 0-9, -, _; not reserved)")
    if path.parent.name != slug:
        raise TenantConfigError(path, "slug", f"'{slug}' does not match its folder name '{path.parent.name}'")

    locale = data.get("default_locale", "es_MX")
    if locale not in SUPPORTED_LOCALES:
        raise TenantConfigError(path, "default_locale", f"'{locale}' is not one of {', '.join(SUPPORTED_LOCALES)}")
    tzname = data.get("timezone", "America/Mexico_City")
    try:
        zoneinfo.ZoneInfo(tzname)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TenantConfigError(path, "timezone", f"'{tzname}' is not a known IANA time zone") from None

    colors = data.get("colors", {})
    for key, value in colors.items():
        if key not in _COLOUR_KEYS:
            raise TenantConfigError(path, f"colors.{key}", f"unknown key (allowed: {', '.join(sorted(_COLOUR_KEYS))})")
        if not isinstance(value, str) or not COLOUR_RE.match(value):
            raise TenantConfigError(path, f"colors.{key}", f"'{value}' is not a colour of the form #RRGGBB")
    for key, value in data.get("deadlines", {}).items():
        if key not in _DEADLINE_KEYS:
            raise TenantConfigError(path, f"deadlines.{key}", f"unknown key (allowed: {', '.join(sorted(_DEADLINE_KEYS))})")
        if not isinstance(value, int) or isinstance(value, bool) or not DEADLINE_RANGE[0] <= value <= DEADLINE_RANGE[1]:
            raise TenantConfigError(path, f"deadlines.{key}", "must be a whole number of business days from %d to %d" % DEADLINE_RANGE)
    for table, allowed in (("contact", _CONTACT_KEYS), ("social", _SOCIAL_KEYS), ("privacy", _PRIVACY_KEYS)):
        for key, value in data.get(table, {}).items():
            if key not in allowed:
                raise TenantConfigError(path, f"{table}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
            if not isinstance(value, str):
                raise TenantConfigError(path, f"{table}.{key}", "must be text")

    logo = data.get("logo")
    if logo is not None:
        if "/" in logo or "\\" in logo or logo.startswith("."):
            raise TenantConfigError(path, "logo", "must be a file name inside the state folder")
        if not (path.parent / logo).is_file():
            raise TenantConfigError(path, "logo", f"file '{logo}' not found next to tenant.toml")

    hosts = data.get("hosts", [])
    for i, host in enumerate(hosts):
        if not isinstance(host, str) or not re.match(r"^[a-z0-9.-]+(:\d+)?$", host):
            raise TenantConfigError(path, f"hosts[{i}]", f"'{host}' is not a host name")

    plugins = data.get("plugins", [])
    for i, name in enumerate(plugins):
        if not isinstance(name, str):
            raise TenantConfigError(path, f"plugins[{i}]", "must be text")
        if installed_plugins is not None and name not in installed_plugins:
            raise TenantConfigError(path, f"plugins[{i}]", f"unknown plugin '{name}' (installed: {', '.join(sorted(installed_plugins)) or 'none'})")
    if len(set(plugins)) != len(plugins):
        raise TenantConfigError(path, "plugins", "lists a plugin twice")

    workspaces = data.get("workspaces", 0)
    if not 0 <= workspaces <= MAX_WORKSPACES:
        raise TenantConfigError(path, "workspaces", f"must be between 0 and {MAX_WORKSPACES}")
    if workspaces and not data.get("training", False):
        raise TenantConfigError(path, "workspaces", "only a training tenant (training = true) has participant workspaces")
    if workspaces and len(workspace_slug(slug, workspaces)) > 40:
        raise TenantConfigError(path, "slug", f"'{slug}' is too long for workspace addresses like '{workspace_slug(slug, 1)}'")

    days_off = []
    for i, day in enumerate(data.get("days_off", [])):
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise TenantConfigError(path, f"days_off[{i}]", f"'{day}' is not a date (write it as 2026-12-12, unquoted)")
        days_off.append(day)

    arco_days = data.get("arco_days", 20)
    if not 1 <= arco_days <= 120:
        raise TenantConfigError(path, "arco_days", "must be between 1 and 120 business days")
    retention = dict(RETENTION_DEFAULTS)
    for key, value in data.get("retention", {}).items():
        if key not in RETENTION_DEFAULTS:
            raise TenantConfigError(path, f"retention.{key}",
                                    f"unknown key (allowed: {', '.join(sorted(RETENTION_DEFAULTS))})")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 36500:
            raise TenantConfigError(path, f"retention.{key}", "must be a whole number of days between 1 and 36500")
        retention[key] = value

    raw_settings = data.get("plugin_settings", {})
    settings: dict[str, dict[str, Any]] = {}
    for name, values in raw_settings.items():
        if name not in plugins:
            raise TenantConfigError(path, f"plugin_settings.{name}", "settings for a plugin that is not enabled")
        if not isinstance(values, dict):
            raise TenantConfigError(path, f"plugin_settings.{name}", "must be a table")
    if installed_plugins is not None:
        for name in plugins:
            specs = installed_plugins.get(name, {})
            values = raw_settings.get(name, {})
            for key in values:
                if key not in specs:
                    raise TenantConfigError(path, f"plugin_settings.{name}.{key}", "unknown key")
            resolved: dict[str, Any] = {}
            for key, spec in specs.items():
                try:
                    resolved[key] = spec.resolve(values.get(key, spec.default), present=key in values)
                except ValueError as exc:
                    raise TenantConfigError(path, f"plugin_settings.{name}.{key}", str(exc)) from None
            settings[name] = resolved

    return Tenant(
        slug=slug,
        state=data["state"],
        secretariat=data["secretariat"],
        short_name=data["short_name"],
        transparency_authority=data["transparency_authority"],
        transparency_authority_short=data["transparency_authority_short"],
        default_locale=locale,
        timezone=tzname,
        theme=data.get("theme", "comun"),
        colors=dict(colors),
        logo=logo,
        contact=dict(data.get("contact", {})),
        social=dict(data.get("social", {})),
        deadlines={**DEFAULT_DEADLINES, **data.get("deadlines", {})},
        privacy=dict(data.get("privacy", {})),
        hosts=tuple(hosts),
        plugins=tuple(plugins),
        plugin_settings=settings,
        facts=tuple(data.get("facts", [])),
        sources=tuple(data.get("sources", [])),
        training=bool(data.get("training", False)),
        workspaces=workspaces,
        days_off=tuple(sorted(days_off)),
        arco_days=arco_days,
        retention=retention,
        path=path.parent.resolve(),
    )


def workspace_slug(training_slug: str, number: int) -> str:
    """Slug of workspace ``number`` (1-based) of a training tenant: ``capacitacion-07``."""
    return f"{training_slug}-{number:02d}"


def derive_workspaces(tenant: Tenant) -> list[Tenant]:
    """The participant workspaces of a training tenant (``workspaces = N`` in its
    ``tenant.toml``): N tenants ``<slug>-01`` … ``<slug>-NN`` that share its folder, theme,
    plugins and settings, have no host names, and are training tenants themselves (their data
    never leaves their own site). Each has its own database rows, search documents and notary log.

    Returns ``[]`` for a tenant without workspaces.
    """
    return [dataclasses.replace(tenant, slug=workspace_slug(tenant.slug, n), short_name=f"{tenant.short_name} · {n:02d}",
                                hosts=(), workspaces=0, workspace_of=tenant.slug, workspace_number=n)
            for n in range(1, tenant.workspaces + 1)]


def load_tenants(states_dir: Path, installed_plugins: Mapping[str, Mapping[str, Any]] | None = None,
                 only: list[str] | None = None) -> dict[str, Tenant]:
    """Load every ``states/<slug>/tenant.toml`` (sorted by slug).

    Args:
        states_dir: the ``states`` folder.
        installed_plugins: see :func:`load_tenant`.
        only: if given, load just these slugs (others are ignored).

    Returns:
        ``{slug: Tenant}`` in slug order, including the participant workspaces of training
        tenants (see :func:`derive_workspaces`).

    Raises:
        TenantConfigError: for the first invalid file, when two tenants claim one host, or when
            a workspace address equals another tenant's folder.
    """
    tenants: dict[str, Tenant] = {}
    hosts: dict[str, str] = {}
    for toml_path in sorted(Path(states_dir).glob("*/tenant.toml")):
        if only is not None and toml_path.parent.name not in only:
            continue
        tenant = load_tenant(toml_path, installed_plugins)
        for host in tenant.hosts:
            if host in hosts:
                raise TenantConfigError(toml_path, "hosts", f"host '{host}' is already used by tenant '{hosts[host]}'")
            hosts[host] = tenant.slug
        tenants[tenant.slug] = tenant
    for tenant in list(tenants.values()):
        for ws in derive_workspaces(tenant):
            if ws.slug in tenants or (Path(states_dir) / ws.slug).exists():
                raise TenantConfigError(tenant.path / "tenant.toml", "workspaces",
                                        f"workspace '{ws.slug}' has the same address as the tenant folder '{ws.slug}'")
            tenants[ws.slug] = ws
    return dict(sorted(tenants.items()))


_TOML_CACHE: dict[str, tuple[tuple[int, int], dict]] = {}


def read_toml(path: Path) -> dict:
    """Parse the TOML file ``path`` (a ``tenant.toml``), once per version of the file: the
    application reads each tenant's file twice at start-up (:func:`declared_plugin_order`, then
    :func:`load_tenant`), which with hundreds of tenants cost seconds. Keyed by path, modification
    time (ns) and size; returns a deep copy, so callers may change it.

    Raises:
        OSError: the file cannot be read (``FileNotFoundError`` when missing).
        tomllib.TOMLDecodeError: invalid TOML.
    """
    stat = os.stat(path)
    version = (stat.st_mtime_ns, stat.st_size)
    hit = _TOML_CACHE.get(str(path))
    if hit is None or hit[0] != version:
        hit = (version, tomllib.loads(Path(path).read_text(encoding="utf-8")))
        _TOML_CACHE[str(path)] = hit
    return copy.deepcopy(hit[1])


def declared_plugin_order(states_dir: Path, only: list[str] | None = None) -> list[str]:
    """The plugin names the tenants enable, in the order their ``tenant.toml`` files list them
    (tenants by slug; a name counts where it first appears).

    The application registers the installed plugins in this order, so their hooks run in the
    order the configuration declares. Read before the plugins exist, so nothing is validated here:
    a file that cannot be read or has no list of names is skipped (:func:`load_tenants` reports it).

    Args:
        states_dir: the ``states`` folder.
        only: if given, read just these slugs (as :func:`load_tenants`).
    """
    names: dict[str, None] = {}
    for toml_path in sorted(Path(states_dir).glob("*/tenant.toml")):
        if only is not None and toml_path.parent.name not in only:
            continue
        try:
            plugins = read_toml(toml_path).get("plugins", [])
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(plugins, list):
            names.update((name, None) for name in plugins if isinstance(name, str))
    return list(names)


# --------------------------------------------------------------------------- current tenant
_current: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar("comun_current_tenant", default=None)


def get_current_tenant() -> Tenant | None:
    """Return the tenant of the running request or :func:`tenant_context` block, or ``None``."""
    return _current.get()


current_tenant: Tenant = LocalProxy(get_current_tenant)  # type: ignore[assignment]


def set_current_tenant(tenant: Tenant | None) -> contextvars.Token:
    """Set the current tenant; returns a token for :func:`reset_current_tenant`."""
    return _current.set(tenant)


def reset_current_tenant(token: contextvars.Token) -> None:
    """Undo :func:`set_current_tenant`."""
    _current.reset(token)


@contextlib.contextmanager
def tenant_context(tenant: Tenant | None) -> Iterator[Tenant | None]:
    """Run a block as ``tenant`` (CLI commands, workers, tests). Nesting is allowed."""
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


ALL_TENANTS_OPTION = "all_tenants"


def all_tenants(stmt):
    """Mark a ``select()`` as an explicit cross-tenant read (portal, search, open data, workers).

    Returns the statement with the execution option ``all_tenants=True``. Only use it for data
    that is public in every tenant (published records) or for platform-level maintenance.
    """
    return stmt.execution_options(**{ALL_TENANTS_OPTION: True})


def install_tenant_filter(session_cls: Any, scoped_base: type) -> None:
    """Attach the global tenant filter to ``session_cls`` (a Session class or sessionmaker).

    Args:
        session_cls: what ``event.listen`` accepts for session events (``Session`` to cover all).
        scoped_base: the :class:`~comun_cms.models.base.TenantScoped` mixin.

    Behaviour: every ORM SELECT (and bulk UPDATE/DELETE) is restricted to the current tenant; with
    no current tenant and no ``all_tenants`` option, tenant-scoped rows are hidden (fail closed).
    """

    @event.listens_for(session_cls, "do_orm_execute")
    def _filter(state: ORMExecuteState) -> None:
        if state.is_column_load or state.is_relationship_load:
            return
        if state.execution_options.get(ALL_TENANTS_OPTION) or state.session.info.get(ALL_TENANTS_OPTION):
            return
        tenant = _current.get()
        if tenant is None:
            crit = with_loader_criteria(scoped_base, lambda cls: false(), include_aliases=True)
        else:
            slug = tenant.slug
            crit = with_loader_criteria(scoped_base, lambda cls: cls.tenant_id == slug, include_aliases=True)
        state.statement = state.statement.options(crit)

    @event.listens_for(scoped_base, "init", propagate=True)
    def _stamp_on_create(target, args, kwargs) -> None:
        if kwargs.get("tenant_id") is None:
            tenant = _current.get()
            if tenant is not None:
                target.tenant_id = tenant.slug

    @event.listens_for(session_cls, "before_flush")
    def _stamp(session: Session, flush_context, instances) -> None:
        tenant = _current.get()
        if session.info.get(ALL_TENANTS_OPTION):
            return
        for obj in session.new:
            if isinstance(obj, scoped_base):
                if obj.tenant_id is None:
                    if tenant is None:
                        raise TenantIsolationError(f"{type(obj).__name__} created with no current tenant")
                    obj.tenant_id = tenant.slug
                elif tenant is not None and obj.tenant_id != tenant.slug:
                    raise TenantIsolationError(
                        f"{type(obj).__name__} of tenant '{obj.tenant_id}' written while the current tenant is '{tenant.slug}'")
        for obj in list(session.dirty) + list(session.deleted):
            if isinstance(obj, scoped_base) and tenant is not None and obj.tenant_id != tenant.slug:
                raise TenantIsolationError(
                    f"{type(obj).__name__} of tenant '{obj.tenant_id}' changed while the current tenant is '{tenant.slug}'")


@contextlib.contextmanager
def platform_session(session: Session) -> Iterator[Session]:
    """Let a platform-level maintenance block (``comun init``, migrations checks) read and write
    every tenant's rows through ``session``. Do not use in request handlers."""
    previous = session.info.get(ALL_TENANTS_OPTION)
    session.info[ALL_TENANTS_OPTION] = True
    try:
        yield session
    finally:
        if previous is None:
            session.info.pop(ALL_TENANTS_OPTION, None)
        else:
            session.info[ALL_TENANTS_OPTION] = previous
