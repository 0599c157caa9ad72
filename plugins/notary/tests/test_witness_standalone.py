"""``comun-witness``: two standalone witness processes (own folders, free ports) cosign a tenant's
log over HTTP through the notary's client; they refuse what is inconsistent with their state
(wrong old size, a fork signed with the log's own key, a rolled-back tree), unknown logs and
foreign signatures, and keep their state across a restart."""
from __future__ import annotations

import importlib.metadata
import os
import re
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from comun_cms.toolkit import tenant_context
from comun_cms.toolkit.testing import get_tenant
from plugins.notary import services
from plugins.notary import witness_server as ws
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import cosignature as tcs
from plugins.notary.tlog import merkle
from plugins.notary.tlog import note as tnote
from plugins.notary.tlog import witness as twit

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str, lang: str = "en") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    if lang:
        env["LANGUAGE"] = lang
    return subprocess.run([sys.executable, "-m", "plugins.notary.witness_server", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


class WitnessProcess:
    """A ``comun-witness serve`` subprocess on a free port of 127.0.0.1."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.start()

    def start(self) -> None:
        env = {**os.environ, "LANG": "en_US.UTF-8", "LANGUAGE": "en", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "plugins.notary.witness_server", "serve", "--dir", str(self.directory),
             "--port", "0", "--quiet"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://[\d.]+:(\d+)/", line)
        assert m, (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.base = f"http://127.0.0.1:{m.group(1)}"
        self.url = self.base + "/add-checkpoint"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return r.read().decode("utf-8")



@pytest.fixture
def witnesses(tmp_path):
    """Two ``comun-witness serve`` processes on folders made in-process with ``init_folder`` (what
    ``comun-witness init`` runs; the command itself is tested in test_init_makes_a_private_key_once)."""
    made = []
    for i in (1, 2):
        d = tmp_path / f"w{i}"
        ws.init_folder(d, f"observatorio{i}.example/testigo")
        made.append(d)
    procs = [WitnessProcess(d) for d in made]
    yield procs
    for p in procs:
        p.stop()


def _log(app, slug="edomex"):
    """``(tenant, origin, [log vkeys])``; the keys exist once the tenant has published."""
    tenant = get_tenant(app, slug)
    with tenant_context(tenant):
        vkeys = [v.vkey for v in services.log_verifiers(tenant)]
        assert vkeys
        return tenant, services.log_origin(tenant), vkeys


def _latest(app, tenant):
    """``(checkpoint note bytes, size, {old size: consistency proof to size})`` of the tenant's
    latest checkpoint (the proofs are read from the log's database inside its tenant context)."""
    with tenant_context(tenant):
        cp = services.latest_checkpoint()
        get_node = services.node_reader()
        proofs = {old: merkle.consistency_proof(old, cp.size, get_node) for old in range(cp.size + 1)}
        return cp.note.encode("utf-8"), cp.size, proofs


def test_init_makes_a_private_key_once(tmp_path):
    d = tmp_path / "w"
    r = _cli("init", "--dir", str(d), "--name", "ong.example/testigo")
    assert r.returncode == 0, r.stderr
    vkey = r.stdout.strip()
    assert tcs.new_cosignature_verifier(vkey).name == "ong.example/testigo"
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(d / ws.KEY_FILE).st_mode) == 0o600
    again = _cli("init", "--dir", str(d), "--name", "ong.example/testigo")
    assert again.returncode == 0 and again.stdout.strip() == vkey  # generated once, never replaced
    other = _cli("init", "--dir", str(d), "--name", "otra.example/testigo")
    assert other.returncode == 1 and "ong.example/testigo" in other.stderr
    bad = _cli("add-log", "--dir", str(d), "example.org/log", "not-a-key")
    assert bad.returncode == 1 and "Invalid log verifier key" in bad.stderr
    # Spanish first: with no language asked for, the operator reads Spanish
    bad = _cli("add-log", "--dir", str(d), "example.org/log", "not-a-key", lang="")
    assert bad.returncode == 1 and "Llave verificadora de la bitácora no válida" in bad.stderr
    os.chmod(d / ws.KEY_FILE, 0o644)
    served = _cli("serve", "--dir", str(d), "--port", "0")
    assert served.returncode == 1 and "chmod 600" in served.stderr


def test_console_script_is_declared():
    eps = importlib.metadata.entry_points(group="console_scripts")
    assert any(ep.name == "comun-witness" and ep.value == "plugins.notary.witness_server:main" for ep in eps)


def test_two_witness_processes_cosign_a_tenants_log_over_http(app, publish_page, witnesses):
    publish_page("inicio")
    tenant, origin, vkeys = _log(app)
    for w in witnesses:
        for vk in vkeys:
            r = _cli("add-log", "--dir", str(w.directory), origin, vk)
            assert r.returncode == 0, r.stderr
    verifiers = [tcs.new_cosignature_verifier(w.get("/key").strip()) for w in witnesses]
    assert f"log {origin}" in witnesses[0].get("/")
    cosigned = [0, 0]
    for n in range(4):
        publish_page(f"p{n}")
        note_bytes, size, proofs = _latest(app, tenant)
        for i, w in enumerate(witnesses):
            reply = twit.request_cosignature(twit.http_sender(w.url, timeout=10, retries=0), note_bytes,
                                             cosigned[i], lambda old, new: proofs[old])
            assert reply.ok, reply.message()
            lines = twit.cosignature_lines(note_bytes, reply.body, verifiers)
            assert [v.name for v, _ in lines] == [verifiers[i].name]
            # the cosignature verifies with the witness's key over the checkpoint text
            text = tnote.parse_note(note_bytes).text
            assert tcs.verify_cosignature(text, lines[0][1], verifiers[i]) > 0
            cosigned[i] = size
    assert cosigned[0] == cosigned[1] == size >= 4
    # a client that does not know the witness's size starts from 0 and recovers through the 409
    reply = twit.request_cosignature(twit.http_sender(witnesses[0].url, retries=0), note_bytes, 0,
                                     lambda old, new: proofs[old])
    assert reply.ok and reply.old_size == size


def _fork_note(origin, signers, entries):
    cr = merkle.CompactRange()
    store = {}
    for e in entries:
        for level, index, h in cr.append(merkle.leaf_hash(e)):
            store[(level, index)] = h
    note_bytes = tcp.sign_checkpoint(tcp.Checkpoint(origin, len(entries), cr.root()), signers)
    return note_bytes, (lambda lv, ix: store[(lv, ix)])


def test_a_witness_refuses_forks_rollbacks_and_wrong_sizes(app, publish_page, witnesses):
    publish_page("inicio")
    tenant, origin, vkeys = _log(app)
    w = witnesses[0]
    for vk in vkeys:
        assert _cli("add-log", "--dir", str(w.directory), origin, vk).returncode == 0
    for n in range(3):
        publish_page(f"f{n}")
    note_bytes, size, proofs = _latest(app, tenant)
    send = twit.http_sender(w.url, retries=0)
    assert twit.request_cosignature(send, note_bytes, 0, lambda o, n: proofs[o]).ok

    # wrong old size: 409 with the witness's size, as text/x.tlog.size
    req = urllib.request.Request(w.url, data=twit.format_add_checkpoint_request(1, proofs[1], note_bytes), method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 409 and err.value.read() == b"%d\n" % size
    assert err.value.headers["Content-Type"] == "text/x.tlog.size"

    with tenant_context(tenant):
        signers = services.keyring(tenant).log_signers()
    # a fork signed with the log's own key: a bigger tree that does not extend the cosigned one
    fork, fork_nodes = _fork_note(origin, signers, [b"otra %d" % i for i in range(size + 2)])
    proof = merkle.consistency_proof(size, size + 2, fork_nodes)
    status, body = send(twit.format_add_checkpoint_request(size, proof, fork))
    assert status == 422 and b"consistency proof does not verify" in body
    # the same size with another root: 409
    same, _ = _fork_note(origin, signers, [b"otra %d" % i for i in range(size)])
    status, body = send(twit.format_add_checkpoint_request(size, [], same))
    assert (status, body) == (409, b"%d\n" % size)
    # a rolled-back (smaller) tree, validly signed: refused whatever old size the client claims
    with tenant_context(tenant):
        get_node = services.node_reader()
        small_root = merkle.subtree_hash(0, size - 1, get_node)
    small = tcp.sign_checkpoint(tcp.Checkpoint(origin, size - 1, small_root), signers)
    status, body = send(twit.format_add_checkpoint_request(size, [], small))
    assert status == 400 and b"larger than checkpoint size" in body
    status, body = send(twit.format_add_checkpoint_request(size - 1, [], small))
    assert (status, body) == (409, b"%d\n" % size)
    # unknown origin: 404 (C2SP tlog-witness); known origin signed by another key: 403
    other_skey, _ = tnote.generate_key("otro.example/log")
    unknown = tcp.sign_checkpoint(tcp.Checkpoint("otro.example/log", 1, merkle.leaf_hash(b"x")),
                                  [tnote.new_signer(other_skey)])
    assert send(twit.format_add_checkpoint_request(0, [], unknown))[0] == 404
    impostor_skey, _ = tnote.generate_key(tnote.new_verifier(vkeys[0]).name)
    impostor = tcp.sign_checkpoint(tcp.Checkpoint(origin, size + 1, merkle.leaf_hash(b"x")),
                                   [tnote.new_signer(impostor_skey)])
    assert send(twit.format_add_checkpoint_request(size, [], impostor))[0] == 403
    assert send(b"old 01\n\n" + note_bytes)[0] == 400

    # the state survives a restart: the fork and the rollback are still refused
    w.stop()
    w.start()
    send = twit.http_sender(w.url, retries=0)
    assert send(twit.format_add_checkpoint_request(size, proof, fork))[0] == 422
    assert send(twit.format_add_checkpoint_request(size - 1, [], small)) == (409, b"%d\n" % size)
    assert _cli("logs", "--dir", str(w.directory)).stdout == f"{origin}\t{size}\n"


def test_concurrent_requests_for_one_origin_never_roll_back(tmp_path):
    """Twenty threads race checkpoints of different sizes, each from the same old size, against
    one witness: exactly one wins, the rest get 409, and the stored size is the winner's."""
    d = tmp_path / "w"
    ws.init_folder(d, "ong.example/testigo")
    skey, vkey = tnote.generate_key("example.org/log")
    signer = tnote.new_signer(skey)
    ws.add_log(d, "example.org/log", vkey)
    server = ws.make_server(d, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/add-checkpoint" % server.server_address[1]
        entries = [b"e%d" % i for i in range(40)]
        cr, nodes = merkle.CompactRange(), {}
        for e in entries:
            for level, index, h in cr.append(merkle.leaf_hash(e)):
                nodes[(level, index)] = h
        get = lambda lv, ix: nodes[(lv, ix)]  # noqa: E731
        first = tcp.sign_checkpoint(tcp.Checkpoint("example.org/log", 10, merkle.subtree_hash(0, 10, get)), [signer])
        assert twit.http_sender(url)(twit.format_add_checkpoint_request(0, [], first))[0] == 200
        results = {}

        def go(size):
            cp = tcp.sign_checkpoint(tcp.Checkpoint("example.org/log", size, merkle.subtree_hash(0, size, get)), [signer])
            body = twit.format_add_checkpoint_request(10, merkle.consistency_proof(10, size, get), cp)
            results[size] = twit.http_sender(url, timeout=30)(body)[0]
        threads = [threading.Thread(target=go, args=(s,)) for s in range(20, 40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [s for s, st in results.items() if st == 200]
        assert len(winners) == 1 and sorted(set(results.values())) == [200, 409]
        assert ws.SqliteWitnessStore(d).load("example.org/log").size == winners[0]
    finally:
        server.shutdown()
        server.server_close()


def test_http_sender_retries_only_when_asked(tmp_path):
    calls = []
    sender = twit.http_sender("http://127.0.0.1:9/add-checkpoint", timeout=1, retries=2, sleep=calls.append)
    with pytest.raises(twit.WitnessUnavailableError, match="3 attempt"):
        sender(b"old 0\n\n")
    assert calls == [0.5, 1.0]
    with pytest.raises(twit.WitnessUnavailableError, match="1 attempt"):
        twit.http_sender("http://127.0.0.1:9/add-checkpoint", timeout=1)(b"old 0\n\n")


def test_group_commit_stores_every_origin_and_checks_each_one(tmp_path):
    """Saves of many origins at once share transactions yet each is a compare-and-swap of its own:
    the ones whose expected state is stale are refused, the others are all stored."""
    d = tmp_path / "w"
    ws.init_folder(d, "ong.example/testigo")
    store = ws.SqliteWitnessStore(d)
    roots = [merkle.leaf_hash(b"%d" % i) for i in range(3)]
    for i in range(24):
        assert store.save(f"log{i}", None, twit.LogState(1, roots[0], b"cp1"))
    results = {}

    def go(i):
        # odd logs claim a stale expected state (size 5): they must be refused
        expected = twit.LogState(1, roots[0]) if i % 2 == 0 else twit.LogState(5, roots[0])
        results[i] = store.save(f"log{i}", expected, twit.LogState(2, roots[1], b"cp2"))
    threads = [threading.Thread(target=go, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: i % 2 == 0 for i in range(24)}
    fresh = ws.SqliteWitnessStore(d)
    assert [fresh.load(f"log{i}").size for i in range(24)] == [2 if i % 2 == 0 else 1 for i in range(24)]
    assert not store.save("log0", None, twit.LogState(9, roots[2]))  # an insert over a stored state


def test_a_burst_of_connections_is_queued_not_reset(tmp_path):
    """Many logs connecting at once wait in the listen backlog (the http.server default of 5
    resets connections under such a burst)."""
    d = tmp_path / "w"
    vkey = ws.init_folder(d, "ong.example/testigo")
    server = ws.make_server(d, "127.0.0.1", 0, quiet=True)
    assert server.request_queue_size >= 64
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answers = []

        def get():
            with urllib.request.urlopen("http://127.0.0.1:%d/key" % server.server_address[1], timeout=30) as r:
                answers.append(r.read().decode().strip())
        threads = [threading.Thread(target=get) for _ in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [vkey] * 64
    finally:
        server.shutdown()
        server.server_close()
