"""Public endpoints: tiles, entries, proofs, lookup, keys; bad input never gives a 500."""
from __future__ import annotations

import base64
import hashlib
import io

import pytest
from sqlalchemy import delete

from comun_cms.toolkit import Attachment, Page, db, publish
from plugins.notary.models import Node
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import merkle, note, tiles
from plugins.notary.tlog.witness import SIZE_CONTENT_TYPE, format_add_checkpoint_request


@pytest.fixture
def log5(app, tenant):
    """Five publications in edomex; returns their publications."""
    pubs = [publish(Page(slug=f"p{i}", title=f"P{i}", body=f"cuerpo {i}")) for i in range(5)]
    return pubs


def test_tiles_and_entry_bundles(client, log5):
    entries = [client.get(f"/edomex/notary/entries/{i}/entry.json").data for i in range(5)]
    leaves = [merkle.leaf_hash(e) for e in entries]
    r = client.get("/edomex/notary/tile/0/000.p/5")
    assert r.status_code == 200 and r.data == b"".join(leaves)
    assert client.get("/edomex/notary/tile/0/000.p/3").data == b"".join(leaves[:3])
    r = client.get("/edomex/notary/tile/entries/000.p/5")
    assert tiles.decode_entry_bundle(r.data) == entries
    assert client.get("/edomex/notary/tile/0/000.p/6").status_code == 404
    assert client.get("/edomex/notary/tile/0/000").status_code == 404
    assert client.get("/edomex/notary/tile/entries/001.p/1").status_code == 404
    for bad in ("0/0000", "0/000.p/0", "0/000.p/256", "64/000", "x/000", "0/x000/001", "entries/abc", "0/000.p/-1"):
        r = client.get(f"/edomex/notary/tile/{bad}")
        assert r.status_code == 400, bad
        assert b"Malformed tile path" in r.data


def test_entries_and_proofs(client, log5):
    r = client.get("/edomex/notary/entries/3")
    assert r.status_code == 200
    data = r.get_json()
    entry = base64.b64decode(data["entry"])
    assert data["leaf_hash"] == merkle.leaf_hash(entry).hex() and data["index"] == 3
    cp_note = client.get("/edomex/notary/checkpoint").data
    body = tcp.parse_checkpoint(note.parse_note(cp_note).text)
    proof = client.get("/edomex/notary/proof/inclusion?index=3&size=5").get_json()
    merkle.verify_inclusion(merkle.leaf_hash(entry), 3, 5, [base64.b64decode(h) for h in proof["hashes"]], body.root_hash)
    assert client.get("/edomex/notary/proof/inclusion?index=3").get_json()["size"] == 5
    c = client.get("/edomex/notary/proof/consistency?old=2&new=5").get_json()
    entries = [client.get(f"/edomex/notary/entries/{i}/entry.json").data for i in range(5)]
    merkle.verify_consistency(2, 5, merkle.root_from_entries(entries[:2]), body.root_hash,
                              [base64.b64decode(h) for h in c["hashes"]])
    assert client.get("/edomex/notary/proof/consistency?old=0&new=5").get_json()["hashes"] == []


def test_downloads_carry_the_rfc6266_header(client, log5):
    for url, name in (("/edomex/notary/entries/3/entry.json", "entry-3.json"),
                      ("/edomex/notary/entries/3/receipt.tlog-proof", "entry-3.tlog-proof")):
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["Content-Disposition"] == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"


BAD_INPUT = [
    ("/edomex/notary/entries/5", "There is no entry 5"),
    ("/edomex/notary/entries/-1", "whole number"),
    ("/edomex/notary/entries/abc", "whole number"),
    ("/edomex/notary/entries/99999999999999999999", "whole number"),
    ("/edomex/notary/entries/9223372036854775808", "too large"),
    ("/edomex/notary/entries/1e3/receipt.tlog-proof", "whole number"),
    ("/edomex/notary/proof/inclusion", "index is required"),
    ("/edomex/notary/proof/inclusion?index=0&size=0", "at least 1"),
    ("/edomex/notary/proof/inclusion?index=5&size=5", "smaller than size"),
    ("/edomex/notary/proof/inclusion?index=-1&size=5", "whole number"),
    ("/edomex/notary/proof/inclusion?index=0&size=6", "larger than the log"),
    ("/edomex/notary/proof/inclusion?index=0&size=999999999999999999", "larger than the log"),
    ("/edomex/notary/proof/inclusion?index=x&size=5", "whole number"),
    ("/edomex/notary/proof/consistency?old=3&new=2", "must not be larger"),
    ("/edomex/notary/proof/consistency?old=1&new=0", "at least 1"),
    ("/edomex/notary/proof/consistency?old=1", "new is required"),
    ("/edomex/notary/proof/consistency?old=1&new=50", "larger than the log"),
    ("/edomex/notary/proof/consistency?old=a&new=2", "whole number"),
    ("/edomex/notary/lookup/xyz", "64 hexadecimal"),
    ("/edomex/notary/lookup/" + "0" * 64, "No published record"),
]


def test_bad_input_gives_a_clear_4xx(client, log5):
    for url, fragment in BAD_INPUT:
        r = client.get(url)
        assert 400 <= r.status_code < 500, (url, r.status_code)
        assert fragment in r.get_json()["error"], url


def test_checkpoint_and_keys_of_an_empty_log(client, app):
    assert client.get("/hidalgo/notary/checkpoint").status_code == 404
    assert client.get("/hidalgo/notary/key").status_code == 404
    r = client.get("/hidalgo/notary/proof/inclusion?index=0")
    assert r.status_code == 400 and "no checkpoint" in r.get_json()["error"]


def test_key_endpoint_lists_public_keys_only(client, log5, app):
    r = client.get("/edomex/notary/key")
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "PRIVATE" not in text
    lines = text.splitlines()
    assert lines[0].startswith("log 127.0.0.1:5000/edomex/notary+")
    assert lines[1].startswith("witness 127.0.0.1:5000/edomex/notary/witness+")


def test_lookup_by_content_and_attachment(client, app, tenant):
    page = Page(slug="anexo", title="Con anexo")
    db.session.add(page)
    db.session.flush()
    file_sha = hashlib.sha256(b"%PDF-1.4 acta").hexdigest()
    db.session.add(Attachment(owner_type="page", owner_id=str(page.id), filename="acta.pdf",
                              mimetype="application/pdf", kind="pdf", size=13, sha256=file_sha))
    pub = publish(page)
    r = client.get(f"/edomex/notary/lookup/{pub.sha256}")
    m = r.get_json()["matches"]
    assert len(m) == 1 and m[0]["kind"] == "content" and m[0]["server_check"] == {"ok": True, "problems": []}
    r = client.get(f"/edomex/notary/lookup/{file_sha.upper()}")
    m = r.get_json()["matches"]
    assert m[0]["kind"] == "attachment" and m[0]["filename"] == "acta.pdf" and m[0]["server_check"]["ok"]
    # another tenant never shows it
    assert client.get(f"/puebla/notary/lookup/{pub.sha256}").status_code == 404


def test_witness_endpoint_status_codes(client, log5, app):
    cp = client.get("/edomex/notary/checkpoint").data
    # puebla already cosigned size 5 in process: the same checkpoint from old=5 is cosigned again
    r = client.post("/puebla/notary/witness/add-checkpoint", data=format_add_checkpoint_request(5, [], cp))
    assert r.status_code == 200 and r.data.startswith("— 127.0.0.1:5000/puebla/notary/witness ".encode())
    # stale old size -> 409 with the witness's size
    r = client.post("/puebla/notary/witness/add-checkpoint", data=format_add_checkpoint_request(2, [], cp))
    assert r.status_code == 409 and r.data == b"5\n" and r.mimetype == SIZE_CONTENT_TYPE
    # malformed bodies -> 400
    for body in (b"", b"old x\n\n" + cp, b"old 1\nnot base64!\n\n" + cp, b"old 0\n\nnot a note"):
        assert client.post("/puebla/notary/witness/add-checkpoint", data=body).status_code == 400
    # a log the witness does not know -> 404; its own log -> 404 (a tenant does not witness itself)
    assert client.post("/edomex/notary/witness/add-checkpoint",
                       data=format_add_checkpoint_request(0, [], cp)).status_code == 404
    # not signed by the log's key -> 403
    skey, _ = note.generate_key("127.0.0.1:5000/edomex/notary")
    forged = tcp.sign_checkpoint(tcp.Checkpoint("127.0.0.1:5000/edomex/notary", 6, b"\x02" * 32), note.new_signer(skey))
    assert client.post("/puebla/notary/witness/add-checkpoint",
                       data=format_add_checkpoint_request(5, [], forged)).status_code == 403
    assert client.get("/puebla/notary/witness/add-checkpoint").status_code == 405


def test_tenant_isolation_of_every_route(client, app, publish_page):
    publish_page("solo-edomex", tenant="edomex")
    for url in ("/puebla/notary/entries/0", "/puebla/notary/entries/0/entry.json",
                "/puebla/notary/entries/0/receipt.tlog-proof", "/puebla/notary/checkpoint",
                "/puebla/notary/tile/0/000.p/1", "/puebla/notary/tile/entries/000.p/1"):
        assert client.get(url).status_code == 404, url
    r = client.get("/puebla/notary/proof/inclusion?index=0&size=1")
    assert r.status_code == 400
    html = client.get("/puebla/notary/verificar").get_data(as_text=True)
    assert "127.0.0.1:5000/edomex/notary+" not in html


def test_verify_page_without_javascript(client, log5):
    pub = log5[0]
    html = client.get("/edomex/notary/verificar").get_data(as_text=True)
    assert "Verify a publication" in html and "verify.js" in html
    r = client.get(f"/edomex/notary/verificar?sha256={pub.sha256}")
    assert r.status_code == 200 and 'data-verdict="match"' in r.get_data(as_text=True)
    assert client.get("/edomex/notary/verificar?sha256=zz").status_code == 400
    html = client.get("/edomex/notary/verificar?sha256=" + "1" * 64).get_data(as_text=True)
    assert 'data-verdict="mismatch"' in html and "No match" in html
    # a file uploaded without JavaScript is hashed by the server
    r = client.post("/edomex/notary/verificar", data={"file": (io.BytesIO(b"nunca publicado"), "x.txt")},
                    content_type="multipart/form-data")
    assert hashlib.sha256(b"nunca publicado").hexdigest() in r.get_data(as_text=True)
    # receipt + entry checked by the server
    receipt = client.get("/edomex/notary/entries/2/receipt.tlog-proof").get_data(as_text=True)
    entry = client.get("/edomex/notary/entries/2/entry.json").get_data(as_text=True)
    html = client.post("/edomex/notary/verificar", data={"receipt": receipt, "entry": entry}).get_data(as_text=True)
    assert 'id="notary-receipt-server"' in html and 'data-verdict="match"' in html
    html = client.post("/edomex/notary/verificar", data={"receipt": receipt, "entry": entry.replace("publish", "retract")}
                       ).get_data(as_text=True)
    assert 'data-verdict="mismatch"' in html and "the inclusion proof does not lead to the signed checkpoint" in html
    html = client.post("/edomex/notary/verificar", data={"receipt": "basura\n", "entry": entry}).get_data(as_text=True)
    assert 'data-verdict="mismatch"' in html and "not a valid receipt" in html
    r = client.post("/edomex/notary/verificar", data={"receipt": receipt})
    assert r.status_code == 400 and "Paste both" in r.get_data(as_text=True)


def test_damaged_log_and_oversized_witness_request_are_not_500(client, log5):
    r = client.post("/puebla/notary/witness/add-checkpoint", data=b"x" * ((1 << 20) + 1))
    assert r.status_code == 413
    db.session.execute(delete(Node).where(Node.level == 0, Node.index == 4))
    db.session.commit()
    r = client.get("/edomex/notary/proof/inclusion?index=0&size=5")
    assert r.status_code == 503 and "audit" in r.get_json()["error"]
