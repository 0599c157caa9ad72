"""Browser test (Playwright + Debian Chromium): a workshop participant logs in with the account
from the printable sheet, lands in their own workspace, follows exercise 1 from the dashboard,
publishes the page and sees "check my work" complete; another participant's workspace refuses
them."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from comun_cms import training
from comun_cms.testing import browser_login

pytestmark = pytest.mark.browser


def test_participant_does_exercise_1_in_their_workspace(app, spanish, page):
    tenant = app.extensions["comun"].tenants["capacitacion"]
    first, _second = training.create_participants(app, tenant, 2, dt.date.today(), workshop="navegador")
    browser_login(page, first["email"], first["password"])
    page.wait_for_url(re.compile(r"/capacitacion-01/admin/"))
    assert "espacio de práctica (capacitacion-01)" in page.content()

    with page.expect_navigation():
        page.click("text=Ejercicios de capacitación y «Revisar mi trabajo»")
    with page.expect_navigation():
        page.click("text=Firma de la Declaratoria de Gobierno Abierto")
    assert page.locator("h1").inner_text().strip() == "Ejercicio 1"
    with page.expect_navigation():
        page.click("text=Empiece aquí")
    page.wait_for_url(re.compile(r"/capacitacion-01/admin/paginas/nueva"))
    page.fill("input[name=title]", "Declaratoria de Gobierno Abierto")
    page.fill("input[name=slug]", "paso-01")
    page.fill("textarea[name=body]", "Publicamos la declaratoria con la firma de las instituciones.")
    page.select_option("select[name=section]", "links")
    with page.expect_navigation():
        page.click("main form[action$='/paginas/nueva'] button[type=submit]:not([name=preview])")
    with page.expect_navigation():
        page.click("main form[action$='/publicar'] button[type=submit]")

    page.goto("/capacitacion-01/capacitacion/1/revisar")
    assert "Ejercicio completo." in page.content()
    assert page.locator("ul.checklist li", has_text="✘").count() == 0
    assert page.locator("ul.checklist li").count() >= 4

    response = page.goto("/capacitacion-02/capacitacion/1/revisar")
    assert response.status == 403
    response = page.goto("/capacitacion-02/admin/paginas/nueva")
    assert response.status == 403
