"""C2SP tlog-checkpoint: the signed tree head of a transparency log.

Note text (C2SP tlog-checkpoint, "Note text")::

    <origin>\\n
    <tree size, ASCII decimal, no leading zeroes ("0" for the empty tree)>\\n
    <base64 of the 32-byte RFC 6962 root hash>\\n
    [<extension line>\\n ...]        (optional, each non-empty)

The checkpoint is then signed as a C2SP signed note (:mod:`.note`); the log's
key name SHOULD equal the origin.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

from . import note as _note
from .merkle import HASH_SIZE

__all__ = [
    "CheckpointError",
    "Checkpoint",
    "parse_checkpoint",
    "format_checkpoint",
    "sign_checkpoint",
    "open_checkpoint",
]

_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z")
_MAX_UINT64 = (1 << 64) - 1


class CheckpointError(ValueError):
    """A checkpoint body is malformed or does not match what was expected."""


def _parse_size(s: str, what: str, error: type) -> int:
    if not _DECIMAL.match(s):
        raise error(f"{what} {s!r} is not a decimal number without leading zeroes")
    v = int(s)
    if v > _MAX_UINT64:
        raise error(f"{what} {s} does not fit in 64 bits")
    return v


@dataclass(frozen=True)
class Checkpoint:
    """A log checkpoint (tree head).

    Attributes:
        origin: log identity (first line), non-empty, no newline.
        size: tree size (number of leaves), ``0 <= size < 2**64``.
        root_hash: 32-byte RFC 6962 root hash.
        extensions: optional extension lines (each non-empty, no newline).
    Raises (on construction):
        CheckpointError: any field is invalid.
    Spec: C2SP tlog-checkpoint, "Note text".
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise CheckpointError("checkpoint origin must be a non-empty string")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= _MAX_UINT64:
            raise CheckpointError(f"checkpoint size must be an int in [0, 2**64), got {self.size!r}")
        if not isinstance(self.root_hash, (bytes, bytearray)) or len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        object.__setattr__(self, "root_hash", bytes(self.root_hash))
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for i, line in enumerate((self.origin,) + self.extensions):
            if not isinstance(line, str) or not line:
                raise CheckpointError("checkpoint lines must be non-empty strings")
            for ch in line:
                if ch < " ":
                    what = "origin" if i == 0 else f"extension line {i}"
                    raise CheckpointError(
                        f"checkpoint {what} contains control character U+{ord(ch):04X}"
                    )

    def body(self) -> str:
        """Return the note text (str) of this checkpoint, ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        lines.extend(self.extensions)
        return "\n".join(lines) + "\n"

    def body_bytes(self) -> bytes:
        """Return :meth:`body` as UTF-8 bytes (what signatures cover)."""
        return self.body().encode("utf-8")


def format_checkpoint(cp: Checkpoint) -> bytes:
    """Return the checkpoint note text as UTF-8 bytes (same as ``cp.body_bytes()``)."""
    return cp.body_bytes()


def parse_checkpoint(text: Union[str, bytes]) -> Checkpoint:
    """Parse a checkpoint note text (without signatures).

    Args:
        text: the note text, str or UTF-8 bytes, ending in a newline.
    Returns:
        :class:`Checkpoint`.
    Raises:
        CheckpointError: fewer than three lines, missing final newline, empty
            line, size with leading zeroes / not decimal / over 64 bits, root
            hash not canonical base64 of 32 bytes, control characters.
    Spec: C2SP tlog-checkpoint, "Note text".
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("checkpoint is not valid UTF-8") from None
    if not isinstance(text, str):
        raise TypeError("checkpoint text must be str or bytes")
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(f"checkpoint needs at least 3 lines, got {len(lines)}")
    for n, line in enumerate(lines, 1):
        if not line:
            raise CheckpointError(f"checkpoint line {n} is empty")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    size = _parse_size(size_s, "checkpoint tree size", CheckpointError)
    try:
        root = _note.b64decode_strict(root_s)
    except ValueError:
        raise CheckpointError("checkpoint root hash is not valid base64") from None
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root hash is {len(root)} bytes, expected {HASH_SIZE}")
    return Checkpoint(origin, size, root, tuple(lines[3:]))


def sign_checkpoint(
    cp: Checkpoint, signers: Union[_note.Signer, Sequence[_note.Signer]]
) -> bytes:
    """Return the signed checkpoint note (text, blank line, signature lines).

    Args:
        cp: the checkpoint.
        signers: the log's signer(s) (normally one :class:`.note.Ed25519Signer`
            whose name equals ``cp.origin``).
    Returns:
        Note bytes.
    Spec: C2SP tlog-checkpoint "Signatures" + C2SP signed-note.
    """
    return _note.sign_note(cp.body(), signers)


def open_checkpoint(
    note_bytes: Union[bytes, str],
    verifiers: "_note.VerifiersArg",
    origin: Optional[str] = None,
) -> Tuple[Checkpoint, _note.Note]:
    """Verify a signed checkpoint note and parse its body.

    Args:
        note_bytes: the signed note.
        verifiers: known keys (see :func:`.note.open_note`).
        origin: if given, the checkpoint origin must equal it.
    Returns:
        ``(checkpoint, note)``.
    Raises:
        NoteError (and subclasses): the note is malformed or not verified.
        CheckpointError: the body is not a valid checkpoint, or the origin differs.
    Spec: C2SP tlog-checkpoint + signed-note.
    """
    n = _note.open_note(note_bytes, verifiers)
    cp = parse_checkpoint(n.text)
    if origin is not None and cp.origin != origin:
        raise CheckpointError(f"checkpoint origin {cp.origin!r} is not the expected {origin!r}")
    return cp, n
