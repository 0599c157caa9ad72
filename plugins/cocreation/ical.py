"""iCalendar (RFC 5545, ``text/calendar``) downloads of the co-creation plugin, built with the
``icalendar`` library: the registration period of a process's open call, the sessions of a
co-creation table, a workshop, and one calendar per process with all of them. Only published
records appear (a retracted one is left out).

Every event has a UID stable per event (``cocreation-<kind>-<id>@<tenant>.comun-cms``), DTSTAMP
(the record's last publication, UTC), DTSTART/DTEND in UTC, SUMMARY, LOCATION and URL. The call's
period runs from local midnight of its opening day to local midnight after its closing day
(tenant timezone), given in UTC; a table session without a known end has no DTEND.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Response, abort, url_for
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy import select

from comun_cms.toolkit import content_disposition, current_tenant, db, utcnow

from .call import call_of, published_tables
from .models import CocreationTable, Process, Workshop
from .views import bp

PRODID = "-//Común CMS//cocreation//ES"
UTC = dt.timezone.utc


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def uid(kind: str, ident: int) -> str:
    """The stable UID of an event: ``kind`` (``call``, ``session``, ``workshop``) and the id of
    its row, in the current tenant."""
    return f"cocreation-{kind}-{ident}@{current_tenant.slug}.comun-cms"


def _event(kind: str, ident: int, *, summary: str, start: dt.datetime, end: dt.datetime | None, stamp,
           location: str, url: str, description: str = "") -> Event:
    event = Event()
    event.add("uid", uid(kind, ident))
    event.add("dtstamp", _utc(stamp or utcnow()))
    event.add("dtstart", _utc(start))
    if end is not None:
        event.add("dtend", _utc(end))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    event.add("url", url)
    if description:
        event.add("description", description)
    return event


def call_events(process: Process) -> list[Event]:
    """The registration period of the process's published call (none when it has no dates)."""
    call = call_of(process)
    if call is None or call.status != "published" or not call.registration_opens or not call.registration_closes:
        return []
    zone = ZoneInfo(current_tenant.timezone)
    start = dt.datetime.combine(call.registration_opens, dt.time(0, 0), zone)
    end = dt.datetime.combine(call.registration_closes + dt.timedelta(days=1), dt.time(0, 0), zone)
    return [_event("call", call.id, summary=_("Registration to the co-creation tables: %(title)s", title=call.title),
                   start=start, end=end, stamp=call.published_at, location="",
                   url=url_for("cocreation.call", process_id=process.id, _external=True))]


def table_events(table: CocreationTable) -> list[Event]:
    """The sessions of a published table (place: the session's, else the table's)."""
    if table.status != "published":
        return []
    url = url_for("cocreation.call", process_id=table.process_id, _external=True, _anchor=f"mesa-{table.id}")
    return [_event("session", s.id, summary=_("Co-creation table: %(title)s", title=table.title),
                   start=s.starts_at, end=s.ends_at, stamp=table.published_at, location=s.place or table.place,
                   url=url, description=table.theme) for s in table.sessions]


def workshop_events(workshop: Workshop) -> list[Event]:
    """A published workshop (location: the place, else the online link)."""
    if workshop.status != "published" or workshop.starts_at is None:
        return []
    return [_event("workshop", workshop.id, summary=_("Workshop: %(title)s", title=workshop.title),
                   start=workshop.starts_at, end=workshop.ends_at, stamp=workshop.published_at,
                   location=workshop.place or workshop.online_url,
                   url=url_for("cocreation.workshop", workshop_id=workshop.id, _external=True))]


def calendar_response(events: list[Event], name: str, filename: str, *, allow_empty: bool = False) -> Response:
    """A ``text/calendar`` download (UTF-8) of ``events`` named ``filename``; 404 when there
    are no events, unless ``allow_empty`` (a process's calendar, empty until it has dates)."""
    if not events and not allow_empty:
        abort(404)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(event)
    return Response(cal.to_ical(), mimetype="text/calendar", headers={
        "Content-Disposition": content_disposition("attachment", filename)})


def _public_process(process_id: int) -> Process:
    return db.first_or_404(select(Process).where(Process.id == process_id, Process.status == "published"))


@bp.get("/<int:process_id>/convocatoria.ics")
def call_ics(process_id: int):
    """The registration period of the process's published call."""
    process = _public_process(process_id)
    return calendar_response(call_events(process), process.title, f"convocatoria-{process.id}.ics")


@bp.get("/mesas/<int:table_id>.ics")
def table_ics(table_id: int):
    """The sessions of a published table of a published process."""
    table = db.first_or_404(select(CocreationTable).where(CocreationTable.id == table_id,
                                                          CocreationTable.status == "published"))
    _public_process(table.process_id)
    return calendar_response(table_events(table), table.title, f"mesa-{table.id}.ics")


@bp.get("/talleres/<int:workshop_id>.ics")
def workshop_ics(workshop_id: int):
    """A published workshop of a published process."""
    workshop = db.first_or_404(select(Workshop).where(Workshop.id == workshop_id, Workshop.status == "published"))
    _public_process(workshop.process_id)
    return calendar_response(workshop_events(workshop), workshop.title, f"taller-{workshop.id}.ics")


@bp.get("/<int:process_id>/calendario.ics")
def process_ics(process_id: int):
    """Everything published of a process: the call's period, the tables' sessions, the
    workshops."""
    process = _public_process(process_id)
    events = call_events(process)
    for table in published_tables(process):
        events += table_events(table)
    for workshop in db.session.scalars(select(Workshop).where(Workshop.process_id == process.id,
                                                              Workshop.status == "published").order_by(Workshop.id)):
        events += workshop_events(workshop)
    return calendar_response(events, process.title, f"cocreacion-{process.id}.ics", allow_empty=True)
