"""The Whoosh backend's query engine: matching, BM25F ranking, facets, hits, suggestions.

Concern: running one parsed query against the segments of an open index --
reading postings and columns per segment, scoring, counting facets, building
highlighted hits and "did you mean" suggestions.  It reads an index; opening,
writing and swapping indexes is :mod:`comun_cms.search.whoosh_store`, and
turning the user's text into a query is :mod:`comun_cms.search.querylang`.

Performance notes (why the code is shaped like this):

- Matching documents are enumerated once per query, per segment, straight
  from the posting blocks (:func:`_term_postings`), and combined with Python
  set operations; decoded postings of recent query words are kept in a small
  LRU (``postings_cache``).  Whoosh's ``groupedby`` facets would score and categorize every
  hit through the collector one document at a time, which is the known
  slow path; here facet counts are ``Counter`` runs over cached per-segment
  column arrays, and date sorting is ``heapq.nlargest`` over the same arrays.
- Relevance is Whoosh's BM25F formula computed from the same decoded
  postings for the matching documents only (Whoosh's ``TopCollector`` walks
  the query matchers one document at a time and was 3-5x slower on common
  words); only the current page is highlighted, from the stored character
  offsets (pinpoint highlighting, no re-tokenizing).
- The per-segment caches (:class:`SegmentCache`) are keyed by segment id,
  so they survive the opening of a new searcher after a commit: only new
  segments are read again.
- Measured at 100,000 documents (issue 17, ``bench/search.py``): decoding
  posting blocks (zlib + pickle of ids, weights *and* character offsets) is
  the largest cost of a word not seen recently, so posting lists are decoded
  straight into arrays (a C running sum for the delta-coded ids) and the
  cache holds 4 million postings, the benchmark's working set; a word seen
  again gets its per-posting BM25 term scores from a second LRU (same
  formula, same floats); facet counts make one pass over the matches,
  counting a per-document code of its (tenant, type, year, status)
  combination; snippets bisect a block's ids instead of stepping through
  them.  Results are identical to the earlier code's (scores, order,
  snippets, facets) on the benchmark's queries.

Sources: BM25: Robertson & Zaragoza, "The Probabilistic Relevance Framework:
BM25 and Beyond" (2009), as implemented in ``whoosh.scoring.BM25F``; Whoosh
docs -- pinpoint highlighting from ``chars=True`` offsets
(https://whoosh.readthedocs.io/en/latest/highlight.html), correctors and
``terms_within`` (https://whoosh.readthedocs.io/en/latest/spelling.html),
searchers and leaf searchers
(https://whoosh.readthedocs.io/en/latest/searching.html); edit distance:
Damerau, "A technique for computer detection and correction of spelling
errors" (1964), restricted to the optimal string alignment variant.
"""

from __future__ import annotations

import heapq
import math
import re
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from itertools import accumulate, repeat
from datetime import datetime, timezone
from typing import Callable, Iterator, Optional

from whoosh import query
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import ListMatcher
from whoosh.util.numeric import byte_to_length

from comun_cms.search.analysis import SPANISH_STOP_WORDS, fold, stem_word
from comun_cms.search.backend import FACET_FIELDS, TYPE_BOOST, SearchHit, SearchQuery, SearchResults
from comun_cms.search.querylang import filter_queries, is_null, plain_words, positive_terms
from comun_cms.search.snippets import make_snippet
from comun_cms.search.whoosh_schema import COLUMN_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS, content_text

__all__ = [
    "SegmentCache",
    "SegmentView",
    "damerau",
    "facet_counts",
    "live_count",
    "live_versions",
    "make_hits",
    "run_search",
    "score_terms",
    "suggest",
    "surface_form",
    "top_by_bm25",
    "top_by_date",
]


# ---------------------------------------------------------------------------
# Fast per-segment document sets
# ---------------------------------------------------------------------------


def _term_postings(segreader, fieldname: str, text, weights: bool = True):
    """Postings of one term in one segment: ``(docnums, weights)``.

    Docnums are segment-relative and include deleted documents; ``weights``
    (term frequencies, floats) is None when not requested.  Reads the posting
    blocks directly -- each block's ids and weights come out of one
    ``pickle.loads`` -- instead of stepping a matcher document by document,
    which is an order of magnitude faster for long posting lists.  Falls
    back to the public matcher API for other codecs.
    """
    try:
        btext = segreader._text_to_bytes(fieldname, text)
        m = segreader._terms.matcher(fieldname, btext, segreader.schema[fieldname].format)
    except (KeyError, AttributeError, ValueError, TypeError):
        try:
            m = segreader.postings(fieldname, text)
        except Exception:
            return [], ([] if weights else None)
    except Exception:
        return [], ([] if weights else None)
    ids: list = []
    ws: Optional[list] = [] if weights else None
    if isinstance(m, W3LeafMatcher) and not m._byteids:
        # Straight into arrays, with no Python step per posting: a block's ids are stored as
        # deltas, and a C running sum (itertools.accumulate) gives the ids Whoosh's generator
        # (``delta_decode``) would; uniform weights (None: all 1.0, or one float) are repeated
        # as Whoosh's ``_read_weights`` does.
        ids = array("I")
        ws = array("f") if weights else None
        while m.is_active():
            if m._data is None:
                m._read_data()
            data = m._data
            ids.extend(accumulate(data[0]))
            if weights:
                w = data[1]
                if w is None:
                    ws.extend(repeat(1.0, m._blocklength))
                elif isinstance(w, float):
                    ws.extend(repeat(w, m._blocklength))
                else:
                    ws.extend(w)
            m._next_block()
        return ids, ws
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            if m._ids is None:
                m._read_ids()
            ids.extend(m._ids)
            if weights:
                m._read_weights()
                ws.extend(m._weights)
            m._next_block()
        return ids, ws
    if isinstance(m, ListMatcher):
        ids = list(m._ids)
        if weights:
            ws = list(m._weights) if m._weights is not None else [1.0] * len(ids)
        return ids, ws
    while m.is_active():
        ids.append(m.id())
        if weights:
            ws.append(m.weight())
        m.next()
    return ids, ws


def _seek(m, target: int) -> bool:
    """Move a posting matcher to its first posting at or after ``target``.

    Same result as ``m.skip_to(target)`` followed by ``m.id() == target``, but
    inside a Whoosh 3 block it bisects the block's decoded ids instead of
    stepping posting by posting in Python (``skip_to`` called ``id()`` and
    ``next()`` about 60 times per snippet document at 100,000 documents).
    Blocks before the target are still skipped by their headers, undecoded.

    Args:
        m: an active matcher of one term in one segment (moves forward only).
        target: a segment-relative docnum.

    Returns:
        True if the matcher now stands on ``target``, False if the term is not
        in that document (the matcher is then past it, or exhausted).
    """
    if not isinstance(m, W3LeafMatcher):
        m.skip_to(target)
        return m.is_active() and m.id() == target
    while not m._atend and target > m._maxid:
        m._next_block()
    if not m.is_active():
        return False
    if m._ids is None:
        m._read_ids()
    i = bisect_left(m._ids, target, m._i)
    m._i = i
    return i < len(m._ids) and m._ids[i] == target


def _term_docs(segreader, fieldname: str, text) -> set:
    """Set of docnums (segment-relative, deleted included) containing a term."""
    return set(_term_postings(segreader, fieldname, text, weights=False)[0])


class SegmentView:
    """Per-segment evaluation context with caches of keyword-term doc sets.

    Args:
        searcher: the leaf searcher of one segment.
        offset: the segment's first global docnum.
        cache: the backend's :class:`SegmentCache` (shared by all views).
    """

    def __init__(self, searcher, offset: int, cache: "SegmentCache"):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.offset = offset
        self.cache = cache
        self._postings: dict = {}

    def postings(self, fieldname: str, text):
        """``(docnums, weights)`` of a text-field term: read once per query,
        and kept in the backend's LRU postings cache across queries."""
        key = (fieldname, text)
        got = self._postings.get(key)
        if got is None:
            got = self.cache.postings(self.reader, fieldname, text)
            self._postings[key] = got
        return got

    def all_docs(self) -> set:
        """Live docnums of the segment (frozenset)."""
        return self.cache.live_docs(self.reader)

    def term_docs(self, fieldname: str, text) -> set:
        """Docnums (deleted included) containing a term; keyword terms cached."""
        if fieldname in KEYWORD_FIELDS:
            return self.cache.keyword_docs(self.reader, fieldname, text)
        if fieldname in TEXT_FIELDS:
            return set(self.postings(fieldname, text)[0])
        return _term_docs(self.reader, fieldname, text)

    def docs(self, q) -> set:
        """Docnums (segment-relative, live) matching ``q``."""
        live = self.all_docs()
        found = self._eval(q)
        if len(live) == self.reader.doc_count_all():
            return found if isinstance(found, set) else set(found)  # no deletion: nothing to remove
        return found & live

    def _term_ids(self, q):
        """For a ``Term`` of a text field: its docnums as the cached postings array
        (no set built), else None."""
        if isinstance(q, query.Term) and q.fieldname in TEXT_FIELDS:
            return self.postings(q.fieldname, q.text)[0]
        return None

    def _eval(self, q) -> set:
        if is_null(q):
            return set()
        if isinstance(q, query.Every):
            return set(self.all_docs())
        if isinstance(q, query.Term):
            return self.term_docs(q.fieldname, q.text)
        if isinstance(q, query.And) or isinstance(q, query.Require):
            positives = []
            negatives = []
            for sub in q.subqueries if isinstance(q, query.And) else (q.a, q.b):
                if isinstance(sub, query.Not):
                    negatives.append(sub.query)
                else:
                    positives.append(sub)
            if positives:
                # Evaluate cheap (keyword/term) clauses first, intersect early.
                positives.sort(key=lambda s: 0 if isinstance(s, query.Term) else 1)
                result = None
                for sub in positives:
                    ids = self._term_ids(sub) if result is not None else None
                    if ids is not None:
                        # a word's postings: keep the docs of ``result`` found in the array,
                        # without building a set of the whole posting list first
                        result.intersection_update(ids)
                    elif result is None:
                        docs = self._eval(sub)
                        # a plain set is always a new one here (copy only the cached frozensets)
                        result = docs if type(docs) is set else set(docs)
                    else:
                        result = result & self._eval(sub)
                    if not result:
                        return set()
            else:
                result = set(self.all_docs())
            for sub in negatives:
                result -= self._eval(sub)
            return result
        if isinstance(q, query.Or):
            result: set = set()
            for sub in q.subqueries:
                if isinstance(sub, query.Not):
                    result |= self.all_docs() - self._eval(sub.query)
                else:
                    result |= self._eval(sub)
            return result
        if isinstance(q, query.Not):
            return self.all_docs() - self._eval(q.query)
        if isinstance(q, query.AndNot):
            return self._eval(q.a) - self._eval(q.b)
        if isinstance(q, query.AndMaybe):
            return self._eval(q.a)
        # Phrases, ranges, anything else: Whoosh's own matcher (skips deleted).
        try:
            return set(q.docs(self.searcher))
        except Exception:
            return set()


class SegmentCache:
    """Caches that survive searcher refreshes: keyed by segment id.

    - ``live_docs``: live docnums of a segment (changes with deletions, so
      keyed by the reader's deleted count too).
    - ``keyword_docs``: doc sets of keyword terms (tenant, type, year, status).
    - ``columns``: per-segment lists of facet values and timestamps, and
      field lengths for BM25.
    - ``postings``: LRU of decoded postings of recent query terms.
    - ``partial_scores``: LRU of their per-posting BM25 scores (per index statistics).

    Args:
        max_keyword_sets: keyword doc sets kept (the set is cleared when full).
        max_postings: postings kept in the postings LRU (8 bytes each), and
            BM25 term scores kept in the scores LRU (8 bytes each); 0 disables both.
    """

    def __init__(self, max_keyword_sets: int = 512, max_postings: int = 4_000_000):
        self._lock = threading.Lock()
        self._live: dict = {}
        self._kw: dict = {}
        self._cols: dict = {}
        self._max_kw = max_keyword_sets
        self._post: OrderedDict = OrderedDict()
        self._post_size = 0
        self._max_post = int(max_postings)
        self._scores: OrderedDict = OrderedDict()
        self._scores_size = 0
        self._seen: OrderedDict = OrderedDict()  # score keys asked for once (admission on the second)

    def postings(self, reader, fieldname, text):
        """``(docnums, weights)`` of a term in a segment, LRU-cached.

        Decoding posting blocks (zlib + pickle, values included) is the main
        cost of a query, and query words follow a Zipf law, so the decoded
        ids and weights of recent terms are kept as compact ``array``s, up to
        ``max_postings`` postings in total (8 bytes each: a 4-byte id and a
        4-byte float weight, as Whoosh stores them).
        """
        if self._max_post <= 0:
            return _term_postings(reader, fieldname, text)
        key = (self.segment_id(reader), fieldname, text)
        got = self._post.get(key)
        if got is not None:
            try:
                self._post.move_to_end(key)
            except KeyError:
                pass
            return got
        ids, weights = _term_postings(reader, fieldname, text)
        got = (ids if isinstance(ids, array) else array("I", ids),
               weights if isinstance(weights, array) else array("f", weights))
        n = len(ids)
        if n <= self._max_post // 4:
            with self._lock:
                if key not in self._post:
                    self._post[key] = got
                    self._post_size += n
                    while self._post_size > self._max_post and self._post:
                        _k, (old_ids, _w) = self._post.popitem(last=False)
                        self._post_size -= len(old_ids)
        return got

    def partial_scores(self, reader, fieldname, text, stats: tuple, compute: Callable[[], array]) -> Optional[array]:
        """Per-posting BM25 term scores of a word in a segment, LRU-cached like :meth:`postings`.

        Scoring every posting costs more than scoring the matches of one query (a tenant
        filter keeps a third of them), so the scores are computed and kept only from the
        second query that needs them: the first gets ``None`` and scores its matches itself.

        Args:
            reader: the segment reader.
            fieldname, text: the term.
            stats: what the scores depend on besides the postings: ``(boost, documents in the
                index, document frequency, average field length)``; a commit changes them, and
                with them the key.
            compute: returns the scores (an ``array("d")`` parallel to the postings' ids).

        Returns:
            The scores (from the cache when the same term was scored with the same statistics,
            else computed and kept), or ``None`` on the first request of a key and whenever the
            cache is off.
        """
        if self._max_post <= 0:
            return None
        key = (self.segment_id(reader), fieldname, text, stats)
        got = self._scores.get(key)
        if got is not None:
            try:
                self._scores.move_to_end(key)
            except KeyError:
                pass
            return got
        with self._lock:
            if key not in self._seen:
                self._seen[key] = True
                if len(self._seen) > 4096:
                    self._seen.popitem(last=False)
                return None
        got = compute()
        n = len(got)
        if n <= self._max_post // 4:
            with self._lock:
                if key not in self._scores:
                    self._scores[key] = got
                    self._scores_size += n
                    while self._scores_size > self._max_post and self._scores:
                        _k, old = self._scores.popitem(last=False)
                        self._scores_size -= len(old)
        return got

    @staticmethod
    def segment_id(reader) -> str:
        """The cache key of a segment reader: its segment id (else the reader's identity)."""
        try:
            return reader.segment().segment_id()
        except Exception:
            return "r%x" % id(reader)

    def live_docs(self, reader) -> set:
        """Frozenset of live docnums of a segment (recomputed after deletions)."""
        deleted = reader.deleted_docs_set if hasattr(reader, "deleted_docs_set") else frozenset()
        segid = self.segment_id(reader)
        entry = self._live.get(segid)
        if entry is None or entry[0] != len(deleted):
            entry = (len(deleted), frozenset(range(reader.doc_count_all())) - deleted)
            with self._lock:
                self._live[segid] = entry
        return entry[1]

    def keyword_docs(self, reader, fieldname, text) -> set:
        """Frozenset of docnums having a keyword-field value (LRU-ish cache)."""
        key = (self.segment_id(reader), fieldname, text)
        got = self._kw.get(key)
        if got is None:
            got = frozenset(_term_docs(reader, fieldname, text))
            with self._lock:
                if len(self._kw) >= self._max_kw:
                    self._kw.clear()
                self._kw[key] = got
        return got

    def columns(self, reader) -> dict:
        """``{field: list indexed by docnum}`` for facet fields and ``published_at``."""
        key = self.segment_id(reader)
        got = self._cols.get(key)
        if got is None:
            got = {}
            for name in COLUMN_FIELDS:
                try:
                    got[name] = list(reader.column_reader(name))
                except Exception:
                    got[name] = [None] * reader.doc_count_all()
            with self._lock:
                self._cols[key] = got
        return got

    def facet_codes(self, reader) -> tuple[list, list]:
        """Each document's combination of facet values, as a small int.

        Returns:
            ``(codes, combos)``: ``codes[docnum]`` indexes ``combos``, a list of
            tuples of the values of :data:`~comun_cms.search.backend.FACET_FIELDS`
            (in that order; ``None`` where a document has no value).  A few
            hundred combinations at most (tenants x types x years x statuses),
            so facet counts need one pass over the matching documents.
        """
        key = (self.segment_id(reader), "facet-codes")
        got = self._cols.get(key)
        if got is None:
            cols = self.columns(reader)
            index: dict = {}
            combos: list = []
            codes = []
            for combo in zip(*(cols[f] for f in FACET_FIELDS)):
                code = index.get(combo)
                if code is None:
                    code = index[combo] = len(combos)
                    combos.append(combo)
                codes.append(code)
            got = (codes, combos)
            with self._lock:
                self._cols[key] = got
        return got

    def lengths(self, reader, fieldname) -> list:
        """Per-document lengths of ``fieldname`` (Whoosh's 1-byte approximation)."""
        key = (self.segment_id(reader), "len:" + fieldname)
        got = self._cols.get(key)
        if got is None:
            n = reader.doc_count_all()
            try:
                col = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
                got = [byte_to_length(b) if b else 0 for b in col] if col is not None else [0] * n
            except AttributeError:
                got = [reader.doc_field_length(d, fieldname) or 0 for d in range(n)]
            with self._lock:
                self._cols[key] = got
        return got

    def retain(self, segids: set) -> None:
        """Drop cache entries of segments that no longer exist."""
        with self._lock:
            self._live = {k: v for k, v in self._live.items() if k in segids}
            for k in [k for k in self._post if k[0] not in segids]:
                self._post_size -= len(self._post.pop(k)[0])
            for k in [k for k in self._scores if k[0] not in segids]:
                self._scores_size -= len(self._scores.pop(k))
            self._kw = {k: v for k, v in self._kw.items() if k[0] in segids}
            self._cols = {
                k: v for k, v in self._cols.items() if (k[0] if isinstance(k, tuple) else k) in segids
            }


# ---------------------------------------------------------------------------
# Edit distance
# ---------------------------------------------------------------------------


def damerau(a: str, b: str) -> int:
    """Optimal-string-alignment edit distance (small words only).

    Insertions, deletions, substitutions and transpositions of adjacent
    letters cost 1 each; used to rank suggestions (by both backends).

    Returns:
        The distance between ``a`` and ``b`` (0 when equal).
    """
    la, lb = len(a), len(b)
    prev2 = None
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[lb]

# ---------------------------------------------------------------------------
# Running a query
# ---------------------------------------------------------------------------


def run_search(
    searcher,
    views_of: Callable[[object], list],
    sq: SearchQuery,
    user_q,
    fallback,
    *,
    schema,
    title_boost: float,
    suggest_below: int,
    snippet_fragments: int,
) -> SearchResults:
    """Run a parsed query with the filters, sort and page of ``sq``.

    Args:
        searcher: the live index's searcher, or None when there is no index
            (empty results).
        views_of: ``views_of(searcher)`` -> the :class:`SegmentView` of each
            segment (the backend keeps their caches across searchers).
        sq: the search request (filters, sort, page, facets, highlight).
        user_q: the parsed query (:func:`~comun_cms.search.querylang.parse_user_query`):
            None for an empty text (every document), a null query for stop
            words only (no document).
        fallback: the fallback message to return with the results, or None.
        schema: the index schema (its ``content`` analyzer finds suggestions' words).
        title_boost: score factor of a query word found in the title.
        suggest_below: compute a suggestion when fewer documents match.
        snippet_fragments: maximum fragments per snippet.

    Returns:
        :class:`SearchResults`; facet counts are over every matching document.

    Raises:
        Whatever Whoosh raises on a query it cannot run (ValueError,
        TypeError, ``QueryError``...): the backend then retries with plain words.
    """
    empty = SearchResults(
        total=0, hits=[], facets={f: {} for f in FACET_FIELDS} if sq.facets else {},
        suggestion=None, fallback_message=fallback, page=sq.page, pages=0, per_page=sq.per_page,
    )
    if searcher is None:
        return empty
    if user_q is not None and is_null(user_q):
        if sq.text.strip():
            empty.suggestion = suggest(searcher, schema, sq.text)
        return empty
    filters = filter_queries(sq)
    match_parts = ([user_q] if user_q is not None else []) + filters
    if not match_parts:
        match_q = query.Every()
    elif len(match_parts) == 1:
        match_q = match_parts[0]
    else:
        match_q = query.And(match_parts)

    views = views_of(searcher)
    per_seg = [(v, v.docs(match_q)) for v in views]
    total = sum(len(d) for _v, d in per_seg)

    facets: dict = {}
    if sq.facets:
        facets = facet_counts(per_seg)

    pages = SearchResults.page_count(total, sq.per_page)
    want = sq.page * sq.per_page
    start = (sq.page - 1) * sq.per_page
    ranked: list = []  # (score, global docnum)
    if total and start < total:
        scored = score_terms(user_q, title_boost)
        if sq.sort == "date" or not scored:
            ranked = top_by_date(per_seg, want)
        else:
            ranked = top_by_bm25(searcher, scored, per_seg, want, boost_types=sq.boost_types)
    page_items = ranked[start:want]

    terms: list = []
    if user_q is not None:
        positive_terms(user_q, terms)
    hits = make_hits(searcher, views, page_items, terms, sq.highlight, snippet_fragments)

    suggestion = None
    if sq.text.strip() and total < suggest_below:
        suggestion = suggest(searcher, schema, sq.text)
    return SearchResults(
        total=total, hits=hits, facets=facets, suggestion=suggestion,
        fallback_message=fallback, page=sq.page, pages=pages, per_page=sq.per_page,
    )


def facet_counts(per_seg) -> dict:
    """Facet counts of the matching documents, from cached columns.

    Args:
        per_seg: ``[(SegmentView, matching docnums)]``.

    Returns:
        ``{facet field: {value: count}}`` for every field of ``FACET_FIELDS``,
        most common first; ``year`` keys are ints, newest first.
    """
    counters = {f: Counter() for f in FACET_FIELDS}
    for view, docs in per_seg:
        if not docs:
            continue
        codes, combos = view.cache.facet_codes(view.reader)
        # one pass over the matches (counting combination codes), then a few hundred
        # combinations split into the fields -- instead of one pass per field
        for code, n in Counter(map(codes.__getitem__, docs)).items():
            for f, value in zip(FACET_FIELDS, combos[code]):
                counters[f][value] += n
    out = {}
    for f in FACET_FIELDS:
        c = counters[f]
        if f == "year":
            out[f] = {int(k): v for k, v in sorted(c.items(), key=lambda kv: kv[0] or "", reverse=True) if k}
        else:
            # most frequent first, ties by value: the same order after a rebuild (as the other backends)
            out[f] = {k: v for k, v in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0]))) if k is not None}
    return out


def top_by_date(per_seg, want: int) -> list:
    """The ``want`` newest matching documents.

    Args:
        per_seg: ``[(SegmentView, matching docnums)]``.
        want: how many to return.

    Returns:
        ``[(0.0, global docnum)]``, newest ``published_at`` first (ties: lower docnum first).
    """
    best = []
    for view, docs in per_seg:
        if not docs:
            continue
        dates = view.cache.columns(view.reader)["published_at"]
        off = view.offset
        top = heapq.nlargest(want, docs, key=lambda d: (dates[d] or 0, -d))
        best.extend(((dates[d] or 0), -(d + off)) for d in top)
    best.sort(reverse=True)
    return [(0.0, -neg) for _ts, neg in best[:want]]


def score_terms(user_q, title_boost: float) -> list:
    """``[(field, text, boost)]`` to score: positive words in content and,
    boosted by ``title_boost``, the same words in the title.

    Args:
        user_q: the parsed query, or None.
        title_boost: factor for title matches (0 scores content only).

    Returns:
        Sorted, one entry per (field, word) with its highest boost; empty for None.
    """
    if user_q is None:
        return []
    terms: list = []
    positive_terms(user_q, terms)
    out = {}
    for f, t, b in terms:
        if f == "content":
            out[("content", t)] = max(out.get(("content", t), 0.0), b)
            if title_boost:
                out[("title", t)] = max(out.get(("title", t), 0.0), b * title_boost)
        elif f == "title":
            out[("title", t)] = max(out.get(("title", t), 0.0), b * max(1.0, title_boost))
    return [(f, t, b) for (f, t), b in sorted(out.items())]


def top_by_bm25(searcher, terms, per_seg, want: int, boost_types=()) -> list:
    """Top ``want`` matching documents by BM25F, as ``[(score, docnum)]``.

    Same formula and defaults as Whoosh's ``scoring.BM25F`` (B=0.75,
    K1=1.2, ``idf = log(N / (df + 1)) + 1``, Whoosh's 1-byte field
    lengths), summed over the query words in ``content`` plus the words
    in ``title`` times ``title_boost``.  Computed here from the posting
    blocks already read to find the matching set, for the matching
    documents only: Whoosh's collector walks the query matchers document
    by document in Python, several times slower on common words.

    Args:
        searcher: the searcher (collection statistics: N, df, average lengths).
        terms: ``[(field, text, boost)]`` from :func:`score_terms`.
        per_seg: ``[(SegmentView, matching docnums)]``.
        want: how many to return.
        boost_types: content types whose documents' scores are multiplied by
            :data:`~comun_cms.search.backend.TYPE_BOOST`.

    Returns:
        ``[(score, global docnum)]``, best first; matching documents that
        contain no scored word follow, newest first.
    """
    K1, B = 1.2, 0.75
    n_all = searcher.doc_count_all() or 1
    heap: list = []
    unscored: list = []
    for view, docs in per_seg:
        if not docs:
            continue
        scores: dict = {}
        get = scores.get
        for field, text, boost in terms:
            ids, weights = view.postings(field, text)
            if not ids:
                continue
            df = searcher.doc_frequency(field, text)
            idf = math.log(n_all / (df + 1)) + 1
            avg = searcher.avg_field_length(field) or 1.0

            lengths = view.cache.lengths(view.reader, field)
            c0 = K1 * (1 - B)
            c1 = K1 * B / avg
            k = idf * boost * (K1 + 1)

            def partial(ids=ids, weights=weights, lengths=lengths, c0=c0, c1=c1, k=k):
                return array("d", [k * w / (w + c0 + c1 * lengths[d]) for d, w in zip(ids, weights)])

            # each posting's term score depends on the collection statistics, not on the query's
            # other words: for a word seen again, computed once per (segment, word, boost,
            # statistics) for every posting and cached; on first sight, for the matches only
            part = view.cache.partial_scores(view.reader, field, text, (boost, n_all, df, avg), partial)
            if part is None:
                for d, w in zip(ids, weights):
                    if d in docs:
                        scores[d] = get(d, 0.0) + k * w / (w + c0 + c1 * lengths[d])
            elif not scores:
                scores = {d: x for d, x in zip(ids, part) if d in docs}  # 0.0 + x == x
                get = scores.get
            else:
                for d, x in zip(ids, part):
                    if d in docs:
                        scores[d] = get(d, 0.0) + x
        for ct in boost_types:
            for d in view.term_docs("content_type", fold(ct)) & scores.keys():
                scores[d] *= TYPE_BOOST
        off = view.offset
        top = heapq.nlargest(want, scores.items(), key=lambda kv: (kv[1], -kv[0]))
        heap.extend((sc, -(d + off)) for d, sc in top)
        if len(scores) < len(docs):
            unscored.append((view, set(docs) - scores.keys()))
    heap.sort(reverse=True)
    ranked = [(sc, -neg) for sc, neg in heap[:want]]
    if len(ranked) < want and unscored:
        ranked.extend(top_by_date(unscored, want - len(ranked)))
    return ranked


def make_hits(searcher, views, items, terms, do_highlight: bool, snippet_fragments: int) -> list[SearchHit]:
    """The :class:`SearchHit` of each ranked document of the page.

    Snippets come from the character offsets stored in ``content``'s
    postings (no re-tokenizing); documents are visited in docnum order per
    segment so each word's postings only move forward.

    Args:
        searcher: the searcher (stored fields).
        views: the :class:`SegmentView` of each segment, in offset order.
        items: ``[(score, global docnum)]`` of the page.
        terms: ``[(field, text, boost)]`` of the positive query words.
        do_highlight: build ``snippet_html`` (else it is empty).
        snippet_fragments: maximum fragments per snippet.

    Returns:
        One hit per item, in the order of ``items``.
    """
    if not items:
        return []
    offsets = [v.offset for v in views]
    content_terms = sorted({t for f, t, _b in terms if f == "content"})
    matchers: dict = {}
    hits = []
    # Visit documents in docnum order per segment so postings only move forward.
    snippets: dict = {}
    if do_highlight and content_terms:
        for docnum in sorted(d for _s, d in items):
            i = bisect_right(offsets, docnum) - 1
            view = views[i]
            local = docnum - view.offset
            spans = []
            for t in content_terms:
                key = (i, t)
                m = matchers.get(key)
                if m is None:
                    try:
                        m = view.reader.postings("content", t)
                    except Exception:
                        m = False
                    matchers[key] = m
                if not m or not m.is_active():
                    continue
                try:
                    if _seek(m, local):
                        spans.extend((t,) + tuple(c) for c in m.value_as("characters"))
                except Exception:
                    continue
            snippets[docnum] = spans
    for score, docnum in items:
        stored = searcher.stored_fields(docnum)
        body = stored.get("body") or ""
        snippet = ""
        if do_highlight:
            spans = snippets.get(docnum) or []
            snippet = make_snippet(body, spans, snippet_fragments)
        ts = stored.get("published_at") or 0
        hits.append(
            SearchHit(
                id=stored.get("id", ""),
                tenant=stored.get("tenant", ""),
                content_type=stored.get("content_type", ""),
                title=stored.get("title", ""),
                url=stored.get("url", ""),
                snippet_html=snippet,
                published_at=datetime.fromtimestamp(ts, tz=timezone.utc),
                score=float(score),
                status=stored.get("status", ""),
                year=int(stored.get("year") or 0),
            )
        )
    return hits


# ---------------------------------------------------------------------------
# Suggestions ("did you mean")
# ---------------------------------------------------------------------------


def suggest(searcher, schema, text: str) -> Optional[str]:
    """"Did you mean": replace unknown words by close, frequent indexed words.

    For each plain word of ``text`` whose stem is not in the index, looks
    for stems within edit distance 1, then 2
    (``IndexReader.terms_within``: Whoosh's automaton-based
    Damerau-Levenshtein search over the ``content`` field's terms),
    prefers the closest then the most frequent, and turns the stem back
    into a real word by re-analyzing one document that contains it (so
    the suggestion keeps its accents: ``corupcion`` -> ``corrupción``).
    No spelling field is indexed: that would double the analysis work
    when indexing.

    Args:
        searcher: the searcher of the live index.
        schema: the index schema (its ``content`` analyzer).
        text: the user's query string.

    Returns:
        The corrected query string, or None when nothing changes (or on any error).
    """
    try:
        reader = searcher.reader()
        out = text
        changed = False
        for raw in plain_words(text):
            w = fold(raw)
            if not 4 <= len(w) <= 30 or not w.isalpha() or w in SPANISH_STOP_WORDS:
                continue
            stem = stem_word(w)
            if reader.doc_frequency("content", stem) > 0:
                continue
            best = None
            for maxdist in (1, 2):
                cands = [
                    c for c in reader.terms_within("content", stem, maxdist, prefix=1) if c != stem
                ]
                if cands:
                    best = min(
                        cands,
                        key=lambda c: (damerau(stem, c), -reader.doc_frequency("content", c), c),
                    )
                    break
            if best is None:
                continue
            word = surface_form(searcher, schema, best)
            if not word or damerau(w, fold(word)) > 3:
                continue
            out = re.sub(r"(?<!\w)%s(?!\w)" % re.escape(raw), word, out, count=1)
            changed = True
        return out if changed else None
    except Exception:
        return None


def surface_form(searcher, schema, stem: str) -> Optional[str]:
    """A word as written in a document whose analyzed form is ``stem``.

    Args:
        searcher: the searcher of the live index.
        schema: the index schema (its ``content`` analyzer).
        stem: an indexed ``content`` term.

    Returns:
        The most frequent lower-cased spelling of ``stem`` in the first
        document containing it, or None.
    """
    try:
        m = searcher.postings("content", stem)
        if not m.is_active():
            return None
        stored = searcher.stored_fields(m.id())
    except Exception:
        return None
    text = content_text(stored.get("body") or "", stored.get("title") or "", stored.get("keywords") or ())
    analyzer = schema["content"].analyzer
    forms: Counter = Counter()
    for t in analyzer(text, chars=True, mode="index"):
        if t.text == stem:
            forms[text[t.startchar : t.endchar].lower()] += 1
    return forms.most_common(1)[0][0] if forms else None


# ---------------------------------------------------------------------------
# Inventory
# ---------------------------------------------------------------------------


def live_versions(searcher, cache: SegmentCache, tenant: Optional[str] = None) -> Iterator[tuple]:
    """Yield ``(id, version)`` of live documents, from columns (no stored fields).

    Args:
        searcher: the searcher of the live index, or None (nothing yielded).
        cache: the backend's :class:`SegmentCache`.
        tenant: only this tenant's documents when given.
    """
    if searcher is None:
        return
    tenant_f = fold(tenant) if tenant is not None else None
    for sub, _off in searcher.leaf_searchers():
        r = sub.reader()
        ids = r.column_reader("id")
        versions = r.column_reader("version")
        if tenant_f is not None:
            docnums = sorted(cache.keyword_docs(r, "tenant", tenant_f) & cache.live_docs(r))
        else:
            docnums = sorted(cache.live_docs(r))
        for d in docnums:
            yield ids[d], versions[d]


def live_count(searcher, cache: SegmentCache, tenant: Optional[str] = None) -> int:
    """Number of live documents, of ``tenant`` if given.

    Args:
        searcher: the searcher of the live index, or None (0).
        cache: the backend's :class:`SegmentCache`.
        tenant: count only this tenant's documents when given.
    """
    if searcher is None:
        return 0
    if tenant is None:
        return searcher.doc_count()
    t = fold(tenant)
    return sum(
        len(cache.keyword_docs(sub.reader(), "tenant", t) & cache.live_docs(sub.reader()))
        for sub, _off in searcher.leaf_searchers()
    )
