"""Training tenant (states/capacitacion) and its participant workspaces: scenario load, reset
(dump before/after compare; all, one workspace, "start at exercise N"), participants with
expiring accounts and a printable sheet, workspace isolation, exercises and "check my work"
(web and CLI), the trainer's overview, and training data kept off the states' sites."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from comun_cms import training
from comun_cms.extensions import db
from comun_cms.models import Membership, Page
from comun_cms.tenancy import tenant_context
from comun_cms.users import find_user

SLUG = "capacitacion"
PLUGIN_TASKS = {4: ["stl_minutes.installation"], 5: ["cocreation.moderate"], 6: ["cocreation.tree"],
                7: ["cocreation.call"], 8: ["cocreation.workshop"], 9: ["cocreation.table"], 10: ["cocreation.results"],
                11: ["action_plans.cocreate_plan"], 12: ["criteria.evaluate"],
                13: ["notary.verify_receipt", "action_plans.report_progress"]}


def _tenant(app, slug=SLUG):
    return app.extensions["comun"].tenants[slug]


def _ws(app, n):
    return _tenant(app, f"{SLUG}-{n:02d}")


def _who(app, n):
    return training.participant(_ws(app, n))


def _publish_page(app, user, ws, slug, *, text, section="links", title="Trabajo"):
    from comun_cms.publishing import publish
    with tenant_context(ws):
        page = Page(slug=slug, title=title, body=text, section=section)
        db.session.add(page)
        db.session.commit()
        publish(page, user=user)
    return page


def test_training_tenant_and_its_workspaces_are_configured(app):
    tenant = _tenant(app)
    assert tenant.training and tenant.state == "Estado de Ejemplo" and tenant.workspaces == 30
    for plugin in ("criteria", "stl_minutes", "action_plans", "notary"):
        assert tenant.enables(plugin)
    spaces = training.workspaces_of(app, tenant)
    assert [w.slug for w in spaces] == [f"capacitacion-{n:02d}" for n in range(1, 31)]
    ws = spaces[6]
    assert (ws.training, ws.is_workspace, ws.workspace_of, ws.workspace_number) == (True, True, SLUG, 7)
    assert ws.plugins == tenant.plugins and ws.hosts == () and ws.workspaces == 0
    assert not tenant.is_workspace
    assert training.training_tenant(app) is tenant
    with pytest.raises(training.TrainingError, match="participant workspace"):
        training.training_tenant(app, ws.slug)
    with pytest.raises(training.TrainingError, match="workspaces = N"):
        training.get_workspace(app, tenant, 31)


def test_exercises_follow_the_13_steps_with_the_plugins_tasks(app):
    steps = training.strategy_steps()
    exs = training.exercises(_tenant(app))
    assert len(exs) == 13 == len(steps) and [e.step for e in exs] == list(steps)
    assert exs[0].step == "Firma de la Declaratoria de Gobierno Abierto"
    for ex in exs:
        expected = PLUGIN_TASKS.get(ex.number, [f"core.page_{ex.number:02d}"])
        assert sorted(t.key for t in ex.tasks) == sorted(expected), ex.number
        assert ex.goals and ex.steps
        for task in ex.tasks:
            assert task.title and callable(task.check) and callable(task.solve)
    # without an application: the core's page tasks only
    assert [t.key for t in training.EXERCISES[3].tasks] == ["core.page_04"]
    with pytest.raises(training.TrainingError):
        training.get_exercise(14)


def test_state_tenants_refuse_training_operations(app):
    edomex = _tenant(app, "edomex")
    with pytest.raises(training.TrainingError):
        training.load_scenario(app, edomex)
    with pytest.raises(training.TrainingError):
        training.reset(app, edomex)
    with pytest.raises(training.TrainingError):
        training.create_participants(app, edomex, 2, dt.date.today())


def test_participants_get_workspaces_accounts_that_expire_and_a_sheet(app):
    from pathlib import Path
    tenant = _tenant(app)
    day = dt.date.today() + dt.timedelta(days=4)
    logins = training.create_participants(app, tenant, 3, day, workshop="hgo-2026")
    assert [x["email"].split("@")[0] for x in logins] == [f"participante-0{i}-hgo-2026" for i in (1, 2, 3)]
    assert [x["workspace"] for x in logins] == ["capacitacion-01", "capacitacion-02", "capacitacion-03"]
    editor, evaluator = find_user(logins[0]["email"]), find_user(logins[0]["evaluator_email"])
    assert editor.check_password(logins[0]["password"]) and evaluator.check_password(logins[0]["password"])
    assert editor.expires_at == dt.datetime.combine(day + dt.timedelta(days=2), dt.time(0), tzinfo=dt.timezone.utc)
    editor.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    assert not editor.is_active
    # each account has one role, in its own workspace only
    for user, role in ((editor, "editor"), (evaluator, "evaluator")):
        rows = db.session.execute(select(Membership.tenant_id, Membership.role).where(Membership.user_id == user.id)
                                  .execution_options(all_tenants=True)).all()
        assert [tuple(r) for r in rows] == [("capacitacion-01", role)]
    who = _who(app, 1)
    assert (who.editor.id, who.evaluator.id) == (editor.id, evaluator.id)
    # every workspace got the scenario and its snapshot
    for n in (1, 2, 3):
        assert training.snapshot_path(app, _ws(app, n)).exists()
    assert not training.snapshot_path(app, _ws(app, 4)).exists()
    text = (Path(app.instance_path) / "training" / "hgo-2026-accesos.html").read_text()
    assert all(x["password"] in text and x["workspace"] in text and x["evaluator_email"] in text for x in logins)
    assert '<html lang="es">' in text and "Cuenta SESEA (edición)" in text  # the tenant's language
    with pytest.raises(training.TrainingError, match="between 1 and 30"):
        training.create_participants(app, tenant, 31, day)
    with pytest.raises(training.TrainingError, match="workshop name"):
        training.create_participants(app, tenant, 1, day, workshop="taller de hoy")
    with pytest.raises(training.TrainingError, match="would already have expired"):
        training.create_participants(app, tenant, 1, dt.date.today() - dt.timedelta(days=3))


def test_expired_participant_accounts_cannot_log_in(app, client):
    login = training.create_participants(app, _tenant(app), 1, dt.date.today())[0]
    user = find_user(login["email"])
    user.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    db.session.commit()
    response = client.post("/auth/login", data={"email": login["email"], "password": login["password"]})
    assert response.status_code != 303 and "capacitacion-01" not in response.headers.get("Location", "")
    assert client.get("/capacitacion-01/admin/").status_code == 302  # still anonymous


def test_a_workspace_changing_hands_is_restored_and_the_same_workshop_keeps_its_work(app, make_user):
    tenant = _tenant(app)
    state_editor = make_user("editora@edomex.test", "editor", "edomex")
    trainer = make_user("formadora@capacitacion.test", "trainer", SLUG)
    first = training.create_participants(app, tenant, 1, dt.date.today(), workshop="uno")[0]
    _publish_page(app, find_user(first["email"]), _ws(app, 1), "mi-trabajo", text="trabajo")
    training.create_participants(app, tenant, 1, dt.date.today(), workshop="uno")  # same accounts: work kept
    with tenant_context(_ws(app, 1)):
        assert db.session.scalar(select(Page.id).where(Page.slug == "mi-trabajo")) is not None
    second = training.create_participants(app, tenant, 1, dt.date.today(), workshop="dos")[0]
    with tenant_context(_ws(app, 1)):
        assert db.session.scalar(select(Page.id).where(Page.slug == "mi-trabajo")) is None
        holders = set(db.session.scalars(select(Membership.user_id)))
    assert holders == {find_user(second["email"]).id, find_user(second["evaluator_email"]).id}
    # nobody else's roles were touched
    others = db.session.execute(select(Membership.tenant_id, Membership.user_id).where(
        Membership.user_id.in_([state_editor.id, trainer.id])).execution_options(all_tenants=True)).all()
    assert sorted(tuple(r) for r in others) == sorted([("edomex", state_editor.id), (SLUG, trainer.id)])


def test_reset_restores_every_workspace_exactly_and_keeps_the_accounts(app):
    tenant = _tenant(app)
    training.load_scenario(app, tenant)
    training.create_participants(app, tenant, 2, dt.date.today())
    before = {}
    for t in (tenant, _ws(app, 1), _ws(app, 2)):
        with tenant_context(t):
            before[t.slug] = training.dump_tenant(t)
    assert len(before[SLUG]["pages"]) >= 13 and before["capacitacion-01"]["publications"]
    assert not [p for p in before["capacitacion-01"]["pages"] if p["slug"].startswith("ejercicio-")]
    for n in (1, 2):
        who = _who(app, n)
        _publish_page(app, who.editor, who.workspace, "paso-01", text="declaratoria firma")
    with tenant_context(_ws(app, 1)):
        assert training.dump_tenant(_ws(app, 1)) != before["capacitacion-01"]
    info = training.reset(app, tenant)
    assert info["tenants"] == [SLUG, "capacitacion-01", "capacitacion-02"]
    for t in (tenant, _ws(app, 1), _ws(app, 2)):
        with tenant_context(t):
            assert training.dump_tenant(t) == before[t.slug], t.slug
    assert info["rows"] == sum(len(rows) for dump in before.values() for rows in dump.values())
    assert _who(app, 1).editor is not None  # accounts survive
    assert training.load_scenario(app, tenant)["exercises"] == 0  # loading again adds nothing


def test_reset_without_a_training_tenant_scenario_restores_the_workspaces(app):
    tenant = _tenant(app)
    training.create_participants(app, tenant, 1, dt.date.today())  # no `comun training load`
    who = _who(app, 1)
    _publish_page(app, who.editor, who.workspace, "paso-01", text="declaratoria firma")
    assert training.reset(app, tenant)["tenants"] == ["capacitacion-01"]
    with tenant_context(who.workspace):
        assert db.session.scalar(select(Page.id).where(Page.slug == "paso-01")) is None


def test_a_failing_model_answer_names_the_task_and_keeps_the_workspace_whole(app, register_plugin):
    from comun_cms import hookimpl

    class Broken:
        @hookimpl
        def training_tasks(self):
            def solve(who):
                raise RuntimeError("sin datos")
            return [training.TrainingTask(step=2, key="roto.tarea", title="Tarea rota", goals=(), steps=(),
                                          check=lambda who: [], solve=solve)]
    tenant = _tenant(app)
    training.create_participants(app, tenant, 1, dt.date.today())
    register_plugin(Broken(), "roto")
    who = _who(app, 1)
    _publish_page(app, who.editor, who.workspace, "mi-trabajo", text="trabajo")
    with pytest.raises(training.TrainingError, match="roto.tarea.*exercise 2.*sin datos"):
        training.reset(app, tenant, exercise=3, workspace=1)
    with tenant_context(who.workspace):  # rolled back: the participant's work is still there
        assert db.session.scalar(select(Page.id).where(Page.slug == "mi-trabajo")) is not None
    # ... and so is the notary log with the key that signed it
    from plugins.notary.audit import audit_tenant
    report = audit_tenant(who.workspace)
    assert report.ok, report.faults


def _cosigners(ws):
    from plugins.notary import services
    from plugins.notary.models import Cosignature
    with tenant_context(ws):
        cp = services.latest_checkpoint()
        return cp.size, sorted(db.session.scalars(select(Cosignature.witness).where(Cosignature.checkpoint_id == cp.id)))


@pytest.mark.parametrize("how", ["reset one workspace", "workspace changes hands"])
def test_the_training_tenant_keeps_witnessing_a_workspace_after_its_reset(app, how):
    from plugins.notary.audit import audit_tenant
    tenant = _tenant(app)
    training.create_participants(app, tenant, 1, dt.date.today(), workshop="uno")
    for n in range(3):  # the log grows beyond the scenario
        _publish_page(app, _who(app, 1).editor, _ws(app, 1), f"antes-{n}", text="trabajo")
    size_before, cosigners = _cosigners(_ws(app, 1))
    assert cosigners, "the training tenant cosigns its workspaces' checkpoints"
    if how == "reset one workspace":
        training.reset(app, tenant, workspace=1)
    else:
        training.create_participants(app, tenant, 1, dt.date.today(), workshop="dos")
    _publish_page(app, _who(app, 1).editor, _ws(app, 1), "despues", text="trabajo")
    size_after, cosigners_after = _cosigners(_ws(app, 1))
    assert size_after < size_before and cosigners_after == cosigners  # a smaller, new log, cosigned again
    assert audit_tenant(_ws(app, 1)).ok


def test_reset_one_workspace_leaves_the_others(app):
    tenant = _tenant(app)
    training.create_participants(app, tenant, 2, dt.date.today())
    for n in (1, 2):
        who = _who(app, n)
        _publish_page(app, who.editor, who.workspace, "paso-01", text="declaratoria firma")
    training.reset(app, tenant, workspace=2)
    with tenant_context(_ws(app, 1)):
        assert db.session.scalar(select(Page.id).where(Page.slug == "paso-01")) is not None
    with tenant_context(_ws(app, 2)):
        assert db.session.scalar(select(Page.id).where(Page.slug == "paso-01")) is None
    with pytest.raises(training.TrainingError, match="no scenario snapshot"):
        training.reset(app, tenant, workspace=5)
    with pytest.raises(training.TrainingError, match="no exercise 14"):
        training.reset(app, tenant, exercise=14)


def test_reset_to_an_exercise_applies_the_model_answers_before_it(app):
    tenant = _tenant(app)
    training.load_scenario(app, tenant)
    training.create_participants(app, tenant, 1, dt.date.today())
    who = _who(app, 1)
    assert not any(r.done for r in training.progress(who))  # the scenario counts for nothing
    training.reset(app, tenant, exercise=13)
    done = [r.done for r in training.progress(who)]
    assert done == [True] * 12 + [False]
    # the answers of exercise 13 complete the workshop
    with tenant_context(who.workspace):
        for task in training.get_exercise(13, who.workspace).tasks:
            task.solve(who)
        db.session.commit()
    assert all(r.done for r in training.progress(who))
    # the base tenant is only restored (nobody works there)
    with tenant_context(tenant):
        assert db.session.scalar(select(Page.id).where(Page.slug == "paso-01")) is None
    training.reset(app, tenant, exercise=3, workspace=1)
    assert [r.done for r in training.progress(who)][:4] == [True, True, False, False]


def test_check_my_work_looks_only_at_the_participants_own_workspace(app):
    training.create_participants(app, _tenant(app), 2, dt.date.today())
    a, b = _who(app, 1), _who(app, 2)
    first = training.check_exercise(a, 1)
    assert not first.done and len(first.items) == 1  # the page does not exist yet
    _publish_page(app, a.editor, a.workspace, "paso-01", text="Declaratoria: firma del acuerdo")
    assert training.check_exercise(a, 1).done
    assert not training.check_exercise(b, 1).done  # b's workspace is untouched
    _publish_page(app, b.editor, b.workspace, "paso-01", text="Sin palabras clave", section="join")
    res = training.check_exercise(b, 1)
    missing = [i.label for i in res.items if not i.done]
    assert not res.done and any("Links of interest" in m for m in missing) and any("firma" in m for m in missing)


def test_participants_work_in_isolated_workspaces_through_the_admin(app, client, login_as):
    from comun_cms.models import User  # noqa: F401
    training.create_participants(app, _tenant(app), 2, dt.date.today())
    a, b = _who(app, 1), _who(app, 2)
    login_as(a.editor)
    assert client.get("/capacitacion-01/admin/").status_code == 200
    for url in ("/capacitacion-02/admin/", "/capacitacion-02/admin/paginas", "/capacitacion/admin/paginas",
                "/capacitacion-02/capacitacion/1/revisar", "/capacitacion/capacitacion/avance"):
        assert client.get(url).status_code == 403, url
    # the core's task of exercise 1, end to end through the admin forms
    form = {"title": "Declaratoria de Gobierno Abierto", "slug": "paso-01", "summary": "Firmada.",
            "body": "La declaratoria lleva la firma de las instituciones.", "section": "links", "language": "es"}
    created = client.post("/capacitacion-01/admin/paginas/nueva", data=form)
    assert created.status_code == 303
    edit_url = created.headers["Location"]
    html = client.get("/capacitacion-01/capacitacion/1/revisar").get_data(as_text=True)
    assert "Not finished yet" in html and "You published it" in html
    assert client.post(f"{edit_url}/publicar").status_code == 303
    html = client.get("/capacitacion-01/capacitacion/1/revisar").get_data(as_text=True)
    assert "Exercise complete" in html and "✘" not in html
    # the page is on workspace 1's public site only
    assert client.get("/capacitacion-01/p/paso-01").status_code == 200
    assert client.get("/capacitacion-02/p/paso-01").status_code == 404
    assert client.get("/capacitacion/p/paso-01").status_code == 404
    # the other participant cannot change it, and their own check is untouched
    login_as(b.editor)
    assert client.post(edit_url, data=form).status_code == 403
    assert "Not finished yet" in client.get("/capacitacion-02/capacitacion/1/revisar").get_data(as_text=True)
    # from the training site, "check my work" leads to the participant's own workspace
    response = client.get("/capacitacion/capacitacion/1/revisar")
    assert response.status_code == 303 and response.headers["Location"].endswith("/capacitacion-02/capacitacion/1/revisar")
    assert "capacitacion-02" in client.get("/capacitacion/capacitacion/").get_data(as_text=True)


def test_trainer_follows_every_workspace(app, client, login_as, make_user):
    training.create_participants(app, _tenant(app), 2, dt.date.today())
    who = _who(app, 2)
    _publish_page(app, who.editor, who.workspace, "paso-01", text="declaratoria firma")
    trainer = make_user("formadora@capacitacion.test", "trainer", SLUG)
    login_as(trainer)
    overview = client.get("/capacitacion/capacitacion/avance")
    assert overview.status_code == 200
    html = overview.get_data(as_text=True)
    assert "participante-01-taller" in html and "participante-02-taller" in html
    assert "1/13" in html and "0/13" in html
    assert client.get("/capacitacion-02/capacitacion/1/revisar").status_code == 200
    assert client.get("/capacitacion-02/admin/").status_code == 403  # follows, does not edit
    anonymous = app.test_client()
    assert anonymous.get("/capacitacion/capacitacion/avance").status_code == 302


def test_exercise_pages_link_to_where_each_task_starts(app, client, login_as):
    training.create_participants(app, _tenant(app), 1, dt.date.today())
    anonymous = app.test_client()
    page = anonymous.get(f"/{SLUG}/capacitacion/")
    assert page.status_code == 200 and "Firma de la Declaratoria" in page.get_data(as_text=True)
    assert anonymous.get("/edomex/capacitacion/").status_code == 404
    assert anonymous.get(f"/{SLUG}/capacitacion/4/revisar").status_code == 302  # log in first
    login_as(_who(app, 1).editor)
    for number in range(1, 14):
        ex = training.get_exercise(number, _ws(app, 1))
        html = client.get(f"/capacitacion-01/capacitacion/{number}").get_data(as_text=True)
        for task in ex.tasks:
            assert task.title in html
            if task.start_endpoint:
                from flask import url_for
                with app.test_request_context(f"/capacitacion-01/capacitacion/{number}"):
                    app.preprocess_request()
                    target = url_for(task.start_endpoint)
                assert f'href="{target}"' in html, (number, task.key)
                assert client.get(target).status_code == 200, (number, task.key, target)
    assert "Your training workspace" in client.get("/capacitacion-01/admin/").get_data(as_text=True)


def test_training_data_stays_off_the_states_portal_search_and_open_data(app):
    tenant = _tenant(app)
    training.load_scenario(app, tenant)
    training.create_participants(app, tenant, 1, dt.date.today())
    who = _who(app, 1)
    _publish_page(app, who.editor, who.workspace, "paso-01", text="zanahoria única de capacitación",
                  title="Trabajo zanahoria")
    service = app.extensions["comun"].search
    service.drain_outbox()
    client = app.test_client()
    portal = client.get("/").get_data(as_text=True)
    assert "Estado de Ejemplo" not in portal and "Ejercicio 1" not in portal and "capacitacion" not in portal
    for slug in ("edomex", "hidalgo", "puebla"):
        assert "Ejercicio 1:" not in client.get(f"/{slug}/").get_data(as_text=True)
    assert SLUG not in client.get("/api/plugins").get_data(as_text=True)
    for url in ("/buscar?q=Ejercicio", "/api/v1/search?q=Ejercicio", "/buscar?q=zanahoria", "/api/v1/search?q=zanahoria"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        body = resp.get_data(as_text=True)
        assert "Ejercicio 1:" not in body and "Trabajo zanahoria" not in body, url
        assert f"/{SLUG}" not in body, url
    for url in ("/datos/", "/datos/pages.csv", "/datos/pages.json", "/datos/data.json"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        body = resp.get_data(as_text=True)
        assert "Ejercicio 1:" not in body and "Estado de Ejemplo" not in body and "zanahoria" not in body, url
    assert client.get(f"/api/v1/search?q=Ejercicio&tenant={SLUG}").status_code == 400
    # the workspace's own search finds its own work
    assert "Trabajo zanahoria" in client.get("/capacitacion-01/buscar?q=zanahoria").get_data(as_text=True)
    assert "Trabajo zanahoria" not in client.get("/capacitacion-02/buscar?q=zanahoria").get_data(as_text=True)


def test_workspaces_are_witnessed_by_their_training_tenant_only(app):
    from plugins.notary import services
    tenant = _tenant(app)
    ws = _ws(app, 3)
    assert [t.slug for t in services.peer_tenants(ws)] == [SLUG]
    assert "capacitacion-03" in [t.slug for t in services.witnessed_tenants(tenant)]
    assert not services.witnessed_tenants(ws)
    assert all(not t.is_workspace for t in services.peer_tenants(tenant))
    assert {t.slug for t in services.peer_tenants(_tenant(app, "edomex"))} == {"hidalgo", "puebla"}


def test_cli_training_commands(app, runner):
    out = runner.invoke(args=["training", "exercises"])
    assert out.exit_code == 0 and out.output.count("\n") == 13 and "stl_minutes.installation" in out.output
    res = runner.invoke(args=["training", "reset"])
    assert res.exit_code != 0 and "comun training load" in res.output
    bad = runner.invoke(args=["training", "reset", "--tenant", "edomex"])
    assert bad.exit_code != 0 and "not a training tenant" in bad.output
    assert "No workspace has a participant" in runner.invoke(args=["training", "progress"]).output
    day = (dt.date.today() + dt.timedelta(days=4)).isoformat()
    made = runner.invoke(args=["training", "participants", "2", "--date", day, "--workshop", "pue"])
    assert made.exit_code == 0, made.output
    assert "capacitacion-02" in made.output and "pue-accesos.html" in made.output
    too_many = runner.invoke(args=["training", "participants", "40", "--date", day])
    assert too_many.exit_code != 0 and "workspaces" in too_many.output
    checked = runner.invoke(args=["training", "check", "evaluador-01-pue@capacitacion.taller.test", "--exercise", "1"])
    assert checked.exit_code == 0 and "capacitacion-01" in checked.output and "pending" in checked.output
    assert runner.invoke(args=["training", "check", "nadie@example.org"]).exit_code != 0
    wrong_ws = runner.invoke(args=["training", "reset", "--workspace", "9"])
    assert wrong_ws.exit_code != 0 and "no scenario snapshot" in wrong_ws.output
    reset = runner.invoke(args=["training", "reset", "--workspace", "1", "--exercise", "2"])
    assert reset.exit_code == 0 and "capacitacion-01" in reset.output and "exercise 2" in reset.output, reset.output
    progress = runner.invoke(args=["training", "progress"])
    assert "capacitacion-01    ✔············  1/13" in progress.output
    assert "capacitacion-02    ·············  0/13" in progress.output


def test_reset_of_a_workspace_refreshes_its_cached_pages(app):
    app.config["PAGE_CACHE"] = True
    tenant = _tenant(app)
    training.create_participants(app, tenant, 1, dt.date.today())
    who = _who(app, 1)
    _publish_page(app, who.editor, who.workspace, "paso-01", text="declaratoria firma")
    visitor = app.test_client()
    url = f"/{who.workspace.slug}/p/paso-01"
    visitor.get(url)  # in tests the first request runs the indexer, which bumps the generation
    assert visitor.get(url).status_code == 200 and visitor.get(url).headers["X-Page-Cache"] == "hit"
    training.reset(app, tenant, workspace=1)
    assert visitor.get(url).status_code == 404
