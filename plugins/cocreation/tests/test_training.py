"""Training exercises of the co-creation plugin (steps 5–10) on the training tenant
``capacitacion``, used as the participant's workspace: the scenario hook (idempotent, never
commits, published by nobody, "Dato de ejemplo"), "check my work" on the fresh scenario and
against work that is not the participant's, every task done through the admin forms with its
partial states, the model answers, and the interface names the exercises quote, found on the
admin pages in Spanish."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import g
from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, Participant, Publication, db, publish, tenant_context, tenant_hook
from comun_cms.toolkit.testing import get_tenant, save_snapshot, training_reset

import plugins.cocreation as plugin
from plugins.cocreation import services as svc
from plugins.cocreation import training
from plugins.cocreation.models import (
    Call, CocreationTable, Problem, Process, Proposal, ResultsMinute, Tree, Workshop, table_problems,
)

SLUG = "capacitacion"
ADMIN = f"/{SLUG}/admin/cocreacion"


def _ctx(tenant):
    return DemoContext(tenant=tenant, user=None, log=lambda m: None)


def _load(app) -> None:
    """Load every enabled plugin's scenario (the action plans' gives the plans a proposal is
    converted into) and commit, as ``comun training load`` does."""
    tenant = get_tenant(app, SLUG)
    with tenant_context(tenant):
        tenant_hook(tenant, "training_scenario")(tenant=tenant, ctx=_ctx(tenant))
        db.session.commit()


@pytest.fixture
def participant(app, make_user):
    return Participant(workspace=get_tenant(app, SLUG),
                       editor=make_user("participante-editor@capacitacion.test", role="editor", tenant=SLUG),
                       evaluator=make_user("participante-osc@capacitacion.test", role="evaluator", tenant=SLUG))


def _done(participant, task) -> list[bool]:
    db.session.expire_all()
    with tenant_context(participant.workspace):
        return [i.done for i in task.check(participant)]


def _post(client, url, data=None):
    g.pop("_login_user", None)
    r = client.post(url, data=data or {})
    assert r.status_code in (302, 303), (url, r.status_code, r.get_data(as_text=True)[:3000])
    return r


def _ids(app, model, **where):
    with tenant_context(get_tenant(app, SLUG)):
        query = select(model.id).order_by(model.id)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(db.session.scalars(query))


# --------------------------------------------------------------------------- scenario
def test_scenario_loads_idempotently_without_committing_published_by_nobody(app):
    tenant = get_tenant(app, SLUG)
    with tenant_context(tenant):
        assert plugin.training_scenario(tenant=tenant, ctx=_ctx(tenant)) == 7   # process, 5 problems, table
        db.session.rollback()                                                   # the caller commits
        assert db.session.scalar(select(func.count(Process.id))) == 0
        plugin.training_scenario(tenant=tenant, ctx=_ctx(tenant))
        db.session.commit()
        assert plugin.training_scenario(tenant=tenant, ctx=_ctx(tenant)) == 0
        process = training.practice_process(tenant)
        assert process.title == "Cocreación del Plan de Acción Local del Estado de Ejemplo"
        assert process.status == "published" and process.is_demo and svc.consultation_state(process) == "open"
        problems = db.session.scalars(select(Problem)).all()
        assert all(p.is_demo for p in problems)
        assert sorted(p.moderation for p in problems) == ["pending", "pending", "published", "published", "published"]
        table = db.session.scalars(select(CocreationTable)).one()
        assert table.status == "published" and table.is_demo and table.sessions and table.problems
        assert db.session.scalar(select(func.count(Publication.id)).where(
            Publication.published_by_id.is_not(None))) == 0
    with tenant_context(get_tenant(app, "edomex")):
        assert plugin.training_scenario(tenant=get_tenant(app, "edomex"), ctx=_ctx(get_tenant(app, "edomex"))) == 0
        assert db.session.scalar(select(func.count(Process.id))) == 0


def test_the_hook_contributes_steps_5_to_10_and_the_exercise_pages_show_them(app, client, login_as, participant):
    tasks = {t.step: t for t in plugin.training_tasks()}
    assert {n: t.key for n, t in tasks.items()} == {
        5: "cocreation.moderate", 6: "cocreation.tree", 7: "cocreation.call", 8: "cocreation.workshop",
        9: "cocreation.table", 10: "cocreation.results"}
    _load(app)
    login_as(participant.editor, tenant=SLUG)
    for number, task in tasks.items():
        g.pop("_login_user", None)
        page = client.get(f"/{SLUG}/capacitacion/{number}").get_data(as_text=True)
        assert task.title in page and "paso-" not in page, number      # the plugin's task, not "write a page"


def test_a_reset_restores_the_practice_table_and_drops_the_participants_links(app, participant):
    """``cc_table_problems`` has no tenant column, so the core's snapshot misses it: the plugin's
    ``tenant_reset`` rebuilds the practice table's links and drops those of deleted tables."""
    _load(app)
    tenant = participant.workspace
    save_snapshot(app, tenant)
    with tenant_context(tenant):
        for task in (training.TABLE_TASK, training.RESULTS_TASK):
            task.solve(participant)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(table_problems)) == 3
    training_reset(app, tenant)
    db.session.expire_all()
    with tenant_context(tenant):
        tables = db.session.scalars(select(CocreationTable)).all()
        assert [t.title for t in tables] == [training.SCENARIO_TABLE[0]]
        assert sorted(p.title for p in tables[0].problems) == sorted(
            t for k, t, *_r in training.SCENARIO_PROBLEMS if k in ("works", "committees"))
        assert db.session.scalar(select(func.count()).select_from(table_problems)) == 2
        assert all(not any(i.done for i in task.check(participant)) for task in plugin.training_tasks())


# --------------------------------------------------------------------------- checks
def test_on_the_fresh_scenario_nothing_is_done(app, participant):
    _load(app)
    for task in plugin.training_tasks():
        with tenant_context(participant.workspace):
            items = task.check(participant)
        assert items and not any(i.done for i in items) and all(i.hint for i in items), task.key


def test_work_of_someone_else_does_not_count(app, participant, make_user):
    """A tree and a merge done by another account of the workspace (or by nobody) are not the
    participant's work."""
    _load(app)
    other = make_user("otra-persona@capacitacion.test", role="editor", tenant=SLUG)
    tenant = participant.workspace
    with tenant_context(tenant):
        process = training.practice_process(tenant)
        rows = {p.title: p for p in db.session.scalars(select(Problem))}
        svc.merge_problem(rows[training.SCENARIO_PROBLEMS[4][1]], rows[training.SCENARIO_PROBLEMS[0][1]], other)
        tree = Tree(problem_id=rows[training.SCENARIO_PROBLEMS[0][1]].id, kind="problem", core="Opacidad",
                    roots="- Una\n  - Dos\n- Tres", branches="- Efecto")
        db.session.add(tree)
        db.session.flush()
        publish(tree, user=other, commit=False)
        db.session.commit()
        assert process.id
    assert _done(participant, training.MODERATE_TASK) == [False, False]
    assert not any(_done(participant, training.TREE_TASK))


def test_steps_5_and_6_through_the_admin_forms(app, client, login_as, participant):
    _load(app)
    login_as(participant.editor, tenant=SLUG)
    with tenant_context(participant.workspace):
        rows = {p.title: p.id for p in db.session.scalars(select(Problem))}
    titles = {key: title for key, title, *_rest in training.SCENARIO_PROBLEMS}
    _post(client, f"{ADMIN}/problemas/{rows[titles['to_publish']]}/publicar")
    assert _done(participant, training.MODERATE_TASK) == [True, False]
    # merging into itself is refused: still not done
    _post(client, f"{ADMIN}/problemas/{rows[titles['duplicate']]}/fusionar", {"target": rows[titles["duplicate"]]})
    assert _done(participant, training.MODERATE_TASK) == [True, False]
    _post(client, f"{ADMIN}/problemas/{rows[titles['duplicate']]}/fusionar", {"target": rows[titles["works"]]})
    assert _done(participant, training.MODERATE_TASK) == [True, True]

    url = f"{ADMIN}/problemas/{rows[titles['works']]}/arboles"
    _post(client, url, {"kind": "problem", "problem-core": "Opacidad en la obra pública",
                        "problem-roots": "- Sin reglas de publicación", "problem-branches": ""})
    assert _done(participant, training.TREE_TASK) == [True, False, False, False]
    _post(client, url, {"kind": "problem", "problem-core": "Opacidad en la obra pública",
                        "problem-roots": "- Sin reglas de publicación\n  - El reglamento no lo exige\n- Sin capacitación",
                        "problem-branches": "- Nadie vigila las obras", "reason": "Se completó el árbol"})
    assert all(_done(participant, training.TREE_TASK))
    # a solution tree is not the problem tree the exercise asks for
    with tenant_context(participant.workspace):
        assert db.session.scalar(select(func.count(Tree.id)).where(Tree.kind == "solution")) == 0


def test_steps_7_and_8_through_the_admin_forms(app, client, login_as, participant):
    _load(app)
    login_as(participant.editor, tenant=SLUG)
    tenant = participant.workspace
    with tenant_context(tenant):
        pid = training.practice_process(tenant).id
        table_id = db.session.scalar(select(CocreationTable.id).where(CocreationTable.is_demo.is_(True)))
        today = svc.tenant_today(tenant)
    call = {"title": "Convocatoria a las mesas", "body": "Participe en las mesas de cocreación."}
    _post(client, f"{ADMIN}/{pid}/convocatoria", call)
    _post(client, f"{ADMIN}/{pid}/convocatoria/publicar")
    assert _done(participant, training.CALL_TASK) == [True, False, False]      # no registration dates
    _post(client, f"{ADMIN}/{pid}/convocatoria", {**call, "registration_opens": today.isoformat(),
                                                   "registration_closes": (today + dt.timedelta(days=20)).isoformat(),
                                                   "reason": "Fechas de registro"})
    assert _done(participant, training.CALL_TASK) == [True, True, False]
    _post(client, f"{ADMIN}/mesas/{table_id}/inscripciones", {"name": "Rosa Pérez", "email": "rosa@example.org",
                                                               "sector": "academia"})
    assert all(_done(participant, training.CALL_TASK))

    _post(client, f"{ADMIN}/{pid}/talleres", {
        "title": "Taller de sensibilización", "description": "Qué es la cocreación.",
        "starts_at": f"{(today + dt.timedelta(days=5)).isoformat()}T17:00",
        "ends_at": f"{(today + dt.timedelta(days=5)).isoformat()}T19:00", "place": "Sala de juntas"})
    [wid] = _ids(app, Workshop)
    assert _done(participant, training.WORKSHOP_TASK) == [False, False, False]   # saved, not published
    _post(client, f"{ADMIN}/talleres/{wid}/materiales", {"m-title": "Presentación", "m-url": "https://example.org/p.pdf"})
    _post(client, f"{ADMIN}/talleres/{wid}/publicar")
    assert all(_done(participant, training.WORKSHOP_TASK))


def test_steps_9_and_10_through_the_admin_forms(app, client, login_as, participant):
    _load(app)
    login_as(participant.editor, tenant=SLUG)
    tenant = participant.workspace
    with tenant_context(tenant):
        process = training.practice_process(tenant)
        pid = process.id
        problem = db.session.scalar(select(Problem).where(Problem.moderation == "published").order_by(Problem.id))
        prob_id, theme = problem.id, problem.theme
        today = svc.tenant_today(tenant)
    _post(client, f"{ADMIN}/{pid}/mesas", {"title": "Mesa de obra pública", "theme": theme})
    [tid] = [i for i in _ids(app, CocreationTable) if i not in _ids(app, CocreationTable, is_demo=True)]
    _post(client, f"{ADMIN}/mesas/{tid}/publicar")
    assert _done(participant, training.TABLE_TASK) == [True, False, False]
    _post(client, f"{ADMIN}/mesas/{tid}", {"title": "Mesa de obra pública", "theme": theme, "problems": [prob_id],
                                           "reason": "Se agregó el problema que atiende"})
    _post(client, f"{ADMIN}/mesas/{tid}/sesiones", {"day": (today - dt.timedelta(days=3)).isoformat(),
                                                    "starts": "10:00", "ends": "12:00", "reason": "Sesión"})
    assert all(_done(participant, training.TABLE_TASK))

    assert _done(participant, training.RESULTS_TASK) == [False, False, False]
    _post(client, f"{ADMIN}/mesas/{tid}/minuta", {"held_on": (today - dt.timedelta(days=1)).isoformat(),
                                                  "summary": "Acuerdos de la mesa."})
    _post(client, f"{ADMIN}/mesas/{tid}/minuta/propuestas", {
        "title": "Publicar el avance de cada obra", "problem_id": prob_id,
        "responsible_institution": "Secretaría de Obras Públicas"})
    _post(client, f"{ADMIN}/mesas/{tid}/minuta/aprobar")
    assert _done(participant, training.RESULTS_TASK) == [False, True, False]      # approved is not locked
    _post(client, f"{ADMIN}/mesas/{tid}/minuta/publicar")
    assert _done(participant, training.RESULTS_TASK) == [True, True, False]
    with tenant_context(tenant):
        from plugins.cocreation import origin
        plan_id = origin.plan_choices()[0][0]
        proposal_id = db.session.scalar(select(Proposal.id))
    _post(client, f"{ADMIN}/{pid}/propuestas", {"proposal": proposal_id, "plan": plan_id})
    assert all(_done(participant, training.RESULTS_TASK))


def test_model_answers_make_every_check_pass_and_are_idempotent(app, participant):
    _load(app)
    tenant = participant.workspace
    with tenant_context(tenant):
        for task in plugin.training_tasks():
            task.solve(participant)
            db.session.commit()
        for task in plugin.training_tasks():       # a second run changes nothing and still passes
            task.solve(participant)
            db.session.commit()
        for task in plugin.training_tasks():
            items = task.check(participant)
            assert all(i.done for i in items), (task.key, [i.label for i in items if not i.done])
        assert db.session.scalar(select(func.count(ResultsMinute.id))) == 1
        assert db.session.scalar(select(func.count(Proposal.id)).where(Proposal.commitment_id.is_not(None))) == 1
        assert db.session.scalar(select(func.count(Tree.id))) == 1


# --------------------------------------------------------------------------- the names the exercises quote
def test_quoted_interface_names_are_on_the_admin_pages_in_spanish(app, client, login_as, participant, spanish):
    _load(app)
    tenant = participant.workspace
    with tenant_context(tenant):
        table = training.solve_table(participant)
        from plugins.cocreation import minutes as minutes_svc
        minute = minutes_svc.minute_for(table, create=True)
        minutes_svc.save_minute(minute, held_on=svc.tenant_today(tenant) - dt.timedelta(days=1), summary="")
        minutes_svc.add_proposal(minute, title="Propuesta", problem_id=table.problems[0].id,
                                 responsible_institution="Secretaría")
        minutes_svc.approve_minute(minute)
        minutes_svc.publish_minute(minute, user=participant.editor)   # locked, its proposal not converted yet
        db.session.commit()
        process = training.practice_process(tenant)
        pid = process.id
        published_id = db.session.scalar(select(Problem.id).where(Problem.moderation == "published"))
        table_id = db.session.scalar(select(CocreationTable.id).where(CocreationTable.is_demo.is_(False)))
    login_as(participant.editor, tenant=SLUG)
    pages = ""
    for url in (f"/{SLUG}/admin/", f"{ADMIN}/", f"{ADMIN}/{pid}", f"{ADMIN}/{pid}/problemas",
                f"{ADMIN}/problemas/{published_id}/arboles", f"{ADMIN}/{pid}/mesas", f"{ADMIN}/mesas/{table_id}",
                f"{ADMIN}/{pid}/propuestas", f"/{SLUG}/capacitacion/5"):
        g.pop("_login_user", None)
        response = client.get(url)
        assert response.status_code == 200, url
        pages += response.get_data(as_text=True)
    # the draft minute page of a new table shows the minute's buttons
    with tenant_context(tenant):
        new = CocreationTable(process_id=pid, title="Mesa nueva", theme=svc.themes(tenant)[0])
        db.session.add(new)
        db.session.flush()
        new.problems = [db.session.get(Problem, published_id)]
        minute = minutes_svc.minute_for(new, create=True)
        minute.held_on = svc.tenant_today(tenant) - dt.timedelta(days=1)
        db.session.commit()
        new_id = new.id
        workshop = Workshop(process_id=pid, title="Taller nuevo", description="Borrador", place="Sala",
                            starts_at=svc.utcnow(), ends_at=svc.utcnow() + dt.timedelta(hours=1))
        db.session.add_all([workshop, Call(process_id=pid, title="Convocatoria en borrador", body="Texto")])
        db.session.commit()
        workshop_id = workshop.id
    for url in (f"{ADMIN}/mesas/{new_id}", f"{ADMIN}/mesas/{new_id}/minuta",   # a draft table and minute
                f"{ADMIN}/{pid}/convocatoria", f"{ADMIN}/mesas/{new_id}/inscripciones", f"{ADMIN}/{pid}/talleres",
                f"{ADMIN}/talleres/{workshop_id}"):
        g.pop("_login_user", None)
        pages += client.get(url).get_data(as_text=True)
    with tenant_context(tenant):
        minute = db.session.scalar(select(ResultsMinute).where(ResultsMinute.table_id == new_id))
        minute.stage = "approved"
        db.session.commit()
    g.pop("_login_user", None)
    pages += client.get(f"{ADMIN}/mesas/{new_id}/minuta").get_data(as_text=True)   # approved: the lock button
    text = re.sub(r"\s+", " ", pages)
    with app.test_request_context(f"/{SLUG}/"):
        g.pop("tenant", None)
        from flask_babel import force_locale
        with force_locale("es_MX"):
            for key, label in training.UI.items():
                name = str(label)
                assert name in text or name.replace("“", "&#34;") in text, (key, name)
            # the exercise text shows them
            assert "«Fusionar»" in str(training.MODERATE_TASK.steps[3])
