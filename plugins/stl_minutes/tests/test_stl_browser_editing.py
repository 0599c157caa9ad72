"""Browser tests (Playwright + Chromium) of the session editor's shared enhancements
(``js/editing.js`` with the ``editor_form`` macro and the ``MarkdownField`` preview): typing in the
session's facts autosaves them, and the text survives a reload; the live preview shows rendered,
sanitized Markdown; the "Preview" button is reached and pressed with the keyboard alone (the
server renders the preview); leaving with unsaved changes asks first."""
from __future__ import annotations

import pytest

from comun_cms.toolkit.testing import browser_login, leave_page, tab_to

from .conftest import make_body, make_session, within

pytestmark = pytest.mark.browser


def _session(app, make_user) -> int:
    make_user("secretaria@edomex.test", role="editor")
    with within(app):
        return make_session(make_body(), number=3).id


def _open(page, session_id: int) -> None:
    browser_login(page, "secretaria@edomex.test")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    page.goto(f"/edomex/admin/actas/sesiones/{session_id}?lang=en")


def test_typing_in_the_session_autosaves_and_survives_a_reload(app, page, make_user):
    from playwright.sync_api import expect
    session_id = _session(app, make_user)
    page.add_init_script("window.COMUN_AUTOSAVE_MS = 400;")
    _open(page, session_id)
    page.fill("textarea[name=summary]", "Se aprobó el **calendario** <script>alert(1)</script>")
    preview = page.locator("#summary-preview")
    expect(preview.locator("strong")).to_have_text("calendario")
    expect(preview).to_contain_text("<script>alert(1)</script>")  # shown as text, never run
    status = page.locator("form[data-autosave] [data-editor-status]")
    expect(status).to_contain_text("Saved automatically at")
    page.reload()
    expect(page.locator("textarea[name=summary]")).to_have_value("Se aprobó el **calendario** <script>alert(1)</script>")
    assert leave_page(page) == []  # nothing unsaved: no question


def test_the_preview_button_works_with_the_keyboard_alone(app, page, make_user):
    from playwright.sync_api import expect
    session_id = _session(app, make_user)
    _open(page, session_id)
    tab_to(page, "textarea[name=summary]")
    page.keyboard.type("- primer acuerdo\n- segundo acuerdo")
    tab_to(page, "button[name=preview][value=summary]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#summary-preview li")).to_have_text(["primer acuerdo", "segundo acuerdo"])
    expect(page.locator("textarea[name=summary]")).to_have_value("- primer acuerdo\n- segundo acuerdo")
    expect(page.locator("form[data-unsaved]")).to_contain_text("nothing has been saved yet")
    assert leave_page(page) == ["beforeunload"]  # the previewed text is not saved yet


def test_leaving_the_session_with_unsaved_changes_asks_first(app, page, make_user):
    session_id = _session(app, make_user)
    _open(page, session_id)
    page.fill("input[name=place]", "Sala del Comité")
    assert leave_page(page) == ["beforeunload"]
