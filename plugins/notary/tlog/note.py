"""C2SP signed-note v1: Ed25519 keys, signing and opening of notes.

Format (C2SP signed-note, "Format"): a note is UTF-8 text that ends in a
newline, followed by a blank line, followed by one or more signature lines
``"\u2014 <key name> <base64(4-byte key ID || signature)>\\n"`` (U+2014 EM DASH,
space, name, space, base64).  The text is separated from the signatures by the
*last* blank line.  Notes must not contain ASCII control characters other than
newline.

Keys (C2SP signed-note "Signatures" / golang.org/x/mod/sumdb/note):

* key ID  = ``SHA-256(name || 0x0A || type || public key)[:4]`` (big-endian uint32)
* verifier key (vkey) ``<name>+<8 hex digits of key ID>+<base64(type || public key)>``
* signer key (skey)   ``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || seed)>``

This module implements signature type ``0x01`` (Ed25519).  The timestamped
witness cosignature type ``0x04`` lives in :mod:`.cosignature` and plugs into
:func:`open_note` / :func:`sign_note` through the same small
:class:`Verifier` / :class:`Signer` interfaces.

Opening rules follow the spec and the Go reference implementation
(``golang.org/x/mod/sumdb/note.Open``): signatures whose (name, key ID) is not
known are kept as *unverified*; a known key's signature that fails rejects the
whole note; a note with no verified signature is rejected; at most
:data:`MAX_SIGNATURES` signature lines are accepted; repeated identical
signatures are dropped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "EM_DASH",
    "NoteError",
    "MalformedNoteError",
    "KeyFormatError",
    "UnverifiedNoteError",
    "InvalidSignatureError",
    "AmbiguousVerifierError",
    "Signer",
    "Verifier",
    "Signature",
    "Note",
    "VerifierList",
    "Ed25519Signer",
    "Ed25519Verifier",
    "key_id",
    "is_valid_name",
    "b64decode_strict",
    "parse_vkey",
    "parse_skey",
    "new_verifier",
    "new_signer",
    "generate_key",
    "vkey_from_public_key",
    "parse_note",
    "open_note",
    "sign_note",
]

#: Signature type byte for plain Ed25519 note signatures (C2SP signed-note).
ALG_ED25519 = 0x01

#: Maximum number of signature lines accepted by :func:`open_note`
#: (the spec requires at least 16; the Go reference uses 100).
MAX_SIGNATURES = 100

#: U+2014 EM DASH, the first character of every signature line.
EM_DASH = "\u2014"
_SIG_PREFIX = EM_DASH + " "

_HEX8 = re.compile(r"[0-9a-fA-F]{8}\Z")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")


# --------------------------------------------------------------------------
# errors


class NoteError(ValueError):
    """Base class of signed-note errors (a :class:`ValueError`)."""


class MalformedNoteError(NoteError):
    """The note bytes do not follow the signed-note format; message says where."""


class KeyFormatError(NoteError):
    """A verifier or signer key string is malformed or its key ID is wrong."""


class UnverifiedNoteError(NoteError):
    """The note parsed but no signature from a known key verified.

    Attribute ``note`` holds the parsed :class:`Note` (all signatures unverified).
    """

    def __init__(self, note: "Note"):
        super().__init__("note has no verifiable signatures")
        self.note = note


class InvalidSignatureError(NoteError):
    """A signature from a known key (name and key ID match) failed to verify."""

    def __init__(self, name: str, key_id: int):
        super().__init__(f"invalid signature for key {name}+{key_id:08x}")
        self.name = name
        self.key_id = key_id


class AmbiguousVerifierError(NoteError):
    """Several configured verifiers share one (name, key ID) and one was needed."""

    def __init__(self, name: str, key_id: int):
        super().__init__(f"ambiguous key {name}+{key_id:08x}")
        self.name = name
        self.key_id = key_id


# --------------------------------------------------------------------------
# interfaces


@runtime_checkable
class Verifier(Protocol):
    """Verifies note signatures made by one key.

    Attributes:
        name: key name (str).
        key_id: 32-bit key ID (int).
    Method ``verify(msg: bytes, sig: bytes) -> bool`` checks ``sig`` (the
    signature bytes *after* the 4-byte key ID) over the note text ``msg``.
    """

    name: str
    key_id: int

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Return True iff ``sig`` (bytes after the key ID) signs note text ``msg``."""
        ...


@runtime_checkable
class Signer(Protocol):
    """Signs note texts with one key.

    Attributes ``name`` (str) and ``key_id`` (int); ``sign(msg: bytes) -> bytes``
    returns the signature bytes (without the key ID prefix).
    """

    name: str
    key_id: int

    def sign(self, msg: bytes) -> bytes:
        """Return the signature bytes (without key ID) over note text ``msg``."""
        ...


# --------------------------------------------------------------------------
# helpers


def key_id(name: str, key_material: bytes) -> int:
    """Return the 32-bit key ID ``SHA-256(name || 0x0A || key_material)[:4]``.

    Args:
        name: key name.
        key_material: signature type byte followed by the public key
            (e.g. ``b"\\x01" + ed25519_public_key``).
    Returns:
        The key ID as an unsigned int (big-endian interpretation).
    Spec: C2SP signed-note, "Signatures" (RECOMMENDED key ID derivation).
    """
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes(key_material)).digest()
    return int.from_bytes(digest[:4], "big")


def is_valid_name(name: object) -> bool:
    """Return True if ``name`` is a valid key name.

    Key names must be non-empty and contain no Unicode spaces and no ``+``
    (C2SP signed-note, "Format").  Control characters are also refused since
    they cannot appear in a note.
    """
    if not isinstance(name, str) or not name:
        return False
    for ch in name:
        if ch == "+" or ch.isspace() or ord(ch) < 0x20 or ch == "\x7f":
            return False
    return True


def b64decode_strict(s: str) -> bytes:
    """Decode standard base64 (RFC 4648 section 4) strictly.

    Rejects characters outside the alphabet, missing or extra padding, and
    non-canonical encodings (non-zero trailing bits), so every byte string has
    exactly one accepted encoding.

    Args:
        s: the base64 text.
    Returns:
        The decoded bytes.
    Raises:
        ValueError: ``s`` is not canonical standard base64.
    """
    if not isinstance(s, str) or not _B64.match(s) or len(s) % 4:
        raise ValueError("invalid base64")
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("invalid base64") from exc
    if base64.b64encode(raw).decode("ascii") != s:
        raise ValueError("non-canonical base64")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _split_key(s: str, parts: int, what: str) -> List[str]:
    # Like Go's chop(): split at the first ``parts - 1`` plus signs; the base64
    # key material (last part) may itself contain '+'.
    out = s.split("+", parts - 1)
    if len(out) != parts:
        raise KeyFormatError(f"malformed {what}: expected {parts} '+'-separated fields")
    return out


def parse_vkey(vkey: str) -> Tuple[str, int, int, bytes]:
    """Parse a verifier key string ``<name>+<hex8 key ID>+<base64(type || key)>``.

    Args:
        vkey: the verifier key string.
    Returns:
        ``(name, key_id, type_byte, public_key_bytes)``.  The key ID is checked
        against ``SHA-256(name || 0x0A || type || key)[:4]``.
    Raises:
        KeyFormatError: malformed string or key ID mismatch.
    Spec: C2SP signed-note verifier keys; golang.org/x/mod/sumdb/note.NewVerifier.
    """
    if not isinstance(vkey, str):
        raise KeyFormatError("verifier key must be a str")
    name, hash16, key64 = _split_key(vkey, 3, "verifier key")
    if not is_valid_name(name):
        raise KeyFormatError(f"malformed verifier key: invalid key name {name!r}")
    if not _HEX8.match(hash16):
        raise KeyFormatError("malformed verifier key: key ID must be 8 hex digits")
    try:
        material = b64decode_strict(key64)
    except ValueError as exc:
        raise KeyFormatError(f"malformed verifier key: {exc}") from None
    if not material:
        raise KeyFormatError("malformed verifier key: empty key material")
    kid = int(hash16, 16)
    if kid != key_id(name, material):
        raise KeyFormatError("verifier key ID does not match the key name and key")
    return name, kid, material[0], material[1:]


def parse_skey(skey: str) -> Tuple[str, int, int, bytes]:
    """Parse a signer key ``PRIVATE+KEY+<name>+<hex8 key ID>+<base64(type || seed)>``.

    Args:
        skey: the signer key string.
    Returns:
        ``(name, key_id, type_byte, private_key_bytes)``.  The key ID is *not*
        checked here (it depends on the public key; see :func:`new_signer`).
    Raises:
        KeyFormatError: malformed string.
    Spec: golang.org/x/mod/sumdb/note.NewSigner.
    """
    if not isinstance(skey, str):
        raise KeyFormatError("signer key must be a str")
    p1, p2, name, hash16, key64 = _split_key(skey, 5, "signer key")
    if p1 != "PRIVATE" or p2 != "KEY":
        raise KeyFormatError("malformed signer key: must start with PRIVATE+KEY+")
    if not is_valid_name(name):
        raise KeyFormatError(f"malformed signer key: invalid key name {name!r}")
    if not _HEX8.match(hash16):
        raise KeyFormatError("malformed signer key: key ID must be 8 hex digits")
    try:
        material = b64decode_strict(key64)
    except ValueError as exc:
        raise KeyFormatError(f"malformed signer key: {exc}") from None
    if not material:
        raise KeyFormatError("malformed signer key: empty key material")
    return name, int(hash16, 16), material[0], material[1:]


# --------------------------------------------------------------------------
# Ed25519 (type 0x01)


class Ed25519Verifier:
    """Verifier for plain Ed25519 note signatures (type ``0x01``).

    Args:
        name: key name (valid per :func:`is_valid_name`).
        public_key: 32-byte Ed25519 public key.
    Raises:
        KeyFormatError: invalid name or key length / encoding.
    Spec: C2SP signed-note, "Ed25519 signatures".
    """

    alg = ALG_ED25519

    def __init__(self, name: str, public_key: bytes):
        if not is_valid_name(name):
            raise KeyFormatError(f"invalid key name {name!r}")
        if len(public_key) != 32:
            raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
        try:
            self._vk = VerifyKey(bytes(public_key))
        except (CryptoError, ValueError, TypeError) as exc:
            raise KeyFormatError(f"invalid Ed25519 public key: {exc}") from None
        self.name = name
        self.public_key = bytes(public_key)
        self.key_id = key_id(name, bytes([ALG_ED25519]) + self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string ``name+hex8+base64(0x01||pub)``."""
        return f"{self.name}+{self.key_id:08x}+{_b64(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Return True iff ``sig`` (64 bytes) is a valid Ed25519 signature of ``msg``."""
        if len(sig) != 64:
            return False
        try:
            self._vk.verify(bytes(msg), bytes(sig))
        except (BadSignatureError, CryptoError, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return f"Ed25519Verifier({self.vkey!r})"


class Ed25519Signer:
    """Signer for plain Ed25519 note signatures (type ``0x01``).

    Args:
        name: key name.
        seed: 32-byte Ed25519 private key seed (RFC 8032).
    Raises:
        KeyFormatError: invalid name or seed length.
    """

    alg = ALG_ED25519

    def __init__(self, name: str, seed: bytes):
        if not is_valid_name(name):
            raise KeyFormatError(f"invalid key name {name!r}")
        if len(seed) != 32:
            raise KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        self._sk = SigningKey(bytes(seed))
        self.name = name
        self.seed = bytes(seed)
        self.public_key = self._sk.verify_key.encode()
        self.key_id = key_id(name, bytes([ALG_ED25519]) + self.public_key)

    def sign(self, msg: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``msg`` (deterministic)."""
        return self._sk.sign(bytes(msg)).signature

    def verifier(self) -> Ed25519Verifier:
        """Return the matching :class:`Ed25519Verifier`."""
        return Ed25519Verifier(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string for this signer."""
        return self.verifier().vkey

    @property
    def skey(self) -> str:
        """The signer key string ``PRIVATE+KEY+name+hex8+base64(0x01||seed)`` (secret!)."""
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{_b64(bytes([ALG_ED25519]) + self.seed)}"

    def __repr__(self) -> str:
        return f"Ed25519Signer(name={self.name!r}, key_id={self.key_id:08x})"


def new_verifier(vkey: str) -> Ed25519Verifier:
    """Build an Ed25519 note verifier from a vkey string.

    Args:
        vkey: ``<name>+<hex8 key ID>+<base64(0x01 || 32-byte public key)>``.
    Returns:
        :class:`Ed25519Verifier`.
    Raises:
        KeyFormatError: malformed key, wrong key ID, unknown type byte, wrong length.
    Spec: C2SP signed-note; golang.org/x/mod/sumdb/note.NewVerifier.
    """
    name, kid, alg, key = parse_vkey(vkey)
    if alg != ALG_ED25519:
        raise KeyFormatError(f"unknown verifier algorithm 0x{alg:02x} (expected 0x01 Ed25519)")
    if len(key) != 32:
        raise KeyFormatError(f"malformed verifier key: Ed25519 key must be 32 bytes, got {len(key)}")
    v = Ed25519Verifier(name, key)
    assert v.key_id == kid
    return v


def new_signer(skey: str) -> Ed25519Signer:
    """Build an Ed25519 note signer from a skey string.

    Args:
        skey: ``PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 || 32-byte seed)>``.
    Returns:
        :class:`Ed25519Signer`.
    Raises:
        KeyFormatError: malformed key, unknown type, or the key ID does not
            match the public key derived from the seed.
    Spec: golang.org/x/mod/sumdb/note.NewSigner.
    """
    name, kid, alg, seed = parse_skey(skey)
    if alg != ALG_ED25519:
        raise KeyFormatError(f"unknown signer algorithm 0x{alg:02x} (expected 0x01 Ed25519)")
    if len(seed) != 32:
        raise KeyFormatError(f"malformed signer key: Ed25519 seed must be 32 bytes, got {len(seed)}")
    s = Ed25519Signer(name, seed)
    if s.key_id != kid:
        raise KeyFormatError("signer key ID does not match the public key")
    return s


def generate_key(name: str) -> Tuple[str, str]:
    """Generate a new Ed25519 key pair for ``name``.

    Args:
        name: key name (for a log, its checkpoint origin).
    Returns:
        ``(skey, vkey)``: the secret signer key string and the public verifier
        key string.
    Raises:
        KeyFormatError: invalid name.
    Spec: golang.org/x/mod/sumdb/note.GenerateKey.
    """
    if not is_valid_name(name):
        raise KeyFormatError(f"invalid key name {name!r}")
    s = Ed25519Signer(name, SigningKey.generate().encode())
    return s.skey, s.vkey


def vkey_from_public_key(name: str, public_key: bytes) -> str:
    """Return the Ed25519 vkey string for ``name`` and a 32-byte public key."""
    return Ed25519Verifier(name, public_key).vkey


# --------------------------------------------------------------------------
# notes


@dataclass(frozen=True)
class Signature:
    """One signature line of a note.

    Attributes:
        name: key name.
        key_id: 32-bit key ID (int).
        base64: the base64 text of ``key_id || signature`` as it appears.
    """

    name: str
    key_id: int
    base64: str

    @property
    def raw(self) -> bytes:
        """The decoded signature bytes after the 4-byte key ID."""
        return b64decode_strict(self.base64)[4:]

    def line(self) -> str:
        """The signature line, ``"\u2014 name base64\\n"``."""
        return f"{_SIG_PREFIX}{self.name} {self.base64}\n"

    @classmethod
    def create(cls, name: str, kid: int, sig: bytes) -> "Signature":
        """Build a :class:`Signature` from raw signature bytes."""
        return cls(name, kid, _b64(kid.to_bytes(4, "big") + bytes(sig)))


@dataclass
class Note:
    """A parsed note.

    Attributes:
        text: the note text (str), including its final newline.
        sigs: verified signatures, in note order.
        unverified_sigs: signatures from unknown keys, in note order.
    """

    text: str
    sigs: List[Signature] = field(default_factory=list)
    unverified_sigs: List[Signature] = field(default_factory=list)

    def has_signature(self, name: str, kid: int) -> bool:
        """True if a *verified* signature by (name, key ID) is present."""
        return any(s.name == name and s.key_id == kid for s in self.sigs)


class VerifierList:
    """A set of known verifiers, looked up by (name, key ID).

    Args:
        verifiers: objects implementing :class:`Verifier`.  Several verifiers
            may share a (name, key ID); looking such a pair up raises
            :class:`AmbiguousVerifierError` (as in the Go reference).
    """

    def __init__(self, verifiers: Iterable[Verifier] = ()):
        self._map: Dict[Tuple[str, int], List[Verifier]] = {}
        for v in verifiers:
            self.add(v)

    def add(self, v: Verifier) -> None:
        """Add a verifier (duplicates of the very same object are ignored)."""
        lst = self._map.setdefault((v.name, v.key_id), [])
        if not any(x is v for x in lst):
            lst.append(v)

    def lookup(self, name: str, kid: int) -> Optional[Verifier]:
        """Return the verifier for (name, key ID), None if unknown.

        Raises:
            AmbiguousVerifierError: more than one verifier matches.
        """
        lst = self._map.get((name, kid))
        if not lst:
            return None
        if len(lst) > 1:
            raise AmbiguousVerifierError(name, kid)
        return lst[0]

    def __iter__(self):
        for lst in self._map.values():
            yield from lst

    def __len__(self) -> int:
        return sum(len(v) for v in self._map.values())


VerifiersArg = Union[VerifierList, Iterable[Verifier], None]


def _as_verifier_list(verifiers: VerifiersArg) -> VerifierList:
    if verifiers is None:
        return VerifierList()
    if isinstance(verifiers, VerifierList):
        return verifiers
    if isinstance(verifiers, Verifier):  # a single verifier
        return VerifierList([verifiers])
    return VerifierList(verifiers)


def _split_note(msg: Union[bytes, str]) -> Tuple[str, List[Signature]]:
    if isinstance(msg, str):
        msg = msg.encode("utf-8")
    if not isinstance(msg, (bytes, bytearray, memoryview)):
        raise TypeError(f"note must be bytes or str, got {type(msg).__name__}")
    msg = bytes(msg)
    try:
        s = msg.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise MalformedNoteError(f"malformed note: not valid UTF-8 at byte {exc.start}") from None
    for i, ch in enumerate(s):
        if ch < " " and ch != "\n":
            raise MalformedNoteError(
                f"malformed note: control character U+{ord(ch):04X} at character {i}"
            )
    split = s.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("malformed note: no blank line before the signatures")
    text, block = s[: split + 1], s[split + 2 :]
    if not block:
        raise MalformedNoteError("malformed note: no signature lines after the blank line")
    if not block.endswith("\n"):
        raise MalformedNoteError("malformed note: last signature line does not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(
            f"malformed note: {len(lines)} signatures, more than the limit of {MAX_SIGNATURES}"
        )
    sigs: List[Signature] = []
    for n, line in enumerate(lines, 1):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNoteError(
                f"malformed note: signature line {n} does not start with an em dash and a space"
            )
        rest = line[len(_SIG_PREFIX) :]
        name, sep, b64 = rest.partition(" ")
        if not is_valid_name(name):
            raise MalformedNoteError(f"malformed note: signature line {n} has an invalid key name")
        if not sep or not b64:
            raise MalformedNoteError(f"malformed note: signature line {n} has no signature")
        try:
            raw = b64decode_strict(b64)
        except ValueError:
            raise MalformedNoteError(
                f"malformed note: signature line {n} is not valid base64"
            ) from None
        if len(raw) < 5:
            raise MalformedNoteError(f"malformed note: signature line {n} is too short")
        sigs.append(Signature(name, int.from_bytes(raw[:4], "big"), b64))
    return text, sigs


def parse_note(msg: Union[bytes, str]) -> Note:
    """Parse a signed note without verifying anything.

    Args:
        msg: the note bytes (UTF-8) or str.
    Returns:
        :class:`Note` whose ``unverified_sigs`` holds every signature line (in
        order, repeated identical lines dropped) and ``sigs`` is empty.
    Raises:
        MalformedNoteError: the format is violated (message says how).
    Spec: C2SP signed-note, "Format".
    """
    text, sigs = _split_note(msg)
    seen = set()
    out = []
    for sig in sigs:
        key = (sig.name, sig.base64)
        if key in seen:
            continue
        seen.add(key)
        out.append(sig)
    return Note(text=text, unverified_sigs=out)


def open_note(msg: Union[bytes, str], verifiers: VerifiersArg) -> Note:
    """Parse a signed note and verify its signatures against known keys.

    Args:
        msg: the note bytes (UTF-8) or str.
        verifiers: a :class:`VerifierList`, an iterable of :class:`Verifier`,
            or a single verifier.
    Returns:
        :class:`Note` with verified signatures in ``sigs`` and signatures from
        unknown keys in ``unverified_sigs`` (both in note order; repeated
        signatures by one key, and repeated identical unknown lines, dropped).
    Raises:
        MalformedNoteError: bad format (not UTF-8, control characters, no blank
            line, bad signature line, more than :data:`MAX_SIGNATURES` lines).
        InvalidSignatureError: a signature by a known key does not verify.
        AmbiguousVerifierError: a signature matches several configured keys.
        UnverifiedNoteError: no signature by a known key is present.
    Spec: C2SP signed-note "Signatures"; golang.org/x/mod/sumdb/note.Open.
    """
    vl = _as_verifier_list(verifiers)
    text, sigs = _split_note(msg)
    text_bytes = text.encode("utf-8")
    note = Note(text=text)
    seen = set()
    seen_unverified = set()
    for sig in sigs:
        v = vl.lookup(sig.name, sig.key_id)
        if v is None:
            key = (sig.name, sig.base64)
            if key not in seen_unverified:
                seen_unverified.add(key)
                note.unverified_sigs.append(sig)
            continue
        if v.name != sig.name or v.key_id != sig.key_id:
            raise NoteError("verifier name or key ID does not match the signature")
        if (sig.name, sig.key_id) in seen:
            continue
        seen.add((sig.name, sig.key_id))
        if not v.verify(text_bytes, sig.raw):
            raise InvalidSignatureError(sig.name, sig.key_id)
        note.sigs.append(sig)
    if not note.sigs:
        raise UnverifiedNoteError(note)
    return note


def sign_note(
    text: Union[str, bytes, Note],
    signers: Union[Signer, Sequence[Signer]],
    existing: Iterable[Signature] = (),
) -> bytes:
    """Sign a note text and return the encoded signed note.

    Args:
        text: the note text (must end with a newline), or a :class:`Note`
            whose existing ``sigs`` and ``unverified_sigs`` are kept.
        signers: one :class:`Signer` or a sequence of them.
        existing: extra signatures to keep (e.g. already collected cosignatures).
    Returns:
        The note bytes: text, blank line, existing signatures (minus those by a
        key that is signing again), then the new signatures, in order.
    Raises:
        MalformedNoteError: text does not end in a newline, contains control
            characters, or an existing signature is malformed.
        NoteError: a signer has an invalid name.
    Spec: C2SP signed-note "Format"; golang.org/x/mod/sumdb/note.Sign.
    """
    old: List[Signature] = []
    if isinstance(text, Note):
        old.extend(text.sigs)
        old.extend(text.unverified_sigs)
        text = text.text
    old.extend(existing)
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNoteError("malformed note: text is not valid UTF-8") from None
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedNoteError("malformed note: text must end with a newline")
    for ch in text:
        if ch < " " and ch != "\n":
            raise MalformedNoteError(f"malformed note: control character U+{ord(ch):04X} in text")
    if not isinstance(signers, (list, tuple)):
        signers = [signers]  # type: ignore[list-item]
    text_bytes = text.encode("utf-8")
    new_lines: List[str] = []
    have = set()
    for s in signers:
        if not is_valid_name(s.name):
            raise NoteError(f"invalid signer: bad key name {s.name!r}")
        have.add((s.name, s.key_id))
        new_lines.append(Signature.create(s.name, s.key_id, s.sign(text_bytes)).line())
    out = [text, "\n"]
    for sig in old:
        if not is_valid_name(sig.name):
            raise MalformedNoteError(f"malformed note: existing signature has bad key name {sig.name!r}")
        if (sig.name, sig.key_id) in have:
            continue
        try:
            raw = b64decode_strict(sig.base64)
        except ValueError:
            raise MalformedNoteError("malformed note: existing signature is not valid base64") from None
        if len(raw) < 5 or int.from_bytes(raw[:4], "big") != sig.key_id:
            raise MalformedNoteError("malformed note: existing signature key ID does not match")
        out.append(sig.line())
    out.extend(new_lines)
    if len(out) - 2 == 0:
        raise NoteError("sign_note needs at least one signer or existing signature")
    return "".join(out).encode("utf-8")
