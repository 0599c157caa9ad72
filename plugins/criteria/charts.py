"""Server-side SVG charts (no JavaScript, no external assets).

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that states every value
in words, and the pages show the same numbers in a table next to it. Values are written on the
bars, so colour is never the only way to read them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import format_decimal, gettext as _
from markupsafe import Markup, escape

WIDTH = 640
LABEL_W = 230
VALUE_W = 70
BAR_H = 18
ROW_H = 26
GROUP_H = 24
TOP = 28
TEXT = "#1a1a1a"
TRACK = "#e6e6e6"
GRID = "#b0b0b0"
DEFAULT_COLOR = "#1f5e3a"


@dataclass(frozen=True)
class Bar:
    """One bar: ``label``, ``value`` (0..max, or ``None`` for no data) and ``color`` (#RRGGBB)."""

    label: str
    value: float | None
    color: str = DEFAULT_COLOR


@dataclass(frozen=True)
class BarGroup:
    """Bars under a common heading (``label`` may be empty for a single ungrouped list)."""

    label: str
    bars: list[Bar] = field(default_factory=list)


def _short(text: str, limit: int = 32) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: float | None) -> str:
    """A score in the user's locale with at most one decimal, or "no data"."""
    if value is None:
        return _("no data")
    return format_decimal(round(float(value), 1), format="#,##0.#")


def bar_chart(groups: list[BarGroup], *, title: str, description: str, chart_id: str,
              max_value: float = 100.0) -> Markup:
    """Render a horizontal bar chart as inline SVG.

    Args:
        groups: groups of bars, drawn top to bottom.
        title: short title (``<title>``).
        description: one sentence introducing the values; the values of every bar are appended
            to it in ``<desc>`` so screen readers get the whole chart.
        chart_id: unique id prefix in the page (for ``aria-labelledby``).
        max_value: the value of a full bar (100 for scores).

    Returns:
        ``Markup`` with the ``<svg>`` element.
    """
    rows = sum(len(g.bars) for g in groups)
    heads = sum(1 for g in groups if g.label)
    height = TOP + rows * ROW_H + heads * GROUP_H + 8
    plot_w = WIDTH - LABEL_W - VALUE_W
    cid = escape(chart_id)
    parts: list[str] = []
    words = []
    for g in groups:
        items = [f"{b.label}: {number(b.value)}" for b in g.bars]
        words.append((f"{g.label}: " if g.label else "") + "; ".join(items))
    desc = f"{description} " + ". ".join(words) + "."
    parts.append(f'<svg class="criteria-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
                 f'width="100%" role="img" aria-labelledby="{cid}-title {cid}-desc" '
                 f'font-family="system-ui, sans-serif" font-size="13">')
    parts.append(f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(desc)}</desc>')
    for tick in (0, 25, 50, 75, 100):
        x = LABEL_W + plot_w * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - 6}" stroke="{GRID}" '
                     f'stroke-width="1" stroke-dasharray="2 3"/>')
        parts.append(f'<text x="{x:.1f}" y="{TOP - 10}" text-anchor="middle" fill="{TEXT}" font-size="11">'
                     f'{escape(number(max_value * tick / 100))}</text>')
    y = TOP
    for g in groups:
        if g.label:
            parts.append(f'<text x="0" y="{y + 16}" font-weight="bold" fill="{TEXT}">{escape(_short(g.label, 60))}</text>')
            y += GROUP_H
        for b in g.bars:
            parts.append(f'<text x="{LABEL_W - 8}" y="{y + 14}" text-anchor="end" fill="{TEXT}">'
                         f'{escape(_short(b.label))}</text>')
            parts.append(f'<rect x="{LABEL_W}" y="{y + 1}" width="{plot_w}" height="{BAR_H}" fill="{TRACK}"/>')
            if b.value is not None:
                w = max(0.0, min(1.0, b.value / max_value)) * plot_w
                parts.append(f'<rect x="{LABEL_W}" y="{y + 1}" width="{w:.1f}" height="{BAR_H}" '
                             f'fill="{escape(b.color)}"/>')
            parts.append(f'<text x="{LABEL_W + plot_w + 6}" y="{y + 14}" fill="{TEXT}" font-weight="bold">'
                         f'{escape(number(b.value))}</text>')
            y += ROW_H
    parts.append("</svg>")
    return Markup("".join(parts))
