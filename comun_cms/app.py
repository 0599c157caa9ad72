"""Application factory: config -> extensions -> plugin manager -> tenants -> blueprints."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from flask import Flask, abort, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from comun_cms import plugins as plugin_mod
from comun_cms.config import load_config
from comun_cms.content_types import ContentTypeRegistry
from comun_cms.extensions import babel, csrf, db, limiter, login_manager, migrate
from comun_cms.models import TenantScoped
from comun_cms.tenancy import (
    Tenant, install_tenant_filter, load_tenants, reset_current_tenant, set_current_tenant,
)
from comun_cms.themes import ThemedEnvironment, ThemeLoader

TENANT_ARG = "tenant"


@dataclass
class ComunState:
    """Per-application state kept in ``app.extensions["comun"]``.

    ``pm`` the plugin manager, ``tenants`` ``{slug: Tenant}``, ``content_types`` the registry,
    ``blueprint_plugins`` ``{blueprint name: plugin name}``, ``hook_cache`` cached subset callers,
    ``search`` the search service (set by :mod:`comun_cms.search`).
    """

    pm: pluggy.PluginManager
    tenants: dict[str, Tenant]
    content_types: ContentTypeRegistry
    blueprint_plugins: dict[str, str] = field(default_factory=dict)
    hook_cache: dict[Any, Any] = field(default_factory=dict)
    host_map: dict[str, str] = field(default_factory=dict)
    search: Any = None
    translation_dirs: list[str] = field(default_factory=list)
    migration_dirs: list[str] = field(default_factory=list)

    def public_tenants(self) -> dict[str, Tenant]:
        """Tenants whose data may show on the portal, in search and open data (not training)."""
        return {slug: t for slug, t in self.tenants.items() if not t.training}

    def representative_tenants(self, workspaces: int = 2) -> list[Tenant]:
        """Every tenant, keeping only the first ``workspaces`` participant workspaces of each
        training tenant. Workspaces copy their training tenant's configuration, so checks that
        loop over tenants or tenant pairs (conformance kit, isolation tests) cover them with two."""
        return [t for t in self.tenants.values() if not t.is_workspace or t.workspace_number <= workspaces]


class ComunFlask(Flask):
    """Flask with the themed Jinja environment."""

    jinja_environment = ThemedEnvironment

    def create_global_jinja_loader(self):
        return ThemeLoader(self)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` limited to 0..2**31-1, so an absurd id is a 404, not a database overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class TenantHostMiddleware:
    """WSGI middleware: a request whose Host is listed in a tenant's ``hosts`` is routed to that
    tenant by prefixing ``PATH_INFO`` with ``/<slug>``, unless the path already has it or starts
    with a portal-wide prefix (``portal_prefixes``: ``auth``, ``api``, ``static``...), which keep
    working on every host."""

    def __init__(self, wsgi_app, host_map: dict[str, str], portal_prefixes: set[str]):
        self.wsgi_app, self.host_map, self.portal_prefixes = wsgi_app, host_map, portal_prefixes

    def __call__(self, environ, start_response):
        host = (environ.get("HTTP_HOST") or "").lower()
        slug = self.host_map.get(host) or self.host_map.get(host.split(":")[0])
        if slug:
            path = environ.get("PATH_INFO", "/")
            first = path.lstrip("/").split("/", 1)[0]
            if first != slug and (first not in self.portal_prefixes or path == "/"):
                environ["PATH_INFO"] = f"/{slug}" + (path if path != "/" else "/")
        return self.wsgi_app(environ, start_response)


def create_app(config: dict | None = None, *, extra_plugins: list[tuple[str, Any]] | None = None) -> Flask:
    """Create the Común CMS application.

    Args:
        config: settings that override defaults, ``instance/config.toml`` and ``COMUN_*``
            environment variables (e.g. ``{"SQLALCHEMY_DATABASE_URI": ..., "TESTING": True}``).
            ``INSTANCE_PATH`` chooses the instance folder (default ``./instance`` or
            ``$COMUN_INSTANCE_PATH``).
        extra_plugins: ``(name, plugin)`` pairs registered after the installed plugins (tests).

    Returns:
        The configured :class:`flask.Flask` application.

    Raises:
        comun_cms.tenancy.TenantConfigError: an invalid ``tenant.toml`` (names file, key, problem).
        comun_cms.config.ConfigError: an invalid ``instance/config.toml``.
        pluggy.PluginValidationError: a plugin's hook does not match its spec.
    """
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("COMUN_INSTANCE_PATH") \
        or str(Path.cwd() / "instance")
    app = ComunFlask("comun_cms", instance_path=str(Path(instance_path).resolve()))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    load_config(app, config)

    # extensions
    db.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    limiter.init_app(app)

    # plugins
    pm = plugin_mod.make_plugin_manager(extra=extra_plugins,
                                        load_entry_points=app.config["LOAD_ENTRY_POINTS"],
                                        only=app.config["PLUGINS"])
    pm.hook.register_models()
    settings_specs: dict[str, dict] = {}
    for name, obj in pm.list_name_plugin():
        impls = pm.hook.tenant_settings.get_hookimpls()
        specs: dict = {}
        for impl in impls:
            if impl.plugin is obj:
                specs = impl.function() or {}
        settings_specs[name] = specs
    tenants = load_tenants(Path(app.config["STATES_DIR"]), settings_specs, only=app.config["TENANTS"])
    if extra_plugins:
        # plugins given in code (tests, embedding) are enabled in every tenant
        names = tuple(name for name, _ in extra_plugins)
        tenants = {slug: dataclasses.replace(t, plugins=t.plugins + tuple(n for n in names if n not in t.plugins),
                                             plugin_settings={**t.plugin_settings,
                                                              **{n: _defaults(settings_specs.get(n, {})) for n in names}})
                   for slug, t in tenants.items()}
    state = ComunState(pm=pm, tenants=tenants, content_types=ContentTypeRegistry())
    state.host_map = {h: t.slug for t in tenants.values() for h in t.hosts}
    app.extensions["comun"] = state
    for result in pm.hook.register_content_types():
        for ct in result or []:
            state.content_types.register(ct)

    # translations and migrations of plugins
    core_translations = str(Path(__file__).parent / "translations")
    state.translation_dirs = [core_translations] + [p for p in pm.hook.register_translations() if p]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(state.translation_dirs)
    from comun_cms.i18n import select_locale, select_timezone
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    state.migration_dirs = [p for p in pm.hook.register_migrations() if p]
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))

    # tenant filter on every session of this app
    from sqlalchemy.orm import Session
    if not getattr(Session, "_comun_filter_installed", False):
        install_tenant_filter(Session, TenantScoped)
        Session._comun_filter_installed = True

    app.url_map.converters["int"] = BoundedIntConverter
    _install_tenant_routing(app, state)

    from comun_cms.views import register_core_blueprints
    register_core_blueprints(app)
    for result in pm.hook.register_blueprints():
        for bp in result or []:
            plugin_name = _plugin_of(pm, bp)
            _register_plugin_blueprint(app, state, bp, plugin_name)

    _check_slugs_against_routes(app, tenants)
    _check_themes(app, tenants)

    from comun_cms.search.service import init_search
    init_search(app)
    from comun_cms.cli import register_cli
    register_cli(app)

    if state.host_map:
        portal_prefixes = {rule.rule.strip("/").split("/")[0] for rule in app.url_map.iter_rules()
                           if not rule.rule.startswith(f"/<{TENANT_ARG}>")} - {""}
        app.wsgi_app = TenantHostMiddleware(app.wsgi_app, state.host_map, portal_prefixes)
    if app.config.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    return app


def _check_slugs_against_routes(app: Flask, tenants: dict[str, Tenant]) -> None:
    """Refuse a tenant slug equal to the first segment of a portal route (``/buscar``,
    ``/criterios``...), which would make that tenant's site unreachable."""
    from comun_cms.tenancy import TenantConfigError
    taken = {rule.rule.strip("/").split("/")[0] for rule in app.url_map.iter_rules()
             if not rule.rule.startswith(f"/<{TENANT_ARG}>")}
    for slug, tenant in tenants.items():
        if slug in taken:
            raise TenantConfigError(tenant.path / "tenant.toml", "slug", f"'{slug}' is already a portal address (/{slug})")


def _check_themes(app: Flask, tenants: dict[str, Tenant]) -> None:
    """Refuse a tenant whose ``theme`` has no folder in ``THEMES_DIR``."""
    from comun_cms.tenancy import TenantConfigError
    themes_dir = Path(app.config["THEMES_DIR"])
    for tenant in tenants.values():
        if not (themes_dir / tenant.theme).is_dir():
            available = ", ".join(sorted(p.name for p in themes_dir.iterdir() if p.is_dir())) if themes_dir.is_dir() else ""
            raise TenantConfigError(tenant.path / "tenant.toml", "theme",
                                    f"theme '{tenant.theme}' not found in {themes_dir} (available: {available})")


def _defaults(specs: dict) -> dict:
    return {key: spec.default for key, spec in specs.items()}


def _plugin_of(pm: pluggy.PluginManager, bp) -> str:
    module = getattr(bp, "import_name", "")
    for name, obj in pm.list_name_plugin():
        mod_name = getattr(obj, "__name__", "")
        if mod_name and (module == mod_name or module.startswith(mod_name + ".")):
            return name
    return "core"


def _register_plugin_blueprint(app: Flask, state: ComunState, bp, plugin_name: str) -> None:
    prefix = bp.url_prefix or ""
    if bp.name.startswith("portal_"):
        url_prefix = prefix or None
    elif bp.name.startswith("admin_"):
        url_prefix = f"/<{TENANT_ARG}>/admin{prefix}"
    else:
        url_prefix = f"/<{TENANT_ARG}>{prefix}"
    app.register_blueprint(bp, url_prefix=url_prefix)
    state.blueprint_plugins[bp.name] = plugin_name


def register_tenant_blueprint(app: Flask, bp, *, admin: bool = False) -> None:
    """Mount a core blueprint under ``/<tenant>`` (or ``/<tenant>/admin``)."""
    prefix = bp.url_prefix or ""
    base = f"/<{TENANT_ARG}>/admin" if admin else f"/<{TENANT_ARG}>"
    app.register_blueprint(bp, url_prefix=base + prefix)
    app.extensions["comun"].blueprint_plugins[bp.name] = "core"


def _install_tenant_routing(app: Flask, state: ComunState) -> None:
    @app.url_value_preprocessor
    def _pull_tenant(endpoint, values):
        slug = values.pop(TENANT_ARG, None) if values else None
        tenant = None
        if slug is not None:
            tenant = state.tenants.get(slug)
            if tenant is None:
                abort(404)
        g.tenant = tenant
        g._tenant_token = set_current_tenant(tenant)

    @app.url_defaults
    def _add_tenant(endpoint, values):
        if TENANT_ARG in values:
            return
        if app.url_map.is_endpoint_expecting(endpoint, TENANT_ARG):
            tenant = getattr(g, "tenant", None) if _in_request_or_app() else None
            if tenant is not None:
                values[TENANT_ARG] = tenant.slug

    @app.before_request
    def _check_plugin_enabled():
        tenant = getattr(g, "tenant", None)
        bp = request.blueprint
        if tenant is None or bp is None:
            return None
        plugin = state.blueprint_plugins.get(bp.split(".")[0], "core")
        if not tenant.enables(plugin):
            abort(404)
        return None

    @app.teardown_request
    def _reset_tenant(exc):
        token = g.pop("_tenant_token", None)
        if token is not None:
            try:
                reset_current_tenant(token)
            except ValueError:  # token from another context (streamed responses)
                set_current_tenant(None)


def _in_request_or_app() -> bool:
    from flask import has_app_context
    return has_app_context()
