"""Browser tests (Playwright + Chromium) of the plan editor's shared enhancements
(``js/editing.js``, ``editor_form``, ``MarkdownField``): typing in a published plan autosaves a
draft of its next version that survives a reload while the public page keeps the published plan;
the notes' live preview shows rendered Markdown; leaving with unsaved changes asks first."""
from __future__ import annotations

import pytest

from comun_cms.toolkit.testing import browser_login, leave_page

pytestmark = pytest.mark.browser


def _open(page, plan_id: int) -> None:
    browser_login(page, "editora@edomex.test")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    page.goto(f"/edomex/admin/planes-de-accion/{plan_id}/editar?lang=en")


def test_typing_in_a_published_plan_autosaves_a_draft_that_survives_a_reload(app, page, make_user, make_plan):
    from playwright.sync_api import expect
    plan_id = make_plan(title="Plan del navegador")
    make_user("editora@edomex.test", role="editor")
    page.add_init_script("window.COMUN_AUTOSAVE_MS = 400;")
    _open(page, plan_id)
    page.fill("textarea[name=notes]", "Aprobado en la **sesión 12**.")
    expect(page.locator("#notes-preview strong")).to_have_text("sesión 12")
    expect(page.locator("form[data-autosave] [data-editor-status]")).to_contain_text("Saved automatically at")
    page.reload()
    expect(page.locator("textarea[name=notes]")).to_have_value("Aprobado en la **sesión 12**.")
    assert "Unpublished changes" in page.locator("main").inner_text()
    page.goto(f"/edomex/planes-de-accion/{plan_id}")
    assert "sesión 12" not in page.locator("main").inner_text()


def test_leaving_the_plan_with_unsaved_changes_asks_first(app, page, make_user, make_plan):
    plan_id = make_plan(title="Plan del navegador")
    make_user("editora@edomex.test", role="editor")
    _open(page, plan_id)
    page.fill("input[name=title]", "Plan del navegador corregido")
    assert leave_page(page) == ["beforeunload"]
