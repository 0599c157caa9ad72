"""The Whoosh index's schema and the mapping of a document onto its fields.

Concern: what one indexed document looks like, shared by the query language
(:mod:`comun_cms.search.querylang`: which fields are keywords, which are
analyzed text), the segment engine (:mod:`comun_cms.search.whoosh_engine`:
which fields have columns) and the index lifecycle
(:mod:`comun_cms.search.whoosh_store`: the fields written for a
:class:`~comun_cms.search.backend.SearchDocument`).  A leaf module: it
imports no other module of the Whoosh backend.

Schema (see :func:`make_schema`): ``id`` (unique), ``tenant``,
``content_type``, ``status``, ``year``, ``language``, ``version`` (keyword
fields, folded, with columns for fast facets), ``title`` (Spanish analyzer,
positions, stored), ``content`` (Spanish analyzer over body + title +
keywords, positions and character offsets -- ``chars=True`` -- for
highlighting without re-tokenizing), ``published_at`` (epoch seconds,
sortable), and stored ``body``, ``url``, ``keywords``.  The schema pickles
references to :mod:`comun_cms.search.analysis` classes into the index;
renaming them requires a rebuild.

Sources: Whoosh docs -- schema and field types, ``sortable`` columns and
``chars=True`` (https://whoosh.readthedocs.io/en/latest/schema.html,
https://whoosh.readthedocs.io/en/latest/highlight.html).
"""

from __future__ import annotations

from whoosh import fields

from comun_cms.search.analysis import fold, keyword_analyzer, spanish_analyzer
from comun_cms.search.backend import SearchDocument, as_utc

__all__ = [
    "COLUMN_FIELDS",
    "KEYWORD_FIELDS",
    "TEXT_FIELDS",
    "content_text",
    "doc_fields",
    "make_schema",
]

#: Keyword fields: one folded value per document (filters, facets).
KEYWORD_FIELDS = ("tenant", "content_type", "status", "year", "language")
#: Fields analyzed by the Spanish analyzer (words, phrases, codes).
TEXT_FIELDS = ("content", "title")
#: Fields whose per-document column values the engine loads for facets and date sorting.
COLUMN_FIELDS = ("tenant", "content_type", "year", "status", "published_at")


def make_schema() -> fields.Schema:
    """Return the Whoosh schema of the index (pickled into the index).

    Returns:
        A :class:`whoosh.fields.Schema`; custom analysis classes come from
        :mod:`comun_cms.search.analysis` so the pickled schema can be loaded
        by any process that can import ``comun_cms``.
    """
    kw = keyword_analyzer()
    es = spanish_analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        tenant=fields.ID(stored=True, sortable=True, analyzer=kw),
        content_type=fields.ID(stored=True, sortable=True, analyzer=kw),
        status=fields.ID(stored=True, sortable=True, analyzer=kw),
        year=fields.ID(stored=True, sortable=True),
        language=fields.ID(stored=True, analyzer=kw),
        version=fields.ID(stored=True, sortable=True),
        title=fields.TEXT(analyzer=es, stored=True, phrase=True),
        content=fields.TEXT(analyzer=es, stored=False, chars=True),
        published_at=fields.NUMERIC(int, bits=64, signed=True, stored=True, sortable=True),
        body=fields.STORED(),
        url=fields.STORED(),
        keywords=fields.STORED(),
    )


def content_text(body: str, title: str, keywords) -> str:
    """The text indexed in ``content``: body first, so body offsets are exact.

    Args:
        body: the document's plain-text body.
        title: its title.
        keywords: iterable of keyword strings.

    Returns:
        ``body``, ``title`` and the space-joined keywords, one per line.
    """
    return "%s\n%s\n%s" % (body, title, " ".join(keywords))


def doc_fields(doc: SearchDocument) -> dict:
    """The field values written to the index for ``doc``.

    Args:
        doc: the document to index.

    Returns:
        ``{field name: value}`` for every field of :func:`make_schema`
        (keyword values folded, ``published_at`` as UTC epoch seconds).
    """
    return {
        "id": doc.id,
        "tenant": fold(doc.tenant),
        "content_type": fold(doc.content_type),
        "status": fold(doc.status),
        "year": str(int(doc.year)),
        "language": fold(doc.language or "es"),
        "version": str(doc.version),
        "title": doc.title or "",
        "content": content_text(doc.body or "", doc.title or "", doc.keywords),
        "published_at": int(as_utc(doc.published_at).timestamp()),
        "body": doc.body or "",
        "url": doc.url or "",
        "keywords": list(doc.keywords),
    }
