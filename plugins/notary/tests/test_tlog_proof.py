"""Tests for plugins.notary.tlog.proof (C2SP tlog-proof receipts), end to end:
a log, two witnesses running the tlog-witness logic, a tlog-policy, and
offline verification of a receipt."""

import base64

import pytest

from plugins.notary.tlog import note
from plugins.notary.tlog.checkpoint import Checkpoint, sign_checkpoint
from plugins.notary.tlog.cosignature import generate_cosignature_key, new_cosignature_signer
from plugins.notary.tlog.merkle import CompactRange, consistency_proof, inclusion_proof, leaf_hash, verify_consistency
from plugins.notary.tlog.policy import parse_policy
from plugins.notary.tlog.proof import (
    HEADER,
    ReceiptError,
    TlogProof,
    format_proof,
    parse_proof,
    verify_receipt,
)
from plugins.notary.tlog.witness import MemoryWitnessStore, Witness, format_add_checkpoint_request, logs_from_vkeys

ORIGIN = "notary.example/tenant-a"

SPEC_EXAMPLE = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
— witness1.example mJirIklj[...]qY9v2B/5bg==
"""


class World:
    def __init__(self, n_entries=37):
        skey, self.log_vkey = note.generate_key(ORIGIN)
        self.log_signer = note.new_signer(skey)
        self.entries = [b'{"doc": %d}' % i for i in range(n_entries)]
        self.store = {}
        cr = CompactRange()
        for e in self.entries:
            for lvl, idx, h in cr.append(leaf_hash(e)):
                self.store[(lvl, idx)] = h
        self.cp = Checkpoint(ORIGIN, cr.size, cr.root())
        self.signed = sign_checkpoint(self.cp, self.log_signer)
        self.witness_signers = []
        self.witness_vkeys = []
        cosigs = b""
        for i, name in enumerate(["w1.example", "w2.example", "w3.example"]):
            wskey, wvkey = generate_cosignature_key(name)
            ws = new_cosignature_signer(wskey, clock=lambda i=i: 1_700_000_000 + i)
            self.witness_signers.append(ws)
            self.witness_vkeys.append(wvkey)
            st = MemoryWitnessStore()
            w = Witness(logs_from_vkeys([self.log_vkey]), ws, st.load, st.save)
            r = w.add_checkpoint(format_add_checkpoint_request(0, [], self.signed))
            assert r.ok, r
            cosigs += r.body
        self.cosigned = self.signed + cosigs

    def get(self, level, index):
        return self.store[(level, index)]

    def receipt(self, index, checkpoint=None, extra=None):
        return format_proof(
            index, inclusion_proof(index, self.cp.size, self.get), checkpoint or self.cosigned, extra
        )

    def policy(self, quorum="group ws 2 W1 W2 W3\nquorum ws\n"):
        lines = [f"log {self.log_vkey}"]
        for i, vk in enumerate(self.witness_vkeys, 1):
            lines.append(f"witness W{i} {vk}")
        return parse_policy("\n".join(lines) + "\n" + quorum)


@pytest.fixture(scope="module")
def world():
    return World()


def test_receipt_round_trip_and_verify(world):
    pol = world.policy()
    for index in [0, 1, 17, 36]:
        r = world.receipt(index)
        assert r.startswith(b"c2sp.org/tlog-proof@v1\nindex %d\n" % index)
        tp = parse_proof(r)
        assert tp.index == index and tp.checkpoint == world.cosigned and tp.extra is None
        assert format_proof(tp.index, tp.hashes, tp.checkpoint) == r
        v = verify_receipt(r, world.entries[index], pol, origin=ORIGIN)
        assert v.index == index
        assert v.checkpoint == world.cp
        assert v.leaf_hash == leaf_hash(world.entries[index])
        assert v.log_key == world.log_vkey
        assert v.witnesses == ("W1", "W2", "W3")
        assert v.cosigned_at == {"W1": 1_700_000_000, "W2": 1_700_000_001, "W3": 1_700_000_002}
    # parsed object accepted too
    assert verify_receipt(parse_proof(world.receipt(3)), world.entries[3], pol).index == 3


def test_receipt_with_extra(world):
    r = world.receipt(5, extra=b"vrf-proof-bytes")
    assert b"\nextra " + base64.b64encode(b"vrf-proof-bytes") + b"\nindex 5\n" in r
    tp = parse_proof(r)
    assert tp.extra == b"vrf-proof-bytes"
    assert verify_receipt(r, world.entries[5], world.policy()).extra == b"vrf-proof-bytes"


def test_tampered_receipts_fail(world):
    pol = world.policy()
    good = world.receipt(9)
    verify_receipt(good, world.entries[9], pol)
    # wrong entry
    with pytest.raises(ReceiptError, match="inclusion proof does not verify"):
        verify_receipt(good, world.entries[10], pol)
    with pytest.raises(ReceiptError, match="inclusion proof"):
        verify_receipt(good, world.entries[9] + b" ", pol)
    # wrong index
    with pytest.raises(ReceiptError, match="inclusion proof"):
        verify_receipt(good.replace(b"index 9\n", b"index 8\n"), world.entries[9], pol)
    # flipped bit in a proof hash
    tp = parse_proof(good)
    bad_hashes = list(tp.hashes)
    bad_hashes[2] = bytes([bad_hashes[2][0] ^ 4]) + bad_hashes[2][1:]
    with pytest.raises(ReceiptError, match="inclusion proof"):
        verify_receipt(format_proof(9, bad_hashes, tp.checkpoint), world.entries[9], pol)
    # checkpoint body changed: the log signature no longer verifies
    forged = good.replace(b"\n%d\n" % world.cp.size, b"\n%d\n" % (world.cp.size + 1))
    with pytest.raises(ReceiptError, match="invalid signature"):
        verify_receipt(forged, world.entries[9], pol)
    # With an "all witnesses" quorum every single-byte change anywhere in the
    # receipt is rejected.  (With 2-of-3, renaming one cosignature only makes
    # it an unknown, ignored signature, which is what the spec requires.)
    pol_all = world.policy("group ws all W1 W2 W3\nquorum ws\n")
    verify_receipt(good, world.entries[9], pol_all)
    for i in range(len(good)):
        mod = bytearray(good)
        mod[i] ^= 0x01
        try:
            verify_receipt(bytes(mod), world.entries[9], pol_all)
        except ReceiptError:
            continue
        pytest.fail(f"receipt with byte {i} changed ({good[i:i+1]!r}) still verified")


def test_unknown_or_renamed_cosignature_is_ignored(world):
    good = world.receipt(4)
    renamed = good.replace("— w1.example ".encode(), "— v1.example ".encode())
    v = verify_receipt(renamed, world.entries[4], world.policy())
    assert v.witnesses == ("W2", "W3")


def test_quorum_and_log_key(world):
    pol = world.policy()
    only_log = world.receipt(2, checkpoint=world.signed)
    with pytest.raises(ReceiptError, match="quorum 'ws' not satisfied \\(cosigned by: none\\)"):
        verify_receipt(only_log, world.entries[2], pol)
    one_cosig = world.signed + world.cosigned[len(world.signed):].split(b"\n", 1)[0] + b"\n"
    with pytest.raises(ReceiptError, match="cosigned by: W1\\)"):
        verify_receipt(world.receipt(2, checkpoint=one_cosig), world.entries[2], pol)
    # quorum none: the log signature alone is enough
    assert verify_receipt(only_log, world.entries[2], world.policy("quorum none\n")).witnesses == ()
    # a policy with another log key
    other = parse_policy(f"log {note.generate_key(ORIGIN)[1]}\nquorum none\n")
    with pytest.raises(ReceiptError, match="no signature from a log or witness"):
        verify_receipt(only_log, world.entries[2], other)
    # witnesses only, log unknown: cosignatures verify but no log signature
    wonly = parse_policy("".join(f"witness W{i} {vk}\n" for i, vk in enumerate(world.witness_vkeys)) + "quorum none\n")
    with pytest.raises(ReceiptError, match="not signed by a policy log"):
        verify_receipt(world.receipt(2), world.entries[2], wonly)
    with pytest.raises(ReceiptError, match="not the expected"):
        verify_receipt(world.receipt(2), world.entries[2], pol, origin="other.example/log")


def test_log_key_name_must_match_origin():
    # A log whose key name differs from the checkpoint origin is not accepted.
    skey, vkey = note.generate_key("some.other/name")
    cr = CompactRange()
    cr.append(leaf_hash(b"x"))
    signed = sign_checkpoint(Checkpoint(ORIGIN, 1, cr.root()), note.new_signer(skey))
    pol = parse_policy(f"log {vkey}\nquorum none\n")
    with pytest.raises(ReceiptError, match="not signed by a policy log for origin"):
        verify_receipt(format_proof(0, [], signed), b"x", pol)


def test_spec_example_parses():
    tp = parse_proof(SPEC_EXAMPLE)
    assert tp.index == 73894
    assert tp.extra == base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")
    assert len(tp.hashes) == 5 and all(len(h) == 32 for h in tp.hashes)
    assert tp.checkpoint.startswith(b"example.com/fancylog\n109482\n")


@pytest.mark.parametrize(
    "data,why",
    [
        (b"", "ended before"),
        (b"c2sp.org/tlog-proof@v2\nindex 0\n\nx\n", "must start with"),
        (HEADER.encode() + b"\nindex 01\n\nx\n", "leading zeroes"),
        (HEADER.encode() + b"\nindex -1\n\nx\n", "leading zeroes"),
        (HEADER.encode() + b"\nindex 18446744073709551616\n\nx\n", "leading zeroes"),
        (HEADER.encode() + b"\nidx 0\n\nx\n", "missing the 'index N' line"),
        (HEADER.encode() + b"\nextra !!\nindex 0\n\nx\n", "extra data is not valid base64"),
        (HEADER.encode() + b"\nindex 0\nAAAA\n\nx\n", "expected 32"),
        (HEADER.encode() + b"\nindex 0\nnot base64\n\nx\n", "not valid base64"),
        (HEADER.encode() + b"\nindex 0\n" + (base64.b64encode(b"\0" * 32) + b"\n") * 65 + b"\nx\n", "more than 64"),
        (HEADER.encode() + b"\nindex 0\n", "ended before"),
        (HEADER.encode() + b"\nindex 0\n\n", "no checkpoint"),
    ],
)
def test_parse_errors(data, why):
    with pytest.raises(ReceiptError, match=why):
        parse_proof(data)


def test_format_errors():
    with pytest.raises(ValueError):
        format_proof(-1, [], b"x")
    with pytest.raises(ValueError):
        format_proof(0, [b"short"], b"x")
    assert isinstance(parse_proof(format_proof(0, [], "cp\n")), TlogProof)


def test_receipt_survives_log_growth_via_consistency(world):
    """A receipt for an old checkpoint plus a consistency proof ties it to a newer tree."""
    bigger = World.__new__(World)
    bigger.__dict__.update(world.__dict__)
    store = dict(world.store)
    cr = CompactRange.from_storage(world.cp.size, lambda l, i: store[(l, i)])
    for i in range(20):
        for lvl, idx, h in cr.append(leaf_hash(b"later %d" % i)):
            store[(lvl, idx)] = h
    proof = consistency_proof(world.cp.size, cr.size, lambda l, i: store[(l, i)])
    verify_consistency(world.cp.size, cr.size, world.cp.root_hash, cr.root(), proof)
