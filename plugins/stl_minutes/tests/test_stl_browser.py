"""Browser test (Playwright + Chromium): an STL secretary (editor) records a session, takes its
minutes through review and approval to publication, and finds it in the public calendar."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from comun_cms.toolkit import db
from comun_cms.toolkit.testing import browser_login

from plugins.stl_minutes.models import Session

from .conftest import make_body, make_session, within


@pytest.mark.browser
def test_secretary_records_approves_publishes_and_finds_it_in_the_calendar(app, page, make_user):
    editor = make_user("secretaria@edomex.test", role="editor", name="Secretaría Técnica")
    with within(app):
        body = make_body(name="Secretariado Técnico Local de Gobierno Abierto (prueba)")
        later = make_session(body, number=8, day=dt.date(2024, 6, 20))   # the session that approves
        body_id, later_id = body.id, later.id
    base = "/edomex/admin/actas"

    def submit(selector: str) -> None:
        """Click a submit button and wait for the page it leads to (POST, redirect, GET)."""
        with page.expect_navigation(wait_until="load"):
            page.click(selector)

    browser_login(page, editor.email)
    page.wait_for_url(lambda url: "/auth/login" not in url)   # logged in before going on
    page.goto(f"{base}/sesiones/nueva?lang=en")   # English UI (the language choice is kept in the session)
    page.select_option("select[name=body]", str(body_id))
    page.select_option("select[name=kind]", "regular")
    page.fill("input[name=number]", "7")
    page.fill("input[name=session_date]", "2024-05-20")
    page.fill("input[name=start_time]", "10:00")
    page.fill("input[name=end_time]", "12:00")
    page.select_option("select[name=modality]", "hybrid")
    page.fill("input[name=place]", "Sala del Comité, Toluca")
    submit("form.form button[type=submit]:not([name=preview])")
    assert "Séptima Sesión Ordinaria" in page.inner_text("h1")

    submit("form[action$='/orden-del-dia/estandar'] button")
    for checkbox in page.locator("input[name=present]").all()[:4]:
        checkbox.check()
    submit("form[action$='/asistencia/integrantes'] button[type=submit]")
    page.fill("textarea[name=agr-text]", "Difundir el calendario de sesiones.")
    page.fill("input[name=agr-owner]", "Secretaría Técnica")
    page.fill("input[name=agr-due_date]", "2024-06-30")
    submit("form[action$='/acuerdos'] button[type=submit]")
    assert "STL-MEX/ORD07/2024/01" in page.content()

    submit("form[action$='/revision'] button")
    page.select_option("select[name=appr-approving]", str(later_id))
    submit("form[action$='/aprobar'] button[type=submit]")
    submit("form[action$='/publicar'] button")
    assert "Published and locked" in page.inner_text("main")

    page.goto("/edomex/actas/calendario?mes=2024-05")
    link = page.locator("table.stl-calendar a", has_text="Séptima Sesión Ordinaria")
    assert link.count() == 1
    with page.expect_navigation(wait_until="load"):
        link.click()
    text = page.inner_text("main")
    assert "Séptima Sesión Ordinaria" in text and "Difundir el calendario de sesiones." in text
    assert "Ana Gobierno" in text and "Quorum met" in text

    with within(app):
        db.session.expire_all()
        s = db.session.scalar(select(Session).where(Session.number == 7))
        assert s.status == "published" and s.approved_in_id == later_id and s.version == 1
