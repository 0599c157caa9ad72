"""Public pages: plan chart, commitment card, agenda and iCalendar feed, section slot, datasets,
search documents and the portal widget."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from comun_cms.toolkit import Publication, db, tenant_context, tenant_hook
from comun_cms.toolkit.testing import get_tenant

from plugins.action_plans.models import Commitment


#: Today in the demo tenants' timezone (the pages compute "overdue" from the tenant's date, not
#: the machine's: between 00:00 and 06:00 UTC the two differ).
TODAY = dt.datetime.now(ZoneInfo("America/Mexico_City")).date()


def days(n):
    return TODAY + dt.timedelta(days=n)


def test_plan_page_chart_is_readable_without_javascript(app, client, make_plan, english):
    plan_id = make_plan(title="Plan con gráfica", commitments=[
        {"title": "Compromiso verificado", "progress_status": "verified", "verified_by": "Colectivo",
         "verification_url": "https://example.org/acta",
         "milestones": [("A", 25, "verified", 100, None, None), ("B", 75, "completed", 100, None, None)]},
        {"title": "Compromiso iniciado", "milestones": [("C", 40, "started", 50, None, None), ("D", 60, "not_started", 0, None, None)]},
        {"title": "Compromiso sin hitos", "progress_status": "", "milestones": []},
    ])
    html = client.get(f"/edomex/planes-de-accion/{plan_id}").get_data(as_text=True)
    assert "<caption" in html and "Progress of actions and activities by commitment" in html
    assert '<th scope="row">' in html and "<script" not in html.split("<main", 1)[1]
    # figures as text (the SVG bars are hidden from screen readers)
    assert "Verified: 25.0&nbsp;%" in html and "Completed: 75.0&nbsp;%" in html
    # the filled part is the progress: C (weight 40) started at 50 % gives 20 %, the rest is pending
    assert "Started: 20.0&nbsp;%" in html and "Pending: 80.0&nbsp;%" in html
    assert 'aria-hidden="true" focusable="false"' in html and 'width="25.0"' in html
    assert "No progress published." in html
    # overall progress: mean of the two commitments that report it ((100 + 20) / 2)
    assert "60&nbsp;%" in html and "(2 of 3)" in html
    assert f"/edomex/historial/action_plan/{plan_id}" in html


def test_drafts_are_not_public_but_staff_see_them(app, client, make_plan, login):
    plan_id = make_plan(title="Plan en borrador", publish=False)
    with tenant_context(get_tenant(app, "edomex")):
        cid = db.session.scalar(select(Commitment.id))
    assert client.get(f"/edomex/planes-de-accion/{plan_id}").status_code == 404
    assert client.get(f"/edomex/planes-de-accion/compromisos/{cid}").status_code == 404
    assert "Plan en borrador" not in client.get("/edomex/planes-de-accion/").get_data(as_text=True)
    login("editor")
    html = client.get(f"/edomex/planes-de-accion/{plan_id}").get_data(as_text=True)
    assert "banner-draft" in html and "Plan en borrador" in html


def test_agenda_flags_overdue_milestones_and_feeds_icalendar(app, client, make_plan, english):
    make_plan(title="Plan con agenda", commitments=[{"title": "Agenda", "milestones": [
        ("Vencido", 25, "started", 10, days(-30), days(-1)),
        ("Terminado a tiempo", 25, "completed", 100, days(-40), days(-20)),
        ("En curso", 25, "started", 30, days(-2), days(5)),
        ("Próximo", 25, "not_started", 0, days(10), days(20)),
    ]}])
    html = client.get("/edomex/planes-de-accion/agenda").get_data(as_text=True)
    current, upcoming, overdue = (html.split(f'id="agenda-{k}"', 1)[1].split("</section>", 1)[0]
                                  for k in ("current", "upcoming", "overdue"))
    assert "En curso" in current and "Próximo" in upcoming
    assert "Vencido" in overdue and "Terminado a tiempo" not in html.split("<main", 1)[1]
    response = client.get("/edomex/planes-de-accion/agenda.ics")
    assert response.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.data)
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == 4
    upcoming_event = next(e for s, e in events.items() if "Próximo" in s)
    assert upcoming_event.decoded("DTSTART") == days(10) and upcoming_event.decoded("DTEND") == days(21)
    assert str(upcoming_event["UID"]).endswith("@edomex.comun")
    assert "/edomex/planes-de-accion/compromisos/" in str(upcoming_event["URL"])


def test_section_slot_datasets_and_search_documents(app, client, make_plan):
    make_plan(title="Plan publicado", commitments=[{"title": "Compromiso MXMEX0009", "external_id": "MXMEX0009",
                                                              "sdg_goals": ["16.6"]}])
    make_plan(title="Plan borrador", publish=False)
    html = client.get("/edomex/seccion/commitments").get_data(as_text=True)
    assert 'id="ap-section-title"' in html and "Plan publicado" in html and "Plan borrador" not in html
    tenant = get_tenant(app, "edomex")
    rows = json.loads(client.get("/edomex/datos/commitments.json").data)["records"]
    assert [r["title"] for r in rows] == ["Compromiso MXMEX0009"]
    with tenant_context(tenant):
        pub = db.session.scalars(select(Publication).where(Publication.content_type == "commitment")).one()
    assert rows[0]["content_sha256"] == pub.sha256 and rows[0]["version"] == 1 and rows[0]["progress"] == 50
    milestones = client.get("/edomex/datos/milestones.csv").get_data(as_text=True)
    assert milestones.startswith("\ufeffid,commitment_id") and milestones.count(pub.sha256) == 2
    plans = json.loads(client.get("/edomex/datos/action-plans.json").data)["records"]
    assert [p["title"] for p in plans] == ["Plan publicado"] and plans[0]["content_sha256"]
    with app.test_request_context(), tenant_context(tenant):
        docs = [d for result in tenant_hook(tenant, "search_documents")(tenant=tenant) for d in (result or [])
                if d["content_type"] in ("commitment", "action_plan")]
    assert sorted(d["title"] for d in docs) == ["1. Compromiso MXMEX0009 — Plan publicado", "Plan publicado"]
    commitment_doc = next(d for d in docs if d["content_type"] == "commitment")
    assert "MXMEX0009" in commitment_doc["keywords"] and "16.6" in commitment_doc["keywords"]
    assert commitment_doc["url"].endswith(f"/edomex/planes-de-accion/compromisos/{rows[0]['id']}")


def test_portal_widget_compares_the_states(app, client, make_plan, run_demo_for):
    make_plan(title="Plan real de prueba")
    run_demo_for("puebla")
    html = client.get("/").get_data(as_text=True)
    widget = html.split('id="ap-portal-caption"', 1)[1].split("</table>", 1)[0]
    assert "Estado de México" in widget and "Puebla" in widget and "Hidalgo" in widget
    puebla_row = widget.split("Puebla", 1)[1].split("</tr>", 1)[0]
    assert "badge-demo" in puebla_row
    edomex_row = widget.split("Estado de México", 1)[1].split("</tr>", 1)[0]
    assert "badge-demo" not in edomex_row and "50&nbsp;%" in edomex_row


def test_dashboard_widget_lists_overdue_milestones(app, client, make_plan, login, english):
    make_plan(title="Plan del tablero", commitments=[{"title": "Tablero", "milestones": [
        ("Hito vencido del tablero", 50, "started", 10, days(-30), days(-1)),
        ("Hito futuro del tablero", 50, "not_started", 0, days(10), days(20))]}])
    login("editor")
    html = client.get("/edomex/admin/").get_data(as_text=True)
    widget = html.split("Action plans: overdue milestones", 1)[1]
    assert "Hito vencido del tablero" in widget and "Hito futuro del tablero" not in widget
