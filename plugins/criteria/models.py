"""Models of the criteria plugin (tables prefixed ``criteria_``).

Tenancy of the framework: the criteria framework is shared by the whole observatory, but every
row of Común CMS belongs to one tenant. Each tenant therefore holds **its own copy** of every
framework version it uses (loaded by ``comun demo`` or ``comun criteria import-framework``); the
copies of one version have the same :attr:`CriteriaFramework.content_sha256` in every tenant
(the hash covers the framework's content, not the tenant), which is how the portal knows two
states were evaluated against the same criteria.

Immutability: a published framework's categories and criteria rows are never changed: no code
path edits them, :func:`plugins.criteria.services.ensure_framework_editable` refuses, and a
``before_flush`` guard (:func:`install_immutability_guard`) raises
:class:`FrameworkLockedError` if anything tries to change or delete them. A new version is a new :class:`CriteriaFramework` row with new criteria rows, so evaluation cycles,
which point to a framework version and its criteria rows, never change when a new version
appears.

Points are stored as integer hundredths (``points_x100``) so sums are exact on every database;
:attr:`Criterion.points` gives a :class:`~decimal.Decimal`.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from comun_cms.toolkit import Attachment, Publishable, TenantScoped, Timestamped, UTCDateTime, db, utcnow

#: Assessment results (glossary: cumple / cumple parcialmente / no cumple / no aplica).
RESULTS = ("met", "partial", "not_met", "not_applicable")
#: Scoring types of a criterion: binary (met / not met), a 0-1-2 scale, a percentage 0-100.
SCORING_TYPES = ("binary", "scale", "percentage")
#: Publication periodicities used by the framework CSV.
PERIODICITIES = ("permanent", "quarterly", "annual", "per_session", "per_event", "monthly", "biannual")
#: Stages of an evaluation cycle, in order.
STAGES = ("planned", "self_assessment", "evaluation", "reply", "published")
#: Who assessed: the secretariat itself, the citizen participation committee, an observatory
#: organization, an external evaluator.
EVALUATOR_ROLES = ("self_assessment", "citizen_committee", "observatory", "external")
#: Roles an evaluator user can declare (the secretariat's self-assessment is not declared).
DECLARED_ROLES = EVALUATOR_ROLES[1:]
#: The secretariat's answer to a recommendation.
ANSWERS = ("pending", "accepted", "rejected")
#: Follow-up progress of an accepted recommendation.
PROGRESS = ("not_started", "in_progress", "implemented")
#: Assessment slot of the secretariat's self-assessment (one per criterion and cycle).
SELF_SLOT = "self"


def user_slot(user_id: int) -> str:
    """Assessment slot of an evaluator user: ``"u<id>"`` (one assessment per criterion)."""
    return f"u{int(user_id)}"


class CriteriaFramework(TenantScoped, Timestamped, Publishable, db.Model):
    """One version of the criteria framework (content type ``criteria_framework``).

    ``slug`` names the framework lineage and ``version_label`` the version (unique together in a
    tenant). ``content_sha256`` is the SHA-256 of the canonical JSON of the framework's content
    (:func:`plugins.criteria.framework_io.framework_content`), equal in every tenant holding the
    same version. ``source`` cites where the criteria come from.
    """

    __tablename__ = "criteria_frameworks"
    __table_args__ = (UniqueConstraint("tenant_id", "slug", "version_label"),)
    #: What the audit log records of a version (:func:`comun_cms.toolkit.snapshot`).
    __audit_fields__ = ("id", "status", "version", "slug", "version_label", "content_sha256")

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80))
    version_label: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str] = mapped_column(Text, default="")
    content_sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    categories: Mapped[list["FrameworkCategory"]] = relationship(
        back_populates="framework", order_by="FrameworkCategory.position", cascade="all, delete-orphan")
    criteria: Mapped[list["Criterion"]] = relationship(
        back_populates="framework", order_by="Criterion.position", cascade="all, delete-orphan")

    @property
    def total_points(self) -> Decimal:
        """Sum of the criteria's points (100 for a valid framework)."""
        return sum((c.points for c in self.criteria), Decimal(0))

    @property
    def unverified_count(self) -> int:
        """How many criteria cite a legal basis marked "unverified"."""
        return sum(1 for c in self.criteria if c.unverified)

    def category(self, code: str) -> "FrameworkCategory | None":
        """The category ``code`` of this version, or ``None``."""
        return next((c for c in self.categories if c.code == code), None)


class FrameworkCategory(TenantScoped, db.Model):
    """A category of a framework version (e.g. ``A`` "Marco normativo") with its points (the sum
    of its criteria's points, in hundredths)."""

    __tablename__ = "criteria_categories"
    __table_args__ = (UniqueConstraint("framework_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("criteria_frameworks.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    points_x100: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)

    framework: Mapped[CriteriaFramework] = relationship(back_populates="categories")

    @property
    def points(self) -> Decimal:
        """Points of the category (``Decimal``)."""
        return Decimal(self.points_x100) / 100


class Criterion(TenantScoped, db.Model):
    """One criterion of a framework version. Immutable once the framework is published.

    Fields: ``code`` (``A-01``), ``title``, ``description``, ``legal_basis`` (text, as cited
    when the version was made; laws change, so the legal basis is versioned with the framework)
    and ``legal_basis_url``, ``applies_to`` (``"all"`` or tenant slugs separated by ``;``),
    ``scoring_type`` (:data:`SCORING_TYPES`), ``points_x100`` (weight in hundredths of a point),
    ``periodicity``, ``deadline_days`` (publication deadline in days, or ``None``),
    ``evidence_required``, ``verification_guide`` and ``source``.
    """

    __tablename__ = "criteria_criteria"
    __table_args__ = (UniqueConstraint("framework_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("criteria_frameworks.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("criteria_categories.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    legal_basis_url: Mapped[str] = mapped_column(String(500), default="")
    applies_to: Mapped[str] = mapped_column(String(300), default="all")
    scoring_type: Mapped[str] = mapped_column(String(12), default="scale")
    points_x100: Mapped[int] = mapped_column(Integer, default=0)
    periodicity: Mapped[str] = mapped_column(String(20), default="permanent")
    deadline_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence_required: Mapped[bool] = mapped_column(default=True)
    verification_guide: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")

    framework: Mapped[CriteriaFramework] = relationship(back_populates="criteria")
    category: Mapped[FrameworkCategory] = relationship(lazy="joined")

    @property
    def points(self) -> Decimal:
        """Weight of the criterion in points (``Decimal``)."""
        return Decimal(self.points_x100) / 100

    @property
    def unverified(self) -> bool:
        """``True`` when the legal basis is marked "unverified" in the source data (it must be
        checked against the state law before an official cycle)."""
        return "unverified" in (self.legal_basis or "").lower()

    @property
    def legal_basis_text(self) -> str:
        """The legal basis as pages show it: without the source data's English marker
        ``(unverified fraction)`` / ``(unverified)``, which pages replace by a translated note
        when :attr:`unverified` is true."""
        return re.sub(r"\s*\(unverified(?: fraction)?\)", "", self.legal_basis or "", flags=re.I).strip()

    def applies_in(self, tenant_slug: str) -> bool:
        """Whether the criterion applies to tenant ``tenant_slug`` (``applies_to`` is ``all``
        or a ``;``-separated list of slugs)."""
        value = (self.applies_to or "all").strip()
        if value in ("", "all"):
            return True
        return tenant_slug in {s.strip() for s in value.split(";")}


class EvaluationCycle(TenantScoped, Timestamped, Publishable, db.Model):
    """One evaluation of the tenant against a framework version (content type
    ``evaluation_cycle``), the publishable record: its assessments, replies and declarations are
    serialized inside it when it is published.

    ``stage`` moves planned -> self_assessment -> evaluation -> reply -> published. ``cutoff_date``
    is the date the published information is checked against; ``reply_deadline`` the last day of
    the secretariat's right of reply. ``scores`` is the score snapshot computed when the cycle is
    published or corrected (see :mod:`plugins.criteria.scoring`).
    """

    __tablename__ = "criteria_cycles"
    #: What the audit log records of a cycle (:func:`comun_cms.toolkit.snapshot`).
    __audit_fields__ = ("id", "status", "stage", "version", "title")

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    period_label: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    cutoff_date: Mapped[dt.date] = mapped_column(Date)
    reply_deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    stage: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("criteria_frameworks.id"), index=True)
    methodology: Mapped[str] = mapped_column(Text, default="")
    scores: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    framework: Mapped[CriteriaFramework] = relationship(lazy="joined")
    assessments: Mapped[list["Assessment"]] = relationship(
        back_populates="cycle", order_by="Assessment.id", cascade="all, delete-orphan")
    declarations: Mapped[list["EvaluatorDeclaration"]] = relationship(
        back_populates="cycle", order_by="EvaluatorDeclaration.id", cascade="all, delete-orphan")


class EvaluatorDeclaration(TenantScoped, Timestamped, db.Model):
    """An evaluator's declaration for one cycle: role (:data:`DECLARED_ROLES`), name,
    organization and conflicts of interest. Required before the evaluator assesses; public in
    the published cycle."""

    __tablename__ = "criteria_declarations"
    __table_args__ = (UniqueConstraint("cycle_id", "user_id"),)
    #: The audit ``before`` of a declaration is its id; the admin view records the declared role,
    #: organization and conflict as the ``after``.
    __audit_fields__ = ("id",)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("criteria_cycles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    evaluator_role: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    organization: Mapped[str] = mapped_column(String(200), default="")
    has_conflict: Mapped[bool] = mapped_column(default=False)
    conflict_description: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cycle: Mapped[EvaluationCycle] = relationship(back_populates="declarations")


class Assessment(TenantScoped, Timestamped, db.Model):
    """One evaluator's assessment of one criterion in one cycle.

    ``slot`` is ``"self"`` for the secretariat's self-assessment or ``"u<user id>"`` for an
    evaluator (unique per cycle and criterion). ``result`` is one of :data:`RESULTS`; ``value``
    the raw score (binary 0/1, scale 0-2, percentage 0-100; ``None`` when not applicable).
    Evidence: ``evidence_url`` with its capture date and an optional uploaded snapshot
    (``attachment_id``, an :class:`~comun_cms.toolkit.Attachment` with its SHA-256).
    """

    __tablename__ = "criteria_assessments"
    __table_args__ = (UniqueConstraint("cycle_id", "criterion_id", "slot"),)
    #: What the audit log records of an assessment (:func:`comun_cms.toolkit.snapshot`).
    __audit_fields__ = ("id", "result", "value", "slot")

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("criteria_cycles.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria_criteria.id"), index=True)
    slot: Mapped[str] = mapped_column(String(20))
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    evaluator_role: Mapped[str] = mapped_column(String(30))
    evaluator_name: Mapped[str] = mapped_column(String(200), default="")
    organization: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[str] = mapped_column(String(20))
    value: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str] = mapped_column(String(1000), default="")
    evidence_captured_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"), nullable=True)
    assessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cycle: Mapped[EvaluationCycle] = relationship(back_populates="assessments")
    criterion: Mapped[Criterion] = relationship(lazy="joined")
    attachment: Mapped[Attachment | None] = relationship(lazy="joined")
    reply: Mapped["Reply | None"] = relationship(back_populates="assessment", uselist=False,
                                                 cascade="all, delete-orphan", lazy="joined")

    @property
    def is_self(self) -> bool:
        """``True`` for the secretariat's self-assessment."""
        return self.slot == SELF_SLOT


class Reply(TenantScoped, Timestamped, db.Model):
    """The secretariat's right of reply to one evaluator assessment (one per assessment)."""

    __tablename__ = "criteria_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("criteria_assessments.id", ondelete="CASCADE"),
                                               unique=True)
    body: Mapped[str] = mapped_column(Text)
    evidence_url: Mapped[str] = mapped_column(String(1000), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    replied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assessment: Mapped[Assessment] = relationship(back_populates="reply")


class Recommendation(TenantScoped, Timestamped, Publishable, db.Model):
    """A recommendation an evaluator issues to the secretariat (content type
    ``recommendation``), linked to criteria, with the secretariat's answer (``answer``: pending,
    accepted, rejected, with ``answer_reason``) and follow-up (``progress``: not_started,
    in_progress, implemented; ``closed_on`` when implemented or rejected)."""

    __tablename__ = "criteria_recommendations"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    #: What the audit log records of a recommendation (:func:`comun_cms.toolkit.snapshot`).
    __audit_fields__ = ("id", "status", "version", "answer", "progress", "title", "number")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("criteria_cycles.id"), nullable=True, index=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    issuer_name: Mapped[str] = mapped_column(String(200), default="")
    issuer_organization: Mapped[str] = mapped_column(String(200), default="")
    answer: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    answer_reason: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    answered_by_name: Mapped[str] = mapped_column(String(200), default="")
    progress: Mapped[str] = mapped_column(String(20), default="not_started")
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    cycle: Mapped[EvaluationCycle | None] = relationship(lazy="joined")
    links: Mapped[list["RecommendationCriterion"]] = relationship(
        back_populates="recommendation", cascade="all, delete-orphan", order_by="RecommendationCriterion.id")
    followups: Mapped[list["FollowUp"]] = relationship(
        back_populates="recommendation", cascade="all, delete-orphan", order_by="FollowUp.id")

    @property
    def criteria(self) -> list[Criterion]:
        """The criteria the recommendation is about."""
        return [link.criterion for link in self.links]


class RecommendationCriterion(TenantScoped, db.Model):
    """Link between a recommendation and a criterion row of a framework version."""

    __tablename__ = "criteria_recommendation_links"
    __table_args__ = (UniqueConstraint("recommendation_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("criteria_recommendations.id", ondelete="CASCADE"),
                                                   index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria_criteria.id"))

    recommendation: Mapped[Recommendation] = relationship(back_populates="links")
    criterion: Mapped[Criterion] = relationship(lazy="joined")


class FollowUp(TenantScoped, Timestamped, db.Model):
    """A follow-up report of the secretariat on a recommendation: date, text, progress and an
    optional evidence link."""

    __tablename__ = "criteria_followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("criteria_recommendations.id", ondelete="CASCADE"),
                                                   index=True)
    reported_on: Mapped[dt.date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text)
    progress: Mapped[str] = mapped_column(String(20))
    evidence_url: Mapped[str] = mapped_column(String(1000), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")

    recommendation: Mapped[Recommendation] = relationship(back_populates="followups")


ALL_MODELS = [CriteriaFramework, FrameworkCategory, Criterion, EvaluationCycle, EvaluatorDeclaration,
              Assessment, Reply, Recommendation, RecommendationCriterion, FollowUp]


class FrameworkLockedError(RuntimeError):
    """Code tried to change or delete a category or criterion of a published framework version
    (or the content of the version itself). Published versions are immutable: import a new one."""


#: Columns of a framework version that are its content (status and publication columns may change).
_FRAMEWORK_CONTENT = ("slug", "version_label", "name", "description", "valid_from", "source", "content_sha256")
_guard_installed = False


def _published(framework: CriteriaFramework | None) -> bool:
    if framework is None:
        return False
    state = inspect(framework)
    history = state.attrs.status.history
    # the version being published in this flush is still editable until it is stored as published
    before = history.deleted[0] if history.deleted else framework.status
    return before != "draft"


def _guard_published_frameworks(session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (Criterion, FrameworkCategory)):
            changed = obj in session.deleted or session.is_modified(obj, include_collections=False)
            if changed and _published(obj.framework):
                raise FrameworkLockedError(
                    f"{type(obj).__name__} {getattr(obj, 'code', obj.id)} belongs to the published framework version "
                    f"{obj.framework.slug} {obj.framework.version_label}; import a new version instead")
        elif isinstance(obj, CriteriaFramework) and _published(obj):
            state = inspect(obj)
            if obj in session.deleted or any(state.attrs[name].history.has_changes() for name in _FRAMEWORK_CONTENT):
                raise FrameworkLockedError(f"framework {obj.slug} {obj.version_label} is published and cannot change")


def install_immutability_guard() -> None:
    """Register (once per process) a ``before_flush`` listener on every session that raises
    :class:`FrameworkLockedError` when a published framework version, its categories or its
    criteria would be changed or deleted."""
    global _guard_installed
    if not _guard_installed:
        event.listen(Session, "before_flush", _guard_published_frameworks)
        _guard_installed = True
