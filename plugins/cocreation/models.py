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
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comun_cms.toolkit import LOCAL_STRATEGY_STEPS, Publishable, TenantScoped, Timestamped, UTCDateTime, db

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


MODELS = (Process, ProcessStep, Problem, Support, Tree)
