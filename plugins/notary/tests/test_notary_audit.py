"""Tamper tests: ``comun notary audit`` names every fault; the verify page says "No match"."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import delete, select, update

from comun_cms.toolkit import Page, Publication, db, publish
from plugins.notary import services
from plugins.notary.models import Checkpoint, Cosignature, Entry
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import note


@pytest.fixture
def log4(app, tenant):
    return [publish(Page(slug=f"p{i}", title=f"P{i}", body=f"cuerpo {i}")) for i in range(4)]


def audit(runner):
    result = runner.invoke(args=["notary", "audit", "--tenant", "edomex"])
    faults = [line for line in result.output.splitlines() if line.startswith("FAULT ")]
    return result, faults


def test_clean_log_audits_ok(runner, log4):
    result, faults = audit(runner)
    assert result.exit_code == 0, result.output
    assert faults == [] and "edomex: OK (4 entries, 4 checkpoints)" in result.output


def test_changed_published_content_is_named_and_the_verify_page_says_no_match(runner, client, log4):
    pub = log4[1]
    doc = json.loads(pub.canonical_json)
    doc["content"]["body"] = "texto alterado"
    db.session.execute(update(Publication).where(Publication.id == pub.id)
                       .values(canonical_json=json.dumps(doc)))
    db.session.commit()
    result, faults = audit(runner)
    assert result.exit_code == 1
    assert faults == [f"FAULT page 2 version 1 (publication {pub.id}): the published content does not match its "
                      "SHA-256 (content changed in the database)"]
    html = client.get(f"/edomex/notary/verificar?sha256={pub.sha256}").get_data(as_text=True)
    assert 'data-verdict="mismatch"' in html and "No match" in html
    assert "The published content does not match its SHA-256." in html


def test_changed_content_and_hash_breaks_the_entry(runner, log4):
    pub = log4[2]
    new_json = pub.canonical_json.replace("cuerpo 2", "cuerpo X")
    db.session.execute(update(Publication).where(Publication.id == pub.id).values(
        canonical_json=new_json, sha256=hashlib.sha256(new_json.encode()).hexdigest()))
    db.session.commit()
    result, faults = audit(runner)
    assert result.exit_code == 1
    assert faults == [f"FAULT entry 2 (page 3 version 1 (publication {pub.id})): the content SHA-256 in the log "
                      "does not match the publication"]


def test_changed_entry_text_is_named(runner, client, log4):
    e = db.session.scalar(select(Entry).where(Entry.index == 1))
    db.session.execute(update(Entry).where(Entry.id == e.id).values(entry=e.entry.replace('"publish"', '"correct"')))
    db.session.commit()
    result, faults = audit(runner)
    assert result.exit_code == 1
    assert "FAULT entry 1: its stored leaf hash does not match the entry bytes" in faults
    assert any(f.startswith("FAULT entry 1 (") and "field action is 'correct'" in f for f in faults)
    assert any("previous_entry_hash does not match the entry before it (index 1)" in f for f in faults)
    assert "FAULT node (level 0, index 1): stored hash differs from the recomputed one" in faults
    assert any(f.startswith("FAULT checkpoint") and "(size 4)" in f and "does not match the entries" in f for f in faults)
    pub = log4[1]
    html = client.get(f"/edomex/notary/verificar?sha256={pub.sha256}").get_data(as_text=True)
    assert 'data-verdict="mismatch"' in html


def test_deleted_entry_is_named(runner, log4):
    db.session.execute(delete(Entry).where(Entry.index == 2))
    db.session.commit()
    result, faults = audit(runner)
    assert result.exit_code == 1
    assert "FAULT entry 2: missing from the log (deleted)" in faults
    assert f"FAULT page 3 version 1 (publication {log4[2].id}): is not in the log" in faults
    assert "FAULT log head: says 4 entries, the log has 4" not in faults


def test_reordered_entries_are_named(runner, log4):
    a = db.session.scalar(select(Entry).where(Entry.index == 1))
    b = db.session.scalar(select(Entry).where(Entry.index == 2))
    ida, idb = a.id, b.id
    db.session.execute(update(Entry).where(Entry.id == ida).values(index=99))
    db.session.execute(update(Entry).where(Entry.id == idb).values(index=1))
    db.session.execute(update(Entry).where(Entry.id == ida).values(index=2))
    db.session.commit()
    result, faults = audit(runner)
    assert result.exit_code == 1
    chain = [f for f in faults if "hash chain broken" in f]
    assert [f.split(" (")[0] for f in chain] == ["FAULT entry 1", "FAULT entry 2", "FAULT entry 3"]
    assert any(f.startswith("FAULT checkpoint") and "(size 4)" in f for f in faults)
    assert not any("(size 1)" in f for f in faults)


def test_replaced_checkpoint_and_bad_cosignature_are_named(runner, log4, tenant):
    cp = db.session.scalar(select(Checkpoint).where(Checkpoint.size == 2))
    skey, _ = note.generate_key(services.log_origin(tenant))
    forged = tcp.sign_checkpoint(tcp.Checkpoint(services.log_origin(tenant), 2, bytes.fromhex(cp.root_hash)),
                                 note.new_signer(skey))
    cp_id = cp.id
    db.session.execute(update(Checkpoint).where(Checkpoint.id == cp_id).values(note=forged.decode()))
    cp3 = db.session.scalar(select(Checkpoint).where(Checkpoint.size == 3))
    cs = db.session.scalar(select(Cosignature).where(Cosignature.checkpoint_id == cp3.id).limit(1))
    cs_witness, cs_id = cs.witness, cs.id
    cs4 = db.session.scalar(select(Cosignature.line).join(Checkpoint, Checkpoint.id == Cosignature.checkpoint_id)
                            .where(Checkpoint.size == 4, Cosignature.witness == cs_witness))
    db.session.execute(update(Cosignature).where(Cosignature.id == cs_id).values(line=cs4))
    db.session.commit()
    result, faults = audit(runner)
    assert result.exit_code == 1
    assert any(f.startswith(f"FAULT checkpoint {cp_id} (size 2): signature or format does not verify") for f in faults)
    assert f"FAULT cosignature of {cs_witness} on checkpoint {cp3.id} (size 3): does not verify" in faults
    assert len(faults) == 2
