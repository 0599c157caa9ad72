"""Public pages of the STL-minutes plugin (blueprint ``stl_minutes``, mounted at
``/<tenant>/actas``) and the ``section.minutes`` slot; the template helpers are in
:mod:`.templating`.

Routes (all GET, public, current tenant only; drafts are never shown):

* ``/actas/``: sessions (published minutes and published calls of upcoming sessions);
* ``/actas/calendario``: month calendar (``?mes=YYYY-MM``); ``/actas/calendario.ics``: iCalendar
  feed of upcoming sessions (RFC 5545, ``icalendar`` package);
* ``/actas/sesiones/<id>``: minutes of a session, or its call while the minutes are pending;
* ``/actas/acuerdos``: agreements tracker with filters; ``/actas/acuerdos/<id>``: one agreement;
* ``/actas/organos`` and ``/actas/organos/<id>``: bodies and their members.

Calls are rendered from their latest publication (canonical JSON), never from the editable
session, so a draft change can never leak before it is published.
"""
from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, g, render_template, request, url_for
from flask_babel import gettext as _
from icalendar import Calendar, Event
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from comun_cms.toolkit import content_disposition, db, latest_publication, redaction_tombstone

from . import vocab
from .commitments import commitment_link
from .content import attendance_by_sector
from .models import Agreement, Body, Call, Session
from .quorum import QuorumResult
from .services import effective_progress, is_overdue, published_call_content, tenant_today
from .templating import helpers, parse_date, parse_datetime

bp = Blueprint("stl_minutes", __name__, url_prefix="/actas", template_folder="templates",
               static_folder="static", static_url_path="/static")

PER_PAGE = 50


@bp.context_processor
def _context() -> dict[str, Any]:
    return helpers()


# --------------------------------------------------------------------------- entries
@dataclass(frozen=True)
class SessionEntry:
    """A session as listed publicly: from published minutes (``kind="minutes"``) or from a
    published call (``kind="call"``, minutes pending)."""

    session_id: int
    title: str
    body_id: int
    body_name: str
    date: dt.date | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    modality: str
    place: str
    kind: str
    is_demo: bool
    attendance: int | None = None
    agreements: int | None = None

    @property
    def url(self) -> str:
        return url_for("stl_minutes.session", session_id=self.session_id)


def minutes_entries(body_id: int | None = None) -> list[SessionEntry]:
    """Entries of every session with published minutes (optionally of one body)."""
    q = select(Session).where(Session.status == "published").options(
        selectinload(Session.body), selectinload(Session.attendance), selectinload(Session.agreements))
    if body_id is not None:
        q = q.where(Session.body_id == body_id)
    return [SessionEntry(s.id, s.title, s.body_id, s.body.name, s.session_date, s.starts_at, s.ends_at, s.modality,
                         s.place, "minutes", s.is_demo, len(s.attendance), len(s.agreements))
            for s in db.session.scalars(q)]


def call_entries(body_id: int | None = None) -> list[SessionEntry]:
    """Entries of sessions announced by a published call whose minutes are not published yet,
    built from the call's published content."""
    q = select(Call).join(Session, Call.session_id == Session.id).where(Call.status == "published",
                                                                       Session.status == "draft")
    if body_id is not None:
        q = q.where(Session.body_id == body_id)
    out = []
    for call in db.session.scalars(q):
        c = published_call_content(call)
        if c is None:
            continue
        out.append(SessionEntry(call.session_id, c.get("title", ""), c["body"]["id"], c["body"]["name"],
                                parse_date(c.get("session_date")), parse_datetime(c.get("starts_at")),
                                parse_datetime(c.get("ends_at")), c.get("modality", ""), c.get("place", ""), "call",
                                call.is_demo))
    return out


def _sort_key(e: SessionEntry):
    return (e.date or dt.date.min, e.starts_at or dt.datetime.min.replace(tzinfo=dt.timezone.utc), e.session_id)


def published_bodies() -> list[Body]:
    """Published bodies of the tenant, by kind and name."""
    order = list(vocab.BODY_KINDS)
    bodies = db.session.scalars(select(Body).where(Body.status == "published")).all()
    return sorted(bodies, key=lambda b: (order.index(b.kind) if b.kind in order else 99, b.name))


def published_agreements() -> list[Agreement]:
    """Published agreements of the tenant (their minutes are published)."""
    return list(db.session.scalars(select(Agreement).where(Agreement.status == "published")))


def progress_counts(agreements: list[Agreement], today: dt.date) -> dict[str, int]:
    """``{effective status: n}`` in the order of :data:`vocab.FILTER_STATUSES` (zeros left out)."""
    counts: dict[str, int] = {}
    for ag in agreements:
        key = effective_progress(ag, today)
        counts[key] = counts.get(key, 0) + 1
    order = ["overdue", "pending", "in_progress", "done", "cancelled", "unknown"]
    return {k: counts[k] for k in order if counts.get(k)}


def _int_arg(name: str) -> int | None:
    """Integer query argument ``name`` in 1..2**31-1, else ``None`` (never an error)."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value < 2**31 else None


# --------------------------------------------------------------------------- routes
@bp.get("/")
def index():
    """Sessions of the tenant: upcoming (published calls) and held (published minutes), newest
    first, filterable by body (``?organo=<id>``)."""
    body_id = _int_arg("organo")
    today = tenant_today(g.tenant)
    calls = call_entries(body_id)
    upcoming = sorted((e for e in calls if e.date is None or e.date >= today), key=_sort_key)
    held = sorted(minutes_entries(body_id) + [e for e in calls if e.date is not None and e.date < today],
                  key=_sort_key, reverse=True)
    return render_template("stl_minutes/index.html", upcoming=upcoming, held=held, bodies=published_bodies(),
                           body_id=body_id)


def _month_arg(today: dt.date) -> tuple[int, int]:
    value = request.args.get("mes", "")
    try:
        year, month = (int(p) for p in value.split("-"))
        if 1900 <= year <= 2200 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    return today.year, today.month


@bp.get("/calendario")
def calendar():
    """Month calendar of sessions (``?mes=YYYY-MM``, default: this month in the tenant's zone),
    a table with one row per week, links to the previous and next months, the months that have
    sessions and the address of the iCalendar feed."""
    today = tenant_today(g.tenant)
    year, month = _month_arg(today)
    entries = minutes_entries() + call_entries()
    by_day: dict[dt.date, list[SessionEntry]] = {}
    months: dict[tuple[int, int], int] = {}
    for e in entries:
        if e.date is None:
            continue
        months[(e.date.year, e.date.month)] = months.get((e.date.year, e.date.month), 0) + 1
        if (e.date.year, e.date.month) == (year, month):
            by_day.setdefault(e.date, []).append(e)
    for day in by_day.values():
        day.sort(key=_sort_key)
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    first = dt.date(year, month, 1)
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    undated = sorted((e for e in entries if e.date is None), key=lambda e: e.title)
    return render_template("stl_minutes/calendar.html", weeks=weeks, by_day=by_day, first=first, today=today,
                           prev_month=prev_month, next_month=next_month, months=sorted(months.items(), reverse=True),
                           undated=undated, month_entries=sorted((x for v in by_day.values() for x in v), key=_sort_key))


@bp.get("/calendario.ics")
def ical():
    """iCalendar feed (RFC 5545) of upcoming sessions: every published call whose date is today
    or later in the tenant's zone. Sessions with a time are timed events (UTC); sessions with
    only a date are all-day events."""
    tenant = g.tenant
    today = tenant_today(tenant)
    cal = Calendar()
    cal.add("prodid", "-//Comun CMS//stl_minutes//ES")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Sessions · %(name)s", name=tenant.short_name))
    cal.add("x-wr-timezone", tenant.timezone)
    # the configured host (absolute URLs never come from the request's Host header)
    host = urlsplit(url_for("stl_minutes.ical", _external=True)).hostname or "comun"
    for entry in sorted((e for e in call_entries() if e.date is not None and e.date >= today), key=_sort_key):
        call = db.session.scalar(select(Call).where(Call.session_id == entry.session_id))
        pub = latest_publication("stl_call", call.id)
        event = Event()
        event.add("uid", f"stl-session-{tenant.slug}-{entry.session_id}@{host}")
        event.add("dtstamp", pub.published_at)
        event.add("sequence", pub.version - 1)
        event.add("summary", f"{entry.title} · {entry.body_name}")
        if entry.starts_at is not None:
            event.add("dtstart", entry.starts_at)
            event.add("dtend", entry.ends_at or entry.starts_at + dt.timedelta(hours=2))
        else:
            event.add("dtstart", entry.date)
            event.add("dtend", entry.date + dt.timedelta(days=1))
        if entry.place:
            event.add("location", entry.place)
        details = [str(vocab.label(vocab.MODALITIES, entry.modality))]
        content = published_call_content(call) or {}
        details += [f"{i['position']}. {i['title']}" for i in content.get("agenda", [])]
        event.add("description", "\n".join(details))
        event.add("url", url_for("stl_minutes.session", session_id=entry.session_id, _external=True))
        if entry.is_demo:
            event.add("categories", [_("Demo data")])
        cal.add_component(event)
    response = Response(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = content_disposition("inline", f"{tenant.slug}-sesiones.ics")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/sesiones/<int:session_id>")
def session(session_id: int):
    """A session: its published minutes (locked, with addenda), its retraction notice, or, while
    the minutes are pending, its published call. 404 for anything else (drafts)."""
    s = db.first_or_404(select(Session).where(Session.id == session_id))
    if s.status == "retracted" and (tombstone := redaction_tombstone(s, "stl_session", "minutes")):
        return tombstone
    if s.status in ("published", "retracted"):
        pub = latest_publication("stl_session", s.id)
        quorum = QuorumResult.from_dict(s.quorum_snapshot)
        return render_template("stl_minutes/session.html", s=s, pub=pub, quorum=quorum,
                               by_sector=attendance_by_sector(s))
    call = db.session.scalar(select(Call).where(Call.session_id == s.id))
    content = published_call_content(call) if call is not None else None
    if content is None:
        abort(404)
    pub = latest_publication("stl_call", call.id)
    return render_template("stl_minutes/call.html", c=content, call=call, pub=pub,
                           starts_at=parse_datetime(content.get("starts_at")),
                           ends_at=parse_datetime(content.get("ends_at")),
                           session_date=parse_date(content.get("session_date")))


@bp.get("/acuerdos")
def agreements():
    """Agreements tracker: every published agreement with its status computed today in the
    tenant's zone (overdue highlighted). Filters: ``estado`` (status, ``overdue`` included),
    ``organo`` (body id), ``anio`` (year of the session), ``q`` (text in key, agreement or
    responsible); ``pagina`` pages by 50."""
    today = tenant_today(g.tenant)
    items = published_agreements()
    body_id = _int_arg("organo")
    year = _int_arg("anio")
    status = request.args.get("estado", "")
    if status not in vocab.FILTER_STATUSES:
        status = ""
    text = request.args.get("q", "").strip()
    years = sorted({a.session.session_date.year for a in items if a.session.session_date}, reverse=True)
    if body_id is not None:
        items = [a for a in items if a.session.body_id == body_id]
    if year is not None:
        items = [a for a in items if a.session.session_date and a.session.session_date.year == year]
    if text:
        needle = text.casefold()
        items = [a for a in items if needle in f"{a.key} {a.text} {a.owner}".casefold()]
    counts = progress_counts(items, today)
    if status:
        items = [a for a in items if effective_progress(a, today) == status]
    items.sort(key=lambda a: (not is_overdue(a, today), a.current_due_date or dt.date.max,
                              -(a.session.session_date or dt.date.min).toordinal(), a.seq))
    page = max(_int_arg("pagina") or 1, 1)
    pages = max((len(items) + PER_PAGE - 1) // PER_PAGE, 1)
    if page > pages:
        page = pages
    shown = items[(page - 1) * PER_PAGE: page * PER_PAGE]
    args = {k: v for k, v in {"estado": status, "organo": body_id, "anio": year, "q": text}.items() if v}
    return render_template("stl_minutes/agreements.html", items=shown, total=len(items), counts=counts,
                           bodies=published_bodies(), years=years, body_id=body_id, year=year, status=status,
                           text=text, page=page, pages=pages, args=args, today=today)


@bp.get("/acuerdos/<int:agreement_id>")
def agreement(agreement_id: int):
    """One published agreement: text as adopted, status today, follow-up with evidence, link to
    the action-plan commitment when that plugin is enabled."""
    ag = db.first_or_404(select(Agreement).where(Agreement.id == agreement_id, Agreement.status == "published"))
    pub = latest_publication("stl_agreement", ag.id)
    return render_template("stl_minutes/agreement.html", ag=ag, pub=pub, commitment=commitment_link(ag))


@bp.get("/organos")
def bodies():
    """Published collegiate bodies of the tenant."""
    return render_template("stl_minutes/bodies.html", bodies=published_bodies())


def balance(body: Body, on: dt.date) -> dict[str, Any]:
    """Seats of ``body`` on ``on`` by sector and the government / civil-society balance.

    Returns ``{"counts": {sector: seats}, "government": n, "society": n (civil society,
    academia, private sector), "guarantor": n, "balanced": bool | None}``; ``balanced`` is
    ``None`` without seats. Source of the rule: "representación equilibrada de actores
    gubernamentales y sociales" (``stl_operating_rules`` in ``shared/data/stl_sessions.json``).
    """
    seats = [m for m in body.members if m.capacity == "member" and m.in_term(on)]
    counts: dict[str, int] = {}
    for m in seats:
        counts[m.sector or ""] = counts.get(m.sector or "", 0) + 1
    order = list(vocab.SECTORS) + [""]
    counts = {k: counts[k] for k in sorted(counts, key=lambda s: order.index(s) if s in order else 99)}
    government = counts.get("government", 0)
    society = sum(counts.get(k, 0) for k in ("civil_society", "academia", "private"))
    return {"counts": counts, "government": government, "society": society, "guarantor": counts.get("guarantor", 0),
            "balanced": (government == society) if seats else None, "seats": len(seats)}


@bp.get("/organos/<int:body_id>")
def body(body_id: int):
    """A published body: members (current and past), the balance of government and civil
    society seats, attendance by sector across its published sessions, and its sessions."""
    b = db.first_or_404(select(Body).where(Body.id == body_id, Body.status.in_(("published", "retracted"))))
    if b.status == "retracted" and (tombstone := redaction_tombstone(b, "stl_body", "minutes")):
        return tombstone
    today = tenant_today(g.tenant)
    sessions = sorted(minutes_entries(b.id) + call_entries(b.id), key=_sort_key, reverse=True)
    attendance: dict[str, int] = {}
    for s in db.session.scalars(select(Session).where(Session.body_id == b.id, Session.status == "published")):
        for a in s.attendance:
            attendance[a.sector or ""] = attendance.get(a.sector or "", 0) + 1
    current = [m for m in b.members if m.in_term(today)]
    past = [m for m in b.members if not m.in_term(today)]
    return render_template("stl_minutes/body.html", b=b, bal=balance(b, today), current=current, past=past,
                           sessions=sessions, attendance=attendance, pub=latest_publication("stl_body", b.id))


# --------------------------------------------------------------------------- section slot
def render_section() -> Markup:
    """HTML of the ``section.minutes`` slot: bodies, upcoming sessions, latest minutes, the
    agreements at a glance and links to every page (called inside a tenant request)."""
    tenant = g.tenant
    today = tenant_today(tenant)
    calls = call_entries()
    upcoming = sorted((e for e in calls if e.date is None or e.date >= today), key=_sort_key)[:5]
    latest = sorted(minutes_entries(), key=_sort_key, reverse=True)[:5]
    counts = progress_counts(published_agreements(), today)
    return Markup(render_template("stl_minutes/_section.html", upcoming=upcoming, latest=latest, counts=counts,
                                  bodies=published_bodies(), **helpers()))
