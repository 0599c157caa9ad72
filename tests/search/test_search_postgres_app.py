"""SEARCH_BACKEND = "postgres" wired into the app: the publishing transaction writes the search row,
so a publication is found right after its commit with no outbox row and no worker; a rolled-back
publication is never found; retraction and correction act at once; `comun search check` and
`reindex` work. Needs PostgreSQL (COMUN_TEST_DATABASE_URL); the configuration check runs on both."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from comun_cms.app import create_app
from comun_cms.config import ConfigError
from comun_cms.extensions import db
from comun_cms.models import Page, SearchOutbox
from comun_cms.publishing import correct, publish, retract
from comun_cms.search.backend import SearchQuery
from comun_cms.search.pg_backend import PostgresBackend
from comun_cms.tenancy import tenant_context

NEEDS_PG = pytest.mark.skipif(not os.environ.get("COMUN_TEST_DATABASE_URL"),
                              reason="the postgres search backend needs PostgreSQL: set COMUN_TEST_DATABASE_URL")


@pytest.fixture
def app_config(app_config):
    # no drain at the end of requests and no worker: only the publishing transaction writes
    return {**app_config, "SEARCH_BACKEND": "postgres", "SEARCH_SYNC": False}


def _page(app, slug, title, body, tenant="edomex"):
    with tenant_context(app.extensions["comun"].tenants[tenant]):
        page = Page(slug=slug, title=title, body=body)
        db.session.add(page)
        db.session.commit()
        return page


def _found(app, text):
    """Ids found by a backend on an engine of its own (what another app host sees)."""
    engine = create_engine(db.engine.url)
    try:
        return {h.id for h in PostgresBackend(engine).search(SearchQuery(text=text, per_page=100)).hits}
    finally:
        engine.dispose()


def _outbox_rows():
    return db.session.scalar(select(func.count()).select_from(SearchOutbox))


@NEEDS_PG
def test_publication_is_found_right_after_commit_without_worker(app, client):
    service = app.extensions["comun"].search
    assert isinstance(service.backend, PostgresBackend) and service.writes_in_transaction
    page = _page(app, "a", "Informe de información pública", "Las informaciones sobre el código MXMEX0009.")
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        publish(page)
    did = "edomex:page:%d" % page.id
    assert _outbox_rows() == 0
    for q in ("informacion", "información", "informaciones", "MXMEX0009"):
        assert _found(app, q) == {did}, q
    data = client.get("/api/v1/search?q=informacion").get_json()
    assert data["total"] == 1 and data["facets"]["tenant"] == {"edomex": 1}
    assert "<mark>" in data["hits"][0]["snippet_html"]
    html = client.get("/edomex/buscar?q=informaciones").get_data(as_text=True)
    assert "Informe de información pública" in html


@NEEDS_PG
def test_uncommitted_or_rolled_back_publication_is_not_found(app):
    page = _page(app, "b", "Borrador", "texto con zanahoria")
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        publish(page, commit=False)
        assert _found(app, "zanahoria") == set()  # other hosts do not see it before the commit
        db.session.rollback()
    assert _found(app, "zanahoria") == set()
    assert app.extensions["comun"].search.backend.count() == 0


@NEEDS_PG
def test_correction_and_retraction_act_in_their_transaction(app, client):
    page = _page(app, "c", "Acta provisional", "texto con zanahoria")
    tenant = app.extensions["comun"].tenants["edomex"]
    with tenant_context(tenant):
        publish(page)
        page = db.session.scalar(select(Page).where(Page.id == page.id))
        page.body = "texto con berenjena"
        correct(page, reason="errata")
    assert _found(app, "zanahoria") == set() and _found(app, "berenjena") == {"edomex:page:%d" % page.id}
    with tenant_context(tenant):
        retract(page, reason="publicado por error")
    assert _found(app, "berenjena") == set()
    assert client.get("/api/v1/search?q=berenjena").get_json()["total"] == 0


@NEEDS_PG
def test_check_and_reindex_commands(app, runner):
    for slug, tenant in (("a", "edomex"), ("b", "puebla")):
        page = _page(app, slug, "Transparencia " + slug, "transparencia proactiva", tenant)
        with tenant_context(app.extensions["comun"].tenants[tenant]):
            publish(page)
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    service = app.extensions["comun"].search
    service.backend.delete_documents(["edomex:page:1"])
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "edomex:page:1" in result.output
    result = runner.invoke(args=["search", "reindex", "--quiet"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    assert service.backend.canary().ok and service.backend.count() == 2
    # one tenant: its rows replaced in one transaction, the others untouched
    service.backend.delete_documents(["edomex:page:1"])
    result = runner.invoke(args=["search", "reindex", "--quiet", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
    assert service.backend.versions() == {"edomex:page:1": "1", "puebla:page:2": "1"}
    assert runner.invoke(args=["search", "check"]).exit_code == 0


def test_migration_creates_the_search_objects_on_postgresql_only(database_url):
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        if engine.dialect.name != "postgresql":
            assert not {"search_documents", "search_words"} & tables
            return
        assert {"search_documents", "search_words"} <= tables
        with engine.connect() as conn:
            # comun_es: unaccent before the Spanish stemmer
            assert conn.execute(text("SELECT to_tsvector('comun_es', 'Información pública')::text")).scalar() \
                == conn.execute(text("SELECT to_tsvector('comun_es', 'INFORMACION publica')::text")).scalar() \
                == "'informacion':1 'public':2"
            assert conn.execute(text("SELECT similarity('transparencia', 'transparensia') > 0.3")).scalar()
    finally:
        engine.dispose()


def test_postgres_backend_refuses_a_sqlite_database(tmp_path):
    with pytest.raises(ConfigError, match="SEARCH_BACKEND: 'postgres' needs a PostgreSQL database"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///%s" % (tmp_path / "x.db"),
                    "INSTANCE_PATH": str(tmp_path / "i"), "SEARCH_BACKEND": "postgres"})
