"""Tenant isolation of every route of the co-creation plugin: other tenants' staff get 403 on
the admin, other tenants' ids are 404 (and nothing of theirs changes), public pages and the open
dataset show only the tenant's published problems, never a pending one."""
from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context
from comun_cms.toolkit.testing import get_tenant

from plugins.cocreation.models import Problem, Tree
from plugins.cocreation.services import DEFAULT_THEMES

from .call_records import make_call_records

PENDING = "PENDIENTE-CC-7b1e"


def rules(app, prefix):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith(prefix) and not r.endpoint.endswith(".static")]


def url(app, rule, tenant, values):
    with app.test_request_context():
        args = {k: values[k] for k in rule.arguments if k != "tenant"}
        return url_for(rule.endpoint, tenant=tenant, **args)


@pytest.fixture
def two_tenants(app, make_process, make_problem, make_table):
    out = {}
    for slug in ("edomex", "puebla"):
        pid = make_process(slug, title=f"Proceso exclusivo {slug}")
        prob = make_problem(pid, slug, title=f"Problema exclusivo {slug}")
        table_ids = make_table(pid, [prob], slug, title=f"Mesa exclusiva {slug}")
        make_problem(pid, slug, title=f"{PENDING} {slug}", published=False)
        with tenant_context(get_tenant(app, slug)):
            db.session.add(Tree(problem_id=prob, kind="problem", core=f"Árbol {slug}", roots="- causa"))
            db.session.commit()
        out[slug] = {"process_id": pid, "problem_id": prob, "number": 4, "action": "publicar", "token": "nada",
                     **make_call_records(app, slug, pid), **table_ids}
    return out


def test_admin_routes_refuse_other_tenants_users_and_ids(app, client, login_as, two_tenants):
    edomex, puebla = two_tenants["edomex"], two_tenants["puebla"]
    admin_rules = rules(app, "admin_cocreation.")
    assert len(admin_rules) >= 8
    for rule in admin_rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url(app, rule, "edomex", edomex), method=method)
            assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"], rule.rule
    for role, slug in (("editor", "puebla"), ("evaluator", "edomex")):
        client.delete_cookie("session")
        login_as(role, slug)
        for rule in admin_rules:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                assert client.open(url(app, rule, "edomex", edomex), method=method).status_code == 403, (
                    role, rule.rule, method)
    client.delete_cookie("session")
    login_as("editor", "edomex")
    for rule in admin_rules:
        if not set(rule.arguments) & {"process_id", "problem_id"}:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"target": puebla["problem_id"], "reason": "x", "problem-core": "X", "title": "X"}
            resp = client.open(url(app, rule, "edomex", puebla), method=method, data=data)
            assert resp.status_code == 404, (rule.rule, method)
    with tenant_context(get_tenant(app, "puebla")):
        assert sorted(p.moderation for p in db.session.scalars(select(Problem))) == ["pending", "published"]
        assert [t.status for t in db.session.scalars(select(Tree))] == ["draft"]


def test_public_routes_show_only_the_tenants_published_records(app, client, two_tenants):
    edomex, puebla = two_tenants["edomex"], two_tenants["puebla"]
    public_rules = rules(app, "cocreation.")
    assert len(public_rules) >= 7
    for rule in public_rules:
        if set(rule.arguments) & {"process_id", "problem_id"}:
            assert client.get(url(app, rule, "puebla", edomex)).status_code == 404, rule.rule
            assert client.get(url(app, rule, "edomex", puebla)).status_code == 404, rule.rule
        for slug, values in (("edomex", edomex), ("puebla", puebla)):
            other = "puebla" if slug == "edomex" else "edomex"
            resp = client.get(url(app, rule, slug, values))
            body = resp.get_data(as_text=True)
            assert f"exclusivo {other}" not in body and PENDING not in body, (slug, rule.rule)
    assert "Problema exclusivo edomex" in client.get(
        f"/edomex/cocreacion/{edomex['process_id']}/problemas").get_data(as_text=True)
    for fmt in ("csv", "json"):
        body = client.get(f"/puebla/datos/cocreation-problems.{fmt}").get_data(as_text=True)
        assert "exclusivo puebla" in body and "exclusivo edomex" not in body and PENDING not in body


def test_every_page_answers_to_its_own_tenant(app, client, login_as, two_tenants):
    edomex = two_tenants["edomex"]
    for rule in rules(app, "cocreation."):
        if "GET" in rule.methods and rule.endpoint != "cocreation.confirm_support":
            assert client.get(url(app, rule, "edomex", edomex)).status_code == 200, rule.rule
    login_as("editor", "edomex")
    for rule in rules(app, "admin_cocreation."):
        if "GET" in rule.methods:
            resp = client.get(url(app, rule, "edomex", edomex))
            assert resp.status_code == 200, rule.rule
            assert "Proceso exclusivo edomex" in resp.get_data(as_text=True) or "problemas" in rule.rule \
                or rule.rule.endswith(".csv"), rule.rule


def test_portal_widget_shows_open_consultations_and_published_problems_only(app, client, make_process, make_problem):
    open_pid = make_process("puebla", title="Consulta abierta de Puebla")
    make_process("hidalgo", title="Consulta cerrada de Hidalgo", opens=-20, closes=-5)
    make_process("edomex", title="Consulta en borrador", published=False)
    make_problem(open_pid, "puebla", title="Problema publicado", theme=svc_theme())
    make_problem(open_pid, "puebla", title=f"{PENDING} portal", published=False, theme="Tema pendiente")
    page = client.get("/").get_data(as_text=True)
    html = page.split('<div class="cc-portal">', 1)[1].split("</table>", 1)[0]
    assert "Consulta abierta de Puebla" in html and f"/puebla/cocreacion/{open_pid}/consulta" in html
    assert "Consulta cerrada de Hidalgo" not in html and "Consulta en borrador" not in html
    assert svc_theme() in html and "Tema pendiente" not in html


def svc_theme():
    return DEFAULT_THEMES[2]
