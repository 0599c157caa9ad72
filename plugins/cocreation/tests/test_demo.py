"""Demo data: the Estado de México process links step 4 to the STL's installation minutes and
step 11 to the real INFOEM plan (loaded by the other plugins), is labelled "Dato de ejemplo"
where invented, and loading it twice adds nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from comun_cms.toolkit import DemoContext, db, tenant_context
from comun_cms.toolkit.testing import get_tenant, run_demo

from plugins.cocreation.demo import load_demo
from plugins.cocreation.models import Problem, Process


def test_edomex_demo_links_the_real_minutes_and_plan(app, client):
    edomex = get_tenant(app, "edomex")
    run_demo(app, [edomex], log=lambda message: None)
    with tenant_context(edomex):
        process = db.session.scalars(select(Process)).one()
        assert process.is_demo and process.status == "published"
        steps = {s.number: s for s in process.steps}
        assert steps[4].link_type in ("stl_session", "stl_body") and steps[4].link_id
        assert steps[11].link_type == "action_plan" and steps[11].link_id
        assert steps[9].link_type == "commitment" and "metodología" in steps[9].note
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
