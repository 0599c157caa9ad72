"""E-mail that loses nothing: an outbox written in the transaction of the event that causes the
message, and one worker (``comun mail worker``, started by ``comun run``) that delivers it with
retries and exponential back-off, so an SMTP outage delays mail and loses none.

Messages are built with the standard library (:mod:`email.message`, RFC 5322 and MIME
multipart/alternative per RFC 2046) and sent with :mod:`smtplib` (RFC 5321; STARTTLS per RFC 3207
or implicit TLS per RFC 8314). The standard library was chosen over Flask-Mailman because the
message is rendered inside the request (templates, language, tenant) but sent later by another
process: what is needed is a serialisable row and a small delivery function, not a mail
framework bound to the request.

Settings (``instance/config.toml`` or ``COMUN_MAIL_*``):

* ``MAIL_BACKEND``: ``file`` (default: each message is written as an ``.eml`` file under
  ``MAIL_DIR``, ``<instance>/mail``; the demo works with no server) or ``smtp``;
* ``MAIL_HOST``, ``MAIL_PORT``, ``MAIL_STARTTLS`` (bool), ``MAIL_TLS`` (bool, implicit TLS),
  ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_TIMEOUT`` (seconds);
* ``MAIL_SENDER`` (the platform's ``From``) and ``MAIL_SENDERS`` (tenant slug -> ``From``);
* ``MAIL_MAX_ATTEMPTS`` (then the row is ``failed``; ``comun mail retry`` queues it again),
  ``MAIL_RETRY_BASE`` and ``MAIL_RETRY_MAX`` (seconds of the back-off), ``MAIL_CLAIM_TIMEOUT``
  (seconds after which a message claimed by a worker that died is delivered again).
"""
from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from jinja2 import TemplateNotFound
from sqlalchemy import func, select, update

from comun_cms import privacy
from comun_cms.extensions import db
from comun_cms.models.base import utcnow
from comun_cms.models.core import MailOutbox

__all__ = ["MailError", "deliver_due", "message_for", "outbox_counts", "retry_failed", "run_worker",
           "send_mail", "sender_for"]


class MailError(Exception):
    """A message could not be delivered now (the server refused it or did not answer); the row
    stays queued and is tried again after the back-off."""


def sender_for(tenant_slug: str | None) -> str:
    """The ``From`` address for ``tenant_slug`` (``MAIL_SENDERS[slug]``, else ``MAIL_SENDER``)."""
    senders = current_app.config.get("MAIL_SENDERS") or {}
    return senders.get(tenant_slug or "", current_app.config["MAIL_SENDER"])


def send_mail(to: str, template: str, context: dict[str, Any] | None = None, *, tenant=None,
              locale: str | None = None, kind: str | None = None, headers: dict[str, str] | None = None,
              sender: str | None = None) -> MailOutbox:
    """Queue an e-mail in the current database transaction (it is sent only if that commits).

    Args:
        to: recipient address.
        template: theme template base name under ``mail/``: ``mail/<template>.txt`` (required,
            its first line ``Subject: ...`` is the subject) and ``mail/<template>.html`` (optional,
            the HTML alternative). Both render with ``context`` plus ``tenant``.
        tenant: the :class:`~comun_cms.tenancy.Tenant` the message speaks for (sender, language,
            ``tenant`` in templates), or ``None`` for the platform.
        locale: language of the message (default: the tenant's default locale, else es_MX).
        kind: what the message is (``invitation``, ``answer``...), for ``comun mail status``;
            default ``template``.
        headers: extra headers (e.g. ``List-Unsubscribe``, RFC 8058).
        sender: overrides :func:`sender_for`.

    Returns the added (not yet committed) :class:`MailOutbox` row. Raises ``ValueError`` when the
    text template does not start with a ``Subject:`` line.
    """
    slug = getattr(tenant, "slug", None)
    lang = locale or getattr(tenant, "default_locale", None) or current_app.config["BABEL_DEFAULT_LOCALE"]
    ctx = dict(context or {}, tenant=tenant, mail_lang=lang.replace("_", "-"))
    with force_locale(lang):
        text = _render(f"mail/{template}.txt", ctx)
        try:
            html = _render(f"mail/{template}.html", ctx)
        except TemplateNotFound:
            html = None
    first, _, body = text.lstrip().partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"mail/{template}.txt must start with a 'Subject: ...' line")
    domain = (sender or sender_for(slug)).rpartition("@")[2].strip(" >") or "localhost"
    row = MailOutbox(tenant=slug, kind=kind or template, sender=sender or sender_for(slug), recipient=to,
                     subject=first[len("Subject:"):].strip(), text_body=body.strip() + "\n", html_body=html,
                     headers=dict(headers or {}), message_id=make_msgid(domain=domain), status="pending",
                     attempts=0, next_attempt_at=utcnow())
    db.session.add(row)
    return row


def _render(name: str, context: dict[str, Any]) -> str:
    """Render a mail template with ``context`` only: no request-bound context processors (menus,
    language links), so a message renders the same inside a request, in the worker or in a CLI
    command, and a digest of thousands of messages does not rebuild a page's navigation for each."""
    return current_app.jinja_env.get_template(name).render(context)


def message_for(row: MailOutbox) -> EmailMessage:
    """The RFC 5322 message of an outbox row: text part, HTML alternative if any, the row's
    ``Message-ID`` (the same on every attempt) and its extra headers."""
    msg = EmailMessage()
    msg["From"] = row.sender
    msg["To"] = row.recipient
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at.replace(tzinfo=dt.timezone.utc))
    msg["Message-ID"] = row.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    for name, value in (row.headers or {}).items():
        msg[name] = value
    msg.set_content(row.text_body)
    if row.html_body:
        msg.add_alternative(row.html_body, subtype="html")
    return msg


def _deliver_file(msg: EmailMessage, row: MailOutbox) -> None:
    folder = Path(current_app.config.get("MAIL_DIR") or Path(current_app.instance_path) / "mail")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = row.created_at.strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{row.id:06d}-{row.kind}.eml"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner only
    with os.fdopen(fd, "wb") as fh:
        fh.write(msg.as_bytes())
    os.replace(tmp, path)


class _SMTPConnection:
    """One SMTP connection reused for a batch of messages (opened on first use, opened again
    after a failure); :meth:`close` ends it with QUIT."""

    def __init__(self):
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        cfg = current_app.config
        host, port, timeout = cfg["MAIL_HOST"], int(cfg["MAIL_PORT"]), float(cfg["MAIL_TIMEOUT"])
        if cfg.get("MAIL_TLS"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        if cfg.get("MAIL_STARTTLS") and not cfg.get("MAIL_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        return smtp

    def __call__(self, msg: EmailMessage, row: MailOutbox) -> None:
        try:
            if self.smtp is None:
                self.smtp = self._open()
            refused = self.smtp.send_message(msg, from_addr=_addr(row.sender), to_addrs=[row.recipient])
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            raise MailError(f"recipient refused: {refused}")

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


class _FileWriter:
    """The ``file`` backend: :func:`_deliver_file` for each message; nothing to close."""

    def __call__(self, msg: EmailMessage, row: MailOutbox) -> None:
        _deliver_file(msg, row)

    def close(self) -> None:
        """Nothing to release."""


def _addr(value: str) -> str:
    """The bare address of ``"Name <a@b>"`` or ``"a@b"``."""
    return value.rpartition("<")[2].rstrip(">").strip() if "<" in value else value.strip()


BACKENDS: dict[str, Callable[[], Any]] = {"file": _FileWriter, "smtp": _SMTPConnection}


def _backoff(attempts: int) -> dt.timedelta:
    """Seconds to wait after ``attempts`` failed tries: ``MAIL_RETRY_BASE * 2**(attempts-1)``,
    at most ``MAIL_RETRY_MAX``."""
    base, cap = float(current_app.config["MAIL_RETRY_BASE"]), float(current_app.config["MAIL_RETRY_MAX"])
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _claim(limit: int) -> list[int]:
    """Mark up to ``limit`` due rows ``sending`` and commit; returns their ids. On PostgreSQL the
    rows are locked with ``FOR UPDATE SKIP LOCKED`` so several workers never claim the same
    message; rows claimed by a worker that died (older than ``MAIL_CLAIM_TIMEOUT``) are due again."""
    now = utcnow()
    stale = now - dt.timedelta(seconds=float(current_app.config["MAIL_CLAIM_TIMEOUT"]))
    due = (select(MailOutbox.id)
           .where(((MailOutbox.status == "pending") & (MailOutbox.next_attempt_at <= now))
                  | ((MailOutbox.status == "sending") & (MailOutbox.claimed_at < stale)))
           .order_by(MailOutbox.next_attempt_at, MailOutbox.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due))
    if ids:
        db.session.execute(update(MailOutbox).where(MailOutbox.id.in_(ids))
                           .values(status="sending", claimed_at=now))
    db.session.commit()
    return ids


def deliver_due(limit: int = 100) -> tuple[int, int]:
    """Deliver up to ``limit`` messages that are due, oldest first, over one SMTP connection
    (opened again after a failure). Each message is committed ``sent`` right after the server
    accepted it; a refusal or an outage schedules the next attempt with
    back-off (``failed`` after ``MAIL_MAX_ATTEMPTS``). Returns ``(sent, failed_attempts)``."""
    factory = BACKENDS.get(current_app.config["MAIL_BACKEND"])
    if factory is None:
        raise ValueError(f"MAIL_BACKEND must be one of {sorted(BACKENDS)}, not "
                         f"{current_app.config['MAIL_BACKEND']!r}")
    ids = _claim(limit)
    if not ids:
        return 0, 0
    backend = factory()
    try:
        return _deliver_rows(ids, backend)
    finally:
        backend.close()


def _deliver_rows(ids: list[int], backend) -> tuple[int, int]:
    """Send the claimed rows ``ids`` through ``backend``, committing each outcome."""
    sent = failed = 0
    for row_id in ids:
        row = db.session.get(MailOutbox, row_id)
        try:
            backend(message_for(row), row)
        except MailError as exc:
            row.attempts += 1
            row.last_error = str(exc)[:2000]
            row.claimed_at = None
            if row.attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"]):
                row.status = "failed"
            else:
                row.status = "pending"
                row.next_attempt_at = utcnow() + _backoff(row.attempts)
            failed += 1
        else:
            row.status, row.sent_at, row.claimed_at, row.last_error = "sent", utcnow(), None, None
            row.attempts += 1
            sent += 1
        db.session.commit()
    return sent, failed


#: Seconds between two runs of the retention purge by the mail worker (once a day).
PURGE_EVERY = 24 * 3600


def run_worker(interval: float = 1.0, stop: Callable[[], bool] = lambda: False,
               tick: Callable[[], Any] | None = None) -> None:
    """Deliver due mail forever (polling every ``interval`` seconds) until ``stop()`` is true.
    ``tick``, if given, runs before each poll (the subscription digests). Errors other than
    delivery failures are logged and the loop goes on (rows stay queued).

    The worker also runs the retention purge (:func:`comun_cms.privacy.purge_all`) when it
    starts and then once every :data:`PURGE_EVERY` seconds (setting ``PRIVACY_PURGE`` false
    turns this off)."""
    last_purge = None
    while not stop():
        if current_app.config["PRIVACY_PURGE"] and (
                last_purge is None or time.monotonic() - last_purge >= PURGE_EVERY):
            last_purge = time.monotonic()
            try:
                privacy.purge_all()
            except Exception:  # the purge is tried again tomorrow; mail goes on
                current_app.logger.exception("privacy purge failed")
                db.session.rollback()
        try:
            if tick is not None:
                tick()
            sent, _failed = deliver_due()
        except Exception:  # keep the worker alive; nothing is lost, rows stay queued
            current_app.logger.exception("mail worker failed; retrying")
            db.session.rollback()
            sent = 0
        if sent == 0:
            time.sleep(interval)


def outbox_counts() -> dict[str, int]:
    """Number of outbox rows per status (``pending``, ``sending``, ``sent``, ``failed``)."""
    rows = db.session.execute(select(MailOutbox.status, func.count()).group_by(MailOutbox.status))
    counts = {"pending": 0, "sending": 0, "sent": 0, "failed": 0}
    counts.update({status: n for status, n in rows})
    return counts


def retry_failed() -> int:
    """Queue every ``failed`` message again (attempts reset); returns how many. Commits."""
    n = db.session.execute(update(MailOutbox).where(MailOutbox.status == "failed")
                           .values(status="pending", attempts=0, next_attempt_at=utcnow())).rowcount
    db.session.commit()
    return n or 0
