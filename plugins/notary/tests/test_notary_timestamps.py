"""RFC 3161 time-stamps of checkpoints against a real local TSA (``openssl ts`` behind HTTP).

The fixture makes a root CA and a TSA certificate with openssl (plugins/notary/tests/local_tsa.py);
tokens are fetched in the background after publishing, served, put in receipts, checked by the
audit, the offline CLI and the verify page; a changed byte in the token, the checkpoint or the
chain fails; a TSA outage never blocks publishing and the token is fetched later.
"""
from __future__ import annotations

import base64
import datetime as dt
import dataclasses
import hashlib
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update

from comun_cms.toolkit import Page, db, publish, tenant_context
from plugins.notary import services, timestamps
from plugins.notary.audit import audit_tenant
from plugins.notary.cli import verify_cmd
from plugins.notary.models import Checkpoint, Timestamp
from plugins.notary.tests.local_tsa import LocalTSA, make_tsa
from plugins.notary.tlog import proof as tproof

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def tsa_files(tmp_path_factory):
    return make_tsa(tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def other_tsa_files(tmp_path_factory):
    """Another CA and TSA: its chain must not verify the first TSA's tokens."""
    return make_tsa(tmp_path_factory.mktemp("tsa2"), name="Otra TSA")


@pytest.fixture
def tsa(tsa_files):
    server = LocalTSA(tsa_files).start()
    yield server
    server.stop()


def configure(app, slug: str = "edomex", **values):
    """Set notary settings of ``slug`` (as tenant.toml would) and return the new Tenant."""
    state = app.extensions["comun"]
    t = state.tenants[slug]
    settings = dict(t.plugin_settings)
    settings["notary"] = {**settings["notary"], **values}
    state.tenants[slug] = dataclasses.replace(t, plugin_settings=settings)
    return state.tenants[slug]


def publish_pages(t, *slugs):
    with tenant_context(t):
        for s in slugs:
            publish(Page(slug=s, title=s.upper()))
    timestamps.wait_idle()


def tokens(t):
    with tenant_context(t):
        return {ts.size: ts for ts in db.session.scalars(select(Timestamp))}


def test_every_checkpoint_is_time_stamped_served_and_verifies(app, client, tsa, tsa_files, tmp_path):
    t = configure(app, tsa_url=tsa.url, tsa_chain=str(tsa_files.chain_pem))
    publish_pages(t, "a", "b")
    got = tokens(t)
    assert sorted(got) == [1, 2] and tsa.requests == 2
    assert {ts.tsa for ts in got.values()} == {"TSA de prueba"}

    r = client.get("/edomex/notary/checkpoint.tsr")
    assert r.status_code == 200 and r.mimetype == "application/timestamp-reply"
    assert r.headers["Comun-Checkpoint-Size"] == "2" and r.data == got[2].token
    note = client.get("/edomex/notary/checkpoints/2/note").data
    info = timestamps.verify_token(r.data, note, timestamps.load_chain(tsa_files.chain_pem.read_bytes()))
    assert info.tsa == "TSA de prueba" and info.hash_name == "sha256"
    assert client.get("/edomex/notary/checkpoints/1/timestamp.tsr").data == got[1].token

    # openssl itself agrees: the token stamps exactly the served note, under the configured root
    (tmp_path / "note").write_bytes(note)
    (tmp_path / "t.tsr").write_bytes(r.data)
    out = subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / "note"), "-in", str(tmp_path / "t.tsr"),
                          "-CAfile", str(tsa_files.ca_pem)], capture_output=True, text=True)
    assert out.returncode == 0 and "Verification: OK" in out.stdout, out.stdout + out.stderr

    report = audit_tenant(t)
    assert report.ok, report.faults
    assert report.timestamps == 2


def test_receipts_carry_the_token_and_verify_offline_and_on_the_verify_page(app, client, tsa, tsa_files, tmp_path):
    t = configure(app, tsa_url=tsa.url, tsa_chain=str(tsa_files.chain_pem))
    publish_pages(t, "a", "b")
    receipt = client.get("/edomex/notary/entries/0/receipt.tlog-proof").data
    assert tproof.parse_proof(receipt).extra == tokens(t)[2].token
    entry = client.get("/edomex/notary/entries/0/entry.json").data
    (tmp_path / "r").write_bytes(receipt)
    (tmp_path / "e").write_bytes(entry)
    (tmp_path / "p").write_bytes(client.get("/edomex/notary/policy").data)
    args = [str(tmp_path / "r"), str(tmp_path / "e"), "--policy", str(tmp_path / "p")]
    result = CliRunner().invoke(verify_cmd, args + ["--tsa-chain", str(tsa_files.chain_pem), "--require-timestamp"])
    assert result.exit_code == 0, result.output
    assert "time-stamped by: TSA de prueba at 20" in result.output
    # without the chain the token is reported, not trusted; --require-timestamp then fails
    assert "present, not checked" in CliRunner().invoke(verify_cmd, args).output
    assert CliRunner().invoke(verify_cmd, args + ["--require-timestamp"]).exit_code == 1

    page = client.post("/edomex/notary/verificar", data={"receipt": receipt.decode(), "entry": entry.decode()},
                       headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-verdict="match"' in text
    assert "Time-stamped by TSA de prueba on" in text
    assert "Time-stamped by TSA de prueba on" in client.get("/edomex/notary/verificar").get_data(as_text=True)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_a_changed_byte_in_the_token_the_checkpoint_or_the_chain_fails(app, client, tsa, tsa_files, other_tsa_files,
                                                                      tmp_path):
    t = configure(app, tsa_url=tsa.url, tsa_chain=str(tsa_files.chain_pem))
    publish_pages(t, "a")
    token = tokens(t)[1].token
    note = client.get("/edomex/notary/checkpoints/1/note").data
    chain = timestamps.load_chain(tsa_files.chain_pem.read_bytes())
    timestamps.verify_token(token, note, chain)  # the genuine article
    # the checkpoint: one byte of the stamped note
    with pytest.raises(timestamps.TimestampError, match="imprint"):
        timestamps.verify_token(token, _flip(note, 5), chain)
    # the chain: another CA, or a changed byte in the root certificate
    with pytest.raises(timestamps.TimestampError, match="chain"):
        timestamps.verify_token(token, note, timestamps.load_chain(other_tsa_files.chain_pem.read_bytes()))
    ca = tsa_files.ca_pem.read_bytes()
    body = base64.b64decode(b"".join(ca.splitlines()[1:-1]))
    key_at = body.index(b"\x03\x42\x00\x04") + 20  # a byte of the root's public key (EC point)
    bad_root = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(_flip(body, key_at)) + \
        b"-----END CERTIFICATE-----\n"
    with pytest.raises(timestamps.TimestampError):
        timestamps.verify_token(token, note, [chain[0], *timestamps.load_chain(bad_root)])
    # the token: flip every byte in turn. Every byte of the stamped content (imprint, genTime),
    # of the embedded TSA certificate and of the signature fails; the few that pass are CMS
    # envelope fields the signature does not cover (version numbers, the signature algorithm
    # identifier), which change nothing that is attested.
    accepted = set()
    for at in range(len(token)):
        try:
            timestamps.verify_token(_flip(token, at), note, chain)
            accepted.add(at)
        except timestamps.TimestampError:
            pass
    gen = tokens(t)[1].gen_time.strftime("%Y%m%d%H%M%S").encode()
    imprint = hashlib.sha256(note).digest()
    cert = x509.load_pem_x509_certificate(tsa_files.tsa_pem.read_bytes()).public_bytes(serialization.Encoding.DER)
    regions = {"imprint": (token.index(imprint), 32), "genTime": (token.index(gen), len(gen)),
               "certificate": (token.index(cert), len(cert)), "signature": (len(token) - 64, 64)}
    for name, (start, length) in regions.items():
        assert not accepted & set(range(start, start + length)), name
    assert len(accepted) <= 16, sorted(accepted)

    # the audit names a token changed in the database; the offline CLI refuses a changed receipt token
    with tenant_context(t):
        db.session.execute(update(Timestamp).values(token=_flip(token, len(token) - 20)))
        db.session.commit()
    report = audit_tenant(t)
    assert [f.kind for f in report.faults] == ["timestamp"] and "size 1" in report.faults[0].where
    receipt = client.get("/edomex/notary/entries/0/receipt.tlog-proof").data
    (tmp_path / "r").write_bytes(receipt)
    (tmp_path / "e").write_bytes(client.get("/edomex/notary/entries/0/entry.json").data)
    (tmp_path / "p").write_bytes(client.get("/edomex/notary/policy").data)
    result = CliRunner().invoke(verify_cmd, [str(tmp_path / "r"), str(tmp_path / "e"), "--policy", str(tmp_path / "p"),
                                             "--tsa-chain", str(tsa_files.chain_pem)])
    assert result.exit_code == 1 and "NO MATCH: time-stamp" in result.output


def test_the_audit_checks_the_time_window(app, tsa, tsa_files):
    t = configure(app, tsa_url=tsa.url, tsa_chain=str(tsa_files.chain_pem), tsa_max_delay=1.0)
    publish_pages(t, "a")
    with tenant_context(t):
        cp = db.session.scalar(select(Checkpoint))
        signed = cp.created_at
        cp.created_at = signed + dt.timedelta(hours=1)  # "signed" after the TSA's time
        db.session.commit()
    assert any("before the checkpoint was signed" in f.message for f in audit_tenant(t).faults)
    with tenant_context(t):
        db.session.scalar(select(Checkpoint)).created_at = signed - dt.timedelta(hours=3)
        db.session.commit()
    assert any("more than 1 hours after" in f.message for f in audit_tenant(t).faults)


def test_a_tsa_outage_never_blocks_publishing_and_the_token_comes_later(app, runner, client, tsa, tsa_files):
    t = configure(app, tsa_url=tsa.url, tsa_chain=str(tsa_files.chain_pem))
    tsa.stop()  # outage: connection refused
    publish_pages(t, "a", "b")
    with tenant_context(t):
        assert services.latest_checkpoint().size == 2  # published and signed all the same
    assert tokens(t) == {}
    assert client.get("/edomex/notary/checkpoint.tsr").status_code == 404
    assert "tlog-proof" in client.get("/edomex/notary/entries/0/receipt.tlog-proof").get_data(as_text=True)
    result = runner.invoke(args=["notary", "timestamp", "--tenant", "edomex"])
    assert result.exit_code == 1 and "did not answer" in result.output

    tsa.start()  # the TSA is back: the worker (or `comun notary checkpoint`) fetches what is missing
    result = runner.invoke(args=["notary", "timestamp", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
    assert "time-stamped checkpoint(s) of 1, 2 entries" in result.output
    assert sorted(tokens(t)) == [1, 2] and audit_tenant(t).ok


def test_interval_mode_stamps_the_newest_checkpoint_at_most_every_n_minutes(app, runner, tsa, tsa_files):
    t = configure(app, tsa_url=tsa.url, tsa_chain=str(tsa_files.chain_pem), tsa_interval=60)
    publish_pages(t, "a")
    publish_pages(t, "b", "c")
    assert sorted(tokens(t)) == [1]  # the next one is due in an hour
    with tenant_context(t):
        ts = db.session.scalar(select(Timestamp))
        ts.gen_time = ts.gen_time - dt.timedelta(hours=2)  # as if stamped two hours ago
        db.session.commit()
    assert runner.invoke(args=["notary", "timestamp", "--tenant", "edomex"]).exit_code == 0
    assert sorted(tokens(t)) == [1, 3]


def test_misconfiguration_is_named_and_publishing_goes_on(app, runner, tsa):
    t = configure(app, tsa_url=tsa.url)  # no chain
    publish_pages(t, "a")
    result = runner.invoke(args=["notary", "timestamp", "--tenant", "edomex"])
    assert result.exit_code == 1 and "tsa_chain" in result.output
    configure(app, tsa_url=tsa.url, tsa_chain="no-such-chain.pem")
    result = runner.invoke(args=["notary", "timestamp", "--tenant", "edomex"])
    assert result.exit_code == 1 and "no-such-chain.pem" in result.output
    assert tsa.requests == 0


def test_time_stamps_stay_in_their_tenant(app, client, tsa, tsa_files):
    t = configure(app, tsa_url=tsa.url, tsa_chain=str(tsa_files.chain_pem))
    publish_pages(t, "a", "b")
    with tenant_context(app.extensions["comun"].tenants["hidalgo"]):
        publish(Page(slug="h", title="H"))  # hidalgo has a checkpoint of size 1 but no TSA
    assert client.get("/hidalgo/notary/checkpoint.tsr").status_code == 404
    assert client.get("/hidalgo/notary/checkpoints/1/timestamp.tsr").status_code == 404
    assert client.get("/hidalgo/notary/checkpoints/2/note").status_code == 404
    assert client.get("/hidalgo/notary/checkpoints/1/note").data != client.get("/edomex/notary/checkpoints/1/note").data
    assert client.get("/hidalgo/notary/checkpoints/x/note").status_code == 400
