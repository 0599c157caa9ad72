"""Training material and the step-12 task of the criteria plugin (``training_scenario`` and
``training_tasks``), with the ``capacitacion`` training tenant as the participant's workspace:
the scenario is idempotent, does not commit and reuses the demo's framework; a fresh scenario
counts for nothing; the task done through the admin web forms with the evaluator and editor
accounts (and ``solve``) makes every check item done."""
from __future__ import annotations

import pytest
from flask import g, url_for
from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, Participant, Publication, TrainingTask, db, tenant_context
from comun_cms.toolkit.testing import dump_tenant
from plugins.criteria import training
from plugins.criteria.models import Assessment, CriteriaFramework, EvaluationCycle, Reply

BASE = "/capacitacion/admin/criterios"


@pytest.fixture
def cap(app):
    return app.extensions["comun"].tenants["capacitacion"]


@pytest.fixture
def participant(app, make_user, cap):
    return Participant(workspace=cap,
                       editor=make_user("sesea@capacitacion.test", role="editor", tenant="capacitacion",
                                        name="Editora SESEA"),
                       evaluator=make_user("osc@capacitacion.test", role="evaluator", tenant="capacitacion",
                                           name="Evaluadora OSC"))


def _hook(app):
    return app.extensions["comun"].pm.get_plugin("criteria")


def load(app, cap, commit: bool = True) -> int:
    """Run the plugin's ``training_scenario`` hook on ``cap`` (and commit, as the caller does)."""
    with tenant_context(cap):
        n = _hook(app).training_scenario(tenant=cap, ctx=DemoContext(tenant=cap, user=None, log=lambda m: None))
        if commit:
            db.session.commit()
    return n


def task(app) -> TrainingTask:
    tasks = [t for group in app.extensions["comun"].pm.hook.training_tasks() for t in group]
    found = [t for t in tasks if t.key == "criteria.evaluate"]
    assert len(found) == 1
    return found[0]


def run_check(app, participant):
    db.session.expire_all()
    with tenant_context(participant.workspace):
        return task(app).check(participant)


def counts(cap) -> dict:
    with tenant_context(cap):
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in (CriteriaFramework, EvaluationCycle, Assessment, Reply)}


def crit_ids(cap) -> tuple[int, dict[str, int]]:
    with tenant_context(cap):
        cycle = training.training_cycle()
        return cycle.id, {c.code: c.id for c in cycle.framework.criteria}


# --------------------------------------------------------------------------- scenario
def test_scenario_loads_framework_and_open_cycle_without_committing(app, cap):
    with tenant_context(cap):
        n = _hook(app).training_scenario(tenant=cap, ctx=DemoContext(tenant=cap, user=None, log=lambda m: None))
        assert n == 2
        db.session.flush()
        fw = db.session.scalar(select(CriteriaFramework))
        assert fw.status == "published" and len(fw.criteria) == 40 and fw.version_label == "1"
        pub = db.session.scalar(select(Publication).where(Publication.content_type == "criteria_framework"))
        assert pub.published_by_id is None
        cycle = training.training_cycle()
        assert cycle.stage == "evaluation" and cycle.status == "draft" and cycle.is_demo
        assert "material de capacitación" in cycle.title and cycle.framework_id == fw.id
        assert cycle.created_by_id is None and cycle.reply_deadline is None
        slots = {a.slot for a in cycle.assessments}
        assert slots == {"self", training.SCENARIO_SLOT}
        assert len(cycle.assessments) == 80 and all(a.evaluator_id is None for a in cycle.assessments)
        # nothing was committed by the hook
        db.session.rollback()
    assert counts(cap) == {"CriteriaFramework": 0, "EvaluationCycle": 0, "Assessment": 0, "Reply": 0}


def test_scenario_is_idempotent_and_shares_the_demo_framework(app, cap, make_user):
    assert load(app, cap) == 2
    with tenant_context(cap):
        before = dump_tenant(cap)
    assert load(app, cap) == 0
    with tenant_context(cap):
        assert dump_tenant(cap) == before
    assert counts(cap) == {"CriteriaFramework": 1, "EvaluationCycle": 1, "Assessment": 80, "Reply": 0}

    # `comun demo` on the training tenant reuses the framework and keeps the training cycle
    from plugins.criteria import demo
    demo_user = make_user("demo@capacitacion.test", role="editor", tenant="capacitacion")
    with tenant_context(cap):
        demo.load(cap, DemoContext(tenant=cap, user=demo_user, log=lambda m: None))
        db.session.commit()
    assert counts(cap)["CriteriaFramework"] == 1
    assert load(app, cap) == 0
    with tenant_context(cap):
        cycles = db.session.scalars(select(EvaluationCycle).order_by(EvaluationCycle.period_label)).all()
        assert [c.period_label for c in cycles] == ["2024", "2025", training.TRAINING_PERIOD]
        assert training.training_cycle().stage == "evaluation"


def test_scenario_after_demo_reuses_the_framework(app, cap, make_user):
    from plugins.criteria import demo
    demo_user = make_user("demo@capacitacion.test", role="editor", tenant="capacitacion")
    with tenant_context(cap):
        demo.load(cap, DemoContext(tenant=cap, user=demo_user, log=lambda m: None))
        db.session.commit()
    assert load(app, cap) == 1
    assert counts(cap)["CriteriaFramework"] == 1


def test_task_is_registered_for_step_12(app):
    t = task(app)
    assert t.step == 12 and t.start_endpoint == "admin_criteria.admin_index"
    assert "réplica" in t.title and t.goals and len(t.steps) >= 5
    assert any("F-03" in s for s in t.steps)


def test_fresh_scenario_counts_for_nothing(app, cap, participant):
    load(app, cap)
    items = run_check(app, participant)
    assert len(items) == 4
    assert not any(i.done for i in items)
    assert all(i.hint for i in items)
    # nor does a check without accounts
    with tenant_context(cap):
        assert not any(i.done for i in task(app).check(Participant(workspace=cap)))


# --------------------------------------------------------------------------- through the web
def _assess(client, cid, crit_id, **data):
    data.setdefault("comment", "")
    return client.post(f"{BASE}/ciclos/{cid}/criterios/{crit_id}/evaluar", data=data,
                       content_type="multipart/form-data")


def test_task_through_the_admin_forms(app, client, switch_user, cap, participant):
    load(app, cap)
    cid, crit = crit_ids(cap)
    ev, editor = participant.evaluator, participant.editor

    # the evaluator account starts on the workspace page and opens the training cycle
    switch_user(ev)
    page = client.get(f"{BASE}/")
    assert page.status_code == 200 and training.TRAINING_TITLE in page.get_data(as_text=True)
    page = client.get(f"{BASE}/ciclos/{cid}")
    assert page.status_code == 200 and "Declare your role and conflicts of interest" in page.get_data(as_text=True)

    # assessing first sends the evaluator to the declaration
    r = _assess(client, cid, crit["F-03"], result="partial", comment="x")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/ciclos/{cid}/declaracion")
    r = client.post(f"{BASE}/ciclos/{cid}/declaracion", data={
        "evaluator_role": "observatory", "name": "Evaluadora OSC", "organization": "Colectivo de práctica",
        "has_conflict": "no", "conflict_description": "", "affirm": "y"})
    assert r.status_code == 303
    assert [i.done for i in run_check(app, participant)] == [True, False, False, False]

    # two justified assessments and one without comment or evidence: two count
    ok = {"evidence_url": "https://sesea.example.org/datos", "evidence_captured_on": "2026-11-20"}
    assert _assess(client, cid, crit["F-03"], result="partial", comment="Faltan los acuerdos.", **ok).status_code == 303
    assert _assess(client, cid, crit["F-04"], result="met", comment="Publica las mesas.", **ok).status_code == 303
    assert _assess(client, cid, crit["F-06"], result="not_met").status_code == 303
    items = run_check(app, participant)
    assert [i.done for i in items] == [True, False, False, False]
    assert "(2 so far)" in items[1].label

    # the secretariat cannot reply before the reply stage
    switch_user(editor)
    with tenant_context(cap):
        own = db.session.scalar(select(Assessment.id).where(Assessment.evaluator_id == ev.id,
                                                            Assessment.criterion_id == crit["F-03"]))
    r = client.post(f"{BASE}/ciclos/{cid}/evaluaciones/{own}/replica", data={"body": "Antes de tiempo."})
    assert r.status_code == 409

    # the third assessment completed; the evaluator hands the cycle over to the right of reply
    switch_user(ev)
    assert _assess(client, cid, crit["F-06"], result="not_met", comment="Sin fechas de actualización.",
                   **ok).status_code == 303
    assert [i.done for i in run_check(app, participant)] == [True, True, False, False]
    r = client.post(f"{BASE}/ciclos/{cid}/etapa", data={"target": "reply"})
    assert r.status_code == 303, r.get_data(as_text=True)
    assert [i.done for i in run_check(app, participant)] == [True, True, True, False]
    # publishing is out of reach: every assessment needs a reply or the deadline must pass
    r = client.post(f"{BASE}/ciclos/{cid}/publicar")
    assert r.status_code == 409 and "have no reply yet" in r.get_data(as_text=True)

    # the editor (SESEA) account replies to one assessment
    switch_user(editor)
    page = client.get(f"{BASE}/ciclos/{cid}")
    assert page.status_code == 200 and f"/evaluaciones/{own}/replica" in page.get_data(as_text=True)
    assert client.get(f"{BASE}/ciclos/{cid}/evaluaciones/{own}/replica").status_code == 200
    r = client.post(f"{BASE}/ciclos/{cid}/evaluaciones/{own}/replica",
                    data={"body": "Publicaremos los acuerdos en el siguiente trimestre.", "evidence_url": ""})
    assert r.status_code == 303
    items = run_check(app, participant)
    assert all(i.done for i in items), [(i.label, i.done) for i in items]


def test_work_of_other_accounts_does_not_count(app, client, switch_user, cap, participant, make_user):
    load(app, cap)
    other = Participant(workspace=cap, editor=make_user("otra@capacitacion.test", role="editor", tenant="capacitacion"),
                        evaluator=make_user("otro@capacitacion.test", role="evaluator", tenant="capacitacion"))
    with tenant_context(cap):
        task(app).solve(other)
        db.session.commit()
    assert all(i.done for i in run_check(app, other))
    assert not any(i.done for i in run_check(app, participant))


# --------------------------------------------------------------------------- solve and start page
def test_solve_makes_every_item_done(app, cap, participant):
    load(app, cap)
    t = task(app)
    with tenant_context(cap):
        t.solve(participant)
        items = t.check(participant)
    assert all(i.done for i in items), [(i.label, i.done) for i in items]
    db.session.commit()
    with tenant_context(cap):
        cycle = training.training_cycle()
        assert cycle.stage == "reply" and cycle.reply_deadline is not None
        mine = [a for a in cycle.assessments if a.evaluator_id == participant.evaluator.id]
        assert sorted(a.criterion.code for a in mine) == list(training.SUGGESTED_CODES)
        assert db.session.scalar(select(Reply.author_id)) == participant.editor.id
        t.solve(participant)   # again: nothing more to do
        db.session.flush()
    assert counts(cap)["Reply"] == 1 and counts(cap)["Assessment"] == 83
    assert all(i.done for i in run_check(app, participant))


def test_solve_completes_a_partly_done_exercise(app, client, switch_user, cap, participant):
    load(app, cap)
    cid, crit = crit_ids(cap)
    switch_user(participant.evaluator)
    client.post(f"{BASE}/ciclos/{cid}/declaracion", data={
        "evaluator_role": "citizen_committee", "name": "Evaluadora OSC", "organization": "",
        "has_conflict": "no", "conflict_description": "", "affirm": "y"})
    assert _assess(client, cid, crit["A-01"], result="met", comment="Publicada.",
                   evidence_url="https://sesea.example.org/ley", evidence_captured_on="2026-11-20").status_code == 303
    with tenant_context(cap):
        task(app).solve(participant)
        db.session.commit()
    assert all(i.done for i in run_check(app, participant))
    with tenant_context(cap):
        mine = db.session.scalars(select(Assessment).where(Assessment.evaluator_id == participant.evaluator.id)).all()
        assert len(mine) == 3 and {a.evaluator_role for a in mine} == {"citizen_committee"}


def test_solve_without_scenario_fails(app, cap, participant):
    with tenant_context(cap), pytest.raises(RuntimeError):
        task(app).solve(participant)


def test_start_endpoint_answers_for_both_accounts(app, client, switch_user, cap, participant):
    load(app, cap)
    endpoint = task(app).start_endpoint
    for user in (participant.evaluator, participant.editor):
        switch_user(user)
        with app.test_request_context("/capacitacion/admin/"):
            g.tenant = cap   # what the tenant routing sets from the request's address
            path = url_for(endpoint)
            g.pop("tenant")
        assert path == f"{BASE}/"
        r = client.get(path)
        assert r.status_code == 200 and training.TRAINING_TITLE in r.get_data(as_text=True)


def test_check_items_are_translated(app, cap, participant):
    from flask_babel import force_locale
    load(app, cap)
    with app.test_request_context("/capacitacion/"), force_locale("es_MX"):
        items = run_check(app, participant)
    assert items[0].label.startswith("Cuenta de evaluación: declaró")
    assert "(lleva 0)" in items[1].label and "Derecho de réplica" in items[2].label
    assert items[3].hint.startswith("Con la cuenta de edición")
