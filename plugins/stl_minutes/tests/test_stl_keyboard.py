"""Keyboard only (WCAG 2.1.1): the STL secretary records the attendance of a session with the Tab,
Space and Enter keys, never the mouse."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from comun_cms.toolkit import db
from comun_cms.toolkit.testing import browser_login, tab_to

from plugins.stl_minutes.models import Session

from .conftest import make_body, make_session, within


@pytest.mark.browser
def test_secretary_records_attendance_with_the_keyboard_only(app, page, make_user):
    editor = make_user("teclado@edomex.test", role="editor", name="Secretaría Técnica")
    with within(app):
        body = make_body(name="Secretariado Técnico Local (teclado)")
        session = make_session(body, number=3, day=dt.date(2026, 11, 26), present=0)
        session_id = session.id
        members = [(m.id, m.name) for m in body.members[:3]]
    browser_login(page, editor.email)
    page.wait_for_url(lambda url: "/auth/login" not in url)
    page.goto(f"/edomex/admin/actas/sesiones/{session_id}")

    for member_id, _name in members:               # Space ticks a focused checkbox
        tab_to(page, f"input[name=present][value='{member_id}']")
        page.keyboard.press("Space")
    tab_to(page, "form[action$='/asistencia/integrantes'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    tab_to(page, "input[name='att-name']")
    page.keyboard.type("Rosa Invitada Pérez")
    tab_to(page, "input[name='att-institution']")
    page.keyboard.type("Colectivo Vecinal de Toluca")
    tab_to(page, "form[action$='/asistencia'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    table = page.inner_text("section[aria-labelledby=attendance] table")
    for _member_id, name in members:
        assert name in table
    assert "Rosa Invitada Pérez" in table
    with within(app):
        db.session.expire_all()
        s = db.session.scalar(select(Session).where(Session.id == session_id))
        assert len(s.attendance) == 4
