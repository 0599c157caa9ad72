"""The minutes' admin overview (bodies, sessions by stage, overdue agreements) and the admin
dashboard widget."""
from __future__ import annotations

from flask import g, render_template
from markupsafe import Markup
from sqlalchemy import func, select

from comun_cms.toolkit import db, require_role

from .. import services as svc
from .. import vocab
from ..models import Agreement, Body, Session
from ..templating import helpers
from .common import EDITORS


def _overdue_count(today) -> int:
    return db.session.scalar(select(func.count(Agreement.id)).where(
        Agreement.status == "published", svc.overdue_condition(today))) or 0


@require_role(*EDITORS)
def index():
    """Bodies, sessions by stage and the agreements that need attention."""
    today = svc.tenant_today(g.tenant)
    bodies = db.session.scalars(select(Body).order_by(Body.name)).all()
    sessions = db.session.scalars(select(Session).order_by(Session.session_date.desc().nulls_last(),
                                                           Session.id.desc())).all()
    by_stage = {stage: [s for s in sessions if s.stage == stage] for stage in vocab.STAGES}
    return render_template("stl_minutes/admin/index.html", bodies=bodies, by_stage=by_stage,
                           overdue=_overdue_count(today))


def render_dashboard_widget() -> Markup:
    """HTML (``Markup``) of the admin dashboard widget: minutes waiting in review or approval, and overdue
    agreements (with links). Called by the core inside a tenant request."""
    today = svc.tenant_today(g.tenant)
    waiting = db.session.scalars(select(Session).where(Session.status == "draft",
                                                       Session.stage.in_(("review", "approved")))).all()
    return Markup(render_template("stl_minutes/admin/_widget.html", waiting=waiting,
                                  overdue=_overdue_count(today), **helpers()))
