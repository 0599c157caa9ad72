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
import re

from gunicorn.glogging import Logger as GunicornLogger

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

#: gunicorn options of ``comun run``: access log to standard output, through :class:`RedactingLogger`.
GUNICORN_ACCESS_LOG_ARGS = ("--access-logfile", "-", "--logger-class", "comun_cms.access_log.RedactingLogger")


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
    ``%({header}i)s``, ``%({variable}e)s``…) carry no invitation token (:func:`redact_url`)."""

    def atoms(self, resp, req, environ, request_time):
        """gunicorn's atoms with every string value passed through :func:`redact_url`."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_url(value) if isinstance(value, str) else value for key, value in atoms.items()}


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
