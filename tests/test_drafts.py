"""Editing that forgives (``comun_cms.drafts`` and the page editor): a published page is edited
as a draft of the next version, previewed, compared with the published version and published with
"Publicar cambios" as one correction."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from comun_cms import drafts, publishing
from comun_cms.extensions import db
from comun_cms.models import AuditEvent, Draft, Page, Publication
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant
from plugins.notary.models import Entry

FORM = {"title": "Informe anual", "slug": "informe-anual", "summary": "Resumen.", "body": "El plan tiene 12 metas.",
        "section": "links", "language": "es", "source": "Acta"}


@pytest.fixture
def english(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def published_page(app, tenant="edomex") -> int:
    with tenant_context(get_tenant(app, tenant)):
        page = Page(**{k: v for k, v in FORM.items()})
        db.session.add(page)
        db.session.commit()
        publishing.publish(page)
        return page.id


def count(app, model, *where, tenant="edomex") -> int:
    db.session.expire_all()
    with tenant_context(get_tenant(app, tenant)):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def load(app, page_id, tenant="edomex") -> Page:
    db.session.expire_all()
    with tenant_context(get_tenant(app, tenant)):
        return db.session.scalar(select(Page).where(Page.id == page_id))


def test_public_page_is_unchanged_until_publish_changes(app, client, login_as, english):
    page_id = published_page(app)
    edit = f"/edomex/admin/paginas/{page_id}"
    login_as("editor")
    leaves = count(app, Entry)
    assert client.post(edit, data={**FORM, "body": "El plan tiene 15 metas."}).status_code == 303

    # the public, the API and the record keep version 1
    client.get("/auth/logout")
    public = client.get("/edomex/p/informe-anual").get_data(as_text=True)
    assert "12 metas" in public and "15 metas" not in public
    page = load(app, page_id)
    assert (page.body, page.version) == ("El plan tiene 12 metas.", 1)
    assert count(app, Publication) == 1 and count(app, Draft) == 1

    # the editor shows the draft's text and the diff against the published version
    login_as("editor")
    assert "Unpublished changes" in client.get("/edomex/admin/paginas").get_data(as_text=True)
    html = client.get(edit).get_data(as_text=True)
    assert "El plan tiene 15 metas.</textarea>" in html
    assert "Unpublished changes" in html and "<h4 id=\"change-body\">Text</h4>" in html
    assert '<del><span class="visually-hidden">[removed:] </span>12 </del>' in html
    assert '<ins><span class="visually-hidden">[added:] </span>15 </ins>' in html

    # "Publicar cambios": one correction, one notary leaf, draft gone, public updated
    response = client.post(f"{edit}/publicar-cambios", data={"changes-reason": "Se corrige el número de metas"})
    assert response.status_code == 303
    page = load(app, page_id)
    assert (page.body, page.version, page.status) == ("El plan tiene 15 metas.", 2, "published")
    with tenant_context(get_tenant(app, "edomex")):
        [v1, v2] = publishing.history("page", page_id)
    assert (v2.action, v2.reason, v2.previous_id) == ("correct", "Se corrige el número de metas", v1.id)
    assert count(app, Entry) == leaves + 1  # one leaf: the correction
    assert count(app, Entry, Entry.action == "correct") == 1
    assert count(app, Draft) == 0
    assert count(app, AuditEvent, AuditEvent.action == "page.correct") == 1
    assert "15 metas" in client.get("/edomex/p/informe-anual").get_data(as_text=True)
    # nothing left to publish
    again = client.post(f"{edit}/publicar-cambios", data={"changes-reason": "Otra vez"}, follow_redirects=True)
    assert "There are no unpublished changes" in again.get_data(as_text=True)
    assert count(app, Publication) == 2


def test_several_saves_make_one_draft_and_one_correction(app, client, login_as):
    page_id = published_page(app)
    edit = f"/edomex/admin/paginas/{page_id}"
    login_as("editor")
    for body in ("Uno.", "Dos.", "Tres."):
        assert client.post(edit, data={**FORM, "body": body}).status_code == 303
    assert count(app, Draft) == 1
    assert client.post(f"{edit}/publicar-cambios", data={"changes-reason": "Texto nuevo"}).status_code == 303
    assert count(app, Publication, Publication.action == "correct") == 1
    assert load(app, page_id).body == "Tres."


def test_saving_the_published_values_drops_the_draft_and_discard_keeps_version(app, client, login_as, english):
    page_id = published_page(app)
    edit = f"/edomex/admin/paginas/{page_id}"
    login_as("editor")
    client.post(edit, data={**FORM, "title": "Otro título"})
    assert count(app, Draft) == 1
    client.post(edit, data=FORM)  # back to the published values: no draft
    assert count(app, Draft) == 0

    client.post(edit, data={**FORM, "title": "Otro título"})
    assert client.post(f"{edit}/descartar-cambios").status_code == 303
    assert count(app, Draft) == 0 and load(app, page_id).title == "Informe anual"
    assert count(app, AuditEvent, AuditEvent.action == "page.draft_discard") == 1
    assert count(app, Publication) == 1


def test_a_taken_address_is_refused_when_saving_and_when_publishing(app, client, login_as, english):
    page_id = published_page(app)
    with tenant_context(get_tenant(app, "edomex")):
        db.session.add(Page(title="Otra", slug="otra"))
        db.session.commit()
    edit = f"/edomex/admin/paginas/{page_id}"
    login_as("editor")
    response = client.post(edit, data={**FORM, "slug": "otra"})
    assert response.status_code == 422 and "already uses the address" in response.get_data(as_text=True)
    assert count(app, Draft) == 0

    # the address was free when the draft was saved and taken before publishing
    assert client.post(edit, data={**FORM, "slug": "nueva"}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        db.session.add(Page(title="Nueva", slug="nueva"))
        db.session.commit()
    response = client.post(f"{edit}/publicar-cambios", data={"changes-reason": "Nueva dirección"})
    assert response.status_code == 422 and "Another page already uses this address" in response.get_data(as_text=True)
    page = load(app, page_id)
    assert (page.slug, page.version) == ("informe-anual", 1)
    assert count(app, Draft) == 1 and count(app, Publication) == 1


def test_preview_renders_markdown_escaped_and_stores_nothing(app, client, login_as, english):
    page_id = published_page(app)
    edit = f"/edomex/admin/paginas/{page_id}"
    login_as("editor")
    body = "Texto **importante** <script>alert(1)</script> [x](javascript:alert(2))"
    response = client.post(edit, data={**FORM, "body": body, "preview": "body"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    preview = html[html.index('id="body-preview"'):html.index("</section>", html.index('id="body-preview"'))]
    assert "<strong>importante</strong>" in preview
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview and "<script>alert" not in preview
    assert 'href="javascript' not in preview
    assert count(app, Draft) == 0 and load(app, page_id).body == FORM["body"]

    # the live preview endpoint (js/editing.js) renders the same
    fragment = client.post("/edomex/admin/vista-previa", data={"text": body}).get_data(as_text=True)
    assert "<strong>importante</strong>" in fragment and "<script>" not in fragment

    # the preview of a new page creates nothing
    assert client.post("/edomex/admin/paginas/nueva", data={**FORM, "slug": "nueva", "preview": "body"}).status_code == 200
    assert count(app, Page) == 1


def test_autosave_answers_json_and_saves_a_draft(app, client, login_as, english):
    page_id = published_page(app)
    edit = f"/edomex/admin/paginas/{page_id}"
    login_as("editor")
    response = client.post(edit, data={**FORM, "body": "Guardado solo.", "autosave": "1"})
    assert response.status_code == 200 and response.json["ok"] is True
    assert "Saved automatically at" in response.json["message"]
    assert count(app, Draft) == 1 and load(app, page_id).body == FORM["body"]

    bad = client.post(edit, data={**FORM, "title": "", "autosave": "1"})
    assert bad.status_code == 422 and bad.json["ok"] is False
    assert any(e.startswith("Title:") for e in bad.json["errors"])


def test_another_tenants_page_cannot_be_drafted_or_published(app, client, login_as):
    foreign = published_page(app, tenant="puebla")
    login_as("admin")
    for suffix in ("", "/publicar-cambios", "/descartar-cambios"):
        response = client.post(f"/edomex/admin/paginas/{foreign}{suffix}",
                               data={**FORM, "body": "Robado", "changes-reason": "x"})
        assert response.status_code == 404, suffix
    assert count(app, Draft, tenant="puebla") == 0 and load(app, foreign, tenant="puebla").version == 1


def test_text_diff_escapes_and_marks_words(app):
    with app.test_request_context():
        html = str(drafts.text_diff("a <b> c", "a <i> c"))
    assert "&lt;b&gt;" in html and "&lt;i&gt;" in html and "<b>" not in html
    assert html.startswith("a ") and html.endswith("c")


def test_diff_values_uses_labels_and_choice_words(app):
    with app.test_request_context():
        changes = drafts.diff_values({"section": "links", "title": "A"}, {"section": "about", "title": "A"},
                                     {"title": "Título", "section": "Sección"},
                                     {"section": {"links": "Enlaces", "about": "Acerca"}})
    assert [(c.field, c.label, c.old, c.new) for c in changes] == [("section", "Sección", "Enlaces", "Acerca")]
