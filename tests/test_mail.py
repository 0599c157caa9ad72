"""E-mail: queued in the transaction that causes it, delivered by the worker to a real SMTP server
(aiosmtpd started by the test) with retries, through refusals and outages, never lost and never
sent twice; the default ``file`` backend writes ``.eml`` files."""
from __future__ import annotations

import datetime as dt
import email
import os
import socket
import stat
from email import policy
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from comun_cms import mail
from comun_cms.config import ConfigError, load_config
from comun_cms.extensions import db
from comun_cms.models import MailOutbox
from comun_cms.tenancy import tenant_context


class Inbox:
    """aiosmtpd handler: stores accepted messages; answers 451 (try later) while ``refusing``;
    :meth:`start` and :meth:`stop` run and stop the server on ``port``."""

    def __init__(self, port: int):
        self.messages: list[email.message.EmailMessage] = []
        self.refusing = False
        self.refused_recipients: set[str] = set()   # answered 550 at RCPT
        self.closing_after: int | None = None        # answer 421 (closing) once this many are in
        self.connections = 0
        self.port = port
        self.controller = None

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused_recipients:
            return "550 5.1.1 Buzón inexistente"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            return "451 4.3.0 Servicio no disponible, intente más tarde"
        if self.closing_after is not None and len(self.messages) >= self.closing_after:
            return "421 4.3.2 Cerrando el servicio"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free port; the app's mail goes there."""
    inbox = Inbox(_free_port())
    app.config.update(MAIL_BACKEND="smtp", MAIL_HOST="127.0.0.1", MAIL_PORT=inbox.port, MAIL_TIMEOUT=5,
                      MAIL_RETRY_BASE=30)
    inbox.start()
    yield inbox
    inbox.stop()


def _queue(app, n: int, tenant_slug: str = "edomex") -> list[str]:
    tenant = app.extensions["comun"].tenants[tenant_slug]
    with app.test_request_context(), tenant_context(tenant):
        rows = [mail.send_mail(f"persona{i}@example.org", "invitation", tenant=tenant, kind="test",
                               context={"link": f"http://127.0.0.1:5000/auth/invitacion/t{i}", "inviter": "Ana",
                                        "role": "Edición", "expires": dt.datetime(2026, 12, 13, 18, 0, tzinfo=dt.timezone.utc)})
                for i in range(n)]
        db.session.commit()
        return [r.message_id for r in rows]


def _make_due() -> None:
    db.session.execute(update(MailOutbox).where(MailOutbox.status == "pending")
                       .values(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
    db.session.commit()


def test_refused_then_accepted_nothing_lost_nothing_twice(app, smtp):
    ids = _queue(app, 5)
    smtp.refusing = True
    assert mail.deliver_due() == (0, 5)
    rows = db.session.scalars(select(MailOutbox)).all()
    assert {r.status for r in rows} == {"pending"} and all(r.attempts == 1 for r in rows)
    assert all(r.next_attempt_at > dt.datetime.now(dt.timezone.utc) for r in rows)
    assert "451" in rows[0].last_error
    assert mail.deliver_due() == (0, 0)          # backing off: nothing is due yet

    smtp.refusing = False
    _make_due()
    assert mail.deliver_due() == (5, 0)
    assert mail.deliver_due() == (0, 0)
    got = [m["Message-ID"] for m in smtp.messages]
    assert sorted(got) == sorted(ids)            # each message exactly once
    assert mail.outbox_counts() == {"pending": 0, "sending": 0, "sent": 5, "failed": 0}


def test_server_down_then_back(app, smtp):
    ids = _queue(app, 3)
    smtp.stop()                                  # the SMTP server is gone: connection refused
    assert mail.deliver_due() == (0, 3)
    assert "ConnectionRefusedError" in db.session.scalars(select(MailOutbox.last_error)).first()
    smtp.start()                                 # it comes back (same port)
    _make_due()
    assert mail.deliver_due() == (3, 0)
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(ids)


def test_one_connection_per_batch_and_a_refused_recipient_does_not_hold_the_others(app, smtp):
    ids = _queue(app, 6)
    smtp.refused_recipients = {"persona2@example.org"}
    assert mail.deliver_due() == (5, 1)
    assert smtp.connections == 1                 # the refusal did not cost a new connection
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(ids[:2] + ids[3:])
    refused = db.session.scalar(select(MailOutbox).where(MailOutbox.recipient == "persona2@example.org"))
    assert refused.status == "pending" and refused.attempts == 1 and "550" in refused.last_error


def test_server_closing_mid_batch_delays_the_rest_and_loses_nothing(app, smtp):
    app.config["MAIL_COMMIT_EVERY"] = 2
    ids = _queue(app, 7)
    smtp.closing_after = 3                        # 421 from the fourth message on
    assert mail.deliver_due() == (3, 4)           # the other three were not tried: they wait too
    waiting = db.session.scalars(select(MailOutbox).where(MailOutbox.status == "pending")).all()
    assert len(waiting) == 4 and all("421" in r.last_error and r.attempts == 1 for r in waiting)
    assert mail.deliver_due() == (0, 0)           # backing off
    smtp.closing_after = None
    _make_due()
    assert mail.deliver_due() == (4, 0)
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(ids)   # each once
    assert mail.outbox_counts() == {"pending": 0, "sending": 0, "sent": 7, "failed": 0}


def test_outcomes_are_committed_every_n_messages(app, smtp, monkeypatch):
    """With MAIL_COMMIT_EVERY = 2, a worker killed after the third message has committed the
    first two as sent; the third stays claimed and is sent again later (same Message-ID)."""
    app.config["MAIL_COMMIT_EVERY"] = 2
    ids = _queue(app, 4)
    real = mail._SMTPConnection.__call__
    calls = {"n": 0}

    def dies_on_fourth(self, row):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("worker killed")
        return real(self, row)
    monkeypatch.setattr(mail._SMTPConnection, "__call__", dies_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        mail.deliver_due()
    db.session.rollback()
    assert mail.outbox_counts() == {"pending": 0, "sending": 2, "sent": 2, "failed": 0}
    monkeypatch.setattr(mail._SMTPConnection, "__call__", real)
    db.session.execute(update(MailOutbox).where(MailOutbox.status == "sending")
                       .values(claimed_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
    db.session.commit()
    assert mail.deliver_due() == (2, 0)
    got = [m["Message-ID"] for m in smtp.messages]
    assert sorted(set(got)) == sorted(ids) and got.count(ids[2]) == 2   # only the uncommitted one twice


def test_message_is_multipart_spanish_and_auto_submitted(app, smtp):
    _queue(app, 1)
    mail.deliver_due()
    msg = smtp.messages[0]
    assert msg["Subject"].startswith("Invitación a")
    assert msg["Auto-Submitted"] == "auto-generated" and msg["To"] == "persona0@example.org"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "http://127.0.0.1:5000/auth/invitacion/t0" in text and 'href="http://127.0.0.1:5000/auth/invitacion/t0"' in html
    assert "Buen día" in text and "<html lang=\"es-MX\"" in html


def test_gives_up_after_max_attempts_then_retry_command(app, smtp, runner):
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    _queue(app, 1)
    smtp.refusing = True
    mail.deliver_due()
    _make_due()
    mail.deliver_due()
    assert mail.outbox_counts()["failed"] == 1
    assert "failed: 1" in runner.invoke(args=["mail", "status"]).output
    smtp.refusing = False
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "1" in result.output
    assert runner.invoke(args=["mail", "worker", "--once"]).output.startswith("1 sent")
    assert len(smtp.messages) == 1


def test_a_message_claimed_by_a_dead_worker_is_sent_again_with_the_same_message_id(app, smtp):
    (mid,) = _queue(app, 1)
    db.session.execute(update(MailOutbox).values(status="sending", claimed_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
    db.session.commit()
    assert mail.deliver_due() == (1, 0)
    assert smtp.messages[0]["Message-ID"] == mid


def test_nothing_is_queued_when_the_transaction_rolls_back(app):
    tenant = app.extensions["comun"].tenants["edomex"]
    with app.test_request_context(), tenant_context(tenant):
        mail.send_mail("x@example.org", "invitation", tenant=tenant,
                       context={"link": "http://x", "inviter": "A", "role": "R", "expires": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)})
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MailOutbox)) == 0


def test_file_backend_writes_private_eml_files(app, tmp_path):
    app.config.update(MAIL_BACKEND="file", MAIL_DIR=str(tmp_path / "mail"))
    _queue(app, 2)
    assert mail.deliver_due() == (2, 0)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "mail").st_mode) == 0o700
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "persona0@example.org"


def test_admin_invitation_is_emailed_in_the_same_transaction(app, client, login_as, tmp_path):
    app.config.update(MAIL_BACKEND="file", MAIL_DIR=str(tmp_path / "mail"))
    login_as("admin")
    resp = client.post("/edomex/admin/usuarios/invitar", data={"email": "nueva@edomex.test", "role": "editor"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    row = db.session.scalar(select(MailOutbox))
    assert row.recipient == "nueva@edomex.test" and row.kind == "invitation" and row.tenant == "edomex"
    assert mail.deliver_due() == (1, 0)
    (eml,) = (tmp_path / "mail").glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    link = next(line for line in msg.get_body(("plain",)).get_content().splitlines() if "/auth/" in line)
    assert link.strip() in resp.get_data(as_text=True)   # the same link the admin sees once
    assert client.get(urlsplit(link.strip()).path).status_code == 200   # the acceptance form opens


def test_unknown_mail_backend_is_a_clear_config_error(app):
    from flask import Flask

    other = Flask("x", instance_path=app.instance_path)
    with pytest.raises(ConfigError, match="MAIL_BACKEND"):
        load_config(other, {"MAIL_BACKEND": "pigeon", "SECRET_KEY": "k" * 64})


def test_headers_are_one_line_and_non_ascii_names_are_encoded(app):
    row = MailOutbox(id=1, tenant="edomex", kind="x", sender="Secretaría Ejecutiva <no-responder@sesaemm.test>",
                     recipient="ana@example.org", subject="Acuse de recepción", text_body="Buen día\n",
                     html_body=None, headers={"X-Evil": "a\r\nBcc: otro@example.org"}, message_id="<1@sesaemm.test>",
                     created_at=dt.datetime(2026, 12, 6, 12, 0))
    raw = mail.message_bytes(row)
    assert raw.isascii() and b"\nBcc:" not in raw
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["From"].addresses[0].display_name == "Secretaría Ejecutiva"
    assert msg["Subject"] == "Acuse de recepción" and msg.get_content_type() == "text/plain"
    assert msg.get_content() == "Buen día\n" and msg["Bcc"] is None
    assert b"\r\n" in mail.message_bytes(row, smtp=True)
