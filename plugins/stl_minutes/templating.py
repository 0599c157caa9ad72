"""Template helpers of the STL-minutes plugin, shared by its public pages (:mod:`.views`), its
admin pages (:mod:`.admin`), the ``section.minutes`` slot and the dashboard widget.

:func:`helpers` gives the names every template of the plugin can use; the public and admin
blueprints add them through a context processor.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, render_template, url_for
from flask_babel import format_date, format_time
from markupsafe import Markup

from . import vocab
from .quorum import QuorumResult
from .services import effective_progress, is_overdue, tenant_today


def parse_date(value: Any) -> dt.date | None:
    """``date`` from an ISO string of published JSON (``None`` for empty or invalid)."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def parse_datetime(value: Any) -> dt.datetime | None:
    """Aware UTC ``datetime`` from a published ``...Z`` string (``None`` for empty or invalid)."""
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except (ValueError, AttributeError):
        return None


def time_range(starts_at: dt.datetime | None, ends_at: dt.datetime | None) -> str:
    """"10:00–12:30" in the tenant's time zone (Babel ``short`` format); ``""`` if no start."""
    if starts_at is None:
        return ""
    text = format_time(starts_at, "short")
    if ends_at is not None:
        text += "–" + format_time(ends_at, "short")
    return text


def long_date(value: dt.date | None) -> str:
    """A calendar date in words ("viernes, 1 de septiembre de 2023"); ``""`` for ``None``."""
    return format_date(value, "full") if value else ""


def sector_bars(counts: dict[str, int], caption) -> Markup:
    """Server-side horizontal bar of counts by sector, with a text alternative (a list read by
    screen readers and visible when printing). ``counts``: ``{sector code: n}``."""
    return Markup(render_template("stl_minutes/_sector_bars.html", counts=counts, caption=caption,
                                  total=sum(counts.values())))


def css_url() -> str:
    """URL of the plugin's stylesheet (served by the public blueprint ``stl_minutes``)."""
    return url_for("stl_minutes.static", filename="stl_minutes.css")


def helpers() -> dict[str, Any]:
    """Names every template of the plugin can use (also passed to the section slot and the
    dashboard widget): the vocabulary ``V`` and ``label``, ``today`` in the tenant's zone (``None``
    outside a tenant), the agreement status functions, the date/time formatters above, the
    quorum reader ``quorum_from`` and the stylesheet URL ``stl_css``."""
    tenant = getattr(g, "tenant", None)
    today = tenant_today(tenant) if tenant is not None else None
    return {"V": vocab, "label": vocab.label, "today": today, "effective_progress": effective_progress,
            "is_overdue": is_overdue, "time_range": time_range, "long_date": long_date,
            "parse_date": parse_date, "parse_datetime": parse_datetime, "sector_bars": sector_bars,
            "quorum_from": QuorumResult.from_dict, "stl_css": css_url}
