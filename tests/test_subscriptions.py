"""Subscriptions: double opt-in (nothing sent before confirmation; the link works once and
expires), digests at the chosen frequency (one entry and one e-mail per subscriber), RFC 8058
one-click unsubscribe without login, tenant isolation and bad input (clear error, nothing stored)."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from flask import url_for
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from comun_cms import mail, publishing, subscriptions
from comun_cms.extensions import db
from comun_cms.models import MailOutbox, Page, Subscription, SubscriptionItem
from comun_cms.tenancy import all_tenants, tenant_context
from comun_cms.testing import get_tenant
from comun_cms.views.public import make_form_token
from plugins.action_plans import services as plan_services
from plugins.action_plans.models import ActionPlan, Commitment


@pytest.fixture
def english(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def _page(app, slug="informe", title="Informe anual de actividades", tenant="edomex", body="Texto del informe."):
    with tenant_context(get_tenant(app, tenant)):
        page = Page(slug=slug, title=title, summary="Resumen.", body=body, section="links")
        db.session.add(page)
        db.session.flush()
        publishing.publish(page)
        return page.id


def _commitment(app, tenant="edomex") -> int:
    with tenant_context(get_tenant(app, tenant)):
        plan = ActionPlan(number=1, title=f"Plan de acción {tenant}")
        plan.commitments.append(Commitment(number=1, title="Publicar las declaraciones patrimoniales",
                                           progress_status="started"))
        db.session.add(plan)
        db.session.flush()
        plan_services.recompute(plan.commitments[0])
        db.session.commit()
        plan_services.publish_plan(plan, None)
        db.session.commit()
        return plan.commitments[0].id


def _follow(client, tenant="edomex", email="ana@example.org", frequency="immediate", consent=True, age=10,
            **target):
    data = {"follow-email": email, "follow-frequency": frequency,
            "follow-content_type": target.get("content_type", ""), "follow-record_id": target.get("record_id", ""),
            "follow-q": target.get("q", ""), "follow-issued": make_form_token("follow", tenant, time.time() - age)}
    if consent:
        data["follow-privacy_consent"] = "y"
    return client.post(f"/{tenant}/seguir", data=data)


def _mails(kind=None) -> list[MailOutbox]:
    stmt = select(MailOutbox).order_by(MailOutbox.id)
    if kind:
        stmt = stmt.where(MailOutbox.kind == kind)
    return list(db.session.scalars(stmt))


def _link(row: MailOutbox, pattern: str) -> str:
    return re.search(r"https?://[^/\s]+(/\S*" + pattern + r"\S*)", row.text_body).group(1)


def _confirm(client, email="ana@example.org") -> str:
    row = [m for m in _mails("subscription_confirm") if m.recipient == email][-1]
    path = _link(row, "/suscripciones/confirmar/")
    response = client.post(path)
    assert response.status_code == 303
    return response.headers["Location"]


def _subs(tenant=None) -> list[Subscription]:
    stmt = all_tenants(select(Subscription).order_by(Subscription.id))
    if tenant:
        stmt = stmt.where(Subscription.tenant_id == tenant)
    return list(db.session.scalars(stmt))


def _later(days: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)


# --------------------------------------------------------------------------- double opt-in
def test_double_opt_in_nothing_sent_before_confirmation_link_works_once(app, client):
    page_id = _page(app)
    response = _follow(client, content_type="page", record_id=str(page_id))
    assert response.status_code == 200
    [sub] = _subs()
    assert (sub.status, sub.target, sub.content_type, sub.record_id) == ("pending", "record", "page", str(page_id))
    [confirm_mail] = _mails()
    assert confirm_mail.kind == "subscription_confirm" and confirm_mail.recipient == "ana@example.org"

    # a correction before confirming: no item, no digest
    with tenant_context(get_tenant(app, "edomex")):
        page = db.session.get(Page, page_id)
        page.title = "Informe anual corregido"
        publishing.correct(page, reason="Errata en el título")
    assert subscriptions.run_digest(_later(30)) == (0, 0)
    assert [m.kind for m in _mails()] == ["subscription_confirm"]
    assert db.session.scalar(all_tenants(select(func.count()).select_from(SubscriptionItem))) == 0

    path = _link(confirm_mail, "/suscripciones/confirmar/")
    assert client.get(path).status_code == 200          # GET only shows the button
    assert _subs()[0].status == "pending"
    location = _confirm(client)
    assert "/edomex/suscripciones/" in location
    assert _subs()[0].status == "active" and _subs()[0].confirmed_at is not None
    again = client.post(path)
    assert again.status_code == 410                      # single use
    assert client.get(path).status_code == 410
    assert client.post(path[:-3] + "xyz").status_code == 404   # forged


def test_confirmation_link_expires(app, client, english, monkeypatch):
    _follow(client)
    [sub] = _subs()
    four_days_ago = int(time.time()) - 4 * 24 * 3600      # the link is valid 3 days
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: four_days_ago)
    token = URLSafeTimedSerializer(app.secret_key, salt="comun-cms.subscription-confirm").dumps(
        {"s": sub.id, "n": sub.nonce})
    monkeypatch.undo()
    response = client.post(f"/edomex/suscripciones/confirmar/{token}")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert _subs()[0].status == "pending"


# --------------------------------------------------------------------------- digests
def test_commitment_publication_gives_one_entry_and_one_mail_per_subscriber(app, client):
    commitment_id = _commitment(app)
    for email in ("ana@example.org", "luis@example.org"):
        assert _follow(client, email=email, content_type="commitment", record_id=str(commitment_id)).status_code == 200
        _confirm(client, email)
    with tenant_context(get_tenant(app, "edomex")):
        c = db.session.get(Commitment, commitment_id)
        c.title = "Publicar las declaraciones patrimoniales y de intereses"
        publishing.correct(c, reason="Título completo")
    items = db.session.scalars(all_tenants(select(SubscriptionItem))).all()
    assert len(items) == 2 and len({i.subscription_id for i in items}) == 2

    assert subscriptions.run_digest() == (2, 2)
    with app.test_request_context():
        url = url_for("action_plans.commitment", tenant="edomex", commitment_id=commitment_id, _external=True)
    assert url.startswith("http://127.0.0.1:5000/edomex/")
    digests = _mails("subscription_digest")
    assert sorted(m.recipient for m in digests) == ["ana@example.org", "luis@example.org"]
    for m in digests:
        assert "Publicar las declaraciones patrimoniales y de intereses" in m.text_body
        assert "Título completo" in m.text_body
        assert url in m.text_body and url in m.html_body
        assert m.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"<https?://[^>]+/edomex/suscripciones/[^>]+/baja>", m.headers["List-Unsubscribe"])
    assert subscriptions.run_digest(_later(30)) == (0, 0)    # nothing twice


def test_daily_and_weekly_wait_for_their_turn(app, client):
    page_id = _page(app)
    _follow(client, email="diario@example.org", frequency="daily")     # the whole tenant
    _confirm(client, "diario@example.org")
    _follow(client, email="semanal@example.org", frequency="weekly")
    _confirm(client, "semanal@example.org")
    with tenant_context(get_tenant(app, "edomex")):
        publishing.retract(db.session.get(Page, page_id), reason="Publicado por error")
    assert subscriptions.run_digest() == (0, 0)
    assert subscriptions.run_digest(_later(1.01)) == (1, 1)
    assert [m.recipient for m in _mails("subscription_digest")] == ["diario@example.org"]
    assert subscriptions.run_digest(_later(7.01)) == (1, 1)
    assert [m.recipient for m in _mails("subscription_digest")] == ["diario@example.org", "semanal@example.org"]
    assert "Publicado por error" in _mails("subscription_digest")[-1].text_body


def test_saved_search_matches_words_without_accents(app, client):
    _follow(client, q="comisión ejecutiva")
    _confirm(client)
    _page(app, slug="otra", title="Calendario de sesiones")
    _page(app, slug="ce", title="Sesión de la Comision Ejecutiva")
    subscriptions.run_digest()
    [digest] = _mails("subscription_digest")
    assert "Sesión de la Comision Ejecutiva" in digest.text_body and "Calendario" not in digest.text_body


# --------------------------------------------------------------------------- unsubscribe and manage
def _active_with_digest(app, client):
    _follow(client)
    _confirm(client)
    _page(app)
    subscriptions.run_digest()
    return _mails("subscription_digest")[-1]


def test_one_click_unsubscribe_post_without_login_or_csrf(app, client):
    digest = _active_with_digest(app, client)
    url = digest.headers["List-Unsubscribe"].strip("<>")
    path = url.split("://", 1)[1].split("/", 1)[1]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/" + path, data={"List-Unsubscribe": "One-Click"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 200
    assert _subs()[0].status == "stopped"
    _page(app, slug="despues", title="Después de la baja")
    assert subscriptions.run_digest() == (0, 0)


def test_unsubscribe_get_asks_then_post_stops(app, client):
    digest = _active_with_digest(app, client)
    path = _link(digest, "/baja")
    page = client.get(path)
    assert page.status_code == 200 and 'method="post"' in page.get_data(as_text=True)
    assert _subs()[0].status == "active"               # GET changes nothing
    assert page.headers["Cache-Control"] == "no-store"
    assert client.post(path).status_code == 200
    assert _subs()[0].status == "stopped"


def test_manage_page_changes_frequency(app, client):
    digest = _active_with_digest(app, client)
    path = _link(digest, "/suscripciones/")
    path = path.split("/baja")[0] if path.endswith("/baja") else path
    assert client.get(path).status_code == 200
    assert client.post(path, data={"frequency": "weekly"}).status_code == 303
    assert _subs()[0].frequency == "weekly"
    assert client.post(path, data={"frequency": "hourly"}).status_code == 400
    assert _subs()[0].frequency == "weekly"
    assert client.get("/edomex/suscripciones/forged-token").status_code == 404


# --------------------------------------------------------------------------- isolation
def test_a_subscription_never_receives_another_tenants_publications(app, client):
    _follow(client, tenant="edomex", email="edomex@example.org")
    _confirm(client, "edomex@example.org")
    _page(app, tenant="puebla", slug="de-puebla", title="Informe de Puebla")
    assert db.session.scalar(all_tenants(select(func.count()).select_from(SubscriptionItem))) == 0
    assert subscriptions.run_digest(_later(30)) == (0, 0)
    _page(app, tenant="edomex", slug="de-edomex", title="Informe del Estado de México")
    subscriptions.run_digest()
    [digest] = _mails("subscription_digest")
    assert "Informe del Estado de México" in digest.text_body and "Puebla" not in digest.text_body


def test_management_link_of_one_tenant_does_not_work_in_another(app, client):
    digest = _active_with_digest(app, client)
    path = _link(digest, "/baja")
    assert client.get(path.replace("/edomex/", "/puebla/")).status_code == 404
    assert client.post(path.replace("/edomex/", "/puebla/")).status_code == 404
    assert _subs()[0].status == "active"


def test_following_a_record_of_another_tenant_is_refused(app, client):
    page_id = _page(app, tenant="puebla")
    response = _follow(client, tenant="edomex", content_type="page", record_id=str(page_id))
    assert response.status_code == 400
    assert _subs() == [] and _mails() == []


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fields, message", [
    ({"email": "no-es-correo"}, "is not a valid e-mail address"),
    ({"email": ""}, "This field is required."),
    ({"consent": False}, "To send the form, accept the privacy notice."),
    ({"frequency": "hourly"}, "How often"),
    ({"content_type": "page", "record_id": "999999"}, "does not exist or is not published"),
    ({"content_type": "nada", "record_id": "1"}, "does not exist or is not published"),
])
def test_bad_input_names_the_problem_and_stores_nothing(app, client, english, fields, message):
    response = _follow(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _subs() == [] and _mails() == []


def test_draft_record_cannot_be_followed(app, client):
    with tenant_context(get_tenant(app, "edomex")):
        page = Page(slug="borrador", title="Borrador", body="x")
        db.session.add(page)
        db.session.commit()
        page_id = page.id
    assert _follow(client, content_type="page", record_id=str(page_id)).status_code == 400
    assert client.get(f"/edomex/seguir?tipo=page&id={page_id}").status_code == 404
    assert _subs() == []


def test_subscribing_twice_while_active_sends_nothing_more(app, client):
    _follow(client)
    _confirm(client)
    assert _follow(client).status_code == 200
    assert len(_subs()) == 1 and len(_mails("subscription_confirm")) == 1


# --------------------------------------------------------------------------- pages
def test_follow_form_under_a_published_page_and_feed_link_in_head(app, client):
    _page(app)
    html = client.get("/edomex/p/informe").get_data(as_text=True)
    assert 'action="/edomex/seguir"' in html and 'name="follow-record_id"' in html
    assert '<link rel="alternate" type="application/atom+xml" href="/edomex/feed.atom"' in html
    portal = client.get("/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml" href="/feed.atom"' in portal
    assert 'href="/edomex/seguir"' in html                 # the footer: follow the whole site
    assert client.get("/edomex/seguir").status_code == 200
    assert client.get("/edomex/seguir?q=comisi%C3%B3n").status_code == 200


def test_search_results_offer_to_follow_the_search(app, client):
    _page(app, title="Sesión de la Comisión Ejecutiva")
    html = client.get("/edomex/buscar?q=comisi%C3%B3n").get_data(as_text=True)
    assert 'action="/edomex/seguir"' in html and 'name="follow-q" type="hidden" value="comisión"' in html
    assert 'action="/edomex/seguir"' not in client.get("/buscar?q=comisi%C3%B3n").get_data(as_text=True)


def test_follow_form_under_a_published_commitment(app, client):
    commitment_id = _commitment(app)
    with app.test_request_context():
        path = url_for("action_plans.commitment", tenant="edomex", commitment_id=commitment_id)
    html = client.get(path).get_data(as_text=True)
    assert 'name="follow-content_type" type="hidden" value="commitment"' in html
    assert f'name="follow-record_id" type="hidden" value="{commitment_id}"' in html


def test_mail_worker_sends_due_digests_and_cli_digest(app, client, runner):
    _follow(client)
    _confirm(client)
    _page(app)
    app.config["SUBSCRIPTION_DIGEST_INTERVAL"] = 0
    loops = iter([False, True])
    mail.run_worker(interval=0.01, stop=lambda: next(loops), tick=subscriptions.digest_tick)
    [digest] = _mails("subscription_digest")
    assert digest.status == "sent"                       # queued by the tick, delivered in the same loop
    _page(app, slug="otra", title="Otra página")
    result = runner.invoke(args=["subscriptions", "digest"])
    assert result.exit_code == 0 and "1 digest(s) queued with 1 publication(s)." in result.output
    result = runner.invoke(args=["subscriptions", "status"])
    assert "active: 1" in result.output and "pending: 0" in result.output


def test_follow_form_from_a_page_cached_for_hours_is_still_accepted(app, client, english):
    """The "Seguir" form lives in cached pages (up to PAGE_CACHE_TIMEOUT): its token is accepted for
    that long plus 2 hours, while other public forms keep the 2-hour limit."""
    page_id = _page(app)
    hours = 3600
    assert _follow(client, content_type="page", record_id=str(page_id), age=5 * hours).status_code == 200
    assert len(_subs()) == 1
    stale = _follow(client, email="otra@example.org", content_type="page", record_id=str(page_id),
                    age=app.config["PAGE_CACHE_TIMEOUT"] + 3 * hours)
    assert "The form expired" in stale.get_data(as_text=True) and len(_subs()) == 1
# --------------------------------------------------------------------------- privacy consent
def test_follow_stores_the_privacy_notice_version_consented_to(app, client):
    """The "Seguir" form asks consent as every public form does (ConsentMixin): the simplified
    notice is shown with a link to the integral one, and the version shown is stored with the
    subscription. The form still carries no CSRF token (record pages stay cacheable)."""
    from comun_cms import privacy
    tenant = get_tenant(app, "edomex")
    with tenant_context(tenant):
        privacy.ensure_notices(tenant)
        db.session.commit()
        shown = privacy.current_notice("simplified")[1]
    page_id = _page(app)
    html = client.get(f"/edomex/seguir?tipo=page&id={page_id}").get_data(as_text=True)
    assert 'name="follow-privacy_consent"' in html and 'name="follow-privacy_notice"' in html
    assert f'value="{shown.id}"' in html and "/aviso-de-privacidad" in html and "csrf_token" not in html
    response = _follow(client, content_type="page", record_id=str(page_id))
    assert response.status_code == 200
    [sub] = _subs()
    assert sub.consent_notice_id == shown.id and sub.consent_at is not None


def test_follow_form_token_names_the_hour_so_cached_bodies_do_not_change(app, client, english):
    """The token in the "Seguir" form records the hour the page was made (two renders in one hour
    are byte-identical, so a page's ETag survives a new generation), and a token just made is not
    refused as "sent too quickly": a cached page's form may be sent at once."""
    from comun_cms.views.subscriptions import new_follow_form
    page_id = _page(app)
    with app.test_request_context("/edomex/"):
        from flask import g
        g.tenant = get_tenant(app, "edomex")
        tokens = {new_follow_form("page", str(page_id)).issued.data for _ in range(2)}
    assert len(tokens) == 1
    assert _follow(client, content_type="page", record_id=str(page_id), age=0).status_code == 200
    assert len(_subs()) == 1
