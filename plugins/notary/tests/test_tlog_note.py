"""Tests for plugins.notary.tlog.note (C2SP signed-note).

Vectors are the published examples of golang.org/x/mod/sumdb/note
(note.go package doc and note_test.go): the "PeterNeumann" key pair and note,
and the "EnochRoot" second signature.  Ed25519 is deterministic, so signing the
text with the PeterNeumann signer key must reproduce the Go output byte for byte.
"""

import pytest
from hypothesis import given, settings, strategies as st

from plugins.notary.tlog import note
from plugins.notary.tlog.note import (
    AmbiguousVerifierError,
    InvalidSignatureError,
    KeyFormatError,
    MalformedNoteError,
    NoteError,
    Signature,
    UnverifiedNoteError,
    VerifierList,
    generate_key,
    new_signer,
    new_verifier,
    open_note,
    parse_note,
    sign_note,
)

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
PETER = Signature("PeterNeumann", 0xC74F20A3, "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=")
ENOCH = Signature("EnochRoot", 0xAF0CFE78, "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=")
GO_NOTE = (TEXT + "\n" + PETER_SIG).encode()


@pytest.fixture(scope="module")
def peter():
    return new_verifier(PETER_VKEY)


@pytest.fixture(scope="module")
def enoch():
    return new_verifier(ENOCH_VKEY)


# ------------------------------------------------------------------ published example


def test_go_example_sign_reproduces_published_note():
    signer = new_signer(PETER_SKEY)
    assert signer.name == "PeterNeumann" and signer.key_id == 0xC74F20A3
    assert signer.vkey == PETER_VKEY
    assert signer.skey == PETER_SKEY
    assert sign_note(TEXT, signer) == GO_NOTE


def test_go_example_open_verifies(peter):
    n = open_note(GO_NOTE, [peter])
    assert n.text == TEXT
    assert n.sigs == [PETER]
    assert n.unverified_sigs == []
    assert f"{n.sigs[0].name} ({n.sigs[0].key_id:08x})" == "PeterNeumann (c74f20a3)"


def test_changed_byte_fails(peter):
    # any single changed byte in the text or the signature must be rejected
    body = bytearray(GO_NOTE)
    for i in range(len(TEXT.encode())):
        mod = bytearray(body)
        mod[i] = ord("X") if mod[i] != ord("X") else ord("Y")
        with pytest.raises(NoteError):
            open_note(bytes(mod), [peter])
    with pytest.raises(InvalidSignatureError):
        open_note(GO_NOTE.replace(b"cryptography", b"cryptographY"), [peter])
    sig_at = GO_NOTE.index(b"x08go") + 20
    mod = bytearray(GO_NOTE)
    mod[sig_at] = ord("A") if mod[sig_at] != ord("A") else ord("B")
    with pytest.raises(InvalidSignatureError, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        open_note(bytes(mod), [peter])


def test_doubly_signed_go_note(peter, enoch):
    msg = (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    n = open_note(msg, [peter])
    assert n.sigs == [PETER] and n.unverified_sigs == [ENOCH]
    n = open_note(msg, [peter, enoch])
    assert n.sigs == [PETER, ENOCH] and n.unverified_sigs == []
    with pytest.raises(UnverifiedNoteError) as ei:
        open_note(msg, [])
    assert str(ei.value) == "note has no verifiable signatures"
    assert ei.value.note.sigs == [] and ei.value.note.unverified_sigs == [PETER, ENOCH]
    # re-signing keeps existing signatures, new ones come last
    assert sign_note(ei.value.note, []) == msg
    me = new_signer(PETER_SKEY)
    assert sign_note(open_note(msg, [enoch]), me) == (TEXT + "\n" + ENOCH_SIG + PETER_SIG).encode()


# ------------------------------------------------------------------ keys (Go TestNewVerifier / TestNewSigner)


def test_new_verifier_rejects_manglings():
    new_verifier(PETER_VKEY)
    b = PETER_VKEY.encode()
    bad = set()
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if i != 0 or j != len(b):
                bad.add(b[i:j])
    for i in range(len(b)):
        m = bytearray(b)
        m[i] += 1
        bad.add(bytes(m))
    bad.add(b"PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    bad.add(b"PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    for k in bad:
        with pytest.raises(KeyFormatError):
            new_verifier(k.decode("utf-8", "replace"))


def test_new_signer_rejects_manglings():
    new_signer(PETER_SKEY)
    b = PETER_SKEY.encode()
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if i == 0 and j == len(b):
                continue
            with pytest.raises(KeyFormatError):
                new_signer(b[i:j].decode())
    for i in range(len(b)):
        m = bytearray(b)
        m[i] += 1
        with pytest.raises(KeyFormatError):
            new_signer(m.decode())


def test_generate_key_round_trip():
    skey, vkey = generate_key("example.com/log")
    s, v = new_signer(skey), new_verifier(vkey)
    assert s.name == v.name == "example.com/log"
    assert s.key_id == v.key_id
    assert vkey.startswith("example.com/log+%08x+A" % v.key_id)  # base64 of 0x01 starts with 'A'
    assert skey.startswith("PRIVATE+KEY+example.com/log+")
    sig = s.sign(b"hi")
    assert v.verify(b"hi", sig)
    assert not v.verify(b"hI", sig)
    assert not v.verify(b"hi", bytes([sig[0] ^ 1]) + sig[1:])
    msg = sign_note("hello\n", s)
    assert open_note(msg, [v]).text == "hello\n"
    for bad_name in ["", "a b", "a+b", "tab\there", "nl\n", "nbsp\u00a0x"]:
        with pytest.raises(KeyFormatError):
            generate_key(bad_name)


def test_key_id_derivation_vectors():
    # key ID = SHA-256(name || 0x0A || 0x01 || pub)[:4]
    name, kid, alg, pub = note.parse_vkey(PETER_VKEY)
    assert (name, kid, alg, len(pub)) == ("PeterNeumann", 0xC74F20A3, 1, 32)
    assert note.key_id(name, b"\x01" + pub) == 0xC74F20A3
    assert note.vkey_from_public_key(name, pub) == PETER_VKEY
    # transparency-dev/formats note_cosigv1_test.go: a vkey whose base64 contains '+'
    assert new_verifier("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6").key_id == 0x7997405C
    # a type 0x04 key is not an Ed25519 note key
    with pytest.raises(KeyFormatError, match="unknown verifier algorithm"):
        new_verifier("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")


def test_verifier_list_lookup(peter, enoch):
    vl = VerifierList([peter, enoch, enoch])  # identical object twice: one entry
    assert vl.lookup("PeterNeumann", 0xC74F20A3) is peter
    assert vl.lookup("PeterNeumann", 0xC74F20A4) is None
    assert vl.lookup("PeterNeuman", 0xC74F20A3) is None
    vl2 = VerifierList([peter, enoch, new_verifier(ENOCH_VKEY)])
    with pytest.raises(AmbiguousVerifierError, match="ambiguous key EnochRoot\\+af0cfe78"):
        vl2.lookup("EnochRoot", 0xAF0CFE78)
    with pytest.raises(AmbiguousVerifierError):
        open_note((TEXT + "\n" + ENOCH_SIG).encode(), vl2)
    # an unused ambiguous verifier does not matter
    open_note((TEXT + "\n" + PETER_SIG).encode(), vl2)


# ------------------------------------------------------------------ parsing rules (Go TestOpen / TestSign)


def test_too_many_signatures(peter):
    msg = (TEXT + "\n" + PETER_SIG * 101).encode()
    for vs in ([peter], []):
        with pytest.raises(MalformedNoteError, match="more than the limit of 100"):
            open_note(msg, vs)
    # 100 identical lines are fine (duplicates dropped)
    n = open_note((TEXT + "\n" + PETER_SIG * 100).encode(), [peter])
    assert n.sigs == [PETER]


def test_duplicated_verified_and_unverified(peter):
    eb = ENOCH_SIG.encode()
    enoch_abcd = eb[:60] + b"ABCD" + eb[60:]
    pb = PETER_SIG.encode()
    msg = TEXT.encode() + b"\n" + pb + pb + eb + eb + enoch_abcd
    n = open_note(msg, [peter])
    assert n.sigs == [PETER]
    assert n.unverified_sigs == [ENOCH, Signature("EnochRoot", 0xAF0CFE78, enoch_abcd.decode()[len("— EnochRoot "):-1])]
    # invalid signature by a known key rejects the whole note
    with pytest.raises(InvalidSignatureError):
        open_note(TEXT.encode() + b"\n" + pb[:60] + b"ABCD" + pb[60:], [peter])


@pytest.mark.parametrize(
    "msg,why",
    [
        (TEXT, "no blank line"),
        (TEXT + "\n", "no signature lines"),
        (TEXT + "\n" + PETER_SIG[:-1], "does not end in a newline"),
        ("\x01" + TEXT + "\n" + PETER_SIG, "control character"),
        (TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n", "signature line 1"),
        (TEXT + "\n" + "— Bad+Name " + PETER.base64 + "\n", "invalid key name"),
        (TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "em dash"),
        (TEXT + "\n" + "- PeterNeumann " + PETER.base64 + "\n", "em dash"),
        (TEXT + "\n" + "— PeterNeumann\n", "no signature"),
        (TEXT + "\n" + "— PeterNeumann AAAA\n", "too short"),
        (TEXT + "\n" + "— PeterNeumann not*base64\n", "not valid base64"),
        (TEXT + "\r\n" + PETER_SIG, "control character"),
    ],
)
def test_malformed_notes(peter, msg, why):
    with pytest.raises(MalformedNoteError, match=why):
        open_note(msg.encode(), [peter])


def test_invalid_utf8(peter):
    with pytest.raises(MalformedNoteError, match="UTF-8"):
        open_note(b"\xff" + GO_NOTE, [peter])


def test_text_may_contain_blank_lines_last_blank_line_separates(peter):
    s = new_signer(PETER_SKEY)
    text = "para one\n\npara two\n"
    msg = sign_note(text, s)
    n = open_note(msg, [peter])
    assert n.text == text


def test_sign_rules():
    s = new_signer(PETER_SKEY)
    # existing signature by the same key is replaced
    assert sign_note(note.Note(TEXT, sigs=[Signature("PeterNeumann", 0xC74F20A3, "BADSIGN=")]), s) == GO_NOTE
    with pytest.raises(MalformedNoteError, match="end with a newline"):
        sign_note("abc", s)
    with pytest.raises(MalformedNoteError):
        sign_note(TEXT, [], existing=[Signature("a+b", 0, "ABCD")])
    with pytest.raises(MalformedNoteError):
        sign_note(TEXT, [], existing=[Signature("PeterNeumann", 0xC74F20A3, "BADHASH=")])
    with pytest.raises(MalformedNoteError, match="control character"):
        sign_note("a\tb\n", s)

    class BadSigner:
        name, key_id = "bad name", 1

        def sign(self, msg):
            return b"x" * 64

    with pytest.raises(NoteError, match="invalid signer"):
        sign_note(TEXT, BadSigner())


def test_unknown_signature_with_same_name_different_id_is_ignored(peter):
    other_skey, _ = generate_key("PeterNeumann")
    other = new_signer(other_skey)
    msg = sign_note(TEXT, [new_signer(PETER_SKEY), other])
    n = open_note(msg, [peter])
    assert n.sigs == [PETER]
    assert len(n.unverified_sigs) == 1 and n.unverified_sigs[0].key_id == other.key_id


def test_parse_note_does_not_verify():
    n = parse_note(GO_NOTE)
    assert n.text == TEXT and n.sigs == [] and n.unverified_sigs == [PETER]


name_chars = st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="+\x85")
text_lines = st.lists(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30), min_size=1, max_size=5
)


@settings(max_examples=40, deadline=None)
@given(name=st.text(name_chars, min_size=1, max_size=20), lines=text_lines)
def test_sign_open_round_trip(name, lines):
    skey, vkey = generate_key(name)
    text = "\n".join(lines) + "\n"
    msg = sign_note(text, new_signer(skey))
    n = open_note(msg, [new_verifier(vkey)])
    assert n.text == text and len(n.sigs) == 1 and n.sigs[0].name == name
