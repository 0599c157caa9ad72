"""C2SP tlog-policy: which logs and witnesses to trust, and the witness quorum.

Syntax (C2SP tlog-policy, "Policy file syntax and structure")::

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <member>...
    quorum <name>|none

* items are separated by spaces/tabs; leading/trailing whitespace is allowed;
  blank lines and lines starting with ``#`` (after optional whitespace) are ignored;
* allowed octets: tab, newline, 0x20-0x7E and 0x80-0xFF; names are opaque
  octet strings (compared byte for byte);
* a group / quorum may only name witnesses or groups defined on *earlier* lines;
  each name may be a member of a given group at most once; ``none`` is reserved;
* ``any`` means k = 1, ``all`` means k = n, a numeric k needs ``1 <= k <= n``;
* exactly one ``quorum`` line; duplicate log or witness public keys are errors.

Log vkeys use signature type 0x01 (Ed25519 note signatures, the log's
checkpoint signature); witness vkeys use 0x04 (Ed25519 cosignature/v1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple, Union

from . import note as _note
from .cosignature import CosignatureVerifier, new_cosignature_verifier

__all__ = [
    "PolicyError",
    "PolicyLog",
    "PolicyWitness",
    "PolicyGroup",
    "Policy",
    "parse_policy",
    "MAX_LOGS",
    "MAX_WITNESSES",
    "MAX_GROUPS",
]

#: Implementation limits (the spec recommends supporting at least 32 of each).
MAX_LOGS = 256
MAX_WITNESSES = 256
MAX_GROUPS = 256

_NONE = "none"
_DECIMAL_K = re.compile(r"[1-9][0-9]*\Z")


class PolicyError(ValueError):
    """A policy file is malformed; the message starts with ``line N:``.

    Attribute ``line`` holds the 1-based line number (0 when not line-specific).
    """

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class PolicyLog:
    """A trusted log: its vkey (name = checkpoint origin), verifier and optional URL."""

    vkey: str
    verifier: _note.Ed25519Verifier
    url: Optional[str] = None

    @property
    def origin(self) -> str:
        """The log origin (the vkey's key name)."""
        return self.verifier.name


@dataclass(frozen=True)
class PolicyWitness:
    """A trusted witness: policy-local name, vkey, cosignature verifier, optional URL."""

    name: str
    vkey: str
    verifier: CosignatureVerifier
    url: Optional[str] = None


@dataclass(frozen=True)
class PolicyGroup:
    """A witness group: satisfied when at least ``threshold`` members are."""

    name: str
    threshold: int
    members: Tuple[str, ...]


@dataclass
class Policy:
    """A parsed tlog policy.

    Attributes:
        logs: list of :class:`PolicyLog`.
        witnesses: policy-local name -> :class:`PolicyWitness`.
        groups: name -> :class:`PolicyGroup`.
        quorum: a witness or group name, or ``"none"``.
    """

    logs: List[PolicyLog] = field(default_factory=list)
    witnesses: Dict[str, PolicyWitness] = field(default_factory=dict)
    groups: Dict[str, PolicyGroup] = field(default_factory=dict)
    quorum: str = _NONE

    # ---- lookups -------------------------------------------------------

    def logs_for_origin(self, origin: str) -> List[PolicyLog]:
        """Return the policy logs whose key name equals ``origin``."""
        return [lg for lg in self.logs if lg.origin == origin]

    def note_verifiers(self) -> _note.VerifierList:
        """All log and witness verifiers, for :func:`.note.open_note`."""
        vl = _note.VerifierList()
        for lg in self.logs:
            vl.add(lg.verifier)
        for w in self.witnesses.values():
            vl.add(w.verifier)
        return vl

    def witnesses_in(self, note: _note.Note) -> Set[str]:
        """Return the policy names of witnesses with a *verified* signature in ``note``."""
        out = set()
        for name, w in self.witnesses.items():
            if note.has_signature(w.verifier.name, w.verifier.key_id):
                out.add(name)
        return out

    # ---- quorum --------------------------------------------------------

    def satisfied(self, name: str, cosigned: Set[str]) -> bool:
        """Return whether witness/group ``name`` has witnessed, given the set of
        policy witness names that produced verified cosignatures.

        Raises:
            KeyError: ``name`` is not defined.
        """
        if name == _NONE:
            return True
        if name in self.witnesses:
            return name in cosigned
        g = self.groups[name]
        count = 0
        for m in g.members:
            if self.satisfied(m, cosigned):
                count += 1
                if count >= g.threshold:
                    return True
        return False

    def quorum_satisfied(self, cosigned: Iterable[str]) -> bool:
        """Evaluate the policy quorum.

        Args:
            cosigned: policy-local names of witnesses whose cosignatures verified.
        Returns:
            True iff the quorum rule holds (always True for ``quorum none``).
        Spec: C2SP tlog-policy, "Defining the quorum" / "Defining a witness group".
        """
        return self.satisfied(self.quorum, set(cosigned))


def _split(line: str) -> List[str]:
    return [t for t in re.split(r"[ \t]+", line.strip(" \t")) if t]


def parse_policy(data: Union[bytes, str]) -> Policy:
    """Parse a tlog policy file.

    Args:
        data: the policy file (bytes, or str which is UTF-8 encoded first).
    Returns:
        :class:`Policy`.
    Raises:
        PolicyError: with the offending line number, for: forbidden control
            characters, unknown keyword, wrong number of fields, invalid vkey
            (or wrong signature type), duplicate key / name, reference to an
            undefined or later name, repeated group member, bad threshold,
            ``none`` used as a defined name or group member, zero or several
            quorum lines, implementation limits exceeded.
    Spec: C2SP tlog-policy.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("policy must be bytes or str")
    data = bytes(data)
    pol = Policy()
    quorum_line = 0
    log_keys: Set[bytes] = set()
    witness_keys: Set[bytes] = set()
    raw_lines = data.split(b"\n")
    for lineno, raw in enumerate(raw_lines, 1):
        for b in raw:
            if b < 0x20 and b != 0x09 or b == 0x7F:
                raise PolicyError(lineno, f"forbidden control character 0x{b:02x}")
        # names are opaque octets: surrogateescape keeps byte-for-byte identity
        line = raw.decode("utf-8", errors="surrogateescape")
        stripped = line.strip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        fields = _split(line)
        kw, args = fields[0], fields[1:]
        if kw == "log":
            if not 1 <= len(args) <= 2:
                raise PolicyError(lineno, "log line must be: log <vkey> [<url>]")
            try:
                v = _note.new_verifier(args[0])
            except _note.NoteError as exc:
                raise PolicyError(lineno, f"invalid log vkey: {exc}") from None
            if v.public_key in log_keys:
                raise PolicyError(lineno, "duplicate log public key")
            log_keys.add(v.public_key)
            if len(pol.logs) >= MAX_LOGS:
                raise PolicyError(lineno, f"more than {MAX_LOGS} logs")
            pol.logs.append(PolicyLog(args[0], v, args[1] if len(args) > 1 else None))
        elif kw == "witness":
            if not 2 <= len(args) <= 3:
                raise PolicyError(lineno, "witness line must be: witness <name> <vkey> [<url>]")
            name = args[0]
            _check_new_name(pol, name, lineno)
            try:
                wv = new_cosignature_verifier(args[1])
            except _note.NoteError as exc:
                raise PolicyError(lineno, f"invalid witness vkey: {exc}") from None
            if wv.public_key in witness_keys:
                raise PolicyError(lineno, "duplicate witness public key")
            witness_keys.add(wv.public_key)
            if len(pol.witnesses) >= MAX_WITNESSES:
                raise PolicyError(lineno, f"more than {MAX_WITNESSES} witnesses")
            pol.witnesses[name] = PolicyWitness(name, args[1], wv, args[2] if len(args) > 2 else None)
        elif kw == "group":
            if len(args) < 3:
                raise PolicyError(lineno, "group line must be: group <name> all|any|<k> <name>...")
            name, kspec, members = args[0], args[1], args[2:]
            _check_new_name(pol, name, lineno)
            seen: Set[str] = set()
            for m in members:
                if m == _NONE:
                    raise PolicyError(lineno, "'none' cannot be a group member")
                if m not in pol.witnesses and m not in pol.groups:
                    raise PolicyError(lineno, f"group member {m!r} is not defined on an earlier line")
                if m in seen:
                    raise PolicyError(lineno, f"group member {m!r} is listed more than once")
                seen.add(m)
            n = len(members)
            if kspec == "all":
                k = n
            elif kspec == "any":
                k = 1
            elif _DECIMAL_K.match(kspec):
                k = int(kspec)
                if not 1 <= k <= n:
                    raise PolicyError(lineno, f"group threshold {k} is not between 1 and {n}")
            else:
                raise PolicyError(lineno, f"group threshold {kspec!r} must be all, any or a decimal number")
            if len(pol.groups) >= MAX_GROUPS:
                raise PolicyError(lineno, f"more than {MAX_GROUPS} groups")
            pol.groups[name] = PolicyGroup(name, k, tuple(members))
        elif kw == "quorum":
            if len(args) != 1:
                raise PolicyError(lineno, "quorum line must be: quorum <name>")
            if quorum_line:
                raise PolicyError(lineno, f"second quorum line (the first is line {quorum_line})")
            q = args[0]
            if q != _NONE and q not in pol.witnesses and q not in pol.groups:
                raise PolicyError(lineno, f"quorum {q!r} is not defined on an earlier line")
            pol.quorum = q
            quorum_line = lineno
        else:
            raise PolicyError(lineno, f"unknown keyword {kw!r}")
    if not quorum_line:
        raise PolicyError(0, "policy has no quorum line")
    return pol


def _check_new_name(pol: Policy, name: str, lineno: int) -> None:
    if name == _NONE:
        raise PolicyError(lineno, "the name 'none' is reserved")
    if name in pol.witnesses or name in pol.groups:
        raise PolicyError(lineno, f"name {name!r} is already defined")
