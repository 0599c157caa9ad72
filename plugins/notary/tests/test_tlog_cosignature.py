"""Tests for plugins.notary.tlog.cosignature (C2SP tlog-cosignature v1, Ed25519).

Published data used:
* C2SP tlog-cosignature example: the witness.example.com/w1 cosignature
  carries timestamp 1679315147, and the signed message layout;
* transparency-dev/formats note_cosigv1_test.go: the type-0x04 vkey
  ``remora.n621.de+da77ade7+...`` (key ID derivation with 0x04) and a
  cosignature whose embedded timestamp is 1727964367.
"""

import base64

import pytest

from plugins.notary.tlog import note
from plugins.notary.tlog.checkpoint import Checkpoint, sign_checkpoint
from plugins.notary.tlog.cosignature import (
    ALG_COSIGNATURE_V1,
    CosignatureError,
    CosignatureSigner,
    CosignatureVerifier,
    cosign,
    cosignature_key_id,
    cosignature_message,
    cosignature_timestamp,
    generate_cosignature_key,
    new_cosignature_signer,
    new_cosignature_verifier,
    verify_cosignature,
)

BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_COSIG = "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"


def fixed_signer(name="witness.example/w1", t=1700000000):
    skey, _ = generate_cosignature_key(name)
    return new_cosignature_signer(skey, clock=lambda: t)


def test_signed_message_matches_spec_example():
    assert cosignature_message(1679315147, BODY) == (
        b"cosignature/v1\n"
        b"time 1679315147\n"
        b"example.com/behind-the-sofa\n"
        b"20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert cosignature_message(0, BODY).startswith(b"cosignature/v1\ntime 0\n")


def test_published_timestamps():
    assert cosignature_timestamp(SPEC_COSIG) == 1679315147
    assert cosignature_timestamp("— witness.example.com/w1 " + SPEC_COSIG + "\n") == 1679315147
    assert cosignature_timestamp(
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA=="
    ) == 1727964367
    # a plain Ed25519 note signature (4 + 64 bytes) is not a cosignature
    with pytest.raises(CosignatureError):
        cosignature_timestamp(
            "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY="
        )
    with pytest.raises(CosignatureError):
        cosignature_timestamp("5%/$!\n 2")


def test_published_key_id_with_alg_0x04():
    v = new_cosignature_verifier(REMORA_VKEY)
    assert v.name == "remora.n621.de" and v.key_id == 0xDA77ADE7
    assert cosignature_key_id(v.name, v.public_key) == 0xDA77ADE7
    assert v.vkey == REMORA_VKEY
    # the same key material as a 0x01 note key has a different ID
    assert note.key_id(v.name, b"\x01" + v.public_key) != 0xDA77ADE7
    with pytest.raises(note.KeyFormatError, match="expected 0x04"):
        new_cosignature_verifier("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_round_trip_and_format():
    s = fixed_signer()
    line = cosign(BODY, s)
    assert line.startswith("— witness.example/w1 ") and line.endswith("\n")
    raw = base64.b64decode(line.split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[:4], "big") == s.key_id
    assert int.from_bytes(raw[4:12], "big") == 1700000000
    v = new_cosignature_verifier(s.vkey)
    assert s.vkey.split("+")[2].startswith("B")  # base64 of 0x04...
    assert base64.b64decode(s.vkey.split("+", 2)[2])[0] == ALG_COSIGNATURE_V1
    assert verify_cosignature(BODY, line, v) == 1700000000
    assert cosignature_timestamp(line) == 1700000000
    # explicit timestamp
    assert verify_cosignature(BODY, cosign(BODY, s, timestamp=5), v) == 5


def test_cosignatures_through_signed_note():
    log_skey, log_vkey = note.generate_key("example.com/log")
    cp = Checkpoint("example.com/log", 7, b"\x11" * 32, ("ext",))
    signed = sign_checkpoint(cp, note.new_signer(log_skey))
    w1, w2 = fixed_signer("w1.example", 10), fixed_signer("w2.example", 20)
    both = note.sign_note(note.open_note(signed, [note.new_verifier(log_vkey)]), [w1, w2])
    n = note.open_note(both, [note.new_verifier(log_vkey), w1.verifier(), w2.verifier()])
    assert [s.name for s in n.sigs] == ["example.com/log", "w1.example", "w2.example"]
    assert [cosignature_timestamp(s) for s in n.sigs[1:]] == [10, 20]
    # only the witness keys known: still opens (log signature kept as unverified)
    n2 = note.open_note(both, [w1.verifier()])
    assert [s.name for s in n2.sigs] == ["w1.example"]


def test_tampering_fails():
    s = fixed_signer()
    v = s.verifier()
    line = cosign(BODY, s)
    with pytest.raises(CosignatureError, match="does not verify"):
        verify_cosignature(BODY.replace("20852163", "20852164"), line, v)
    # change the timestamp inside the signature
    name, b64 = line[2:-1].split(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[11] ^= 1
    forged = note.Signature(name, s.key_id, base64.b64encode(bytes(raw)).decode())
    with pytest.raises(CosignatureError, match="does not verify"):
        verify_cosignature(BODY, forged, v)
    # another witness's verifier
    with pytest.raises(CosignatureError, match="expected"):
        verify_cosignature(BODY, line, fixed_signer("other.example").verifier())
    # same name, different key
    with pytest.raises(CosignatureError):
        verify_cosignature(BODY, line, fixed_signer("witness.example/w1").verifier())


def test_extension_lines_are_signed():
    s = fixed_signer()
    body = BODY + "Extendo\n"
    line = cosign(body, s)
    assert verify_cosignature(body, line, s.verifier()) == 1700000000
    with pytest.raises(CosignatureError):
        verify_cosignature(BODY + "Extendo!\n", line, s.verifier())


def test_plain_note_signature_is_not_a_cosignature():
    # A 0x01 signature with the same seed does not verify as a 0x04 cosignature.
    plain = note.new_signer(PETER_SKEY)
    cos = new_cosignature_signer(PETER_SKEY)  # 0x01 skey accepted, 0x04 key ID used
    assert cos.public_key == plain.public_key and cos.key_id != plain.key_id
    assert cos.key_id == note.key_id("PeterNeumann", b"\x04" + plain.public_key)
    msg = note.sign_note(BODY, plain)
    with pytest.raises(note.UnverifiedNoteError):
        note.open_note(msg, [cos.verifier()])
    fake = note.Signature("PeterNeumann", cos.key_id, note.parse_note(msg).unverified_sigs[0].base64)
    with pytest.raises(CosignatureError):
        verify_cosignature(BODY, fake, cos.verifier())


def test_limits_and_bad_input():
    s = fixed_signer()
    with pytest.raises(CosignatureError, match="2\\*\\*63"):
        cosign(BODY, s, timestamp=1 << 63)
    with pytest.raises(CosignatureError):
        cosign(BODY, s, timestamp=-1)
    with pytest.raises(CosignatureError, match="non-checkpoint"):
        cosign("not a checkpoint\n", s)
    v = s.verifier()
    assert not v.verify(BODY.encode(), b"\x00" * 71)
    ts_too_big = (1 << 63).to_bytes(8, "big") + b"\x00" * 64
    assert not v.verify(BODY.encode(), ts_too_big)
    with pytest.raises(note.KeyFormatError):
        CosignatureSigner("bad name", b"\x00" * 32)
    with pytest.raises(note.KeyFormatError):
        CosignatureVerifier("w", b"\x00" * 31)
    # skey / vkey manglings
    skey, vkey = generate_cosignature_key("w.example")
    assert new_cosignature_signer(skey).vkey == vkey
    with pytest.raises(note.KeyFormatError):
        new_cosignature_signer(skey.replace("PRIVATE", "PRIVATX"))
    kid = vkey.split("+")[1]
    with pytest.raises(note.KeyFormatError):
        new_cosignature_verifier(vkey.replace(kid, "%08x" % (int(kid, 16) ^ 1)))
