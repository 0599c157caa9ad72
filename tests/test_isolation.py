"""Tenant isolation over every registered URL rule.

* A user with a role in one tenant gets 403 or 404 on every admin URL of another tenant, for
  every method the rule accepts, and nothing of the other tenant changes.
* No public page, API or export of any tenant shows another tenant's drafts (or its own).
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.routing import AnyConverter, IntegerConverter

from comun_cms.extensions import db
from comun_cms.models import AuditEvent, Page
from comun_cms.tenancy import tenant_context

MARKER = "BORRADOR-SECRETO-7d1f"


def _sample_value(rule, arg: str):
    converter = rule._converters.get(arg)
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0] if hasattr(converter, "items") else "csv"
    return "x"


def _admin_rules(app):
    for rule in app.url_map.iter_rules():
        if "tenant" not in rule.arguments:
            continue
        blueprint = rule.endpoint.split(".")[0]
        if blueprint == "admin" or blueprint.startswith("admin_"):
            yield rule


def _url(app, rule, tenant: str) -> str:
    values = {arg: _sample_value(rule, arg) for arg in rule.arguments if arg != "tenant"}
    values["tenant"] = tenant
    with app.test_request_context():
        return app.url_for(rule.endpoint, **values)


@pytest.mark.parametrize("victim, attacker", [("edomex", "puebla"), ("capacitacion-02", "capacitacion-01")])
def test_admin_urls_of_another_tenant_are_forbidden(app, client, login_as, victim, attacker):
    """Between states, and between two participants' workspaces of the training tenant."""
    with tenant_context(app.extensions["comun"].tenants[victim]):
        db.session.add(Page(slug="x", title=f"Página de {victim}"))
        db.session.commit()
    login_as("admin", tenant=attacker)
    rules = list(_admin_rules(app))
    assert len(rules) >= 15
    checked = 0
    for rule in rules:
        url = _url(app, rule, victim)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"title": "hackeado", "reason": "x", "role": "admin"})
            assert response.status_code in (403, 404), f"{method} {url} answered {response.status_code}"
            checked += 1
    assert checked >= len(rules)
    # the same URLs of the user's own tenant are open to at least one of its roles
    users = {role: login_as(role, tenant=attacker) for role in ("admin", "editor", "evaluator", "trainer")}
    for rule in rules:
        if "GET" not in rule.methods:
            continue
        statuses = []
        for role, user in users.items():
            login_as(user)
            statuses.append(client.get(_url(app, rule, attacker)).status_code)
        assert any(code != 403 for code in statuses), f"GET {rule.rule} refused to every {attacker} role"
    with tenant_context(app.extensions["comun"].tenants[victim]):
        assert db.session.scalar(select(Page.title)) == f"Página de {victim}"
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_anonymous_users_never_reach_admin(app, client):
    for rule in _admin_rules(app):
        url = _url(app, rule, "edomex")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 400, 401, 403, 404), f"{method} {url}: {response.status_code}"
            if response.status_code == 302:
                assert "/auth/login" in response.headers["Location"]


def _public_get_rules(app):
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if blueprint == "admin" or blueprint.startswith("admin_") or blueprint in ("auth", "static"):
            continue
        if "GET" not in rule.methods:
            continue
        yield rule


def test_no_public_page_api_or_export_shows_drafts(app, client):
    # every tenant, and two participant workspaces (the others are copies of them)
    tenants = {t.slug: t for t in app.extensions["comun"].representative_tenants()}
    for slug in tenants:
        with tenant_context(tenants[slug]):
            db.session.add(Page(slug=f"borrador-{slug}", title=f"{MARKER} {slug}", body=MARKER, section="links"))
            db.session.commit()
    seen = 0
    for rule in _public_get_rules(app):
        slugs = list(tenants) if "tenant" in rule.arguments else [None]
        for slug in slugs:
            values = {arg: _sample_value(rule, arg) for arg in rule.arguments if arg != "tenant"}
            if "key" in values:
                for key in ("minutes", "commitments", "contact", "open_data", "links", "feedback", "join"):
                    values["key"] = key
                    body = _get(app, client, rule, slug, values)
                    assert MARKER not in body, f"draft leaked on {rule.rule} ({slug}, {key})"
                continue
            if "name" in values and rule.endpoint == "public.dataset":
                for name in ("pages",):
                    for fmt in ("csv", "json"):
                        values.update(name=name, fmt=fmt)
                        body = _get(app, client, rule, slug, values)
                        assert MARKER not in body, f"draft leaked in dataset {name}.{fmt} ({slug})"
                continue
            body = _get(app, client, rule, slug, values)
            assert MARKER not in body, f"draft leaked on {rule.rule} ({slug})"
            seen += 1
    assert seen >= 10
    for slug in tenants:
        assert client.get(f"/{slug}/p/borrador-{slug}").status_code == 404


def _get(app, client, rule, slug, values) -> str:
    if slug is not None:
        values = {**values, "tenant": slug}
    with app.test_request_context():
        url = app.url_for(rule.endpoint, **values)
    response = client.get(url)
    assert response.status_code < 500, f"GET {url} answered {response.status_code}"
    return response.get_data().decode("utf-8", "replace")
