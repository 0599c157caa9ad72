"""Logs without secrets: invitation tokens never reach the access log or the error log.

An invitation link (``/auth/invitacion/<token>``) lets whoever has it create an account, so its
token must not be written where operators, log shippers or backups can read it. Everything that
writes a request's address goes through :func:`redact_url`:

* gunicorn's access log (``comun run``): :class:`RedactingLogger`, given to gunicorn with
  ``--logger-class comun_cms.access_log.RedactingLogger``; it redacts the request line, path,
  query, the ``Referer`` (a page opened from an invitation sends its address there) and every
  header and environment value;
* Flask's development server (``comun run --dev``): :class:`RedactingFilter` on the ``werkzeug``
  logger;
* the application's own error log (``Exception on /auth/invitacion/…``):
  :meth:`comun_cms.app.ComunFlask.log_exception`.

The token is replaced by :data:`REDACTED`; everything else of the line stays as it was.
"""
from __future__ import annotations

import logging
import os
import re
import traceback

from gunicorn.glogging import Logger as GunicornLogger

from comun_cms.logs import RequestIdFilter, json_formatter

__all__ = ["GUNICORN_ACCESS_LOG_ARGS", "REDACTED", "RedactingFilter", "RedactingLogger", "redact_url"]

#: What replaces a secret in a logged address.
REDACTED = "[redacted]"

#: Path segments followed by a secret token (one path segment, up to ``/ ? #``, space or quote).
#: ``/auth/invitacion/<token>`` is the invitation link of :mod:`comun_cms.views.auth`.
#: ``/auth/contrasena/nueva/<token>`` is a password-reset link and ``/<tenant>/seguimiento/<token>``
#: the private tracking page of a citizen's request (:mod:`comun_cms.views.public`).
_SECRET_PATH = re.compile(r"(/auth/invitacion/|/auth/contrasena/nueva/|/seguimiento/)[^/?#\s\"']+")
_SECRET_MARKERS = ("/auth/invitacion/", "/auth/contrasena/nueva/", "/seguimiento/", "=")
#: Query parameters whose value is a secret (``?token=…``).
_SECRET_QUERY = re.compile(r"([?&;](?:token|invitation|reset_token|password)=)[^&;#\s\"']*", re.IGNORECASE)

#: gunicorn's access-log line (its default "combined" format) followed by the request id
#: (:mod:`comun_cms.logs`), read from the response's ``X-Request-ID`` header.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'

#: gunicorn options of ``comun run``: access log to standard output, through :class:`RedactingLogger`.
GUNICORN_ACCESS_LOG_ARGS = ("--access-logfile", "-", "--logger-class", "comun_cms.access_log.RedactingLogger",
                            "--access-logformat", ACCESS_LOG_FORMAT)


def redact_url(text: str) -> str:
    """Return ``text`` (a URL, a path or a whole log line) with every invitation, password-reset
    and tracking token and every secret query value replaced by :data:`REDACTED`.

    >>> redact_url("GET /auth/invitacion/abc123?x=1 HTTP/1.1")
    'GET /auth/invitacion/[redacted]?x=1 HTTP/1.1'
    """
    if not isinstance(text, str) or not any(marker in text for marker in _SECRET_MARKERS):
        return text
    text = _SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingLogger(GunicornLogger):
    """gunicorn logger whose access-log atoms (``%(r)s``, ``%(U)s``, ``%(q)s``, ``%(f)s``,
    ``%({header}i)s``, ``%({variable}e)s``…) carry no invitation token (:func:`redact_url`).

    With ``COMUN_LOG_FORMAT=json`` in its environment (``comun run`` sets it from ``LOG_FORMAT``),
    its error log and access log are JSON lines (:func:`comun_cms.logs.json_formatter`); an access
    record has ``method``, ``path`` (with the query, redacted), ``status``, ``bytes``,
    ``duration_ms``, ``remote_addr``, ``referer`` (redacted), ``user_agent`` and ``request_id``."""

    def setup(self, cfg):
        """gunicorn's set-up; then, in JSON mode, the JSON formatter and the request-id filter on
        every handler of the error and access logs."""
        super().setup(cfg)
        self.json = os.environ.get("COMUN_LOG_FORMAT", "").lower() == "json"
        if self.json:
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(json_formatter())
                    handler.addFilter(RequestIdFilter())

    def atoms(self, resp, req, environ, request_time):
        """gunicorn's atoms with every string value passed through :func:`redact_url`."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_url(value) if isinstance(value, str) else value for key, value in atoms.items()}

    def access(self, resp, req, environ, request_time):
        """Write the access-log record: gunicorn's line, or in JSON mode one object with the
        request's fields (all redacted)."""
        if not getattr(self, "json", False):
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        atoms = self.atoms(resp, req, environ, request_time)
        query = atoms.get("q") or ""
        fields = {"method": atoms.get("m"), "path": atoms.get("U", "") + (f"?{query}" if query else ""),
                  "status": int(atoms["s"]) if str(atoms.get("s", "")).isdigit() else atoms.get("s"),
                  "bytes": atoms.get("B"), "duration_ms": round(request_time.total_seconds() * 1000, 3),
                  "remote_addr": atoms.get("h"), "referer": atoms.get("f"), "user_agent": atoms.get("a"),
                  "request_id": atoms.get("{x-request-id}o") or "-"}
        try:
            self.access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields)
        except Exception:
            self.error(traceback.format_exc())
        return None


class RedactingFilter(logging.Filter):
    """A :class:`logging.Filter` that redacts the message and its string arguments (for the
    ``werkzeug`` development server's request lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_url(record.msg) if isinstance(record.msg, str) else record.msg
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact_url(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True
