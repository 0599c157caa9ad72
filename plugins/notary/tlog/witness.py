"""Pure logic of a C2SP tlog-witness ``add-checkpoint`` endpoint (no HTTP framework).

Request body (C2SP tlog-witness, "add-checkpoint")::

    old <size>\\n                    (decimal, no leading zeroes)
    <base64 hash>\\n ...             (0 to 63 consistency proof lines)
    \\n                              (empty line)
    <signed checkpoint note>

Decision order and responses, as the spec requires:

* malformed body / note / checkpoint            -> 400 Bad Request
* checkpoint origin not configured              -> 404 Not Found
* no trusted log signature verifies             -> 403 Forbidden
* ``old`` larger than the checkpoint size       -> 400 Bad Request
* ``old`` differs from the last cosigned size   -> 409 Conflict, body ``"<size>\\n"``,
  ``Content-Type: text/x.tlog.size``
* same size but a different root hash           -> 409 Conflict (same body)
* consistency proof does not verify             -> 422 Unprocessable Entity
* otherwise: persist the new state (atomically, compare-and-swap), then
  200 with one cosignature line per witness key.

State is only updated after the proof has been verified, and only through the
``save`` compare-and-swap callback, so two racing requests can never roll the
recorded size back (the loser gets a fresh 409).
"""

from __future__ import annotations

import base64
import http.client
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, ContextManager, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import note as _note
from .checkpoint import CheckpointError, parse_checkpoint
from .cosignature import CosignatureSigner, CosignatureVerifier, verify_cosignature
from .merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency

__all__ = [
    "MAX_PROOF_LINES",
    "MAX_REQUEST_BYTES",
    "SIZE_CONTENT_TYPE",
    "WitnessRequestError",
    "AddCheckpointRequest",
    "LogState",
    "WitnessResponse",
    "MemoryWitnessStore",
    "Witness",
    "parse_add_checkpoint_request",
    "format_add_checkpoint_request",
    "logs_from_vkeys",
    "CosignReply",
    "WitnessUnavailableError",
    "http_sender",
    "request_cosignature",
    "cosignature_lines",
]

#: The client MUST NOT send more than 63 consistency proof lines.
MAX_PROOF_LINES = 63

#: Request bodies larger than this are rejected as malformed (400).
MAX_REQUEST_BYTES = 1 << 20

#: Content type of 409 responses.
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_TEXT = "text/plain; charset=utf-8"


class WitnessRequestError(ValueError):
    """The add-checkpoint request body is malformed (maps to HTTP 400)."""


@dataclass(frozen=True)
class AddCheckpointRequest:
    """A parsed add-checkpoint request.

    Attributes:
        old_size: size of the client's view of the last cosigned checkpoint.
        proof: consistency proof hashes (32 bytes each) from ``old_size``.
        checkpoint: the signed checkpoint note bytes.
    """

    old_size: int
    proof: Tuple[bytes, ...]
    checkpoint: bytes


@dataclass(frozen=True)
class LogState:
    """What the witness remembers per origin: the last cosigned tree.

    Attributes:
        size: tree size of the last cosigned checkpoint.
        root_hash: its 32-byte root hash.
        checkpoint: the signed checkpoint note it was given (for audit), may be empty.
    """

    size: int
    root_hash: bytes
    checkpoint: bytes = b""

    def same_tree(self, other: Optional["LogState"]) -> bool:
        """True if ``other`` records the same (size, root hash)."""
        return other is not None and other.size == self.size and other.root_hash == self.root_hash


@dataclass(frozen=True)
class WitnessResponse:
    """Result of :meth:`Witness.add_checkpoint`, ready to become an HTTP response.

    Attributes:
        status: HTTP status code (200, 400, 403, 404, 409, 422).
        content_type: value for the Content-Type header.
        body: response body bytes.
    """

    status: int
    content_type: str
    body: bytes

    @property
    def ok(self) -> bool:
        """True for 200."""
        return self.status == 200


def _err(status: int, message: str) -> WitnessResponse:
    return WitnessResponse(status, _TEXT, (message.rstrip("\n") + "\n").encode("utf-8"))


def _parse_decimal(s: str, what: str) -> int:
    if not s or not s.isascii() or not s.isdigit() or (len(s) > 1 and s[0] == "0"):
        raise WitnessRequestError(f"{what} {s!r} is not a decimal number without leading zeroes")
    v = int(s)
    if v >= 1 << 64:
        raise WitnessRequestError(f"{what} does not fit in 64 bits")
    return v


def parse_add_checkpoint_request(body: bytes) -> AddCheckpointRequest:
    """Parse an add-checkpoint request body.

    Args:
        body: the raw HTTP request body.
    Returns:
        :class:`AddCheckpointRequest` (the checkpoint note is *not* verified here).
    Raises:
        WitnessRequestError: missing/garbled ``old`` line, a proof line that is
            not base64 of 32 bytes, more than 63 proof lines, no empty line,
            empty checkpoint, lines not newline-terminated, body too large.
    Spec: C2SP tlog-witness, "add-checkpoint".
    """
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError("request body must be bytes")
    body = bytes(body)
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRequestError(f"request body larger than {MAX_REQUEST_BYTES} bytes")
    pos = body.find(b"\n")
    if pos < 0:
        raise WitnessRequestError("request body has no old size line")
    first = body[:pos]
    if not first.startswith(b"old "):
        raise WitnessRequestError("first line must be 'old <size>'")
    old_size = _parse_decimal(first[4:].decode("ascii", "replace"), "old size")
    proof: List[bytes] = []
    rest = pos + 1
    while True:
        nl = body.find(b"\n", rest)
        if nl < 0:
            raise WitnessRequestError("request body has no empty line before the checkpoint")
        line = body[rest:nl]
        rest = nl + 1
        if not line:
            break
        if len(proof) >= MAX_PROOF_LINES:
            raise WitnessRequestError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            h = _note.b64decode_strict(line.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise WitnessRequestError(
                f"consistency proof line {len(proof) + 1} is not valid base64"
            ) from None
        if len(h) != HASH_SIZE:
            raise WitnessRequestError(
                f"consistency proof line {len(proof) + 1} is {len(h)} bytes, expected {HASH_SIZE}"
            )
        proof.append(h)
    checkpoint = body[rest:]
    if not checkpoint:
        raise WitnessRequestError("request body has no checkpoint after the empty line")
    return AddCheckpointRequest(old_size, tuple(proof), checkpoint)


def format_add_checkpoint_request(old_size: int, proof: Sequence[bytes], checkpoint: bytes) -> bytes:
    """Build an add-checkpoint request body (the client side, e.g. the log).

    Args:
        old_size: last size the witness is believed to have cosigned (0 if none).
        proof: consistency proof from ``old_size`` to the checkpoint size.
        checkpoint: the signed checkpoint note bytes.
    Returns:
        The body bytes.
    Raises:
        ValueError: more than 63 proof hashes or a hash that is not 32 bytes.
    """
    if len(proof) > MAX_PROOF_LINES:
        raise ValueError(f"more than {MAX_PROOF_LINES} consistency proof hashes")
    out = [b"old %d\n" % old_size]
    for h in proof:
        if len(h) != HASH_SIZE:
            raise ValueError("consistency proof hashes must be 32 bytes")
        out.append(base64.b64encode(h) + b"\n")
    out.append(b"\n")
    out.append(bytes(checkpoint))
    return b"".join(out)


class MemoryWitnessStore:
    """Thread-safe in-memory witness state, for tests and single-process use.

    ``load(origin) -> Optional[LogState]`` and
    ``save(origin, expected, new) -> bool`` (compare-and-swap on size and root)
    are the callbacks :class:`Witness` expects.  A database-backed store should
    implement ``save`` as one transaction / conditional UPDATE.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: Dict[str, LogState] = {}

    def load(self, origin: str) -> Optional[LogState]:
        """Return the last cosigned state for ``origin`` or None."""
        with self._lock:
            return self._state.get(origin)

    def save(self, origin: str, expected: Optional[LogState], new: LogState) -> bool:
        """Store ``new`` iff the current state still equals ``expected``; return success."""
        with self._lock:
            cur = self._state.get(origin)
            if expected is None:
                if cur is not None:
                    return False
            elif not expected.same_tree(cur):
                return False
            self._state[origin] = new
            return True


def logs_from_vkeys(vkeys: Iterable[str]) -> Dict[str, List[_note.Verifier]]:
    """Group Ed25519 log vkeys by origin (their key name) for :class:`Witness`.

    Raises:
        KeyFormatError: a vkey is invalid.
    """
    out: Dict[str, List[_note.Verifier]] = {}
    for vk in vkeys:
        v = _note.new_verifier(vk)
        out.setdefault(v.name, []).append(v)
    return out


LoadFn = Callable[[str], Optional[LogState]]
SaveFn = Callable[[str, Optional[LogState], LogState], bool]


class Witness:
    """A tlog-witness cosigner, independent of any web framework.

    Args:
        logs: mapping ``origin -> [note verifiers]`` of the logs this witness
            accepts (see :func:`logs_from_vkeys`).
        signers: the witness's :class:`.cosignature.CosignatureSigner`, or a
            sequence of them (one cosignature line each).
        load: ``load(origin) -> Optional[LogState]``, the last cosigned state.
        save: ``save(origin, expected, new) -> bool``, an atomic compare-and-swap
            that stores ``new`` only if the stored state still equals
            ``expected`` (None = nothing stored); it must persist before
            returning True.
        lock: optional ``lock(origin) -> context manager`` held from ``load`` to ``save`` of
            one request, so concurrent requests for one origin are serialised (the CAS in
            ``save`` still guards against other processes).
    Spec: C2SP tlog-witness, "add-checkpoint".
    """

    def __init__(
        self,
        logs: Mapping[str, Sequence[_note.Verifier]],
        signers: Union[CosignatureSigner, Sequence[CosignatureSigner]],
        load: LoadFn,
        save: SaveFn,
        lock: Optional[Callable[[str], ContextManager[object]]] = None,
    ):
        self.logs = {origin: list(vs) for origin, vs in logs.items()}
        if not isinstance(signers, (list, tuple)):
            signers = [signers]
        if not signers:
            raise ValueError("a witness needs at least one signer")
        self.signers = list(signers)
        self._load = load
        self._save = save
        self._lock = lock

    def add_checkpoint(self, body: bytes) -> WitnessResponse:
        """Handle one add-checkpoint request.

        Args:
            body: raw request body.
        Returns:
            :class:`WitnessResponse` (status, content_type, body) as described
            in the module docstring.  Never raises for bad input; exceptions
            from ``load``/``save`` propagate (the caller should answer 5xx).
        Spec: C2SP tlog-witness, "add-checkpoint".
        """
        try:
            req = parse_add_checkpoint_request(body)
        except WitnessRequestError as exc:
            return _err(400, f"malformed request: {exc}")
        # Find the origin (first note line) before verifying anything.
        try:
            unverified = _note.parse_note(req.checkpoint)
        except _note.NoteError as exc:
            return _err(400, f"malformed checkpoint note: {exc}")
        origin = unverified.text.split("\n", 1)[0]
        verifiers = self.logs.get(origin)
        if not verifiers:
            return _err(404, f"unknown log origin {origin!r}")
        try:
            note = _note.open_note(req.checkpoint, verifiers)
        except (_note.UnverifiedNoteError, _note.InvalidSignatureError, _note.AmbiguousVerifierError) as exc:
            return _err(403, f"checkpoint is not signed by a trusted key for {origin!r}: {exc}")
        except _note.NoteError as exc:
            return _err(400, f"malformed checkpoint note: {exc}")
        try:
            cp = parse_checkpoint(note.text)
        except CheckpointError as exc:
            return _err(400, f"malformed checkpoint: {exc}")
        if req.old_size > cp.size:
            return _err(400, f"old size {req.old_size} is larger than checkpoint size {cp.size}")
        if self._lock is None:
            return self._check_and_cosign(origin, req, note, cp)
        with self._lock(origin):
            return self._check_and_cosign(origin, req, note, cp)

    def _check_and_cosign(self, origin: str, req: AddCheckpointRequest, note: _note.Note, cp) -> WitnessResponse:
        """The state-dependent half of :meth:`add_checkpoint`: compare with the stored state,
        verify consistency, cosign, compare-and-swap the new state."""
        state = self._load(origin)
        latest = state.size if state is not None else 0
        if req.old_size != latest:
            return self._conflict(latest)

        # Consistency: verify BEFORE touching state.
        if req.old_size == cp.size:
            if req.proof:
                return _err(422, "consistency proof must be empty when old size equals checkpoint size")
            expected_root = state.root_hash if state is not None else EMPTY_ROOT
            if cp.root_hash != expected_root:
                if state is None:
                    return _err(422, "an empty tree must have the empty root hash")
                return self._conflict(latest)
        elif req.old_size == 0:
            if req.proof:
                return _err(422, "consistency proof must be empty when old size is zero")
        else:
            assert state is not None
            try:
                verify_consistency(req.old_size, cp.size, state.root_hash, cp.root_hash, req.proof)
            except ProofError as exc:
                return _err(422, f"consistency proof does not verify: {exc}")

        new_state = LogState(cp.size, cp.root_hash, bytes(req.checkpoint))
        # Sign first (pure), persist (atomic CAS), then respond.
        body_bytes = note.text.encode("utf-8")
        lines = []
        for s in self.signers:
            sig = s.sign(body_bytes)
            lines.append(_note.Signature.create(s.name, s.key_id, sig).line())
        if not self._save(origin, state, new_state):
            fresh = self._load(origin)
            return self._conflict(fresh.size if fresh is not None else 0)
        return WitnessResponse(200, _TEXT, "".join(lines).encode("utf-8"))

    @staticmethod
    def _conflict(size: int) -> WitnessResponse:
        return WitnessResponse(409, SIZE_CONTENT_TYPE, b"%d\n" % size)


# --------------------------------------------------------------------------- client side
#: ``send(body) -> (status, response body)``: one add-checkpoint POST (see :func:`http_sender`).
SendFn = Callable[[bytes], Tuple[int, bytes]]
#: ``proof_for(old_size, new_size) -> [32-byte hashes]``: the log's RFC 6962 consistency proof.
ProofFn = Callable[[int, int], Sequence[bytes]]


class WitnessUnavailableError(OSError):
    """The witness could not be reached, or answered 5xx, after every retry."""


@dataclass(frozen=True)
class CosignReply:
    """What a witness answered to :func:`request_cosignature`.

    Attributes:
        status: the last HTTP status (200 on success).
        body: the last response body (cosignature lines on 200, a size on 409, a message otherwise).
        old_size: the old size of the last request sent (the witness's size after a 409 retry).
    """

    status: int
    body: bytes
    old_size: int

    @property
    def ok(self) -> bool:
        """True for 200."""
        return self.status == 200

    def message(self, limit: int = 200) -> str:
        """``"<status>: <body text>"`` cut to ``limit`` characters, for logs and reports."""
        return f"{self.status}: {self.body.decode('utf-8', 'replace').strip()[:limit]}"


def http_sender(url: str, timeout: float = 5.0, retries: int = 0, backoff: float = 0.5,
                sleep: Callable[[float], None] = time.sleep) -> SendFn:
    """A ``send`` function that POSTs add-checkpoint bodies to ``url`` (standard library HTTP).

    Args:
        url: the witness's ``<submission prefix>/add-checkpoint`` URL (http or https).
        timeout: seconds per attempt.
        retries: extra attempts after a connection error or a 5xx answer (0 = one attempt only).
        backoff: seconds before the first retry, doubled each time.
        sleep: the waiting function (tests pass a no-op).
    Returns:
        ``send(body) -> (status, body)``; 4xx answers are returned, never raised.
    Raises (from ``send``):
        WitnessUnavailableError: no answer, or 5xx, after ``1 + retries`` attempts.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"witness URL must be http(s): {url!r}")

    def send(body: bytes) -> Tuple[int, bytes]:
        delay = backoff
        last: str = ""
        for attempt in range(retries + 1):
            if attempt:
                sleep(delay)
                delay *= 2
            req = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "text/plain; charset=utf-8"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    return resp.status, resp.read(1 << 16)
            except urllib.error.HTTPError as exc:
                data = exc.read(1 << 16)
                if exc.code < 500:
                    return exc.code, data
                last = f"HTTP {exc.code}: {data.decode('utf-8', 'replace').strip()[:200]}"
            except (OSError, http.client.HTTPException) as exc:
                last = str(exc) or exc.__class__.__name__
        raise WitnessUnavailableError(f"witness {url} unavailable after {retries + 1} attempt(s): {last}")
    return send


def request_cosignature(send: SendFn, checkpoint_note: bytes, old_size: int, proof_for: ProofFn) -> CosignReply:
    """Ask one witness to cosign ``checkpoint_note`` (the client side of C2SP tlog-witness).

    Sends ``add-checkpoint`` from ``old_size`` (the size the client believes the witness last
    cosigned; 0 if unknown); on 409 the witness states its size, and the request is sent once
    more from that size (the spec's recovery), unless that size is larger than the checkpoint's.

    Args:
        send: see :func:`http_sender` (or an in-process :meth:`Witness.add_checkpoint` wrapper).
        checkpoint_note: the signed checkpoint note bytes.
        old_size: starting old size.
        proof_for: ``(old, new) -> consistency proof`` of the log.
    Returns:
        :class:`CosignReply` of the last exchange (verify its lines with :func:`cosignature_lines`).
    Raises:
        CheckpointError, NoteError: ``checkpoint_note`` is not a checkpoint note.
        WitnessUnavailableError: from ``send``.
    """
    cp = parse_checkpoint(_note.parse_note(checkpoint_note).text)
    reply = CosignReply(409, b"%d\n" % old_size, old_size)
    for _attempt in range(2):
        if old_size > cp.size:
            return CosignReply(409, b"%d\n" % old_size, old_size)
        proof = list(proof_for(old_size, cp.size)) if 0 < old_size < cp.size else []
        status, body = send(format_add_checkpoint_request(old_size, proof, checkpoint_note))
        reply = CosignReply(status, body, old_size)
        if status != 409:
            return reply
        try:
            old_size = _parse_decimal(body.decode("ascii").strip(), "witness size")
        except (UnicodeDecodeError, WitnessRequestError):
            return reply
    return reply


def cosignature_lines(checkpoint_note: bytes, body: bytes,
                      verifiers: Sequence[CosignatureVerifier]) -> List[Tuple[CosignatureVerifier, str]]:
    """The cosignature lines of a 200 answer that verify over ``checkpoint_note``.

    Lines from unknown keys or that do not verify are ignored, as the spec requires of clients;
    at most one line per verifier is kept.

    Args:
        checkpoint_note: the checkpoint note that was sent (its text is what was cosigned).
        body: the witness's response body.
        verifiers: the witness keys the caller trusts.
    Returns:
        ``[(verifier, line without newline)]`` in response order.
    Spec: C2SP tlog-witness ("The client MUST ignore any cosignatures from unknown keys"),
    C2SP tlog-cosignature.
    """
    text = _note.parse_note(checkpoint_note).text.encode("utf-8")
    out: List[Tuple[CosignatureVerifier, str]] = []
    seen = set()
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        for v in verifiers:
            if id(v) in seen:
                continue
            try:
                verify_cosignature(text, line, v)
            except ValueError:
                continue
            out.append((v, line))
            seen.add(id(v))
            break
    return out
