"""Search wired into the app: publication -> outbox -> index, portal and tenant search pages,
JSON API, OpenSearch, drafts/retractions/training data never found, bad queries, several
processes writing and searching at once."""
from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select

from comun_cms.extensions import db
from comun_cms.models import Page, SearchOutbox
from comun_cms.publishing import correct, publish, retract
from comun_cms.tenancy import tenant_context


def _publish_page(app, slug, title, body, tenant="edomex", draft=False, drain=True):
    with tenant_context(app.extensions["comun"].tenants[tenant]):
        page = Page(slug=slug, title=title, body=body)
        db.session.add(page)
        db.session.commit()
        if not draft:
            publish(page)
            if drain:
                app.extensions["comun"].search.drain_outbox()  # what `comun search worker` does
        return page


def test_portal_search_finds_every_state_with_facets(app, client):
    _publish_page(app, "a", "Combate a la corrupción", "La corrupción municipal se denuncia aquí.", "edomex")
    _publish_page(app, "b", "Informe anual", "Acciones contra la corrupción en Puebla.", "puebla")
    _publish_page(app, "c", "Corrupción en borrador", "corrupción", "hidalgo", draft=True)
    app.extensions["comun"].search.drain_outbox()
    html = client.get("/buscar?q=corrupcion").get_data(as_text=True)
    assert "Combate a la" in html and "Informe anual" in html
    assert "Corrupción en borrador" not in html
    data = client.get("/api/v1/search?q=corrupcion").get_json()
    assert data["total"] == 2
    assert data["facets"]["tenant"] == {"edomex": 1, "puebla": 1}
    assert data["facets"]["content_type"] == {"page": 2}
    assert all("<mark>" in hit["snippet_html"] for hit in data["hits"])
    # facet counts equal database counts of published pages per tenant
    for slug, count in data["facets"]["tenant"].items():
        with tenant_context(app.extensions["comun"].tenants[slug]):
            assert db.session.scalar(select(func.count()).select_from(Page).where(Page.status == "published")) == count


def test_misspelled_query_suggests_a_word_in_one_translatable_sentence(app, client):
    _publish_page(app, "t", "Transparencia proactiva", "La transparencia es obligatoria.")
    html = client.get("/buscar?q=transparensia").get_data(as_text=True)
    assert "Did you mean <a href=" in html and ">transparencia</a>?</p>" in html
    spanish = client.get("/buscar?q=transparensia&lang=es_MX").get_data(as_text=True)
    assert "¿Quiso decir <a href=" in spanish and ">transparencia</a>?</p>" in spanish


def test_state_facet_filter_and_tenant_search(app, client):
    _publish_page(app, "a", "Transparencia proactiva", "transparencia", "edomex")
    _publish_page(app, "b", "Transparencia en Puebla", "transparencia", "puebla")
    only_puebla = client.get("/api/v1/search?q=transparencia&estado=puebla").get_json()
    assert [h["tenant"] for h in only_puebla["hits"]] == ["puebla"]
    html = client.get("/edomex/buscar?q=transparencia").get_data(as_text=True)
    assert "Transparencia proactiva" in html and "Transparencia en Puebla" not in html
    assert client.get("/api/v1/search?tenant=marte").status_code == 400


def test_correction_and_retraction_update_the_index(app, client):
    page = _publish_page(app, "a", "Acta provisional", "texto con zanahoria", "edomex")
    assert client.get("/api/v1/search?q=zanahoria").get_json()["total"] == 1
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        page = db.session.scalar(select(Page).where(Page.id == page.id))
        page.body = "texto con berenjena"
        correct(page, reason="errata")
        app.extensions["comun"].search.drain_outbox()
        assert client.get("/api/v1/search?q=zanahoria").get_json()["total"] == 0
        assert client.get("/api/v1/search?q=berenjena").get_json()["total"] == 1
        retract(page, reason="publicado por error")
        app.extensions["comun"].search.drain_outbox()
    assert client.get("/api/v1/search?q=berenjena").get_json()["total"] == 0


@pytest.mark.parametrize("q", ['"sin cerrar', "-", "a" * 10000, "titulo:", "((()", "OR OR"])
def test_bad_queries_answer_200(app, client, q):
    _publish_page(app, "a", "Uno dos", "uno dos tres", "edomex")
    response = client.get("/buscar", query_string={"q": q})
    assert response.status_code == 200
    assert client.get("/api/v1/search", query_string={"q": q}).status_code == 200


def test_control_characters_in_a_query_answer_400_naming_the_parameter(client):
    """The edge check (comun_cms.edge) refuses them before the search runs: a page for people,
    the API's JSON error for programs."""
    page = client.get("/buscar", query_string={"q": "uno \x00\x07 dos"})
    assert page.status_code == 400 and "“q”" in page.get_data(as_text=True)
    api = client.get("/api/v1/search", query_string={"q": "uno \x00\x07 dos"})
    assert api.status_code == 400
    assert api.get_json()["error"]["field"] == "q"


def test_search_box_and_opensearch(app, client):
    for url in ("/", "/edomex/", "/edomex/seccion/contact", "/buscar"):
        html = client.get(url).get_data(as_text=True)
        assert 'role="search"' in html and 'name="q"' in html, url
        assert "application/opensearchdescription+xml" in html
    xml = client.get("/opensearch.xml")
    assert xml.mimetype == "application/opensearchdescription+xml"
    assert "/buscar?q={searchTerms}" in xml.get_data(as_text=True)
    assert "/edomex/buscar" in client.get("/edomex/opensearch.xml").get_data(as_text=True)


def test_outbox_survives_indexer_down(app, client):
    app.config["SEARCH_SYNC"] = False
    _publish_page(app, "a", "Pendiente", "documento pendiente", "edomex", drain=False)
    assert db.session.scalar(select(func.count()).select_from(SearchOutbox)) == 1
    assert client.get("/api/v1/search?q=pendiente").get_json()["total"] == 0
    assert app.extensions["comun"].search.drain_outbox() == 1
    assert client.get("/api/v1/search?q=pendiente").get_json()["total"] == 1
    assert db.session.scalar(select(func.count()).select_from(SearchOutbox)) == 0


def test_reindex_check_and_canary(app, runner):
    _publish_page(app, "a", "Uno", "uno", "edomex")
    _publish_page(app, "b", "Dos", "dos", "puebla")
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    service = app.extensions["comun"].search
    service.backend.delete_documents(["edomex:page:1"])
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "edomex:page:1" in result.output
    result = runner.invoke(args=["search", "reindex", "--quiet"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    import shutil
    service.retarget(service.index_dir)
    shutil.rmtree(service.index_dir)
    assert service.ensure_ready() is True  # canary failed -> rebuilt
    assert service.backend.count() == 2


def _worker(db_url, instance, tenant, start, n, results):
    from comun_cms.app import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "INSTANCE_PATH": instance, "TESTING": True})
    with app.app_context():
        with tenant_context(app.extensions["comun"].tenants[tenant]):
            for i in range(start, start + n):
                page = Page(slug=f"p{i}", title=f"Documento concurrente {i}", body=f"palabraclave número {i}")
                db.session.add(page)
                db.session.commit()
                for attempt in range(20):
                    try:
                        publish(page)
                        break
                    except Exception:
                        db.session.rollback()
                app.extensions["comun"].search.drain_outbox()
    results.put(("ok", tenant))


def _searcher(db_url, instance, rounds, results):
    from comun_cms.app import create_app
    from comun_cms.search.backend import SearchQuery
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "INSTANCE_PATH": instance, "TESTING": True})
    with app.app_context():
        for _ in range(rounds):
            app.extensions["comun"].search.backend.search(SearchQuery(text="palabraclave"))
    results.put(("ok", "searcher"))


def test_several_processes_publish_and_search(app):
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    instance = app.instance_path
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(db_url, instance, t, s, 6, results))
             for t, s in (("edomex", 0), ("puebla", 100), ("hidalgo", 200))]
    procs += [ctx.Process(target=_searcher, args=(db_url, instance, 30, results)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert sorted(results.get(timeout=5)[1] for _ in procs) == sorted(["edomex", "puebla", "hidalgo", "searcher", "searcher"])
    service = app.extensions["comun"].search
    service.retarget(service.index_dir)
    service.drain_outbox()
    from comun_cms.search.backend import SearchQuery
    assert service.backend.search(SearchQuery(text="palabraclave", per_page=50)).total == 18


def test_every_content_type_is_indexed_only_while_public(app):
    """After `comun demo`, the index holds exactly the current published versions of every
    content type (no drafts, no retracted records, nothing of the training tenant on the portal);
    retracting one record of each type removes it in the same publication's outbox batch."""
    from comun_cms.demo import run_demo
    from comun_cms.models import Publication
    from comun_cms.search.backend import SearchQuery

    tenants = app.extensions["comun"].tenants
    edomex = tenants["edomex"]
    run_demo(app, tenants=[edomex], log=lambda m: None)
    service = app.extensions["comun"].search
    service.drain_outbox()
    with tenant_context(edomex):
        current = db.session.scalars(select(Publication).where(Publication.is_current.is_(True))).all()
    public = {f"edomex:{p.content_type}:{p.record_id}" for p in current if p.action != "retract"}
    indexed = set(service.backend.versions("edomex"))
    registry = app.extensions["comun"].content_types
    types = {p.content_type for p in current}
    assert len(types) >= 8, types
    # every indexed document is a current public version; every public record that has search text is indexed
    assert indexed <= public
    missing = public - indexed
    for doc in missing:  # only records whose content type declines to be indexed may be missing
        ct = registry.get(doc.split(":")[1])
        with tenant_context(edomex):
            record = db.session.scalar(select(ct.model).where(ct.model.id == int(doc.split(":")[2])))
            assert ct.search_document(record) is None, f"{doc} is public but not indexed"
    # retract one indexed record of every type: it leaves the index
    retracted = []
    with tenant_context(edomex):
        for name in sorted(types):
            doc = next((d for d in sorted(indexed) if d.split(":")[1] == name), None)
            if doc is None:
                continue
            ct = registry.get(name)
            record = db.session.scalar(select(ct.model).where(ct.model.id == int(doc.split(":")[2])))
            if record.status != "published":
                continue
            retract(record, reason="prueba de retiro")
            retracted.append(doc)
    service.drain_outbox()
    remaining = set(service.backend.versions("edomex"))
    assert retracted and not (set(retracted) & remaining)
    # drafts never appear: add a draft page with a unique word
    _publish_page(app, "borrador-x", "Borrador único", "qwertyborrador", "edomex", draft=True)
    assert service.backend.search(SearchQuery(text="qwertyborrador")).total == 0


def test_search_api_shares_the_api_rate_limit(app_config):
    from comun_cms.app import create_app
    from comun_cms.setup import sync_tenants
    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "3 per minute"})
    with app.app_context():
        sync_tenants(app)
        client = app.test_client()
        codes = [client.get("/api/v1/search?q=x").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429


def test_sync_drain_runs_after_requests_only_when_an_outbox_row_was_committed(app, client, monkeypatch):
    """SEARCH_SYNC (the tests' mode): the end-of-request drain skips the index lock and the outbox
    query when no outbox row was committed since it last ran, and still indexes a publication
    committed outside any request (here, in the test body) at the next request."""
    service = app.extensions["comun"].search
    drains = []
    real = service.drain_outbox
    monkeypatch.setattr(service, "drain_outbox", lambda *a, **k: drains.append(real(*a, **k)) or drains[-1])
    client.get("/edomex/")
    assert drains == [0]  # the first request of a test drains
    client.get("/edomex/")
    assert drains == [0]  # nothing queued since
    _publish_page(app, "cuentas", "Cuenta pública", "Informe de la cuenta pública", drain=False)
    assert db.session.scalar(select(func.count()).select_from(SearchOutbox)) == 1
    assert "Cuenta" not in client.get("/buscar?q=cuenta").get_data(as_text=True)  # drained after this response
    assert drains == [0, 1]
    assert db.session.scalar(select(func.count()).select_from(SearchOutbox)) == 0
    assert "Cuenta pública" in client.get("/buscar?q=cuenta").get_data(as_text=True)
    assert drains == [0, 1]
