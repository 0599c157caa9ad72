"""Evidence uploads: size limit, content sniffing (a disguised file is refused), sanitized names;
nothing is stored when an upload is refused."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from comun_cms.toolkit import Attachment, db

from plugins.stl_minutes import services as svc
from plugins.stl_minutes.models import Evidence, Session

from .conftest import PDF, make_session, png_bytes, reload, within

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture
def app_config(app_config):
    limits = {"image": 4096, "pdf": 2048, "audio": 4096, "video": 4096, "document": 4096}
    return {**app_config, "UPLOAD_MAX_BYTES": limits}


@pytest.fixture
def draft(stl):
    return make_session(stl.body, number=4)


def _upload(client, sid, data: bytes, name: str, category="signed_minutes", **extra):
    return client.post(f"/edomex/admin/actas/sesiones/{sid}/evidencia",
                       data={"ev-category": category, "ev-file": (io.BytesIO(data), name), **extra},
                       content_type="multipart/form-data")


def _stored(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _nothing_stored(app, sid):
    with within(app):
        assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert [p for p in _stored(app) if "thumbs" not in p.parts] == []


def test_refused_uploads_store_nothing(app, client, login_as, draft):
    login_as("editor")
    # oversize (the PDF limit is 2 KiB here)
    r = _upload(client, draft.id, PDF + b"%" + b"x" * 4096, "acta.pdf")
    assert r.status_code == 422 and "larger than the limit" in r.get_data(as_text=True)
    # an executable named .pdf: the content decides
    r = _upload(client, draft.id, EXE, "acta.pdf")
    assert r.status_code == 422 and "is not a pdf file" in r.get_data(as_text=True)
    # an image named .pdf
    assert _upload(client, draft.id, png_bytes(), "acta.pdf").status_code == 422
    # a PDF is not a photo
    r = _upload(client, draft.id, PDF, "foto.pdf", category="photo")
    assert r.status_code == 422 and "not accepted" in r.get_data(as_text=True)
    # an unknown extension
    assert _upload(client, draft.id, EXE, "acta.exe", category="other").status_code == 422
    _nothing_stored(app, draft.id)
    # evidence is a file or a link, not both nor neither; links are http(s) only
    r = client.post(f"/edomex/admin/actas/sesiones/{draft.id}/evidencia", data={"ev-category": "video"})
    assert r.status_code == 422 and "Choose a file to upload or enter a link" in r.get_data(as_text=True)
    r = client.post(f"/edomex/admin/actas/sesiones/{draft.id}/evidencia",
                    data={"ev-category": "video", "ev-url": "javascript:alert(1)"})
    assert r.status_code == 422
    r = client.post(f"/edomex/admin/actas/sesiones/{draft.id}/evidencia",
                    data={"ev-category": "video", "ev-url": "https://video.example.org/sesion-4"})
    assert r.status_code == 302
    with within(app):
        assert reload(Session, draft.id).evidence[0].url == "https://video.example.org/sesion-4"


def test_stored_files_have_sanitized_names_and_their_hash(app, client, login_as, draft, tmp_path):
    login_as("editor")
    r = _upload(client, draft.id, PDF, "Minuta firmada sesión 4.pdf", **{"ev-title": "Minuta firmada"})
    assert r.status_code == 302
    with within(app):
        att = db.session.scalar(select(Attachment))
        assert att.filename == "Minuta_firmada_sesion_4.pdf" and att.mimetype == "application/pdf"
        assert att.owner_type == "stl_session" and att.owner_id == str(draft.id) and not att.public
        assert att.sha256 == hashlib.sha256(PDF).hexdigest()
    # path traversal in file names
    names = ["../../../../etc/acta.pdf", "..\\..\\windows\\acta.pdf", "/etc/acta.pdf", "sub/../../acta.pdf"]
    for name in names:
        assert _upload(client, draft.id, PDF, name).status_code == 302, name
    with within(app):
        for att in db.session.scalars(select(Attachment).where(Attachment.id > 1)):
            assert att.filename.endswith("acta.pdf") and not ({"/", "\\"} & set(att.filename))
            assert ".." not in att.filename and not att.filename.startswith(".")
    root = Path(app.config["UPLOAD_DIR"]).resolve()
    for path in _stored(app):
        assert root in path.resolve().parents
    assert not (tmp_path / "etc").exists() and not Path("/etc/acta.pdf").exists()


def test_photo_gets_a_thumbnail_and_published_evidence_is_an_addendum(app, client, login_as, stl):
    s = make_session(stl.body, number=6, day=dt.date(2024, 1, 10))
    later = make_session(stl.body, number=7, day=dt.date(2024, 2, 10))
    svc.submit_for_review(s)
    svc.approve(s, later)
    svc.publish_minutes(stl.tenant, s)
    db.session.commit()
    sid = s.id
    login_as("editor")
    assert _upload(client, sid, png_bytes(), "foto.png", category="photo").status_code == 422  # reason missing
    r = _upload(client, sid, png_bytes(), "foto.png", category="photo", **{"ev-reason": "Se agrega foto de la sesión"})
    assert r.status_code == 302
    with within(app):
        s = reload(Session, sid)
        assert s.version == 2 and s.addenda[0].reason == "Se agrega foto de la sesión"
        att = s.evidence[0].attachment
        assert att.public and att.kind == "image"
    assert client.get(f"/edomex/archivos/{att.id}/miniatura").status_code == 200
    assert att.sha256 in client.get(f"/edomex/actas/sesiones/{sid}").get_data(as_text=True)
