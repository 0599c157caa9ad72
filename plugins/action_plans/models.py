"""Models of the action-plans plugin: local action plans (Plan de Acción Local), their
commitments, milestones and progress reports.

* :class:`ActionPlan` and :class:`Commitment` are publishable records (content types
  ``action_plan`` and ``commitment``). A commitment's milestones and progress reports are
  serialized inside it, so every change to them is a new version of the commitment.
* :class:`Milestone` and :class:`ProgressReport` are child rows (tenant-scoped, not published
  on their own).

Audit snapshots (:func:`comun_cms.toolkit.snapshot`) of these models record every column,
tenant and timestamps included (``__audit_fields__``, set below the classes).

Evidence files are core :class:`~comun_cms.toolkit.Attachment` rows whose ``owner_type`` is
``action_plan``, ``commitment``, ``ap_milestone`` or ``ap_report`` and whose ``owner_id`` is the
owner's id.

Progress values are percentages (0–100, two decimals); ``None`` means "not reported" (a fact the
source does not give is never invented). Plain calendar dates are ``Date`` columns.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comun_cms.toolkit import Publishable, TenantScoped, Timestamped, db

from . import progress as prog

#: The plugin's name: entry point, ``[plugin_settings.action_plans]``, content types' plugin.
PLUGIN = "action_plans"

#: Owner types of evidence attachments.
OWNER_PLAN = "action_plan"
OWNER_COMMITMENT = "commitment"
OWNER_MILESTONE = "ap_milestone"
OWNER_REPORT = "ap_report"


class ActionPlan(TenantScoped, Timestamped, Publishable, db.Model):
    """A local open-government action plan of a tenant.

    ``framework``: ``inai_cocreation`` (INAI "Cocreación desde lo local"), ``ogp_local``,
    ``ogp_national`` or ``own``. ``phase``: ``co_creation``, ``implementation``, ``concluded``,
    ``evaluated`` or ``""`` (not reported). ``axes`` is a list of thematic axes (text).
    ``expected_commitments`` comes from the tenant setting ``default_commitments`` when the plan
    is created. ``source`` cites where a real plan's facts come from.
    """

    __tablename__ = "ap_plans"
    __table_args__ = (UniqueConstraint("tenant_id", "number", name="uq_ap_plans_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    framework: Mapped[str] = mapped_column(String(30), default="own")
    axes: Mapped[list[str]] = mapped_column(JSON, default=list)
    methodology_url: Mapped[str] = mapped_column(String(500), default="")
    methodology_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"), nullable=True)
    approval_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    phase: Mapped[str] = mapped_column(String(20), default="")
    expected_commitments: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    commitments: Mapped[list["Commitment"]] = relationship(
        back_populates="plan", order_by=lambda: Commitment.number, cascade="all, delete-orphan")

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<ActionPlan {self.tenant_id}/{self.number} {self.title!r}>"


class Commitment(TenantScoped, Timestamped, Publishable, db.Model):
    """A SMART commitment of an action plan.

    ``progress_status``: ``not_started``, ``started``, ``completed``, ``verified`` or ``""`` (not
    reported). ``progress`` (0–100 or ``None``) is the weighted mean of the milestones unless
    ``progress_manual`` is set, in which case ``progress_reason`` explains the figure. Both
    columns store :meth:`figures` (``services.recompute`` on every write); read the figures
    through :meth:`figures`.
    ``verified_by`` / ``verified_session`` name the third party and the STL session that
    verified it. ``irm_*`` hold the OGP Independent Reporting Mechanism assessment (optional).
    Lists (``og_values``, ``sdg_goals``, ``co_responsible_*``) hold text items.
    """

    __tablename__ = "ap_commitments"
    __table_args__ = (UniqueConstraint("tenant_id", "plan_id", "number", name="uq_ap_commitments_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("ap_plans.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(300))
    origin: Mapped[str] = mapped_column(String(20), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    public_problem: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    indicator: Mapped[str] = mapped_column(Text, default="")
    baseline: Mapped[str] = mapped_column(String(300), default="")
    target: Mapped[str] = mapped_column(String(300), default="")
    unit: Mapped[str] = mapped_column(String(100), default="")
    risks: Mapped[str] = mapped_column(Text, default="")
    og_values: Mapped[list[str]] = mapped_column(JSON, default=list)
    axis: Mapped[str] = mapped_column(String(300), default="")
    sdg_goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_institution: Mapped[str] = mapped_column(String(300), default="")
    co_responsible_government: Mapped[list[str]] = mapped_column(JSON, default=list)
    co_responsible_civil_society: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    start_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    progress_status: Mapped[str] = mapped_column(String(20), default="")
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_manual: Mapped[bool] = mapped_column(default=False)
    progress_reason: Mapped[str] = mapped_column(Text, default="")
    verified_by: Mapped[str] = mapped_column(String(300), default="")
    verified_session: Mapped[str] = mapped_column(String(300), default="")
    verification_url: Mapped[str] = mapped_column(String(500), default="")
    irm_completion: Mapped[str] = mapped_column(String(20), default="")
    irm_potential: Mapped[str] = mapped_column(String(20), default="")
    irm_early_results: Mapped[str] = mapped_column(String(20), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[ActionPlan] = relationship(back_populates="commitments")
    milestones: Mapped[list["Milestone"]] = relationship(
        back_populates="commitment", order_by=lambda: Milestone.number, cascade="all, delete-orphan")
    reports: Mapped[list["ProgressReport"]] = relationship(
        back_populates="commitment", order_by=lambda: (ProgressReport.period_end, ProgressReport.id),
        cascade="all, delete-orphan")

    def figures(self) -> prog.Figures:
        """Status, progress and progress bar of the commitment by the one definition,
        :func:`plugins.action_plans.progress.commitment_figures`, computed from its milestones
        now (``progress_status`` is the recorded status it starts from; ``progress`` the figure
        set by hand when ``progress_manual``). Every page, the admin, progress reports, the
        published content, the API, the open data and search show these figures."""
        return prog.commitment_figures(self.milestones, self.progress_status, self.progress_manual, self.progress)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Commitment {self.tenant_id}/{self.plan_id}/{self.number} {self.title!r}>"


class Milestone(TenantScoped, Timestamped, db.Model):
    """A dated step (hito / actividad) of a commitment.

    ``weight`` is its share of the commitment (percent; a commitment's weights add up to 100).
    ``progress_status`` uses the commitment statuses; ``progress`` is 0 when not started, 100
    when completed or verified, and between 0 and 100 while started. ``evidence_url`` links
    evidence published elsewhere; uploaded evidence files are attachments (``ap_milestone``).
    """

    __tablename__ = "ap_milestones"
    __table_args__ = (UniqueConstraint("tenant_id", "commitment_id", "number", name="uq_ap_milestones_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("ap_commitments.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    deliverable: Mapped[str] = mapped_column(Text, default="")
    verification_means: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(300), default="")
    start_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    progress_status: Mapped[str] = mapped_column(String(20), default="not_started")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    evidence_url: Mapped[str] = mapped_column(String(500), default="")

    commitment: Mapped[Commitment] = relationship(back_populates="milestones")


class ProgressReport(TenantScoped, Timestamped, db.Model):
    """A periodic progress report of a commitment: the period it covers, a narrative (Markdown),
    the commitment's progress when the report was filed (percent or ``None``; taken from
    :meth:`Commitment.figures`, never typed apart), who reported it and evidence (attachments
    ``ap_report`` and/or ``evidence_url``)."""

    __tablename__ = "ap_progress_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("ap_commitments.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[dt.date] = mapped_column(Date)
    narrative: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    reported_by: Mapped[str] = mapped_column(String(300), default="")
    evidence_url: Mapped[str] = mapped_column(String(500), default="")

    commitment: Mapped[Commitment] = relationship(back_populates="reports")


MODELS: tuple[type, ...] = (ActionPlan, Commitment, Milestone, ProgressReport)


# Every column, in table order: the audit events of this plugin have always recorded the whole row.
for _model in MODELS:
    _model.__audit_fields__ = tuple(column.key for column in _model.__table__.columns)
del _model
