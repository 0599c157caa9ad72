"""Admin pages of the evaluation cycles (``/<tenant>/admin/criterios/ciclos/...``): open a cycle,
its workspace, move it to the next stage, publish it, the evaluator's declaration and the
evidence checklist. Assessments and replies are in :mod:`plugins.criteria.admin.assessments`.

Every write goes through :func:`comun_cms.toolkit.admin_change` (one transaction with its audit
event); a broken workflow rule answers 409 with the reason, bad input 422.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from comun_cms.toolkit import STAFF_ROLES, ConfirmForm, admin_change, one_or_404, require_role, snapshot

from .. import services
from ..forms import CycleForm, DeclarationForm, StageForm
from ..models import STAGES, EvaluationCycle, user_slot
from ..views import category_chart
from .common import CONFLICT, INVALID, bp, current_role, is_evaluator, published_frameworks, reply_days


@bp.route("/ciclos/nuevo", methods=["GET", "POST"])
@require_role("evaluator")
def cycle_new():
    """Open an evaluation cycle on a published framework version (evaluators)."""
    form = CycleForm()
    frameworks = published_frameworks()
    form.framework_id.choices = [SelectChoice(f.id, f"{f.name} ({f.version_label})") for f in frameworks]
    if form.validate_on_submit():
        fw = next(f for f in frameworks if f.id == form.framework_id.data)
        with admin_change("criteria.cycle.create", object_type="evaluation_cycle", form=form,
                          success=_("Cycle opened. Move it to the self-assessment stage when the secretariat may "
                                    "start."), errors=(services.CriteriaError,)) as change:
            change.record = c = services.create_cycle(
                fw, title=form.title.data, period_label=form.period_label.data, cutoff_date=form.cutoff_date.data,
                period_start=form.period_start.data, period_end=form.period_end.data,
                reply_deadline=form.reply_deadline.data, methodology=form.methodology.data or "",
                is_demo=form.is_demo.data, user=current_user)
        if change.ok:
            return redirect(url_for(".cycle_detail", cycle_id=c.id), code=303)
    status = INVALID if form.is_submitted() else 200
    return render_template("criteria/admin/cycle_new.html", form=form, frameworks=frameworks), status


def render_cycle(c: EvaluationCycle, status: int = 200, errors: list[str] | None = None):
    """The cycle's workspace page with HTTP ``status`` and the ``errors`` of a refused action
    listed at the top."""
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


@bp.get("/ciclos/<int:cycle_id>")
@require_role(*STAFF_ROLES)
def cycle_detail(cycle_id: int):
    """A cycle's workspace: stage, criteria with self-assessment, evaluators' assessments (shown
    to the secretariat from the reply stage on), replies, provisional scores and actions."""
    return render_cycle(one_or_404(EvaluationCycle, cycle_id))


@bp.post("/ciclos/<int:cycle_id>/etapa")
@require_role("evaluator")
def cycle_advance(cycle_id: int):
    """Move the cycle to its next stage (evaluators)."""
    c = one_or_404(EvaluationCycle, cycle_id)
    form = StageForm()
    if not form.validate_on_submit() or form.target.data not in STAGES:
        return render_cycle(c, INVALID, [_("Choose the next stage.")])
    target = form.target.data
    # form=form: a refusal is listed on the page (render_cycle), not flashed
    with admin_change("criteria.cycle.stage", c, object_type="evaluation_cycle", form=form,
                      success=_("The cycle is now in the stage “%(stage)s”.", stage=services.STAGE_LABELS[target]),
                      errors=(services.CriteriaError,)) as change:
        services.advance_stage(c, target, reply_days())
    if change.failed:
        return render_cycle(c, CONFLICT, [str(change.error)])
    return redirect(url_for(".cycle_detail", cycle_id=c.id), code=303)


@bp.post("/ciclos/<int:cycle_id>/publicar")
@require_role("evaluator")
def cycle_publish(cycle_id: int):
    """Publish the cycle: scores frozen, assessments and replies serialized and notarized."""
    c = one_or_404(EvaluationCycle, cycle_id)
    form = ConfirmForm(prefix="publish")
    if not form.validate_on_submit():
        abort(400)
    # form=form: a refusal is listed on the page (render_cycle), not flashed
    with admin_change("criteria.cycle.publish", c, object_type="evaluation_cycle", form=form,
                      errors=(services.CriteriaError,)) as change:
        pub = services.publish_cycle(c, user=current_user)
        change.after = {**snapshot(c), "sha256": pub.sha256, "total": (c.scores or {}).get("total")}
    if change.failed:
        return render_cycle(one_or_404(EvaluationCycle, cycle_id), CONFLICT, [str(change.error)])
    flash(_("Cycle published (version %(n)d).", n=c.version), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id), code=303)


@bp.route("/ciclos/<int:cycle_id>/declaracion", methods=["GET", "POST"])
@require_role("evaluator")
def declaration(cycle_id: int):
    """The evaluator's declaration for the cycle: role, organization, conflicts of interest."""
    c = one_or_404(EvaluationCycle, cycle_id)
    decl = services.declaration_for(c, current_user)

    def render(form, status=200):
        return render_template("criteria/admin/declaration.html", cycle=c, form=form, decl=decl), status

    if request.method == "GET":
        data = {"name": services.display_name(current_user)}
        if decl is not None:
            data = {"evaluator_role": decl.evaluator_role, "name": decl.name, "organization": decl.organization,
                    "has_conflict": "yes" if decl.has_conflict else "no",
                    "conflict_description": decl.conflict_description}
        return render(DeclarationForm(formdata=None, data=data))
    form = DeclarationForm()
    if c.status != "draft":
        form.form_errors.append(_("The cycle is published; declarations can no longer change."))
        return render(form, CONFLICT)
    if not form.validate_on_submit():
        return render(form, INVALID)
    with admin_change("criteria.declaration.save", decl, object_type="criteria_declaration", form=form,
                      success=_("Declaration saved."), errors=(services.CriteriaError,)) as change:
        d = change.record = services.save_declaration(
            c, current_user, evaluator_role=form.evaluator_role.data, name=form.name.data,
            organization=form.organization.data or "", has_conflict=form.has_conflict.data == "yes",
            conflict_description=form.conflict_description.data or "")
        change.after = {"cycle": c.id, "role": d.evaluator_role, "organization": d.organization,
                        "has_conflict": d.has_conflict}
    if change.failed:
        return render(form, INVALID)
    return redirect(url_for(".cycle_detail", cycle_id=c.id), code=303)


@bp.get("/ciclos/<int:cycle_id>/lista")
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
