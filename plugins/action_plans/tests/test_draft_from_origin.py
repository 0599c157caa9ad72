"""The ``create_draft`` hook of action plans: another plugin (co-creation) asks, through the
toolkit, for a draft commitment pre-filled from its record; the plan must be the tenant's, the
draft is never published, the origin is "co-created" and the creation is audited."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from comun_cms.toolkit import AuditEvent, ChangeRefused, create_draft, db, retract, tenant_context
from comun_cms.toolkit.testing import get_tenant

from plugins.action_plans.models import ActionPlan, Commitment

ORIGIN = {"content_type": "cocreation_minute", "record_id": 7, "proposal_id": 3,
          "label": "Propuesta 1 de la minuta de resultados de la mesa “Transparencia”"}


def fields(plan_id, **extra):
    return {"plan_id": plan_id, "title": "Publicar los contratos de obra", "description": "Un portal con los contratos.",
            "public_problem": "Nadie sabe cuánto cuesta la obra pública\n\nNo se publican los contratos.",
            "owner_institution": "Secretaría de Obra Pública", **extra}


def test_a_draft_commitment_is_prefilled_in_the_chosen_plan_with_the_next_number(app, make_plan):
    plan_id = make_plan("edomex", commitments=[{"title": "Primero"}, {"title": "Segundo"}])
    with tenant_context(get_tenant(app, "edomex")):
        c = create_draft("commitment", fields(plan_id), ORIGIN)
        db.session.commit()
        c = db.session.get(Commitment, c.id)
        assert (c.plan_id, c.number, c.status, c.version) == (plan_id, 3, "draft", 0)
        assert c.title == "Publicar los contratos de obra" and c.description == "Un portal con los contratos."
        assert c.public_problem.startswith("Nadie sabe cuánto cuesta") and c.owner_institution == "Secretaría de Obra Pública"
        assert c.origin == "co_created" and c.source == ORIGIN["label"] and c.progress_status == "not_started"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "commitment.create",
                                                          AuditEvent.object_id == str(c.id)))
        assert event is not None and event.after["origin_record"]["proposal_id"] == 3
        assert event.after["title"] == c.title


def test_html_is_removed_and_long_texts_are_cut_to_the_columns(app, make_plan):
    plan_id = make_plan("edomex", publish=False)
    with tenant_context(get_tenant(app, "edomex")):
        c = create_draft("commitment", fields(plan_id, title="<b>Contratos</b> <script>alert(1)</script>abiertos " + "x" * 400,
                                              owner_institution="<i>INFOEM</i>"), ORIGIN)
        assert "<" not in c.title and c.title.startswith("Contratos") and len(c.title) == 300
        assert c.owner_institution == "INFOEM" and "alert" not in c.title


@pytest.mark.parametrize("case", ["other_tenant", "retracted", "missing", "no_title"])
def test_refused_values_name_the_field_and_store_nothing(app, make_plan, case):
    edomex_plan = make_plan("edomex")
    puebla_plan = make_plan("puebla")
    with tenant_context(get_tenant(app, "edomex")):
        before = db.session.scalar(select(db.func.count(Commitment.id)))
        values = {"other_tenant": fields(puebla_plan), "retracted": fields(edomex_plan),
                  "missing": fields(None), "no_title": fields(edomex_plan, title="  <b></b> ")}[case]
        if case == "retracted":
            retract(db.session.get(ActionPlan, edomex_plan), reason="Plan sustituido")
        with pytest.raises(ChangeRefused) as info:
            create_draft("commitment", values, ORIGIN)
        assert info.value.field == ("title" if case == "no_title" else "plan_id")
        db.session.rollback()
        assert db.session.scalar(select(db.func.count(Commitment.id))) == before
    with tenant_context(get_tenant(app, "puebla")):
        assert [c.number for c in db.session.scalars(select(Commitment))] == [1]


def test_other_content_types_and_tenants_without_the_plugin_get_none(app, make_plan):
    plan_id = make_plan("edomex")
    state = app.extensions["comun"]
    with tenant_context(get_tenant(app, "edomex")):
        assert create_draft("action_plan", fields(plan_id), ORIGIN) is None
        assert create_draft("no_such_type", fields(plan_id), ORIGIN) is None
    tenant = get_tenant(app, "edomex")
    state.tenants["edomex"] = dataclasses.replace(tenant, plugins=tuple(p for p in tenant.plugins if p != "action_plans"))
    state.hook_cache.clear()
    with tenant_context(get_tenant(app, "edomex")):
        assert create_draft("commitment", fields(plan_id), ORIGIN) is None
        assert db.session.scalar(select(db.func.count(Commitment.id))) == 1
