"""Atom feeds (RFC 4287) of publications, corrections and retractions, built with ``feedgen``.

* :func:`tenant_feed` — a tenant's feed (``/<slug>/feed.atom``), or one content type's
  (``/<slug>/feed/<content_type>.atom``);
* :func:`portal_feed` — every public tenant's (``/feed.atom``).

Each entry is one published version: its title, what happened (published, corrected with the
reason, retracted with the reason), the record's absolute URL (``ContentType.url``, made
absolute like every e-mailed or exported address: ``url_for(..., _external=True)``) and a stable
id (``tag:`` URI, RFC 4151, from the site host, tenant, content type, record and version).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from urllib.parse import urljoin

from feedgen.feed import FeedGenerator
from flask import current_app, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import Integer, inspect as sa_inspect, select

from comun_cms.content_types import get_registry
from comun_cms.extensions import db
from comun_cms.hosts import site_host
from comun_cms.models import Publication
from comun_cms.tenancy import all_tenants, tenant_context

__all__ = ["FEED_LIMIT", "portal_feed", "publication_url", "tenant_feed"]

#: Entries per feed (the newest versions).
FEED_LIMIT = 50
ACTION_SUMMARIES = {"publish": _l("Published (version %(version)d)."),
                    "correct": _l("Corrected (version %(version)d): %(reason)s"),
                    "retract": _l("Retracted (version %(version)d): %(reason)s"),
                    "redact": _l("Redacted (version %(version)d). Legal basis: %(reason)s")}
#: What the feed says of a version whose content a later redaction removed (no reason, no content).
REDACTED_SUMMARY = _l("Version %(version)d: content removed by a redaction.")


def _absolute(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return urljoin(url_for("portal.home", _external=True), url)


def publication_url(pub: Publication) -> str:
    """The absolute public URL of the record of ``pub`` (its content type's ``url``), or of its
    version history when the record or its type is gone. Must run in the record's tenant (a
    request of that tenant or :func:`~comun_cms.tenancy.tenant_context`)."""
    registry = get_registry()
    if pub.content_type in registry:
        ct = registry.get(pub.content_type)
        pk = sa_inspect(ct.model).primary_key[0]
        key = pub.record_id
        if isinstance(pk.type, Integer):
            key = int(key) if key.isdigit() else None
        record = db.session.scalar(select(ct.model).where(pk == key)) if key is not None else None
        if record is not None:
            return _absolute(ct.url(record))
    return url_for("public.history", tenant=pub.tenant_id, content_type=pub.content_type, record_id=pub.record_id,
                   _external=True)


def _summary(pub: Publication) -> str:
    if pub.redaction_id is not None:
        return str(REDACTED_SUMMARY % {"version": pub.version})
    return str(ACTION_SUMMARIES.get(pub.action, ACTION_SUMMARIES["publish"]) % {"version": pub.version,
                                                                                "reason": pub.reason})


def _build(feed_id: str, title: str, self_url: str, home_url: str, pubs: Iterable[Publication], tenants: dict) -> bytes:
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(title)
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=home_url, rel="alternate", type="text/html")
    fg.language("es-MX")
    fg.generator("Común CMS")
    updated = None
    host = site_host(current_app.config).split(":")[0]
    for pub in pubs:
        with tenant_context(tenants[pub.tenant_id]):
            url = publication_url(pub)
        entry = fg.add_entry(order="append")
        stamp = pub.published_at.astimezone(dt.timezone.utc)
        entry.id(f"tag:{host},{stamp:%Y-%m-%d}:{pub.tenant_id}/{pub.content_type}/{pub.record_id}/v{pub.version}")
        entry.title(pub.title or f"{pub.content_type} {pub.record_id}")
        entry.link(href=url, rel="alternate", type="text/html")
        entry.updated(stamp)
        entry.published(stamp)
        entry.summary(_summary(pub))
        entry.category(term=pub.action)
        entry.category(term=pub.content_type)
        updated = max(updated or stamp, stamp)
    fg.updated(updated or dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
    return fg.atom_str(pretty=True)


def tenant_feed(tenant, content_type: str | None = None, limit: int = FEED_LIMIT) -> bytes:
    """The Atom document of ``tenant``'s newest ``limit`` versions (all content types, or only
    ``content_type``, which must be a registered type the tenant enables: the caller checks).
    Runs in the tenant's request (the global tenant filter keeps other tenants out)."""
    stmt = select(Publication).where(Publication.tenant_id == tenant.slug)
    if content_type:
        stmt = stmt.where(Publication.content_type == content_type)
    pubs = db.session.scalars(stmt.order_by(Publication.published_at.desc(), Publication.id.desc()).limit(limit))
    if content_type:
        label = get_registry().get(content_type).label_plural
        title = _("%(site)s: %(what)s", site=tenant.short_name, what=label)
        self_url = url_for("feeds.content_type_feed", tenant=tenant.slug, content_type=content_type, _external=True)
    else:
        title = tenant.secretariat
        self_url = url_for("feeds.tenant_feed", tenant=tenant.slug, _external=True)
    return _build(self_url, title, self_url, url_for("public.home", tenant=tenant.slug, _external=True), list(pubs),
                  {tenant.slug: tenant})


def portal_feed(tenants: dict, limit: int = FEED_LIMIT) -> bytes:
    """The Atom document of the newest ``limit`` versions of every tenant in ``tenants``
    (``{slug: Tenant}``, the public ones: training workspaces are left out by the caller)."""
    stmt = all_tenants(select(Publication).where(Publication.tenant_id.in_(list(tenants)))
                       .order_by(Publication.published_at.desc(), Publication.id.desc()).limit(limit))
    self_url = url_for("portal_feeds.portal_feed", _external=True)
    return _build(self_url, _("Común: publications of the state secretariats"), self_url,
                  url_for("portal.home", _external=True), list(db.session.scalars(stmt)), tenants)
