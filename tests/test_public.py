"""Tenant public site: home, pages, sections, feedback forms, history, open data, API, language
switch and error pages (comun_cms/views/public.py, api.py, errors.py, templating.py)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time

import pytest
from sqlalchemy import func, select

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Feedback, Page
from comun_cms.tenancy import TenantIsolationError, tenant_context


# --------------------------------------------------------------------------- helpers
def tenant_of(app, slug="edomex"):
    return app.extensions["comun"].tenants[slug]


def make_page(app, slug, *, tenant="edomex", status="published", **fields) -> int:
    """Create a page in ``tenant`` (published, draft or retracted); returns its id."""
    fields.setdefault("title", slug.replace("-", " ").capitalize())
    fields.setdefault("body", f"Body of {slug}.")
    with tenant_context(tenant_of(app, tenant)):
        page = Page(slug=slug, **fields)
        db.session.add(page)
        db.session.commit()
        if status in ("published", "retracted"):
            publishing.publish(page)
        if status == "retracted":
            publishing.retract(page, reason="Published by mistake")
        return page.id


def correct_page(app, page_id, *, tenant="edomex", reason="Fix typo", **changes):
    with tenant_context(tenant_of(app, tenant)):
        page = db.session.scalar(select(Page).where(Page.id == page_id))
        for key, value in changes.items():
            setattr(page, key, value)
        return publishing.correct(page, reason=reason).version


def publications_of(app, page_id, tenant="edomex"):
    with tenant_context(tenant_of(app, tenant)):
        return [(p.version, p.canonical_json, p.sha256) for p in publishing.history("page", page_id)]


def feedback_count(app, tenant="edomex") -> int:
    with tenant_context(tenant_of(app, tenant)):
        return db.session.scalar(select(func.count()).select_from(Feedback))


def old_token(app, form="feedback", tenant="edomex", age=10):
    from comun_cms.views.public import make_form_token
    return make_form_token(form, tenant, time.time() - age)


def text(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- home and pages
def test_tenant_home_shows_secretariat_sections_and_latest_publications(app, client):
    make_page(app, "publicada", title="Minuta publicada")
    make_page(app, "borrador", title="Borrador secreto", status="draft")
    make_page(app, "ajena", title="Página de Hidalgo", tenant="hidalgo")
    response = client.get("/edomex/")
    assert response.status_code == 200
    html = text(response)
    assert "Secretaría Ejecutiva del Sistema Anticorrupción del Estado de México" in html
    for key in ("minutes", "commitments", "contact", "open_data", "links", "feedback", "join"):
        assert f'href="/edomex/seccion/{key}"' in html
    assert "Minuta publicada" in html
    assert "Borrador secreto" not in html
    assert "Página de Hidalgo" not in html


def test_published_page_renders_sanitized_markdown_source_and_history(app, client):
    page_id = make_page(app, "acerca", title="Acerca del STL", summary="Resumen",
                        body="## Objetivo\n\nTexto **fuerte** <script>alert(1)</script>",
                        source="https://example.org/documento.pdf\nTaller de cocreación, 2021", section="links")
    response = client.get("/edomex/p/acerca")
    assert response.status_code == 200
    html = text(response)
    assert "<h1 id=\"record-title\">Acerca del STL</h1>" in html
    assert "<strong>fuerte</strong>" in html and "<h3>Objetivo</h3>" in html
    assert "<script>alert(1)</script>" not in html
    assert 'href="https://example.org/documento.pdf"' in html and "Taller de cocreación, 2021" in html
    assert f'href="/edomex/historial/page/{page_id}"' in html
    assert 'href="/edomex/seccion/links"' in html  # breadcrumb to its section
    assert "Draft" not in html


def test_draft_page_is_hidden_from_anonymous_and_other_tenants_staff(app, client, login_as, make_user):
    make_page(app, "pendiente", title="Página pendiente", status="draft")
    assert client.get("/edomex/p/pendiente").status_code == 404
    login_as(make_user("editor@hidalgo.test", role="editor", tenant="hidalgo"))
    assert client.get("/edomex/p/pendiente").status_code == 404


def test_draft_page_shows_banner_to_staff(app, client, login_as):
    make_page(app, "pendiente", title="Página pendiente", status="draft")
    login_as("editor")
    response = client.get("/edomex/p/pendiente")
    assert response.status_code == 200
    assert "banner-draft" in text(response) and "Página pendiente" in text(response)
    assert "/historial/" not in text(response)  # drafts have no public history


def test_retracted_page_shows_tombstone_with_reason(app, client):
    page_id = make_page(app, "retirada", title="Página retirada", body="Contenido original", status="retracted")
    response = client.get("/edomex/p/retirada")
    assert response.status_code == 410
    html = text(response)
    assert "Página retirada" in html and "Published by mistake" in html
    assert "Contenido original" not in html
    assert f"/edomex/historial/page/{page_id}" in html


def test_page_of_another_tenant_is_not_found(app, client):
    make_page(app, "solo-hidalgo", tenant="hidalgo")
    assert client.get("/hidalgo/p/solo-hidalgo").status_code == 200
    assert client.get("/edomex/p/solo-hidalgo").status_code == 404
    assert client.get("/noexiste/p/solo-hidalgo").status_code == 404


def test_demo_pages_carry_the_demo_badge(app, client):
    make_page(app, "ejemplo", title="Ejemplo", is_demo=True, section="links")
    assert "badge-demo" in text(client.get("/edomex/p/ejemplo"))
    assert "badge-demo" in text(client.get("/edomex/seccion/links"))
    assert "badge-demo" in text(client.get("/edomex/"))


# --------------------------------------------------------------------------- sections
def test_section_lists_only_its_published_pages(app, client):
    make_page(app, "enlace", title="Enlace publicado", section="links")
    make_page(app, "enlace-borrador", title="Enlace en borrador", section="links", status="draft")
    make_page(app, "otra", title="Otra sección", section="minutes")
    make_page(app, "enlace-retirado", title="Enlace retirado", section="links", status="retracted")
    response = client.get("/edomex/seccion/links")
    assert response.status_code == 200
    html = text(response)
    assert "Links of interest" in html and "Enlace publicado" in html
    assert "Enlace en borrador" not in html and "Otra sección" not in html and "Enlace retirado" not in html


def test_unknown_section_is_404(client):
    assert client.get("/edomex/seccion/nada").status_code == 404


def test_contact_section_shows_contact_and_transparency_authority(client):
    html = text(client.get("/edomex/seccion/contact"))
    assert "Av. José María Morelos y Pavón Ote. 312" in html
    assert "INFOEM" in html and "Instituto de Transparencia" in html


def test_open_data_section_describes_datasets(app, client):
    make_page(app, "uno")
    make_page(app, "dos")
    make_page(app, "tres", status="draft")
    html = text(client.get("/edomex/seccion/open_data"))
    assert "/edomex/datos/pages.csv" in html and "/edomex/datos/pages.json" in html
    assert "CC BY 4.0" in html and "content_sha256" in html
    assert re.search(r"<dt>Records</dt><dd>2</dd>", html)


# --------------------------------------------------------------------------- feedback and join
def test_feedback_form_is_rendered_with_honeypot_and_token(client):
    html = text(client.get("/edomex/seccion/feedback"))
    assert 'action="/edomex/seccion/feedback"' in html
    assert 'name="website"' in html and 'class="hp"' in html
    assert 'name="issued"' in html
    for kind in ("question", "complaint", "suggestion"):
        assert f'value="{kind}"' in html


def test_feedback_success_stores_row_and_redirects(app, client):
    data = {"kind": "complaint", "subject": "Sin minutas", "message": "No encuentro la minuta 19.",
            "name": "Ana", "email": "Ana@Example.org", "issued": old_token(app)}
    response = client.post("/edomex/seccion/feedback", data=data)
    # the person lands on the request's private tracking page, which shows its folio
    assert response.status_code == 303 and "/edomex/seguimiento/" in response.headers["Location"]
    with tenant_context(tenant_of(app)):
        row = db.session.scalars(select(Feedback)).one()
        assert row.folio.startswith("EDOMEX-") and row.folio.split("-")[2] == "QJ"
        assert (row.kind, row.status, row.subject, row.email) == ("complaint", "new", "Sin minutas", "ana@example.org")
        assert row.ip_hash and "127.0.0.1" not in row.ip_hash
    page = client.get(response.headers["Location"])
    assert "Thank you" in text(page) and "flash-success" in text(page) and row.folio in text(page)
    assert feedback_count(app, "hidalgo") == 0


def test_feedback_honeypot_is_silently_dropped(app, client):
    data = {"kind": "question", "subject": "Oferta", "message": "spam", "website": "http://spam.example",
            "issued": old_token(app)}
    response = client.post("/edomex/seccion/feedback", data=data)
    assert response.status_code == 302
    assert feedback_count(app) == 0


def test_feedback_sent_too_fast_is_rejected(app, client):
    data = {"kind": "question", "subject": "Hola", "message": "Pregunta", "issued": old_token(app, age=0)}
    response = client.post("/edomex/seccion/feedback", data=data)
    assert response.status_code == 400
    assert "too quickly" in text(response)
    assert feedback_count(app) == 0


def test_feedback_with_expired_or_forged_token_is_rejected(app, client):
    for token in (old_token(app, age=3 * 3600), "forged", old_token(app, form="join"), old_token(app, tenant="hidalgo")):
        data = {"kind": "question", "subject": "Hola", "message": "Pregunta", "issued": token}
        assert client.post("/edomex/seccion/feedback", data=data).status_code == 400
    assert feedback_count(app) == 0


def test_feedback_missing_field_names_it(app, client):
    data = {"kind": "question", "subject": "", "message": "Pregunta", "email": "no-es-correo",
            "issued": old_token(app)}
    response = client.post("/edomex/seccion/feedback", data=data)
    assert response.status_code == 400
    html = text(response)
    assert 'href="#subject">Subject: This field is required.' in html
    assert 'href="#email">E-mail (optional, if you want an answer):' in html
    assert 'aria-invalid="true"' in html
    assert "Pregunta</textarea>" in html and 'value="no-es-correo"' in html  # input kept
    assert feedback_count(app) == 0


def test_feedback_errors_follow_the_users_language(app, client):
    client.get("/edomex/?lang=en")
    data = {"kind": "question", "subject": "", "message": "x", "issued": old_token(app)}
    html = text(client.post("/edomex/seccion/feedback", data=data))
    assert '<html lang="en">' in html and "Subject: This field is required." in html


def test_feedback_field_length_is_limited(app, client):
    data = {"kind": "question", "subject": "x" * 301, "message": "m", "issued": old_token(app)}
    response = client.post("/edomex/seccion/feedback", data=data)
    assert response.status_code == 400 and "at most 300 characters" in text(response)


def test_join_form_success_and_missing_email(app, client):
    html = text(client.get("/edomex/seccion/join"))
    assert 'action="/edomex/seccion/join"' in html and 'value="civil_society"' in html
    bad = client.post("/edomex/seccion/join", data={"name": "Luis", "email": "", "issued": old_token(app, "join")})
    assert bad.status_code == 400 and 'href="#email">E-mail:' in text(bad)
    data = {"name": "Luis", "email": "luis@example.org", "organization": "Colectivo X", "sector": "civil_society",
            "message": "Quiero participar", "issued": old_token(app, "join")}
    response = client.post("/edomex/seccion/join", data=data)
    assert response.status_code == 302
    with tenant_context(tenant_of(app)):
        row = db.session.scalars(select(Feedback)).one()
        assert (row.kind, row.sector, row.organization, row.status) == ("join", "civil_society", "Colectivo X", "new")


def test_join_rejects_unknown_sector(app, client):
    data = {"name": "Luis", "email": "luis@example.org", "sector": "mafia", "issued": old_token(app, "join")}
    assert client.post("/edomex/seccion/join", data=data).status_code == 400


class TestRateLimit:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True, "FEEDBACK_RATE_LIMIT": "2 per minute"}

    def test_feedback_is_rate_limited(self, app, client):
        data = {"kind": "question", "subject": "Hola", "message": "Pregunta", "issued": old_token(app)}
        assert client.post("/edomex/seccion/feedback", data=data).status_code == 303
        assert client.post("/edomex/seccion/feedback", data=data).status_code == 303
        response = client.post("/edomex/seccion/feedback", data=data)
        assert response.status_code == 429
        assert "Too many requests" in text(response) and "<main" in text(response)
        assert feedback_count(app) == 2
        assert client.get("/edomex/seccion/feedback").status_code == 200  # reading is not limited


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_feedback_without_csrf_token_is_400(self, app, client):
        assert 'name="csrf_token"' in text(client.get("/edomex/seccion/feedback"))
        data = {"kind": "question", "subject": "Hola", "message": "Pregunta", "issued": old_token(app)}
        response = client.post("/edomex/seccion/feedback", data=data)
        assert response.status_code == 400
        assert feedback_count(app) == 0


# --------------------------------------------------------------------------- history
def test_history_lists_versions_and_diffs_a_correction(app, client):
    page_id = make_page(app, "plan", title="Plan", body="El plan tiene tres ejes.")
    correct_page(app, page_id, body="El plan tiene cuatro ejes.", reason="Se agregó un eje")
    versions = publications_of(app, page_id)
    response = client.get(f"/edomex/historial/page/{page_id}")
    assert response.status_code == 200
    html = text(response)
    assert "Se agregó un eje" in html and "Corrected" in html and "Published" in html
    for _version, _doc, sha in versions:
        assert sha in html
    assert f"/edomex/historial/page/{page_id}/v1.json" in html and f"/edomex/historial/page/{page_id}/v2.json" in html
    assert 'href="/edomex/p/plan"' in html

    diff = text(client.get(f"/edomex/historial/page/{page_id}?a=1&b=2"))
    assert "<del>tres</del>" in diff and "<ins>cuatro</ins>" in diff
    assert 'data-field="body">Text<' in diff
    assert client.get(f"/edomex/historial/page/{page_id}?a=1&b=9").status_code == 404


def test_history_is_404_for_drafts_unknown_records_and_other_tenants(app, client):
    draft_id = make_page(app, "borrador", status="draft")
    other_id = make_page(app, "de-puebla", tenant="puebla")
    assert client.get(f"/edomex/historial/page/{draft_id}").status_code == 404
    assert client.get("/edomex/historial/page/9999").status_code == 404
    assert client.get(f"/edomex/historial/page/{other_id}").status_code == 404
    assert client.get(f"/puebla/historial/page/{other_id}").status_code == 200


def test_history_of_retracted_record_is_public(app, client):
    page_id = make_page(app, "retirada", status="retracted")
    html = text(client.get(f"/edomex/historial/page/{page_id}"))
    assert "Published by mistake" in html and "banner-retracted" in html
    assert 'href="/edomex/p/retirada"' not in html


def test_canonical_json_download_is_exact(app, client):
    page_id = make_page(app, "exacta", title="Exacta", body="Ñandú — «comillas»")
    correct_page(app, page_id, body="Otro texto")
    for version, document, sha in publications_of(app, page_id):
        response = client.get(f"/edomex/historial/page/{page_id}/v{version}.json")
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.data == document.encode("utf-8")
        assert hashlib.sha256(response.data).hexdigest() == sha
        assert response.headers["ETag"].strip('"') == sha
        assert json.loads(response.data)["version"] == version
    assert client.get(f"/edomex/historial/page/{page_id}/v3.json").status_code == 404


# --------------------------------------------------------------------------- open data
def test_open_data_csv_has_bom_and_only_published_pages(app, client):
    make_page(app, "uno", title="Uno")
    draft = make_page(app, "dos", title="Dos (borrador)", status="draft")
    make_page(app, "tres", title="Tres", status="retracted")
    make_page(app, "hgo", title="De Hidalgo", tenant="hidalgo")
    response = client.get("/edomex/datos/pages.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="edomex-pages.csv"' in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["title"] for r in rows] == ["Uno"]
    assert str(draft) not in [r["id"] for r in rows]
    (_v, _doc, sha), = publications_of(app, int(rows[0]["id"]))
    assert rows[0]["content_sha256"] == sha and rows[0]["version"] == "1"


def test_open_data_json_and_unknown_dataset(app, client):
    make_page(app, "uno", title="Uno")
    response = client.get("/edomex/datos/pages.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert 'filename="edomex-pages.json"' in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["dataset"] == "pages" and data["tenant"] == "edomex" and data["licence"] == "CC-BY-4.0"
    assert [r["title"] for r in data["records"]] == ["Uno"]
    assert client.get("/edomex/datos/nada.csv").status_code == 404
    assert client.get("/edomex/datos/pages.xml").status_code == 404


# --------------------------------------------------------------------------- API
def test_api_plugins_lists_core_everywhere(client):
    response = client.get("/api/plugins")
    assert response.status_code == 200 and response.is_json
    plugins = {p["name"]: p for p in response.get_json()}
    core = plugins["core"]
    assert set(core["enabled_tenants"]) == {"edomex", "hidalgo", "puebla"}
    assert "public_menu_items" in core["hooks"] and "open_datasets" in core["hooks"]
    assert core["version"]
    for plugin in plugins.values():
        assert set(plugin) == {"name", "version", "hooks", "enabled_tenants"}


# --------------------------------------------------------------------------- language
def test_language_switch_changes_html_lang(spanish, client):
    default = text(client.get("/edomex/"))
    assert '<html lang="es-MX">' in default
    assert 'href="/edomex/?lang=en"' in default
    english = text(client.get("/edomex/?lang=en"))
    assert '<html lang="en">' in english
    assert '<html lang="en">' in text(client.get("/edomex/seccion/contact"))  # remembered in the session
    assert '<html lang="es-MX">' in text(client.get("/edomex/?lang=es_MX"))


def test_language_switch_keeps_other_query_arguments(app, client):
    page_id = make_page(app, "plan")
    correct_page(app, page_id, body="Cambio")
    html = text(client.get(f"/edomex/historial/page/{page_id}?a=1&b=2"))
    assert f'href="/edomex/historial/page/{page_id}?a=1&amp;b=2&amp;lang=en"' in html


# --------------------------------------------------------------------------- errors
def test_404_pages_are_themed_per_tenant_and_json_under_api(client):
    portal = client.get("/no-existe/en/absoluto")
    assert portal.status_code == 404 and "Page not found" in text(portal)
    tenant = client.get("/hidalgo/no-existe")
    assert tenant.status_code == 404 and "SESEA Hidalgo" in text(tenant) and "/hidalgo/theme-colors.css?v=" in text(tenant)
    api = client.get("/api/no-existe")
    assert api.status_code == 404 and api.get_json() == {"error": {"status": 404, "message": api.get_json()["error"]["message"]}}
    assert api.get_json()["error"]["message"]


def test_405_lists_allowed_methods(client):
    response = client.post("/edomex/p/algo")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert "Method not allowed" in text(response)
    assert client.post("/api/plugins").get_json()["error"]["status"] == 405


class TestServerErrors:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "PROPAGATE_EXCEPTIONS": False, "MAX_CONTENT_LENGTH": 1024}

    def test_500_403_413_and_400_pages(self, app, client):
        def boom():
            raise RuntimeError("kaput")

        def leak():
            raise TenantIsolationError("other tenant")

        from flask import abort

        app.add_url_rule("/_test/boom", "boom", boom)
        app.add_url_rule("/api/_test/boom", "api_boom", boom)
        app.add_url_rule("/_test/leak", "leak", leak)
        app.add_url_rule("/_test/bad", "bad", lambda: abort(400))
        response = client.get("/_test/boom")
        assert response.status_code == 500 and "Something went wrong" in text(response) and "kaput" not in text(response)
        assert client.get("/api/_test/boom").get_json()["error"]["status"] == 500
        response = client.get("/_test/leak")
        assert response.status_code == 403 and "Access denied" in text(response)
        big = {"kind": "question", "subject": "x", "message": "y" * 4000, "issued": "t"}
        response = client.post("/edomex/seccion/feedback", data=big)
        assert response.status_code == 413 and "File too large" in text(response)
        response = client.get("/_test/bad")
        assert response.status_code == 400 and "Bad request" in text(response)


def test_history_of_an_absurd_record_id_is_404(client):
    assert client.get("/edomex/historial/page/99999999999999999999999").status_code == 404
    assert client.get("/edomex/historial/page/abc").status_code == 404
