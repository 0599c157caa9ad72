"""iCalendar downloads: ``text/calendar`` parsed back with ``icalendar``; a stable UID per event,
DTSTAMP, DTSTART/DTEND in UTC, SUMMARY, LOCATION and URL; only published records; the call's
period from local midnight to local midnight after the closing day; tenant isolation."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context
from comun_cms.toolkit.testing import get_tenant

from plugins.cocreation.models import Call, TableSession, Workshop

from .call_records import make_call_records

UTC = dt.timezone.utc


def _events(resp):
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    assert "attachment" in resp.headers["Content-Disposition"] and ".ics" in resp.headers["Content-Disposition"]
    cal = Calendar.from_ical(resp.get_data())
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def _check_utc(event):
    for key in ("dtstamp", "dtstart", "dtend"):
        if key in event:
            value = event[key].dt
            assert isinstance(value, dt.datetime) and value.utcoffset() == dt.timedelta(0), (key, value)
    assert event.to_ical().decode().count("Z\r\n") >= 2  # written as UTC ("...Z"), not floating


def test_a_tables_sessions(app, client, make_process):
    pid = make_process("edomex")
    rec = make_call_records(app, "edomex", pid)
    with tenant_context(get_tenant(app, "edomex")):
        session = db.session.get(TableSession, rec["session_id"])
        start, end = session.starts_at, session.ends_at
    events = _events(client.get(f"/edomex/cocreacion/mesas/{rec['table_id']}.ics"))
    uid = f"cocreation-session-{rec['session_id']}@edomex.comun-cms"
    assert list(events) == [uid]
    ev = events[uid]
    _check_utc(ev)
    assert ev["dtstart"].dt == start and ev["dtend"].dt == end
    assert str(ev["summary"]) == "Co-creation table: Mesa exclusivo edomex"
    assert str(ev["location"]) == "Auditorio"
    assert str(ev["url"]).endswith(f"/edomex/cocreacion/{pid}/convocatoria#mesa-{rec['table_id']}")
    # the UID and DTSTAMP are stable between downloads
    again = _events(client.get(f"/edomex/cocreacion/mesas/{rec['table_id']}.ics"))
    assert again[uid]["dtstamp"].dt == ev["dtstamp"].dt
    # a draft table has no calendar
    assert client.get(f"/edomex/cocreacion/mesas/{rec['draft_table_id']}.ics").status_code == 404


def test_the_calls_registration_period_in_utc(app, client, make_process):
    pid = make_process("edomex")
    rec = make_call_records(app, "edomex", pid, opens=-1, closes=5)
    with tenant_context(get_tenant(app, "edomex")):
        call = db.session.get(Call, rec["call_id"])
        opens, closes = call.registration_opens, call.registration_closes
    events = _events(client.get(f"/edomex/cocreacion/{pid}/convocatoria.ics"))
    ev = events[f"cocreation-call-{rec['call_id']}@edomex.comun-cms"]
    _check_utc(ev)
    zone = ZoneInfo("America/Mexico_City")
    assert ev["dtstart"].dt == dt.datetime.combine(opens, dt.time(0), zone).astimezone(UTC)
    assert ev["dtend"].dt == dt.datetime.combine(closes + dt.timedelta(days=1), dt.time(0), zone).astimezone(UTC)
    assert "Convocatoria exclusivo edomex" in str(ev["summary"])
    assert str(ev["url"]).endswith(f"/edomex/cocreacion/{pid}/convocatoria")


def test_a_workshop(app, client, make_process):
    pid = make_process("edomex")
    rec = make_call_records(app, "edomex", pid)
    events = _events(client.get(f"/edomex/cocreacion/talleres/{rec['workshop_id']}.ics"))
    ev = events[f"cocreation-workshop-{rec['workshop_id']}@edomex.comun-cms"]
    _check_utc(ev)
    assert str(ev["summary"]) == "Workshop: Taller exclusivo edomex" and str(ev["location"]) == "Biblioteca"
    assert str(ev["url"]).endswith(f"/edomex/cocreacion/talleres/{rec['workshop_id']}")


def test_the_process_calendar_holds_everything_published_and_nothing_else(app, client, make_process):
    pid = make_process("edomex")
    rec = make_call_records(app, "edomex", pid)
    with tenant_context(get_tenant(app, "edomex")):
        db.session.add(Workshop(process_id=pid, title="Taller borrador", description="x", place="Sala",
                                starts_at=dt.datetime(2030, 1, 1, 16, tzinfo=UTC)))
        draft_session = TableSession(table_id=rec["draft_table_id"], starts_at=dt.datetime(2030, 1, 2, 16, tzinfo=UTC))
        db.session.add(draft_session)
        db.session.commit()
    events = _events(client.get(f"/edomex/cocreacion/{pid}/calendario.ics"))
    assert sorted(events) == sorted([f"cocreation-call-{rec['call_id']}@edomex.comun-cms",
                                     f"cocreation-session-{rec['session_id']}@edomex.comun-cms",
                                     f"cocreation-workshop-{rec['workshop_id']}@edomex.comun-cms"])
    body = client.get(f"/edomex/cocreacion/{pid}/calendario.ics").get_data(as_text=True)
    assert "Taller borrador" not in body and "borrador" not in body


def test_drafts_and_another_tenants_records_have_no_calendar(app, client, make_process):
    pid = make_process("edomex")
    rec = make_call_records(app, "edomex", pid, call_published=False)
    assert client.get(f"/edomex/cocreacion/{pid}/convocatoria.ics").status_code == 404
    draft_pid = make_process("edomex", published=False)
    assert client.get(f"/edomex/cocreacion/{draft_pid}/calendario.ics").status_code == 404
    with tenant_context(get_tenant(app, "edomex")):
        w = db.session.scalars(select(Workshop)).one()
        assert w.status == "published"
    for url in (f"/puebla/cocreacion/{pid}/calendario.ics", f"/puebla/cocreacion/{pid}/convocatoria.ics",
                f"/puebla/cocreacion/mesas/{rec['table_id']}.ics", f"/puebla/cocreacion/talleres/{rec['workshop_id']}.ics"):
        assert client.get(url).status_code == 404, url
