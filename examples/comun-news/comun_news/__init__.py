"""Communiqués (comunicados) with RSS 2.0 and Atom feeds: the example Común CMS plugin.

Created with ``comun plugins new news --title "Communiqués" --title-es "Comunicados"`` and then
extended with the feeds (``feeds.py``, two routes in ``views.py``), a setting, a ``head``
template slot for feed discovery and demo data. Hook implementations only.

Created with ``comun plugins new news``. Each function below implements a hook of
``comun_cms.hookspecs``; the core calls them and does the wiring. ``sample_record`` is not a
hook: the conformance kit (``comun_cms.testing.check_plugin``) calls it to get a record to
publish.
"""
from __future__ import annotations

from pathlib import Path

from comun_cms import hookimpl

__version__ = "0.1.0"

HERE = Path(__file__).resolve().parent


@hookimpl
def register_models():
    from comun_news.models import MODELS
    return list(MODELS)


@hookimpl
def register_migrations():
    return str(HERE / "migrations" / "versions")


@hookimpl
def register_translations():
    return str(HERE / "translations")


@hookimpl
def tenant_settings():
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import SettingSpec
    return {"feed_items": SettingSpec(int, 20, _l("Communiqués in the RSS and Atom feeds"), min=1, max=100)}


@hookimpl
def template_slot(name, tenant, context):
    """Feed discovery links in the ``<head>`` of the tenant's pages."""
    if name != "head" or tenant is None:
        return None
    from flask import url_for
    from flask_babel import gettext as _
    from markupsafe import Markup
    return Markup('<link rel="alternate" type="application/rss+xml" title="%s" href="%s">'
                  '<link rel="alternate" type="application/atom+xml" title="%s" href="%s">') % (
        _("Communiqués (RSS)"), url_for("news.feed_rss", tenant=tenant.slug),
        _("Communiqués (Atom)"), url_for("news.feed_atom", tenant=tenant.slug))


@hookimpl
def demo_data(tenant, ctx):
    from comun_news.content import load_demo
    load_demo(tenant, ctx)


@hookimpl
def register_blueprints():
    from comun_news.views import admin_bp, bp
    return [bp, admin_bp]


@hookimpl
def register_content_types():
    from comun_news.content import ITEM_TYPE
    return [ITEM_TYPE]


@hookimpl
def public_menu_items(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Communiqués"), "news.index", order=60)]


@hookimpl
def admin_menu_items(tenant):
    from flask_babel import lazy_gettext as _l

    from comun_cms.plugins import MenuItem
    return [MenuItem(_l("Communiqués"), "admin_news.index", order=60, roles=("admin", "editor"))]


@hookimpl
def search_documents(tenant):
    from comun_news.content import search_documents as documents
    yield from documents(tenant)


def sample_record(content_type, tenant, marker):
    """Conformance-kit factory: an unsaved draft of ``content_type`` (a ContentType) in
    ``tenant`` whose public text contains ``marker``. Returns the model instance."""
    from comun_news.content import sample_record as make
    return make(content_type, tenant, marker)
