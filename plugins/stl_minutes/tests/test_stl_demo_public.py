"""Real input (Estado de México STL sessions 3, 11, 19), demo sessions, training loader, and the
public pages built on them: calendar feed, section slot, datasets, search documents, portal."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, Publication, db, tenant_context, tenant_hook

import plugins.stl_minutes as plugin
from plugins.stl_minutes import demo
from plugins.stl_minutes.models import Agreement, Body, Session

from .conftest import fresh_g, tenant_of, within


def _ctx(app, make_user, slug):
    user = make_user(f"editor@{slug}.demo.comun.mx", role="editor", tenant=slug)
    return DemoContext(tenant=tenant_of(app, slug), user=user, log=lambda m: None)


def _run_demo(app, make_user, slug, ctx=None):
    """Run this plugin's ``demo_data`` hook (only this plugin's, to keep the test fast)."""
    ctx = ctx or _ctx(app, make_user, slug)
    with within(app, slug):
        plugin.demo_data(tenant=ctx.tenant, ctx=ctx)
        db.session.commit()
    return ctx


def test_real_edomex_sessions_are_loaded_as_reported_and_only_once(app, client, make_user):
    ctx = _run_demo(app, make_user, "edomex")
    with within(app):
        counts = (db.session.scalar(select(func.count()).select_from(Session)),
                  db.session.scalar(select(func.count()).select_from(Publication)))
    _run_demo(app, make_user, "edomex", ctx)   # idempotent
    with within(app):
        assert (db.session.scalar(select(func.count()).select_from(Session)),
                db.session.scalar(select(func.count()).select_from(Publication))) == counts
        sessions = {s.number: s for s in db.session.scalars(select(Session))}
        assert sorted(sessions) == [3, 11, 19]
        assert all(s.status == "published" and not s.is_demo for s in sessions.values())
        s3, s11, s19 = sessions[3], sessions[11], sessions[19]
        assert s3.title == "Tercera Sesión Ordinaria" and s19.title == "Décima Novena Sesión Ordinaria"
        assert len(s3.attendance) == 8 and len(s11.attendance) == 1 and len(s19.attendance) == 3
        assert s3.modality == "virtual" and s3.session_date is None          # not reported: empty
        assert s11.session_date is None and s11.modality == "" and s11.agreements == []
        assert s19.session_date == dt.date(2023, 9, 1) and s19.place == "Metepec" and s19.starts_at is None
        assert s3.approved_in_id is None and s3.quorum_snapshot["met"] is None   # no member list: undetermined
        ag = s3.agreements[0]
        assert ag.key == "STL-MEX/ORD03/01" and ag.progress == "unknown" and ag.owner == "" and ag.vote == ""
        assert "causaciudadana.com" in s3.source_url
        alt = next(a for a in s19.attendance if a.name == "Amalia Pulido Gómez")
        assert alt.capacity == "alternate" and alt.sector == "government"
        body = db.session.scalar(select(Body))
        assert body.status == "published" and body.kind == "stl" and "infoem.gob.mx" in body.source
        assert not db.session.scalar(select(Session.id).where(Session.body_id != body.id))  # no Sinaloa here
    _check_real_pages(app, client)
    _check_datasets_search_portal(app, client)


def _check_real_pages(app, client):
    index = client.get("/edomex/actas/").get_data(as_text=True)
    for title in ("Tercera Sesión Ordinaria", "Décima Primera Sesión Ordinaria", "Décima Novena Sesión Ordinaria"):
        assert title in index
    with within(app):
        sid = db.session.scalar(select(Session.id).where(Session.number == 3))
    fresh_g()
    page = client.get(f"/edomex/actas/sesiones/{sid}").get_data(as_text=True)
    assert "Zulema Martínez Sánchez" in page and "Rafael Funes Díaz" in page
    assert "stl-sector--guarantor" in page and "<strong>4</strong>" in page      # 4 INFOEM attendees
    assert "https://causaciudadana.com/realizan-tercera-sesion-ordinaria" in page
    assert "Aprobar la metodología de cinco fases" in page and "STL-MEX/ORD03/01" in page
    assert "Demo data" not in page
    fresh_g()
    tracker = client.get("/edomex/actas/acuerdos").get_data(as_text=True)
    assert "STL-MEX/ORD03/01" in tracker and "No follow-up recorded" in tracker
    fresh_g()
    section = client.get("/edomex/seccion/minutes").get_data(as_text=True)
    assert "Décima Novena Sesión Ordinaria" in section and "/edomex/actas/acuerdos" in section
    fresh_g()
    calendar = client.get("/edomex/actas/calendario?mes=2023-09").get_data(as_text=True)
    assert "Décima Novena Sesión Ordinaria" in calendar
    assert "Sessions whose date was not reported" in calendar


def test_demo_tenants_get_labelled_demo_sessions(app, client, make_user):
    _run_demo(app, make_user, "puebla")
    with within(app, "puebla"):
        sessions = db.session.scalars(select(Session)).all()
        assert len(sessions) == 4 and all(s.is_demo for s in sessions)
        assert all(a.is_demo for a in db.session.scalars(select(Agreement)))
        assert {s.stage for s in sessions} == {"published", "review", "draft"}
        published = [s for s in sessions if s.status == "published"]
        assert all(s.approved_in_id for s in published)      # demo minutes went through approval
    index = client.get("/puebla/actas/").get_data(as_text=True)
    assert "Demo data" in index and "Sesión de Instalación" in index
    fresh_g()
    tracker = client.get("/puebla/actas/acuerdos?estado=overdue").get_data(as_text=True)
    assert "Publicar las minutas aprobadas" in tracker and "stl-overdue" in tracker
    fresh_g()
    ics = client.get("/puebla/actas/calendario.ics")
    assert ics.headers["Content-Type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(ics.data).walk("VEVENT")]
    assert len(events) == 1 and "Tercera Sesión Ordinaria" in str(events[0]["SUMMARY"])
    assert events[0]["DTSTART"].dt.tzinfo is not None
    fresh_g()
    body_page = client.get("/puebla/actas/organos").get_data(as_text=True)
    assert "(ejemplo)" in body_page and "Demo data" in body_page
    with within(app, "puebla"):
        body_id = db.session.scalar(select(Body.id))
    fresh_g()
    page = client.get(f"/puebla/actas/organos/{body_id}").get_data(as_text=True)
    assert "Government: 2 seats" in page and "Civil society, academia and private sector: 2 seats" in page
    assert "Transparency authority: 1 seat<" in page
    assert "Government and society are balanced." in page


def test_training_sessions_only_for_training_tenants(app, make_user):
    ctx = _ctx(app, make_user, "edomex")
    with within(app):
        with pytest.raises(ValueError, match="not a training tenant"):
            demo.load_training_sessions(ctx.tenant, ctx)
    training = dataclasses.replace(tenant_of(app, "edomex"), training=True)
    with tenant_context(training):
        assert demo.load_training_sessions(training, ctx) == 2
        assert demo.load_training_sessions(training, ctx) == 0
        s8 = db.session.scalar(select(Session).where(Session.number == 8))
        assert s8.session_date == dt.date(2018, 5, 4) and len(s8.attendance) == 7
        assert s8.attendance[0].role == "Preside" and s8.attendance[0].capacity == "alternate"
        assert s8.agreements[0].key == "STL-SIN/ORD08/2018/01"
        assert {e.category for e in s8.evidence} == {"video", "other"}
        s7 = db.session.scalar(select(Session).where(Session.number == 7))
        assert s7.session_date == dt.date(2018, 4, 9) and s7.attendance == []


def _check_datasets_search_portal(app, client):
    fresh_g()
    data = json.loads(client.get("/edomex/datos/stl_agreements.json").get_data(as_text=True))
    (row,) = data["records"]
    with within(app):
        pub = db.session.scalar(select(Publication).where(Publication.content_type == "stl_agreement"))
        assert row["content_sha256"] == pub.sha256 and row["version"] == 1 and row["key"] == "STL-MEX/ORD03/01"
    fresh_g()
    csv = client.get("/edomex/datos/stl_attendance.csv").get_data(as_text=True)
    assert csv.startswith("\ufeffsession_id,") and csv.count("\r\n") == 1 + 8 + 1 + 3
    fresh_g()
    sessions = json.loads(client.get("/edomex/datos/stl_sessions.json").get_data(as_text=True))["records"]
    assert {r["number"] for r in sessions} == {3, 11, 19}
    assert all(r["content_sha256"] and r["is_demo"] is False for r in sessions)
    with within(app):
        t = tenant_of(app, "edomex")
        docs = [d for result in tenant_hook(t, "search_documents")(tenant=t) for d in result
                if d["content_type"].startswith("stl_")]
    assert {d["content_type"] for d in docs} == {"stl_body", "stl_session", "stl_agreement"}
    assert len([d for d in docs if d["content_type"] == "stl_session"]) == 3
    fresh_g()
    portal = client.get("/").get_data(as_text=True)
    assert "Décima Novena Sesión Ordinaria" in portal
