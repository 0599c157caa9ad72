"""Cross-state pages of the criteria plugin (blueprint ``portal_criteria``, mounted at
``/criterios`` on the portal): the comparison of the states' latest published cycles, the portal
home widget, and the plugin's stylesheet (``/criterios/static/criteria.css``).

Every query here is an explicit cross-tenant read (:func:`comun_cms.toolkit.all_tenants`) of
**published** cycles of the public tenants that enable the plugin; training tenants never show.
"""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from comun_cms.toolkit import all_tenants, db, get_tenants

from . import charts
from .models import EvaluationCycle
from .views import labels

bp = Blueprint("portal_criteria", __name__, template_folder="templates", url_prefix="/criterios",
               static_folder="static", static_url_path="/static")
bp.context_processor(labels)


def public_tenants() -> list:
    """Tenants shown on the portal that enable this plugin (never training tenants), in
    configuration order."""
    return [t for t in get_tenants(public_only=True).values() if t.enables("criteria")]


def comparison() -> list[dict]:
    """The latest published cycle of each public tenant (cross-tenant read of published rows).

    Returns:
        ``[{"tenant", "cycle" (or None), "cycles" (all published, newest first)}]``, one item
        per tenant of :func:`public_tenants`.
    """
    tenants = public_tenants()
    slugs = [t.slug for t in tenants]
    rows = db.session.scalars(all_tenants(
        select(EvaluationCycle).where(EvaluationCycle.status == "published", EvaluationCycle.tenant_id.in_(slugs))
        .order_by(EvaluationCycle.cutoff_date.desc(), EvaluationCycle.id.desc()))).all()
    by_tenant: dict[str, list] = {s: [] for s in slugs}
    for c in rows:
        by_tenant[c.tenant_id].append(c)
    return [{"tenant": t, "cycle": by_tenant[t.slug][0] if by_tenant[t.slug] else None, "cycles": by_tenant[t.slug]}
            for t in tenants]


def comparison_charts(data: list[dict]) -> tuple[Markup, Markup]:
    """The SVG charts of a :func:`comparison`: ``(totals by state, scores of each category
    grouped by state)``."""
    def color(t):
        return t.colors.get("primary") or charts.DEFAULT_COLOR
    present = [d for d in data if d["cycle"] is not None]
    demo = _("demo data")  # outside the f-string, where Babel's extractor sees it
    totals = charts.bar_chart(
        [charts.BarGroup("", [charts.Bar(d["tenant"].state + (f" ({demo})" if d["cycle"].is_demo else ""),
                                         (d["cycle"].scores or {}).get("total"),
                                         color(d["tenant"])) for d in present])],
        title=_("Total score by state"), chart_id="compare-total",
        description=_("Total score of the latest published evaluation cycle of each state, from 0 to 100."))
    categories: dict[str, str] = {}
    for d in present:
        for cat in (d["cycle"].scores or {}).get("categories", []):
            categories.setdefault(cat["code"], cat["name"])
    groups = []
    for code, name in categories.items():
        bars = []
        for d in present:
            cat = next((c for c in (d["cycle"].scores or {}).get("categories", []) if c["code"] == code), None)
            bars.append(charts.Bar(d["tenant"].state, cat["percent"] if cat else None, color(d["tenant"])))
        groups.append(charts.BarGroup(f"{code}. {name}", bars))
    by_category = charts.bar_chart(groups, title=_("Score of each category by state"), chart_id="compare-categories",
                                   description=_("For each category, the score of each state from 0 to 100."))
    return totals, by_category


@bp.get("/")
def compare():
    """Cross-state comparison: table of totals and category scores, SVG charts, history, and
    whether the states were evaluated against the same framework content (same hash)."""
    data = comparison()
    present = [d for d in data if d["cycle"] is not None]
    hashes = {d["cycle"].framework.content_sha256 for d in present}
    totals, by_category = comparison_charts(data) if present else (None, None)
    categories: dict[str, str] = {}
    for d in present:
        for cat in (d["cycle"].scores or {}).get("categories", []):
            categories.setdefault(cat["code"], cat["name"])
    return render_template("criteria/portal_compare.html", data=data, present=present, comparable=len(hashes) <= 1,
                           categories=categories, totals_chart=totals, categories_chart=by_category)


def portal_widget() -> Markup:
    """Portal home widget: total score of each state's latest published cycle."""
    data = comparison()
    return Markup(render_template("criteria/_portal_widget.html", data=data, **labels()))
