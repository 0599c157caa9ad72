"""Tenant isolation over every route of the plugin: another tenant's users get 403/404 on every
admin URL (every method) and change nothing; public pages, the calendar feed and the datasets of
one tenant never show another tenant's records, nor anyone's drafts."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from comun_cms.toolkit import AuditEvent, Publication, db

from plugins.stl_minutes import services as svc
from plugins.stl_minutes.models import (AgendaItem, Agreement, Attendance, Body, Evidence, Member, Session)

from .conftest import english_client, fresh_g, make_body, make_session, tenant_of, within

DRAFT = "BORRADOR-STL-5c2e"


def _world(app, slug: str, future: dt.date) -> dict[str, int]:
    """In tenant ``slug``: a published body, published minutes with an agreement and evidence, a
    draft session with a secret marker and an upcoming session with its call published."""
    with within(app, slug):
        t = tenant_of(app, slug)
        body = make_body(name=f"STL {slug.upper()}-PUBLICO")
        s = make_session(body, number=1, day=dt.date(2024, 1, 10), summary=f"Minuta publicada {slug.upper()}")
        later = make_session(body, number=2, day=dt.date(2024, 2, 10), summary=f"{DRAFT} {slug}")
        ag = svc.add_agreement(t, s, text=f"Acuerdo publicado {slug.upper()}", due_date=dt.date(2024, 1, 20))
        draft_ag = svc.add_agreement(t, later, text=f"{DRAFT} acuerdo {slug}")
        s.evidence.append(Evidence(category="video", title="Video", url="https://example.org/v"))
        svc.submit_for_review(s)
        svc.approve(s, later)
        svc.publish_minutes(t, s)
        upcoming = make_session(body, number=3, day=future, place=f"Sede {slug.upper()}")
        svc.publish_call(upcoming)
        db.session.commit()
        return {"session_id": s.id, "draft_session_id": later.id, "agreement_id": ag.id, "body_id": body.id,
                "member_id": body.members[0].id, "item_id": later.agenda_items[0].id,
                "attendance_id": later.attendance[0].id, "evidence_id": s.evidence[0].id,
                "draft_agreement_id": draft_ag.id, "upcoming_id": upcoming.id}


@pytest.fixture
def worlds(app):
    future = dt.date.today() + dt.timedelta(days=20)
    return {slug: _world(app, slug, future) for slug in ("edomex", "puebla")}


def _rules(app, prefix: str):
    return [r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] == prefix]


def _url(app, rule, tenant: str, ids: dict[str, int]) -> str:
    values = {}
    for arg in rule.arguments - {"tenant"}:
        if isinstance(rule._converters.get(arg), IntegerConverter):
            values[arg] = ids["draft_agreement_id"] if arg == "agreement_id" and "editar" in rule.rule else ids[arg]
        else:
            values[arg] = "stl_minutes.css"
    with app.test_request_context():
        return app.url_for(rule.endpoint, tenant=tenant, **values)


def _counts(app, slug):
    with within(app, slug):
        db.session.expire_all()
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in
                     (Body, Member, Session, AgendaItem, Attendance, Agreement, Evidence, Publication, AuditEvent))


def test_admin_routes_of_another_tenant_are_refused(app, client, login_as, worlds):
    rules = _rules(app, "admin_stl_minutes")
    assert len(rules) >= 30
    before = _counts(app, "edomex")
    login_as("admin", tenant="puebla")
    checked = 0
    for rule in rules:
        url = _url(app, rule, "edomex", worlds["edomex"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            fresh_g()
            r = client.open(url, method=method, data={"name": "hackeado", "reason": "x", "text": "x", "body": "x",
                                                      "present": [], "direction": "up"})
            assert r.status_code in (403, 404), f"{method} {url} answered {r.status_code}"
            checked += 1
        if "GET" in rule.methods:   # the tenant's own admin works for its own records
            fresh_g()
            own = client.get(_url(app, rule, "puebla", worlds["puebla"]))
            assert own.status_code in (200, 302), f"GET {rule.rule} for puebla answered {own.status_code}"
    assert checked >= len(rules)
    assert _counts(app, "edomex") == before
    with client.session_transaction() as sess:
        sess.clear()
    english_client(client)
    for rule in _rules(app, "admin_stl_minutes"):
        url = _url(app, rule, "edomex", worlds["edomex"])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            fresh_g()
            r = client.open(url, method=method)
            assert r.status_code == 302 and "/auth/login" in r.headers["Location"], f"{method} {url}"


def test_public_pages_show_only_the_tenant_published_records(app, client, worlds):
    rules = [r for r in _rules(app, "stl_minutes") if "GET" in r.methods]
    assert len(rules) >= 9
    for slug, other in (("edomex", "puebla"), ("puebla", "edomex")):
        for rule in rules:
            fresh_g()
            own = client.get(_url(app, rule, slug, worlds[slug]))
            assert own.status_code == 200, f"{rule.rule} ({slug}) answered {own.status_code}"
            body = own.get_data(as_text=True)
            assert DRAFT not in body, f"draft leaked on {rule.rule} ({slug})"
            assert f"{other.upper()}-PUBLICO" not in body and f"publicada {other.upper()}" not in body
            if "<int:" in rule.rule:
                fresh_g()
                crossed = client.get(_url(app, rule, slug, worlds[other]))
                # ids of the other tenant either do not exist here (404) or are this tenant's own rows
                assert crossed.status_code in (200, 404)
                assert f"{other.upper()}-PUBLICO" not in crossed.get_data(as_text=True)
        ics = client.get(f"/{slug}/actas/calendario.ics").get_data(as_text=True)
        assert f"Sede {slug.upper()}" in ics and f"Sede {other.upper()}" not in ics
        for name in ("stl_sessions", "stl_attendance", "stl_agreements", "stl_members"):
            for fmt in ("csv", "json"):
                fresh_g()
                data = client.get(f"/{slug}/datos/{name}.{fmt}").get_data(as_text=True)
                assert DRAFT not in data and f"{other.upper()}-PUBLICO" not in data, (name, fmt, slug)
        section = client.get(f"/{slug}/seccion/minutes").get_data(as_text=True)
        assert DRAFT not in section and f"{other.upper()}-PUBLICO" not in section
    fresh_g()
    ids = worlds["edomex"]
    assert client.get(f"/edomex/actas/sesiones/{ids['draft_session_id']}").status_code == 404
    assert client.get(f"/edomex/actas/acuerdos/{ids['draft_agreement_id']}").status_code == 404
    page = client.get(f"/edomex/actas/sesiones/{ids['upcoming_id']}").get_data(as_text=True)
    assert "Sede EDOMEX" in page and "minutes pending" in page.lower()
    assert client.get("/edomex/actas/sesiones/999999").status_code == 404
