"""The cross-state public portal (blueprint ``portal``, mounted at ``/``).

The portal reads every tenant's rows explicitly (``all_tenants``) and shows only published
versions of public tenants: training tenants never appear here.
"""
from __future__ import annotations

import datetime as dt

from markupsafe import Markup
from flask import Blueprint, current_app, render_template
from comun_cms.views.templating import hook_html
from sqlalchemy import and_, func, select

from comun_cms.extensions import db
from comun_cms.hooktypes import PortalWidget
from comun_cms.models import Publication
from comun_cms.pagecache import PORTAL, memo_per_generation
from comun_cms.plugins import flatten, portal_hook
from comun_cms.request_stats import request_stats
from comun_cms.tenancy import all_tenants
from comun_cms.web_settings import effective_tenant

bp = Blueprint("portal", __name__)


def public_tenants() -> list:
    """Tenants shown on the portal (every tenant except training ones), in slug order."""
    return list(current_app.extensions["comun"].public_tenants().values())


def latest_publications(limit: int = 10, tenant_slugs: list[str] | None = None) -> list[Publication]:
    """Return the newest published records, one row per record (its latest version).

    Records whose latest version is a retraction are left out, so only records that are
    published now appear.

    Args:
        limit: how many rows.
        tenant_slugs: ``None`` reads the current tenant through the global tenant filter; a list
            reads those tenants explicitly (portal; pass only non-training tenants).

    Returns:
        :class:`~comun_cms.models.Publication` rows, newest first.
    """
    latest = (select(Publication.tenant_id, Publication.content_type, Publication.record_id,
                     func.max(Publication.version).label("version"))
              .group_by(Publication.tenant_id, Publication.content_type, Publication.record_id))
    if tenant_slugs is not None:
        latest = latest.where(Publication.tenant_id.in_(tenant_slugs))
    latest = latest.subquery()
    stmt = (select(Publication)
            .join(latest, and_(Publication.tenant_id == latest.c.tenant_id,
                               Publication.content_type == latest.c.content_type,
                               Publication.record_id == latest.c.record_id,
                               Publication.version == latest.c.version))
            .where(Publication.action != "retract", Publication.redacted_at.is_(None))
            .order_by(Publication.published_at.desc(), Publication.id.desc())
            .limit(limit))
    if tenant_slugs is not None:
        stmt = all_tenants(stmt.where(Publication.tenant_id.in_(tenant_slugs)))
    return list(db.session.scalars(stmt))


def content_type_label(name: str):
    """Human label of content type ``name`` (its name when the type is not installed)."""
    registry = current_app.extensions["comun"].content_types
    return registry.get(name).label if name in registry else name


def _rendered_widgets() -> list[PortalWidget]:
    """The plugins' portal widgets, sorted by ``order``, rendered now: each one's ``render``
    returns the HTML computed here (widgets show published data, so the result is kept per
    portal generation, language and day by :func:`home`)."""
    out = []
    for widget in sorted(flatten(portal_hook("portal_widgets")()), key=lambda w: w.order):
        html = hook_html(widget.render(), f"widget {widget.title}")  # a plain str is escaped, never HTML
        out.append(PortalWidget(title=str(widget.title), render=lambda html=html: html, order=widget.order))
    return out


@bp.get("/")
def home():
    """Portal home: the states with their facts and sources, latest publications across states
    and the plugins' portal widgets (sorted by ``order``)."""
    tenants = [effective_tenant(t) for t in public_tenants()]  # colours and logos changed on the web
    plugins = tuple(sorted({name for t in tenants for name in t.plugins}))
    widgets = memo_per_generation("portal.widgets", _rendered_widgets, tenant_slug=PORTAL,
                                  vary=(dt.datetime.now(dt.timezone.utc).date(), plugins))
    # one card per tenant: with hundreds of tenants the cards were most of the page's time
    # (bench/bench_states.py); they change only with a generation, like the widgets
    cards = memo_per_generation("portal.state_cards",
                                lambda: Markup(render_template("portal/_state_cards.html", states=tenants)),
                                tenant_slug=PORTAL)
    return render_template(
        "portal/home.html", states=tenants, widgets=widgets, state_cards=cards,
        publications=latest_publications(10, [t.slug for t in tenants]),
        tenant_map={t.slug: t for t in tenants}, content_type_label=content_type_label)


@bp.get("/solicitudes")
def requests_answered():
    """How each state answers citizens: requests received, answered, answered on time and the
    median business days to answer (no personal data)."""
    rows, total = request_stats(public_tenants())
    return render_template("portal/requests.html", stats_rows=rows, stats_total=total)


@bp.get("/acerca")
def about():
    """About the citizen observatory."""
    return render_template("portal/about.html", states=public_tenants())
