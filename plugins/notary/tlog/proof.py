"""C2SP tlog-proof v1: offline-verifiable inclusion receipts.

Format (C2SP tlog-proof, "Format")::

    c2sp.org/tlog-proof@v1\\n
    [extra <base64 opaque data>\\n]          (optional, unauthenticated)
    index <leaf index, decimal, no leading zeroes>\\n
    <base64 hash>\\n ...                      (inclusion proof, leaf sibling first)
    \\n
    <the signed checkpoint note, verbatim, with any witness cosignatures>

:func:`verify_receipt` checks, against a :class:`.policy.Policy`: the
checkpoint signature by a policy log whose key name is the checkpoint origin,
every cosignature by a known witness, the inclusion proof of
``leaf_hash(entry)`` at ``index`` under the checkpoint root, and the quorum.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from . import note as _note
from .checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from .cosignature import cosignature_timestamp
from .merkle import HASH_SIZE, MAX_PROOF_LENGTH, ProofError, leaf_hash, verify_inclusion
from .policy import Policy

__all__ = [
    "HEADER",
    "ReceiptError",
    "TlogProof",
    "VerifiedReceipt",
    "format_proof",
    "parse_proof",
    "verify_receipt",
]

#: First line of every tlog-proof.
HEADER = "c2sp.org/tlog-proof@v1"
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z")


class ReceiptError(ValueError):
    """A receipt (tlog-proof) is malformed or does not verify; message says why."""


@dataclass(frozen=True)
class TlogProof:
    """A parsed tlog-proof.

    Attributes:
        index: zero-based leaf index.
        hashes: inclusion proof hashes (32 bytes each), leaf sibling first.
        checkpoint: signed checkpoint note bytes, verbatim.
        extra: optional opaque extra data (NOT authenticated), or None.
    """

    index: int
    hashes: Tuple[bytes, ...]
    checkpoint: bytes
    extra: Optional[bytes] = None


@dataclass(frozen=True)
class VerifiedReceipt:
    """Result of a successful :func:`verify_receipt`.

    Attributes:
        index: leaf index of the entry.
        checkpoint: the verified :class:`.checkpoint.Checkpoint` (origin, size, root).
        leaf_hash: ``leaf_hash(entry)``.
        log_key: vkey of the policy log that signed the checkpoint.
        witnesses: policy names of witnesses whose cosignatures verified.
        cosigned_at: policy witness name -> cosignature timestamp (POSIX seconds).
        extra: the unauthenticated extra data, if any.
    """

    index: int
    checkpoint: Checkpoint
    leaf_hash: bytes
    log_key: str
    witnesses: Tuple[str, ...]
    cosigned_at: Dict[str, int] = field(default_factory=dict)
    extra: Optional[bytes] = None


def format_proof(
    index: int,
    hashes: Sequence[bytes],
    checkpoint: Union[bytes, str],
    extra: Optional[bytes] = None,
) -> bytes:
    """Encode a tlog-proof.

    Args:
        index: leaf index (``>= 0``).
        hashes: inclusion proof (32-byte hashes, from :func:`.merkle.inclusion_proof`).
        checkpoint: the signed checkpoint note (bytes or str), included verbatim.
        extra: optional opaque data for the ``extra`` line.
    Returns:
        The receipt bytes.
    Raises:
        ValueError: negative index, a hash not 32 bytes, too many hashes.
    Spec: C2SP tlog-proof, "Format".
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    if len(hashes) > MAX_PROOF_LENGTH:
        raise ValueError(f"inclusion proof has more than {MAX_PROOF_LENGTH} hashes")
    if isinstance(checkpoint, str):
        checkpoint = checkpoint.encode("utf-8")
    out = [HEADER.encode("ascii"), b"\n"]
    if extra is not None:
        out.append(b"extra " + base64.b64encode(bytes(extra)) + b"\n")
    out.append(b"index %d\n" % index)
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ValueError("inclusion proof hashes must be 32 bytes")
        out.append(base64.b64encode(bytes(h)) + b"\n")
    out.append(b"\n")
    out.append(bytes(checkpoint))
    return b"".join(out)


def parse_proof(data: Union[bytes, str]) -> TlogProof:
    """Parse a tlog-proof.

    Args:
        data: receipt bytes (or str).
    Returns:
        :class:`TlogProof`.
    Raises:
        ReceiptError: wrong header, bad ``extra`` / ``index`` line, a hash line
            that is not base64 of 32 bytes, more than 64 hashes, missing empty
            line or empty checkpoint.
    Spec: C2SP tlog-proof, "Format".
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("receipt must be bytes or str")
    data = bytes(data)
    pos = 0

    def next_line() -> str:
        nonlocal pos
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise ReceiptError("receipt ended before the checkpoint")
        raw = data[pos:nl]
        pos = nl + 1
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise ReceiptError("receipt header lines must be ASCII") from None

    if next_line() != HEADER:
        raise ReceiptError(f"receipt must start with {HEADER!r}")
    line = next_line()
    extra = None
    if line.startswith("extra "):
        try:
            extra = _note.b64decode_strict(line[len("extra ") :])
        except ValueError:
            raise ReceiptError("receipt extra data is not valid base64") from None
        line = next_line()
    if not line.startswith("index "):
        raise ReceiptError("receipt is missing the 'index N' line")
    idx_s = line[len("index ") :]
    if not _DECIMAL.match(idx_s) or int(idx_s) >= 1 << 64:
        raise ReceiptError(f"receipt index {idx_s!r} is not a decimal number without leading zeroes")
    index = int(idx_s)
    hashes: List[bytes] = []
    while True:
        line = next_line()
        if line == "":
            break
        if len(hashes) >= MAX_PROOF_LENGTH:
            raise ReceiptError(f"receipt has more than {MAX_PROOF_LENGTH} proof hashes")
        try:
            h = _note.b64decode_strict(line)
        except ValueError:
            raise ReceiptError(f"receipt proof line {len(hashes) + 1} is not valid base64") from None
        if len(h) != HASH_SIZE:
            raise ReceiptError(
                f"receipt proof line {len(hashes) + 1} is {len(h)} bytes, expected {HASH_SIZE}"
            )
        hashes.append(h)
    checkpoint = data[pos:]
    if not checkpoint:
        raise ReceiptError("receipt has no checkpoint")
    return TlogProof(index, tuple(hashes), checkpoint, extra)


def verify_receipt(
    receipt: Union[bytes, str, TlogProof],
    entry: bytes,
    policy: Policy,
    *,
    origin: Optional[str] = None,
) -> VerifiedReceipt:
    """Verify a receipt for ``entry`` against a trust policy, fully offline.

    Args:
        receipt: the tlog-proof bytes (or an already parsed :class:`TlogProof`).
        entry: the raw log entry bytes (it is leaf-hashed here).
        policy: a parsed :class:`.policy.Policy`.
        origin: if given, the checkpoint origin must equal it.
    Returns:
        :class:`VerifiedReceipt`.
    Raises:
        ReceiptError: malformed receipt; checkpoint note malformed or not signed
            by a policy log whose name is the origin; a known key's signature
            fails; malformed checkpoint body; inclusion proof fails; witness
            quorum not met.
    Spec: C2SP tlog-proof + tlog-checkpoint + tlog-cosignature + tlog-policy;
    inclusion per RFC 9162 2.1.3.2.
    """
    tp = receipt if isinstance(receipt, TlogProof) else parse_proof(receipt)
    try:
        n = _note.open_note(tp.checkpoint, policy.note_verifiers())
    except _note.UnverifiedNoteError:
        raise ReceiptError("checkpoint has no signature from a log or witness in the policy") from None
    except _note.NoteError as exc:
        raise ReceiptError(f"checkpoint note rejected: {exc}") from None
    try:
        cp = parse_checkpoint(n.text)
    except CheckpointError as exc:
        raise ReceiptError(f"malformed checkpoint: {exc}") from None
    if origin is not None and cp.origin != origin:
        raise ReceiptError(f"checkpoint origin {cp.origin!r} is not the expected {origin!r}")
    log_key = None
    for lg in policy.logs_for_origin(cp.origin):
        if n.has_signature(lg.verifier.name, lg.verifier.key_id):
            log_key = lg.vkey
            break
    if log_key is None:
        raise ReceiptError(f"checkpoint is not signed by a policy log for origin {cp.origin!r}")
    lh = leaf_hash(entry)
    try:
        verify_inclusion(lh, tp.index, cp.size, tp.hashes, cp.root_hash)
    except ProofError as exc:
        raise ReceiptError(f"inclusion proof does not verify: {exc}") from None
    cosigned = policy.witnesses_in(n)
    if not policy.quorum_satisfied(cosigned):
        have = ", ".join(sorted(cosigned)) or "none"
        raise ReceiptError(f"witness quorum {policy.quorum!r} not satisfied (cosigned by: {have})")
    stamps: Dict[str, int] = {}
    for name in cosigned:
        w = policy.witnesses[name]
        for sig in n.sigs:
            if sig.name == w.verifier.name and sig.key_id == w.verifier.key_id:
                stamps[name] = cosignature_timestamp(sig)
                break
    return VerifiedReceipt(
        index=tp.index,
        checkpoint=cp,
        leaf_hash=lh,
        log_key=log_key,
        witnesses=tuple(sorted(cosigned)),
        cosigned_at=stamps,
        extra=tp.extra,
    )
