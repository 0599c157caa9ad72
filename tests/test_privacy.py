"""Personal data protection (issue 14, items 5 and 7): privacy notices published and notarized
like pages, consent stored with every submission, retention purge, ARCO requests with folio and
legal deadline, export and cancellation of a person's data, the accessibility statement and the
footer links. Every new route is checked for tenant isolation."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
from sqlalchemy import JSON, String, cast, func, select

from comun_cms import mail, privacy, publishing
from comun_cms.business_days import add_business_days
from comun_cms.extensions import db
from comun_cms.models import (
    ArcoRequest, AuditEvent, Feedback, Invitation, MailOutbox, Page, Publication, Subscription, utcnow,
)
from comun_cms.tenancy import TenantConfigError, load_tenant, platform_session, tenant_context
from comun_cms.toolkit.testing import public_form_token

CONSENT = {"privacy_consent": "y"}
FEEDBACK = {"kind": "complaint", "subject": "Sin minutas", "message": "No encuentro la minuta.", "name": "Ana",
            "email": "ana@example.org", **CONSENT}
ARCO = {"right": "access", "name": "Ana Ciudadana", "email": "ana@example.org",
        "description": "Quiero saber qué datos tienen de mí.", **CONSENT}


@pytest.fixture
def form_ok(app, monkeypatch):
    """Disable the minimum-time check of the public forms (tested in test_public.py)."""
    from comun_cms.views import public
    monkeypatch.setattr(public.PublicForm, "check_timing", lambda self: True)


def tenant_of(app, slug="edomex"):
    return app.extensions["comun"].tenants[slug]


def notices(app, slug="edomex", user=None) -> int:
    with tenant_context(tenant_of(app, slug)):
        n = privacy.ensure_notices(tenant_of(app, slug), user)
        db.session.commit()
        return n


def simplified_pub(app, slug="edomex") -> Publication:
    with tenant_context(tenant_of(app, slug)):
        return privacy.current_notice("simplified")[1]


def html(response) -> str:
    return response.get_data(as_text=True)


def all_rows(model, **where):
    with platform_session(db.session):
        q = select(model)
        for key, value in where.items():
            q = q.where(getattr(model, key) == value)
        return list(db.session.scalars(q))


# ------------------------------------------------------------------ notices
def test_notices_are_created_once_published_and_notarized(app, client):
    assert notices(app) == 2 and notices(app) == 0
    with tenant_context(tenant_of(app)):
        for kind, slug in privacy.NOTICE_SLUGS.items():
            page = db.session.scalar(select(Page).where(Page.slug == slug))
            assert page.status == "published" and page.version == 1
            assert len(publishing.history("page", page.id)) == 1
        from plugins.notary.models import Entry  # the notary log has one leaf per version
        assert db.session.scalar(select(func.count()).select_from(Entry)) == 2
        integral = db.session.scalar(select(Page).where(Page.slug == "aviso-de-privacidad"))
    # filled in with the tenant's data and its ARCO deadline
    assert "Secretaría Ejecutiva del Sistema Anticorrupción del Estado de México" in integral.body
    assert "20 días hábiles" in integral.body and "INFOEM" in integral.body
    page = client.get("/edomex/aviso-de-privacidad")
    assert page.status_code == 200 and "Aviso de privacidad integral" in html(page)
    assert "Aviso de privacidad simplificado" in html(client.get("/edomex/aviso-de-privacidad/simplificado"))
    # another tenant's notices are its own (none yet in hidalgo)
    assert client.get("/hidalgo/aviso-de-privacidad").status_code == 404


def test_a_corrected_notice_keeps_every_version(app, client):
    notices(app)
    with tenant_context(tenant_of(app)):
        page = db.session.scalar(select(Page).where(Page.slug == "aviso-de-privacidad-simplificado"))
        page.summary = "Texto nuevo del resumen."
        publishing.correct(page, reason="Nueva finalidad")
        assert [p.version for p in publishing.history("page", page.id)] == [1, 2]
    assert "Texto nuevo del resumen." in html(client.get("/edomex/seccion/feedback"))


def test_init_creates_the_notices(app, runner):
    result = runner.invoke(args=["init", "--quiet"])
    assert result.exit_code == 0, result.output
    for slug in ("edomex", "hidalgo", "puebla"):
        with tenant_context(tenant_of(app, slug)):
            assert privacy.current_notice("integral") is not None and privacy.current_notice("simplified")


# ------------------------------------------------------------------ consent
@pytest.mark.parametrize("section, data", [("feedback", FEEDBACK),
                                           ("join", {"name": "Luis", "email": "luis@example.org", **CONSENT})])
def test_submission_without_consent_is_refused_in_spanish_and_stores_nothing(app, spanish, client, form_ok,
                                                                             section, data):
    notices(app)
    form = html(client.get(f"/edomex/seccion/{section}"))
    assert 'name="privacy_consent"' in form and "required" in form
    assert 'href="/edomex/aviso-de-privacidad"' in form and "Aviso de privacidad simplificado" not in form.split("<main")[0]
    without = {k: v for k, v in data.items() if k != "privacy_consent"}
    response = client.post(f"/edomex/seccion/{section}", data=without)
    assert response.status_code == 400
    assert "Para enviar el formulario, acepte el aviso de privacidad." in html(response)
    assert all_rows(Feedback) == [] and all_rows(MailOutbox) == []


def test_consent_stores_the_notice_version_shown(app, client, form_ok):
    notices(app)
    first = simplified_pub(app)
    form = html(client.get("/edomex/seccion/feedback"))
    shown = re.search(r'name="privacy_notice" type="hidden" value="(\d+)"', form).group(1)
    assert int(shown) == first.id
    assert client.post("/edomex/seccion/feedback", data={**FEEDBACK, "privacy_notice": shown}).status_code == 303
    (row,) = all_rows(Feedback)
    assert row.consent_notice_id == first.id and row.consent_at is not None
    # the notice changes: a form shown before the change stores the version the person read,
    # a new form the new version; a forged version id falls back to the current one
    with tenant_context(tenant_of(app)):
        page = db.session.scalar(select(Page).where(Page.slug == "aviso-de-privacidad-simplificado"))
        page.body += "\nNuevo párrafo."
        second = publishing.correct(page, reason="Cambio")
        second_id = second.id
    client.post("/edomex/seccion/feedback", data={**FEEDBACK, "privacy_notice": shown})
    client.post("/edomex/seccion/feedback", data={**FEEDBACK, "privacy_notice": "999999"})
    client.post("/edomex/seccion/join", data={"name": "Luis", "email": "luis@example.org", **CONSENT})
    got = [r.consent_notice_id for r in sorted(all_rows(Feedback), key=lambda r: r.id)]
    assert got == [first.id, first.id, second_id, second_id]


def test_a_notice_version_of_another_tenant_is_not_stored(app, client, form_ok):
    notices(app)
    notices(app, "hidalgo")
    foreign = simplified_pub(app, "hidalgo")
    client.post("/edomex/seccion/feedback", data={**FEEDBACK, "privacy_notice": str(foreign.id)})
    (row,) = all_rows(Feedback)
    assert row.consent_notice_id == simplified_pub(app).id


# ------------------------------------------------------------------ ARCO requests
def test_arco_request_gets_folio_deadline_ack_and_tracking(app, spanish, client, form_ok):
    notices(app)
    assert client.get("/edomex/derechos-arco").status_code == 200
    response = client.post("/edomex/derechos-arco", data=ARCO)
    assert response.status_code == 303
    tracking = response.headers["Location"]
    assert "/edomex/derechos-arco/seguimiento/" in tracking
    (item,) = all_rows(ArcoRequest)
    tenant = tenant_of(app)
    assert re.fullmatch(r"EDOMEX-\d{4}-AR-000001", item.folio)
    assert item.due_on == add_business_days(tenant.today(), 20, tenant.days_off)
    assert item.status == "received" and item.consent_notice_id == simplified_pub(app).id
    (ack,) = all_rows(MailOutbox)
    assert ack.kind == "arco_received" and ack.recipient == "ana@example.org" and item.folio in ack.subject
    assert tracking.split("?")[0].rsplit("/", 1)[1] in ack.text_body
    page = client.get(tracking)
    assert page.status_code == 200 and item.folio in html(page) and "Acceso" in html(page)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    # the token works only in its tenant; an unknown token is a 404
    assert client.get(tracking.replace("/edomex/", "/hidalgo/")).status_code == 404
    assert client.get("/edomex/derechos-arco/seguimiento/nada").status_code == 404


@pytest.mark.parametrize("field, value, message", [
    ("right", "borrar-todo", "Not a valid choice"),
    ("email", "no-es-correo", "e-mail"),
    ("name", "", "This field is required."),
    ("description", "x" * 5001, "at most 5000"),
    ("privacy_consent", "", "To send the form, accept the privacy notice."),
])
def test_bad_arco_input_names_the_field_and_stores_nothing(app, client, form_ok, field, value, message):
    data = {**ARCO, field: value}
    if not value:
        data.pop(field)
    response = client.post("/edomex/derechos-arco", data=data)
    assert response.status_code == 400 and message in html(response)
    assert all_rows(ArcoRequest) == [] and all_rows(MailOutbox) == []


def test_arco_admin_lists_overdue_and_answers(app, client, login_as, form_ok):
    client.post("/edomex/derechos-arco", data=ARCO)
    client.post("/hidalgo/derechos-arco", data={**ARCO, "email": "beto@example.org"})
    with tenant_context(tenant_of(app)):
        item = db.session.scalar(select(ArcoRequest))
        item.due_on = tenant_of(app).today() - dt.timedelta(days=3)
        db.session.commit()
        item_id = item.id
    hidalgo_id = next(r.id for r in all_rows(ArcoRequest) if r.tenant_id == "hidalgo")
    # editors do not see ARCO requests; anonymous people are sent to log in
    assert client.get("/edomex/admin/privacidad/arco").status_code == 302
    login_as("editor")
    assert client.get("/edomex/admin/privacidad/arco").status_code == 403
    login_as("admin")
    page = html(client.get("/edomex/admin/privacidad/arco?status=overdue"))
    assert "Overdue since" in page and "ana@example.org" in page and "beto@example.org" not in page
    # another tenant's request is not found from here
    url = f"/edomex/admin/privacidad/arco/{hidalgo_id}"
    assert client.post(url, data={f"a{hidalgo_id}-status": "done", f"a{hidalgo_id}-answer": "x"}).status_code == 404
    # answering needs the answer text
    bad = client.post(f"/edomex/admin/privacidad/arco/{item_id}", data={f"a{item_id}-status": "answered"})
    assert bad.status_code == 422 and "Write the answer" in html(bad)
    ok = client.post(f"/edomex/admin/privacidad/arco/{item_id}",
                     data={f"a{item_id}-status": "answered", f"a{item_id}-answer": "Estos son sus datos."})
    assert ok.status_code == 303
    (answer,) = all_rows(MailOutbox, kind="arco_answered")
    assert answer.recipient == "ana@example.org" and "Estos son sus datos." in answer.text_body
    client.post(f"/edomex/admin/privacidad/arco/{item_id}",
                data={f"a{item_id}-status": "done", f"a{item_id}-answer": "Estos son sus datos."})
    (row,) = all_rows(ArcoRequest, id=item_id)
    assert row.status == "done" and row.done_at is not None and row.answered_at is not None
    assert [e.action for e in all_rows(AuditEvent, tenant_id="edomex")] == ["arco.answer", "arco.answer"]
    assert len(all_rows(MailOutbox, kind="arco_answered")) == 1  # the same answer is not sent twice
    assert "Overdue since" not in html(client.get("/edomex/admin/privacidad/arco?status=overdue"))
    assert client.get("/edomex/admin/privacidad").status_code == 200
    assert client.get("/hidalgo/admin/privacidad/arco").status_code == 403


# ------------------------------------------------------------------ a person's data
def _seed_person(app, client):
    """Ana wrote a complaint and an ARCO request in edomex (two e-mails queued), and a
    complaint in hidalgo; Beto wrote one complaint in edomex."""
    client.post("/edomex/seccion/feedback", data=FEEDBACK)
    client.post("/edomex/derechos-arco", data=ARCO)
    client.post("/hidalgo/seccion/feedback", data=FEEDBACK)
    client.post("/edomex/seccion/feedback", data={**FEEDBACK, "email": "beto@example.org", "name": "Beto"})
    _subscribe("edomex", "Ana@Example.org", "active")
    _subscribe("hidalgo", "ana@example.org", "active")


def _subscribe(slug: str, email: str, status: str, stopped_days: int | None = None, updated_days: int = 0):
    """A subscription to the whole tenant ``slug`` (rows written directly: no e-mail queued)."""
    with platform_session(db.session):
        sub = Subscription(tenant_id=slug, email=email, target="tenant", status=status, nonce=f"n{email}{slug}",
                           frequency="daily", label="Todo",
                           stopped_at=utcnow() - dt.timedelta(days=stopped_days) if stopped_days else None)
        db.session.add(sub)
        db.session.flush()
        if updated_days:
            sub.updated_at = utcnow() - dt.timedelta(days=updated_days)
        db.session.commit()


def test_export_holds_every_table_of_that_address_in_this_tenant_only(app, client, login_as, form_ok):
    _seed_person(app, client)
    login_as("admin")
    found = client.post("/edomex/admin/privacidad/datos", data={"email": "ANA@example.org"})
    assert found.status_code == 200 and "Records of ana@example.org" in html(found)  # addresses are normalised
    response = client.post("/edomex/admin/privacidad/datos/exportar.json", data={"email": "ANA@example.org"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data())
    sources = data["sources"]
    assert data["tenant"] == "edomex"
    assert [r["subject"] for r in sources["feedback"]] == ["Sin minutas"]
    assert [r["right"] for r in sources["arco_requests"]] == ["access"]
    assert sorted(r["kind"] for r in sources["mail_outbox"]) == ["arco_received", "request_received"]
    assert [(r["email"], r["target"], r["status"]) for r in sources["subscriptions"]] == [
        ("Ana@Example.org", "tenant", "active")]  # this tenant's only
    assert "beto@example.org" not in response.get_data(as_text=True)
    csv_text = client.post("/edomex/admin/privacidad/datos/exportar.csv",
                           data={"email": "ana@example.org"}).get_data(as_text=True)
    assert csv_text.startswith("\ufeffsource,record_id,field,value")
    assert "arco_requests" in csv_text and "feedback" in csv_text and "beto" not in csv_text
    # exports are audited without the address
    events = all_rows(AuditEvent, action="privacy.export")
    assert len(events) == 2 and all("ana@" not in json.dumps(e.after).lower() for e in events)
    bad = client.post("/edomex/admin/privacidad/datos/exportar.json", data={"email": "nope"})
    assert bad.status_code == 422


def test_cancellation_blanks_every_table_holding_the_address(app, client, login_as, form_ok):
    _seed_person(app, client)
    login_as("admin")
    refused = client.post("/edomex/admin/privacidad/datos/cancelar",
                          data={"email": "ana@example.org", "reason": "EDOMEX-2026-AR-000001"})
    assert refused.status_code == 422 and "Confirm the cancellation." in html(refused)
    assert len([r for r in all_rows(Feedback) if r.email == "ana@example.org"]) == 2
    ok = client.post("/edomex/admin/privacidad/datos/cancelar",
                     data={"email": "ana@example.org", "reason": "Folio AR-000001", "confirm": "y"})
    assert ok.status_code == 303
    with platform_session(db.session):
        def holding(model, column, slug_column):
            return db.session.scalar(select(func.count()).select_from(model).where(
                func.lower(column).contains("ana@"), slug_column == "edomex"))
        assert holding(Feedback, Feedback.email, Feedback.tenant_id) == 0
        assert holding(ArcoRequest, ArcoRequest.email, ArcoRequest.tenant_id) == 0
        assert holding(MailOutbox, MailOutbox.recipient, MailOutbox.tenant) == 0
        assert holding(Invitation, Invitation.email, Invitation.tenant_id) == 0
        assert holding(Subscription, Subscription.email, Subscription.tenant_id) == 0
        assert db.session.scalar(select(func.count()).select_from(Subscription).where(
            Subscription.tenant_id == "hidalgo")) == 1
        assert db.session.scalar(select(func.count()).select_from(Feedback).where(
            Feedback.email == "ana@example.org", Feedback.tenant_id == "hidalgo")) == 1
        assert db.session.scalar(select(func.count()).select_from(Feedback).where(
            Feedback.email == "beto@example.org")) == 1
        kept = db.session.scalar(select(Feedback).where(Feedback.tenant_id == "edomex", Feedback.name == ""))
        assert kept.folio and kept.kind == "complaint" and kept.anonymised_at is not None
    (event,) = all_rows(AuditEvent, action="privacy.erase")
    assert event.after["counts"]["feedback"] == 1 and event.after["counts"]["arco_requests"] == 1
    assert "ana@" not in json.dumps(event.after) and event.after["reason"] == "Folio AR-000001"


def test_person_routes_need_the_admin_of_the_tenant(app, client, login_as):
    for url in ("/edomex/admin/privacidad/datos", "/edomex/admin/privacidad/datos/exportar.json",
                "/edomex/admin/privacidad/datos/cancelar"):
        assert client.post(url, data={"email": "ana@example.org"}).status_code == 302
    login_as("admin", tenant="hidalgo")
    for url in ("/edomex/admin/privacidad", "/edomex/admin/privacidad/arco", "/edomex/admin/privacidad/datos"):
        assert client.get(url).status_code == 403
    assert client.post("/edomex/admin/privacidad/datos/exportar.json",
                       data={"email": "ana@example.org"}).status_code == 403


# ------------------------------------------------------------------ retention
def _age(model, days: int, **where):
    with platform_session(db.session):
        for row in db.session.scalars(select(model).filter_by(**where)):
            row.created_at = utcnow() - dt.timedelta(days=days)
        db.session.commit()


def _emails_left(slug: str) -> set[str]:
    """Every e-mail address held by the tables that hold addresses, for tenant ``slug``."""
    with platform_session(db.session):
        found = set()
        for model, column, tenant_col in ((Feedback, Feedback.email, Feedback.tenant_id),
                                          (ArcoRequest, ArcoRequest.email, ArcoRequest.tenant_id),
                                          (MailOutbox, MailOutbox.recipient, MailOutbox.tenant),
                                          (Invitation, Invitation.email, Invitation.tenant_id),
                                          (Subscription, Subscription.email, Subscription.tenant_id)):
            found |= set(db.session.scalars(select(column).where(tenant_col == slug, column != "")))
        return found


def _seed_ages(app, client):
    """Old data (beyond every default period) of old@, recent data of new@, in edomex and
    hidalgo."""
    for slug in ("edomex", "hidalgo"):
        client.post(f"/{slug}/seccion/feedback", data={**FEEDBACK, "email": "old@example.org"})
        client.post(f"/{slug}/seccion/join", data={"name": "Old", "email": "old@example.org", **CONSENT})
        client.post(f"/{slug}/derechos-arco", data={**ARCO, "email": "old@example.org"})
    _age(Feedback, 800)
    _age(ArcoRequest, 800)
    _age(MailOutbox, 800)
    assert mail.deliver_due()[0] == 4  # sent mail is what the mail period applies to
    with platform_session(db.session):
        for slug in ("edomex", "hidalgo"):
            db.session.add(Invitation(tenant_id=slug, email="old@example.org", role="editor", token_hash=slug * 8,
                                      expires_at=utcnow() - dt.timedelta(days=400)))
        db.session.commit()
    for slug in ("edomex", "hidalgo"):
        client.post(f"/{slug}/seccion/feedback", data={**FEEDBACK, "email": "new@example.org"})
        client.post(f"/{slug}/seccion/join", data={"name": "New", "email": "new@example.org", **CONSENT})
        client.post(f"/{slug}/derechos-arco", data={**ARCO, "email": "new@example.org"})
        # stopped 40 days ago (default period 30), never confirmed for 40 days, stopped yesterday, active
        _subscribe(slug, "old@example.org", "stopped", stopped_days=40)
        _subscribe(slug, "gone@example.org", "pending", updated_days=40)
        _subscribe(slug, "new@example.org", "stopped", stopped_days=1)
        _subscribe(slug, "active@example.org", "active", updated_days=400)


def test_purge_leaves_no_expired_personal_data_and_keeps_the_rest(app, client, form_ok):
    app.config["MAIL_DIR"] = str(app.instance_path) + "/mail"
    _seed_ages(app, client)
    everyone = {"old@example.org", "new@example.org", "gone@example.org", "active@example.org"}
    assert _emails_left("edomex") == everyone
    counts = privacy.purge(tenant_of(app))
    assert counts == {"complaints": 1, "join": 1, "arco": 1, "mail": 2, "invitations": 1, "subscriptions": 2}
    assert _emails_left("edomex") == {"new@example.org", "active@example.org"}
    assert _emails_left("hidalgo") == everyone  # another tenant's purge
    with tenant_context(tenant_of(app)):
        old = db.session.scalar(select(Feedback).where(Feedback.kind == "complaint", Feedback.anonymised_at.isnot(None)))
        assert (old.name, old.message, old.tracking_hash) == ("", "", None) and old.folio and old.due_on
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.purge"))
        assert event.after["counts"]["complaints"] == 1 and event.actor == "cli"
    assert privacy.purge(tenant_of(app)) == {"complaints": 0, "join": 0, "arco": 0, "mail": 0, "invitations": 0,
                                             "subscriptions": 0}
    # every table and column of the database, not only the ones above: a table added later that
    # keeps addresses without registering them with the privacy module fails here
    assert _address_anywhere("old@example.org", "edomex") == set()
    assert _address_anywhere("gone@example.org", "edomex") == set()
    assert "subscriptions.email" in _address_anywhere("old@example.org", "hidalgo")
    assert "subscriptions.email" in _address_anywhere("active@example.org", "edomex")  # active: kept


def _address_anywhere(address: str, slug: str) -> set[str]:
    """Every ``table.column`` of the whole database (every table of the models, core and plugins)
    whose text, string or JSON value contains ``address`` in a row of tenant ``slug`` (tables
    with no tenant column: in any row). Not a list of the tables known to hold addresses: a
    table added later is searched too."""
    found = set()
    with platform_session(db.session):
        for table in db.metadata.sorted_tables:
            tenant_col = table.c["tenant_id"] if "tenant_id" in table.c else table.c.get("tenant")
            for col in table.c:
                if not isinstance(col.type, (String, JSON)):
                    continue
                q = select(func.count()).select_from(table).where(func.lower(cast(col, String)).contains(address))
                if tenant_col is not None:
                    q = q.where(tenant_col == slug)
                if db.session.scalar(q):
                    found.add(f"{table.name}.{col.name}")
    return found


# ------------------------------------------------------------------ no trace anywhere
#: ``table.column`` that hold e-mail addresses the retention purge keeps on purpose, with why.
#: Every other column named like an address (``email``, ``*_email``, ``recipient``) must be
#: filled by :func:`_seed_expired` and emptied by the purge, so a table added later that keeps
#: addresses fails :func:`test_purge_leaves_no_trace_in_any_column` until it is seeded here and
#: registered with ``privacy.register_personal_data``.
KEPT_BY_DESIGN = {
    "users.email": "staff accounts: removed in Users (a membership), never by the purge",
    "stl_members.email": "members of the STL are public officials named in the minutes",
    "ap_commitments.contact_email": "the official contact of a published commitment of an action plan",
}
_ADDRESS_COLUMN = re.compile(r"(^|_)email$|^recipient$")


def _texty(column) -> bool:
    """True for a column whose values are text: String/Text/Unicode/Enum or JSON, also behind a
    TypeDecorator."""
    kind = getattr(column.type, "impl_instance", column.type)
    return isinstance(kind, (String, JSON))


def _columns_holding(marker: str) -> set[str]:
    """Every ``table.column`` of every table of the models (core and every plugin, from
    SQLAlchemy's metadata; every tenant's rows) whose text or JSON contains ``marker``
    (lower case, compared with the lower-cased value)."""
    found = set()
    with platform_session(db.session):
        for table in db.metadata.sorted_tables:
            for col in table.c:
                if _texty(col) and db.session.scalar(select(func.count()).select_from(table).where(
                        func.lower(cast(col, String)).contains(marker))):
                    found.add(f"{table.name}.{col.name}")
    return found


def _markers(slug: str) -> dict[str, str]:
    return {"email": f"caduca.{slug}@example.org", "name": f"persona caduca {slug}",
            "text": f"mensaje caduco {slug}"}


def _seed_expired(app, client, slug: str) -> None:
    """Personal data of one person in ``slug`` through every place that collects it: the
    feedback, join and ARCO forms (with their mail), a subscription never confirmed, an
    invitation and a co-creation support never confirmed (public form, with its mail)."""
    from plugins.cocreation import services as cc
    from plugins.cocreation.models import Problem, Process, Registration, Support
    from plugins.cocreation.tests.call_records import make_call_records

    m = _markers(slug)
    person = {"name": m["name"].title(), "email": m["email"]}
    for url, data in ((f"/{slug}/seccion/feedback", {**FEEDBACK, **person, "message": m["text"]}),
                      (f"/{slug}/seccion/join", {**person, **CONSENT}),
                      (f"/{slug}/derechos-arco", {**ARCO, **person, "description": m["text"]})):
        assert client.post(url, data=data).status_code in (302, 303), url  # stored, then redirected
    _subscribe(slug, m["email"], "pending")
    with platform_session(db.session):
        db.session.add(Invitation(tenant_id=slug, email=m["email"], role="editor", token_hash=f"{slug}-caduca" * 4,
                                  expires_at=utcnow() + dt.timedelta(days=7)))
        db.session.commit()
    tenant = tenant_of(app, slug)
    with tenant_context(tenant):
        today = cc.tenant_today(tenant)
        process = Process(title="Consulta", cycle="2026", consultation_opens=today - dt.timedelta(days=1),
                          consultation_closes=today + dt.timedelta(days=10))
        cc.ensure_steps(process)
        db.session.add(process)
        db.session.commit()
        publishing.publish(process)
        problem = Problem(process_id=process.id, title="Sin transporte", description="Descripción",
                          theme=cc.DEFAULT_THEMES[0], municipality="Toluca")
        db.session.add(problem)
        db.session.flush()
        cc.publish_problem(problem, None)
        db.session.commit()
        problem_id = problem.id
    support = {"email": m["email"], **CONSENT, "issued": public_form_token("cocreation_support", slug)}
    assert client.post(f"/{slug}/cocreacion/problemas/{problem_id}", data=support).status_code == 200
    with tenant_context(tenant):
        assert db.session.scalar(select(Support.email).where(Support.problem_id == problem_id)) == m["email"]
    # a problem with a follow-up address, a support that was counted, and a registration to a table
    assert client.post(f"/{slug}/cocreacion/{process.id}/consulta", data={
        "title": "Sin alumbrado", "description": "Las calles están oscuras.", "theme": cc.DEFAULT_THEMES[0],
        "municipality": "Toluca", "email": m["email"], **CONSENT,
        "issued": public_form_token("cocreation_problem", slug)}).status_code in (200, 302, 303)
    with tenant_context(tenant):
        assert db.session.scalar(select(Problem.id).where(Problem.email == m["email"])) is not None
        other = Problem(process_id=process.id, title="Sin agua", description="Descripción", theme=cc.DEFAULT_THEMES[0])
        db.session.add(other)
        db.session.flush()
        cc.publish_problem(other, None)
        db.session.add(Support(problem_id=other.id, email=m["email"], confirmed_at=utcnow()))
        db.session.commit()
    records = make_call_records(app, slug, process.id, label=f"caduca {slug}")
    assert client.post(f"/{slug}/cocreacion/{process.id}/convocatoria/registro", data={
        "table": str(records["table_id"]), "name": person["name"], "email": m["email"], "sector": "ciudadania",
        "organization": "", **CONSENT,
        "issued": public_form_token("cocreation_registration", slug)}).status_code in (200, 302, 303)
    with tenant_context(tenant):
        assert db.session.scalar(select(Registration.id).where(Registration.email == m["email"])) is not None


def test_purge_leaves_no_trace_in_any_column(app, client, form_ok):
    """After the purge, years later, nothing of the expired person is left in ANY text or JSON
    column of ANY table (core and plugins, found through SQLAlchemy's metadata), not only in the
    columns the privacy module knows; the same data of another tenant is still found (so the
    search sees every table seeded), and every address column is either seeded or kept by design."""
    app.config["MAIL_DIR"] = str(app.instance_path) + "/mail"
    for slug in ("edomex", "hidalgo"):
        _seed_expired(app, client, slug)
    assert mail.deliver_due()[0] == 8  # feedback, ARCO, support and registration mail of each tenant
    for marker in _markers("edomex").values():
        assert _columns_holding(marker), marker  # seeded
    privacy.purge(tenant_of(app), now=utcnow() + dt.timedelta(days=3650))
    left = {kind: _columns_holding(marker) for kind, marker in _markers("edomex").items()}
    assert left == {"email": set(), "name": set(), "text": set()}, left
    # control: hidalgo was not purged, and its person is found in every table that was seeded
    held = _columns_holding(_markers("hidalgo")["email"])
    assert {"feedback.email", "arco_requests.email", "mail_outbox.recipient", "invitations.email",
            "subscriptions.email", "cc_supports.email", "cc_problems.email", "cc_registrations.email"} <= held, held
    assert _columns_holding(_markers("hidalgo")["name"]) and _columns_holding(_markers("hidalgo")["text"])
    address_columns = {f"{t.name}.{c.name}" for t in db.metadata.sorted_tables for c in t.c
                       if _ADDRESS_COLUMN.search(c.name)}
    unseeded = address_columns - held - set(KEPT_BY_DESIGN)
    assert not unseeded, (f"{sorted(unseeded)} hold e-mail addresses but this test puts none there: seed them in "
                          "_seed_expired and register the table with privacy.register_personal_data")
    assert not set(KEPT_BY_DESIGN) - address_columns, "KEPT_BY_DESIGN names a column that is gone"


def test_retention_periods_come_from_the_tenant(app, client, form_ok):
    client.post("/edomex/seccion/feedback", data=FEEDBACK)
    _age(Feedback, 10)
    short = dataclasses.replace(tenant_of(app), retention={**tenant_of(app).retention, "complaints": 5})
    assert privacy.purge(short)["complaints"] == 1
    assert _emails_left("edomex") == {"ana@example.org"}  # the acknowledgement is still queued


def test_purge_command_and_the_mail_worker_run_it(app, client, runner, form_ok):
    app.config["MAIL_DIR"] = str(app.instance_path) + "/mail"
    _seed_ages(app, client)
    result = runner.invoke(args=["privacy", "purge", "--tenant", "edomex"])
    assert result.exit_code == 0 and "edomex: arco: 1, complaints: 1" in result.output
    assert _emails_left("edomex") == {"new@example.org", "active@example.org"}
    assert "old@example.org" in _emails_left("hidalgo")
    # the mail worker purges when it starts (then once a day)
    rounds = iter([False, True])
    mail.run_worker(interval=0.05, stop=lambda: next(rounds))
    assert _emails_left("hidalgo") == {"new@example.org", "active@example.org"}
    assert len(all_rows(AuditEvent, action="privacy.purge")) == 1 + len(app.extensions["comun"].tenants)


def test_the_purge_event_reads_in_spanish_on_the_dashboard(app, client, login_as, spanish):
    """The worker purges at start: its audit event is named, not shown as the code "privacy: purge"."""
    privacy.purge(tenant_of(app))
    login_as("admin")
    html = client.get("/edomex/admin/", headers={"Accept-Language": "es-MX"}).get_data(as_text=True)
    assert "Depuración de datos personales por plazo de conservación" in html
    assert "privacy: purge" not in html


def test_retention_and_arco_days_are_validated(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    base = ('slug = "demo"\nstate = "Demo"\nsecretariat = "SESEA Demo"\nshort_name = "SESEA"\n'
            'transparency_authority = "Instituto"\ntransparency_authority_short = "IT"\n')
    (folder / "tenant.toml").write_text(base + "arco_days = 15\n[retention]\ncomplaints = 1095\n")
    t = load_tenant(folder / "tenant.toml")
    assert t.arco_days == 15 and t.retention == {**privacy_defaults(), "complaints": 1095}
    for bad, key in (("[retention]\nforever = 3\n", "retention.forever"), ("[retention]\njoin = 0\n", "retention.join"),
                     ('[retention]\nmail = "90"\n', "retention.mail"), ("arco_days = 0\n", "arco_days")):
        (folder / "tenant.toml").write_text(base + bad)
        with pytest.raises(TenantConfigError, match=re.escape(key)):
            load_tenant(folder / "tenant.toml")


def privacy_defaults():
    from comun_cms.tenancy import RETENTION_DEFAULTS
    return dict(RETENTION_DEFAULTS)


# ------------------------------------------------------------------ accessibility and footer
def test_accessibility_statement_for_each_tenant_and_the_portal(app, spanish, client):
    for url in ("/edomex/accesibilidad", "/accesibilidad"):
        page = client.get(url)
        assert page.status_code == 200
        assert "WCAG 2.1" in html(page) and "axe" in html(page)
    assert "/hidalgo/seccion/feedback" in html(client.get("/accesibilidad"))


def test_every_page_links_privacy_arco_and_accessibility_in_its_footer(app, client, login_as):
    for url in ("/edomex/", "/edomex/seccion/contact", "/edomex/derechos-arco", "/edomex/accesibilidad"):
        footer = html(client.get(url)).split('<footer class="site-footer">')[1]
        for link in ("/edomex/aviso-de-privacidad", "/edomex/aviso-de-privacidad/simplificado",
                     "/edomex/derechos-arco", "/edomex/accesibilidad"):
            assert f'href="{link}"' in footer, (url, link)
    footer = html(client.get("/")).split('<footer class="site-footer">')[1]
    assert 'href="/accesibilidad"' in footer and 'href="/puebla/aviso-de-privacidad"' in footer


def test_plugins_get_the_consent_component_from_the_toolkit(app):
    from flask_wtf import FlaskForm
    from wtforms import StringField

    from comun_cms import toolkit

    class SignUp(FlaskForm, toolkit.ConsentMixin):
        email = StringField("E-mail")

    notices(app)
    expected = simplified_pub(app).id
    with app.test_request_context("/edomex/seccion/feedback", method="POST", data={"email": "a@b.mx"}):
        app.preprocess_request()  # the tenant of the address, as in a real request
        form = SignUp()
        assert not form.validate() and "privacy_consent" in form.errors
        rendered = app.jinja_env.from_string(
            '{% from "_privacy.html" import consent %}{{ consent(form) }}').render(form=form)
        assert 'name="privacy_consent"' in rendered and f'value="{expected}"' in rendered
    with app.test_request_context("/edomex/seccion/feedback", method="POST", data={"email": "a@b.mx", "privacy_consent": "y"}):
        app.preprocess_request()
        form = SignUp()
        assert form.validate() and form.consent_fields()["consent_notice_id"] == expected
