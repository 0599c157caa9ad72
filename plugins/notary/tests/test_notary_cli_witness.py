"""CLI (keygen, rotate, verify offline), witness refusals and an extra witness over HTTP."""
from __future__ import annotations

import dataclasses
import os
import stat

import pytest
from click.testing import CliRunner
from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from comun_cms.toolkit import Page, csrf, db, hookimpl, publish, tenant_context
from comun_cms.toolkit.testing import get_tenant, initialize_plugins
from plugins.notary import services, witnessing
from plugins.notary.cli import verify_cmd
from plugins.notary.keys import keyring_path
from plugins.notary.models import Cosignature, WitnessState
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import cosignature as tcs
from plugins.notary.tlog import merkle
from plugins.notary.tlog.witness import MemoryWitnessStore, Witness, format_add_checkpoint_request

EXTRA_SKEY, EXTRA_VKEY = tcs.generate_cosignature_key("observatorio.example/witness")


class ExtraWitnessPlugin:
    """A civil-society witness served by the test app at /testwitness/add-checkpoint (own store)."""

    store = MemoryWitnessStore()

    @hookimpl
    def register_blueprints(self):
        bp = Blueprint("portal_testwitness", __name__, url_prefix="/testwitness")

        @bp.post("/add-checkpoint")
        def add():
            edomex = current_app.extensions["comun"].tenants["edomex"]
            w = Witness({services.log_origin(edomex): services.log_verifiers(edomex)},
                        tcs.new_cosignature_signer(EXTRA_SKEY), self.store.load, self.store.save)
            resp = w.add_checkpoint(request.get_data())
            return Response(resp.body, resp.status, content_type=resp.content_type)
        csrf.exempt(add)
        return [bp]


def test_keygen_is_idempotent_private_and_run_by_init(app, runner):
    result = runner.invoke(args=["notary", "keygen"])
    assert result.exit_code == 0, result.output
    slugs = [t.slug for t in services.notary_tenants()]
    assert result.output.count(": created") == len(slugs) >= 3 and "PRIVATE" not in result.output
    path = keyring_path(app.instance_path, "edomex")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    before = path.read_bytes()
    result = runner.invoke(args=["notary", "keygen", "--tenant", "edomex"])
    assert "edomex: already present" in result.output and path.read_bytes() == before
    assert runner.invoke(args=["notary", "keygen", "--tenant", "nowhere"]).exit_code == 2
    path.unlink()
    initialize_plugins(app)
    assert path.exists()


def test_a_command_on_one_log_needs_a_known_tenant(app, runner):
    """``--tenant`` is the core's shared option: required by audit and rotate, and an unknown slug
    is a usage error (exit 2) that lists the tenants enabling the notary."""
    for command in ("audit", "rotate"):
        missing = runner.invoke(args=["notary", command])
        assert missing.exit_code == 2 and "--tenant" in missing.output
        unknown = runner.invoke(args=["notary", command, "--tenant", "nowhere"])
        assert unknown.exit_code == 2 and "unknown tenant 'nowhere'" in unknown.output
        assert "edomex" in unknown.output


def test_rotation_signs_with_both_keys_then_retires_the_old_one(app, runner, client):
    t = get_tenant(app, "edomex")
    with tenant_context(t):
        publish(Page(slug="a", title="A"))
    old = services.keyring(t).log_vkeys[0]
    result = runner.invoke(args=["notary", "rotate", "--tenant", "edomex", "--which", "log"])
    assert result.exit_code == 0 and "new log key" in result.output
    with tenant_context(t):
        publish(Page(slug="b", title="B"))
        note_text = services.latest_checkpoint().note
    assert note_text.count("— 127.0.0.1:5000/edomex/notary ") == 2
    runner.invoke(args=["notary", "rotate", "--tenant", "edomex", "--which", "log", "--overlap-days", "0"])
    with tenant_context(t):
        publish(Page(slug="c", title="C"))
        assert services.latest_checkpoint().note.count("— 127.0.0.1:5000/edomex/notary ") == 1
    keys = client.get("/edomex/notary/key").get_data(as_text=True)
    assert f"log {old}" in keys and keys.count("log ") == 3
    assert runner.invoke(args=["notary", "audit", "--tenant", "edomex"]).exit_code == 0


def test_receipt_verifies_offline_with_the_cli(app, client, publish_page, tmp_path):
    publish_page("a")
    publish_page("b")
    (tmp_path / "r.tlog-proof").write_bytes(client.get("/edomex/notary/entries/0/receipt.tlog-proof").data)
    (tmp_path / "e.json").write_bytes(client.get("/edomex/notary/entries/0/entry.json").data)
    (tmp_path / "policy").write_bytes(client.get("/edomex/notary/policy").data)
    args = [str(tmp_path / "r.tlog-proof"), str(tmp_path / "e.json"), "--policy", str(tmp_path / "policy")]
    result = CliRunner().invoke(verify_cmd, args)  # no application, no database
    assert result.exit_code == 0, result.output
    assert "OK: entry 0 is in 127.0.0.1:5000/edomex/notary (size 2)" in result.output
    assert "cosigned by: hidalgo, puebla" in result.output
    (tmp_path / "e.json").write_bytes((tmp_path / "e.json").read_bytes().replace(b'"publish"', b'"retract"'))
    result = CliRunner().invoke(verify_cmd, args)
    assert result.exit_code == 1 and "NO MATCH: inclusion proof does not verify" in result.output
    (tmp_path / "policy").write_text("log nonsense\n")
    assert CliRunner().invoke(verify_cmd, args).exit_code == 2


def test_witness_refuses_a_fork_it_has_not_seen_consistent(app, client, publish_page):
    publish_page("a")
    publish_page("b")
    edomex = get_tenant(app, "edomex")
    with tenant_context(edomex):
        signers = services.keyring(edomex).log_signers()
    origin = services.log_origin(edomex)
    # the key holder signs a fork: a size-3 tree that does not extend what puebla cosigned at size 2
    store = {}
    cr = merkle.CompactRange()
    for e in (b"otra 0", b"otra 1", b"otra 2"):
        for level, index, h in cr.append(merkle.leaf_hash(e)):
            store[(level, index)] = h
    fork = tcp.sign_checkpoint(tcp.Checkpoint(origin, 3, cr.root()), signers)
    proof = merkle.consistency_proof(2, 3, lambda lv, ix: store[(lv, ix)])
    r = client.post("/puebla/notary/witness/add-checkpoint", data=format_add_checkpoint_request(2, proof, fork))
    assert r.status_code == 422 and b"consistency proof does not verify" in r.data
    # same size, different root: 409
    fork2 = tcp.sign_checkpoint(tcp.Checkpoint(origin, 2, merkle.root_from_entries([b"x", b"y"])), signers)
    r = client.post("/puebla/notary/witness/add-checkpoint", data=format_add_checkpoint_request(2, [], fork2))
    assert r.status_code == 409 and r.data == b"2\n"
    with tenant_context(get_tenant(app, "puebla")):
        state = db.session.scalar(select(WitnessState).where(WitnessState.origin == origin))
        assert state.size == 2
        with tenant_context(edomex):
            real_root = services.latest_checkpoint().root_hash
        assert state.root_hash == real_root


@pytest.fixture
def extra_plugins():
    return [("testwitness", ExtraWitnessPlugin())]


def test_extra_witness_is_contacted_over_http(app, live_server, client):
    state = app.extensions["comun"]
    t = state.tenants["edomex"]
    settings = dict(t.plugin_settings)
    settings["notary"] = {**settings["notary"], "witnesses": [f"{EXTRA_VKEY} {live_server.url}/testwitness/add-checkpoint"]}
    state.tenants["edomex"] = dataclasses.replace(t, plugin_settings=settings)
    t = state.tenants["edomex"]
    with tenant_context(t):
        publish(Page(slug="a", title="A"))
        publish(Page(slug="b", title="B"))
    # external witnesses are asked by the witness worker, after the commit, never in the request
    assert witnessing.drain()["edomex"] == {"observatorio.example/witness": "ok"}
    with tenant_context(t):
        cp = services.latest_checkpoint()
        names = set(db.session.scalars(select(Cosignature.witness).where(Cosignature.checkpoint_id == cp.id)))
    assert "observatorio.example/witness" in names and len(names) == 3
    served = client.get("/edomex/notary/checkpoint").get_data(as_text=True)
    assert "— observatorio.example/witness " in served
    assert ExtraWitnessPlugin.store.load(services.log_origin(t)).size == 2
