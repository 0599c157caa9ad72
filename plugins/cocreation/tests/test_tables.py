"""Co-creation tables (steps 9–10): the admin creates, edits and publishes a table with the
problems it takes up (only published problems of its process and tenant), dated sessions in the
tenant's local time stored in UTC, participants shown to the public only as counts by sector and
organizations; the process page and the timeline link the tables; bad input is refused naming
the field and stores nothing; every new route is tenant-isolated."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from flask import url_for
from sqlalchemy import select

from comun_cms.toolkit import ChangeRefused, db, history, tenant_context, tenant_hook
from comun_cms.toolkit.testing import get_tenant

from plugins.cocreation import services as svc
from plugins.cocreation import tables as tbl
from plugins.cocreation.models import CocreationTable, Proposal, Registration, ResultsMinute, TableSession

THEME = svc.DEFAULT_THEMES[0]
ADMIN = "/edomex/admin/cocreacion"


@pytest.fixture
def setup(make_process, make_problem):
    pid = make_process()
    return {"process_id": pid,
            "p1": make_problem(pid, title="Baches en el centro"),
            "p2": make_problem(pid, title="Falta de alumbrado"),
            "pending": make_problem(pid, title="Problema pendiente", published=False)}


def _tables(app, slug="edomex"):
    with tenant_context(get_tenant(app, slug)):
        return db.session.scalars(select(CocreationTable).order_by(CocreationTable.id)).all()


def _create(client, pid, **over):
    data = {"title": "Mesa de transparencia municipal", "theme": THEME, "description": "Mesa para acordar",
            "place": "Toluca", "capacity": "25"}
    data.update(over)
    return client.post(f"{ADMIN}/{pid}/mesas", data=data)


def test_admin_creates_edits_and_publishes_a_table(app, client, login_as, setup):
    login_as("editor")
    resp = _create(client, setup["process_id"], problems=[str(setup["p1"]), str(setup["p2"])])
    assert resp.status_code == 303
    [table] = _tables(app)
    tid = table.id
    with tenant_context(get_tenant(app, "edomex")):
        table = db.session.get(CocreationTable, tid)
        assert (table.title, table.theme, table.capacity, table.status) == (
            "Mesa de transparencia municipal", THEME, 25, "draft")
        assert [p.id for p in table.problems] == [setup["p1"], setup["p2"]]
    page = client.get(f"{ADMIN}/mesas/{tid}").get_data(as_text=True)
    assert "Mesa de transparencia municipal" in page and "Baches en el centro" in page
    assert client.get(f"/edomex/cocreacion/mesas/{tid}").status_code == 404  # a draft is not public
    assert client.post(f"{ADMIN}/mesas/{tid}/publicar").status_code == 303
    data = {"title": "Mesa de transparencia", "theme": THEME, "problems": [str(setup["p1"])]}
    assert client.post(f"{ADMIN}/mesas/{tid}", data=data).status_code == 422  # published: a reason is needed
    assert client.post(f"{ADMIN}/mesas/{tid}", data={**data, "reason": "Se acotó la mesa"}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        pubs = history("cocreation_table", tid)
        assert [(p.version, p.action, p.reason) for p in pubs] == [(1, "publish", ""), (2, "correct", "Se acotó la mesa")]
        content = json.loads(pubs[-1].canonical_json)["content"]
        assert content["title"] == "Mesa de transparencia"
        assert content["problems"] == [{"id": setup["p1"], "title": "Baches en el centro"}]
        log = tenant_hook(get_tenant(app, "edomex"), "publication_log")(tenant=get_tenant(app, "edomex"), start=0,
                                                                         limit=1000)
        logged = [e.publication_id for e in log.entries]
        assert all(p.id in logged for p in pubs)  # the notary logged both versions
    client.delete_cookie("session")
    public = client.get(f"/edomex/cocreacion/mesas/{tid}").get_data(as_text=True)
    assert "Mesa de transparencia" in public and f"/edomex/cocreacion/problemas/{setup['p1']}" in public
    assert "Mesa de transparencia" in client.get("/edomex/buscar?q=transparencia").get_data(as_text=True)


def test_a_table_needs_a_published_process(app, client, login_as, make_process, make_problem):
    pid = make_process(published=False)
    login_as("editor")
    assert _create(client, pid).status_code == 303
    [table] = _tables(app)
    client.post(f"{ADMIN}/mesas/{table.id}/publicar")
    assert _tables(app)[0].status == "draft"


def test_problems_of_another_tenant_process_or_unpublished_are_refused(app, client, login_as, setup, make_process,
                                                                     make_problem):
    other_pid = make_process("puebla")
    foreign = make_problem(other_pid, "puebla", title="Problema de Puebla")
    same_tenant_other_process = make_problem(make_process(title="Otro proceso"), title="De otro proceso")
    login_as("editor")
    for bad in (foreign, setup["pending"], same_tenant_other_process, 999999):
        resp = _create(client, setup["process_id"], problems=[str(setup["p1"]), str(bad)])
        assert resp.status_code == 422 and 'href="#problems"' in resp.get_data(as_text=True), bad
    assert _tables(app) == []
    with tenant_context(get_tenant(app, "edomex")):  # the service refuses too (the association has no tenant)
        table = CocreationTable(process_id=setup["process_id"], title="Mesa", theme=THEME)
        db.session.add(table)
        for bad in (foreign, setup["pending"], same_tenant_other_process):
            with pytest.raises(ChangeRefused) as exc:
                tbl.set_problems(table, [setup["p1"], bad])
            assert exc.value.field == "problems"
        db.session.rollback()


@pytest.mark.parametrize("over, field", [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 10_000}, "title"),
    ({"description": "d" * 10_000}, "description"),
    ({"place": "p" * 10_000}, "place"),
    ({"theme": "Tema inventado"}, "theme"),
    ({"capacity": "0"}, "capacity"),
    ({"capacity": "muchas"}, "capacity"),
])
def test_bad_table_input_is_refused_naming_the_field_and_stores_nothing(app, client, login_as, setup, over, field):
    login_as("editor")
    resp = _create(client, setup["process_id"], **over)
    assert resp.status_code == 422
    assert f'href="#{field}"' in resp.get_data(as_text=True)
    assert _tables(app) == []


def test_html_in_a_table_is_text(app, client, login_as, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p1"]], title="<script>alert(1)</script>Mesa")
    html = client.get(f"/edomex/cocreacion/mesas/{ids['table_id']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;Mesa" in html


def test_sessions_are_local_time_stored_in_utc(app, client, login_as, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p1"]], published=False, minute=None)
    tid = ids["table_id"]
    login_as("editor")
    resp = client.post(f"{ADMIN}/mesas/{tid}/sesiones", data={
        "day": "2026-06-10", "starts": "17:30", "ends": "19:00", "place": "Auditorio", "note": "Segunda sesión"})
    assert resp.status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        rows = db.session.scalars(select(TableSession).where(TableSession.table_id == tid)
                                  .order_by(TableSession.starts_at)).all()
        assert [r.starts_at for r in rows] == [dt.datetime(2026, 5, 4, 16, 0, tzinfo=dt.timezone.utc),
                                               dt.datetime(2026, 6, 10, 23, 30, tzinfo=dt.timezone.utc)]
        assert rows[1].ends_at == dt.datetime(2026, 6, 11, 1, 0, tzinfo=dt.timezone.utc)
        second = rows[1].id
    page = client.get(f"{ADMIN}/mesas/{tid}").get_data(as_text=True)
    assert "5:30" in page and "Auditorio" in page
    for bad, field in (({"day": "10/06/2026"}, "day"), ({"day": "2026-02-31"}, "day"), ({"day": ""}, "day"),
                       ({"starts": "25:00"}, "starts"), ({"ends": "09:00"}, "ends"), ({"note": "n" * 10_000}, "note")):
        data = {"day": "2026-06-11", "starts": "10:00", "ends": "", **bad}
        resp = client.post(f"{ADMIN}/mesas/{tid}/sesiones", data=data)
        assert resp.status_code == 422 and f'href="#{field}"' in resp.get_data(as_text=True), bad
    assert client.post(f"{ADMIN}/mesas/{tid}/sesiones/{second}/borrar").status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert len(db.session.scalars(select(TableSession).where(TableSession.table_id == tid)).all()) == 1


def test_a_published_table_changes_its_sessions_only_with_a_reason(app, client, login_as, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p1"]], minute=None)
    login_as("editor")
    data = {"day": "2026-06-10", "starts": "10:00"}
    assert client.post(f"{ADMIN}/mesas/{ids['table_id']}/sesiones", data=data).status_code == 422
    assert client.post(f"{ADMIN}/mesas/{ids['table_id']}/sesiones/{ids['session_id']}/borrar").status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert len(db.session.scalars(select(TableSession)).all()) == 1  # refused: nothing changed
    assert client.post(f"{ADMIN}/mesas/{ids['table_id']}/sesiones",
                       data={**data, "reason": "Nueva fecha acordada"}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert [p.version for p in history("cocreation_table", ids["table_id"])] == [1, 2]


def test_participants_are_public_only_as_counts_by_sector_and_organizations(app, client, login_as, setup,
                                                                            make_table):
    ids = make_table(setup["process_id"], [setup["p1"]], minute=None)
    with tenant_context(get_tenant(app, "edomex")):
        for n, (sector, org) in enumerate((("gobierno", "Ayuntamiento de Toluca"), ("sociedad_civil", "Colectivo Agua"),
                                           ("sociedad_civil", "Colectivo Agua"), ("academia", ""))):
            db.session.add(Registration(table_id=ids["table_id"], name=f"Persona Secreta {n}",
                                        email=f"secreta{n}@example.org", sector=sector, organization=org,
                                        source="admin"))
        db.session.commit()
    public = client.get(f"/edomex/cocreacion/mesas/{ids['table_id']}").get_data(as_text=True)
    assert "Persona Secreta" not in public and "secreta0@example.org" not in public
    assert "Ayuntamiento de Toluca" in public and public.count("Colectivo Agua") == 1
    assert "4 people registered" in public and "Civil society</th><td>2" in public
    login_as("editor")
    admin = client.get(f"{ADMIN}/mesas/{ids['table_id']}").get_data(as_text=True)
    assert "Persona Secreta 0" in admin and "Civil society: 2" in admin
    with tenant_context(get_tenant(app, "edomex")):
        content = json.loads(history("cocreation_table", ids["table_id"])[0].canonical_json)["content"]
        assert "Persona" not in json.dumps(content)


def test_process_page_and_timeline_link_tables_and_minutes(app, client, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p1"]], title="Mesa de agua")
    make_table(setup["process_id"], [setup["p2"]], title="Mesa en borrador", published=False, minute=None)
    page = client.get(f"/edomex/cocreacion/{setup['process_id']}").get_data(as_text=True)
    assert f"/edomex/cocreacion/mesas/{ids['table_id']}" in page and "Mesa en borrador" not in page
    assert "Co-creation tables: 1 published" in page and "Results minutes of the tables: 1 published" in page
    listing = client.get(f"/edomex/cocreacion/{setup['process_id']}/mesas").get_data(as_text=True)
    assert f"/edomex/cocreacion/mesas/{ids['table_id']}/minuta" in listing and "Mesa en borrador" not in listing
    table_page = client.get(f"/edomex/cocreacion/mesas/{ids['table_id']}").get_data(as_text=True)
    assert f"/edomex/cocreacion/mesas/{ids['table_id']}/minuta" in table_page


def test_a_problem_answered_by_a_proposal_stays_on_the_table(app, client, login_as, setup, make_table):
    ids = make_table(setup["process_id"], [setup["p1"], setup["p2"]], published=False, minute="draft")
    login_as("editor")
    resp = client.post(f"{ADMIN}/mesas/{ids['table_id']}", data={
        "title": "Mesa", "theme": THEME, "problems": [str(setup["p1"])]})
    assert resp.status_code == 422 and 'href="#problems"' in resp.get_data(as_text=True)
    with tenant_context(get_tenant(app, "edomex")):
        assert len(db.session.get(CocreationTable, ids["table_id"]).problems) == 2


# --------------------------------------------------------------------------- tenant isolation
def _my_rules(app, prefix):
    mine = ("mesas", "minuta", "propuestas")
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith(prefix) and any(m in r.rule for m in mine)]


def _url(app, rule, tenant, values):
    with app.test_request_context():
        return url_for(rule.endpoint, tenant=tenant, **{k: values[k] for k in rule.arguments if k != "tenant"})


@pytest.fixture
def two(app, make_process, make_problem, make_table):
    out = {}
    for slug in ("edomex", "puebla"):
        pid = make_process(slug, title=f"Proceso exclusivo {slug}")
        prob = make_problem(pid, slug, title=f"Problema exclusivo {slug}")
        ids = make_table(pid, [prob], slug, title=f"Mesa exclusiva {slug}", minute="draft")
        draft = make_table(pid, [prob], slug, title=f"Mesa borrador {slug}", published=False, minute=None)
        out[slug] = {"process_id": pid, "problem_id": prob, "action": "aprobar", "draft_table": draft["table_id"],
                     **ids}
    return out


def _snapshot(app, slug):
    with tenant_context(get_tenant(app, slug)):
        return ([(t.title, t.status, t.version, len(t.sessions), [p.id for p in t.problems])
                 for t in db.session.scalars(select(CocreationTable).order_by(CocreationTable.id))],
                [(m.stage, m.status, m.summary) for m in db.session.scalars(select(ResultsMinute))],
                [(p.title, p.seq) for p in db.session.scalars(select(Proposal))])


def test_admin_routes_of_tables_and_minutes_are_tenant_isolated(app, client, login_as, two):
    rules = _my_rules(app, "admin_cocreation.")
    assert {r.endpoint for r in rules} >= {
        "admin_cocreation.tables", "admin_cocreation.table", "admin_cocreation.publish_table",
        "admin_cocreation.add_table_session", "admin_cocreation.delete_table_session", "admin_cocreation.minute",
        "admin_cocreation.add_proposal", "admin_cocreation.proposal", "admin_cocreation.delete_proposal",
        "admin_cocreation.minute_action"}
    before = _snapshot(app, "puebla")
    login_as("editor", "puebla")
    for rule in rules:  # puebla's editor in edomex's admin
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert client.open(_url(app, rule, "edomex", two["edomex"]), method=method).status_code == 403, rule.rule
    client.delete_cookie("session")
    login_as("editor", "edomex")
    data = {"title": "Cambiado", "theme": THEME, "reason": "x", "held_on": "2026-01-01", "summary": "Cambiado",
            "problem_id": str(two["puebla"]["problem_id"]), "responsible_institution": "X", "day": "2026-01-01",
            "starts": "10:00"}
    for rule in rules:  # edomex's editor with puebla's ids
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(_url(app, rule, "edomex", two["puebla"]), method=method, data=data)
            assert resp.status_code == 404, (rule.rule, method)
    assert _snapshot(app, "puebla") == before
    for rule in rules:  # and its own pages work
        if "GET" in rule.methods:
            assert client.get(_url(app, rule, "edomex", two["edomex"])).status_code == 200, rule.rule


def test_public_pages_of_tables_and_minutes_are_tenant_isolated(app, client, two):
    edomex, puebla = two["edomex"], two["puebla"]
    assert client.get(f"/puebla/cocreacion/mesas/{edomex['table_id']}").status_code == 404
    assert client.get(f"/edomex/cocreacion/mesas/{puebla['table_id']}").status_code == 404
    assert client.get(f"/edomex/cocreacion/mesas/{edomex['draft_table']}").status_code == 404
    assert client.get(f"/puebla/cocreacion/{edomex['process_id']}/mesas").status_code == 404
    assert client.get(f"/edomex/cocreacion/mesas/{edomex['table_id']}/minuta").status_code == 404  # draft minute
    for slug, other in (("edomex", "puebla"), ("puebla", "edomex")):
        for path in (f"/{slug}/cocreacion/{two[slug]['process_id']}/mesas", f"/{slug}/cocreacion/mesas/{two[slug]['table_id']}",
                     f"/{slug}/cocreacion/{two[slug]['process_id']}"):
            html = client.get(path).get_data(as_text=True)
            assert f"exclusiva {other}" not in html and "Mesa borrador" not in html, path
            assert f"Mesa exclusiva {slug}" in html, path
