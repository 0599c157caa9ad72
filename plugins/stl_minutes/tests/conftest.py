"""Fixtures of the STL-minutes tests: a published STL body with members, sessions."""
from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from flask import g
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context

from plugins.stl_minutes import services as svc
from plugins.stl_minutes.models import Body, Member, Session

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    """A valid PNG image (Pillow)."""
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


MEMBERS = (
    ("Ana Gobierno", "Contraloría", "government", "member"),
    ("Beto Gobierno", "Finanzas", "government", "member"),
    ("Carla Gobierno", "Planeación", "government", "member"),
    ("Diana Sociedad", "OSC Uno", "civil_society", "member"),
    ("Elena Sociedad", "OSC Dos", "civil_society", "member"),
    ("Fausto Garante", "INFOEM", "guarantor", "member"),
    ("Gina Suplente", "Contraloría", "government", "alternate"),
    ("Hugo Facilitador", "Universidad", "academia", "facilitator"),
)


def tenant_of(app, slug: str = "edomex"):
    return app.extensions["comun"].tenants[slug]


def make_body(name: str = "Secretariado Técnico Local de Prueba", publish: bool = True, members=MEMBERS,
              **kwargs) -> Body:
    """A body with ``members`` (current tenant), published unless told otherwise; committed."""
    body = Body(kind=kwargs.pop("kind", "stl"), name=name, short_name="STL", **kwargs)
    for i, (mname, inst, sector, capacity) in enumerate(members):
        body.members.append(Member(name=mname, institution=inst, sector=sector, capacity=capacity, position=i,
                                   email=f"{mname.split()[0].lower()}@example.org"))
    db.session.add(body)
    db.session.flush()
    alt = next((m for m in body.members if m.capacity == "alternate"), None)
    if alt is not None:
        alt.alternate_for_id = body.members[0].id
    if publish:
        svc.publish_body(body)
    db.session.commit()
    return body


def make_session(body: Body, number: int = 1, day: dt.date = dt.date(2024, 3, 5), kind: str = "regular",
                 present: int = 4, **kwargs) -> Session:
    """A draft session of ``body`` with ``present`` members attending and standard agenda; committed."""
    s = Session(body=body, number=number, kind=kind, session_date=day, **kwargs)
    db.session.add(s)
    db.session.flush()
    svc.add_standard_agenda(s)
    svc.set_member_attendance(s, {m.id for m in body.members[:present]})
    db.session.commit()
    return s


@pytest.fixture
def stl(app, tenant):
    """A published STL body with 6 seats, an alternate and a facilitator, in edomex."""
    body = make_body()
    return SimpleNamespace(body=body, tenant=tenant, members=list(body.members))


def reload(model, object_id):
    """Fresh row from the database (after requests, whose teardown clears the tenant)."""
    db.session.expire_all()
    return db.session.scalar(select(model).where(model.id == object_id))


def within(app, slug="edomex"):
    return tenant_context(tenant_of(app, slug))


def fresh_g() -> None:
    """Forget per-request caches kept on ``flask.g``: the test client reuses the fixture's app
    context, so ``g`` (logged-in user, roles, menu) survives between requests."""
    for key in ("_login_user", "_roles", "_public_menu", "tenant"):
        g.pop(key, None)


@pytest.fixture
def switch_to(login_as):
    """``switch_to(user_or_role, tenant="edomex")``: log in as someone else in the same test."""
    def do(user_or_role, tenant: str = "edomex"):
        fresh_g()
        return login_as(user_or_role, tenant=tenant)
    return do


@pytest.fixture(autouse=True)
def _english(request):
    """Run tests that use the app in English (msgids), whatever catalogs exist: the test body
    through ``force_locale`` and the test client through its session's language."""
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    if "client" in request.fixturenames:
        english_client(request.getfixturevalue("client"))
    with force_locale("en"):
        yield


def english_client(client) -> None:
    """Make the test client's session ask for English pages (``?lang=en`` is remembered there)."""
    with client.session_transaction() as sess:
        sess["lang"] = "en"
