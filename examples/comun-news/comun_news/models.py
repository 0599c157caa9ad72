"""Models of the news plugin. Every schema change needs an Alembic revision on the
``news`` branch (see README.md)."""
from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from comun_cms.extensions import db
from comun_cms.models import Publishable, TenantScoped, Timestamped


class NewsItem(TenantScoped, Timestamped, Publishable, db.Model):
    """One publishable item of a tenant (draft until published through comun_cms.publishing)."""

    __tablename__ = "news_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")


MODELS = (NewsItem,)
