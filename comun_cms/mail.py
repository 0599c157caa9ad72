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
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
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

__all__ = ["MailError", "MailUnavailable", "deliver_due", "message_bytes", "message_for", "outbox_counts", "retry_failed", "run_worker",
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


#: Body encoding of the parts: UTF-8, quoted-printable (RFC 2045 section 6.7), so an ``.eml``
#: file stays readable in a text editor and lines stay under 78 characters.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.header_encoding = QP
_UTF8_QP.body_encoding = QP


def _header_value(value: str) -> str:
    """``value`` on one line: CR and LF become spaces (no header injection, RFC 5322 section 2.2)."""
    return " ".join(str(value).splitlines())


def _address_header(value: str) -> str:
    """``"Name <a@b>"`` with a non-ASCII display name encoded per RFC 2047; ASCII unchanged."""
    value = _header_value(value)
    if value.isascii():
        return value
    name, addr = parseaddr(value)
    return formataddr((name, addr), charset=_UTF8_QP) if addr else value


def message_for(row: MailOutbox) -> Message:
    """The RFC 5322 message of an outbox row: ``multipart/alternative`` (RFC 2046 section 5.1.4)
    with the text part and the HTML part when the row has one, else a single text part; the row's
    ``Message-ID`` (the same on every attempt), ``Auto-Submitted: auto-generated`` (RFC 3834) and
    its extra headers. Parts are UTF-8, quoted-printable; non-ASCII headers are RFC 2047 words.

    Built with the standard library's ``compat32`` classes (:mod:`email.mime`): the message is
    already rendered, so the header parsing of :class:`email.message.EmailMessage`'s default
    policy (about five times the cost, measured in docs/benchmarks.md) buys nothing here."""
    text = MIMEText(row.text_body, "plain", _UTF8_QP)
    if row.html_body:
        msg: Message = MIMEMultipart("alternative")
        msg.attach(text)
        msg.attach(MIMEText(row.html_body, "html", _UTF8_QP))
    else:
        msg = text
    msg["From"] = _address_header(row.sender)
    msg["To"] = _address_header(row.recipient)
    subject = _header_value(row.subject)
    msg["Subject"] = subject if subject.isascii() else Header(subject, _UTF8_QP).encode()
    msg["Date"] = format_datetime(row.created_at.replace(tzinfo=dt.timezone.utc))
    msg["Message-ID"] = _header_value(row.message_id)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    for name, value in (row.headers or {}).items():
        msg[_header_value(name)] = _header_value(value)
    return msg


_SMTP_LINES = compat32.clone(linesep="\r\n")


def message_bytes(row: MailOutbox, smtp: bool = False) -> bytes:
    """:func:`message_for` as bytes: CRLF line ends when ``smtp`` (RFC 5321 section 2.3.8;
    ``smtplib`` does not convert bytes), else LF (an ``.eml`` file)."""
    msg = message_for(row)
    return msg.as_bytes(policy=_SMTP_LINES) if smtp else msg.as_bytes()


class MailUnavailable(MailError):
    """The mail server (or the ``.eml`` folder) cannot be reached at all: every message of the
    batch waits for the next attempt, not only the one being sent."""


def _deliver_file(data: bytes, row: MailOutbox) -> None:
    folder = Path(current_app.config.get("MAIL_DIR") or Path(current_app.instance_path) / "mail")
    stamp = row.created_at.strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{row.id:06d}-{row.kind}.eml"
    tmp = path.with_suffix(".tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner only
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk or a folder that cannot be written: try again later
        raise MailUnavailable(f"{type(exc).__name__}: {exc}") from exc


class _SMTPConnection:
    """One SMTP connection reused for a batch of messages (opened on first use, opened again
    after it broke); :meth:`close` ends it with QUIT.

    A message the server refuses (a 4xx/5xx reply to MAIL, RCPT or DATA; ``smtplib`` sends RSET
    after it) raises :class:`MailError` and the connection is kept for the next message. A
    connection that cannot be opened, breaks, or gets ``421`` (the server closes, RFC 5321
    section 3.8) raises :class:`MailUnavailable`."""

    def __init__(self):
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        cfg = current_app.config
        host, port, timeout = cfg["MAIL_HOST"], int(cfg["MAIL_PORT"]), float(cfg["MAIL_TIMEOUT"])
        if cfg.get("MAIL_TLS"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if cfg.get("MAIL_STARTTLS") and not cfg.get("MAIL_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def __call__(self, row: MailOutbox) -> None:
        data = message_bytes(row, smtp=True)
        sender, recipient = _addr(row.sender), row.recipient
        options = [] if (sender + recipient).isascii() else ["SMTPUTF8"]  # RFC 6531
        if self.smtp is None:
            try:
                self.smtp = self._open()
            except (smtplib.SMTPException, OSError) as exc:   # refused, no answer, TLS or login
                raise MailUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            refused = self.smtp.sendmail(sender, [recipient], data, mail_options=options)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:
                self.close()
                raise MailUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise MailError(f"{type(exc).__name__}: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"{type(exc).__name__}: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailUnavailable(f"{type(exc).__name__}: {exc}") from exc
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

    def __call__(self, row: MailOutbox) -> None:
        _deliver_file(message_bytes(row), row)

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
    """Mark up to ``limit`` due rows ``sending`` and commit; returns their ids, oldest first. On
    PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED`` so several workers never claim
    the same message; rows claimed by a worker that died (older than ``MAIL_CLAIM_TIMEOUT``) are
    due again."""
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
    """Deliver up to ``limit`` messages that are due, oldest first, over one SMTP connection.

    The batch is claimed in one statement (:func:`_claim`), loaded in one query, and each
    outcome is recorded as it happens and committed every ``MAIL_COMMIT_EVERY`` messages and at
    the end (:func:`_deliver_rows`). A refused message is scheduled again with back-off
    (``failed`` after ``MAIL_MAX_ATTEMPTS``); when the server cannot be reached, that message
    and the rest of the batch are. Returns ``(sent, failed_attempts)``. Raises ``ValueError``
    for an unknown ``MAIL_BACKEND``."""
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


def _failed_attempt(row: MailOutbox, exc: MailError, now: dt.datetime) -> None:
    """Record one failed attempt on ``row`` (back-off, or ``failed`` after the last attempt)."""
    row.attempts += 1
    row.last_error = str(exc)[:2000]
    row.claimed_at = None
    if row.attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"]):
        row.status = "failed"
    else:
        row.status = "pending"
        row.next_attempt_at = now + _backoff(row.attempts)


def _deliver_rows(ids: list[int], backend) -> tuple[int, int]:
    """Send the claimed rows ``ids`` through ``backend``.

    Outcomes are committed every ``MAIL_COMMIT_EVERY`` messages (default 20) and at the end:
    a worker killed in between (no SIGTERM: that stops between batches) leaves the last
    uncommitted messages ``sending``, and they are sent again, with the same ``Message-ID``, after
    ``MAIL_CLAIM_TIMEOUT``; ``MAIL_COMMIT_EVERY = 1`` makes that at most the one message in flight,
    at the cost of one commit (a disk sync) per message."""
    rows = db.session.scalars(select(MailOutbox).where(MailOutbox.id.in_(ids))
                              .order_by(MailOutbox.next_attempt_at, MailOutbox.id)).all()
    every = max(1, int(current_app.config["MAIL_COMMIT_EVERY"]))
    sent = failed = uncommitted = 0
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False   # the batch's rows stay loaded: no SELECT per row after a commit
    try:
        for index, row in enumerate(rows):
            try:
                backend(row)
            except MailUnavailable as exc:
                now = utcnow()
                for waiting in rows[index:]:   # the server is away: the rest of the batch waits too
                    _failed_attempt(waiting, exc, now)
                failed += len(rows) - index
                break
            except MailError as exc:
                _failed_attempt(row, exc, utcnow())
                failed += 1
            else:
                row.status, row.sent_at, row.claimed_at, row.last_error = "sent", utcnow(), None, None
                row.attempts += 1
                sent += 1
            uncommitted += 1
            if uncommitted >= every:
                session.commit()
                uncommitted = 0
    finally:
        session.expire_on_commit = expire
    session.commit()
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
