"""The open call (step 7): the admin edits and publishes the call through the core workflow; the
public page lists the published tables with sessions and free places; the registration form
(open only between the call's dates, with consent, one per table and address, refused when
full, bad input refused naming the field with nothing stored) mails the table's dates; the
admin lists, counts, exports (formulas neutralised), adds and removes registered people; the
privacy registry exports, erases and purges them; every route is tenant-isolated."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from comun_cms.toolkit import Publication, db, tenant_context, utcnow
from comun_cms.toolkit.testing import browser_login, get_tenant, public_form_token

from plugins.cocreation import call as call_mod
from plugins.cocreation.models import Call, CocreationTable, Registration

from .call_records import make_call_records


@pytest.fixture(autouse=True)
def _spanish(spanish):
    """Pages in the tenant's language (es_MX), as in production: the messages are checked in Spanish."""
    return spanish


@pytest.fixture
def mails(monkeypatch):
    """The mails the registration form sends, as ``(to, template, context)``."""
    sent = []
    real = call_mod.send_mail

    def capture(to, template, context=None, **kwargs):
        row = real(to, template, context, **kwargs)
        sent.append((to, template, context, row.subject, row.text_body))
        return row

    monkeypatch.setattr(call_mod, "send_mail", capture)
    return sent


@pytest.fixture
def setup(app, make_process):
    """A published process of edomex with an open call, a published table (3 places, one taken)."""
    pid = make_process("edomex", title="Proceso de la convocatoria")
    return {"process_id": pid, **make_call_records(app, "edomex", pid)}


def _registrations(app, slug="edomex"):
    with tenant_context(get_tenant(app, slug)):
        return db.session.scalars(select(Registration).order_by(Registration.id)).all()


def _post(client, setup, **over):
    data = {"table": str(setup["table_id"]), "name": "Ana López", "email": "Ana@Example.org", "sector": "sociedad_civil",
            "organization": "Colectivo Agua", "privacy_consent": "y",
            "issued": public_form_token("cocreation_registration", "edomex")}
    data.update(over)
    return client.post(f"/edomex/cocreacion/{setup['process_id']}/convocatoria/registro", data=data)


# --------------------------------------------------------------------------- public
def test_call_page_lists_published_tables_with_sessions_and_free_places(app, client, setup):
    html = client.get(f"/edomex/cocreacion/{setup['process_id']}/convocatoria").get_data(as_text=True)
    assert "Convocatoria exclusivo edomex" in html and "Participe en las mesas" in html
    assert "Mesa exclusivo edomex" in html and "Transparencia" in html and "Auditorio" in html
    assert "Mesa borrador" not in html
    assert ">2</dd>" in html  # 3 places, 1 registration
    assert f"/edomex/cocreacion/mesas/{setup['table_id']}.ics" in html
    assert f"/edomex/cocreacion/{setup['process_id']}/convocatoria.ics" in html


def test_registration_is_stored_with_consent_and_mails_the_dates(app, client, setup, mails):
    page = client.get(f"/edomex/cocreacion/{setup['process_id']}/convocatoria/registro?mesa={setup['table_id']}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "privacy_consent" in body and "Sociedad civil" in body
    assert "Mesa borrador" not in body
    resp = _post(client, setup)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    row = _registrations(app)[-1]
    assert (row.name, row.email, row.sector, row.organization, row.source) == (
        "Ana López", "ana@example.org", "sociedad_civil", "Colectivo Agua", "call")
    assert row.consent_at is not None and row.call_id == setup["call_id"]
    [(to, template, context, subject, text)] = mails
    assert to == "ana@example.org" and template == "cocreation_registration"
    assert context["sessions"][0]["place"] == "Auditorio"
    assert subject == "Su registro en la mesa «Mesa exclusivo edomex»"
    assert "Auditorio" in text and "Sala del Comité" in text
    assert f"/edomex/cocreacion/mesas/{setup['table_id']}.ics" in text


def test_one_registration_per_table_and_address(app, client, setup, mails):
    assert _post(client, setup).status_code == 200
    resp = _post(client, setup, email=" ANA@example.org", name="Otra persona", organization="Otra")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "ya está registrado" in html and "Ana López" not in html and "Colectivo Agua" not in html
    assert len(_registrations(app)) == 2 and len(mails) == 1


def test_a_full_table_refuses_clearly(app, client, setup, mails):
    assert _post(client, setup, email="b@x.mx").status_code == 200
    assert _post(client, setup, email="c@x.mx").status_code == 200
    resp = _post(client, setup, email="d@x.mx")
    assert resp.status_code == 422 and "La mesa está llena" in resp.get_data(as_text=True)
    assert len(_registrations(app)) == 3
    assert "Llena" in client.get(f"/edomex/cocreacion/{setup['process_id']}/convocatoria").get_data(as_text=True)


@pytest.mark.parametrize("opens, closes, status", [(0, 0, 200), (-5, -1, 409), (1, 5, 409)])
def test_registration_only_between_the_call_dates_both_included(app, client, make_process, opens, closes, status):
    pid = make_process("edomex")
    records = make_call_records(app, "edomex", pid, opens=opens, closes=closes)
    resp = _post(client, {"process_id": pid, **records}, email="fechas@x.mx")
    assert resp.status_code == status
    assert len(_registrations(app)) == (2 if status == 200 else 1)
    if status == 409:
        assert "privacy_consent" not in resp.get_data(as_text=True)


def test_a_draft_call_is_not_public(app, client, make_process):
    pid = make_process("edomex")
    make_call_records(app, "edomex", pid, call_published=False)
    assert client.get(f"/edomex/cocreacion/{pid}/convocatoria").status_code == 404
    assert client.get(f"/edomex/cocreacion/{pid}/convocatoria/registro").status_code == 404
    assert client.get(f"/edomex/cocreacion/{pid}/convocatoria.ics").status_code == 404


@pytest.mark.parametrize("over, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 10_000}, "name"),
    ({"organization": "y" * 10_000}, "organization"),
    ({"email": "no-es-correo"}, "email"),
    ({"sector": "clero"}, "sector"),
    ({"table": ""}, "table"),
    ({"table": "999999"}, "table"),
    ({"privacy_consent": ""}, "privacy_consent"),
])
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(app, client, setup, mails, over, field):
    resp = _post(client, setup, **over)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f'href="#{field}"' in html
    assert len(_registrations(app)) == 1 and mails == []


def test_a_draft_or_another_tenants_table_is_refused(app, client, setup, make_process):
    other = make_call_records(app, "puebla", make_process("puebla"))
    for table_id in (setup["draft_table_id"], other["table_id"]):
        resp = _post(client, setup, table=str(table_id))
        assert resp.status_code == 422 and "Elija una de las mesas" in resp.get_data(as_text=True)
    assert len(_registrations(app)) == 1 and len(_registrations(app, "puebla")) == 1


def test_html_is_shown_escaped(app, client, setup, login_as):
    assert _post(client, setup, name="<script>alert(1)</script>Ana", organization="<b>Org</b>").status_code == 200
    login_as("editor", "edomex")
    html = client.get(f"/edomex/admin/cocreacion/mesas/{setup['table_id']}/inscripciones").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;Ana" in html
    assert "<b>Org</b>" not in html


# --------------------------------------------------------------------------- admin: the call
def test_admin_creates_publishes_and_corrects_the_call(app, client, login_as, make_process):
    pid = make_process("edomex")
    login_as("editor", "edomex")
    url = f"/edomex/admin/cocreacion/{pid}/convocatoria"
    data = {"title": "Convocatoria 2026", "body": "Inscríbase **ya**.", "registration_opens": "2026-03-01",
            "registration_closes": "2026-03-15"}
    assert client.post(url, data=data).status_code == 303
    assert client.get(f"/edomex/cocreacion/{pid}/convocatoria").status_code == 404
    assert client.post(f"{url}/publicar").status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        call = db.session.scalars(select(Call)).one()
        assert (call.status, call.version) == ("published", 1)
    html = client.get(f"/edomex/cocreacion/{pid}/convocatoria").get_data(as_text=True)
    assert "<strong>ya</strong>" in html
    # a published call changes only with a reason, as a new version
    resp = client.post(url, data={**data, "title": "Convocatoria 2026 (ampliada)"})
    assert resp.status_code == 422 and "Explique el motivo" in resp.get_data(as_text=True)
    assert client.post(url, data={**data, "title": "Convocatoria 2026 (ampliada)", "reason": "Más días"}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        call = db.session.scalars(select(Call)).one()
        assert (call.title, call.version) == ("Convocatoria 2026 (ampliada)", 2)
        pubs = db.session.scalars(select(Publication).where(Publication.content_type == "cocreation_call")
                                  .order_by(Publication.version)).all()
        assert [p.action for p in pubs] == ["publish", "correct"] and pubs[1].reason == "Más días"
    # the timeline links step 7 to the call
    process_html = client.get(f"/edomex/cocreacion/{pid}").get_data(as_text=True)
    assert f"/edomex/cocreacion/{pid}/convocatoria" in process_html


def test_a_retracted_call_closes_registration(app, client, login_as, setup):
    login_as("editor", "edomex")
    url = f"/edomex/admin/cocreacion/{setup['process_id']}/convocatoria/retirar"
    client.post(url, data={"reason": ""})
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.get(Call, setup["call_id"]).status == "published"
    assert client.post(url, data={"reason": "Se reprograma la convocatoria"}).status_code == 303
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.get(Call, setup["call_id"]).status == "retracted"
    client.delete_cookie("session")
    html = client.get(f"/edomex/cocreacion/{setup['process_id']}/convocatoria").get_data(as_text=True)
    assert "Esta convocatoria fue retirada." in html and "registro?mesa=" not in html
    assert _post(client, setup).status_code == 409
    assert client.get(f"/edomex/cocreacion/{setup['process_id']}/convocatoria.ics").status_code == 404
    assert len(_registrations(app)) == 1


@pytest.mark.parametrize("over, field, message", [
    ({"title": ""}, "title", "Escriba el título"),
    ({"title": "t" * 10_000}, "title", "300"),
    ({"body": "b" * 30_000}, "body", "20000"),
    ({"registration_closes": "2026-02-01"}, "registration_closes", "antes de abrir"),
    ({"registration_closes": ""}, "registration_closes", "ambas fechas"),
])
def test_admin_call_bad_input(app, client, login_as, make_process, over, field, message):
    pid = make_process("edomex")
    login_as("editor", "edomex")
    data = {"title": "Convocatoria", "body": "Texto", "registration_opens": "2026-03-01",
            "registration_closes": "2026-03-15", **over}
    resp = client.post(f"/edomex/admin/cocreacion/{pid}/convocatoria", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f'href="#{field}"' in html and message in html.replace(",", "")
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(func.count(Call.id))) == 0


# --------------------------------------------------------------------------- admin: registrations
def test_admin_lists_counts_adds_and_removes_people(app, client, login_as, setup):
    login_as("editor", "edomex")
    url = f"/edomex/admin/cocreacion/mesas/{setup['table_id']}/inscripciones"
    html = client.get(url).get_data(as_text=True)
    assert "Persona exclusivo edomex" in html and "persona@edomex.mx" in html and "Academia: 1" in html
    resp = client.post(url, data={"name": "Juan Pérez", "email": "juan@gob.mx", "sector": "gobierno",
                                  "organization": "SESEA"})
    assert resp.status_code == 303
    html = client.get(url).get_data(as_text=True)
    assert "Juan Pérez" in html and "Gobierno: 1" in html
    rows = _registrations(app)
    assert [r.source for r in rows] == ["call", "admin"]
    # the same address twice, an unknown sector: refused, nothing stored
    resp = client.post(url, data={"name": "Juan", "email": "JUAN@gob.mx", "sector": "gobierno"})
    assert resp.status_code == 422 and "ya está registrado" in resp.get_data(as_text=True)
    resp = client.post(url, data={"name": "Juan", "email": "otro@gob.mx", "sector": "nada"})
    assert resp.status_code == 422 and 'href="#sector"' in resp.get_data(as_text=True)
    assert len(_registrations(app)) == 2
    assert client.post(f"/edomex/admin/cocreacion/inscripciones/{rows[1].id}/eliminar").status_code == 303
    assert [r.name for r in _registrations(app)] == ["Persona exclusivo edomex"]


def test_admin_full_table_refuses_a_hand_added_person(app, client, login_as, make_process):
    pid = make_process("edomex")
    records = make_call_records(app, "edomex", pid, capacity=1)
    login_as("editor", "edomex")
    resp = client.post(f"/edomex/admin/cocreacion/mesas/{records['table_id']}/inscripciones",
                       data={"name": "Juan", "email": "juan@gob.mx", "sector": "gobierno"})
    assert resp.status_code == 422 and "La mesa está llena" in resp.get_data(as_text=True)
    assert len(_registrations(app)) == 1


def test_csv_download_neutralises_formulas(app, client, login_as, setup):
    with tenant_context(get_tenant(app, "edomex")):
        db.session.add(Registration(table_id=setup["table_id"], name='=HYPERLINK("http://x","y")', email="f@x.mx",
                                    sector="ciudadania", organization="@org", source="admin"))
        db.session.commit()
    login_as("editor", "edomex")
    resp = client.get(f"/edomex/admin/cocreacion/mesas/{setup['table_id']}/inscripciones.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == list(call_mod.CSV_COLUMNS)
    assert rows[1][:4] == ["Persona exclusivo edomex", "Academia", "Universidad", "persona@edomex.mx"]
    assert rows[2][0] == "'=HYPERLINK(\"http://x\",\"y\")" and rows[2][2] == "'@org" and rows[2][1] == "Ciudadanía"


# --------------------------------------------------------------------------- privacy
def test_privacy_export_cancellation_and_purge(app, client, login_as, setup):
    login_as("admin", "edomex")
    resp = client.post("/edomex/admin/privacidad/datos/exportar.json", data={"email": "PERSONA@edomex.mx"})
    [row] = resp.get_json()["sources"]["cocreation_registrations"]
    assert row["name"] == "Persona exclusivo edomex" and row["table_id"] == setup["table_id"]
    assert "persona@edomex.mx" not in client.post("/edomex/admin/privacidad/datos/exportar.json",
                                                  data={"email": "otra@edomex.mx"}).get_data(as_text=True)
    source = call_mod.REGISTRATIONS_SOURCE
    tenant = get_tenant(app, "edomex")
    with tenant_context(tenant):
        assert source.purge(tenant, utcnow()) == {}
        later = utcnow() + dt.timedelta(days=tenant.retention["join"] + 1)
        assert source.purge(tenant, later) == {"cocreation_registrations": 1}
        db.session.rollback()
    resp = client.post("/edomex/admin/privacidad/datos/cancelar",
                       data={"email": "persona@edomex.mx", "reason": "ARCO 12/2026", "confirm": "y"})
    assert resp.status_code == 303
    assert _registrations(app) == []


# --------------------------------------------------------------------------- isolation
def test_other_tenants_cannot_see_or_change_registrations(app, client, login_as, setup, make_process):
    puebla = make_call_records(app, "puebla", make_process("puebla"))
    login_as("admin", "puebla")
    base = "/edomex/admin/cocreacion"
    for method, url in (("GET", f"{base}/mesas/{setup['table_id']}/inscripciones"),
                        ("POST", f"{base}/mesas/{setup['table_id']}/inscripciones"),
                        ("GET", f"{base}/mesas/{setup['table_id']}/inscripciones.csv"),
                        ("POST", f"{base}/inscripciones/{setup['registration_id']}/eliminar"),
                        ("GET", f"{base}/{setup['process_id']}/convocatoria"),
                        ("POST", f"{base}/{setup['process_id']}/convocatoria/publicar")):
        assert client.open(url, method=method, data={"name": "X", "email": "x@x.mx", "sector": "gobierno"}
                           ).status_code == 403, url
    # puebla's admin with edomex ids under its own prefix: not found, nothing changes
    base = "/puebla/admin/cocreacion"
    for method, url in (("GET", f"{base}/mesas/{setup['table_id']}/inscripciones"),
                        ("POST", f"{base}/mesas/{setup['table_id']}/inscripciones"),
                        ("GET", f"{base}/mesas/{setup['table_id']}/inscripciones.csv"),
                        ("POST", f"{base}/inscripciones/{setup['registration_id']}/eliminar"),
                        ("GET", f"{base}/{setup['process_id']}/convocatoria"),
                        ("POST", f"{base}/{setup['process_id']}/convocatoria"),
                        ("POST", f"{base}/{setup['process_id']}/convocatoria/publicar")):
        resp = client.open(url, method=method, data={"name": "X", "email": "x@x.mx", "sector": "gobierno",
                                                      "title": "Robada", "body": "x"})
        assert resp.status_code == 404, url
    html = client.get(f"{base}/mesas/{puebla['table_id']}/inscripciones").get_data(as_text=True)
    assert "persona@puebla.mx" in html and "persona@edomex.mx" not in html
    assert [r.name for r in _registrations(app)] == ["Persona exclusivo edomex"]
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalars(select(Call)).one().title == "Convocatoria exclusivo edomex"
    # public pages: another tenant's process, table and call are not found
    assert client.get(f"/puebla/cocreacion/{setup['process_id']}/convocatoria").status_code == 404
    assert client.get(f"/puebla/cocreacion/{setup['process_id']}/convocatoria/registro").status_code == 404
    assert _post(client, {**setup, "process_id": setup["process_id"]}).status_code == 200  # edomex itself works
    resp = client.post(f"/puebla/cocreacion/{puebla and setup['process_id']}/convocatoria/registro",
                       data={"table": str(setup["table_id"]), "name": "X", "email": "x@x.mx", "sector": "gobierno",
                             "privacy_consent": "y", "issued": public_form_token("cocreation_registration", "puebla")})
    assert resp.status_code == 404
    with tenant_context(get_tenant(app, "puebla")):
        assert db.session.scalar(select(func.count(CocreationTable.id))) == 2
        assert db.session.scalar(select(func.count(Registration.id))) == 1


# --------------------------------------------------------------------------- browser (390 px)
def test_registration_at_390_px_in_a_browser(app, page, make_user, make_process):
    """A person registers on a phone (390 px wide): the call, the form and the confirmation are
    not wider than the screen; the staff's list and the workshop page neither."""
    pid = make_process("edomex", title="Proceso con un título largo para ver el ajuste de línea en el teléfono")
    rec = make_call_records(app, "edomex", pid)
    make_user("movil@edomex.test", role="editor")
    page.set_viewport_size({"width": 390, "height": 844})

    def fits(url=None):
        if url:
            page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (page.url, width)

    fits(f"/edomex/cocreacion/{pid}/convocatoria")
    with page.expect_navigation():
        page.click(f'a[href$="registro?mesa={rec["table_id"]}"]')
    fits()
    page.fill("#name", "Ana López")
    page.fill("#email", "ana.movil@example.org")
    page.select_option("#sector", "ciudadania")
    page.check("#privacy_consent")
    page.wait_for_timeout(3100)  # the form's time trap refuses what is sent faster than a person
    with page.expect_navigation():
        page.click('form[action$="/convocatoria/registro"] button[type=submit]')
    assert "Su registro quedó hecho" in page.locator("main").inner_text()
    fits()
    fits(f"/edomex/cocreacion/talleres/{rec['workshop_id']}")
    fits(f"/edomex/cocreacion/{pid}/talleres")
    browser_login(page, "movil@edomex.test")
    fits(f"/edomex/admin/cocreacion/mesas/{rec['table_id']}/inscripciones")
    assert "ana.movil@example.org" in page.locator("main").inner_text()


def test_registration_is_protected_like_the_core_public_forms(app, client, setup, mails):
    """A filled honeypot gets the usual answer and nothing is stored or mailed; a form posted
    without its time-trap token (or too fast) is refused; the POSTs are rate limited."""
    resp = _post(client, setup, website="http://spam.example")
    assert resp.status_code == 200 and "Ana@Example.org".lower() in resp.get_data(as_text=True).lower()
    assert [r.email for r in _registrations(app)] == ["persona@edomex.mx"] and not mails
    assert _post(client, setup, issued="").status_code == 422
    assert _post(client, setup, issued=public_form_token("cocreation_registration", "edomex", age=0)
                 ).status_code == 422  # faster than a person
    assert [r.email for r in _registrations(app)] == ["persona@edomex.mx"]


class TestRegistrationRateLimit:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True, "FEEDBACK_RATE_LIMIT": "2 per minute"}

    def test_registration_posts_are_rate_limited(self, app, client, setup):
        codes = [_post(client, setup, email=f"p{n}@example.org").status_code for n in range(3)]
        assert codes == [200, 200, 429]
        assert len(_registrations(app)) == 3  # the one of the fixture and two
        assert client.get(f"/edomex/cocreacion/{setup['process_id']}/convocatoria/registro").status_code == 200
