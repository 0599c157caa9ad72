"""Host names: which ``Host`` headers the site answers, and from what absolute URLs are built.

The ``Host`` header is chosen by whoever sends the request, so nothing the site publishes may be
built from it (a cached ``data.json`` naming ``http://evil.example/...`` would be served to
everyone). Two rules, installed by :func:`install_host_check` and the application class
(:class:`comun_cms.app.ComunFlask`):

* **Known hosts only.** Each request's ``Host`` is checked with Werkzeug's ``host_is_trusted``
  against :func:`trusted_hosts`: the host of ``SITE_HOST``, every tenant's ``hosts``
  (``tenant.toml``), the extra names of the ``TRUSTED_HOSTS`` setting (e.g. a health check's) and
  ``localhost``/``127.0.0.1`` in development and tests (``TESTING``, ``DEBUG``, or a
  ``SITE_HOST`` that is itself a loopback name). A request for any other host answers **400**.
  Ports are not compared.
* **Absolute URLs from the configuration.** Every ``url_for(..., _external=True)`` names
  ``<scheme>://SITE_HOST`` (:func:`site_scheme`); an address under a tenant that has ``hosts``
  names that tenant's first host instead (:func:`tenant_host_url`). So a JSON or XML document is
  the same whatever host it was asked on, and may be cached publicly. Redirects that routing
  answers are relative (:class:`SiteMapAdapter`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import MapAdapter

if TYPE_CHECKING:  # pragma: no cover - typing only
    from comun_cms.tenancy import Tenant

__all__ = ["LOOPBACK_HOSTS", "UNTRUSTED_HOST", "SiteMapAdapter", "UntrustedHostError", "install_host_check",
           "site_host", "site_scheme", "tenant_host_url", "trusted_hosts"]

#: names trusted in development and tests (the test client's default host is ``localhost``)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")

#: WSGI environ key set when the request's ``Host`` is not trusted (the request then answers 400)
UNTRUSTED_HOST = "comun.untrusted_host"


class UntrustedHostError(BadRequest):
    """400 for a request whose ``Host`` is not one of :func:`trusted_hosts`; the
    ``description`` (shown on the error page and in the API's JSON error) says so without
    repeating the host name."""


class SiteMapAdapter(MapAdapter):
    """A request's URL adapter: absolute URLs on the configured host, but the redirects that
    routing itself answers (a missing trailing slash: ``/hidalgo`` -> ``/hidalgo/``) are
    relative (RFC 9110 section 10.2.2 allows it), so they keep working on whatever address and
    port the site is reached at, e.g. ``comun run --port 5201`` with the default ``SITE_HOST``."""

    def make_redirect_url(self, path_info: str, query_args=None, domain_part: str | None = None) -> str:
        """The redirect target as ``/path?query`` (no scheme or host)."""
        parts = urlsplit(super().make_redirect_url(path_info, query_args, domain_part))
        return urlunsplit(("", "", parts.path, parts.query, ""))


def site_host(config) -> str:
    """The configured ``host[:port]`` of the site (``SITE_HOST``, environment
    ``COMUN_SITE_HOST``), lower case, without scheme or slashes."""
    host = str(config.get("SITE_HOST") or "127.0.0.1:5000").strip().lower()
    return host.split("://", 1)[-1].strip("/")


def site_scheme(config) -> str:
    """The scheme of absolute URLs: ``https`` when ``SESSION_COOKIE_SECURE`` is on (the site is
    served over HTTPS, README "Production"), else ``PREFERRED_URL_SCHEME`` (default ``http``)."""
    return "https" if config.get("SESSION_COOKIE_SECURE") else str(config.get("PREFERRED_URL_SCHEME") or "http")


def _name(host: str) -> str:
    """``host[:port]`` -> host name (``[::1]:80`` -> ``[::1]``)."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def trusted_hosts(config, tenants: dict[str, Tenant]) -> list[str]:
    """The host names the site answers (see the module docstring), for ``TRUSTED_HOSTS``.

    Args:
        config: the application's configuration (``SITE_HOST``, ``TRUSTED_HOSTS``, ``TESTING``,
            ``DEBUG``).
        tenants: the loaded tenants (their ``hosts``).

    Returns:
        Host names without ports, in a stable order, without duplicates.
    """
    names = [_name(site_host(config))]
    names += [_name(h.lower()) for t in tenants.values() for h in t.hosts]
    extra = config.get("TRUSTED_HOSTS") or []
    names += [str(h).lower() for h in ([extra] if isinstance(extra, str) else extra)]
    if config.get("TESTING") or config.get("DEBUG") or names[0] in LOOPBACK_HOSTS:
        names += LOOPBACK_HOSTS
    return list(dict.fromkeys(names))


def tenant_host_url(url: str, tenants: dict[str, Tenant], script_root: str = "") -> str:
    """Return ``url`` with its host replaced by the first of the tenant's ``hosts`` when ``url``
    is absolute and its path (after ``script_root``) starts with the slug of a tenant that has
    ``hosts``; otherwise ``url`` unchanged. The path keeps its ``/<slug>`` prefix, which the
    tenant's host serves as well (:class:`comun_cms.routing.TenantHostMiddleware`)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    path = parts.path[len(script_root):] if script_root and parts.path.startswith(script_root) else parts.path
    tenant = tenants.get(path.lstrip("/").split("/", 1)[0])
    if tenant is None or not tenant.hosts:
        return url
    return urlunsplit(parts._replace(netloc=tenant.hosts[0]))


def _refuse_untrusted_host(endpoint: str | None = None, values: dict | None = None) -> None:
    if request.environ.get(UNTRUSTED_HOST):
        raise UntrustedHostError(_("This server does not serve the host name of the request. Use the address of "
                                   "the site."))


def install_host_check(app: Flask) -> None:
    """Answer 400 to a request whose ``Host`` is not trusted, before anything else of the request
    runs (first URL value preprocessor). The application class marks such requests
    (:data:`UNTRUSTED_HOST`) instead of letting Flask fail them while building the URL adapter,
    so the 400 page can still be rendered, with links to the configured host."""
    app.url_value_preprocessors.setdefault(None, []).insert(0, _refuse_untrusted_host)
