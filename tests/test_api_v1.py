"""Read API /api/v1 (comun_cms/views/api_v1.py): published records only, filters and their
errors, cursor pagination under concurrent publication, ETag/304, CORS, rate limit (JSON 429),
exports, training tenants, OpenAPI document and docs page."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil

import pytest

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import tenant_context

TENANTS = ("edomex", "hidalgo", "puebla")
TRICKY = 'Título «ñandú», con comas, "comillas"\ny saltos\r\nde línea'

TRAINING_TOML = """
slug = "taller"
state = "Estado de práctica"
secretariat = "Secretaría Ejecutiva de práctica"
short_name = "TALLER"
transparency_authority = "Órgano garante de práctica"
transparency_authority_short = "OGP"
training = true
"""


def make_page(app, slug, *, tenant="edomex", status="published", title=None, **fields) -> int:
    """Create a page in ``tenant``; publish (or publish then retract) it unless ``status`` is draft."""
    with tenant_context(app.extensions["comun"].tenants[tenant]):
        page = Page(slug=slug, title=title or slug, body=f"Body of {slug}", **fields)
        db.session.add(page)
        db.session.commit()
        if status in ("published", "retracted", "corrected"):
            publishing.publish(page)
        if status == "retracted":
            publishing.retract(page, reason="Error")
        if status == "corrected":
            page.title = (title or slug) + " (corregido)"
            publishing.correct(page, reason="Errata")
        return page.id


def error_of(response, status: int, field=None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "code", "message", "field"}
    assert body["error"]["status"] == status and body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field
    return body["error"]


# --------------------------------------------------------------------------- records
def test_lists_published_records_of_every_tenant_with_notarized_fields(app, client):
    ids = {t: make_page(app, f"pub-{t}", tenant=t, title=f"Publicada {t}") for t in TENANTS}
    response = client.get("/api/v1/records")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["next_cursor"] is None and body["next_url"] is None
    assert {(i["tenant"], i["record_id"]) for i in body["data"]} == {(t, str(ids[t])) for t in TENANTS}
    item = next(i for i in body["data"] if i["tenant"] == "hidalgo")
    assert set(item) == {"tenant", "content_type", "record_id", "version", "action", "reason", "title", "published_at",
                         "content_sha256", "url", "canonical_json_url", "is_demo", "content"}
    assert item["content_type"] == "page" and item["version"] == 1 and item["action"] == "publish"
    assert item["is_demo"] is False and item["content"]["title"] == "Publicada hidalgo"
    assert item["url"].endswith(f"/hidalgo/historial/page/{ids['hidalgo']}")
    assert item["published_at"].endswith("Z")
    # the content hash is the SHA-256 of the canonical JSON served by the history page
    canonical = client.get(item["canonical_json_url"])
    assert canonical.status_code == 200
    assert hashlib.sha256(canonical.data).hexdigest() == item["content_sha256"]
    assert json.loads(canonical.data)["content"] == item["content"]


def test_per_tenant_list_get_and_versions(app, client):
    rid = make_page(app, "corr", status="corrected", title="Original")
    make_page(app, "other", tenant="puebla")
    body = client.get("/api/v1/edomex/records").get_json()
    assert [(i["tenant"], i["record_id"], i["version"], i["action"]) for i in body["data"]] == \
        [("edomex", str(rid), 2, "correct")]
    one = client.get(f"/api/v1/edomex/records/page/{rid}")
    assert one.status_code == 200
    data = one.get_json()["data"]
    assert data["version"] == 2 and data["content"]["title"] == "Original (corregido)" and data["reason"] == "Errata"
    versions = client.get(f"/api/v1/edomex/records/page/{rid}/versions").get_json()["data"]
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["content"]["title"] == "Original"
    # the record does not exist in another tenant
    error_of(client.get(f"/api/v1/hidalgo/records/page/{rid}"), 404)
    error_of(client.get("/api/v1/edomex/records/nope/1"), 404)
    error_of(client.get("/api/v1/nowhere/records"), 404)


def test_retracted_records_leave_the_lists_and_answer_410(app, client):
    rid = make_page(app, "gone", status="retracted")
    assert client.get("/api/v1/records").get_json()["data"] == []
    assert client.get("/api/v1/records.csv").get_data(as_text=True).count("\r\n") == 1  # header only
    err = error_of(client.get(f"/api/v1/edomex/records/page/{rid}"), 410)
    assert err["code"] == "retracted"
    versions = client.get(f"/api/v1/edomex/records/page/{rid}/versions").get_json()["data"]
    assert [(v["action"], v["content"] is None) for v in versions] == [("publish", False), ("retract", True)]


def test_drafts_never_leak_through_any_endpoint(app, client):
    drafts = {t: make_page(app, f"borrador-{t}", tenant=t, status="draft", title=f"BORRADOR SECRETO {t}")
              for t in TENANTS}
    for t in TENANTS:
        make_page(app, f"pub-{t}", tenant=t, title=f"Publicada {t}")
    urls = ["/api/v1/records", "/api/v1/records?sort=published_at&limit=200", "/api/v1/records.csv",
            "/api/v1/records.json", "/api/v1/records?type=page"]
    for t in TENANTS:
        urls += [f"/api/v1/{t}/records", f"/api/v1/{t}/records.csv", f"/api/v1/{t}/records.json",
                 f"/api/v1/records?tenant={t}"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert "BORRADOR" not in text and "borrador-" not in text, url
        assert "Publicada" in text, url
    for t, rid in drafts.items():
        error_of(client.get(f"/api/v1/{t}/records/page/{rid}"), 404)
        error_of(client.get(f"/api/v1/{t}/records/page/{rid}/versions"), 404)


# --------------------------------------------------------------------------- filters
def test_filters_by_type_tenant_and_dates(app, client):
    make_page(app, "a", tenant="edomex")
    make_page(app, "b", tenant="puebla")
    items = client.get("/api/v1/records?tenant=puebla&type=page").get_json()["data"]
    assert [i["tenant"] for i in items] == ["puebla"]
    first = client.get("/api/v1/records?sort=published_at").get_json()["data"]
    t0, t1 = first[0]["published_at"], first[1]["published_at"]
    assert [i["tenant"] for i in first] == ["edomex", "puebla"]
    assert [i["tenant"] for i in client.get(f"/api/v1/records?published_after={t0}").get_json()["data"]] == ["puebla"]
    assert [i["tenant"] for i in client.get(f"/api/v1/records?published_before={t1}").get_json()["data"]] == ["edomex"]
    assert len(client.get(f"/api/v1/records?updated_since={t0}").get_json()["data"]) == 2
    assert client.get("/api/v1/records?published_after=2999-01-01").get_json()["data"] == []
    assert len(client.get("/api/v1/records?published_after=2000-01-01T00:00:00%2B06:00").get_json()["data"]) == 2


@pytest.mark.parametrize("query, status, field, code", [
    ("limit=0", 400, "limit", "invalid_parameter"),
    ("limit=201", 400, "limit", "invalid_parameter"),
    ("limit=abc", 400, "limit", "invalid_parameter"),
    ("published_after=yesterday", 400, "published_after", "invalid_parameter"),
    ("published_before=2026-13-45", 400, "published_before", "invalid_parameter"),
    ("updated_since=", 400, "updated_since", "invalid_parameter"),
    ("published_after=2026-02-01&published_before=2026-01-01", 400, "published_after", "invalid_parameter"),
    ("tenant=atlantis", 400, "tenant", "unknown_tenant"),
    ("type=spaceship", 400, "type", "unknown_type"),
    ("sort=title", 400, "sort", "invalid_parameter"),
    ("cursor=not-a-cursor", 400, "cursor", "invalid_cursor"),
])
def test_invalid_filters_answer_400_with_a_consistent_body(client, query, status, field, code):
    err = error_of(client.get(f"/api/v1/records?{query}"), status, field)
    assert err["code"] == code
    if field != "tenant":
        assert error_of(client.get(f"/api/v1/edomex/records?{query}"), status, field)["code"] == code


def test_window_error_is_in_the_requested_language(spanish, client):
    url = "/api/v1/records?published_after=2026-02-01&published_before=2026-01-01"
    english = client.get(url, headers={"Accept-Language": "en"})
    assert "must be earlier than" in error_of(english, 400, "published_after")["message"]
    answer = client.get(url, headers={"Accept-Language": "es-MX"})
    assert "published_after debe ser anterior a published_before" in error_of(answer, 400, "published_after")["message"]


def test_cursor_from_another_sort_is_rejected(app, client):
    for i in range(3):
        make_page(app, f"p{i}")
    cursor = client.get("/api/v1/records?limit=1").get_json()["next_cursor"]
    error_of(client.get(f"/api/v1/records?limit=1&sort=published_at&cursor={cursor}"), 400, "cursor")


# --------------------------------------------------------------------------- pagination
def _walk(client, url, between=None):
    seen, pages = [], 0
    while url:
        body = client.get(url).get_json()
        seen += [(i["tenant"], i["record_id"]) for i in body["data"]]
        url = body["next_url"]
        pages += 1
        if between and url:
            between(pages)
    return seen, pages


@pytest.mark.parametrize("sort", ["-published_at", "published_at"])
def test_pagination_never_skips_or_repeats_under_concurrent_publication(app, client, sort):
    original = {(t, str(make_page(app, f"r{i}-{t}", tenant=t))) for i in range(7) for t in TENANTS}  # 21
    added: set = set()

    def publish_more(page_number):
        for t in TENANTS:
            added.add((t, str(make_page(app, f"new{page_number}-{t}", tenant=t))))

    seen, pages = _walk(client, f"/api/v1/records?limit=5&sort={sort}", publish_more)
    assert len(seen) == len(set(seen)), "a record was repeated"
    assert original <= set(seen), "a record was skipped"
    if sort == "-published_at":  # newest first: records published meanwhile sort before page 1
        assert set(seen) == original and pages == 5
    else:  # oldest first: they come at the end
        assert set(seen) == original | added


def test_pagination_with_equal_timestamps_uses_the_id_tiebreak(app, client):
    import datetime as dt
    from sqlalchemy import update
    from comun_cms.models import Publication
    from comun_cms.tenancy import all_tenants
    for i in range(9):
        make_page(app, f"same{i}", tenant=TENANTS[i % 3])
    same = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    db.session.execute(all_tenants(update(Publication).values(published_at=same)))
    db.session.commit()
    for sort in ("-published_at", "published_at"):
        seen, _ = _walk(client, f"/api/v1/records?limit=2&sort={sort}")
        assert len(seen) == 9 == len(set(seen))


# --------------------------------------------------------------------------- HTTP behaviour
def test_etag_304_last_modified_and_cors(app, client):
    make_page(app, "etag")
    response = client.get("/api/v1/records")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    etag = response.headers["ETag"]
    assert etag and response.headers["Last-Modified"]
    again = client.get("/api/v1/records", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    make_page(app, "etag2")
    assert client.get("/api/v1/records", headers={"If-None-Match": etag}).status_code == 200
    for url in ("/api/v1/tenants", "/api/v1/types", "/api/v1/openapi.json", "/api/v1/records.csv",
                "/api/v1/nowhere/records", "/api/v1/records?limit=0"):
        assert client.get(url).headers["Access-Control-Allow-Origin"] == "*", url
    preflight = client.options("/api/v1/records", headers={"Origin": "https://example.org",
                                                            "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_only_get(client):
    response = client.post("/api/v1/records")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405


def test_tenants_and_types(client):
    tenants = client.get("/api/v1/tenants").get_json()["data"]
    assert [t["slug"] for t in tenants] == list(sorted(TENANTS))
    assert all("page" in t["types"] and t["records_url"].endswith(f"/api/v1/{t['slug']}/records") for t in tenants)
    types = {t["name"]: t for t in client.get("/api/v1/types").get_json()["data"]}
    assert types["page"]["plugin"] == "core" and types["page"]["tenants"] == sorted(TENANTS)


# --------------------------------------------------------------------------- exports
def test_csv_export_round_trips_tricky_values(app, client):
    rid = make_page(app, "tricky", title=TRICKY, summary="a,b;c\n\"d\"")
    response = client.get("/api/v1/records.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1
    row = rows[0]
    assert row["title"] == TRICKY and row["record_id"] == str(rid) and row["version"] == "1"
    content = json.loads(row["content"])
    assert content["title"] == TRICKY and content["summary"] == "a,b;c\n\"d\""
    sha = client.get(f"/api/v1/edomex/records/page/{rid}").get_json()["data"]["content_sha256"]
    assert row["content_sha256"] == sha
    data = client.get("/api/v1/edomex/records.json").get_json()
    assert data["records"][0]["content"]["title"] == TRICKY and data["records"][0]["content_sha256"] == sha


# --------------------------------------------------------------------------- OpenAPI and docs
def test_openapi_document_and_docs_page(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    paths = doc["paths"]
    for path in ("/api/v1/records", "/api/v1/{tenant}/records", "/api/v1/{tenant}/records/{content_type}/{record_id}",
                 "/api/v1/{tenant}/records/{content_type}/{record_id}/versions", "/api/v1/tenants", "/api/v1/types",
                 "/api/v1/records.csv", "/api/v1/{tenant}/records.json"):
        assert "get" in paths[path], path
    params = {p["name"]: p for p in paths["/api/v1/records"]["get"]["parameters"]}
    assert set(params) >= {"tenant", "type", "published_after", "published_before", "updated_since", "cursor",
                           "limit", "sort"}
    assert params["limit"]["schema"]["maximum"] == 200 and params["tenant"]["schema"]["enum"] == sorted(TENANTS)
    assert "tenant" not in {p["name"] for p in paths["/api/v1/{tenant}/records"]["get"]["parameters"] if p["in"] == "query"}
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "<script src=\"http" not in html and "cdn" not in html.lower()
    for path, item in paths.items():
        assert path in html
        for p in item["get"].get("parameters", []):
            assert f"<code>{p['name']}</code>" in html
    assert "published_after" in html and "RecordList" in html


# --------------------------------------------------------------------------- rate limit
class TestRateLimit:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "3 per minute"}

    def test_429_is_json_with_retry_after(self, client):
        for _ in range(3):
            assert client.get("/api/v1/types").status_code == 200
        response = client.get("/api/v1/records")
        err = error_of(response, 429)
        assert err["code"] == "rate_limited"
        assert int(response.headers["Retry-After"]) > 0
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        # another client address has its own budget
        assert client.get("/api/v1/types", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


# --------------------------------------------------------------------------- training tenants
class TestTrainingTenant:
    @pytest.fixture
    def app_config(self, app_config, tmp_path):
        from comun_cms.config import ROOT
        target = tmp_path / "states"
        shutil.copytree(ROOT / "states", target)
        (target / "taller").mkdir()
        (target / "taller" / "tenant.toml").write_text(TRAINING_TOML, encoding="utf-8")
        return {**app_config, "STATES_DIR": str(target)}

    def test_training_tenants_are_never_served(self, app, client):
        rid = make_page(app, "practica", tenant="taller", title="Práctica de taller")
        make_page(app, "real", tenant="edomex")
        for url in ("/api/v1/records", "/api/v1/records.csv", "/api/v1/records.json", "/api/v1/tenants"):
            text = client.get(url).get_data(as_text=True)
            assert "taller" not in text and "Práctica" not in text, url
        error_of(client.get("/api/v1/taller/records"), 404)
        error_of(client.get(f"/api/v1/taller/records/page/{rid}"), 404)
        error_of(client.get("/api/v1/records?tenant=taller"), 400, "tenant")
        assert "taller" not in [t for ct in client.get("/api/v1/types").get_json()["data"] for t in ct["tenants"]]


def test_limit_bounds_are_accepted(app, client):
    for i in range(3):
        make_page(app, f"l{i}")
    body = client.get("/api/v1/records?limit=1").get_json()
    assert len(body["data"]) == 1 and body["next_cursor"]
    assert len(client.get("/api/v1/records?limit=200").get_json()["data"]) == 3


def test_json_export_is_valid_json_with_raw_content(app, client):
    make_page(app, "tricky", title=TRICKY, tenant="hidalgo")
    doc = json.loads(client.get("/api/v1/records.json?tenant=hidalgo").data)
    assert doc["tenants"] == ["hidalgo"] and doc["licence"] == "CC-BY-4.0"
    [record] = doc["records"]
    assert record["content"]["title"] == TRICKY and record["title"] == TRICKY


def test_every_route_of_these_blueprints_answers_without_drafts_or_5xx(app, client):
    """Each GET rule of api_v1 / opendata_* with sample values, in every tenant, drafts present."""
    from werkzeug.routing import AnyConverter
    for t in TENANTS:
        make_page(app, f"borrador-{t}", tenant=t, status="draft", title="BORRADOR-MARCA")
        make_page(app, f"pub-{t}", tenant=t)
    rules = [r for r in app.url_map.iter_rules()
             if r.endpoint.split(".")[0] in ("api_v1", "opendata_portal", "opendata_tenant") and "GET" in r.methods]
    assert len(rules) >= 15
    for rule in rules:
        for slug in (TENANTS if "tenant" in rule.arguments else (None,)):
            values = {}
            for arg in rule.arguments - {"tenant"}:
                conv = rule._converters.get(arg)
                values[arg] = sorted(conv.items)[0] if isinstance(conv, AnyConverter) else (
                    "pages" if arg == "name" else "page" if arg == "content_type" else "1")
            if slug:
                values["tenant"] = slug
            with app.test_request_context():
                url = app.url_for(rule.endpoint, **values)
            response = client.get(url)
            assert response.status_code < 500, url
            assert b"BORRADOR-MARCA" not in response.data, url


# --------------------------------------------------------------------------- issue 19, item 12c
def test_openapi_documents_the_date_window_and_the_414(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "4094 bytes" in doc["components"]["responses"]["UriTooLong"]["description"]
    listed = 0
    for path, item in doc["paths"].items():
        params = {p["name"]: p for p in item["get"].get("parameters", [])}
        if "published_after" not in params:
            continue
        listed += 1
        assert "must be earlier than it" in params["published_after"]["description"], path
        assert "later than `published_after`" in params["published_before"]["description"], path
        assert item["get"]["responses"]["414"] == {"$ref": "#/components/responses/UriTooLong"}, path
        assert item["get"]["responses"]["400"] == {"$ref": "#/components/responses/BadRequest"}, path
        if "cursor" in params:
            assert "414" in params["cursor"]["description"]
            assert params["cursor"]["schema"]["maxLength"] == 200
            assert params["cursor"]["schema"]["pattern"] == "^[A-Za-z0-9_-]*$"
    assert listed == 6


@pytest.mark.parametrize("url", ["/api/v1/records", "/api/v1/edomex/records", "/api/v1/records.csv"])
def test_an_over_long_request_line_answers_414_naming_the_parameter(client, url):
    err = error_of(client.get(f"{url}?limit=5&cursor={'A' * 5000}"), 414, "cursor")
    assert err["code"] == "uri_too_long" and "4094" in err["message"]
    # a long cursor that still fits in the request line is a 400 on the cursor itself
    assert error_of(client.get(f"/api/v1/records?cursor={'A' * 201}"), 400, "cursor")["code"] == "invalid_parameter"
    assert error_of(client.get("/api/v1/records?cursor=a.b"), 400, "cursor")["code"] == "invalid_parameter"


@pytest.mark.parametrize("url", ["/api/v1/records.csv", "/api/v1/records.json", "/api/v1/edomex/records.csv",
                                 "/api/v1/edomex/records.json"])
def test_exports_check_the_date_window_and_take_no_cursor(client, url):
    err = error_of(client.get(f"{url}?published_after=2026-02-01&published_before=2026-01-01"), 400, "published_after")
    assert "must be earlier than" in err["message"]
    doc = client.get("/api/v1/openapi.json").get_json()
    path = url.replace("edomex", "{tenant}")
    assert not {"cursor", "limit"} & {p["name"] for p in doc["paths"][path]["get"]["parameters"]}


def test_the_414_is_in_the_requested_language(spanish, client):
    answer = client.get(f"/api/v1/records?cursor={'A' * 5000}", headers={"Accept-Language": "es-MX"})
    assert "La dirección es demasiado larga (máximo 4094 bytes)" in error_of(answer, 414, "cursor")["message"]
@pytest.mark.parametrize("query, spanish_text", [
    ("limit=0", "Debe estar entre 1 y 200."),
    ("limit=abc", "No es un número entero válido."),
    ("published_after=yesterday", "No es una fecha y hora ISO 8601 válida"),
    ("sort=title", "Debe ser uno de: -published_at, published_at."),
])
def test_marshmallow_messages_are_in_the_requested_language(spanish, client, query, spanish_text):
    """Issue 15, defect 6: marshmallow's own messages are translated too."""
    answer = client.get(f"/api/v1/records?{query}", headers={"Accept-Language": "es-MX"})
    message = answer.get_json()["error"]["message"]
    assert spanish_text in message, message


def test_unknown_export_parameter_is_named_in_spanish(spanish, client):
    answer = client.get("/api/v1/records.json?foo=1", headers={"Accept-Language": "es-MX"})
    assert answer.status_code == 400
    message = answer.get_json()["error"]["message"]
    assert "Campo desconocido." in message and "Unknown field" not in message, message
