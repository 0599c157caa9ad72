"""Models of the news plugin. Every schema change needs an Alembic revision on the
``news`` branch (see README.md)."""
from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from comun_cms.toolkit import Publishable, TenantScoped, Timestamped, db


class NewsItem(TenantScoped, Timestamped, Publishable, db.Model):
    """One publishable item of a tenant (draft until published with ``comun_cms.toolkit.publish``)."""

    __tablename__ = "news_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")


MODELS = (NewsItem,)
