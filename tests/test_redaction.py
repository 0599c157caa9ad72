"""Accountable redaction (issue 14, item 6): a published version's text and files disappear from
every public surface, a tombstone gives the legal basis, the files' bytes are deleted, the notary
log still audits and its verify page says "redactado"; only the admin and privacy roles may
redact; bad input changes nothing; tenants stay apart."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Attachment, AuditEvent, Page, Publication, SubscriptionItem
from comun_cms.tenancy import tenant_context
from comun_cms.uploads import store_upload, stored_path
from plugins.notary.audit import audit_tenant

PHONE = "55 1234 5678"
PDF = (b"%PDF-1.4\n1 0 obj<<>>endobj\n% Telefono particular: " + PHONE.encode() + b"\ntrailer<<>>\n%%EOF\n")
BASIS = "Art. 116 de la Ley General de Transparencia y Acceso a la Información Pública: dato personal."


def tenant_of(app, slug="edomex"):
    return app.extensions["comun"].tenants[slug]


def page_with_phone(app, slug="directorio", tenant="edomex"):
    """A published page whose body and attached PDF carry a personal phone number; then a
    correction (version 2) that keeps both. Returns ``(page_id, attachment_id, sha256)``."""
    with tenant_context(tenant_of(app, tenant)):
        page = Page(slug=slug, title="Directorio de enlaces", body=f"Llame al enlace al {PHONE}.",
                    summary="Enlaces de la Secretaría")
        db.session.add(page)
        db.session.flush()
        att = store_upload(FileStorage(io.BytesIO(PDF), filename="directorio.pdf"), owner_type="page",
                           owner_id=str(page.id), title="Directorio en PDF")
        db.session.commit()
        publishing.publish(page)
        page.summary = "Enlaces de la Secretaría Ejecutiva"
        publishing.correct(page, reason="Resumen más claro")
        return page.id, att.id, att.sha256


def public_urls(page_id, att_id, slug="directorio"):
    """Every route that serves the page, its versions or its file, and the lists it was in."""
    return [
        f"/edomex/p/{slug}", "/edomex/", "/", "/edomex/seccion/links",
        f"/edomex/archivos/{att_id}/directorio.pdf", f"/edomex/archivos/{att_id}/miniatura",
        f"/edomex/historial/page/{page_id}", f"/edomex/historial/page/{page_id}?a=1&b=2",
        f"/edomex/historial/page/{page_id}/v1.json", f"/edomex/historial/page/{page_id}/v2.json",
        f"/edomex/historial/page/{page_id}/v3.json",
        "/buscar?q=enlace", "/edomex/buscar?q=enlace", "/api/v1/search?q=enlace",
        f"/api/v1/edomex/records/page/{page_id}", f"/api/v1/edomex/records/page/{page_id}/versions",
        "/api/v1/records", "/api/v1/edomex/records", "/api/v1/records.json", "/api/v1/edomex/records.csv",
        "/api/v1/edomex/changes", "/api/v1/changes",
        "/edomex/feed.atom", "/edomex/feed/page.atom", "/feed.atom",
        "/edomex/datos/data.json", "/datos/data.json",
    ]


def assert_nothing_left(client, urls):
    for url in urls:
        response = client.get(url)
        body = response.get_data()
        assert PHONE.encode() not in body, url
        assert b"Llame al enlace" not in body, url
        assert PDF not in body, url


def test_a_page_with_a_phone_in_its_attachment_is_redacted_the_file_answers_410_and_the_log_audits(app, client):
    """The issue's "Done when": redaction of the whole record."""
    page_id, att_id, sha = page_with_phone(app)
    assert client.get(f"/edomex/archivos/{att_id}/directorio.pdf").data == PDF
    assert PHONE in client.get("/edomex/p/directorio").get_data(as_text=True)
    assert "directorio" in client.get("/edomex/buscar?q=enlace").get_data(as_text=True)
    with tenant_context(tenant_of(app)):
        assert stored_path("edomex", sha).exists()
        page = db.session.get(Page, page_id)
        hashes = [p.sha256 for p in publishing.history("page", page_id)]
        pub = publishing.redact(page, legal_basis=BASIS, scope="record")
        assert (pub.action, pub.version, pub.reason) == ("redact", 3, BASIS)
        assert not stored_path("edomex", sha).exists()  # the bytes are gone, not only hidden
        report = audit_tenant(tenant_of(app))
        assert report.ok, report.faults
        assert report.redacted == 2  # versions 1 and 2: hash kept, content gone
        versions = publishing.history("page", page_id)
        assert [p.sha256 for p in versions[:2]] == hashes
        assert all(json.loads(p.canonical_json)["content"] is None for p in versions)

    assert client.get(f"/edomex/archivos/{att_id}/directorio.pdf").status_code == 410
    assert client.get(f"/edomex/archivos/{att_id}/miniatura").status_code == 410
    tombstone = client.get("/edomex/p/directorio")
    assert tombstone.status_code == 410
    text = tombstone.get_data(as_text=True)
    assert "Redacted" in text and BASIS in text and 'data-tombstone="redacted"' in text
    assert client.get(f"/edomex/historial/page/{page_id}/v1.json").status_code == 410
    gone = json.loads(client.get(f"/edomex/historial/page/{page_id}/v2.json").data)
    assert gone["content"] is None and gone["redacted"]["legal_basis"] == BASIS
    api = client.get(f"/api/v1/edomex/records/page/{page_id}")
    assert api.status_code == 410 and api.json["error"]["code"] == "redacted"
    assert_nothing_left(client, public_urls(page_id, att_id))


def test_the_verify_page_says_redacted_instead_of_no_match(app, client):
    page_id, att_id, sha = page_with_phone(app)
    with tenant_context(tenant_of(app)):
        v1 = publishing.history("page", page_id)[0]
        content_sha = v1.sha256
        publishing.redact(db.session.get(Page, page_id), legal_basis=BASIS, scope="record")
    for digest in (content_sha, sha):
        html = client.get(f"/edomex/notary/verificar?sha256={digest}").get_data(as_text=True)
        assert 'data-verdict="redacted"' in html, digest
        assert 'data-verdict="mismatch"' not in html and BASIS in html
        assert PHONE not in html


def test_one_earlier_version_is_redacted_and_the_current_content_stays(app, client):
    with tenant_context(tenant_of(app)):
        page = Page(slug="aviso", title="Aviso", body=f"Contacto: {PHONE}")
        publishing.publish(page)
        page.body = "Contacto: escriba a la Secretaría."
        publishing.correct(page, reason="Se quitó un dato personal")
        with pytest.raises(publishing.PublishError, match="current content"):
            publishing.redact(page, legal_basis=BASIS, scope="version", version=2)
        pub = publishing.redact(page, legal_basis=BASIS, scope="version", version=1)
        assert pub.redacted_at is None and page.status == "published"
        assert json.loads(pub.canonical_json)["content"]["body"] == "Contacto: escriba a la Secretaría."
        assert audit_tenant(tenant_of(app)).ok
        page_id = page.id
    assert client.get("/edomex/p/aviso").status_code == 200
    assert "escriba a la Secretaría" in client.get("/edomex/p/aviso").get_data(as_text=True)
    assert client.get(f"/edomex/historial/page/{page_id}/v1.json").status_code == 410
    assert client.get(f"/api/v1/edomex/records/page/{page_id}").status_code == 200
    for url in (f"/edomex/historial/page/{page_id}", f"/edomex/historial/page/{page_id}?a=1&b=3",
                f"/api/v1/edomex/records/page/{page_id}/versions", "/edomex/feed.atom"):
        assert PHONE not in client.get(url).get_data(as_text=True), url


def test_no_legal_basis_is_refused_with_a_clear_message_and_nothing_changes(app, client, login_as):
    page_id, att_id, sha = page_with_phone(app)
    login_as("admin")
    with tenant_context(tenant_of(app)):
        before = db.session.scalar(select(func.count()).select_from(Publication))
    response = client.post(f"/edomex/admin/redactar/page/{page_id}", data={"legal_basis": "  ", "scope": "record"})
    assert response.status_code == 422
    assert "State the legal basis of the redaction" in response.get_data(as_text=True)
    response = client.post(f"/edomex/admin/redactar/page/{page_id}", data={"legal_basis": BASIS, "scope": "version"})
    assert response.status_code == 422 and "Choose the version to redact" in response.get_data(as_text=True)
    with tenant_context(tenant_of(app)):
        assert db.session.scalar(select(func.count()).select_from(Publication)) == before
        assert db.session.get(Attachment, att_id).redacted_at is None
        assert stored_path("edomex", sha).exists()
        with pytest.raises(publishing.PublishError, match="Legal basis"):
            publishing.redact(db.session.get(Page, page_id), legal_basis="", scope="record")
        with pytest.raises(publishing.PublishError, match="Scope"):
            publishing.redact(db.session.get(Page, page_id), legal_basis=BASIS, scope="todo")
        assert db.session.scalar(select(func.count()).select_from(Publication)) == before
    assert client.get(f"/edomex/archivos/{att_id}/directorio.pdf").status_code == 200


@pytest.mark.parametrize("role,allowed", [("admin", True), ("privacy", True), ("editor", False),
                                          ("evaluator", False), ("trainer", False)])
def test_only_the_privacy_and_admin_roles_may_redact(app, client, login_as, role, allowed):
    page_id, att_id, _sha = page_with_phone(app)
    login_as(role)
    form = client.get(f"/edomex/admin/redactar/page/{page_id}")
    response = client.post(f"/edomex/admin/redactar/page/{page_id}", data={"legal_basis": BASIS, "scope": "record"})
    if allowed:
        assert form.status_code == 200 and "Legal basis" in form.get_data(as_text=True)
        assert response.status_code == 303
        assert client.get(f"/edomex/archivos/{att_id}/directorio.pdf").status_code == 410
        with tenant_context(tenant_of(app)):
            event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "page.redact"))
            assert event.after["legal_basis"] == BASIS and event.after["versions"] == [1, 2]
            assert PHONE not in json.dumps([e.before for e in db.session.scalars(select(AuditEvent))]
                                           + [e.after for e in db.session.scalars(select(AuditEvent))])
        log = client.get("/edomex/admin/auditoria").get_data(as_text=True)
        assert 'data-action="page.redact"' in log and PHONE not in log
        listed = client.get("/edomex/admin/redacciones").get_data(as_text=True)
        assert BASIS in listed and "Directorio de enlaces" in listed
    else:
        assert form.status_code == 403 and response.status_code == 403
        assert client.get("/edomex/admin/redacciones").status_code == 403
        assert client.get(f"/edomex/archivos/{att_id}/directorio.pdf").status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    page_id, _att, _sha = page_with_phone(app)
    response = client.post(f"/edomex/admin/redactar/page/{page_id}", data={"legal_basis": BASIS, "scope": "record"})
    assert response.status_code in (302, 303) and "/auth/" in response.headers["Location"]


def test_tenant_isolation(app, client, login_as):
    """A privacy officer of Puebla cannot redact (nor see the form of) an Estado de México record,
    through Puebla's admin or Estado de México's."""
    page_id, att_id, _sha = page_with_phone(app)
    login_as("privacy", tenant="puebla")
    assert client.get(f"/puebla/admin/redactar/page/{page_id}").status_code == 404
    assert client.post(f"/puebla/admin/redactar/page/{page_id}",
                       data={"legal_basis": BASIS, "scope": "record"}).status_code == 404
    assert client.post(f"/edomex/admin/redactar/page/{page_id}",
                       data={"legal_basis": BASIS, "scope": "record"}).status_code == 403
    assert client.get(f"/edomex/archivos/{att_id}/directorio.pdf").status_code == 200
    with tenant_context(tenant_of(app, "puebla")):
        page = Page(slug="x", title="X", body="y")
        publishing.publish(page)
        with tenant_context(tenant_of(app)):
            with pytest.raises(Exception):
                publishing.redact(page, legal_basis=BASIS)


def test_pending_digest_items_of_redacted_versions_are_dropped(app, client):
    from comun_cms.models import Subscription
    with tenant_context(tenant_of(app)):
        sub = Subscription(email="persona@example.mx", target="tenant", status="active", nonce="n", frequency="daily")
        db.session.add(sub)
        db.session.commit()
    page_id, _att, _sha = page_with_phone(app)
    with tenant_context(tenant_of(app)):
        pubs = publishing.history("page", page_id)
        assert db.session.scalar(select(func.count()).select_from(SubscriptionItem)) == 2
        pub = publishing.redact(db.session.get(Page, page_id), legal_basis=BASIS)
        items = db.session.scalars(select(SubscriptionItem.publication_id)).all()
        assert items == [pub.id] and not {p.id for p in pubs} & set(items)


def test_a_file_shared_with_another_record_keeps_its_bytes(app, client):
    page_id, att_id, sha = page_with_phone(app)
    with tenant_context(tenant_of(app)):
        other = Page(slug="otra", title="Otra", body="Otra página")
        db.session.add(other)
        db.session.flush()
        copy = store_upload(FileStorage(io.BytesIO(PDF), filename="copia.pdf"), owner_type="page",
                            owner_id=str(other.id))
        db.session.commit()
        publishing.publish(other)
        publishing.redact(db.session.get(Page, page_id), legal_basis=BASIS)
        assert stored_path("edomex", sha).exists() and hashlib.sha256(PDF).hexdigest() == sha
        copy_id = copy.id
    assert client.get(f"/edomex/archivos/{att_id}/directorio.pdf").status_code == 410
    assert client.get(f"/edomex/archivos/{copy_id}/copia.pdf").status_code == 200


def test_the_admin_offers_redactar_and_redacts_one_version_through_the_form(app, client, login_as):
    page_id, att_id, _sha = page_with_phone(app)
    with tenant_context(tenant_of(app)):
        page = db.session.get(Page, page_id)
        page.body = "Escriba a la Secretaría."
        db.session.execute(select(Attachment).where(Attachment.id == att_id)).scalar_one().owner_id = "0"
        publishing.correct(page, reason="Se quitó el teléfono y el directorio")
    login_as("admin")
    edit = client.get(f"/edomex/admin/paginas/{page_id}").get_data(as_text=True)
    assert f"/edomex/admin/redactar/page/{page_id}" in edit
    history_page = client.get(f"/edomex/historial/page/{page_id}").get_data(as_text=True)
    assert f"/edomex/admin/redactar/page/{page_id}" in history_page
    form = client.get(f"/edomex/admin/redactar/page/{page_id}").get_data(as_text=True)
    assert '<option value="1">' in form and '<option value="3">' not in form  # the current one is not offered
    response = client.post(f"/edomex/admin/redactar/page/{page_id}",
                           data={"legal_basis": BASIS, "scope": "version", "version": "1"})
    assert response.status_code == 303
    client.get("/edomex/admin/")  # a new request: anonymous again below
    with client.session_transaction() as sess:
        sess.clear()
    assert client.get("/edomex/p/directorio").status_code == 200
    assert client.get(f"/edomex/historial/page/{page_id}/v1.json").status_code == 410
    assert client.get(f"/edomex/historial/page/{page_id}/v2.json").status_code == 200
    assert client.get(f"/edomex/archivos/{att_id}/directorio.pdf").status_code == 410
    with tenant_context(tenant_of(app)):
        assert audit_tenant(tenant_of(app)).ok
