"""Issue 15, defect 8: the portal's verify page searches every state's log, and a state's verify
page that does not find a SHA-256 in its own log says which other state published it instead
of suggesting that the file was changed."""
from __future__ import annotations

import hashlib
import io

import pytest

from comun_cms.toolkit import Attachment, Page, db, publish, tenant_context
from comun_cms.toolkit.testing import get_tenant
from plugins.notary import services


@pytest.fixture
def edomex_pub(publish_page):
    return publish_page("compartido", tenant="edomex", body="Documento del Estado de México.")[1]


def test_find_in_logs_names_the_states(app, publish_page, edomex_pub):
    hidalgo_pub = publish_page("propio", tenant="hidalgo", body="Documento de Hidalgo.")[1]
    hits = services.find_in_logs(edomex_pub.sha256)
    assert [h.tenant.slug for h in hits] == ["edomex"]
    assert hits[0].kinds == frozenset({"content"}) and len(hits[0].entries) == 1
    assert services.find_in_logs(edomex_pub.sha256, exclude="edomex") == []
    assert [h.tenant.slug for h in services.find_in_logs(hidalgo_pub.sha256)] == ["hidalgo"]
    assert services.find_in_logs("0" * 64) == []


def test_find_in_logs_never_reads_training_tenants(app, publish_page):
    training = next(t for t in app.extensions["comun"].tenants.values() if t.training and t.enables("notary"))
    pub = publish_page("taller", tenant=training.slug, body="Material del taller.")[1]
    with tenant_context(get_tenant(app, "edomex")):
        assert services.find_in_logs(pub.sha256) == []


def test_portal_home_links_the_verify_page(client):
    html = client.get("/").get_data(as_text=True)
    assert 'action="/verificar/"' in html or 'action="/verificar"' in html


def test_portal_verify_page_finds_the_state(client, edomex_pub):
    r = client.get(f"/verificar?sha256={edomex_pub.sha256}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-found="edomex"' in html
    assert f"/edomex/notary/verificar?sha256={edomex_pub.sha256}" in html
    r = client.get("/verificar?sha256=" + "a" * 64)
    assert r.status_code == 200 and 'data-found=""' in r.get_data(as_text=True)
    r = client.get("/verificar?sha256=xyz")
    assert r.status_code == 400 and "SHA-256: enter 64 hexadecimal characters" in r.get_data(as_text=True)
    assert client.get("/verificar").status_code == 200


def test_portal_verify_page_hashes_an_uploaded_file_without_javascript(app, client, publish_page):
    data = b"%PDF-1.4 acta firmada"
    with tenant_context(get_tenant(app, "puebla")):
        page = Page(slug="con-archivo", title="Con archivo", body="Acta.")
        db.session.add(page)
        db.session.flush()
        db.session.add(Attachment(owner_type="page", owner_id=str(page.id), filename="acta.pdf",
                                  mimetype="application/pdf", kind="pdf", size=len(data),
                                  sha256=hashlib.sha256(data).hexdigest()))
        publish(page)
    r = client.post("/verificar", data={"file": (io.BytesIO(data), "acta.pdf")}, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and hashlib.sha256(data).hexdigest() in html
    assert 'data-found="puebla"' in html and "acta.pdf" in html


def test_state_page_says_where_else_it_was_found(client, edomex_pub):
    html = client.get(f"/hidalgo/notary/verificar?sha256={edomex_pub.sha256}").get_data(as_text=True)
    assert 'data-verdict="elsewhere"' in html and 'data-found="edomex"' in html
    assert "changed after publication" not in html
    assert f"/edomex/notary/verificar?sha256={edomex_pub.sha256}" in html
    html = client.get("/hidalgo/notary/verificar?sha256=" + "1" * 64).get_data(as_text=True)
    assert 'data-verdict="mismatch"' in html
    html = client.get(f"/edomex/notary/verificar?sha256={edomex_pub.sha256}").get_data(as_text=True)
    assert 'data-verdict="match"' in html and 'data-verdict="elsewhere"' not in html
