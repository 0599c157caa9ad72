"""The results minute of a co-creation table (step 10): draft (editable) → approved (frozen, can
go back to draft) → published and locked through the toolkit's minutes lifecycle; once locked
no route and no service changes the minute or its proposals, only an addendum with a reason;
proposals must answer a problem of the table; the public page anchors each proposal and links
its problem; bad input is refused naming the field."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from comun_cms.toolkit import ChangeRefused, LifecycleError, db, history, tenant_context, tenant_hook
from comun_cms.toolkit.testing import get_tenant

from plugins.cocreation import minutes as mins
from plugins.cocreation import services as svc
from plugins.cocreation import tables as tbl
from plugins.cocreation.models import CocreationTable, Proposal, ResultsMinute

ADMIN = "/edomex/admin/cocreacion"


@pytest.fixture
def setup(make_process, make_problem, make_table):
    pid = make_process()
    p1 = make_problem(pid, title="Baches en el centro")
    p2 = make_problem(pid, title="Falta de alumbrado")
    p3 = make_problem(pid, title="Problema de otra mesa")
    ids = make_table(pid, [p1, p2], minute=None, title="Mesa de servicios")
    return {"process_id": pid, "p1": p1, "p2": p2, "p3": p3, **ids}


def _yesterday(app):
    return (svc.tenant_today(get_tenant(app, "edomex")) - dt.timedelta(days=1)).isoformat()


def _minute(app, table_id):
    with tenant_context(get_tenant(app, "edomex")):
        m = db.session.scalar(select(ResultsMinute).where(ResultsMinute.table_id == table_id))
        if m is None:
            return None
        return {"stage": m.stage, "status": m.status, "version": m.version, "held_on": m.held_on,
                "summary": m.summary, "approved_at": m.approved_at,
                "proposals": [(p.seq, p.title, p.description, p.problem_id, p.responsible_institution)
                              for p in m.proposals]}


def _proposal(client, table_id, **over):
    data = {"title": "Bacheo participativo", "description": "Mapa ciudadano de baches",
            "problem_id": "", "responsible_institution": "Ayuntamiento de Toluca"}
    data.update(over)
    return client.post(f"{ADMIN}/mesas/{table_id}/minuta/propuestas", data=data)


def test_the_minute_goes_draft_approved_draft_approved_published(app, client, login_as, setup):
    tid = setup["table_id"]
    login_as("editor")
    assert client.get(f"{ADMIN}/mesas/{tid}/minuta").status_code == 200
    assert _minute(app, tid) is None  # a GET creates nothing
    resp = client.post(f"{ADMIN}/mesas/{tid}/minuta", data={"held_on": _yesterday(app), "summary": "Se acordó **todo**."})
    assert resp.status_code == 303
    assert _proposal(client, tid, problem_id=str(setup["p1"])).status_code == 303
    assert _proposal(client, tid, title="Luminarias", problem_id=str(setup["p2"])).status_code == 303
    m = _minute(app, tid)
    assert m["stage"] == "draft" and [p[:2] for p in m["proposals"]] == [(1, "Bacheo participativo"), (2, "Luminarias")]
    assert client.post(f"{ADMIN}/mesas/{tid}/minuta/aprobar").status_code == 303
    m = _minute(app, tid)
    assert m["stage"] == "approved" and m["approved_at"] is not None and m["status"] == "draft"
    frozen = _minute(app, tid)
    resp = client.post(f"{ADMIN}/mesas/{tid}/minuta", data={"held_on": _yesterday(app), "summary": "Otro"})
    assert resp.status_code == 422 and "approved" in resp.get_data(as_text=True)
    assert _proposal(client, tid, problem_id=str(setup["p1"])).status_code == 422
    assert _minute(app, tid) == frozen  # approved: frozen
    assert client.post(f"{ADMIN}/mesas/{tid}/minuta/borrador").status_code == 303
    m = _minute(app, tid)
    assert m["stage"] == "draft" and m["approved_at"] is None
    client.post(f"{ADMIN}/mesas/{tid}/minuta/aprobar")
    assert client.post(f"{ADMIN}/mesas/{tid}/minuta/publicar").status_code == 303
    m = _minute(app, tid)
    assert (m["stage"], m["status"], m["version"]) == ("published", "published", 1)
    with tenant_context(get_tenant(app, "edomex")):
        minute_id = db.session.scalar(select(ResultsMinute.id).where(ResultsMinute.table_id == tid))
        [pub] = history("cocreation_minute", minute_id)
        content = json.loads(pub.canonical_json)["content"]
        assert content["summary"] == "Se acordó **todo**." and content["table"] == "Mesa de servicios"
        assert [(p["seq"], p["problem_id"], p["problem"], p["responsible_institution"]) for p in content["proposals"]] == [
            (1, setup["p1"], "Baches en el centro", "Ayuntamiento de Toluca"),
            (2, setup["p2"], "Falta de alumbrado", "Ayuntamiento de Toluca")]
        tenant = get_tenant(app, "edomex")
        log = tenant_hook(tenant, "publication_log")(tenant=tenant, start=0, limit=1000)
        assert pub.id in [e.publication_id for e in log.entries]  # notarized


def test_approval_needs_a_date_and_proposals(app, client, login_as, setup):
    tid = setup["table_id"]
    login_as("editor")
    client.post(f"{ADMIN}/mesas/{tid}/minuta", data={"held_on": _yesterday(app), "summary": ""})
    resp = client.post(f"{ADMIN}/mesas/{tid}/minuta/aprobar", follow_redirects=True)
    assert "at least one agreed proposal" in resp.get_data(as_text=True)
    assert _minute(app, tid)["stage"] == "draft"
    assert client.post(f"{ADMIN}/mesas/{tid}/minuta/publicar").status_code == 303
    assert _minute(app, tid)["status"] == "draft"  # not approved: not published


def test_a_minute_of_an_unpublished_table_is_not_published(app, client, login_as, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p3"]], published=False, minute="approved")
    login_as("editor")
    resp = client.post(f"{ADMIN}/mesas/{ids['table_id']}/minuta/publicar", follow_redirects=True)
    assert "Publish the table before its results minute" in resp.get_data(as_text=True)
    assert _minute(app, ids["table_id"])["status"] == "draft"


def test_a_locked_minute_refuses_every_route_and_service(app, client, login_as, make_process, make_problem,
                                                         make_table):
    pid = make_process()
    p1, p2 = make_problem(pid, title="Uno"), make_problem(pid, title="Dos")
    ids = make_table(pid, [p1, p2], minute="locked")
    tid, proposal_id = ids["table_id"], ids["proposal_id"]
    before = _minute(app, tid)
    assert before["stage"] == "published"
    login_as("editor")
    attempts = [
        (f"{ADMIN}/mesas/{tid}/minuta", {"held_on": _yesterday(app), "summary": "Cambiado"}),
        (f"{ADMIN}/mesas/{tid}/minuta/propuestas", {"title": "Nueva", "problem_id": str(p1),
                                                    "responsible_institution": "X"}),
        (f"{ADMIN}/propuestas/{proposal_id}", {"title": "Cambiada", "problem_id": str(p1),
                                               "responsible_institution": "X"}),
        (f"{ADMIN}/propuestas/{proposal_id}/borrar", {}),
        (f"{ADMIN}/mesas/{tid}/minuta/aprobar", {}),
        (f"{ADMIN}/mesas/{tid}/minuta/borrador", {}),
        (f"{ADMIN}/mesas/{tid}/minuta/publicar", {}),
        (f"{ADMIN}/mesas/{tid}/minuta/adenda", {"reason": ""}),
        (f"{ADMIN}/mesas/{tid}", {"title": "Mesa", "theme": svc.DEFAULT_THEMES[0], "problems": [str(p2)],
                                  "reason": "Quitar el problema uno"}),
    ]
    for url, data in attempts:
        resp = client.post(url, data=data)
        assert resp.status_code in (303, 422), url
        assert _minute(app, tid) == before, url
    page = client.get(f"{ADMIN}/propuestas/{proposal_id}").get_data(as_text=True)
    assert "cannot change" in page and 'name="title"' not in page
    with tenant_context(get_tenant(app, "edomex")):
        minute = db.session.scalar(select(ResultsMinute).where(ResultsMinute.table_id == tid))
        assert minute.is_locked and not mins.LIFECYCLE.is_editable(minute)
        proposal = db.session.get(Proposal, proposal_id)
        for attempt in (
            lambda: mins.save_minute(minute, held_on=dt.date(2026, 1, 1), summary="x"),
            lambda: mins.add_proposal(minute, title="x", problem_id=p1, responsible_institution="x"),
            lambda: mins.update_proposal(proposal, title="x", problem_id=p1, responsible_institution="x"),
            lambda: mins.remove_proposal(proposal),
            lambda: mins.approve_minute(minute),
            lambda: mins.return_minute_to_draft(minute),
            lambda: mins.publish_minute(minute),
            lambda: mins.add_minute_addendum(minute, "  "),
        ):
            with pytest.raises(LifecycleError):
                attempt()
        with pytest.raises(ChangeRefused):
            tbl.set_problems(minute.table, [p2])
        db.session.rollback()
    assert _minute(app, tid) == before


def test_an_addendum_is_a_new_version_with_its_reason(app, client, login_as, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p3"]], minute="locked")
    tid = ids["table_id"]
    login_as("editor")
    resp = client.post(f"{ADMIN}/mesas/{tid}/minuta/adenda", data={"reason": ""})
    assert resp.status_code == 422 and 'href="#reason"' in resp.get_data(as_text=True)
    resp = client.post(f"{ADMIN}/mesas/{tid}/minuta/adenda", data={"reason": "r" * 10_000})
    assert resp.status_code == 422
    before = _minute(app, tid)
    assert client.post(f"{ADMIN}/mesas/{tid}/minuta/adenda",
                       data={"reason": "Se corrige el nombre de la institución: INFOEM."}).status_code == 303
    after = _minute(app, tid)
    assert after["version"] == 2 and {**after, "version": 1} == before
    with tenant_context(get_tenant(app, "edomex")):
        pubs = history("cocreation_minute", ids["minute_id"])
        assert [(p.version, p.action) for p in pubs] == [(1, "publish"), (2, "correct")]
        assert pubs[1].reason == "Se corrige el nombre de la institución: INFOEM."
    client.delete_cookie("session")
    page = client.get(f"/edomex/cocreacion/mesas/{tid}/minuta").get_data(as_text=True)
    assert "Se corrige el nombre de la institución: INFOEM." in page


def test_proposals_must_answer_a_problem_of_the_table(app, client, login_as, setup, make_process, make_problem):
    tid = setup["table_id"]
    foreign = make_problem(make_process("puebla"), "puebla", title="De Puebla")
    login_as("editor")
    client.post(f"{ADMIN}/mesas/{tid}/minuta", data={"held_on": _yesterday(app), "summary": ""})
    for bad in (setup["p3"], foreign, 0, "abc"):
        resp = _proposal(client, tid, problem_id=str(bad))
        assert resp.status_code == 422 and 'href="#problem_id"' in resp.get_data(as_text=True), bad
    assert _minute(app, tid)["proposals"] == []
    with tenant_context(get_tenant(app, "edomex")):
        minute = db.session.scalar(select(ResultsMinute).where(ResultsMinute.table_id == tid))
        for bad in (setup["p3"], foreign, None):
            with pytest.raises(mins.MinuteError) as exc:
                mins.add_proposal(minute, title="x", problem_id=bad, responsible_institution="y")
            assert exc.value.field == "problem_id"
        db.session.rollback()


@pytest.mark.parametrize("over, field", [
    ({"title": ""}, "title"),
    ({"title": "t" * 10_000}, "title"),
    ({"description": "d" * 10_000}, "description"),
    ({"responsible_institution": " "}, "responsible_institution"),
    ({"responsible_institution": "i" * 10_000}, "responsible_institution"),
])
def test_bad_proposal_input_is_refused_naming_the_field(app, client, login_as, setup, over, field):
    tid = setup["table_id"]
    login_as("editor")
    client.post(f"{ADMIN}/mesas/{tid}/minuta", data={"held_on": _yesterday(app), "summary": ""})
    resp = _proposal(client, tid, problem_id=str(setup["p1"]), **over)
    assert resp.status_code == 422 and f'href="#{field}"' in resp.get_data(as_text=True)
    assert _minute(app, tid)["proposals"] == []


@pytest.mark.parametrize("held_on", ["", "31/02/2026", "2026-02-31", "2999-01-01"])
def test_bad_minute_dates_are_refused(app, client, login_as, setup, held_on):
    login_as("editor")
    resp = client.post(f"{ADMIN}/mesas/{setup['table_id']}/minuta", data={"held_on": held_on, "summary": "x"})
    assert resp.status_code == 422 and 'href="#held_on"' in resp.get_data(as_text=True)
    assert _minute(app, setup["table_id"]) is None


def test_a_summary_too_long_is_refused(app, client, login_as, setup):
    login_as("editor")
    resp = client.post(f"{ADMIN}/mesas/{setup['table_id']}/minuta", data={"held_on": _yesterday(app),
                                                                         "summary": "s" * 30_000})
    assert resp.status_code == 422 and 'href="#summary"' in resp.get_data(as_text=True)
    assert _minute(app, setup["table_id"]) is None


def test_public_minute_anchors_proposals_and_links_problems(app, client, login_as, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p3"]], minute="draft")
    with tenant_context(get_tenant(app, "edomex")):
        minute = db.session.get(ResultsMinute, ids["minute_id"])
        minute.summary = "Acuerdos <script>alert(1)</script> **firmes**"
        mins.add_proposal(minute, title="<b>Segunda</b>", problem_id=setup["p3"], responsible_institution="SESEA")
        mins.approve_minute(minute)
        mins.publish_minute(minute)
        db.session.commit()
    html = client.get(f"/edomex/cocreacion/mesas/{ids['table_id']}/minuta").get_data(as_text=True)
    assert 'id="propuesta-1"' in html and 'id="propuesta-2"' in html
    assert f'href="/edomex/cocreacion/problemas/{setup["p3"]}"' in html
    assert "<script>alert(1)</script>" not in html and "<strong>firmes</strong>" in html
    assert "<b>Segunda</b>" not in html and "&lt;b&gt;Segunda&lt;/b&gt;" in html
    assert "Results minute" in client.get(f"/edomex/cocreacion/mesas/{ids['table_id']}").get_data(as_text=True)
    assert "Problema de otra mesa" in html


def test_minute_and_table_are_searchable_once_published(app, client, login_as, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p3"]], minute="draft")
    with tenant_context(get_tenant(app, "edomex")):
        minute = db.session.get(ResultsMinute, ids["minute_id"])
        mins.add_proposal(minute, title="Observatorio hídrico", problem_id=setup["p3"], responsible_institution="CAEM")
        db.session.commit()
    assert "Observatorio" not in client.get("/edomex/buscar?q=observatorio").get_data(as_text=True)
    login_as("editor")
    assert client.post(f"{ADMIN}/mesas/{ids['table_id']}/minuta/aprobar").status_code == 303
    assert client.post(f"{ADMIN}/mesas/{ids['table_id']}/minuta/publicar").status_code == 303
    client.delete_cookie("session")
    assert "Observatorio" in client.get("/edomex/buscar?q=observatorio").get_data(as_text=True)


def test_conversion_fields_do_not_touch_the_locked_content(app, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p3"]], minute="locked")
    with tenant_context(get_tenant(app, "edomex")):
        proposal = db.session.get(Proposal, ids["proposal_id"])
        minute = proposal.minute
        frozen = json.loads(history("cocreation_minute", minute.id)[0].canonical_json)["content"]
        proposal.commitment_id, proposal.converted_at = 42, dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
        db.session.commit()
        assert mins.serialize_minute(minute)["proposals"] == json.loads(json.dumps(
            frozen["proposals"], default=str))
        assert db.session.get(CocreationTable, ids["table_id"]).status == "published"


def test_the_edomex_demo_has_a_table_with_a_locked_minute(app, client):
    from comun_cms.toolkit.testing import run_demo

    edomex = get_tenant(app, "edomex")
    run_demo(app, [edomex], log=lambda message: None)
    with tenant_context(edomex):
        table = db.session.scalars(select(CocreationTable)).one()
        minute = db.session.scalars(select(ResultsMinute)).one()
        assert table.status == "published" and table.problems        # the INFOEM "mesas" (demo.py)
        assert minute.is_demo and (minute.stage, minute.status) == ("published", "published")
        assert all(p.problem_id in {pr.id for pr in table.problems} for p in minute.proposals)
        pid, tid = table.process_id, table.id
    process_page = client.get(f"/edomex/cocreacion/{pid}").get_data(as_text=True)
    assert f"/edomex/cocreacion/{pid}/mesas#minutas" in process_page  # step 10 links the minutes
    html = client.get(f"/edomex/cocreacion/mesas/{tid}/minuta").get_data(as_text=True)
    assert "badge-demo" in html and 'id="propuesta-2"' in html
