"""Models of the STL-minutes plugin (tables prefixed ``stl_``).

Publishable records (content types): :class:`Body` (``stl_body``, with its members),
:class:`Session` (``stl_session``: the minutes, with agenda, attendance, agreements as adopted,
evidence and addenda serialized inside), :class:`Agreement` (``stl_agreement``: an agreement
and its follow-up) and :class:`Call` (``stl_call``: the public call of an upcoming session).
Every other table is a child row, tenant-scoped as well.

Times are stored in UTC (``UTCDateTime``) and shown in the tenant's time zone; plain calendar
dates (session date, due dates, terms) are ``Date``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comun_cms.toolkit import (
    Attachment, MinutesLifecycleMixin, Publishable, TenantScoped, Timestamped, UTCDateTime, db, utcnow,
)

from .ordinals import session_title


class Body(TenantScoped, Timestamped, Publishable, db.Model):
    """A collegiate body of the tenant: the STL, the Coordinating Committee, the Governing
    Board, the Executive Commission or the Citizen Participation Committee.

    ``kind`` is a key of :data:`~plugins.stl_minutes.vocab.BODY_KINDS`; ``key_prefix`` starts
    agreement keys (``STL-MEX``); ``quorum_rule`` a key of ``QUORUM_RULES``; ``source`` cites
    where the public facts come from.
    """

    __tablename__ = "stl_bodies"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str] = mapped_column(String(60), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    key_prefix: Mapped[str] = mapped_column(String(30), default="")
    quorum_rule: Mapped[str] = mapped_column(String(30), default="majority")
    source: Mapped[str] = mapped_column(Text, default="")

    members: Mapped[list["Member"]] = relationship(
        back_populates="body", order_by="(Member.position, Member.id)", cascade="all, delete-orphan",
        foreign_keys="Member.body_id")


class Member(TenantScoped, Timestamped, db.Model):
    """A person who sits in a body: ``sector`` and ``capacity`` are vocabulary keys; an
    alternate names the member she substitutes (``alternate_for``); ``term_start`` /
    ``term_end`` are calendar dates (``None`` = open). ``email`` is private (never published):
    it lets the person comment on minutes in review when she logs in with that address."""

    __tablename__ = "stl_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("stl_bodies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    institution: Mapped[str] = mapped_column(String(300), default="")
    post: Mapped[str] = mapped_column(String(300), default="")
    sector: Mapped[str] = mapped_column(String(30), default="")
    capacity: Mapped[str] = mapped_column(String(20), default="member")
    alternate_for_id: Mapped[int | None] = mapped_column(ForeignKey("stl_members.id", ondelete="SET NULL"), nullable=True)
    term_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    term_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_demo: Mapped[bool] = mapped_column(default=False)

    body: Mapped[Body] = relationship(back_populates="members", foreign_keys=[body_id])
    alternate_for: Mapped["Member | None"] = relationship(remote_side="Member.id", foreign_keys=[alternate_for_id])

    def in_term(self, on: dt.date | None) -> bool:
        """``True`` if the member's term covers ``on`` (always ``True`` when ``on`` is ``None``)."""
        if on is None:
            return True
        return (self.term_start is None or self.term_start <= on) and (self.term_end is None or on <= self.term_end)


class Session(MinutesLifecycleMixin, TenantScoped, Timestamped, Publishable, db.Model):
    """A session of a body and its minutes.

    ``number`` and ``kind`` give the official title (:attr:`title`); ``session_date`` is the
    local calendar date, ``starts_at`` / ``ends_at`` aware UTC times (``None`` when not
    reported). ``stage`` is the minutes lifecycle (draft, review, approved, published);
    ``approved_in`` the later session that approved the minutes. ``quorum_snapshot`` freezes the
    quorum computed at approval (JSON of :meth:`plugins.stl_minutes.quorum.QuorumResult.as_dict`).
    ``source_url`` / ``source_note`` cite real facts.

    Admin changes record the :data:`__audit_fields__` (title, body, stage, status, date and
    version) in their audit events.
    """

    __tablename__ = "stl_sessions"
    __audit_fields__ = ("title", "body_id", "stage", "status", "session_date", "version")
    __table_args__ = (UniqueConstraint("tenant_id", "body_id", "kind", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("stl_bodies.id"), index=True)
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(20), default="regular")
    session_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    modality: Mapped[str] = mapped_column(String(20), default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    video_url: Mapped[str] = mapped_column(String(500), default="")
    call_url: Mapped[str] = mapped_column(String(500), default="")
    call_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"), nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(String(500), default="")
    source_note: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    approved_in_id: Mapped[int | None] = mapped_column(ForeignKey("stl_sessions.id"), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    quorum_snapshot: Mapped[Any] = mapped_column(JSON, nullable=True)

    body: Mapped[Body] = relationship(lazy="joined")
    approved_in: Mapped["Session | None"] = relationship(remote_side="Session.id", foreign_keys=[approved_in_id])
    call_attachment: Mapped[Attachment | None] = relationship(foreign_keys=[call_attachment_id])
    agenda_items: Mapped[list["AgendaItem"]] = relationship(
        back_populates="session", order_by="(AgendaItem.position, AgendaItem.id)", cascade="all, delete-orphan")
    attendance: Mapped[list["Attendance"]] = relationship(
        back_populates="session", order_by="(Attendance.position, Attendance.id)", cascade="all, delete-orphan")
    agreements: Mapped[list["Agreement"]] = relationship(
        back_populates="session", order_by="(Agreement.seq, Agreement.id)", cascade="all, delete-orphan")
    evidence: Mapped[list["Evidence"]] = relationship(
        back_populates="session", order_by="(Evidence.position, Evidence.id)", cascade="all, delete-orphan")
    addenda: Mapped[list["Addendum"]] = relationship(
        back_populates="session", order_by="Addendum.id", cascade="all, delete-orphan")
    comments: Mapped[list["ReviewComment"]] = relationship(
        back_populates="session", order_by="ReviewComment.id", cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        """Official Spanish title, e.g. "Décima Novena Sesión Ordinaria"."""
        return session_title(self.number, self.kind)

    @property
    def full_title(self) -> str:
        """Title with the body: "Décima Novena Sesión Ordinaria del Secretariado ..."."""
        name = self.body.name if self.body is not None else ""
        return f"{self.title} · {name}" if name else self.title

    @property
    def locked(self) -> bool:
        """``True`` once the minutes are published: only addenda can follow."""
        return self.status != "draft"


class Call(TenantScoped, Timestamped, Publishable, db.Model):
    """The public call (convocatoria) of a session: publishing it puts the upcoming session
    (date, time, place, modality, planned agenda, call document) in the public calendar and
    its iCalendar feed before the minutes exist. Rescheduling publishes a correction."""

    __tablename__ = "stl_calls"
    __table_args__ = (UniqueConstraint("tenant_id", "session_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("stl_sessions.id", ondelete="CASCADE"), index=True)
    session: Mapped[Session] = relationship(lazy="joined")


class AgendaItem(TenantScoped, db.Model):
    """One item of a session's agenda (orden del día); ``kind`` is a key of ``AGENDA_KINDS``."""

    __tablename__ = "stl_agenda_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("stl_sessions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(30), default="informative")
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    session: Mapped[Session] = relationship(back_populates="agenda_items")


class Attendance(TenantScoped, db.Model):
    """A person present at a session: from the member list (``member``) or typed in.

    ``represents`` is the member seat an alternate covers (for quorum). ``name``,
    ``institution``, ``sector``, ``capacity`` are copied from the member when chosen so the
    minutes keep what was true that day. ``role`` is free text ("Preside", "Secretaría técnica").
    """

    __tablename__ = "stl_attendance"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("stl_sessions.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("stl_members.id", ondelete="SET NULL"), nullable=True)
    represents_id: Mapped[int | None] = mapped_column(ForeignKey("stl_members.id", ondelete="SET NULL"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    institution: Mapped[str] = mapped_column(String(300), default="")
    post: Mapped[str] = mapped_column(String(300), default="")
    sector: Mapped[str] = mapped_column(String(30), default="")
    capacity: Mapped[str] = mapped_column(String(20), default="")
    role: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    session: Mapped[Session] = relationship(back_populates="attendance")
    member: Mapped[Member | None] = relationship(foreign_keys=[member_id])
    represents: Mapped[Member | None] = relationship(foreign_keys=[represents_id])


class Agreement(TenantScoped, Timestamped, Publishable, db.Model):
    """An agreement adopted in a session and tracked until done.

    ``key`` (``STL-MEX/ORD19/2023/01``), ``text``, ``vote``, ``owner`` and ``due_date`` are as
    adopted (part of the minutes); ``current_due_date`` follows extensions recorded in the
    follow-up; ``progress`` is the stored follow-up status (pending, in_progress, done,
    cancelled, unknown; ``overdue`` is computed in the tenant's time zone) while ``status`` is
    the publishing status of the mixin. ``commitment_id`` / ``commitment_ref`` link an
    action-plan commitment (its id in the action_plans plugin, or its external id) without
    importing that plugin.
    """

    __tablename__ = "stl_agreements"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("stl_sessions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=1)
    key: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    vote: Mapped[str] = mapped_column(String(20), default="")
    owner: Mapped[str] = mapped_column(String(300), default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    current_due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    progress: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    commitment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    commitment_ref: Mapped[str] = mapped_column(String(120), default="")

    session: Mapped[Session] = relationship(back_populates="agreements", lazy="joined")
    updates: Mapped[list["AgreementUpdate"]] = relationship(
        back_populates="agreement", order_by="(AgreementUpdate.entry_date, AgreementUpdate.id)",
        cascade="all, delete-orphan")


class AgreementUpdate(TenantScoped, db.Model):
    """A follow-up entry of an agreement: ``entry_date`` (local date), new ``progress`` status,
    ``note``, optional ``new_due_date`` (extension), evidence link and/or file."""

    __tablename__ = "stl_agreement_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("stl_agreements.id", ondelete="CASCADE"), index=True)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    progress: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    new_due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    link_url: Mapped[str] = mapped_column(String(500), default="")
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    agreement: Mapped[Agreement] = relationship(back_populates="updates")
    attachment: Mapped[Attachment | None] = relationship()


class Evidence(TenantScoped, db.Model):
    """Evidence of a session: an uploaded file (``attachment``) or a link (``url``), with a
    ``category`` (signed minutes, attendance sheet, photo, audio, video...)."""

    __tablename__ = "stl_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("stl_sessions.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(30), default="other")
    title: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    session: Mapped[Session] = relationship(back_populates="evidence")
    attachment: Mapped[Attachment | None] = relationship()


class Addendum(TenantScoped, db.Model):
    """A correction of published minutes: ``reason`` and ``text``; each one is published as a
    new version of the session (``version``)."""

    __tablename__ = "stl_addenda"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("stl_sessions.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    session: Mapped[Session] = relationship(back_populates="addenda")


class ReviewComment(TenantScoped, db.Model):
    """A comment on minutes in review (internal, never published): ``author_name``,
    ``is_attendee`` (the author attended the session), ``body``."""

    __tablename__ = "stl_review_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("stl_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    is_attendee: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    session: Mapped[Session] = relationship(back_populates="comments")


MODELS = [Body, Member, Session, Call, AgendaItem, Attendance, Agreement, AgreementUpdate, Evidence, Addendum,
          ReviewComment]
