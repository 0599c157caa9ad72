"""Accounts (issue 19): server-side session revocation (log-out, password change, ``comun users
set-password|logout``) and the password policy on every place that sets a password."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.models import AuditEvent, Invitation, User, utcnow
from comun_cms.tenancy import tenant_context
from comun_cms.testing import PASSWORD, get_tenant
from comun_cms.users import MIN_PASSWORD, UserError, check_password_strength, generate_password, revoke_sessions
from comun_cms.views.auth import token_hash

NEW_PASSWORD = "otra-frase-de-paso-larga"


@pytest.fixture
def english(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def login(client, email, password=PASSWORD):
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A new client (another browser) that presents a copied session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


# --------------------------------------------------------------------------- session revocation
def test_copied_cookie_stops_working_after_logout(app, client, make_user):
    make_user("ana@edomex.test", role="editor")
    login(client, "ana@edomex.test")
    assert client.get("/edomex/admin/paginas").status_code == 200
    stolen = session_cookie(client)
    assert replay(app, stolen).get("/edomex/admin/paginas").status_code == 200  # the copy works while logged in
    assert client.post("/auth/logout").status_code == 303
    response = replay(app, stolen).get("/edomex/admin/paginas")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    # logging in again gives a new session that works; the old copy stays dead
    login(client, "ana@edomex.test")
    assert client.get("/edomex/admin/paginas").status_code == 200
    assert replay(app, stolen).get("/edomex/admin/paginas").status_code == 302


def test_password_change_ends_other_sessions_but_not_this_one(app, client, make_user, english):
    user = make_user("ana@edomex.test", role="editor")
    login(client, "ana@edomex.test")
    other_device = app.test_client()
    login(other_device, "ana@edomex.test")
    assert other_device.get("/edomex/admin/paginas").status_code == 200
    form = client.get("/auth/cuenta/contrasena")
    assert form.status_code == 200 and 'autocomplete="new-password"' in form.get_data(as_text=True)

    wrong = client.post("/auth/cuenta/contrasena", data={"current_password": "no-es-la-clave", "password": NEW_PASSWORD,
                                                         "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422 and "The password is incorrect." in wrong.get_data(as_text=True)
    weak = client.post("/auth/cuenta/contrasena", data={"current_password": PASSWORD, "password": "password1234",
                                                        "confirm": "password1234"})
    assert weak.status_code == 422 and "most common" in weak.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)
    assert other_device.get("/edomex/admin/paginas").status_code == 200  # failures revoke nothing

    done = client.post("/auth/cuenta/contrasena", data={"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                        "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"] == "/auth/cuenta"
    assert client.get("/edomex/admin/paginas").status_code == 200  # this session goes on
    assert other_device.get("/edomex/admin/paginas").status_code == 302  # the other one ended
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(NEW_PASSWORD)
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_change")) is not None


def test_password_change_needs_login(client):
    response = client.get("/auth/cuenta/contrasena")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_revoke_sessions_and_deactivation_end_sessions(app, client, make_user):
    user = make_user("ana@edomex.test", role="editor")
    login(client, "ana@edomex.test")
    assert revoke_sessions(user) == 1
    assert client.get("/edomex/admin/paginas").status_code == 302
    login(client, "ana@edomex.test")
    assert client.get("/edomex/admin/paginas").status_code == 200
    user = db.session.get(User, user.id)
    user.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    assert client.get("/edomex/admin/paginas").status_code == 302


def test_cli_set_password_and_logout_revoke_sessions(app, client, runner, make_user):
    make_user("ana@edomex.test", role="editor")
    login(client, "ana@edomex.test")
    result = runner.invoke(args=["users", "set-password", "ana@edomex.test", "--password", "corta"])
    assert result.exit_code == 2 and "at least 12" in result.output
    assert client.get("/edomex/admin/paginas").status_code == 200
    result = runner.invoke(args=["users", "set-password", "ana@edomex.test", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert client.get("/edomex/admin/paginas").status_code == 302
    login(client, "ana@edomex.test", NEW_PASSWORD)
    assert client.get("/edomex/admin/paginas").status_code == 200
    result = runner.invoke(args=["users", "logout", "ana@edomex.test"])
    assert result.exit_code == 0, result.output
    assert client.get("/edomex/admin/paginas").status_code == 302
    assert runner.invoke(args=["users", "logout", "nadie@edomex.test"]).exit_code == 2
    with tenant_context(get_tenant(app, "edomex")):
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"user.password_reset", "user.sessions_revoked"} <= actions


# --------------------------------------------------------------------------- password policy
@pytest.mark.parametrize("password,message", [
    ("", "at least 12"),
    ("una-clave", "at least 12"),
    ("aaaaaaaaaaaa", "most common"),
    ("abcabcabcabcabc", "most common"),
    ("password1234", "most common"),
    ("PASSWORD1234", "most common"),
    ("123456789012", "most common"),
    ("qwertyuiopasdf", "most common"),
    ("mexico123456", "most common"),
    ("anagarcia-2026-xyz", "e-mail address or your name"),
    ("mi-clave-Garcia-7781", "e-mail address or your name"),
    ("soy-JOSÉ-y-mi-clave", "e-mail address or your name"),
    ("jose-y-mi-clave-larga", "e-mail address or your name"),
])
def test_password_policy_refuses(app, password, message):
    with pytest.raises(UserError, match=message) as info:
        check_password_strength(password, email="anagarcia@edomex.test", name="José García")
    assert info.value.field == "password"


@pytest.mark.parametrize("password", ["una-frase-larga", "correct horse battery staple", "Río-Tula-fluye-1998",
                                      PASSWORD, NEW_PASSWORD])
def test_password_policy_accepts(app, password):
    check_password_strength(password, email="anagarcia@edomex.test", name="José García")


def test_generated_passwords_meet_the_policy(app):
    for _ in range(50):
        password = generate_password("admin@edomex.test", "Admin Edomex")
        assert len(password) >= MIN_PASSWORD
        check_password_strength(password, email="admin@edomex.test", name="Admin Edomex")


def test_invitation_acceptance_applies_the_policy_in_spanish(app, client):
    token = "tok-" + "b" * 40
    with tenant_context(get_tenant(app, "edomex")):
        db.session.add(Invitation(email="lucia.perez@edomex.test", role="editor", token_hash=token_hash(token),
                                  expires_at=utcnow() + dt.timedelta(days=7)))
        db.session.commit()
    data = {"name": "Lucía Pérez", "password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"}
    with client.session_transaction() as sess:
        sess["lang"] = "es_MX"
    common = client.post(f"/auth/invitacion/{token}", data=data)
    assert common.status_code == 422
    assert "Esta contraseña es de las más comunes" in common.get_data(as_text=True)
    data.update(password="lucia-perez-clave-2026", confirm="lucia-perez-clave-2026")
    personal = client.post(f"/auth/invitacion/{token}", data=data)
    assert personal.status_code == 422
    assert "La contraseña no debe contener su correo electrónico ni su nombre." in personal.get_data(as_text=True)
    short = client.post(f"/auth/invitacion/{token}", data={**data, "password": "corta", "confirm": "corta"})
    assert short.status_code == 422 and "al menos 12 caracteres" in short.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "lucia.perez@edomex.test")) is None
    ok = client.post(f"/auth/invitacion/{token}", data={**data, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok.status_code == 303


def test_cli_user_creation_applies_the_policy(runner):
    result = runner.invoke(args=["users", "create", "--tenant", "puebla", "--role", "admin", "--password",
                                 "password1234", "ana@puebla.mx"])
    assert result.exit_code == 2 and "most common" in result.output
    result = runner.invoke(args=["users", "create", "--tenant", "puebla", "--role", "admin", "--password",
                                 "ana-de-puebla-77", "ana@puebla.mx"])
    assert result.exit_code == 2 and "e-mail address or your name" in result.output
    assert db.session.scalar(select(User).where(User.email == "ana@puebla.mx")) is None
