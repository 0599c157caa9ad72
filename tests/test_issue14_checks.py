"""Issue 14's "Tests and checks" that had no test yet: the subscription form does not tell who
is subscribed; a new confirmation link or a new subscription ends the links issued before; a
password-reset link dies when the password changes by any way (another reset link, the account
page). The others are in test_mail.py, test_password_reset.py, test_requests.py,
test_subscriptions.py, test_privacy.py and test_citizen_loop.py."""
from __future__ import annotations

import re
import time

from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.models import MailOutbox, Subscription
from comun_cms.tenancy import all_tenants
from comun_cms.testing import PASSWORD
from comun_cms.views.public import make_form_token


def _follow(client, email: str, tenant: str = "edomex"):
    return client.post(f"/{tenant}/seguir", data={
        "follow-email": email, "follow-frequency": "daily", "follow-privacy_consent": "y",
        "follow-issued": make_form_token("follow", tenant, time.time() - 10)})


def _links(kind: str, pattern: str, to: str | None = None) -> list[str]:
    rows = db.session.scalars(select(MailOutbox).where(MailOutbox.kind == kind).order_by(MailOutbox.id))
    return [re.search(r"https?://[^/\s]+(/\S*" + pattern + r"\S*)", r.text_body).group(1)
            for r in rows if to is None or r.recipient == to]


def _main(response) -> str:
    return response.get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]


def test_following_says_the_same_whether_the_address_already_follows(app, client):
    assert _follow(client, "ana@example.org").status_code == 200
    client.post(_links("subscription_confirm", "/confirmar/")[0], follow_redirects=True)   # (shows its flash)
    subscribed = _follow(client, "ana@example.org")            # already active: nothing is sent
    stranger = _follow(client, "beto@example.org")             # a new address: a confirmation is sent
    assert subscribed.status_code == stranger.status_code == 200
    assert _main(subscribed) == _main(stranger).replace("beto@example.org", "ana@example.org")
    assert len(_links("subscription_confirm", "/confirmar/", "ana@example.org")) == 1


def test_asking_again_ends_the_earlier_confirmation_link(app, client):
    _follow(client, "ana@example.org")
    _follow(client, "ana@example.org")                         # lost the first e-mail, asked again
    first, second = _links("subscription_confirm", "/confirmar/")
    assert client.post(first).status_code == 404               # its nonce is gone
    assert client.post(second).status_code == 303
    assert client.post(second).status_code == 410              # used


def test_a_new_subscription_ends_the_links_of_the_stopped_one(app, client):
    _follow(client, "ana@example.org")
    manage = client.post(_links("subscription_confirm", "/confirmar/")[0]).headers["Location"]
    manage = re.sub(r"^https?://[^/]+", "", manage)
    assert client.post(manage + "/baja").status_code == 200
    _follow(client, "ana@example.org")                         # subscribes again later
    client.post(_links("subscription_confirm", "/confirmar/")[-1])
    assert client.get(manage).status_code == 404               # the old management link is dead
    assert client.post(manage + "/baja").status_code == 404
    (sub,) = db.session.scalars(all_tenants(select(Subscription)))
    assert sub.status == "active"                              # and cannot stop the new one


def _reset_links(email: str) -> list[str]:
    return [re.search(r"https?://[^/\s]+(/auth/contrasena/nueva/\S+)", r.text_body).group(1)
            for r in db.session.scalars(select(MailOutbox).where(MailOutbox.kind == "password_reset",
                                                                 MailOutbox.recipient == email)
                                        .order_by(MailOutbox.id))]


def test_a_reset_link_dies_when_the_password_changes_by_any_way(app, client, make_user):
    user = make_user("dos@edomex.test", role="editor")
    client.post("/auth/contrasena/olvide", data={"email": user.email})
    client.post("/auth/contrasena/olvide", data={"email": user.email})
    first, second = _reset_links(user.email)
    new = "otra-clave-muy-larga-2027"
    assert client.post(second, data={"password": new, "confirm": new}).status_code == 303
    assert client.get(first).status_code == 410                # the other link died with the old password
    assert client.post(first, data={"password": "tercera-clave-larga-2028",
                                    "confirm": "tercera-clave-larga-2028"}).status_code == 410

    client.post("/auth/contrasena/olvide", data={"email": user.email})
    third = _reset_links(user.email)[-1]
    other = app.test_client()                                  # the person changes it in "Su cuenta"
    assert other.post("/auth/login", data={"email": user.email, "password": new}).status_code == 303
    account = other.get("/auth/cuenta")
    assert account.status_code == 200
    changed = other.post("/auth/cuenta/contrasena", data={"current_password": new, "password": PASSWORD + "-x",
                                                          "confirm": PASSWORD + "-x"})
    assert changed.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(user), user.id).check_password(PASSWORD + "-x")
    assert client.get(third).status_code == 410
