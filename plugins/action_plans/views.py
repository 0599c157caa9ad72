"""Public pages of the action-plans plugin (blueprint ``action_plans``, mounted at
``/<tenant>/planes-de-accion``) and its portal blueprint (``portal_action_plans``: the plugin's
static files at the site root), plus the renderers of the template slots and portal widget.

Only published plans and commitments are public; the tenant's staff also see drafts, with a
banner. Charts are server-side SVG bars with the same figures in a table, so they read without
JavaScript and with a screen reader.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, g, render_template, url_for
from flask_babel import get_locale, gettext as _
from icalendar import Calendar, Event
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from comun_cms.toolkit import (
    Page, Publication, all_tenants, content_disposition, content_types, db, get_section, get_tenants, can,
    latest_publication, tenant_context, VIEW_UNPUBLISHED,
)

from . import progress as prog
from . import services
from .content import (
    COMMITMENT_TYPE, PLAN_TYPE, attachments_of_many, commitment_label, plan_attachments, published_commitments,
)
from .loaders import DOCUMENT_PAGES
from .models import OWNER_COMMITMENT, OWNER_MILESTONE, OWNER_REPORT, PLUGIN, ActionPlan, Commitment, Milestone

DATA_DIR = Path(__file__).parent / "data"

bp = Blueprint("action_plans", __name__, template_folder="templates", url_prefix="/planes-de-accion")
portal_bp = Blueprint("portal_action_plans", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/action-plans-static")


# --------------------------------------------------------------------------- helpers
def tenant_notices(slug: str) -> list[dict]:
    """Public notices about a tenant's action plans (``data/notices.json``): ``[{"text",
    "source"}]`` in the current language, e.g. that Puebla had no local action plan as of
    March 2020 (source cited in ``shared/data/tenants.json``)."""
    path = DATA_DIR / "notices.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    lang = "en" if str(get_locale() or "es").startswith("en") else "es"
    return [{"text": n.get(f"text_{lang}") or n.get("text_es", ""), "source": n.get("source", "")}
            for n in data.get(slug, [])]


def document_links(*texts: str) -> list[dict]:
    """Published pages of source documents cited in ``texts`` (e.g. the Estado de México
    progress report that the core publishes as a page): ``[{"title", "url"}]``."""
    joined = " ".join(t or "" for t in texts)
    slugs = [slug for filename, slug in DOCUMENT_PAGES.items() if filename in joined]
    if not slugs:
        return []
    pages = {p.slug: p for p in db.session.scalars(select(Page).where(Page.slug.in_(slugs), Page.status == "published"))}
    return [{"title": pages[slug].title, "url": url_for("public.page", slug=slug)} for slug in slugs if slug in pages]


def is_staff() -> bool:
    """``True`` if the current user may see the tenant's drafts and non-public files
    (``content.view_unpublished``: not evaluators)."""
    return can(VIEW_UNPUBLISHED)


def chart_row(c: Commitment) -> dict:
    """Chart data of one commitment from its :meth:`~plugins.action_plans.models.Commitment.figures`
    (the one definition of status and progress): ``{"commitment", "status", "progress",
    "source", "segments": [{"key", "label", "colour", "percent", "x"}]}``; ``x`` is where the
    segment starts (percent)."""
    f = services.figures(c)
    segments, x = [], 0.0
    for key, pct in f.segments:
        segments.append({"key": key, "label": prog.SEGMENT_LABELS[key], "colour": prog.SEGMENT_COLOURS[key],
                         "percent": pct, "x": round(x, 2)})
        x += pct
    return {"commitment": c, "status": f.status, "progress": f.progress, "source": f.source, "segments": segments}


def _fmt_pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def visible_plans() -> list[ActionPlan]:
    """Plans the viewer may see: published ones (staff also see drafts), by number."""
    q = select(ActionPlan).order_by(ActionPlan.number)
    if not is_staff():
        q = q.where(ActionPlan.status == "published")
    else:
        q = q.where(ActionPlan.status != "retracted")
    return list(db.session.scalars(q))


def visible_commitments(plan: ActionPlan) -> list[Commitment]:
    """Commitments of ``plan`` the viewer may see (published; staff also drafts)."""
    staff = is_staff()
    return [c for c in plan.commitments if c.status == "published" or (staff and c.status == "draft")]


def public_milestones() -> list[tuple[Milestone, Commitment]]:
    """Milestones of published commitments of published plans, by dates."""
    q = (select(Milestone, Commitment).join(Commitment, Milestone.commitment_id == Commitment.id)
         .join(ActionPlan, Commitment.plan_id == ActionPlan.id)
         .where(Commitment.status == "published", ActionPlan.status == "published"))
    rows = [(m, c) for m, c in db.session.execute(q)]
    far = dt.date.max
    rows.sort(key=lambda r: (r[0].start_date or r[0].end_date or far, r[0].end_date or far, r[1].number, r[0].number))
    return rows


def agenda(tenant, today: dt.date | None = None, days: int | None = None) -> dict:
    """The activity agenda: ``{"today", "days", "current": [...], "upcoming": [...],
    "overdue": [...]}`` of ``(milestone, commitment)`` pairs.

    * ``current``: started before or on ``today`` and ending on or after it, not done;
    * ``upcoming``: starting after ``today`` within ``days`` (setting ``agenda_days``);
    * ``overdue``: ended before ``today`` (tenant time zone) and neither completed nor verified.
    """
    today = today or prog.tenant_today(tenant)
    days = days if days is not None else int(services.setting(tenant, "agenda_days"))
    horizon = today + dt.timedelta(days=days)
    out = {"today": today, "days": days, "current": [], "upcoming": [], "overdue": []}
    for m, c in public_milestones():
        start = m.start_date or m.end_date
        end = m.end_date or m.start_date
        if start is None:
            continue
        if prog.is_overdue(end, m.progress_status, today):
            out["overdue"].append((m, c))
        elif start <= today <= end and m.progress_status not in prog.DONE:
            out["current"].append((m, c))
        elif today < start <= horizon:
            out["upcoming"].append((m, c))
    return out


def _span(milestones) -> tuple[dt.date | None, dt.date | None]:
    """First start and last end date of ``milestones`` (``(None, None)`` without dates)."""
    starts = [d for m in milestones for d in (m.start_date, m.end_date) if d]
    return (min(starts), max(starts)) if starts else (None, None)


def _evidence(owner_type: str, ids) -> dict[int, list]:
    return _evidence_of({owner_type: ids}).get(owner_type, {})


def _evidence_of(owners: dict[str, Any]) -> dict[str, dict[int, list]]:
    """Visible attachments of several owner types in one query:
    ``{owner_type: {owner id: [Attachment, ...]}}`` for ``owners`` = ``{owner_type: ids}``."""
    out: dict[str, dict[int, list]] = {t: {} for t in owners}
    staff = is_staff()
    for a in attachments_of_many(owners):
        if a.public or staff:
            out[a.owner_type].setdefault(int(a.owner_id), []).append(a)
    return out


# --------------------------------------------------------------------------- public pages
@bp.get("/")
def index():
    """The tenant's action plans with their rolled-up progress, and notices (e.g. a state
    with no published plan)."""
    plans = visible_plans()
    cards = []
    for p in plans:
        commitments = visible_commitments(p)
        rows = [chart_row(c) for c in commitments]
        cards.append({"plan": p, "commitments": commitments,
                      "progress": prog.plan_progress(r["progress"] for r in rows), "rows": rows})
    return render_template("action_plans/index.html", cards=cards, notices=tenant_notices(g.tenant.slug),
                           section=get_section("commitments"), labels=_labels())


def _labels() -> dict:
    return {"status": prog.STATUS_LABELS, "phase": prog.PHASE_LABELS, "framework": prog.FRAMEWORK_LABELS,
            "origin": prog.ORIGIN_LABELS, "og": prog.OG_VALUE_LABELS, "irm": prog.IRM_LABELS,
            "segment": prog.SEGMENT_LABELS, "colours": prog.SEGMENT_COLOURS, "order": prog.SEGMENT_ORDER}


def _retracted(record, content_type: str):
    ct = content_types().get(content_type)
    return render_template("public/retracted.html", record=record, content_type=ct,
                           publication=latest_publication(content_type, record.id),
                           section=get_section("commitments")), 410


@bp.get("/<int:plan_id>")
def plan(plan_id: int):
    """A plan: its facts, the progress chart per commitment (stacked by status), sources and
    history. Drafts: 404 except for staff; retracted: 410 with the reason."""
    record = db.first_or_404(select(ActionPlan).where(ActionPlan.id == plan_id))
    if record.status == "draft" and not is_staff():
        abort(404)
    if record.status == "retracted":
        return _retracted(record, "action_plan")
    commitments = visible_commitments(record)
    documents = [a for a in plan_attachments(record) if a.public or is_staff()]
    rows = [chart_row(c) for c in commitments]
    return render_template("action_plans/plan.html", plan=record, commitments=commitments,
                           content_type=PLAN_TYPE, rows=rows,
                           progress=prog.plan_progress(r["progress"] for r in rows),
                           publication=latest_publication("action_plan", record.id),
                           documents=documents, notices=tenant_notices(g.tenant.slug),
                           source_pages=document_links(record.source),
                           today=prog.tenant_today(g.tenant), section=get_section("commitments"), labels=_labels())


@bp.get("/compromisos/<int:commitment_id>")
def commitment(commitment_id: int):
    """A commitment: SMART card, progress bar, milestones timeline (overdue flagged in the
    tenant's time zone), evidence, progress reports and a link to its version history."""
    record = db.first_or_404(select(Commitment).where(Commitment.id == commitment_id)
                             .options(joinedload(Commitment.plan)))
    if record.status == "draft" and not is_staff():
        abort(404)
    if record.status == "retracted":
        return _retracted(record, "commitment")
    if record.plan.status != "published" and not is_staff():
        abort(404)
    evidence = _evidence_of({OWNER_COMMITMENT: [record.id], OWNER_MILESTONE: [m.id for m in record.milestones],
                             OWNER_REPORT: [r.id for r in record.reports]})
    return render_template(
        "action_plans/commitment.html", c=record, plan=record.plan, row=chart_row(record),
        content_type=COMMITMENT_TYPE, source_pages=document_links(record.source or record.plan.source),
        milestone_span=_span(record.milestones),
        publication=latest_publication("commitment", record.id),
        evidence=evidence[OWNER_COMMITMENT].get(record.id, []),
        milestone_evidence=evidence[OWNER_MILESTONE], report_evidence=evidence[OWNER_REPORT],
        today=prog.tenant_today(g.tenant), section=get_section("commitments"), labels=_labels())


@bp.get("/agenda")
def agenda_page():
    """The activity agenda: milestones under way, upcoming and overdue, with the iCalendar feed."""
    return render_template("action_plans/agenda.html", agenda=agenda(g.tenant), section=get_section("commitments"),
                           labels=_labels())


@bp.get("/agenda.ics")
def agenda_ics():
    """iCalendar feed (RFC 5545) of every dated milestone of the published commitments:
    all-day events from the start to the end date."""
    return Response(calendar_ics(g.tenant), content_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": content_disposition("inline", f"{g.tenant.slug}-agenda.ics"),
                             "X-Content-Type-Options": "nosniff"})


def calendar_ics(tenant) -> bytes:
    """Build the iCalendar (RFC 5545) bytes of the tenant's milestones with the ``icalendar``
    package: one all-day VEVENT per dated milestone of a published commitment (UID
    ``ap-milestone-<id>@<tenant>``, DTSTAMP = the commitment's publication time)."""
    cal = Calendar()
    cal.add("prodid", "-//Comun CMS//action_plans//ES")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Open-government agenda · %(name)s", name=tenant.short_name))
    cal.add("x-wr-timezone", tenant.timezone)
    for m, c in public_milestones():
        start = m.start_date or m.end_date
        end = m.end_date or m.start_date
        if start is None:
            continue
        event = Event()
        event.add("uid", f"ap-milestone-{m.id}@{tenant.slug}.comun")
        event.add("dtstamp", c.published_at or dt.datetime.now(dt.timezone.utc))
        event.add("dtstart", start)
        event.add("dtend", end + dt.timedelta(days=1))
        summary = f"{c.number}.{m.number} {m.description}"
        if c.is_demo:
            summary = f"[{_('Demo data')}] {summary}"
        event.add("summary", summary[:250])
        description = [commitment_label(c), _("Status: %(s)s", s=prog.STATUS_LABELS.get(m.progress_status, m.progress_status))]
        if m.deliverable:
            description.append(_("Deliverable: %(d)s", d=m.deliverable))
        if m.owner:
            description.append(_("Owner: %(o)s", o=m.owner))
        event.add("description", "\n".join(description))
        event.add("url", url_for("action_plans.commitment", commitment_id=c.id, _external=True))
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()


# --------------------------------------------------------------------------- slots and widgets
def render_section_slot(tenant) -> Markup:
    """HTML of the ``section.commitments`` slot: "Avance de los compromisos y agenda de
    actividades" — each published plan with its progress chart, and the next milestones."""
    plans = list(db.session.scalars(select(ActionPlan).where(ActionPlan.status == "published")
                                    .order_by(ActionPlan.number)))
    cards = []
    for p in plans:
        rows = [chart_row(c) for c in published_commitments(p)]
        cards.append({"plan": p, "progress": prog.plan_progress(r["progress"] for r in rows), "rows": rows})
    ag = agenda(tenant)
    return Markup(render_template("action_plans/_section.html", cards=cards, agenda=ag,
                                  notices=tenant_notices(tenant.slug), labels=_labels()))


def head_slot() -> Markup:
    """``<link>`` to the plugin's stylesheet (slot ``head``)."""
    href = url_for("portal_action_plans.static", filename="action_plans.css")
    return Markup('<link rel="stylesheet" href="%s">') % href


def state_comparison() -> list[dict]:
    """Cross-state figures for the portal: one row per public tenant enabling the plugin:
    ``{"tenant", "plans", "commitments", "progress", "by_status": {status: n}, "demo",
    "notices"}`` from published plans and commitments only (explicit all-tenants read)."""
    rows = []
    for tenant in get_tenants().values():
        if tenant.training or not tenant.enables(PLUGIN):
            continue
        plans = list(db.session.scalars(all_tenants(
            select(ActionPlan).where(ActionPlan.tenant_id == tenant.slug, ActionPlan.status == "published"))))
        commitments = list(db.session.scalars(all_tenants(
            select(Commitment).join(ActionPlan, Commitment.plan_id == ActionPlan.id)
            .where(Commitment.tenant_id == tenant.slug, Commitment.status == "published",
                   ActionPlan.status == "published"))))
        by_status = {s: 0 for s in ("", *prog.STATUSES)}
        figures = [services.figures(c) for c in commitments]
        for f in figures:
            by_status[f.status if f.status in by_status else ""] += 1
        rows.append({"tenant": tenant, "plans": len(plans), "commitments": len(commitments),
                     "progress": prog.plan_progress(f.progress for f in figures), "by_status": by_status,
                     "demo": any(p.is_demo for p in plans), "real": any(not p.is_demo for p in plans),
                     "notices": tenant_notices(tenant.slug)})
    return rows


def render_portal_widget() -> Markup:
    """HTML of the portal widget comparing the states' action plans."""
    with tenant_context(None):
        return Markup(render_template("action_plans/_portal_widget.html", rows=state_comparison(), labels=_labels()))


def render_dashboard_widget(tenant) -> Markup:
    """HTML of the admin dashboard widget: overdue milestones and draft commitments."""
    today = prog.tenant_today(tenant)
    overdue = [(m, c) for m, c in db.session.execute(
        select(Milestone, Commitment).join(Commitment, Milestone.commitment_id == Commitment.id)
        .where(Commitment.status != "retracted"))
        if prog.is_overdue(m.end_date, m.progress_status, today)]
    drafts = db.session.scalars(select(Commitment).where(Commitment.status == "draft")).all()
    return Markup(render_template("action_plans/_dashboard_widget.html", overdue=overdue, drafts=drafts, today=today))


def record_history_url(content_type: str, record_id: Any) -> str:
    """URL of the core history page of a record."""
    return url_for("public.history", content_type=content_type, record_id=record_id)


def latest_publications_of(content_type: str, ids: list[int]) -> dict[str, Publication]:
    """Newest publication per record id (current tenant) for ``ids``."""
    if not ids:
        return {}
    out: dict[str, Publication] = {}
    for pub in db.session.scalars(select(Publication).where(
            Publication.content_type == content_type, Publication.record_id.in_([str(i) for i in ids]))
            .order_by(Publication.version)):
        out[pub.record_id] = pub
    return out


@bp.app_template_global("ap_pct")
def ap_pct(value) -> str:
    """Template helper: a percentage as text (``"60"``, ``"77.86"``, ``"—"`` when unknown)."""
    return _fmt_pct(value)

