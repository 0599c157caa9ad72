"""Public pages of the criteria plugin (blueprint ``criteria``, mounted at ``/<tenant>/criterios``)
and the template helpers the plugin's admin and portal pages share.

Routes (all GET, public, current tenant only; drafts are never shown):

* ``/criterios/``: the latest published cycle with its category chart, the history across
  cycles, framework versions, recommendations and the score formula;
* ``/criterios/marcos/<id>`` and ``/criterios/marcos/<id>.csv``: a published framework version
  and its CSV export;
* ``/criterios/ciclos/<id>``: a published evaluation cycle (scores, formula, declarations,
  assessments with evidence and the secretariat's replies);
* ``/criterios/recomendaciones`` (``?estado=``) and ``/criterios/recomendaciones/<id>``.

The admin pages are in :mod:`plugins.criteria.admin`, the cross-state comparison in
:mod:`plugins.criteria.portal`.
"""
from __future__ import annotations

from flask import Blueprint, Response, g, render_template, request
from flask_babel import gettext as _, ngettext
from markupsafe import Markup
from sqlalchemy import select

from comun_cms.toolkit import content_disposition, db, get_current_tenant

from . import charts, services
from .framework_io import export_csv, format_points
from .models import CriteriaFramework, EvaluationCycle, Recommendation
from .scoring import FORMULA_VERSION

bp = Blueprint("criteria", __name__, template_folder="templates", url_prefix="/criterios")

#: Law replaced in 2025: criteria citing it keep the citation of their framework version.
REPLACED_LAWS = ("LGTAIP 2015",)


# --------------------------------------------------------------------------- template helpers
def labels() -> dict:
    """Label dictionaries and formatters for the plugin's templates.

    Registered as a context processor of the plugin's three blueprints, and passed explicitly to
    the partials rendered inside core pages (home slot, dashboard and portal widgets).

    Returns:
        ``{name: value}`` for ``result_labels``, ``stage_labels``, ``evaluator_role_labels``,
        ``scoring_type_labels``, ``periodicity_labels``, ``answer_labels``, ``progress_labels``,
        ``rec_status_labels``, ``fmt_points``, ``fmt_score``, ``replaced_laws``,
        ``formula_version``, ``points_label`` and ``scored_label``.
    """
    return {"result_labels": services.RESULT_LABELS, "stage_labels": services.STAGE_LABELS,
            "evaluator_role_labels": services.EVALUATOR_ROLE_LABELS,
            "scoring_type_labels": services.SCORING_TYPE_LABELS,
            "periodicity_labels": services.PERIODICITY_LABELS, "answer_labels": services.ANSWER_LABELS,
            "progress_labels": services.PROGRESS_LABELS, "rec_status_labels": services.STATUS_LABELS,
            "fmt_points": format_points, "fmt_score": charts.number, "replaced_laws": REPLACED_LAWS,
            "formula_version": FORMULA_VERSION, "points_label": points_label, "scored_label": scored_label}


bp.context_processor(labels)


def points_label(x100: int) -> str:
    """``"1 punto"`` / ``"2,5 puntos"``: points in hundredths with the plural the language
    needs (exactly one point is singular; any other amount, fractions included, is plural)."""
    return ngettext("%(p)s point", "%(p)s points", 1 if int(x100) == 100 else 2, p=format_points(x100))


def scored_label(kind: str, score: str, scored: int, pending: int) -> str:
    """``"Evaluación: 80 de 100 (1 criterio calificado, 3 pendientes)"``: ``kind`` is
    ``evaluation`` or ``self``; ``score`` the formatted total; the counts get their plurals."""
    counts = "%s, %s" % (ngettext("%(num)d criterion scored", "%(num)d criteria scored", scored),
                         ngettext("%(num)d pending", "%(num)d pending", pending))
    if kind == "self":
        return _("Self-assessment: %(score)s of 100 (%(counts)s)", score=score, counts=counts)
    return _("Evaluation: %(score)s of 100 (%(counts)s)", score=score, counts=counts)


def category_chart(sheet_json: dict, chart_id: str, title: str, color: str | None = None) -> Markup:
    """SVG bar chart of a score snapshot's categories (percent) plus the total.

    Args:
        sheet_json: a score sheet as JSON (:meth:`plugins.criteria.scoring.ScoreSheet.to_json`,
            or a cycle's ``scores``).
        chart_id: the ``id`` of the ``<svg>`` element.
        title: the chart's title.
        color: bar colour (default: the tenant's primary colour).
    """
    color = color or (g.tenant.colors.get("primary") if get_current_tenant() else None) or charts.DEFAULT_COLOR
    bars = [charts.Bar(f"{c['code']}. {c['name']}", c["percent"], color) for c in sheet_json.get("categories", [])]
    bars.append(charts.Bar(_("Total"), sheet_json.get("total"), color))
    return charts.bar_chart([charts.BarGroup("", bars)], title=title, chart_id=chart_id,
                            description=_("Score of each category and total, from 0 to 100."))


def history_chart(cycles: list[EvaluationCycle], chart_id: str) -> Markup:
    """SVG bar chart of the total score of each published cycle (in the order given, oldest
    first); ``chart_id`` is the ``id`` of the ``<svg>`` element."""
    color = g.tenant.colors.get("primary") or charts.DEFAULT_COLOR
    bars = [charts.Bar(c.period_label, (c.scores or {}).get("total"), color) for c in cycles]
    return charts.bar_chart([charts.BarGroup("", bars)], title=_("Total score by evaluation cycle"), chart_id=chart_id,
                            description=_("Total score of each published evaluation cycle, from 0 to 100."))


def published_or_404(model, object_id: int):
    """The published record ``object_id`` of ``model`` in the current tenant.

    Raises:
        werkzeug.exceptions.NotFound: no such record, or it is not published (drafts are never
            public).
    """
    return db.first_or_404(select(model).where(model.id == object_id, model.status == "published"))


def csv_response(fw: CriteriaFramework) -> Response:
    """A framework version as a CSV download (UTF-8 with BOM, importable again), named
    ``<tenant>-<slug>-<version>.csv`` (RFC 6266 ``Content-Disposition``)."""
    response = Response("\ufeff" + export_csv(fw), content_type="text/csv; charset=utf-8")
    name = f"{fw.tenant_id}-{fw.slug}-{fw.version_label}.csv"   # sanitized by content_disposition
    response.headers["Content-Disposition"] = content_disposition("attachment", name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def render_home_slot() -> Markup | None:
    """The card of the tenant's home page (slot ``home_main``): the latest published cycle's
    total, or ``None`` when the tenant has published none."""
    cycles = services.published_cycles()
    if not cycles:
        return None
    return Markup(render_template("criteria/_home_slot.html", cycle=cycles[0], **labels()))


# --------------------------------------------------------------------------- routes
@bp.get("/")
def index():
    """Public results: the latest published cycle with its category chart, the history across
    cycles, the framework versions, recommendations and the score formula."""
    cycles = services.published_cycles()
    latest = cycles[0] if cycles else None
    frameworks = db.session.scalars(select(CriteriaFramework).where(CriteriaFramework.status == "published")
                                    .order_by(CriteriaFramework.first_published_at.desc())).all()
    recs = db.session.scalars(select(Recommendation).where(Recommendation.status == "published")
                              .order_by(Recommendation.issued_on.desc(), Recommendation.id.desc())).all()
    counts: dict[str, int] = {}
    for r in recs:
        counts[services.recommendation_status(r)] = counts.get(services.recommendation_status(r), 0) + 1
    return render_template(
        "criteria/index.html", cycles=cycles, latest=latest, frameworks=frameworks, recs=recs[:5],
        rec_counts=counts, rec_total=len(recs),
        latest_chart=category_chart(latest.scores or {}, "latest-chart", _("Scores of %(title)s", title=latest.title))
        if latest else None,
        history=history_chart(list(reversed(cycles)), "history-chart") if len(cycles) > 1 else None)


@bp.get("/marcos/<int:framework_id>")
def framework(framework_id: int):
    """A published framework version: categories, criteria, legal basis (unverified ones marked)."""
    fw = published_or_404(CriteriaFramework, framework_id)
    newer = db.session.scalars(select(CriteriaFramework).where(
        CriteriaFramework.slug == fw.slug, CriteriaFramework.status == "published",
        CriteriaFramework.id != fw.id, CriteriaFramework.first_published_at > fw.first_published_at)).all()
    return render_template("criteria/framework.html", fw=fw, newer=newer)


@bp.get("/marcos/<int:framework_id>.csv")
def framework_csv(framework_id: int):
    """A published framework version as CSV (importable again)."""
    return csv_response(published_or_404(CriteriaFramework, framework_id))


@bp.get("/ciclos/<int:cycle_id>")
def cycle(cycle_id: int):
    """A published evaluation cycle: scores (table and chart), the formula, evaluators and their
    declarations, and for every criterion the assessments with evidence and the secretariat's
    replies."""
    c = published_or_404(EvaluationCycle, cycle_id)
    rows = services.cycle_rows(c)
    recs = db.session.scalars(select(Recommendation).where(Recommendation.cycle_id == c.id,
                                                           Recommendation.status == "published")
                              .order_by(Recommendation.number)).all()
    return render_template("criteria/cycle.html", cycle=c, rows=rows, scores=c.scores or {}, recs=recs,
                           chart=category_chart(c.scores or {}, "cycle-chart", _("Scores of %(title)s", title=c.title)))


@bp.get("/recomendaciones")
def recommendations():
    """Published recommendations with status and age; ``?estado=<status>`` filters."""
    status = request.args.get("estado", "")
    recs = db.session.scalars(select(Recommendation).where(Recommendation.status == "published")
                              .order_by(Recommendation.issued_on.desc(), Recommendation.id.desc())).all()
    if status in services.STATUS_LABELS:
        recs = [r for r in recs if services.recommendation_status(r) == status]
    else:
        status = ""
    return render_template("criteria/recommendations.html", recs=recs, status=status,
                           status_of=services.recommendation_status, age_of=services.recommendation_age)


@bp.get("/recomendaciones/<int:rec_id>")
def recommendation(rec_id: int):
    """A published recommendation with its criteria, answer and follow-up reports."""
    rec = published_or_404(Recommendation, rec_id)
    return render_template("criteria/recommendation.html", rec=rec, status=services.recommendation_status(rec),
                           age=services.recommendation_age(rec))
