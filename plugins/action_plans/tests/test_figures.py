"""Issue 15, defect 3: one definition of a commitment's status and progress
(:func:`plugins.action_plans.progress.commitment_figures`), shown the same on every surface:
the public commitment and plan pages and their bars, the admin, the progress report, the
published content (API), the open data, search and the portal widget."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from comun_cms.toolkit import Publication, db, tenant_context, tenant_hook
from comun_cms.toolkit.testing import get_tenant

from plugins.action_plans.models import Commitment, ProgressReport

ADMIN = "/edomex/admin/planes-de-accion"


def _one(app, model):
    with tenant_context(get_tenant(app, "edomex")):
        db.session.expire_all()
        return db.session.scalars(select(model)).one()


def test_every_surface_shows_the_same_status_and_progress(app, client, make_plan, login):
    plan_id = make_plan(valid_from=dt.date(2025, 1, 1), valid_until=dt.date(2025, 12, 31), commitments=[
        {"title": "Compromiso con tres hitos", "progress_status": "not_started",
         "start_date": dt.date(2025, 1, 1), "end_date": dt.date(2025, 12, 31),
         "milestones": [("Diagnóstico", 30, "not_started", 0, dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
                        ("Mesas de trabajo", 30, "not_started", 0, dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
                        ("Publicación", 40, "not_started", 0, dt.date(2025, 7, 1), dt.date(2025, 9, 30))]}])
    c = _one(app, Commitment)
    m1 = min(c.milestones, key=lambda m: m.number)
    login("editor")
    with client.session_transaction() as sess:
        sess["lang"] = "es_MX"
    # milestone 1.1 -> "Iniciado 60 %" (the interface in Spanish, as the issue walked it)
    response = client.post(f"{ADMIN}/hitos/{m1.id}", data={
        "description": "Diagnóstico", "weight": "30", "progress_status": "started", "progress": "60",
        "start_date": "2025-01-01", "end_date": "2025-03-31", "reason": "Avance del diagnóstico"})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    c = _one(app, Commitment)
    assert (c.progress_status, c.progress) == ("started", 18.0)

    # the progress report records the same figure (no number typed apart)
    form = client.get(f"{ADMIN}/compromisos/{c.id}/reportes/nuevo").get_data(as_text=True)
    assert "18 %" in form and 'name="progress"' not in form
    response = client.post(f"{ADMIN}/compromisos/{c.id}/reportes/nuevo", data={
        "period_start": "2025-01-01", "period_end": "2025-03-31", "narrative": "Avance del trimestre.",
        "progress": "20", "reported_by": "Enlace", "reason": "Informe trimestral"})
    assert response.status_code == 303
    assert _one(app, ProgressReport).progress == 18.0

    # public commitment page: status, figure, bar and report agree
    page = client.get(f"/edomex/planes-de-accion/compromisos/{c.id}").get_data(as_text=True)
    header = page.split('class="record-header"', 1)[1].split("</header>", 1)[0]
    assert "ap-status--started" in header and "Iniciado" in header and "Por iniciar" not in header
    assert "18&nbsp;%" in header and "Iniciado: 18.0&nbsp;%" in header and "Pendiente: 82.0&nbsp;%" in header
    assert 'width="18.0"' in header
    assert "avance del compromiso al presentar el informe: 18 %" in page.lower()
    assert "se calculan el estatus y el avance" in page           # the definition, as help text
    # public plan page: the chart row and the overall progress
    plan_page = client.get(f"/edomex/planes-de-accion/{plan_id}").get_data(as_text=True)
    row = plan_page.split("Compromiso con tres hitos", 1)[1].split("</tr>", 1)[0]
    assert "ap-status--started" in row and "18&nbsp;%" in row and "Iniciado: 18.0&nbsp;%" in row
    assert '<p class="ap-big-number">18&nbsp;%' in plan_page
    # admin: the commitment and the plan
    admin = client.get(f"{ADMIN}/compromisos/{c.id}").get_data(as_text=True)
    facts = admin.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert "Iniciado" in facts and "18 %" in facts
    detail = client.get(f"{ADMIN}/{plan_id}").get_data(as_text=True)
    detail_row = detail.split("Compromiso con tres hitos", 1)[1].split("</tr>", 1)[0]
    assert "Iniciado" in detail_row and "18 %" in detail_row
    # published content (what the API serves), open data, search, portal
    with tenant_context(get_tenant(app, "edomex")):
        pub = db.session.scalars(select(Publication).where(Publication.content_type == "commitment")
                                 .order_by(Publication.version.desc())).first()
    content = json.loads(pub.canonical_json)["content"]
    assert (content["progress_status"], content["progress"]) == ("started", 18.0)
    assert content["progress_reports"][0]["progress"] == 18.0
    api = client.get(f"/api/v1/edomex/records/commitment/{c.id}").get_json()["data"]["content"]
    assert (api["progress_status"], api["progress"]) == ("started", 18.0)
    rows = json.loads(client.get("/edomex/datos/commitments.json").data)["records"]
    assert [(r["status"], r["progress"]) for r in rows] == [("started", 18.0)]
    plans = json.loads(client.get("/edomex/datos/action-plans.json").data)["records"]
    assert plans[0]["progress"] == 18.0
    tenant = get_tenant(app, "edomex")
    with app.test_request_context(), tenant_context(tenant):
        docs = [d for result in tenant_hook(tenant, "search_documents")(tenant=tenant) for d in (result or [])
                if d["content_type"] == "commitment"]
    assert "started" in docs[0]["keywords"] and "not_started" not in docs[0]["keywords"]
    portal = client.get("/").get_data(as_text=True)
    edomex = portal.split('id="ap-portal-caption"', 1)[1].split("Estado de México", 1)[1].split("</tr>", 1)[0]
    assert "18&nbsp;%" in edomex


def test_a_stale_stored_status_does_not_reach_any_page(app, client, make_plan):
    """Figures are computed from the milestones when shown, so a row stored before this
    definition (status "not started" with a started milestone) shows the same everywhere."""
    make_plan(commitments=[{"title": "Compromiso antiguo", "milestones": [
        ("A", 30, "started", 60, None, None), ("B", 70, "not_started", 0, None, None)]}])
    with tenant_context(get_tenant(app, "edomex")):
        c = db.session.scalars(select(Commitment)).one()
        c.progress_status, c.progress = "not_started", 30.0     # as the old code could leave it
        db.session.commit()
        cid = c.id
    page = client.get(f"/edomex/planes-de-accion/compromisos/{cid}").get_data(as_text=True)
    header = page.split('class="record-header"', 1)[1].split("</header>", 1)[0]
    assert "ap-status--started" in header and "18&nbsp;%" in header and "30&nbsp;%" not in header
    rows = json.loads(client.get("/edomex/datos/commitments.json").data)["records"]
    assert [(r["status"], r["progress"]) for r in rows] == [("started", 18.0)]
