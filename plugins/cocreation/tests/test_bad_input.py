"""Co-creation plugin: bad input on every existing form (issue 16, "Tests": empty, 10,000
characters, HTML, wrong dates, a CSV with bad rows), and the public forms protected like the
core's (honeypot, time trap, rate limit). Every refusal names the field and stores nothing."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from comun_cms.toolkit import db, history, tenant_context
from comun_cms.toolkit.testing import get_tenant, public_form_token

from plugins.cocreation import services as svc
from plugins.cocreation.models import Problem, Process, Support, Tree

THEME = svc.DEFAULT_THEMES[0]
LONG = "x" * 10_000
HTML = '<img src=x onerror="alert(1)">Fuga<script>alert(2)</script>'


def _rows(app, model, slug="edomex"):
    with tenant_context(get_tenant(app, slug)):
        return db.session.scalars(select(model).order_by(model.id)).all()


def _problem_data(**over):
    data = {"title": "Baches sin reparar", "description": "Las calles del centro tienen baches.", "theme": THEME,
            "municipality": "Toluca", "email": "", "privacy_consent": "y",
            "issued": public_form_token("cocreation_problem", "edomex")}
    data.update(over)
    return data


# --------------------------------------------------------------------------- public forms: spam guard
def test_consultation_form_carries_the_honeypot_and_the_time_trap(client, make_process):
    pid = make_process()
    html = client.get(f"/edomex/cocreacion/{pid}/consulta").get_data(as_text=True)
    assert 'name="website"' in html and 'class="hp"' in html and 'name="issued"' in html


def test_a_filled_honeypot_looks_accepted_and_stores_nothing(app, client, make_process):
    pid = make_process()
    resp = client.post(f"/edomex/cocreacion/{pid}/consulta", data=_problem_data(website="http://spam.example"))
    assert resp.status_code == 200 and "Baches sin reparar" not in resp.get_data(as_text=True)
    assert _rows(app, Problem) == []


@pytest.mark.parametrize("issued", [
    "",                                             # no token
    "forged-token",                                 # not signed by the site
    "fast",                                         # sent one second after the form was shown
    "old",                                          # shown three hours ago
    "other-form",                                   # the token of another public form
    "other-tenant",                                 # the token of this form in another tenant
])
def test_the_time_trap_refuses_the_consultation_form(app, client, make_process, issued):
    pid = make_process()
    token = {"": "", "forged-token": "abc.def", "fast": public_form_token("cocreation_problem", "edomex", age=1),
             "old": public_form_token("cocreation_problem", "edomex", age=3 * 3600),
             "other-form": public_form_token("feedback", "edomex"),
             "other-tenant": public_form_token("cocreation_problem", "puebla")}[issued]
    resp = client.post(f"/edomex/cocreacion/{pid}/consulta", data=_problem_data(issued=token))
    assert resp.status_code == 422
    assert "error-summary" in resp.get_data(as_text=True)
    assert _rows(app, Problem) == []


def test_the_support_form_has_the_same_guard(app, client, make_process, make_problem, monkeypatch):
    sent = []
    monkeypatch.setattr(svc, "send_mail", lambda *a, **k: sent.append(a))
    pid = make_process()
    prob = make_problem(pid)
    url = f"/edomex/cocreacion/problemas/{prob}"
    html = client.get(url).get_data(as_text=True)
    assert 'name="website"' in html and 'name="issued"' in html
    spam = client.post(url, data={"email": "robot@example.org", "privacy_consent": "y", "website": "x",
                                  "issued": public_form_token("cocreation_support", "edomex")})
    assert spam.status_code == 200 and "confirm your support" in spam.get_data(as_text=True)
    fast = client.post(url, data={"email": "ana@example.org", "privacy_consent": "y",
                                  "issued": public_form_token("cocreation_support", "edomex", age=0)})
    assert fast.status_code == 422
    assert _rows(app, Support) == [] and sent == []


class TestRateLimit:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True, "FEEDBACK_RATE_LIMIT": "2 per minute"}

    def test_consultation_and_support_posts_are_rate_limited(self, app, client, make_process, make_problem):
        pid = make_process()
        url = f"/edomex/cocreacion/{pid}/consulta"
        codes = [client.post(url, data=_problem_data(title=f"Problema {n}")).status_code for n in range(3)]
        assert codes == [200, 200, 429]
        assert len(_rows(app, Problem)) == 2
        assert client.get(url).status_code == 200          # showing the form is not limited
        prob = make_problem(pid)
        support = f"/edomex/cocreacion/problemas/{prob}"
        data = {"email": "", "issued": public_form_token("cocreation_support", "edomex")}
        assert [client.post(support, data=data).status_code for _ in range(3)] == [422, 422, 429]


# --------------------------------------------------------------------------- public forms: content
@pytest.mark.parametrize("field, value", [
    ("title", "   "), ("title", LONG), ("description", ""), ("description", LONG), ("municipality", LONG),
    ("email", LONG + "@example.org"), ("email", HTML), ("theme", HTML), ("title", "Fuga\x00de agua"),
])
def test_consultation_bad_input_names_the_field_in_spanish(app, client, spanish, make_process, field, value):
    pid = make_process()
    resp = client.post(f"/edomex/cocreacion/{pid}/consulta", data=_problem_data(**{field: value}))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'href="#{field}"' in html and "Please correct" not in html   # named, in Spanish
    assert _rows(app, Problem) == []


def test_html_in_a_support_address_is_refused_and_never_echoed_raw(app, client, make_process, make_problem):
    pid = make_process()
    prob = make_problem(pid)
    resp = client.post(f"/edomex/cocreacion/problemas/{prob}", data={
        "email": HTML, "privacy_consent": "y", "issued": public_form_token("cocreation_support", "edomex")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'href="#email"' in html and "<script>alert(2)" not in html
    assert _rows(app, Support) == []


# --------------------------------------------------------------------------- admin: process and steps
@pytest.mark.parametrize("data, field", [
    ({"title": ""}, "title"),
    ({"title": LONG}, "title"),
    ({"title": "Proceso", "summary": LONG}, "summary"),
    ({"title": "Proceso", "cycle": LONG}, "cycle"),
    ({"title": "Proceso", "consultation_opens": "2026-05-10", "consultation_closes": "2026-05-09"},
     "consultation_closes"),
    ({"title": "Proceso", "consultation_opens": "2026-02-30", "consultation_closes": "2026-03-10"},
     "consultation_opens"),
])
def test_process_form_refuses_bad_input(app, client, login_as, data, field):
    login_as("editor")
    resp = client.post("/edomex/admin/cocreacion/", data=data)
    assert resp.status_code == 422 and f'href="#{field}"' in resp.get_data(as_text=True)
    assert _rows(app, Process) == []


def test_process_html_is_shown_escaped(app, client, login_as):
    login_as("editor")
    resp = client.post("/edomex/admin/cocreacion/", data={"title": HTML, "summary": HTML})
    assert resp.status_code == 303
    pid = _rows(app, Process)[0].id
    assert client.post(f"/edomex/admin/cocreacion/{pid}/publicar").status_code == 303
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/{pid}").get_data(as_text=True)
    assert "<script>alert(2)</script>" not in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


@pytest.mark.parametrize("data, field", [
    ({"starts": "2026-03-10", "ends": "2026-03-01"}, "ends"),
    ({"starts": "10/03/2026"}, "starts"),
    ({"note": LONG}, "note"),
    ({"link": "page:999999"}, "link"),
])
def test_step_form_refuses_bad_input_and_keeps_the_step(app, client, login_as, make_process, data, field):
    pid = make_process(published=False)
    login_as("editor")
    resp = client.post(f"/edomex/admin/cocreacion/{pid}/pasos/7", data=data)
    assert resp.status_code == 422 and f'href="#{field}"' in resp.get_data(as_text=True)
    with tenant_context(get_tenant(app, "edomex")):
        step = next(s for s in db.session.get(Process, pid).steps if s.number == 7)
        assert (step.starts, step.ends, step.note, step.link_type) == (None, None, "", "")


def test_step_of_a_published_process_with_wrong_dates_publishes_nothing(app, client, login_as, make_process):
    pid = make_process()
    login_as("editor")
    resp = client.post(f"/edomex/admin/cocreacion/{pid}/pasos/9", data={
        "starts": "2026-03-10", "ends": "2026-03-01", "reason": "Fechas"})
    assert resp.status_code == 422
    with tenant_context(get_tenant(app, "edomex")):
        assert [p.version for p in history("cocreation_process", pid)] == [1]


def test_a_step_outside_1_to_13_is_not_found(client, login_as, make_process):
    pid = make_process()
    login_as("editor")
    assert client.get(f"/edomex/admin/cocreacion/{pid}/pasos/0").status_code == 404
    assert client.get(f"/edomex/admin/cocreacion/{pid}/pasos/14").status_code == 404


# --------------------------------------------------------------------------- admin: moderation and trees
def test_reject_reason_html_is_shown_escaped(app, client, login_as, make_process, make_problem):
    pid = make_process()
    prob = make_problem(pid, published=False)
    login_as("editor")
    assert client.post(f"/edomex/admin/cocreacion/problemas/{prob}/rechazar", data={"reason": HTML}).status_code == 303
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/{pid}/decisiones").get_data(as_text=True)
    assert "<script>alert(2)</script>" not in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_merge_into_another_process_is_refused(app, client, login_as, make_process, make_problem):
    pid, other = make_process(), make_process(title="Otro proceso")
    dup = make_problem(pid, title="Duplicado")
    target = make_problem(other, title="De otro proceso")
    login_as("editor")
    client.post(f"/edomex/admin/cocreacion/problemas/{dup}/fusionar", data={"target": target})
    client.post(f"/edomex/admin/cocreacion/problemas/{dup}/fusionar", data={"target": "no-es-numero"})
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.get(Problem, dup).moderation == "published"


@pytest.mark.parametrize("data, field", [
    ({"problem-core": ""}, "problem-core"),
    ({"problem-core": LONG}, "problem-core"),
    ({"problem-core": "Opacidad", "problem-roots": "- " + "y" * 400}, "problem-roots"),
    ({"problem-core": "Opacidad", "problem-branches": "- Uno\n      - Salto"}, "problem-branches"),
    ({"problem-core": "Opacidad", "problem-roots": "\n".join(f"- causa {n}" for n in range(300))}, "problem-roots"),
])
def test_tree_form_refuses_bad_input_and_publishes_nothing(app, client, login_as, make_process, make_problem,
                                                           data, field):
    pid = make_process()
    prob = make_problem(pid)
    login_as("editor")
    resp = client.post(f"/edomex/admin/cocreacion/problemas/{prob}/arboles", data={"kind": "problem", **data})
    assert resp.status_code == 422 and f'href="#{field}"' in resp.get_data(as_text=True)
    assert _rows(app, Tree) == []


def test_tree_html_is_shown_escaped(app, client, login_as, make_process, make_problem):
    pid = make_process()
    prob = make_problem(pid)
    login_as("editor")
    resp = client.post(f"/edomex/admin/cocreacion/problemas/{prob}/arboles", data={
        "kind": "solution", "solution-core": HTML, "solution-roots": "- " + HTML, "solution-branches": ""})
    assert resp.status_code == 303
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/problemas/{prob}").get_data(as_text=True)
    assert "<script>alert(2)</script>" not in html and html.count("&lt;script&gt;alert(2)&lt;/script&gt;") >= 2


# --------------------------------------------------------------------------- admin: paper import
HEADER = "Título,Descripción,Tema,Municipio,Folio\r\n"
GOOD = f"Basura en el mercado,No hay recolección los domingos,{THEME},Toluca,P-001\r\n"


def _import(client, pid, **data):
    return client.post(f"/edomex/admin/cocreacion/{pid}/importar", data=data, content_type="multipart/form-data")


def test_csv_file_with_bad_rows_imports_nothing_and_names_every_bad_row(app, client, spanish, login_as, make_process):
    pid = make_process()
    login_as("editor")
    csv = (HEADER + GOOD + f",Sin título,{THEME},,\r\n" + GOOD
           + f"Largo,{LONG},{THEME},,\r\n" + f"Folio largo,Texto,{THEME},,{'F' * 200}\r\n"
           + "Sin tema,Texto,,,\r\n")
    resp = _import(client, pid, file=(io.BytesIO(csv.encode()), "consulta.csv"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for row in (3, 5, 6, 7):
        assert f"Fila {row}:" in html
    assert "Fila 2:" not in html and "Fila 4:" not in html
    assert "Nothing was imported" not in html
    assert _rows(app, Problem) == []


def test_xlsx_with_a_bad_row_imports_nothing(app, client, login_as, make_process):
    pid = make_process()
    login_as("editor")
    book = Workbook()
    sheet = book.active
    sheet.append(["Título", "Descripción", "Tema"])
    sheet.append(["Basura", "No hay recolección", THEME])
    sheet.append(["Agua", "", THEME])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    resp = _import(client, pid, file=(data, "consulta.xlsx"))
    assert resp.status_code == 422 and "Row 3:" in resp.get_data(as_text=True)
    assert _rows(app, Problem) == []


@pytest.mark.parametrize("content, name", [
    (b"", "vacio.csv"),                                            # empty file
    (HEADER.encode(), "solo-encabezado.csv"),                      # header, no rows
    ((HEADER + GOOD).encode("utf-16"), "utf16.csv"),               # not UTF-8
    (b"PK\x03\x04 not really a workbook", "roto.xlsx"),            # broken workbook
    (b"%PDF-1.4", "consulta.pdf"),                                 # not a table
    (("Nombre,Otra\r\n" + "a,b\r\n").encode(), "columnas.csv"),    # unknown columns
])
def test_unreadable_tables_are_refused_with_a_message(app, client, login_as, make_process, content, name):
    pid = make_process()
    login_as("editor")
    resp = _import(client, pid, file=(io.BytesIO(content), name))
    assert resp.status_code == 422 and "error-summary" in resp.get_data(as_text=True)
    assert _rows(app, Problem) == []


def test_html_in_an_imported_row_is_stored_as_text(app, client, login_as, make_process):
    pid = make_process()
    login_as("editor")
    text = HEADER + f'"{HTML.replace(chr(34), chr(34) * 2)}",Descripción,{THEME},,\r\n'
    assert _import(client, pid, text=text).status_code == 303
    [problem] = _rows(app, Problem)
    assert problem.title == HTML and problem.source == "paper"
    html = client.get(f"/edomex/admin/cocreacion/{pid}/problemas").get_data(as_text=True)
    assert "<script>alert(2)</script>" not in html
