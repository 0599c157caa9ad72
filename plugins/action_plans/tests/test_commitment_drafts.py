"""Editing a published commitment forgives: the card is saved as a draft of the next version,
the public keeps the published one until "Publicar cambios" (one correction, with a reason), the
changes are shown against the published version, and the draft can be discarded."""
from __future__ import annotations

from comun_cms.toolkit import AuditEvent, Draft

from plugins.action_plans.models import Commitment

from .test_admin import ADMIN, commitment_data, load, published, summary, versions


def test_public_commitment_is_unchanged_until_publish_changes(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, _ = published(make_plan, app)
    c = load(app, Commitment, id=cid)[0]
    old_title = c.title
    response = client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(c, title="Contraloría social ampliada"))
    assert response.status_code == 303, summary(response)
    assert len(versions(app, "commitment", cid)) == 1 and len(load(app, Draft)) == 1
    public = client.get(f"/edomex/planes-de-accion/compromisos/{cid}").get_data(as_text=True)
    assert old_title in public and "ampliada" not in public

    page = client.get(f"{ADMIN}/compromisos/{cid}").get_data(as_text=True)
    assert "Unpublished changes" in page and 'value="Contraloría social ampliada"' in page
    assert '<h4 id="change-title">Title</h4>' in page
    assert 'ampliada</ins>' in page and '<span class="visually-hidden">[added:] </span>' in page

    response = client.post(f"{ADMIN}/compromisos/{cid}/publicar-cambios", data={"changes-reason": ""})
    assert response.status_code == 422 and len(versions(app, "commitment", cid)) == 1
    response = client.post(f"{ADMIN}/compromisos/{cid}/publicar-cambios",
                           data={"changes-reason": "Se amplía el alcance"})
    assert response.status_code == 303, summary(response)
    commitment_versions = versions(app, "commitment", cid)
    assert [(p.action, p.reason) for p in commitment_versions] == [("publish", ""), ("correct", "Se amplía el alcance")]
    assert load(app, Draft) == [] and load(app, Commitment, id=cid)[0].title == "Contraloría social ampliada"
    assert len(load(app, AuditEvent, action="commitment.correct")) == 1
    assert "ampliada" in client.get(f"/edomex/planes-de-accion/compromisos/{cid}").get_data(as_text=True)


def test_discard_autosave_and_another_tenant(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, _ = published(make_plan, app)
    c = load(app, Commitment, id=cid)[0]
    saved = client.post(f"{ADMIN}/compromisos/{cid}", data={**commitment_data(c, axis="Datos abiertos"), "autosave": "1"})
    assert saved.status_code == 200 and saved.json["ok"] is True and len(load(app, Draft)) == 1
    bad = client.post(f"{ADMIN}/compromisos/{cid}", data={**commitment_data(c, title=""), "autosave": "1"})
    assert bad.status_code == 422 and bad.json["ok"] is False and bad.json["errors"]
    assert client.post(f"{ADMIN}/compromisos/{cid}/descartar-cambios").status_code == 303
    assert load(app, Draft) == [] and load(app, Commitment, id=cid)[0].axis != "Datos abiertos"
    assert len(versions(app, "commitment", cid)) == 1

    login("editor", tenant="puebla")
    client.post(f"{ADMIN}/compromisos/{cid}", data=commitment_data(c, axis="Robado"))
    for suffix in ("", "/publicar-cambios", "/descartar-cambios"):
        response = client.post(f"/puebla/admin/planes-de-accion/compromisos/{cid}{suffix}",
                               data={**commitment_data(c, axis="Robado"), "changes-reason": "x"})
        assert response.status_code == 404, suffix
    assert load(app, Draft) == []


def test_a_published_plan_is_edited_as_a_draft_until_publish_changes(app, client, login, make_plan, english):
    from plugins.action_plans.models import ActionPlan
    login("editor")
    plan_id, cid, _ = published(make_plan, app)
    plan = load(app, ActionPlan, id=plan_id)[0]
    form = {"number": str(plan.number), "title": plan.title, "summary": "Resumen nuevo del plan",
            "framework": plan.framework, "phase": plan.phase, "axes": "\n".join(plan.axes or []),
            "valid_from": plan.valid_from.isoformat() if plan.valid_from else "",
            "valid_until": plan.valid_until.isoformat() if plan.valid_until else "",
            "expected_commitments": str(plan.expected_commitments or 1)}
    response = client.post(f"{ADMIN}/{plan_id}/editar", data=form)
    assert response.status_code == 303, summary(response)
    assert len(versions(app, "action_plan", plan_id)) == 1 and len(load(app, Draft)) == 1
    assert "Resumen nuevo" not in client.get(f"/edomex/planes-de-accion/{plan_id}").get_data(as_text=True)
    page = client.get(f"{ADMIN}/{plan_id}/editar").get_data(as_text=True)
    assert "Unpublished changes" in page and "Resumen nuevo del plan" in page and 'id="change-summary"' in page
    response = client.post(f"{ADMIN}/{plan_id}/publicar-cambios", data={"changes-reason": "Se precisa el resumen"})
    assert response.status_code == 303, summary(response)
    assert [(p.action, p.reason) for p in versions(app, "action_plan", plan_id)] == [
        ("publish", ""), ("correct", "Se precisa el resumen")]
    assert load(app, Draft) == [] and load(app, ActionPlan, id=plan_id)[0].summary == "Resumen nuevo del plan"
