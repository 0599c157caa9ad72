"""Input at the edge (comun_cms.edge, issue 19 item 1): NUL and other control characters, lone
surrogates, invalid or overlong UTF-8 and very long values never reach the database.

* the cases of the issue: a NUL in a path gives 404, in a query 400, in a form a field error;
* a sweep over every public GET route of ``app.url_map`` (and every public form) with each bad
  value: no answer is a 5xx. The suite runs on PostgreSQL when ``COMUN_TEST_DATABASE_URL`` is
  set, where a NUL reaching a query is a ``DataError`` (500) without the edge check.
"""
from __future__ import annotations

import re
import time
from urllib.parse import quote, unquote_to_bytes

import pytest
from sqlalchemy import func, select
from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter, UnicodeConverter

from comun_cms import edge, publishing
from comun_cms.extensions import db
from comun_cms.models import Feedback, Page
from comun_cms.tenancy import tenant_context
from comun_cms.testing import PASSWORD, get_tenant
from comun_cms.views.public import make_form_token

#: raw (already percent-encoded) bad values: NUL, a lone surrogate (U+D800 encoded as UTF-8,
#: which RFC 3629 forbids), an overlong "/" and a 10,000-character value
NUL, SURROGATE, OVERLONG = "%00", "%ED%A0%80", "%C0%AF"
LONG = "a" * 10_000
BAD_TEXT = (NUL, SURROGATE, OVERLONG, "%07")
BAD_VALUES = BAD_TEXT + (LONG,)

#: query parameters the application reads (views, API schemas, page_arg)
QUERY_NAMES = ("q", "pagina", "page", "cursor", "limit", "type", "tenant", "published_after", "published_before",
               "estado", "status", "ciclo", "organo", "mes", "lang", "a", "b", "old", "new", "index", "size", "sep",
               "pendientes", "next", "sort", "tipo", "sha256")

#: fields no form declares, read directly by views
RAW_FORM_NAMES = ("sha256", "receipt", "entry", "direction", "rebalance", "present")

MESSAGE = "contains characters that are not allowed"


@pytest.fixture
def published(app):
    """A published page in hidalgo: realistic values for the routes' parameters."""
    with tenant_context(get_tenant(app, "hidalgo")):
        page = Page(slug="informe", title="Informe anual", body="Texto.", section="links")
        db.session.add(page)
        db.session.commit()
        publishing.publish(page)
        return page.id


# --------------------------------------------------------------------------- the rules
@pytest.mark.parametrize("value, multiline, expected", [
    ("Informe anual", False, None),
    ("línea uno\r\nlínea\tdos", True, None),
    ("línea uno\nlínea dos", False, edge.CONTROL),
    ("tab\tseparado", False, edge.CONTROL),
    ("a\x00b", True, edge.CONTROL),
    ("campana\x07", True, edge.CONTROL),
    ("escape\x1b[31m", True, edge.CONTROL),
    ("suelto\ud800", False, edge.ENCODING),
    ("ñandú ☃ 𝄞", False, None),
])
def test_text_problem(value, multiline, expected):
    assert edge.text_problem(value, multiline=multiline) == expected


@pytest.mark.parametrize("raw, expected", [
    (b"ok", None), ("ñandú".encode(), None), (b"\xc0\xaf", edge.ENCODING), (b"\xed\xa0\x80", edge.ENCODING),
    (b"\xff", edge.ENCODING), (b"a\x00", edge.CONTROL),
])
def test_raw_problem(raw, expected):
    assert edge.raw_problem(raw) == expected


# --------------------------------------------------------------------------- the cases
@pytest.mark.parametrize("url", ["/hidalgo/p/%00", "/hidalgo/historial/page/%00", "/api/v1/hidalgo/records/page/%00",
                                 "/hidalgo/p/%C0%AF", "/hidalgo/p/%ED%A0%80", "/hidalgo/p/a%07b", "/hidalgo%00/"])
def test_bad_text_in_a_path_is_404(client, published, url):
    response = client.get(url)
    assert response.status_code == 404
    if url.startswith("/api/"):
        assert response.get_json()["error"]["status"] == 404


@pytest.mark.parametrize("value", [NUL, SURROGATE, OVERLONG, "%1B"])
def test_bad_text_in_a_query_is_400_naming_the_parameter(client, value):
    page = client.get(f"/hidalgo/?q={value}")
    assert page.status_code == 400 and "“q”" in page.get_data(as_text=True)
    api = client.get(f"/api/v1/records?tenant={value}")
    assert api.status_code == 400
    assert api.get_json()["error"] == {"status": 400, "code": "invalid_parameter", "field": "tenant",
                                       "message": api.get_json()["error"]["message"]}
    assert "“tenant”" in api.get_json()["error"]["message"]


def test_query_values_that_are_valid_text_pass(client, published):
    assert client.get("/buscar?q=%C3%B1and%C3%BA+%E2%98%83").status_code == 200
    assert client.get("/buscar?q=%25C0%25AF").status_code == 200  # the text "%C0%AF", percent-encoded


def test_login_with_a_nul_in_the_email_gives_a_form_error(client, make_user):
    make_user("ana@edomex.test", role="editor")
    for email in ("ana%00@edomex.test", "ana%C0%AF@edomex.test"):
        response = client.post("/auth/login", data=f"email={email}&password={PASSWORD}",
                               content_type="application/x-www-form-urlencoded")
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and "Location" not in response.headers
        assert f"The field “E-mail” {MESSAGE}" in html


def test_login_form_error_is_in_spanish(app, client):
    app.config["DEFAULT_LOCALE_OVERRIDE"] = None
    response = client.post("/auth/login", data="email=a%00@b.org&password=x",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "El campo “Correo electrónico” contiene caracteres no permitidos" in response.get_data(as_text=True)


def _feedback_count(app) -> int:
    with tenant_context(get_tenant(app, "edomex")):
        return db.session.scalar(select(func.count()).select_from(Feedback))


@pytest.mark.parametrize("field, value", [("subject", "Hola%00"), ("name", "Ana%ED%A0%80"), ("message", "Texto%C0%AF"),
                                          ("message", "uno%00dos")])
def test_feedback_form_names_the_refused_field_and_stores_nothing(app, client, field, value):
    data = {"kind": "question", "name": "Ana", "email": "", "subject": "Hola", "message": "Texto",
            "issued": make_form_token("feedback", "edomex", time.time() - 10)}
    body = "&".join(f"{k}={quote(v)}" for k, v in data.items() if k != field) + f"&{field}={value}"
    response = client.post("/edomex/seccion/feedback", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    labels = {"subject": "Subject", "name": "Name (optional)", "message": "Message"}
    assert f"The field “{labels[field]}” {MESSAGE}" in response.get_data(as_text=True)
    assert _feedback_count(app) == 0


def test_multi_line_fields_keep_tabs_and_line_breaks(app, client):
    response = client.post("/edomex/seccion/feedback", data={
        "kind": "question", "subject": "Hola", "message": "uno\r\n\tdos",
        "issued": make_form_token("feedback", "edomex", time.time() - 10)})
    assert response.status_code == 303 and _feedback_count(app) == 1


def test_admin_page_title_with_a_nul_is_a_field_error(app, client, login_as):
    login_as("editor")
    form = {"title": "Informe\x00anual", "slug": "", "summary": "Resumen.", "body": "Texto.", "section": "links",
            "language": "es", "source": ""}
    response = client.post("/edomex/admin/paginas/nueva", data=form)
    assert response.status_code == 422
    assert f"The field “Title” {MESSAGE}" in response.get_data(as_text=True)
    # multipart bodies (upload forms) go through the same check
    response = client.post("/edomex/admin/paginas/nueva", data=form, content_type="multipart/form-data")
    assert response.status_code == 422 and MESSAGE in response.get_data(as_text=True)
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalar(select(func.count()).select_from(Page)) == 0


def test_a_field_no_form_declares_is_refused_with_400(client):
    response = client.post("/auth/login", data="receipt=%00&email=a@b.org&password=x",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "“receipt”" in response.get_data(as_text=True)


def test_every_form_derives_from_the_core_form(app):
    """A form deriving from FlaskForm directly would skip the field check."""
    from flask_wtf import FlaskForm

    from comun_cms.forms import Form

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    loose = [f"{c.__module__}.{c.__qualname__}" for c in subclasses(FlaskForm)
             if not issubclass(c, Form) and c.__module__.startswith(("comun_cms", "plugins"))]
    assert loose == []


# --------------------------------------------------------------------------- the sweep
def _sample(rule, arg: str, page_id: int) -> str:
    converter = rule._converters.get(arg)
    if isinstance(converter, IntegerConverter):
        return {"version": "1"}.get(arg, str(page_id))
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0] if hasattr(converter, "items") else "csv"
    return {"tenant": "hidalgo", "slug": "informe", "content_type": "page", "key": "contact", "name": "pages",
            "section": "links"}.get(arg, "x")


def _public_rules(app, method: str):
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if method in rule.methods and blueprint != "admin" and not blueprint.startswith("admin_"):
            yield rule


def _build(rule, values: dict[str, str]) -> str:
    """The rule's path with ``values`` placed as they are (already percent-encoded)."""
    path = rule.rule
    for arg in rule.arguments:
        path = re.sub(r"<(?:[^<>:]+:)?" + re.escape(arg) + r"(?:\([^<>]*\))?>", lambda _m, a=arg: values[a], path)
    return path


def _text_args(rule) -> list[str]:
    return [arg for arg in rule.arguments
            if type(rule._converters.get(arg)) in (UnicodeConverter, PathConverter)]


def test_every_public_get_route_survives_bad_input(app, client, published):
    rules = list(_public_rules(app, "GET"))
    assert len(rules) >= 60
    failures, checked = [], 0
    for rule in rules:
        values = {arg: _sample(rule, arg, published) for arg in rule.arguments}
        url = _build(rule, values)
        for bad in BAD_VALUES:
            for arg in _text_args(rule):  # each text argument of the path
                bad_url = _build(rule, {**values, arg: bad})
                status = client.get(bad_url).status_code
                checked += 1
                if status >= 500 or (bad in BAD_TEXT and status != 404):
                    failures.append(f"GET {bad_url[:120]} -> {status}")
            query = "&".join(f"{name}={bad}" for name in QUERY_NAMES)  # every query parameter
            status = client.get(f"{url}?{query}").status_code
            checked += 1
            if status >= 500 or (bad in BAD_TEXT and status != 400):
                failures.append(f"GET {url}?…={bad[:20]} -> {status}")
    assert not failures, "\n".join(failures)
    assert checked > 500


def test_every_public_form_survives_bad_input(app, client, published):
    """Every POST route outside the administration, every field any form declares (and those
    read directly) filled with each bad value."""
    names = sorted((edge._FORM_FIELD_NAMES | set(RAW_FORM_NAMES)) - {"website", "csrf_token"})
    rules = list(_public_rules(app, "POST"))
    assert any(r.endpoint == "auth.login" for r in rules) and any(r.endpoint == "public.feedback_submit" for r in rules)
    failures = []
    for rule in rules:
        url = _build(rule, {arg: _sample(rule, arg, published) for arg in rule.arguments})
        for bad in BAD_VALUES:
            body = "&".join(f"{name}={bad}" for name in names)
            for kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
                if kind == "multipart/form-data":
                    response = client.post(url, data={n: _decoded(bad) for n in names}, content_type=kind)
                else:
                    response = client.post(url, data=body, content_type=kind)
                if response.status_code >= 500:
                    failures.append(f"POST {url} ({kind}, {bad[:20]}) -> {response.status_code}")
    assert not failures, "\n".join(failures)
    assert _feedback_count(app) == 0


def _decoded(raw: str) -> str:
    """What a multipart part carrying the bytes of ``raw`` decodes to (Werkzeug turns bytes it
    cannot decode into U+FFFD)."""
    return unquote_to_bytes(raw).decode("utf-8", "replace")
