"""Issue 14's "Done when", end to end, as people use it: on an app with the demo data loaded, a
citizen submits a complaint through the Estado de México site's public form, gets the folio and the
acknowledgement (an ``.eml`` under ``instance/mail/`` once ``comun mail worker`` has run, the
default ``file`` backend), the secretariat answers in the admin, the citizen's tracking page shows
the answer and the answer is mailed; a subscriber to the INFOEM commitment (double opt-in, the
link of the confirmation e-mail) gets a digest when the commitment's progress is published in the
admin.

Every form is read from the page the person sees (its hidden fields: the time-trap token, the
privacy-notice version, the CSRF token when there is one) and sent back with what the person
types; every link is taken from the e-mail the person receives."""
from __future__ import annotations

import email
import re
from email import policy
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.models import Feedback
from comun_cms.tenancy import tenant_context
from plugins.action_plans.models import ActionPlan, Commitment


class _Forms(HTMLParser):
    """The ``<form>`` elements of a page: action, method and the values a browser would send
    untouched (hidden and text inputs, checked boxes and radios, selected options, textareas)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": (a.get("method") or "get").lower(),
                               "fields": {}, "names": set()})
            return
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name:
            form["names"].add(name)
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    form["fields"][name] = a.get("value", "y")
            elif kind not in ("submit", "button"):
                form["fields"][name] = a.get("value") or ""
        elif tag == "select" and name:
            form["names"].add(name)
            self._select = name
        elif tag == "option" and self._select and ("selected" in a or self._select not in form["fields"]):
            form["fields"][self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            form["names"].add(name)
            self._textarea = name
            form["fields"][name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data


def form_on(page_html: str, action_has: str, page_url: str = "") -> dict:
    """The first form of the page whose action contains ``action_has`` (a form with no action
    posts to the page itself, ``page_url``)."""
    parser = _Forms()
    parser.feed(page_html)
    for f in parser.forms:
        f["action"] = f["action"] or page_url
    found = [f for f in parser.forms if action_has in f["action"]]
    assert found, f"no form posting to {action_has!r}"
    return found[0]


def submit(client, page_html: str, action_has: str, page_url: str = "", **typed):
    """Fill the form posting to ``action_has`` as a person would (``typed`` fields must exist
    on the form) and send it."""
    form = form_on(page_html, action_has, page_url)
    unknown = set(typed) - form["names"]
    assert not unknown, f"the form has no field {unknown}"
    return client.post(urlsplit(form["action"]).path + (f"?{urlsplit(form['action']).query}" if "?" in form["action"] else ""),
                       data={**form["fields"], **typed})


def mailbox(app) -> list[tuple[Path, email.message.EmailMessage]]:
    """The ``.eml`` files of the default ``file`` backend (``<instance>/mail``), oldest first."""
    folder = Path(app.instance_path) / "mail"
    return [(p, email.message_from_bytes(p.read_bytes(), policy=policy.default))
            for p in sorted(folder.glob("*.eml"))] if folder.is_dir() else []


def received_by(app, address: str) -> list[email.message.EmailMessage]:
    return [m for _p, m in mailbox(app) if m["To"] == address]


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def link_in(msg, path_has: str) -> str:
    """The path (and query) of the first link of the message's text containing ``path_has``."""
    url = next(u for u in re.findall(r"https?://\S+", text_of(msg)) if path_has in u)
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def demo(app, runner, monkeypatch):
    """The demo data of the Estado de México (``comun demo``), the default mail backend, and the
    forms' 3-second time trap off (a person takes longer than the test does)."""
    from comun_cms.views import public

    monkeypatch.setattr(public, "FORM_MIN_AGE", 0)
    app.config.update(MAIL_BACKEND="file", MAIL_DIR=None, DEFAULT_LOCALE_OVERRIDE=None,  # Spanish, as served
                      WTF_CSRF_ENABLED=True)
    result = runner.invoke(args=["demo", "--quiet", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
    return app


def worker_once(runner) -> str:
    result = runner.invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def test_complaint_answer_and_commitment_digest_end_to_end(demo, client, runner, login_as):
    app = demo
    citizen = "ciudadana@example.org"

    # 1. the complaint, through the public form of the edomex site
    page = client.get("/edomex/seccion/feedback")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Aviso de privacidad simplificado" in html or "aviso-de-privacidad" in html
    response = submit(client, html, "/seccion/feedback", kind="complaint", name="Rosa Martínez", email=citizen,
                      subject="Minutas de 2026", message="No encuentro las minutas de las sesiones de 2026.",
                      privacy_consent="y")
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    tracking = client.get(response.headers["Location"]).get_data(as_text=True)
    folio = re.search(r"EDOMEX-\d{4}-QJ-\d{6}", tracking).group(0)
    assert "Recibida" in tracking and "Minutas de 2026" in tracking

    # the acknowledgement: nothing is delivered before the worker runs, then one .eml file
    assert received_by(app, citizen) == []
    assert worker_once(runner).startswith("1 sent")
    (ack,) = received_by(app, citizen)
    assert folio in ack["Subject"] and folio in text_of(ack)
    track_path = link_in(ack, "/edomex/seguimiento/")
    assert "Recibida" in client.get(track_path).get_data(as_text=True)

    # 2. the secretariat answers in the admin
    login_as("admin")
    moderation = client.get("/edomex/admin/moderacion").get_data(as_text=True)
    assert folio in moderation
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        item_id = db.session.scalar(select(Feedback.id).where(Feedback.folio == folio))
    answer = "Las minutas de 2026 están en la sección Actas desde el 5 de diciembre."
    saved = submit(client, moderation, f"/moderacion/{item_id}", **{f"f{item_id}-status": "answered",
                                                                     f"f{item_id}-answer": answer})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    client.post("/auth/logout")

    # the citizen's tracking page (from the e-mail's link, no account) shows the answer
    tracking = client.get(track_path).get_data(as_text=True)
    assert answer in tracking and "Respondida" in tracking
    assert worker_once(runner).startswith("1 sent")
    answered = received_by(app, citizen)[-1]
    assert folio in answered["Subject"] and answer in text_of(answered)

    # 3. a subscriber follows the INFOEM commitment from its public page
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        commitment = db.session.scalars(select(Commitment).join(ActionPlan)
                                        .where(ActionPlan.title.contains("INFOEM"))).first()
        cid, title = commitment.id, commitment.title
    follower = "observatorio@example.org"
    record = client.get(f"/edomex/planes-de-accion/compromisos/{cid}").get_data(as_text=True)
    followed = submit(client, record, "/seguir", **{"follow-email": follower, "follow-frequency": "immediate",
                                                    "follow-privacy_consent": "y"})
    assert followed.status_code == 200, followed.get_data(as_text=True).split("<main")[1][:1500]
    worker_once(runner)
    (confirm,) = received_by(app, follower)
    confirm_path = link_in(confirm, "/suscripciones/confirmar/")
    confirm_page = client.get(confirm_path).get_data(as_text=True)   # a GET (a mail scanner) confirms nothing
    assert submit(client, confirm_page, "/suscripciones/confirmar/").status_code == 303

    # 4. the commitment's progress is published in the admin: the subscriber gets a digest
    login_as("editor")
    report_url = f"/edomex/admin/planes-de-accion/compromisos/{cid}/reportes/nuevo"
    report = client.get(report_url)
    assert report.status_code == 200
    published = submit(client, report.get_data(as_text=True), report_url, report_url, period_start="2026-10-01",
                       period_end="2026-12-31", narrative="Se publicó el estudio de apertura municipal.",
                       reported_by="Enlace INFOEM", reason="Reporte trimestral")
    assert published.status_code == 303, published.get_data(as_text=True)[:3000]
    client.post("/auth/logout")
    assert worker_once(runner).startswith("1 sent")      # the digest is queued and delivered in one run
    digest = received_by(app, follower)[-1]
    assert title[:40] in text_of(digest) and f"/edomex/planes-de-accion/compromisos/{cid}" in text_of(digest)
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # RFC 8058: the one-click unsubscribe works without a login or a token of the session
    unsubscribe = urlsplit(digest["List-Unsubscribe"].strip().strip("<>")).path
    assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code in (200, 303)
    assert worker_once(runner).startswith("0 sent")


def test_comun_run_on_another_port_makes_the_mail_links_follow(app, runner, monkeypatch):
    """Found trying the loop by hand: ``comun run --port 5731`` served the site, but every link in
    the e-mails pointed at port 5000 (the default ``SITE_URL``)."""
    from comun_cms import commands

    seen = {}

    class Supervisor:
        def __init__(self, children, env):
            seen["env"] = env

        def run(self):
            return 0
    monkeypatch.setattr(commands, "Supervisor", Supervisor)
    assert runner.invoke(args=["run", "--port", "5731"]).exit_code == 0
    assert (seen["env"]["COMUN_SITE_URL"], seen["env"]["COMUN_SITE_HOST"]) == ("http://127.0.0.1:5731", "127.0.0.1:5731")
    seen.clear()
    app.config["SITE_URL"] = "https://sesaemm.example.gob.mx"   # a configured address is never replaced
    assert runner.invoke(args=["run", "--port", "5731"]).exit_code == 0
    assert "COMUN_SITE_URL" not in seen["env"] or seen["env"]["COMUN_SITE_URL"] != "http://127.0.0.1:5731"
