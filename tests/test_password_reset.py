"""Password reset by e-mail: a signed, expiring, single-use link; the same answer whether the
address has an account or not; rate-limited; every session ends when the password changes."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from comun_cms import mail
from comun_cms.extensions import db
from comun_cms.models import MailOutbox, User
from comun_cms.testing import PASSWORD

NEW = "otra-clave-muy-larga-2027"


def _link(row: MailOutbox) -> str:
    return re.search(r"https?://\S+/auth/contrasena/nueva/\S+", row.text_body).group(0).split("://", 1)[1].split("/", 1)[1]


def _ask(client, email: str):
    return client.post("/auth/contrasena/olvide", data={"email": email})


def test_reset_by_email_end_to_end(app, client, make_user):
    user = make_user("olvido@edomex.test", role="editor")
    other = app.test_client()                               # a session open elsewhere
    other.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert other.get("/edomex/admin/").status_code == 200

    resp = _ask(client, "Olvido@Edomex.test")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/auth/contrasena/enviado")
    row = db.session.scalar(select(MailOutbox).where(MailOutbox.kind == "password_reset"))
    assert row.recipient == "olvido@edomex.test" and row.status == "pending"
    path = "/" + _link(row)
    assert client.get(path).status_code == 200

    weak = client.post(path, data={"password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"})
    assert weak.status_code == 422                          # the password policy applies
    done = client.post(path, data={"password": NEW, "confirm": NEW})
    assert done.status_code == 303 and done.headers["Location"].endswith("/auth/login")

    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(NEW)
    assert client.get(path).status_code == 410              # single use
    assert other.get("/edomex/admin/").status_code in (302, 303, 401)   # the other session ended
    assert client.post("/auth/login", data={"email": user.email, "password": NEW}).status_code == 303


def test_same_answer_for_unknown_addresses_and_nothing_sent(app, client, make_user):
    make_user("existe@edomex.test", role="editor")
    known, unknown = _ask(client, "existe@edomex.test"), _ask(client, "nadie@edomex.test")
    assert (known.status_code, known.headers["Location"]) == (unknown.status_code, unknown.headers["Location"])
    assert client.get(known.headers["Location"]).get_data() == client.get(unknown.headers["Location"]).get_data()
    rows = db.session.scalars(select(MailOutbox).order_by(MailOutbox.id)).all()
    assert [r.status for r in rows] == ["pending", "dropped"]
    assert rows[1].recipient == ""                          # no personal data of a stranger kept
    app.config["MAIL_DIR"] = app.instance_path + "/mail"
    assert mail.deliver_due() == (1, 0)                     # only the real account gets a message


def test_expired_and_forged_links_are_refused(app, client, make_user):
    make_user("caduca@edomex.test", role="editor")
    _ask(client, "caduca@edomex.test")
    path = "/" + _link(db.session.scalar(select(MailOutbox)))
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    assert client.get(path).status_code == 410
    app.config["PASSWORD_RESET_MAX_AGE"] = 3600
    assert client.get(path[:-3] + "abc").status_code == 410
    assert client.get("/auth/contrasena/nueva/not-a-token").status_code == 410


def test_bad_address_is_a_field_error(app, spanish, client):
    resp = client.post("/auth/contrasena/olvide", data={"email": "no es un correo"})
    assert resp.status_code == 422 and "correo" in resp.get_data(as_text=True).lower()
    assert db.session.scalar(select(MailOutbox)) is None


class TestRateLimit:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True, "PASSWORD_RESET_RATE_LIMIT": "2 per minute"}

    def test_reset_requests_are_rate_limited(self, app, client):
        assert _ask(client, "a@example.org").status_code == 303
        assert _ask(client, "b@example.org").status_code == 303
        assert _ask(client, "c@example.org").status_code == 429
