"""Application factory: config -> extensions -> plugin manager -> tenants -> blueprints."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from flask import Flask, Request, request
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import MapAdapter
from werkzeug.wsgi import get_host

from comun_cms import core_plugin, editing, ops, pagecache
from comun_cms.access_log import redact_url
from comun_cms import plugins as plugin_mod
from comun_cms import security_headers
from comun_cms.commands import register_cli
from comun_cms.config import ensure_secret_key, load_config
from comun_cms.content_types import ContentTypeRegistry
from comun_cms.edge import install_input_checks
from comun_cms.extensions import babel, csrf, db, limiter, login_manager, migrate
from comun_cms.hosts import (
    UNTRUSTED_HOST, SiteMapAdapter, install_host_check, site_host, site_scheme, tenant_host_url, trusted_hosts,
)
from comun_cms.i18n import select_locale, select_timezone
from comun_cms.logs import configure_logging
from comun_cms.models import TenantScoped
from comun_cms.private_files import private_dir
from comun_cms.routing import (
    BoundedIntConverter, TenantHostMiddleware, check_slugs_against_routes, install_tenant_routing, plugin_of_blueprint,
    portal_prefixes, register_plugin_blueprint, register_tenant_blueprint,
)
from comun_cms.search.service import init_search
from comun_cms.state import ComunState
from comun_cms.tenancy import Tenant, TenantConfigError, declared_plugin_order, install_tenant_filter, load_tenants
from comun_cms.themes import ThemedEnvironment, ThemeLoader
from comun_cms.training import views as training_views
from comun_cms.views import admin, api, api_v1, auth, opendata_portal, portal, public, search, templating
from comun_cms.views import privacy as privacy_views
from comun_cms.views import subscriptions as subscription_views

__all__ = ["ComunFlask", "create_app", "register_core_blueprints"]


class ComunFlask(Flask):
    """Flask with the themed Jinja environment, an error log without secrets, absolute URLs
    built from the configured host rather than the request's ``Host`` header (:mod:`comun_cms.hosts`),
    and a secret key made on the first request."""

    jinja_environment = ThemedEnvironment

    def create_global_jinja_loader(self):
        return ThemeLoader(self)

    def log_exception(self, exc_info) -> None:
        """Log an unhandled exception as Flask does, with the path's invitation token redacted
        (:func:`comun_cms.access_log.redact_url`)."""
        self.logger.error(f"Exception on {redact_url(request.path)} [{request.method}]", exc_info=exc_info)

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """The URL adapter of a request (or of an application context when ``request`` is
        ``None``), bound to ``<scheme>://SITE_HOST`` for building absolute URLs (scheme:
        :func:`comun_cms.hosts.site_scheme`).

        The request's ``Host`` is checked against :func:`comun_cms.hosts.trusted_hosts`; an
        untrusted one is marked (:data:`comun_cms.hosts.UNTRUSTED_HOST`) and answered 400 by the
        first URL value preprocessor. Redirects answered by routing are relative
        (:class:`comun_cms.hosts.SiteMapAdapter`). Outside a request, ``SERVER_NAME`` is used
        when set.
        """
        scheme = site_scheme(self.config)
        if request is None:
            server_name = self.config["SERVER_NAME"] or site_host(self.config)
            return self.url_map.bind(server_name, script_name=self.config["APPLICATION_ROOT"], url_scheme=scheme)
        state = self.extensions.get("comun")
        request.trusted_hosts = trusted_hosts(self.config, state.tenants if state is not None else {})
        try:
            get_host(request.environ, request.trusted_hosts)
        except SecurityError:
            request.environ[UNTRUSTED_HOST] = True
            request.trusted_hosts = None  # request.host must not raise again on the 400 page
        adapter = self.url_map.bind_to_environ(request.environ, subdomain=self.url_map.default_subdomain or "")
        adapter.__class__ = SiteMapAdapter  # same state; relative redirects
        adapter.server_name, adapter.url_scheme = site_host(self.config), scheme
        return adapter

    def url_for(self, endpoint: str, **kwargs: Any) -> str:
        """Flask's ``url_for``; an absolute URL under a tenant that has ``hosts`` names that
        tenant's first host (:func:`comun_cms.hosts.tenant_host_url`)."""
        url = super().url_for(endpoint, **kwargs)
        state = self.extensions.get("comun")
        if state is not None and state.host_map and "://" in url:
            url = tenant_host_url(url, state.tenants, self.config["APPLICATION_ROOT"].rstrip("/"))
        return url

    def request_context(self, environ: dict):
        """Flask's request context; first makes sure ``SECRET_KEY`` exists, creating
        ``instance/secret_key`` if needed (:func:`comun_cms.config.ensure_secret_key`, safe when
        several processes start at once). Deferred to here so that building the application, as
        every ``comun`` command does, writes nothing."""
        if not self.config.get("SECRET_KEY"):
            self.config["SECRET_KEY"] = ensure_secret_key(Path(self.instance_path))
        return super().request_context(environ)


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
    load_config(app, config)  # creates nothing: the instance folder is made by what writes in it
    configure_logging(app)

    # extensions
    db.init_app(app)
    _make_sqlite_folder_on_connect(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    limiter.init_app(app)
    security_headers.init_app(app)

    # plugins
    # installed plugins (entry points) run in the order the tenants list them; then the core's
    # defaults (hooks trylast) and the plugins given in code
    pm = plugin_mod.make_plugin_manager(extra=extra_plugins,
                                        load_entry_points=app.config["LOAD_ENTRY_POINTS"],
                                        only=app.config["PLUGINS"], core=core_plugin,
                                        order=declared_plugin_order(Path(app.config["STATES_DIR"]),
                                                                    only=app.config["TENANTS"]))
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
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    state.migration_dirs = [p for p in pm.hook.register_migrations() if p]
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))

    # tenant filter on every session of this app
    if not getattr(Session, "_comun_filter_installed", False):
        install_tenant_filter(Session, TenantScoped)
        Session._comun_filter_installed = True

    app.url_map.converters["int"] = BoundedIntConverter
    install_tenant_routing(app, state)
    install_input_checks(app)
    install_host_check(app)  # first: an unknown host answers 400 before anything else runs
    pagecache.init_app(app)
    editing.init_app(app)

    register_core_blueprints(app)
    for result in pm.hook.register_blueprints():
        for bp in result or []:
            register_plugin_blueprint(app, state, bp, plugin_of_blueprint(pm, bp))

    check_slugs_against_routes(app, tenants)
    _check_themes(app, tenants)

    init_search(app)
    register_cli(app)

    if state.host_map:
        app.wsgi_app = TenantHostMiddleware(app.wsgi_app, state.host_map, portal_prefixes(app))
    ops.install(app)  # /healthz, /readyz, /metrics before the tenant hosts; request ids; request metrics
    if app.config.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    return app


def register_core_blueprints(app: Flask) -> None:
    """Register the core blueprints on ``app``, with the template context and error pages:
    ``portal`` (``/``), ``auth`` (``/auth``), ``api`` (``/api``), the portal search, and under
    ``/<tenant>`` the public site, its search, the administration (``/<tenant>/admin``), the API
    v1, the open-data catalogues, the training pages, the privacy and accessibility pages,
    subscriptions and Atom feeds (``/feed.atom``, ``/<tenant>/feed.atom``)."""
    templating.init_app(app)
    app.register_blueprint(portal.bp)
    app.register_blueprint(auth.bp, url_prefix="/auth")
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(search.portal_bp)
    app.register_blueprint(subscription_views.portal_feeds_bp)
    register_tenant_blueprint(app, public.bp)
    register_tenant_blueprint(app, subscription_views.bp)
    register_tenant_blueprint(app, subscription_views.feeds_bp)
    register_tenant_blueprint(app, search.tenant_bp)
    register_tenant_blueprint(app, admin.bp, admin=True)
    app.register_blueprint(privacy_views.portal_bp)
    register_tenant_blueprint(app, privacy_views.bp)
    register_tenant_blueprint(app, privacy_views.admin_bp, admin=True)
    api_v1.register(app)
    opendata_portal.register(app)
    training_views.init_app(app)


def _make_sqlite_folder_on_connect(app: Flask) -> None:
    """SQLite creates its database file but not the folder that holds it (``instance/`` by
    default): make that folder just before the first connection, so that creating the
    application writes nothing and commands that need no database leave no folder behind."""
    with app.app_context():
        engine = db.engine
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return
    folder = Path(database).parent

    @event.listens_for(engine, "do_connect")
    def _make_folder(dialect, conn_rec, cargs, cparams):
        private_dir(folder)  # 0700: the database holds personal data


def _check_themes(app: Flask, tenants: dict[str, Tenant]) -> None:
    """Refuse a tenant whose ``theme`` has no folder in ``THEMES_DIR``."""
    themes_dir = Path(app.config["THEMES_DIR"])
    for tenant in tenants.values():
        if not (themes_dir / tenant.theme).is_dir():
            available = ", ".join(sorted(p.name for p in themes_dir.iterdir() if p.is_dir())) if themes_dir.is_dir() else ""
            raise TenantConfigError(tenant.path / "tenant.toml", "theme",
                                    f"theme '{tenant.theme}' not found in {themes_dir} (available: {available})")


def _defaults(specs: dict) -> dict:
    return {key: spec.default for key, spec in specs.items()}
