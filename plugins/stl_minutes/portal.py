"""Portal widget of the STL-minutes plugin: latest published sessions of every public
(non-training) tenant that enables the plugin."""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup
from sqlalchemy import select

from comun_cms.toolkit import db, get_tenants

from .models import Session


def render_portal_widget(limit: int = 6) -> Markup:
    """HTML list of the ``limit`` most recent published sessions across public tenants (an
    explicit cross-tenant read of published records only)."""
    tenants = {slug: t for slug, t in get_tenants(public_only=True).items() if t.enables("stl_minutes")}
    if not tenants:
        return Markup("")
    q = (select(Session).where(Session.status == "published", Session.tenant_id.in_(list(tenants)))
         .order_by(Session.session_date.desc().nulls_last(), Session.id.desc()).limit(limit)
         .execution_options(all_tenants=True))
    sessions = list(db.session.scalars(q))
    return Markup(render_template("stl_minutes/_portal.html", sessions=sessions, tenant_map=tenants))
