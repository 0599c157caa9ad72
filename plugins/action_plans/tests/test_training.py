"""Training exercises of the action plans: the scenario hook (training plans, idempotent, no
commit) and the tasks of step 11 (co-create and publish a Local Action Plan) and step 13 (report
its progress), done through the admin forms as the participant and by ``solve``."""
from __future__ import annotations

import json

import pytest
from flask import g, url_for
from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, Participant, Publication, db, tenant_context
from comun_cms.toolkit.testing import dump_tenant, get_pm, get_tenant

from plugins.action_plans import services, training
from plugins.action_plans.loaders import demo_data
from plugins.action_plans.models import ActionPlan, Commitment, ProgressReport

SLUG = "capacitacion"
ADMIN = f"/{SLUG}/admin/planes-de-accion"


def _impl(app, hook: str):
    """The action_plans implementation of ``hook`` as registered in the plugin manager."""
    with app.app_context():
        impls = [i for i in getattr(get_pm().hook, hook).get_hookimpls() if i.plugin_name == "action_plans"]
    assert len(impls) == 1, f"action_plans does not implement {hook}"
    return impls[0].function


def _load_scenario(app) -> int:
    tenant = get_tenant(app, SLUG)
    with tenant_context(tenant):
        return _impl(app, "training_scenario")(tenant=tenant, ctx=DemoContext(tenant=tenant, user=None, log=lambda m: None))


@pytest.fixture
def scenario(app):
    """The training scenario loaded (and committed by the test, as the caller does)."""
    _load_scenario(app)
    db.session.commit()


@pytest.fixture
def participant(app, make_user):
    return Participant(workspace=get_tenant(app, SLUG),
                       editor=make_user("editora@capacitacion.test", role="editor", tenant=SLUG, name="Editora SESEA"),
                       evaluator=make_user("osc@capacitacion.test", role="evaluator", tenant=SLUG))


def _tasks(app) -> dict:
    return {t.key: t for t in _impl(app, "training_tasks")()}


def check(app, participant, key: str):
    with tenant_context(participant.workspace):
        db.session.expire_all()
        return _tasks(app)[key].check(participant)


def done(items) -> list[bool]:
    return [i.done for i in items]


def summary(response) -> str:
    html = response.get_data(as_text=True)
    if "error-summary" in html:
        return html.split("error-summary", 1)[1].split("</div>", 1)[0]
    return html[:2000]


def post(client, url: str, data: dict) -> int:
    """POST an admin form; must redirect (saved). Returns the id at the end of the new address."""
    response = client.post(url, data=data)
    assert response.status_code == 303, summary(response)
    return int(response.headers["Location"].split("#")[0].rstrip("/").rsplit("/", 1)[1])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --------------------------------------------------------------------------- scenario
def test_scenario_loads_the_training_plans_idempotently_without_committing(app):
    assert _load_scenario(app) == 2
    tenant = get_tenant(app, SLUG)
    with tenant_context(tenant):
        titles = db.session.scalars(select(ActionPlan.title).order_by(ActionPlan.number)).all()
        assert len(titles) == 2 and "Jalisco" in titles[1]
        assert count(Commitment) == 13 + 6
        pubs = db.session.scalars(select(Publication)).all()
        assert pubs and all(p.published_by_id is None for p in pubs)       # published by nobody
    db.session.rollback()                                                   # the hook did not commit
    with tenant_context(tenant):
        assert count(ActionPlan) == 0 and count(Publication) == 0
    assert _load_scenario(app) == 2
    db.session.commit()
    with tenant_context(tenant):
        before = dump_tenant(tenant)
    assert _load_scenario(app) == 0                                         # idempotent: same rows
    db.session.commit()
    with tenant_context(tenant):
        assert dump_tenant(tenant) == before


def test_the_demo_path_still_commits_the_training_plans(app):
    tenant = get_tenant(app, SLUG)
    with tenant_context(tenant):
        demo_data(tenant, DemoContext(tenant=tenant, user=None, log=lambda m: None))
    db.session.rollback()
    with tenant_context(tenant):
        assert count(ActionPlan) == 2


def test_tasks_belong_to_steps_11_and_13(app):
    tasks = _tasks(app)
    assert {(t.step, t.key) for t in tasks.values()} == {(11, training.KEY_PLAN), (13, training.KEY_REPORT)}
    for t in tasks.values():
        assert t.title and t.goals and t.steps and all(isinstance(s, str) for s in t.goals + t.steps)


def test_the_fresh_scenario_does_not_count_even_when_its_plans_are_corrected(app, scenario, participant):
    for key in (training.KEY_PLAN, training.KEY_REPORT):
        items = check(app, participant, key)
        assert len(items) == 4 and not any(done(items)), key
        assert all(i.hint for i in items)
    assert "New plan" in check(app, participant, training.KEY_PLAN)[0].hint
    assert "exercise 11" in check(app, participant, training.KEY_REPORT)[0].hint
    # the participant reports progress on a scenario commitment: still not their plan
    with tenant_context(participant.workspace):
        national = db.session.scalar(select(ActionPlan).order_by(ActionPlan.number))
        scenario_commitments = [c for c in national.commitments if c.progress_status in ("", "not_started")][:3]
        for c in scenario_commitments:
            c.progress_status = "started"
            c.reports.append(ProgressReport(period_end=c.end_date or national.created_at.date(), narrative="Avance",
                                            reported_by="Editora"))
            db.session.flush()
            services.republish([c], national, "Avance", participant.editor)
        db.session.commit()
    assert not any(done(check(app, participant, training.KEY_REPORT)))
    assert not any(done(check(app, participant, training.KEY_PLAN)))


# --------------------------------------------------------------------------- step 11 through the admin
def commitment(n: int, owner: str = "Secretaría de Finanzas", **extra) -> dict:
    data = {"title": f"Compromiso cocreado {n}", "origin": "co_created", "progress_status": "not_started",
            "owner_institution": owner, "start_date": "2025-01-01", "end_date": "2025-12-31",
            "public_problem": "Problema", "objective": "Objetivo"}
    data.update(extra)
    return data


def milestone(**extra) -> dict:
    data = {"description": "Diagnóstico", "weight": "100", "progress_status": "not_started", "owner": "Enlace",
            "start_date": "2025-02-01", "end_date": "2025-03-31"}
    data.update(extra)
    return data


def test_step_11_through_the_admin_forms(app, client, login_as, scenario, participant):
    login_as(participant.editor)
    page = client.get(f"{ADMIN}/nuevo")
    assert page.status_code == 200
    plan_id = post(client, f"{ADMIN}/nuevo", {"title": "Plan de Acción Local 2025", "framework": "inai_cocreation",
                                              "phase": "co_creation", "valid_from": "2025-01-01",
                                              "expected_commitments": "5", "axes": "Datos abiertos"})
    items = check(app, participant, training.KEY_PLAN)
    assert done(items) == [False, False, False, False]          # a draft plan with no commitments yet
    assert "still a draft" in items[0].hint and "no commitments" in items[2].hint
    ids = []
    for n in range(1, 5):
        cid = post(client, f"{ADMIN}/{plan_id}/compromisos/nuevo", commitment(n))
        post(client, f"{ADMIN}/compromisos/{cid}/hitos/nuevo", milestone())
        ids.append(cid)
    items = check(app, participant, training.KEY_PLAN)
    assert done(items) == [False, False, True, True]            # draft, 4 commitments, owners and milestones
    assert "0 published" in items[1].hint and "1, 2, 3, 4" in items[1].hint
    # the fifth commitment has no owner and no milestone yet
    c5 = post(client, f"{ADMIN}/{plan_id}/compromisos/nuevo", commitment(5, owner=""))
    items = check(app, participant, training.KEY_PLAN)
    assert done(items) == [False, False, False, False]
    assert "without an owner: 5" in items[2].hint and "without a dated milestone: 5" in items[3].hint
    response = client.post(f"{ADMIN}/{plan_id}/publicar")
    assert response.status_code == 303, summary(response)
    items = check(app, participant, training.KEY_PLAN)
    assert done(items) == [True, True, False, False]
    # completing the published commitment publishes corrections (with a reason)
    post(client, f"{ADMIN}/compromisos/{c5}", commitment(5, owner="Contraloría del Estado"))  # a draft of version 2
    assert done(check(app, participant, training.KEY_PLAN)) == [True, True, False, False]
    post(client, f"{ADMIN}/compromisos/{c5}/publicar-cambios", {"changes-reason": "Se asigna responsable"})
    assert done(check(app, participant, training.KEY_PLAN)) == [True, True, True, False]
    post(client, f"{ADMIN}/compromisos/{c5}/hitos/nuevo", milestone(end_date="2025-06-30", reason="Se agrega el hito"))
    items = check(app, participant, training.KEY_PLAN)
    assert done(items) == [True, True, True, True], [(i.label, i.hint) for i in items]
    # step 13 has its plan now, and nothing else yet
    assert done(check(app, participant, training.KEY_REPORT)) == [True, False, False, False]


def test_step_11_only_counts_a_plan_the_participant_published(app, scenario, participant, make_user):
    other = make_user("otra@capacitacion.test", role="editor", tenant=SLUG)
    someone = Participant(workspace=participant.workspace, editor=other)
    with tenant_context(participant.workspace):
        training.solve_cocreate_plan(someone)
        db.session.commit()
    assert all(done(check(app, someone, training.KEY_PLAN)))
    assert not any(done(check(app, participant, training.KEY_PLAN)))


# --------------------------------------------------------------------------- step 13 through the admin
def test_step_13_through_the_admin_forms(app, client, login_as, scenario, participant):
    with tenant_context(participant.workspace):
        training.solve_cocreate_plan(participant)                   # the answer of step 11
        db.session.commit()
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.title == training.MODEL_PLAN_TITLE))
        plan_id = plan.id
        cards = [(c.id, c.title, c.owner_institution, c.start_date.isoformat(), c.end_date.isoformat(),
                  [(m.id, m.description, m.weight, m.start_date.isoformat(), m.end_date.isoformat())
                   for m in c.milestones]) for c in plan.commitments]
    assert done(check(app, participant, training.KEY_REPORT)) == [True, False, False, False]
    login_as(participant.editor)
    assert client.get(f"{ADMIN}/{plan_id}").status_code == 200

    def move_forward(card) -> None:
        cid, title, owner, start, end, milestones = card
        mid, description, weight, m_start, m_end = milestones[0]
        post(client, f"{ADMIN}/hitos/{mid}", {"description": description, "weight": f"{weight:g}", "owner": owner,
                                              "progress_status": "completed", "start_date": m_start, "end_date": m_end,
                                              "reason": "Hito concluido"})
        post(client, f"{ADMIN}/compromisos/{cid}", {"title": title, "origin": "co_created", "owner_institution": owner,
                                                    "start_date": start, "end_date": end, "progress_status": "started"})
        post(client, f"{ADMIN}/compromisos/{cid}/publicar-cambios", {"changes-reason": "Inicia la implementación"})

    def report(card) -> None:
        cid, start, m_end = card[0], card[3], card[5][0][4]
        assert client.get(f"{ADMIN}/compromisos/{cid}/reportes/nuevo").status_code == 200
        post(client, f"{ADMIN}/compromisos/{cid}/reportes/nuevo", {
            "period_start": start, "period_end": m_end, "narrative": "Se concluyó el diagnóstico.", "progress": "50",
            "reported_by": "Enlace de gobierno abierto", "reason": "Informe intermedio"})

    for card in cards[:2]:
        move_forward(card)
        report(card)
    items = check(app, participant, training.KEY_REPORT)
    assert done(items) == [True, False, False, True]               # two of three; the plan's progress rose
    assert items[1].hint.startswith("2 so far") and items[2].hint.startswith("2 so far")
    report(cards[3])                                               # a report without a status change
    items = check(app, participant, training.KEY_REPORT)
    assert done(items) == [True, True, False, True] and items[2].hint.startswith("2 so far")
    # a started milestone moves its commitment's status: it follows from the milestones (issue 15, defect 3)
    cid, title, owner, start, end, milestones = cards[4]
    mid, description, weight, m_start, m_end = milestones[0]
    post(client, f"{ADMIN}/hitos/{mid}", {"description": description, "weight": f"{weight:g}", "owner": owner,
                                          "progress_status": "started", "progress": "40", "start_date": m_start,
                                          "end_date": m_end, "reason": "Hito iniciado"})
    items = check(app, participant, training.KEY_REPORT)
    assert done(items) == [True, True, True, True], [(i.label, i.hint) for i in items]
    move_forward(cards[2])
    with tenant_context(participant.workspace):
        newest = db.session.scalar(select(Publication).where(Publication.content_type == "action_plan",
                                                             Publication.record_id == str(plan_id))
                                   .order_by(Publication.version.desc()))
        assert json.loads(newest.canonical_json)["content"]["progress"] == 34.0   # (50 + 50 + 50 + 0 + 20) / 5
        assert newest.published_by_id == participant.editor.id


def test_step_13_needs_the_changes_published_not_only_a_draft_commitment(app, client, login_as, scenario, participant):
    with tenant_context(participant.workspace):
        training.solve_cocreate_plan(participant)
        db.session.commit()
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.title == training.MODEL_PLAN_TITLE))
        plan_id = plan.id
    login_as(participant.editor)
    # a new draft commitment with a report and a started status is not a published report
    cid = post(client, f"{ADMIN}/{plan_id}/compromisos/nuevo", commitment(6, progress_status="started",
                                                                           start_date="", end_date=""))
    post(client, f"{ADMIN}/compromisos/{cid}/reportes/nuevo", {"period_end": "2025-03-31", "narrative": "Avance",
                                                               "reported_by": "Enlace"})
    assert done(check(app, participant, training.KEY_REPORT)) == [True, False, False, False]


# --------------------------------------------------------------------------- solve
def test_solve_makes_every_item_done_without_committing(app, scenario, participant):
    tasks = _tasks(app)
    with tenant_context(participant.workspace):
        tasks[training.KEY_REPORT].solve(participant)              # applies step 11 first
        assert all(done(tasks[training.KEY_PLAN].check(participant)))
        assert all(done(tasks[training.KEY_REPORT].check(participant)))
    db.session.rollback()                                          # solve did not commit
    assert not any(done(check(app, participant, training.KEY_PLAN)))
    with tenant_context(participant.workspace):
        for key in (training.KEY_PLAN, training.KEY_REPORT):      # as `comun training reset` applies them
            tasks[key].solve(participant)
        db.session.commit()
    assert all(done(check(app, participant, training.KEY_PLAN)))
    assert all(done(check(app, participant, training.KEY_REPORT)))
    with tenant_context(participant.workspace):
        plans = count(ActionPlan)
        pubs = count(Publication)
        tasks[training.KEY_PLAN].solve(participant)                # already done: nothing more
        tasks[training.KEY_REPORT].solve(participant)
        db.session.commit()
        assert (count(ActionPlan), count(Publication)) == (plans, pubs) == (3, pubs)
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.title == training.MODEL_PLAN_TITLE))
        assert len(plan.commitments) == 5 and all(c.owner_institution for c in plan.commitments)
        assert all(m.end_date for c in plan.commitments for m in c.milestones)
        assert [c.progress_status for c in plan.commitments] == ["started"] * 3 + ["not_started"] * 2
        assert all(p.published_by_id == participant.editor.id for p in db.session.scalars(
            select(Publication).where(Publication.content_type == "commitment",
                                      Publication.record_id.in_([str(c.id) for c in plan.commitments]))))


# --------------------------------------------------------------------------- where the participant starts
def test_start_pages_answer_for_the_participant(app, client, login_as, scenario, participant):
    login_as(participant.editor)
    for task in _tasks(app).values():
        with app.test_request_context():
            g.tenant = participant.workspace
            url = url_for(task.start_endpoint)
        assert url.startswith(f"/{SLUG}/admin/")
        response = client.get(url)
        assert response.status_code == 200, (task.key, url)
