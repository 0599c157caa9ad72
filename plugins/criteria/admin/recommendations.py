"""Admin pages of the recommendations (``/<tenant>/admin/criterios/recomendaciones/...``): an
evaluator issues (and publishes) a recommendation; the secretariat answers it and reports its
follow-up, each published as a correction of the recommendation.

Every write goes through :func:`comun_cms.toolkit.admin_change` (one transaction with its audit
event).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from comun_cms.toolkit import STAFF_ROLES, admin_change, db, one_or_404, require_role, snapshot

from .. import services
from ..forms import AnswerForm, FollowUpForm, RecommendationForm
from ..models import EvaluationCycle, Recommendation
from .common import CONFLICT, INVALID, bp, published_frameworks


@bp.route("/recomendaciones/nueva", methods=["GET", "POST"])
@require_role("evaluator")
def recommendation_new():
    """Issue (and publish) a recommendation to the secretariat (evaluators)."""
    form = RecommendationForm()
    frameworks = published_frameworks()
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
        with admin_change("criteria.recommendation.issue", object_type="recommendation", form=form,
                          errors=(services.CriteriaError,)) as change:
            rec = change.record = services.issue_recommendation(
                title=form.title.data, body=form.body.data, criteria=criteria, issued_on=form.issued_on.data,
                cycle=cycle_obj, issuer=current_user, issuer_organization=form.issuer_organization.data or "",
                is_demo=form.is_demo.data)
        if change.ok:
            flash(_("Recommendation %(number)s issued and published.", number=rec.number), "success")
            return redirect(url_for(".recommendation_detail", rec_id=rec.id), code=303)
    status = INVALID if form.is_submitted() else 200
    return render_template("criteria/admin/recommendation_new.html", form=form), status


def render_recommendation(rec: Recommendation, status: int = 200, **forms):
    """The admin page of a recommendation with HTTP ``status``; ``answer_form`` /
    ``followup_form`` in ``forms`` replace the empty forms (to show a sent form's errors)."""
    answer_form = forms.get("answer_form") or AnswerForm(formdata=None, prefix="answer")
    followup_form = forms.get("followup_form") or FollowUpForm(formdata=None, prefix="followup",
                                                                data={"reported_on": services.today()})
    return render_template("criteria/admin/recommendation.html", rec=rec, answer_form=answer_form,
                           followup_form=followup_form, status=services.recommendation_status(rec),
                           age=services.recommendation_age(rec)), status


@bp.get("/recomendaciones/<int:rec_id>")
@require_role(*STAFF_ROLES)
def recommendation_detail(rec_id: int):
    """A recommendation with the answer and follow-up forms (for the secretariat)."""
    return render_recommendation(one_or_404(Recommendation, rec_id))


@bp.post("/recomendaciones/<int:rec_id>/respuesta")
@require_role("admin", "editor")
def recommendation_answer(rec_id: int):
    """The secretariat accepts or rejects a recommendation with reasons (published correction)."""
    rec = one_or_404(Recommendation, rec_id)
    form = AnswerForm(prefix="answer")
    if not form.validate_on_submit():
        return render_recommendation(rec, INVALID, answer_form=form)
    with admin_change("criteria.recommendation.answer", rec, object_type="recommendation", form=form,
                      success=_("Answer published."), errors=(services.CriteriaError,)) as change:
        pub = services.answer_recommendation(rec, answer=form.answer.data, reason=form.reason.data, user=current_user)
        change.after = {**snapshot(rec), "sha256": pub.sha256}
    if change.failed:
        return render_recommendation(one_or_404(Recommendation, rec_id), CONFLICT, answer_form=form)
    return redirect(url_for(".recommendation_detail", rec_id=rec.id), code=303)


@bp.post("/recomendaciones/<int:rec_id>/seguimiento")
@require_role("admin", "editor")
def recommendation_followup(rec_id: int):
    """The secretariat reports follow-up on an accepted recommendation (published correction)."""
    rec = one_or_404(Recommendation, rec_id)
    form = FollowUpForm(prefix="followup")
    if not form.validate_on_submit():
        return render_recommendation(rec, INVALID, followup_form=form)
    with admin_change("criteria.recommendation.followup", rec, object_type="recommendation", form=form,
                      success=_("Follow-up report published."), errors=(services.CriteriaError,)) as change:
        pub = services.report_followup(rec, reported_on=form.reported_on.data, body=form.body.data,
                                       progress=form.progress.data, evidence_url=form.evidence_url.data or "",
                                       user=current_user)
        change.after = {**snapshot(rec), "sha256": pub.sha256}
    if change.failed:
        return render_recommendation(one_or_404(Recommendation, rec_id), CONFLICT, followup_form=form)
    return redirect(url_for(".recommendation_detail", rec_id=rec.id), code=303)
