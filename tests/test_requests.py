"""The complaints loop: a question, complaint or suggestion gets a folio a person can read over the
phone, a private tracking page, an acknowledgement e-mail, a deadline in business days (Mexican
federal holidays and the tenant's days off), an overdue flag in the admin, and its answer by e-mail."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import email
import re
from email import policy

import pytest
from sqlalchemy import select

from comun_cms import mail
from comun_cms.business_days import add_business_days, business_days_between, is_business_day
from comun_cms.extensions import db
from comun_cms.folios import next_folio
from comun_cms.models import Feedback, MailOutbox
from comun_cms.tenancy import tenant_context


def _submit(client, slug="edomex", **fields):
    data = {"kind": "complaint", "name": "Ana Ciudadana", "email": "ana@example.org",
            "subject": "Sin minutas", "message": "No encuentro las minutas de 2026.", "website": "",
            "privacy_consent": "y"}
    data.update(fields)
    # the public form has a time trap: pretend the person took a while to write
    client.get(f"/{slug}/seccion/feedback")
    return client.post(f"/{slug}/seccion/feedback", data=data)


@pytest.fixture
def form_ok(app, monkeypatch):
    """Disable the minimum-time check of the public forms for these tests."""
    from comun_cms.views import public
    monkeypatch.setattr(public.PublicForm, "check_timing", lambda self: True)
    app.config.update(MAIL_BACKEND="file")


# ------------------------------------------------------------------ business days
def test_business_days_skip_weekends_and_federal_holidays():
    # Friday 2026-11-13 + 1 business day: Monday 16 is Revolution Day (third Monday of November)
    assert add_business_days(dt.date(2026, 11, 13), 1) == dt.date(2026, 11, 17)
    # Christmas and New Year: 2026-12-24 (Thu) + 2 -> 28 (Mon), skipping Fri 25
    assert add_business_days(dt.date(2026, 12, 24), 2) == dt.date(2026, 12, 29)
    assert not is_business_day(dt.date(2027, 1, 1)) and is_business_day(dt.date(2027, 1, 4))
    # the secretariat's own days off count too
    assert add_business_days(dt.date(2026, 12, 7), 1, [dt.date(2026, 12, 8)]) == dt.date(2026, 12, 9)
    assert business_days_between(dt.date(2026, 11, 13), dt.date(2026, 11, 17)) == 1
    with pytest.raises(ValueError):
        add_business_days(dt.date(2026, 1, 1), -1)


def test_tenant_answer_days_and_days_off_are_validated(tmp_path):
    from comun_cms.tenancy import TenantConfigError, load_tenant

    folder = tmp_path / "demo"
    folder.mkdir()
    base = ('slug = "demo"\nstate = "Demo"\nsecretariat = "SESEA Demo"\nshort_name = "SESEA"\n'
            'transparency_authority = "Instituto"\ntransparency_authority_short = "IT"\n')
    (folder / "tenant.toml").write_text(base + "days_off = [2026-12-12]\ndeadlines = { feedback_days = 15 }\n")
    t = load_tenant(folder / "tenant.toml")
    assert (t.answer_days, t.days_off) == (15, (dt.date(2026, 12, 12),))
    (folder / "tenant.toml").write_text(base + 'days_off = ["doce de diciembre"]\n')
    with pytest.raises(TenantConfigError, match=r"days_off\[0\]"):
        load_tenant(folder / "tenant.toml")
    (folder / "tenant.toml").write_text(base + "deadlines = { feedback_days = 0 }\n")
    with pytest.raises(TenantConfigError, match="deadlines.feedback_days"):
        load_tenant(folder / "tenant.toml")


# ------------------------------------------------------------------ folios
def test_folios_are_per_tenant_year_and_kind_and_gap_free(app):
    tenant = app.extensions["comun"].tenants["edomex"]
    with tenant_context(tenant):
        assert next_folio("edomex", "QJ", 2026) == "EDOMEX-2026-QJ-000001"
        assert next_folio("edomex", "QJ", 2026) == "EDOMEX-2026-QJ-000002"
        db.session.rollback()                       # a rolled-back request gives its number back
        assert next_folio("edomex", "QJ", 2026) == "EDOMEX-2026-QJ-000001"
        assert next_folio("edomex", "DU", 2026) == "EDOMEX-2026-DU-000001"
        assert next_folio("puebla", "QJ", 2026) == "PUEBLA-2026-QJ-000001"
        assert next_folio("edomex", "QJ", 2027) == "EDOMEX-2027-QJ-000001"
        db.session.commit()
    with pytest.raises(ValueError):
        next_folio("edomex", "qj", 2026)


def test_concurrent_submissions_never_share_a_folio(app, database_url):
    """Eight threads, each its own connection and transaction, reserve folios at once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL (SQLite serializes the whole database)")
    tenant = app.extensions["comun"].tenants["edomex"]

    def reserve(_):
        with app.app_context(), tenant_context(tenant):
            folios = []
            for _ in range(10):
                folios.append(next_folio("edomex", "QJ", 2026))
                db.session.commit()
            return folios

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = [f for chunk in pool.map(reserve, range(8)) for f in chunk]
    assert len(got) == len(set(got)) == 80
    assert sorted(got)[-1] == "EDOMEX-2026-QJ-000080"


# ------------------------------------------------------------------ the loop
def test_complaint_gets_folio_tracking_page_ack_and_answer(app, spanish, client, login_as, form_ok, tmp_path):
    app.config["MAIL_DIR"] = str(tmp_path / "mail")
    resp = _submit(client)
    assert resp.status_code == 303
    tracking = resp.headers["Location"]
    page = client.get(tracking)
    html = page.get_data(as_text=True)
    folio = re.search(r"EDOMEX-\d{4}-QJ-\d{6}", html).group(0)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "Recibida" in html and "Sin minutas" in html

    row = _only_request(app)
    assert row.folio == folio and row.due_on is not None and row.status == "new"
    assert mail.deliver_due() == (1, 0)
    (eml,) = (tmp_path / "mail").glob("*.eml")
    ack = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert folio in ack["Subject"] and ack["To"] == "ana@example.org"
    assert urlpath(tracking).split("?")[0] in ack.get_body(("plain",)).get_content()

    # the secretariat answers: the person gets it by e-mail and on the tracking page
    login_as("editor")
    resp = client.post(f"/edomex/admin/moderacion/{row.id}",
                       data={f"f{row.id}-status": "answered", f"f{row.id}-answer": "Las minutas están en Actas."})
    assert resp.status_code == 303
    answer = db.session.scalar(select(MailOutbox).where(MailOutbox.kind == "request_answered"))
    assert answer.recipient == "ana@example.org" and "Las minutas están en Actas." in answer.text_body
    client.post("/auth/logout")
    html = client.get(tracking).get_data(as_text=True)
    assert "Las minutas están en Actas." in html and "Respondida" in html


def _only_request(app, slug: str = "edomex") -> Feedback | None:
    """The one Feedback row of ``slug`` (queries are tenant-scoped)."""
    with tenant_context(app.extensions["comun"].tenants[slug]):
        return db.session.scalar(select(Feedback))


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_tracking_tokens_are_private_and_per_tenant(app, client, form_ok):
    tracking = _submit(client).headers["Location"]
    assert client.get("/edomex/seguimiento/no-such-token").status_code == 404
    assert client.get(urlpath(tracking).replace("/edomex/", "/puebla/")).status_code == 404


def test_overdue_requests_are_flagged_in_the_admin(app, spanish, client, login_as, form_ok):
    _submit(client)
    tenant = app.extensions["comun"].tenants["edomex"]
    with tenant_context(tenant):
        row = db.session.scalar(select(Feedback))
        row.due_on = dt.date(2020, 1, 2)
        db.session.commit()
        folio = row.folio
    login_as("editor")
    html = client.get("/edomex/admin/moderacion?status=overdue").get_data(as_text=True)
    assert folio in html and "Vencida desde" in html
    dash = client.get("/edomex/admin/").get_data(as_text=True)
    assert "Solicitudes con el plazo de respuesta vencido" in dash


def test_bad_input_stores_nothing(app, client, form_ok):
    resp = _submit(client, subject="", message="x" * 6000)
    assert resp.status_code == 400
    assert _only_request(app) is None
    assert db.session.scalar(select(MailOutbox)) is None


def test_deadline_follows_the_tenant_settings(app, client, form_ok):
    state = app.extensions["comun"]
    t = state.tenants["edomex"]
    state.tenants["edomex"] = dataclasses.replace(t, deadlines={**t.deadlines, "feedback_days": 3})
    try:
        _submit(client)
    finally:
        state.tenants["edomex"] = t
    row = _only_request(app)
    assert business_days_between(t.today(row.created_at), row.due_on) == 3


# ------------------------------------------------------------------ accountability figures
def test_request_figures_per_tenant_and_on_the_portal(app, spanish, client, form_ok):
    from comun_cms.request_stats import request_stats

    for _ in range(3):
        _submit(client)
    _submit(client, slug="puebla")
    edomex = app.extensions["comun"].tenants["edomex"]
    with tenant_context(edomex):
        rows = db.session.scalars(select(Feedback).order_by(Feedback.id)).all()
        created = rows[0].created_at
        # one answered on time after 2 business days, one answered late, one still open and overdue
        rows[0].answered_at, rows[0].due_on = created + dt.timedelta(days=2), edomex.today(created) + dt.timedelta(days=10)
        rows[1].answered_at, rows[1].due_on = created + dt.timedelta(days=30), edomex.today(created) + dt.timedelta(days=1)
        rows[2].due_on = dt.date(2020, 1, 2)
        for r in rows[:2]:
            r.status = "answered"
        db.session.commit()
    tenants = [app.extensions["comun"].tenants[s] for s in ("edomex", "puebla")]
    with app.test_request_context():
        per, total = request_stats(tenants)
    e, p = per
    assert (e.received, e.answered, e.on_time, e.overdue) == (3, 2, 1, 1)
    assert e.median_days is not None and e.median_days > 0
    assert (p.received, p.answered) == (1, 0) and p.median_days is None
    assert (total.received, total.answered, total.on_time) == (4, 2, 1)

    portal = client.get("/solicitudes").get_data(as_text=True)
    assert "Respuestas a la ciudadanía" in portal and "Puebla" in portal and "Hidalgo" in portal
    assert "Capacitación" not in portal               # training tenants never reach the portal
    assert "ana@example.org" not in portal            # figures only, no personal data
    section = client.get("/edomex/seccion/feedback").get_data(as_text=True)
    assert "Cómo respondemos" in section and "<svg" in section


# ------------------------------------------------------------------ public answers
def test_public_answer_needs_consent_and_carries_no_personal_data(app, client, login_as, form_ok):
    _submit(client, subject="¿Cuándo sesiona el STL?", message="Quiero asistir. Mi teléfono es 722 555 0101.",
            publish_consent="y")
    _submit(client, subject="Queja privada", message="Sin consentimiento.")
    tenant = app.extensions["comun"].tenants["edomex"]
    with tenant_context(tenant):
        consented, private = db.session.scalars(select(Feedback).order_by(Feedback.id)).all()
        assert consented.publish_consent and not private.publish_consent
        ids = consented.id, private.id
    login_as("editor")
    for fid in ids:
        client.post(f"/edomex/admin/moderacion/{fid}", data={f"f{fid}-status": "answered",
                                                              f"f{fid}-answer": "El último jueves de cada trimestre."})
    assert client.post(f"/edomex/admin/moderacion/{ids[1]}/respuesta-publica").status_code == 409
    resp = client.post(f"/edomex/admin/moderacion/{ids[0]}/respuesta-publica")
    assert resp.status_code == 303 and "/edomex/admin/paginas/" in resp.headers["Location"]
    again = client.post(f"/edomex/admin/moderacion/{ids[0]}/respuesta-publica")
    assert again.headers["Location"] == resp.headers["Location"]      # one page per request
    with tenant_context(tenant):
        from comun_cms.models import Page
        (page,) = db.session.scalars(select(Page)).all()
        assert page.section == "feedback" and page.status == "draft"
        assert "El último jueves de cada trimestre." in page.body and "ana@example.org" not in page.body
        assert "Ana Ciudadana" not in page.body
    # another tenant's editor cannot prepare it
    assert client.post(f"/puebla/admin/moderacion/{ids[0]}/respuesta-publica").status_code in (403, 404)
