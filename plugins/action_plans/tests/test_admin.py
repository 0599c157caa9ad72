"""Admin of the action plans: CRUD with validation, status rules, corrections as published
versions, weights, evidence and audit."""
from __future__ import annotations

import datetime as dt
import io
import json

from sqlalchemy import func, select

from comun_cms.toolkit import Attachment, AuditEvent, Draft, Publication, db, tenant_context
from comun_cms.toolkit.testing import get_tenant

from plugins.action_plans.models import ActionPlan, Commitment, Milestone, ProgressReport

ADMIN = "/edomex/admin/planes-de-accion"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def load(app, model, **where):
    with tenant_context(get_tenant(app, "edomex")):
        db.session.expire_all()
        q = select(model)
        for key, value in where.items():
            q = q.where(getattr(model, key) == value)
        return db.session.scalars(q).all()


def versions(app, content_type, record_id) -> list[Publication]:
    with tenant_context(get_tenant(app, "edomex")):
        return db.session.scalars(select(Publication).where(Publication.content_type == content_type,
                                                            Publication.record_id == str(record_id))
                                  .order_by(Publication.version)).all()


def summary(response) -> str:
    """The error summary (or the whole page) of a response, for assertion messages."""
    html = response.get_data(as_text=True)
    if "error-summary" in html:
        return html.split("error-summary", 1)[1].split("</div>", 1)[0]
    return html[:2000]


def audit_count(app, action) -> int:
    with tenant_context(get_tenant(app, "edomex")):
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


COMMITMENT = {"title": "Datos abiertos de obra pública", "origin": "co_created", "progress_status": "not_started",
              "owner_institution": "Secretaría de Obra", "sdg_goals": "16.6, 16.10", "start_date": "2025-01-01",
              "end_date": "2025-12-31", "og_values": ["access_to_information"],
              "co_responsible_civil_society": "Colectivo A\nColectivo B"}


def milestone_form(**fields):
    data = {"description": "Hito", "weight": "100", "progress_status": "not_started", "start_date": "2025-02-01",
            "end_date": "2025-03-01"}
    data.update(fields)
    return data


def test_full_admin_flow_with_defaults_from_the_tenant_settings(app, client, login, english):
    login("editor")
    page = client.get(f"{ADMIN}/nuevo")
    assert 'name="expected_commitments"' in page.get_data(as_text=True) and 'value="5"' in page.get_data(as_text=True)
    response = client.post(f"{ADMIN}/nuevo", data={"title": "Segundo Plan de Acción Local", "framework": "inai_cocreation",
                                                   "phase": "co_creation", "valid_from": "2025-01-01",
                                                   "expected_commitments": "5", "axes": "Datos abiertos\nParticipación"})
    assert response.status_code == 303, summary(response)
    plan = load(app, ActionPlan)[0]
    assert plan.valid_until == dt.date(2025, 12, 31)     # 12 months (setting validity_months)
    assert plan.axes == ["Datos abiertos", "Participación"] and plan.status == "draft"
    response = client.post(f"{ADMIN}/{plan.id}/compromisos/nuevo", data=COMMITMENT)
    assert response.status_code == 303, summary(response)
    c = load(app, Commitment)[0]
    assert c.number == 1 and c.sdg_goals == ["16.6", "16.10"] and c.co_responsible_civil_society == ["Colectivo A", "Colectivo B"]
    assert client.post(f"{ADMIN}/compromisos/{c.id}/hitos/nuevo",
                       data=milestone_form(description="Diagnóstico")).status_code == 303
    # a second milestone keeps the weight typed; the first changes only through a confirmed proposal
    assert client.post(f"{ADMIN}/compromisos/{c.id}/hitos/nuevo",
                       data=milestone_form(description="Publicación", weight="40",
                                           start_date="2025-03-01", end_date="2025-06-30")).status_code == 303
    assert sorted(m.weight for m in load(app, Milestone)) == [40.0, 100.0]
    ms = sorted(load(app, Milestone), key=lambda m: m.number)
    assert client.post(f"{ADMIN}/compromisos/{c.id}/pesos",
                       data={f"weight-{ms[0].id}": "60", f"weight-{ms[1].id}": "40"}).status_code == 303
    assert sorted(m.weight for m in load(app, Milestone)) == [40.0, 60.0]
    # publish the plan with its commitment
    response = client.post(f"{ADMIN}/{plan.id}/publicar")
    assert response.status_code == 303, summary(response)
    assert [p.action for p in versions(app, "commitment", c.id)] == ["publish"]
    assert [p.action for p in versions(app, "action_plan", plan.id)] == ["publish"]
    assert audit_count(app, "action_plan.create") == 1 and audit_count(app, "commitment.create") == 1
    assert audit_count(app, "milestone.create") == 2 and audit_count(app, "action_plan.publish") == 1
    public = client.get(f"/edomex/planes-de-accion/compromisos/{c.id}").get_data(as_text=True)
    assert "Datos abiertos de obra pública" in public and "SDG</span>" not in public
    assert f"/edomex/historial/commitment/{c.id}" in public


def published(make_plan, app):
    plan_id = make_plan(valid_from=dt.date(2025, 1, 1), valid_until=dt.date(2025, 12, 31), commitments=[
        {"title": "Contraloría social", "start_date": dt.date(2025, 1, 1), "end_date": dt.date(2025, 12, 31),
         "milestones": [("Capacitación", 50, "completed", 100, dt.date(2025, 1, 10), dt.date(2025, 2, 10)),
                        ("Comités", 50, "started", 20, dt.date(2025, 3, 1), dt.date(2025, 6, 30))]}])
    c = load(app, Commitment, plan_id=plan_id)[0]
    return plan_id, c.id, [m.id for m in sorted(c.milestones, key=lambda m: m.number)]


def commitment_data(c: Commitment, **changes) -> dict:
    data = {"title": c.title, "progress_status": c.progress_status, "start_date": c.start_date.isoformat(),
            "end_date": c.end_date.isoformat(), "origin": c.origin}
    data.update(changes)
    return data


def test_every_change_of_status_or_progress_is_a_published_version(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, (m1, m2) = published(make_plan, app)
    assert load(app, Commitment)[0].progress == 60.0
    # a published record is never saved without a reason
    response = client.post(f"{ADMIN}/hitos/{m2}", data=milestone_form(description="Comités", weight="50",
                                                                      progress_status="started", progress="70",
                                                                      start_date="2025-03-01", end_date="2025-06-30"))
    assert response.status_code == 422 and "explain why it changes" in response.get_data(as_text=True), summary(response)
    assert len(versions(app, "commitment", cid)) == 1
    response = client.post(f"{ADMIN}/hitos/{m2}", data=milestone_form(
        description="Comités", weight="50", progress_status="started", progress="70", start_date="2025-03-01",
        end_date="2025-06-30", reason="Avance reportado en la 3ª sesión ordinaria"))
    assert response.status_code == 303, summary(response)
    commitment_versions = versions(app, "commitment", cid)
    assert [p.action for p in commitment_versions] == ["publish", "correct"]
    content = json.loads(commitment_versions[-1].canonical_json)["content"]
    assert content["progress"] == 85.0 and content["milestones"][1]["progress"] == 70.0
    assert commitment_versions[-1].reason == "Avance reportado en la 3ª sesión ordinaria"
    plan_versions = versions(app, "action_plan", plan_id)       # the plan's rolled-up progress changed too
    assert [p.action for p in plan_versions] == ["publish", "correct"]
    assert json.loads(plan_versions[-1].canonical_json)["content"]["progress"] == 85.0
    history = client.get(f"/edomex/historial/commitment/{cid}").get_data(as_text=True)
    assert "Avance reportado en la 3ª sesión ordinaria" in history


def test_status_moves_forward_unless_corrected_with_a_reason(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, (m1, m2) = published(make_plan, app)
    c = load(app, Commitment)[0]
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(c, progress_status="not_started", reason="x"))
    # with milestones, the commitment's status follows from them (issue 15, defect 3)
    assert response.status_code == 422 and "its status follows from them" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/hitos/{m1}", data=milestone_form(description="Capacitación", weight="50",
                                                                      progress_status="started", progress="80",
                                                                      start_date="2025-01-10", end_date="2025-02-10",
                                                                      reason="x"))
    assert response.status_code == 422 and "can only move forward" in response.get_data(as_text=True), summary(response)
    assert len(versions(app, "commitment", cid)) == 1
    response = client.post(f"{ADMIN}/hitos/{m1}", data=milestone_form(
        description="Capacitación", weight="50", progress_status="started", progress="80", start_date="2025-01-10",
        end_date="2025-02-10", status_correction="Se marcó concluido por error", reason="Corrección de captura"))
    assert response.status_code == 303, summary(response)
    assert load(app, Milestone, id=m1)[0].progress_status == "started"
    assert load(app, Commitment)[0].progress == 50.0
    event = load(app, AuditEvent, action="milestone.update")[-1]
    assert event.after["status_correction"] == "Se marcó concluido por error"


def test_verified_needs_a_named_verifier_and_evidence(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, (m1, m2) = published(make_plan, app)
    c = load(app, Commitment)[0]
    # with milestones, "verified" needs them all completed first
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(
        c, progress_status="verified", verified_by="Observatorio Ciudadano", verification_url="https://example.org/a.pdf",
        reason="r"))
    assert response.status_code == 422 and "its status follows from them" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/hitos/{m2}", data=milestone_form(
        description="Comités", weight="50", progress_status="completed", start_date="2025-03-01", end_date="2025-06-30",
        reason="Comités instalados"))
    assert response.status_code == 303, summary(response)
    c = load(app, Commitment)[0]
    assert (c.progress_status, c.progress) == ("completed", 100.0)
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(c, progress_status="verified", reason="r"))
    assert response.status_code == 422 and "name of who verified" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(
        c, progress_status="verified", verified_by="Observatorio Ciudadano", reason="r"))
    assert response.status_code == 422 and "needs evidence" in response.get_data(as_text=True), summary(response)
    published_before = len(versions(app, "commitment", cid))   # the milestone update published a correction
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(
        c, progress_status="verified", verified_by="Observatorio Ciudadano", verified_session="4ª sesión ordinaria",
        verification_url="https://example.org/acta-4.pdf"))
    assert response.status_code == 303, summary(response)
    # a draft of the next version until "Publicar cambios"
    assert len(versions(app, "commitment", cid)) == published_before
    response = client.post(f"{ADMIN}/compromisos/{cid}/publicar-cambios", data={"changes-reason": "Verificado en sesión"})
    assert response.status_code == 303, summary(response)
    content = json.loads(versions(app, "commitment", cid)[-1].canonical_json)["content"]
    assert content["progress_status"] == "verified" and content["verified_by"] == "Observatorio Ciudadano"
    assert content["verified_session"] == "4ª sesión ordinaria"


def test_manual_progress_needs_a_reason_and_dates_must_be_in_order(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, (m1, m2) = published(make_plan, app)
    c = load(app, Commitment)[0]
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(c, progress_manual="y", manual_progress="90", reason="r"))
    assert response.status_code == 422 and "set by hand" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(c, end_date="2024-12-01", reason="r"))
    assert response.status_code == 422 and "before the start date" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(c, end_date="2026-03-01", reason="r"))
    assert response.status_code == 422 and "after the end of the plan" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/hitos/{m2}", data=milestone_form(description="Comités", weight="50", progress_status="started",
                                                                      progress="20", start_date="2024-12-01", end_date="2025-06-30",
                                                                      reason="r"))
    assert response.status_code == 422 and "before the start of the commitment" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(
        c, progress_manual="y", manual_progress="90", progress_reason="Acuerdo del STL: el tablero ya opera"))
    assert response.status_code == 303, summary(response)
    response = client.post(f"{ADMIN}/compromisos/{cid}/publicar-cambios", data={"changes-reason": "r"})
    assert response.status_code == 303, summary(response)
    c = load(app, Commitment)[0]
    assert c.progress == 90.0 and c.progress_manual
    assert len(versions(app, "commitment", cid)) == 2


def test_weights_must_add_up_to_100(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, (m1, m2) = published(make_plan, app)
    response = client.post(f"{ADMIN}/compromisos/{cid}/pesos", data={f"weight-{m1}": "30", f"weight-{m2}": "60", "reason": "r"})
    assert response.status_code == 422 and "add up to 90, not 100" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/compromisos/{cid}/pesos", data={f"weight-{m1}": "abc", f"weight-{m2}": "60", "reason": "r"})
    assert response.status_code == 422 and "is not a number" in response.get_data(as_text=True), summary(response)
    response = client.post(f"{ADMIN}/compromisos/{cid}/pesos", data={f"weight-{m1}": "25", f"weight-{m2}": "75",
                                                                    "reason": "Nueva ponderación acordada"})
    assert response.status_code == 303, summary(response)
    assert load(app, Commitment)[0].progress == 40.0        # 25 x 100 + 75 x 20
    # without rebalancing, a new milestone would break the total of a published commitment
    response = client.post(f"{ADMIN}/compromisos/{cid}/hitos/nuevo", data=milestone_form(weight="10", reason="r"))
    assert response.status_code == 422 and "add up to 110" in response.get_data(as_text=True), summary(response)
    assert len(load(app, Milestone)) == 2


def test_evidence_upload_on_a_published_commitment_is_a_correction(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, (m1, m2) = published(make_plan, app)
    response = client.post(f"{ADMIN}/hitos/{m1}/evidencia", data={"upload-file": (io.BytesIO(PDF), "minuta.pdf"),
                                                                  "upload-title": "Minuta", "upload-reason": "Evidencia del hito"},
                           content_type="multipart/form-data")
    assert response.status_code == 303, summary(response)
    att = load(app, Attachment)[0]
    assert att.owner_type == "ap_milestone" and att.public
    doc = json.loads(versions(app, "commitment", cid)[-1].canonical_json)
    assert att.sha256 in [a["sha256"] for a in doc["attachments"]]
    assert doc["content"]["milestones"][0]["evidence"][0]["sha256"] == att.sha256
    # a fake PDF is refused and nothing is stored
    response = client.post(f"{ADMIN}/compromisos/{cid}/evidencia", data={"upload-file": (io.BytesIO(b"MZ\x90\x00"), "acta.pdf"),
                                                                         "upload-reason": "x"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "is not a pdf file" in response.get_data(as_text=True), summary(response)
    assert len(load(app, Attachment)) == 1
    public = client.get(f"/edomex/planes-de-accion/compromisos/{cid}").get_data(as_text=True)
    assert f"/edomex/archivos/{att.id}/minuta.pdf" in public


def test_progress_report_and_retraction(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, _ = published(make_plan, app)
    response = client.post(f"{ADMIN}/compromisos/{cid}/reportes/nuevo", data={
        "period_start": "2025-01-01", "period_end": "2025-03-31", "narrative": "Se instalaron **tres** comités.",
        "progress": "60", "reported_by": "Enlace INFOEM", "reason": "Reporte trimestral"})
    assert response.status_code == 303, summary(response)
    content = json.loads(versions(app, "commitment", cid)[-1].canonical_json)["content"]
    assert content["progress_reports"][0]["narrative"] == "Se instalaron **tres** comités."
    assert "<strong>tres</strong>" in client.get(f"/edomex/planes-de-accion/compromisos/{cid}").get_data(as_text=True)
    response = client.post(f"{ADMIN}/compromisos/{cid}/retirar", data={"retract-reason": ""})
    assert response.status_code == 422, summary(response)
    response = client.post(f"{ADMIN}/compromisos/{cid}/retirar", data={"retract-reason": "Compromiso duplicado"})
    assert response.status_code == 303, summary(response)
    assert client.get(f"/edomex/planes-de-accion/compromisos/{cid}").status_code == 410
    plan_doc = json.loads(versions(app, "action_plan", plan_id)[-1].canonical_json)
    assert plan_doc["content"]["commitments"] == [] and plan_doc["reason"] == "Compromiso duplicado"


def test_drafts_can_be_deleted_published_records_cannot(app, client, login, make_plan):
    login("editor")
    draft_id = make_plan(publish=False, title="Borrador")
    plan_id, cid, _ = published(make_plan, app)
    assert client.post(f"{ADMIN}/compromisos/{cid}/eliminar").status_code == 422
    assert client.post(f"{ADMIN}/{plan_id}/eliminar").status_code == 422
    assert client.post(f"{ADMIN}/{draft_id}/eliminar").status_code == 303
    assert [p.id for p in load(app, ActionPlan)] == [plan_id]
    assert audit_count(app, "action_plan.delete") == 1


def test_refused_changes_roll_back_with_the_reason_on_the_form_and_no_audit_event(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, _ = published(make_plan, app)
    c = load(app, Commitment, id=cid)[0]
    # saving a published commitment without any change leaves no draft and publishes nothing
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(c), follow_redirects=True)
    assert "The draft is the same as the published version." in response.get_data(as_text=True), summary(response)
    assert len(versions(app, "commitment", cid)) == 1 and audit_count(app, "commitment.update") == 0
    assert load(app, Draft) == []
    # a report whose file is refused is not stored
    response = client.post(f"{ADMIN}/compromisos/{cid}/reportes/nuevo", data={
        "period_end": "2025-03-31", "narrative": "Avance", "reported_by": "Enlace", "reason": "Reporte",
        "file": (io.BytesIO(b"MZ\x90\x00"), "informe.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "is not a pdf file" in response.get_data(as_text=True), summary(response)
    assert load(app, ProgressReport) == [] and load(app, Attachment) == []
    assert audit_count(app, "progress_report.create") == 0 and len(versions(app, "commitment", cid)) == 1
    # a draft plan whose commitment has problems is not published at all
    draft_id = make_plan(publish=False, title="Plan con problemas",
                         commitments=[{"title": "Pesos incompletos", "milestones": [("Único", 30, "started", 50, None, None)]}])
    response = client.post(f"{ADMIN}/{draft_id}/publicar")
    assert response.status_code == 422 and "add up to 30" in response.get_data(as_text=True), summary(response)
    assert load(app, ActionPlan, id=draft_id)[0].status == "draft" and versions(app, "action_plan", draft_id) == []
    assert audit_count(app, "action_plan.publish") == 0


def test_audit_snapshots_record_every_column(app, client, login, english):
    login("editor")
    response = client.post(f"{ADMIN}/nuevo", data={"title": "Plan auditado", "framework": "own", "expected_commitments": "5"})
    assert response.status_code == 303, summary(response)
    event = load(app, AuditEvent, action="action_plan.create")[-1]
    assert event.before is None and event.object_type == "action_plan"
    plan = load(app, ActionPlan, id=int(event.object_id))[0]
    assert set(event.after) == {column.key for column in ActionPlan.__table__.columns}
    assert event.after["tenant_id"] == "edomex" and event.after["title"] == "Plan auditado"
    assert event.after["number"] == plan.number


def test_milestone_weights_are_stored_as_typed_with_a_notice(app, client, login, english):
    """Issue 15, defect 2: three milestones 30/30/40 added with "New milestone" are stored
    30/30/40; while the total is not 100 the notice gives it, and nothing is rescaled."""
    login("editor")
    plan = client.post(f"{ADMIN}/nuevo", data={"title": "Plan de pesos", "framework": "own", "valid_from": "2025-01-01"})
    assert plan.status_code == 303, summary(plan)
    plan_id = load(app, ActionPlan)[0].id
    assert client.post(f"{ADMIN}/{plan_id}/compromisos/nuevo", data=COMMITMENT).status_code == 303
    cid = load(app, Commitment)[0].id
    form = client.get(f"{ADMIN}/compromisos/{cid}/hitos/nuevo").get_data(as_text=True)
    assert 'name="rebalance"' not in form           # no pre-checked "scale the others"
    notices = []
    for n, weight in enumerate(("30", "30", "40"), start=1):
        response = client.post(f"{ADMIN}/compromisos/{cid}/hitos/nuevo", follow_redirects=True,
                               data=milestone_form(description=f"Hito {n}", weight=weight))
        assert response.status_code == 200, summary(response)
        notices.append(response.get_data(as_text=True))
        page = client.get(f"{ADMIN}/compromisos/{cid}/hitos/nuevo").get_data(as_text=True)
        if n < 3:
            assert f"weights add up to {30 * n} %" in page     # the others' total is shown before typing
    assert [m.weight for m in sorted(load(app, Milestone), key=lambda m: m.number)] == [30.0, 30.0, 40.0]
    assert "with the weight you typed (30 %)" in notices[0] and "now add up to 30 %, not 100" in notices[0]
    assert "now add up to 60 %, not 100" in notices[1]
    assert "with the weight you typed" not in notices[2] and "Milestone saved." in notices[2]
    assert "See a proposed rebalance" in notices[1] and "See a proposed rebalance" not in notices[2]
    audit = load(app, AuditEvent, action="milestone.create")
    assert [e.after["rebalanced"] for e in audit] == [None, None, None]


def test_rebalance_is_previewed_and_applied_only_when_confirmed(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, (m1, m2) = published(make_plan, app)
    data = milestone_form(description="Difusión", weight="20", reason="Nuevo hito acordado en sesión",
                          start_date="2025-07-01", end_date="2025-08-01")
    # a published commitment must add up to 100: refused with the total and the proposal, nothing stored
    response = client.post(f"{ADMIN}/compromisos/{cid}/hitos/nuevo", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "add up to 120 %, not 100" in html, summary(response)
    assert "Proposed rebalance" in html and "<strong>40</strong>" in html
    assert len(load(app, Milestone)) == 2 and len(versions(app, "commitment", cid)) == 1
    token = html.split('name="rebalance" value="', 1)[1].split('"', 1)[0]
    assert token == f"{m1}=40;{m2}=40;this=20"
    # a stale proposal (weights changed meanwhile) is refused and shown again
    response = client.post(f"{ADMIN}/compromisos/{cid}/hitos/nuevo", data={**data, "rebalance": f"{m1}=50;{m2}=30;this=20"})
    assert response.status_code == 422 and "changed since the proposal" in response.get_data(as_text=True)
    assert len(load(app, Milestone)) == 2
    response = client.post(f"{ADMIN}/compromisos/{cid}/hitos/nuevo", data={**data, "rebalance": token})
    assert response.status_code == 303, summary(response)
    assert [m.weight for m in sorted(load(app, Milestone), key=lambda m: m.number)] == [40.0, 40.0, 20.0]
    assert [p.action for p in versions(app, "commitment", cid)] == ["publish", "correct"]
    assert load(app, AuditEvent, action="milestone.create")[-1].after["rebalanced"] == {str(m1): 40.0, str(m2): 40.0,
                                                                                      "this": 20.0}


def test_weights_page_shows_the_total_and_fills_the_form_with_the_proposal_on_request(app, client, login, make_plan, english):
    login("editor")
    plan_id = make_plan(publish=False, commitments=[{"milestones": [("A", 30, "not_started", 0, None, None),
                                                                    ("B", 30, "not_started", 0, None, None)]}])
    c = load(app, Commitment, plan_id=plan_id)[0]
    a, b = sorted(c.milestones, key=lambda m: m.number)
    page = client.get(f"{ADMIN}/compromisos/{c.id}/pesos").get_data(as_text=True)
    assert "The weights add up to 60 %, not 100" in page and "Nothing has been changed" in page
    assert f'name="weight-{a.id}" value="30"' in page
    page = client.get(f"{ADMIN}/compromisos/{c.id}/pesos?propuesta=1&mantener={a.id}").get_data(as_text=True)
    assert f'name="weight-{a.id}" value="30"' in page and f'name="weight-{b.id}" value="70"' in page
    assert [m.weight for m in sorted(load(app, Milestone), key=lambda m: m.number)] == [30.0, 30.0]   # still as typed
    # removing a milestone shows the weights the others get
    page = client.get(f"{ADMIN}/hitos/{a.id}").get_data(as_text=True)
    assert "they will be:" in page and "30 % → <strong>100 %</strong>" in page
