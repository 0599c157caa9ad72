"""Log-in, log-out, safe redirects, rate limiting, CSRF and invitations (``comun_cms.views.auth``)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.models import AuditEvent, Invitation, Membership, User, utcnow
from comun_cms.tenancy import tenant_context
from comun_cms.testing import PASSWORD, get_tenant
from comun_cms.views.auth import safe_next, token_hash


@pytest.fixture
def english(client):
    """Show the UI in English (the source strings), whatever the catalogs say."""
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def login(client, email, password=PASSWORD, next_url=None):
    url = "/auth/login" + (f"?next={next_url}" if next_url is not None else "")
    return client.post(url, data={"email": email, "password": password})


def make_invitation(app, email, role="editor", tenant="edomex", expires_in=dt.timedelta(days=7),
                    token="tok-" + "a" * 40) -> str:
    with tenant_context(get_tenant(app, tenant)):
        db.session.add(Invitation(email=email, role=role, token_hash=token_hash(token),
                                  expires_at=utcnow() + expires_in))
        db.session.commit()
    return token


# --------------------------------------------------------------------------- log in
def test_login_form_renders_accessible_fields(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<label for="email">' in html and '<label for="password">' in html
    assert 'autocomplete="current-password"' in html


def test_login_success_goes_to_first_tenant_dashboard(client, make_user):
    make_user("ana@edomex.test", role="editor")
    response = login(client, "ANA@edomex.test ")
    assert response.status_code == 303
    assert response.headers["Location"] == "/edomex/admin/"
    assert client.get("/edomex/admin/").status_code == 200
    with client.session_transaction() as sess:
        assert sess["_fresh"] is True


def test_login_without_role_goes_to_portal_and_platform_admin_to_account(client, make_user):
    make_user("nadie@comun.test")
    assert login(client, "nadie@comun.test").headers["Location"] == "/"
    make_user("root@comun.test", platform_admin=True)
    assert login(client, "root@comun.test").headers["Location"] == "/auth/cuenta"


@pytest.mark.parametrize("email,password", [("ana@edomex.test", "wrong-password"), ("nobody@edomex.test", PASSWORD)])
def test_login_failure_is_generic(client, make_user, english, email, password):
    make_user("ana@edomex.test", role="editor")
    response = login(client, email, password)
    assert response.status_code == 401
    assert "The e-mail or the password is incorrect." in response.get_data(as_text=True)
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


def test_login_empty_fields_name_the_problem(client, english):
    response = client.post("/auth/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter your e-mail address." in html and "Enter your password." in html
    assert 'aria-describedby="email-error"' in html and 'aria-invalid="true"' in html


def test_expired_account_is_refused(client, make_user, english):
    make_user("old@edomex.test", role="editor", expires_at=utcnow() - dt.timedelta(days=1))
    response = login(client, "old@edomex.test")
    assert response.status_code == 403
    assert "Your account expired" in response.get_data(as_text=True)
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


def test_inactive_account_is_refused_but_wrong_password_reveals_nothing(client, make_user, english):
    user = make_user("off@edomex.test", role="editor")
    user.active = False
    db.session.commit()
    assert "deactivated" in login(client, "off@edomex.test").get_data(as_text=True)
    response = login(client, "off@edomex.test", "wrong-password")
    assert response.status_code == 401 and "deactivated" not in response.get_data(as_text=True)


@pytest.mark.parametrize("target", [
    "//evil.com", "https://evil.com", "http://evil.com/edomex/admin/", "/\\evil.com", "\\\\evil.com",
    "javascript:alert(1)", "evil.com", "",
])
def test_open_redirects_are_rejected(client, make_user, target):
    make_user("ana@edomex.test", role="editor")
    response = client.post("/auth/login", data={"email": "ana@edomex.test", "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/edomex/admin/"


def test_next_with_a_control_character_is_refused_with_a_form_error(client, make_user):
    """``/\t/evil.com`` (a tab browsers drop): the form refuses the hidden field, says so and
    sends nobody anywhere."""
    make_user("ana@edomex.test", role="editor")
    response = client.post("/auth/login", data={"email": "ana@edomex.test", "password": PASSWORD, "next": "/\t/evil.com"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert "contains characters that are not allowed" in response.get_data(as_text=True)


def test_relative_next_is_honoured(client, make_user):
    make_user("ana@edomex.test", role="editor")
    response = login(client, "ana@edomex.test", next_url="/edomex/admin/paginas")
    assert response.headers["Location"] == "/edomex/admin/paginas"


def test_admin_redirects_anonymous_to_login_with_next(client, make_user):
    make_user("ana@edomex.test", role="editor")
    response = client.get("/edomex/admin/paginas?status=draft")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/auth/login?next=")
    form = client.get(location).get_data(as_text=True)
    next_value = re.search(r'name="next" type="hidden" value="([^"]*)"', form).group(1)
    assert next_value == "/edomex/admin/paginas?status=draft"
    response = client.post("/auth/login", data={"email": "ana@edomex.test", "password": PASSWORD, "next": next_value})
    assert response.headers["Location"] == "/edomex/admin/paginas?status=draft"


def test_safe_next_unit():
    assert safe_next("/a/b?c=d#e") == "/a/b?c=d#e"
    for bad in (None, "", "//x", "/\\x", "https://x", "x", "/ok\n/", "javascript:x", "/\x7f"):
        assert safe_next(bad) is None


def test_login_regenerates_the_session(client, make_user):
    make_user("ana@edomex.test", role="editor")
    with client.session_transaction() as sess:
        sess["planted"] = "attacker value"
        sess["lang"] = "en"
    login(client, "ana@edomex.test")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["lang"] == "en"
        assert sess["_user_id"]


def test_logged_in_user_visiting_login_is_redirected(client, login_as):
    login_as("editor")
    response = client.get("/auth/login")
    assert response.status_code == 302 and response.headers["Location"] == "/edomex/admin/"


def test_user_loader_ignores_bad_ids(app):
    from comun_cms.views.auth import load_user
    assert load_user("not-a-number") is None
    assert load_user("999999") is None


# --------------------------------------------------------------------------- log out
def test_logout_requires_post(client, login_as):
    login_as("editor")
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/edomex/admin/").status_code == 200
    response = client.post("/auth/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/edomex/admin/").status_code == 302


def test_account_page_lists_tenants(client, make_user, login_as):
    assert client.get("/auth/cuenta").status_code == 302
    user = make_user("multi@comun.test", role="editor", tenant="puebla")
    make_user("multi@comun.test", role="admin", tenant="hidalgo")
    login_as(user)
    html = client.get("/auth/cuenta").get_data(as_text=True)
    assert "/puebla/admin/" in html and "/hidalgo/admin/" in html and "/edomex/admin/" not in html


# --------------------------------------------------------------------------- rate limit
class TestRateLimit:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}

    def test_login_posts_are_rate_limited(self, client, make_user, english):
        make_user("ana@edomex.test", role="editor")
        for _ in range(3):
            assert login(client, "ana@edomex.test", "wrong-password").status_code == 401
        response = login(client, "ana@edomex.test")  # even the right password waits
        assert response.status_code == 429
        assert "Too many attempts" in response.get_data(as_text=True)
        assert client.get("/auth/login").status_code == 200  # GET is not limited


# --------------------------------------------------------------------------- CSRF
def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_forms_need_the_csrf_token(self, client, make_user, login_as):
        make_user("ana@edomex.test", role="editor")
        assert login(client, "ana@edomex.test").status_code == 400  # no token
        token = csrf_token(client.get("/auth/login").get_data(as_text=True))
        response = client.post("/auth/login", data={"email": "ana@edomex.test", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 303

        assert client.post("/auth/logout").status_code == 400
        assert client.get("/edomex/admin/").status_code == 200  # still logged in
        new_page = client.post("/edomex/admin/paginas/nueva", data={"title": "Sin token"})
        assert new_page.status_code == 400

        form = client.get("/edomex/admin/paginas/nueva").get_data(as_text=True)
        response = client.post("/edomex/admin/paginas/nueva",
                               data={"title": "Con token", "language": "es", "section": "", "csrf_token": csrf_token(form)})
        assert response.status_code == 303

        account = client.get("/auth/cuenta").get_data(as_text=True)
        assert client.post("/auth/logout", data={"csrf_token": csrf_token(account)}).status_code == 303
        assert client.get("/edomex/admin/").status_code == 302


# --------------------------------------------------------------------------- invitations
def test_invitation_creates_a_new_user(app, client, english):
    token = make_invitation(app, "nueva@edomex.test", role="editor")
    page = client.get(f"/auth/invitacion/{token}")
    assert page.status_code == 200 and "nueva@edomex.test" in page.get_data(as_text=True)

    short = client.post(f"/auth/invitacion/{token}", data={"name": "Nueva", "password": "corta", "confirm": "corta"})
    assert short.status_code == 422 and "at least 12 characters" in short.get_data(as_text=True)
    mismatch = client.post(f"/auth/invitacion/{token}",
                           data={"name": "Nueva", "password": "una-frase-larga", "confirm": "otra-frase-larga"})
    assert mismatch.status_code == 422 and "not the same" in mismatch.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "nueva@edomex.test")) is None

    response = client.post(f"/auth/invitacion/{token}",
                           data={"name": "Nueva Persona", "password": "una-frase-larga", "confirm": "una-frase-larga"})
    assert response.status_code == 303 and response.headers["Location"] == "/edomex/admin/"
    user = db.session.scalar(select(User).where(User.email == "nueva@edomex.test"))
    assert user.name == "Nueva Persona" and user.check_password("una-frase-larga")
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(Membership.role).where(Membership.user_id == user.id)) == "editor"
        invitation = db.session.scalar(select(Invitation))
        assert invitation.accepted_at is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.accept"))
        assert event.user_id == user.id and event.before == {"accepted_at": None} and event.after["role"] == "editor"
    assert client.get("/edomex/admin/").status_code == 200  # logged in

    again = client.post(f"/auth/invitacion/{token}",
                        data={"name": "Otra", "password": "una-frase-larga", "confirm": "una-frase-larga"})
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def test_invitation_for_an_existing_user_needs_their_password(app, client, make_user):
    user = make_user("ana@comun.test", role="editor", tenant="puebla")
    token = make_invitation(app, "ana@comun.test", role="evaluator", tenant="edomex")
    assert 'name="confirm"' not in client.get(f"/auth/invitacion/{token}").get_data(as_text=True)

    assert client.post(f"/auth/invitacion/{token}", data={"password": "not-her-password"}).status_code == 422
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(Membership).where(Membership.user_id == user.id)) is None

    response = client.post(f"/auth/invitacion/{token}", data={"password": PASSWORD})
    assert response.status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(Membership.role).where(Membership.user_id == user.id)) == "evaluator"
    with tenant_context(get_tenant(app, "puebla")):
        assert db.session.scalar(select(Membership.role).where(Membership.user_id == user.id)) == "editor"
    assert client.get("/edomex/admin/").status_code == 200


def test_expired_and_unknown_invitations_are_refused(app, client, english):
    token = make_invitation(app, "tarde@edomex.test", expires_in=dt.timedelta(minutes=-1))
    response = client.get(f"/auth/invitacion/{token}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    response = client.post(f"/auth/invitacion/{token}",
                           data={"name": "Tarde", "password": "una-frase-larga", "confirm": "una-frase-larga"})
    assert response.status_code == 410
    assert db.session.scalar(select(User).where(User.email == "tarde@edomex.test")) is None
    assert client.get("/auth/invitacion/no-such-token").status_code == 404
