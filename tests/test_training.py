"""Training tenant (states/capacitacion): scenario load, reset (dump before/after compare),
participants with expiring accounts and a printable sheet, exercises and "check my work"."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from comun_cms import training
from comun_cms.extensions import db
from comun_cms.tenancy import tenant_context

SLUG = "capacitacion"


@pytest.fixture
def tapp(app_config):
    """An app with the training pages mounted (``training.init_app``), tenants synced."""
    from comun_cms.app import create_app
    from comun_cms.setup import sync_tenants
    application = create_app(dict(app_config))
    training.init_app(application)

    from flask import g, request_started

    def fresh_g(sender, **extra):
        g.__dict__.clear()
    request_started.connect(fresh_g, application)
    with application.app_context():
        sync_tenants(application)
        yield application
        db.session.remove()
        db.engine.dispose()


def _tenant(app):
    return app.extensions["comun"].tenants[SLUG]


def test_training_tenant_is_configured(app):
    tenant = _tenant(app)
    assert tenant.training and tenant.state == "Estado de Ejemplo"
    for plugin in ("criteria", "stl_minutes", "action_plans", "notary"):
        assert tenant.enables(plugin)


def test_exercises_follow_the_13_steps():
    steps = training.strategy_steps()
    assert len(training.EXERCISES) == 13 == len(steps)
    assert [e.step for e in training.EXERCISES] == list(steps)
    assert training.EXERCISES[0].step == "Firma de la Declaratoria de Gobierno Abierto"
    for ex in training.EXERCISES:
        assert ex.goals and ex.steps and ex.keywords
    with pytest.raises(training.TrainingError):
        training.get_exercise(14)


def test_state_tenants_refuse_training_operations(tapp):
    edomex = tapp.extensions["comun"].tenants["edomex"]
    with pytest.raises(training.TrainingError):
        training.load_scenario(tapp, edomex)
    with pytest.raises(training.TrainingError):
        training.reset(tapp, edomex)
    with pytest.raises(training.TrainingError):
        training.create_participants(tapp, edomex, 2, dt.date.today())


def _publish_work(tapp, user, number: int, *, text: str, section: str):
    from comun_cms.models import Page
    from comun_cms.publishing import publish
    ex = training.get_exercise(number)
    with tenant_context(_tenant(tapp)):
        page = Page(slug=ex.slug_for(user), title=f"Trabajo {number}", body=text, section=section)
        db.session.add(page)
        db.session.commit()
        publish(page, user=user)
    return page


def test_load_then_reset_restores_the_scenario_exactly(tapp):
    tenant = _tenant(tapp)
    result = training.load_scenario(tapp, tenant)
    assert result["exercises"] == 13
    with tenant_context(tenant):
        before = training.dump_tenant(tenant)
    assert len(before["pages"]) >= 13
    # participants work: pages, publications, notary entries...
    user = training.create_participants(tapp, tenant, 1, dt.date.today())[0]
    from comun_cms.users import find_user
    participant = find_user(user["email"])
    _publish_work(tapp, participant, 4, text="Acta de instalación con sus integrantes", section="minutes")
    with tenant_context(tenant):
        during = training.dump_tenant(tenant)
    assert len(during["pages"]) == len(before["pages"]) + 1
    started = time.monotonic()
    info = training.reset(tapp, tenant, exercise=4)
    assert time.monotonic() - started < 10
    with tenant_context(tenant):
        after = training.dump_tenant(tenant)
    assert after == before
    assert info["rows"] == sum(len(rows) for rows in before.values())
    # participants keep their accounts after a reset
    assert find_user(user["email"]) is not None
    # loading again changes nothing (idempotent)
    assert training.load_scenario(tapp, tenant)["exercises"] == 0


def test_reset_needs_a_snapshot(tapp):
    with pytest.raises(training.TrainingError, match="comun training load"):
        training.reset(tapp, _tenant(tapp))


def test_participants_expire_after_the_workshop_and_get_a_sheet(tapp):
    from pathlib import Path

    from comun_cms.users import find_user
    tenant = _tenant(tapp)
    day = dt.date.today()
    logins = training.create_participants(tapp, tenant, 3, day, workshop="hgo-2026")
    assert [x["email"].split("@")[0] for x in logins] == [f"participante-0{i}-hgo-2026" for i in (1, 2, 3)]
    user = find_user(logins[0]["email"])
    assert user.is_active and user.check_password(logins[0]["password"])
    assert user.expires_at == dt.datetime.combine(day + dt.timedelta(days=2), dt.time(0), tzinfo=dt.timezone.utc)
    user.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    assert not user.is_active
    sheet = Path(tapp.instance_path) / "training" / "hgo-2026-accesos.html"
    text = sheet.read_text()
    assert all(x["password"] in text and x["prefix"] in text for x in logins)
    with tenant_context(tenant):
        from comun_cms.models import Membership
        roles = db.session.scalars(select(Membership.role).where(Membership.user_id == user.id)).all()
    assert roles == ["editor"]
    with pytest.raises(training.TrainingError):
        training.create_participants(tapp, tenant, 0, day)


def test_check_my_work_looks_only_at_the_participants_workspace(tapp):
    from comun_cms.users import find_user
    tenant = _tenant(tapp)
    a, b = training.create_participants(tapp, tenant, 2, dt.date.today())
    ua, ub = find_user(a["email"]), find_user(b["email"])
    first = training.check_exercise(ua, 4, tenant)
    assert not first.done and len(first.items) == 1  # the page does not exist yet
    _publish_work(tapp, ua, 4, text="Acta de instalación: integrantes presentes", section="minutes")
    assert training.check_exercise(ua, 4, tenant).done
    assert not training.check_exercise(ub, 4, tenant).done  # b's workspace is empty
    _publish_work(tapp, ub, 4, text="Acta sin lista", section="links")
    res = training.check_exercise(ub, 4, tenant)
    missing = [i.label for i in res.items if not i.done]
    assert not res.done and any("minutes" in m for m in missing) and any("integrantes" in m for m in missing)


def test_training_pages_and_check_page(tapp):
    from comun_cms.users import find_user
    tenant = _tenant(tapp)
    client = tapp.test_client()
    page = client.get(f"/{SLUG}/capacitacion/")
    assert page.status_code == 200 and "Firma de la Declaratoria" in page.get_data(as_text=True)
    assert client.get("/edomex/capacitacion/").status_code == 404
    assert client.get(f"/{SLUG}/capacitacion/4").status_code == 200
    assert client.get(f"/{SLUG}/capacitacion/4/revisar").status_code == 302  # log in first
    login = training.create_participants(tapp, tenant, 1, dt.date.today())[0]
    user = find_user(login["email"])
    _publish_work(tapp, user, 4, text="Acta de instalación con integrantes", section="minutes")
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    html = client.get(f"/{SLUG}/capacitacion/4/revisar").get_data(as_text=True)
    assert "✘" not in html and "✔" in html


def test_training_data_stays_off_the_states_and_portal(tapp):
    tenant = _tenant(tapp)
    training.load_scenario(tapp, tenant)
    client = tapp.test_client()
    portal = client.get("/").get_data(as_text=True)
    assert "Estado de Ejemplo" not in portal and "Ejercicio 1" not in portal
    for slug in ("edomex", "hidalgo", "puebla"):
        assert "Ejercicio 1:" not in client.get(f"/{slug}/").get_data(as_text=True)
    api = client.get("/api/plugins")
    if api.status_code == 200:
        assert SLUG not in api.get_data(as_text=True)
    # portal search: results and facets leave the training tenant out (its pages are indexed)
    service = tapp.extensions["comun"].search
    if service is not None:
        service.drain_outbox()
    for url in ("/buscar?q=Ejercicio", "/api/v1/search?q=Ejercicio"):
        resp = client.get(url)
        if resp.status_code == 200:
            body = resp.get_data(as_text=True)
            assert "Ejercicio 1:" not in body and f"/{SLUG}/" not in body, url
    # open data: the all-states pages dataset has no training row
    for url in ("/datos/", "/datos/pages.csv", "/datos/pages.json", "/datos/data.json"):
        resp = client.get(url)
        if resp.status_code == 200:
            body = resp.get_data(as_text=True)
            assert "Ejercicio 1:" not in body and "Estado de Ejemplo" not in body, url
    hits = client.get(f"/api/v1/search?q=Ejercicio&tenant={SLUG}")
    assert hits.status_code != 200 or "Ejercicio 1:" not in hits.get_data(as_text=True)


def test_cli_exercises_and_reset_without_load(runner):
    out = runner.invoke(args=["training", "exercises"])
    assert out.exit_code == 0 and out.output.count("\n") == 13
    res = runner.invoke(args=["training", "reset"])
    assert res.exit_code != 0 and "comun training load" in res.output
    bad = runner.invoke(args=["training", "reset", "--tenant", "edomex"])
    assert bad.exit_code != 0 and "not a training tenant" in bad.output
