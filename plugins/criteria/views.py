"""Blueprints of the criteria plugin.

* ``criteria`` (``/<tenant>/criterios``): public results, framework versions, published cycles
  (assessments with the secretariat's replies), recommendations.
* ``admin_criteria`` (``/<tenant>/admin/criterios``): the evaluators' workspace and the
  secretariat's self-assessment, replies, evidence checklist and answers to recommendations.
* ``portal_criteria`` (``/criterios``): the cross-state comparison, and the plugin's stylesheet.

Who may do what (roles of :mod:`comun_cms.permissions`, per tenant):

=========================================  ==========  =======  =========
action                                     evaluator   admin    editor
=========================================  ==========  =======  =========
see the workspace (drafts included)        yes         yes      yes
import / publish / delete a framework      yes         (1)      no
open a cycle, move its stage, publish it   yes         no       no
declare role and conflicts, assess         yes         no       no
self-assessment (self-assessment stage)    no          yes      yes
reply to an assessment (reply stage)       no          yes      yes
issue a recommendation                     yes         no       no
answer a recommendation, report follow-up  no          yes      yes
=========================================  ==========  =======  =========

(1) platform administrators only. An evaluator only ever edits their own assessments; the
secretariat never edits an evaluator's assessment (it replies). Evaluators cannot edit the
tenant's own content (pages, files, users: core routes require admin/editor).

Every write calls :func:`comun_cms.audit.record_audit` in the same transaction; on any error
the session is rolled back and nothing is stored.
"""
from __future__ import annotations

import functools

from flask import (Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms import SelectChoice

from comun_cms.database import atomic, one_or_404
from comun_cms.audit import record_audit
from comun_cms.extensions import db
from comun_cms.forms import ConfirmForm
from comun_cms.permissions import STAFF_ROLES, require_role, role_in
from comun_cms.publishing import PublishError
from comun_cms.tenancy import all_tenants, get_current_tenant
from comun_cms.uploads import UploadError, store_upload

from . import charts, services
from .forms import (AnswerForm, AssessmentForm, CycleForm, DeclarationForm, FollowUpForm, FrameworkImportForm,
                    RecommendationForm, ReplyForm, StageForm)
from .framework_io import FrameworkImportError, export_csv, format_points
from .models import (SELF_SLOT, STAGES, Assessment, CriteriaFramework, EvaluationCycle,
                     Recommendation, user_slot)
from .scoring import FORMULA_VERSION

bp = Blueprint("criteria", __name__, template_folder="templates", url_prefix="/criterios")
admin_bp = Blueprint("admin_criteria", __name__, template_folder="templates", url_prefix="/criterios")
portal_bp = Blueprint("portal_criteria", __name__, template_folder="templates", url_prefix="/criterios",
                      static_folder="static", static_url_path="/static")

INVALID = 422
CONFLICT = 409
#: Law replaced in 2025: criteria citing it keep the citation of their framework version.
REPLACED_LAWS = ("LGTAIP 2015",)


def _labels() -> dict:
    """Label dictionaries and formatters for the plugin's templates (also passed explicitly to
    the partials rendered inside core pages: home slot, dashboard and portal widgets)."""
    return {"result_labels": services.RESULT_LABELS, "stage_labels": services.STAGE_LABELS,
            "evaluator_role_labels": services.EVALUATOR_ROLE_LABELS,
            "scoring_type_labels": services.SCORING_TYPE_LABELS,
            "periodicity_labels": services.PERIODICITY_LABELS, "answer_labels": services.ANSWER_LABELS,
            "progress_labels": services.PROGRESS_LABELS, "rec_status_labels": services.STATUS_LABELS,
            "fmt_points": format_points, "fmt_score": charts.number, "replaced_laws": REPLACED_LAWS,
            "formula_version": FORMULA_VERSION}


for _bp in (bp, admin_bp, portal_bp):
    _bp.context_processor(_labels)


# --------------------------------------------------------------------------- helpers
def current_role() -> str | None:
    """The current user's role in the current tenant (``admin`` for platform admins)."""
    return role_in(current_user, get_current_tenant())


def is_evaluator() -> bool:
    """The current user is an evaluator assigned to the current tenant."""
    return current_role() == "evaluator"


def is_secretariat() -> bool:
    """The current user acts for the secretariat (admin or editor of the tenant)."""
    return current_role() in ("admin", "editor")


def can_manage_frameworks() -> bool:
    """Evaluators and platform administrators manage framework versions."""
    return is_evaluator() or bool(getattr(current_user, "is_platform_admin", False))


def framework_manager_required(view):
    """View decorator: staff of the tenant who may manage frameworks, else 403."""
    @functools.wraps(view)
    @require_role(*STAFF_ROLES)
    def wrapper(*args, **kwargs):
        if not can_manage_frameworks():
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def published_or_404(model, object_id: int):
    """A published record of the current tenant, else 404 (drafts are never public)."""
    return db.first_or_404(select(model).where(model.id == object_id, model.status == "published"))


def reply_days() -> int:
    """The tenant's ``reply_days`` setting (days of the right of reply)."""
    try:
        return int(g.tenant.setting("criteria", "reply_days"))
    except KeyError:
        return services.DEFAULT_REPLY_DAYS


def category_chart(sheet_json: dict, chart_id: str, title: str, color: str | None = None) -> Markup:
    """SVG bar chart of a score snapshot's categories (percent) plus the total."""
    color = color or (g.tenant.colors.get("primary") if get_current_tenant() else None) or charts.DEFAULT_COLOR
    bars = [charts.Bar(f"{c['code']}. {c['name']}", c["percent"], color) for c in sheet_json.get("categories", [])]
    bars.append(charts.Bar(_("Total"), sheet_json.get("total"), color))
    return charts.bar_chart([charts.BarGroup("", bars)], title=title, chart_id=chart_id,
                            description=_("Score of each category and total, from 0 to 100."))


def history_chart(cycles: list[EvaluationCycle], chart_id: str) -> Markup:
    """SVG bar chart of the total score of each published cycle (oldest first)."""
    color = g.tenant.colors.get("primary") or charts.DEFAULT_COLOR
    bars = [charts.Bar(c.period_label, (c.scores or {}).get("total"), color) for c in cycles]
    return charts.bar_chart([charts.BarGroup("", bars)], title=_("Total score by evaluation cycle"), chart_id=chart_id,
                            description=_("Total score of each published evaluation cycle, from 0 to 100."))


# --------------------------------------------------------------------------- public
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
    fw = published_or_404(CriteriaFramework, framework_id)
    return _csv_response(fw)


def _csv_response(fw: CriteriaFramework) -> Response:
    response = Response("\ufeff" + export_csv(fw), content_type="text/csv; charset=utf-8")
    name = f"{fw.tenant_id}-{fw.slug}-{fw.version_label}.csv".replace(" ", "_")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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


# --------------------------------------------------------------------------- portal
def public_tenants() -> list:
    """Tenants shown on the portal that enable this plugin (never training tenants)."""
    return [t for t in current_app.extensions["comun"].public_tenants().values() if t.enables("criteria")]


def comparison() -> list[dict]:
    """The latest published cycle of each public tenant (cross-tenant read of published rows).

    Returns ``[{"tenant", "cycle" (or None), "cycles" (all published, newest first)}]``.
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
    """(totals chart, per-category grouped chart) of the comparison."""
    def color(t):
        return t.colors.get("primary") or charts.DEFAULT_COLOR
    present = [d for d in data if d["cycle"] is not None]
    totals = charts.bar_chart(
        [charts.BarGroup("", [charts.Bar(f"{d['tenant'].state}" + (f" ({_('demo data')})" if d["cycle"].is_demo else ""),
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


@portal_bp.get("/")
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
    return Markup(render_template("criteria/_portal_widget.html", data=data, **_labels()))


# --------------------------------------------------------------------------- admin
@admin_bp.context_processor
def _admin_context() -> dict:
    # the admin menu and role come from the core's admin context processor
    tenant = get_current_tenant()
    role = role_in(current_user, tenant)
    return {"is_evaluator": role == "evaluator", "is_secretariat": role in ("admin", "editor"),
            "can_manage_frameworks": can_manage_frameworks() if tenant else False}


@admin_bp.get("/")
@require_role(*STAFF_ROLES)
def admin_index():
    """The workspace: framework versions, cycles (with stage) and recommendations."""
    frameworks = db.session.scalars(select(CriteriaFramework).order_by(CriteriaFramework.id.desc())).all()
    cycles = db.session.scalars(select(EvaluationCycle).order_by(EvaluationCycle.cutoff_date.desc(),
                                                                 EvaluationCycle.id.desc())).all()
    recs = db.session.scalars(select(Recommendation).order_by(Recommendation.issued_on.desc(),
                                                              Recommendation.id.desc())).all()
    return render_template("criteria/admin/index.html", frameworks=frameworks, cycles=cycles, recs=recs,
                           status_of=services.recommendation_status, age_of=services.recommendation_age)


# ---- frameworks
@admin_bp.route("/marcos/importar", methods=["GET", "POST"])
@framework_manager_required
def framework_import():
    """Import a framework version from CSV as a draft. A bad file is rejected with every problem
    (line and column) and nothing is stored."""
    form = FrameworkImportForm()
    issues = []
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            with atomic():
                fw = services.import_framework(
                    data, slug=form.slug.data, version_label=form.version_label.data, name=form.name.data,
                    description=form.description.data or "", valid_from=form.valid_from.data,
                    source=form.source.data or form.file.data.filename, user=current_user,
                    tenant_slugs=list(current_app.extensions["comun"].tenants))
                record_audit("criteria.framework.import", "criteria_framework", fw.id, None,
                             {**services.snapshot(fw), "criteria": len(fw.criteria)})
        except FrameworkImportError as exc:
            issues = exc.issues
            form.file.errors = list(form.file.errors) + [_("The file was not imported; nothing was stored.")]
        else:
            flash(_("Framework imported as a draft with %(n)d criteria. Check it and publish it.", n=len(fw.criteria)),
                  "success")
            return redirect(url_for(".framework_detail", framework_id=fw.id), code=303)
    status = INVALID if form.is_submitted() else 200
    return render_template("criteria/admin/framework_import.html", form=form, issues=issues), status


@admin_bp.get("/marcos/<int:framework_id>")
@require_role(*STAFF_ROLES)
def framework_detail(framework_id: int):
    """A framework version (any status) with its criteria, hash and actions."""
    fw = one_or_404(CriteriaFramework, framework_id)
    return render_template("criteria/admin/framework.html", fw=fw, publish_form=ConfirmForm(prefix="publish"),
                           delete_form=ConfirmForm(prefix="delete"))


@admin_bp.post("/marcos/<int:framework_id>/publicar")
@framework_manager_required
def framework_publish(framework_id: int):
    """Publish a draft framework version (its criteria become immutable)."""
    fw = one_or_404(CriteriaFramework, framework_id)
    if not ConfirmForm(prefix="publish").validate_on_submit():
        abort(400)
    try:
        with atomic():
            pub = services.publish_framework(fw, user=current_user)
            record_audit("criteria.framework.publish", "criteria_framework", fw.id, None,
                         {**services.snapshot(fw), "sha256": pub.sha256})
    except (services.CriteriaError, PublishError) as exc:
        flash(str(exc), "error")
        return redirect(url_for(".framework_detail", framework_id=framework_id), code=303)
    flash(_("Framework version published."), "success")
    return redirect(url_for(".framework_detail", framework_id=fw.id), code=303)


@admin_bp.post("/marcos/<int:framework_id>/eliminar")
@framework_manager_required
def framework_delete(framework_id: int):
    """Delete a draft framework version not used by any cycle."""
    fw = one_or_404(CriteriaFramework, framework_id)
    if not ConfirmForm(prefix="delete").validate_on_submit():
        abort(400)
    before = services.snapshot(fw)
    try:
        with atomic():
            services.delete_draft_framework(fw)
            record_audit("criteria.framework.delete", "criteria_framework", framework_id, before, None)
    except services.CriteriaError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".framework_detail", framework_id=framework_id), code=303)
    flash(_("Draft framework deleted."), "success")
    return redirect(url_for(".admin_index"), code=303)


@admin_bp.get("/marcos/<int:framework_id>.csv")
@require_role(*STAFF_ROLES)
def framework_export(framework_id: int):
    """Any framework version of the tenant (drafts too) as CSV."""
    return _csv_response(one_or_404(CriteriaFramework, framework_id))


# ---- cycles
def _published_frameworks() -> list[CriteriaFramework]:
    return list(db.session.scalars(select(CriteriaFramework).where(CriteriaFramework.status == "published")
                                   .order_by(CriteriaFramework.first_published_at.desc())))


@admin_bp.route("/ciclos/nuevo", methods=["GET", "POST"])
@require_role("evaluator")
def cycle_new():
    """Open an evaluation cycle on a published framework version (evaluators)."""
    form = CycleForm()
    frameworks = _published_frameworks()
    form.framework_id.choices = [SelectChoice(f.id, f"{f.name} ({f.version_label})") for f in frameworks]
    if form.validate_on_submit():
        fw = next(f for f in frameworks if f.id == form.framework_id.data)
        try:
            with atomic():
                c = services.create_cycle(
                    fw, title=form.title.data, period_label=form.period_label.data, cutoff_date=form.cutoff_date.data,
                    period_start=form.period_start.data, period_end=form.period_end.data,
                    reply_deadline=form.reply_deadline.data, methodology=form.methodology.data or "",
                    is_demo=form.is_demo.data, user=current_user)
                record_audit("criteria.cycle.create", "evaluation_cycle", c.id, None, services.snapshot(c))
        except services.CriteriaError as exc:
            target = getattr(form, exc.field, None) if exc.field else None
            if target is not None:
                target.errors.append(str(exc))
            else:
                form.form_errors.append(str(exc))
        else:
            flash(_("Cycle opened. Move it to the self-assessment stage when the secretariat may start."), "success")
            return redirect(url_for(".cycle_detail", cycle_id=c.id), code=303)
    status = INVALID if form.is_submitted() else 200
    return render_template("criteria/admin/cycle_new.html", form=form, frameworks=frameworks), status


def _render_cycle(c: EvaluationCycle, status: int = 200, errors: list[str] | None = None):
    rows = services.cycle_rows(c)
    role = current_role()
    show_evaluations = role == "evaluator" or c.stage in ("reply", "published")
    sheet = services.score_sheet(c, rows=rows).to_json()
    self_sheet = services.score_sheet(c, self_assessment=True, rows=rows).to_json()
    nxt = services.next_stage(c)
    return render_template(
        "criteria/admin/cycle.html", cycle=c, rows=rows, sheet=sheet, self_sheet=self_sheet, next_stage=nxt,
        stage_form=StageForm(formdata=None, target=nxt), publish_form=ConfirmForm(prefix="publish"),
        blockers=services.publication_blockers(c) if c.stage == "reply" else [], errors=errors or [],
        show_evaluations=show_evaluations, my_slot=user_slot(current_user.id),
        declaration=services.declaration_for(c, current_user) if role == "evaluator" else None,
        chart=category_chart(sheet, "admin-cycle-chart", _("Provisional scores"))), status


@admin_bp.get("/ciclos/<int:cycle_id>")
@require_role(*STAFF_ROLES)
def cycle_detail(cycle_id: int):
    """A cycle's workspace: stage, criteria with self-assessment, evaluators' assessments (shown
    to the secretariat from the reply stage on), replies, provisional scores and actions."""
    return _render_cycle(one_or_404(EvaluationCycle, cycle_id))


@admin_bp.post("/ciclos/<int:cycle_id>/etapa")
@require_role("evaluator")
def cycle_advance(cycle_id: int):
    """Move the cycle to its next stage (evaluators)."""
    c = one_or_404(EvaluationCycle, cycle_id)
    form = StageForm()
    if not form.validate_on_submit() or form.target.data not in STAGES:
        return _render_cycle(c, INVALID, [_("Choose the next stage.")])
    before = services.snapshot(c)
    try:
        with atomic():
            services.advance_stage(c, form.target.data, reply_days())
            record_audit("criteria.cycle.stage", "evaluation_cycle", c.id, before, services.snapshot(c))
    except services.CriteriaError as exc:
        return _render_cycle(c, CONFLICT, [str(exc)])
    flash(_("The cycle is now in the stage “%(stage)s”.", stage=services.STAGE_LABELS[c.stage]), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id), code=303)


@admin_bp.post("/ciclos/<int:cycle_id>/publicar")
@require_role("evaluator")
def cycle_publish(cycle_id: int):
    """Publish the cycle: scores frozen, assessments and replies serialized and notarized."""
    c = one_or_404(EvaluationCycle, cycle_id)
    if not ConfirmForm(prefix="publish").validate_on_submit():
        abort(400)
    before = services.snapshot(c)
    try:
        with atomic():
            pub = services.publish_cycle(c, user=current_user)
            record_audit("criteria.cycle.publish", "evaluation_cycle", c.id, before,
                         {**services.snapshot(c), "sha256": pub.sha256, "total": (c.scores or {}).get("total")})
    except (services.CriteriaError, PublishError) as exc:
        c = one_or_404(EvaluationCycle, cycle_id)
        return _render_cycle(c, CONFLICT, [str(exc)])
    flash(_("Cycle published (version %(n)d).", n=c.version), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id), code=303)


@admin_bp.route("/ciclos/<int:cycle_id>/declaracion", methods=["GET", "POST"])
@require_role("evaluator")
def declaration(cycle_id: int):
    """The evaluator's declaration for the cycle: role, organization, conflicts of interest."""
    c = one_or_404(EvaluationCycle, cycle_id)
    decl = services.declaration_for(c, current_user)
    if request.method == "GET":
        data = {"name": services.display_name(current_user)}
        if decl is not None:
            data = {"evaluator_role": decl.evaluator_role, "name": decl.name, "organization": decl.organization,
                    "has_conflict": "yes" if decl.has_conflict else "no",
                    "conflict_description": decl.conflict_description}
        form = DeclarationForm(formdata=None, data=data)
        return render_template("criteria/admin/declaration.html", cycle=c, form=form, decl=decl)
    form = DeclarationForm()
    if c.status != "draft":
        form.form_errors.append(_("The cycle is published; declarations can no longer change."))
        return render_template("criteria/admin/declaration.html", cycle=c, form=form, decl=decl), CONFLICT
    if not form.validate_on_submit():
        return render_template("criteria/admin/declaration.html", cycle=c, form=form, decl=decl), INVALID
    before = services.snapshot(decl) if decl else None
    try:
        with atomic():
            d = services.save_declaration(c, current_user, evaluator_role=form.evaluator_role.data,
                                          name=form.name.data, organization=form.organization.data or "",
                                          has_conflict=form.has_conflict.data == "yes",
                                          conflict_description=form.conflict_description.data or "")
            record_audit("criteria.declaration.save", "criteria_declaration", d.id, before,
                         {"cycle": c.id, "role": d.evaluator_role, "organization": d.organization,
                          "has_conflict": d.has_conflict})
    except services.CriteriaError as exc:
        form.form_errors.append(str(exc))
        return render_template("criteria/admin/declaration.html", cycle=c, form=form, decl=decl), INVALID
    flash(_("Declaration saved."), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id), code=303)


def _assessment_mode(c: EvaluationCycle) -> tuple[str, str | None]:
    """``(slot, problem)`` for the current user assessing in cycle ``c``: evaluators assess in
    their own slot during the evaluation stage; the secretariat fills the self-assessment during
    the self-assessment stage; both may correct their own rows of a published cycle."""
    role = current_role()
    if role == "evaluator":
        slot, stage = user_slot(current_user.id), "evaluation"
    elif role in ("admin", "editor"):
        slot, stage = SELF_SLOT, "self_assessment"
    else:
        abort(403)
    if c.stage == "published":
        return slot, None
    if c.stage != stage:
        return slot, _("Assessments can be written now only by %(who)s, in the stage “%(stage)s”.",
                       who=_("the evaluators") if stage == "evaluation" else _("the secretariat"),
                       stage=services.STAGE_LABELS[stage])
    return slot, None


@admin_bp.route("/ciclos/<int:cycle_id>/criterios/<int:criterion_id>/evaluar", methods=["GET", "POST"])
@require_role("evaluator", "admin", "editor")
def assess(cycle_id: int, criterion_id: int):
    """Assess one criterion: an evaluator in their own slot, the secretariat in the
    self-assessment. In a published cycle, a change of one's own assessment publishes a
    correction (reason required). Nobody edits someone else's assessment."""
    c = one_or_404(EvaluationCycle, cycle_id)
    criterion = services.cycle_criterion(c, criterion_id)
    if criterion is None:
        abort(404)
    slot, problem = _assessment_mode(c)
    existing = services.find_assessment(c, criterion, slot)
    published = c.status == "published"
    decl = services.declaration_for(c, current_user) if slot != SELF_SLOT else None
    if published and existing is None:
        problem = _("The cycle is published; only existing assessments can be corrected.")
    if slot != SELF_SLOT and decl is None and problem is None:
        flash(_("Before assessing, declare your role and any conflict of interest."), "warning")
        return redirect(url_for(".declaration", cycle_id=c.id), code=303)
    others = [a for a in c.assessments if a.criterion_id == criterion.id and a.slot != slot
              and (a.slot == SELF_SLOT or is_evaluator() or c.stage in ("reply", "published"))]

    def render(form, status=200):
        return render_template("criteria/admin/assess.html", cycle=c, criterion=criterion, form=form,
                               existing=existing, problem=problem, others=others, published=published,
                               self_slot=slot == SELF_SLOT), status

    if request.method == "GET":
        data = {}
        if existing is not None:
            data = {"result": existing.result, "value": existing.value if criterion.scoring_type == "percentage" else None,
                    "comment": existing.comment, "evidence_url": existing.evidence_url,
                    "evidence_captured_on": existing.evidence_captured_on}
        form = AssessmentForm(formdata=None, data=data)
        return render(form, CONFLICT if problem else 200)
    form = AssessmentForm()
    form.require_reason = published
    if problem:
        form.form_errors.append(problem)
        return render(form, CONFLICT)
    if not form.validate_on_submit():
        return render(form, INVALID)
    before = services.snapshot(existing) if existing else None
    if slot == SELF_SLOT:
        who = {"role": "self_assessment", "name": services.display_name(current_user),
               "organization": g.tenant.short_name}
    else:
        who = {"role": decl.evaluator_role, "name": decl.name, "organization": decl.organization}
    try:
        with atomic():
            att = None
            if form.snapshot.data and getattr(form.snapshot.data, "filename", ""):
                att = store_upload(form.snapshot.data, title=_("Evidence of %(code)s", code=criterion.code),
                                   kinds=("image", "pdf"), field="snapshot", user_id=current_user.id)
                db.session.flush()
            a = services.save_assessment(
                c, criterion, slot=slot, evaluator=current_user, evaluator_role=who["role"],
                evaluator_name=who["name"], organization=who["organization"], result=form.result.data,
                value=form.value.data if criterion.scoring_type == "percentage" else None,
                comment=form.comment.data or "", evidence_url=form.evidence_url.data or "",
                evidence_captured_on=form.evidence_captured_on.data, attachment=att)
            after = services.snapshot(a)
            if published:
                pub = services.correct_cycle(c, form.reason.data, user=current_user)
                after["sha256"] = pub.sha256
            record_audit("criteria.assessment.save", "criteria_assessment", a.id, before, after)
    except UploadError as exc:
        form.snapshot.errors = list(form.snapshot.errors) + [str(exc)]
        return render(form, INVALID)
    except services.CriteriaError as exc:
        target = getattr(form, exc.field, None) if exc.field else None
        if target is not None:
            target.errors.append(str(exc))
        else:
            form.form_errors.append(str(exc))
        return render(form, INVALID)
    except PublishError as exc:
        form.form_errors.append(str(exc))
        return render(form, INVALID)
    flash(_("Assessment of %(code)s saved.", code=criterion.code) if not published
          else _("Correction published (version %(n)d).", n=c.version), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id) + f"#crit-{criterion.id}", code=303)


@admin_bp.route("/ciclos/<int:cycle_id>/evaluaciones/<int:assessment_id>/replica", methods=["GET", "POST"])
@require_role("admin", "editor")
def reply(cycle_id: int, assessment_id: int):
    """The secretariat's reply to an evaluator's assessment (reply stage; in a published cycle,
    changing a reply publishes a correction with a reason)."""
    c = one_or_404(EvaluationCycle, cycle_id)
    a = db.first_or_404(select(Assessment).where(Assessment.id == assessment_id, Assessment.cycle_id == c.id))
    if a.is_self:
        abort(404)
    published = c.status == "published"
    problem = None
    if published and a.reply is None:
        problem = _("The cycle is published; only existing replies can be corrected.")
    elif not published and c.stage != "reply":
        problem = _("The secretariat can reply during the stage “%(stage)s”.", stage=services.STAGE_LABELS["reply"])

    def render(form, status=200):
        return render_template("criteria/admin/reply.html", cycle=c, assessment=a, form=form, problem=problem,
                               published=published), status

    if request.method == "GET":
        data = {"body": a.reply.body, "evidence_url": a.reply.evidence_url} if a.reply else {}
        return render(ReplyForm(formdata=None, data=data), CONFLICT if problem else 200)
    form = ReplyForm()
    form.require_reason = published
    if problem:
        form.form_errors.append(problem)
        return render(form, CONFLICT)
    if not form.validate_on_submit():
        return render(form, INVALID)
    before = {"body": a.reply.body, "evidence_url": a.reply.evidence_url} if a.reply else None
    try:
        with atomic():
            r = services.save_reply(a, body=form.body.data, evidence_url=form.evidence_url.data or "",
                                    user=current_user)
            after = {"assessment": a.id, "body": r.body, "evidence_url": r.evidence_url}
            if published:
                after["sha256"] = services.correct_cycle(c, form.reason.data, user=current_user).sha256
            record_audit("criteria.reply.save", "criteria_reply", r.id, before, after)
    except (services.CriteriaError, PublishError) as exc:
        form.form_errors.append(str(exc))
        return render(form, INVALID)
    flash(_("Reply saved.") if not published else _("Correction published (version %(n)d).", n=c.version), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id) + f"#crit-{a.criterion_id}", code=303)


@admin_bp.get("/ciclos/<int:cycle_id>/lista")
@require_role(*STAFF_ROLES)
def checklist(cycle_id: int):
    """Evidence checklist: every criterion with the evidence to publish, periodicity, deadline,
    verification guide and where the secretariat stands; ``?pendientes=1`` shows only open items."""
    c = one_or_404(EvaluationCycle, cycle_id)
    rows = services.cycle_rows(c)
    show_evaluations = is_evaluator() or c.stage in ("reply", "published")

    def done(row) -> bool:
        s = row.self_assessment
        if not row.applies:
            return True
        return s is not None and (s.result == "not_applicable" or (s.result == "met" and (
            bool(s.evidence_url) or not row.criterion.evidence_required)))

    items = [{"row": r, "done": done(r)} for r in rows]
    only_open = request.args.get("pendientes") == "1"
    total_done = sum(1 for i in items if i["done"])
    if only_open:
        items = [i for i in items if not i["done"]]
    return render_template("criteria/admin/checklist.html", cycle=c, items=items, only_open=only_open,
                           total=len(rows), total_done=total_done, show_evaluations=show_evaluations)


# ---- recommendations
@admin_bp.route("/recomendaciones/nueva", methods=["GET", "POST"])
@require_role("evaluator")
def recommendation_new():
    """Issue (and publish) a recommendation to the secretariat (evaluators)."""
    form = RecommendationForm()
    frameworks = _published_frameworks()
    form.criteria.choices = [SelectChoice(cr.id, f"{cr.code} · {cr.title[:90]} ({fw.version_label})")
                             for fw in frameworks for cr in fw.criteria]
    cycles = db.session.scalars(select(EvaluationCycle).where(EvaluationCycle.status == "published")
                                .order_by(EvaluationCycle.cutoff_date.desc())).all()
    form.cycle_id.choices = [SelectChoice(0, _("None"))] + [SelectChoice(c.id, c.title) for c in cycles]
    if request.method == "GET":
        form.issued_on.data = services.today()
        cycle_arg = request.args.get("ciclo", type=int)
        if cycle_arg and any(c.id == cycle_arg for c in cycles):
            form.cycle_id.data = cycle_arg
    if form.validate_on_submit():
        criteria = [cr for fw in frameworks for cr in fw.criteria if cr.id in set(form.criteria.data)]
        cycle_obj = next((c for c in cycles if c.id == form.cycle_id.data), None)
        try:
            with atomic():
                rec = services.issue_recommendation(
                    title=form.title.data, body=form.body.data, criteria=criteria, issued_on=form.issued_on.data,
                    cycle=cycle_obj, issuer=current_user, issuer_organization=form.issuer_organization.data or "",
                    is_demo=form.is_demo.data)
                record_audit("criteria.recommendation.issue", "recommendation", rec.id, None, services.snapshot(rec))
        except (services.CriteriaError, PublishError) as exc:
            target = getattr(form, getattr(exc, "field", "") or "", None)
            if target is not None:
                target.errors.append(str(exc))
            else:
                form.form_errors.append(str(exc))
        else:
            flash(_("Recommendation %(number)s issued and published.", number=rec.number), "success")
            return redirect(url_for(".recommendation_detail", rec_id=rec.id), code=303)
    status = INVALID if form.is_submitted() else 200
    return render_template("criteria/admin/recommendation_new.html", form=form), status


def _render_rec(rec: Recommendation, status: int = 200, **forms):
    answer_form = forms.get("answer_form") or AnswerForm(formdata=None, prefix="answer")
    followup_form = forms.get("followup_form") or FollowUpForm(formdata=None, prefix="followup",
                                                                data={"reported_on": services.today()})
    return render_template("criteria/admin/recommendation.html", rec=rec, answer_form=answer_form,
                           followup_form=followup_form, status=services.recommendation_status(rec),
                           age=services.recommendation_age(rec)), status


@admin_bp.get("/recomendaciones/<int:rec_id>")
@require_role(*STAFF_ROLES)
def recommendation_detail(rec_id: int):
    """A recommendation with the answer and follow-up forms (for the secretariat)."""
    return _render_rec(one_or_404(Recommendation, rec_id))


@admin_bp.post("/recomendaciones/<int:rec_id>/respuesta")
@require_role("admin", "editor")
def recommendation_answer(rec_id: int):
    """The secretariat accepts or rejects a recommendation with reasons (published correction)."""
    rec = one_or_404(Recommendation, rec_id)
    form = AnswerForm(prefix="answer")
    if not form.validate_on_submit():
        return _render_rec(rec, INVALID, answer_form=form)
    before = services.snapshot(rec)
    try:
        with atomic():
            pub = services.answer_recommendation(rec, answer=form.answer.data, reason=form.reason.data,
                                                 user=current_user)
            record_audit("criteria.recommendation.answer", "recommendation", rec.id, before,
                         {**services.snapshot(rec), "sha256": pub.sha256})
    except (services.CriteriaError, PublishError) as exc:
        rec = one_or_404(Recommendation, rec_id)
        form.form_errors.append(str(exc))
        return _render_rec(rec, CONFLICT, answer_form=form)
    flash(_("Answer published."), "success")
    return redirect(url_for(".recommendation_detail", rec_id=rec.id), code=303)


@admin_bp.post("/recomendaciones/<int:rec_id>/seguimiento")
@require_role("admin", "editor")
def recommendation_followup(rec_id: int):
    """The secretariat reports follow-up on an accepted recommendation (published correction)."""
    rec = one_or_404(Recommendation, rec_id)
    form = FollowUpForm(prefix="followup")
    if not form.validate_on_submit():
        return _render_rec(rec, INVALID, followup_form=form)
    before = services.snapshot(rec)
    try:
        with atomic():
            pub = services.report_followup(rec, reported_on=form.reported_on.data, body=form.body.data,
                                           progress=form.progress.data, evidence_url=form.evidence_url.data or "",
                                           user=current_user)
            record_audit("criteria.recommendation.followup", "recommendation", rec.id, before,
                         {**services.snapshot(rec), "sha256": pub.sha256})
    except (services.CriteriaError, PublishError) as exc:
        rec = one_or_404(Recommendation, rec_id)
        form.form_errors.append(str(exc))
        return _render_rec(rec, CONFLICT, followup_form=form)
    flash(_("Follow-up report published."), "success")
    return redirect(url_for(".recommendation_detail", rec_id=rec.id), code=303)


BLUEPRINTS = [bp, admin_bp, portal_bp]


def dashboard_widget() -> Markup:
    """Admin dashboard widget: open cycles with what is pending for the current user's role,
    and recommendations awaiting the secretariat's answer."""
    cycles = db.session.scalars(select(EvaluationCycle).where(EvaluationCycle.status == "draft")
                                .order_by(EvaluationCycle.cutoff_date.desc())).all()
    role = current_role()
    items = []
    for c in cycles:
        rows = services.cycle_rows(c)
        if role == "evaluator":
            mine = user_slot(current_user.id)
            pending = sum(1 for r in rows if r.applies and not any(a.slot == mine for a in r.evaluations))
        elif c.stage == "reply":
            pending = sum(r.replies_missing for r in rows)
        else:
            pending = sum(1 for r in rows if r.applies and r.self_assessment is None)
        items.append({"cycle": c, "pending": pending})
    awaiting = db.session.scalars(select(Recommendation).where(Recommendation.status == "published",
                                                               Recommendation.answer == "pending")).all()
    return Markup(render_template("criteria/_dashboard_widget.html", items=items, awaiting=awaiting, role=role,
                                  **_labels()))
