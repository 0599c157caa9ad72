"""The criteria editors share the core's Markdown preview (``MarkdownField``): an evaluator sees
a recommendation or a cycle's methodology rendered by the public pages' sanitizer, and neither
"Preview" button issues, opens or stores anything; the live preview answers evaluators too."""
from __future__ import annotations

from sqlalchemy import func, select

from comun_cms.toolkit import AuditEvent, db, tenant_context

from plugins.criteria.models import EvaluationCycle, Recommendation


def _count(model, edomex) -> int:
    with tenant_context(edomex):
        return db.session.scalar(select(func.count()).select_from(model))


def test_evaluator_previews_a_recommendation_and_a_methodology_without_storing(app, client, switch_user, people,
                                                                            edomex, framework):
    switch_user(people["evaluator"])
    page = client.get("/edomex/admin/criterios/recomendaciones/nueva").get_data(as_text=True)
    assert 'name="preview" value="body"' in page and "data-editor" in page and "data-autosave" not in page
    events = _count(AuditEvent, edomex)
    r = client.post("/edomex/admin/criterios/recomendaciones/nueva", data={
        "title": "Publicar la ley", "body": "Actualizar **la ley** <img src=x onerror=alert(1)>", "criteria": [],
        "cycle_id": "0", "issued_on": "2026-08-01", "preview": "body"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<strong>la ley</strong>" in html and "onerror=alert" not in html.replace(
        "&lt;img src=x onerror=alert(1)&gt;", "")
    r = client.post("/edomex/admin/criterios/ciclos/nuevo", data={
        "title": "Ciclo", "methodology": "1. Revisar\n2. Calificar", "preview": "methodology"})
    assert r.status_code == 200 and "<ol>" in r.get_data(as_text=True)
    assert client.post("/edomex/admin/vista-previa", data={"text": "*x*"}).status_code == 200
    assert _count(Recommendation, edomex) == 0 and _count(EvaluationCycle, edomex) == 0
    assert _count(AuditEvent, edomex) == events
