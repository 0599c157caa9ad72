"""Error pages: themed HTML for 400, 403, 404, 405, 413, 429 and 500, JSON under ``/api/``.

JSON shape: ``{"error": {"status": 404, "message": "..."}}`` (plus ``"field"`` naming a refused
parameter). A
:class:`~comun_cms.tenancy.TenantIsolationError` (code touching another tenant's rows) answers
403. Errors raised before the tenant is known (an unmatched URL under ``/<slug>/``) still render
with that tenant's look.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from comun_cms.edge import BadTextError
from comun_cms.extensions import db
from comun_cms.hosts import UntrustedHostError
from comun_cms.tenancy import TenantIsolationError, get_current_tenant, tenant_context

log = logging.getLogger(__name__)

#: status -> (title, explanation); English msgids, translated when rendered.
MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. If you sent a form, reload the page and try again.")),
    403: (_l("Access denied"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you are looking for does not exist or is no longer available.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("File too large"), _l("What you sent is larger than the size allowed.")),
    429: (_l("Too many requests"), _l("You sent too many requests in a short time. Please wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. It has been recorded; please try again later.")),
}
HANDLED = tuple(MESSAGES)


def _tenant_from_path():
    """The tenant named by the first path segment, for errors raised before routing set it."""
    tenants = current_app.extensions["comun"].tenants
    first = request.path.strip("/").split("/", 1)[0]
    return tenants.get(first)


def error_response(status: int, headers=None, message=None, field=None):
    """Build the error response for ``status``: JSON under ``/api/``, the JSON of an automatic
    save (``{"ok": false, "message", "errors"}``) for a POST that accepts only JSON, a themed
    page otherwise.

    ``message`` replaces the status's standard explanation (e.g. which parameter was refused);
    ``field`` names the refused parameter in the JSON error (``{"error": {..., "field": "q"}}``).
    Returns ``(body, status, headers)``. If the themed page itself fails to render (a broken
    database during a 500), a minimal plain-text body is returned instead.
    """
    title, standard = MESSAGES.get(status, (_l("Error"), _l("The request failed.")))
    message = message or standard
    headers = dict(headers or {})
    if request.path == "/api" or request.path.startswith("/api/"):
        error = {"status": status, "message": str(message)} | ({"field": field} if field else {})
        return jsonify(error=error), status, headers
    if request.method == "POST" and request.accept_mimetypes.best == "application/json":
        # an automatic save of an editor (js/editing.js, comun_cms.editing): the script shows the message
        return jsonify(ok=False, message=str(message), errors=[]), status, headers
    tenant = get_current_tenant()
    if tenant is None:  # not routed (yet): take the tenant from the path; url_for reads g.tenant
        tenant = g.tenant = _tenant_from_path()
    try:
        with tenant_context(tenant):
            body = render_template([f"errors/{status}.html", "errors/error.html"],
                                   status=status, title=title, message=message)
    except Exception:  # noqa: BLE001 - the error page must not fail
        log.exception("error page %s failed to render", status)
        body, headers["Content-Type"] = f"{status} {title}", "text/plain; charset=utf-8"
    return body, status, headers


def _handle_http(exc: HTTPException):
    headers = {}
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    if isinstance(exc, (BadTextError, UntrustedHostError)):  # say what was refused
        return error_response(exc.code, headers, exc.description, getattr(exc, "field", None))
    return error_response(exc.code or 500, headers)


def _rollback() -> None:
    """Drop a failed or refused transaction so the error page can still use the session."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        log.exception("rollback after error failed")


def _handle_isolation(exc: TenantIsolationError):
    log.warning("tenant isolation: %s", exc)
    _rollback()
    return error_response(403)


def _handle_server_error(exc: InternalServerError):
    _rollback()  # Flask has already logged the original exception
    return error_response(500)


def init_app(app: Flask) -> None:
    """Register the error handlers on ``app`` (replaces the app factory's isolation handler)."""
    for status in HANDLED:
        if status != 500:
            app.register_error_handler(status, _handle_http)
    app.register_error_handler(InternalServerError, _handle_server_error)
    app.register_error_handler(TenantIsolationError, _handle_isolation)


__all__ = ["MESSAGES", "error_response", "init_app"]
