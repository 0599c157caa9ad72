"""Full audit of a tenant's log from the database: ``comun notary audit <slug>``.

Recomputes, without trusting any stored hash: every publication's SHA-256 from its canonical
JSON (a version removed by a redaction is accepted without its content: its stub must name a
``redact`` publication of the same record, itself logged, that lists its version; the hash kept
is still the one in the log entry), every entry's leaf hash and its fields against its publication, the hash chain
(``previous_entry_hash``) and ``previous_version_index``, every stored tree node, the root at
every checkpoint size, every checkpoint signature (with the tenant's log keys, retired ones
included) and every cosignature (with the witness keys of the other tenants and of the extra
witnesses), the origins the log has had against its origin-move entries, and every RFC 3161
time-stamp (TSA signature and chain, message imprint, time inside the checkpoint's window). Each problem is a :class:`Fault` naming the record, entry, node or checkpoint.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable

from flask import current_app
from sqlalchemy import select

from comun_cms.toolkit import Publication, db, tenant_context, utcnow
from plugins.notary import services, timestamps
from plugins.notary.models import Checkpoint, Cosignature, Entry, LogHead, Node, Timestamp
from plugins.notary.tlog import checkpoint as tcp
from plugins.notary.tlog import cosignature as tcs
from plugins.notary.tlog import merkle, note

#: Node mismatches listed one by one before they are only counted.
MAX_NODE_FAULTS = 20


@dataclass(frozen=True)
class Fault:
    """One problem: ``kind`` (publication | entry | node | checkpoint | cosignature | head | origin |
    timestamp),
    ``where`` (e.g. ``"entry 12"``) and a ``message`` that says what is wrong."""

    kind: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class AuditReport:
    """Result of :func:`audit_tenant`: ``faults`` and counts of what was checked."""

    tenant: str
    faults: list[Fault] = field(default_factory=list)
    publications: int = 0
    #: versions whose content a logged redaction removed (hash kept, content gone)
    redacted: int = 0
    entries: int = 0
    nodes: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    timestamps: int = 0

    @property
    def ok(self) -> bool:
        return not self.faults


def _pub_name(pid: int, pub: tuple) -> str:
    return f"{pub[0]} {pub[1]} version {pub[2]} (publication {pid})"


def _check_origins(tenant, origins: list[tuple[int, str]], moves: list[tuple[int, dict]], roots: dict,
                   verifiers: list, faults: list[Fault]) -> None:
    """Check the stored origins against the origin-move entries: the first origin starts at size 0;
    each later one starts right after a move entry that names it and the origin before it, and
    whose final checkpoint verifies under the old origin with the size and root of the log before
    the move."""
    if not origins:
        faults.append(Fault("origin", "log origin", "no origin is stored for the log"))
        return
    if origins[0][0] != 0:
        faults.append(Fault("origin", f"origin {origins[0][1]}", "the first origin must start at size 0"))
    by_start = {start: origin for start, origin in origins}
    for index, doc in moves:
        where = f"entry {index} (origin move)"
        if doc.get("format") != services.MOVE_FORMAT or doc.get("tenant") != tenant.slug:
            faults.append(Fault("entry", where, "has no publication and is not an origin-move entry of this log"))
            continue
        old, new = doc.get("old_origin"), doc.get("new_origin")
        if by_start.get(index + 1) != new or services.origin_at(origins, index) != old:
            faults.append(Fault("origin", where, f"moves {old!r} to {new!r}, but the stored origins do not"))
        try:
            final, _n = tcp.open_checkpoint(str(doc.get("final_checkpoint", "")).encode("utf-8"), verifiers,
                                            origin=old)
        except ValueError as exc:
            faults.append(Fault("origin", where, f"its final checkpoint does not verify: {exc}"))
            continue
        if final.size != index or roots.get(index) != final.root_hash:
            faults.append(Fault("origin", where, "its final checkpoint is not the log as it was before the move"))
    moved_to = {index + 1 for index, _doc in moves}
    for start, origin in origins[1:]:
        if start not in moved_to:
            faults.append(Fault("origin", f"origin {origin}", f"starts at size {start} without an origin-move entry"))


def _check_timestamps(tenant, session, cps: dict, report: AuditReport) -> None:
    """Check every stored RFC 3161 token: the TSA's signature and certificate chain (the tenant's
    ``tsa_chain``), the message imprint (the checkpoint's note as the log signed it), and the time
    inside the checkpoint's window: not before the checkpoint was signed (less
    :data:`~plugins.notary.timestamps.CLOCK_SKEW`), not more than ``tsa_max_delay`` hours after, and
    not in the future."""
    rows = session.scalars(select(Timestamp).order_by(Timestamp.size)).all()
    report.timestamps = len(rows)
    if not rows:
        return
    try:
        cfg = timestamps.tsa_config(tenant, current_app.instance_path)
    except timestamps.TimestampError as exc:
        report.faults.append(Fault("timestamp", "time-stamps", str(exc)))
        return
    if cfg is None:
        report.faults.append(Fault("timestamp", "time-stamps", f"{len(rows)} time-stamp(s) stored but no tsa_url / "
                                   "tsa_chain configured to check them"))
        return
    skew = dt.timedelta(seconds=timestamps.CLOCK_SKEW)
    now = utcnow()
    for ts in rows:
        cp = cps.get(ts.checkpoint_id)
        where = f"time-stamp of checkpoint (size {ts.size})"
        if cp is None or cp.size != ts.size:
            report.faults.append(Fault("timestamp", where, "its checkpoint is missing or has another size"))
            continue
        try:
            info = timestamps.verify_token(ts.token, cp.note.encode("utf-8"), list(cfg.chain))
        except timestamps.TimestampError as exc:
            report.faults.append(Fault("timestamp", where, str(exc)))
            continue
        if abs((info.gen_time - ts.gen_time).total_seconds()) >= 1:
            report.faults.append(Fault("timestamp", where, "the stored time differs from the token's"))
        if info.gen_time < cp.created_at - skew:
            report.faults.append(Fault("timestamp", where, f"stamped at {info.gen_time.isoformat()}, before the "
                                       f"checkpoint was signed ({cp.created_at.isoformat()})"))
        elif info.gen_time > cp.created_at + dt.timedelta(hours=cfg.max_delay_hours):
            report.faults.append(Fault("timestamp", where, f"stamped at {info.gen_time.isoformat()}, more than "
                                       f"{cfg.max_delay_hours:g} hours after the checkpoint was signed"))
        if info.gen_time > now + skew:
            report.faults.append(Fault("timestamp", where, f"stamped in the future ({info.gen_time.isoformat()})"))


def _redaction_problem(pub: tuple, redaction: tuple | None, canonical: str) -> str:
    """Why a version marked redacted is not a proper redaction (``""`` if it is): the redaction
    must be a ``redact`` publication of the same record, later than the version, and the stub
    must carry no content and name that redaction. The redaction itself is checked as any
    publication (hash, log entry)."""
    if redaction is None:
        return "marked redacted, but its redaction publication is missing"
    if redaction[3] != "redact" or redaction[:2] != pub[:2] or redaction[2] <= pub[2]:
        return "marked redacted by a publication that is not a later redaction of the same record"
    try:
        stub = json.loads(canonical)
    except ValueError:
        return "the redacted version's stub is not valid JSON"
    if not isinstance(stub, dict) or stub.get("content") is not None or stub.get("attachments"):
        return "marked redacted, but content is still stored"
    if (stub.get("redacted") or {}).get("by_version") != redaction[2]:
        return "the redacted version's stub does not name its redaction"
    return ""


def audit_tenant(tenant, progress: Callable[[str], None] | None = None) -> AuditReport:
    """Audit ``tenant``'s log. Returns an :class:`AuditReport` (never raises for bad data)."""
    say = progress or (lambda message: None)
    report = AuditReport(tenant.slug)
    faults = report.faults
    with tenant_context(tenant):
        session = db.session
        # ---- publications: (content_type, record_id, version, action, sha256, previous_id)
        pubs: dict[int, tuple] = {}
        sha256 = hashlib.sha256
        redacted: list[tuple[int, int, str]] = []
        for pid, ct, rid, ver, act, canonical, sha, prev, redaction_id in session.execute(
                select(Publication.id, Publication.content_type, Publication.record_id, Publication.version,
                       Publication.action, Publication.canonical_json, Publication.sha256,
                       Publication.previous_id, Publication.redaction_id)):
            pubs[pid] = (ct, rid, ver, act, sha, prev)
            if redaction_id is not None:
                redacted.append((pid, redaction_id, canonical))
            elif sha256(canonical.encode("utf-8")).hexdigest() != sha:
                faults.append(Fault("publication", _pub_name(pid, pubs[pid]),
                                    "the published content does not match its SHA-256 (content changed in the database)"))
        for pid, redaction_id, canonical in redacted:
            problem = _redaction_problem(pubs[pid], pubs.get(redaction_id), canonical)
            if problem:
                faults.append(Fault("publication", _pub_name(pid, pubs[pid]), problem))
        report.publications = len(pubs)
        report.redacted = len(redacted)
        say(f"{len(pubs)} publications checked ({len(redacted)} redacted: hash kept, content gone)")

        # ---- entries, chain, leaves
        leaves: list[bytes] = []
        index_of_pub: dict[int, int] = {}
        expected = 0
        prev_leaf_hex = None
        slug = tenant.slug
        leaf_hash = merkle.leaf_hash
        loads = json.loads
        rows = session.execute(select(Entry.index, Entry.publication_id, Entry.entry, Entry.leaf_hash,
                                      Entry.content_sha256).order_by(Entry.index)).all()
        docs = []
        moves: list[tuple[int, dict]] = []
        for index, pid, entry, stored_leaf, entry_sha in rows:
            if index != expected:
                gap = f"{expected}" if index == expected + 1 else f"{expected}-{index - 1}"
                faults.append(Fault("entry", f"entry {gap}", "missing from the log (deleted)"))
                expected = index
            data = entry.encode("utf-8")
            leaf = leaf_hash(data)
            leaf_hex = leaf.hex()
            if leaf_hex != stored_leaf:
                faults.append(Fault("entry", f"entry {index}", "its stored leaf hash does not match the entry bytes"))
            try:
                doc = loads(entry)
                if not isinstance(doc, dict):
                    raise ValueError("not an object")
            except ValueError:
                faults.append(Fault("entry", f"entry {index}", "the entry is not valid JSON"))
                doc = {}
            pub = pubs.get(pid)
            if pid is None:
                moves.append((index, doc))
                if entry_sha != sha256(str(doc.get("final_checkpoint", "")).encode("utf-8")).hexdigest():
                    faults.append(Fault("entry", f"entry {index} (origin move)",
                                        "its stored SHA-256 is not that of its final checkpoint"))
            elif pub is None:
                faults.append(Fault("entry", f"entry {index}", f"its publication {pid} is missing"))
            else:
                ct, rid, ver, act, sha, _prev = pub
                if doc.get("content_sha256") != sha or entry_sha != sha:
                    faults.append(Fault("entry", f"entry {index} ({_pub_name(pid, pub)})",
                                        "the content SHA-256 in the log does not match the publication"))
                if (doc.get("tenant"), doc.get("content_type"), doc.get("record_id"), doc.get("version"),
                        doc.get("action")) != (slug, ct, rid, ver, act):
                    for key, value in (("tenant", slug), ("content_type", ct), ("record_id", rid),
                                       ("version", ver), ("action", act)):
                        if doc.get(key) != value:
                            faults.append(Fault("entry", f"entry {index} ({_pub_name(pid, pub)})",
                                                f"field {key} is {doc.get(key)!r}, the publication says {value!r}"))
            if doc.get("previous_entry_hash") != prev_leaf_hex:
                where = f"entry {index}" + (f" ({_pub_name(pid, pub)})" if pub is not None else "")
                faults.append(Fault("entry", where, "hash chain broken: previous_entry_hash does not match the "
                                    f"entry before it (index {index - 1})" if index else
                                    "hash chain broken: the first entry must have previous_entry_hash null"))
            docs.append((index, pid, doc.get("previous_version_index"), pub))
            index_of_pub[pid] = index
            leaves.append(leaf)
            prev_leaf_hex = leaf_hex
            expected = index + 1
        for index, pid, got, pub in docs:
            if pub is None:
                continue
            want = index_of_pub.get(pub[5]) if pub[5] else None
            if got != want:
                faults.append(Fault("entry", f"entry {index} ({_pub_name(pid, pub)})",
                                    f"previous_version_index is {got!r}, expected {want!r}"))
        for pid, pub in pubs.items():
            if pid not in index_of_pub:
                faults.append(Fault("publication", _pub_name(pid, pub), "is not in the log"))
        report.entries = len(rows)
        say(f"{len(rows)} entries checked")

        # ---- nodes and roots
        cps = session.scalars(select(Checkpoint).order_by(Checkpoint.size)).all()
        want_sizes = {cp.size for cp in cps} | {index for index, _doc in moves}
        roots: dict[int, bytes] = {}
        if 0 in want_sizes:
            roots[0] = merkle.EMPTY_ROOT
        stored = {(lv, ix): bytes(h) for lv, ix, h in
                  session.execute(select(Node.level, Node.index, Node.hash))}
        report.nodes = len(stored)
        cr = merkle.CompactRange()
        node_faults = 0
        for leaf in leaves:
            for level, idx, h in cr.append(leaf):
                got = stored.get((level, idx))
                if got != h:
                    node_faults += 1
                    if node_faults <= MAX_NODE_FAULTS:
                        faults.append(Fault("node", f"node (level {level}, index {idx})",
                                            "missing" if got is None else "stored hash differs from the recomputed one"))
            if cr.size in want_sizes:
                roots[cr.size] = cr.root()
        if node_faults > MAX_NODE_FAULTS:
            faults.append(Fault("node", "nodes", f"{node_faults - MAX_NODE_FAULTS} more node mismatches"))
        say(f"{len(stored)} nodes checked")

        # ---- checkpoints and cosignatures
        ring = services.keyring(tenant, create=False)
        verifiers = [note.new_verifier(v) for v in ring.log_vkeys] if ring else []
        origins = services.log_origins(tenant)
        _check_origins(tenant, origins, moves, roots, verifiers, faults)
        witness_verifiers = []
        for other in services.notary_tenants():  # any state: peers change with peer_witnesses
            if other.slug == tenant.slug:
                continue
            oring = services.keyring(other, create=False)
            witness_verifiers += [tcs.new_cosignature_verifier(v) for v in (oring.witness_vkeys if oring else [])]
        witness_verifiers += [v for v, _url in services.extra_witnesses(tenant)]
        for cp in cps:
            where = f"checkpoint {cp.id} (size {cp.size})"
            try:
                body, _n = tcp.open_checkpoint(cp.note.encode("utf-8"), verifiers,
                                               origin=services.origin_at(origins, cp.size) or "")
            except ValueError as exc:
                faults.append(Fault("checkpoint", where, f"signature or format does not verify: {exc}"))
                continue
            if body.size != cp.size or body.root_hash.hex() != cp.root_hash:
                faults.append(Fault("checkpoint", where, "the stored size or root differs from the signed note"))
            if cp.size > len(leaves):
                faults.append(Fault("checkpoint", where, f"covers {cp.size} entries but the log has {len(leaves)}"))
            elif roots.get(cp.size) != body.root_hash:
                faults.append(Fault("checkpoint", where, "its signed root hash does not match the entries "
                                    "(the log was changed after it was signed)"))
            cp_body = body.body_bytes()
            for cs in session.scalars(select(Cosignature).where(Cosignature.checkpoint_id == cp.id)):
                report.cosignatures += 1
                ok = False
                for v in witness_verifiers:
                    if v.name == cs.witness:
                        try:
                            tcs.verify_cosignature(cp_body, cs.line.rstrip("\n"), v)
                            ok = True
                            break
                        except ValueError:
                            continue
                if not ok:
                    faults.append(Fault("cosignature", f"cosignature of {cs.witness} on {where}", "does not verify"))
        report.checkpoints = len(cps)
        say(f"{len(cps)} checkpoints and {report.cosignatures} cosignatures checked")

        _check_timestamps(tenant, session, {cp.id: cp for cp in cps}, report)
        say(f"{report.timestamps} time-stamps checked")

        head = session.scalar(select(LogHead))
        if head is not None:
            if head.size != expected:
                faults.append(Fault("head", "log head", f"says {head.size} entries, the log has {expected}"))
            if leaves and head.last_leaf_hash != (prev_leaf_hex or ""):
                faults.append(Fault("head", "log head", "its last leaf hash is not the last entry's"))
    return report
