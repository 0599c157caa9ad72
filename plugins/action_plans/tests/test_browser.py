"""Browser test: an editor exports nothing by hand — she uploads an edited CSV, checks the
preview, applies it, and the public chart changes."""
from __future__ import annotations

import re

import pytest

from comun_cms.toolkit.testing import PASSWORD


def log_in(page, email: str) -> None:
    """Log in through the real login form (the header also holds a search form, so the login
    form is addressed by its action)."""
    page.goto("/auth/login")
    page.fill('form[action$="/auth/login"] input[name=email]', email)
    page.fill('form[action$="/auth/login"] input[name=password]', PASSWORD)
    with page.expect_navigation():
        page.click('form[action$="/auth/login"] button[type=submit]')


@pytest.mark.browser
def test_editor_imports_a_csv_and_the_public_chart_changes(app, page, make_user, make_plan):
    plan_id = make_plan(title="Plan del navegador", commitments=[{"title": "Compromiso del navegador", "milestones": [
        ("Diagnóstico", 50, "completed", 100, None, None), ("Publicación", 50, "not_started", 0, None, None)]}])
    make_user("editora@edomex.test", role="editor")

    page.goto(f"/edomex/planes-de-accion/{plan_id}?lang=en")
    row = page.locator("tr", has_text="Compromiso del navegador")
    assert re.search(r"50\s%", row.inner_text())
    assert "Completed: 50.0" in row.inner_text() and "Pending: 50.0" in row.inner_text()

    log_in(page, "editora@edomex.test")
    exported = page.request.get(f"/edomex/admin/planes-de-accion/{plan_id}/exportar.csv?sep=semicolon")
    assert exported.ok
    text = exported.body().decode("utf-8")
    # the export is in the tenant's language (Spanish for Estado de México)
    assert text.lstrip("\ufeff").startswith("registro;plan;compromiso;hito;")
    edited = text.replace(";Publicación;;;;por iniciar;0;", ";Publicación;;;;completado;100;")
    assert edited != text

    page.goto(f"/edomex/admin/planes-de-accion/{plan_id}/importar")
    page.set_input_files("input[type=file][name=file]", files=[{
        "name": "plan-editado.csv", "mimeType": "text/csv", "buffer": edited.encode("utf-8")}])
    page.click('form[action$="/importar"] button[type=submit]')
    preview = page.locator("#preview-title").locator("xpath=..")
    assert "Milestone 1.2" in preview.inner_text() and "Completed" in preview.inner_text()
    page.fill('form[action$="/importar/aplicar"] textarea[name=reason]', "Avance aprobado en sesión del STL")
    page.click('form[action$="/importar/aplicar"] button[type=submit]')
    assert "Import applied" in page.locator(".flashes").inner_text()

    page.goto(f"/edomex/planes-de-accion/{plan_id}")
    row = page.locator("tr", has_text="Compromiso del navegador")
    assert re.search(r"100\s%", row.inner_text())
    assert "Completed: 100.0" in row.inner_text() and "Pending" not in row.inner_text()
    assert page.locator('tr:has-text("Compromiso del navegador") svg rect[width="100.0"][fill="#43a047"]').count() == 1

    page.click('a:has-text("Compromiso del navegador")')
    page.click('a:has-text("Version history")')
    assert "Avance aprobado en sesión del STL" in page.locator("main").inner_text()


@pytest.mark.browser
def test_weight_rebalance_and_import_preview_fit_a_phone_without_javascript(app, page, make_user, make_plan):
    """The pages of issue 15 (defects 2–4) at 390 px, JavaScript off: the milestone form with the
    proposed rebalance, the weights page with the proposal, the import preview and the public
    commitment with its definition are not wider than the screen, and the rebalance is confirmed
    with a plain form button."""
    plan_id = make_plan(title="Plan en el teléfono", commitments=[{"title": "Compromiso en el teléfono", "milestones": [
        ("Diagnóstico con una descripción larga para ver el ajuste de línea", 50, "completed", 100, None, None),
        ("Publicación", 50, "not_started", 0, None, None)]}])
    make_user("telefono@edomex.test", role="editor")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "telefono@edomex.test")
    page.goto("/edomex/planes-de-accion/?lang=es_MX")       # the Spanish interface (the tests default to English)

    def fits(url_or_none=None) -> None:
        if url_or_none:
            page.goto(url_or_none)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (page.url, width)

    from sqlalchemy import select
    from comun_cms.toolkit import db, tenant_context
    from comun_cms.toolkit.testing import get_tenant
    from plugins.action_plans.models import Commitment
    with tenant_context(get_tenant(app, "edomex")):
        c = db.session.scalars(select(Commitment)).one()
        cid = c.id
    page.goto(f"/edomex/admin/planes-de-accion/compromisos/{cid}/hitos/nuevo")
    page.fill("#description", "Difusión")
    page.fill("#weight", "20")
    page.fill("#reason", "Nuevo hito acordado")
    page.click('form .form__actions button[type=submit]')
    assert "Reajuste propuesto" in page.locator("main").inner_text()
    fits()
    page.click('button[name="rebalance"]')
    assert "se reajustaron como usted lo confirmó" in page.locator(".flashes").inner_text()
    fits(f"/edomex/admin/planes-de-accion/compromisos/{cid}/pesos")
    fits(f"/edomex/planes-de-accion/compromisos/{cid}")
    exported = page.request.get(f"/edomex/admin/planes-de-accion/{plan_id}/exportar.csv").body().decode("utf-8")
    page.goto(f"/edomex/admin/planes-de-accion/{plan_id}/importar")
    page.set_input_files("input[type=file][name=file]", files=[{
        "name": "plan.csv", "mimeType": "text/csv",
        "buffer": exported.replace("Publicación", "Publicación en el periódico oficial del estado").encode("utf-8")}])
    page.click('form[action$="/importar"] button[type=submit]')
    assert "Se actualizará 1 registro" in page.locator("main").inner_text()
    fits()
