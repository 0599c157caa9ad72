"""Model mixins and column types shared by the core and plugins."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String, TypeDecorator
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always returned as an aware UTC ``datetime``.

    Accepts aware datetimes of any zone (converted to UTC); naive datetimes are rejected with
    ``ValueError`` so local times never slip in unnoticed.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


#: Key of ``Table.info`` marking a tenant-scoped table whose rows a training reset neither saves
#: nor restores, because its plugin rebuilds them in its ``tenant_reset`` hook (the notary's log:
#: ``__table_args__ = (..., {"info": {REBUILT_ON_RESET: True}})``).
REBUILT_ON_RESET = "comun_rebuilt_on_reset"


class TenantScoped:
    """Mixin for every tenant-owned table: adds ``tenant_id`` (the tenant slug, FK to ``tenants``).

    The global tenant filter (:func:`comun_cms.tenancy.install_tenant_filter`) restricts every
    query of these models to the current tenant and stamps new rows with it. A training reset
    (:func:`comun_cms.training.reset`) saves and restores every such table except those marked
    with :data:`REBUILT_ON_RESET` in their ``info``.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[str]:
        return mapped_column(String(40), ForeignKey("tenants.slug"), index=True, nullable=False)


class Timestamped:
    """Mixin adding ``created_at`` and ``updated_at`` (aware UTC)."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class Publishable:
    """Mixin for content records that go through :mod:`comun_cms.publishing`.

    Columns: ``status`` (``draft`` | ``published`` | ``retracted``), ``version`` (number of the
    latest published version, 0 while a draft), ``published_at`` (UTC of the latest version),
    ``first_published_at`` and ``is_demo`` (demo data, labelled "Dato de ejemplo" everywhere).
    A published record is never edited in place: changes go through a correction.
    """

    status: Mapped[str] = mapped_column(String(12), default="draft", nullable=False, index=True)
    version: Mapped[int] = mapped_column(default=0, nullable=False)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    is_demo: Mapped[bool] = mapped_column(default=False, nullable=False)

    @property
    def is_public(self) -> bool:
        """``True`` once published (retracted records keep a public tombstone)."""
        return self.status in ("published", "retracted")
