"""Tests for plugins.notary.tlog.checkpoint (C2SP tlog-checkpoint)."""

import base64

import pytest
from hypothesis import given, settings, strategies as st

from plugins.notary.tlog import note
from plugins.notary.tlog.checkpoint import (
    Checkpoint,
    CheckpointError,
    format_checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from plugins.notary.tlog.merkle import EMPTY_ROOT, leaf_hash

SPEC_EXAMPLE = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")


def test_spec_example_parses_and_round_trips():
    cp = parse_checkpoint(SPEC_EXAMPLE)
    assert cp == Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
    assert cp.body() == SPEC_EXAMPLE
    assert format_checkpoint(cp) == SPEC_EXAMPLE.encode()
    assert parse_checkpoint(SPEC_EXAMPLE.encode()) == cp


def test_go_sumdb_tree_golden():
    # golang.org/x/mod sumdb/tlog note_test.go TestFormatTree (same three-line layout)
    golden = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
    cp = Checkpoint("go.sum database tree", 123456789012, leaf_hash(b"hello world"))
    assert cp.body() == golden
    assert parse_checkpoint(golden) == cp


def test_extensions_and_empty_tree():
    cp = Checkpoint("o", 0, EMPTY_ROOT, ("ext one", "— two"))
    text = cp.body()
    assert text == "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n— two\n"
    assert parse_checkpoint(text) == cp


@pytest.mark.parametrize(
    "text,why",
    [
        ("example.com/log\n5\n", "at least 3 lines"),
        ("example.com/log\n5\n" + "A" * 43 + "=", "end with a newline"),
        ("example.com/log\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "leading zeroes"),
        ("example.com/log\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "decimal"),
        ("example.com/log\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "decimal"),
        ("example.com/log\n 5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "decimal"),
        ("example.com/log\n0x5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "decimal"),
        ("example.com/log\n\u0665\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "decimal"),
        ("example.com/log\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "64 bits"),
        ("example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n", "base64"),
        ("example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", "base64"),
        ("example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", "base64"),  # non-canonical
        ("example.com/log\n5\nAAAA\n", "expected 32"),
        ("\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "line 1 is empty"),
        ("o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nx\n", "line 4 is empty"),
        ("o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n", "line 4 is empty"),
        ("o\x01\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "control character"),
    ],
)
def test_parse_errors(text, why):
    with pytest.raises(CheckpointError, match=why):
        parse_checkpoint(text)


def test_constructor_validation():
    with pytest.raises(CheckpointError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint("o", -1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint("o", 1, b"short")
    with pytest.raises(CheckpointError):
        Checkpoint("o\nx", 1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint("o", 1, ROOT, ("",))
    with pytest.raises(CheckpointError):
        Checkpoint("o", True, ROOT)


def test_sign_and_open():
    skey, vkey = note.generate_key("example.com/log")
    signer, verifier = note.new_signer(skey), note.new_verifier(vkey)
    cp = Checkpoint("example.com/log", 42, ROOT, ("ext",))
    signed = sign_checkpoint(cp, signer)
    got, n = open_checkpoint(signed, [verifier], origin="example.com/log")
    assert got == cp and n.sigs[0].name == "example.com/log"
    with pytest.raises(CheckpointError, match="not the expected"):
        open_checkpoint(signed, [verifier], origin="example.com/other")
    with pytest.raises(note.InvalidSignatureError):
        open_checkpoint(signed.replace(b"\n42\n", b"\n43\n"), [verifier])
    other = note.new_verifier(note.generate_key("example.com/log")[1])
    with pytest.raises(note.UnverifiedNoteError):
        open_checkpoint(signed, [other])
    # a well-signed note whose body is not a checkpoint
    bad = note.sign_note("just text\n", signer)
    with pytest.raises(CheckpointError):
        open_checkpoint(bad, [verifier])


line_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(
    origin=line_text,
    size=st.integers(0, (1 << 64) - 1),
    root=st.binary(min_size=32, max_size=32),
    ext=st.lists(line_text, max_size=3),
)
def test_round_trip(origin, size, root, ext):
    cp = Checkpoint(origin, size, root, tuple(ext))
    assert parse_checkpoint(cp.body()) == cp
    assert parse_checkpoint(cp.body_bytes()) == cp
