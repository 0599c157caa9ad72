"""Browser test (Playwright + Debian Chromium): an editor creates and publishes a page with an
attachment, finds it on the public site and switches the language."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from comun_cms.testing import browser_login

pytestmark = pytest.mark.browser


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 60)).save(buf, "PNG")
    return buf.getvalue()


def test_editor_publishes_page_with_attachment_and_switches_language(app, spanish, make_user, page):
    make_user("editora@edomex.test", role="editor")
    browser_login(page, "editora@edomex.test")
    page.wait_for_url(re.compile(r"/edomex/admin/"))

    page.goto("/edomex/admin/paginas/nueva")
    page.fill("input[name=title]", "Minuta de la sesión de instalación")
    page.fill("textarea[name=body]", "Se instaló el **Secretariado Técnico Local**.")
    page.select_option("select[name=section]", "minutes")
    page.click("main form[action$='/paginas/nueva'] button[type=submit]:not([name=preview])")
    page.wait_for_url(re.compile(r"/edomex/admin/paginas/\d+$"))

    page.set_input_files("input[name='upload-file']",
                         files=[{"name": "foto sesión.png", "mimeType": "image/png", "buffer": _png()}])
    page.fill("input[name='upload-title']", "Fotografía de la sesión")
    with page.expect_navigation():
        page.click("main form[action$='/archivos'] button[type=submit]")
    assert "foto_sesion.png" in page.content()

    with page.expect_navigation():
        page.click("main form[action$='/publicar'] button[type=submit]")

    page.goto("/edomex/seccion/minutes")
    page.click("text=Minuta de la sesión de instalación")
    page.wait_for_url(re.compile(r"/edomex/p/"))
    assert page.locator("h1").inner_text().strip() == "Minuta de la sesión de instalación"
    assert page.locator("strong", has_text="Secretariado Técnico Local").count() == 1
    image = page.locator("img[src*='/miniatura']")
    assert image.count() == 1
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", image.element_handle())

    assert page.locator("html").get_attribute("lang").startswith("es")
    with page.expect_navigation():
        page.click("a[hreflang='en']")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text().strip() == "Minuta de la sesión de instalación"
