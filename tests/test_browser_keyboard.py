"""Keyboard only (WCAG 2.1.1): an editor logs in, writes a page and publishes it with the Tab,
Enter and arrow keys, never the mouse; every control on the way shows its focus."""
from __future__ import annotations

import re

import pytest

from comun_cms.testing import PASSWORD, tab_to

pytestmark = pytest.mark.browser


def _select_by_keys(page, selector: str, value: str, limit: int = 30) -> None:
    """Change the focused ``<select>`` with the arrow keys until its value is ``value``."""
    for _ in range(limit):
        if page.eval_on_selector(selector, "el => el.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{selector} never reached {value!r} with the arrow keys")


def test_editor_publishes_a_page_with_the_keyboard_only(app, spanish, make_user, page):
    make_user("teclado@edomex.test", role="editor")
    page.goto("/auth/login")
    tab_to(page, "input[name=email]")
    page.keyboard.type("teclado@edomex.test")
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/edomex/admin/"))

    page.goto("/edomex/admin/paginas")
    tab_to(page, "main a[href$='/paginas/nueva']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "input[name=title]")
    page.keyboard.type("Calendario de sesiones 2027")
    tab_to(page, "textarea[name=body]")
    page.keyboard.type("Las sesiones ordinarias se celebran el **último jueves** de cada trimestre.")
    tab_to(page, "select[name=section]")
    _select_by_keys(page, "select[name=section]", "minutes")
    tab_to(page, "main form[action$='/paginas/nueva'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/edomex/admin/paginas/\d+$"))

    tab_to(page, "main form[action$='/publicar'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    page.goto("/edomex/seccion/minutes")
    href = page.locator("main a", has_text="Calendario de sesiones 2027").get_attribute("href")
    tab_to(page, f"main a[href='{href}']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text().strip() == "Calendario de sesiones 2027"
    assert page.locator("main strong", has_text="último jueves").count() == 1
