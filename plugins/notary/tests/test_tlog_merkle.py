"""Tests for plugins.notary.tlog.merkle (RFC 6962 / RFC 9162 section 2.1).

Reference vectors:
* the 8-leaf tree used by Certificate Transparency (RFC 6962 reference tests,
  as published in github.com/transparency-dev/merkle proof/verify_test.go):
  roots for sizes 1..8, inclusion and consistency proofs;
* real Certificate Transparency data from the Google Argon 2020 log, as
  published in golang.org/x/mod sumdb/tlog testdata/argon2020 (an inclusion
  proof for leaf 10000 and a consistency proof 3654490 -> 961984013).
"""

import base64
import hashlib
import json
from functools import lru_cache

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from plugins.notary.tlog import merkle
from plugins.notary.tlog.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_hash,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]

ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (leaf index (0-based), tree size, proof)
INCLUSION = [
    (0, 1, []),
    (0, 8, [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ]),
    (5, 8, [
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]),
    (2, 3, [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    ]),
    (1, 5, [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ]),
]

CONSISTENCY = [
    (1, 1, []),
    (1, 8, [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ]),
    (6, 8, [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]),
    (2, 5, [
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ]),
    (6, 7, [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def build_store(entries):
    store = {}
    cr = CompactRange()
    for e in entries:
        for level, index, nh in cr.append(leaf_hash(e)):
            assert (level, index) not in store
            store[(level, index)] = nh
    return store, cr


@pytest.fixture(scope="module")
def ref_tree():
    store, cr = build_store(LEAVES)
    return store, (lambda level, index: store[(level, index)])


# ---------------------------------------------------------------- hashing


def test_empty_root_and_hash_primitives():
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_hash([]) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    with pytest.raises(ValueError):
        node_hash(a, b"short")
    with pytest.raises(TypeError):
        leaf_hash("not bytes")


def test_go_sumdb_record_hash_vector():
    # golang.org/x/mod sumdb/tlog note_test.go: RecordHash("hello world")
    assert base64.b64encode(leaf_hash(b"hello world")).decode() == (
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size):
    hashes = [leaf_hash(x) for x in LEAVES[:size]]
    assert root_hash(hashes) == ROOTS[size - 1]
    assert merkle.root_from_entries(LEAVES[:size]) == ROOTS[size - 1]
    store, cr = build_store(LEAVES[:size])
    assert cr.size == size and cr.root() == ROOTS[size - 1]
    assert subtree_hash(0, size, lambda l, i: store[(l, i)]) == ROOTS[size - 1]


# ---------------------------------------------------------------- reference proofs


@pytest.mark.parametrize("index,size,proof", INCLUSION)
def test_reference_inclusion_proofs(ref_tree, index, size, proof):
    _, get = ref_tree
    assert inclusion_proof(index, size, get) == proof
    lh = leaf_hash(LEAVES[index])
    assert root_from_inclusion_proof(lh, index, size, proof) == ROOTS[size - 1]
    verify_inclusion(lh, index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize("old,new,proof", CONSISTENCY)
def test_reference_consistency_proofs(ref_tree, old, new, proof):
    _, get = ref_tree
    assert consistency_proof(old, new, get) == proof
    verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


def _inclusion_probes(index, size, proof, root, lh):
    """Corruptions from transparency-dev/merkle proof/verify_test.go."""
    probes = [
        (index - 1, size, root, lh, proof, "index - 1"),
        (index + 1, size, root, lh, proof, "index + 1"),
        (index ^ 2, size, root, lh, proof, "index ^ 2"),
        (index, size * 2, root, lh, proof, "size * 2"),
        (index, size // 2, root, lh, proof, "size / 2"),
        (index, size, root, b"WrongLeaf", proof, "wrong leaf"),
        (index, size, EMPTY_ROOT, lh, proof, "empty root"),
        (index, size, SOME_HASH, lh, proof, "random root"),
        (index, size, root, lh, proof + [b""], "trailing garbage"),
        (index, size, root, lh, proof + [root], "trailing root"),
        (index, size, root, lh, [b""] + proof, "preceding garbage"),
        (index, size, root, lh, [root] + proof, "preceding root"),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((index, size, root, lh, bad, f"modified proof[{i}]"))
    if proof:
        probes.append((index, size, root, lh, proof[:-1], "removed component"))
    if len(proof) > 1:
        probes.append((index, size, root, lh, [proof[0], SOME_HASH] + proof[1:], "inserted"))
    return probes


@pytest.mark.parametrize("index,size,proof", INCLUSION[1:])
def test_reference_inclusion_corruptions_fail(index, size, proof):
    lh = leaf_hash(LEAVES[index])
    root = ROOTS[size - 1]
    for i, s, r, l, p, desc in _inclusion_probes(index, size, proof, root, lh):
        with pytest.raises(ValueError):
            if i < 0:
                raise ValueError("negative index")
            verify_inclusion(l, i, s, p, r)
            pytest.fail(f"verified a corrupted inclusion proof: {desc}")


def _consistency_probes(s1, s2, r1, r2, proof):
    probes = [
        (s1 - 1, s2, r1, r2, proof, "size1 - 1"),
        (s1 + 1, s2, r1, r2, proof, "size1 + 1"),
        (s1 ^ 2, s2, r1, r2, proof, "size1 ^ 2"),
        (s1, s2 * 2, r1, r2, proof, "size2 * 2"),
        (s1, s2 // 2, r1, r2, proof, "size2 / 2"),
        (s1, s2, b"WrongRoot", r2, proof, "wrong root1"),
        (s1, s2, r1, b"WrongRoot", proof, "wrong root2"),
        (s1, s2, r2, r1, proof, "swapped roots"),
        (s1, s2, r1, r2, [], "empty proof"),
        (s1, s2, r1, r2, proof + [b""], "trailing garbage"),
        (s1, s2, r1, r2, proof + [r1], "trailing root1"),
        (s1, s2, r1, r2, proof + [r2], "trailing root2"),
        (s1, s2, r1, r2, [b""] + proof, "preceding garbage"),
        (s1, s2, r1, r2, [r1] + proof, "preceding root1"),
        (s1, s2, r1, r2, [r2] + proof, "preceding root2"),
        (s1, s2, r1, r2, [proof[0]] + proof, "preceding proof[0]"),
        (s1, s2, r1, r2, proof[:-1], "truncated"),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((s1, s2, r1, r2, bad, f"modified proof[{i}]"))
    return probes


@pytest.mark.parametrize("old,new,proof", [c for c in CONSISTENCY if c[2]])
def test_reference_consistency_corruptions_fail(old, new, proof):
    for s1, s2, r1, r2, p, desc in _consistency_probes(old, new, ROOTS[old - 1], ROOTS[new - 1], proof):
        try:
            verify_consistency(s1, s2, r1, r2, p)
        except ValueError:
            continue
        pytest.fail(f"verified a corrupted consistency proof: {desc}")


def test_consistency_special_cases():
    r1, r2 = leaf_hash(b"1"), leaf_hash(b"2")
    # always-consistent sizes (transparency-dev TestVerifyConsistency)
    verify_consistency(0, 0, r1, r1, [])
    verify_consistency(0, 1, r1, r2, [])
    verify_consistency(1, 1, r2, r2, [])
    for args in [
        (0, 0, r1, r2, []),  # same size, different roots
        (1, 1, r1, r2, []),
        (1, 0, r1, r2, []),  # time travel to the past
        (2, 1, r1, r2, []),
        (1, 2, r1, r2, []),  # empty proof
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),  # roots match but proof not empty
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
    ]:
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_inclusion_single_entry():
    lh = leaf_hash(b"data")
    verify_inclusion(lh, 0, 1, [], lh)
    for leaf, root in [(lh, b""), (b"", lh), (b"", b"")]:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, 0, 1, [], root)
    for index, size in [(0, 0), (1, 0), (2, 1), (1, 1)]:
        with pytest.raises(ProofError, match="not below tree size"):
            verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)


def test_error_messages_name_the_problem(ref_tree):
    _, get = ref_tree
    proof = inclusion_proof(3, 8, get)
    with pytest.raises(ProofError, match="does not match the expected root"):
        verify_inclusion(leaf_hash(b"x"), 3, 8, proof, ROOTS[7])
    with pytest.raises(ProofError, match="too long"):
        verify_inclusion(leaf_hash(LEAVES[3]), 3, 8, proof + [SOME_HASH], ROOTS[7])
    with pytest.raises(ProofError, match="too short"):
        verify_inclusion(leaf_hash(LEAVES[3]), 3, 8, proof[:-1], ROOTS[7])
    with pytest.raises(ProofError, match="element 1 is 3 bytes"):
        verify_inclusion(leaf_hash(LEAVES[3]), 3, 8, [proof[0], b"abc", proof[2]], ROOTS[7])
    cp = consistency_proof(3, 8, get)
    with pytest.raises(ProofError, match="old root does not match"):
        verify_consistency(3, 8, ROOTS[2][::-1], ROOTS[7], cp)
    with pytest.raises(ProofError, match="new root does not match"):
        verify_consistency(3, 8, ROOTS[2], ROOTS[6], cp)
    with pytest.raises(ProofError, match="larger than new size"):
        verify_consistency(8, 3, ROOTS[7], ROOTS[2], cp)


def test_bad_arguments(ref_tree):
    _, get = ref_tree
    with pytest.raises(ValueError, match="not below tree size"):
        inclusion_proof(8, 8, get)
    with pytest.raises(ValueError, match="at least 1"):
        inclusion_proof(0, 0, get)
    with pytest.raises(ValueError, match="non-negative"):
        inclusion_proof(-1, 8, get)
    with pytest.raises(ValueError, match="larger than new size"):
        consistency_proof(5, 4, get)
    with pytest.raises(ValueError, match="non-negative"):
        consistency_proof(-1, 4, get)
    with pytest.raises(TypeError):
        inclusion_proof(1.0, 8, get)
    with pytest.raises(TypeError):
        inclusion_proof(True, 8, get)
    with pytest.raises(ValueError, match="start < end"):
        subtree_hash(3, 3, get)
    with pytest.raises(ValueError, match="64 bits"):
        verify_inclusion(SOME_HASH, 0, 1 << 64, [], SOME_HASH)
    with pytest.raises(ValueError):
        inclusion_proof(0, 8, lambda l, i: b"short")
    assert consistency_proof(0, 5, get) == []
    assert consistency_proof(5, 5, get) == []
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")
    with pytest.raises(ProofError, match="more than 64"):
        verify_inclusion(SOME_HASH, 0, 2, [SOME_HASH] * 65, SOME_HASH)


# ---------------------------------------------------------------- real CT data

ARGON_SIZE = 961984013
ARGON_ROOT = "dwlueapdd7LaOEnX2W2Wp9v2XE+KzejHRQGHwEx0oaM="
ARGON_OLD_SIZE = 3654490
ARGON_OLD_ROOT = "AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ="
ARGON_LEAF_INDEX = 10000
ARGON_LEAF_INPUT = (
    "AAAAAAFelPhqUwAAAAViMIIFXjCCBEagAwIBAgIRAOodHzZdqWIFzYyl/SovhCMwDQYJKoZIhvcNAQELBQAwgZAxCzAJBgNVBAYTAkdCMRswGQYDVQQIExJHcmVhdGVyIE1hbmNoZXN0ZXIxEDAOBgNVBAcTB1NhbGZvcmQxGjAYBgNVBAoTEUNPTU9ETyBDQSBMaW1pdGVkMTYwNAYDVQQDEy1DT01PRE8gUlNBIERvbWFpbiBWYWxpZGF0aW9uIFNlY3VyZSBTZXJ2ZXIgQ0EwHhcNMTcwMjE1MDAwMDAwWhcNMjAwNDE2MjM1OTU5WjBfMSEwHwYDVQQLExhEb21haW4gQ29udHJvbCBWYWxpZGF0ZWQxHTAbBgNVBAsTFFBvc2l0aXZlU1NMIFdpbGRjYXJkMRswGQYDVQQDDBIqLmxhbmRsb3Jkcy5jb20uYXUwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCtPBKKHj4zdrGlCjgTHzb5gx9JCs97DwvBz60f14gDufF2haWbOxyJ0a3opAMsZnOr8HkARVCwxdqG/PTfACcb0QM7FOlzvxGqxataTYiChwvkkif8F9GlJw69HuHgzhusPf1Ytfk3ps1PRC14MkyrS4kwPrk/Le4XdkqRpRw62wG4V6IkbzsNMEOl1H8EgUbfyapdOcVxHjIzvBVy56fBRKG05Fr5wNq3Acak5kYZdNsLhhmlrqAfAjiombW3hb3V5blJdRC0BDdYHv2+zKey6LqJ1FDoXo6IzbzPpC+aifZy47YX+/N1U64Qn5xlDg7mOP8JXfkNJHbU1TJZHif5AgMBAAGjggHhMIIB3TAfBgNVHSMEGDAWgBSQr2o6lFoL2JDqElZz30O0Oija5zAdBgNVHQ4EFgQUNQSLjkoz01I+iuuoC5lgEp0anhcwDgYDVR0PAQH/BAQDAgWgMAwGA1UdEwEB/wQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCME8GA1UdIARIMEYwOgYLKwYBBAGyMQECAgcwKzApBggrBgEFBQcCARYdaHR0cHM6Ly9zZWN1cmUuY29tb2RvLmNvbS9DUFMwCAYGZ4EMAQIBMFQGA1UdHwRNMEswSaBHoEWGQ2h0dHA6Ly9jcmwuY29tb2RvY2EuY29tL0NPTU9ET1JTQURvbWFpblZhbGlkYXRpb25TZWN1cmVTZXJ2ZXJDQS5jcmwwgYUGCCsGAQUFBwEBBHkwdzBPBggrBgEFBQcwAoZDaHR0cDovL2NydC5jb21vZG9jYS5jb20vQ09NT0RPUlNBRG9tYWluVmFsaWRhdGlvblNlY3VyZVNlcnZlckNBLmNydDAkBggrBgEFBQcwAYYYaHR0cDovL29jc3AuY29tb2RvY2EuY29tMC8GA1UdEQQoMCaCEioubGFuZGxvcmRzLmNvbS5hdYIQbGFuZGxvcmRzLmNvbS5hdTANBgkqhkiG9w0BAQsFAAOCAQEACyHqxUzrexToY7tOv4+kyGPP2D27P1tQpyzeAl1bPObiMhNK2b9vvBLDWAaqm8c0YL1h+DBdLoWzf3xFsIkTCVCjWJTNSNlcYtgRk6or1s7jWsfXzWqsnPjPPmTIOCw7EfH7Yme3oxPs3UUsmShAgPwNohAtL9GqlqMiKM6v1WU3NHt01jEoNP23LRa6KeNK6AH6WHJykzL223IlhgXjHTeuQj6lR+TNrQXJuhwTXYe+20rrpPQxc1Pn7AqnvfWgmicRQ7gdIcr4V6+ecTvLfNOaJ0ZYe5G5giuAAdTm7F57pk04f4gyZNYKrj88mvbkoriN8b6jcWExtrYO6bm2TwAA"
)
ARGON_AUDIT_PATH = json.loads(
    '["T46AmJsuOM/gFiGlUp+IJJebp+1Z5qratFNW7U0JyOQ=","9Jj1Feodn42uRYEfffkV4HF/EIPFQ5Zo9IwkxbQ2uhk=",'
    '"D53/1oCNebF4J59HHgioovKZxrmrKcVuCVhy3Izg8Ck=","wSFDgGSrsXRPA+1c8WHoAFCsWeUv8NDyP/Q/SgsyVyY=",'
    '"516/RcwsgdwdzHn18v1dJHqBkgFUbNhmCIWOGjsMJaE=","naTFY2ajLFgrgs5XUl+zJYZnnlJksLGsA1VYwpLfqbY=",'
    '"mKBRJo6qao+0Kdh/rhGkZUbHUAxMhrtrclrTpIbNjIg=","Co4ueOFE7lpifLio94irxxsv1wFMMaK3tPu2ZQkHlro=",'
    '"yRgy800K6JMYCC05sWfqF2kvCg2riT/pVM+nEa6V5+0=","n2O38XJZC8/Wpbwi9HhgVizlUyeUHVZvYyQB1607MRc=",'
    '"go3tAjuNfNSCj87y2Rg1xOroDknGN1eaf3cgvzObf7Q=","8D0Mj3/J7ySSnFb0afIHYXv6rlOhECnsebY6XKi1IR8=",'
    '"6rcez46ZU8M5vPiWVMAUfJfAOV0pPP/mch/lYzZhj/M=","2rtIeXrPvSdUyHc5maIgSAVB2BzaKaupWxSAiVayDE4=",'
    '"nniW/IMFQPN5xw8UsHFn7CRStYbm1gLu7NNa6kkRqJQ=","mRPPi7sQS22MduIEyvcNzCNFqIt6kLwYPkNKrVtIcu8=",'
    '"JvTivzESNS9wHI8aph5a7uieVmtS/p9PciMZ5D6GyOo=","UTyQd+Ym0wY4zG+qK806bBORwi1CSVvFQ/KknnqoZj8=",'
    '"hXODrqN+ff+U6zPqRQ+ZQKs6im1fPcxIerDSfNwflhE=","II6GE+WY/DrpZzfHztLwkR46o37zVkNLCyPYlf68zA0=",'
    '"d609kWWcNBllbA8Jb/ad4XAVVGnScLRmtP8FYyr+Dck=","rikBsP0G0gioXRpBFED2CzQdSLrGPvRd0bEcbEZw1rI=",'
    '"GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=","pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",'
    '"f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=","WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",'
    '"f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=","NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",'
    '"C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=","nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc="]'
)
ARGON_CONSISTENCY = json.loads(
    '["80Sfbj6UQEdVSZCSIgh9NMPj3vCBzcc1A48B2crJSWg=","FZcrgAHUk6nNPviJZq8kEK6jCG1d18pJOFE45ZDc1TQ=",'
    '"Q67reWXmPBo1UfmwBap4Xi9PMPfFdUSSw3WGlRZdG7k=","eJ7CyhR4PxzBxDIsWgrVYW1eFUb9ndgf46tFmiqVrxA=",'
    '"QrDwp062Grm5WY8KdrhFsBuuNjGzRox2Jb8PmVL5OYw=","XM4YMjMEdLH/XJam/ZWyaP14k3cmsOtnPsOWQ54lW1s=",'
    '"SGiBh+jOTGccXU48ZzgQ88lRcBmtB4wz4oSDndv2QTg=","WAS6txqNLYKGL1GdBdpqmV42TTfn6cJsuDsqLXuTCNI=",'
    '"QFmRS0rirUA7ZN3lxFjDncV+E1OCrn3NUB4RCp+5fzc=","Hdbp7It2XBNZmNDBpCN/KPd7vfVqxgzwOosqVIaEA9E=",'
    '"mxvHL0ZiblBdD7j7pIa1jlfB0gSqfJ6oX0UGo7L0VsU=","q5hjyvoW6TL/PThgcitpDcSTrnKX2p1+aqscqH2euRA=",'
    '"jTOWDqt3IHj2NVFeezyBz2ofpru+ztEywqKUAfFclKI=","GIRn0w3HqJdvU9j1WVD//eR6lk2AaTVjyzjsJNP8U88=",'
    '"x52GJvxG81fnQBrgOTbll1A5tz95/LXK0Ag1NhB0r1I=","6/0OqrcTgc3o5dD5PymmoC96lB9yLPFuTHVvLy8fSGk=",'
    '"Gf+iKLfcXO5l4JEFmsZvSdG5q1uEeWPfYLrds6pmjz0=","DGuaco+McyM3AfRSF6qX7RwSetwe2ieYJmxw5e9rVx0=",'
    '"2tQJ9V32hnYp+fdpP6TcjmgJmLeNVOMKM0Ml1kk4cNU=","3PapK+IkyJr8I9yAErAmzuZezzLMzsg+PfeRCgNW8NQ=",'
    '"s6xiYeejb+wtqHA+URJZ2I/SCPyIW8coP6aB00FJbMY=","z9lSpmdTcr5M5ZzKlc4EPh3SrSypKFdk6JUF/UccaZU=",'
    '"GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=","pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",'
    '"f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=","WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",'
    '"f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=","NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",'
    '"C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=","nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc="]'
)


def test_real_certificate_transparency_argon2020():
    b = base64.b64decode
    lh = leaf_hash(b(ARGON_LEAF_INPUT))
    path = [b(x) for x in ARGON_AUDIT_PATH]
    verify_inclusion(lh, ARGON_LEAF_INDEX, ARGON_SIZE, path, b(ARGON_ROOT))
    with pytest.raises(ProofError):
        verify_inclusion(lh, ARGON_LEAF_INDEX + 1, ARGON_SIZE, path, b(ARGON_ROOT))
    cons = [b(x) for x in ARGON_CONSISTENCY]
    verify_consistency(ARGON_OLD_SIZE, ARGON_SIZE, b(ARGON_OLD_ROOT), b(ARGON_ROOT), cons)
    bad = list(cons)
    bad[7] = bytes([bad[7][0] ^ 1]) + bad[7][1:]
    with pytest.raises(ProofError):
        verify_consistency(ARGON_OLD_SIZE, ARGON_SIZE, b(ARGON_OLD_ROOT), b(ARGON_ROOT), bad)


# ---------------------------------------------------------------- exhaustive / property tests

N_MAX = 300
BIG_LEAVES = [b"leaf %d" % i for i in range(N_MAX)]
BIG_HASHES = [leaf_hash(x) for x in BIG_LEAVES]


@lru_cache(maxsize=None)
def ref_mth(a, b):
    """MTH(D[a:b]) straight from the RFC 6962 2.1 recursion."""
    n = b - a
    if n == 1:
        return BIG_HASHES[a]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(a, a + k) + ref_mth(a + k, b)).digest()


def ref_path(m, a, b):
    """PATH(m, D[a:b]) (RFC 6962 2.1.1), m relative to a."""
    n = b - a
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, a, a + k) + [ref_mth(a + k, b)]
    return ref_path(m - k, a + k, b) + [ref_mth(a, a + k)]


def ref_subproof(m, a, b, complete):
    """SUBPROOF(m, D[a:b], b) (RFC 6962 2.1.2), m relative to a."""
    n = b - a
    if m == n:
        return [] if complete else [ref_mth(a, b)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, a, a + k, complete) + [ref_mth(a + k, b)]
    return ref_subproof(m - k, a + k, b, False) + [ref_mth(a, a + k)]


@pytest.fixture(scope="module")
def big_tree():
    store, cr = build_store(BIG_LEAVES)
    reads = [0]

    def get(level, index):
        reads[0] += 1
        return store[(level, index)]

    return store, get, reads


def test_builder_roots_and_nodes_match_reference(big_tree):
    store, get, _ = big_tree
    cr = CompactRange()
    for n in range(1, N_MAX + 1):
        cr.append(BIG_HASHES[n - 1])
        assert cr.root() == ref_mth(0, n)
        assert CompactRange.from_storage(n, get).root() == ref_mth(0, n)
    # every stored node is the MTH of the perfect subtree it names
    for (level, index), nh in store.items():
        assert nh == ref_mth(index << level, (index + 1) << level)
    # number of nodes for n leaves is 2n - popcount(n)
    assert len(store) == 2 * N_MAX - bin(N_MAX).count("1")


def test_every_inclusion_proof_up_to_300(big_tree):
    _, get, reads = big_tree
    for size in range(1, N_MAX + 1):
        root = ref_mth(0, size)
        for index in range(size):
            reads[0] = 0
            p = inclusion_proof(index, size, get)
            assert reads[0] <= 2 * size.bit_length()
            assert p == ref_path(index, 0, size)
            verify_inclusion(BIG_HASHES[index], index, size, p, root)


def test_every_consistency_proof_up_to_300(big_tree):
    _, get, reads = big_tree
    for new in range(1, N_MAX + 1):
        new_root = ref_mth(0, new)
        for old in range(1, new + 1):
            reads[0] = 0
            p = consistency_proof(old, new, get)
            assert reads[0] <= 2 * new.bit_length()
            assert p == (ref_subproof(old, 0, new, True) if old < new else [])
            verify_consistency(old, new, ref_mth(0, old), new_root, p)


def test_subtree_hash_any_range(big_tree):
    _, get, _ = big_tree
    for a in range(0, 40):
        for b in range(a + 1, 80):
            # MTH of an arbitrary slice D[a:b] treated as its own tree
            cr = CompactRange()
            cr.extend(BIG_HASHES[a:b])
            assert subtree_hash(a, b, get) == cr.root()


def flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    i = bit // 8
    return data[:i] + bytes([data[i] ^ (1 << (bit % 8))]) + data[i + 1 :]


sizes_and_index = st.integers(min_value=2, max_value=N_MAX).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n - 1))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(si=sizes_and_index, which=st.integers(0, 63), bit=st.integers(0, 255), other=st.integers(0, N_MAX))
def test_tampered_inclusion_fails(big_tree, si, which, bit, other):
    size, index = si
    _, get, _ = big_tree
    root = ref_mth(0, size)
    p = inclusion_proof(index, size, get)
    lh = BIG_HASHES[index]
    if p:
        bad = list(p)
        bad[which % len(p)] = flip(bad[which % len(p)], bit)
        with pytest.raises(ProofError):
            verify_inclusion(lh, index, size, bad, root)
    with pytest.raises(ProofError):
        verify_inclusion(flip(lh, bit), index, size, p, root)
    with pytest.raises(ProofError):
        verify_inclusion(lh, index, size, p, flip(root, bit))
    wrong = other % size
    if wrong != index:
        with pytest.raises(ProofError):
            verify_inclusion(lh, wrong, size, p, root)
    with pytest.raises(ProofError):
        verify_inclusion(lh, index, size, p + [SOME_HASH], root)
    if p:
        with pytest.raises(ProofError):
            verify_inclusion(lh, index, size, p[:-1], root)


sizes_pair = st.integers(min_value=2, max_value=N_MAX).flatmap(
    lambda n: st.tuples(st.integers(min_value=1, max_value=n - 1), st.just(n))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=sizes_pair, which=st.integers(0, 63), bit=st.integers(0, 255), other=st.integers(1, N_MAX))
def test_tampered_consistency_fails(big_tree, pair, which, bit, other):
    old, new = pair
    _, get, _ = big_tree
    r1, r2 = ref_mth(0, old), ref_mth(0, new)
    p = consistency_proof(old, new, get)
    assert p
    bad = list(p)
    bad[which % len(p)] = flip(bad[which % len(p)], bit)
    with pytest.raises(ProofError):
        verify_consistency(old, new, r1, r2, bad)
    with pytest.raises(ProofError):
        verify_consistency(old, new, flip(r1, bit), r2, p)
    with pytest.raises(ProofError):
        verify_consistency(old, new, r1, flip(r2, bit), p)
    with pytest.raises(ProofError):
        verify_consistency(old, new, r1, r2, p[:-1])
    with pytest.raises(ProofError):
        verify_consistency(old, new, r1, r2, p + [SOME_HASH])
    wrong_old = other % new or 1
    if wrong_old != old:
        # a different old size with that size's true root must not verify with this proof
        with pytest.raises(ProofError):
            verify_consistency(wrong_old, new, ref_mth(0, wrong_old), r2, p)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=70), st.data())
def test_builder_matches_root_hash_for_random_entries(entries, data):
    store, cr = build_store(entries)
    hashes = [leaf_hash(e) for e in entries]
    assert cr.root() == root_hash(hashes)
    get = lambda l, i: store[(l, i)]  # noqa: E731
    size = data.draw(st.integers(1, len(entries)))
    index = data.draw(st.integers(0, size - 1))
    sub_root = root_hash(hashes[:size])
    verify_inclusion(hashes[index], index, size, inclusion_proof(index, size, get), sub_root)
    old = data.draw(st.integers(0, size))
    verify_consistency(old, size, root_hash(hashes[:old]), sub_root, consistency_proof(old, size, get))


def test_compact_range_reports_completed_nodes():
    cr = CompactRange()
    a, b, c, d = (leaf_hash(bytes([i])) for i in range(4))
    assert cr.append(a) == [(0, 0, a)]
    ab = node_hash(a, b)
    assert cr.append(b) == [(0, 1, b), (1, 0, ab)]
    assert cr.append(c) == [(0, 2, c)]
    cd = node_hash(c, d)
    assert cr.append(d) == [(0, 3, d), (1, 1, cd), (2, 0, node_hash(ab, cd))]
    assert cr.peaks() == [(2, 0, node_hash(ab, cd))]
    cr2 = cr.copy()
    cr2.append(a)
    assert cr.size == 4 and cr2.size == 5
    assert [p[:2] for p in cr2.peaks()] == [(2, 0), (0, 4)]
