"""``comun notary monitor``: a fork signed with the log's own key is detected from two served
checkpoints, kept as evidence anyone can re-verify (``comun notary verify-evidence``), and raises
an alarm (mail outbox, admin banner, exit status 1); gossip with the witnesses' state."""
from __future__ import annotations

import base64
import http.server
import json
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from comun_cms.toolkit import db, tenant_context
from comun_cms.toolkit.testing import get_tenant
from plugins.notary import monitor, services
from plugins.notary.cli import verify_evidence_cmd
from plugins.notary.models import MonitorAlarm
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import merkle, note


class Served:
    """A tiny HTTP server answering GET from ``routes`` (path with query -> bytes); 404 otherwise.
    It plays the log as one audience sees it."""

    def __init__(self, routes: dict[str, bytes]):
        self.routes = routes
        routes_ref = self.routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = routes_ref.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"not here\n")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served():
    s = Served({})
    yield s
    s.stop()


def fork_of(app, size: int):
    """A checkpoint of ``size`` made-up entries signed with edomex's own log key, and a function
    giving the fork's consistency proofs (what a log showing that fork would serve)."""
    t = get_tenant(app, "edomex")
    with tenant_context(t):
        ring = services.keyring(t)
        origin = services.log_origin(t)
    cr, nodes = merkle.CompactRange(), {}
    for i in range(size):
        for level, idx, h in cr.append(merkle.leaf_hash(b"fork entry %d" % i)):
            nodes[(level, idx)] = h
    note_bytes = tcp.sign_checkpoint(tcp.Checkpoint(origin, size, cr.root()), ring.log_signers())

    def proof(old: int) -> bytes:
        hashes = merkle.consistency_proof(old, size, lambda lv, ix: nodes[(lv, ix)])
        return json.dumps({"old": old, "new": size, "hashes": [base64.b64encode(h).decode() for h in hashes]}).encode()
    return note_bytes, proof


def write_config(app, path, url):
    t = get_tenant(app, "edomex")
    with tenant_context(t):
        ring = services.keyring(t)
        origin = services.log_origin(t)
        witnesses = [services.keyring(o).witness_vkeys[0] for o in services.peer_tenants(t)]
    path.write_text(f'[[log]]\nurl = "{url}/edomex/notary"\norigin = "{origin}"\nkeys = {json.dumps(ring.log_vkeys)}\n'
                    f'witnesses = {json.dumps(witnesses)}\n')
    return str(path)


def test_monitor_follows_a_log_then_detects_a_fork_from_two_served_checkpoints(
        app, client, runner, publish_page, served, tmp_path):
    for s in "abc":
        publish_page(s)
    served.routes["/edomex/notary/checkpoint"] = client.get("/edomex/notary/checkpoint").data
    cfg = write_config(app, tmp_path / "monitor.toml", served.url)
    args = ["notary", "monitor", "--config", cfg, "--state", str(tmp_path / "state"), "--email", "alertas@example.org"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "OK, 3 entries (new); cosigned by: " in result.output and "hidalgo" in result.output

    # the real log grows: consistent, followed
    publish_page("d")
    publish_page("e")
    served.routes["/edomex/notary/checkpoint"] = client.get("/edomex/notary/checkpoint").data
    served.routes["/edomex/notary/proof/consistency?old=3&new=5"] = client.get(
        "/edomex/notary/proof/consistency?old=3&new=5").data
    result = runner.invoke(args=args)
    assert result.exit_code == 0 and "OK, 5 entries (new)" in result.output, result.output

    # now another audience is shown a fork of 7 entries signed with the log's own key
    fork, proof = fork_of(app, 7)
    served.routes["/edomex/notary/checkpoint"] = fork
    served.routes["/edomex/notary/proof/consistency?old=5&new=7"] = proof(5)
    result = runner.invoke(args=args)
    assert result.exit_code == 1, result.output
    assert "ALARM split-view" in result.output and "(inconsistent)" in result.output
    alarm = db.session.scalar(select(MonitorAlarm))
    assert alarm.kind == "split-view" and alarm.resolved_at is None
    evidence = json.loads(open(alarm.evidence, encoding="utf-8").read())
    assert evidence["kind"] == "inconsistent" and [c["note"].split("\n")[1] for c in evidence["checkpoints"]] == ["5", "7"]

    # anyone can re-verify the evidence, offline, with the key they trust
    with tenant_context(get_tenant(app, "edomex")):
        vkey = services.keyring(get_tenant(app, "edomex")).log_vkeys[0]
    ok = CliRunner().invoke(verify_evidence_cmd, [alarm.evidence, "--key", vkey])
    assert ok.exit_code == 0 and "PROVEN: split view of" in ok.output, ok.output
    # ... and a changed byte anywhere that matters makes it prove nothing
    for bad in (dict(evidence, checkpoints=[evidence["checkpoints"][0],
                                            dict(evidence["checkpoints"][1],
                                                 note=evidence["checkpoints"][1]["note"].replace("\n7\n", "\n8\n"))]),
                dict(evidence, proof=dict(evidence["proof"], hashes=evidence["proof"]["hashes"][::-1])),
                dict(evidence, checkpoints=[evidence["checkpoints"][0], evidence["checkpoints"][0]])):
        with pytest.raises(monitor.EvidenceError):
            monitor.verify_evidence(bad, [vkey])
    _skey, other_key = note.generate_key(evidence["origin"])  # a key the log never had
    (tmp_path / "e.json").write_text(json.dumps(evidence))
    assert CliRunner().invoke(verify_evidence_cmd, [str(tmp_path / "e.json"), "--key", other_key]).exit_code == 1

    # the alarm: mail queued in the outbox, banner on the admin dashboard, until resolved
    outbox = db.metadata.tables["mail_outbox"]
    mail = db.session.execute(select(outbox).where(outbox.c.kind == "notary_monitor_alarm")).one()
    assert mail.recipient == "alertas@example.org" and "verify-evidence" in mail.text_body
    # the monitor keeps the view it trusted: the fork is not adopted
    assert monitor.load_state(tmp_path / "state", evidence["origin"])["size"] == 5
    result = runner.invoke(args=["notary", "monitor", "--resolve", str(alarm.id)])
    assert result.exit_code == 0 and db.session.get(MonitorAlarm, alarm.id).resolved_at is not None


def test_a_same_size_fork_and_gossip_with_the_witnesses_state(app, client, runner, publish_page, served, tmp_path):
    for s in "abc":
        publish_page(s)  # puebla's and hidalgo's witnesses cosigned the real checkpoint of 3
    fork, _proof = fork_of(app, 3)
    served.routes["/edomex/notary/checkpoint"] = fork  # a fresh monitor is shown only the fork ...
    result = runner.invoke(args=["notary", "monitor", "--local", "--local-url", served.url,
                                 "--state", str(tmp_path / "state")])
    assert result.exit_code == 1, result.output
    # ... and the witnesses' cosigned checkpoint (gossip) gives it away
    assert "ALARM split-view" in result.output and "(same-size): witness of" in result.output
    assert "hidalgo/notary" in result.output and "could not check" in result.output  # the others: not served here
    path = db.session.scalar(select(MonitorAlarm.evidence))
    ok = CliRunner().invoke(verify_evidence_cmd, [path])
    assert ok.exit_code == 0 and "two checkpoints of 3 entries" in ok.output


def test_the_banner_shows_open_alarms_to_the_tenants_staff(app, client, login_as):
    login_as("admin")
    assert "notary-monitor-alarm" not in client.get("/edomex/admin/").get_data(as_text=True)
    db.session.add(MonitorAlarm(origin="otro.example/notary", kind="split-view", message="m", evidence="/x.json"))
    db.session.commit()
    page = client.get("/edomex/admin/").get_data(as_text=True)
    assert "notary-monitor-alarm" in page and "otro.example/notary" in page
    anonymous = app.test_client().get("/edomex/admin/")
    assert anonymous.status_code in (302, 303, 401, 403) and b"otro.example" not in anonymous.data


def test_bad_monitor_configuration_is_named(app, runner, tmp_path):
    (tmp_path / "m.toml").write_text('[[log]]\nurl = "http://x"\norigin = "o"\nkeys = ["nonsense"]\n')
    result = runner.invoke(args=["notary", "monitor", "--config", str(tmp_path / "m.toml")])
    assert result.exit_code != 0 and "[[log]] number 1" in result.output
    assert "nothing to follow" in runner.invoke(args=["notary", "monitor"]).output


def test_a_rollback_and_a_proof_the_log_cannot_give_raise_alarms(app, client, runner, publish_page, served, tmp_path):
    for s in "abc":
        publish_page(s)
    three = client.get("/edomex/notary/checkpoint").data
    publish_page("d")
    publish_page("e")
    five = client.get("/edomex/notary/checkpoint").data
    cfg = write_config(app, tmp_path / "monitor.toml", served.url)
    args = ["notary", "monitor", "--config", cfg, "--state", str(tmp_path / "state"), "--quiet"]
    served.routes["/edomex/notary/checkpoint"] = five
    assert runner.invoke(args=args).exit_code == 0
    # the log now serves an older checkpoint: consistent, but a rollback
    served.routes["/edomex/notary/checkpoint"] = three
    served.routes["/edomex/notary/proof/consistency?old=3&new=5"] = client.get(
        "/edomex/notary/proof/consistency?old=3&new=5").data
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and "ALARM rollback" in result.output and "5 were seen before" in result.output
    # the log grows but serves a damaged proof: it cannot prove its own history, an "unproven" alarm
    publish_page("f")
    served.routes["/edomex/notary/checkpoint"] = client.get("/edomex/notary/checkpoint").data
    good = json.loads(client.get("/edomex/notary/proof/consistency?old=5&new=6").data)
    served.routes["/edomex/notary/proof/consistency?old=5&new=6"] = json.dumps(
        dict(good, hashes=[base64.b64encode(b"\x00" * 32).decode()] * len(good["hashes"]))).encode()
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and "ALARM unproven" in result.output, result.output
    path = db.session.scalars(select(MonitorAlarm.evidence).where(MonitorAlarm.kind == "unproven")).one()
    checked = CliRunner().invoke(verify_evidence_cmd, [path])
    assert checked.exit_code == 1 and "NOT PROVEN" in checked.output
    assert monitor.load_state(tmp_path / "state", json.load(open(path))["origin"])["size"] == 5
