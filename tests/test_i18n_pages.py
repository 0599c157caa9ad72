"""Issue 15, defect 6: the Spanish interface shows no English and no raw codes.

Every page type (portal, a state's site, each plugin's index and record pages, the main admin
pages, with demo data) is rendered in es-MX while every ``gettext``/``ngettext`` call is
watched: a msgid without a Spanish translation in the merged catalogs fails the test (the
catalog tests in ``test_i18n.py`` check the files; this one catches strings translated at run
time from codes or data, e.g. ``_(status)``). The visible text of each page is also scanned for
the raw codes and English words the issue found.
"""
from __future__ import annotations

import html as htmllib
import re

import flask_babel
import pytest
from flask_babel import get_locale

from comun_cms.audit import record_audit
from comun_cms.toolkit import Page, correct, db, publish, tenant_context
from comun_cms.toolkit.testing import run_demo

#: Raw codes and English fragments that must not show in the Spanish interface.
RAW = [
    r"\bpending\b", r"\brejected\b", r"\bcorrected\b", r"\bunknown\b", r"\bin_progress\b", r"\bnot_started\b",
    r"\(demo data\)", r"\((publish|correct|retract)\)", r"does not verify", r"root does not match",
    r"unverified fraction", r"\b(page|user|membership|invitation|feedback|attachment)\.[a-z_]+\b",
    r"\b[a-z]+_[a-z_]+\.(?!(json|csv|zip|ics|xml|pdf)\b)[a-z_]+\b", r"\b(stl|criteria)\.(?!(json|csv|zip)\b)[a-z_.]+", r"\b1 puntos\b", r"\b1 criterios\b",
    r"Unknown field", r"\bnot_met\b", r"\bnot_applicable\b",
]
RAW_RE = re.compile("|".join(RAW))
#: A code followed by its meaning, as the open-data dictionaries document the values of a CSV
#: column ("not_started (por iniciar)", "pending = pendiente"), is not a raw code.
DOCUMENTED = re.compile(r"\s+\([^)]*\)|\s*=\s*\w")

PUBLIC = [
    "/", "/acerca", "/buscar?q=sesi%C3%B3n", "/criterios/", "/datos/", "/verificar",
    "/edomex/", "/edomex/buscar?q=sesi%C3%B3n", "/edomex/actas/", "/edomex/actas/acuerdos", "/edomex/actas/calendario",
    "/edomex/actas/organos", "/edomex/planes-de-accion/", "/edomex/planes-de-accion/agenda", "/edomex/criterios/",
    "/edomex/criterios/recomendaciones", "/edomex/notary/verificar", "/edomex/seccion/links",
    "/edomex/seccion/open_data", "/edomex/seccion/contact", "/edomex/seccion/feedback",
]
#: (index page, pattern of a record link on it)
RECORDS = [
    ("/edomex/actas/", r"/edomex/actas/sesiones/\d+"), ("/edomex/actas/acuerdos", r"/edomex/actas/acuerdos/\d+"),
    ("/edomex/planes-de-accion/", r"/edomex/planes-de-accion/\d+"),
    ("/edomex/planes-de-accion/", r"/edomex/planes-de-accion/compromisos/\d+"),
    ("/edomex/criterios/", r"/edomex/criterios/ciclos/\d+"), ("/edomex/criterios/", r"/edomex/criterios/marcos/\d+"),
    ("/edomex/criterios/recomendaciones", r"/edomex/criterios/recomendaciones/\d+"),
    ("/edomex/seccion/links", r"/edomex/p/[\w-]+"),
]
ADMIN = [
    "/edomex/admin/", "/edomex/admin/paginas", "/edomex/admin/paginas/nueva", "/edomex/admin/actas/",
    "/edomex/admin/actas/acuerdos", "/edomex/admin/planes-de-accion/", "/edomex/admin/criterios/",
    "/edomex/admin/archivos", "/edomex/admin/auditoria", "/edomex/admin/configuracion", "/edomex/admin/usuarios",
]
ADMIN_RECORDS = [
    ("/edomex/admin/actas/", r"/edomex/admin/actas/sesiones/\d+"),
    ("/edomex/admin/planes-de-accion/", r"/edomex/admin/planes-de-accion/\d+"),
    ("/edomex/admin/criterios/", r"/edomex/admin/criterios/ciclos/\d+"),
]


#: Audit actions of the core and the built-in plugins, shown on the dashboard and the audit log.
AUDIT_ACTIONS = [
    "page.create", "page.publish", "page.correct", "page.retract", "attachment.upload", "user.create",
    "membership.role", "membership.remove", "invitation.create", "invitation.accept", "feedback.moderate",
    "action_plan.import", "action_plan.publish", "commitment.weights", "commitment.import", "milestone.create",
    "progress_report.create", "stl_session.approve", "stl_session.review", "stl_session.draft",
    "stl_session.addendum", "stl_agenda.standard", "stl_agenda.move", "stl_attendance.members",
    "stl_member.create", "stl_evidence.delete", "stl_agreement.follow_up", "stl_call.document",
    "criteria.cycle.stage", "criteria.assessment.save", "criteria.declaration.save", "criteria.reply.save",
    "criteria.recommendation.answer", "criteria.recommendation.followup", "criteria.recommendation.issue",
    "criteria.framework.import",
]


class Watch:
    """Records the msgids looked up in a Spanish locale that the catalogs do not have."""

    def __init__(self):
        self.missing: dict[str, str] = {}
        self.where = ""

    def wrap(self, translations):
        watch = self

        class Watched:
            def __getattr__(self, name):
                return getattr(translations, name)

            def ugettext(self, message):
                watch.check(translations, message)
                return translations.ugettext(message)

            gettext = ugettext

            def ungettext(self, singular, plural, n):
                watch.check(translations, (singular, 0))
                return translations.ungettext(singular, plural, n)

            ngettext = ungettext

        return Watched()

    def check(self, translations, key) -> None:
        if not str(get_locale() or "").startswith("es"):
            return
        msgid = key[0] if isinstance(key, tuple) else key
        catalog = getattr(translations, "_catalog", {})
        if msgid and not catalog.get(key):
            self.missing.setdefault(msgid, self.where)


@pytest.fixture
def watch(monkeypatch):
    w = Watch()
    original = flask_babel.Domain.get_translations
    monkeypatch.setattr(flask_babel.Domain, "get_translations", lambda self: w.wrap(original(self)))
    return w


def _visible(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    attrs = " ".join(re.findall(r'(?:title|aria-label|placeholder|alt)="([^"]*)"', html))
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", html) + " " + attrs)


def _links(client, pairs) -> list[str]:
    out = []
    for index, pattern in pairs:
        found = re.search(rf'href="({pattern})"', client.get(index).get_data(as_text=True))
        assert found, f"no link {pattern} on {index}"
        out.append(found.group(1))
    return out


def _scan(client, watch, urls) -> list[str]:
    problems = []
    for url in urls:
        watch.where = url
        r = client.get(url)
        assert r.status_code == 200, f"{url}: {r.status_code}"
        text = _visible(r.get_data(as_text=True))
        for m in RAW_RE.finditer(text):
            if m.group(0)[0].isalpha() and DOCUMENTED.match(text, m.end()):
                continue
            problems.append(f"{url}: raw code or English {m.group(0)!r}")
    return problems


def test_every_page_in_spanish_has_no_english_or_raw_codes(app, spanish, client, login_as, watch):
    run_demo(app, tenants=[app.extensions["comun"].tenants[s] for s in ("edomex", "puebla")], log=lambda m: None)
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        for i, action in enumerate(AUDIT_ACTIONS):
            record_audit(action, action.rpartition(".")[0], i + 1, None, None)
        db.session.commit()
    problems = _scan(client, watch, PUBLIC + _links(client, RECORDS))
    login_as("admin")
    problems += _scan(client, watch, ADMIN + _links(client, ADMIN_RECORDS))
    problems += [f"{where}: no Spanish translation for {msgid!r}" for msgid, where in watch.missing.items()]
    assert not problems, "\n".join(problems)


def test_history_verify_results_and_receipts_in_spanish(app, spanish, client, watch):
    """The diff of two versions names fields in Spanish; the verify page's results name the
    record type and action; a tampered receipt is explained in Spanish."""
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        page = Page(slug="acta", title="Acta", body="Texto original.", summary="Resumen")
        db.session.add(page)
        publish(page)
        page.body = "Texto corregido."
        pub = correct(page, reason="Errata")
        page_id = pub.record_id
    problems = _scan(client, watch, [f"/edomex/historial/page/{page_id}?a=1&b=2",
                                     f"/edomex/notary/verificar?sha256={pub.sha256}"])
    history = client.get(f"/edomex/historial/page/{page_id}?a=1&b=2").get_data(as_text=True)
    assert 'data-field="body"' in history and ">Texto<" in history
    receipt = client.get("/edomex/notary/entries/1/receipt.tlog-proof").get_data(as_text=True)
    entry = client.get("/edomex/notary/entries/1/entry.json").get_data(as_text=True)
    watch.where = "tampered receipt"
    html = client.post("/edomex/notary/verificar", data={"receipt": receipt, "entry": entry.replace("correct", "retract")}
                       ).get_data(as_text=True)
    assert 'data-verdict="mismatch"' in html
    problems += [f"tampered receipt: {m.group(0)!r}" for m in RAW_RE.finditer(_visible(html))]
    problems += [f"{where}: no Spanish translation for {msgid!r}" for msgid, where in watch.missing.items()]
    assert not problems, "\n".join(problems)
