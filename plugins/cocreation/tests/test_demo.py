"""Demo data: the Estado de México process links step 4 to the STL's installation minutes and
step 11 to the real INFOEM plan (loaded by the other plugins), is labelled "Dato de ejemplo"
where invented, and loading it twice adds nothing; the co-creation story of the INFOEM
commitment (call, workshop, table, locked results minute, a proposal linked to the real
commitment, whose page shows its origin)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, content_types, db, tenant_context
from comun_cms.toolkit.testing import get_tenant, run_demo

from plugins.cocreation import demo
from plugins.cocreation.demo import load_demo
from plugins.cocreation.models import (
    Call, CocreationTable, Problem, Process, Proposal, Registration, ResultsMinute, Workshop,
)


def test_edomex_demo_links_the_real_minutes_and_plan(app, client):
    edomex = get_tenant(app, "edomex")
    run_demo(app, [edomex], log=lambda message: None)
    with tenant_context(edomex):
        process = db.session.scalars(select(Process)).one()
        assert process.is_demo and process.status == "published"
        steps = {s.number: s for s in process.steps}
        assert steps[4].link_type in ("stl_session", "stl_body") and steps[4].link_id
        assert steps[11].link_type == "action_plan" and steps[11].link_id
        assert steps[9].link_type == "" and "metodología" in steps[9].note     # the timeline links the tables
        assert not steps[9].is_demo and steps[5].is_demo
        assert db.session.scalar(select(func.count(Problem.id)).where(Problem.status == "published")) == 3
        assert load_demo(edomex, DemoContext(tenant=edomex, user=None, log=lambda m: None)) == 0
        pid = process.id
    html = client.get(f"/edomex/cocreacion/{pid}").get_data(as_text=True)
    assert "/edomex/actas/" in html and "INFOEM" in html and "badge-demo" in html
    assert 'href="/edomex/cocreacion/' in html
    for slug in ("puebla", "hidalgo"):
        with tenant_context(get_tenant(app, slug)):
            assert db.session.scalars(select(Process)).all() == []


def test_edomex_demo_tells_the_co_creation_story_of_the_infoem_commitment(app, client):
    edomex = get_tenant(app, "edomex")
    run_demo(app, [edomex], log=lambda message: None)
    with tenant_context(edomex):
        process = db.session.scalars(select(Process)).one()
        call = db.session.scalars(select(Call)).one()
        assert (call.status, call.is_demo, call.registration_opens.isoformat(), call.registration_closes.isoformat()) \
            == ("published", False, "2022-01-20", "2022-02-04")
        workshop = db.session.scalars(select(Workshop)).one()
        assert workshop.status == "published" and workshop.starts_at.isoformat() == "2022-02-19T00:00:00+00:00"
        table = db.session.scalars(select(CocreationTable)).one()
        assert table.title == "Mesas para el desarrollo de la metodología" and table.status == "published"
        assert [s.starts_at.date().isoformat() for s in table.sessions] == ["2022-02-28", "2022-03-25"]
        assert len(table.problems) == 3 and all(p.is_demo for p in table.problems)
        sectors = sorted(r.sector for r in db.session.scalars(select(Registration)))
        assert len(sectors) == 13 and sectors.count("sociedad_civil") == 5 and sectors.count("ciudadania") == 4
        minute = db.session.scalars(select(ResultsMinute)).one()
        assert (minute.status, minute.stage, minute.is_demo) == ("published", "published", True)
        proposals = minute.proposals
        assert [p.seq for p in proposals] == [1, 2, 3, 4]
        assert proposals[3].title.startswith("Verificar el cumplimiento de las obligaciones de transparencia")
        linked = [p for p in proposals if p.commitment_id]
        assert len(linked) == 1 and linked[0] is proposals[3]
        commitment = content_types().get("commitment").model
        infoem = db.session.get(commitment, linked[0].commitment_id)
        assert "Apertura Gubernamental" in infoem.title and infoem.status == "published"
        pid, cid, tid = process.id, infoem.id, table.id
        # loading again adds nothing
        assert load_demo(edomex, DemoContext(tenant=edomex, user=None, log=lambda m: None)) == 0
        assert db.session.scalar(select(func.count(Proposal.id))) == 4
    timeline = client.get(f"/edomex/cocreacion/{pid}").get_data(as_text=True).split('class="cc-timeline"', 1)[1]
    steps = re.findall(r'<li class="cc-step.*?</li>', timeline, flags=re.S)
    assert len(steps) == 13
    for number, href in ((7, f"/edomex/cocreacion/{pid}/convocatoria"), (8, f"/edomex/cocreacion/{pid}/talleres"),
                         (9, f"/edomex/cocreacion/{pid}/mesas"), (10, f"/edomex/cocreacion/{pid}/mesas#minutas")):
        assert f'href="{href}"' in steps[number - 1], number
    minute_html = client.get(f"/edomex/cocreacion/mesas/{tid}/minuta").get_data(as_text=True)
    assert "badge-demo" in minute_html and "Verificar el cumplimiento" in minute_html
    page = client.get(f"/edomex/planes-de-accion/compromisos/{cid}").get_data(as_text=True)
    origin = page.split('class="cc-origin"', 1)[1]
    assert "Mesas para el desarrollo de la metodología" in origin and f"/edomex/cocreacion/mesas/{tid}/minuta" in origin
    assert demo.DEMO_PROBLEMS[0][0] in origin

