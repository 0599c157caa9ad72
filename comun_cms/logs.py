"""Request ids and structured JSON logs.

**Request ids.** :class:`RequestIdMiddleware` (the outermost layer of the application's WSGI
stack) gives every request an id: the ``X-Request-ID`` header sent by the reverse proxy (nginx's
``$request_id``) when it is well formed (:data:`REQUEST_ID_PATTERN`: 1-128 letters, digits and
``. _ : -``), else a new random one (32 hex digits, :func:`uuid.uuid4`). The id is returned in the
response's ``X-Request-ID`` header, kept in ``environ["comun.request_id"]`` and in a context
variable that :class:`RequestIdFilter` copies into every log record written while the request
runs (``record.request_id``; ``"-"`` outside requests). A malformed header is not trusted (it
could carry line breaks into the logs): a new id is made instead.

**JSON logs.** With ``LOG_FORMAT = "json"`` (``COMUN_LOG_FORMAT=json``) the application's log
records go to standard error as one JSON object per line (python-json-logger):
``{"timestamp", "level", "logger", "message", "request_id", ...}`` plus ``exc_info`` for errors.
``comun run`` passes the setting to gunicorn, whose logger class
(:class:`comun_cms.access_log.RedactingLogger`) then writes its error log and its access log in
JSON as well (:func:`json_formatter`); the access log carries the same ``request_id``, read from
the response header. ``LOG_LEVEL`` (default ``INFO``) sets the level. The default ``text`` changes
nothing of Flask's and gunicorn's usual lines, except that gunicorn's access line ends with the
request id.
"""
from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid

from flask import Flask
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter
from werkzeug.wsgi import ClosingIterator

__all__ = ["REQUEST_ID_HEADER", "REQUEST_ID_PATTERN", "RequestIdFilter", "RequestIdMiddleware", "configure_logging",
           "current_request_id", "json_formatter"]

#: Header that carries the request id, in and out.
REQUEST_ID_HEADER = "X-Request-ID"
#: A request id accepted from the proxy.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_ENVIRON_KEY = "comun.request_id"
_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("comun_request_id", default=None)
_HANDLER_MARK = "_comun_json_handler"


def current_request_id() -> str | None:
    """The id of the request being served in this thread, or ``None`` outside requests."""
    return _REQUEST_ID.get()


class RequestIdMiddleware:
    """WSGI middleware: read or make the request id, expose it while the request runs and return
    it in the ``X-Request-ID`` response header (see the module docstring)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID_PATTERN.fullmatch(given) else uuid.uuid4().hex
        environ[_ENVIRON_KEY] = request_id
        _REQUEST_ID.set(request_id)

        def _start_response(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, exc_info)

        try:
            app_iter = self.wsgi_app(environ, _start_response)
        except BaseException:
            _REQUEST_ID.set(None)
            raise
        return ClosingIterator(app_iter, [lambda: _REQUEST_ID.set(None)])


class RequestIdFilter(logging.Filter):
    """A :class:`logging.Filter` (put it on a handler) that sets ``record.request_id`` to the
    current request's id, or ``"-"`` outside requests; a record that already has one keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _REQUEST_ID.get() or "-"
        return True


def json_formatter() -> JsonFormatter:
    """The JSON formatter of every log line: ``timestamp`` (ISO 8601, UTC), ``level``,
    ``logger``, ``message``, ``request_id`` and any ``extra`` fields of the record."""
    return JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s",
                         rename_fields={"levelname": "level", "name": "logger"}, timestamp=True,
                         json_ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """Apply ``LOG_FORMAT`` and ``LOG_LEVEL`` to the process's logging.

    ``json``: one handler on the root logger writing JSON lines to standard error, with
    :class:`RequestIdFilter` (installed once per process, however many applications are built);
    Flask's own handler is removed from ``app.logger`` so records are not written twice.
    ``text`` (default): nothing changes.

    Raises:
        comun_cms.config.ConfigError: ``LOG_FORMAT`` is neither ``text`` nor ``json``.
    """
    from comun_cms.config import ConfigError

    fmt = str(app.config.get("LOG_FORMAT") or "text").lower()
    if fmt not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT: '{fmt}' is not a log format (use 'text' or 'json')")
    if fmt != "json":
        return
    root = logging.getLogger()
    if not any(getattr(h, _HANDLER_MARK, False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(json_formatter())
        handler.addFilter(RequestIdFilter())
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(str(app.config.get("LOG_LEVEL") or "INFO").upper())
    app.logger.removeHandler(default_handler)
