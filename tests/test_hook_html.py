"""Issue 15, defect 1: what plugins put in template slots and dashboard/portal widgets is HTML
only when it is ``Markup``; a plain ``str`` is escaped (shown as text) and logged, and no
built-in plugin returns one on any page that shows slots or widgets."""
from __future__ import annotations

import logging

import pytest
from markupsafe import Markup

from comun_cms.toolkit import PortalWidget, hookimpl
from comun_cms.toolkit.testing import run_demo
from comun_cms.views.templating import hook_html

WARNING = "instead of Markup"


class StrPlugin:
    """A plugin that makes the mistake: ``str`` where ``Markup`` is expected."""

    @hookimpl
    def template_slot(self, name, tenant, context):
        if name == "site_footer":
            return "<b id='slot-str'>pie</b>"
        return None

    @hookimpl
    def dashboard_widgets(self, tenant):
        return [PortalWidget("Tablero str", lambda: "<b id='dash-str'>tablero</b>")]

    @hookimpl
    def portal_widgets(self):
        return [PortalWidget("Portal str", lambda: "<b id='portal-str'>portal</b>")]


def test_hook_html_passes_markup_and_escapes_strings(caplog):
    assert hook_html(Markup("<b>x</b>"), "slot t") == Markup("<b>x</b>")
    assert hook_html(None, "slot t") == Markup("")
    with caplog.at_level(logging.WARNING, logger="comun_cms.views.templating"):
        out = hook_html("<b>x</b>", "widget W")
    assert isinstance(out, Markup) and out == "&lt;b&gt;x&lt;/b&gt;"
    assert "widget W returned str" in caplog.text


def test_plain_strings_from_slots_and_widgets_show_as_text(client, register_plugin, login_as, caplog):
    register_plugin(StrPlugin(), "strplugin")
    login_as("admin")
    with caplog.at_level(logging.WARNING, logger="comun_cms.views.templating"):
        dashboard = client.get("/edomex/admin/").get_data(as_text=True)
        home = client.get("/").get_data(as_text=True)
        site = client.get("/edomex/").get_data(as_text=True)
    assert "&lt;b id=&#39;dash-str&#39;&gt;tablero&lt;/b&gt;" in dashboard
    assert "<b id='dash-str'>" not in dashboard
    assert "&lt;b id=&#39;portal-str&#39;&gt;" in home and "<b id='portal-str'>" not in home
    assert "&lt;b id=&#39;slot-str&#39;&gt;" in site and "<b id='slot-str'>" not in site
    assert "widget Tablero str returned str" in caplog.text
    assert "slot site_footer returned str" in caplog.text


@pytest.fixture
def demo(app):
    run_demo(app, tenants=[app.extensions["comun"].tenants["edomex"]], log=lambda m: None)


def test_builtin_plugins_return_markup_everywhere(client, demo, login_as, caplog):
    """The dashboard (every built-in widget), the portal (portal widgets) and a tenant's home,
    sections and records (template slots) log no plain-string result."""
    login_as("admin")
    paths = ["/edomex/admin/", "/", "/edomex/"]
    paths += [f"/edomex/seccion/{key}" for key in ("minutes", "commitments", "contact", "open_data", "links",
                                                   "feedback", "join")]
    with caplog.at_level(logging.WARNING, logger="comun_cms.views.templating"):
        for path in paths:
            response = client.get(path)
            assert response.status_code in (200, 404), path
    assert WARNING not in caplog.text
    dashboard = client.get("/edomex/admin/").get_data(as_text=True)
    assert "&lt;section" not in dashboard and "&lt;p" not in dashboard and "&lt;ul" not in dashboard
