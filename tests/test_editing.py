"""The one mechanism of every admin editor (comun_cms.editing, ``admin/_editing.html``,
``js/editing.js``): the live Markdown preview endpoint (permissions, tenant isolation, CSRF, bad
input), the "Preview" button that never stores, the JSON answer of an automatic save, and every
Markdown textarea of the editors being a MarkdownField (so it gets the preview)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from comun_cms.editing import MarkdownField
from comun_cms.extensions import db
from comun_cms.models import AuditEvent, Page
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant

PREVIEW = "/edomex/admin/vista-previa"


@pytest.fixture
def english(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def test_preview_renders_with_the_public_sanitizer_and_stores_nothing(app, client, login_as):
    login_as("editor")
    events = _count(app, AuditEvent)
    response = client.post(PREVIEW, data={"text": "# Título\n\n**firme** <script>alert(1)</script> [x](javascript:alert(1))"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<h2>Título</h2>" in html and "<strong>firme</strong>" in html  # headings shifted, as on the public page
    assert "&lt;script&gt;" in html and "<script" not in html and "href=\"javascript" not in html
    assert client.post(PREVIEW, data={}).get_data(as_text=True) == ""  # no text: nothing to render
    assert _count(app, AuditEvent) == events


@pytest.mark.parametrize("role, status", [("editor", 200), ("admin", 200), ("evaluator", 200), ("trainer", 200)])
def test_preview_is_for_the_staff_of_the_tenant(app, client, login_as, role, status):
    login_as(role)
    assert client.post(PREVIEW, data={"text": "*x*"}).status_code == status


def test_preview_refuses_strangers_and_other_tenants(app, client, login_as):
    anonymous = client.post(PREVIEW, data={"text": "x"})
    assert anonymous.status_code == 302 and "/auth/" in anonymous.headers["Location"]
    login_as("editor", tenant="puebla")
    assert client.post(PREVIEW, data={"text": "x"}).status_code == 403  # an editor of Puebla in Estado de México
    assert client.post("/puebla/admin/vista-previa", data={"text": "x"}).status_code == 200
    assert client.get("/puebla/admin/vista-previa").status_code == 405


def test_preview_refuses_control_characters_naming_the_field(app, client, login_as, english):
    login_as("editor")
    response = client.post(PREVIEW, data={"text": "hola\x00"})
    assert response.status_code == 400 and "The field “Text” contains characters" in response.get_data(as_text=True)


class TestWithCSRF:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def _token(self, client, path):
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html)

    def test_preview_and_autosave_need_the_token(self, app, client, login_as):
        login_as("editor")
        page_id = _page(app)
        assert client.post(PREVIEW, data={"text": "x"}).status_code == 400
        # an automatic save refused before the view (expired token) answers JSON the script shows
        refused = client.post(f"/edomex/admin/paginas/{page_id}", data={"title": "Nuevo", "autosave": "1"},
                              headers={"Accept": "application/json"})
        assert refused.status_code == 400 and refused.json["ok"] is False and refused.json["message"]
        match = self._token(client, f"/edomex/admin/paginas/{page_id}")
        token = match.group(1) or match.group(2)
        assert client.post(PREVIEW, data={"text": "*x*", "csrf_token": token}).get_data(as_text=True).strip() \
            == "<p><em>x</em></p>"
        saved = client.post(f"/edomex/admin/paginas/{page_id}",
                            data={"title": "Nuevo", "body": "b", "language": "es", "section": "", "csrf_token": token,
                                  "autosave": "1"}, headers={"Accept": "application/json"})
        assert saved.status_code == 200 and saved.json["ok"] is True, saved.json


def test_preview_button_of_the_page_editor_stores_nothing(app, client, login_as, english):
    login_as("editor")
    page_id = _page(app)
    response = client.post(f"/edomex/admin/paginas/{page_id}",
                           data={"title": "Otro", "body": "*nuevo*", "language": "es", "section": "", "preview": "body"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<em>nuevo</em>" in html
    # the form says nothing was saved and counts as unsaved (the script warns and autosaves it)
    assert "This is a preview: nothing has been saved yet." in html and "data-autosave data-unsaved" in html
    assert "data-unsaved" not in client.get(f"/edomex/admin/paginas/{page_id}").get_data(as_text=True)
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(Page.title).where(Page.id == page_id)) == "Borrador"


def test_autosave_answers_the_problems_by_field(app, client, login_as, english):
    login_as("editor")
    page_id = _page(app)
    bad = client.post(f"/edomex/admin/paginas/{page_id}", data={"title": "", "body": "x", "language": "es", "section": "",
                                                                 "autosave": "1"})
    assert bad.status_code == 422 and bad.json["ok"] is False
    assert bad.json["message"] == "Not saved automatically: check the form."
    assert any(e.startswith("Title:") for e in bad.json["errors"])
    good = client.post(f"/edomex/admin/paginas/{page_id}", data={"title": "Bien", "body": "x", "language": "es", "section": "",
                                                                  "autosave": "1"})
    assert good.json["ok"] is True and re.fullmatch(r"Saved automatically at \d\d:\d\d\.", good.json["message"])
    login_as("editor", tenant="puebla")
    assert client.post(f"/puebla/admin/paginas/{page_id}", data={"title": "Robado", "autosave": "1"}).status_code == 404


def test_the_editor_form_carries_the_autosave_and_warning_hooks(app, client, login_as, english):
    login_as("editor")
    page_id = _page(app)
    html = client.get(f"/edomex/admin/paginas/{page_id}").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/edomex/admin/paginas/\d+" class="form" novalidate data-editor '
                     r'data-autosave>', html)
    assert 'data-editor-status' in html and 'data-failed="Not saved automatically' in html
    assert 'data-md-editor' in html and 'name="preview" value="body"' in html
    new = client.get("/edomex/admin/paginas/nueva").get_data(as_text=True)
    assert "data-editor" in new and "data-autosave" not in new  # a new record is never created automatically


MARKDOWN_FIELDS = [
    ("comun_cms.forms", "PageForm", "body"),
    ("plugins.action_plans.forms", "PlanForm", "notes"),
    ("plugins.action_plans.forms", "CommitmentForm", "notes"),
    ("plugins.action_plans.forms", "ReportForm", "narrative"),
    ("plugins.stl_minutes.forms", "SessionForm", "summary"),
    ("plugins.stl_minutes.forms", "AgendaItemForm", "description"),
    ("plugins.stl_minutes.forms", "BodyForm", "description"),
    ("plugins.stl_minutes.forms", "AddendumForm", "text"),
    ("plugins.criteria.forms", "RecommendationForm", "body"),
    ("plugins.criteria.forms", "CycleForm", "methodology"),
    ("plugins.criteria.forms", "FrameworkImportForm", "description"),
]


@pytest.mark.parametrize("module, form, name", MARKDOWN_FIELDS)
def test_every_text_published_as_markdown_is_a_markdown_field(module, form, name):
    """Each of these texts is shown with ``|markdown`` on a public page, so its editor offers the
    preview (the field macro renders a MarkdownField with it)."""
    import importlib
    unbound = getattr(getattr(importlib.import_module(module), form), name)
    assert unbound.field_class is MarkdownField or issubclass(unbound.field_class, MarkdownField)


def _count(app, model) -> int:
    with tenant_context(get_tenant(app, "edomex")):
        return db.session.scalar(select(func.count()).select_from(model))


def _page(app) -> int:
    with tenant_context(get_tenant(app, "edomex")):
        page = Page(title="Borrador", slug="borrador", body="Texto.", language="es")
        db.session.add(page)
        db.session.commit()
        return page.id
