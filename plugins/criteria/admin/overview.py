"""The evaluators' and the secretariat's workspace (``/<tenant>/admin/criterios/``) and the admin
dashboard widget of the criteria plugin."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from comun_cms.toolkit import STAFF_ROLES, db, require_role

from .. import services
from ..models import CriteriaFramework, EvaluationCycle, Recommendation, user_slot
from ..views import labels
from .common import bp, current_role


@bp.get("/")
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
                                  **labels()))
