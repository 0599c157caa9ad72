"""Minutes lifecycle: draft -> review -> approved (in a later session) -> published and locked;
addenda only after publication; agreements published with the minutes."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from comun_cms.toolkit import AuditEvent, db, history, store_upload

from plugins.stl_minutes import services as svc
from plugins.stl_minutes.models import Agreement, Body, Call, Evidence, Session

from .conftest import PDF, make_body, make_session, png_bytes, reload, within

PNG = png_bytes()


def _approved(stl, number=1, day=dt.date(2024, 3, 5)):
    s = make_session(stl.body, number=number, day=day)
    later = make_session(stl.body, number=number + 1, day=day + dt.timedelta(days=30))
    svc.add_agreement(stl.tenant, s, text="Publicar el calendario.", owner="Secretaría técnica",
                      due_date=dt.date(2024, 4, 30), vote="unanimous")
    svc.submit_for_review(s)
    svc.approve(s, later)
    db.session.commit()
    return s, later


def test_transitions_need_their_preconditions(stl):
    s = Session(body=stl.body, number=1, kind="regular")
    db.session.add(s)
    db.session.commit()
    with pytest.raises(svc.MinutesError, match="date"):
        svc.submit_for_review(s)
    s.session_date = dt.date(2024, 3, 5)
    with pytest.raises(svc.MinutesError, match="attendance"):
        svc.submit_for_review(s)
    svc.set_member_attendance(s, {stl.members[0].id})
    with pytest.raises(svc.MinutesError, match="approval"):
        svc.publish_minutes(stl.tenant, s)
    svc.submit_for_review(s)
    assert s.stage == "review"
    earlier = make_session(stl.body, number=9, day=dt.date(2024, 1, 1))
    with pytest.raises(svc.MinutesError, match="later session"):
        svc.approve(s, earlier)
    other_body = make_body(name="Comité Coordinador", kind="coordinating_committee")
    other = make_session(other_body, number=1, day=dt.date(2024, 5, 1))
    with pytest.raises(svc.MinutesError, match="same body"):
        svc.approve(s, other)
    with pytest.raises(svc.MinutesError):
        svc.approve(s, s)
    future = make_session(stl.body, number=10, day=dt.date(2024, 4, 5))
    with pytest.raises(svc.MinutesError, match="not been held"):
        svc.approve(s, future, today=dt.date(2024, 4, 4))
    assert svc.approving_candidates(s, dt.date(2024, 4, 4)) == []
    assert svc.approving_candidates(s, dt.date(2024, 4, 5)) == [future]


def test_approval_links_the_later_session_and_freezes_the_quorum(stl):
    s, later = _approved(stl)
    assert s.stage == "approved" and s.approved_in_id == later.id
    assert s.quorum_snapshot["seats"] == 6 and s.quorum_snapshot["present"] == 4 and s.quorum_snapshot["met"]
    assert sum(1 for i in later.agenda_items if i.kind == "previous_minutes") == 1  # not added twice
    with pytest.raises(svc.MinutesError, match="approved"):
        svc.add_agenda_item(s, "informative", "Tema nuevo")
    svc.return_to_draft(s)
    assert s.stage == "draft" and s.approved_in_id is None and s.quorum_snapshot is None


def test_publication_freezes_minutes_with_agreements_and_evidence_hashes(stl, app):
    s, _later = _approved(stl)
    with app.test_request_context():
        att = store_upload(FileStorage(io.BytesIO(PNG), filename="foto.png"), owner_type="stl_session",
                           owner_id=str(s.id), kinds=("image",))
        db.session.flush()
        s.evidence.append(Evidence(category="photo", title="Foto", attachment=att))
        pub = svc.publish_minutes(stl.tenant, s)
        db.session.commit()
    assert s.status == "published" and s.stage == "published" and s.locked
    doc = json.loads(pub.canonical_json)
    assert doc["content_type"] == "stl_session"
    assert doc["content"]["title"] == "Primera Sesión Ordinaria"
    assert doc["content"]["agreements"][0]["key"] == "STL-MEX/ORD01/2024/01"
    assert doc["content"]["evidence"][0]["file"]["sha256"] == att.sha256
    assert [a["sha256"] for a in doc["attachments"]] == [att.sha256]
    assert doc["content"]["attendance_by_sector"] == {"government": 3, "civil_society": 1}
    ag = s.agreements[0]
    assert ag.status == "published" and ag.version == 1 and ag.current_due_date == dt.date(2024, 4, 30)
    assert att.public


def test_no_edit_after_publication_only_addenda(stl):
    s, _ = _approved(stl)
    svc.publish_minutes(stl.tenant, s)
    db.session.commit()
    for attempt in (lambda: svc.add_agenda_item(s, "informative", "x"), lambda: svc.ensure_editable(s),
                    lambda: svc.set_member_attendance(s, set()), lambda: svc.add_agreement(stl.tenant, s, text="x"),
                    lambda: svc.return_to_draft(s), lambda: svc.submit_for_review(s),
                    lambda: svc.publish_minutes(stl.tenant, s)):
        with pytest.raises(svc.MinutesError):
            attempt()
    db.session.rollback()
    with pytest.raises(svc.MinutesError, match="reason"):
        svc.add_addendum(s, "  ", "texto")
    pub = svc.add_addendum(s, "Errata en el nombre de una asistente", "Donde dice «Ana» debe decir «Ana María».")
    db.session.commit()
    assert pub.version == 2 and pub.action == "correct" and pub.reason.startswith("Errata")
    versions = history("stl_session", s.id)
    assert [p.version for p in versions] == [1, 2]
    first, second = (json.loads(p.canonical_json) for p in versions)
    assert first["content"]["addenda"] == [] and second["content"]["addenda"][0]["version"] == 2
    assert first["content"]["agenda"] == second["content"]["agenda"]


def test_keys_follow_number_kind_and_year(stl):
    s = make_session(stl.body, number=19, day=dt.date(2023, 9, 1))
    a1 = svc.add_agreement(stl.tenant, s, text="Uno")
    a2 = svc.add_agreement(stl.tenant, s, text="Dos")
    assert (a1.key, a2.key) == ("STL-MEX/ORD19/2023/01", "STL-MEX/ORD19/2023/02")
    svc.remove_agreement(stl.tenant, a1)
    db.session.commit()
    assert a2.key == "STL-MEX/ORD19/2023/01" and a2.seq == 1
    special = make_session(stl.body, number=2, kind="special", day=None)
    assert svc.add_agreement(stl.tenant, special, text="x").key == "STL-MEX/EXT02/01"


# --------------------------------------------------------------------------- through the admin
def _post(client, url, data=None, **kw):
    return client.post(url, data=data or {}, **kw)


def test_editor_takes_a_session_from_call_to_locked_publication(app, client, login_as, stl, monkeypatch):
    login_as("editor")
    body_id = stl.body.id
    base = "/edomex/admin/actas"
    r = _post(client, f"{base}/sesiones/nueva", {"body": body_id, "kind": "regular", "number": "7",
                                                  "session_date": "2031-05-20", "start_time": "10:00",
                                                  "end_time": "12:30", "modality": "hybrid", "place": "Toluca"})
    assert r.status_code == 302, r.get_data(as_text=True)
    with within(app):
        s = db.session.scalar(select(Session).where(Session.number == 7))
        sid = s.id
        assert s.starts_at == dt.datetime(2031, 5, 20, 16, 0, tzinfo=dt.timezone.utc)  # 10:00 in UTC-6
    assert _post(client, f"{base}/sesiones/{sid}/orden-del-dia/estandar").status_code == 302
    assert _post(client, f"{base}/sesiones/{sid}/orden-del-dia",
                 {"agenda-kind": "deliberative", "agenda-title": "Plan de Acción Local"}).status_code == 302
    assert _post(client, f"{base}/sesiones/{sid}/convocatoria/documento",
                 {"call-file": (io.BytesIO(PDF), "convocatoria.pdf")}, content_type="multipart/form-data").status_code == 302
    assert _post(client, f"{base}/sesiones/{sid}/convocatoria/publicar").status_code == 302
    ics = client.get("/edomex/actas/calendario.ics").get_data(as_text=True)
    assert "Séptima Sesión Ordinaria" in ics and "DTSTART:20310520T160000Z" in ics

    # rescheduling after the call is published is kept until "Publicar cambios": the public
    # calendar shows the published call, the session page shows the changes against it
    form = {"kind": "regular", "number": "7", "session_date": "2031-05-21", "start_time": "10:00",
            "end_time": "12:30", "modality": "hybrid", "place": "Toluca"}
    r = _post(client, f"{base}/sesiones/{sid}", form)
    assert r.status_code == 302 and r.headers["Location"].endswith("#call")
    with within(app):
        assert reload(Session, sid).session_date == dt.date(2031, 5, 21)
        call = db.session.scalar(select(Call).where(Call.session_id == sid))
        assert [p.version for p in history("stl_call", call.id)] == [1]
    assert "DTSTART:20310520T160000Z" in client.get("/edomex/actas/calendario.ics").get_data(as_text=True)
    page = client.get(f"{base}/sesiones/{sid}").get_data(as_text=True)
    assert "Changes against the published call" in page and '<h4 id="call-change-session_date">Date</h4>' in page
    assert "2031-05-20" in page and "2031-05-21" in page
    assert _post(client, f"{base}/sesiones/{sid}/convocatoria/corregir",
                 {"callfix-reason": "Cambio de fecha por día inhábil"}).status_code == 302
    with within(app):
        call = db.session.scalar(select(Call).where(Call.session_id == sid))
        assert [p.version for p in history("stl_call", call.id)] == [1, 2]
    assert "DTSTART:20310521T160000Z" in client.get("/edomex/actas/calendario.ics").get_data(as_text=True)
    with within(app):
        present = [m.id for m in reload(Body, body_id).members[:4]]
    assert _post(client, f"{base}/sesiones/{sid}/asistencia/integrantes", {"present": present}).status_code == 302
    assert _post(client, f"{base}/sesiones/{sid}/asistencia",
                 {"att-name": "Invitada Especial", "att-sector": "academia", "att-capacity": "guest"}).status_code == 302
    assert _post(client, f"{base}/sesiones/{sid}/acuerdos",
                 {"agr-text": "Difundir el calendario.", "agr-vote": "unanimous", "agr-owner": "SESAEMM",
                  "agr-due_date": "2031-06-30"}).status_code == 302
    assert _post(client, f"{base}/sesiones/{sid}/revision").status_code == 302
    with within(app):
        assert reload(Session, sid).stage == "review"
        later = make_session(reload(Body, body_id), number=8, day=dt.date(2031, 6, 20))
        later_id = later.id
    # the approving session must have been held: not yet...
    _post(client, f"{base}/sesiones/{sid}/aprobar", {"appr-approving": str(later_id)})
    with within(app):
        assert reload(Session, sid).stage == "review"
    # ...now it has (the tenant's clock moves to July 2031)
    monkeypatch.setattr(svc, "now_utc", lambda: dt.datetime(2031, 7, 1, 18, 0, tzinfo=dt.timezone.utc))
    assert _post(client, f"{base}/sesiones/{sid}/aprobar", {"appr-approving": str(later_id)}).status_code == 302
    assert _post(client, f"{base}/sesiones/{sid}/publicar").status_code == 302
    with within(app):
        s = reload(Session, sid)
        assert s.status == "published" and s.stage == "published" and s.approved_in_id == later_id
        assert s.agreements[0].key == "STL-MEX/ORD07/2031/01" and s.agreements[0].status == "published"
        audits = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.object_id == str(sid)))
        assert audits >= 10

    page = client.get(f"/edomex/actas/sesiones/{sid}").get_data(as_text=True)
    assert "Séptima Sesión Ordinaria" in page and "Invitada Especial" in page and "STL-MEX/ORD07/2031/01" in page
    assert "Quorum met" in page or "Quórum" in page

    # locked: edits are refused and change nothing
    r = _post(client, f"{base}/sesiones/{sid}", {**form, "place": "Otro lugar", "reason": "x"})
    assert r.status_code == 422
    _post(client, f"{base}/sesiones/{sid}/orden-del-dia", {"agenda-kind": "informative", "agenda-title": "Colado"})
    _post(client, f"{base}/sesiones/{sid}/asistencia/integrantes", {"present": []})
    with within(app):
        s = reload(Session, sid)
        assert s.place == "Toluca" and len(s.attendance) == 5 and "Colado" not in [i.title for i in s.agenda_items]
        agreement_id = s.agreements[0].id
    r = client.get(f"{base}/acuerdos/{agreement_id}/editar")
    assert r.status_code == 302 and "seguimiento" in r.headers["Location"]

    # follow-up of the agreement: a new published version whose reason is the note
    r = _post(client, f"{base}/acuerdos/{agreement_id}/seguimiento",
              {"entry_date": "2024-01-01", "progress": "in_progress", "note": "", "new_due_date": "2031-07-31"})
    assert r.status_code == 422
    r = _post(client, f"{base}/acuerdos/{agreement_id}/seguimiento",
              {"entry_date": "2024-01-01", "progress": "in_progress", "note": "Calendario en revisión",
               "new_due_date": "2031-07-31", "link_url": "https://example.org/avance",
               "file": (io.BytesIO(PDF), "avance.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 302
    with within(app):
        ag = reload(Agreement, agreement_id)
        assert ag.version == 2 and ag.progress == "in_progress" and ag.current_due_date == dt.date(2031, 7, 31)
        assert ag.due_date == dt.date(2031, 6, 30) and ag.updates[0].attachment.public
        assert history("stl_agreement", agreement_id)[-1].reason == "Calendario en revisión"

    # addendum: a new version with its reason
    r = _post(client, f"{base}/sesiones/{sid}/adenda", {"add-reason": "", "add-text": "x"})
    assert r.status_code == 422
    r = _post(client, f"{base}/sesiones/{sid}/adenda", {"add-reason": "Errata en la hora de cierre",
                                                        "add-text": "La sesión terminó a las 12:45."})
    assert r.status_code == 302
    with within(app):
        assert [p.version for p in history("stl_session", sid)] == [1, 2]
    assert "Errata en la hora de cierre" in client.get(f"/edomex/actas/sesiones/{sid}").get_data(as_text=True)


def test_review_comments_by_attendees_and_staff(app, client, make_user, switch_to, stl):
    s = make_session(stl.body, number=3)
    svc.submit_for_review(s)
    db.session.commit()
    sid = s.id
    attendee = make_user("ana@example.org")           # the e-mail of the first member, who attended
    outsider = make_user("nadie@example.org")
    switch_to(outsider)
    assert client.get(f"/edomex/admin/actas/sesiones/{sid}/comentarios").status_code == 403
    switch_to(attendee)
    r = client.get(f"/edomex/admin/actas/sesiones/{sid}/comentarios")
    assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    assert client.post(f"/edomex/admin/actas/sesiones/{sid}/comentarios", data={"body": "Falta mi cargo."}).status_code == 302
    switch_to("evaluator")  # an evaluating organization does not read minutes in review (issue 19, item 13)
    assert client.get(f"/edomex/admin/actas/sesiones/{sid}/comentarios").status_code == 403
    assert client.post(f"/edomex/admin/actas/sesiones/{sid}/comentarios", data={"body": "Hola."}).status_code == 403
    switch_to("editor")
    assert client.post(f"/edomex/admin/actas/sesiones/{sid}/comentarios", data={"body": "Revisar quórum."}).status_code == 302
    with within(app):
        comments = reload(Session, sid).comments
        assert [(c.body, c.is_attendee) for c in comments] == [("Falta mi cargo.", True), ("Revisar quórum.", False)]
        svc.return_to_draft(reload(Session, sid))
        db.session.commit()
    switch_to(attendee)
    assert client.get(f"/edomex/admin/actas/sesiones/{sid}/comentarios").status_code == 404


def test_published_body_changes_need_a_reason(app, client, login_as, stl):
    login_as("editor")
    body_id = stl.body.id
    data = {"kind": "stl", "name": stl.body.name, "short_name": "STL", "quorum_rule": "majority_all_sectors"}
    r = client.post(f"/edomex/admin/actas/organos/{body_id}", data=data)
    assert r.status_code == 422
    r = client.post(f"/edomex/admin/actas/organos/{body_id}", data={**data, "reason": "Acuerdo de la sesión 4"})
    assert r.status_code == 302
    r = client.post(f"/edomex/admin/actas/organos/{body_id}/integrantes/nuevo",
                    data={"name": "Nueva Integrante", "sector": "civil_society", "capacity": "member"})
    assert r.status_code == 422
    r = client.post(f"/edomex/admin/actas/organos/{body_id}/integrantes/nuevo",
                    data={"name": "Nueva Integrante", "sector": "civil_society", "capacity": "member",
                          "reason": "Alta aprobada en sesión"})
    assert r.status_code == 302
    with within(app):
        versions = history("stl_body", body_id)
        assert [p.version for p in versions] == [1, 2, 3]
        assert json.loads(versions[-1].canonical_json)["content"]["members"][-1]["name"] == "Nueva Integrante"
        assert "email" not in json.loads(versions[-1].canonical_json)["content"]["members"][0]
