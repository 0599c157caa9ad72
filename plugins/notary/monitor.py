"""``comun notary monitor``: follow transparency logs and keep re-verifiable evidence of split views.

A monitor follows a list of logs, each given by its URL (the ``/<slug>/notary`` prefix: it reads
``checkpoint`` and ``proof/consistency``, as served by this CMS), its origin and its log
verifier keys, and optionally the cosignature keys of witnesses it knows. For each log it

1. fetches the served checkpoint and checks the log's signature (origin and key);
2. compares it with the last checkpoint it saw (kept in ``<state dir>/<sha256(origin)>.json``,
   replaced atomically): the same size must have the same root; a larger one must be proven
   consistent by the log (RFC 9162 2.1.4 consistency proof); a smaller one is a rollback;
3. **gossip**: compares it the same way with the checkpoints that witnesses cosigned (for this
   deployment's logs, the checkpoints its witnesses stored; the cosignatures on the served
   checkpoint are listed), so a split view shown to the monitor but not to the witnesses shows;
4. when two validly signed checkpoints cannot both be true, writes an **evidence file** (format
   below) and raises an alarm: e-mail through the core mail outbox, an admin banner on every
   notary tenant's dashboard (:class:`~plugins.notary.models.MonitorAlarm`), and exit status 1.

Evidence file (JSON, UTF-8), format ``comun-notary-split-view/1``::

    {"format": "comun-notary-split-view/1",
     "kind": "same-size" | "inconsistent",
     "origin": "<log origin>",
     "log_keys": ["<log verifier key>", ...],          # the keys the monitor trusted
     "checkpoints": [{"note": "<signed note>", "source": "<where it was seen>"},   # smaller first
                     {"note": "<signed note>", "source": "..."}],
     "proof": {"old": m, "new": n, "hashes": ["<base64>", ...]},   # only for "inconsistent"
     "detected_at": "<ISO 8601 UTC>"}

``same-size``: both notes verify with a key of ``log_keys`` for ``origin``, have the same size and
different roots. ``inconsistent``: both verify, sizes ``m < n``, and the consistency proof (as the
log served it) yields, by RFC 9162 2.1.4.2, the second checkpoint's root for ``n`` leaves but a
root for the first ``m`` leaves that is not the first checkpoint's. Either way the log signed two
trees that cannot both be the same append-only log (barring a SHA-256 collision).
:func:`verify_evidence` (``comun notary verify-evidence FILE [--key VKEY]``) checks a file with
no database and no network. When a proof merely fails to verify (a power-of-two old size, where
the proof does not carry the old root, or a damaged answer), the alarm is ``unproven``: the log
could not prove its own checkpoints consistent, which an honest log always can; the file is kept
with ``"kind": "unproven"`` and is not conclusive on its own.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import cosignature as tcs
from plugins.notary.tlog import merkle, note

EVIDENCE_FORMAT = "comun-notary-split-view/1"
MAX_FETCH = 1 << 20

Fetch = Callable[[str], bytes]


class EvidenceError(ValueError):
    """An evidence file is malformed or does not prove a split view; the message says why."""


class FetchError(OSError):
    """A log could not be read (network, HTTP error, bad JSON)."""


@dataclass(frozen=True)
class LogSpec:
    """A log to follow: ``url`` (its notary prefix, e.g. ``https://host/edomex/notary``),
    ``origin``, ``keys`` (log verifier keys, C2SP signed-note), ``witnesses`` (cosignature
    verifier keys, optional) and ``gossip`` (``[(source, signed note)]`` cosigned checkpoints to
    compare with, filled for this deployment's logs from its witnesses' state)."""

    url: str
    origin: str
    keys: tuple[str, ...]
    witnesses: tuple[str, ...] = ()
    gossip: tuple[tuple[str, str], ...] = ()


@dataclass
class LogResult:
    """What one look at a log found: ``size`` served, ``cosigners`` (witness names whose
    cosignature verified), ``alarms`` ``[(kind, message, evidence path or "")]``, ``error``
    (the log could not be read) and ``advanced`` (the stored view moved forward)."""

    origin: str
    size: int | None = None
    cosigners: list[str] = field(default_factory=list)
    alarms: list[tuple[str, str, str]] = field(default_factory=list)
    error: str | None = None
    advanced: bool = False


def http_fetch(timeout: float = 10.0) -> Fetch:
    """A :data:`Fetch` over HTTP(S) GET. Raises :class:`FetchError` for any failure."""
    def fetch(url: str) -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (configured URL)
                data = r.read(MAX_FETCH + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FetchError(f"{url}: {exc}") from None
        if len(data) > MAX_FETCH:
            raise FetchError(f"{url}: answer larger than {MAX_FETCH} bytes")
        return data
    return fetch


def _verifiers(keys) -> list:
    return [note.new_verifier(k) for k in keys]


def open_signed(spec_origin: str, keys, note_bytes: bytes):
    """Verify ``note_bytes`` as a checkpoint of ``spec_origin`` signed by one of ``keys``.
    Returns the :class:`~plugins.notary.tlog.checkpoint.Checkpoint`. Raises ``ValueError``."""
    body, _n = tcp.open_checkpoint(note_bytes, _verifiers(keys), origin=spec_origin)
    return body


def _proof(spec: LogSpec, fetch: Fetch, old: int, new: int) -> list[bytes]:
    url = f"{spec.url.rstrip('/')}/proof/consistency?" + urllib.parse.urlencode({"old": old, "new": new})
    try:
        doc = json.loads(fetch(url))
        return [base64.b64decode(h, validate=True) for h in doc["hashes"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise FetchError(f"{url}: not a consistency proof: {exc}") from None


def compare(spec: LogSpec, a: tuple[str, bytes], b: tuple[str, bytes], fetch: Fetch) -> dict | None:
    """Compare two checkpoints of ``spec`` (``(source, signed note)``, both already verified).

    Returns ``None`` when they can both be true (same tree, or the log proved the larger one
    extends the smaller), else an evidence document (module docstring) whose ``kind`` is
    ``same-size``, ``inconsistent`` (conclusive) or ``unproven``.

    Raises:
        FetchError: the consistency proof could not be fetched.
    """
    ca, cb = open_signed(spec.origin, spec.keys, a[1]), open_signed(spec.origin, spec.keys, b[1])
    if ca.size > cb.size:
        (a, ca), (b, cb) = (b, cb), (a, ca)
    doc = {"format": EVIDENCE_FORMAT, "origin": spec.origin, "log_keys": list(spec.keys),
           "checkpoints": [{"note": a[1].decode("utf-8"), "source": a[0]},
                           {"note": b[1].decode("utf-8"), "source": b[0]}],
           "detected_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()}
    if ca.size == cb.size:
        return None if ca.root_hash == cb.root_hash else dict(doc, kind="same-size")
    if ca.size == 0:
        return None
    hashes = _proof(spec, fetch, ca.size, cb.size)
    try:
        merkle.verify_consistency(ca.size, cb.size, ca.root_hash, cb.root_hash, hashes)
        return None
    except ValueError:
        pass
    doc["proof"] = {"old": ca.size, "new": cb.size, "hashes": [base64.b64encode(h).decode() for h in hashes]}
    try:
        fr, sr = merkle.consistency_roots(ca.size, cb.size, ca.root_hash, hashes)
    except ValueError:
        return dict(doc, kind="unproven")
    if sr == cb.root_hash and fr != ca.root_hash:
        return dict(doc, kind="inconsistent")
    return dict(doc, kind="unproven")


def verify_evidence(doc: dict | bytes | str, trusted_keys=None) -> str:
    """Check an evidence file (module docstring) offline.

    Args:
        doc: the parsed JSON, or its bytes/text.
        trusted_keys: log verifier keys the checker trusts; when given, the file's ``log_keys``
            are ignored and these are used (so a file cannot bring its own key).
    Returns:
        An English sentence saying what is proven.
    Raises:
        EvidenceError: malformed, a signature does not verify, or it does not prove a split view.
    """
    if isinstance(doc, (bytes, str)):
        try:
            doc = json.loads(doc)
        except ValueError as exc:
            raise EvidenceError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != EVIDENCE_FORMAT:
        raise EvidenceError(f"not a {EVIDENCE_FORMAT} file")
    origin, keys = doc.get("origin"), list(trusted_keys or doc.get("log_keys") or [])
    cps = doc.get("checkpoints")
    if not isinstance(origin, str) or not keys or not isinstance(cps, list) or len(cps) != 2:
        raise EvidenceError("origin, log_keys and two checkpoints are required")
    bodies = []
    for i, item in enumerate(cps):
        try:
            bodies.append(open_signed(origin, keys, str(item["note"]).encode("utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise EvidenceError(f"checkpoint {i + 1} does not verify with the log's key for {origin}: {exc}") from None
    a, b = sorted(bodies, key=lambda c: c.size)
    kind = doc.get("kind")
    if kind == "same-size":
        if a.size != b.size or a.root_hash == b.root_hash:
            raise EvidenceError("not a split view: the checkpoints do not have one size and two roots")
        return (f"split view of {origin}: two checkpoints of {a.size} entries signed by the log with "
                f"different roots ({a.root_hash.hex()[:16]}..., {b.root_hash.hex()[:16]}...)")
    if kind == "inconsistent":
        proof = doc.get("proof") or {}
        try:
            hashes = [base64.b64decode(h, validate=True) for h in proof["hashes"]]
            if (proof["old"], proof["new"]) != (a.size, b.size):
                raise EvidenceError("the proof is not between the two checkpoints' sizes")
            fr, sr = merkle.consistency_roots(a.size, b.size, a.root_hash, hashes)
        except (ValueError, KeyError, TypeError) as exc:
            raise EvidenceError(f"the consistency proof is malformed: {exc}") from None
        if sr != b.root_hash:
            raise EvidenceError("not conclusive: the proof does not lead to the larger checkpoint's root")
        if fr == a.root_hash:
            raise EvidenceError("not a split view: the proof shows the larger checkpoint extends the smaller")
        return (f"split view of {origin}: the log's own proof shows that its tree of {b.size} entries does not "
                f"start with its signed tree of {a.size} entries")
    raise EvidenceError(f"kind {kind!r} is not conclusive evidence (only same-size and inconsistent are)")


# --------------------------------------------------------------------------- following logs
def _state_path(state_dir: Path, origin: str) -> Path:
    return state_dir / (hashlib.sha256(origin.encode("utf-8")).hexdigest()[:32] + ".json")


def load_state(state_dir: Path, origin: str) -> dict | None:
    """The last checkpoint seen for ``origin``: ``{"origin", "size", "note", "source"}`` or ``None``."""
    try:
        return json.loads(_state_path(state_dir, origin).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_state(state_dir: Path, origin: str, size: int, note_text: str, source: str) -> None:
    """Remember the newest checkpoint seen for ``origin`` (atomic replace)."""
    doc = {"origin": origin, "size": size, "note": note_text, "source": source}
    _write_atomic(_state_path(state_dir, origin), json.dumps(doc, indent=1).encode("utf-8"))


def write_evidence(evidence_dir: Path, doc: dict) -> Path:
    """Write an evidence document to ``evidence_dir`` (never overwriting) and return its path."""
    stamp = doc["detected_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    digest = hashlib.sha256(json.dumps(doc["checkpoints"], sort_keys=True).encode()).hexdigest()[:12]
    path = evidence_dir / f"split-view-{stamp}-{digest}.json"
    _write_atomic(path, (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def check_log(spec: LogSpec, state_dir: Path, fetch: Fetch) -> LogResult:
    """Look at ``spec`` once (steps 1-4 of the module docstring, without the alarm delivery).

    Never raises for a log's misbehaviour or an outage: they are reported in the result.
    """
    res = LogResult(spec.origin)
    url = f"{spec.url.rstrip('/')}/checkpoint"
    try:
        served = fetch(url)
    except FetchError as exc:
        res.error = str(exc)
        return res
    try:
        body = open_signed(spec.origin, spec.keys, served)
    except ValueError as exc:
        res.alarms.append(("bad-signature", f"{url}: the served checkpoint does not verify: {exc}", ""))
        return res
    res.size = body.size
    text = note.parse_note(served).text.encode("utf-8")
    for vkey in spec.witnesses:
        v = tcs.new_cosignature_verifier(vkey)
        for line in served.decode("utf-8", "replace").splitlines():
            try:
                tcs.verify_cosignature(text, line, v)
            except ValueError:
                continue
            res.cosigners.append(v.name)
            break
    seen = load_state(state_dir, spec.origin)
    others: list[tuple[str, bytes]] = []
    if seen is not None:
        others.append((f"{seen.get('source', 'earlier')} (seen before)", str(seen["note"]).encode("utf-8")))
    for source, gossip_note in spec.gossip:
        try:
            open_signed(spec.origin, spec.keys, gossip_note.encode("utf-8"))
        except ValueError:
            continue  # not a checkpoint of this log: nothing to compare
        others.append((source, gossip_note.encode("utf-8")))
    split = False
    for other in others:
        try:
            evidence = compare(spec, other, (url, served), fetch)
        except FetchError as exc:
            res.error = str(exc)
            split = True
            continue
        if evidence is not None:
            split = True
            path = write_evidence(state_dir / "evidence", evidence)
            if evidence["kind"] == "unproven":
                msg = (f"the log did not prove its checkpoints of {evidence['proof']['old']} and "
                       f"{evidence['proof']['new']} entries consistent ({other[0]} and {url})")
            else:
                msg = f"split view ({evidence['kind']}): {other[0]} and {url} cannot both be true"
            res.alarms.append(("split-view" if evidence["kind"] != "unproven" else "unproven", msg, str(path)))
    if seen is not None and body.size < int(seen.get("size", 0)) and not split:
        res.alarms.append(("rollback", f"{url} serves {body.size} entries, {seen['size']} were seen before", ""))
        split = True
    if not split and (seen is None or body.size >= int(seen.get("size", 0))):
        res.advanced = seen is None or body.size > int(seen.get("size", 0))
        save_state(state_dir, spec.origin, body.size, served.decode("utf-8"), url)
    return res
