"""Portal widget of the co-creation plugin (item 8 of issue 16): the consultations open today
across the public tenants, and the published problems of every public tenant counted by theme.
Explicit all-tenants reads of published records only; computed once per portal generation."""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup
from sqlalchemy import func, select

from comun_cms.toolkit import all_tenants, db, get_tenants, memo_per_generation, tenant_context, utcnow

from . import services as svc
from .models import Problem, Process

PLUGIN = "cocreation"


def portal_data() -> dict:
    """``{"open": [(tenant, process)], "themes": [(theme, {slug: n}, total)], "tenants": [Tenant]}``
    over the public tenants enabling the plugin; a consultation is open when today, in that
    tenant's timezone, lies between its two dates."""
    tenants = [t for t in get_tenants(public_only=True).values() if t.enables(PLUGIN)]
    slugs = [t.slug for t in tenants]
    by_slug = {t.slug: t for t in tenants}
    open_now = []
    if slugs:
        for process in db.session.scalars(all_tenants(select(Process).where(
                Process.tenant_id.in_(slugs), Process.status == "published",
                Process.consultation_opens.is_not(None)).order_by(Process.tenant_id, Process.id))):
            tenant = by_slug[process.tenant_id]
            if svc.consultation_state(process, svc.tenant_today(tenant)) == "open":
                open_now.append((tenant, process))
    themes: dict[str, dict[str, int]] = {}
    if slugs:
        rows = db.session.execute(all_tenants(select(Problem.theme, Problem.tenant_id, func.count(Problem.id)).where(
            Problem.tenant_id.in_(slugs), Problem.status == "published").group_by(Problem.theme, Problem.tenant_id)))
        for theme, slug, count in rows:
            themes.setdefault(theme, {})[slug] = count
    ordered = sorted(((theme, counts, sum(counts.values())) for theme, counts in themes.items()),
                     key=lambda row: (-row[2], row[0]))
    return {"open": open_now, "themes": ordered, "tenants": tenants}


def render_portal_widget() -> Markup:
    """HTML of the portal widget (``Markup``)."""
    def compute():
        with tenant_context(None):
            return str(render_template("cocreation/_portal_widget.html", **portal_data()))
    # "open today" also changes with the date: the memo varies by the UTC hour
    return Markup(memo_per_generation("cocreation.portal", compute, vary=(utcnow().strftime("%Y-%m-%dT%H"),)))
