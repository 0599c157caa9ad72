"""Spanish analyzer: accent/case folding, stemming fix, codes, stop words."""

import importlib.metadata as md
import pickle
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.lang.snowball.spanish import SpanishStemmer

from comun_cms.search.analysis import (
    SPANISH_STOP_WORDS,
    analyze,
    compound_terms,
    fold,
    spanish_analyzer,
    stem_word,
)


def terms(text, mode="index"):
    return analyze(text, mode=mode)


@pytest.mark.parametrize(
    "a, b",
    [
        ("informacion", "información"),
        ("información", "informaciones"),
        ("informacion", "informaciones"),
        ("corrupcion", "corrupción"),
        ("Corrupción", "CORRUPCION"),
        ("compromisos", "compromiso"),
        ("sesion", "sesiones"),
        ("sesión", "sesion"),
        ("decisión", "decisiones"),
        ("metodologia", "metodología"),
        ("Núm.", "num"),
        ("año", "ano"),
        ("municipios", "municipio"),
        ("acuerdos", "acuerdo"),
        ("transparencia", "Transparencia"),
        ("publicación", "publicacion"),
        ("participación", "participacion"),
    ],
)
def test_equivalent_forms_share_terms(a, b):
    assert terms(a) == terms(b)
    assert terms(a), a


def test_stock_snowball_misses_unaccented_form_but_ours_does_not():
    # The reason for the accent fix: Snowball knows "ación", not "acion".
    s = SpanishStemmer()
    assert s.stem("informacion") != s.stem("información")
    assert stem_word(fold("informacion")) == stem_word(fold("información")) == "inform"
    assert stem_word(fold("informaciones")) == "inform"


def test_fold():
    assert fold("Núm.") == "num."
    assert fold("ÁÉÍÓÚÜÑ áéíóúüñ") == "aeiouun aeiouun"
    assert fold("5º") == "5o"
    assert fold("Ǆ") == "dz"  # NFKD fallback for letters outside the fast table


def test_num_abbreviation():
    assert terms("Núm.") == ["num"]
    assert terms("núm") == ["num"]


def test_stop_words_removed_but_estado_kept():
    assert terms("de la que el en y a los") == []
    assert "estad" in terms("el Estado de México")
    assert "estado" not in SPANISH_STOP_WORDS
    assert "de" in SPANISH_STOP_WORDS
    assert "mas" in SPANISH_STOP_WORDS  # folded form of "más"


@pytest.mark.parametrize(
    "code, whole, parts",
    [
        ("MXMEX0009", "mxmex0009", ["mxmex", "0009"]),
        ("STL-MEX/ORD19/2023/01", "stl-mex/ord19/2023/01", ["stl", "mex", "ord", "19", "2023", "01"]),
        ("16.6", "16.6", ["16", "6"]),
    ],
)
def test_codes_whole_and_parts(code, whole, parts):
    index_terms = terms(code)
    assert index_terms[0] == whole
    assert index_terms[1:] == parts
    # Query mode: only the parts (the parser adds the whole term itself).
    assert terms(code, mode="query") == parts
    assert compound_terms(code + ",") == [whole]


def test_plain_words_are_not_compounds():
    assert compound_terms("transparencia 2023") == []


def test_positions_and_offsets():
    text = "Acta STL-MEX/ORD19 de la sesión"
    toks = [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in spanish_analyzer()(text, positions=True, chars=True)
    ]
    assert toks[0] == ("acta", 0, 0, 4)
    # whole code shares the position of its first part
    assert toks[1][:2] == ("stl-mex/ord19", 1)
    assert toks[2][:2] == ("stl", 1)
    assert [t[0] for t in toks[2:6]] == ["stl", "mex", "ord", "19"]
    assert [t[1] for t in toks[2:6]] == [1, 2, 3, 4]
    # stop words take no position
    assert toks[-1][:2] == ("sesion", 5)
    for word, _pos, start, end in toks:
        assert fold(text[start:end]).startswith(word[:3])


def test_removestops_false_keeps_stopped_tokens_flagged():
    toks = [(t.text, t.stopped) for t in spanish_analyzer()("la ley", removestops=False)]
    assert toks == [("la", True), ("ley", False)]


def test_analyzer_pickles():
    a = spanish_analyzer()
    b = pickle.loads(pickle.dumps(a))
    assert a == b
    assert [t.text for t in b("Informaciones públicas")] == ["inform", "public"]


def _strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijlmnopqrstuvxyzáéíóúüñ", min_size=1, max_size=14))
def test_accents_never_matter(word):
    assert terms(word) == terms(_strip_accents(word))
    assert terms(word) == terms(word.upper())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_analyzes_with_valid_offsets(text):
    for t in spanish_analyzer()(text, positions=True, chars=True, mode="index"):
        assert 0 <= t.startchar <= t.endchar <= len(text)
        assert t.text
    list(spanish_analyzer()(text, mode="query"))


def test_only_whoosh_reloaded_provides_the_whoosh_module():
    """whoosh-reloaded and the old Whoosh distribution both install the module `whoosh`; only the
    maintained fork, pinned, may be installed."""
    names = {(dist.metadata["Name"] or "").lower() for dist in md.distributions()}
    assert "whoosh-reloaded" in names
    assert md.version("whoosh-reloaded") == "2.7.5"
    assert "whoosh" not in names, "the unmaintained 'Whoosh' distribution is installed beside whoosh-reloaded"
