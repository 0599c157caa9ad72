"""Spanish text analysis for the search index.

This module is imported by Whoosh when it unpickles an index schema, so every
tokenizer and filter used in the schema is a top-level class here and this
module must stay importable without a Flask app (no app imports).

Pipeline (see :func:`spanish_analyzer`)::

    SpanishTokenizer  ->  SpanishFilter (fold, stop words, positions, stem)

1. :class:`SpanishTokenizer` splits text into words and keeps *codes* as
   written: ``MXMEX0009``, ``STL-MEX/ORD19/2023/01``, ``16.6``.  A code made of
   several parts joined by ``-``, ``/``, ``.`` or ``_`` is emitted whole
   (index mode only) and then part by part, so both ``STL-MEX/ORD19/2023/01``
   and ``ORD19`` find the document.
2. :class:`SpanishFilter` folds case and accents (``Núm.`` -> ``num``,
   ``corrupción`` -> ``corrupcion``), removes Spanish stop words and numbers
   positions (stop words do not consume a position, as with Whoosh's
   ``StopFilter(renumber=True)``); then it puts the accent back on ``-cion``/``-sion``
   (and ``-xion``, ``-logia``) endings, stems with the Snowball Spanish
   stemmer that ships with Whoosh (``whoosh.lang.snowball.spanish``), then
   folds accents again.  Because accents are folded *before* stemming,
   accented and unaccented spellings of a word always reach the stemmer as
   the same string, so ``corrupcion`` = ``corrupción`` and ``informacion`` =
   ``información`` = ``informaciones`` by construction.

Why: the stock ``whoosh.analysis.LanguageAnalyzer("es")`` stems the *accented*
form (Snowball's step 1 knows ``ación`` and ``ución`` but not ``acion``), so a
query typed without accents misses many documents.

Sources:
- Snowball Spanish stemmer: https://snowballstem.org/algorithms/spanish/stemmer.html
- Whoosh analysis API: https://whoosh.readthedocs.io/en/latest/analysis.html
  (tokens are reused objects; ``mode`` is ``"index"`` or ``"query"``;
  ``removestops=False`` keeps stop words flagged ``stopped`` for highlighting)
- Spanish stop words: Whoosh's ``whoosh.lang.stopwords.stoplists["es"]`` (the
  Snowball list), folded, minus a few content words listed in
  :data:`KEPT_WORDS`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from whoosh.analysis import Filter, IDTokenizer, Token, Tokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.lang.snowball.spanish import SpanishStemmer
from whoosh.lang.stopwords import stoplists

__all__ = [
    "CODE_SEPARATORS",
    "FoldFilter",
    "KEPT_WORDS",
    "SPANISH_STOP_WORDS",
    "SpanishFilter",
    "SpanishTokenizer",
    "analyze",
    "compound_terms",
    "fold",
    "keyword_analyzer",
    "spanish_analyzer",
    "stem_word",
]

#: Characters that join the parts of a code (``STL-MEX/ORD19/2023/01``,
#: ``16.6``, ``art_5``).  A run of word characters joined by exactly one of
#: these is kept as one compound token.
CODE_SEPARATORS = "-/._"

# A word is a run of letters/digits; a compound is words joined by single
# separators.  ``[^\W_]`` is "word character except underscore".
_COMPOUND_RE = re.compile(r"[^\W_]+(?:[-/._][^\W_]+)*")
# Parts of a compound: runs of letters or runs of digits (``ORD19`` -> ``ord``,
# ``19``; ``MXMEX0009`` -> ``mxmex``, ``0009``).
_PART_RE = re.compile(r"[^\W\d_]+|\d+")
_HAS_DIGIT_RE = re.compile(r"\d")

# Fast accent/case folding for the Latin-1 and Latin Extended-A letters that
# Spanish text uses; anything else falls back to Unicode NFKD decomposition.
_FOLD_TABLE = {
    ord(src): dst
    for srcs, dst in (
        ("àáâãäåāăą", "a"),
        ("ÀÁÂÃÄÅĀĂĄ", "a"),
        ("çćĉċč", "c"),
        ("ÇĆĈĊČ", "c"),
        ("èéêëēĕėęě", "e"),
        ("ÈÉÊËĒĔĖĘĚ", "e"),
        ("ìíîïĩīĭįı", "i"),
        ("ÌÍÎÏĨĪĬĮİ", "i"),
        ("ñńņňŉ", "n"),
        ("ÑŃŅŇ", "n"),
        ("òóôõöøōŏő", "o"),
        ("ÒÓÔÕÖØŌŎŐ", "o"),
        ("ùúûüũūŭůűų", "u"),
        ("ÙÚÛÜŨŪŬŮŰŲ", "u"),
        ("ýÿ", "y"),
        ("ÝŸ", "y"),
        ("ª", "a"),
        ("º", "o"),
    )
    for src in srcs
}


def fold(text: str) -> str:
    """Fold case and accents: ``"Núm."`` -> ``"núm."`` -> ``"num."``.

    Args:
        text: any Unicode string.

    Returns:
        The lowercased string with diacritics removed (``á``->``a``,
        ``ñ``->``n``, ``ü``->``u``, ``º``->``o``).  Characters outside the
        fast table are decomposed with NFKD and their combining marks dropped.

    Raises:
        Nothing.
    """
    out = text.lower().translate(_FOLD_TABLE)
    if out.isascii():
        return out
    decomposed = unicodedata.normalize("NFKD", out)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


#: Words of the Snowball/Whoosh Spanish stop list that are content words in a
#: government CMS ("Estado de México", "en sentido estricto") and stay indexed.
KEPT_WORDS = frozenset(
    {"estado", "estados", "estada", "estadas", "sentido", "sentidos", "sentida", "sentidas"}
)

#: Folded Spanish stop words (Whoosh ``stoplists["es"]`` = Snowball list).
SPANISH_STOP_WORDS = frozenset(fold(w) for w in stoplists["es"]) - KEPT_WORDS

_STEMMER = SpanishStemmer()

# Accent restoration before stemming: (folded ending, ending Snowball knows).
# Only singular forms need it: the plural ``-ciones`` has no accent in
# Spanish and Snowball's ``aciones``/``uciones``/``iones`` rules already match.
# A stray accent on a plural (``informaciónes``) is removed by folding first.
_RESTORE = (
    ("cion", "ción"),
    ("sion", "sión"),
    ("xion", "xión"),
    ("logia", "logía"),
    ("logias", "logías"),
)


@lru_cache(maxsize=200_000)
def stem_word(folded: str) -> str:
    """Stem one folded Spanish word, accent-insensitively.

    Steps: restore the accent on ``-cion``/``-sion``/``-xion``/``-logia(s)``
    endings, run the Snowball Spanish stemmer
    (``whoosh.lang.snowball.spanish.SpanishStemmer``), fold accents again.

    Args:
        folded: a lowercase, accent-folded word (output of :func:`fold`).

    Returns:
        The stem, lowercase ASCII for Spanish input, e.g. ``"informacion"``
        -> ``"inform"``, ``"compromisos"`` -> ``"compromis"``.  Words that
        contain a digit are returned unchanged.

    Raises:
        Nothing.  Results are cached (LRU, 200,000 words).
    """
    if _HAS_DIGIT_RE.search(folded):
        return folded
    word = folded
    for plain, accented in _RESTORE:
        if len(word) > len(plain) + 1 and word.endswith(plain):
            word = word[: -len(plain)] + accented
            break
    return fold(_STEMMER.stem(word))


def _is_compound(text: str) -> bool:
    """True if ``text`` (one tokenizer match) has more than one part."""
    if not text.isalnum():
        return True
    return not (text.isalpha() or text.isdigit())


class SpanishTokenizer(Tokenizer):
    """Split text into words and codes, with character offsets.

    For each match of ``[^\\W_]+([-/._][^\\W_]+)*``:

    - a plain word (``transparencia``, ``2023``) -> one token;
    - a compound (``STL-MEX/ORD19/2023/01``, ``16.6``, ``MXMEX0009``: parts
      are runs of letters or of digits) -> in ``mode="index"`` the whole
      compound first (attribute ``compound=True``) and then each part
      (``part=True``); in ``mode="query"`` only the parts, so a query word
      becomes a phrase of parts that also matches partial codes
      (``STL-MEX``).  The query parser adds the whole term separately, see
      :func:`compound_terms`.

    Tokens carry ``startchar``/``endchar`` (character offsets into ``value``)
    when ``chars=True``.  Positions are provisional here; the final ones are
    assigned by :class:`SpanishFilter`.  Extra keyword arguments (Whoosh
    passes ``nomorph=True`` for spelling fields) are copied onto the token.

    Call signature is Whoosh's tokenizer protocol:
    ``tokenizer(value: str, positions=False, chars=False, keeporiginal=False,
    removestops=True, start_pos=0, start_char=0, mode="", **kwargs)`` ->
    iterator of one reused :class:`whoosh.analysis.Token` (Whoosh's
    convention: consumers must copy attributes, not keep the object).

    Raises:
        TypeError: if ``value`` is not a ``str``.
    """

    def __eq__(self, other):
        return other is not None and self.__class__ is other.__class__

    def __hash__(self):
        return hash(self.__class__.__name__)

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        mode="",
        **kwargs,
    ):
        if not isinstance(value, str):
            raise TypeError("%r is not a str" % (value,))
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.compound = False
        t.part = False
        t.pos = start_pos
        query_mode = mode == "query"
        for match in _COMPOUND_RE.finditer(value):
            text = match.group()
            if text.isalpha() or text.isdigit():
                # Fast path: a plain word (by far the most common case).
                t.text = text
                if keeporiginal:
                    t.original = text
                if chars:
                    t.startchar = start_char + match.start()
                    t.endchar = start_char + match.end()
                yield t
                continue
            start = match.start()
            if not query_mode:
                t.text = text
                t.compound = True
                if keeporiginal:
                    t.original = text
                if chars:
                    t.startchar = start_char + start
                    t.endchar = start_char + match.end()
                yield t
            t.compound = False
            t.part = True
            for part in _PART_RE.finditer(text):
                t.text = part.group()
                if keeporiginal:
                    t.original = t.text
                if chars:
                    t.startchar = start_char + start + part.start()
                    t.endchar = start_char + start + part.end()
                yield t
            t.part = False


# Word cache for SpanishFilter: raw token text -> (folded, stem).
_WORD_CACHE: dict = {}
_WORD_CACHE_MAX = 400_000


def _fold_and_stem(text: str):
    entry = _WORD_CACHE.get(text)
    if entry is None:
        folded = fold(text)
        entry = (folded, stem_word(folded))
        if len(_WORD_CACHE) >= _WORD_CACHE_MAX:
            _WORD_CACHE.clear()
        _WORD_CACHE[text] = entry
    return entry


class SpanishFilter(Filter):
    """Fold, drop stop words, number positions and stem, in one pass.

    For each token from :class:`SpanishTokenizer`:

    - ``text`` is folded (:func:`fold`: ``Núm`` -> ``num``);
    - plain words in the stop list are removed, or kept with
      ``stopped=True`` when the token's ``removestops`` is False (Whoosh
      does that when re-tokenizing for highlighting); parts of codes are never
      stopped (``A-1`` keeps ``a``);
    - positions: kept words and code parts get consecutive positions (stop
      words take none, like ``StopFilter(renumber=True)``); a whole code shares
      the position of its first part, so the phrase ``"acta STL-MEX"``
      matches ``acta STL-MEX/ORD19``;
    - words and code parts are stemmed with :func:`stem_word` (Snowball
      Spanish with the accent fix); whole codes are not, and neither are
      tokens whose ``nomorph`` attribute is true (Whoosh's spelling fields).

    One fused filter (with a word cache) instead of four chained ones keeps
    indexing fast: per-token generator hops dominate pure-Python analysis.

    Args:
        stoplist: iterable of folded stop words; default
            :data:`SPANISH_STOP_WORDS`.
        stem: False to only fold and stop (no stemming).
    """

    is_morph = True

    def __init__(self, stoplist=None, stem=True):
        self.stops = SPANISH_STOP_WORDS if stoplist is None else frozenset(stoplist)
        self.stem = bool(stem)

    def __eq__(self, other):
        return (
            other is not None
            and self.__class__ is other.__class__
            and self.stops == other.stops
            and self.stem == other.stem
        )

    def __hash__(self):
        return hash(self.__class__.__name__)

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("stem", True)

    def __call__(self, tokens):
        stops = self.stops
        stem = self.stem
        pos = None
        for t in tokens:
            folded, stemmed = _fold_and_stem(t.text)
            compound = t.compound
            if folded in stops and not compound and not t.part:
                if t.removestops:
                    continue
                t.text = folded
                t.stopped = True
                yield t
                t.stopped = False
                continue
            if t.positions:
                if pos is None:
                    pos = t.pos
                t.pos = pos
                if not compound:
                    pos += 1
            if compound or not stem or getattr(t, "nomorph", False):
                t.text = folded
            else:
                t.text = stemmed
            yield t


class FoldFilter(Filter):
    """Fold case and accents of every token with :func:`fold` (nothing else).

    Used for keyword fields (tenant, content type, status): ``tipo:Noticia``
    equals ``tipo:noticia``.  Input/output: iterator of Whoosh tokens.
    """

    def __eq__(self, other):
        return other is not None and self.__class__ is other.__class__

    def __hash__(self):
        return hash(self.__class__.__name__)

    def __call__(self, tokens):
        for t in tokens:
            t.text = fold(t.text)
            yield t


def keyword_analyzer() -> CompositeAnalyzer:
    """Analyzer for single-value keyword fields: the whole value, folded.

    Returns:
        ``IDTokenizer() | FoldFilter()`` (picklable).
    """
    return IDTokenizer() | FoldFilter()


def spanish_analyzer(stoplist=None) -> CompositeAnalyzer:
    """Build the Spanish analyzer used by the index schema.

    Args:
        stoplist: optional iterable of folded stop words (default
            :data:`SPANISH_STOP_WORDS`).

    Returns:
        ``SpanishTokenizer() | SpanishFilter()``, a picklable
        :class:`whoosh.analysis.CompositeAnalyzer`.
    """
    return SpanishTokenizer() | SpanishFilter(stoplist)


_DEFAULT_ANALYZER = spanish_analyzer()


def analyze(text: str, mode: str = "index", stem: bool = True) -> list[str]:
    """Return the index terms for ``text`` (convenience for tests and tools).

    Args:
        text: the text to analyze.
        mode: ``"index"`` (whole codes + parts) or ``"query"`` (parts only).
        stem: False to get folded words without stemming (spelling form).

    Returns:
        List of term strings in token order, e.g.
        ``analyze("Informaciones públicas")`` -> ``["inform", "public"]``.
    """
    return [
        t.text
        for t in _DEFAULT_ANALYZER(text, mode=mode, positions=True, nomorph=not stem)
    ]


def compound_terms(text: str) -> list[str]:
    """Return the folded whole-code terms of ``text`` (index form).

    Args:
        text: a query word such as ``"STL-MEX/ORD19/2023/01,"``.

    Returns:
        The whole compound tokens, folded, e.g. ``["stl-mex/ord19/2023/01"]``;
        empty if the text has no compound.  Used by the query parser to add an
        exact-code term next to the phrase of parts.
    """
    return [
        fold(m.group()) for m in _COMPOUND_RE.finditer(text) if _is_compound(m.group())
    ]
