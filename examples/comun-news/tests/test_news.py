"""Tests of the news plugin, with the fixtures of comun_cms.testing (loaded by
``addopts = "-p comun_cms.testing"`` in pyproject.toml) and the helpers of
``comun_cms.toolkit.testing``."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from comun_cms.toolkit import DemoContext, db, publish, tenant_context
from comun_cms.toolkit.testing import check_plugin, enable_plugin
from comun_news.content import load_demo
from comun_news.models import NewsItem

PLUGIN = "news"


def test_plugin_passes_the_conformance_kit(app):
    report = check_plugin(app, PLUGIN)
    assert report.passed


def test_public_list_shows_published_items_only(app, client, tenant):
    with enable_plugin(app, PLUGIN):
        draft = NewsItem(title="Borrador interno")
        public = NewsItem(title="Aviso publicado")
        db.session.add_all([draft, public])
        db.session.commit()
        publish(public)
        html = client.get(f"/{tenant.slug}/news/").get_data(as_text=True)
        assert "Aviso publicado" in html
        assert "Borrador interno" not in html
        assert client.get(f"/{tenant.slug}/news/{draft.id}").status_code == 404
        assert client.get(f"/{tenant.slug}/news/{public.id}").status_code == 200


def _publish_two():
    draft = NewsItem(title="Comunicado en borrador")
    one = NewsItem(title="Primer comunicado", summary="Resumen uno")
    two = NewsItem(title="Segundo comunicado", summary="Resumen dos")
    db.session.add_all([draft, one, two])
    db.session.commit()
    publish(one)
    publish(two)
    return draft, one, two


def test_rss_feed(app, client, tenant):
    with enable_plugin(app, PLUGIN):
        _publish_two()
        resp = client.get(f"/{tenant.slug}/news/feed.rss")
        assert resp.status_code == 200 and resp.mimetype == "application/rss+xml"
        root = ET.fromstring(resp.data)
        assert root.tag == "rss" and root.get("version") == "2.0"
        titles = [i.findtext("title") for i in root.iter("item")]
        assert titles == ["Segundo comunicado", "Primer comunicado"]
        item = next(root.iter("item"))
        assert item.findtext("link").startswith("http") and item.findtext("pubDate")
        assert "Comunicado en borrador" not in resp.get_data(as_text=True)


def test_atom_feed_and_discovery_links(app, client, tenant):
    ns = {"a": "http://www.w3.org/2005/Atom"}
    with enable_plugin(app, PLUGIN):
        _publish_two()
        resp = client.get(f"/{tenant.slug}/news/feed.atom")
        assert resp.status_code == 200 and resp.mimetype == "application/atom+xml"
        root = ET.fromstring(resp.data)
        assert root.tag == "{http://www.w3.org/2005/Atom}feed"
        entries = root.findall("a:entry", ns)
        assert [e.findtext("a:title", namespaces=ns) for e in entries] == ["Segundo comunicado", "Primer comunicado"]
        assert root.findtext("a:updated", namespaces=ns).endswith("Z")
        assert all(e.findtext("a:id", namespaces=ns).startswith("http") for e in entries)
        page = client.get(f"/{tenant.slug}/news/").get_data(as_text=True)
        assert f'href="/{tenant.slug}/news/feed.atom"' in page and "application/rss+xml" in page


def test_feeds_do_not_mix_tenants(app, client, tenant):
    with enable_plugin(app, PLUGIN):
        _publish_two()
        other = app.extensions["comun"].tenants["puebla"]
        with tenant_context(other):
            feed = client.get("/puebla/news/feed.rss").get_data(as_text=True)
        assert "Primer comunicado" not in feed


def test_demo_data_is_idempotent_and_labelled(app, tenant):
    with enable_plugin(app, PLUGIN):
        ctx = DemoContext(tenant=tenant, user=None, log=lambda m: None)
        assert load_demo(tenant, ctx) == 2
        assert load_demo(tenant, ctx) == 0
        items = db.session.scalars(select(NewsItem)).all()
        assert len(items) == 2 and all(i.is_demo and i.status == "published" for i in items)
