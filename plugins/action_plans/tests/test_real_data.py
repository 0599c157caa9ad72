"""Real input: the Estado de México plans with their dates, milestones, progress and sources;
labelled demo plans for Hidalgo and Puebla; the training loader; tenant settings."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, Publication, db, tenant_context
from comun_cms.toolkit.testing import TenantConfigError, get_tenant, load_tenant

from plugins.action_plans import loaders, services, tenant_settings
from plugins.action_plans.models import ActionPlan

D = dt.date


def plans_of(app, slug):
    with tenant_context(get_tenant(app, slug)):
        db.session.expire_all()
        return db.session.scalars(select(ActionPlan).order_by(ActionPlan.number)).all()


def test_estado_de_mexico_real_plans(app, client, run_demo_for, english):
    run_demo_for("edomex")
    with tenant_context(get_tenant(app, "edomex")):
        plans = db.session.scalars(select(ActionPlan).order_by(ActionPlan.number)).all()
        assert [p.title for p in plans] == [
            "Plan de Acción Local de Gobierno Abierto 2021 — compromiso proactivo del INFOEM",
            "Plan de Acción OGP Local Estado de México 2021–2022",
            "Primer Plan de Acción Local del Secretariado Técnico Local de Gobierno Abierto del Estado de México"]
        assert all(p.status == "published" and not p.is_demo for p in plans)
        assert [p.framework for p in plans] == ["inai_cocreation", "ogp_local", "inai_cocreation"]
        # facts the sources do not give stay empty
        assert all(p.approval_date is None and p.valid_from is None and p.phase == "" for p in plans)
        proactive = plans[0].commitments[0]
        assert proactive.origin == "proactive" and proactive.owner_institution == "INFOEM"
        assert [(m.start_date, m.end_date, m.progress_status) for m in proactive.milestones] == [
            (D(2022, 1, 20), D(2022, 1, 20), "completed"),
            (D(2022, 1, 20), D(2022, 2, 4), "completed"),
            (D(2022, 2, 18), D(2022, 2, 18), "completed"),
            (D(2022, 2, 28), D(2022, 3, 25), "not_started"),
            (D(2022, 3, 26), D(2022, 3, 26), "not_started")]
        assert sum(m.weight for m in proactive.milestones) == 100
        assert proactive.progress == 60.0 and proactive.progress_status == "started"
        assert "13 (2 servidores públicos municipales" in proactive.notes
        assert "edomex-pal-2021-avances-infoem.txt" in plans[0].source
        ogp = {c.number: c for c in plans[1].commitments}
        assert ogp[1].external_id == "MXMEX0009" and (ogp[1].start_date, ogp[1].end_date) == (D(2022, 2, 1), D(2022, 5, 31))
        assert ogp[1].progress is None and ogp[1].progress_status == ""     # not published: not invented
        assert ogp[3].owner_institution == "Secretaría de Justicia y Derechos Humanos" and "2022-03-10" in ogp[3].notes
        assert ogp[2].source.startswith("https://opengovpartnership.org/documents/end-of-commitment-report")
        assert plans[1].source == "https://www.opengovpartnership.org/members/mexico-state-mexico/commitments/MXMEX0009"
        assert [c.owner_institution for c in plans[2].commitments] == [
            "Instituto Electoral del Estado de México (IEEM)", "Poder Judicial del Estado de México"]
        # the national and Jalisco plans are training material, not loaded into a state
        assert not any("Cuarto Plan" in p.title or "Jalisco" in p.title for p in plans)
        publications = db.session.scalar(select(func.count()).select_from(Publication))
    run_demo_for("edomex")                                         # idempotent
    assert len(plans_of(app, "edomex")) == 3
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(func.count()).select_from(Publication)) == publications
    html = client.get(f"/edomex/planes-de-accion/compromisos/{proactive.id}").get_data(as_text=True)
    assert "Overdue" in html and "60&nbsp;%" in html and "edomex-pal-2021-avances-infoem.txt" in html
    html = client.get(f"/edomex/planes-de-accion/{plans[1].id}").get_data(as_text=True)
    assert "opengovpartnership.org/members/mexico-state-mexico" in html and "Demo data" not in html


def test_hidalgo_and_puebla_get_labelled_demo_plans(app, client, run_demo_for, english):
    for slug in ("hidalgo", "puebla"):
        run_demo_for(slug)
        run_demo_for(slug)
        plans = plans_of(app, slug)
        assert len(plans) == 1 and plans[0].is_demo and plans[0].status == "published"
        plan = plans[0]
        assert len(plan.commitments) == 5 and all(c.is_demo for c in plan.commitments)
        assert plan.valid_until == loaders.prog.add_months(plan.valid_from, 12)
        for c in plan.commitments:
            assert sum(m.weight for m in c.milestones) == 100
        html = client.get(f"/{slug}/planes-de-accion/{plan.id}").get_data(as_text=True)
        assert "Demo data" in html
    puebla = plans_of(app, "puebla")[0]
    html = client.get(f"/puebla/planes-de-accion/{puebla.id}").get_data(as_text=True)
    assert "As of March 2020, Puebla had no local open-government action plan" in html
    assert "https://www.angulo7.com.mx/2020/03/24/puebla-sin-plan-de-accion-a-un-ano-de-iniciar-estrategia-de-gobierno-abierto/" in html
    hidalgo = plans_of(app, "hidalgo")[0]
    assert "Puebla" not in client.get(f"/hidalgo/planes-de-accion/{hidalgo.id}").get_data(as_text=True).split("<main", 1)[1]


def test_training_plans_are_loaded_only_into_a_training_tenant(app):
    state = get_tenant(app, "edomex")
    with tenant_context(state):
        with pytest.raises(ValueError, match="not a training tenant"):
            loaders.load_training_plans(state, DemoContext(tenant=state, user=None, log=lambda m: None))
    training = dataclasses.replace(state, training=True)
    with tenant_context(training):
        ctx = DemoContext(tenant=training, user=None, log=lambda m: None)
        assert loaders.load_training_plans(training, ctx) == 2
        assert loaders.load_training_plans(training, ctx) == 0
        plans = db.session.scalars(select(ActionPlan).order_by(ActionPlan.number)).all()
        national, jalisco = plans
        assert national.framework == "ogp_national" and len(national.commitments) == 13
        by_number = {c.number: c for c in national.commitments}
        assert by_number[2].progress == 77.86 and by_number[2].progress_manual
        assert by_number[1].progress is None and "7.5 % / 78.33 %" in by_number[1].notes   # ambiguous: left empty
        assert by_number[13].external_id == "MX0087" and by_number[13].progress == 100.0
        assert jalisco.approval_date == D(2016, 11, 30) and len(jalisco.commitments) == 6
        assert jalisco.expected_commitments == 7 and "séptimo" in jalisco.notes


def test_tenant_settings_drive_the_defaults(app, tmp_path):
    tenant = get_tenant(app, "hidalgo")
    custom = dataclasses.replace(tenant, plugin_settings={**tenant.plugin_settings, "action_plans": {
        "default_commitments": 3, "validity_months": 6, "statuses": ["not_started", "started", "completed"],
        "agenda_days": 30}})
    with tenant_context(custom):
        loaders.load_demo_plans(custom, DemoContext(tenant=custom, user=None, log=lambda m: None), today=D(2025, 7, 15))
        plan = db.session.scalar(select(ActionPlan))
        assert len(plan.commitments) == 3 and plan.expected_commitments == 3
        assert (plan.valid_from, plan.valid_until) == (D(2025, 1, 1), D(2025, 6, 30))
        assert services.statuses(custom) == ("not_started", "started", "completed")
    # invalid values in tenant.toml stop start-up with the file, the key and the problem
    folder = tmp_path / "hidalgo"
    folder.mkdir()
    text = (tenant.path / "tenant.toml").read_text(encoding="utf-8").replace("logo = \"logo.svg\"\n", "")
    (folder / "tenant.toml").write_text(text + "\n[plugin_settings.action_plans]\ndefault_commitments = 0\n", encoding="utf-8")
    specs = {name: {} for name in tenant.plugins}
    specs["action_plans"] = tenant_settings()
    with pytest.raises(TenantConfigError, match="plugin_settings.action_plans.default_commitments"):
        load_tenant(folder / "tenant.toml", specs)
    (folder / "tenant.toml").write_text(text + "\n[plugin_settings.action_plans]\nstatuses = [\"hecho\"]\n", encoding="utf-8")
    with pytest.raises(TenantConfigError, match="statuses"):
        load_tenant(folder / "tenant.toml", specs)


def test_cli_refuses_states_for_training_and_exports_a_plan(app, runner, make_plan):
    result = runner.invoke(args=["action-plans", "load-training", "--tenant", "edomex"])
    assert result.exit_code != 0 and "not a training tenant" in result.output
    result = runner.invoke(args=["action-plans", "load-training", "--tenant", "atlantida"])
    assert result.exit_code != 0 and "unknown tenant" in result.output
    make_plan(title="Plan exportado")
    result = runner.invoke(args=["action-plans", "export", "--tenant", "edomex", "1", "--semicolon"])
    assert result.exit_code == 0, result.output
    # the tenant's language (edomex: Spanish) unless --language says otherwise
    assert result.output.lstrip("\ufeff").startswith("registro;plan;compromiso;hito;id_externo;título;")
    assert "compromiso;1;1;" in result.output and ";iniciado;" in result.output
    assert "Compromiso 1 de edomex" in result.output
    result = runner.invoke(args=["action-plans", "export", "--tenant", "edomex", "1", "--language", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.lstrip("\ufeff").startswith("record,plan,commitment,milestone,")
    assert ",started," in result.output
    result = runner.invoke(args=["action-plans", "export", "--tenant", "edomex", "9"])
    assert result.exit_code != 0 and "no plan number 9" in result.output
