"""Awareness workshops (step 8): the admin creates a workshop with local times (stored UTC),
adds a file and a link as materials, publishes it (notarized, indexed, its file made public) and
corrects it only with a reason; the public list splits upcoming and past; bad input is refused
naming the field with nothing stored; every route is tenant-isolated."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from comun_cms.toolkit import Attachment, Publication, db, tenant_context, utcnow
from comun_cms.toolkit.testing import get_tenant

from plugins.cocreation import content
from plugins.cocreation import workshops as ws
from plugins.cocreation.models import Workshop, WorkshopMaterial

from .call_records import make_call_records

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
      b"trailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _spanish(spanish):
    """Pages in the tenant's language (es_MX), as in production."""
    return spanish


def _workshops(app, slug="edomex"):
    with tenant_context(get_tenant(app, slug)):
        return db.session.scalars(select(Workshop).order_by(Workshop.id)).all()


FORM = {"title": "Taller de gobierno abierto", "description": "Qué es **cocreación**.",
        "starts_at": "2026-03-10T10:00", "ends_at": "2026-03-10T12:30", "place": "Biblioteca central",
        "online_url": ""}


def test_admin_creates_publishes_and_corrects_a_workshop_with_materials(app, client, login_as, make_process):
    pid = make_process("edomex")
    login_as("editor", "edomex")
    resp = client.post(f"/edomex/admin/cocreacion/{pid}/talleres", data=FORM)
    assert resp.status_code == 303
    [w] = _workshops(app)
    # local time of the tenant (America/Mexico_City, UTC−6) stored as UTC
    assert w.starts_at == dt.datetime(2026, 3, 10, 16, 0, tzinfo=dt.timezone.utc)
    assert w.ends_at == dt.datetime(2026, 3, 10, 18, 30, tzinfo=dt.timezone.utc)
    page = client.get(f"/edomex/admin/cocreacion/talleres/{w.id}").get_data(as_text=True)
    assert 'value="2026-03-10T10:00"' in page
    url = f"/edomex/admin/cocreacion/talleres/{w.id}/materiales"
    assert client.post(url, data={"m-title": "Presentación", "m-file": (io.BytesIO(PDF), "presentacion.pdf")},
                       content_type="multipart/form-data").status_code == 303
    assert client.post(url, data={"m-title": "Video", "m-url": "https://example.org/video"}).status_code == 303
    [w] = _workshops(app)
    with tenant_context(get_tenant(app, "edomex")):
        mats = db.session.scalars(select(WorkshopMaterial).order_by(WorkshopMaterial.id)).all()
        att = db.session.get(Attachment, mats[0].attachment_id)
        assert [m.title for m in mats] == ["Presentación", "Video"] and att is not None and not att.public
        att_id = att.id
    assert client.get(f"/edomex/cocreacion/talleres/{w.id}").status_code == 404
    assert client.post(f"/edomex/admin/cocreacion/talleres/{w.id}/publicar").status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.get(Attachment, att_id).public
        pub = db.session.scalars(select(Publication).where(Publication.content_type == "cocreation_workshop")).one()
        assert '"sha256"' in pub.canonical_json and "Presentación" in pub.canonical_json
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/talleres/{w.id}").get_data(as_text=True)
    assert "Taller de gobierno abierto" in html and "<strong>cocreación</strong>" in html
    assert "Biblioteca central" in html and "https://example.org/video" in html
    assert f"/edomex/archivos/{att_id}/" in html
    assert f"/edomex/cocreacion/talleres/{w.id}.ics" in html
    listing = client.get(f"/edomex/cocreacion/{pid}/talleres").get_data(as_text=True)
    assert "Taller de gobierno abierto" in listing
    assert f"/edomex/cocreacion/{pid}/talleres" in client.get(f"/edomex/cocreacion/{pid}").get_data(as_text=True)
    # correction: only with a reason; a material on a published workshop needs a reason too
    login_as("editor", "edomex")
    edit = f"/edomex/admin/cocreacion/talleres/{w.id}"
    resp = client.post(edit, data={**FORM, "place": "Auditorio"})
    assert resp.status_code == 422 and "Explique el motivo" in resp.get_data(as_text=True)
    assert client.post(edit, data={**FORM, "place": "Auditorio", "reason": "Cambio de sede"}).status_code == 303
    resp = client.post(url, data={"m-title": "Otra", "m-url": "https://example.org/otra"})
    assert resp.status_code == 422 and 'href="#m-reason"' in resp.get_data(as_text=True)
    assert client.post(url, data={"m-title": "Otra", "m-url": "https://example.org/otra",
                                  "m-reason": "Material nuevo"}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        w = db.session.get(Workshop, w.id)
        assert (w.place, w.version, len(w.materials)) == ("Auditorio", 3, 3)
        mat = w.materials[0].id
    # materials of a published workshop are not removed
    client.post(f"/edomex/admin/cocreacion/talleres/materiales/{mat}/eliminar")
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(func.count(WorkshopMaterial.id))) == 3


def test_materials_of_a_draft_can_be_removed(app, client, login_as, make_process):
    pid = make_process("edomex")
    login_as("editor", "edomex")
    client.post(f"/edomex/admin/cocreacion/{pid}/talleres", data=FORM)
    [w] = _workshops(app)
    client.post(f"/edomex/admin/cocreacion/talleres/{w.id}/materiales",
                data={"m-title": "Presentación", "m-file": (io.BytesIO(PDF), "p.pdf")}, content_type="multipart/form-data")
    with tenant_context(get_tenant(app, "edomex")):
        mat = db.session.scalars(select(WorkshopMaterial)).one()
        mat_id, att_id = mat.id, mat.attachment_id
    assert client.post(f"/edomex/admin/cocreacion/talleres/materiales/{mat_id}/eliminar").status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(func.count(WorkshopMaterial.id))) == 0
        assert db.session.get(Attachment, att_id) is None


def test_upcoming_and_past(app, client, make_process):
    pid = make_process("edomex")
    make_call_records(app, "edomex", pid)  # a published workshop in 15 days
    with tenant_context(get_tenant(app, "edomex")):
        past = Workshop(process_id=pid, title="Taller pasado", description="x", place="Sala",
                        starts_at=utcnow() - dt.timedelta(days=3), ends_at=utcnow() - dt.timedelta(days=3, hours=-2))
        draft = Workshop(process_id=pid, title="Taller borrador", description="x", place="Sala",
                         starts_at=utcnow() + dt.timedelta(days=3))
        db.session.add_all([past, draft])
        db.session.commit()
        from comun_cms.toolkit import publish  # noqa: PLC0415
        publish(past)
    html = client.get(f"/edomex/cocreacion/{pid}/talleres").get_data(as_text=True)
    upcoming, _sep, earlier = html.partition('id="past-title"')
    assert "Taller exclusivo edomex" in upcoming and "Taller pasado" not in upcoming
    assert "Taller pasado" in earlier and "Taller borrador" not in html
    now = utcnow()
    w1 = Workshop(id=1, starts_at=now + dt.timedelta(days=1))
    w2 = Workshop(id=2, starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=1))
    w3 = Workshop(id=3, starts_at=now - dt.timedelta(days=1), ends_at=now - dt.timedelta(hours=20))
    assert ws.split_upcoming([w1, w2, w3], now) == ([w2, w1], [w3])


@pytest.mark.parametrize("over, field", [
    ({"title": ""}, "title"),
    ({"title": "t" * 10_000}, "title"),
    ({"description": "d" * 10_000}, "description"),
    ({"description": ""}, "description"),
    ({"ends_at": "2026-03-10T09:00"}, "ends_at"),
    ({"starts_at": "mañana"}, "starts_at"),
    ({"place": "", "online_url": ""}, "place"),
    ({"online_url": "javascript:alert(1)"}, "online_url"),
])
def test_bad_input_is_refused_naming_the_field(app, client, login_as, make_process, over, field):
    pid = make_process("edomex")
    login_as("editor", "edomex")
    resp = client.post(f"/edomex/admin/cocreacion/{pid}/talleres", data={**FORM, **over})
    assert resp.status_code == 422
    assert f'href="#{field}"' in resp.get_data(as_text=True)
    assert _workshops(app) == []


def test_bad_materials_are_refused(app, client, login_as, make_process):
    pid = make_process("edomex")
    login_as("editor", "edomex")
    client.post(f"/edomex/admin/cocreacion/{pid}/talleres", data=FORM)
    [w] = _workshops(app)
    url = f"/edomex/admin/cocreacion/talleres/{w.id}/materiales"
    for data, field in (({"m-title": "Sin nada"}, "m-url"),
                        ({"m-title": "", "m-url": "https://example.org"}, "m-title"),
                        ({"m-title": "Programa", "m-file": (io.BytesIO(b"MZ\x90\x00binario"), "programa.pdf")},
                         "m-file")):
        resp = client.post(url, data=data, content_type="multipart/form-data")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and f'href="#{field}"' in html, data
        # the workshop's own form beside it keeps the stored values, times in local time
        assert 'value="Taller de gobierno abierto"' in html and 'value="2026-03-10T10:00"' in html
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(func.count(WorkshopMaterial.id))) == 0
        assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_html_is_escaped_and_markdown_sanitized(app, client, login_as, make_process):
    pid = make_process("edomex")
    login_as("editor", "edomex")
    client.post(f"/edomex/admin/cocreacion/{pid}/talleres",
                data={**FORM, "title": "<script>alert(1)</script>Taller", "description": "<script>x()</script>**Hola**"})
    [w] = _workshops(app)
    client.post(f"/edomex/admin/cocreacion/talleres/{w.id}/publicar")
    html = client.get(f"/edomex/cocreacion/talleres/{w.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;Taller" in html
    assert "<script>x()</script>" not in html and "<strong>Hola</strong>" in html


def test_search_document_of_a_published_workshop(app, make_process):
    pid = make_process("edomex")
    records = make_call_records(app, "edomex", pid)
    tenant = get_tenant(app, "edomex")
    with tenant_context(tenant), app.test_request_context("/edomex/"):
        docs = list(content.search_documents(tenant, (ws.WORKSHOP_TYPE,)))
        assert len(docs) == 1 and docs[0]["title"] == "Taller exclusivo edomex" and "Biblioteca" in docs[0]["body"]
        assert "cocreación" in docs[0]["body"] and "**" not in docs[0]["body"] and "<" not in docs[0]["body"]
        assert docs[0]["url"].endswith(f"/edomex/cocreacion/talleres/{records['workshop_id']}")


def test_other_tenants_cannot_see_or_change_workshops(app, client, login_as, make_process):
    edomex = make_call_records(app, "edomex", make_process("edomex"))
    pid_puebla = make_process("puebla")
    make_call_records(app, "puebla", pid_puebla)
    login_as("admin", "puebla")
    w, mat = edomex["workshop_id"], edomex["material_id"]
    for prefix, code in (("/edomex/admin/cocreacion", 403), ("/puebla/admin/cocreacion", 404)):
        for method, url in (("GET", f"{prefix}/talleres/{w}"), ("POST", f"{prefix}/talleres/{w}"),
                            ("POST", f"{prefix}/talleres/{w}/publicar"), ("POST", f"{prefix}/talleres/{w}/materiales"),
                            ("POST", f"{prefix}/talleres/materiales/{mat}/eliminar")):
            resp = client.open(url, method=method, data={**FORM, "reason": "x", "m-title": "x",
                                                          "m-url": "https://x.org"})
            assert resp.status_code == code, (url, method)
    with tenant_context(get_tenant(app, "edomex")):
        [row] = db.session.scalars(select(Workshop)).all()
        assert (row.title, row.version, len(row.materials)) == ("Taller exclusivo edomex", 1, 1)
    assert client.get(f"/puebla/cocreacion/talleres/{w}").status_code == 404
    listing = client.get(f"/puebla/cocreacion/{pid_puebla}/talleres").get_data(as_text=True)
    assert "Taller exclusivo puebla" in listing and "exclusivo edomex" not in listing


def test_retraction_with_a_reason(app, client, login_as, make_process):
    pid = make_process("edomex")
    rec = make_call_records(app, "edomex", pid)
    login_as("editor", "edomex")
    url = f"/edomex/admin/cocreacion/talleres/{rec['workshop_id']}/retirar"
    client.post(url, data={"reason": ""})
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.get(Workshop, rec["workshop_id"]).status == "published"
    assert client.post(url, data={"reason": "Se canceló por lluvia"}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.get(Workshop, rec["workshop_id"]).status == "retracted"
        pub = db.session.scalars(select(Publication).where(Publication.content_type == "cocreation_workshop",
                                                           Publication.action == "retract")).one()
        assert pub.reason == "Se canceló por lluvia"
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/talleres/{rec['workshop_id']}").get_data(as_text=True)
    assert "Este taller fue retirado." in html
    assert client.get(f"/edomex/cocreacion/talleres/{rec['workshop_id']}.ics").status_code == 404
    assert "Taller exclusivo" not in client.get(f"/edomex/cocreacion/{pid}/calendario.ics").get_data(as_text=True)
