"""Redaction of a plugin record (issue 14, item 6): published STL minutes whose evidence carries a
personal phone number. Every route that serves the session, its versions or its evidence file
loses the content; the evidence answers 410; the notary log still audits."""
from __future__ import annotations

import datetime as dt
import io

from werkzeug.datastructures import FileStorage

from comun_cms.toolkit import db, history, redact, store_upload
from plugins.stl_minutes import services as svc
from plugins.stl_minutes.models import Evidence, Session

from .conftest import make_session, png_bytes, reload, within

PHONE = "55 8765 4321"
BASIS = "Art. 120 LGTAIP: el teléfono particular es un dato personal."


def _published_with_evidence(stl, app):
    s = make_session(stl.body, number=1)
    later = make_session(stl.body, number=2, day=dt.date(2024, 4, 5))
    svc.submit_for_review(s)
    svc.approve(s, later)
    with app.test_request_context():
        att = store_upload(FileStorage(io.BytesIO(png_bytes((9, 9))), filename="lista.png"),
                           owner_type="stl_session", owner_id=str(s.id), kinds=("image",))
        db.session.flush()
        s.evidence.append(Evidence(category="photo", title=f"Lista con el teléfono {PHONE}", attachment=att))
        svc.publish_minutes(stl.tenant, s)
        db.session.commit()
    return s.id, att.id


def test_redacted_minutes_leave_every_public_surface_and_the_log_audits(stl, app, client, runner):
    session_id, att_id = _published_with_evidence(stl, app)
    urls = [f"/edomex/actas/sesiones/{session_id}", "/edomex/actas/", f"/edomex/actas/organos/{stl.body.id}",
            f"/edomex/historial/stl_session/{session_id}", f"/edomex/historial/stl_session/{session_id}/v1.json",
            f"/api/v1/edomex/records/stl_session/{session_id}", f"/api/v1/edomex/records/stl_session/{session_id}/versions",
            "/api/v1/edomex/records", "/api/v1/edomex/records.json", "/edomex/datos/stl_sessions.json",
            "/edomex/datos/stl_sessions.csv", "/edomex/feed.atom", "/edomex/feed/stl_session.atom", "/feed.atom",
            "/edomex/buscar?q=lista", "/buscar?q=lista", f"/edomex/archivos/{att_id}/lista.png",
            f"/edomex/archivos/{att_id}/miniatura"]
    assert PHONE in client.get(f"/edomex/actas/sesiones/{session_id}").get_data(as_text=True)
    assert client.get(f"/edomex/archivos/{att_id}/lista.png").status_code == 200
    with within(app):
        s = reload(Session, session_id)
        pub = redact(s, legal_basis=BASIS, scope="record")
        assert pub.action == "redact" and reload(Session, session_id).status == "retracted"
        assert [p.action for p in history("stl_session", session_id)] == ["publish", "redact"]
    audit = runner.invoke(args=["notary", "audit", "--tenant", "edomex"])
    assert audit.exit_code == 0 and "1 redacted version(s)" in audit.output, audit.output
    page = client.get(f"/edomex/actas/sesiones/{session_id}")
    assert page.status_code == 410 and BASIS in page.get_data(as_text=True)
    assert client.get(f"/edomex/archivos/{att_id}/lista.png").status_code == 410
    assert client.get(f"/edomex/historial/stl_session/{session_id}/v1.json").status_code == 410
    assert client.get(f"/api/v1/edomex/records/stl_session/{session_id}").status_code == 410
    for url in urls:
        assert PHONE not in client.get(url).get_data(as_text=True), url
