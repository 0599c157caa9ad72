"""Into the plan (issue 16, items 7 and 8): "Convertir en compromiso" on the proposals of a
published results minute (pre-filled draft, once only, tenant isolation, absent without action
plans), the "Origen ciudadano" chain on the public commitment page (published links only, it
survives corrections of every link, the page cache shows it once published), and the portal's
commitments from citizens' problems and cross-state problems by theme.

Action plans are reached only through the content-type registry and the toolkit (a plugin's
tests do not import another plugin).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from flask import url_for
from sqlalchemy import select

from comun_cms.toolkit import AuditEvent, content_types, correct, db, publish, retract, tenant_context
from comun_cms.toolkit.testing import get_tenant, run_demo

from plugins.cocreation import minutes, services as svc
from plugins.cocreation.models import CocreationTable, Problem, Proposal, ResultsMinute, Tree


def _ct(name):
    return content_types().get(name)


@pytest.fixture
def make_minute(app, make_process, make_problem):
    """``make_minute(slug)``: a published process with a published problem (and a duplicate
    merged into it, its two published trees), a published table taking it up, a results minute
    (published unless ``published=False``) with two proposals, and a published action plan.
    Returns a dict of ids."""

    def make(slug="edomex", *, published=True, theme=None):
        pid = make_process(slug, title=f"Proceso {slug}")
        problem_id = make_problem(pid, slug, title=f"Baches sin reparar en {slug}", theme=theme)
        dup_id = make_problem(pid, slug, title=f"Calles rotas en {slug}", theme=theme)
        with tenant_context(get_tenant(app, slug)):
            problem = db.session.get(Problem, problem_id)
            svc.merge_problem(db.session.get(Problem, dup_id), problem, None)
            for kind in ("problem", "solution"):
                tree = Tree(problem_id=problem_id, kind=kind, core=f"Núcleo {kind} {slug}", roots="- raíz", branches="- rama")
                db.session.add(tree)
                db.session.flush()
                publish(tree, commit=False)
            table = CocreationTable(process_id=pid, title=f"Mesa de obra pública {slug}", theme=problem.theme)
            table.problems.append(problem)
            db.session.add(table)
            db.session.flush()
            publish(table, commit=False)
            minute = ResultsMinute(table_id=table.id, held_on=svc.tenant_today(get_tenant(app, slug)) - dt.timedelta(days=3),
                                   summary="Acuerdos de la mesa")
            minute.proposals.append(Proposal(seq=1, title=f"Padrón público de baches {slug}",
                                             description="Un mapa abierto de los baches y su reparación.",
                                             problem_id=problem_id, responsible_institution="Secretaría de Obras"))
            minute.proposals.append(Proposal(seq=2, title=f"Transparencia de obra {slug}", problem_id=problem_id,
                                             responsible_institution="INFOEM"))
            db.session.add(minute)
            db.session.flush()
            if published:  # through the minutes lifecycle: approved, then published and locked
                minutes.approve_minute(minute)
                minutes.publish_minute(minute)
            plan_ct = _ct("action_plan")
            plan = plan_ct.model(number=1, title=f"Plan de Acción Local {slug}")
            db.session.add(plan)
            db.session.flush()
            publish(plan, commit=False)
            db.session.commit()
            return {"process": pid, "problem": problem_id, "dup": dup_id, "table": table.id, "minute": minute.id,
                    "proposals": [p.id for p in minute.proposals], "plan": plan.id}

    return make


def convert(client, ids, proposal_index=0, plan=None, slug="edomex"):
    return client.post(f"/{slug}/admin/cocreacion/{ids['process']}/propuestas",
                       data={"proposal": ids["proposals"][proposal_index], "plan": plan or ids["plan"]})


def submit_rendered_form(client, page_url, proposal_id):
    """Post the "Convertir en compromiso" form of ``proposal_id`` as a browser would: every
    input of the rendered form, the plan select's first option."""
    html = client.get(page_url).get_data(as_text=True)
    forms = re.findall(r'<form method="post" action="([^"]+)" class="cc-inline">(.*?)</form>', html, re.S)
    for action, body in forms:
        if f'id="plan-{proposal_id}"' in body:
            data = dict(re.findall(r'<input name="([^"]+)" type="hidden" value="([^"]*)"', body))
            data["plan"] = re.search(r'<option value="([^"]+)"', body).group(1)
            return client.post(action, data=data)
    raise AssertionError(f"no conversion form for proposal {proposal_id} on {page_url}")


def minute_url(app, ids, slug="edomex"):
    """The public URL of the proposal 1 of the minute (its content type's URL, anchored)."""
    with tenant_context(get_tenant(app, slug)), app.test_request_context():
        return _ct("cocreation_minute").url(db.session.get(ResultsMinute, ids["minute"]))


def commitments(app, slug="edomex"):
    with tenant_context(get_tenant(app, slug)):
        model = _ct("commitment").model
        return db.session.scalars(select(model).order_by(model.id)).all()


# --------------------------------------------------------------------------- conversion
def test_convert_prefills_a_draft_commitment_once_and_keeps_the_minute_locked(app, client, login_as, make_minute):
    ids = make_minute()
    login_as("editor", "edomex")
    page = client.get(f"/edomex/admin/cocreacion/{ids['process']}/propuestas").get_data(as_text=True)
    assert page.count('name="plan"') == 2 and "Padrón público de baches edomex" in page
    # the results minute's own admin page has the same buttons
    minute_page = client.get(f"/edomex/admin/cocreacion/mesas/{ids['table']}/minuta").get_data(as_text=True)
    assert minute_page.count('name="plan"') == 2
    assert f'action="/edomex/admin/cocreacion/{ids["process"]}/propuestas"' in minute_page
    with tenant_context(get_tenant(app, "edomex")):
        minute_sha = db.session.get(ResultsMinute, ids["minute"]).version
    # the form as rendered on the minute's page (hidden proposal id, plan chosen)
    resp = submit_rendered_form(client, f"/edomex/admin/cocreacion/mesas/{ids['table']}/minuta", ids["proposals"][0])
    assert resp.status_code == 303
    [c] = commitments(app)
    assert resp.headers["Location"].endswith(f"/edomex/admin/plan-accion/compromisos/{c.id}") or \
        f"/compromisos/{c.id}" in resp.headers["Location"]
    assert (c.status, c.plan_id, c.number, c.origin) == ("draft", ids["plan"], 1, "co_created")
    assert c.title == "Padrón público de baches edomex" and c.owner_institution == "Secretaría de Obras"
    assert c.description == "Un mapa abierto de los baches y su reparación."
    assert c.public_problem.startswith("Baches sin reparar en edomex") and "Descripción de" in c.public_problem
    assert "Propuesta 1" in c.source or "Proposal 1" in c.source
    with tenant_context(get_tenant(app, "edomex")):
        proposal = db.session.get(Proposal, ids["proposals"][0])
        assert proposal.commitment_id == c.id and proposal.converted_at is not None
        minute = db.session.get(ResultsMinute, ids["minute"])
        assert (minute.status, minute.version) == ("published", minute_sha)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cocreation_proposal.convert"))
        assert event.object_id == str(proposal.id) and event.after["commitment_id"] == c.id
    # once only: the button is gone and a second post is refused, nothing more is stored
    page = client.get(f"/edomex/admin/cocreacion/{ids['process']}/propuestas").get_data(as_text=True)
    assert page.count('name="plan"') == 1 and f"/compromisos/{c.id}" in page
    assert convert(client, ids).status_code == 422
    assert len(commitments(app)) == 1
    page_url = f"/edomex/admin/cocreacion/{ids['process']}/propuestas"
    assert submit_rendered_form(client, page_url, ids["proposals"][1]).status_code == 303
    second = commitments(app)[1]
    assert (second.number, second.title, second.owner_institution) == (2, "Transparencia de obra edomex", "INFOEM")


def test_a_proposal_of_an_unpublished_minute_cannot_be_converted(app, client, login_as, make_minute):
    ids = make_minute(published=False)
    login_as("editor", "edomex")
    page = client.get(f"/edomex/admin/cocreacion/{ids['process']}/propuestas").get_data(as_text=True)
    assert "Padrón público de baches edomex" in page and 'name="plan"' not in page
    assert convert(client, ids).status_code == 422
    assert commitments(app) == []
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.get(Proposal, ids["proposals"][0]).commitment_id is None


@pytest.mark.parametrize("data", [{"plan": ""}, {"plan": "abc"}, {"plan": "99999"}, {"plan": "1" * 10000}, {}],
                         ids=["empty", "text", "unknown", "10000-chars", "missing"])
def test_bad_plan_values_are_refused_naming_the_field(app, client, login_as, make_minute, spanish, data):
    ids = make_minute()
    login_as("editor", "edomex")
    resp = client.post(f"/edomex/admin/cocreacion/{ids['process']}/propuestas",
                       data={"proposal": ids["proposals"][0], **data})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Plan de acción:" in html  # the flashed error names the field, in Spanish
    assert commitments(app) == []
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.get(Proposal, ids["proposals"][0]).commitment_id is None
    for proposal in ("", "abc", "<b>1</b>"):
        assert client.post(f"/edomex/admin/cocreacion/{ids['process']}/propuestas",
                           data={"proposal": proposal, "plan": ids["plan"]}).status_code == 404


def test_another_tenants_proposals_and_plans_are_refused(app, client, login_as, make_minute):
    edomex, puebla = make_minute("edomex"), make_minute("puebla")
    login_as("editor", "edomex")
    # puebla's proposal through edomex's process, and through puebla's process id: not found
    assert client.post(f"/edomex/admin/cocreacion/{edomex['process']}/propuestas",
                       data={"proposal": puebla["proposals"][0], "plan": edomex["plan"]}).status_code == 404
    assert client.post(f"/edomex/admin/cocreacion/{puebla['process']}/propuestas",
                       data={"proposal": puebla["proposals"][0], "plan": edomex["plan"]}).status_code == 404
    # edomex's proposal into puebla's plan: refused, nothing stored
    assert convert(client, edomex, plan=puebla["plan"]).status_code == 422
    assert client.get(f"/edomex/admin/cocreacion/{puebla['process']}/propuestas").status_code == 404
    # puebla's editor cannot act in edomex
    client.delete_cookie("session")
    login_as("editor", "puebla")
    assert convert(client, edomex).status_code == 403
    assert client.get(f"/edomex/admin/cocreacion/{edomex['process']}/propuestas").status_code == 403
    assert commitments(app, "edomex") == [] and commitments(app, "puebla") == []
    with tenant_context(get_tenant(app, "edomex")):
        assert all(p.commitment_id is None for p in db.session.scalars(select(Proposal)))


def test_without_action_plans_the_button_is_absent(app, client, login_as, make_minute):
    ids = make_minute()
    state = app.extensions["comun"]
    tenant = state.tenants["edomex"]
    state.tenants["edomex"] = dataclasses.replace(tenant, plugins=tuple(p for p in tenant.plugins if p != "action_plans"))
    state.hook_cache.clear()
    login_as("editor", "edomex")
    page = client.get(f"/edomex/admin/cocreacion/{ids['process']}/propuestas")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Padrón público de baches edomex" in html and 'name="plan"' not in html
    assert convert(client, ids).status_code == 404
    assert commitments(app) == []


# --------------------------------------------------------------------------- origin chain
def _publish_commitment(app, slug="edomex"):
    with tenant_context(get_tenant(app, slug)):
        c = commitments(app, slug)[-1]
        publish(c)
        return c.id, _ct("commitment").url(c)


def chain_html(client, url):
    resp = client.get(url)
    assert resp.status_code == 200, url
    body = resp.get_data(as_text=True)
    return body.split('class="cc-origin"', 1)[1].split("</section>", 1)[0] if 'class="cc-origin"' in body else ""


def test_the_public_commitment_page_shows_its_citizen_origin_once_published(app, client, login_as, make_minute,
                                                                            spanish):
    # as in production: anonymous pages cached per generation, slots memoized per generation
    app.config.update(PAGE_CACHE=True, GENERATION_MEMO=True)
    ids = make_minute()
    login_as("editor", "edomex")
    assert convert(client, ids).status_code == 303
    [c] = commitments(app)
    with app.test_request_context():
        url = _ct("commitment").url(c)
    client.delete_cookie("session")
    assert client.get(url).status_code == 404  # a draft shows nothing publicly
    assert client.get(url).status_code == 404
    public_minute = minute_url(app, ids).split("#")[0]
    assert url not in client.get(public_minute).get_data(as_text=True)
    _publish_commitment(app)
    # the public minute links the proposal to the commitment it became
    assert f'En el plan de acción como: <a href="{url}">' in client.get(public_minute).get_data(as_text=True)
    html = chain_html(client, url)
    with app.test_request_context():
        problem_url = url_for("cocreation.problem", tenant="edomex", problem_id=ids["problem"])
    for text in ("Origen ciudadano", "Baches sin reparar en edomex", problem_url, "Calles rotas en edomex",
                 "Núcleo problem edomex", "Núcleo solution edomex", "Mesa de obra pública edomex",
                 "Padrón público de baches edomex", minute_url(app, ids), url):
        assert text in html, text
    assert html.index("Baches sin reparar") < html.index("Núcleo problem") < html.index("Mesa de obra pública") \
        < html.index("Padrón público") < html.rindex(url)


def test_the_chain_survives_corrections_of_every_link(app, client, login_as, make_minute):
    ids = make_minute()
    login_as("editor", "edomex")
    assert convert(client, ids).status_code == 303
    client.delete_cookie("session")
    cid, url = _publish_commitment(app)
    assert "Mesa de obra pública edomex" in chain_html(client, url)
    with tenant_context(get_tenant(app, "edomex")):
        problem = db.session.get(Problem, ids["problem"])
        problem.title = "Baches (corregido)"
        correct(problem, reason="Título más claro")
        tree = db.session.scalar(select(Tree).where(Tree.problem_id == ids["problem"], Tree.kind == "problem"))
        tree.core = "Núcleo corregido"
        correct(tree, reason="Núcleo más preciso")
        table = db.session.get(CocreationTable, ids["table"])
        table.title = "Mesa corregida"
        correct(table, reason="Nombre oficial de la mesa")
        minutes.add_minute_addendum(db.session.get(ResultsMinute, ids["minute"]), "Adenda: fe de erratas")
        db.session.commit()
        commitment = db.session.get(_ct("commitment").model, cid)
        commitment.title = "Padrón público de baches (corregido)"
        correct(commitment, reason="Título del compromiso")
        versions = [db.session.get(m, i).version for m, i in ((Problem, ids["problem"]), (CocreationTable, ids["table"]),
                                                               (ResultsMinute, ids["minute"]))] + [tree.version, commitment.version]
        assert versions == [2, 2, 2, 2, 2]
    html = chain_html(client, url)
    for text in ("Baches (corregido)", "Núcleo corregido", "Mesa corregida", "Padrón público de baches (corregido)",
                 f"/edomex/cocreacion/problemas/{ids['problem']}", minute_url(app, ids)):
        assert text in html, text
    assert "Núcleo problem edomex" not in html and "Mesa de obra pública edomex" not in html
    # a retracted link leaves the chain; the others stay
    with tenant_context(get_tenant(app, "edomex")):
        retract(db.session.scalar(select(Tree).where(Tree.problem_id == ids["problem"], Tree.kind == "problem")),
                reason="Árbol retirado")
    html = chain_html(client, url)
    assert "Núcleo corregido" not in html and "Núcleo solution edomex" in html and "Mesa corregida" in html


# --------------------------------------------------------------------------- portal
def test_portal_counts_commitments_from_citizens_and_lists_problems_by_theme(app, client, login_as, make_minute,
                                                                             make_process, make_problem):
    app.config.update(PAGE_CACHE=True, GENERATION_MEMO=True)  # as in production: per-generation memos
    themes = svc.DEFAULT_THEMES
    edomex, puebla = make_minute("edomex", theme=themes[0]), make_minute("puebla", theme=themes[1])
    pending_pid = make_process("hidalgo", title="Proceso hidalgo")
    make_problem(pending_pid, "hidalgo", title="Pendiente de hidalgo", published=False, theme=themes[0])
    make_problem(pending_pid, "hidalgo", title="Alumbrado en hidalgo", theme=themes[0])
    training_pid = make_process("capacitacion", title="Proceso de práctica")
    make_problem(training_pid, "capacitacion", title="Problema de práctica", theme=themes[0])
    login_as("editor", "edomex")
    assert convert(client, edomex).status_code == 303
    assert convert(client, edomex, 1).status_code == 303
    client.delete_cookie("session")
    login_as("editor", "puebla")
    assert convert(client, puebla, slug="puebla").status_code == 303
    client.delete_cookie("session")
    home = client.get("/").get_data(as_text=True)
    widget = home.split('class="cc-portal-origin"', 1)[1].split("</table>", 1)[0]
    counts = {slug: widget.split(get_tenant(app, slug).short_name, 1)[1].split("<td>", 1)[1].split("<", 1)[0]
              for slug in ("edomex", "puebla", "hidalgo")}
    assert counts == {"edomex": "0", "puebla": "0", "hidalgo": "0"}
    _publish_commitment(app, "edomex")  # one of edomex's two conversions is published
    _publish_commitment(app, "puebla")
    with tenant_context(get_tenant(app, "puebla")):
        retract(commitments(app, "puebla")[0], reason="Compromiso retirado")
    home = client.get("/").get_data(as_text=True)
    widget = home.split('class="cc-portal-origin"', 1)[1].split("</table>", 1)[0]
    counts = {slug: widget.split(get_tenant(app, slug).short_name, 1)[1].split("<td>", 1)[1].split("<", 1)[0]
              for slug in ("edomex", "puebla", "hidalgo")}
    assert counts == {"edomex": "1", "puebla": "0", "hidalgo": "0"}
    assert "/cocreacion/problemas" in home
    # each state's commitment page shows its own chain only
    with tenant_context(get_tenant(app, "edomex")), app.test_request_context():
        edomex_url = _ct("commitment").url(commitments(app)[-1])
    html = chain_html(client, edomex_url)
    assert "Transparencia de obra edomex" in html and "puebla" not in html
    page = client.get("/cocreacion/problemas").get_data(as_text=True)
    for text in ("Baches sin reparar en edomex", "Baches sin reparar en puebla", "Alumbrado en hidalgo",
                 f"/puebla/cocreacion/problemas/{puebla['problem']}"):
        assert text in page, text
    # pending and merged problems and the training tenant never show
    assert "Pendiente de hidalgo" not in page and "Calles rotas" not in page and "Problema de práctica" not in page
    page = client.get("/cocreacion/problemas", query_string={"tema": themes[0]}).get_data(as_text=True)
    assert "Baches sin reparar en edomex" in page and "Alumbrado en hidalgo" in page
    assert "Baches sin reparar en puebla" not in page
    page = client.get("/cocreacion/problemas", query_string={"tema": "<b>nada</b>"})
    assert page.status_code == 200 and "<b>nada</b>" not in page.get_data(as_text=True)


def test_a_deleted_draft_frees_the_proposal_and_its_id_never_links_another_commitment(app, client, login_as,
                                                                                       make_minute):
    ids = make_minute()
    login_as("editor", "edomex")
    assert convert(client, ids).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        [draft] = commitments(app)
        old_id = draft.id
        db.session.delete(draft)
        db.session.commit()
        # a commitment typed by hand afterwards (SQLite may give it the deleted draft's id)
        model = _ct("commitment").model
        other = model(plan_id=ids["plan"], number=5, title="Compromiso escrito a mano")
        db.session.add(other)
        db.session.commit()
        publish(other)
        with app.test_request_context():
            other_url = _ct("commitment").url(other)
    page = client.get(f"/edomex/admin/cocreacion/{ids['process']}/propuestas").get_data(as_text=True)
    assert page.count('name="plan"') == 2 and "was deleted" in page
    client.delete_cookie("session")
    assert chain_html(client, other_url) == ""
    login_as("editor", "edomex")
    assert convert(client, ids).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        new = commitments(app)[-1]
        assert new.title == "Padrón público de baches edomex" and new.id != other.id
        assert db.session.get(Proposal, ids["proposals"][0]).commitment_id == new.id
        assert old_id not in {c.id for c in commitments(app)} - {other.id}
    assert convert(client, ids).status_code == 422


def test_on_the_edomex_demo_a_locked_proposal_becomes_a_published_commitment_with_its_origin(app, client, login_as,
                                                                                              spanish):
    """End to end on `comun demo`: the demo table's locked minute → "Convertir en compromiso"
    (the rendered form, first plan offered) → the action plans' admin publishes the draft → the
    public page shows "Origen ciudadano" and the notary logged the publication."""
    edomex = get_tenant(app, "edomex")
    run_demo(app, [edomex], log=lambda message: None)
    with tenant_context(edomex):
        minute = db.session.scalars(select(ResultsMinute)).one()
        assert minute.status == "published" and minute.is_locked
        proposal = minute.proposals[0]
        table_id, proposal_id, title = minute.table_id, proposal.id, proposal.title
    login_as("editor", "edomex")
    resp = submit_rendered_form(client, f"/edomex/admin/cocreacion/mesas/{table_id}/minuta", proposal_id)
    assert resp.status_code == 303 and "/compromisos/" in resp.headers["Location"]
    commitment_admin = resp.headers["Location"]
    assert title in client.get(commitment_admin).get_data(as_text=True)
    assert client.post(commitment_admin + "/publicar", data={}).status_code == 303
    with tenant_context(edomex):
        commitment = db.session.get(_ct("commitment").model, db.session.get(Proposal, proposal_id).commitment_id)
        assert commitment.status == "published" and commitment.origin == "co_created"
        with app.test_request_context():
            url = _ct("commitment").url(commitment)
    client.delete_cookie("session")
    body = client.get(url).get_data(as_text=True)
    html = chain_html(client, url)
    assert "Origen ciudadano" in html and title in html and f"/edomex/cocreacion/mesas/{table_id}" in html
    assert "Verificado" in body  # the notary's seal of the commitment's publication
