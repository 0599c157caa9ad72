"""Browser test (Playwright + Debian Chromium) of the editor's progressive enhancements
(``themes/comun/static/js/editing.js``): live Markdown preview, autosave of the draft of a
published page, and the warning when leaving with unsaved changes."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Draft, Page
from comun_cms.tenancy import tenant_context
from comun_cms.testing import browser_login, get_tenant, leave_page

pytestmark = pytest.mark.browser


def _published_page(app) -> int:
    with tenant_context(get_tenant(app, "edomex")):
        page = Page(title="Informe", slug="informe", body="Texto publicado.", section="links")
        db.session.add(page)
        db.session.commit()
        publishing.publish(page)
        return page.id


def test_live_preview_and_autosave_keep_the_public_version(app, spanish, make_user, page):
    from playwright.sync_api import expect
    page_id = _published_page(app)
    make_user("editora@edomex.test", role="editor")
    page.add_init_script("window.COMUN_AUTOSAVE_MS = 400;")
    browser_login(page, "editora@edomex.test")
    page.goto(f"/edomex/admin/paginas/{page_id}")

    page.fill("textarea[name=body]", "Texto **nuevo** <em>crudo</em>")
    preview = page.locator("[data-md-preview]")
    expect(preview.locator("strong")).to_have_text("nuevo")
    expect(preview).to_contain_text("<em>crudo</em>")  # raw HTML shown as text, never rendered
    assert preview.locator("em").count() == 0

    expect(page.locator("[data-editor-status]")).to_contain_text("Guardado automáticamente")
    db.session.expire_all()
    with tenant_context(get_tenant(app, "edomex")):
        draft = db.session.scalar(select(Draft))
        stored = db.session.scalar(select(Page).where(Page.id == page_id))
        assert draft.data["body"] == "Texto **nuevo** <em>crudo</em>"
        assert (stored.body, stored.version) == ("Texto publicado.", 1)


def test_leaving_with_unsaved_changes_asks_first(app, spanish, make_user, page):
    page_id = _published_page(app)
    make_user("editora@edomex.test", role="editor")
    browser_login(page, "editora@edomex.test")
    page.goto(f"/edomex/admin/paginas/{page_id}")
    page.fill("input[name=title]", "Informe corregido")
    assert leave_page(page) == ["beforeunload"]
