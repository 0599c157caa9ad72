"""Cross-state portal (comun_cms/views/portal.py): states, latest publications across tenants
(published only, never training tenants), plugin widgets, slots and menus, about page."""
from __future__ import annotations

import dataclasses
import shutil

import pytest
from markupsafe import Markup
from sqlalchemy import select

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.hookspecs import hookimpl
from comun_cms.models import Page
from comun_cms.plugins import MenuItem, PortalWidget
from comun_cms.tenancy import tenant_context

TRAINING_TOML = """
slug = "taller"
state = "Estado de práctica"
secretariat = "Secretaría Ejecutiva de práctica"
short_name = "TALLER"
transparency_authority = "Órgano garante de práctica"
transparency_authority_short = "OGP"
training = true
"""


def make_page(app, slug, *, tenant="edomex", status="published", title=None, **fields) -> int:
    with tenant_context(app.extensions["comun"].tenants[tenant]):
        page = Page(slug=slug, title=title or slug, body=f"Body of {slug}", **fields)
        db.session.add(page)
        db.session.commit()
        if status in ("published", "retracted"):
            publishing.publish(page)
        if status == "retracted":
            publishing.retract(page, reason="Error")
        return page.id


def text(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- states
def test_portal_lists_the_three_states_with_facts_and_sources(spanish, client):
    response = client.get("/")
    assert response.status_code == 200
    html = text(response)
    assert "CO+MÚN · Observatorio ciudadano" in html
    for slug, state, authority in (("edomex", "Estado de México", "INFOEM"), ("hidalgo", "Hidalgo", "ITAIH"),
                                   ("puebla", "Puebla", "ITAIPUE")):
        assert f'href="/{slug}/"' in html and state in html and authority in html
        assert f'src="/{slug}/logo"' in html
    assert "Secretaría Ejecutiva del Sistema Estatal Anticorrupción de Puebla" in html
    assert "217 municipios (INEGI 21)." in html  # a fact...
    assert 'href="https://www.angulo7.com.mx/2019/02/27/sea-analiza-avance-en-transparencia-de-funcionarios-poblanos/"' in html  # ...and its source
    assert '<html lang="es-MX">' in html and 'class="skip-link" href="#main"' in html


def test_portal_latest_publications_show_only_published_records(app, client):
    edomex_id = make_page(app, "minuta-edomex", title="Minuta de Edomex")
    make_page(app, "minuta-hidalgo", tenant="hidalgo", title="Minuta de Hidalgo")
    make_page(app, "borrador-puebla", tenant="puebla", title="Borrador de Puebla", status="draft")
    make_page(app, "borrador-edomex", title="Borrador de Edomex", status="draft")
    make_page(app, "retirada-hidalgo", tenant="hidalgo", title="Retirada de Hidalgo", status="retracted")
    html = text(client.get("/"))
    assert "Minuta de Edomex" in html and "Minuta de Hidalgo" in html
    assert "Borrador de Puebla" not in html and "Borrador de Edomex" not in html
    assert "Retirada de Hidalgo" not in html
    assert f'href="/edomex/historial/page/{edomex_id}"' in html


def test_portal_shows_a_corrected_record_once_with_its_latest_title(app, client):
    page_id = make_page(app, "plan", title="Plan viejo")
    with tenant_context(app.extensions["comun"].tenants["edomex"]):
        page = db.session.scalar(select(Page).where(Page.id == page_id))
        page.title = "Plan corregido"
        publishing.correct(page, reason="Título")
    html = text(client.get("/"))
    assert html.count(f'href="/edomex/historial/page/{page_id}"') == 1
    assert "Plan corregido" in html and "Plan viejo" not in html


def test_portal_latest_publications_are_capped_at_ten(app, client):
    for i in range(12):
        make_page(app, f"p{i:02d}", title=f"Publicación {i:02d}")
    html = text(client.get("/"))
    assert "Publicación 11" in html and "Publicación 02" in html and "Publicación 01" not in html


def test_about_page(client):
    response = client.get("/acerca")
    assert response.status_code == 200
    html = text(response)
    assert "About the observatory" in html and "USAID" in html
    for slug in ("edomex", "hidalgo", "puebla"):
        assert f'href="/{slug}/"' in html


def test_portal_language_switch(client):
    assert '<html lang="en">' in text(client.get("/?lang=en"))
    assert 'href="/acerca?lang=es_MX"' in text(client.get("/acerca"))


# --------------------------------------------------------------------------- plugins and training tenants
class TestPlugin:
    """A plugin enabled in edomex and in a training tenant only."""

    @hookimpl
    def portal_widgets(self):
        return [PortalWidget("Second widget", lambda: Markup("<p>widget-b</p>"), order=20),
                PortalWidget("First widget", lambda: Markup("<p>widget-a</p>"), order=10)]

    @hookimpl
    def template_slot(self, name, tenant, context):
        if name == "record_footer":
            return Markup("<p class='slot'>footer of %s v%s</p>") % (context["record"].slug, context["publication"].version)
        return Markup("<p class='slot'>slot %s for %s</p>") % (name, tenant.slug if tenant else "portal")

    @hookimpl
    def public_menu_items(self, tenant):
        return [MenuItem("Plugin entry", "public.section", order=5, url_kwargs={"key": "links"}),
                MenuItem("Broken entry", "nowhere.at_all", order=6)]


@pytest.fixture
def states_dir(tmp_path):
    """The real states plus a training tenant ``taller``."""
    from comun_cms.config import ROOT
    target = tmp_path / "states"
    shutil.copytree(ROOT / "states", target)
    (target / "taller").mkdir()
    (target / "taller" / "tenant.toml").write_text(TRAINING_TOML, encoding="utf-8")
    return target


class TestWithPlugin:
    @pytest.fixture
    def app_config(self, app_config, states_dir):
        return {**app_config, "STATES_DIR": str(states_dir)}

    @pytest.fixture
    def extra_plugins(self):
        return [("testplug", TestPlugin())]

    @pytest.fixture(autouse=True)
    def enable_only_in_edomex_and_training(self, app):
        """Plugins given to create_app are enabled everywhere; keep ``testplug`` in edomex and
        the training tenant only."""
        state = app.extensions["comun"]
        for slug, tenant in list(state.tenants.items()):
            if slug not in ("edomex", "taller"):
                state.tenants[slug] = dataclasses.replace(tenant, plugins=tuple(p for p in tenant.plugins if p != "testplug"))
        state.hook_cache.clear()

    def test_training_tenant_never_appears_on_the_portal(self, app, client):
        make_page(app, "practica", tenant="taller", title="Publicación de práctica")
        assert client.get("/taller/").status_code == 200  # its own site works
        html = text(client.get("/"))
        assert "Publicación de práctica" not in html and "TALLER" not in html and 'href="/taller/' not in html
        plugins = {p["name"]: p for p in client.get("/api/plugins").get_json()}
        assert plugins["testplug"]["enabled_tenants"] == ["edomex"]

    def test_portal_widgets_render_in_order(self, client):
        html = text(client.get("/"))
        assert html.index("First widget") < html.index("widget-a") < html.index("Second widget") < html.index("widget-b")
        assert "slot site_footer for portal" in html

    def test_slots_render_only_where_the_plugin_is_enabled(self, app, client):
        make_page(app, "acerca", section="links")
        make_page(app, "acerca", tenant="hidalgo", section="links")
        home = text(client.get("/edomex/"))
        assert "slot home_main for edomex" in home and "slot site_footer for edomex" in home and "slot head for edomex" in home
        assert "slot section.links for edomex" in text(client.get("/edomex/seccion/links"))
        assert "footer of acerca v1" in text(client.get("/edomex/p/acerca"))
        other = text(client.get("/hidalgo/p/acerca"))
        assert "class='slot'" not in other and "class=\"slot\"" not in other

    def test_plugin_menu_items_are_sorted_and_broken_ones_skipped(self, client):
        html = text(client.get("/edomex/"))
        assert html.index("Plugin entry") < html.index("Minutes and evidence")
        assert "Broken entry" not in html
        assert "Plugin entry" not in text(client.get("/hidalgo/"))
