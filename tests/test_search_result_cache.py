"""Issue 17 item 4: the search result cache (comun_cms/search/result_cache.py).

Answers are cached per (tenants' generations, index state, epoch, normalized query, language) in
the page cache's backend. A publication is found at once by another worker sharing the cache; an
answer computed from an index older than the generation is never served once the index moved on;
a reindex starts a new epoch; one tenant's cached answers never answer another tenant's search.
"""
from __future__ import annotations

import os
import secrets

import pytest
from cachelib import SimpleCache
from sqlalchemy import select

from comun_cms import publishing
from comun_cms.app import create_app
from comun_cms.extensions import db
from comun_cms.models import Page, SearchOutbox
from comun_cms.search.backend import SearchQuery, SearchResults
from comun_cms.search.result_cache import ResultCache, normalize_query
from comun_cms.search.service import get_search, payload_to_document
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant, redis_url_or_skip

REDIS_URL = os.environ.get("COMUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SEARCH_RESULT_CACHE": True, "SEARCH_SYNC": False,
            "PAGE_CACHE_KEY_PREFIX": f"test-{secrets.token_hex(6)}:"}


def _redis_or_skip() -> str:
    return redis_url_or_skip(REDIS_URL)


def _publish_page(app, slug: str, title: str, tenant: str = "edomex", drain: bool = True) -> None:
    with tenant_context(get_tenant(app, tenant)):
        page = Page(slug=slug, title=title, summary="", body=f"Cuerpo de {title}.", section="links")
        db.session.add(page)
        db.session.flush()
        publishing.publish(page)
    if drain:
        get_search().drain_outbox()  # what the indexer (comun search worker) does next


def _titles(client, q: str, tenant: str = "edomex") -> list[str]:
    response = client.get("/api/v1/search", query_string={"q": q, "tenant": tenant})
    assert response.status_code == 200
    return [h["title"] for h in response.get_json()["hits"]]


def _second_worker(app, **config):
    """Another application on the same database and search index (a second gunicorn worker)."""
    return create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
                       "INSTANCE_PATH": config.pop("INSTANCE_PATH", app.instance_path),
                       "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
                       "SECRET_KEY": app.config["SECRET_KEY"], "SEARCH_SYNC": False, "PAGE_CACHE": False,
                       "DEFAULT_LOCALE_OVERRIDE": "en",
                       "SEARCH_RESULT_CACHE": True, "RATELIMIT_ENABLED": False,
                       "PAGE_CACHE_KEY_PREFIX": app.config["PAGE_CACHE_KEY_PREFIX"], **config})


def _count_backend_searches(monkeypatch, app) -> list:
    calls = []
    backend = app.extensions["comun"].search.backend
    original = backend.search

    def counted(query):
        calls.append(query.text)
        return original(query)
    monkeypatch.setattr(backend, "search", counted)
    return calls


def test_repeat_search_is_answered_from_the_cache(app, client, monkeypatch):
    _publish_page(app, "informe", "Informe de transparencia")
    calls = _count_backend_searches(monkeypatch, app)
    first = client.get("/api/v1/search", query_string={"q": "transparencia", "tenant": "edomex"}).get_json()
    again = client.get("/api/v1/search", query_string={"q": "  transparencia ", "tenant": "edomex"}).get_json()
    assert calls == ["transparencia"]  # the second (same words, other spacing) did not reach the index
    assert again.pop("query") == "  transparencia " and first.pop("query") == "transparencia"  # echoed as typed
    assert first == again and first["total"] == 1 and first["hits"][0]["title"] == "Informe de transparencia"
    client.get("/api/v1/search", query_string={"q": "transparencia", "tenant": "edomex", "pagina": 2})
    client.get("/api/v1/search", query_string={"q": "transparencia", "tenant": "edomex", "orden": "fecha"})
    assert len(calls) == 3  # page and sort are part of the key


def test_off_switch_searches_every_time(app, client, monkeypatch):
    app.config["SEARCH_RESULT_CACHE"] = False
    _publish_page(app, "informe", "Informe de transparencia")
    calls = _count_backend_searches(monkeypatch, app)
    _titles(client, "transparencia")
    _titles(client, "transparencia")
    assert len(calls) == 2


@pytest.mark.parametrize("backend", ["filesystem", "redis"])
def test_publication_is_found_at_once_by_another_worker(app, client, backend, tmp_path):
    config = {}
    if backend == "redis":
        config["CACHE_URL"] = app.config["CACHE_URL"] = _redis_or_skip()
        config["INSTANCE_PATH"] = str(tmp_path / "worker-b")  # shares only the database, index and Redis
    _publish_page(app, "vieja", "Informe viejo de transparencia")
    worker_b_app = _second_worker(app, **config)
    worker_b = worker_b_app.test_client()
    assert _titles(client, "transparencia") == ["Informe viejo de transparencia"]  # worker A fills the cache
    service_b = worker_b_app.extensions["comun"].search
    assert _titles(worker_b, "transparencia") == ["Informe viejo de transparencia"]
    assert service_b.cache_stats == [1, 0]  # answered from the shared cache

    _publish_page(app, "nueva", "Informe nuevo de transparencia")  # on worker A, then the indexer

    assert sorted(_titles(worker_b, "transparencia")) == ["Informe nuevo de transparencia",
                                                          "Informe viejo de transparencia"]
    assert service_b.cache_stats == [1, 1]


def test_answer_from_an_index_older_than_the_generation_is_not_served(app, client):
    """The publication bumps the generation before the indexer writes the index: a search in
    between computes from the old index and is cached under that index state. When the index
    moves on (here: written without any generation bump, as a reindex would), the key changes."""
    service = get_search()
    _publish_page(app, "vieja", "Informe viejo de transparencia")
    _publish_page(app, "nueva", "Informe nuevo de transparencia", drain=False)  # generation bumped, not indexed
    assert _titles(client, "transparencia") == ["Informe viejo de transparencia"]
    assert _titles(client, "transparencia") == ["Informe viejo de transparencia"]
    assert service.cache_stats == [1, 1]
    old_token = service.backend.index_token()
    with tenant_context(get_tenant(app, "edomex")):
        rows = list(db.session.scalars(select(SearchOutbox)))
    assert len(rows) == 1
    service.backend.index_documents([payload_to_document(rows[0].payload)])  # no generation bump
    assert service.backend.index_token() != old_token
    assert sorted(_titles(client, "transparencia")) == ["Informe nuevo de transparencia",
                                                        "Informe viejo de transparencia"]
    assert service.cache_stats == [1, 2]


def test_retraction_disappears_from_cached_search(app, client):
    _publish_page(app, "aviso", "Aviso de licitación")
    assert _titles(client, "licitación") == ["Aviso de licitación"]
    with tenant_context(get_tenant(app, "edomex")):
        publishing.retract(db.session.scalar(select(Page).where(Page.slug == "aviso")), reason="Error")
    get_search().drain_outbox()
    assert _titles(client, "licitación") == []


def test_reindex_starts_a_new_epoch(app, client):
    service = get_search()
    _publish_page(app, "informe", "Informe de transparencia")
    _titles(client, "transparencia")
    cache = service.result_cache()
    epoch = cache.epoch()
    service.reindex()
    assert cache.epoch() != epoch
    _titles(client, "transparencia")
    assert service.cache_stats == [0, 2]


def test_one_tenant_never_gets_another_tenants_cached_answer(app, client):
    _publish_page(app, "edo", "Informe estatal de transparencia", tenant="edomex")
    _publish_page(app, "pue", "Informe poblano de transparencia", tenant="puebla")
    assert _titles(client, "transparencia", "edomex") == ["Informe estatal de transparencia"]
    assert _titles(client, "transparencia", "puebla") == ["Informe poblano de transparencia"]
    assert _titles(client, "transparencia", "edomex") == ["Informe estatal de transparencia"]
    page = client.get("/puebla/buscar?q=transparencia").get_data(as_text=True)
    assert "Informe poblano" in page and "Informe estatal" not in page
    page = client.get("/edomex/buscar?q=transparencia").get_data(as_text=True)
    assert "Informe estatal" in page and "Informe poblano" not in page
    # a publication in puebla moves the (shared) index on: edomex's answer is computed again, and is
    # still edomex's only
    service = get_search()
    hits, misses = service.cache_stats
    _publish_page(app, "pue2", "Segundo informe poblano de transparencia", tenant="puebla")
    assert _titles(client, "transparencia", "edomex") == ["Informe estatal de transparencia"]
    assert _titles(client, "transparencia", "puebla") == ["Informe poblano de transparencia",
                                                          "Segundo informe poblano de transparencia"]
    assert service.cache_stats == [hits, misses + 2]


def test_keys_separate_every_part_of_the_request():
    cache = ResultCache(SimpleCache())
    base = dict(generations=[("edomex", "g1")], index_token="ix@1", language="es_MX", epoch="e1")
    q = normalize_query(SearchQuery(text=" informe   anual ", tenant="edomex"))
    assert q.text == "informe anual"
    key = cache.key(q, **base)
    assert key == cache.key(normalize_query(SearchQuery(text="informe anual", tenant="edomex")), **base)
    variants = [
        cache.key(q, **{**base, "generations": [("edomex", "g2")]}),
        cache.key(q, **{**base, "index_token": "ix@2"}),
        cache.key(q, **{**base, "language": "en"}),
        cache.key(q, **{**base, "epoch": "e2"}),
        cache.key(SearchQuery(text="informe anual", tenant="puebla"), **base),
        cache.key(SearchQuery(text="informe anual", tenant="edomex", years=[2024]), **base),
        cache.key(SearchQuery(text="informe anual", tenant="edomex", content_types=["page"]), **base),
        cache.key(SearchQuery(text="informe anual", tenant="edomex", statuses=["published"]), **base),
        cache.key(SearchQuery(text="informe anual", tenant="edomex", facets=False), **base),
        cache.key(SearchQuery(text="Informe anual", tenant="edomex"), **base),
    ]
    assert len(set(variants)) == len(variants) and key not in variants
    # filters are sets: their order does not matter
    a = cache.key(SearchQuery(text="x", tenants=["puebla", "edomex"], years=[2024, 2023]), **base)
    b = cache.key(SearchQuery(text="x", tenants=["edomex", "puebla"], years=[2023, 2024]), **base)
    assert a == b


def test_lost_epoch_is_replaced_by_a_new_one():
    store = SimpleCache()
    cache = ResultCache(store)
    first = cache.epoch()
    assert cache.epoch() == first
    store.clear()  # evicted, or the cache restarted
    assert cache.epoch() != first
    results = SearchResults(total=0, hits=[], facets={}, suggestion=None, fallback_message=None, page=1, pages=0)
    got, hit = cache.get_or_compute("k", lambda: results)
    assert not hit and got is results
    got, hit = cache.get_or_compute("k", lambda: pytest.fail("computed again"))
    assert hit and got == results and got is not results


NEEDS_PG = pytest.mark.skipif(not os.environ.get("COMUN_TEST_DATABASE_URL"),
                              reason="the postgres search backend needs PostgreSQL: set COMUN_TEST_DATABASE_URL")


class TestPostgresBackend:
    """SEARCH_BACKEND = "postgres" writes its rows in the publishing transaction, which also bumps
    the generation: the generations alone keep its cached answers exact (no index state)."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "SEARCH_BACKEND": "postgres"}

    @NEEDS_PG
    def test_publication_is_found_at_once_with_the_cache_on(self, app, client, tmp_path):
        service = get_search()
        assert service.writes_in_transaction and service.backend.index_token() is None
        _publish_page(app, "vieja", "Informe viejo de transparencia", drain=False)
        worker_b_app = _second_worker(app, SEARCH_BACKEND="postgres")
        worker_b = worker_b_app.test_client()
        assert _titles(client, "transparencia") == ["Informe viejo de transparencia"]
        assert _titles(worker_b, "transparencia") == ["Informe viejo de transparencia"]
        assert worker_b_app.extensions["comun"].search.cache_stats == [1, 0]
        _publish_page(app, "nueva", "Informe nuevo de transparencia", drain=False)  # no worker needed
        assert sorted(_titles(worker_b, "transparencia")) == ["Informe nuevo de transparencia",
                                                              "Informe viejo de transparencia"]
        epoch = service.result_cache().epoch()
        service.reindex()
        assert service.result_cache().epoch() != epoch
        assert len(_titles(client, "transparencia")) == 2
        assert service.cache_stats == [0, 2]
