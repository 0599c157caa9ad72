"""Theme ``comun``: static files and the tenant override chain, logos, tenant colours, the base
layout's accessibility landmarks, the demo badge and the template filters."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
from flask import render_template_string

from comun_cms.config import ROOT
from comun_cms.tenancy import tenant_context
from comun_cms.themes import load_theme
from comun_cms.views.templating import date_filter, datetime_filter, filesize_filter


def text(response) -> str:
    return response.get_data(as_text=True)


def test_theme_toml_describes_the_theme():
    theme = load_theme(ROOT / "themes", "comun")
    assert theme["name"] == "comun" and theme["description"]


def test_theme_static_files_are_served(client):
    css = client.get("/theme/css/comun.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    assert "--color-primary" in text(css)
    js = client.get("/edomex/theme/js/comun.js")
    assert js.status_code == 200 and "javascript" in js.mimetype


@pytest.mark.parametrize("path", ["/theme/../../comun_cms/app.py", "/theme/%2e%2e/%2e%2e/pyproject.toml",
                                  "/edomex/theme/../tenant.toml", "/theme/css/nada.css", "/theme/"])
def test_theme_static_refuses_traversal_and_missing_files(client, path):
    assert client.get(path).status_code == 404


def test_pages_link_the_stylesheet_through_the_tenant_chain(client):
    assert 'href="/theme/css/comun.css"' in text(client.get("/"))
    assert 'href="/edomex/theme/css/comun.css"' in text(client.get("/edomex/"))


def test_tenant_logo(client):
    response = client.get("/hidalgo/logo")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<svg" in response.data
    assert 'src="/hidalgo/logo"' in text(client.get("/hidalgo/"))


def test_tenant_colours_are_css_custom_properties(client):
    # served as a stylesheet (the Content-Security-Policy allows no inline <style>)
    assert '<link rel="stylesheet" href="/hidalgo/theme-colors.css?v=' in text(client.get("/hidalgo/"))
    css = text(client.get("/hidalgo/theme-colors.css"))
    assert "--color-primary: #6b1d3a;" in css and "--color-accent: #a8325e;" in css
    assert "--color-primary: #1d4e6b;" in text(client.get("/puebla/theme-colors.css"))
    assert "--color-primary" not in text(client.get("/theme-colors.css"))  # the portal keeps the theme defaults


@pytest.mark.parametrize("url", ["/", "/acerca", "/edomex/", "/edomex/seccion/feedback", "/no-existe/nada"])
def test_layout_has_landmarks_skip_link_and_language_switch(client, url):
    html = text(client.get(url))
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main" tabindex="-1">' in html
    assert "<header" in html and "<footer" in html and 'aria-label="Main"' in html
    assert 'aria-label="Language"' in html and 'hreflang="en"' in html and 'aria-current="true"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "http://" not in html.split("<body")[0] and "https://" not in html.split("<body")[0]  # no CDN


def test_tenant_footer_shows_contact_and_site_footer_slot_area(client):
    html = text(client.get("/edomex/"))
    assert "Av. José María Morelos y Pavón Ote. 312" in html
    assert 'class="wrap footer-slot"' in html


class TestTenantOverrides:
    @pytest.fixture
    def states_dir(self, tmp_path):
        target = tmp_path / "states"
        shutil.copytree(ROOT / "states", target)
        static = target / "edomex" / "static" / "css"
        static.mkdir(parents=True)
        (static / "comun.css").write_text("/* edomex override */", encoding="utf-8")
        templates = target / "edomex" / "templates" / "errors"
        templates.mkdir(parents=True)
        (templates / "404.html").write_text('{% extends "errors/error.html" %}{% block error_help %}<p>edomex-404</p>{% endblock %}',
                                            encoding="utf-8")
        return target

    @pytest.fixture
    def app_config(self, app_config, states_dir):
        return {**app_config, "STATES_DIR": str(states_dir)}

    def test_tenant_static_overrides_the_theme(self, client):
        assert text(client.get("/edomex/theme/css/comun.css")) == "/* edomex override */"
        assert "--color-primary" in text(client.get("/hidalgo/theme/css/comun.css"))
        assert "--color-primary" in text(client.get("/theme/css/comun.css"))

    def test_tenant_template_overrides_the_theme(self, client):
        assert "edomex-404" in text(client.get("/edomex/no-existe"))
        assert "edomex-404" not in text(client.get("/hidalgo/no-existe"))


def test_demo_badge_macro(app):
    with app.test_request_context("/"):
        html = render_template_string('{% import "_macros.html" as m %}[{{ m.demo_badge(a) }}][{{ m.demo_badge(b) }}]',
                                      a={"is_demo": True}, b={"is_demo": False})
    assert html.count("badge-demo") == 1 and "Demo data" in html and "[]" in html


def test_datetime_filters_use_the_tenant_time_zone(app):
    moment = dt.datetime(2024, 1, 1, 6, 30, tzinfo=dt.timezone.utc)  # 00:30 in Mexico City
    tenant = app.extensions["comun"].tenants["edomex"]
    with app.test_request_context("/?lang=en"), tenant_context(tenant):
        assert datetime_filter(moment, "yyyy-MM-dd HH:mm") == "2024-01-01 00:30"
        assert date_filter(dt.datetime(2024, 1, 1, 3, 0, tzinfo=dt.timezone.utc), "yyyy-MM-dd") == "2023-12-31"
        assert datetime_filter(moment, "HH:mm", tz="UTC") == "06:30"
        assert datetime_filter(None) == "" and date_filter(dt.date(2024, 5, 2), "yyyy-MM-dd") == "2024-05-02"


def test_filesize_and_markdown_filters(app):
    with app.test_request_context("/?lang=en"):
        assert filesize_filter(512) == "512 bytes"
        assert filesize_filter(1) == "1 byte"
        assert filesize_filter(1536) == "1.5\u00a0KB"
        assert filesize_filter(5 * 1024 * 1024) == "5\u00a0MB"
        html = render_template_string("{{ text|markdown }}", text="**hola** <b>x</b>")
    assert "<strong>hola</strong>" in html and "<b>" not in html
