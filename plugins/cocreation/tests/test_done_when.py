"""Issue 16's "Done when", end to end, as people use it (HTTP, CSRF on, Spanish as served): on the
demo data (``comun demo``, what ``make run`` loads), the Estado de México site shows a co-creation
process whose timeline links step 4 to the real installation minutes and step 11 to the INFOEM
plan; a citizen states a problem and supports another (the confirmation link comes from the
e-mail); the admin moderates the new problem and builds its tree; a table takes it up and its
results minute is locked; a proposal becomes a commitment whose public page shows its origin;
and the notary verifies the publication of every step.

Every form is read from the page the person sees (its hidden fields: CSRF token, privacy-notice
version, the time-trap token) and sent back with what the person types; the only liberty taken
is the time-trap token of the two public forms, replaced by one issued ten seconds earlier (a
person takes longer than three seconds to fill them in; the test does not)."""
from __future__ import annotations

import email
import re
from email import policy
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from comun_cms.toolkit import Publication, db, tenant_context
from comun_cms.toolkit.testing import get_tenant, public_form_token

from plugins.cocreation.models import Problem, Proposal, ResultsMinute

TENANT = "edomex"
CITIZEN = "vecina@example.org"
SUPPORTER = "apoyo@example.org"


# --------------------------------------------------------------------------- a browser, minimally
class _Forms(HTMLParser):
    """The ``<form>`` elements of a page: action and the values a browser sends untouched
    (hidden and text inputs, checked boxes, selected options, textareas), plus every option of
    each select and every checkbox value (to choose from, as a person does)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}, "names": set(), "options": {}})
            return
        if not self.forms:
            return
        form, name = self.forms[-1], a.get("name")
        if tag == "input" and name:
            form["names"].add(name)
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                form["options"].setdefault(name, []).append((a.get("value", "y"), ""))
                if "checked" in a:
                    form["fields"][name] = a.get("value", "y")
            elif kind not in ("submit", "button"):
                form["fields"][name] = a.get("value") or ""
        elif tag == "select" and name:
            form["names"].add(name)
            self._select = name
        elif tag == "option" and self._select:
            form["options"].setdefault(self._select, []).append((a.get("value", ""), ""))
            if "selected" in a or self._select not in form["fields"]:
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
        if self.forms and self._select and self.forms[-1]["options"].get(self._select):
            value, text = self.forms[-1]["options"][self._select][-1]
            self.forms[-1]["options"][self._select][-1] = (value, text + data)
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data


def form_on(html: str, action_has: str, *, having: dict | None = None, names=()) -> dict:
    """The first form whose action contains ``action_has``, whose fields include ``having``
    (e.g. the hidden id of one proposal) and which has the fields ``names``."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        if action_has in form["action"] and all(form["fields"].get(k) == str(v) for k, v in (having or {}).items()) \
                and set(names) <= form["names"]:
            return form
    raise AssertionError(f"no form posting to {action_has!r} with {having!r}")


def option(form: dict, name: str, text_has: str) -> str:
    """The value of the option of ``name`` whose visible text contains ``text_has``."""
    return next(value for value, text in form["options"][name] if text_has in text)


def submit(client, html: str, action_has: str, *, having: dict | None = None, **typed):
    """Fill the form posting to ``action_has`` as a person would (``typed`` fields must exist on
    it; a list value ticks several boxes) and send it."""
    form = form_on(html, action_has, having=having, names=typed)
    parts = urlsplit(form["action"].replace("&amp;", "&"))
    return client.post(parts.path + (f"?{parts.query}" if parts.query else ""), data={**form["fields"], **typed})


def follow(client, response, expect=(303, 302)):
    assert response.status_code in expect, response.get_data(as_text=True)[:3000]
    page = client.get(urlsplit(response.headers["Location"]).path)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def href(html: str, pattern: str) -> str:
    """The first link whose address matches ``pattern`` (a regular expression)."""
    found = re.search(rf'href="({pattern})"', html)
    assert found, f"no link matching {pattern!r}"
    return found.group(1)


def received_by(app, address: str) -> list[email.message.EmailMessage]:
    folder = Path(app.instance_path) / "mail"
    msgs = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))] \
        if folder.is_dir() else []
    return [m for m in msgs if m["To"] == address]


def link_in(msg, path_has: str) -> str:
    text = msg.get_body(("plain",)).get_content()
    return urlsplit(next(u for u in re.findall(r"https?://\S+", text) if path_has in u)).path


@pytest.fixture
def demo(app, runner):
    """``comun demo`` for Estado de México, the default file mail backend, CSRF on, Spanish."""
    app.config.update(MAIL_BACKEND="file", MAIL_DIR=None, DEFAULT_LOCALE_OVERRIDE=None, WTF_CSRF_ENABLED=True)
    result = runner.invoke(args=["demo", "--quiet", "--tenant", TENANT])
    assert result.exit_code == 0, result.output
    return app


def _steps(process_html: str) -> list[str]:
    timeline = process_html.split('class="cc-timeline"', 1)[1]
    steps = re.findall(r'<li class="cc-step.*?</li>', timeline, flags=re.S)
    assert len(steps) == 13
    return steps


def test_done_when_of_issue_16(demo, client, runner, login_as):
    app = demo
    # 1. the edomex site shows the co-creation process; its timeline links steps 4 and 11
    home = client.get(f"/{TENANT}/cocreacion/").get_data(as_text=True)
    process_url = href(home, rf"/{TENANT}/cocreacion/\d+")
    pid = int(process_url.rsplit("/", 1)[1])
    process_html = client.get(process_url).get_data(as_text=True)
    steps = _steps(process_html)
    minutes_url = href(steps[3], rf"/{TENANT}/actas/[^\"]+")
    plan_url = href(steps[10], rf"/{TENANT}/planes-de-accion/[^\"]+")
    assert "INFOEM" in steps[10]
    assert client.get(minutes_url).status_code == 200
    assert "INFOEM" in client.get(plan_url).get_data(as_text=True)

    # 2. a citizen states a problem (public form: CSRF, privacy consent, time trap)
    form_page = client.get(href(process_html, rf"/{TENANT}/cocreacion/{pid}/consulta")).get_data(as_text=True)
    assert "Aviso de privacidad" in form_page
    form = form_on(form_page, "/consulta")
    sent = submit(client, form_page, "/consulta", title="El transporte público no publica sus tarifas autorizadas",
                  description="Cada ruta cobra distinto y nadie sabe cuál es la tarifa oficial.",
                  theme=option(form, "theme", "Transparencia"), municipality="Ecatepec de Morelos", email=CITIZEN,
                  privacy_consent="y", issued=public_form_token("cocreation_problem", TENANT))
    assert sent.status_code == 200, sent.get_data(as_text=True)[:3000]
    assert "Problema recibido" in sent.get_data(as_text=True)
    with tenant_context(get_tenant(app, TENANT)):
        new = db.session.scalar(select(Problem).where(Problem.email == CITIZEN))
        assert new.moderation == "pending" and new.consent_notice_id is not None
        new_id, new_title = new.id, new.title

    # ... and supports another one: the confirmation link comes by e-mail
    listing = client.get(f"/{TENANT}/cocreacion/{pid}/problemas").get_data(as_text=True)
    other_url = href(listing, rf"/{TENANT}/cocreacion/problemas/\d+")
    other = client.get(other_url).get_data(as_text=True)
    asked = submit(client, other, "/cocreacion/problemas/", email=SUPPORTER, privacy_consent="y",
                   issued=public_form_token("cocreation_support", TENANT))
    assert asked.status_code == 200 and "Le enviamos un correo" in asked.get_data(as_text=True)
    assert runner.invoke(args=["mail", "worker", "--once"]).exit_code == 0
    (mail,) = received_by(app, SUPPORTER)
    confirm_url = link_in(mail, "/cocreacion/apoyos/confirmar/")
    confirm_page = client.get(confirm_url).get_data(as_text=True)       # opening the link counts nothing yet
    assert 'id="supports">0<' in client.get(other_url).get_data(as_text=True)
    assert submit(client, confirm_page, "/cocreacion/apoyos/confirmar/").status_code == 200
    assert 'id="supports">1<' in client.get(other_url).get_data(as_text=True)

    # 3. the admin moderates the new problem and builds its problem tree
    login_as("admin", tenant=TENANT)
    admin_process = client.get(f"/{TENANT}/admin/cocreacion/{pid}").get_data(as_text=True)
    moderation = client.get(href(admin_process, rf"/{TENANT}/admin/cocreacion/{pid}/problemas")).get_data(as_text=True)
    assert new_title in moderation
    published = follow(client, submit(client, moderation, f"/problemas/{new_id}/publicar"))
    assert "Problema publicado" in published or new_title in published
    trees_url = f"/{TENANT}/admin/cocreacion/problemas/{new_id}/arboles"
    assert f'href="{trees_url}"' in client.get(f"/{TENANT}/admin/cocreacion/{pid}/problemas?estado=published") \
        .get_data(as_text=True)
    trees_page = client.get(trees_url).get_data(as_text=True)
    follow(client, submit(client, trees_page, "/arboles?kind=problem",
                          **{"problem-core": "Tarifas del transporte sin publicar",
                             "problem-roots": "- No hay padrón público de rutas\n  - Concesiones sin datos abiertos\n"
                                              "- Las tarifas se autorizan sin difusión",
                             "problem-branches": "- Cobros arbitrarios\n  - Gasto mayor de las familias"}))
    public_problem = client.get(f"/{TENANT}/cocreacion/problemas/{new_id}").get_data(as_text=True)
    assert "cc-tree--problem" in public_problem and "Concesiones sin datos abiertos" in public_problem

    # 4. a table takes the problem up; its results minute is approved and locked
    tables_url = href(admin_process, rf"/{TENANT}/admin/cocreacion/{pid}/mesas")
    tables_page = client.get(tables_url).get_data(as_text=True)
    form = form_on(tables_page, "/mesas")
    table_html = follow(client, submit(client, tables_page, f"/{pid}/mesas", title="Mesa de movilidad abierta",
                                       theme=option(form, "theme", "Transparencia"), place="Toluca",
                                       problems=[str(new_id)]))
    table_id = int(re.search(rf"/{TENANT}/admin/cocreacion/mesas/(\d+)/publicar", table_html).group(1))
    table_html = follow(client, submit(client, table_html, f"/mesas/{table_id}/sesiones", day="2026-11-20",
                                       starts="10:00", ends="12:00", place="Toluca"))
    follow(client, submit(client, table_html, f"/mesas/{table_id}/publicar"))
    minute_url = f"/{TENANT}/admin/cocreacion/mesas/{table_id}/minuta"
    minute_html = client.get(minute_url).get_data(as_text=True)
    minute_html = follow(client, submit(client, minute_html, f"/mesas/{table_id}/minuta", held_on="2026-11-20",
                                        summary="La mesa acordó una propuesta."))
    form = form_on(minute_html, "/minuta/propuestas")
    minute_html = follow(client, submit(
        client, minute_html, "/minuta/propuestas", title="Publicar en datos abiertos las tarifas autorizadas por ruta",
        description="Con su fecha de autorización y el acuerdo que la sustenta.",
        problem_id=option(form, "problem_id", new_title[:20]), responsible_institution="Secretaría de Movilidad"))
    minute_html = follow(client, submit(client, minute_html, "/minuta/aprobar"))
    minute_html = follow(client, submit(client, minute_html, "/minuta/publicar"))
    public_minute = client.get(f"/{TENANT}/cocreacion/mesas/{table_id}/minuta")
    assert public_minute.status_code == 200 and "tarifas autorizadas" in public_minute.get_data(as_text=True)
    # locked: the proposal cannot change any more
    assert "/admin/cocreacion/propuestas/" not in minute_html          # no edit link once locked
    admin_proposals = client.get(href(admin_process, rf"/{TENANT}/admin/cocreacion/{pid}/propuestas")) \
        .get_data(as_text=True)
    with tenant_context(get_tenant(app, TENANT)):
        proposal_id = db.session.scalar(select(Proposal.id).join(ResultsMinute).where(ResultsMinute.table_id == table_id))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', minute_html)
    refused = client.post(f"/{TENANT}/admin/cocreacion/propuestas/{proposal_id}",
                          data={"csrf_token": token.group(1) or token.group(2), "title": "Otra cosa",
                                "problem_id": str(new_id), "responsible_institution": "Otra"})
    assert refused.status_code == 422
    assert "Otra cosa" not in client.get(f"/{TENANT}/cocreacion/mesas/{table_id}/minuta").get_data(as_text=True)

    # 5. the proposal becomes a commitment of the INFOEM plan; published, its page shows its origin
    form = form_on(admin_proposals, "/propuestas", having={"proposal": proposal_id})
    converted = submit(client, admin_proposals, "/propuestas", having={"proposal": proposal_id},
                       plan=option(form, "plan", "INFOEM"))
    commitment_admin = follow(client, converted)
    commitment_id = int(re.search(r"/compromisos/(\d+)/publicar", commitment_admin).group(1))
    follow(client, submit(client, commitment_admin, f"/compromisos/{commitment_id}/publicar"))
    client.post("/auth/logout")
    commitment_page = client.get(f"/{TENANT}/planes-de-accion/compromisos/{commitment_id}").get_data(as_text=True)
    origin = commitment_page.split('class="cc-origin"', 1)[1].split("</section>", 1)[0]
    assert "Origen ciudadano" in commitment_page
    for link in (f"/{TENANT}/cocreacion/problemas/{new_id}", f"/{TENANT}/cocreacion/mesas/{table_id}",
                 f"/{TENANT}/cocreacion/mesas/{table_id}/minuta"):
        assert f'href="{link}' in origin, link
    assert "Tarifas del transporte sin publicar" in origin                               # the tree

    # 6. the notary verifies every step's publication: each version's SHA-256 is in the log, with
    #    a valid inclusion proof against the signed checkpoint; a receipt checks on the verify page
    with tenant_context(get_tenant(app, TENANT)):
        # steps 4 (STL minutes), 5-10 (the plugin's records) and 11 (the plan and its commitments)
        pubs = db.session.execute(select(Publication.content_type, Publication.record_id, Publication.sha256)
                                  .where(Publication.content_type.like("cocreation_%")
                                         | Publication.content_type.in_(("stl_session", "stl_body", "action_plan",
                                                                         "commitment")))).all()
    kinds = {ct for ct, _rid, _sha in pubs}
    assert {"cocreation_process", "cocreation_problem", "cocreation_tree", "cocreation_call", "cocreation_workshop",
            "cocreation_table", "cocreation_minute", "commitment", "action_plan", "stl_session"} <= kinds
    assert ("commitment", str(commitment_id)) in {(ct, rid) for ct, rid, _sha in pubs}
    for ct, rid, sha in pubs:
        found = client.get(f"/{TENANT}/notary/lookup/{sha}")
        assert found.status_code == 200, (ct, rid)
        assert any(m["server_check"]["ok"] for m in found.get_json()["matches"]), (ct, rid)
    index = next(m["index"] for ct, rid, sha in pubs if (ct, rid) == ("commitment", str(commitment_id))
                 for m in client.get(f"/{TENANT}/notary/lookup/{sha}").get_json()["matches"])
    receipt = client.get(f"/{TENANT}/notary/entries/{index}/receipt.tlog-proof").get_data(as_text=True)
    entry = client.get(f"/{TENANT}/notary/entries/{index}/entry.json").get_data(as_text=True)
    verify_page = client.get(f"/{TENANT}/notary/verificar").get_data(as_text=True)
    verdict = submit(client, verify_page, "/notary/verificar", receipt=receipt, entry=entry)
    assert 'data-verdict="match"' in verdict.get_data(as_text=True)
    audit = runner.invoke(args=["notary", "audit", "--tenant", TENANT])
    assert audit.exit_code == 0 and "OK" in audit.output, audit.output
