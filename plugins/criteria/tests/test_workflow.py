"""End to end through HTTP: a cycle from planned to published with self-assessment, two
evaluators (with a disagreement), evidence snapshot, replies, a correction, recommendations
with answers and follow-up, datasets, search documents and the audit log."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select

from comun_cms.toolkit import AuditEvent, Publication, db, history, latest_publication, tenant_context, tenant_hook
from plugins.criteria import services
from plugins.criteria.models import Assessment, CriteriaFramework, EvaluationCycle, Recommendation

from .conftest import new_cycle

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _ids(edomex):
    with tenant_context(edomex):
        fw = db.session.scalar(select(CriteriaFramework))
        return {c.code: c.id for c in fw.criteria}, fw.id


def _advance(client, cid, target):
    return client.post(f"/edomex/admin/criterios/ciclos/{cid}/etapa", data={"target": target})


def _assess(client, cid, crit_id, **data):
    data.setdefault("comment", "")
    return client.post(f"/edomex/admin/criterios/ciclos/{cid}/criterios/{crit_id}/evaluar", data=data,
                       content_type="multipart/form-data")


def _declare(client, cid, **data):
    form = {"evaluator_role": "observatory", "name": "Eva Evaluadora", "organization": "Colectivo Cívico",
            "has_conflict": "no", "conflict_description": "", "affirm": "y"}
    form.update(data)
    return client.post(f"/edomex/admin/criterios/ciclos/{cid}/declaracion", data=form)


def test_full_cycle_with_replies_corrections_and_recommendations(app, client, switch_user, people, edomex, framework):
    login_as = switch_user
    crit, fw_id = _ids(edomex)
    ev, ev2, editor, admin = people["evaluator"], people["evaluator2"], people["editor"], people["admin"]

    # 1. the evaluator opens a cycle
    login_as(ev)
    r = client.post("/edomex/admin/criterios/ciclos/nuevo", data={
        "framework_id": fw_id, "title": "Evaluación 2026", "period_label": "2026", "cutoff_date": "2026-06-30",
        "period_start": "2026-01-01", "period_end": "2026-12-31", "reply_deadline": "2099-12-31", "methodology": ""})
    assert r.status_code == 303, r.get_data(as_text=True)
    with tenant_context(edomex):
        cid = db.session.scalar(select(EvaluationCycle.id))

    # 2. nobody assesses in the planned stage; the stage moves one step at a time
    login_as(editor)
    assert _assess(client, cid, crit["A-01"], result="met").status_code == 409
    login_as(ev)
    assert _advance(client, cid, "evaluation").status_code == 409
    assert _advance(client, cid, "self_assessment").status_code == 303

    # 3. the secretariat's self-assessment
    login_as(editor)
    r = _assess(client, cid, crit["B-01"], result="met", value="60")
    assert r.status_code == 422 and "does not match the result" in r.get_data(as_text=True)
    assert _assess(client, cid, crit["A-01"], result="met", evidence_url="https://sesaemm.example/ley",
                   evidence_captured_on="2026-06-01").status_code == 303
    assert _assess(client, cid, crit["A-02"], result="met").status_code == 303
    assert _assess(client, cid, crit["B-01"], result="partial", value="80").status_code == 303
    checklist = client.get(f"/edomex/admin/criterios/ciclos/{cid}/lista").get_data(as_text=True)
    assert "1 of 3 done" in checklist   # A-01 met with evidence; A-02 lacks its evidence address; B-01 partial

    # 4. evaluation: declaration first (conflict needs a description)
    login_as(ev)
    assert _assess(client, cid, crit["A-01"], result="met").status_code == 409   # still self-assessment
    assert _advance(client, cid, "evaluation").status_code == 303
    r = _assess(client, cid, crit["A-01"], result="partial")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/ciclos/{cid}/declaracion")
    r = _declare(client, cid, has_conflict="yes")
    assert r.status_code == 422 and "Describe the conflict of interest" in r.get_data(as_text=True)
    assert _declare(client, cid, has_conflict="yes",
                    conflict_description="Trabajé en la secretaría hasta 2022.").status_code == 303
    r = _assess(client, cid, crit["A-01"], result="partial", comment="La ley publicada no es la vigente.",
                evidence_url="https://sesaemm.example/marco", evidence_captured_on="2026-07-01",
                snapshot=(io.BytesIO(PDF), "captura.pdf"))
    assert r.status_code == 303, r.get_data(as_text=True)
    r = _assess(client, cid, crit["A-02"], result="partial")
    assert r.status_code == 422 and "cannot be partially met" in r.get_data(as_text=True)
    assert _assess(client, cid, crit["A-02"], result="met").status_code == 303
    r = _advance(client, cid, "reply")
    assert r.status_code == 409 and "B-01" in r.get_data(as_text=True)
    assert _assess(client, cid, crit["B-01"], result="partial", value="50").status_code == 303

    # a second evaluator disagrees on A-01
    login_as(ev2)
    assert _declare(client, cid, name="Otro Evaluador", organization="Comité de Participación Ciudadana",
                    evaluator_role="citizen_committee").status_code == 303
    assert _assess(client, cid, crit["A-01"], result="not_met", comment="No se encontró.").status_code == 303

    # the secretariat does not see the evaluations before the reply stage
    login_as(admin)
    page = client.get(f"/edomex/admin/criterios/ciclos/{cid}").get_data(as_text=True)
    assert "La ley publicada" not in page and "shown in the reply stage" in page

    # 5. reply stage; publishing waits for replies (deadline in 2099)
    login_as(ev)
    assert _advance(client, cid, "reply").status_code == 303
    r = client.post(f"/edomex/admin/criterios/ciclos/{cid}/publicar")
    assert r.status_code == 409 and "have no reply yet" in r.get_data(as_text=True)

    login_as(editor)
    with tenant_context(edomex):
        evaluations = db.session.scalars(select(Assessment).where(Assessment.slot != "self")).all()
        targets = [(a.id, a.criterion.code, a.evaluator_name) for a in evaluations]
        self_rows = db.session.scalars(select(Assessment.id).where(Assessment.slot == "self")).all()
    assert len(targets) == 4
    assert client.get(f"/edomex/admin/criterios/ciclos/{cid}/evaluaciones/{self_rows[0]}/replica").status_code == 404
    for aid, code, who in targets:
        r = client.post(f"/edomex/admin/criterios/ciclos/{cid}/evaluaciones/{aid}/replica",
                        data={"body": f"Réplica a {who} sobre {code}: ya está publicada.", "evidence_url": ""})
        assert r.status_code == 303
    # the secretariat cannot touch an evaluator's assessment: its form only ever writes the self slot
    assert _assess(client, cid, crit["A-01"], result="met").status_code == 409

    # 6. publish
    login_as(ev)
    r = client.post(f"/edomex/admin/criterios/ciclos/{cid}/publicar")
    assert r.status_code == 303, r.get_data(as_text=True)
    with tenant_context(edomex):
        cycle = db.session.scalar(select(EvaluationCycle))
        assert cycle.status == "published" and cycle.stage == "published" and cycle.version == 1
        # mean(1/2, 0) = 1/4 of 40 = 10; A-02: 30; B-01: 50 % of 30 = 15 -> 55
        assert cycle.scores["total"] == 55.0
        assert cycle.scores["disagreements"] == ["A-01"]
        assert cycle.scores["self_assessment_total"] == 94.0    # 40 + 30 + 0.8 * 30
        pub = latest_publication("evaluation_cycle", cycle.id)
        doc = json.loads(pub.canonical_json)
        a01 = next(c for c in doc["content"]["criteria"] if c["code"] == "A-01")
        assert {e["result"] for e in a01["evaluations"]} == {"partial", "not_met"} and a01["disagreement"]
        assert all(e["reply"]["body"].startswith("Réplica a") for e in a01["evaluations"])
        assert a01["self_assessment"]["result"] == "met"
        assert len(doc["attachments"]) == 1 and doc["attachments"][0]["filename"] == "captura.pdf"
        assert doc["content"]["declarations"][0]["has_conflict"] is True

    public = client.get(f"/edomex/criterios/ciclos/{cid}").get_data(as_text=True)
    for text in ("La ley publicada no es la vigente.", "Réplica a Eva Evaluadora sobre A-01", "Evaluators disagree",
                 "Trabajé en la secretaría hasta 2022.", "captura.pdf", "Self-assessment of the secretariat",
                 "How the score is computed"):
        assert text in public, text

    # 7. a correction of one's own assessment needs a reason and publishes version 2
    r = _assess(client, cid, crit["B-01"], result="partial", value="70")
    assert r.status_code == 422 and "explain why the assessment changes" in r.get_data(as_text=True)
    r = _assess(client, cid, crit["B-01"], result="partial", value="70", reason="Se contaron mal las actas.")
    assert r.status_code == 303
    with tenant_context(edomex):
        cycle = db.session.scalar(select(EvaluationCycle))
        assert cycle.version == 2 and cycle.scores["total"] == 61.0
        assert [p.action for p in history("evaluation_cycle", cycle.id)] == ["publish", "correct"]
    assert client.post(f"/edomex/admin/criterios/ciclos/{cid}/etapa", data={"target": "reply"}).status_code == 409

    # 8. recommendations: issued by the evaluator, answered and followed up by the secretariat
    r = client.post("/edomex/admin/criterios/recomendaciones/nueva", data={
        "title": "Publicar la ley vigente", "body": "Actualizar la ley con su última reforma.",
        "criteria": [str(crit["A-01"])], "cycle_id": str(cid), "issuer_organization": "Colectivo Cívico",
        "issued_on": "2026-08-01"})
    assert r.status_code == 303, r.get_data(as_text=True)
    r = client.post("/edomex/admin/criterios/recomendaciones/nueva", data={
        "title": "Otra", "body": "Texto.", "criteria": [str(crit["B-01"])], "cycle_id": "0", "issued_on": "2026-08-02"})
    assert r.status_code == 303
    with tenant_context(edomex):
        rec1, rec2 = db.session.scalars(select(Recommendation).order_by(Recommendation.id)).all()
        assert (rec1.number, rec2.number) == ("REC-2026-01", "REC-2026-02") and rec1.status == "published"
        r1, r2 = rec1.id, rec2.id
    assert client.post(f"/edomex/admin/criterios/recomendaciones/{r1}/respuesta",
                       data={"answer-answer": "accepted", "answer-reason": "x"}).status_code == 403
    login_as(editor)
    r = client.post(f"/edomex/admin/criterios/recomendaciones/{r1}/respuesta", data={"answer-answer": "accepted"})
    assert r.status_code == 422
    assert client.post(f"/edomex/admin/criterios/recomendaciones/{r1}/respuesta",
                       data={"answer-answer": "accepted", "answer-reason": "Se hará este año."}).status_code == 303
    assert client.post(f"/edomex/admin/criterios/recomendaciones/{r1}/seguimiento", data={
        "followup-reported_on": "2026-09-01", "followup-progress": "in_progress",
        "followup-body": "Se publicó la reforma de 2025."}).status_code == 303
    assert client.post(f"/edomex/admin/criterios/recomendaciones/{r2}/respuesta",
                       data={"answer-answer": "rejected", "answer-reason": "No aplica."}).status_code == 303
    assert client.post(f"/edomex/admin/criterios/recomendaciones/{r2}/seguimiento", data={
        "followup-reported_on": "2026-09-01", "followup-progress": "in_progress",
        "followup-body": "x"}).status_code == 409
    with tenant_context(edomex):
        rec1 = db.session.scalar(select(Recommendation).where(Recommendation.id == r1))
        assert rec1.version == 3 and rec1.progress == "in_progress" and len(rec1.followups) == 1
    listing = client.get("/edomex/criterios/recomendaciones").get_data(as_text=True)
    assert "Publicar la ley vigente" in listing and "In progress" in listing and "Rejected" in listing
    detail = client.get(f"/edomex/criterios/recomendaciones/{r1}").get_data(as_text=True)
    assert "Se hará este año." in detail and "Se publicó la reforma de 2025." in detail

    # 9. datasets: published rows with version and the SHA-256 of the current publication
    with tenant_context(edomex):
        shas = {(p.content_type, p.record_id, p.version): p.sha256 for p in db.session.scalars(select(Publication))}
    data = client.get("/edomex/datos/evaluation-cycles.json").get_json()
    (row,) = data["records"]
    assert row["version"] == 2 and row["content_sha256"] == shas[("evaluation_cycle", str(cid), 2)]
    assert row["total_score"] == 61.0 and row["category_scores"] == {"A": 57.14, "B": 70.0}
    rows = client.get("/edomex/datos/criteria-assessments.json").get_json()["records"]
    assert len(rows) == 7 and {r["content_sha256"] for r in rows} == {row["content_sha256"]}
    assert any(r["evidence_sha256"] for r in rows)
    recs = client.get("/edomex/datos/criteria-recommendations.json").get_json()["records"]
    assert {r["status"] for r in recs} == {"in_progress", "rejected"}
    csv_text = client.get("/edomex/datos/criteria-framework.csv").get_data(as_text=True)
    assert "A-01" in csv_text and "legal_basis_unverified" in csv_text

    # 10. search documents and audit trail
    with tenant_context(edomex):
        docs = [d for result in tenant_hook(edomex, "search_documents")(tenant=edomex) for d in result or []]
        types = {d["content_type"] for d in docs}
        assert {"criteria_framework", "evaluation_cycle", "recommendation"} <= types
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"criteria.cycle.create", "criteria.cycle.stage", "criteria.assessment.save", "criteria.reply.save",
                "criteria.cycle.publish", "criteria.recommendation.issue", "criteria.recommendation.answer",
                "criteria.recommendation.followup", "criteria.declaration.save"} <= actions
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "criteria.reply.save")) == 4


def test_dashboard_widget_and_home_slot(app, client, switch_user, people, edomex, framework):
    login_as = switch_user
    login_as(people["admin"])
    r = client.get("/edomex/admin/")
    assert r.status_code == 200 and "Open the criteria workspace" in r.get_data(as_text=True)
    assert client.get("/edomex/criterios/").status_code == 200


def test_recommendations_never_point_to_a_draft_cycle(app, edomex, framework):
    c = new_cycle(edomex, framework)
    with tenant_context(edomex):
        c = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.id == c.id))
        with pytest.raises(services.CriteriaError) as err:
            services.issue_recommendation(title="R", body="B", criteria=[c.framework.criteria[0]],
                                          issued_on=dt.date(2026, 8, 1), cycle=c)
        assert err.value.field == "cycle_id"
        with pytest.raises(services.CriteriaError):
            services.issue_recommendation(title="R", body="B", criteria=[], issued_on=dt.date(2026, 8, 1))
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Recommendation)) == 0
