"""The search query language: what a user types, turned into a Whoosh query.

Concern: parsing the user's query string -- words, phrases, operators, field
filters in Spanish, codes -- and the fallback when the syntax is bad; also
the filter terms of a :class:`~comun_cms.search.backend.SearchQuery`.  Both
backends use it: :class:`~comun_cms.search.whoosh_backend.WhooshBackend`
evaluates the resulting query on its segments
(:mod:`comun_cms.search.whoosh_engine`) and
:class:`~comun_cms.search.sqlite_fts.SQLiteFTSBackend` translates it to FTS5.

Query language (all words required by default)::

    corrupción municipio          both words (accents and case do not matter)
    "plan de acción"              phrase
    ley OR reglamento             either (also ``O``); ``AND``/``Y``; ``NOT``
    corrupción -municipio         exclusion
    titulo:informe                field prefixes in Spanish: titulo/título,
    tipo:news estado:published    tipo (content_type), estado (status),
    anio:2023 año:[2019 TO 2021]  anio/año (year), entidad (tenant)
    STL-MEX/ORD19/2023/01 16.6    codes, searched as written

:func:`parse_user_query` never raises: a query with bad syntax (unbalanced
quotes or parentheses, a lone ``-``, an empty ``titulo:``, a dangling
operator, control characters, too long) is searched as its plain words and
flagged with :data:`~comun_cms.search.backend.FALLBACK_MESSAGE`.

Sources: Whoosh docs -- the query parser and its plugins
(https://whoosh.readthedocs.io/en/latest/parsing.html), the default query
language it extends (https://whoosh.readthedocs.io/en/latest/querylang.html).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

from whoosh import qparser, query
from whoosh.qparser import syntax
from whoosh.query.wrappers import WrappingQuery

from comun_cms.search.analysis import compound_terms, fold
from comun_cms.search.backend import FALLBACK_MESSAGE, SearchQuery
from comun_cms.search.whoosh_schema import KEYWORD_FIELDS, TEXT_FIELDS

__all__ = [
    "FIELD_ALIASES",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "SpanishQueryParser",
    "filter_queries",
    "is_null",
    "make_parser",
    "parse_user_query",
    "plain_query",
    "plain_words",
    "positive_terms",
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

# Query syntax problems detected before parsing (Whoosh's parser is lenient
# and silently produces odd queries for them).
_LONE_SIGN_RE = re.compile(r"(^|\s)[-+]+(?=\s|$)")
_EMPTY_FIELD_RE = re.compile(r"(^|[\s(])[^\W\d_][\w]*:(?=\s|$|\))")
_OPERATORS = {"AND", "OR", "NOT", "Y", "O", "ANDNOT", "ANDMAYBE"}
_WORD_RE = re.compile(r"[^\W_]+(?:[-/._][^\W_]+)*")
_FIELD_PREFIX_RE = re.compile(r"(^|(?<=[\s(\-]))[^\W\d_][\w]*:")


class SpanishQueryParser(qparser.QueryParser):
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
        if fieldname in TEXT_FIELDS and termclass is query.Term and self.schema:
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


def make_parser(schema) -> SpanishQueryParser:
    """Query parser for the Spanish query language (see module doc).

    Args:
        schema: the index schema (:func:`~comun_cms.search.whoosh_schema.make_schema`);
            ``content`` is the default field.

    Returns:
        A :class:`SpanishQueryParser` with fields, phrases, ranges, groups,
        Spanish and English operators, boosts and :data:`FIELD_ALIASES`.
    """
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
    return SpanishQueryParser("content", schema, plugins=plugins, group=syntax.AndGroup)


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


def plain_words(text: str) -> list[str]:
    """Words of ``text`` with syntax removed (fallback search, suggestions).

    Args:
        text: any string.

    Returns:
        At most :data:`MAX_QUERY_WORDS` words (codes kept whole), without
        operators, field prefixes or control characters.
    """
    cleaned = "".join(
        " " if unicodedata.category(ch).startswith("C") else ch for ch in text[: MAX_QUERY_CHARS * 4]
    )
    cleaned = _FIELD_PREFIX_RE.sub(" ", cleaned)
    words = [w for w in _WORD_RE.findall(cleaned) if w not in _OPERATORS]
    return words[:MAX_QUERY_WORDS]


def is_null(q) -> bool:
    """True if ``q`` matches nothing: None or Whoosh's ``NullQuery``."""
    return q is None or q is query.NullQuery or isinstance(q, query.qcore._NullQuery)


def positive_terms(q, out: list) -> None:
    """Append ``(fieldname, text, boost)`` of terms not under a NOT to ``out``.

    These are the words to score and highlight; phrases contribute each word.

    Args:
        q: a Whoosh query.
        out: list extended in place.
    """
    if isinstance(q, query.Not):
        return
    if isinstance(q, query.AndNot):
        positive_terms(q.a, out)
        return
    if isinstance(q, query.Term):
        out.append((q.fieldname, q.text, q.boost))
        return
    if isinstance(q, query.Phrase):
        out.extend((q.fieldname, w, q.boost) for w in q.words)
        return
    if isinstance(q, query.compound.CompoundQuery):
        for sub in q.subqueries:
            positive_terms(sub, out)
        return
    if isinstance(q, WrappingQuery):
        positive_terms(q.child, out)


def _normalize_keyword_terms(q):
    """Fold values of keyword-field terms (``tipo:Noticia`` -> ``noticia``)."""
    if isinstance(q, query.Term) and q.fieldname in KEYWORD_FIELDS:
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
    for w in plain_words(text):
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
            if not is_null(q):
                return q, None
            if _WORD_RE.search(text):
                # Only stop words ("de la"): valid, matches nothing.
                return query.NullQuery, None
            problem = "no words"  # "*", '""', "((((": syntax only
    return plain_query(parser, text), FALLBACK_MESSAGE


def filter_queries(sq: SearchQuery) -> list:
    """Whoosh term queries for the filters of ``sq`` (tenant, types, years, statuses).

    Args:
        sq: the search request.

    Returns:
        A list of queries, all of which a document must match (empty when
        ``sq`` has no filter); values are folded like the indexed keywords.
    """
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
