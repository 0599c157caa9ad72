"""Communiqués (comunicados) with RSS 2.0 and Atom feeds: the example Común CMS plugin.

Created with ``comun plugins new news --title "Communiqués" --title-es "Comunicados"`` and then
extended with the feeds (``feeds.py``, two routes in ``views.py``), a setting, a ``head``
template slot for feed discovery and demo data. Hook implementations only.

Each function below implements a hook of ``comun_cms.hookspecs`` (documented in
docs/plugins.md); the core calls them and does the wiring. Everything the plugin takes from the
core comes from :mod:`comun_cms.toolkit`, the stable plugin API. ``sample_record`` is not a
hook: the conformance kit (``comun_cms.toolkit.testing.check_plugin``) calls it to get a record
to publish.
"""
from __future__ import annotations

from pathlib import Path

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from comun_cms.toolkit import MenuItem, SettingSpec, hookimpl
from comun_news import content
from comun_news.models import MODELS
from comun_news.views import admin_bp, bp

__version__ = "0.1.0"

HERE = Path(__file__).resolve().parent


@hookimpl
def register_models():
    return list(MODELS)


@hookimpl
def register_migrations():
    return str(HERE / "migrations" / "versions")


@hookimpl
def register_translations():
    return str(HERE / "translations")


@hookimpl
def tenant_settings():
    return {"feed_items": SettingSpec(int, 20, _l("Communiqués in the RSS and Atom feeds"), min=1, max=100)}


@hookimpl
def template_slot(name, tenant, context):
    """Feed discovery links in the ``<head>`` of the tenant's pages."""
    if name != "head" or tenant is None:
        return None
    return Markup('<link rel="alternate" type="application/rss+xml" title="%s" href="%s">'
                  '<link rel="alternate" type="application/atom+xml" title="%s" href="%s">') % (
        _("Communiqués (RSS)"), url_for("news.feed_rss", tenant=tenant.slug),
        _("Communiqués (Atom)"), url_for("news.feed_atom", tenant=tenant.slug))


@hookimpl
def demo_data(tenant, ctx):
    content.load_demo(tenant, ctx)


@hookimpl
def register_blueprints():
    return [bp, admin_bp]


@hookimpl
def register_content_types():
    return [content.ITEM_TYPE]


@hookimpl
def public_menu_items(tenant):
    return [MenuItem(_l("Communiqués"), "news.index", order=60)]


@hookimpl
def admin_menu_items(tenant):
    return [MenuItem(_l("Communiqués"), "admin_news.index", order=60, roles=("admin", "editor"))]


@hookimpl
def search_documents(tenant):
    yield from content.search_documents(tenant)


def sample_record(content_type, tenant, marker):
    """Conformance-kit factory: an unsaved draft of ``content_type`` (a ContentType) in
    ``tenant`` whose public text contains ``marker``. Returns the model instance."""
    return content.sample_record(content_type, tenant, marker)
