"""Signing keys of the notary: one log key and one witness key per tenant, in the instance folder.

Layout: ``<instance>/notary/<slug>/keyring.json`` (file mode 0600, directory 0700), never served
and never logged::

    {"log":     [{"skey": "PRIVATE+KEY+...", "vkey": "...", "created": "<ISO UTC>",
                  "signs_until": null | "<ISO UTC>"}, ...],
     "witness": [ ...same shape, cosignature (type 0x04) keys... ]}

A key signs while ``signs_until`` is null or in the future; after :func:`rotate_keys` the old key
keeps signing beside the new one for the overlap period, and its verifier key stays published
for ever (``vkeys`` lists every key ever used).

Key names: the log key's name is the log origin (C2SP tlog-checkpoint); the witness key's name is
``<origin>/witness``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from plugins.notary.tlog import cosignature, note

KEYRING = "keyring.json"


class KeyringError(Exception):
    """A keyring is missing or unusable; ``str(error)`` says which file and why."""


@dataclass(frozen=True)
class Keyring:
    """A tenant's keys. ``log`` and ``witness``: lists of dicts as stored (see module doc)."""

    path: Path
    log: tuple
    witness: tuple

    def _active(self, kind: str, now: dt.datetime | None = None) -> list[dict]:
        now = now or dt.datetime.now(dt.timezone.utc)
        keys = self.log if kind == "log" else self.witness
        return [k for k in keys if not k.get("signs_until") or dt.datetime.fromisoformat(k["signs_until"]) > now]

    def log_signers(self) -> list[note.Ed25519Signer]:
        """Ed25519 note signers of every log key currently signing (newest last)."""
        return [note.new_signer(k["skey"]) for k in self._active("log")]

    def witness_signers(self) -> list[cosignature.CosignatureSigner]:
        """Cosignature signers of every witness key currently signing."""
        return [cosignature.new_cosignature_signer(k["skey"]) for k in self._active("witness")]

    @property
    def log_vkeys(self) -> list[str]:
        """Every log verifier key ever used (retired ones included), oldest first."""
        return [k["vkey"] for k in self.log]

    @property
    def witness_vkeys(self) -> list[str]:
        """Every witness verifier key ever used, oldest first."""
        return [k["vkey"] for k in self.witness]

    def public(self) -> dict:
        """Public description: ``{"log": [{vkey, created, signs_until}], "witness": [...]}``."""
        strip = lambda ks: [{"vkey": k["vkey"], "created": k["created"], "signs_until": k.get("signs_until")}
                            for k in ks]
        return {"log": strip(self.log), "witness": strip(self.witness)}


def keyring_path(instance_path: str | os.PathLike, slug: str) -> Path:
    """Return ``<instance>/notary/<slug>/keyring.json``."""
    return Path(instance_path) / "notary" / slug / KEYRING


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _new_pair(kind: str, name: str) -> dict:
    skey, vkey = note.generate_key(name) if kind == "log" else cosignature.generate_cosignature_key(name)
    return {"skey": skey, "vkey": vkey, "created": _now_iso(), "signs_until": None}


def _write(path: Path, data: dict, exclusive: bool) -> bool:
    """Write ``data`` as JSON with mode 0600; with ``exclusive`` only if the file does not exist.
    Returns ``False`` when ``exclusive`` and the file already exists (another process won)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    if exclusive:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
        return True
    os.replace(tmp, path)
    return True


def restore_keyring(path: Path, data: bytes) -> None:
    """Put ``data`` (the earlier bytes of a keyring file, as read) back at ``path`` with mode 0600,
    e.g. when the database change that rotated the keys rolled back.

    Raises:
        ValueError: ``data`` is not JSON.
    """
    _write(Path(path), json.loads(data), exclusive=False)


def load_keyring(instance_path: str | os.PathLike, slug: str) -> Keyring | None:
    """Return the tenant's :class:`Keyring`, or ``None`` if no keys were generated.

    Raises:
        KeyringError: the file is unreadable or malformed.
    """
    path = keyring_path(instance_path, slug)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        ring = Keyring(path, tuple(data["log"]), tuple(data["witness"]))
        for k in ring.log:
            note.new_verifier(k["vkey"])
        for k in ring.witness:
            cosignature.new_cosignature_verifier(k["vkey"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyringError(f"{path}: unusable keyring ({type(exc).__name__}: {exc})") from None
    if not ring.log or not ring.witness:
        raise KeyringError(f"{path}: keyring has no log or no witness key")
    return ring


def ensure_keys(instance_path: str | os.PathLike, slug: str, origin: str) -> tuple[Keyring, bool]:
    """Create the tenant's log key (name ``origin``) and witness key if missing. Idempotent and
    safe when several processes race (the first writer wins).

    Returns:
        ``(keyring, created)``.
    Raises:
        KeyringError: an existing keyring is malformed, or its log key name is not ``origin``.
    """
    ring = load_keyring(instance_path, slug)
    created = False
    if ring is None:
        data = {"log": [_new_pair("log", origin)], "witness": [_new_pair("witness", origin + "/witness")]}
        created = _write(keyring_path(instance_path, slug), data, exclusive=True)
        ring = load_keyring(instance_path, slug)
    if note.new_verifier(ring.log[-1]["vkey"]).name != origin:
        raise KeyringError(f"{ring.path}: the log key is named {note.new_verifier(ring.log[-1]['vkey']).name!r} "
                        f"but the origin is {origin!r}; run `comun notary rotate` to make a key for the new origin")
    return ring, created


def rotate_keys(instance_path: str | os.PathLike, slug: str, origin: str, overlap_days: float = 30.0,
                which: tuple[str, ...] = ("log", "witness")) -> Keyring:
    """Add a new key of each kind in ``which``; the current keys keep signing ``overlap_days``
    more days, then retire (their verifier keys stay published).

    Raises:
        KeyringError: no keyring yet, or it is malformed.
    """
    ring = load_keyring(instance_path, slug)
    if ring is None:
        raise KeyringError(f"{keyring_path(instance_path, slug)}: no keys yet; run `comun notary keygen` first")
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=overlap_days)).replace(microsecond=0).isoformat()
    data = {"log": [dict(k) for k in ring.log], "witness": [dict(k) for k in ring.witness]}
    for kind in which:
        for k in data[kind]:
            if not k.get("signs_until") or k["signs_until"] > until:
                k["signs_until"] = until
        data[kind].append(_new_pair(kind, origin if kind == "log" else origin + "/witness"))
    _write(ring.path, data, exclusive=False)
    return load_keyring(instance_path, slug)
