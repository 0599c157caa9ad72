"""Permission matrix: evaluator vs the secretariat's admin and editor, on every action of the
workflow; nobody edits someone else's assessment; evaluators cannot edit the tenant's content."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context
from plugins.criteria import services
from plugins.criteria.models import SELF_SLOT, Assessment, EvaluationCycle, Recommendation, user_slot

from .conftest import new_cycle

STAGES = ("planned", "self_assessment", "evaluation", "reply")


def cycle_at(tenant, framework, evaluator, stage: str, replied: bool = False) -> tuple[int, dict]:
    """A cycle at ``stage``; from ``evaluation`` on, ``evaluator`` has declared and (from
    ``reply`` on) assessed every criterion. Returns ``(cycle id, {code: criterion id})``."""
    c = new_cycle(tenant, framework, reply_deadline=dt.date(2026, 7, 1))
    with tenant_context(tenant):
        c = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == c.id))
        crit = {cr.code: cr.id for cr in c.framework.criteria}
        if STAGES.index(stage) >= 2:
            services.save_declaration(c, evaluator, evaluator_role="observatory", name="Eva", organization="Org",
                                      has_conflict=False, conflict_description="")
        if stage == "reply":
            for cr in c.framework.criteria:
                a = services.save_assessment(c, cr, slot=user_slot(evaluator.id), evaluator=evaluator,
                                             evaluator_role="observatory", evaluator_name="Eva", organization="Org",
                                             result="met", value=100 if cr.scoring_type == "percentage" else None)
                if replied:
                    services.save_reply(a, body="Réplica.")
        c.stage = stage
        db.session.commit()
        return c.id, crit


def first_assessment(tenant, cycle_id: int) -> int:
    with tenant_context(tenant):
        return db.session.scalar(select(Assessment.id).where(Assessment.cycle_id == cycle_id, Assessment.slot != SELF_SLOT))


def published_rec(tenant, framework, evaluator) -> int:
    with tenant_context(tenant):
        from plugins.criteria.models import CriteriaFramework
        fw = db.session.scalar(select(CriteriaFramework))
        rec = services.issue_recommendation(title="Rec", body="Texto", criteria=[fw.criteria[0]],
                                            issued_on=dt.date(2026, 8, 1), issuer=evaluator)
        db.session.commit()
        return rec.id


#: action -> expected status for (evaluator, admin, editor)
EXPECTED = {
    "workspace": (200, 200, 200),
    "framework_import_form": (200, 403, 403),
    "cycle_new": (303, 403, 403),
    "advance_stage": (303, 403, 403),
    "declaration_form": (200, 403, 403),
    "self_assess": (409, 303, 303),
    "evaluator_assess": (303, 409, 409),
    "reply": (403, 303, 303),
    "publish": (303, 403, 403),
    "recommend": (303, 403, 403),
    "answer": (403, 303, 303),
    "core_pages": (403, 200, 200),
    "core_page_new": (403, 200, 200),
}


def run_action(name, client, edomex, framework, evaluator):
    """Perform one action against fresh records; returns the response status."""
    if name == "workspace":
        return client.get("/edomex/admin/criterios/").status_code
    if name == "framework_import_form":
        return client.get("/edomex/admin/criterios/marcos/importar").status_code
    if name == "cycle_new":
        return client.post("/edomex/admin/criterios/ciclos/nuevo", data={
            "framework_id": framework.id, "title": "Nuevo", "period_label": "2027",
            "cutoff_date": "2027-06-30"}).status_code
    if name == "advance_stage":
        cid, _ = cycle_at(edomex, framework, evaluator, "planned")
        return client.post(f"/edomex/admin/criterios/ciclos/{cid}/etapa", data={"target": "self_assessment"}).status_code
    if name == "declaration_form":
        cid, _ = cycle_at(edomex, framework, evaluator, "evaluation")
        return client.get(f"/edomex/admin/criterios/ciclos/{cid}/declaracion").status_code
    if name in ("self_assess", "evaluator_assess"):
        cid, crit = cycle_at(edomex, framework, evaluator, "self_assessment" if name == "self_assess" else "evaluation")
        return client.post(f"/edomex/admin/criterios/ciclos/{cid}/criterios/{crit['A-01']}/evaluar",
                           data={"result": "met", "comment": ""}).status_code
    if name == "reply":
        cid, _ = cycle_at(edomex, framework, evaluator, "reply")
        aid = first_assessment(edomex, cid)
        return client.post(f"/edomex/admin/criterios/ciclos/{cid}/evaluaciones/{aid}/replica",
                           data={"body": "Réplica"}).status_code
    if name == "publish":
        cid, _ = cycle_at(edomex, framework, evaluator, "reply", replied=True)
        return client.post(f"/edomex/admin/criterios/ciclos/{cid}/publicar").status_code
    if name == "recommend":
        return client.post("/edomex/admin/criterios/recomendaciones/nueva", data={
            "title": "R", "body": "B", "criteria": [str(framework.criteria[0].id)], "cycle_id": "0",
            "issued_on": "2026-08-01"}).status_code
    if name == "answer":
        rid = published_rec(edomex, framework, evaluator)
        return client.post(f"/edomex/admin/criterios/recomendaciones/{rid}/respuesta",
                           data={"answer-answer": "accepted", "answer-reason": "Sí."}).status_code
    if name == "core_pages":
        return client.get("/edomex/admin/paginas").status_code
    if name == "core_page_new":
        return client.get("/edomex/admin/paginas/nueva").status_code
    raise AssertionError(name)


@pytest.mark.parametrize("role_index,role", [(0, "evaluator"), (1, "admin"), (2, "editor")])
def test_permission_matrix(app, client, switch_user, people, edomex, framework, role_index, role):
    switch_user(people[role])
    got = {name: run_action(name, client, edomex, framework, people["evaluator"]) for name in EXPECTED}
    assert got == {name: codes[role_index] for name, codes in EXPECTED.items()}


def test_anonymous_users_are_sent_to_log_in(app, client, edomex, framework):
    for url in ("/edomex/admin/criterios/", "/edomex/admin/criterios/marcos/importar",
                "/edomex/admin/criterios/ciclos/nuevo", "/edomex/admin/criterios/recomendaciones/nueva"):
        r = client.get(url)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"]


def test_platform_admin_manages_frameworks_but_does_not_assess(app, client, login_as, edomex, framework, people):
    login_as("platform_admin")
    assert client.get("/edomex/admin/criterios/marcos/importar").status_code == 200
    assert client.get("/edomex/admin/criterios/ciclos/nuevo").status_code == 403


def test_nobody_edits_someone_elses_assessment(app, client, switch_user, people, edomex, framework):
    ev, ev2 = people["evaluator"], people["evaluator2"]
    cid, crit = cycle_at(edomex, framework, ev, "evaluation")
    switch_user(ev)
    assert client.post(f"/edomex/admin/criterios/ciclos/{cid}/criterios/{crit['A-01']}/evaluar",
                       data={"result": "not_met", "comment": "Original."}).status_code == 303
    # the secretariat cannot write during the evaluation
    switch_user(people["admin"])
    assert client.post(f"/edomex/admin/criterios/ciclos/{cid}/criterios/{crit['A-01']}/evaluar",
                       data={"result": "met", "comment": "Cambiado"}).status_code == 409
    # a second evaluator writes their own assessment, never the first one's
    with tenant_context(edomex):
        c = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == cid))
        services.save_declaration(c, ev2, evaluator_role="external", name="Otro", organization="",
                                  has_conflict=False, conflict_description="")
        db.session.commit()
    switch_user(ev2)
    assert client.post(f"/edomex/admin/criterios/ciclos/{cid}/criterios/{crit['A-01']}/evaluar",
                       data={"result": "met", "comment": "Mío."}).status_code == 303
    with tenant_context(edomex):
        rows = {a.slot: (a.result, a.comment) for a in
                db.session.scalars(select(Assessment).where(Assessment.cycle_id == cid))}
    assert rows == {user_slot(ev.id): ("not_met", "Original."), user_slot(ev2.id): ("met", "Mío.")}
    # and in the reply stage the secretariat only replies
    with tenant_context(edomex):
        c = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == cid))
        c.stage = "reply"
        db.session.commit()
    switch_user(people["editor"])
    assert client.post(f"/edomex/admin/criterios/ciclos/{cid}/criterios/{crit['A-01']}/evaluar",
                       data={"result": "met", "comment": "x"}).status_code == 409
    with tenant_context(edomex):
        assert db.session.scalar(select(Assessment.result).where(Assessment.slot == user_slot(ev.id))) == "not_met"
        assert db.session.scalar(select(Recommendation.id)) is None
