"""Admin pages of the assessments and replies of a cycle
(``/<tenant>/admin/criterios/ciclos/<id>/...``): an evaluator assesses a criterion in their own
slot, the secretariat fills in the self-assessment and replies to the evaluators' assessments.
Nobody edits someone else's assessment.

In a published cycle, changing one's own assessment or reply publishes a correction of the cycle
with a reason. Every write goes through :func:`comun_cms.toolkit.admin_change` (one transaction
with its audit event).
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import select

from comun_cms.toolkit import (
    ChangeRefused, ReasonForm, admin_change, db, one_or_404, require_role, snapshot, store_upload,
)

from .. import services
from ..forms import AssessmentForm, CategoryRowForm, ReplyForm
from ..models import SELF_SLOT, Assessment, EvaluationCycle, user_slot
from .common import CONFLICT, INVALID, bp, current_role, is_evaluator


def assessment_mode(c: EvaluationCycle) -> tuple[str, str | None]:
    """``(slot, problem)`` for the current user assessing in cycle ``c``.

    Evaluators assess in their own slot during the evaluation stage; the secretariat fills the
    self-assessment during the self-assessment stage; both may correct their own rows of a
    published cycle. ``problem`` is the reason the user cannot assess now, else ``None``.

    Raises:
        werkzeug.exceptions.Forbidden: the user is neither an evaluator nor the secretariat.
    """
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


@bp.route("/ciclos/<int:cycle_id>/criterios/<int:criterion_id>/evaluar", methods=["GET", "POST"])
@require_role("evaluator", "admin", "editor")
def assess(cycle_id: int, criterion_id: int):
    """Assess one criterion: an evaluator in their own slot, the secretariat in the
    self-assessment. In a published cycle, a change of one's own assessment publishes a
    correction (reason required). Nobody edits someone else's assessment."""
    c = one_or_404(EvaluationCycle, cycle_id)
    criterion = services.cycle_criterion(c, criterion_id)
    if criterion is None:
        abort(404)
    slot, problem = assessment_mode(c)
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
    if slot == SELF_SLOT:
        who = {"role": "self_assessment", "name": services.display_name(current_user),
               "organization": g.tenant.short_name}
    else:
        who = {"role": decl.evaluator_role, "name": decl.name, "organization": decl.organization}
    # a refused upload is shown on the snapshot field (UploadError.field), a broken rule on its field or the form
    with admin_change("criteria.assessment.save", existing, object_type="criteria_assessment", form=form,
                      errors=(services.CriteriaError,)) as change:
        att = None
        if form.snapshot.data and getattr(form.snapshot.data, "filename", ""):
            att = store_upload(form.snapshot.data, title=_("Evidence of %(code)s", code=criterion.code),
                               kinds=("image", "pdf"), field="snapshot", user_id=current_user.id)
            db.session.flush()
        a = change.record = services.save_assessment(
            c, criterion, slot=slot, evaluator=current_user, evaluator_role=who["role"],
            evaluator_name=who["name"], organization=who["organization"], result=form.result.data,
            value=form.value.data if criterion.scoring_type == "percentage" else None,
            comment=form.comment.data or "", evidence_url=form.evidence_url.data or "",
            evidence_captured_on=form.evidence_captured_on.data, attachment=att)
        after = snapshot(a)
        if published:
            after["sha256"] = services.correct_cycle(c, form.reason.data, user=current_user).sha256
        change.after = after
    if change.failed:
        return render(form, INVALID)
    flash(_("Assessment of %(code)s saved.", code=criterion.code) if not published
          else _("Correction published (version %(n)d).", n=c.version), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id) + f"#crit-{criterion.id}", code=303)


@bp.route("/ciclos/<int:cycle_id>/evaluaciones/<int:assessment_id>/replica", methods=["GET", "POST"])
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
    with admin_change("criteria.reply.save", object_type="criteria_reply", before=before, form=form,
                      errors=(services.CriteriaError,)) as change:
        r = change.record = services.save_reply(a, body=form.body.data, evidence_url=form.evidence_url.data or "",
                                                user=current_user)
        after = {"assessment": a.id, "body": r.body, "evidence_url": r.evidence_url}
        if published:
            after["sha256"] = services.correct_cycle(c, form.reason.data, user=current_user).sha256
        change.after = after
    if change.failed:
        return render(form, INVALID)
    flash(_("Reply saved.") if not published else _("Correction published (version %(n)d).", n=c.version), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id) + f"#crit-{a.criterion_id}", code=303)


@bp.route("/ciclos/<int:cycle_id>/categorias/<int:category_id>/evaluar", methods=["GET", "POST"])
@require_role("evaluator", "admin", "editor")
def assess_category(cycle_id: int, category_id: int):
    """Assess every criterion of a category in one form (the same rules as :func:`assess`, row
    by row). Rows left without a result are not saved; a problem in any row stores nothing and
    names the criteria. In a published cycle only existing assessments are corrected, all in one
    correction with one reason."""
    c = one_or_404(EvaluationCycle, cycle_id)
    category = next((k for k in c.framework.categories if k.id == category_id), None)
    if category is None:
        abort(404)
    slot, problem = assessment_mode(c)
    published = c.status == "published"
    tenant_slug = c.tenant_id or g.tenant.slug
    criteria = [cr for cr in c.framework.criteria if cr.category_id == category.id and cr.applies_in(tenant_slug)]
    existing = {cr.id: services.find_assessment(c, cr, slot) for cr in criteria}
    if published:
        criteria = [cr for cr in criteria if existing[cr.id] is not None]
        if not criteria and problem is None:
            problem = _("The cycle is published; only existing assessments can be corrected.")
    decl = services.declaration_for(c, current_user) if slot != SELF_SLOT else None
    if slot != SELF_SLOT and decl is None and problem is None:
        flash(_("Before assessing, declare your role and any conflict of interest."), "warning")
        return redirect(url_for(".declaration", cycle_id=c.id), code=303)

    def row_form(cr, formdata):
        a = existing[cr.id]
        data = {}
        if a is not None and formdata is None:  # a submitted row is what was sent, nothing else
            data = {"result": a.result, "value": a.value if cr.scoring_type == "percentage" else None,
                    "comment": a.comment, "evidence_url": a.evidence_url,
                    "evidence_captured_on": a.evidence_captured_on}
        return CategoryRowForm(formdata=formdata, prefix=f"c{cr.id}", data=data)

    def render(main, rows, status=200):
        return render_template("criteria/admin/assess_category.html", cycle=c, category=category, rows=rows,
                               form=main, problem=problem, published=published, self_slot=slot == SELF_SLOT), status

    if request.method == "GET":
        rows = [(cr, row_form(cr, None)) for cr in criteria]
        return render(ReasonForm(formdata=None), rows, CONFLICT if problem else 200)
    main = ReasonForm()
    main.require_reason = published
    rows = [(cr, row_form(cr, request.form)) for cr in criteria]
    if problem:
        main.form_errors.append(problem)
        return render(main, rows, CONFLICT)
    valid = main.validate_on_submit()
    valid = all([f.validate() for _cr, f in rows]) and valid
    filled = [(cr, f) for cr, f in rows if f.result.data]
    if valid and not filled:
        main.form_errors.append(_("Choose the result of at least one criterion."))
        valid = False
    if not valid:
        bad = [cr.code for cr, f in rows if f.errors]
        if bad:
            main.form_errors.append(_("Criteria with problems: %(codes)s. Nothing was saved.", codes=", ".join(bad)))
        return render(main, rows, INVALID)
    if slot == SELF_SLOT:
        who = {"role": "self_assessment", "name": services.display_name(current_user),
               "organization": g.tenant.short_name}
    else:
        who = {"role": decl.evaluator_role, "name": decl.name, "organization": decl.organization}
    with admin_change("criteria.assessment.save_category", None, object_type="criteria_category",
                      object_id=category.id, form=main, errors=(services.CriteriaError,)) as change:
        bad = []
        for cr, f in filled:
            try:
                services.save_assessment(
                    c, cr, slot=slot, evaluator=current_user, evaluator_role=who["role"],
                    evaluator_name=who["name"], organization=who["organization"], result=f.result.data,
                    value=f.value.data if cr.scoring_type == "percentage" else None,
                    comment=f.comment.data or "", evidence_url=f.evidence_url.data or "",
                    evidence_captured_on=f.evidence_captured_on.data)
            except services.CriteriaError as exc:
                target = getattr(f, exc.field, None) if exc.field else None
                (target or f.result).errors = list((target or f.result).errors or []) + [str(exc)]
                bad.append(cr.code)
        if bad:
            raise ChangeRefused(_("Criteria with problems: %(codes)s. Nothing was saved.", codes=", ".join(bad)))
        after = {"category": category.code, "slot": slot, "criteria": [cr.code for cr, _f in filled]}
        if published:
            after["sha256"] = services.correct_cycle(c, main.reason.data, user=current_user).sha256
        change.after = after
    if change.failed:
        return render(main, rows, INVALID)
    flash(ngettext("%(num)d assessment saved.", "%(num)d assessments saved.", len(filled)) if not published
          else _("Correction published (version %(n)d).", n=c.version), "success")
    return redirect(url_for(".cycle_detail", cycle_id=c.id) + f"#crit-{filled[0][0].id}", code=303)
