"""Search result cache: one entry per (tenants' generations, index state, query), in the page cache's backend.

A search's answer (the hits of one page with their snippets, the facets, the total, the
suggestion) depends only on the query and on what is in the index.  This module keeps answers in
a cachelib cache (the page cache's: Redis when ``CACHE_URL`` is set, shared by every worker and
host; else the instance's ``FileSystemCache``) under a key made of:

- the **generation token of every tenant searched** (:mod:`comun_cms.pagecache`): a publication,
  correction, retraction or admin change bumps it in its transaction, and the search indexer
  bumps it again when it commits outbox rows to the index, so a new record is found at once,
  on every worker;
- the **index state** (:meth:`~comun_cms.search.backend.SearchBackend.index_token`: for Whoosh
  the live index directory and its TOC generation, read from the searcher that answers): an
  answer computed from an index older than the generation is never stored under a newer
  index state, and any write that reaches the index by another path (``comun search reindex``,
  a rebuild swapped in) changes the key too;
- the **epoch** (a random token kept in the same cache, replaced by :meth:`ResultCache.new_epoch`
  after a reindex): covers backends that have no index state of their own (PostgreSQL, whose
  rows are written in the publishing transaction);
- the **query, normalized**: the text with runs of white space collapsed, the tenant or the set
  of tenants, content types, years, statuses and boosted types (sorted: they are sets), the
  sort, page and page size, the facet and highlight switches, and the interface language.

Entries are never deleted one by one: old keys stop being asked for and expire after the
timeout.  A backend that can tell neither its index state nor writes in the publishing
transaction (SQLite FTS5) is not cached.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from typing import Callable, Iterable, Optional

from cachelib import BaseCache

from comun_cms.search.backend import SearchQuery, SearchResults

__all__ = ["ResultCache", "normalize_query"]


def normalize_query(sq: SearchQuery) -> SearchQuery:
    """Return ``sq`` with its text stripped and inner white space collapsed to one space.

    Whitespace never changes which documents match or how they rank; collapsing it lets
    ``"informe  anual "`` and ``"informe anual"`` share one cache entry (and the suggestion,
    which rewrites the text, reads the same for both).

    Args:
        sq: the request.

    Returns:
        A new :class:`SearchQuery` (``sq`` itself when nothing changes).
    """
    text = " ".join(sq.text.split())
    return sq if text == sq.text else dataclasses.replace(sq, text=text)


class ResultCache:
    """Search answers kept per generation and index state (see the module docstring).

    Args:
        cache: a cachelib cache (the page cache's backend, :func:`comun_cms.pagecache.cache_backend`).
        timeout: seconds an entry is kept (old generations are never asked for again).
        prefix: key prefix inside ``cache`` (the page cache's own prefix is added by Redis).
    """

    _EPOCH_KEY = "epoch"

    def __init__(self, cache: BaseCache, *, timeout: int = 3600, prefix: str = "search:"):
        self.cache = cache
        self.timeout = int(timeout)
        self.prefix = prefix

    # -- epoch ---------------------------------------------------------------
    def epoch(self) -> str:
        """The current epoch token (created, randomly, when the cache has none).

        A random token rather than a counter: if the cache evicts or loses it, the next token
        is new too, so entries of an earlier epoch are never served again.
        """
        key = self.prefix + self._EPOCH_KEY
        token = self.cache.get(key)
        if token is None:
            self.cache.add(key, secrets.token_hex(8), timeout=0)
            token = self.cache.get(key) or ""
        return str(token)

    def new_epoch(self) -> str:
        """Start a new epoch (after a reindex): every earlier entry stops being used.

        Returns:
            The new epoch token.
        """
        token = secrets.token_hex(8)
        self.cache.set(self.prefix + self._EPOCH_KEY, token, timeout=0)
        return token

    # -- keys ----------------------------------------------------------------
    def key(self, sq: SearchQuery, *, generations: Iterable[tuple[str, str]], index_token: str,
            language: str = "", epoch: str = "") -> str:
        """The cache key of ``sq`` (call with a :func:`normalize_query`'d request).

        Args:
            sq: the request (text, filters, sort, page, switches).
            generations: ``(tenant slug, generation token)`` of every tenant the query can match.
            index_token: the backend's index state (``""`` for a backend writing in the
                publishing transaction).
            language: the interface language (e.g. ``"es_MX"``).
            epoch: :meth:`epoch`.

        Returns:
            ``"<prefix>r:<sha256 hex>"``.
        """
        raw = json.dumps({
            "g": sorted(generations), "i": index_token, "e": epoch, "l": language,
            "q": sq.text, "t": sq.tenant, "ts": sorted(sq.tenants), "ct": sorted(sq.content_types),
            "y": sorted(sq.years), "st": sorted(sq.statuses), "b": sorted(sq.boost_types),
            "s": sq.sort, "p": sq.page, "pp": sq.per_page, "f": bool(sq.facets), "h": bool(sq.highlight),
        }, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return self.prefix + "r:" + hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()

    # -- look-up -------------------------------------------------------------
    def get_or_compute(self, key: str, compute: Callable[[], SearchResults]) -> tuple[SearchResults, bool]:
        """The cached answer of ``key``, or ``compute()`` stored under it.

        Args:
            key: from :meth:`key`.
            compute: runs the search (called only on a miss).

        Returns:
            ``(results, hit)``; the results are a fresh copy on every call (cachelib pickles),
            so a caller may change them.
        """
        cached: Optional[SearchResults] = self.cache.get(key)
        if isinstance(cached, SearchResults):
            return cached, True
        results = compute()
        self.cache.set(key, results, timeout=self.timeout)
        return results, False
