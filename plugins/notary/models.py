"""Database models of the notary plugin: one append-only transparency log per tenant.

* :class:`LogHead`       one row per tenant, locked ``FOR UPDATE`` while appending (PostgreSQL)
* :class:`Entry`         the log entries (canonical JSON of publication events), by leaf index
* :class:`Digest`        SHA-256 digests found in an entry (content and attachments), for lookup
* :class:`Node`          stored perfect-subtree hashes ``(level, index)`` (RFC 6962 / tlog-tiles)
* :class:`Checkpoint`    every signed checkpoint (C2SP tlog-checkpoint in a signed note)
* :class:`Cosignature`   witness cosignature lines gathered for a checkpoint
* :class:`WitnessState`  what this tenant's witness last cosigned, per log origin
* :class:`LogOrigin`     the origins (identities) the log has had, fixed at its creation
* :class:`WitnessStatus` per witness of the tenant's log: the last request, its error, the back-off
* :class:`Timestamp`     RFC 3161 time-stamp tokens over signed checkpoints (``comun notary timestamp``)
* :class:`MonitorAlarm`  split views and other alarms raised by ``comun notary monitor`` (platform-wide)

Sources: RFC 6962 / RFC 9162 section 2.1; C2SP tlog-checkpoint, tlog-witness, tlog-tiles.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comun_cms.toolkit import REBUILT_ON_RESET, TenantScoped, UTCDateTime, db, utcnow


class LogHead(TenantScoped, db.Model):
    """The head of a tenant's log: ``size`` (number of entries) and ``last_leaf_hash`` (hex
    SHA-256 leaf hash of entry ``size - 1``, ``""`` when empty). Appending locks this row."""

    __tablename__ = "notary_log_heads"
    __table_args__ = (UniqueConstraint("tenant_id"), {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(default=0, nullable=False)
    last_leaf_hash: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Entry(TenantScoped, db.Model):
    """One log entry. ``entry`` is the RFC 8785 canonical JSON that is leaf-hashed
    (``leaf_hash`` = hex SHA-256(0x00 || entry)). ``index`` is the zero-based leaf index."""

    __tablename__ = "notary_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "index"),
                      Index("ix_notary_entries_record", "tenant_id", "content_type", "record_id"), {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    index: Mapped[int] = mapped_column(nullable=False)
    # NULL only for an origin-move entry (``comun notary move-origin``), which logs no publication.
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), unique=True, nullable=True)
    content_type: Mapped[str] = mapped_column(String(60), nullable=False)
    record_id: Mapped[str] = mapped_column(String(60), nullable=False)
    version: Mapped[int] = mapped_column(nullable=False)
    action: Mapped[str] = mapped_column(String(10), nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    entry: Mapped[str] = mapped_column(Text, nullable=False)
    leaf_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Digest(TenantScoped, db.Model):
    """A SHA-256 found in a logged publication: ``kind`` ``content`` (the publication's own
    hash) or ``attachment`` (an evidence file listed in its canonical JSON)."""

    __tablename__ = "notary_digests"
    __table_args__ = ({"info": {REBUILT_ON_RESET: True}},)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    index: Mapped[int] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), default="", nullable=False)


class Node(TenantScoped, db.Model):
    """Hash (32 bytes) of the perfect subtree of ``2**level`` leaves starting at leaf
    ``index * 2**level`` (level 0 = leaf hashes), as completed by ``CompactRange``."""

    __tablename__ = "notary_nodes"
    __table_args__ = (UniqueConstraint("tenant_id", "level", "index"), {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[int] = mapped_column(nullable=False)
    index: Mapped[int] = mapped_column(nullable=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class Checkpoint(TenantScoped, db.Model):
    """A signed checkpoint of the tenant's log: ``note`` is the signed note as the log signed it
    (without cosignatures); ``root_hash`` hex."""

    __tablename__ = "notary_checkpoints"
    __table_args__ = (UniqueConstraint("tenant_id", "size"), {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(nullable=False)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Cosignature(TenantScoped, db.Model):
    """A witness's cosignature line (``— <name> <base64>\\n``) on one of the tenant's checkpoints."""

    __tablename__ = "notary_cosignatures"
    __table_args__ = (UniqueConstraint("checkpoint_id", "witness"), {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("notary_checkpoints.id"), index=True, nullable=False)
    witness: Mapped[str] = mapped_column(String(255), nullable=False)
    line: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class WitnessState(TenantScoped, db.Model):
    """What this tenant's witness last cosigned for log ``origin``: ``size``, ``root_hash``
    (hex) and the checkpoint note it was given. Updated only by compare-and-swap."""

    __tablename__ = "notary_witness_states"
    __table_args__ = (UniqueConstraint("tenant_id", "origin"), {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    checkpoint: Mapped[str] = mapped_column(Text, default="", nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class LogOrigin(TenantScoped, db.Model):
    """One origin (the log's identity: first line of every checkpoint, name of its log key) and
    the log size from which checkpoints carry it.

    The first row (``start_size`` 0) is written when the log is created, from the ``origin``
    setting or ``<SITE_HOST>/<slug>/notary`` *at that moment*; later changes of ``SITE_HOST`` do
    not change it. ``comun notary move-origin`` adds a row: the last checkpoint under the old
    origin has size ``N``, the origin-move entry has index ``N`` and the new origin starts at
    ``start_size`` ``N + 1``. The current origin is the row with the largest ``start_size``."""

    __tablename__ = "notary_log_origins"
    __table_args__ = (UniqueConstraint("tenant_id", "origin"), UniqueConstraint("tenant_id", "start_size"),
                      {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(255), nullable=False)
    start_size: Mapped[int] = mapped_column(nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class WitnessStatus(TenantScoped, db.Model):
    """How asking one witness (``witness``: its name in the tenant's policy, a state's slug or an
    external witness's name) to cosign the tenant's log goes: the witness worker's queue state.

    A witness is due when it has not cosigned the latest checkpoint and ``next_attempt_at`` is
    null or past. ``attempts`` counts failures since the last success (back-off
    ``base * 2**(attempts-1)`` seconds, capped); ``last_error`` says what failed (status and
    message, or the connection error); ``last_success_at`` is the first success after failures
    (or the first ever): a healthy witness's row is not rewritten at every publication, its
    cosignatures carry their own times. Times are UTC."""

    __tablename__ = "notary_witness_status"
    __table_args__ = (UniqueConstraint("tenant_id", "witness"), {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    witness: Mapped[str] = mapped_column(String(255), nullable=False)
    attempts: Mapped[int] = mapped_column(default=0, nullable=False)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Timestamp(TenantScoped, db.Model):
    """An RFC 3161 time-stamp over one signed checkpoint: ``token`` is the DER ``TimeStampResp``
    the TSA returned (served as ``application/timestamp-reply``), whose message imprint is the
    hash of the checkpoint's note as the log signed it (:attr:`Checkpoint.note`, UTF-8, without
    cosignatures). ``gen_time`` is the TSA's ``genTime`` (UTC), ``tsa`` its display name."""

    __tablename__ = "notary_timestamps"
    __table_args__ = (UniqueConstraint("checkpoint_id"), {"info": {REBUILT_ON_RESET: True}})
    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("notary_checkpoints.id"), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    token: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    gen_time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    tsa: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class MonitorAlarm(db.Model):
    """An alarm of ``comun notary monitor`` (not tenant-scoped: the monitor follows logs of this
    deployment and of others). ``kind`` is ``split-view`` (conclusive evidence in the file
    ``evidence``), ``unproven`` (the log could not prove two of its checkpoints consistent) or
    ``bad-signature``; ``origin`` the log; ``message`` English detail. Shown on every notary
    tenant's dashboard until ``resolved_at`` is set (``comun notary monitor --resolve ID``)."""

    __tablename__ = "notary_monitor_alarms"
    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(255), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


MODELS = (LogHead, Entry, Digest, Node, Checkpoint, Cosignature, WitnessState, LogOrigin, WitnessStatus, Timestamp,
          MonitorAlarm)
