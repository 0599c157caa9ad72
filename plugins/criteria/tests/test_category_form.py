"""All the criteria of a category assessed in one form (``admin_criteria.assess_category``):
rows without a result are skipped, a problem in any row stores nothing and names the criteria."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from comun_cms.toolkit import AuditEvent, db, history, tenant_context
from plugins.criteria import services
from plugins.criteria.models import Assessment, CriteriaFramework, EvaluationCycle, user_slot

from .conftest import new_cycle


def setup_cycle(edomex, framework, stage="self_assessment"):
    c = new_cycle(edomex, framework)
    with tenant_context(edomex):
        c = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == c.id))
        services.advance_stage(c, "self_assessment")
        if stage == "evaluation":
            services.advance_stage(c, "evaluation")
        db.session.commit()
        fw = db.session.scalar(select(CriteriaFramework))
        crit = {cr.code: cr.id for cr in fw.criteria}
        cat = {k.code: k.id for k in fw.categories}
        return c.id, crit, cat


def count_assessments(edomex) -> int:
    db.session.expire_all()
    with tenant_context(edomex):
        return db.session.scalar(select(func.count()).select_from(Assessment))


def test_self_assessment_of_a_whole_category(app, client, login_as, people, edomex, framework):
    cid, crit, cat = setup_cycle(edomex, framework)
    url = f"/edomex/admin/criterios/ciclos/{cid}/categorias/{cat['A']}/evaluar"
    login_as(people["editor"])
    page = client.get(url).get_data(as_text=True)
    assert "A-01" in page and "A-02" in page and "B-01" not in page
    assert f"/categorias/{cat['A']}/evaluar" in client.get(f"/edomex/admin/criterios/ciclos/{cid}").get_data(as_text=True)

    # one bad row (not applicable without a comment) stores nothing and names the criterion
    a1, a2 = crit["A-01"], crit["A-02"]
    bad = client.post(url, data={f"c{a1}-result": "met", f"c{a1}-evidence_url": "https://sesaemm.example/ley",
                                 f"c{a1}-evidence_captured_on": "2026-06-01", f"c{a2}-result": "not_applicable"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Criteria with problems: A-02. Nothing was saved." in html
    assert "Explain in the comment why the criterion does not apply." in html
    assert count_assessments(edomex) == 0

    # a comment without a result is a problem of that row too
    half = client.post(url, data={f"c{a1}-result": "", f"c{a1}-comment": "Revisado"})
    assert half.status_code == 422 and "Criteria with problems: A-01" in half.get_data(as_text=True)

    ok = client.post(url, data={f"c{a1}-result": "met", f"c{a1}-evidence_url": "https://sesaemm.example/ley",
                                f"c{a1}-evidence_captured_on": "2026-06-01", f"c{a2}-result": "not_met"})
    assert ok.status_code == 303
    with tenant_context(edomex):
        stored = {a.criterion.code: (a.slot, a.result) for a in db.session.scalars(select(Assessment))}
        assert stored == {"A-01": ("self", "met"), "A-02": ("self", "not_met")}
        [event] = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "criteria.assessment.save_category")).all()
        assert event.after["criteria"] == ["A-01", "A-02"]

    # the form shows the saved values; a row left empty is not saved
    assert f'<input checked id="c{a1}-result-0" name="c{a1}-result" type="radio" value="met">' in client.get(url).get_data(as_text=True)
    nothing = client.post(url, data={})
    assert nothing.status_code == 422 and "Choose the result of at least one criterion." in nothing.get_data(as_text=True)


def test_evaluators_declare_first_and_other_roles_are_refused(app, client, switch_user, people, edomex, framework):
    cid, crit, cat = setup_cycle(edomex, framework, stage="evaluation")
    url = f"/edomex/admin/criterios/ciclos/{cid}/categorias/{cat['B']}/evaluar"
    switch_user(people["evaluator"])
    response = client.get(url)
    assert response.status_code == 303 and "/declaracion" in response.headers["Location"]
    switch_user(people["editor"])  # the secretariat cannot assess in the evaluation stage
    assert client.post(url, data={f"c{crit['B-01']}-result": "met", f"c{crit['B-01']}-value": "100"}).status_code == 409
    assert count_assessments(edomex) == 0
    assert client.get(f"/edomex/admin/criterios/ciclos/{cid}/categorias/999999/evaluar").status_code == 404


def test_a_published_cycle_is_corrected_once_for_the_whole_category(app, client, login_as, people, edomex, framework):
    cid, crit, cat = setup_cycle(edomex, framework)
    ev = people["evaluator"]
    with tenant_context(edomex):
        c = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == cid))
        fw = c.framework
        for cr in fw.criteria:
            value = 100 if cr.scoring_type == "percentage" else None
            services.save_assessment(c, cr, slot="self", evaluator=None, evaluator_role="self_assessment",
                                     evaluator_name="SESAEMM", organization="SESAEMM", result="met", value=value,
                                     evidence_url="https://sesaemm.example/x", evidence_captured_on=dt.date(2026, 6, 1))
        services.advance_stage(c, "evaluation")
        services.save_declaration(c, ev, evaluator_role="observatory", name="Eva", organization="Org",
                                  has_conflict=False, conflict_description="")
        for cr in fw.criteria:
            a = services.save_assessment(c, cr, slot=user_slot(ev.id), evaluator=ev, evaluator_role="observatory",
                                         evaluator_name="Eva", organization="Org", result="met",
                                         value=100 if cr.scoring_type == "percentage" else None)
            services.save_reply(a, body="Réplica")
        c.stage = "reply"
        services.publish_cycle(c, on=dt.date(2026, 8, 1))
        db.session.commit()
    url = f"/edomex/admin/criterios/ciclos/{cid}/categorias/{cat['A']}/evaluar"
    login_as(people["editor"])
    a1, a2 = crit["A-01"], crit["A-02"]
    data = {f"c{a1}-result": "partial", f"c{a1}-evidence_url": "https://sesaemm.example/x",
            f"c{a1}-evidence_captured_on": "2026-06-01", f"c{a2}-result": "not_met"}
    refused = client.post(url, data=data)
    assert refused.status_code == 422  # the reason is required in a published cycle
    with tenant_context(edomex):
        assert [p.action for p in history("evaluation_cycle", cid)] == ["publish"]
    assert client.post(url, data={**data, "reason": "Se revisó la evidencia"}).status_code == 303
    with tenant_context(edomex):
        versions = history("evaluation_cycle", cid)
        assert [(p.action, p.reason) for p in versions] == [("publish", ""), ("correct", "Se revisó la evidencia")]
