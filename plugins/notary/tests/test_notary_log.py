"""The notary log: every publication is logged, checkpoints are signed and witnessed."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
import rfc8785
from sqlalchemy import delete, select, update

from comun_cms.toolkit import Attachment, Page, Publication, PublishError, correct, db, publish, retract, tenant_context
from comun_cms.toolkit.testing import get_pm, get_tenant, save_snapshot, training_reset
from plugins.notary import services
from plugins.notary.models import Checkpoint, Cosignature, Digest, Entry, LogHead, Node
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import merkle, note
from plugins.notary.tlog.policy import parse_policy
from plugins.notary.tlog.proof import verify_receipt


def entries():
    return db.session.scalars(select(Entry).order_by(Entry.index)).all()


def test_the_plugin_module_answers_whether_a_publication_is_logged(app, tenant):
    """``is_logged`` is what the core's conformance kit asks the notary plugin (found through the
    plugin manager) instead of importing its models."""
    notary = get_pm().get_plugin("notary")
    pub = publish(Page(slug="uno", title="Uno", body="v1"))
    assert notary.is_logged(pub) is True
    other = publish(Page(slug="dos", title="Dos", body="v1"))
    db.session.execute(delete(Digest).where(Digest.index == 1))
    db.session.execute(delete(Entry).where(Entry.publication_id == other.id))
    assert notary.is_logged(other) is False and notary.is_logged(pub) is True


def test_publish_correct_retract_are_all_logged_with_chain_and_previous_version(app, tenant):
    page = Page(slug="uno", title="Uno", body="v1")
    p1 = publish(page)
    page.body = "v2"
    p2 = correct(page, reason="errata")
    p3 = retract(page, reason="duplicado")
    es = entries()
    assert [e.index for e in es] == [0, 1, 2]
    assert [e.action for e in es] == ["publish", "correct", "retract"]
    assert [e.publication_id for e in es] == [p1.id, p2.id, p3.id]
    docs = [json.loads(e.entry) for e in es]
    assert docs[0]["previous_entry_hash"] is None and docs[0]["previous_version_index"] is None
    assert docs[1]["previous_entry_hash"] == es[0].leaf_hash and docs[1]["previous_version_index"] == 0
    assert docs[2]["previous_entry_hash"] == es[1].leaf_hash and docs[2]["previous_version_index"] == 1
    for e, p in zip(es, (p1, p2, p3)):
        doc = json.loads(e.entry)
        assert doc["content_sha256"] == p.sha256 and doc["tenant"] == "edomex"
        assert doc["format"] == services.ENTRY_FORMAT and doc["published_at"].endswith("Z")
        assert e.entry.encode() == rfc8785.dumps(doc)
        assert bytes.fromhex(e.leaf_hash) == merkle.leaf_hash(e.entry.encode())
    # a checkpoint after every publication, each consistent with the previous one
    cps = db.session.scalars(select(Checkpoint).order_by(Checkpoint.size)).all()
    assert [c.size for c in cps] == [1, 2, 3]
    root = merkle.root_from_entries(e.entry.encode() for e in es)
    assert cps[-1].root_hash == root.hex()
    body, _ = tcp.open_checkpoint(cps[-1].note.encode(), services.log_verifiers(tenant), origin="127.0.0.1:5000/edomex/notary")
    assert body.size == 3


def test_checkpoints_are_cosigned_by_the_other_two_tenants(app, tenant, client):
    publish(Page(slug="a", title="A"))
    publish(Page(slug="b", title="B"))
    cp = services.latest_checkpoint()
    names = sorted(db.session.scalars(select(Cosignature.witness).where(Cosignature.checkpoint_id == cp.id)))
    assert names == ["127.0.0.1:5000/hidalgo/notary/witness", "127.0.0.1:5000/puebla/notary/witness"]
    served = client.get("/edomex/notary/checkpoint")
    assert served.status_code == 200 and served.mimetype == "text/plain"
    assert served.data.count("— ".encode()) == 3
    policy = parse_policy(client.get("/edomex/notary/policy").data)
    receipt = client.get("/edomex/notary/entries/1/receipt.tlog-proof").data
    entry = client.get("/edomex/notary/entries/1/entry.json").data
    v = verify_receipt(receipt, entry, policy)
    assert v.index == 1 and v.witnesses == ("hidalgo", "puebla")


def test_each_tenant_has_its_own_log(app, publish_page):
    publish_page("x", tenant="edomex")
    publish_page("y", tenant="puebla")
    publish_page("z", tenant="puebla")
    with tenant_context(get_tenant(app, "edomex")):
        assert [e.index for e in entries()] == [0]
        assert db.session.scalar(select(LogHead.size)) == 1
    with tenant_context(get_tenant(app, "puebla")):
        assert [(e.index, e.record_id) for e in entries()] == [(0, "2"), (1, "3")]
        assert services.latest_checkpoint().size == 2


def test_attachment_digests_are_indexed(app, tenant):
    page = Page(slug="con-anexo", title="Con anexo")
    db.session.add(page)
    db.session.flush()
    db.session.add(Attachment(owner_type="page", owner_id=str(page.id), filename="acta.pdf", mimetype="application/pdf",
                              kind="pdf", size=10, sha256="ab" * 32))
    pub = publish(page)
    kinds = {(d.kind, d.sha256) for d in db.session.scalars(select(Digest))}
    assert kinds == {("content", pub.sha256), ("attachment", "ab" * 32)}


def test_a_publication_that_cannot_be_logged_is_not_published(app, tenant):
    publish(Page(slug="a", title="A"))
    # damage the stored tree: the log refuses to sign an inconsistent checkpoint
    db.session.execute(update(Node).where(Node.level == 0, Node.index == 0).values(hash=b"\x00" * 32))
    db.session.commit()
    with pytest.raises(PublishError) as info:
        publish(Page(slug="b", title="B"))
    assert "refusing to sign" in str(info.value.__cause__)  # the editor sees a generic message
    assert db.session.scalar(select(Page).where(Page.slug == "b")) is None
    assert db.session.scalar(select(LogHead.size)) == 1
    assert len(db.session.scalars(select(Publication)).all()) == 1


def test_sign_checkpoint_refuses_a_replaced_previous_checkpoint(app, tenant):
    publish(Page(slug="a", title="A"))
    cp = services.latest_checkpoint()
    skey, _vkey = note.generate_key(services.log_origin(tenant))
    forged = tcp.sign_checkpoint(tcp.Checkpoint(services.log_origin(tenant), 1, b"\x01" * 32), note.new_signer(skey))
    cp.note = forged.decode()
    db.session.commit()
    db.session.add(Page(slug="b", title="B"))
    with pytest.raises(PublishError) as info:
        publish(db.session.scalar(select(Page).where(Page.slug == "b")))
    assert "refusing to sign" in str(info.value.__cause__)


def test_batch_mode_signs_on_interval_and_with_the_checkpoint_command(app, runner):
    state = app.extensions["comun"]
    t = state.tenants["edomex"]
    settings = dict(t.plugin_settings)
    settings["notary"] = {**settings["notary"], "checkpoint_interval": 3600}
    state.tenants["edomex"] = dataclasses.replace(t, plugin_settings=settings)
    t = state.tenants["edomex"]
    with tenant_context(t):
        publish(Page(slug="a", title="A"))   # first checkpoint: none existed
        publish(Page(slug="b", title="B"))   # within the interval: not signed yet
        assert services.latest_checkpoint().size == 1
        assert services.receipt_for(1) is None
    result = runner.invoke(args=["notary", "checkpoint", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
    assert "checkpoint of 2 entries" in result.output and "puebla: ok" in result.output
    with tenant_context(t):
        cp = services.latest_checkpoint()
        assert cp.size == 2
        assert len(db.session.scalars(select(Cosignature).where(Cosignature.checkpoint_id == cp.id)).all()) == 2
        assert services.receipt_for(1) is not None


def test_a_checkpoint_signed_later_refreshes_cached_seals(app, runner):
    app.config["PAGE_CACHE"] = True  # the anonymous page cache (off by default in tests)
    state = app.extensions["comun"]
    t = state.tenants["edomex"]
    settings = dict(t.plugin_settings)
    settings["notary"] = {**settings["notary"], "checkpoint_interval": 3600}
    state.tenants["edomex"] = t = dataclasses.replace(t, plugin_settings=settings)
    with tenant_context(t):
        publish(Page(slug="a", title="A"))
        publish(Page(slug="b", title="B"))   # within the interval: awaiting a checkpoint
    visitor = app.test_client()
    visitor.get("/edomex/p/b")  # in tests the first request runs the indexer, which bumps the generation
    assert "awaiting signed checkpoint" in visitor.get("/edomex/p/b").get_data(as_text=True)
    assert visitor.get("/edomex/p/b").headers["X-Page-Cache"] == "hit"
    result = runner.invoke(args=["notary", "checkpoint", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
    fresh = visitor.get("/edomex/p/b")
    assert fresh.headers["X-Page-Cache"] == "miss" and "Verified" in fresh.get_data(as_text=True)


def test_record_page_shows_the_seal_with_receipt_and_entry(app, client, publish_page):
    page, pub = publish_page("sellada")
    html = client.get("/edomex/p/sellada").get_data(as_text=True)
    assert "notary-seal" in html and "Verified" in html
    assert f"/edomex/notary/verificar?sha256={pub.sha256}" in html
    assert "/edomex/notary/entries/0/receipt.tlog-proof" in html
    assert "/edomex/notary/entries/0/entry.json" in html


def test_seal_in_spanish(app, app_config, publish_page):
    publish_page("sello")
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["lang"] = "es_MX"
    html = c.get("/edomex/p/sello").get_data(as_text=True)
    assert "Verificado" in html


def test_entry_bytes_are_rfc8785_even_for_unusual_strings():
    item = services.EntryData(1, 'tipo "raro" \\ ñ \u2028 \x01 😀', "id\t7", 3, "correct", "ab" * 32,
                             dt.datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=dt.timezone.utc), None)
    data = services.entry_bytes("edomex", item, 12, "cd" * 32)
    assert data == rfc8785.dumps(json.loads(data))
    assert json.loads(data)["published_at"] == "2026-01-02T03:04:05Z"


def test_training_reset_starts_a_new_log_under_a_new_key(app):
    """A reset never makes one key sign two different trees: the log restarts with a new key and
    logs the restored publications again."""
    training = next(t for t in app.extensions["comun"].tenants.values() if t.training)
    with tenant_context(training):
        publish(Page(slug="escenario", title="Escenario"))
        old_keys = set(services.keyring(training).log_vkeys)
    save_snapshot(app, training)
    with tenant_context(training):
        publish(Page(slug="despues", title="Después del escenario"))
    training_reset(app, training)
    with tenant_context(training):
        assert not (set(services.keyring(training).log_vkeys) & old_keys)
        assert db.session.scalar(select(LogHead.size)) == 1  # only the scenario's publication
        cp = services.latest_checkpoint()
        assert cp is not None and cp.size == 1
