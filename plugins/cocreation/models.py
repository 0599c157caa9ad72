"""Models of the co-creation plugin (tables ``cc_*``). Every schema change needs an Alembic
revision on the ``cocreation`` branch.

* :class:`Process` — one co-creation exercise of a tenant for a plan cycle, with the dates of
  its consultation; publishable (content type ``cocreation_process``).
* :class:`ProcessStep` — one of the 13 steps of the local open-government strategy for a
  process: dates, a note and an optional link to a record of any content type (the STL's
  installation minutes, the published plan), stored as ``(content_type, record_id)``.
* :class:`Problem` — a public problem stated in the consultation (online or on paper);
  publishable (content type ``cocreation_problem``) once moderated.
* :class:`Support` — an "apoyo" to a published problem: one per verified e-mail address.
* :class:`Tree` — the problem tree (causes and effects) or solution tree (means and ends) of a
  problem, as an indented outline; publishable (content type ``cocreation_tree``).
* :class:`Call` — the open call (step 7) of a process to join its co-creation tables.
* :class:`CocreationTable` — a co-creation table (steps 9–10): theme, the problems it takes up, its
  sessions (:class:`TableSession`) and participants (:class:`Registration`).
* :class:`Registration` — a person registered to a table, through the call or by the admin;
  personal data.
* :class:`Workshop` — an awareness workshop (step 8), a dated event with materials
  (:class:`WorkshopMaterial`).
* :class:`ResultsMinute` — the minute of a table's results (step 10), with the agreed
  :class:`Proposal` rows; each proposal may become a commitment of the action plan.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comun_cms.toolkit import (
    LOCAL_STRATEGY_STEPS, Attachment, MinutesLifecycleMixin, Publishable, TenantScoped, Timestamped, UTCDateTime, db,
)

#: The 13 steps of the local open-government strategy (source: shared data
#: ``stl_sessions.json`` → ``local_strategy_steps``, from the diploma module "Apertura
#: institucional"). Step 5 is the consultation, step 6 the trees.
STRATEGY_STEPS: tuple[str, ...] = LOCAL_STRATEGY_STEPS

#: Moderation states of a problem.
MODERATION = ("pending", "published", "merged", "rejected")
#: Where a problem came from: the online form or a paper form of a field consultation.
SOURCES = ("online", "paper")
#: Kinds of tree.
TREE_KINDS = ("problem", "solution")
#: Sectors of a participant (open call registration, table participants), as the strategy
#: names them: gobierno, sociedad civil, academia, sector privado, ciudadanía.
SECTORS = ("gobierno", "sociedad_civil", "academia", "sector_privado", "ciudadania")
#: How a participant joined a table: through the public call or added by the admin.
REGISTRATION_SOURCES = ("call", "admin")


class Process(TenantScoped, Timestamped, Publishable, db.Model):
    """A co-creation process of one plan cycle ("2º Plan de Acción Local 2026–2027").

    ``consultation_opens`` / ``consultation_closes`` are dates in the tenant's timezone, both
    included: the public problem form accepts submissions on those days only.
    """

    __tablename__ = "cc_processes"
    __audit_fields__ = ("title", "cycle", "consultation_opens", "consultation_closes", "status", "version")

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    cycle: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    consultation_opens: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    consultation_closes: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    steps: Mapped[list[ProcessStep]] = relationship(
        back_populates="process", order_by="ProcessStep.number", cascade="all, delete-orphan")


class ProcessStep(TenantScoped, db.Model):
    """Step ``number`` (1–13, :data:`STRATEGY_STEPS`) of a process: dates, note and link."""

    __tablename__ = "cc_process_steps"
    __table_args__ = (UniqueConstraint("process_id", "number", name="uq_cc_process_steps_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("cc_processes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ends: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    link_type: Mapped[str] = mapped_column(String(60), default="")
    link_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_demo: Mapped[bool] = mapped_column(default=False)

    process: Mapped[Process] = relationship(back_populates="steps")

    @property
    def title(self) -> str:
        """The step's official name (Spanish, as the strategy names it)."""
        return STRATEGY_STEPS[self.number - 1]


class Problem(TenantScoped, Timestamped, Publishable, db.Model):
    """A public problem stated in a process's consultation.

    ``moderation`` is one of :data:`MODERATION`; ``merged_into_id`` points to the problem a
    duplicate was merged into; ``reject_reason`` is public. ``email`` (optional, for follow-up)
    and the consent columns are personal data (privacy sources ``cocreation_problems``).
    """

    __tablename__ = "cc_problems"
    __audit_fields__ = ("title", "theme", "municipality", "source", "moderation", "merged_into_id",
                        "reject_reason", "status", "version")

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("cc_processes.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    theme: Mapped[str] = mapped_column(String(100), default="", index=True)
    municipality: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    source: Mapped[str] = mapped_column(String(10), default="online")
    paper_reference: Mapped[str] = mapped_column(String(120), default="")
    moderation: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cc_problems.id"), nullable=True)
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    moderated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consent_notice_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    process: Mapped[Process] = relationship()
    merged_into: Mapped[Problem | None] = relationship(remote_side="Problem.id")


class Support(TenantScoped, Timestamped, db.Model):
    """An "apoyo" to a problem. Counted only once ``confirmed_at`` is set (double opt-in: the
    person opens the link mailed to ``email``); one row per problem and address (lower-cased).
    ``token_hash`` is the SHA-256 (hex) of the mailed token, never the token itself."""

    __tablename__ = "cc_supports"
    __table_args__ = (UniqueConstraint("tenant_id", "problem_id", "email", name="uq_cc_supports_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("cc_problems.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consent_notice_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Tree(TenantScoped, Timestamped, Publishable, db.Model):
    """The problem tree (``kind="problem"``: causes and effects) or solution tree
    (``kind="solution"``: means and ends) of a problem. ``roots`` and ``branches`` are indented
    outlines (one item per line, two spaces or ``-`` per level): causes/means and
    effects/ends."""

    __tablename__ = "cc_trees"
    __table_args__ = (UniqueConstraint("problem_id", "kind", name="uq_cc_trees_kind"),)
    __audit_fields__ = ("problem_id", "kind", "core", "roots", "branches", "status", "version")

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("cc_problems.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="problem")
    core: Mapped[str] = mapped_column(String(300), default="")
    roots: Mapped[str] = mapped_column(Text, default="")
    branches: Mapped[str] = mapped_column(Text, default="")

    problem: Mapped[Problem] = relationship()


class Call(TenantScoped, Timestamped, Publishable, db.Model):
    """The open call of a process (step 7) to join its co-creation tables; publishable
    (content type ``cocreation_call``). ``registration_opens`` / ``registration_closes`` are
    dates in the tenant's timezone, both included; ``body`` is Markdown."""

    __tablename__ = "cc_calls"
    __audit_fields__ = ("title", "registration_opens", "registration_closes", "status", "version")

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("cc_processes.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    registration_opens: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    registration_closes: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    process: Mapped[Process] = relationship()


#: Which consultation problems a table takes up (many to many).
table_problems = Table(
    "cc_table_problems", db.metadata,
    Column("table_id", ForeignKey("cc_tables.id", ondelete="CASCADE"), primary_key=True),
    Column("problem_id", ForeignKey("cc_problems.id", ondelete="CASCADE"), primary_key=True),
)


class CocreationTable(TenantScoped, Timestamped, Publishable, db.Model):
    """A co-creation table ("mesa de cocreación", steps 9–10) of a process: a theme, the
    problems it takes up, its sessions and participants; publishable (content type
    ``cocreation_table``). ``capacity`` (people, ``None`` = no limit) bounds registrations."""

    __tablename__ = "cc_tables"
    __audit_fields__ = ("title", "theme", "place", "capacity", "status", "version")

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("cc_processes.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    theme: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)

    process: Mapped[Process] = relationship()
    problems: Mapped[list[Problem]] = relationship(secondary=table_problems, order_by="Problem.id")
    sessions: Mapped[list[TableSession]] = relationship(
        back_populates="table", order_by="(TableSession.starts_at, TableSession.id)", cascade="all, delete-orphan")
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="table", order_by="Registration.id", cascade="all, delete-orphan")


class TableSession(TenantScoped, db.Model):
    """A dated session of a table (aware UTC times; ``ends_at`` may be unknown)."""

    __tablename__ = "cc_table_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("cc_tables.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    place: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")

    table: Mapped[CocreationTable] = relationship(back_populates="sessions")


class Registration(TenantScoped, Timestamped, db.Model):
    """A participant of a table: registered through the open call (``source="call"``, with the
    privacy notice's consent) or added by the admin (``source="admin"``). ``sector`` is one of
    :data:`SECTORS`. Name, e-mail and organization are personal data (privacy source
    ``cocreation_registrations``); one registration per table and address (lower-cased)."""

    __tablename__ = "cc_registrations"
    __table_args__ = (UniqueConstraint("table_id", "email", name="uq_cc_registrations_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("cc_tables.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("cc_calls.id", ondelete="SET NULL"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    sector: Mapped[str] = mapped_column(String(20))
    organization: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(10), default="call")
    consent_notice_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    table: Mapped[CocreationTable] = relationship(back_populates="registrations")


class Workshop(TenantScoped, Timestamped, Publishable, db.Model):
    """An awareness workshop of a process (step 8, "expliquemos qué estamos haciendo"): a dated
    event (aware UTC times) with a place or an online link and materials; publishable
    (content type ``cocreation_workshop``)."""

    __tablename__ = "cc_workshops"
    __audit_fields__ = ("title", "starts_at", "place", "status", "version")

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("cc_processes.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    place: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")

    process: Mapped[Process] = relationship()
    materials: Mapped[list[WorkshopMaterial]] = relationship(
        back_populates="workshop", order_by="(WorkshopMaterial.position, WorkshopMaterial.id)",
        cascade="all, delete-orphan")


class WorkshopMaterial(TenantScoped, db.Model):
    """A material of a workshop: an uploaded file (``attachment``) or a link (``url``)."""

    __tablename__ = "cc_workshop_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("cc_workshops.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"), nullable=True)
    url: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    workshop: Mapped[Workshop] = relationship(back_populates="materials")
    attachment: Mapped[Attachment | None] = relationship()


class ResultsMinute(MinutesLifecycleMixin, TenantScoped, Timestamped, Publishable, db.Model):
    """The minute of a table's results (step 10, "ahora comprometámonos"); publishable
    (content type ``cocreation_minute``). ``stage`` follows the minutes lifecycle shared with
    the STL minutes (draft → approved → published and locked); ``held_on`` is the local date
    of the session that agreed it."""

    __tablename__ = "cc_results_minutes"
    __audit_fields__ = ("table_id", "held_on", "stage", "status", "version")

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("cc_tables.id", ondelete="CASCADE"), unique=True)
    held_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    table: Mapped[CocreationTable] = relationship()
    proposals: Mapped[list[Proposal]] = relationship(
        back_populates="minute", order_by="(Proposal.seq, Proposal.id)", cascade="all, delete-orphan")


class Proposal(TenantScoped, db.Model):
    """A proposal agreed in a results minute: what it proposes, the consultation problem it
    answers and the responsible institution. ``commitment_id`` is the id of the action-plan
    commitment (content type ``commitment``) it became through "Convertir en compromiso",
    ``converted_at`` when (aware UTC)."""

    __tablename__ = "cc_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    minute_id: Mapped[int] = mapped_column(ForeignKey("cc_results_minutes.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("cc_problems.id"), nullable=True)
    responsible_institution: Mapped[str] = mapped_column(String(300), default="")
    commitment_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    converted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    minute: Mapped[ResultsMinute] = relationship(back_populates="proposals")
    problem: Mapped[Problem | None] = relationship()


MODELS = (Process, ProcessStep, Problem, Support, Tree, Call, CocreationTable, TableSession, Registration, Workshop,
          WorkshopMaterial, ResultsMinute, Proposal)
