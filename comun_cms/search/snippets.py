"""Backend-neutral snippet building: escaped text with ``<mark>`` around matches.

Both backends hand over the body text and the character spans of the matched
words; fragments are chosen with Whoosh's ``PinpointFragmenter`` (a
non-re-tokenizing fragmenter that cuts around the given spans) and scored
with ``BasicFragmentScorer`` (more distinct matched words first).  Every piece
of document text is HTML-escaped, so the result is safe to insert as markup.

Source: Whoosh highlighting docs,
https://whoosh.readthedocs.io/en/latest/highlight.html
"""

from __future__ import annotations

import html
from typing import Iterable

from whoosh import highlight
from whoosh.analysis import Token

__all__ = ["lead_snippet", "make_snippet", "MarkFormatter"]


class MarkFormatter(highlight.Formatter):
    """Whoosh formatter: HTML-escaped text, matches in ``<mark>``, ``…`` at cuts."""

    between = " … "

    def _text(self, text):
        return html.escape(text, quote=False)

    def format_token(self, text, token, replace=False):
        """``<mark>escaped match</mark>``."""
        return "<mark>%s</mark>" % html.escape(text[token.startchar : token.endchar], quote=False)

    def format_fragment(self, fragment, replace=False):
        """One fragment, with ``…`` where the body text was cut."""
        out = super().format_fragment(fragment, replace)
        if fragment.startchar > 0:
            out = "…" + out
        if fragment.endchar < len(fragment.text):
            out = out + "…"
        return out

    def format(self, fragments, replace=False):
        """Fragments joined by a space."""
        return " ".join(self.format_fragment(f, replace=replace) for f in fragments)


_FRAGMENTER = highlight.PinpointFragmenter(maxchars=200, surround=60, autotrim=True, charlimit=None)
_FORMATTER = MarkFormatter()
_SCORER = highlight.BasicFragmentScorer()


def lead_snippet(body: str, maxchars: int = 240) -> str:
    """The beginning of ``body`` (about ``maxchars`` characters), escaped.

    Args:
        body: plain text.
        maxchars: soft limit; the cut is made at a space when possible.

    Returns:
        HTML-escaped text, ending in ``…`` when cut.
    """
    if len(body) <= maxchars:
        return html.escape(body, quote=False)
    cut = body.rfind(" ", 0, maxchars)
    cut = cut if cut > maxchars // 2 else maxchars
    return html.escape(body[:cut], quote=False) + "…"


def make_snippet(body: str, spans: Iterable[tuple], fragments: int = 2) -> str:
    """Build a highlighted snippet.

    Args:
        body: the document body (plain text).
        spans: ``(term, position, startchar, endchar)`` tuples of matched
            words; spans outside ``body`` are ignored.  Overlapping spans
            (a whole code and its parts) are fine: the longest wins.
        fragments: maximum number of fragments (joined by a space).

    Returns:
        Safe HTML (escaped text and ``<mark>`` elements); the lead of the body
        when no span falls inside it.
    """
    blen = len(body)
    tokens = [
        Token(startchar=sc, endchar=ec, pos=pos, text=term)
        for term, pos, sc, ec in spans
        if sc is not None and ec is not None and 0 <= sc < ec <= blen
    ]
    if not tokens:
        return lead_snippet(body)
    tokens.sort(key=lambda t: (t.startchar, -(t.endchar - t.startchar)))
    frags = list(_FRAGMENTER.fragment_matches(body, tokens))
    frags = highlight.top_fragments(frags, fragments, _SCORER, highlight.FIRST, minscore=1)
    if not frags:
        return lead_snippet(body)
    return _FORMATTER.format(frags)
