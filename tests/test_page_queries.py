"""Issue 17 item 2: every public page type runs a handful of SQL queries, and the number does
not grow with the data (no N+1).

The page cache is off here (the ``app`` fixture's default): these are the costs of rendering.
Queries are counted with SQLAlchemy's ``before_cursor_execute`` event on the app's engine.
"""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, select

from comun_cms.extensions import db
from comun_cms.hookspecs import hookimpl
from comun_cms.models import Page, Publication
from comun_cms.publishing import correct, publish
from comun_cms.search.service import get_search
from comun_cms.tenancy import all_tenants, tenant_context
from comun_cms.testing import get_tenant

#: The ceiling of queries per public page ("a handful").
MAX_QUERIES = 8


@contextlib.contextmanager
def counting(app):
    """Count the SQL statements sent to the database inside the block: yields a list of them."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engines[None] if hasattr(db, "engines") else db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _first_published(app, content_type: str) -> str:
    row = db.session.scalars(all_tenants(
        select(Publication.record_id).where(Publication.tenant_id == "edomex", Publication.content_type == content_type,
                                            Publication.action == "publish").order_by(Publication.id))).first()
    assert row is not None, content_type
    return row


def _urls(app) -> dict[str, str]:
    page = db.session.scalars(all_tenants(select(Page.slug).where(Page.tenant_id == "edomex",
                                                                  Page.status == "published"))).first()
    return {
        "portal home": "/",
        "state home": "/edomex/",
        "page": f"/edomex/p/{page}",
        "section (minutes)": "/edomex/seccion/minutes",
        "section (commitments)": "/edomex/seccion/commitments",
        "STL session": f"/edomex/actas/sesiones/{_first_published(app, 'stl_session')}",
        "commitment": f"/edomex/planes-de-accion/compromisos/{_first_published(app, 'commitment')}",
        "plan": f"/edomex/planes-de-accion/{_first_published(app, 'action_plan')}",
        "portal search": "/buscar?q=informacion",
        "state search": "/edomex/buscar?q=informacion",
        "portal criteria": "/criterios/",
        "state criteria": "/edomex/criterios/",
    }


def _measure(app, client, urls: dict[str, str]) -> dict[str, tuple[int, list[str]]]:
    out = {}
    for name, url in urls.items():
        client.get(url)  # warm per-process memos (Jinja templates, schemas, per-generation widgets)
        with counting(app) as statements:
            response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        out[name] = (len(statements), list(statements))
    return out


def _add_rows(app, n: int) -> None:
    """Publish ``n`` more sessions, agreements, commitments and pages in edomex, and as many in
    puebla (more tenants on the portal)."""
    state = app.extensions["comun"]
    for slug in ("edomex", "puebla"):
        tenant = get_tenant(app, slug)
        with tenant_context(tenant):
            for plugin_name, type_names in (("stl_minutes", ("stl_session", "stl_agreement")),
                                            ("action_plans", ("commitment",))):
                module = state.pm.get_plugin(plugin_name)
                for ct_name in type_names:
                    ct = state.content_types.get(ct_name)
                    for i in range(n):
                        record = module.sample_record(ct, tenant, f"extra-{ct_name}-{i}")
                        publish(record)
            for i in range(n):
                publish(Page(slug=f"extra-{i}", title=f"Extra {i}", summary="s", body="b", section="links"))
    get_search().drain_outbox()


@pytest.fixture
def app_config(app_config):
    return {**app_config, "GENERATION_MEMO": True}


@pytest.fixture
def demo_app(app, runner):
    result = runner.invoke(args=["demo", "--quiet", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
    get_search().drain_outbox()
    app.config["SEARCH_SYNC"] = False  # the end-of-request indexer is a test-mode query; count pages only
    return app


def test_public_pages_run_a_handful_of_queries_and_do_not_grow_with_data(demo_app, client):
    urls = _urls(demo_app)
    before = _measure(demo_app, client, urls)
    too_many = {name: (n, stmts) for name, (n, stmts) in before.items() if n > MAX_QUERIES}
    assert not too_many, "\n".join(f"{name}: {n} queries\n  " + "\n  ".join(s[:120] for s in stmts)
                                   for name, (n, stmts) in too_many.items())

    _add_rows(demo_app, 4)
    after = _measure(demo_app, client, urls)
    grown = {name: (before[name][0], n) for name, (n, _s) in after.items() if n > before[name][0]}
    assert not grown, f"queries grew with the data (before, after): {grown}"


def test_template_globals_are_built_once_per_request(app, client, register_plugin):
    """A page renders several templates (the notary seal is one): the navigation hook runs once."""
    calls = []

    class CountingMenu:
        @hookimpl
        def public_menu_items(self, tenant):
            calls.append(tenant.slug)
            return []

    register_plugin(CountingMenu(), name="counting_menu")
    with tenant_context(get_tenant(app, "edomex")):
        publish(Page(slug="sellada", title="Sellada", summary="", body="Texto.", section="links"))
    response = client.get("/edomex/p/sellada")
    assert response.status_code == 200 and b"notary-seal" in response.get_data()
    assert calls == ["edomex"]


def _published_page(app, slug="con-sello"):
    with tenant_context(get_tenant(app, "edomex")):
        page = Page(slug=slug, title="Con sello", summary="", body="Primera versión.", section="links")
        publish(page)
    return page


def test_record_slots_are_memoized_per_generation_for_anonymous_visitors(app, client):
    """The record footer (notary seal, "Seguir" form) of a published record is computed once per
    generation: a repeated anonymous visit runs fewer queries than without the memo, shows the same
    HTML with one follow form, and a correction (which bumps the generation) shows the new version."""
    page = _published_page(app)
    get_search().drain_outbox()  # the indexer bumps the generation when it drains
    url = "/edomex/p/con-sello"
    app.config["GENERATION_MEMO"] = False
    with counting(app) as unmemoized:
        client.get(url)
    app.config["GENERATION_MEMO"] = True
    one = client.get(url).get_data(as_text=True)
    with counting(app) as memoized:
        two = client.get(url).get_data(as_text=True)
    assert "notary-seal" in one and one == two
    assert len(memoized) < len(unmemoized), (unmemoized, memoized)
    assert two.count("card follow-box") == 1

    with tenant_context(get_tenant(app, "edomex")):
        page = db.session.get(Page, page.id)
        page.body = "Segunda versión."
        correct(page, reason="Errata")
    three = client.get(url).get_data(as_text=True)
    assert "Segunda versión." in three and three != one  # the new version's seal, not the memo


def test_record_slots_run_on_every_request_for_logged_in_users(app, client, login_as):
    _published_page(app)
    get_search().drain_outbox()
    login_as("admin")
    url = "/edomex/p/con-sello"
    client.get(url)
    with counting(app) as memo_on:
        client.get(url)
    app.config["GENERATION_MEMO"] = False
    with counting(app) as memo_off:
        client.get(url)
    assert len(memo_on) == len(memo_off)
