"""The minutes lifecycle shared by every kind of minutes (STL session minutes, co-creation
results minutes): a draft is edited, optionally reviewed, approved (frozen), then published and
locked; after that the only change is an addendum with a published reason.

::

    draft --submit--> review --approve--> approved --lock--> published (locked)
      ^                 |                    |                  |
      +------return-----+-------return-------+                  +--addendum--> new version

Without a review stage (``MinutesLifecycle(review=False)``) ``approve`` starts from ``draft``.

The record (a SQLAlchemy model with :class:`~comun_cms.models.Publishable`) carries two columns
documented by :class:`MinutesLifecycleMixin`: ``stage`` and ``approved_at``. What differs between
kinds of minutes (STL: "approved in a later session of the same body"; a results minute: "has a
date and at least one proposal") is passed in by the caller as ``check`` / ``before`` / ``after``
callables, and the messages of the refusals can be replaced (``messages``) so each plugin keeps
its own wording and catalog.

Nothing here commits: callers run inside ``admin_change`` (admin) or ``atomic``; the publishing
functions are called with ``commit=False``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from comun_cms.extensions import db
from comun_cms.models import Publication, utcnow
from comun_cms.publishing import correct, publish

#: Every stage, in order. ``published`` means locked.
STAGES = ("draft", "review", "approved", "published")

#: Default refusal messages, by rule (a plugin may replace any of them).
DEFAULT_MESSAGES: dict[str, Any] = {
    "locked": _l("The minutes are published and locked; only an addendum can be added."),
    "frozen": _l("The minutes are approved; return them to draft to change them."),
    "not_draft": _l("Only a draft can be sent to review."),
    "not_returnable": _l("Only approved minutes that are not published can go back to draft."),
    "not_approvable": _l("Only minutes ready for approval can be approved."),
    "already_published": _l("These minutes are already published."),
    "not_approved": _l("Approve the minutes before publishing them."),
    "addendum_unpublished": _l("Addenda are only for published minutes; edit the draft instead."),
    "addendum_reason": _l("Explain the reason of the addendum; it is published."),
}


class LifecycleError(ValueError):
    """A rule of the minutes lifecycle was broken. ``str(error)`` is a translated message and
    ``field`` names the form field concerned (``""`` when none). Plugins may subclass it (and
    pass the subclass as ``MinutesLifecycle(error=...)``) to keep their own error type."""

    def __init__(self, message, field: str = ""):
        self.field = field
        super().__init__(str(message))


class MinutesLifecycleMixin:
    """Documents and reads the columns a model needs for :class:`MinutesLifecycle`.

    The model declares (it is also :class:`~comun_cms.models.Publishable`, so it has ``status``
    and ``version``)::

        stage: Mapped[str] = mapped_column(String(20), default="draft", index=True)
        approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    ``stage`` is one of :data:`STAGES`; ``approved_at`` is the aware UTC time of the approval
    (``None`` unless approved or published). The mixin declares no columns, so adding it changes
    no schema.
    """

    @property
    def is_locked(self) -> bool:
        """``True`` once the minutes are published (or retracted): only addenda remain."""
        return getattr(self, "status", "draft") != "draft" or getattr(self, "stage", "draft") == "published"


def _status(record) -> str:
    return record.status or "draft"  # column defaults apply only at flush time


def _stage(record) -> str:
    return record.stage or "draft"


class MinutesLifecycle:
    """The transitions of a kind of minutes.

    Args:
        review: ``True`` when the minutes pass through ``review`` before approval (STL); with
            ``False`` approval starts from ``draft`` (results minutes).
        error: the exception class raised on a refusal (a :class:`LifecycleError` subclass).
        messages: replacements for :data:`DEFAULT_MESSAGES`, by rule name.
    """

    def __init__(self, *, review: bool = True, error: type[LifecycleError] = LifecycleError,
                 messages: Mapping[str, Any] | None = None):
        self.review = review
        self.error = error
        self.messages = {**DEFAULT_MESSAGES, **(messages or {})}
        #: Stages in which the content can be edited.
        self.editable_stages: tuple[str, ...] = ("draft", "review") if review else ("draft",)

    def refuse(self, rule: str, field: str = "") -> None:
        """Raise :attr:`error` with the message of ``rule`` (a key of :data:`DEFAULT_MESSAGES`)."""
        raise self.error(self.messages[rule], field)

    # ------------------------------------------------------------------ reading
    def is_editable(self, record) -> bool:
        """``True`` while the content may change (a draft record in an editable stage)."""
        return _status(record) == "draft" and _stage(record) in self.editable_stages

    def ensure_editable(self, record) -> None:
        """Refuse unless the content may change.

        Raises:
            LifecycleError: ``locked`` when published, ``frozen`` when approved.
        """
        if _status(record) != "draft" or _stage(record) == "published":
            self.refuse("locked")
        if _stage(record) not in self.editable_stages:
            self.refuse("frozen")

    # ------------------------------------------------------------------ transitions
    def submit_for_review(self, record, check: Callable[[Any], None] | None = None) -> None:
        """draft -> review. ``check(record)`` raises when the minutes are not ready.

        Raises:
            LifecycleError: ``not_draft`` (also when the lifecycle has no review stage).
        """
        if not self.review or _stage(record) != "draft" or _status(record) != "draft":
            self.refuse("not_draft")
        if check is not None:
            check(record)
        record.stage = "review"

    def return_to_draft(self, record, clear: Callable[[Any], None] | None = None) -> None:
        """review or approved -> draft; the approval is cleared (``approved_at`` and whatever
        ``clear(record)`` resets) and must be recorded again.

        Raises:
            LifecycleError: ``not_returnable`` when published or already a draft.
        """
        returnable = ("review", "approved") if self.review else ("approved",)
        if _status(record) != "draft" or _stage(record) not in returnable:
            self.refuse("not_returnable")
        record.stage = "draft"
        record.approved_at = None
        if clear is not None:
            clear(record)

    def approve(self, record, *, now: dt.datetime | None = None, check: Callable[[Any], None] | None = None,
                after: Callable[[Any], None] | None = None) -> None:
        """review (or draft without review) -> approved: the content is frozen.

        Args:
            now: aware UTC time of the approval (default: :func:`~comun_cms.models.utcnow`).
            check: ``check(record)`` raises when the domain forbids the approval (called after
                the stage check, before anything changes).
            after: ``after(record)`` records the domain's part (e.g. the approving session).

        Raises:
            LifecycleError: ``not_approvable`` in any other stage, or what ``check`` raises.
        """
        if _status(record) != "draft" or _stage(record) != ("review" if self.review else "draft"):
            self.refuse("not_approvable")
        if check is not None:
            check(record)
        record.approved_at = now or utcnow()
        record.stage = "approved"
        if after is not None:
            after(record)

    def lock(self, record, *, publisher: Callable[[Any], Publication] | None = None, user=None,
             require_approval: bool = True, before: Callable[[Any], None] | None = None) -> Publication:
        """approved -> published: publish version 1 and lock the record.

        Args:
            publisher: ``record -> Publication`` (default: :func:`~comun_cms.publishing.publish`
                as ``user`` with ``commit=False``; the notary logs it through ``on_publish``).
            user: who publishes (only for the default publisher).
            require_approval: ``False`` only for records rebuilt from public sources whose
                approval is not reported.
            before: ``before(record)`` checks and prepares the domain's part; it runs after the
                stage checks and before the stage changes, and may raise.

        Returns:
            The record's :class:`~comun_cms.models.Publication`. Nothing is committed.

        Raises:
            LifecycleError: ``already_published``, ``not_approved`` or what ``before`` raises.
            comun_cms.publishing.PublishError: the publication failed.
        """
        if _status(record) != "draft" or _stage(record) == "published":
            self.refuse("already_published")
        if require_approval and _stage(record) != "approved":
            self.refuse("not_approved")
        if before is not None:
            before(record)
        record.stage = "published"
        publisher = publisher or (lambda r: publish(r, user=user, commit=False))
        return publisher(record)

    def add_addendum(self, record, reason: str, *, user=None,
                     attach: Callable[[Any, str], None] | None = None) -> Publication:
        """Publish an addendum of locked minutes: a new version (a correction) whose reason is
        ``reason``; nothing else of the record changes here.

        Args:
            reason: why (published; required, stripped).
            attach: ``attach(record, reason)`` stores the domain's addendum row, if any.

        Returns:
            The correction's :class:`~comun_cms.models.Publication`. Nothing is committed.

        Raises:
            LifecycleError: ``addendum_unpublished`` or ``addendum_reason`` (field ``reason``).
        """
        if _status(record) != "published":
            self.refuse("addendum_unpublished")
        reason = (reason or "").strip()
        if not reason:
            self.refuse("addendum_reason", "reason")
        if attach is not None:
            attach(record, reason)
            db.session.flush()
        return correct(record, reason=reason, user=user, commit=False)
