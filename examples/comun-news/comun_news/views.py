"""Pages of the news plugin: a public list and item page under ``/<tenant>/news/`` and
a staff list under ``/<tenant>/admin/news/``. Queries are filtered to the current tenant
by the core; public pages only ever show published items."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from comun_cms.toolkit import current_tenant, db, require_role
from comun_news.feeds import atom, rss
from comun_news.models import NewsItem

bp = Blueprint("news", __name__, template_folder="templates", url_prefix="/news")
admin_bp = Blueprint("admin_news", __name__, template_folder="templates", url_prefix="/news")

PUBLIC_STATUSES = ("published", "retracted")


@bp.get("/")
def index():
    """Public list of the tenant's published items, newest first."""
    items = db.session.scalars(select(NewsItem).where(NewsItem.status.in_(PUBLIC_STATUSES))
                               .order_by(NewsItem.published_at.desc(), NewsItem.id.desc())).all()
    return render_template("news/index.html", items=items)


@bp.get("/<int:item_id>")
def item(item_id: int):
    """One published item (404 for drafts and other tenants' items)."""
    record = db.first_or_404(select(NewsItem).where(NewsItem.id == item_id, NewsItem.status.in_(PUBLIC_STATUSES)))
    return render_template("news/item.html", item=record)


@admin_bp.get("/", endpoint="index")
@require_role("admin", "editor")
def admin_index():
    """Staff list of every item of the tenant, drafts included."""
    items = db.session.scalars(select(NewsItem).order_by(NewsItem.id.desc())).all()
    return render_template("news/admin/index.html", items=items)


# --------------------------------------------------------------------------- feeds (comun-news)
def _feed_items() -> list[NewsItem]:
    limit = current_tenant.setting("news", "feed_items")
    return list(db.session.scalars(select(NewsItem).where(NewsItem.status == "published")
                                   .order_by(NewsItem.published_at.desc(), NewsItem.id.desc()).limit(limit)))


def _feed_args() -> dict:
    return {"title": _("Communiqués of %(name)s", name=current_tenant.short_name),
            "link": url_for("news.index", _external=True),
            "item_url": lambda item: url_for("news.item", item_id=item.id, _external=True)}


@bp.get("/feed.rss")
def feed_rss():
    """RSS 2.0 feed of the latest published communiqués."""
    body = rss(_feed_items(), self_url=url_for("news.feed_rss", _external=True),
               description=_("Official communiqués of %(name)s", name=current_tenant.secretariat),
               language=current_tenant.default_locale.replace("_", "-"), **_feed_args())
    return Response(body, mimetype="application/rss+xml")


@bp.get("/feed.atom")
def feed_atom():
    """Atom 1.0 feed of the latest published communiqués."""
    body = atom(_feed_items(), self_url=url_for("news.feed_atom", _external=True),
                author=current_tenant.secretariat, **_feed_args())
    return Response(body, mimetype="application/atom+xml")
