"""The same behaviour from every SearchBackend implementation (Whoosh, SQLite FTS5, PostgreSQL).

The PostgreSQL backend runs when the test database is PostgreSQL (``COMUN_TEST_DATABASE_URL``);
it uses a database of its own next to it (``<db>_search_<xdist worker>``), so the app tests' resets
of the test database never empty its table in the middle of this module."""

import os
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from comun_cms.search.backend import FALLBACK_MESSAGE, SearchBackend, SearchDocument, SearchQuery
from comun_cms.search.pg_backend import PostgresBackend, document_tsvector
from comun_cms.search.sqlite_fts import SQLiteFTSBackend
from comun_cms.search.whoosh_backend import WhooshBackend
from comun_cms.testing import _worker_database

UTC = timezone.utc


def d(id, title, body, year=2023, status="published", keywords=()):
    tenant, ctype, _ = id.split(":")
    return SearchDocument(
        id=id, tenant=tenant, content_type=ctype, title=title, body=body, url="/" + id,
        published_at=datetime(year, 3, 1, tzinfo=UTC) + timedelta(hours=len(body)),
        year=year, status=status, keywords=keywords,
    )


DOCS = [
    d("edomex:page:1", "Informe de transparencia", "La información pública sobre corrupción en el municipio. Núm. 5.", 2023, keywords=("STL-MEX/ORD19/2023/01",)),
    d("puebla:news:2", "Compromisos del plan de acción", "El compromiso 16.6 del plan de acción y el código MXMEX0009.", 2024, "corrected"),
    d("hidalgo:page:3", "Plan municipal", "Un plan municipal de participación ciudadana; cada acción se revisa.", 2022),
    d("hidalgo:news:4", "Sesión ordinaria", "En la sesión ordinaria se aprobó el reglamento de transparencia.", 2024),
    d("puebla:page:5", "Reglamento interior", "El reglamento interior del comité regula las sesiones.", 2021),
    d("edomex:news:6", "Ley de transparencia", "La ley de transparencia <b>entra</b> en vigor.", 2025),
] + [
    d("%s:%s:%d" % (("hidalgo", "puebla", "edomex")[i % 3], ("page", "news")[i % 2], 100 + i),
      "Registro %d" % i, "Presupuesto %s del archivo %d." % ("auditado" if i % 4 == 0 else "anual", i),
      2019 + i % 4, ("published", "corrected")[i % 3 == 0])
    for i in range(30)
]


PG_URL = os.environ.get("COMUN_TEST_DATABASE_URL")
NEEDS_PG = pytest.mark.skipif(not PG_URL, reason="the postgres backend needs PostgreSQL: set COMUN_TEST_DATABASE_URL")
BACKENDS = ["whoosh", "sqlite", pytest.param("postgres", marks=[NEEDS_PG, pytest.mark.database])]


_PG_DATABASES: dict = {}


def pg_url() -> str:
    """URL of this worker's own search test database (created once)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if worker not in _PG_DATABASES:
        _PG_DATABASES[worker] = _worker_database(PG_URL, "search_" + worker)
    return _PG_DATABASES[worker]


def make_backend(name, path):
    if name == "whoosh":
        return WhooshBackend(path, rebuild_procs=1)
    if name == "sqlite":
        return SQLiteFTSBackend(path)
    return PostgresBackend(pg_url())


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param)
    b = make_backend(request.param, path)
    assert isinstance(b, SearchBackend)
    b.rebuild(DOCS)
    yield b
    b.close()


def ids(b, text, **kw):
    return {h.id for h in b.search(SearchQuery(text=text, per_page=100, **kw)).hits}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("corrupcion", {"edomex:page:1"}),
        ("informacion", {"edomex:page:1"}),
        ("Núm.", {"edomex:page:1"}),
        ("compromisos", {"puebla:news:2"}),
        ("MXMEX0009", {"puebla:news:2"}),
        ("STL-MEX/ORD19/2023/01", {"edomex:page:1"}),
        ("ORD19", {"edomex:page:1"}),
        ("16.6", {"puebla:news:2"}),
        ('"plan de acción"', {"puebla:news:2"}),
        ("corrupción OR MXMEX0009", {"edomex:page:1", "puebla:news:2"}),
        ("transparencia -ley", {"edomex:page:1", "hidalgo:news:4"}),
        ("titulo:reglamento", {"puebla:page:5"}),
        ("transparencia tipo:news", {"hidalgo:news:4", "edomex:news:6"}),
        ("presupuesto estado:corrected anio:2019", {"hidalgo:page:100", "hidalgo:page:112", "hidalgo:page:124"}),
    ],
)
def test_query_features(backend, text, expected):
    assert ids(backend, text) == expected


def test_facets_match_documents(backend):
    res = backend.search(SearchQuery(text="presupuesto", per_page=3))
    sel = [x for x in DOCS if "Presupuesto" in x.body]
    assert res.total == len(sel) == 30
    assert res.facets["tenant"] == dict(Counter(x.tenant for x in sel))
    assert res.facets["content_type"] == dict(Counter(x.content_type for x in sel))
    assert res.facets["year"] == dict(Counter(x.year for x in sel))
    assert res.facets["status"] == dict(Counter(x.status for x in sel))
    assert res.pages == 10 and len(res.hits) == 3


def test_facet_values_come_most_frequent_first_then_by_value(backend):
    """A stable order (ties by value), so a rebuilt index lists the facets exactly as before."""
    res = backend.search(SearchQuery(text="presupuesto", per_page=3))
    for field in ("tenant", "content_type", "status"):
        items = list(res.facets[field].items())
        assert items == sorted(items, key=lambda kv: (-kv[1], str(kv[0]))), (field, items)


def test_tenant_filter_and_date_sort(backend):
    res = backend.search(SearchQuery(text="presupuesto", tenant="puebla", sort="date", per_page=100))
    assert {h.tenant for h in res.hits} == {"puebla"} and res.total == 10
    dates = [h.published_at for h in res.hits]
    assert dates == sorted(dates, reverse=True)


def test_snippet(backend):
    res = backend.search(SearchQuery(text="ley transparencia"))
    hit = next(h for h in res.hits if h.id == "edomex:news:6")
    assert "<mark>" in hit.snippet_html and "<b>" not in hit.snippet_html
    assert "&lt;b&gt;" in hit.snippet_html


def test_relevance_prefers_title(backend):
    res = backend.search(SearchQuery(text="reglamento"))
    assert res.hits[0].id == "puebla:page:5"


def test_suggestion(backend):
    res = backend.search(SearchQuery(text="transparensia"))
    assert res.total == 0 and res.suggestion == "transparencia"


@pytest.mark.parametrize("text", ['"transparencia', "titulo:", "-", "x" * 10000, "ley\x00", "((("])
def test_bad_syntax_falls_back(backend, text):
    res = backend.search(SearchQuery(text=text))
    assert res.fallback_message == FALLBACK_MESSAGE


def test_inventory_and_check(backend):
    assert backend.count() == len(DOCS)
    assert backend.count("edomex") == len([x for x in DOCS if x.tenant == "edomex"])
    assert backend.check({x.id: x.version for x in DOCS}).ok
    assert backend.canary().ok


FORMS = [("información", ("informacion", "informaciones", "INFORMACIÓN")), ("corrupcion", ("corrupción", "CORRUPCIÓN")),
         ("sesiones", ("sesion", "sesión")), ("decisión", ("decisiones",)), ("metodologia", ("metodología",)),
         ("año", ("ano",)), ("MXMEX0009", ("MXMEX0009", "mxmex0009"))]


@pytest.mark.parametrize("name", BACKENDS)
def test_equivalent_forms_find_each_other(tmp_path, name):
    """The analyzer's equivalences (tests/search/test_search_analysis.py) hold through each backend:
    a document written with one form is found, and the word marked, by the other."""
    b = make_backend(name, tmp_path / name)
    docs = [d("edomex:page:%d" % i, "Documento %d" % i, "Texto sobre %s del estado." % a) for i, (a, _b) in enumerate(FORMS)]
    b.rebuild(docs)
    for i, (a, queries) in enumerate(FORMS):
        for other in queries:
            res = b.search(SearchQuery(text=other, per_page=100))
            assert [h.id for h in res.hits] == ["edomex:page:%d" % i], (a, other)
            assert "<mark>%s</mark>" % a in res.hits[0].snippet_html, (a, other, res.hits[0].snippet_html)
    b.close()


@pytest.mark.parametrize("name", BACKENDS)
def test_writes_and_rebuild(tmp_path, name):
    b = make_backend(name, tmp_path / name)
    b.rebuild([])
    b.index_documents(DOCS[:3])
    assert b.count() == 3
    b.index_documents([d("edomex:page:1", "Nuevo", "zzcambio", 2023)])
    assert ids(b, "zzcambio") == {"edomex:page:1"} and b.count() == 3
    b.delete_documents(["hidalgo:page:3"])
    assert b.count() == 2
    b.rebuild(DOCS[3:6])
    assert b.count() == 3 and ids(b, "zzcambio") == set()
    assert ids(b, "reglamento") == {"hidalgo:news:4", "puebla:page:5"}
    b.close()


@NEEDS_PG
def test_postgres_snippet_escapes_and_tsvector_keeps_codes_whole():
    b = PostgresBackend(pg_url())
    b.rebuild(DOCS)
    hit = b.search(SearchQuery(text="ley")).hits[0]
    assert hit.id == "edomex:news:6"
    assert hit.snippet_html.startswith("<mark>ley</mark> de transparencia &lt;b&gt;entra&lt;/b&gt;")
    # ts_headline uses comun_es (unaccent + Spanish stemmer): an unaccented query marks the accented word
    snippet = b.search(SearchQuery(text="informacion")).hits[0].snippet_html
    assert "<mark>información</mark>" in snippet
    tsv = document_tsvector(DOCS[0])
    assert "'stl-mex/ord19/2023/01':" in tsv and "'inform':" in tsv
    # weights: title A, keywords B, body C
    assert "'transparent':2A " in tsv and "'corrupcion':27C" in tsv
    b.close()


def test_boost_types_ranks_the_named_content_type_first(backend):
    """Issue 15, defect 10: a query naming a content type ("sesión ordinaria" names the
    minutes) ranks that type's documents higher; the matching set does not change."""
    def order(**kw):
        return [h.id for h in backend.search(SearchQuery(text="transparencia", per_page=10, **kw)).hits]
    plain = order()
    boosted = order(boost_types=("page",))
    assert set(plain) == set(boosted) and plain[0] != "edomex:page:1"
    assert boosted[0] == "edomex:page:1"
    assert order(sort="date", boost_types=("page",)) == order(sort="date")
