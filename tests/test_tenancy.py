"""Tenant loading, validation and the global tenant filter."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import (
    TenantConfigError, TenantIsolationError, load_tenant, load_tenants, tenant_context,
)

STATES = Path(__file__).resolve().parent.parent / "states"


def test_three_states_load_with_public_facts(app):
    tenants = app.extensions["comun"].tenants
    assert {"hidalgo", "puebla", "edomex"} <= set(tenants)
    edomex = tenants["edomex"]
    assert edomex.transparency_authority_short == "INFOEM"
    assert edomex.default_locale == "es_MX" and edomex.timezone == "America/Mexico_City"
    assert edomex.logo_path.is_file()
    assert "Toluca" in edomex.contact["address"]
    assert tenants["hidalgo"].transparency_authority_short == "ITAIH"
    assert tenants["puebla"].transparency_authority_short == "ITAIPUE"


def _write(tmp_path: Path, text: str, slug: str = "demo") -> Path:
    folder = tmp_path / slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "logo.svg").write_text("<svg/>")
    path = folder / "tenant.toml"
    path.write_text(text, encoding="utf-8")
    return path


VALID = '''
slug = "demo"
state = "Demo"
secretariat = "Secretaría"
short_name = "SE"
transparency_authority = "Instituto"
transparency_authority_short = "INST"
logo = "logo.svg"
plugins = ["criteria"]
[colors]
primary = "#112233"
'''


@pytest.mark.parametrize("change, key, problem", [
    (("state = \"Demo\"\n", ""), "state", "missing required field"),
    (("[colors]", "colour = 1\n[colors]"), "colour", "unknown key"),
    (("#112233", "red"), "colors.primary", "not a colour"),
    (("[\"criteria\"]", "[\"nope\"]"), "plugins[0]", "unknown plugin 'nope'"),
    (("logo = \"logo.svg\"", "logo = \"missing.png\""), "logo", "not found"),
    (("slug = \"demo\"", "slug = \"other\""), "slug", "does not match"),
    (("short_name = \"SE\"", "short_name = \"SE\"\ntimezone = \"Mars/Base\""), "timezone", "not a known IANA"),
    (("short_name = \"SE\"", "short_name = 3"), "short_name", "must be text"),
    (("short_name = \"SE\"", "short_name = \"SE"), "-", "invalid TOML"),
])
def test_invalid_tenant_toml_names_file_key_and_problem(tmp_path, change, key, problem):
    path = _write(tmp_path, VALID.replace(*change))
    with pytest.raises(TenantConfigError) as info:
        load_tenant(path, {"criteria": {}})
    message = str(info.value)
    assert str(path) in message and f"key '{key}'" in message and problem in message


def test_valid_tenant_toml_loads(tmp_path):
    tenant = load_tenant(_write(tmp_path, VALID), {"criteria": {}})
    assert tenant.slug == "demo" and tenant.plugins == ("criteria",) and tenant.colors["primary"] == "#112233"


def test_unknown_plugin_setting_is_an_error(tmp_path):
    path = _write(tmp_path, VALID + "[plugin_settings.criteria]\nfoo = 1\n")
    with pytest.raises(TenantConfigError, match="plugin_settings.criteria.foo': unknown key"):
        load_tenant(path, {"criteria": {}})


def test_duplicate_host_is_an_error(tmp_path):
    _write(tmp_path, VALID.replace('plugins', 'hosts = ["x.example"]\nplugins'))
    _write(tmp_path, VALID.replace('"demo"', '"demo2"').replace('plugins', 'hosts = ["x.example"]\nplugins'), slug="demo2")
    with pytest.raises(TenantConfigError, match="already used"):
        load_tenants(tmp_path, {"criteria": {}})


@pytest.mark.parametrize("extra, problem", [
    ("workspaces = 3\n", "only a training tenant"),
    ("training = true\nworkspaces = -1\n", "between 0 and 200"),
    ("training = true\nworkspaces = 201\n", "between 0 and 200"),
    ("training = true\nworkspaces = \"5\"\n", "must be a whole number"),
    ("training = true\nworkspaces = true\n", "must be a whole number"),
])
def test_bad_workspaces_setting_names_the_key(tmp_path, extra, problem):
    path = _write(tmp_path, VALID.replace("plugins", extra + "plugins"))
    with pytest.raises(TenantConfigError) as info:
        load_tenant(path, {"criteria": {}})
    assert "key 'workspaces'" in str(info.value) and problem in str(info.value)


def test_training_tenant_workspaces_are_derived_tenants(tmp_path):
    _write(tmp_path, VALID.replace("plugins", "training = true\nworkspaces = 2\nhosts = [\"demo.example\"]\nplugins"))
    tenants = load_tenants(tmp_path, {"criteria": {}})
    assert list(tenants) == ["demo", "demo-01", "demo-02"]
    ws = tenants["demo-02"]
    assert (ws.workspace_of, ws.workspace_number, ws.training, ws.hosts, ws.plugins) == ("demo", 2, True, (), ("criteria",))
    assert ws.path == tenants["demo"].path and ws.logo_path.is_file()
    # a tenant folder with a workspace's address is refused
    _write(tmp_path, VALID.replace('"demo"', '"demo-01"'), slug="demo-01")
    with pytest.raises(TenantConfigError, match="key 'workspaces'.*same address"):
        load_tenants(tmp_path, {"criteria": {}})


def test_invalid_tenant_stops_create_app(tmp_path, database_url):
    from comun_cms.app import create_app
    states = tmp_path / "states"
    shutil.copytree(STATES, states)
    toml = states / "puebla" / "tenant.toml"
    toml.write_text(toml.read_text().replace('primary = "#1d4e6b"', 'primary = "azul"'))
    with pytest.raises(TenantConfigError, match=r"puebla/tenant.toml: key 'colors.primary'"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STATES_DIR": str(states),
                    "INSTANCE_PATH": str(tmp_path / "inst")})


def test_filter_hides_other_tenants_rows(app):
    tenants = app.extensions["comun"].tenants
    for slug in ("edomex", "puebla"):
        with tenant_context(tenants[slug]):
            db.session.add(Page(slug="same", title=f"Página {slug}"))
            db.session.commit()
    db.session.expunge_all()
    with tenant_context(tenants["puebla"]):
        titles = db.session.scalars(select(Page.title)).all()
        assert titles == ["Página puebla"]
    with tenant_context(None):
        assert db.session.scalars(select(Page)).all() == []  # fail closed without a tenant
        assert len(db.session.scalars(select(Page).execution_options(all_tenants=True)).all()) == 2


def test_writing_another_tenants_row_raises(app):
    tenants = app.extensions["comun"].tenants
    with tenant_context(tenants["edomex"]):
        page = Page(slug="x", title="x")
        db.session.add(page)
        db.session.commit()
        page_id = page.id
    db.session.expunge_all()
    with tenant_context(tenants["puebla"]):
        db.session.add(Page(slug="y", title="y", tenant_id="edomex"))
        with pytest.raises(TenantIsolationError):
            db.session.flush()
        db.session.rollback()
    with tenant_context(tenants["edomex"]):
        page = db.session.scalar(select(Page).where(Page.id == page_id))
    with tenant_context(tenants["puebla"]):
        page.title = "cambiado desde puebla"
        with pytest.raises(TenantIsolationError):
            db.session.flush()
        db.session.rollback()


def test_host_resolution(tmp_path, database_url):
    from comun_cms.app import create_app
    from comun_cms.setup import sync_tenants
    states = tmp_path / "states"
    shutil.copytree(STATES, states)
    toml = states / "hidalgo" / "tenant.toml"
    toml.write_text(toml.read_text().replace("plugins =", 'hosts = ["sesea.hidalgo.test"]\nplugins ='))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STATES_DIR": str(states),
                      "INSTANCE_PATH": str(tmp_path / "inst"), "TESTING": True})
    with app.app_context():
        sync_tenants(app)
    client = app.test_client()
    by_host = client.get("/", headers={"Host": "sesea.hidalgo.test"})
    by_prefix = client.get("/hidalgo/")
    assert by_host.status_code == by_prefix.status_code == 200
    assert "Hidalgo" in by_host.get_data(as_text=True)
    assert client.get("/nonexistent/").status_code == 404
    # portal-wide addresses keep working on the tenant's host: log in, API, search
    login_page = client.get("/auth/login", headers={"Host": "sesea.hidalgo.test"})
    assert login_page.status_code == 200 and 'name="password"' in login_page.get_data(as_text=True)
    assert client.get("/api/v1/search?q=x", headers={"Host": "sesea.hidalgo.test"}).status_code == 200
    assert client.get("/seccion/contact", headers={"Host": "sesea.hidalgo.test"}).status_code == 200


def test_slug_that_shadows_a_portal_route_is_refused(tmp_path, database_url):
    from comun_cms.app import create_app
    states = tmp_path / "states"
    shutil.copytree(STATES, states, ignore=shutil.ignore_patterns("capacitacion"))
    (states / "puebla").rename(states / "acerca")
    toml = states / "acerca" / "tenant.toml"
    toml.write_text(toml.read_text().replace('slug = "puebla"', 'slug = "acerca"'))
    with pytest.raises(TenantConfigError, match="already a portal address"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STATES_DIR": str(states),
                    "INSTANCE_PATH": str(tmp_path / "inst")})


def test_unknown_theme_is_refused(tmp_path, database_url):
    from comun_cms.app import create_app
    states = tmp_path / "states"
    shutil.copytree(STATES, states)
    toml = states / "puebla" / "tenant.toml"
    toml.write_text(toml.read_text().replace('theme = "comun"', 'theme = "comnu"'))
    with pytest.raises(TenantConfigError, match="key 'theme': theme 'comnu' not found"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STATES_DIR": str(states),
                    "INSTANCE_PATH": str(tmp_path / "inst")})


@pytest.mark.parametrize("url", ["/edomex/archivos/99999999999999999999/x", "/edomex/archivos/99999999999999999999/miniatura",
                                 "/edomex/admin/paginas/99999999999999999999", "/edomex/admin/paginas?page=99999999999999999999"])
def test_absurd_ids_and_pages_are_not_server_errors(app, client, login_as, url):
    login_as("admin")
    assert client.get(url).status_code in (200, 404)
