"""The session editor shares the core's editor mechanism: the session's facts autosave (toolkit
``autosave_reply``) and warn before leaving (``editor_form``); with a published call an automatic
save keeps the call's changes pending like the "Save" button; every Markdown text of the minutes
(summary, agenda details, addenda, body description) has a preview, and its "Preview" button
stores nothing."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from comun_cms.toolkit import AuditEvent, Publication, db, history

from plugins.stl_minutes import services as svc
from plugins.stl_minutes.models import AgendaItem, Session

from .conftest import make_session, reload, within
from .test_stl_lifecycle import _approved

BASE = "/edomex/admin/actas"


def facts(s: Session, **changes) -> dict:
    data = {"kind": s.kind, "number": str(s.number or ""), "session_date": s.session_date.isoformat(),
            "start_time": "10:00", "end_time": "12:00", "modality": "in_person", "place": s.place or "Sala",
            "video_url": "", "call_url": "", "summary": s.summary or "", "source_url": "", "source_note": ""}
    data.update(changes)
    return data


def test_session_facts_autosave_and_the_editor_warns(app, client, login_as, stl):
    login_as("editor")
    s = make_session(stl.body)
    page = client.get(f"{BASE}/sesiones/{s.id}").get_data(as_text=True)
    assert "data-editor data-autosave" in page and "data-editor-status" in page
    assert 'name="preview" value="summary"' in page and 'name="preview" value="agenda-description"' in page

    saved = client.post(f"{BASE}/sesiones/{s.id}", data={**facts(s, summary="Se **aprobó** el calendario"),
                                                        "autosave": "1"})
    assert saved.status_code == 200 and saved.json["ok"] is True, saved.json
    assert reload(Session, s.id).summary == "Se **aprobó** el calendario"
    assert "Se **aprobó** el calendario" in client.get(f"{BASE}/sesiones/{s.id}").get_data(as_text=True)

    bad = client.post(f"{BASE}/sesiones/{s.id}", data={**facts(s, number="5000"), "autosave": "1"})
    assert bad.status_code == 422 and bad.json["ok"] is False
    assert any(e.startswith("Number:") for e in bad.json["errors"])


def test_autosave_with_a_published_call_keeps_the_public_call(app, client, login_as, stl):
    login_as("editor")
    s = make_session(stl.body, day=dt.date.today() + dt.timedelta(days=20))
    svc.publish_call(s)
    db.session.commit()
    call_versions = len(history("stl_call", svc.call_for(s).id))
    saved = client.post(f"{BASE}/sesiones/{s.id}", data={**facts(s, place="Auditorio nuevo"), "autosave": "1"})
    assert saved.json["ok"] is True
    with within(app):
        assert len(history("stl_call", svc.call_for(reload(Session, s.id)).id)) == call_versions
    assert "Auditorio nuevo" not in client.get(f"/edomex/actas/sesiones/{s.id}").get_data(as_text=True)


def test_autosave_refuses_locked_minutes_and_other_tenants(app, client, login_as, stl):
    login_as("editor")
    s, _later = _approved(stl)
    svc.publish_minutes(stl.tenant, s)
    db.session.commit()
    locked = client.post(f"{BASE}/sesiones/{s.id}", data={**facts(s, place="Otra"), "autosave": "1"})
    assert locked.status_code == 422 and locked.json["ok"] is False and locked.json["errors"]

    draft = make_session(stl.body, number=7)
    login_as("editor", tenant="puebla")
    stolen = client.post(f"/puebla/admin/actas/sesiones/{draft.id}", data={**facts(draft, place="Robada"),
                                                                          "autosave": "1"})
    assert stolen.status_code == 404 and reload(Session, draft.id).place != "Robada"


def test_preview_buttons_of_the_minutes_store_nothing(app, client, login_as, stl):
    login_as("editor")
    s = make_session(stl.body)
    items = len(s.agenda_items)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))

    r = client.post(f"{BASE}/sesiones/{s.id}", data={**facts(s, summary="*resumen*"), "preview": "summary"})
    assert r.status_code == 200 and "<em>resumen</em>" in r.get_data(as_text=True)
    assert reload(Session, s.id).summary != "*resumen*"

    r = client.post(f"{BASE}/sesiones/{s.id}/orden-del-dia",
                    data={"agenda-kind": "informative", "agenda-title": "Informe", "agenda-description": "- uno",
                          "preview": "agenda-description"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<li>uno</li>" in html
    assert db.session.scalar(select(func.count()).select_from(AgendaItem).where(AgendaItem.session_id == s.id)) == items

    published, _later = _approved(stl, number=3, day=dt.date(2024, 5, 5))
    svc.publish_minutes(stl.tenant, published)
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Publication))
    r = client.post(f"{BASE}/sesiones/{published.id}/adenda",
                    data={"add-reason": "Errata", "add-text": "Donde dice **Ana**", "preview": "add-text"})
    assert r.status_code == 200 and "<strong>Ana</strong>" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Publication)) == before

    r = client.post(f"{BASE}/organos/{stl.body.id}", data={"kind": "stl", "name": "Otro nombre", "description": "# Qué hace",
                                                         "reason": "x", "preview": "description"})
    assert r.status_code == 200 and "<h2>Qué hace</h2>" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
