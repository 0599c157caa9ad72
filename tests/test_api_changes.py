"""Change feed of the read API (``/api/v1/<tenant>/changes`` and ``/api/v1/changes``,
comun_cms/views/api_v1.py): every publication event in notary-log order, a cursor that never
skips or repeats, and the proof that a mirror is complete (the feed's leaf hashes rebuild the
root of the checkpoint the mirror verified, RFC 6962 section 2.1)."""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import tenant_context

from tests.test_api_v1 import error_of, make_page

CHANGE_FIELDS = {"index", "tenant", "content_type", "record_id", "version", "action", "published_at",
                 "content_sha256", "url", "canonical_json_url", "entry_hash"}


def follow(client, url: str) -> tuple[list[dict], dict]:
    """Read a feed from ``url`` to its end (an empty page); return every item and the last body."""
    items: list[dict] = []
    for _page in range(1000):
        body = client.get(url).get_json()
        items += body["data"]
        if not body["data"]:
            return items, body
        url = body["next_url"]
    raise AssertionError("the feed never ended")


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 Merkle Tree Hash of the leaf hashes ``leaves`` (n >= 1)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def test_tenant_feed_lists_every_publication_event_in_log_order(app, client):
    corrected = make_page(app, "corregida", status="corrected")
    retracted = make_page(app, "retirada", status="retracted")
    make_page(app, "otra-entidad", tenant="hidalgo")
    make_page(app, "borrador", status="draft")
    response = client.get("/api/v1/edomex/changes")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert [(c["index"], c["record_id"], c["version"], c["action"]) for c in body["data"]] == [
        (0, str(corrected), 1, "publish"), (1, str(corrected), 2, "correct"),
        (2, str(retracted), 1, "publish"), (3, str(retracted), 2, "retract")]
    assert body["log_size"] == 4 and body["next_after"] == 3
    assert body["next_url"].startswith("http") and body["next_url"].endswith("/api/v1/edomex/changes?after=3")
    change = body["data"][1]
    assert set(change) == CHANGE_FIELDS
    assert change["tenant"] == "edomex" and change["content_type"] == "page" and change["published_at"].endswith("Z")
    # the record's API URL, the version's canonical JSON and the notary entry all match
    assert client.get(change["url"]).get_json()["data"]["version"] == 2
    canonical = client.get(change["canonical_json_url"])
    assert hashlib.sha256(canonical.data).hexdigest() == change["content_sha256"]
    entry = client.get("/edomex/notary/entries/1/entry.json").data
    assert hashlib.sha256(b"\x00" + entry).hexdigest() == change["entry_hash"]
    assert json.loads(entry)["content_sha256"] == change["content_sha256"]
    # an up-to-date reader gets an empty page that points at itself
    tail = client.get(body["next_url"]).get_json()
    assert tail["data"] == [] and tail["next_after"] == 3 and tail["next_url"] == body["next_url"]


def test_pages_with_after_and_limit_and_see_later_publications(app, client):
    for i in range(5):
        make_page(app, f"p{i}")
    first = client.get("/api/v1/edomex/changes?limit=2").get_json()
    assert [c["index"] for c in first["data"]] == [0, 1] and first["next_after"] == 1
    assert "limit=2" in first["next_url"] and "after=1" in first["next_url"]
    make_page(app, "nueva")  # published while the reader pages
    items, last = follow(client, first["next_url"])
    assert [c["index"] for c in first["data"] + items] == list(range(6))
    assert last["next_after"] == 5 and last["log_size"] == 6
    assert [c["index"] for c in client.get("/api/v1/edomex/changes?after=3").get_json()["data"]] == [4, 5]


def test_a_mirror_proves_it_has_everything_against_the_checkpoint(app, client):
    for i in range(3):
        make_page(app, f"p{i}", status="corrected" if i == 1 else "published")
    items, last = follow(client, "/api/v1/edomex/changes?limit=2")
    note = client.get("/edomex/notary/checkpoint").get_data(as_text=True).split("\n")
    size, root = int(note[1]), base64.b64decode(note[2])
    assert last["next_after"] + 1 == size == len(items) == 4
    assert merkle_root([bytes.fromhex(c["entry_hash"]) for c in items]) == root


def test_invalid_parameters_name_the_field(app, client):
    make_page(app, "p")
    for query, field in (("after=-1", "after"), ("after=uno", "after"), ("limit=0", "limit"),
                         ("limit=1001", "limit")):
        error = error_of(client.get(f"/api/v1/edomex/changes?{query}"), 400, field)
        assert error["code"] == "invalid_parameter"
    spanish = client.get("/api/v1/edomex/changes?limit=0&lang=es_MX").get_json()
    assert "limit" in spanish["error"]["message"] and "Invalid" not in spanish["error"]["message"]
    assert error_of(client.get("/api/v1/atlantida/changes"), 404)["code"] in ("not_found", "unknown_tenant")
    for cursor in ("no-es-base64!", base64.urlsafe_b64encode(b'{"atlantida": 0}').decode(),
                   base64.urlsafe_b64encode(b'{"edomex": -2}').decode(), base64.urlsafe_b64encode(b"[1]").decode()):
        assert error_of(client.get(f"/api/v1/changes?cursor={cursor}"), 400, "cursor")["code"] == "invalid_cursor"


def test_a_tenant_without_a_log_has_no_feed(app, client):
    state = app.extensions["comun"]
    puebla = state.tenants["puebla"]
    state.tenants["puebla"] = dataclasses.replace(puebla, plugins=tuple(p for p in puebla.plugins if p != "notary"))
    state.hook_cache.clear()
    make_page(app, "p", tenant="hidalgo")
    assert error_of(client.get("/api/v1/puebla/changes"), 404, "tenant")["code"] == "no_log"
    body = client.get("/api/v1/changes").get_json()
    assert set(body["positions"]) == {"edomex", "hidalgo"} and len(body["data"]) == 1


def test_portal_feed_merges_tenants_exactly_once_each_in_log_order(app, client):
    expected = {}
    for round_ in range(3):
        for slug in ("edomex", "hidalgo", "puebla"):
            make_page(app, f"{slug}-{round_}", tenant=slug, status="corrected" if round_ == 1 else "published")
    first = client.get("/api/v1/changes?limit=4").get_json()
    assert len(first["data"]) == 4 and set(first["data"][0]) == CHANGE_FIELDS
    with tenant_context(app.extensions["comun"].tenants["puebla"]):  # published between two pages
        page = Page(slug="tarde", title="Tarde", body="x")
        db.session.add(page)
        db.session.commit()
        publishing.publish(page)
    items, last = follow(client, first["next_url"])
    items = first["data"] + items
    for slug in ("edomex", "hidalgo", "puebla"):
        expected[slug] = [(c["index"], c["record_id"], c["version"]) for c in follow(
            client, f"/api/v1/{slug}/changes")[0]]
        assert [(c["index"], c["record_id"], c["version"]) for c in items if c["tenant"] == slug] == expected[slug]
    assert len(items) == sum(len(v) for v in expected.values()) == 13
    assert last["positions"] == {"edomex": 3, "hidalgo": 3, "puebla": 4}
    times = [dt.datetime.fromisoformat(c["published_at"]) for c in items]
    assert times == sorted(times)
    # the cursor resumes where the page ended
    again = client.get(f"/api/v1/changes?cursor={first['next_cursor']}&limit=100").get_json()
    assert again["data"] == items[4:]


def test_training_tenants_are_not_in_the_feeds(app, client):
    training = app.extensions["comun"].tenants["capacitacion"]
    assert training.training and training.enables("notary")
    make_page(app, "p", tenant="capacitacion")
    assert error_of(client.get(f"/api/v1/{training.slug}/changes"), 404)
    assert training.slug not in client.get("/api/v1/changes").get_json()["positions"]
