"""Core models: tenants, users and memberships, pages, attachments, publications, audit events,
public feedback and the search outbox."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from comun_cms.extensions import db
from comun_cms.models.base import Publishable, TenantScoped, Timestamped, UTCDateTime, utcnow

ROLES = ("admin", "editor", "evaluator", "trainer", "privacy")
PASSWORD_METHOD = "scrypt:32768:8:1"


class TenantRow(db.Model):
    """A tenant known to the database (mirrors ``states/<slug>/tenant.toml``; FK target)."""

    __tablename__ = "tenants"
    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(UserMixin, Timestamped, db.Model):
    """A person who can log in. Platform admins administer every tenant; others act through
    :class:`Membership` rows (one role per tenant)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    #: Server-side session revocation: stored in the session at log-in and compared on every
    #: request (:func:`comun_cms.views.auth.load_user`); raising it (log-out, password change,
    #: :func:`comun_cms.users.revoke_sessions`) ends every session the user opened before.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def set_password(self, password: str) -> None:
        """Hash ``password`` with scrypt (werkzeug; default N=2**15, r=8, p=1, setting
        ``PASSWORD_HASH_METHOD``) and store it. Changing the password of an existing user also
        raises :attr:`session_generation`, so every session opened with the old password ends."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", PASSWORD_METHOD) if has_app_context() else PASSWORD_METHOD
        if self.password_hash:
            # an SQL expression: the flush runs `session_generation = session_generation + 1`,
            # atomic with concurrent log-outs
            self.session_generation = type(self).session_generation + 1
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """Return ``True`` if ``password`` matches the stored hash (constant-time compare)."""
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        if not self.active:
            return False
        return self.expires_at is None or self.expires_at > utcnow()


class Membership(TenantScoped, Timestamped, db.Model):
    """A user's role in one tenant: ``admin``, ``editor``, ``evaluator``, ``trainer`` or ``privacy``
    (the data-protection officer: may redact published versions, see :func:`comun_cms.publishing.redact`)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    user: Mapped[User] = relationship(lazy="joined")


class Invitation(TenantScoped, Timestamped, db.Model):
    """An invitation to join a tenant with a role; accepted once through a signed token link."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Page(TenantScoped, Timestamped, Publishable, db.Model):
    """A content page written in Markdown (core content type ``page``).

    ``section`` places it in one of the STL site sections (see :data:`comun_cms.site.SECTIONS`)
    or nowhere (``""``); ``source`` cites where real content comes from.
    """

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)
    #: What an audit event records of a page (:func:`comun_cms.audit.snapshot`): its public
    #: content (the fields the ``page`` content type publishes) plus ``status``, ``version`` and
    #: ``is_demo``.
    __audit_fields__ = ("slug", "title", "summary", "body", "section", "language", "source", "status", "version",
                        "is_demo")
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    section: Mapped[str] = mapped_column(String(30), default="")
    language: Mapped[str] = mapped_column(String(10), default="es")
    source: Mapped[str] = mapped_column(Text, default="")


class Attachment(TenantScoped, Timestamped, db.Model):
    """An uploaded evidence file (photo, PDF, audio, video), stored by SHA-256 in the instance
    folder. ``owner_type``/``owner_id`` link it to a content record (``page``/12)."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_owner", "tenant_id", "owner_type", "owner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(60), default="")
    owner_id: Mapped[str] = mapped_column(String(60), default="")
    filename: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(300), default="")
    mimetype: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # image | pdf | audio | video | document
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    public: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: when a redaction removed the file (:func:`comun_cms.publishing.redact`): its stored bytes
    #: are deleted and its URL answers 410 Gone; the row keeps the name, size and SHA-256.
    redacted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def describe(self) -> dict[str, Any]:
        """Return the attachment's public facts for canonical JSON (name, type, size in bytes, SHA-256)."""
        return {"id": self.id, "filename": self.filename, "title": self.title, "mimetype": self.mimetype,
                "size": self.size, "sha256": self.sha256}


class Publication(TenantScoped, db.Model):
    """One frozen published version of a content record.

    ``is_current`` marks the newest version of each record (for fast "latest version" reads).
    ``canonical_json`` is the RFC 8785 canonical JSON of the record's content at that version and
    ``sha256`` its hex SHA-256. ``action`` is ``publish``, ``correct`` or ``retract``; corrections
    and retractions carry a ``reason`` and point to the ``previous`` version. Rows are never
    deleted, and updated only by a redaction (``action`` ``redact``, the ``reason`` is its legal
    basis; :func:`comun_cms.publishing.redact`): a redacted version's ``canonical_json`` is
    replaced by a stub without content (``redacted_at`` and ``redaction_id`` set) while
    ``sha256`` keeps the hash of the original, so the notary log still audits.
    """

    __tablename__ = "publications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "content_type", "record_id", "version"),
        Index("ix_publications_record", "tenant_id", "content_type", "record_id"),
        Index("ix_publications_current", "is_current", "content_type", "published_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    content_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    canonical_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), nullable=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    #: ``True`` for the newest version of its record (a retraction is current too: check ``action``).
    is_current: Mapped[bool] = mapped_column(default=True, nullable=False)
    #: when a redaction removed this version's content (``None``: not redacted). A redaction of a
    #: whole record sets it on its own ``redact`` publication too, which then withdraws the record.
    redacted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: the ``redact`` publication that removed this version's content
    redaction_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), nullable=True)
    published_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[published_by_id])


class Draft(TenantScoped, Timestamped, db.Model):
    """Unpublished changes to a published record: the next version, being written.

    One row per record (``content_type``/``record_id``, as in :class:`Publication`). ``data``
    maps field names to the edited values (JSON); the record itself keeps its published content
    until the draft is published as a correction (:func:`comun_cms.drafts.publish_draft`), which
    also deletes this row. ``base_version`` is the published version the draft started from.
    """

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("tenant_id", "content_type", "record_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    content_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[str] = mapped_column(String(60))
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[Any] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_by: Mapped[User | None] = relationship(lazy="joined")


class TenantSettings(TenantScoped, Timestamped, db.Model):
    """Settings a tenant admin changed on the web (Configuración), over ``tenant.toml``.

    One row per tenant. ``data`` holds only the sections changed on the web
    (``{"contact": {...}, "colors": {...}, "social": {...}, "deadlines": {...},
    "privacy": {...}, "logo": {...}}``); see :mod:`comun_cms.web_settings`.
    Every change is also an audit event (``settings.update``) with the values before and after.
    """

    __tablename__ = "tenant_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[Any] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class AuditEvent(TenantScoped, db.Model):
    """Who did what, when, in a tenant's admin, with the values before and after (JSON)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(60), default="")
    object_id: Mapped[str] = mapped_column(String(60), default="")
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")


class Feedback(TenantScoped, Timestamped, db.Model):
    """A public submission: question, complaint or suggestion (``kind``), or a sign-up to join the
    open-government exercises (``kind = "join"``). Moderated in admin (``status``: new, accepted,
    answered, spam, archived)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    organization: Mapped[str] = mapped_column(String(200), default="")
    sector: Mapped[str] = mapped_column(String(30), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    #: ``EDOMEX-2026-QJ-000123`` (questions, complaints, suggestions; see comun_cms.folios)
    folio: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    #: SHA-256 of the private tracking token (the link is e-mailed and shown once)
    tracking_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    locale: Mapped[str] = mapped_column(String(10), default="es_MX")
    #: the person agreed that an anonymised version of the question and answer be published
    publish_consent: Mapped[bool] = mapped_column(default=False)
    #: the draft or published page of "Respuestas públicas" prepared from this request
    public_page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"), nullable=True)
    #: the published version of the simplified privacy notice shown when the person consented
    #: (``Publication.id``; ``None`` for rows from before consent was asked, see docs/privacy.md)
    consent_notice_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), nullable=True)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: when the retention purge or an ARCO cancellation blanked the personal fields
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ArcoRequest(TenantScoped, Timestamped, db.Model):
    """A request over one's personal data (LGPDPPSO, derechos ARCO): ``right`` is ``access``,
    ``rectification``, ``cancellation`` or ``opposition``. It gets a folio
    (``EDOMEX-2026-AR-000001``), a legal deadline ``due_on`` (business days, default 20) and a
    private tracking token (only its SHA-256 is stored). ``status``: ``received`` -> ``answered``
    -> ``done``. The retention purge and a cancellation blank ``name``, ``email``,
    ``description`` and ``answer`` (``anonymised_at``) and keep the row for statistics."""

    __tablename__ = "arco_requests"
    __audit_fields__ = ("folio", "right", "status", "due_on", "answered_at", "done_at", "anonymised_at")
    id: Mapped[int] = mapped_column(primary_key=True)
    folio: Mapped[str] = mapped_column(String(40), unique=True)
    right: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[dt.date] = mapped_column(Date)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    tracking_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    locale: Mapped[str] = mapped_column(String(10), default="es_MX")
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    consent_notice_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), nullable=True)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class FolioCounter(db.Model):
    """The last number given for one folio series (``<TENANT>-<YEAR>-<CODE>``); incremented in
    the transaction that stores the request, so numbers are unique and gap-free per series
    (a rolled-back request gives its number back)."""

    __tablename__ = "folio_counters"
    series: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class MailOutbox(db.Model):
    """An e-mail waiting to be delivered, written in the same transaction as the event that causes
    it (an invitation, an answer...) and delivered by the mail worker (``comun mail worker``).

    ``status``: ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed by a worker since
    ``claimed_at``), ``sent``, or ``failed`` (gave up after ``MAIL_MAX_ATTEMPTS``; ``comun mail
    retry`` queues it again). ``message_id`` is fixed when the row is written, so a message that
    had to be sent again after a crash carries the same ``Message-ID`` (RFC 5322 section 3.6.4).
    Not tenant-scoped (a platform queue); ``tenant`` names the tenant it speaks for."""

    __tablename__ = "mail_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str | None] = mapped_column(String(40), nullable=True)
    kind: Mapped[str] = mapped_column(String(60))
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers: Mapped[Any] = mapped_column(JSON, default=dict)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)


class SearchOutbox(db.Model):
    """Pending search-index work written in the publishing transaction and drained by the single
    indexer (``comun search worker``). Not tenant-scoped: it is a platform queue."""

    __tablename__ = "search_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(40))
    doc_id: Mapped[str] = mapped_column(String(200))
    op: Mapped[str] = mapped_column(String(10))  # upsert | delete
    payload: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CacheGeneration(db.Model):
    """The publication generation of one tenant, bumped in every transaction that changes what
    its public pages show (publish, correct, retract, admin changes, search-index updates).

    Not tenant-scoped: a platform table read by the page cache on every anonymous request.
    ``generation`` counts bumps; ``token`` (random hex, new on every bump) keys the cached pages,
    so a database that is reset or replaced never matches entries cached for another one;
    ``changed_at`` (UTC) is the ``Last-Modified`` of the tenant's pages.
    """

    __tablename__ = "cache_generations"
    tenant: Mapped[str] = mapped_column(String(40), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    token: Mapped[str] = mapped_column(String(32), default="")
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoredChunk(db.Model):
    """One piece (at most :data:`comun_cms.filestore.CHUNK_BYTES`, 1 MiB) of a stored upload when
    ``UPLOAD_STORE = "database"`` (several app hosts share the database, not a disk).

    A file is the ordered chunks of ``(tenant, sha256, variant)``: ``variant`` is ``""`` for the
    file itself and ``"thumb"`` for an image's WebP thumbnail; ``seq`` counts from 0. Not
    tenant-scoped (the store filters by ``tenant`` itself, and a training reset leaves files alone,
    as it does on disk).
    """

    __tablename__ = "stored_chunks"
    tenant: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
