"""The Whoosh backend's modules: layering, re-exports, on-disk compatibility, query-language units."""

import ast
import importlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from whoosh import query

import comun_cms.search.whoosh_backend as whoosh_backend
from comun_cms.search.backend import FALLBACK_MESSAGE, SearchDocument, SearchQuery
from comun_cms.search.querylang import (
    MAX_QUERY_WORDS,
    filter_queries,
    is_null,
    make_parser,
    parse_user_query,
    plain_words,
    positive_terms,
)
from comun_cms.search.whoosh_engine import damerau, score_terms
from comun_cms.search.whoosh_schema import content_text, doc_fields, make_schema

SEARCH_DIR = Path(whoosh_backend.__file__).parent

# Each module of the Whoosh backend and the modules of the backend it may import.
LAYERS = {
    "whoosh_schema": set(),
    "querylang": {"whoosh_schema"},
    "whoosh_engine": {"querylang", "whoosh_schema"},
    "whoosh_store": {"whoosh_schema"},
    "whoosh_backend": {"querylang", "whoosh_engine", "whoosh_schema", "whoosh_store"},
}


def _imports(name):
    """``(modules imported at module level, modules imported anywhere else)`` of ``<name>.py``."""
    tree = ast.parse((SEARCH_DIR / ("%s.py" % name)).read_text(encoding="utf-8"))

    def modules(node):
        return [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]

    top_nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    nested = [
        m
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom)) and n not in top_nodes
        for m in modules(n)
    ]
    return {m for n in top_nodes for m in modules(n)}, nested


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_modules_import_only_lower_layers_at_module_level(name):
    top, nested = _imports(name)
    assert nested == [], "function-level imports in %s: %s" % (name, nested)
    siblings = {m.rsplit(".", 1)[1] for m in top if m.startswith("comun_cms.search.")} & set(LAYERS)
    assert siblings <= LAYERS[name], "%s imports %s" % (name, sorted(siblings - LAYERS[name]))


def test_public_names_of_whoosh_backend_are_kept():
    for name in whoosh_backend.__all__:
        assert getattr(whoosh_backend, name) is not None
    # comun_cms.search.sqlite_fts imports these by their old private names.
    for name in ("_is_null", "_plain_words", "_positive_terms", "damerau", "make_parser", "make_schema"):
        assert callable(getattr(whoosh_backend, name))


def test_indexes_pickle_the_codec_under_its_historical_path(tmp_path):
    """The TOC of every index names ``comun_cms.search.whoosh_backend.SearchCodec``; an index written
    before the module was split must open, and one written now must open in an older process."""
    assert whoosh_backend.SearchCodec.__module__ == "comun_cms.search.whoosh_backend"
    b = whoosh_backend.WhooshBackend(tmp_path / "ix", rebuild_procs=1)
    doc = SearchDocument(
        id="page:1", tenant="hidalgo", content_type="page", title="Informe", body="Cuerpo del informe",
        url="/hidalgo/informe", published_at=datetime(2024, 1, 2, tzinfo=timezone.utc), year=2024,
    )
    b.index_documents([doc])
    tocs = list((tmp_path / "ix").glob("ix-*/_MAIN_*.toc"))
    assert tocs
    for toc in tocs:
        data = toc.read_bytes()
        assert b"comun_cms.search.whoosh_backend" in data and b"SearchCodec" in data
        for moved in (b"whoosh_engine", b"whoosh_store", b"whoosh_schema", b"querylang"):
            assert moved not in data
    b.close()
    reopened = whoosh_backend.WhooshBackend(tmp_path / "ix")
    assert reopened.search(SearchQuery(text="informe")).total == 1
    reopened.close()


def test_each_module_names_its_concern():
    for name in LAYERS:
        assert importlib.import_module("comun_cms.search.%s" % name).__doc__


# -- query language ------------------------------------------------------------


@pytest.fixture(scope="module")
def parser():
    return make_parser(make_schema())


def test_bad_syntax_falls_back_to_plain_words(parser):
    q, fallback = parse_user_query(parser, '"plan de acción')
    assert fallback == FALLBACK_MESSAGE
    assert isinstance(q, query.And) and {t.text for t in q.subqueries} >= {"plan"}
    assert parse_user_query(parser, "") == (None, None)
    q, fallback = parse_user_query(parser, "de la")
    assert fallback is None and is_null(q)


def test_plain_words_drop_syntax_and_cap_the_count():
    assert plain_words('titulo:informe AND "plan" -ley STL-MEX/ORD19') == ["informe", "plan", "ley", "STL-MEX/ORD19"]
    assert len(plain_words(" ".join("w%d" % i for i in range(100)))) == MAX_QUERY_WORDS


def test_positive_terms_skip_negated_words(parser):
    q, _ = parse_user_query(parser, "corrupción -municipio")
    out = []
    positive_terms(q, out)
    assert [t for _f, t, _b in out] == ["corrupcion"]


def test_filter_queries_fold_values():
    subs = filter_queries(SearchQuery(text="", tenant="Hidalgo", content_types=["Noticia", "Page"], years=[2023]))
    assert subs[0] == query.Term("tenant", "hidalgo")
    assert subs[1] == query.Or([query.Term("content_type", "noticia"), query.Term("content_type", "page")])
    assert subs[2] == query.Term("year", "2023")
    assert filter_queries(SearchQuery(text="x")) == []


# -- engine and schema units ---------------------------------------------------------


def test_damerau_counts_adjacent_transpositions_once():
    assert damerau("corrupcion", "corrupcion") == 0
    assert damerau("corupcion", "corrupcion") == 1
    assert damerau("crorupcion", "corrupcion") == 1
    assert damerau("abc", "") == 3


def test_score_terms_boost_title_copies():
    q = query.And([query.Term("content", "ley"), query.Term("title", "plan")])
    assert score_terms(q, 2.0) == [("content", "ley", 1.0), ("title", "ley", 2.0), ("title", "plan", 2.0)]
    assert score_terms(None, 2.0) == []


def test_doc_fields_index_body_first():
    doc = SearchDocument(
        id="x", tenant="Edomex", content_type="Page", title="Título", body="Cuerpo", url="/x",
        published_at=datetime(2024, 1, 1, tzinfo=timezone.utc), year=2024, keywords=["a", "b"],
    )
    f = doc_fields(doc)
    assert f["content"] == content_text("Cuerpo", "Título", ["a", "b"]) == "Cuerpo\nTítulo\na b"
    assert (f["tenant"], f["content_type"], f["year"]) == ("edomex", "page", "2024")
    assert f["published_at"] == 1704067200
