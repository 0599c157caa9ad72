"""Whoosh implementation of :class:`~comun_cms.search.backend.SearchBackend`.

One index for all tenants (package ``whoosh-reloaded``), in a directory given
to the constructor::

    <root>/CURRENT              name of the live index directory (one line)
    <root>/ix-<stamp>/          Whoosh index files (TOC, segments, WRITELOCK)
    <root>/.backend.lock        fcntl lock for pointer swaps / journal
    <root>/REBUILDING           present while a rebuild runs (JSON: dir, pid)
    <root>/rebuild.journal      writes made during a rebuild, replayed before
                                the swap

``rebuild()`` writes a new ``ix-*`` directory and then replaces ``CURRENT``
with ``os.replace`` (atomic on POSIX), so readers see either the old or the
new index, never a half-built one.  The previous directory is kept until the
next rebuild so that readers that opened it just before the swap can finish.

Schema (see :func:`make_schema`): ``id`` (unique), ``tenant``,
``content_type``, ``status``, ``year``, ``language``, ``version`` (keyword
fields, folded, with columns for fast facets), ``title`` (Spanish analyzer,
positions, stored), ``content`` (Spanish analyzer over body + title +
keywords, positions and character offsets -- ``chars=True`` -- for
highlighting without re-tokenizing), ``published_at`` (epoch seconds,
sortable), and stored ``body``, ``url``, ``keywords``.  The schema pickles
references to :mod:`comun_cms.search.analysis` classes and to
:class:`SearchCodec`; renaming them requires a rebuild.

Query language (all words required by default)::

    corrupción municipio          both words (accents and case do not matter)
    "plan de acción"              phrase
    ley OR reglamento             either (also ``O``); ``AND``/``Y``; ``NOT``
    corrupción -municipio         exclusion
    titulo:informe                field prefixes in Spanish: titulo/título,
    tipo:news estado:published    tipo (content_type), estado (status),
    anio:2023 año:[2019 TO 2021]  anio/año (year), entidad (tenant)
    STL-MEX/ORD19/2023/01 16.6    codes, searched as written

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
- Writers use :class:`SearchCodec`, which caches field lengths: Whoosh's
  per-document reader re-read them (and stat'ed the file system) once per
  posting, the largest single cost of indexing.
- Searchers are cached per thread; after a commit a new searcher is opened
  (cheap: a few segment files) while the per-segment caches of unchanged
  segments are kept.

Sources: Whoosh docs -- schema/fields, ``chars=True`` and pinpoint
highlighting (https://whoosh.readthedocs.io/en/latest/highlight.html),
correctors and ``terms_within``
(https://whoosh.readthedocs.io/en/latest/spelling.html), query parser
plugins (https://whoosh.readthedocs.io/en/latest/parsing.html), batch
indexing with ``limitmb``/``procs``/``multisegment``
(https://whoosh.readthedocs.io/en/latest/batch.html), searchers
(https://whoosh.readthedocs.io/en/latest/searching.html); BM25: Robertson &
Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond" (2009),
as implemented in ``whoosh.scoring.BM25F``.
"""

from __future__ import annotations

import errno
import fcntl
import heapq
import json
import math
import os
import pickle
import re
import secrets
import shutil
import threading
import time
import unicodedata
from bisect import bisect_right
from array import array
from collections import Counter, OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional

from whoosh import fields, index, qparser, query
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3LeafMatcher, W3PerDocReader, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.index import LockError
from whoosh.matching import ListMatcher
from whoosh.qparser import syntax
from whoosh.query.wrappers import WrappingQuery

from comun_cms.search.analysis import (
    SPANISH_STOP_WORDS,
    compound_terms,
    fold,
    keyword_analyzer,
    spanish_analyzer,
    stem_word,
)
from comun_cms.search.snippets import make_snippet
from comun_cms.search.backend import (
    FACET_FIELDS,
    FALLBACK_MESSAGE,
    CanaryResult,
    ProgressCallback,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResults,
    as_utc,
)

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

#: Spanish field prefixes accepted in queries -> schema field.
FIELD_ALIASES = {
    "title": ["titulo", "título"],
    "content_type": ["tipo"],
    "status": ["estado"],
    "year": ["anio", "año", "ano"],
    "tenant": ["entidad"],
}

#: Longer queries are cut to their first plain words (fallback).
MAX_QUERY_CHARS = 500
#: At most this many words are searched (more -> fallback to the first ones).
MAX_QUERY_WORDS = 32

_POINTER = "CURRENT"
_MARKER = "REBUILDING"
_JOURNAL = "rebuild.journal"
_LOCKFILE = ".backend.lock"
_INDEX_PREFIX = "ix-"

_KEYWORD_FIELDS = ("tenant", "content_type", "status", "year", "language")
_TEXT_FIELDS = ("content", "title")
_COLUMN_FIELDS = ("tenant", "content_type", "year", "status", "published_at")

# Query syntax problems detected before parsing (Whoosh's parser is lenient
# and silently produces odd queries for them).
_LONE_SIGN_RE = re.compile(r"(^|\s)[-+]+(?=\s|$)")
_EMPTY_FIELD_RE = re.compile(r"(^|[\s(])[^\W\d_][\w]*:(?=\s|$|\))")
_OPERATORS = {"AND", "OR", "NOT", "Y", "O", "ANDNOT", "ANDMAYBE"}
_WORD_RE = re.compile(r"[^\W_]+(?:[-/._][^\W_]+)*")
_FIELD_PREFIX_RE = re.compile(r"(^|(?<=[\s(\-]))[^\W\d_][\w]*:")


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


def _content_text(body: str, title: str, keywords) -> str:
    """The text indexed in ``content``: body first, so body offsets are exact."""
    return "%s\n%s\n%s" % (body, title, " ".join(keywords))


def _doc_fields(doc: SearchDocument) -> dict:
    return {
        "id": doc.id,
        "tenant": fold(doc.tenant),
        "content_type": fold(doc.content_type),
        "status": fold(doc.status),
        "year": str(int(doc.year)),
        "language": fold(doc.language or "es"),
        "version": str(doc.version),
        "title": doc.title or "",
        "content": _content_text(doc.body or "", doc.title or "", doc.keywords),
        "published_at": int(as_utc(doc.published_at).timestamp()),
        "body": doc.body or "",
        "url": doc.url or "",
        "keywords": list(doc.keywords),
    }


# ---------------------------------------------------------------------------
# Query parsing
# ---------------------------------------------------------------------------


class _SpanishQueryParser(qparser.QueryParser):
    """QueryParser whose multi-token words become phrases (codes, hyphens).

    ``STL-MEX/ORD19`` -> ``Or([Term(content, "stl-mex/ord19"),
    Phrase(content, ["stl", "mex", "ord", "19"])])``: the exact code, or its
    parts in sequence (which also matches partial codes).
    """

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True, removestops=True):
        """Query for one word of the query string (Whoosh parser hook).

        Returns a Term, a Phrase of the word's parts, ``Or(whole code,
        phrase of parts)``, or None for a stop word.
        """
        if fieldname in _TEXT_FIELDS and termclass is query.Term and self.schema:
            field = self.schema[fieldname]
            texts = list(
                field.process_text(text, mode="query", tokenize=tokenize, removestops=removestops)
            )
            if not texts:
                return None
            wholes = compound_terms(text)
            if len(texts) == 1 and not wholes:
                return query.Term(fieldname, texts[0], boost=boost)
            parts = query.Phrase(fieldname, texts, boost=boost) if len(texts) > 1 else query.Term(
                fieldname, texts[0], boost=boost
            )
            if len(wholes) == 1:
                return query.Or([query.Term(fieldname, wholes[0], boost=boost), parts])
            return parts
        return super().term_query(fieldname, text, termclass, boost, tokenize, removestops)


def make_parser(schema) -> _SpanishQueryParser:
    """Query parser for the Spanish query language (see module doc)."""
    plugins = [
        qparser.FieldsPlugin(),
        qparser.PhrasePlugin(),
        qparser.RangePlugin(),
        qparser.GroupPlugin(),
        qparser.OperatorsPlugin(
            And=r"(?<=\s)(AND|Y)(?=\s)",
            Or=r"(?<=\s)(OR|O)(?=\s)",
            Not=r"((^|(?<=(\s|[()])))NOT(?=\s))|((^|(?<=(\s|[()])))-(?=[^\s\-]))",
        ),
        qparser.BoostPlugin(),
        qparser.FieldAliasPlugin(FIELD_ALIASES),
    ]
    return _SpanishQueryParser("content", schema, plugins=plugins, group=syntax.AndGroup)


def _syntax_problem(text: str) -> Optional[str]:
    """Return why ``text`` is not well-formed query syntax, or None."""
    if len(text) > MAX_QUERY_CHARS:
        return "too long"
    for ch in text:
        if ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            return "control character"
    if text.count('"') % 2:
        return "unbalanced quotes"
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return "unbalanced parentheses"
    if depth:
        return "unbalanced parentheses"
    if _LONE_SIGN_RE.search(text):
        return "lone sign"
    if _EMPTY_FIELD_RE.search(text):
        return "empty field"
    words = text.replace("(", " ").replace(")", " ").split()
    if words:
        if words[0] in _OPERATORS - {"NOT"} or words[-1] in _OPERATORS:
            return "dangling operator"
        for a, b in zip(words, words[1:]):
            if a in _OPERATORS and b in _OPERATORS and b != "NOT":
                return "double operator"
    if len(_WORD_RE.findall(text)) > MAX_QUERY_WORDS:
        return "too many words"
    return None


def _plain_words(text: str) -> list[str]:
    """Words of ``text`` with syntax removed (fallback search)."""
    cleaned = "".join(
        " " if unicodedata.category(ch).startswith("C") else ch for ch in text[: MAX_QUERY_CHARS * 4]
    )
    cleaned = _FIELD_PREFIX_RE.sub(" ", cleaned)
    words = [w for w in _WORD_RE.findall(cleaned) if w not in _OPERATORS]
    return words[:MAX_QUERY_WORDS]


def _is_null(q) -> bool:
    return q is None or q is query.NullQuery or isinstance(q, query.qcore._NullQuery)


def _positive_terms(q, out: list) -> None:
    """Append ``(fieldname, text, boost)`` of terms not under a NOT to ``out``."""
    if isinstance(q, query.Not):
        return
    if isinstance(q, query.AndNot):
        _positive_terms(q.a, out)
        return
    if isinstance(q, query.Term):
        out.append((q.fieldname, q.text, q.boost))
        return
    if isinstance(q, query.Phrase):
        out.extend((q.fieldname, w, q.boost) for w in q.words)
        return
    if isinstance(q, query.compound.CompoundQuery):
        for sub in q.subqueries:
            _positive_terms(sub, out)
        return
    if isinstance(q, WrappingQuery):
        _positive_terms(q.child, out)


def _normalize_keyword_terms(q):
    """Fold values of keyword-field terms (``tipo:Noticia`` -> ``noticia``)."""
    if isinstance(q, query.Term) and q.fieldname in _KEYWORD_FIELDS:
        return query.Term(q.fieldname, fold(str(q.text)), boost=q.boost)
    if isinstance(q, query.compound.BinaryQuery):
        return q.__class__(_normalize_keyword_terms(q.a), _normalize_keyword_terms(q.b))
    if isinstance(q, query.compound.CompoundQuery):
        return q.__class__([_normalize_keyword_terms(s) for s in q.subqueries], boost=q.boost)
    if isinstance(q, query.Not):
        return query.Not(_normalize_keyword_terms(q.query), boost=q.boost)
    return q


def plain_query(parser, text: str):
    """AND of the plain words of ``text`` (at most :data:`MAX_QUERY_WORDS`).

    Args:
        parser: a parser from :func:`make_parser` (used for its analysis of
            single words, codes included).
        text: any string.

    Returns:
        A Whoosh query, or ``query.NullQuery`` when no word remains.
    """
    subs = []
    for w in _plain_words(text):
        try:
            q = parser.term_query("content", w, query.Term)
        except Exception:
            q = None
        if q is not None:
            subs.append(q)
    if not subs:
        return query.NullQuery
    return subs[0] if len(subs) == 1 else query.And(subs)


def parse_user_query(parser, text: str):
    """Parse a user query string; never raises.

    Args:
        parser: a parser from :func:`make_parser`.
        text: raw user input (anything).

    Returns:
        ``(query, fallback_message)``: a :class:`whoosh.query.Query` (None for
        an empty query, ``NullQuery`` for stop words only) and
        :data:`FALLBACK_MESSAGE` when the syntax was bad (unbalanced quotes or
        parentheses, a lone ``-``, an empty ``titulo:``, a dangling operator,
        control characters, more than :data:`MAX_QUERY_CHARS` characters or
        :data:`MAX_QUERY_WORDS` words) and only the plain words were kept,
        else None.
    """
    text = text or ""
    if not text.strip():
        return None, None
    problem = _syntax_problem(text)
    if problem is None:
        try:
            q = _normalize_keyword_terms(parser.parse(text))
        except Exception:
            q = None
            problem = "parser error"
        if problem is None:
            if not _is_null(q):
                return q, None
            if _WORD_RE.search(text):
                # Only stop words ("de la"): valid, matches nothing.
                return query.NullQuery, None
            problem = "no words"  # "*", '""', "((((": syntax only
    return plain_query(parser, text), FALLBACK_MESSAGE


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


def _term_docs(segreader, fieldname: str, text) -> set:
    """Set of docnums (segment-relative, deleted included) containing a term."""
    return set(_term_postings(segreader, fieldname, text, weights=False)[0])


class _SegmentView:
    """Per-segment evaluation context with caches of keyword-term doc sets."""

    def __init__(self, searcher, offset: int, cache: "_SegmentCache"):
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
        if fieldname in _KEYWORD_FIELDS:
            return self.cache.keyword_docs(self.reader, fieldname, text)
        if fieldname in _TEXT_FIELDS:
            return set(self.postings(fieldname, text)[0])
        return _term_docs(self.reader, fieldname, text)

    def docs(self, q) -> set:
        """Docnums (segment-relative, live) matching ``q``."""
        live = self.all_docs()
        return self._eval(q) & live

    def _eval(self, q) -> set:
        if _is_null(q):
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
                    docs = self._eval(sub)
                    result = set(docs) if result is None else result & docs
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


class _SegmentCache:
    """Caches that survive searcher refreshes: keyed by segment id.

    - ``live_docs``: live docnums of a segment (changes with deletions, so
      keyed by the reader's deleted count too).
    - ``keyword_docs``: doc sets of keyword terms (tenant, type, year, status).
    - ``columns``: per-segment lists of facet values and timestamps, and
      field lengths for BM25.
    - ``postings``: LRU of decoded postings of recent query terms.
    """

    def __init__(self, max_keyword_sets: int = 512, max_postings: int = 2_000_000):
        self._lock = threading.Lock()
        self._live: dict = {}
        self._kw: dict = {}
        self._cols: dict = {}
        self._max_kw = max_keyword_sets
        self._post: OrderedDict = OrderedDict()
        self._post_size = 0
        self._max_post = int(max_postings)

    def postings(self, reader, fieldname, text):
        """``(docnums, weights)`` of a term in a segment, LRU-cached.

        Decoding posting blocks (zlib + pickle, values included) is the main
        cost of a query, and query words follow a Zipf law, so the decoded
        ids and weights of recent terms are kept as compact ``array``s, up to
        ``max_postings`` postings in total (8 bytes each).
        """
        if self._max_post <= 0:
            return _term_postings(reader, fieldname, text)
        key = (self._segid(reader), fieldname, text)
        got = self._post.get(key)
        if got is not None:
            try:
                self._post.move_to_end(key)
            except KeyError:
                pass
            return got
        ids, weights = _term_postings(reader, fieldname, text)
        got = (array("I", ids), array("f", weights))
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

    @staticmethod
    def _segid(reader) -> str:
        try:
            return reader.segment().segment_id()
        except Exception:
            return "r%x" % id(reader)

    def live_docs(self, reader) -> set:
        """Frozenset of live docnums of a segment (recomputed after deletions)."""
        deleted = reader.deleted_docs_set if hasattr(reader, "deleted_docs_set") else frozenset()
        segid = self._segid(reader)
        entry = self._live.get(segid)
        if entry is None or entry[0] != len(deleted):
            entry = (len(deleted), frozenset(range(reader.doc_count_all())) - deleted)
            with self._lock:
                self._live[segid] = entry
        return entry[1]

    def keyword_docs(self, reader, fieldname, text) -> set:
        """Frozenset of docnums having a keyword-field value (LRU-ish cache)."""
        key = (self._segid(reader), fieldname, text)
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
        key = self._segid(reader)
        got = self._cols.get(key)
        if got is None:
            got = {}
            for name in _COLUMN_FIELDS:
                try:
                    got[name] = list(reader.column_reader(name))
                except Exception:
                    got[name] = [None] * reader.doc_count_all()
            with self._lock:
                self._cols[key] = got
        return got

    def lengths(self, reader, fieldname) -> list:
        """Per-document lengths of ``fieldname`` (Whoosh's 1-byte approximation)."""
        key = (self._segid(reader), "len:" + fieldname)
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
            self._kw = {k: v for k, v in self._kw.items() if k[0] in segids}
            self._cols = {
                k: v for k, v in self._cols.items() if (k[0] if isinstance(k, tuple) else k) in segids
            }


# ---------------------------------------------------------------------------
# Highlighting
# ---------------------------------------------------------------------------


def damerau(a: str, b: str) -> int:
    """Optimal-string-alignment edit distance (small words only)."""
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
# The backend
# ---------------------------------------------------------------------------


def _default_limitmb(procs: Optional[int]) -> int:
    """2,048 MB per writer process, at most a quarter of free memory each."""
    procs = int(procs or min(2, os.cpu_count() or 1))
    try:
        avail_mb = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        avail_mb = 4096
    return int(max(128, min(2048, avail_mb // (4 * procs))))


class WhooshBackend(SearchBackend):
    """Whoosh search backend: one index for all tenants under ``path``.

    Args:
        path: root directory (created if missing); see the module doc for
            its layout.  Must be on a local POSIX filesystem (``fcntl`` locks,
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
            query terms kept in memory, in postings (8 bytes each; 2,000,000
            = 16 MB per process); 0 disables the cache.

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
        postings_cache: int = 2_000_000,
    ):
        self.root = Path(path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.limitmb = int(limitmb) if limitmb else _default_limitmb(rebuild_procs)
        self.rebuild_procs = int(rebuild_procs or min(2, os.cpu_count() or 1))
        self.lock_timeout = float(lock_timeout)
        self.title_boost = float(title_boost)
        self.suggest_below = int(suggest_below)
        self.snippet_fragments = int(snippet_fragments)
        self.blocklimit = int(blocklimit)
        self.compression = int(compression)
        self.postings_cache = int(postings_cache)
        self.schema = make_schema()
        self._parser = make_parser(self.schema)
        self._local = threading.local()
        self._states_lock = threading.Lock()
        self._states: list = []
        self._thread_write_lock = threading.RLock()
        self._cache = self._new_cache()
        self._cache_dir = None

    # -- locations ---------------------------------------------------------

    def _read_pointer(self) -> Optional[str]:
        try:
            name = (self.root / _POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def _write_pointer(self, name: str) -> None:
        tmp = self.root / ("%s.tmp-%d-%s" % (_POINTER, os.getpid(), secrets.token_hex(4)))
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / _POINTER)
        try:
            dfd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass

    def _new_index_dir(self) -> Path:
        name = "%s%s-%d-%s" % (
            _INDEX_PREFIX,
            time.strftime("%Y%m%dT%H%M%S", time.gmtime()),
            os.getpid(),
            secrets.token_hex(3),
        )
        path = self.root / name
        path.mkdir()
        index.create_in(str(path), self.schema)
        return path

    @contextmanager
    def _backend_lock(self):
        """Process + thread lock for pointer/journal changes (short sections)."""
        with self._thread_write_lock:
            self.root.mkdir(parents=True, exist_ok=True)  # recreated if deleted under us
            with open(self.root / _LOCKFILE, "a+") as fh:
                deadline = time.monotonic() + self.lock_timeout
                while True:
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise TimeoutError("search index lock busy: %s" % (self.root / _LOCKFILE))
                        time.sleep(0.02)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def _ensure_index(self) -> Path:
        """Return the live index directory, creating an empty index if none."""
        name = self._read_pointer()
        if name and (self.root / name).is_dir():
            return self.root / name
        with self._backend_lock():
            name = self._read_pointer()
            if name and (self.root / name).is_dir():
                return self.root / name
            path = self._new_index_dir()
            self._write_pointer(path.name)
            return path

    # -- reading -----------------------------------------------------------

    def _pointer_stamp(self):
        try:
            st = os.stat(self.root / _POINTER)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _searcher(self):
        """Cached per-thread searcher of the live index, or None if no index."""
        state = self._local
        stamp = self._pointer_stamp()
        if stamp is None:
            return None
        s = getattr(state, "searcher", None)
        if s is None or state.stamp != stamp:
            name = self._read_pointer()
            if s is not None and name == getattr(state, "dirname", None):
                state.stamp = stamp
            else:
                if s is not None:
                    try:
                        s.close()
                    except Exception:
                        pass
                    state.searcher = None
                for _attempt in range(3):
                    name = self._read_pointer()
                    if not name:
                        return None
                    try:
                        ix = index.open_dir(str(self.root / name))
                        s = ix.searcher()
                        break
                    except (FileNotFoundError, index.EmptyIndexError, OSError):
                        time.sleep(0.01)  # swapped/cleaned under us: re-read pointer
                else:
                    return None
                state.searcher = s
                state.ix = ix
                state.dirname = name
                state.stamp = stamp
                with self._states_lock:
                    if state not in self._states:
                        self._states.append(state)
                return s
        # Not ``Searcher.refresh()``: in whoosh-reloaded 2.7.5 its reader reuse
        # (``FileIndex._reader(reuse=...)``, changed for BufferedWriter in
        # whoosh-community/whoosh PR #520, issue #484) keeps the old deletion
        # state of a segment that got deletions, so an updated document shows
        # up twice.  A new searcher costs only the opening of a few segment
        # files; the expensive per-segment data lives in ``self._cache``.
        try:
            if s.up_to_date():
                return s
            fresh = state.ix.searcher()
        except Exception:
            try:
                s.close()
            except Exception:
                pass
            state.searcher = None
            state.stamp = None
            return self._searcher()
        try:
            s.close()
        except Exception:
            pass
        state.searcher = fresh
        self._prune_cache(fresh, state.dirname)
        return fresh

    def _prune_cache(self, searcher, dirname) -> None:
        segids = set()
        for sub, _off in searcher.leaf_searchers():
            segids.add(_SegmentCache._segid(sub.reader()))
        if self._cache_dir != dirname:
            self._cache = self._new_cache()
            self._cache_dir = dirname
        else:
            self._cache.retain(segids)

    def _new_cache(self) -> "_SegmentCache":
        return _SegmentCache(max_postings=self.postings_cache)

    def _views(self, searcher) -> list[_SegmentView]:
        if self._cache_dir != getattr(self._local, "dirname", None):
            self._cache = self._new_cache()
            self._cache_dir = getattr(self._local, "dirname", None)
        cache = self._cache
        return [_SegmentView(sub, off, cache) for sub, off in searcher.leaf_searchers()]

    # -- writing -----------------------------------------------------------

    def _codec(self) -> SearchCodec:
        return SearchCodec(blocklimit=self.blocklimit, compression=self.compression)

    def _rebuild_marker(self) -> Optional[dict]:
        try:
            data = json.loads((self.root / _MARKER).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        pid = int(data.get("pid", 0))
        if pid and pid != os.getpid():
            try:
                os.kill(pid, 0)
            except OSError as exc:
                if exc.errno == errno.ESRCH:  # rebuild process died: stale marker
                    for name in (_MARKER, _JOURNAL):
                        try:
                            os.unlink(self.root / name)
                        except FileNotFoundError:
                            pass
                    return None
        return data

    def _journal(self, op: str, payload) -> None:
        if self._rebuild_marker() is None:
            return
        with open(self.root / _JOURNAL, "ab") as fh:
            pickle.dump((op, payload), fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())

    def _writer(self, ix, **kwargs):
        try:
            return ix.writer(timeout=self.lock_timeout, delay=0.05, codec=self._codec(), **kwargs)
        except LockError as exc:
            raise TimeoutError("search index is locked by another writer: %s" % exc) from exc

    def _apply(self, ix, op: str, payload) -> int:
        writer = self._writer(ix, limitmb=128)
        try:
            n = 0
            if op == "upsert":
                for doc in payload:
                    writer.update_document(**_doc_fields(doc))
                    n += 1
            elif op == "delete":
                for doc_id in payload:
                    writer.delete_by_term("id", doc_id)
                    n += 1
            elif op == "delete_tenant":
                writer.delete_by_term("tenant", fold(payload))
                n = 1
            writer.commit()
            return n
        except BaseException:
            writer.cancel()
            raise

    def _write(self, op: str, payload) -> int:
        path = self._ensure_index()
        with self._backend_lock():
            self._journal(op, payload)
            path = self.root / (self._read_pointer() or path.name)
            return self._apply(index.open_dir(str(path)), op, payload)

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
        return self._write("upsert", docs)

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
        return self._write("delete", ids)

    def delete_tenant(self, tenant: str) -> int:
        """Delete every document of ``tenant`` (before re-indexing one tenant).

        Returns:
            Number of documents that were live for the tenant.
        """
        n = self.count(tenant)
        self._write("delete_tenant", tenant)
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
        total = len(docs) if hasattr(docs, "__len__") else None
        with self._backend_lock():
            newdir = self._new_index_dir()
            (self.root / _MARKER).write_text(
                json.dumps({"dir": newdir.name, "pid": os.getpid(), "started": time.time()}),
                encoding="utf-8",
            )
            try:
                os.unlink(self.root / _JOURNAL)
            except FileNotFoundError:
                pass
        n = 0
        try:
            ix = index.open_dir(str(newdir))
            procs = self.rebuild_procs
            if procs > 1:
                writer = ix.writer(
                    procs=procs, limitmb=self.limitmb, multisegment=True, codec=self._codec()
                )
            else:
                writer = ix.writer(limitmb=self.limitmb, codec=self._codec())
            seen: set = set()
            try:
                for doc in docs:
                    if not isinstance(doc, SearchDocument):
                        raise TypeError("expected SearchDocument, got %r" % (doc,))
                    if doc.id in seen:
                        continue
                    seen.add(doc.id)
                    writer.add_document(**_doc_fields(doc))
                    n += 1
                    if progress and n % 1000 == 0:
                        progress(n, total)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            with self._backend_lock():
                self._replay_journal(ix)
                self._write_pointer(newdir.name)
                for name in (_MARKER, _JOURNAL):
                    try:
                        os.unlink(self.root / name)
                    except FileNotFoundError:
                        pass
        except BaseException:
            with self._backend_lock():
                for name in (_MARKER, _JOURNAL):
                    try:
                        os.unlink(self.root / name)
                    except FileNotFoundError:
                        pass
            shutil.rmtree(newdir, ignore_errors=True)
            raise
        if progress:
            progress(n, total)
        self._cleanup_old(keep={newdir.name})
        return n

    def _replay_journal(self, ix) -> None:
        try:
            fh = open(self.root / _JOURNAL, "rb")
        except FileNotFoundError:
            return
        with fh:
            while True:
                try:
                    op, payload = pickle.load(fh)
                except EOFError:
                    break
                self._apply(ix, op, payload)

    def _cleanup_old(self, keep: set) -> None:
        """Remove index dirs except ``keep`` and the most recent previous one."""
        dirs = sorted(
            (p for p in self.root.iterdir() if p.is_dir() and p.name.startswith(_INDEX_PREFIX)),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        marker = self._rebuild_marker()
        building = marker.get("dir") if marker else None
        previous_kept = False
        for p in dirs:
            if p.name in keep or p.name == building:
                continue
            if not previous_kept:
                previous_kept = True
                continue
            shutil.rmtree(p, ignore_errors=True)

    # -- inventory ---------------------------------------------------------

    def _iter_live(self, tenant: Optional[str] = None):
        """Yield (id, version) of live docs, from columns (no stored fields)."""
        s = self._searcher()
        if s is None:
            return
        tenant_f = fold(tenant) if tenant is not None else None
        for sub, _off in s.leaf_searchers():
            r = sub.reader()
            ids = r.column_reader("id")
            versions = r.column_reader("version")
            if tenant_f is not None:
                docnums = sorted(self._cache.keyword_docs(r, "tenant", tenant_f) & self._cache.live_docs(r))
            else:
                docnums = sorted(self._cache.live_docs(r))
            for d in docnums:
                yield ids[d], versions[d]

    def document_ids_by_tenant(self, tenant: str) -> set[str]:
        """Return the ids of the live documents of ``tenant`` (set of str)."""
        return {i for i, _v in self._iter_live(tenant)}

    def versions(self, tenant: Optional[str] = None) -> dict[str, str]:
        """Return ``{id: version}`` (versions as str) of live documents."""
        return dict(self._iter_live(tenant))

    def count(self, tenant: Optional[str] = None) -> int:
        """Number of live documents, of ``tenant`` if given."""
        s = self._searcher()
        if s is None:
            return 0
        if tenant is None:
            return s.doc_count()
        t = fold(tenant)
        return sum(
            len(self._cache.keyword_docs(sub.reader(), "tenant", t) & self._cache.live_docs(sub.reader()))
            for sub, _off in s.leaf_searchers()
        )

    def canary(self) -> CanaryResult:
        """Open the live index, count documents, run a query and an id lookup.

        Returns:
            :class:`CanaryResult`; ``ok`` is False (never an exception) if the
            index is missing, unreadable or a probe fails.
        """
        t0 = time.perf_counter()
        try:
            s = self._searcher()
            if s is None:
                return CanaryResult(False, 0, 0.0, "no index at %s" % self.root)
            n = s.doc_count()
            res = self.search(SearchQuery(text="", per_page=1, facets=False, highlight=False))
            if n and res.total != n:
                raise RuntimeError("match-all found %d of %d documents" % (res.total, n))
            if res.hits:
                hit = res.hits[0]
                if s.document_number(id=hit.id) is None:
                    raise RuntimeError("id lookup failed for %s" % hit.id)
            ms = (time.perf_counter() - t0) * 1000.0
            return CanaryResult(True, n, ms, str(self.root / self._local.dirname))
        except Exception as exc:  # a health probe reports, it does not raise
            return CanaryResult(False, 0, (time.perf_counter() - t0) * 1000.0, "%s: %s" % (type(exc).__name__, exc))

    def close(self) -> None:
        """Close every cached searcher opened by this backend object."""
        with self._states_lock:
            states, self._states = self._states, []
        for st in states:
            s = getattr(st, "searcher", None)
            if s is not None:
                try:
                    s.close()
                except Exception:
                    pass
                st.searcher = None

    # -- searching ---------------------------------------------------------

    def parse(self, text: str):
        """Parse a user query string; see :func:`parse_user_query`."""
        return parse_user_query(self._parser, text)

    def _filter_query(self, sq: SearchQuery):
        subs = []
        if sq.tenant:
            subs.append(query.Term("tenant", fold(sq.tenant)))

        def any_of(field, values):
            terms = [query.Term(field, v) for v in values]
            return terms[0] if len(terms) == 1 else query.Or(terms)

        if sq.tenants:
            subs.append(any_of("tenant", [fold(t) for t in sq.tenants]))
        if sq.content_types:
            subs.append(any_of("content_type", [fold(t) for t in sq.content_types]))
        if sq.years:
            subs.append(any_of("year", [str(int(y)) for y in sq.years]))
        if sq.statuses:
            subs.append(any_of("status", [fold(t) for t in sq.statuses]))
        return subs

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
        empty = SearchResults(
            total=0, hits=[], facets={f: {} for f in FACET_FIELDS} if sq.facets else {},
            suggestion=None, fallback_message=fallback, page=sq.page, pages=0, per_page=sq.per_page,
        )
        searcher = self._searcher()
        if searcher is None:
            return empty
        if user_q is not None and _is_null(user_q):
            if sq.text.strip():
                empty.suggestion = self._suggest(searcher, sq.text)
            return empty
        filters = self._filter_query(sq)
        match_parts = ([user_q] if user_q is not None else []) + filters
        if not match_parts:
            match_q = query.Every()
        elif len(match_parts) == 1:
            match_q = match_parts[0]
        else:
            match_q = query.And(match_parts)

        views = self._views(searcher)
        per_seg = [(v, v.docs(match_q)) for v in views]
        total = sum(len(d) for _v, d in per_seg)

        facets: dict = {}
        if sq.facets:
            facets = self._facets(per_seg)

        pages = SearchResults.page_count(total, sq.per_page)
        want = sq.page * sq.per_page
        start = (sq.page - 1) * sq.per_page
        ranked: list = []  # (score, global docnum)
        if total and start < total:
            score_terms = self._score_terms(user_q)
            if sq.sort == "date" or not score_terms:
                ranked = self._by_date(per_seg, want)
            else:
                ranked = self._by_relevance(searcher, score_terms, per_seg, want)
        page_items = ranked[start:want]

        terms: list = []
        if user_q is not None:
            _positive_terms(user_q, terms)
        hits = self._hits(searcher, views, page_items, terms, sq.highlight)

        suggestion = None
        if sq.text.strip() and total < self.suggest_below:
            suggestion = self._suggest(searcher, sq.text)
        return SearchResults(
            total=total, hits=hits, facets=facets, suggestion=suggestion,
            fallback_message=fallback, page=sq.page, pages=pages, per_page=sq.per_page,
        )

    def _facets(self, per_seg) -> dict:
        counters = {f: Counter() for f in FACET_FIELDS}
        for view, docs in per_seg:
            if not docs:
                continue
            cols = view.cache.columns(view.reader)
            for f in FACET_FIELDS:
                col = cols[f]
                counters[f].update(map(col.__getitem__, docs))
        out = {}
        for f in FACET_FIELDS:
            c = counters[f]
            if f == "year":
                out[f] = {int(k): v for k, v in sorted(c.items(), key=lambda kv: kv[0] or "", reverse=True) if k}
            else:
                out[f] = {k: v for k, v in c.most_common() if k is not None}
        return out

    def _by_date(self, per_seg, want: int) -> list:
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

    def _score_terms(self, user_q) -> list:
        """``[(field, text, boost)]`` to score: positive words in content and,
        boosted by ``title_boost``, the same words in the title."""
        if user_q is None:
            return []
        terms: list = []
        _positive_terms(user_q, terms)
        out = {}
        for f, t, b in terms:
            if f == "content":
                out[("content", t)] = max(out.get(("content", t), 0.0), b)
                if self.title_boost:
                    out[("title", t)] = max(out.get(("title", t), 0.0), b * self.title_boost)
            elif f == "title":
                out[("title", t)] = max(out.get(("title", t), 0.0), b * max(1.0, self.title_boost))
        return [(f, t, b) for (f, t), b in sorted(out.items())]

    def _by_relevance(self, searcher, score_terms, per_seg, want: int) -> list:
        """Top ``want`` matching documents by BM25F, as ``[(score, docnum)]``.

        Same formula and defaults as Whoosh's ``scoring.BM25F`` (B=0.75,
        K1=1.2, ``idf = log(N / (df + 1)) + 1``, Whoosh's 1-byte field
        lengths), summed over the query words in ``content`` plus the words
        in ``title`` times ``title_boost``.  Computed here from the posting
        blocks already read to find the matching set, for the matching
        documents only: Whoosh's collector walks the query matchers document
        by document in Python, several times slower on common words.
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
            for field, text, boost in score_terms:
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
                for d, w in zip(ids, weights):
                    if d in docs:
                        scores[d] = get(d, 0.0) + k * w / (w + c0 + c1 * lengths[d])
            off = view.offset
            top = heapq.nlargest(want, scores.items(), key=lambda kv: (kv[1], -kv[0]))
            heap.extend((sc, -(d + off)) for d, sc in top)
            if len(scores) < len(docs):
                unscored.append((view, set(docs) - scores.keys()))
        heap.sort(reverse=True)
        ranked = [(sc, -neg) for sc, neg in heap[:want]]
        if len(ranked) < want and unscored:
            ranked.extend(self._by_date(unscored, want - len(ranked)))
        return ranked

    def _hits(self, searcher, views, items, terms, do_highlight: bool) -> list[SearchHit]:
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
                        m.skip_to(local)
                        if m.is_active() and m.id() == local:
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
                snippet = make_snippet(body, spans, self.snippet_fragments)
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

    def _suggest(self, searcher, text: str) -> Optional[str]:
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

        Returns:
            The corrected query string, or None when nothing changes.
        """
        try:
            reader = searcher.reader()
            out = text
            changed = False
            for raw in _plain_words(text):
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
                word = self._surface_form(searcher, best)
                if not word or damerau(w, fold(word)) > 3:
                    continue
                out = re.sub(r"(?<!\w)%s(?!\w)" % re.escape(raw), word, out, count=1)
                changed = True
            return out if changed else None
        except Exception:
            return None

    def _surface_form(self, searcher, stem: str) -> Optional[str]:
        """A word as written in a document whose analyzed form is ``stem``."""
        try:
            m = searcher.postings("content", stem)
            if not m.is_active():
                return None
            stored = searcher.stored_fields(m.id())
        except Exception:
            return None
        text = _content_text(stored.get("body") or "", stored.get("title") or "", stored.get("keywords") or ())
        analyzer = self.schema["content"].analyzer
        forms: Counter = Counter()
        for t in analyzer(text, chars=True, mode="index"):
            if t.text == stem:
                forms[text[t.startchar : t.endchar].lower()] += 1
        return forms.most_common(1)[0][0] if forms else None
