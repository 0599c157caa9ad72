"""The operations endpoints and the WSGI layers around the application (docs/deploy.md).

:func:`install` wraps the application's WSGI callable, outermost first::

    ProxyFix (PROXY_FIX) -> RequestIdMiddleware -> MetricsMiddleware -> OpsMiddleware
        -> TenantHostMiddleware (tenants with hosts) -> Flask

:class:`OpsMiddleware` answers ``/healthz``, ``/readyz`` (:mod:`comun_cms.health`) and
``/metrics`` (:mod:`comun_cms.metrics`) itself, before Flask: these addresses resolve no tenant
(not even on a tenant's own host name), pass no host check, rate limit or page cache, open no
session and set no cookie. Every request still gets a request id (:mod:`comun_cms.logs`) and is
counted.
"""
from __future__ import annotations

import json

from flask import Flask

from comun_cms import health, metrics
from comun_cms.logs import RequestIdMiddleware

__all__ = ["OPS_PATHS", "OpsMiddleware", "install"]

#: The addresses answered by :class:`OpsMiddleware` (exact paths).
OPS_PATHS = ("/healthz", "/readyz", "/metrics")


def _json(start_response, status: str, body: dict, extra: list[tuple[str, str]] = ()) -> list[bytes]:
    data = json.dumps(body, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), *extra])
    return [data]


class OpsMiddleware:
    """WSGI middleware serving :data:`OPS_PATHS` for ``GET`` and ``HEAD`` (``405`` for other
    methods); every other request goes on to ``wsgi_app``."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path not in OPS_PATHS:
            return self.wsgi_app(environ, start_response)
        environ[metrics.ENDPOINT_KEY] = "ops." + path.strip("/")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method not in ("GET", "HEAD"):
            return self._head_only(method, _json(start_response, "405 Method Not Allowed",
                                                 {"error": "method not allowed"}, [("Allow", "GET, HEAD")]))
        if path == "/healthz":
            body = _json(start_response, "200 OK", health.liveness())
        elif path == "/readyz":
            ready, report = health.readiness(self.app)
            body = _json(start_response, "200 OK" if ready else "503 Service Unavailable", report)
        else:
            body = self._metrics(environ, start_response)
        return self._head_only(method, body)

    @staticmethod
    def _head_only(method: str, body: list[bytes]) -> list[bytes]:
        return [] if method == "HEAD" else body

    def _metrics(self, environ, start_response) -> list[bytes]:
        status = metrics.check_access(self.app, environ)
        if status == 404:
            return _json(start_response, "404 Not Found", {"error": "not found"})
        if status == 401:
            return _json(start_response, "401 Unauthorized", {"error": "a bearer token is required"},
                         [("WWW-Authenticate", 'Bearer realm="metrics"')])
        if status == 403:
            return _json(start_response, "403 Forbidden", {"error": "this address may not read the metrics"})
        data, content_type = metrics.render(self.app)
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(data))),
                                  ("Cache-Control", "no-store")])
        return [data]


def install(app: Flask) -> None:
    """Wrap ``app.wsgi_app`` in the operations layers (see the module docstring). Call it after
    the tenant host middleware and before ``ProxyFix``."""
    from comun_cms.tenancy import TenantConfigError

    for tenant in app.extensions["comun"].tenants.values():
        if "/" + tenant.slug in OPS_PATHS:
            raise TenantConfigError(tenant.path / "tenant.toml", "slug", f"'{tenant.slug}' is an operations address "
                                    f"(/{tenant.slug})")
    metrics.init_app(app)
    app.wsgi_app = RequestIdMiddleware(metrics.MetricsMiddleware(OpsMiddleware(app, app.wsgi_app)))
