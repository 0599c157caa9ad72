"""Subscriptions: a person (an e-mail address, no account) follows a record, a whole tenant or a
saved search, and receives digests of the publications, corrections and retractions that match.

See :mod:`comun_cms.subscriptions` for the workflow (double opt-in, digests, unsubscribe)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comun_cms.extensions import db
from comun_cms.models.base import TenantScoped, Timestamped, UTCDateTime, utcnow

#: What a subscription follows: every publication of the tenant, one record (content type +
#: record id), or a saved search (a query string).
TARGETS = ("tenant", "record", "search")
#: How often the digest is sent.
FREQUENCIES = ("immediate", "daily", "weekly")
#: ``pending`` until the e-mailed link is opened (double opt-in), then ``active``; ``stopped``
#: after an unsubscribe.
STATUSES = ("pending", "active", "stopped")


class Subscription(TenantScoped, Timestamped, db.Model):
    """One person's subscription in one tenant.

    ``target`` is one of :data:`TARGETS`; a ``record`` target names ``content_type`` and
    ``record_id`` (as in :class:`~comun_cms.models.Publication`), a ``search`` target keeps
    ``query``. ``label`` is what the person saw ("Compromiso: …"). ``nonce`` is a random value
    signed into the confirmation and management links; changing it invalidates every link.
    ``last_digest_at`` is when the last digest was queued (daily and weekly digests wait one day
    or seven days after it, or after ``confirmed_at``)."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_match", "tenant_id", "status", "target", "content_type", "record_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    target: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(60), default="")
    record_id: Mapped[str] = mapped_column(String(60), default="")
    query: Mapped[str] = mapped_column(String(300), default="")
    label: Mapped[str] = mapped_column(String(400), default="")
    frequency: Mapped[str] = mapped_column(String(10), default="daily")
    locale: Mapped[str] = mapped_column(String(10), default="es_MX")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    nonce: Mapped[str] = mapped_column(String(40))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: the published simplified privacy notice the person consented to (``Publication.id``;
    #: :class:`comun_cms.privacy.ConsentMixin`), and when
    consent_notice_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"), nullable=True)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SubscriptionItem(TenantScoped, db.Model):
    """One publication waiting for (``sent_at`` null) or already in a subscription's digest.
    Written in the publishing transaction, one row per matching active subscription; the pair
    (subscription, publication) is unique, so a publication appears once in a digest."""

    __tablename__ = "subscription_items"
    __table_args__ = (UniqueConstraint("subscription_id", "publication_id"),
                      Index("ix_subscription_items_pending", "sent_at", "subscription_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
