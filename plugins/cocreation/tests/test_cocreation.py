"""Co-creation plugin: conformance kit, process and timeline, consultation form and its bad
input, moderation and merging, supports (one per verified e-mail), the paper import (all or
nothing) and the trees."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from comun_cms.toolkit import Page, Publication, db, history, publish, tenant_context
from comun_cms.toolkit.testing import get_tenant, public_form_token

from plugins.cocreation import services as svc
from plugins.cocreation.models import Problem, Process, Support, Tree

PLUGIN = "cocreation"
THEME = svc.DEFAULT_THEMES[0]


def _problems(app, slug="edomex"):
    with tenant_context(get_tenant(app, slug)):
        return db.session.scalars(select(Problem).order_by(Problem.id)).all()


# --------------------------------------------------------------------------- consultation
def _submit(client, process_id, **over):
    data = {"title": "Baches sin reparar", "description": "Las calles del centro tienen baches desde hace un año.",
            "theme": THEME, "municipality": "Toluca", "email": "", "privacy_consent": "y",
            "issued": public_form_token("cocreation_problem", "edomex")}
    data.update(over)
    return client.post(f"/edomex/cocreacion/{process_id}/consulta", data=data)


def test_a_person_states_a_problem_that_waits_for_moderation(app, client, make_process):
    pid = make_process()
    page = client.get(f"/edomex/cocreacion/{pid}/consulta").get_data(as_text=True)
    assert "privacy_consent" in page and THEME in page
    resp = _submit(client, pid, email="Ana@Example.org")
    assert resp.status_code == 200
    [problem] = _problems(app)
    assert (problem.moderation, problem.status, problem.source, problem.email) == ("pending", "draft", "online",
                                                                                  "ana@example.org")
    assert problem.consent_at is not None
    assert "Baches sin reparar" not in client.get(f"/edomex/cocreacion/{pid}/problemas").get_data(as_text=True)
    assert client.get(f"/edomex/cocreacion/problemas/{problem.id}").status_code == 404


@pytest.mark.parametrize("over, field", [
    ({"title": ""}, "title"),
    ({"description": "   "}, "description"),
    ({"description": "x" * 10_000}, "description"),
    ({"title": "y" * 10_000}, "title"),
    ({"theme": "Tema inventado"}, "theme"),
    ({"email": "no-es-correo"}, "email"),
    ({"privacy_consent": ""}, "privacy_consent"),
])
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(app, client, make_process, over, field):
    pid = make_process()
    resp = _submit(client, pid, **over)
    assert resp.status_code == 422
    assert f'href="#{field}"' in resp.get_data(as_text=True)
    assert _problems(app) == []


def test_html_is_stored_as_text_and_shown_escaped(app, client, make_process, login_as):
    pid = make_process()
    assert _submit(client, pid, title="<script>alert(1)</script>Agua", description="<b>negrita</b>").status_code == 200
    [problem] = _problems(app)
    login_as("editor")
    client.post(f"/edomex/admin/cocreacion/problemas/{problem.id}/publicar")
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/problemas/{problem.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;Agua" in html
    assert "<b>negrita</b>" not in html


@pytest.mark.parametrize("opens, closes", [(2, 10), (-10, -2)])
def test_the_form_is_closed_outside_its_dates(app, client, make_process, opens, closes):
    pid = make_process(opens=opens, closes=closes)
    page = client.get(f"/edomex/cocreacion/{pid}/consulta").get_data(as_text=True)
    assert 'name="title"' not in page
    assert _submit(client, pid).status_code == 409
    assert _problems(app) == []


def test_admin_refuses_wrong_dates(app, client, login_as):
    login_as("editor")
    resp = client.post("/edomex/admin/cocreacion/", data={
        "title": "Proceso", "consultation_opens": "2026-05-10", "consultation_closes": "2026-05-01"})
    assert resp.status_code == 422 and 'href="#consultation_closes"' in resp.get_data(as_text=True)
    resp = client.post("/edomex/admin/cocreacion/", data={"title": "Proceso", "consultation_opens": "2026-05-10"})
    assert resp.status_code == 422
    resp = client.post("/edomex/admin/cocreacion/", data={"title": "Proceso", "consultation_opens": "10/05/2026",
                                                           "consultation_closes": "2026-05-20"})
    assert resp.status_code == 422
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalars(select(Process)).all() == []


# --------------------------------------------------------------------------- process and timeline
def test_process_timeline_links_published_records_only(app, client, login_as, make_process):
    login_as("editor")
    resp = client.post("/edomex/admin/cocreacion/", data={
        "title": "2º Plan de Acción Local 2026–2027", "cycle": "2026–2027",
        "consultation_opens": "2026-01-10", "consultation_closes": "2026-02-10"})
    assert resp.status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        process = db.session.scalars(select(Process)).one()
        assert len(process.steps) == 13
        minutes = Page(title="Acta de instalación del STL", slug="acta-instalacion", body="Acta.")
        draft = Page(title="Borrador sin publicar", slug="borrador", body="x")
        db.session.add_all([minutes, draft])
        db.session.commit()
        publish(minutes)
        pid, page_id, draft_id = process.id, minutes.id, draft.id
    step_page = client.get(f"/edomex/admin/cocreacion/{pid}/pasos/4").get_data(as_text=True)
    assert f"page:{page_id}" in step_page and f"page:{draft_id}" not in step_page
    assert client.post(f"/edomex/admin/cocreacion/{pid}/pasos/4", data={"link": f"page:{draft_id}"}).status_code == 422
    assert client.post(f"/edomex/admin/cocreacion/{pid}/pasos/4", data={
        "link": f"page:{page_id}", "starts": "2025-11-03"}).status_code == 303
    assert client.post(f"/edomex/admin/cocreacion/{pid}/publicar").status_code == 303
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/{pid}").get_data(as_text=True)
    assert "Acta de instalación del STL" in html and "/edomex/p/acta-instalacion" in html
    assert html.count('<li class="cc-step') == 13
    with tenant_context(get_tenant(app, "edomex")):
        [pub] = history("cocreation_process", pid)
        assert json.loads(pub.canonical_json)["content"]["steps"][3]["link"] == f"page:{page_id}"


def test_a_published_process_changes_only_with_a_reason(app, client, login_as, make_process):
    pid = make_process()
    login_as("editor")
    data = {"title": "Proceso corregido", "consultation_opens": "2026-01-01", "consultation_closes": "2026-01-31"}
    assert client.post(f"/edomex/admin/cocreacion/{pid}", data=data).status_code == 422
    assert client.post(f"/edomex/admin/cocreacion/{pid}", data={**data, "reason": "Fechas oficiales"}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert [p.version for p in history("cocreation_process", pid)] == [1, 2]


# --------------------------------------------------------------------------- moderation
def test_publish_makes_a_problem_public_searchable_and_open_data(app, client, login_as, make_process, make_problem):
    pid = make_process()
    prob = make_problem(pid, title="Alumbrado público deficiente", published=False)
    login_as("editor")
    assert client.post(f"/edomex/admin/cocreacion/problemas/{prob}/publicar").status_code == 303
    client.delete_cookie("session")
    listing = client.get(f"/edomex/cocreacion/{pid}/problemas").get_data(as_text=True)
    assert "Alumbrado público deficiente" in listing and THEME in listing
    assert "Alumbrado" in client.get("/edomex/buscar?q=alumbrado").get_data(as_text=True)
    records = json.loads(client.get("/edomex/datos/cocreation-problems.json").data)["records"]
    assert [r["title"] for r in records] == ["Alumbrado público deficiente"]
    assert "email" not in records[0] and records[0]["content_sha256"]


def test_listing_by_theme(app, client, make_process, make_problem):
    pid = make_process()
    make_problem(pid, title="Problema de transparencia", theme=svc.DEFAULT_THEMES[0])
    make_problem(pid, title="Problema de participación", theme=svc.DEFAULT_THEMES[1])
    html = client.get(f"/edomex/cocreacion/{pid}/problemas", query_string={"tema": svc.DEFAULT_THEMES[1]}).get_data(
        as_text=True)
    assert "Problema de participación" in html and "Problema de transparencia" not in html


def test_merge_links_the_duplicate_and_moves_supports_once(app, client, login_as, make_process, make_problem):
    pid = make_process()
    target = make_problem(pid, title="Falta de agua potable")
    dup = make_problem(pid, title="No hay agua en la colonia")
    with tenant_context(get_tenant(app, "edomex")):
        db.session.add_all([Support(problem_id=target, email="a@x.mx", confirmed_at=svc.utcnow()),
                            Support(problem_id=dup, email="a@x.mx", confirmed_at=svc.utcnow()),
                            Support(problem_id=dup, email="b@x.mx", confirmed_at=svc.utcnow())])
        db.session.commit()
    login_as("editor")
    assert client.post(f"/edomex/admin/cocreacion/problemas/{dup}/fusionar", data={"target": dup}).status_code == 303
    assert _problems(app)[1].moderation == "published"  # refused: not into itself
    assert client.post(f"/edomex/admin/cocreacion/problemas/{dup}/fusionar", data={"target": target}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        d = db.session.get(Problem, dup)
        assert (d.moderation, d.merged_into_id, d.status) == ("merged", target, "retracted")
        assert svc.support_count(target) == 2 and svc.support_count(dup) == 0
        assert "Falta de agua potable" in history("cocreation_problem", dup)[-1].reason
    client.delete_cookie("session")
    resp = client.get(f"/edomex/cocreacion/problemas/{dup}")
    assert resp.status_code == 200 and "No hay agua" in resp.get_data(as_text=True)  # public tombstone stays
    decisions = client.get(f"/edomex/cocreacion/{pid}/decisiones").get_data(as_text=True)
    assert f"/edomex/cocreacion/problemas/{target}" in decisions
    assert 'id="supports">2<' in client.get(f"/edomex/cocreacion/problemas/{target}").get_data(as_text=True)


def test_a_pending_duplicate_redirects_to_its_target(app, client, login_as, make_process, make_problem):
    pid = make_process()
    target = make_problem(pid, title="Falta de agua potable")
    dup = make_problem(pid, title="Agua", published=False)
    login_as("editor")
    client.post(f"/edomex/admin/cocreacion/problemas/{dup}/fusionar", data={"target": target})
    client.delete_cookie("session")
    resp = client.get(f"/edomex/cocreacion/problemas/{dup}")
    assert resp.status_code == 301 and resp.headers["Location"].endswith(f"/problemas/{target}")


def test_reject_needs_a_public_reason_and_hides_the_text(app, client, login_as, make_process, make_problem):
    pid = make_process()
    prob = make_problem(pid, title="Texto ofensivo XYZ", published=False)
    login_as("editor")
    client.post(f"/edomex/admin/cocreacion/problemas/{prob}/rechazar", data={"reason": ""})
    assert _problems(app)[0].moderation == "pending"
    client.post(f"/edomex/admin/cocreacion/problemas/{prob}/rechazar", data={"reason": "R" * 5000})
    assert _problems(app)[0].moderation == "pending"
    client.post(f"/edomex/admin/cocreacion/problemas/{prob}/rechazar",
                data={"reason": "Contiene datos personales de terceros."})
    assert _problems(app)[0].moderation == "rejected"
    client.delete_cookie("session")
    decisions = client.get(f"/edomex/cocreacion/{pid}/decisiones").get_data(as_text=True)
    assert "Contiene datos personales de terceros." in decisions and "Texto ofensivo" not in decisions
    assert client.get(f"/edomex/cocreacion/problemas/{prob}").status_code == 404


# --------------------------------------------------------------------------- supports
def _support_token():
    return public_form_token("cocreation_support", "edomex")


@pytest.fixture
def mails(monkeypatch):
    sent = []
    real = svc.send_mail

    def capture(to, template, context=None, **kw):
        sent.append((to, context["link"]))
        return real(to, template, context, **kw)

    monkeypatch.setattr(svc, "send_mail", capture)
    return sent


def test_supports_count_once_per_verified_email(app, client, make_process, make_problem, mails):
    pid = make_process()
    prob = make_problem(pid)
    url = f"/edomex/cocreacion/problemas/{prob}"
    for email in ("ana@example.org", "ANA@example.org "):
        assert client.post(url, data={"email": email, "privacy_consent": "y", "issued": _support_token()}).status_code == 200
    assert len(mails) == 2 and {m[0] for m in mails} == {"ana@example.org"}
    with tenant_context(get_tenant(app, "edomex")):
        assert svc.support_count(prob) == 0  # not counted before the confirmation
        assert len(db.session.scalars(select(Support)).all()) == 1
    first_link = mails[0][1].split("localhost", 1)[-1]
    assert client.get(first_link).status_code == 404  # replaced by the second request
    link = mails[1][1].split("localhost", 1)[-1]
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 200
    assert client.post(link).status_code == 404  # used
    resp = client.post(url, data={"email": "ana@example.org", "privacy_consent": "y",
                                  "issued": _support_token()})
    assert len(mails) == 2  # already supports: no new mail
    assert 'id="supports">1<' in client.get(url).get_data(as_text=True)
    with tenant_context(get_tenant(app, "edomex")):
        assert svc.support_count(prob) == 1
    assert resp.status_code == 200


def test_support_needs_consent_and_a_valid_email(app, client, make_process, make_problem, mails):
    pid = make_process()
    prob = make_problem(pid)
    url = f"/edomex/cocreacion/problemas/{prob}"
    assert client.post(url, data={"email": "ana@example.org", "issued": _support_token()}).status_code == 422
    assert client.post(url, data={"email": "no", "privacy_consent": "y", "issued": _support_token()}).status_code == 422
    assert mails == []


# --------------------------------------------------------------------------- paper import
CSV_OK = ("Título,Descripción,Tema,Municipio,Folio\r\n"
          f"Basura en el mercado,No hay recolección los domingos,{THEME},Toluca,P-001\r\n"
          f"Inseguridad en el parque,Falta iluminación,{svc.DEFAULT_THEMES[4]},Metepec,P-002\r\n")


def test_paper_import_adds_problems_marked_as_paper(app, client, login_as, make_process):
    pid = make_process()
    login_as("editor")
    resp = client.post(f"/edomex/admin/cocreacion/{pid}/importar",
                       data={"file": (io.BytesIO(CSV_OK.encode()), "consulta.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    problems = _problems(app)
    assert [(p.title, p.source, p.moderation, p.paper_reference) for p in problems] == [
        ("Basura en el mercado", "paper", "pending", "P-001"), ("Inseguridad en el parque", "paper", "pending", "P-002")]


def test_paper_import_is_all_or_nothing_with_row_numbers(app, client, login_as, make_process):
    pid = make_process()
    login_as("editor")
    bad = CSV_OK + (",Sin título," + THEME + ",,\r\n") + ("Tema malo,Descripción,Tema que no existe,,\r\n") \
        + ("Largo," + "x" * 10_000 + "," + THEME + ",,\r\n")
    resp = client.post(f"/edomex/admin/cocreacion/{pid}/importar", data={"text": bad})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for row in (4, 5, 6):
        assert f"Fila {row}:" in html or f"Row {row}:" in html
    assert "Fila 2:" not in html and "Row 2:" not in html
    assert _problems(app) == []
    resp = client.post(f"/edomex/admin/cocreacion/{pid}/importar", data={"text": "Nombre,Otra\r\na,b\r\n"})
    assert resp.status_code == 422 and _problems(app) == []


# --------------------------------------------------------------------------- trees
def test_tree_is_published_notarized_and_rendered_accessibly(app, client, login_as, make_process, make_problem):
    pid = make_process()
    prob = make_problem(pid, title="Opacidad municipal")
    login_as("editor")
    url = f"/edomex/admin/cocreacion/problemas/{prob}/arboles"
    resp = client.post(url, data={"kind": "problem", "problem-core": "Opacidad municipal",
                                  "problem-roots": "- Falta de personal\n  - Rotación\n- Sin procedimientos",
                                  "problem-branches": "- Desconfianza"})
    assert resp.status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        tree = db.session.scalars(select(Tree)).one()
        [pub] = history("cocreation_tree", tree.id)
        assert json.loads(pub.canonical_json)["content"]["roots"][0] == {"text": "Falta de personal", "children": [
            {"text": "Rotación", "children": []}]}
        assert db.session.scalar(select(Publication.sha256).where(Publication.id == pub.id))
    # a correction needs a reason; bad indentation names the line
    bad = {"kind": "problem", "problem-core": "Opacidad", "problem-roots": "- Uno\n      - Salto", "reason": "x"}
    resp = client.post(url, data=bad)
    assert resp.status_code == 422 and "2" in resp.get_data(as_text=True)
    resp = client.post(url, data={"kind": "problem", "problem-core": "Opacidad municipal", "problem-roots": "- Otra"})
    assert resp.status_code == 422
    assert client.post(url, data={"kind": "problem", "problem-core": "Opacidad municipal", "problem-roots": "- Otra",
                                  "reason": "Se agregó una causa"}).status_code == 303
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/problemas/{prob}").get_data(as_text=True)
    assert '<figure class="cc-tree cc-tree--problem"' in html and "Otra" in html and "<h3" in html
    with tenant_context(get_tenant(app, "edomex")):
        assert [p.version for p in history("cocreation_tree", tree.id)] == [1, 2]


def test_trees_need_a_published_problem(app, client, login_as, make_process, make_problem):
    pid = make_process()
    prob = make_problem(pid, published=False)
    login_as("editor")
    resp = client.post(f"/edomex/admin/cocreacion/problemas/{prob}/arboles",
                       data={"kind": "problem", "problem-core": "X", "problem-roots": "- a"})
    assert resp.status_code == 422
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalars(select(Tree)).all() == []


def test_outline_parser():
    nodes = svc.parse_outline("a\n  b\n    c\n  d\ne", "Causas")
    assert svc.outline_data(nodes) == [
        {"text": "a", "children": [{"text": "b", "children": [{"text": "c", "children": []}]},
                                   {"text": "d", "children": []}]},
        {"text": "e", "children": []}]
    with pytest.raises(ValueError):
        svc.parse_outline("  a", "Causas")
    with pytest.raises(ValueError):
        svc.parse_outline("\n".join(["x"] * 201), "Causas")


# --------------------------------------------------------------------------- personal data
def test_personal_data_export_erase_and_purge(app, make_process, make_problem):
    import datetime as dt

    from plugins.cocreation.privacy import SOURCE

    pid = make_process()
    prob = make_problem(pid)
    with tenant_context(get_tenant(app, "edomex")) as tenant:
        db.session.get(Problem, prob).email = "ana@example.org"
        old = Support(problem_id=prob, email="viejo@example.org")
        db.session.add_all([Support(problem_id=prob, email="ana@example.org", confirmed_at=svc.utcnow()), old])
        db.session.flush()
        old.created_at = svc.utcnow() - dt.timedelta(days=40)
        db.session.commit()
        assert {r["kind"] for r in SOURCE.export("ANA@example.org")} == {"problem", "support"}
        assert SOURCE.purge(tenant or get_tenant(app, "edomex"), svc.utcnow()) == {"cocreation_unconfirmed_supports": 1}
        assert SOURCE.purge(get_tenant(app, "edomex"), svc.utcnow()) == {}
        assert SOURCE.erase("ana@example.org") == 2
        db.session.commit()
        assert SOURCE.export("ana@example.org") == [] and svc.support_count(prob) == 0


def test_retention_purge_keeps_supports_counted_once_without_the_address(app, client, make_process, make_problem,
                                                                        mails):
    """After ``retention.join`` days the purge blanks a problem's follow-up address and replaces a
    counted support's address by its pseudonym: the count stays, the same address cannot support
    the problem a second time, and an ARCO export still finds the person's support."""
    import datetime as dt

    from comun_cms.toolkit import utcnow

    from plugins.cocreation import privacy as ccp

    pid = make_process()
    prob = make_problem(pid)
    url = f"/edomex/cocreacion/problemas/{prob}"
    assert client.post(url, data={"email": "ana@example.org", "privacy_consent": "y", "issued": _support_token()}).status_code == 200
    assert client.post(mails[-1][1].split("localhost", 1)[-1]).status_code == 200  # confirmed
    tenant = get_tenant(app, "edomex")
    with tenant_context(tenant):
        db.session.get(Problem, prob).email = "luis@example.org"
        db.session.commit()
        later = utcnow() + dt.timedelta(days=tenant.retention["join"] + 1)
        assert ccp.SOURCE.purge(tenant, later) == {"cocreation_problem_addresses": 1,
                                                   "cocreation_support_addresses": 1}
        db.session.commit()
        (support,) = db.session.scalars(select(Support)).all()
        assert support.email.startswith("hmac:") and "ana" not in support.email
        assert db.session.get(Problem, prob).email == ""
        assert svc.support_count(prob) == 1
        assert [row["kind"] for row in ccp.SOURCE.export("ana@example.org")] == ["support"]
        assert ccp.SOURCE.purge(tenant, later) == {}  # nothing left to do
    sent = len(mails)
    assert client.post(url, data={"email": "ANA@example.org", "privacy_consent": "y", "issued": _support_token()}).status_code == 200
    assert len(mails) == sent  # already supports it: no new confirmation, no second count
    with tenant_context(tenant):
        assert svc.support_count(prob) == 1
