"""Whoosh backend: query features, facets, filters, suggestions, bad input, rebuild."""

import random
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from comun_cms.search.backend import FALLBACK_MESSAGE, SearchDocument, SearchQuery
from comun_cms.search.whoosh_backend import WhooshBackend

UTC = timezone.utc


def doc(id, title, body, *, tenant=None, ctype=None, year=2023, status="published", day=1, version=1, keywords=()):
    tenant = tenant or id.split(":")[0]
    ctype = ctype or id.split(":")[1]
    return SearchDocument(
        id=id,
        tenant=tenant,
        content_type=ctype,
        title=title,
        body=body,
        url="/" + id.replace(":", "/"),
        published_at=datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day),
        year=year,
        status=status,
        version=version,
        keywords=tuple(keywords),
    )


HAND_DOCS = [
    doc("edomex:page:1", "Informe de transparencia", "La información pública sobre corrupción en el municipio de Toluca. Núm. 5 de la sesión.", year=2023, day=10, keywords=("STL-MEX/ORD19/2023/01",)),
    doc("puebla:news:2", "Compromisos del plan de acción", "El compromiso 16.6 del plan de acción y las informaciones del código MXMEX0009.", year=2024, status="corrected", day=3),
    doc("hidalgo:page:3", "Plan municipal", "Un plan municipal de participación ciudadana; cada acción se revisa al año.", year=2022, day=5),
    doc("hidalgo:news:4", "Sesión ordinaria de cabildo", "En la sesión ordinaria se aprobó el reglamento de transparencia municipal.", year=2024, day=20),
    doc("puebla:page:5", "Reglamento interior", "El reglamento interior del comité regula las sesiones y los acuerdos.", year=2021, day=2),
    doc("edomex:news:6", "Ley de transparencia", "La nueva ley de transparencia y acceso a la información pública <script>alert(1)</script> entra en vigor.", year=2025, day=15),
    doc("hidalgo:stl_session:7", "Acta STL-HGO/ORD3/2024/02", "Minuta de la sesión del secretariado técnico local con acuerdos de seguimiento.", year=2024, day=40, keywords=("STL-HGO/ORD3/2024/02",)),
    doc("puebla:criterion:8", "Criterio 16.6", "Criterio de evaluación 16.6 sobre participación ciudadana y rendición de cuentas.", year=2023, day=30, status="retracted"),
]

# A synthetic block of documents with known marker words, for exact counts.
TENANTS = ("hidalgo", "puebla", "edomex")
TYPES = ("page", "news", "commitment")
STATUSES = ("published", "corrected")


def synthetic_docs(n=150, seed=3):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = TENANTS[i % 3]
        ct = TYPES[rng.randrange(3)]
        year = 2019 + rng.randrange(5)
        status = STATUSES[rng.randrange(2)]
        words = ["presupuesto"] if i % 2 == 0 else ["licitación"]
        if i % 5 == 0:
            words.append("auditoría")
        body = "Documento %d del archivo con %s y otras palabras comunes." % (i, " ".join(words))
        out.append(doc("%s:%s:s%d" % (t, ct, i), "Registro %d" % i, body, tenant=t, ctype=ct, year=year, status=status, day=i))
    return out


SYN_DOCS = synthetic_docs()
ALL_DOCS = HAND_DOCS + SYN_DOCS


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = WhooshBackend(tmp_path_factory.mktemp("ix"), rebuild_procs=1)
    b.rebuild(ALL_DOCS)
    yield b
    b.close()


def search(b, text="", **kw):
    return b.search(SearchQuery(text=text, **kw))


def ids(res):
    return [h.id for h in res.hits]


# -- basic matching ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("corrupcion", {"edomex:page:1"}),
        ("corrupción", {"edomex:page:1"}),
        ("num", {"edomex:page:1"}),
        ("compromisos", {"puebla:news:2"}),
        ("MXMEX0009", {"puebla:news:2"}),
        ("mxmex0009", {"puebla:news:2"}),
        ("STL-MEX/ORD19/2023/01", {"edomex:page:1"}),
        ("STL-MEX", {"edomex:page:1"}),
        ("ORD19", {"edomex:page:1"}),
        ("16.6", {"puebla:news:2", "puebla:criterion:8"}),
        ("informacion publica", {"edomex:page:1", "edomex:news:6"}),
    ],
)
def test_matching(backend, text, expected):
    res = search(backend, text, per_page=50)
    assert set(ids(res)) == expected
    assert res.fallback_message is None


def test_all_words_required_by_default(backend):
    assert set(ids(search(backend, "transparencia corrupción"))) == {"edomex:page:1"}


def test_phrase(backend):
    # "plan de acción" as a phrase: doc 2 has it; doc 3 has the words apart.
    assert set(ids(search(backend, '"plan de acción"'))) == {"puebla:news:2"}
    assert {"puebla:news:2", "hidalgo:page:3"} <= set(ids(search(backend, "plan acción")))


def test_or(backend):
    res = search(backend, "corrupción OR MXMEX0009")
    assert set(ids(res)) == {"edomex:page:1", "puebla:news:2"}


def test_exclusion(backend):
    with_word = set(ids(search(backend, "transparencia", per_page=50)))
    without = set(ids(search(backend, "transparencia -corrupción", per_page=50)))
    assert "edomex:page:1" in with_word
    assert without == with_word - {"edomex:page:1"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("titulo:reglamento", {"puebla:page:5"}),
        ("título:Reglamento", {"puebla:page:5"}),
        ("reglamento tipo:news", {"hidalgo:news:4"}),
        ("estado:retracted", {"puebla:criterion:8"}),
        ("anio:2022 plan", {"hidalgo:page:3"}),
        ("año:2025", {"edomex:news:6"}),
    ],
)
def test_field_prefixes(backend, text, expected):
    assert set(ids(search(backend, text, per_page=50))) == expected


def test_title_boost(backend):
    # "reglamento" is in doc 5's title and in doc 4's body only.
    res = search(backend, "reglamento")
    assert ids(res)[0] == "puebla:page:5"
    assert res.hits[0].score > res.hits[1].score > 0


def test_sort_by_date(backend):
    res = search(backend, "transparencia", sort="date", per_page=50)
    dates = [h.published_at for h in res.hits]
    assert dates == sorted(dates, reverse=True)
    assert all(h.published_at.tzinfo is not None for h in res.hits)


def test_pagination(backend):
    first = search(backend, "presupuesto", per_page=7, page=1, sort="date")
    second = search(backend, "presupuesto", per_page=7, page=2, sort="date")
    assert first.total == second.total == 75
    assert first.pages == 11
    assert len(first.hits) == len(second.hits) == 7
    assert not set(ids(first)) & set(ids(second))
    last = search(backend, "presupuesto", per_page=7, page=11, sort="date")
    assert len(last.hits) == 75 - 70
    beyond = search(backend, "presupuesto", per_page=7, page=99)
    assert beyond.hits == [] and beyond.total == 75
    # relevance order pages do not overlap either
    r1 = search(backend, "presupuesto auditoría", per_page=5, page=1)
    r2 = search(backend, "presupuesto auditoría", per_page=5, page=2)
    assert not set(ids(r1)) & set(ids(r2))


def test_snippet_marks_and_escapes(backend):
    res = search(backend, "ley transparencia")
    hit = next(h for h in res.hits if h.id == "edomex:news:6")
    assert "<mark>" in hit.snippet_html
    assert "<mark>transparencia</mark>" in hit.snippet_html
    assert "<script>" not in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html or "script" not in hit.snippet_html


def test_snippet_keeps_accents_and_code_as_written(backend):
    res = search(backend, "informacion MXMEX0009")
    snippet = res.hits[0].snippet_html
    assert "<mark>informaciones</mark>" in snippet
    assert "<mark>MXMEX0009</mark>" in snippet


def test_no_highlight(backend):
    res = search(backend, "transparencia", highlight=False)
    assert all(h.snippet_html == "" for h in res.hits)


# -- facets and filters ------------------------------------------------------


def expected_counts(docs, pred):
    sel = [d for d in docs if pred(d)]
    return len(sel), {
        "tenant": Counter(d.tenant for d in sel),
        "content_type": Counter(d.content_type for d in sel),
        "year": Counter(d.year for d in sel),
        "status": Counter(d.status for d in sel),
    }


@pytest.mark.parametrize(
    "text, kwargs, pred",
    [
        ("presupuesto", {}, lambda d: "presupuesto" in d.body),
        ("auditoria", {}, lambda d: "auditoría" in d.body),
        ("presupuesto", {"tenant": "puebla"}, lambda d: "presupuesto" in d.body and d.tenant == "puebla"),
        ("licitacion", {"years": [2020, 2021]}, lambda d: "licitación" in d.body and d.year in (2020, 2021)),
        ("licitacion", {"statuses": ["corrected"], "content_types": ["news", "page"]},
         lambda d: "licitación" in d.body and d.status == "corrected" and d.content_type in ("news", "page")),
        ("", {"tenants": ["hidalgo", "edomex"]}, lambda d: d.tenant in ("hidalgo", "edomex")),
        ("presupuesto OR auditoria", {}, lambda d: "presupuesto" in d.body or "auditoría" in d.body),
        ("presupuesto -auditoria", {}, lambda d: "presupuesto" in d.body and "auditoría" not in d.body),
    ],
)
def test_facet_counts_equal_matching_docs(backend, text, kwargs, pred):
    res = search(backend, text, per_page=5, **kwargs)
    total, facets = expected_counts(ALL_DOCS, pred)
    assert res.total == total
    for name in ("tenant", "content_type", "year", "status"):
        assert res.facets[name] == dict(facets[name]), name
        assert sum(res.facets[name].values()) == total
    # each facet value's count equals the total of the drill-down search
    for tenant, n in res.facets["tenant"].items():
        drill = search(backend, text, per_page=1, facets=False, **{**kwargs, "tenants": [tenant]})
        assert drill.total == n


def test_tenant_filter_isolates(backend):
    res = search(backend, "transparencia", tenant="hidalgo", per_page=50)
    assert res.total >= 1
    assert {h.tenant for h in res.hits} == {"hidalgo"}
    assert set(res.facets["tenant"]) == {"hidalgo"}
    # a tenant prefix in the query cannot escape the tenant filter
    res = search(backend, "transparencia entidad:edomex", tenant="hidalgo")
    assert res.total == 0


def test_facets_off(backend):
    assert search(backend, "presupuesto", facets=False).facets == {}


# -- suggestions -------------------------------------------------------------


@pytest.mark.parametrize(
    "typo, fixed",
    [("transparensia", "transparencia"), ("corupcion", "corrupción"), ("presupuessto", "presupuesto")],
)
def test_did_you_mean(backend, typo, fixed):
    res = search(backend, typo)
    assert res.total == 0
    assert res.suggestion == fixed
    assert search(backend, res.suggestion).total > 0


def test_suggestion_keeps_other_words(backend):
    res = search(backend, "reglamento transparensia municipal")
    assert res.suggestion == "reglamento transparencia municipal"


def test_no_suggestion_when_results(backend):
    assert search(backend, "presupuesto").suggestion is None


# -- bad input never raises --------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '"transparencia municipal',
        "transparencia -",
        "-",
        "titulo:",
        "titulo: transparencia",
        "(transparencia",
        "transparencia)",
        "transparencia OR",
        "AND transparencia",
        "transparencia AND AND municipal",
        "transparencia\x00\x07 municipal",
        "transparencia\u200b",
        "transparencia " * 2000,
        "x" * 10000,
        "*",
        "((((",
        '""',
    ],
)
def test_bad_queries_fall_back(backend, text):
    res = search(backend, text)
    assert res.fallback_message == FALLBACK_MESSAGE
    if "transparencia" in text:
        assert res.total > 0


@pytest.mark.parametrize("text", ["", "   ", "de la", "?", "'", "^", "anio:[2020 TO 2022]", "a:b:c", "NOT presupuesto"])
def test_odd_queries_never_raise(backend, text):
    res = search(backend, text)
    assert res.total >= 0


def test_invalid_sort_is_a_programming_error():
    with pytest.raises(ValueError):
        SearchQuery(text="x", sort="random")


def test_page_values_are_clamped():
    q = SearchQuery(page=0, per_page=10_000)
    assert q.page == 1 and q.per_page == 100


# -- writes, inventory, rebuild ----------------------------------------------


@pytest.fixture()
def small(tmp_path):
    b = WhooshBackend(tmp_path / "ix", rebuild_procs=1)
    b.index_documents(HAND_DOCS)
    yield b
    b.close()


def test_empty_backend_answers(tmp_path):
    b = WhooshBackend(tmp_path / "empty")
    res = b.search(SearchQuery(text="transparencia"))
    assert res.total == 0 and res.hits == []
    assert b.count() == 0
    assert not b.canary().ok


def test_update_by_id_and_freshness(small):
    assert search(small, "zzfresco").total == 0
    d = doc("edomex:page:1", "Informe actualizado", "Texto nuevo zzfresco.", version=2)
    small.index_documents([d])
    res = search(small, "zzfresco")
    assert ids(res) == ["edomex:page:1"]
    assert small.count() == len(HAND_DOCS)
    assert search(small, "corrupción").total == 0


def test_delete_and_inventory(small):
    assert small.count("edomex") == 2
    assert small.document_ids_by_tenant("edomex") == {"edomex:page:1", "edomex:news:6"}
    small.delete_documents(["edomex:page:1", "nope:x:1"])
    assert small.document_ids_by_tenant("edomex") == {"edomex:news:6"}
    assert small.count() == len(HAND_DOCS) - 1
    assert small.delete_tenant("puebla") == 3
    assert small.count("puebla") == 0
    assert search(small, "MXMEX0009").total == 0


def test_check_reports_differences(small):
    expected = {d.id: d.version for d in HAND_DOCS}
    assert small.check(expected).ok
    expected["edomex:page:1"] = 2
    expected["edomex:page:99"] = 1
    del expected["puebla:page:5"]
    diff = small.check(expected)
    assert diff.stale == ["edomex:page:1"]
    assert diff.missing == ["edomex:page:99"]
    assert diff.extra == ["puebla:page:5"]
    assert small.check({k: v for k, v in expected.items() if k.startswith("hidalgo")}, tenant="hidalgo").ok


def test_canary(small):
    c = small.canary()
    assert c.ok and c.documents == len(HAND_DOCS) and c.latency_ms >= 0


def test_rebuild_swaps_atomically_and_keeps_search_working(small):
    root = small.root
    before = (root / "CURRENT").read_text().strip()
    assert search(small, "corrupción").total == 1
    # Another reader with its own cached searcher, open before the swap.
    other = WhooshBackend(root)
    assert other.count() == len(HAND_DOCS)

    seen_counts = []
    stop = threading.Event()

    def reader():
        r = WhooshBackend(root)
        while not stop.is_set():
            seen_counts.append(r.count())
        r.close()

    t = threading.Thread(target=reader)
    t.start()
    new_docs = SYN_DOCS[:40]
    try:
        n = small.rebuild(iter(new_docs))
    finally:
        stop.set()
        t.join()
    assert n == 40
    after = (root / "CURRENT").read_text().strip()
    assert after != before
    # readers saw the old index or the new one, never a partial one
    assert set(seen_counts) <= {len(HAND_DOCS), 40}
    assert search(small, "corrupción").total == 0
    assert search(small, "presupuesto").total == 20
    assert other.count() == 40  # the other backend object follows the swap
    other.close()


def test_writes_during_rebuild_are_replayed(small):
    def docs():
        yield SYN_DOCS[0]
        # The indexer writes while the rebuild is still reading documents.
        small.index_documents([doc("puebla:news:late", "Tarde", "Documento zztarde publicado durante la reconstrucción.")])
        small.delete_documents([SYN_DOCS[3].id])
        yield SYN_DOCS[1]
        yield SYN_DOCS[3]

    small.rebuild(docs())
    assert small.document_ids_by_tenant("puebla") >= {"puebla:news:late"}
    assert search(small, "zztarde").total == 1
    assert small.count() == 3  # s0, s1, late (s3 deleted by the replayed journal)
    assert not (small.root / "REBUILDING").exists()


def test_failed_rebuild_leaves_live_index(small):
    def docs():
        yield SYN_DOCS[0]
        raise RuntimeError("database went away")

    before = (small.root / "CURRENT").read_text()
    with pytest.raises(RuntimeError):
        small.rebuild(docs())
    assert (small.root / "CURRENT").read_text() == before
    assert small.count() == len(HAND_DOCS)
    assert len([p for p in small.root.iterdir() if p.name.startswith("ix-")]) == 1


def test_old_index_dirs_are_cleaned(small):
    for _ in range(3):
        small.rebuild(HAND_DOCS[:2])
    dirs = [p for p in small.root.iterdir() if p.name.startswith("ix-")]
    assert len(dirs) == 2  # live + previous (for readers that opened it just before a swap)


def test_concurrent_searches(backend):
    errors = []

    def worker():
        try:
            for text in ("transparencia", "presupuesto auditoría", '"plan de acción"', "16.6"):
                backend.search(SearchQuery(text=text, tenant="puebla"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_type_errors_for_programming_mistakes(small):
    with pytest.raises(TypeError):
        small.index_documents([{"id": "x"}])
    with pytest.raises(TypeError):
        small.search("transparencia")


def test_parallel_rebuild_multisegment(tmp_path):
    """rebuild_procs=2 writes one segment per process; results span segments."""
    b = WhooshBackend(tmp_path / "mp", rebuild_procs=2)
    b.rebuild(ALL_DOCS)
    searcher = b._searcher()
    assert len(searcher.leaf_searchers()) >= 2
    res = b.search(SearchQuery(text="presupuesto", per_page=100))
    assert res.total == 75 and len({h.id for h in res.hits}) == 75
    assert sum(res.facets["tenant"].values()) == 75
    dated = b.search(SearchQuery(text="presupuesto", sort="date", per_page=100))
    dates = [h.published_at for h in dated.hits]
    assert dates == sorted(dates, reverse=True)
    assert b.search(SearchQuery(text="reglamento")).hits[0].id == "puebla:page:5"
    b.index_documents([doc("edomex:page:1", "Otro", "zzmultiseg")])
    assert [h.id for h in b.search(SearchQuery(text="zzmultiseg")).hits] == ["edomex:page:1"]
    assert b.count() == len(ALL_DOCS)
    b.close()
