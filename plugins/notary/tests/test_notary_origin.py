"""The log's origin is an identity fixed at the log's creation (issue 19, item 3).

A change of ``SITE_HOST`` after ``comun init`` must not change the origin of checkpoints,
receipts, witnessing or the audit; moving to a new origin is the explicit, verifiable
``comun notary move-origin``.
"""
from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import delete, select

from comun_cms.toolkit import db, tenant_context
from comun_cms.toolkit.testing import get_tenant, initialize_plugins
from plugins.notary import services
from plugins.notary.cli import verify_cmd
from plugins.notary.keys import keyring_path
from plugins.notary.models import Cosignature, Entry, LogOrigin
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import note

OLD = "127.0.0.1:5000/edomex/notary"
NEW = "sesea.edomex.example.gob.mx/notary"


def _latest(app):
    with tenant_context(get_tenant(app, "edomex")):
        cp = services.latest_checkpoint()
        cosigners = set(db.session.scalars(select(Cosignature.witness).where(Cosignature.checkpoint_id == cp.id)))
        return cp.note.split("\n", 1)[0], cp.size, cosigners


def _audit(runner):
    result = runner.invoke(args=["notary", "audit", "--tenant", "edomex"])
    return result.exit_code, result.output


def test_changing_site_host_after_init_keeps_the_origin(app, runner, client, publish_page, tmp_path):
    app.config["SITE_HOST"] = "127.0.0.1:5000"
    initialize_plugins(app)
    publish_page("a")
    first_origin, size_a, _ = _latest(app)   # init also publishes the privacy notices
    assert first_origin == OLD
    app.config["SITE_HOST"] = "127.0.0.1:5201"  # the operator now serves on another port
    publish_page("b")  # before the fix: "checkpoint origin ... is not the expected ..."
    origin, size, cosigners = _latest(app)
    assert (origin, size) == (OLD, size_a + 1)
    assert len(cosigners) == 2  # hidalgo's and puebla's witnesses still accept the log
    assert services.log_origin(get_tenant(app, "edomex")) == OLD
    code, output = _audit(runner)
    assert code == 0, output
    # the receipt names the stored origin and verifies offline with the published policy
    (tmp_path / "r").write_bytes(client.get("/edomex/notary/entries/1/receipt.tlog-proof").data)
    (tmp_path / "e").write_bytes(client.get("/edomex/notary/entries/1/entry.json").data)
    (tmp_path / "p").write_bytes(client.get("/edomex/notary/policy").data)
    result = CliRunner().invoke(verify_cmd, [str(tmp_path / "r"), str(tmp_path / "e"), "--policy",
                                             str(tmp_path / "p"), "--origin", OLD])
    assert result.exit_code == 0 and f"is in {OLD} (size {size})" in result.output, result.output


def test_the_origin_is_stored_at_init_before_any_publication(app, publish_page):
    app.config["SITE_HOST"] = "127.0.0.1:5000"
    initialize_plugins(app)
    app.config["SITE_HOST"] = "example.org"
    with tenant_context(get_tenant(app, "edomex")):
        assert db.session.scalars(select(LogOrigin.origin)).all() == [OLD]
    publish_page("a")
    assert _latest(app)[0] == OLD


def test_a_log_without_a_stored_origin_keeps_the_one_it_was_created_with(app, runner, publish_page):
    """A log written before the origin was stored (the migration's case) gets, at first use, the
    origin of its oldest checkpoint, not today's SITE_HOST."""
    publish_page("a")
    edomex = get_tenant(app, "edomex")
    with tenant_context(edomex):
        db.session.execute(delete(LogOrigin))
        db.session.commit()
    app.config["SITE_HOST"] = "127.0.0.1:5201"
    assert services.log_origin(edomex) == OLD
    publish_page("b")
    assert _latest(app)[:2] == (OLD, 2)
    with tenant_context(edomex):
        assert db.session.scalars(select(LogOrigin.origin)).all() == [OLD]
    assert _audit(runner)[0] == 0


def test_move_origin_continues_the_log_verifiably(app, runner, client, publish_page, tmp_path):
    publish_page("a")
    publish_page("b")
    edomex = get_tenant(app, "edomex")
    with tenant_context(edomex):
        final_note = services.latest_checkpoint().note
    old_vkeys = services.keyring(edomex).log_vkeys
    result = runner.invoke(args=["notary", "move-origin", "--tenant", "edomex", NEW])
    assert result.exit_code == 0, result.output
    assert f"final checkpoint of {OLD} at size 2; origin-move entry 2; {NEW} from size 3" in result.output
    # the move entry holds the final checkpoint under the old origin
    with tenant_context(edomex):
        move = db.session.scalar(select(Entry).where(Entry.index == 2))
        assert move.publication_id is None
        doc = json.loads(move.entry)
        assert (doc["format"], doc["old_origin"], doc["new_origin"]) == (services.MOVE_FORMAT, OLD, NEW)
        assert doc["final_checkpoint"] == final_note
        assert db.session.scalars(select(LogOrigin.origin).order_by(LogOrigin.start_size)).all() == [OLD, NEW]
    assert _latest(app)[:2] == (NEW, 3)
    # a new log key named after the new origin signs from now on; the old ones stay published
    ring = services.keyring(edomex)
    assert ring.log_vkeys[:-1] == old_vkeys and note.new_verifier(ring.log_vkeys[-1]).name == NEW
    assert [s.name for s in ring.log_signers()] == [NEW]
    app.config["SITE_HOST"] = "127.0.0.1:5201"
    publish_page("c")
    origin, size, cosigners = _latest(app)
    assert (origin, size) == (NEW, 4) and len(cosigners) == 2  # the witnesses cosign the new origin
    # the new checkpoint is consistent with the final one under the old origin
    with tenant_context(edomex):
        verifiers = services.log_verifiers(edomex)
        final, _ = tcp.open_checkpoint(final_note.encode(), verifiers, origin=OLD)
    proof = client.get("/edomex/notary/proof/consistency?old=2&new=4").get_json()
    assert proof["old"] == 2 and proof["hashes"]
    assert client.get("/edomex/notary/entries/2").get_json()["content_type"] == services.MOVE_CONTENT_TYPE
    code, output = _audit(runner)
    assert code == 0, output
    # a receipt of an entry published before the move verifies against the new checkpoint
    (tmp_path / "r").write_bytes(client.get("/edomex/notary/entries/0/receipt.tlog-proof").data)
    (tmp_path / "e").write_bytes(client.get("/edomex/notary/entries/0/entry.json").data)
    (tmp_path / "p").write_bytes(client.get("/edomex/notary/policy").data)
    result = CliRunner().invoke(verify_cmd, [str(tmp_path / "r"), str(tmp_path / "e"), "--policy", str(tmp_path / "p")])
    assert result.exit_code == 0 and f"is in {NEW} (size 4)" in result.output, result.output
    assert final.size == 2


def test_move_origin_refuses_bad_or_used_origins_and_changes_nothing(app, runner, publish_page):
    publish_page("a")
    edomex = get_tenant(app, "edomex")
    path = keyring_path(app.instance_path, "edomex")
    assert runner.invoke(args=["notary", "move-origin", "--tenant", "edomex", NEW]).exit_code == 0
    before = path.read_bytes()
    for bad, message in ((NEW, "already the log's origin"), (OLD, "was an origin of this log before"),
                         ("con espacio", "not a valid origin"), ("a+b/notary", "not a valid origin"),
                         ("x" * 256, "not a valid origin")):
        result = runner.invoke(args=["notary", "move-origin", "--tenant", "edomex", bad])
        assert result.exit_code == 1 and message in result.output, (bad, result.output)
    assert path.read_bytes() == before
    assert _latest(app)[:2] == (NEW, 2)
    assert [o for _s, o in services.log_origins(edomex)] == [OLD, NEW]


def test_move_origin_rolls_back_everything_when_signing_fails(app, publish_page, monkeypatch):
    publish_page("a")
    edomex = get_tenant(app, "edomex")
    path = keyring_path(app.instance_path, "edomex")
    before = path.read_bytes()
    calls = []
    real = services.sign_checkpoint

    def failing_second(tenant, session=None):
        calls.append(1)
        if len(calls) == 2:
            raise services.NotaryError("disk full")
        return real(tenant, session)
    monkeypatch.setattr(services, "sign_checkpoint", failing_second)
    with tenant_context(edomex):
        try:
            services.move_origin(edomex, NEW)
        except services.NotaryError as exc:
            assert "disk full" in str(exc)
        else:
            raise AssertionError("move_origin did not raise")
    assert path.read_bytes() == before
    assert services.log_origin(edomex) == OLD
    with tenant_context(edomex):
        assert db.session.scalar(select(Entry).where(Entry.index == 1)) is None


def test_audit_finds_a_stored_origin_that_no_move_entry_explains(app, runner, publish_page):
    publish_page("a")
    with tenant_context(get_tenant(app, "edomex")):
        db.session.add(LogOrigin(origin="otro.example/notary", start_size=1))
        db.session.commit()
    code, output = _audit(runner)
    assert code == 1 and "starts at size 1 without an origin-move entry" in output

