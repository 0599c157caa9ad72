"""Tests for plugins.notary.tlog.policy (C2SP tlog-policy)."""

import itertools

import pytest

from plugins.notary.tlog import note
from plugins.notary.tlog.checkpoint import Checkpoint, sign_checkpoint
from plugins.notary.tlog.cosignature import generate_cosignature_key, new_cosignature_signer
from plugins.notary.tlog.policy import PolicyError, parse_policy

LOG_VKEY = note.generate_key("example.com/log")[1]
W = {n: generate_cosignature_key(f"{n.lower()}.example")[1] for n in ["X1", "X2", "X3", "Y1", "Y2", "Y3"]}


def spec_example():
    # The example policy of the C2SP tlog-policy spec, with real keys.
    return f"""log {LOG_VKEY}

witness X1 {W['X1']}
witness X2 {W['X2']}
witness X3 {W['X3']}
group X-witnesses 2 X1 X2 X3

witness Y1 {W['Y1']}
witness Y2 {W['Y2']}
witness Y3 {W['Y3']}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
"""


def test_spec_example_parses():
    p = parse_policy(spec_example())
    assert [lg.vkey for lg in p.logs] == [LOG_VKEY]
    assert p.logs[0].origin == "example.com/log"
    assert sorted(p.witnesses) == ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
    assert p.groups["X-witnesses"].threshold == 2
    assert p.groups["Y-witnesses"].threshold == 1
    assert p.groups["X-and-Y"].threshold == 2
    assert p.groups["X-and-Y"].members == ("X-witnesses", "Y-witnesses")
    assert p.quorum == "X-and-Y"


def test_quorum_evaluation_exhaustive():
    p = parse_policy(spec_example())
    names = ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
    for r in range(len(names) + 1):
        for subset in itertools.combinations(names, r):
            xs = sum(n.startswith("X") for n in subset)
            ys = sum(n.startswith("Y") for n in subset)
            assert p.quorum_satisfied(subset) == (xs >= 2 and ys >= 1), subset


def test_quorum_none_and_single_witness():
    p = parse_policy(f"log {LOG_VKEY}\nquorum none\n")
    assert p.quorum_satisfied([]) and p.witnesses == {}
    p = parse_policy(f"witness A {W['X1']}\nquorum A\n")
    assert not p.quorum_satisfied([]) and p.quorum_satisfied(["A"])
    assert p.logs == []


def test_whitespace_comments_and_urls():
    text = (
        "# a comment\n"
        "   \t\n"
        f"\tlog \t {LOG_VKEY}   https://log.example/   \n"
        f"  # indented comment\n"
        f"witness\tA\t{W['X1']}\thttps://w.example/sub\n"
        "quorum A   \n"
    )
    p = parse_policy(text.encode())
    assert p.logs[0].url == "https://log.example/"
    assert p.witnesses["A"].url == "https://w.example/sub"


def test_non_ascii_names_are_opaque_octets():
    p = parse_policy(f"witness K {W['X1']}\nwitness \u212a {W['X2']}\ngroup g all K \u212a\nquorum g\n".encode())
    assert set(p.witnesses) == {"K", "\u212a"}
    assert not p.quorum_satisfied(["K"])
    assert p.quorum_satisfied(["K", "\u212a"])


@pytest.mark.parametrize(
    "text,line,why",
    [
        ("bogus x\nquorum none\n", 1, "unknown keyword"),
        ("log\nquorum none\n", 1, "log line"),
        (f"log {LOG_VKEY} url extra\nquorum none\n", 1, "log line"),
        ("log not-a-key\nquorum none\n", 1, "invalid log vkey"),
        (f"log {W['X1']}\nquorum none\n", 1, "invalid log vkey"),  # 0x04 key as log key
        (f"log {LOG_VKEY}\nlog {LOG_VKEY}\nquorum none\n", 2, "duplicate log"),
        ("witness A\nquorum none\n", 1, "witness line"),
        (f"witness A {LOG_VKEY}\nquorum none\n", 1, "invalid witness vkey"),  # 0x01 key as witness key
        (f"witness A {W['X1']}\nwitness B {W['X1']}\nquorum none\n", 2, "duplicate witness public key"),
        (f"witness A {W['X1']}\nwitness A {W['X2']}\nquorum none\n", 2, "already defined"),
        (f"witness none {W['X1']}\nquorum none\n", 1, "reserved"),
        (f"witness A {W['X1']}\ngroup g 1 B\nquorum none\n", 2, "not defined on an earlier line"),
        (f"group g any A\nwitness A {W['X1']}\nquorum g\n", 1, "not defined on an earlier line"),
        (f"witness A {W['X1']}\ngroup g all A A\nquorum g\n", 2, "more than once"),
        (f"witness A {W['X1']}\ngroup g 0 A\nquorum g\n", 2, "decimal"),
        (f"witness A {W['X1']}\ngroup g 2 A\nquorum g\n", 2, "between 1 and 1"),
        (f"witness A {W['X1']}\ngroup g 01 A\nquorum g\n", 2, "decimal"),
        (f"witness A {W['X1']}\ngroup g some A\nquorum g\n", 2, "all, any or a decimal"),
        (f"witness A {W['X1']}\ngroup g any\nquorum g\n", 2, "group line"),
        (f"witness A {W['X1']}\ngroup g any A none\nquorum g\n", 2, "'none' cannot be a group member"),
        (f"witness A {W['X1']}\ngroup A any A\nquorum A\n", 2, "already defined"),
        (f"witness A {W['X1']}\nquorum A\nquorum A\n", 3, "second quorum line"),
        (f"quorum B\nwitness B {W['X1']}\n", 1, "not defined on an earlier line"),
        ("quorum\n", 1, "quorum line"),
        (f"log {LOG_VKEY}\n", 0, "no quorum line"),
        (f"log {LOG_VKEY}\nquorum none\x0b\n", 2, "control character 0x0b"),
        (f"log {LOG_VKEY}\r\nquorum none\n", 1, "control character 0x0d"),
    ],
    ids=[f"case{i}" for i in range(27)],
)
def test_parse_errors_with_line_numbers(text, line, why):
    with pytest.raises(PolicyError, match=why) as ei:
        parse_policy(text)
    assert ei.value.line == line
    if line:
        assert str(ei.value).startswith(f"line {line}: ")


def test_note_verifiers_and_witnesses_in():
    skey, vkey = note.generate_key("example.com/log")

    wskey, wvkey = generate_cosignature_key("w.example")
    p = parse_policy(f"log {vkey}\nwitness W {wvkey}\nquorum W\n")
    signed = sign_checkpoint(Checkpoint("example.com/log", 1, b"\x00" * 32), note.new_signer(skey))
    cosigned = note.sign_note(note.parse_note(signed), new_cosignature_signer(wskey, clock=lambda: 5))
    n = note.open_note(cosigned, p.note_verifiers())
    assert p.witnesses_in(n) == {"W"}
    assert p.quorum_satisfied(p.witnesses_in(n))
    assert len(p.logs_for_origin("example.com/log")) == 1 and p.logs_for_origin("x") == []
