"""Tenant isolation over every route of the plugin: another tenant's users get 403 on the admin
routes, another tenant's ids answer 404, and public pages, datasets and the portal never show
another tenant's records or any draft."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context
from plugins.criteria import services
from plugins.criteria.models import Assessment, CriteriaFramework, user_slot

from .conftest import import_small, quick_user


def seed(tenant, evaluator, word: str) -> dict:
    """In ``tenant``: a published framework and cycle whose comments carry ``PUB-<word>``, a draft
    cycle and a draft framework carrying ``DRAFT-<word>``, a published recommendation."""
    fw = import_small(tenant)
    draft_fw_csv = ("code,category,category_name,points,title\n"
                    f"Z-01,Z,DRAFT-{word},100,DRAFT-{word} criterio\n")
    import_small(tenant, draft_fw_csv, version="draft", publish=False)
    ids = {}
    with tenant_context(tenant):
        fw = db.session.scalar(select(CriteriaFramework).where(CriteriaFramework.version_label == "1"))
        for kind in ("PUB", "DRAFT"):
            c = services.create_cycle(fw, title=f"{kind}-{word} ciclo", period_label=kind, cutoff_date=dt.date(2026, 6, 30),
                                      reply_deadline=dt.date(2026, 7, 1))
            services.save_declaration(c, evaluator, evaluator_role="observatory", name=f"{kind}-{word} eva",
                                      organization="Org", has_conflict=False, conflict_description="")
            for cr in fw.criteria:
                a = services.save_assessment(c, cr, slot=user_slot(evaluator.id), evaluator=evaluator,
                                             evaluator_role="observatory", evaluator_name="Eva", organization="Org",
                                             result="met", value=100 if cr.scoring_type == "percentage" else None,
                                             comment=f"{kind}-{word} comentario")
                services.save_reply(a, body=f"{kind}-{word} réplica")
            c.stage = "reply"
            if kind == "PUB":
                services.publish_cycle(c, on=dt.date(2026, 8, 1))
            ids[kind] = c.id
        rec = services.issue_recommendation(title=f"PUB-{word} recomendación", body="x", criteria=[fw.criteria[0]],
                                            issued_on=dt.date(2026, 8, 2), cycle=None)
        db.session.commit()
        ids.update(framework=fw.id, criterion=fw.criteria[0].id, category=fw.categories[0].id, rec=rec.id,
                   draft_fw=db.session.scalar(select(CriteriaFramework.id).where(CriteriaFramework.status == "draft")),
                   assessment=db.session.scalar(select(Assessment.id).where(Assessment.cycle_id == ids["DRAFT"])))
    return ids


@pytest.fixture
def world(app, edomex, puebla):
    ev_e = quick_user("eva@edomex.test", "evaluator", "Eva")
    ev_p = quick_user("eva@puebla.test", "evaluator", "Pia", tenant="puebla")
    return {"edomex": seed(edomex, ev_e, "EDOMEX"), "puebla": seed(puebla, ev_p, "PUEBLA"),
            "puebla_admin": quick_user("admin@puebla.test", "admin", "Admin Puebla", tenant="puebla"),
            "puebla_evaluator": ev_p}


def admin_urls(app, ids: dict, tenant: str = "edomex", with_ids_only: bool = False) -> list[tuple[str, str]]:
    """(method, url) of every route of the admin blueprint, filled with ``ids`` (only the
    routes that take a record id if ``with_ids_only``)."""
    values = {"framework_id": ids["framework"], "cycle_id": ids["DRAFT"], "criterion_id": ids["criterion"],
              "assessment_id": ids["assessment"], "rec_id": ids["rec"], "category_id": ids["category"]}
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin_criteria."):
            continue
        if with_ids_only and not rule.arguments - {"tenant"}:
            continue
        url = rule.rule.replace("<tenant>", tenant)
        for arg in rule.arguments - {"tenant"}:
            url = url.replace(f"<int:{arg}>", str(values[arg]))
        for method in sorted(rule.methods & {"GET", "POST"}):
            out.append((method, url))
    assert len(out) >= (12 if with_ids_only else 20)
    return out


DETAIL_ENDPOINTS = ("/marcos/{framework}", "/ciclos/{DRAFT}", "/ciclos/{DRAFT}/lista", "/recomendaciones/{rec}")


def test_admin_routes_are_closed_to_other_tenants(app, client, switch_user, world):
    e = world["edomex"]
    for who in ("puebla_admin", "puebla_evaluator"):
        switch_user(world[who])
        # every route of edomex's admin: 403 for puebla's users
        for method, url in admin_urls(app, e):
            r = client.open(url, method=method, data={})
            assert r.status_code == 403, (who, method, url, r.status_code)
        # edomex's ids inside puebla's own admin: never found (403 where the role is not allowed)
        codes = {}
        for method, url in admin_urls(app, e, tenant="puebla", with_ids_only=True):
            codes[(method, url)] = client.open(url, method=method, data={}).status_code
        assert set(codes.values()) <= {403, 404}, (who, codes)
        for path in DETAIL_ENDPOINTS:
            url = "/puebla/admin/criterios" + path.format(**e)
            assert codes[("GET", url)] == 404, (who, url)
        assert codes[("GET", f"/puebla/admin/criterios/marcos/{e['framework']}.csv")] == 404


def test_public_pages_datasets_and_portal_never_show_other_tenants_or_drafts(app, client, world):
    e, p = world["edomex"], world["puebla"]
    pages = ["/edomex/criterios/", f"/edomex/criterios/ciclos/{e['PUB']}", "/edomex/criterios/recomendaciones",
             f"/edomex/criterios/recomendaciones/{e['rec']}", f"/edomex/criterios/marcos/{e['framework']}",
             f"/edomex/criterios/marcos/{e['framework']}.csv", "/edomex/", "/edomex/seccion/open_data"]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, url
        text = r.get_data(as_text=True)
        assert "PUEBLA" not in text and "DRAFT-" not in text, url
    for url in (f"/edomex/criterios/ciclos/{e['DRAFT']}", f"/edomex/criterios/ciclos/{p['PUB']}",
                f"/edomex/criterios/marcos/{e['draft_fw']}", f"/edomex/criterios/marcos/{p['framework']}",
                f"/edomex/criterios/marcos/{p['framework']}.csv", f"/edomex/criterios/recomendaciones/{p['rec']}"):
        assert client.get(url).status_code == 404, url
    assert "PUB-EDOMEX comentario" in client.get(f"/edomex/criterios/ciclos/{e['PUB']}").get_data(as_text=True)

    # datasets
    for name in ("criteria-framework", "evaluation-cycles", "criteria-assessments", "criteria-recommendations"):
        for fmt in ("csv", "json"):
            text = client.get(f"/edomex/datos/{name}.{fmt}").get_data(as_text=True)
            assert "PUEBLA" not in text and "DRAFT" not in text, (name, fmt)
    rows = client.get("/edomex/datos/criteria-assessments.json").get_json()["records"]
    assert rows and all(r["comment"] == "PUB-EDOMEX comentario" for r in rows)
    assert len(client.get("/puebla/datos/evaluation-cycles.json").get_json()["records"]) == 1

    # the portal: published cycles of every state, no drafts
    text = client.get("/criterios/").get_data(as_text=True)
    assert "PUB-EDOMEX ciclo" in text and "PUB-PUEBLA ciclo" in text and "DRAFT-" not in text
    assert "same SHA-256" in text
    home = client.get("/").get_data(as_text=True)
    assert "PUB-PUEBLA ciclo" in home and "DRAFT-" not in home
