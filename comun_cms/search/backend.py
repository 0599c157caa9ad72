"""Backend-neutral search interface: data classes and the abstract backend.

Everything the app needs from a search engine goes through
:class:`SearchBackend`, so the Whoosh implementation
(:mod:`comun_cms.search.whoosh_backend`) can be swapped for SQLite FTS5
(:mod:`comun_cms.search.sqlite_fts`) or PostgreSQL full-text search
(:mod:`comun_cms.search.pg_backend`) for multi-machine deployments (docs: /work/shared/DESIGN.md, "Search").

Conventions shared by all backends:

- A document id is ``"<tenant>:<content_type>:<record id>"``, e.g.
  ``"edomex:page:12"``; ids are unique across tenants.
- Times are timezone-aware UTC :class:`datetime.datetime` objects.  Naive
  datetimes given to a backend are taken as UTC.
- Writes are single-writer: the app serializes them (an outbox drained by one
  indexer).  Backends still protect themselves with a lock, but they are not
  built for many concurrent writers.
- Searching never raises on user input: bad syntax falls back to plain words
  and sets :attr:`SearchResults.fallback_message`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping, Optional, Sequence

__all__ = [
    "CanaryResult",
    "FALLBACK_MESSAGE",
    "IndexDifferences",
    "ProgressCallback",
    "SearchBackend",
    "SearchDocument",
    "SearchHit",
    "SearchQuery",
    "SearchResults",
    "FACET_FIELDS",
    "SORTS",
    "as_utc",
]

#: Message set in :attr:`SearchResults.fallback_message` when the query had
#: bad syntax and the backend searched its plain words instead.  Spanish
#: (es-MX) source text; the app translates it (``_()``) for display.
FALLBACK_MESSAGE = (
    "La consulta tenía un error de sintaxis; se buscaron solo sus palabras."
)

#: Facet names, in display order.
FACET_FIELDS = ("tenant", "content_type", "year", "status")

#: Allowed values of :attr:`SearchQuery.sort`.
SORTS = ("relevance", "date")

#: ``progress(done, total)``: documents written so far, and the total if the
#: iterable had a ``len()`` (else ``None``).
ProgressCallback = Callable[[int, Optional[int]], None]


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime.

    Args:
        value: aware or naive datetime; naive values are taken as UTC.

    Returns:
        An aware datetime with ``tzinfo=timezone.utc``.

    Raises:
        TypeError: if ``value`` is not a datetime.
    """
    if not isinstance(value, datetime):
        raise TypeError("expected datetime, got %r" % (value,))
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@dataclass(frozen=True)
class SearchDocument:
    """One indexable record version.

    Attributes:
        id: unique id ``"<tenant>:<content_type>:<record id>"``.
        tenant: tenant slug (``"edomex"``).
        content_type: content type name (``"page"``, ``"stl_session"``...).
        title: title text (plain text; weighted higher than the body).
        body: body text (plain text; HTML/Markdown should be stripped by the
            caller).  Shown in snippets, HTML-escaped.
        url: path or URL of the public page.
        published_at: publication time, UTC (naive -> UTC).
        year: year used for the year facet (usually ``published_at.year``).
        status: publication status (``"published"``, ``"corrected"``,
            ``"retracted"``...).
        language: ISO 639-1 code; the analyzer is Spanish (``"es"``).
        version: publication version number (or a content hash string); used
            by :meth:`SearchBackend.check`.
        keywords: extra searchable strings such as codes
            (``"STL-MEX/ORD19/2023/01"``, ``"MXMEX0009"``, ``"16.6"``).
    """

    id: str
    tenant: str
    content_type: str
    title: str
    body: str
    url: str
    published_at: datetime
    year: int
    status: str = "published"
    language: str = "es"
    version: int | str = 1
    keywords: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.id or not isinstance(self.id, str):
            raise ValueError("SearchDocument.id must be a non-empty str")
        if not self.tenant:
            raise ValueError("SearchDocument.tenant must be a non-empty str")
        object.__setattr__(self, "published_at", as_utc(self.published_at))
        object.__setattr__(self, "year", int(self.year))
        if isinstance(self.keywords, str):
            object.__setattr__(self, "keywords", (self.keywords,))
        else:
            object.__setattr__(self, "keywords", tuple(self.keywords))


#: Relevance factor of the documents of a content type the query names (``boost_types``).
TYPE_BOOST = 2.0


@dataclass
class SearchQuery:
    """A search request.

    Attributes:
        text: the user's query string (any input, never raises); empty means
            "everything that matches the filters".
        tenant: restrict to one tenant (a tenant site); ``None`` on the portal.
        content_types: keep only these content types (facet filter).
        years: keep only these years (facet filter).
        statuses: keep only these statuses (facet filter).
        tenants: keep only these tenants (portal facet filter); combined with
            ``tenant`` by AND.
        sort: ``"relevance"`` (default) or ``"date"`` (newest first).
        page: 1-based page number (values < 1 become 1).
        per_page: hits per page, clamped to 1..100.
        facets: compute facet counts.
        highlight: build ``snippet_html`` for the hits of this page.
        boost_types: content types whose relevance score is multiplied by
            :data:`TYPE_BOOST` (the query names them: "sesión" -> the minutes).

    Raises:
        ValueError: if ``sort`` is not one of :data:`SORTS`.
    """

    text: str = ""
    tenant: Optional[str] = None
    content_types: Sequence[str] = ()
    years: Sequence[int] = ()
    statuses: Sequence[str] = ()
    tenants: Sequence[str] = ()
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    facets: bool = True
    highlight: bool = True
    boost_types: Sequence[str] = ()

    def __post_init__(self):
        if self.sort not in SORTS:
            raise ValueError("sort must be one of %r, got %r" % (SORTS, self.sort))
        self.text = "" if self.text is None else str(self.text)
        try:
            self.page = max(1, int(self.page))
        except (TypeError, ValueError):
            self.page = 1
        try:
            self.per_page = min(100, max(1, int(self.per_page)))
        except (TypeError, ValueError):
            self.per_page = 10
        self.content_types = tuple(self.content_types or ())
        self.statuses = tuple(self.statuses or ())
        self.tenants = tuple(self.tenants or ())
        self.boost_types = tuple(self.boost_types or ())
        self.years = tuple(int(y) for y in (self.years or ()))


@dataclass
class SearchHit:
    """One result.

    Attributes:
        id, tenant, content_type, title, url: from the document.
        snippet_html: safe HTML: the body excerpt HTML-escaped, matched words
            wrapped in ``<mark>...</mark>``; empty when highlighting was off.
        published_at: aware UTC datetime.
        score: relevance score (backend-specific scale; 0.0 when sorted by
            date).
        status, year: from the document.
    """

    id: str
    tenant: str
    content_type: str
    title: str
    url: str
    snippet_html: str
    published_at: datetime
    score: float
    status: str = ""
    year: int = 0


@dataclass
class SearchResults:
    """The answer to a :class:`SearchQuery`.

    Attributes:
        total: number of matching documents (all pages).
        hits: the hits of the requested page.
        facets: ``{"tenant": {value: count}, "content_type": {...},
            "year": {2023: n, ...}, "status": {...}}``; counts are over all
            matching documents (query and every filter applied); empty dicts
            when facets were not requested.
        suggestion: a corrected query string ("¿Quisiste decir ...?") when
            the query found few or no documents and a correction exists, else
            ``None``.
        fallback_message: :data:`FALLBACK_MESSAGE` when the query syntax was
            bad and plain words were searched instead, else ``None``.
        page: the page number returned (1-based).
        pages: number of pages (0 when there is no hit).
        per_page: page size used.
    """

    total: int
    hits: list[SearchHit]
    facets: dict[str, dict]
    suggestion: Optional[str]
    fallback_message: Optional[str]
    page: int
    pages: int
    per_page: int = 10

    @staticmethod
    def page_count(total: int, per_page: int) -> int:
        """Number of pages for ``total`` hits at ``per_page`` per page."""
        return int(math.ceil(total / float(per_page))) if total else 0


@dataclass
class IndexDifferences:
    """What :meth:`SearchBackend.check` found.

    Attributes:
        missing: ids expected but not in the index (sorted).
        extra: ids in the index but not expected (sorted).
        stale: ids whose indexed version differs from the expected one (sorted).
    """

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the index matches the expectation exactly."""
        return not (self.missing or self.extra or self.stale)


@dataclass
class CanaryResult:
    """Health probe result of :meth:`SearchBackend.canary`.

    Attributes:
        ok: True if the index opened, counted and answered a query.
        documents: number of live documents.
        latency_ms: time for the probe queries, milliseconds.
        detail: human-readable detail (index location or the error).
    """

    ok: bool
    documents: int
    latency_ms: float
    detail: str = ""


class SearchBackend(abc.ABC):
    """Abstract search engine used by the app (one index for all tenants).

    Implementations: :class:`comun_cms.search.whoosh_backend.WhooshBackend`,
    :class:`comun_cms.search.sqlite_fts.SQLiteFTSBackend`,
    :class:`comun_cms.search.pg_backend.PostgresBackend`.
    """

    @abc.abstractmethod
    def index_documents(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace documents (by id) in one write transaction.

        Args:
            docs: documents to write; an existing document with the same id
                is replaced.

        Returns:
            Number of documents written.

        Raises:
            TimeoutError: if the write lock could not be taken in time.
        """

    @abc.abstractmethod
    def delete_documents(self, ids: Iterable[str]) -> int:
        """Delete documents by id in one write transaction.

        Args:
            ids: document ids; unknown ids are ignored.

        Returns:
            Number of ids requested for deletion.
        """

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResults:
        """Run a query. Never raises on bad user input (see module doc)."""

    @abc.abstractmethod
    def document_ids_by_tenant(self, tenant: str) -> set[str]:
        """Return the ids of all live documents of ``tenant``."""

    @abc.abstractmethod
    def count(self, tenant: Optional[str] = None) -> int:
        """Return the number of live documents (of ``tenant`` if given)."""

    @abc.abstractmethod
    def rebuild(
        self, docs: Iterable[SearchDocument], progress: Optional[ProgressCallback] = None
    ) -> int:
        """Build a complete new index aside from ``docs`` and swap it in atomically.

        Readers keep using the old index until the swap and never see a
        partial index.  Writes made with :meth:`index_documents` /
        :meth:`delete_documents` while the rebuild runs are replayed into the
        new index before the swap.

        Args:
            docs: every document that must be in the new index.
            progress: optional ``progress(done, total)`` callback.

        Returns:
            Number of documents in the new index.
        """

    @abc.abstractmethod
    def versions(self, tenant: Optional[str] = None) -> dict[str, str]:
        """Return ``{id: version as str}`` for live documents (of ``tenant``)."""

    def check(
        self, expected: Mapping[str, int | str], tenant: Optional[str] = None
    ) -> IndexDifferences:
        """Compare the index with the expected ``{id: version}`` map.

        Args:
            expected: the ids and versions (int or hash str) that should be
                indexed; versions are compared as strings.
            tenant: limit the comparison to one tenant's documents.

        Returns:
            :class:`IndexDifferences` (missing, extra, stale id lists).
        """
        actual = self.versions(tenant)
        exp = {k: str(v) for k, v in expected.items()}
        missing = sorted(set(exp) - set(actual))
        extra = sorted(set(actual) - set(exp))
        stale = sorted(k for k in set(exp) & set(actual) if exp[k] != actual[k])
        return IndexDifferences(missing=missing, extra=extra, stale=stale)

    @abc.abstractmethod
    def canary(self) -> CanaryResult:
        """Cheap health probe (for a /health endpoint or ``comun reindex --check``).

        Returns:
            :class:`CanaryResult`; never raises.
        """

    def index_token(self) -> Optional[str]:
        """An opaque string that changes whenever what :meth:`search` reads changes.

        Used by the search result cache (:mod:`comun_cms.search.result_cache`) so an answer
        computed from one state of the index is never served for another.  Reading it must be
        cheap (no query).

        Returns:
            The token, or ``None`` when the backend cannot tell (its answers are then cached
            only if the service writes it in the publishing transaction).
        """
        return None

    def close(self) -> None:
        """Release open files/connections held by this process. Idempotent."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
