"""C2SP tlog-cosignature v1 (Ed25519, signature type 0x04).

A cosignature is a signed-note signature line on a checkpoint made by a
*cosigner* (a witness)::

    \u2014 <cosigner name> base64(key ID || timestamp || ed25519 signature)

* key ID    = ``SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4]``
* timestamp = POSIX seconds, 8 bytes big-endian, at most ``2**63 - 1``
* signed message (C2SP tlog-cosignature, "Ed25519 signed message")::

      cosignature/v1\\n
      time <timestamp in decimal, no leading zeroes>\\n
      <the whole checkpoint note text, including extension lines>

Verifier keys are vkeys with type byte 0x04:
``<name>+<hex8 key ID>+<base64(0x04 || public key)>``.

The classes here implement the :class:`.note.Signer` / :class:`.note.Verifier`
interfaces, so cosignatures are produced with :func:`.note.sign_note` and
checked with :func:`.note.open_note` like any other signature.
"""

from __future__ import annotations

import base64
import time
from typing import Callable, Optional, Tuple, Union

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

from . import note as _note
from .checkpoint import CheckpointError, parse_checkpoint

__all__ = [
    "ALG_COSIGNATURE_V1",
    "MAX_TIMESTAMP",
    "CosignatureError",
    "cosignature_key_id",
    "cosignature_message",
    "CosignatureSigner",
    "CosignatureVerifier",
    "generate_cosignature_key",
    "new_cosignature_signer",
    "new_cosignature_verifier",
    "cosign",
    "verify_cosignature",
    "cosignature_timestamp",
]

#: Signature type byte of Ed25519 cosignature/v1 (C2SP signed-note / tlog-cosignature).
ALG_COSIGNATURE_V1 = 0x04

#: Largest allowed timestamp (C2SP tlog-cosignature: MUST NOT exceed 2^63 - 1).
MAX_TIMESTAMP = (1 << 63) - 1

_TS_LEN = 8
_SIG_LEN = 64


class CosignatureError(ValueError):
    """A cosignature is malformed, from the wrong key, or does not verify."""


def cosignature_key_id(name: str, public_key: bytes) -> int:
    """Return ``SHA-256(name || 0x0A || 0x04 || public_key)[:4]`` as an int.

    Args:
        name: cosigner (witness) name.
        public_key: 32-byte Ed25519 public key.
    Spec: C2SP tlog-cosignature, "Format".
    """
    if len(public_key) != 32:
        raise _note.KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    return _note.key_id(name, bytes([ALG_COSIGNATURE_V1]) + bytes(public_key))


def _check_timestamp(timestamp: int) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError("timestamp must be an int (POSIX seconds)")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"timestamp {timestamp} is outside [0, 2**63 - 1]")
    return timestamp


def cosignature_message(timestamp: int, checkpoint_body: Union[bytes, str]) -> bytes:
    """Return the message an Ed25519 cosignature signs.

    Args:
        timestamp: POSIX seconds, ``0 <= timestamp <= 2**63 - 1``.
        checkpoint_body: the checkpoint note text (with final newline, without
            signature lines).
    Returns:
        ``b"cosignature/v1\\ntime <timestamp>\\n" + checkpoint_body``.
    Raises:
        CosignatureError: timestamp out of range or the body has fewer than
            three lines.
    Spec: C2SP tlog-cosignature, "Ed25519 signed message".
    """
    _check_timestamp(timestamp)
    if isinstance(checkpoint_body, str):
        checkpoint_body = checkpoint_body.encode("utf-8")
    if checkpoint_body.count(b"\n") < 3 or not checkpoint_body.endswith(b"\n"):
        raise CosignatureError("cosigned checkpoint body must have at least three lines")
    return b"cosignature/v1\ntime %d\n" % timestamp + bytes(checkpoint_body)


class CosignatureVerifier:
    """Verifier for Ed25519 cosignature/v1 signatures (type 0x04).

    Args:
        name: cosigner name (the key name in signature lines).
        public_key: 32-byte Ed25519 public key.
    Attributes:
        name, key_id, public_key.
    Raises:
        KeyFormatError: invalid name or key.
    """

    alg = ALG_COSIGNATURE_V1

    def __init__(self, name: str, public_key: bytes):
        if not _note.is_valid_name(name):
            raise _note.KeyFormatError(f"invalid key name {name!r}")
        self.key_id = cosignature_key_id(name, public_key)
        try:
            self._vk = VerifyKey(bytes(public_key))
        except (CryptoError, ValueError, TypeError) as exc:
            raise _note.KeyFormatError(f"invalid Ed25519 public key: {exc}") from None
        self.name = name
        self.public_key = bytes(public_key)

    @property
    def vkey(self) -> str:
        """Verifier key string ``name+hex8+base64(0x04||pub)``."""
        material = bytes([ALG_COSIGNATURE_V1]) + self.public_key
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(material).decode('ascii')}"

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Check ``sig`` = ``timestamp(8) || ed25519(64)`` over the cosignature message of ``msg``.

        Args:
            msg: the checkpoint note text (bytes).
            sig: signature bytes after the key ID (72 bytes).
        Returns:
            True iff valid (the timestamp can be read back with
            :func:`cosignature_timestamp`).
        """
        if len(sig) != _TS_LEN + _SIG_LEN:
            return False
        ts = int.from_bytes(sig[:_TS_LEN], "big")
        if ts > MAX_TIMESTAMP:
            return False
        try:
            m = cosignature_message(ts, bytes(msg))
            self._vk.verify(m, bytes(sig[_TS_LEN:]))
        except (CosignatureError, BadSignatureError, CryptoError, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self.vkey!r})"


class CosignatureSigner:
    """Signer producing Ed25519 cosignature/v1 signatures (type 0x04).

    Args:
        name: cosigner name.
        seed: 32-byte Ed25519 seed.
        clock: zero-argument callable returning the current POSIX time in
            seconds (float or int); defaults to :func:`time.time`.
    Raises:
        KeyFormatError: invalid name or seed.
    Spec: C2SP tlog-cosignature.
    """

    alg = ALG_COSIGNATURE_V1

    def __init__(self, name: str, seed: bytes, clock: Optional[Callable[[], float]] = None):
        if not _note.is_valid_name(name):
            raise _note.KeyFormatError(f"invalid key name {name!r}")
        if len(seed) != 32:
            raise _note.KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        self._sk = SigningKey(bytes(seed))
        self.name = name
        self.seed = bytes(seed)
        self.public_key = self._sk.verify_key.encode()
        self.key_id = cosignature_key_id(name, self.public_key)
        self.clock = clock or time.time

    def sign_at(self, msg: bytes, timestamp: int) -> bytes:
        """Return ``timestamp(8, big-endian) || Ed25519 signature`` for checkpoint text ``msg``.

        Raises:
            CosignatureError: ``msg`` is not a valid checkpoint body or the
                timestamp is out of range.
        """
        try:
            parse_checkpoint(bytes(msg))
        except CheckpointError as exc:
            raise CosignatureError(f"refusing to cosign a non-checkpoint: {exc}") from None
        m = cosignature_message(timestamp, bytes(msg))
        return timestamp.to_bytes(_TS_LEN, "big") + self._sk.sign(m).signature

    def sign(self, msg: bytes) -> bytes:
        """:class:`.note.Signer` interface: cosign ``msg`` at ``int(clock())``."""
        return self.sign_at(msg, int(self.clock()))

    def verifier(self) -> CosignatureVerifier:
        """Return the matching :class:`CosignatureVerifier`."""
        return CosignatureVerifier(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        """Verifier key string (type 0x04)."""
        return self.verifier().vkey

    @property
    def skey(self) -> str:
        """Signer key string ``PRIVATE+KEY+name+hex8+base64(0x04||seed)`` (secret!)."""
        material = bytes([ALG_COSIGNATURE_V1]) + self.seed
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{base64.b64encode(material).decode('ascii')}"

    def __repr__(self) -> str:
        return f"CosignatureSigner(name={self.name!r}, key_id={self.key_id:08x})"


def generate_cosignature_key(name: str) -> Tuple[str, str]:
    """Generate a witness key pair.

    Returns:
        ``(skey, vkey)`` with type byte 0x04.
    Raises:
        KeyFormatError: invalid name.
    """
    s = CosignatureSigner(name, SigningKey.generate().encode())
    return s.skey, s.vkey


def new_cosignature_signer(skey: str, clock: Optional[Callable[[], float]] = None) -> CosignatureSigner:
    """Build a cosigner from a signer key string.

    Accepts type 0x04 keys (key ID computed with 0x04) and, like
    transparency-dev/formats ``NewSignerForCosignatureV1``, plain Ed25519 type
    0x01 keys (key ID checked with 0x01; the cosigner then uses the 0x04 key ID).

    Raises:
        KeyFormatError: malformed key or key ID mismatch.
    """
    name, kid, alg, seed = _note.parse_skey(skey)
    if alg not in (_note.ALG_ED25519, ALG_COSIGNATURE_V1):
        raise _note.KeyFormatError(f"unknown signer algorithm 0x{alg:02x}")
    if len(seed) != 32:
        raise _note.KeyFormatError("malformed signer key: Ed25519 seed must be 32 bytes")
    s = CosignatureSigner(name, seed, clock)
    expected = _note.key_id(name, bytes([alg]) + s.public_key)
    if kid != expected:
        raise _note.KeyFormatError("signer key ID does not match the public key")
    return s


def new_cosignature_verifier(vkey: str) -> CosignatureVerifier:
    """Build a cosignature verifier from a type-0x04 vkey string.

    Raises:
        KeyFormatError: malformed key, wrong key ID, or a type byte other than 0x04.
    Spec: C2SP tlog-cosignature "Format" (vkeys with signature type 0x04).
    """
    name, kid, alg, key = _note.parse_vkey(vkey)
    if alg != ALG_COSIGNATURE_V1:
        raise _note.KeyFormatError(
            f"unknown verifier algorithm 0x{alg:02x} (expected 0x04 cosignature/v1)"
        )
    if len(key) != 32:
        raise _note.KeyFormatError("malformed verifier key: Ed25519 key must be 32 bytes")
    v = CosignatureVerifier(name, key)
    assert v.key_id == kid
    return v


def cosign(
    checkpoint_body: Union[bytes, str], signer: CosignatureSigner, timestamp: Optional[int] = None
) -> str:
    """Cosign a checkpoint body and return the signature line.

    Args:
        checkpoint_body: checkpoint note text (no signature lines).
        signer: the cosigner.
        timestamp: POSIX seconds; defaults to ``int(signer.clock())``.
    Returns:
        ``"\u2014 <name> <base64(key ID || timestamp || signature)>\\n"``.
    Raises:
        CosignatureError: not a checkpoint, or timestamp out of range.
    """
    if isinstance(checkpoint_body, str):
        checkpoint_body = checkpoint_body.encode("utf-8")
    ts = int(signer.clock()) if timestamp is None else timestamp
    sig = signer.sign_at(checkpoint_body, ts)
    return _note.Signature.create(signer.name, signer.key_id, sig).line()


def _signature_from(sig: Union[str, _note.Signature]) -> _note.Signature:
    if isinstance(sig, _note.Signature):
        return sig
    if not isinstance(sig, str):
        raise TypeError("signature must be a Signature or a signature line")
    line = sig[:-1] if sig.endswith("\n") else sig
    if line.startswith(_note.EM_DASH + " "):
        line = line[2:]
        name, _, b64 = line.partition(" ")
    else:
        raise CosignatureError("cosignature line must start with an em dash and a space")
    try:
        raw = _note.b64decode_strict(b64)
    except ValueError:
        raise CosignatureError("cosignature is not valid base64") from None
    if len(raw) < 4:
        raise CosignatureError("cosignature is too short")
    return _note.Signature(name, int.from_bytes(raw[:4], "big"), b64)


def cosignature_timestamp(sig: Union[str, _note.Signature]) -> int:
    """Return the timestamp embedded in a cosignature.

    Args:
        sig: a :class:`.note.Signature`, a signature line, or the bare base64
            of ``key ID || timestamp || signature``.
    Returns:
        POSIX seconds.
    Raises:
        CosignatureError: malformed (wrong length for an Ed25519 cosignature).
    """
    if isinstance(sig, str) and not sig.startswith(_note.EM_DASH):
        try:
            raw = _note.b64decode_strict(sig.strip())
        except ValueError:
            raise CosignatureError("cosignature is not valid base64") from None
    else:
        s = _signature_from(sig)
        raw = _note.b64decode_strict(s.base64)
    if len(raw) != 4 + _TS_LEN + _SIG_LEN:
        raise CosignatureError(
            f"Ed25519 cosignature must be {4 + _TS_LEN + _SIG_LEN} bytes, got {len(raw)}"
        )
    ts = int.from_bytes(raw[4 : 4 + _TS_LEN], "big")
    if ts > MAX_TIMESTAMP:
        raise CosignatureError("cosignature timestamp exceeds 2**63 - 1")
    return ts


def verify_cosignature(
    checkpoint_body: Union[bytes, str],
    sig: Union[str, _note.Signature],
    verifier: CosignatureVerifier,
) -> int:
    """Verify one cosignature over a checkpoint body.

    Args:
        checkpoint_body: checkpoint note text (no signature lines).
        sig: the signature line or :class:`.note.Signature`.
        verifier: the expected cosigner.
    Returns:
        The verified timestamp (POSIX seconds).
    Raises:
        CosignatureError: name / key ID mismatch, malformed, or bad signature.
    """
    s = _signature_from(sig)
    if s.name != verifier.name or s.key_id != verifier.key_id:
        raise CosignatureError(
            f"cosignature is by {s.name}+{s.key_id:08x}, expected "
            f"{verifier.name}+{verifier.key_id:08x}"
        )
    if isinstance(checkpoint_body, str):
        checkpoint_body = checkpoint_body.encode("utf-8")
    raw = s.raw
    if not verifier.verify(checkpoint_body, raw):
        raise CosignatureError(f"cosignature by {s.name} does not verify")
    return int.from_bytes(raw[:_TS_LEN], "big")
