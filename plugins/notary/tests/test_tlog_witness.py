"""Tests for plugins.notary.tlog.witness (C2SP tlog-witness add-checkpoint logic)."""

import base64

import pytest

from plugins.notary.tlog import note
from plugins.notary.tlog.checkpoint import Checkpoint, sign_checkpoint
from plugins.notary.tlog.cosignature import (
    cosignature_timestamp,
    generate_cosignature_key,
    new_cosignature_signer,
)
from plugins.notary.tlog.merkle import EMPTY_ROOT, CompactRange, consistency_proof, leaf_hash
from plugins.notary.tlog.witness import (
    SIZE_CONTENT_TYPE,
    LogState,
    MemoryWitnessStore,
    Witness,
    WitnessRequestError,
    format_add_checkpoint_request,
    logs_from_vkeys,
    parse_add_checkpoint_request,
)

ORIGIN = "example.com/log"
NOW = 1_700_000_000


class Log:
    """A tiny in-memory log for tests."""

    def __init__(self, origin=ORIGIN, prefix=b"entry", skey=None):
        if skey is None:
            skey, _ = note.generate_key(origin)
        self.signer = note.new_signer(skey)
        self.vkey = self.signer.vkey
        self.origin = origin
        self.prefix = prefix
        self.store = {}
        self.cr = CompactRange()
        self.roots = {0: EMPTY_ROOT}

    def grow(self, n):
        for _ in range(n):
            i = self.cr.size
            for lvl, idx, h in self.cr.append(leaf_hash(b"%s %d" % (self.prefix, i))):
                self.store[(lvl, idx)] = h
            self.roots[self.cr.size] = self.cr.root()
        return self

    def get(self, level, index):
        return self.store[(level, index)]

    def checkpoint(self, size=None, signer=None):
        size = self.cr.size if size is None else size
        cp = Checkpoint(self.origin, size, self.roots[size])
        return sign_checkpoint(cp, signer or self.signer)

    def request(self, old, size=None, proof=None, signer=None):
        size = self.cr.size if size is None else size
        if proof is None:
            proof = consistency_proof(old, size, self.get) if old <= size else []
        return format_add_checkpoint_request(old, proof, self.checkpoint(size, signer))


@pytest.fixture
def setup():
    log = Log()
    wskey, wvkey = generate_cosignature_key("witness.example/w1")
    wsigner = new_cosignature_signer(wskey, clock=lambda: NOW)
    store = MemoryWitnessStore()
    witness = Witness(logs_from_vkeys([log.vkey]), wsigner, store.load, store.save)
    return log, witness, store, wsigner


def assert_cosigned(log, resp, wsigner, size):
    assert resp.status == 200, resp.body
    assert resp.content_type.startswith("text/plain")
    assert resp.body.startswith("— witness.example/w1 ".encode()) and resp.body.endswith(b"\n")
    # client side: concatenate the response to the checkpoint and open it
    full = log.checkpoint(size) + resp.body
    n = note.open_note(full, [note.new_verifier(log.vkey), wsigner.verifier()])
    assert [s.name for s in n.sigs] == [ORIGIN, "witness.example/w1"]
    assert cosignature_timestamp(n.sigs[1]) == NOW


# ------------------------------------------------------------------ happy path and 409


def test_first_checkpoint_then_consistent_growth(setup):
    log, witness, store, wsigner = setup
    log.grow(5)
    r = witness.add_checkpoint(log.request(0))
    assert_cosigned(log, r, wsigner, 5)
    assert store.load(ORIGIN).size == 5 and store.load(ORIGIN).root_hash == log.roots[5]
    log.grow(4)
    r = witness.add_checkpoint(log.request(5))
    assert_cosigned(log, r, wsigner, 9)
    assert store.load(ORIGIN).size == 9
    assert store.load(ORIGIN).checkpoint == log.checkpoint(9)
    # same checkpoint again: fine, cosigned again, state unchanged
    r = witness.add_checkpoint(log.request(9))
    assert_cosigned(log, r, wsigner, 9)


def test_stale_old_size_gets_409_with_latest_size(setup):
    log, witness, store, _ = setup
    log.grow(5)
    assert witness.add_checkpoint(log.request(0)).ok
    log.grow(10)
    r = witness.add_checkpoint(log.request(3))
    assert (r.status, r.content_type, r.body) == (409, SIZE_CONTENT_TYPE, b"5\n")
    # a client with no knowledge asks with old 0 to learn the size
    r = witness.add_checkpoint(log.request(0))
    assert (r.status, r.content_type, r.body) == (409, "text/x.tlog.size", b"5\n")
    # then retries with the right old size
    assert witness.add_checkpoint(log.request(5)).ok
    assert store.load(ORIGIN).size == 15


def test_refuses_rollback(setup):
    log, witness, store, _ = setup
    log.grow(20)
    assert witness.add_checkpoint(log.request(0)).ok
    # an older checkpoint (size 12) with old = current size: old > checkpoint size
    r = witness.add_checkpoint(log.request(20, size=12, proof=[]))
    assert r.status == 400
    # an older checkpoint with a matching-looking old size: 409, nothing changes
    r = witness.add_checkpoint(log.request(8, size=12))
    assert (r.status, r.body) == (409, b"20\n")
    assert store.load(ORIGIN).size == 20 and store.load(ORIGIN).root_hash == log.roots[20]


def test_same_size_different_root_is_409(setup):
    log, witness, store, _ = setup
    log.grow(6)
    assert witness.add_checkpoint(log.request(0)).ok
    fork = Log(skey=log.signer.skey, prefix=b"forked").grow(6)
    r = witness.add_checkpoint(fork.request(6, proof=[]))
    assert (r.status, r.content_type, r.body) == (409, SIZE_CONTENT_TYPE, b"6\n")
    assert store.load(ORIGIN).root_hash == log.roots[6]


# ------------------------------------------------------------------ 422


def test_inconsistent_checkpoint_is_refused_state_unchanged(setup):
    log, witness, store, wsigner = setup
    log.grow(9)
    assert witness.add_checkpoint(log.request(0)).ok
    # The log forks: same key, different history, larger tree.
    fork = Log(skey=log.signer.skey, prefix=b"evil").grow(14)
    r = witness.add_checkpoint(fork.request(9))  # fork's own (self-consistent) proof
    assert r.status == 422, r.body
    assert b"does not verify" in r.body
    assert store.load(ORIGIN).size == 9 and store.load(ORIGIN).root_hash == log.roots[9]
    # the honest continuation still works afterwards
    log.grow(5)
    assert_cosigned(log, witness.add_checkpoint(log.request(9)), wsigner, 14)


def test_tampered_proof_is_422(setup):
    log, witness, store, _ = setup
    log.grow(7)
    assert witness.add_checkpoint(log.request(0)).ok
    log.grow(6)
    proof = consistency_proof(7, 13, log.get)
    bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1])] + proof[1:]
    assert witness.add_checkpoint(log.request(7, proof=bad)).status == 422
    assert witness.add_checkpoint(log.request(7, proof=proof[:-1])).status == 422
    assert witness.add_checkpoint(log.request(7, proof=[])).status == 422
    assert store.load(ORIGIN).size == 7
    assert witness.add_checkpoint(log.request(7, proof=proof)).ok


def test_old_zero_requires_empty_proof(setup):
    log, witness, _, _ = setup
    log.grow(4)
    r = witness.add_checkpoint(log.request(0, proof=[b"\x00" * 32]))
    assert r.status == 422


def test_empty_tree_checkpoint(setup):
    log, witness, store, _ = setup
    assert witness.add_checkpoint(log.request(0, size=0)).ok
    assert store.load(ORIGIN) == LogState(0, EMPTY_ROOT, log.checkpoint(0))
    bad = sign_checkpoint(Checkpoint(ORIGIN, 0, b"\x01" * 32), log.signer)
    assert witness.add_checkpoint(format_add_checkpoint_request(0, [], bad)).status == 409
    store2 = MemoryWitnessStore()
    w2 = Witness({ORIGIN: [note.new_verifier(log.vkey)]}, witness.signers, store2.load, store2.save)
    assert w2.add_checkpoint(format_add_checkpoint_request(0, [], bad)).status == 422
    assert store2.load(ORIGIN) is None


# ------------------------------------------------------------------ 403 / 404 / 400


def test_unknown_origin_is_404(setup):
    _, witness, store, _ = setup
    other = Log(origin="other.example/log").grow(3)
    r = witness.add_checkpoint(other.request(0))
    assert r.status == 404
    assert store.load("other.example/log") is None


def test_untrusted_signature_is_403(setup):
    log, witness, store, _ = setup
    log.grow(3)
    impostor = note.new_signer(note.generate_key(ORIGIN)[0])  # same name, other key
    r = witness.add_checkpoint(log.request(0, signer=impostor))
    assert r.status == 403
    # a known key whose signature is broken is also refused
    good = log.checkpoint()
    broken = good.replace(b"\n3\n", b"\n4\n")
    r = witness.add_checkpoint(format_add_checkpoint_request(0, [], broken))
    assert r.status == 403
    assert store.load(ORIGIN) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 0",
        b"old 0\n",
        b"old 00\n\n",
        b"old -1\n\n",
        b"old x\n\n",
        b"new 0\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\n" + base64.b64encode(b"\x00" * 31) + b"\n\n",
        b"old 0\n" + (base64.b64encode(b"\x00" * 32) + b"\n") * 64 + b"\n",
        b"old 0\n\n",
        b"old 0\n\nnot a note\n",
    ],
)
def test_malformed_requests_are_400(setup, body):
    log, witness, _, _ = setup
    r = witness.add_checkpoint(body)
    assert r.status == 400, (body, r)


def test_malformed_checkpoint_body_is_400(setup):
    log, witness, _, _ = setup
    signed_garbage = note.sign_note(ORIGIN + "\nnot a size\n", log.signer)
    assert witness.add_checkpoint(format_add_checkpoint_request(0, [], signed_garbage)).status == 400


# ------------------------------------------------------------------ parsing and atomicity


def test_parse_request_spec_example():
    body = (
        "old 20852014\n"
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
        "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
        "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
        "\n"
        "example.com/behind-the-sofa\n"
        "20852163\n"
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        "\n"
        "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
    ).encode()
    req = parse_add_checkpoint_request(body)
    assert req.old_size == 20852014
    assert len(req.proof) == 4 and all(len(p) == 32 for p in req.proof)
    assert req.checkpoint.startswith(b"example.com/behind-the-sofa\n20852163\n")
    assert format_add_checkpoint_request(req.old_size, req.proof, req.checkpoint) == body
    n = note.parse_note(req.checkpoint)
    assert len(n.unverified_sigs) == 2


def test_parse_request_limits():
    ok = b"old 0\n" + (base64.b64encode(b"\x00" * 32) + b"\n") * 63 + b"\nx\n"
    assert len(parse_add_checkpoint_request(ok).proof) == 63
    with pytest.raises(WitnessRequestError, match="63"):
        parse_add_checkpoint_request(b"old 0\n" + (base64.b64encode(b"\x00" * 32) + b"\n") * 64 + b"\nx\n")
    with pytest.raises(WitnessRequestError, match="leading zeroes"):
        parse_add_checkpoint_request(b"old 01\n\nx\n")
    with pytest.raises(ValueError):
        format_add_checkpoint_request(0, [b"\x00" * 32] * 64, b"x")


def test_lost_race_does_not_roll_back(setup):
    """If the state changes between load and save, the CAS fails and we answer 409."""
    log, _, _, wsigner = setup
    log.grow(10)
    store = MemoryWitnessStore()
    assert store.save(ORIGIN, None, LogState(4, log.roots[4]))
    calls = []

    def racing_load(origin):
        st = store.load(origin)
        if not calls:
            calls.append(1)
            # another request lands between our load and our save
            assert store.save(origin, st, LogState(10, log.roots[10]))
        return st

    w = Witness(logs_from_vkeys([log.vkey]), wsigner, racing_load, store.save)
    # request from 4 to 7 (valid proof), while the state moves to 10
    r = w.add_checkpoint(log.request(4, size=7))
    assert (r.status, r.body) == (409, b"10\n")
    assert store.load(ORIGIN).size == 10


def test_multiple_witness_keys(setup):
    log, _, _, w1 = setup
    w2 = new_cosignature_signer(generate_cosignature_key("witness.example/w2")[0], clock=lambda: NOW + 1)
    store = MemoryWitnessStore()
    w = Witness(logs_from_vkeys([log.vkey]), [w1, w2], store.load, store.save)
    log.grow(2)
    r = w.add_checkpoint(log.request(0))
    assert r.ok and r.body.count(b"\n") == 2
    n = note.open_note(log.checkpoint() + r.body, [w1.verifier(), w2.verifier()])
    assert [s.name for s in n.sigs] == ["witness.example/w1", "witness.example/w2"]


def test_memory_store_cas():
    s = MemoryWitnessStore()
    a, b = LogState(1, b"\x01" * 32), LogState(2, b"\x02" * 32)
    assert s.save("o", None, a)
    assert not s.save("o", None, b)
    assert not s.save("o", LogState(1, b"\x09" * 32), b)
    assert s.save("o", a, b)
    assert s.load("o") == b and s.load("x") is None
