"""Whoosh implementation of :class:`~comun_cms.search.backend.SearchBackend`.

:class:`WhooshBackend` wires four modules, one concern each:

- :mod:`comun_cms.search.querylang` -- the query language: the user's text
  (words, phrases, operators, Spanish field prefixes, codes) parsed into a
  Whoosh query, with a plain-words fallback for bad syntax;
- :mod:`comun_cms.search.whoosh_engine` -- the segment engine: matching
  sets read straight from posting blocks, BM25F ranking, facets from
  columns, highlighted hits, "did you mean" suggestions;
- :mod:`comun_cms.search.whoosh_store` -- the index lifecycle: the
  directory layout and ``CURRENT`` pointer, per-thread searchers, the
  write lock and serialized writes, rebuild aside + atomic swap, canary;
- :mod:`comun_cms.search.whoosh_schema` -- the schema and the fields
  written for a :class:`~comun_cms.search.backend.SearchDocument`.

This module keeps :class:`SearchCodec` (and its :class:`SearchPerDocReader`)
because every index's TOC pickles the codec by its import path,
``comun_cms.search.whoosh_backend.SearchCodec``: moving it would make the
indexes already on disk unreadable (and indexes written after the move
unreadable by older processes during a deploy).  Writers use it because it
caches field lengths: Whoosh's per-document reader re-read them (and
stat'ed the file system) once per posting, the largest single cost of
indexing.

The names below :data:`__all__` that come from the other modules are
re-exported so that existing imports keep working.

Sources: Whoosh docs -- codecs and the index format
(https://whoosh.readthedocs.io/en/latest/api/codec/base.html); the other
modules name theirs (BM25: Robertson & Zaragoza 2009, in
:mod:`comun_cms.search.whoosh_engine`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional

from whoosh import query
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, _lenfield
from whoosh.util.numeric import byte_to_length

from comun_cms.search.backend import (
    FALLBACK_MESSAGE,
    CanaryResult,
    ProgressCallback,
    SearchBackend,
    SearchDocument,
    SearchQuery,
    SearchResults,
)
from comun_cms.search.querylang import (
    FIELD_ALIASES,
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    make_parser,
    parse_user_query,
    plain_query,
)
# Earlier private names, still imported by comun_cms.search.sqlite_fts.
from comun_cms.search.querylang import is_null as _is_null  # noqa: F401
from comun_cms.search.querylang import plain_words as _plain_words  # noqa: F401
from comun_cms.search.querylang import positive_terms as _positive_terms  # noqa: F401
from comun_cms.search.whoosh_engine import (
    SegmentCache,
    SegmentView,
    damerau,
    live_count,
    live_versions,
    run_search,
)
from comun_cms.search.whoosh_schema import make_schema
from comun_cms.search.whoosh_store import IndexStore, default_limitmb

__all__ = [
    "FIELD_ALIASES",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "SearchCodec",
    "SearchPerDocReader",
    "WhooshBackend",
    "damerau",
    "make_parser",
    "make_schema",
    "parse_user_query",
    "plain_query",
]


class SearchPerDocReader(W3PerDocReader):
    """Whoosh 3 per-document reader that caches field-length columns.

    Whoosh's ``W3PerDocReader.doc_field_length`` re-reads the length column
    (and, for fields without one, checks the file system) on *every* call.
    It is called once per posting when a segment is written (block length
    statistics) and once per scored document when searching, which made it
    the largest single cost of indexing.  This subclass loads each field's
    length bytes into a list once per reader.
    """

    def doc_field_length(self, docnum, fieldname, default=0):
        """Length of ``fieldname`` in document ``docnum`` (Whoosh semantics).

        Returns:
            The approximate length (``byte_to_length``), ``default`` if the
            field has no length column, or None when the stored byte is 0
            (as Whoosh 2.7 does).
        """
        cache = self.__dict__.get("_lencache")
        if cache is None:
            cache = self.__dict__["_lencache"] = {}
        arr = cache.get(fieldname, False)
        if arr is False:
            reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            arr = None if reader is None else list(reader)
            cache[fieldname] = arr
        if arr is None:
            return default
        if docnum > self._doccount:
            raise IndexError("Asked for docnum %r of %d" % (docnum, self._doccount))
        lbyte = arr[docnum]
        if lbyte:
            return byte_to_length(lbyte)
        return None


class SearchCodec(W3Codec):
    """Whoosh 3 codec using :class:`SearchPerDocReader` (pickled into the TOC).

    Args:
        blocklimit: postings per block (Whoosh default 128).
        compression: zlib level for posting blocks (Whoosh default 3).
        inlinelimit: postings inlined in the term index (Whoosh default 1).
    """

    def per_document_reader(self, storage, segment):
        """Return a :class:`SearchPerDocReader` for ``segment``."""
        return SearchPerDocReader(storage, segment)


class WhooshBackend(SearchBackend):
    """Whoosh search backend: one index for all tenants under ``path``.

    Args:
        path: root directory (created if missing); see
            :mod:`comun_cms.search.whoosh_store` for its layout.  Must be on a local POSIX filesystem (``fcntl`` locks,
            atomic ``os.replace``).
        limitmb: writer memory buffer per process for :meth:`rebuild`, MB
            (Whoosh ``limitmb``).  Default: as much as avoids spilling sorted
            runs to disk for ~100,000 documents (2,048), capped at a quarter of
            the available memory per process.  Small writes use 128.
        rebuild_procs: processes used by :meth:`rebuild` (Whoosh ``procs``;
            with ``multisegment=True`` each process writes its own segment).
            Default: ``min(2, os.cpu_count())``.
        lock_timeout: seconds to wait for Whoosh's index write lock.
        title_boost: score boost of a query word found in the title.
        suggest_below: compute "did you mean" when a query has fewer hits.
        snippet_fragments: maximum fragments per snippet.
        blocklimit, compression: Whoosh 3 codec settings for new segments
            (postings per block, zlib level); see :class:`SearchCodec`.
        postings_cache: decoded postings (ids + term frequencies) of recent
            query terms kept in memory, in postings (8 bytes each), and as
            many of their BM25 term scores (8 bytes each): 4,000,000 = at
            most 64 MB per process, enough for the 200 benchmark queries at
            100,000 documents (2.8 million postings); 0 disables both caches.

    Thread/process safety: searching is safe from any number of threads and
    processes (one cached searcher per thread).  Writes must come from one
    indexer at a time (the app's outbox worker); a second concurrent writer
    waits up to ``lock_timeout`` and then gets :class:`TimeoutError`.
    """

    def __init__(
        self,
        path,
        *,
        limitmb: Optional[int] = None,
        rebuild_procs: Optional[int] = None,
        lock_timeout: float = 60.0,
        title_boost: float = 2.0,
        suggest_below: int = 3,
        snippet_fragments: int = 2,
        blocklimit: int = 128,
        compression: int = 3,
        postings_cache: int = 4_000_000,
    ):
        self.root = Path(path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.limitmb = int(limitmb) if limitmb else default_limitmb(rebuild_procs)
        self.rebuild_procs = int(rebuild_procs or min(2, os.cpu_count() or 1))
        self.title_boost = float(title_boost)
        self.suggest_below = int(suggest_below)
        self.snippet_fragments = int(snippet_fragments)
        self.blocklimit = int(blocklimit)
        self.compression = int(compression)
        self.postings_cache = int(postings_cache)
        self.schema = make_schema()
        self._parser = make_parser(self.schema)
        self._store = IndexStore(
            self.root, self.schema, lock_timeout=lock_timeout, make_codec=self._codec, on_refresh=self._prune_cache
        )
        self._cache = self._new_cache()
        self._cache_dir = None

    # -- wiring ------------------------------------------------------------

    @property
    def lock_timeout(self) -> float:
        """Seconds to wait for the index write lock (then :class:`TimeoutError`)."""
        return self._store.lock_timeout

    @lock_timeout.setter
    def lock_timeout(self, value: float) -> None:
        self._store.lock_timeout = float(value)

    def _codec(self) -> SearchCodec:
        """Codec of new segments, with this backend's ``blocklimit`` and ``compression``."""
        return SearchCodec(blocklimit=self.blocklimit, compression=self.compression)

    def _searcher(self):
        """Cached per-thread searcher of the live index, or None if no index."""
        return self._store.searcher()

    def _prune_cache(self, searcher, dirname) -> None:
        """After a commit (store callback): keep the caches of the segments still in ``searcher``."""
        segids = set()
        for sub, _off in searcher.leaf_searchers():
            segids.add(SegmentCache.segment_id(sub.reader()))
        if self._cache_dir != dirname:
            self._cache = self._new_cache()
            self._cache_dir = dirname
        else:
            self._cache.retain(segids)

    def _new_cache(self) -> SegmentCache:
        """An empty segment cache sized by ``postings_cache``."""
        return SegmentCache(max_postings=self.postings_cache)

    def _views(self, searcher) -> list[SegmentView]:
        """One :class:`SegmentView` per segment of ``searcher``; a new cache when the live directory changed."""
        dirname = self._store.thread_dirname()
        if self._cache_dir != dirname:
            self._cache = self._new_cache()
            self._cache_dir = dirname
        cache = self._cache
        return [SegmentView(sub, off, cache) for sub, off in searcher.leaf_searchers()]

    # -- writing -----------------------------------------------------------

    def index_documents(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace documents by id: one writer, one commit.

        Args:
            docs: iterable of :class:`SearchDocument`.

        Returns:
            Number of documents written (0 for an empty iterable: no commit).

        Raises:
            TimeoutError: the index write lock was not free within
                ``lock_timeout`` seconds.
            TypeError: an item is not a :class:`SearchDocument`.
        """
        docs = list(docs)
        for d in docs:
            if not isinstance(d, SearchDocument):
                raise TypeError("expected SearchDocument, got %r" % (d,))
        if not docs:
            return 0
        return self._store.write("upsert", docs)

    def delete_documents(self, ids: Iterable[str]) -> int:
        """Delete documents by id (unknown ids ignored); one commit.

        Returns:
            Number of ids processed.

        Raises:
            TimeoutError: as :meth:`index_documents`.
        """
        ids = [str(i) for i in ids]
        if not ids:
            return 0
        return self._store.write("delete", ids)

    def delete_tenant(self, tenant: str) -> int:
        """Delete every document of ``tenant`` (before re-indexing one tenant).

        Returns:
            Number of documents that were live for the tenant.
        """
        n = self.count(tenant)
        self._store.write("delete_tenant", tenant)
        return n

    def rebuild(
        self, docs: Iterable[SearchDocument], progress: Optional[ProgressCallback] = None
    ) -> int:
        """Build a new index directory from ``docs``, then swap it in atomically.

        Uses Whoosh's multiprocessing writer (``procs=rebuild_procs``,
        ``multisegment=True``, ``limitmb`` per process) so the build uses every
        core and skips the final merge.  Writes made through
        :meth:`index_documents`/:meth:`delete_documents` during the rebuild
        are journaled and replayed into the new index before the swap.
        Duplicate ids in ``docs`` keep the first occurrence.

        Args:
            docs: every document of the new index.
            progress: ``progress(done, total_or_None)``, called every 1,000
                documents and at the end.

        Returns:
            Number of documents written.

        Raises:
            TimeoutError: the backend lock was busy for ``lock_timeout``.
            Any exception from ``docs``: the half-built directory is removed
            and the live index is untouched.
        """
        return self._store.rebuild(docs, progress, limitmb=self.limitmb, procs=self.rebuild_procs)

    # -- inventory ---------------------------------------------------------

    def document_ids_by_tenant(self, tenant: str) -> set[str]:
        """Return the ids of the live documents of ``tenant`` (set of str)."""
        return {i for i, _v in live_versions(self._searcher(), self._cache, tenant)}

    def versions(self, tenant: Optional[str] = None) -> dict[str, str]:
        """Return ``{id: version}`` (versions as str) of live documents."""
        return dict(live_versions(self._searcher(), self._cache, tenant))

    def count(self, tenant: Optional[str] = None) -> int:
        """Number of live documents, of ``tenant`` if given."""
        return live_count(self._searcher(), self._cache, tenant)

    def canary(self) -> CanaryResult:
        """Open the live index, count documents, run a query and an id lookup.

        Returns:
            :class:`CanaryResult`; ``ok`` is False (never an exception) if the
            index is missing, unreadable or a probe fails.
        """
        return self._store.canary(self.search)

    def index_token(self) -> str:
        """The live index's state: ``"<index directory>@<TOC generation>"`` (``"none"`` before any index).

        Read from the calling thread's searcher, refreshed first (a stat of ``CURRENT`` and of
        the TOC): every commit raises the generation, a rebuild changes the directory.  A search
        that follows on this thread reads that state or a newer one, never an older one.
        """
        searcher = self._searcher()
        if searcher is None:
            return "none"
        return "%s@%s" % (self._store.thread_dirname(), searcher.reader().generation())

    def close(self) -> None:
        """Close every cached searcher opened by this backend object."""
        self._store.close()

    # -- searching ---------------------------------------------------------

    def parse(self, text: str):
        """Parse a user query string; see :func:`parse_user_query`."""
        return parse_user_query(self._parser, text)

    def search(self, sq: SearchQuery) -> SearchResults:
        """Run ``sq`` (see :class:`SearchQuery`); never raises on user input.

        Returns:
            :class:`SearchResults`.  Facet counts are over every document
            matching the query and all filters; ``year`` facet keys are ints.
        """
        if not isinstance(sq, SearchQuery):
            raise TypeError("expected SearchQuery, got %r" % (sq,))
        user_q, fallback = self.parse(sq.text)
        try:
            return self._run(sq, user_q, fallback)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError, query.QueryError):
            if fallback:
                raise
            # A parsed query the engine could not run: search its plain words.
            return self._run(sq, plain_query(self._parser, sq.text), FALLBACK_MESSAGE)

    def _run(self, sq: SearchQuery, user_q, fallback) -> SearchResults:
        """Run a parsed query on the live index (see :func:`~comun_cms.search.whoosh_engine.run_search`)."""
        return run_search(
            self._searcher(), self._views, sq, user_q, fallback,
            schema=self.schema, title_boost=self.title_boost,
            suggest_below=self.suggest_below, snippet_fragments=self.snippet_fragments,
        )
