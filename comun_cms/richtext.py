"""Rich text: Markdown (CommonMark via markdown-it-py) rendered to HTML and sanitized with nh3.

Raw HTML in the source is escaped by markdown-it (``html=False``) and the output is cleaned again
with nh3's allow-list, so user content can never inject scripts or styles.
"""
from __future__ import annotations

import html as _html
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {"p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre", "blockquote",
                "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "img", "del", "ins"}
ALLOWED_ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"},
                 "ol": {"start"}}


def render_markdown(text: str) -> Markup:
    """Render Markdown ``text`` to sanitized HTML (safe to insert in a template).

    Headings are shifted down one level (``#`` becomes ``<h2>``) so a page keeps one ``<h1>``.
    Links get ``rel="noopener noreferrer nofollow"``; only http(s), mailto and relative URLs stay.
    """
    html = _md.render(text or "")
    html = re.sub(r"<(/?)h([1-5])>", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}>", html)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRS, url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return Markup(clean)


def plain_text(text: str) -> str:
    """Return the visible text of Markdown ``text`` (for search and summaries), whitespace collapsed."""
    html = _md.render(text or "")
    stripped = nh3.clean(html, tags=set())
    return re.sub(r"\s+", " ", _html.unescape(stripped)).strip()
