"""Tenant URL routing: where blueprints are mounted and how a request finds its tenant.

* Tenants live under a URL prefix: ``/<tenant>/...`` (public site), ``/<tenant>/admin/...``
  (administration); the portal and portal-wide blueprints (``auth``, ``api``...) have none.
  :data:`TENANT_ARG` is the URL argument that carries the slug.
* :func:`register_tenant_blueprint` mounts a core blueprint under the tenant prefix;
  :func:`register_plugin_blueprint` mounts a plugin's blueprint by its name (``portal_*`` at the
  root, ``admin_*`` under ``/<tenant>/admin``, anything else under ``/<tenant>``) and remembers
  which plugin owns it, so a tenant that does not enable the plugin answers 404.
* :func:`install_tenant_routing` sets the current tenant from the URL for each request (and
  resets it afterwards), fills the tenant argument in ``url_for`` and refuses plugin blueprints
  the tenant does not enable.
* :class:`TenantHostMiddleware` routes a tenant's own host names to its prefix;
  :class:`BoundedIntConverter` keeps ``<int:...>`` ids inside the database's integer range.

A leaf of the core: it needs only :mod:`comun_cms.tenancy` (the current tenant) and
:mod:`comun_cms.state`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, abort, g, has_app_context, request
from werkzeug.routing import IntegerConverter

from comun_cms.tenancy import Tenant, TenantConfigError, reset_current_tenant, set_current_tenant
from comun_cms.web_settings import effective_tenant

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pluggy

    from comun_cms.state import ComunState

__all__ = [
    "TENANT_ARG", "BoundedIntConverter", "TenantHostMiddleware", "check_slugs_against_routes", "install_tenant_routing",
    "plugin_of_blueprint", "portal_prefixes", "register_plugin_blueprint", "register_tenant_blueprint",
]

#: The URL argument carrying the tenant slug (``/<tenant>/...``).
TENANT_ARG = "tenant"


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


def register_tenant_blueprint(app: Flask, bp: Blueprint, *, admin: bool = False) -> None:
    """Mount a core blueprint under ``/<tenant>`` (or ``/<tenant>/admin`` with ``admin=True``),
    after its own ``url_prefix``; the blueprint belongs to ``core`` (enabled in every tenant)."""
    prefix = bp.url_prefix or ""
    base = f"/<{TENANT_ARG}>/admin" if admin else f"/<{TENANT_ARG}>"
    app.register_blueprint(bp, url_prefix=base + prefix)
    app.extensions["comun"].blueprint_plugins[bp.name] = "core"


def plugin_of_blueprint(pm: pluggy.PluginManager, bp: Blueprint) -> str:
    """Name of the registered plugin whose module (or package) defines ``bp``; ``"core"`` when
    none does."""
    module = getattr(bp, "import_name", "")
    for name, obj in pm.list_name_plugin():
        mod_name = getattr(obj, "__name__", "")
        if mod_name and (module == mod_name or module.startswith(mod_name + ".")):
            return name
    return "core"


def register_plugin_blueprint(app: Flask, state: ComunState, bp: Blueprint, plugin_name: str) -> None:
    """Mount a plugin's blueprint by its name and record that ``plugin_name`` owns it.

    ``portal_*`` blueprints are mounted at their own ``url_prefix`` (no tenant); ``admin_*``
    under ``/<tenant>/admin``; any other under ``/<tenant>``, each followed by the blueprint's
    ``url_prefix``.
    """
    prefix = bp.url_prefix or ""
    if bp.name.startswith("portal_"):
        url_prefix = prefix or None
    elif bp.name.startswith("admin_"):
        url_prefix = f"/<{TENANT_ARG}>/admin{prefix}"
    else:
        url_prefix = f"/<{TENANT_ARG}>{prefix}"
    app.register_blueprint(bp, url_prefix=url_prefix)
    state.blueprint_plugins[bp.name] = plugin_name


def portal_prefixes(app: Flask) -> set[str]:
    """First path segments of the routes that have no tenant (``auth``, ``api``, ``buscar``...)."""
    return {rule.rule.strip("/").split("/")[0] for rule in app.url_map.iter_rules()
            if not rule.rule.startswith(f"/<{TENANT_ARG}>")} - {""}


def check_slugs_against_routes(app: Flask, tenants: dict[str, Tenant]) -> None:
    """Refuse a tenant slug equal to the first segment of a portal route (``/buscar``,
    ``/criterios``...), which would make that tenant's site unreachable.

    Raises:
        TenantConfigError: names the tenant's ``tenant.toml`` and the clashing address.
    """
    taken = portal_prefixes(app)
    for slug, tenant in tenants.items():
        if slug in taken:
            raise TenantConfigError(tenant.path / "tenant.toml", "slug", f"'{slug}' is already a portal address (/{slug})")


def install_tenant_routing(app: Flask, state: ComunState) -> None:
    """Install the per-request tenant handling on ``app``.

    * before the view: the ``tenant`` URL argument is removed from the view arguments, looked up
      (an unknown slug is a 404) and made the current tenant (``g.tenant`` and
      :func:`comun_cms.tenancy.get_current_tenant`);
    * ``url_for`` fills ``tenant`` with the current tenant when the endpoint expects it;
    * a request to a plugin's blueprint in a tenant that does not enable the plugin is a 404;
    * after the request the previous current tenant is restored.
    """
    @app.url_value_preprocessor
    def _pull_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
        slug = values.pop(TENANT_ARG, None) if values else None
        tenant = None
        if slug is not None:
            tenant = state.tenants.get(slug)
            if tenant is None:
                abort(404)
            tenant = effective_tenant(tenant)  # settings changed on the web, over tenant.toml
        g.tenant = tenant
        g._tenant_token = set_current_tenant(tenant)

    @app.url_defaults
    def _add_tenant(endpoint: str, values: dict[str, Any]) -> None:
        if TENANT_ARG in values:
            return
        if app.url_map.is_endpoint_expecting(endpoint, TENANT_ARG):
            tenant = getattr(g, "tenant", None) if has_app_context() else None
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
    def _reset_tenant(exc: BaseException | None) -> None:
        token = g.pop("_tenant_token", None)
        if token is not None:
            try:
                reset_current_tenant(token)
            except ValueError:  # token from another context (streamed responses)
                set_current_tenant(None)
