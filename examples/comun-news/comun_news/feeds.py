"""RSS 2.0 and Atom (RFC 4287) feeds of a tenant's published communiqués.

Sources: RSS 2.0 specification (https://www.rssboard.org/rss-specification), RFC 4287 (The Atom
Syndication Format), RFC 822/5322 dates for RSS (``email.utils.format_datetime``) and RFC 3339
dates for Atom.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import xml.etree.ElementTree as ET
from typing import Sequence

from comun_news.models import NewsItem

ATOM_NS = "http://www.w3.org/2005/Atom"


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: ET.Element, tag: str, text: str, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    element.text = text
    return element


def rss(items: Sequence[NewsItem], *, title: str, link: str, self_url: str, description: str,
        language: str, item_url) -> bytes:
    """Return an RSS 2.0 document (UTF-8 bytes).

    Args:
        items: published communiqués, newest first.
        title / description: channel title and description.
        link: absolute URL of the HTML list; ``self_url`` absolute URL of this feed.
        language: RFC 5646 tag (``es-MX``).
        item_url: ``item -> absolute URL``.
    """
    ET.register_namespace("atom", ATOM_NS)
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")
    _text(channel, "title", title)
    _text(channel, "link", link)
    _text(channel, "description", description)
    _text(channel, "language", language.lower())
    ET.SubElement(channel, f"{{{ATOM_NS}}}link", {"href": self_url, "rel": "self", "type": "application/rss+xml"})
    if items:
        _text(channel, "lastBuildDate", email.utils.format_datetime(items[0].published_at.astimezone(dt.timezone.utc)))
    for item in items:
        url = item_url(item)
        entry = ET.SubElement(channel, "item")
        _text(entry, "title", item.title)
        _text(entry, "link", url)
        _text(entry, "guid", url, isPermaLink="true")
        _text(entry, "pubDate", email.utils.format_datetime(item.published_at.astimezone(dt.timezone.utc)))
        _text(entry, "description", item.summary or item.title)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def atom(items: Sequence[NewsItem], *, title: str, link: str, self_url: str, author: str, item_url) -> bytes:
    """Return an Atom 1.0 feed (UTF-8 bytes); same arguments as :func:`rss` plus ``author`` (the
    secretariat's name). Entry ids are the items' permanent URLs."""
    ET.register_namespace("", ATOM_NS)
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    _text(root, f"{{{ATOM_NS}}}title", title)
    _text(root, f"{{{ATOM_NS}}}id", self_url)
    updated = items[0].published_at if items else dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    _text(root, f"{{{ATOM_NS}}}updated", _rfc3339(updated))
    ET.SubElement(root, f"{{{ATOM_NS}}}link", {"rel": "self", "href": self_url, "type": "application/atom+xml"})
    ET.SubElement(root, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": link, "type": "text/html"})
    author_el = ET.SubElement(root, f"{{{ATOM_NS}}}author")
    _text(author_el, f"{{{ATOM_NS}}}name", author)
    for item in items:
        url = item_url(item)
        entry = ET.SubElement(root, f"{{{ATOM_NS}}}entry")
        _text(entry, f"{{{ATOM_NS}}}title", item.title)
        _text(entry, f"{{{ATOM_NS}}}id", url)
        ET.SubElement(entry, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": url})
        _text(entry, f"{{{ATOM_NS}}}published", _rfc3339(item.first_published_at or item.published_at))
        _text(entry, f"{{{ATOM_NS}}}updated", _rfc3339(item.published_at))
        _text(entry, f"{{{ATOM_NS}}}summary", item.summary or item.title)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
