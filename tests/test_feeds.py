"""Atom feeds: valid Atom (read with feedparser, as a feed reader would), one entry per published
version (publication, correction, retraction) with the record's absolute URL, per tenant, per
content type and on the portal, and never another tenant's entries."""
from __future__ import annotations

import feedparser
from lxml import etree

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant

ATOM_NS = "http://www.w3.org/2005/Atom"


def _page(app, tenant="edomex", slug="informe", title="Informe anual"):
    with tenant_context(get_tenant(app, tenant)):
        page = Page(slug=slug, title=title, summary="Resumen.", body="Texto.", section="links")
        db.session.add(page)
        db.session.flush()
        publishing.publish(page)
        return page.id


def _feed(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    root = etree.fromstring(response.data)
    assert root.tag == f"{{{ATOM_NS}}}feed"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_tenant_feed_lists_publication_correction_and_retraction(app, client):
    page_id = _page(app)
    with tenant_context(get_tenant(app, "edomex")):
        page = db.session.get(Page, page_id)
        page.title = "Informe anual corregido"
        publishing.correct(page, reason="Errata")
        publishing.retract(db.session.get(Page, page_id), reason="Datos personales")
    feed = _feed(client, "/edomex/feed.atom")
    assert feed.feed.title
    assert [e.title for e in feed.entries][:3] == ["Informe anual corregido", "Informe anual corregido",
                                                   "Informe anual"]
    assert all(e.link == "http://127.0.0.1:5000/edomex/p/informe" for e in feed.entries[:3])
    summaries = [e.summary for e in feed.entries[:3]]
    assert "Datos personales" in summaries[0] and "Errata" in summaries[1]
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    assert feed.feed.links[0].href.startswith("http://127.0.0.1:5000/edomex/feed.atom")


def test_content_type_feed_and_unknown_type(app, client):
    _page(app)
    feed = _feed(client, "/edomex/feed/page.atom")
    assert [e.title for e in feed.entries] == ["Informe anual"]
    assert client.get("/edomex/feed/nada.atom").status_code == 404


def test_feeds_never_list_another_tenants_entries(app, client):
    _page(app, tenant="edomex", title="Informe del Estado de México")
    _page(app, tenant="puebla", slug="pue", title="Informe de Puebla")
    edomex = [e.title for e in _feed(client, "/edomex/feed.atom").entries]
    puebla = [e.title for e in _feed(client, "/puebla/feed.atom").entries]
    assert "Informe del Estado de México" in edomex and "Informe de Puebla" not in edomex
    assert "Informe de Puebla" in puebla and "Informe del Estado de México" not in puebla
    assert "Informe de Puebla" not in [e.title for e in _feed(client, "/edomex/feed/page.atom").entries]


def test_portal_feed_has_every_public_state(app, client):
    _page(app, tenant="edomex", title="Informe del Estado de México")
    _page(app, tenant="puebla", slug="pue", title="Informe de Puebla")
    feed = _feed(client, "/feed.atom")
    links = {e.title: e.link for e in feed.entries}
    assert links["Informe de Puebla"] == "http://127.0.0.1:5000/puebla/p/pue"
    assert links["Informe del Estado de México"] == "http://127.0.0.1:5000/edomex/p/informe"
