"""The plan and commitment editors share the core's editor mechanism (toolkit ``autosave_reply``,
``MarkdownField``, the ``editor_form`` macro): a plan autosaves (a draft of the next version when
published; the public page does not change), the Markdown notes have a preview, and the
"Preview" button stores nothing, in every editor of the plugin."""
from __future__ import annotations

from comun_cms.toolkit import AuditEvent, Draft

from plugins.action_plans.models import ActionPlan, Commitment, ProgressReport

from .test_admin import ADMIN, commitment_data, load, published, summary, versions


def plan_data(plan: ActionPlan, **changes) -> dict:
    data = {"number": str(plan.number), "title": plan.title, "summary": plan.summary or "",
            "framework": plan.framework, "phase": plan.phase, "axes": "\n".join(plan.axes or []),
            "valid_from": plan.valid_from.isoformat() if plan.valid_from else "",
            "valid_until": plan.valid_until.isoformat() if plan.valid_until else "",
            "expected_commitments": str(plan.expected_commitments or 1), "notes": plan.notes or ""}
    data.update(changes)
    return data


def test_a_published_plan_autosaves_a_draft_the_public_does_not_see(app, client, login, make_plan, english):
    login("editor")
    plan_id, _cid, _ = published(make_plan, app)
    plan = load(app, ActionPlan, id=plan_id)[0]
    editor = client.get(f"{ADMIN}/{plan_id}/editar").get_data(as_text=True)
    assert "data-editor data-autosave" in editor and "data-editor-status" in editor
    assert 'name="preview" value="notes"' in editor  # the notes are Markdown, with their preview

    saved = client.post(f"{ADMIN}/{plan_id}/editar", data={**plan_data(plan, notes="Notas **nuevas**"), "autosave": "1"})
    assert saved.status_code == 200 and saved.json["ok"] is True, saved.json
    assert saved.json["message"].startswith("Saved automatically at")
    assert [d.data["notes"] for d in load(app, Draft)] == [["Notas **nuevas**"]]
    assert len(versions(app, "action_plan", plan_id)) == 1
    assert "Notas" not in client.get(f"/edomex/planes-de-accion/{plan_id}").get_data(as_text=True)
    # the reloaded editor shows what was saved automatically
    assert "Notas **nuevas**" in client.get(f"{ADMIN}/{plan_id}/editar").get_data(as_text=True)


def test_plan_autosave_refuses_bad_input_by_field_and_other_tenants(app, client, login, make_plan, english):
    login("editor")
    plan_id, _cid, _ = published(make_plan, app)
    plan = load(app, ActionPlan, id=plan_id)[0]
    bad = client.post(f"{ADMIN}/{plan_id}/editar", data={**plan_data(plan, title=""), "autosave": "1"})
    assert bad.status_code == 422 and bad.json["ok"] is False
    assert "Title: Enter a title." in bad.json["errors"]
    assert load(app, Draft) == [] and load(app, AuditEvent, action="action_plan.draft") == []

    login("editor", tenant="puebla")
    stolen = client.post(f"/puebla/admin/planes-de-accion/{plan_id}/editar",
                         data={**plan_data(plan, title="Robado"), "autosave": "1"})
    assert stolen.status_code == 404 and load(app, Draft) == []


def test_a_draft_plan_autosaves_in_place(app, client, login, make_plan, english):
    login("editor")
    plan_id = make_plan(publish=False)
    plan = load(app, ActionPlan, id=plan_id)[0]
    saved = client.post(f"{ADMIN}/{plan_id}/editar", data={**plan_data(plan, title="Plan renombrado"), "autosave": "1"})
    assert saved.json["ok"] is True and load(app, ActionPlan, id=plan_id)[0].title == "Plan renombrado"
    assert versions(app, "action_plan", plan_id) == [] and load(app, Draft) == []


def test_preview_buttons_store_nothing(app, client, login, make_plan, english):
    login("editor")
    plan_id, cid, _ = published(make_plan, app)
    plan = load(app, ActionPlan, id=plan_id)[0]
    c = load(app, Commitment, id=cid)[0]
    events = len(load(app, AuditEvent))

    response = client.post(f"{ADMIN}/{plan_id}/editar", data={**plan_data(plan, notes="*vista*"), "preview": "notes"})
    assert response.status_code == 200, summary(response)
    assert "<em>vista</em>" in response.get_data(as_text=True)

    response = client.post(f"{ADMIN}/compromisos/{cid}", data={**commitment_data(c, notes="Nota <b>x</b> **y**"),
                                                                "preview": "notes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<strong>y</strong>" in html and "&lt;b&gt;x&lt;/b&gt;" in html

    response = client.post(f"{ADMIN}/compromisos/{cid}/reportes/nuevo",
                           data={"period_end": "2025-06-30", "narrative": "## Avance", "reported_by": "Ana",
                                 "reason": "x", "preview": "narrative"})
    assert response.status_code == 200 and "<h3>Avance</h3>" in response.get_data(as_text=True)

    response = client.post(f"{ADMIN}/{plan_id}/compromisos/nuevo",
                           data={**commitment_data(c, number="9", notes="*n*"), "preview": "notes"})
    assert response.status_code == 200 and "<em>n</em>" in response.get_data(as_text=True)

    assert load(app, Draft) == [] and load(app, ProgressReport, commitment_id=cid) == []
    assert len(load(app, Commitment, plan_id=plan_id)) == 1 and len(load(app, AuditEvent)) == events
    assert len(versions(app, "action_plan", plan_id)) == 1 and len(versions(app, "commitment", cid)) == 1
