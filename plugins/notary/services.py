"""The notary's log service: append publications, sign checkpoints, witness and cosign, prove.

Everything here works on the *current tenant* (:func:`comun_cms.toolkit.get_current_tenant`)
through a SQLAlchemy session (``db.session`` unless one is given), so the global tenant filter
applies to every read.

* :func:`append_publication` (``on_publish``): builds the entry, locks the tenant's
  :class:`~plugins.notary.models.LogHead` (``SELECT ... FOR UPDATE`` on PostgreSQL), appends the
  leaf and the perfect-subtree nodes completed by :class:`~plugins.notary.tlog.merkle.CompactRange`,
  and signs a checkpoint (every publication, or when ``checkpoint_interval`` seconds passed).
* :func:`sign_checkpoint`: refuses to sign unless the previous checkpoint's signature verifies and
  the new tree is consistent with it (RFC 9162 2.1.4 consistency proof, checked before signing).
* :func:`request_cosignatures`: after the publishing transaction commits, asks the peer states'
  witnesses (in process, through :class:`~plugins.notary.tlog.witness.Witness`, the same code as
  the HTTP endpoint) to cosign the latest checkpoint; the external witnesses of ``tenant.toml``
  (HTTP, C2SP tlog-witness) are asked by the witness worker (:mod:`plugins.notary.witnessing`),
  with retries and back-off. A witness failure never unpublishes nor blocks publishing.
* :func:`receipt_for` / :func:`verify_receipt_text`: the C2SP tlog-proof receipt of an entry, and
  its check as the verify page (and the training exercise) does it.

Entry format (RFC 8785 canonical JSON, ``format`` = :data:`ENTRY_FORMAT`)::

    {"format", "tenant", "content_type", "record_id", "version", "action",
     "content_sha256", "published_at" (ISO 8601 UTC, seconds), "previous_version_index"
     (leaf index of the previous version of the record or null), "previous_entry_hash"
     (hex leaf hash of entry index-1, or null for the first entry)}
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comun_cms.toolkit import (
    LoggedPublication, LogSlice, Publication, all_tenants, bump_generation, db, get_current_tenant, get_tenants, jsonable, tenant_context, utcnow,
)
from plugins.notary.keys import (Keyring, KeyringError, ensure_keys, keyring_path, load_keyring,  # noqa: F401 (re-exported)
                                 restore_keyring, rotate_keys)
from plugins.notary.models import (Checkpoint, Cosignature, Digest, Entry, LogHead, LogOrigin, Node, Timestamp,
                                   WitnessState)
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import cosignature as tcs
from plugins.notary.tlog import merkle, note, proof as tproof, witness as twit
from plugins.notary.tlog.policy import parse_policy

log = logging.getLogger(__name__)

ENTRY_FORMAT = "comun-notary-entry/1"
MOVE_FORMAT = "comun-notary-origin-move/1"
MOVE_CONTENT_TYPE = "notary.origin"
#: An origin: printable, no whitespace and no ``+`` (it is also the log key's name, C2SP signed-note).
ORIGIN_RE = re.compile(r"[!-*,-~]{1,255}")
PLUGIN = "notary"
PENDING_KEY = "notary_cosign_pending"
RANGE_KEY = "notary_compact_range"
#: A SHA-256 as the verify pages accept it: 64 lowercase hexadecimal characters.
SHA256_RE = re.compile(r"[0-9a-f]{64}\Z")


class NotaryError(Exception):
    """The log cannot do what was asked (no keys, inconsistent state); message says why."""


# --------------------------------------------------------------------------- configuration
def configured_origin(tenant) -> str:
    """The origin a *new* log of ``tenant`` gets: setting ``origin`` or ``<SITE_HOST>/<slug>/notary``
    as configured now. Only used once, when the log is created (see :func:`log_origin`)."""
    origin = ""
    try:
        origin = tenant.setting(PLUGIN, "origin") or ""
    except KeyError:
        pass
    return origin or f"{current_app.config['SITE_HOST']}/{tenant.slug}/notary"


def log_origins(tenant, session: Session | None = None) -> list[tuple[int, str]]:
    """The origins ``tenant``'s log has had: ``[(start_size, origin)]`` ordered by ``start_size``
    (``[]`` while none is stored). Works whatever the current tenant is."""
    session = session or db.session
    with tenant_context(tenant):
        return [(int(s), o) for s, o in session.execute(
            select(LogOrigin.start_size, LogOrigin.origin).order_by(LogOrigin.start_size))]


def _derived_origin(tenant, session: Session) -> str:
    """The origin of a log that has no stored one yet: the origin of its oldest checkpoint, else
    the name of its first log key (made by ``comun init`` from the configuration of then), else
    :func:`configured_origin`."""
    with tenant_context(tenant):
        note_text = session.scalar(select(Checkpoint.note).order_by(Checkpoint.size).limit(1))
    if note_text:
        return note_text.split("\n", 1)[0]
    try:
        ring = load_keyring(current_app.instance_path, tenant.slug)
    except KeyringError:
        ring = None
    if ring is not None:
        return note.new_verifier(ring.log[0]["vkey"]).name
    return configured_origin(tenant)


def log_origin(tenant, session: Session | None = None) -> str:
    """Return the tenant's log origin: the one stored with the log (:class:`LogOrigin`, the newest
    row), fixed when the log was created; a change of ``SITE_HOST`` or of the ``origin`` setting
    does not change it (``comun notary move-origin`` does). Before anything is stored, the origin
    the log will get (:func:`_derived_origin`). Works whatever the current tenant is."""
    session = session or db.session
    rows = log_origins(tenant, session)
    return rows[-1][1] if rows else _derived_origin(tenant, session)


def origin_at(rows: list[tuple[int, str]], size: int) -> str | None:
    """The origin a checkpoint of ``size`` entries carries, given :func:`log_origins` ``rows``
    (``None`` when ``rows`` is empty)."""
    found = None
    for start, origin in rows:
        if start <= size:
            found = origin
    return found


def ensure_origin(tenant, session: Session | None = None) -> str:
    """Store the log's origin if none is stored yet (first row, ``start_size`` 0) and return the
    current origin. Idempotent; safe when several processes race (``UNIQUE`` on the tenant and
    size). ``tenant`` must be the current tenant."""
    session = session or db.session
    rows = log_origins(tenant, session)
    if rows:
        return rows[-1][1]
    origin = _derived_origin(tenant, session)
    try:
        with session.begin_nested():
            session.add(LogOrigin(tenant_id=tenant.slug, origin=origin, start_size=0))
    except IntegrityError:
        pass
    return log_origin(tenant, session)


def _setting(tenant, key: str, default: Any) -> Any:
    try:
        return tenant.setting(PLUGIN, key)
    except KeyError:
        return default


def notary_tenants() -> list:
    """Every configured tenant that enables the notary, in configuration order."""
    return [t for t in get_tenants().values() if t.enables(PLUGIN)]


@dataclass(frozen=True)
class LogHit:
    """Where a SHA-256 was found by :func:`find_in_logs`: ``tenant`` (a Tenant), ``entries``
    (its log indexes, ascending), ``kinds`` (``{"content", "attachment"}`` subset) and
    ``filenames`` (names of the matching attached files, may be empty)."""

    tenant: Any
    entries: tuple[int, ...]
    kinds: frozenset[str]
    filenames: tuple[str, ...]


def find_in_logs(sha: str, exclude: str | None = None) -> list[LogHit]:
    """Search the SHA-256 ``sha`` (64 lowercase hex characters) in the log of every public
    tenant that enables the notary (never training tenants): an explicit cross-tenant read of
    :class:`~plugins.notary.models.Digest`, which only holds hashes of published versions.

    ``exclude`` leaves one tenant slug out (a tenant's verify page already searched its own
    log). Returns one :class:`LogHit` per tenant where it was found, in configuration order;
    ``[]`` when nowhere.
    """
    tenants = [t for t in get_tenants(public_only=True).values() if t.enables(PLUGIN) and t.slug != exclude]
    if not tenants:
        return []
    rows = db.session.execute(all_tenants(
        select(Digest.tenant_id, Digest.index, Digest.kind, Digest.filename)
        .where(Digest.sha256 == sha, Digest.tenant_id.in_([t.slug for t in tenants]))
        .order_by(Digest.tenant_id, Digest.index))).all()
    hits = []
    for t in tenants:
        mine = [r for r in rows if r.tenant_id == t.slug]
        if mine:
            hits.append(LogHit(tenant=t, entries=tuple(sorted({r.index for r in mine})),
                               kinds=frozenset(r.kind for r in mine),
                               filenames=tuple(sorted({r.filename for r in mine if r.filename}))))
    return hits


def peer_tenants(tenant) -> list:
    """The tenants whose witnesses cosign ``tenant``'s log (and whose logs its witness accepts):
    up to ``peer_witnesses`` (default 3) other tenants enabling the notary with the same
    ``training`` flag, the ones after it in configuration order, wrapping around
    (:func:`plugins.notary.witnessing.ring_peers`): witnessing grows with the number of tenants,
    not its square. A training tenant never witnesses a real one, nor the reverse. A participant
    workspace is witnessed by its training tenant only, and workspaces witness nobody (30
    workspaces must not cosign each other's every publication)."""
    from plugins.notary.witnessing import ring_peers
    if tenant.workspace_of is not None:
        return [t for t in notary_tenants() if t.slug == tenant.workspace_of]
    group = [t for t in notary_tenants() if t.training == tenant.training and t.workspace_of is None]
    return ring_peers(tenant, group)


def witnessed_tenants(tenant) -> list:
    """The tenants whose logs ``tenant``'s witness accepts: the reverse of :func:`peer_tenants`
    (its peers, plus its participant workspaces for a training tenant; nobody for a workspace)."""
    return [t for t in notary_tenants() if t.slug != tenant.slug and tenant in peer_tenants(t)]


def keyring(tenant, create: bool = True, session: Session | None = None) -> Keyring | None:
    """Return the tenant's keyring (created on first use when ``create``, named with the log origin
    read through ``session``), cached by file mtime.

    When keys are shared (``NOTARY_KEYS_DIR``) nothing is created here: a missing keyring raises.

    Raises:
        KeyringError: malformed keyring or wrong key name; missing shared keyring.
    """
    cache = current_app.extensions.setdefault("notary_keyrings", {})
    path = keyring_path(current_app.instance_path, tenant.slug)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = None
    hit = cache.get(tenant.slug)
    if hit is not None and mtime is not None and hit[0] == mtime:
        return hit[1]
    if mtime is None:
        if not create:
            return None
        ring, _ = ensure_keys(current_app.instance_path, tenant.slug, log_origin(tenant, session), may_create=False)
    else:
        ring = load_keyring(current_app.instance_path, tenant.slug)
    cache[tenant.slug] = (path.stat().st_mtime_ns, ring)
    return ring


def log_is_new(tenant, session: Session | None = None) -> bool:
    """``True`` while the tenant's log has nothing in the database (no stored origin, no
    checkpoint, no entry): only then may shared keys be made by ``comun init``."""
    session = session or db.session
    if log_origins(tenant, session):
        return False
    with tenant_context(tenant):
        size = session.scalar(select(LogHead.size)) or 0
        return not size and session.scalar(select(Checkpoint.id).limit(1)) is None


def log_verifiers(tenant) -> list[note.Ed25519Verifier]:
    """Note verifiers of every log key the tenant ever used ([] without keys)."""
    ring = keyring(tenant, create=False)
    return [note.new_verifier(v) for v in ring.log_vkeys] if ring else []


# --------------------------------------------------------------------------- storage helpers
def node_reader(session: Session | None = None) -> Callable[[int, int], bytes]:
    """Return ``get_node(level, index) -> 32 bytes`` over the current tenant's stored nodes.

    Raises (from the callable):
        NotaryError: the node is not stored (tree damaged or not that large).
    """
    session = session or db.session
    tenant = get_current_tenant()
    slug = tenant.slug if tenant is not None else ""

    def get_node(level: int, index: int) -> bytes:
        h = session.scalar(select(Node.hash).where(Node.tenant_id == slug, Node.level == level, Node.index == index))
        if h is None:
            raise NotaryError(f"stored node (level {level}, index {index}) is missing")
        return bytes(h)
    return get_node


def lock_head(session: Session | None = None) -> LogHead:
    """Return the current tenant's log head, locked ``FOR UPDATE`` (created when missing), and make
    sure the log's origin is stored (:func:`ensure_origin`)."""
    session = session or db.session
    head = session.scalar(select(LogHead).with_for_update())
    if head is None:
        try:
            with session.begin_nested():
                session.add(LogHead(size=0, last_leaf_hash=""))
        except IntegrityError:
            pass
        head = session.scalar(select(LogHead).with_for_update())
    tenant = get_current_tenant()
    if tenant is not None:
        ensure_origin(tenant, session)
    return head


def latest_checkpoint(session: Session | None = None) -> Checkpoint | None:
    """The current tenant's newest checkpoint, or ``None``."""
    session = session or db.session
    return session.scalar(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1))


def served_note(cp: Checkpoint, session: Session | None = None) -> bytes:
    """The checkpoint note with every gathered cosignature appended (C2SP signed-note)."""
    session = session or db.session
    lines = session.scalars(select(Cosignature.line).where(Cosignature.checkpoint_id == cp.id)
                            .order_by(Cosignature.id))
    return (cp.note + "".join(lines)).encode("utf-8")


# --------------------------------------------------------------------------- appending
@dataclass(frozen=True)
class EntryData:
    """What one log entry says about a publication (see the module docstring)."""

    publication_id: int
    content_type: str
    record_id: str
    version: int
    action: str
    content_sha256: str
    published_at: dt.datetime
    previous_publication_id: int | None
    attachments: tuple = ()  # ((sha256, filename), ...)


@dataclass(frozen=True)
class OriginMove:
    """An origin-move entry (:func:`move_origin`): the log continues under ``new_origin`` after
    ``final_checkpoint``, the last signed note (without cosignatures) under ``old_origin``."""

    old_origin: str
    new_origin: str
    final_checkpoint: str
    moved_at: dt.datetime


def move_entry_bytes(tenant_slug: str, move: OriginMove, previous_hash: str | None) -> bytes:
    """Return the canonical JSON bytes (RFC 8785, same fast path as :func:`entry_bytes`: only
    strings and nulls) of an origin-move entry::

        {"format": MOVE_FORMAT, "tenant", "old_origin", "new_origin",
         "final_checkpoint" (signed note text), "moved_at" (ISO 8601 UTC), "previous_entry_hash"}
    """
    doc = {"format": MOVE_FORMAT, "tenant": tenant_slug, "old_origin": move.old_origin,
           "new_origin": move.new_origin, "final_checkpoint": move.final_checkpoint,
           "moved_at": jsonable(move.moved_at), "previous_entry_hash": previous_hash}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_bytes(tenant_slug: str, data: EntryData, previous_index: int | None, previous_hash: str | None) -> bytes:
    """Return the canonical JSON bytes of a log entry (RFC 8785).

    The entry holds only ASCII keys, strings, integers and nulls, for which RFC 8785 output equals
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` (same key order,
    same string escapes); that fast path is used, and the tests compare it with ``rfc8785.dumps``.
    """
    doc = {
        "format": ENTRY_FORMAT, "tenant": tenant_slug, "content_type": data.content_type,
        "record_id": data.record_id, "version": int(data.version), "action": data.action,
        "content_sha256": data.content_sha256, "published_at": jsonable(data.published_at),
        "previous_version_index": previous_index, "previous_entry_hash": previous_hash,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_data_for(publication) -> EntryData:
    """Build :class:`EntryData` from a :class:`~comun_cms.toolkit.Publication`."""
    doc = json.loads(publication.canonical_json)
    atts = tuple((a.get("sha256", ""), a.get("filename", "")) for a in doc.get("attachments") or [])
    return EntryData(publication.id, publication.content_type, publication.record_id, publication.version,
                     publication.action, publication.sha256, publication.published_at,
                     publication.previous_id, atts)


def append_entries(items: Iterable[EntryData | OriginMove], session: Session | None = None) -> list[int]:
    """Append entries to the current tenant's log, in order, in the caller's transaction.

    An :class:`OriginMove` item is logged as an origin-move entry (no publication, no digest;
    ``content_sha256`` is the SHA-256 of its final checkpoint note).

    Locks the log head so concurrent publishers are serialized (PostgreSQL ``FOR UPDATE``;
    SQLite serializes writers itself); ``UNIQUE(tenant_id, index)`` is the safety net.

    Returns:
        The leaf indexes given, in order.
    Raises:
        NotaryError: no current tenant, or the stored tree is damaged.
    """
    session = session or db.session
    tenant = get_current_tenant()
    if tenant is None:
        raise NotaryError("no current tenant")
    head = lock_head(session)
    get_node = node_reader(session)
    cr = merkle.CompactRange.from_storage(head.size, get_node)
    prev_hash = head.last_leaf_hash or None
    indexes = []
    node_rows: list[dict] = []
    entry_rows: list[dict] = []
    digest_rows: list[dict] = []
    pending_prev: dict[int, int] = {}
    slug = tenant.slug
    for item in items:
        if isinstance(item, OriginMove):
            index = cr.size
            data = move_entry_bytes(slug, item, prev_hash)
            leaf = merkle.leaf_hash(data)
            for level, idx, h in cr.append(leaf):
                node_rows.append({"tenant_id": slug, "level": level, "index": idx, "hash": h})
            entry_rows.append({"tenant_id": slug, "index": index, "publication_id": None,
                               "content_type": MOVE_CONTENT_TYPE, "record_id": "origin", "version": index,
                               "action": "move", "content_sha256": hashlib.sha256(
                                   item.final_checkpoint.encode("utf-8")).hexdigest(),
                               "entry": data.decode("utf-8"), "leaf_hash": leaf.hex(), "created_at": utcnow()})
            prev_hash = leaf.hex()
            indexes.append(index)
            continue
        prev_index = None
        if item.previous_publication_id is not None:
            prev_index = pending_prev.get(item.previous_publication_id)
            if prev_index is None:
                prev_index = session.scalar(select(Entry.index).where(
                    Entry.publication_id == item.previous_publication_id))
        index = cr.size
        data = entry_bytes(slug, item, prev_index, prev_hash)
        leaf = merkle.leaf_hash(data)
        for level, idx, h in cr.append(leaf):
            node_rows.append({"tenant_id": slug, "level": level, "index": idx, "hash": h})
        leaf_hex = leaf.hex()
        entry_rows.append({"tenant_id": slug, "index": index, "publication_id": item.publication_id,
                           "content_type": item.content_type, "record_id": item.record_id,
                           "version": item.version, "action": item.action, "content_sha256": item.content_sha256,
                           "entry": data.decode("utf-8"), "leaf_hash": leaf_hex, "created_at": utcnow()})
        digest_rows.append({"tenant_id": slug, "sha256": item.content_sha256, "index": index, "kind": "content",
                            "filename": ""})
        for sha, filename in item.attachments:
            digest_rows.append({"tenant_id": slug, "sha256": sha, "index": index, "kind": "attachment",
                                "filename": (filename or "")[:255]})
        pending_prev[item.publication_id] = index
        prev_hash = leaf_hex
        indexes.append(index)
    if entry_rows:
        session.execute(Entry.__table__.insert(), entry_rows)  # Core executemany: no ORM bookkeeping
        session.execute(Node.__table__.insert(), node_rows)
        if digest_rows:
            session.execute(Digest.__table__.insert(), digest_rows)
    head.size = cr.size
    head.last_leaf_hash = prev_hash or ""
    head.updated_at = utcnow()
    session.info[RANGE_KEY] = (slug, cr.size, head.last_leaf_hash, cr.copy())
    session.flush()
    return indexes


def append_publication(event) -> int:
    """``on_publish`` listener: log ``event.publication`` and maybe sign a checkpoint.

    Returns the leaf index. Raises on any failure so the core rolls the publication back.
    """
    session = db.session
    index = append_entries([entry_data_for(event.publication)], session)[0]
    interval = _setting(event.tenant, "checkpoint_interval", 0)
    last = latest_checkpoint(session)
    if interval <= 0 or last is None or (utcnow() - last.created_at).total_seconds() >= interval:
        sign_checkpoint(event.tenant, session)
        session.info.setdefault(PENDING_KEY, set()).add(event.tenant.slug)
    return index


def sign_checkpoint(tenant, session: Session | None = None) -> Checkpoint:
    """Sign a checkpoint of the tenant's current log size (the tenant must be current).

    Refuses (raises :class:`NotaryError`) when the previous checkpoint's log signature does not
    verify with the tenant's keys, or the current tree is not consistent with it (consistency
    proof generated and verified before signing). Returns the existing checkpoint when the size
    did not change. The checkpoint carries the origin stored with the log (:func:`log_origin`),
    whatever ``SITE_HOST`` is now.
    """
    session = session or db.session
    ring = keyring(tenant)
    head = lock_head(session)
    get_node = node_reader(session)
    last = latest_checkpoint(session)
    if last is not None and last.size == head.size:
        return last
    if last is not None and last.size > head.size:
        raise NotaryError(f"the last checkpoint has size {last.size} but the log only {head.size} entries")
    cached = session.info.get(RANGE_KEY)
    if cached is not None and cached[:3] == (tenant.slug, head.size, head.last_leaf_hash):
        root = cached[3].root()  # built by append_entries in this transaction
    else:
        root = merkle.CompactRange.from_storage(head.size, get_node).root()
    rows = log_origins(tenant, session)
    origin = rows[-1][1]
    if last is not None:
        try:
            prev, _ = tcp.open_checkpoint(last.note.encode("utf-8"), [note.new_verifier(v) for v in ring.log_vkeys],
                                          origin=origin_at(rows, last.size))
        except ValueError as exc:
            raise NotaryError(f"refusing to sign: the previous checkpoint (size {last.size}) does not verify: {exc}")
        if prev.size != last.size or prev.root_hash.hex() != last.root_hash:
            raise NotaryError(f"refusing to sign: the previous checkpoint row (size {last.size}) does not match its note")
        try:
            proof = merkle.consistency_proof(prev.size, head.size, get_node)
            merkle.verify_consistency(prev.size, head.size, prev.root_hash, root, proof)
        except ValueError as exc:
            raise NotaryError(f"refusing to sign: the log (size {head.size}) is not consistent with the "
                              f"previous checkpoint (size {prev.size}): {exc}") from None
    body = tcp.Checkpoint(origin, head.size, root)
    signed = tcp.sign_checkpoint(body, ring.log_signers())
    cp = Checkpoint(tenant_id=tenant.slug, size=head.size, root_hash=root.hex(), note=signed.decode("utf-8"))
    session.add(cp)
    bump_generation(tenant.slug, session)  # seals of the entries it covers now read "Verified"
    session.flush()
    return cp


@dataclass(frozen=True)
class MoveResult:
    """What :func:`move_origin` did: the final checkpoint under the old origin (``final_size``),
    the origin-move entry's ``move_index`` and the first checkpoint under the new origin
    (``new_size`` = ``move_index + 1``), and the new log verifier key."""

    old_origin: str
    new_origin: str
    final_size: int
    move_index: int
    new_size: int
    new_vkey: str


def move_origin(tenant, new_origin: str, session: Session | None = None) -> MoveResult:
    """Move the tenant's log to ``new_origin``, verifiably, and commit.

    In one transaction, with the log head locked: sign (or reuse) a final checkpoint of the
    current size ``N`` under the old origin; append the origin-move entry (index ``N``, holding
    the old and new origins and that final checkpoint note, see :func:`move_entry_bytes`); store
    the new origin from size ``N + 1``; add a log key named ``new_origin`` (the old log keys stop
    signing now and stay published); sign the first checkpoint (size ``N + 1``) under the new
    origin, checked consistent with the final one. Witnesses are asked after the commit. If
    anything fails, the database rolls back and the keyring file is put back as it was.

    The tenant must be current. Returns a :class:`MoveResult`.

    Raises:
        NotaryError: ``new_origin`` is not a valid origin (1-255 printable characters, no space,
            no ``+``), is the current origin, or was an origin of this log before.
        KeyringError: the keyring is unusable.
    """
    session = session or db.session
    if not ORIGIN_RE.fullmatch(new_origin or ""):
        raise NotaryError(f"{new_origin!r} is not a valid origin: 1 to 255 printable ASCII characters, "
                          "without spaces or '+'")
    ring = keyring(tenant)
    lock_head(session)
    rows = log_origins(tenant, session)
    old_origin = rows[-1][1]
    if new_origin == old_origin:
        raise NotaryError(f"{new_origin!r} is already the log's origin")
    if new_origin in {o for _s, o in rows}:
        raise NotaryError(f"{new_origin!r} was an origin of this log before; choose a new one")
    saved = ring.path.read_bytes()
    try:
        final = sign_checkpoint(tenant, session)
        index = append_entries([OriginMove(old_origin, new_origin, final.note, utcnow())], session)[0]
        session.add(LogOrigin(tenant_id=tenant.slug, origin=new_origin, start_size=index + 1))
        session.flush()
        new_ring = rotate_keys(current_app.instance_path, tenant.slug, new_origin, overlap_days=0, which=("log",))
        current_app.extensions.setdefault("notary_keyrings", {}).pop(tenant.slug, None)
        cp = sign_checkpoint(tenant, session)
        result = MoveResult(old_origin, new_origin, final.size, index, cp.size, new_ring.log_vkeys[-1])
        session.info.setdefault(PENDING_KEY, set()).add(tenant.slug)
        session.commit()
    except BaseException:
        session.rollback()
        if ring.path.read_bytes() != saved:
            restore_keyring(ring.path, saved)
        current_app.extensions.setdefault("notary_keyrings", {}).pop(tenant.slug, None)
        raise
    return result


# --------------------------------------------------------------------------- witnessing
def _witness_store(session: Session):
    def load(origin: str) -> twit.LogState | None:
        row = session.scalar(select(WitnessState).where(WitnessState.origin == origin))
        if row is None:
            return None
        return twit.LogState(row.size, bytes.fromhex(row.root_hash), row.checkpoint.encode("utf-8"))

    def save(origin: str, expected: twit.LogState | None, new: twit.LogState) -> bool:
        text = bytes(new.checkpoint).decode("utf-8", "replace")
        if expected is None:
            try:
                with session.begin_nested():
                    session.add(WitnessState(origin=origin, size=new.size, root_hash=new.root_hash.hex(),
                                             checkpoint=text))
            except IntegrityError:
                return False
            return True
        result = session.execute(
            update(WitnessState)
            .where(WitnessState.origin == origin, WitnessState.size == expected.size,
                   WitnessState.root_hash == expected.root_hash.hex())
            .values(size=new.size, root_hash=new.root_hash.hex(), checkpoint=text, updated_at=utcnow())
            .execution_options(synchronize_session=False))
        return result.rowcount == 1
    return load, save


def tenant_witness(tenant, session: Session | None = None) -> twit.Witness:
    """The tenant's witness: trusts the logs of :func:`witnessed_tenants` (by their published
    log keys) and cosigns with the tenant's witness keys. Its state is read and
    written with compare-and-swap through ``session`` as ``tenant`` (which must be current)."""
    session = session or db.session
    logs = {}
    for other in witnessed_tenants(tenant):
        verifiers = log_verifiers(other)
        if verifiers:
            logs[log_origin(other, session)] = verifiers
    load, save = _witness_store(session)
    return twit.Witness(logs, keyring(tenant, session=session).witness_signers(), load, save)


def extra_witnesses(tenant) -> list[tuple[tcs.CosignatureVerifier, str]]:
    """The usable external witnesses of the tenant's ``witnesses`` setting.

    Returns:
        ``[(cosignature verifier, add-checkpoint URL)]``; unusable items are left out (never
        raised; :func:`plugins.notary.witnessing.witness_config` names them).
    """
    from plugins.notary import witnessing
    return [(v, spec.url) for spec in witnessing.witness_config(tenant).witnesses if spec.kind == "external"
            for v in spec.verifiers]


def _ask(send: Callable[[bytes], tuple[int, bytes]], old_size: int, cp: Checkpoint, note_bytes: bytes,
         get_node) -> tuple[int, bytes]:
    """tlog-witness client (:func:`~plugins.notary.tlog.witness.request_cosignature`) with the
    log's consistency proofs from ``get_node``. Returns the last ``(status, body)``."""
    reply = twit.request_cosignature(send, note_bytes, old_size,
                                     lambda old, new: merkle.consistency_proof(old, new, get_node))
    return reply.status, reply.body


def _store_cosignatures(cp: Checkpoint, body: bytes, verifiers: list, session: Session) -> list[str]:
    """Verify cosignature lines in ``body`` over ``cp`` and store the good ones. Returns names."""
    stored = []
    for v, line in twit.cosignature_lines(cp.note.encode("utf-8"), body, verifiers):
        exists = session.scalar(select(Cosignature.id).where(Cosignature.checkpoint_id == cp.id,
                                                              Cosignature.witness == v.name))
        if exists is None:
            session.add(Cosignature(tenant_id=cp.tenant_id, checkpoint_id=cp.id, witness=v.name,
                                    line=line + "\n"))
            stored.append(v.name)
    session.flush()
    return stored


def request_cosignatures(log_tenant, session: Session | None = None,
                         kinds: Iterable[str] = ("state", "external")) -> dict[str, str]:
    """Ask the witnesses of ``log_tenant`` (of ``kinds``: ``state`` in process, ``external`` over
    HTTP) to cosign its latest checkpoint now; store cosignatures and each witness's outcome.
    See :func:`plugins.notary.witnessing.request_cosignatures` (a failing witness is reported,
    never raised).

    Returns:
        ``{witness name: "ok" | "cosigned" | "<status>: <message>" | "error: <what>"}``.
    """
    from plugins.notary import witnessing
    return witnessing.request_cosignatures(log_tenant, session, kinds)


def _after_commit(session: Session) -> None:
    session.info.pop(RANGE_KEY, None)
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    try:
        tenants = get_tenants()
    except RuntimeError:
        log.warning("notary: no application context after commit; cosignatures not requested")
        return
    try:
        from plugins.notary import timestamps  # imports this module
        timestamps.schedule(current_app._get_current_object(), pending)  # in the background, never waited for
    except Exception as exc:
        log.warning("notary: time-stamping not started: %s", exc)
    other = Session(bind=db.engine)
    try:
        for slug in sorted(pending):
            if slug in tenants:  # the states now; external witnesses: the witness worker
                request_cosignatures(tenants[slug], other, kinds=("state",))
    except Exception as exc:  # never let witnessing break the (already committed) publication
        log.warning("notary: requesting cosignatures failed: %s", exc)
    finally:
        other.close()


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
    session.info.pop(RANGE_KEY, None)


def install_listeners() -> None:
    """Register (once per process) the session listeners that ask witnesses after commit."""
    if getattr(Session, "_notary_listeners", False):
        return
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    Session._notary_listeners = True


install_listeners()


# --------------------------------------------------------------------------- proofs and receipts
def entry_at(index: int, session: Session | None = None) -> Entry | None:
    """The current tenant's entry at leaf ``index`` or ``None``."""
    session = session or db.session
    return session.scalar(select(Entry).where(Entry.index == index))


def log_slice(start: int, limit: int, session: Session | None = None) -> LogSlice:
    """Up to ``limit`` consecutive entries of the current tenant's log from leaf index ``start``
    (the ``publication_log`` hook).

    The head's ``size`` is read first and only entries below it are returned: the head and the
    entries are written in the same transaction, so every entry below a committed size is
    committed too, and the slice is consecutive whatever other publications are in flight
    (indexes are given under the head's row lock, hence in commit order).

    Args:
        start: first leaf index wanted (>= 0).
        limit: most entries returned (>= 1).
    Returns:
        :class:`~comun_cms.toolkit.LogSlice` (``size`` 0 and no entries for an empty log).
    """
    session = session or db.session
    size = session.scalar(select(LogHead.size)) or 0
    if start >= size:
        return LogSlice(entries=(), size=size)
    rows = session.execute(
        select(Entry.index, Entry.publication_id, Entry.leaf_hash)
        .where(Entry.index >= start, Entry.index < size).order_by(Entry.index).limit(limit))
    return LogSlice(entries=tuple(LoggedPublication(i, p, h) for i, p, h in rows), size=size)


def entry_for_publication(publication_id: int, session: Session | None = None) -> Entry | None:
    """The current tenant's entry logging publication ``publication_id``, or ``None`` (not logged)."""
    session = session or db.session
    return session.scalar(select(Entry).where(Entry.publication_id == publication_id))


def entry_with_coverage(publication_id: int, session: Session | None = None) -> tuple[Entry | None, bool]:
    """One query for the seal: the current tenant's entry logging ``publication_id`` (or
    ``None``) and whether a checkpoint of the tenant covers it yet (checkpoint sizes only grow,
    so "some checkpoint has ``size > index``" equals "the newest one does")."""
    session = session or db.session
    covered = (select(Checkpoint.id).where(Checkpoint.tenant_id == Entry.tenant_id, Checkpoint.size > Entry.index)
               .correlate(Entry).exists())
    row = session.execute(select(Entry, covered).where(Entry.publication_id == publication_id)).first()
    return (None, False) if row is None else (row[0], bool(row[1]))


def checkpoint_covering(index: int, session: Session | None = None) -> Checkpoint | None:
    """The newest checkpoint whose size covers leaf ``index`` (``None`` if none yet)."""
    cp = latest_checkpoint(session)
    return cp if cp is not None and cp.size > index else None


def timestamp_of(cp: Checkpoint, session: Session | None = None) -> Timestamp | None:
    """The RFC 3161 time-stamp stored for checkpoint ``cp`` (``None`` if it has none yet)."""
    session = session or db.session
    return session.scalar(select(Timestamp).where(Timestamp.checkpoint_id == cp.id))


def latest_timestamp(session: Session | None = None) -> Timestamp | None:
    """The current tenant's time-stamp of its largest time-stamped checkpoint, or ``None``."""
    session = session or db.session
    return session.scalar(select(Timestamp).order_by(Timestamp.size.desc()).limit(1))


def receipt_for(index: int, session: Session | None = None) -> bytes | None:
    """Return the C2SP tlog-proof receipt of leaf ``index`` (``None`` when no checkpoint covers
    it yet): against the newest time-stamped checkpoint that covers it, with the RFC 3161 token
    (DER ``TimeStampResp``) as the receipt's ``extra`` line, else against the newest checkpoint;
    the checkpoint carries its cosignatures."""
    session = session or db.session
    cp = checkpoint_covering(index, session)
    if cp is None:
        return None
    ts = session.scalar(select(Timestamp).where(Timestamp.size > index).order_by(Timestamp.size.desc()).limit(1))
    if ts is not None:
        cp = session.get(Checkpoint, ts.checkpoint_id)
    hashes = merkle.inclusion_proof(index, cp.size, node_reader(session))
    return tproof.format_proof(index, hashes, served_note(cp, session), extra=ts.token if ts is not None else None)


def policy_text(tenant) -> str:
    """A C2SP tlog-policy for verifying the tenant's receipts: its log keys, its witnesses (the
    peer states and the external witnesses) and the k-of-n quorum
    (:func:`plugins.notary.witnessing.policy_text`)."""
    from plugins.notary import witnessing
    return witnessing.policy_text(tenant)


def log_only_policy(tenant) -> str:
    """A tlog-policy with the tenant's log keys and no witness quorum (``quorum none``): what a
    receipt must satisfy before any witness has cosigned its checkpoint."""
    ring = keyring(tenant, create=False)
    return "".join(f"log {v}\n" for v in (ring.log_vkeys if ring else [])) + "quorum none\n"


def verify_receipt_text(tenant, receipt_text: str, entry_text: str, policy: str | None = None) -> dict:
    """Verify a pasted or uploaded receipt (C2SP tlog-proof) and log entry as the verify page does.

    Line ends are normalized (``\\r\\n`` -> ``\\n``) and trailing newlines of the entry dropped.

    Args:
        tenant: the tenant whose log the receipt is for (its :func:`policy_text` is used).
        receipt_text / entry_text: the receipt and the canonical entry JSON, as text.
        policy: tlog-policy text to use instead of the tenant's (e.g. :func:`log_only_policy`).
    Returns:
        ``{"ok": True, "index", "size", "witnesses", "entry": bytes, "stamp", "stamp_error"}`` or
        ``{"ok": False, "error": str}``. ``stamp`` is ``{"tsa", "gen_time"}`` when the receipt's
        ``extra`` line holds an RFC 3161 token over its checkpoint that verifies with the tenant's
        TSA chain, else ``None``; ``stamp_error`` (English) says why a token present did not verify.
        Never raises for bad input.
    """
    entry = entry_text.replace("\r\n", "\n").rstrip("\n").encode("utf-8")
    try:
        pol = parse_policy(policy if policy is not None else policy_text(tenant))
        receipt = receipt_text.replace("\r\n", "\n").encode("utf-8")
        v = tproof.verify_receipt(receipt, entry, pol)
    except ValueError as exc:
        return {"ok": False, "error": str(exc)}
    out = {"ok": True, "index": v.index, "size": v.checkpoint.size, "witnesses": list(v.witnesses), "entry": entry,
           "stamp": None, "stamp_error": None}
    if v.extra is not None:
        from plugins.notary import timestamps  # imports this module
        try:
            cfg = timestamps.tsa_config(tenant, current_app.instance_path)
            if cfg is None:
                raise timestamps.TimestampError("this state names no Time-Stamp Authority to check it with")
            info = timestamps.verify_token(v.extra, timestamps.note_messages(tproof.parse_proof(receipt).checkpoint),
                                           list(cfg.chain))
            out["stamp"] = {"tsa": cfg.name or info.tsa, "gen_time": info.gen_time}
        except timestamps.TimestampError as exc:
            out["stamp_error"] = str(exc)
    return out


def b64(data: bytes) -> str:
    """Standard base64 text of ``data``."""
    return base64.b64encode(data).decode("ascii")


def start_new_log(tenant) -> None:
    """Forget the tenant's log (training reset, phase ``before``): delete every notary row of the
    tenant and set its keyring file aside, so the next log is signed by a new key and no key ever
    signs two different trees of the same size (which a rewound log would otherwise do).

    The log keeps its current origin. The witnesses' memory of the old log goes too: every
    tenant's ``WitnessState`` for this log's origins is deleted, so the training tenant's witness cosigns the new, smaller log instead
    of refusing it as a rollback (C2SP tlog-witness keeps the latest size per origin). The set-aside
    keyring is deleted by :func:`finish_new_log` once the reset commits, or put back if it rolls back.
    """
    origins = [o for _s, o in log_origins(tenant)] or [log_origin(tenant)]
    for model in (Cosignature, Timestamp, Checkpoint, Digest, Node, Entry, LogHead, WitnessState, LogOrigin):
        db.session.execute(model.__table__.delete().where(model.tenant_id == tenant.slug))
    db.session.execute(WitnessState.__table__.delete().where(WitnessState.origin.in_(origins)))
    # The new log keeps the current origin (its identity), not today's configuration.
    db.session.add(LogOrigin(tenant_id=tenant.slug, origin=origins[-1], start_size=0))
    path = _keyring_file(tenant)
    if path.exists():
        path.replace(_set_aside(path))
    current_app.extensions.setdefault("notary_keyrings", {}).pop(tenant.slug, None)


def finish_new_log(tenant, committed: bool) -> None:
    """End of a training reset (phases ``committed`` / ``rolled_back``): drop the keyring set aside
    by :func:`start_new_log`, or, when the reset rolled back and the old log is back, put the old
    keyring back in place of the one made meanwhile."""
    path = _keyring_file(tenant)
    aside = _set_aside(path)
    if aside.exists():
        if committed:
            aside.unlink()
        else:
            aside.replace(path)
    current_app.extensions.setdefault("notary_keyrings", {}).pop(tenant.slug, None)


def _keyring_file(tenant):
    return keyring_path(current_app.instance_path, tenant.slug)


def _set_aside(path):
    return path.with_name(path.name + ".before-reset")


def relog_publications(tenant) -> int:
    """Append every publication of the tenant, oldest first, to a fresh log and sign a checkpoint
    (training reset, phase ``after``). Returns the number of entries."""
    pubs = list(db.session.scalars(select(Publication).where(Publication.tenant_id == tenant.slug)
                                   .order_by(Publication.id)))
    if pubs:
        append_entries([entry_data_for(p) for p in pubs])
        sign_checkpoint(tenant)
    return len(pubs)
