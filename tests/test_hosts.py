"""Host names and absolute URLs (comun_cms.hosts, issue 19 item 11): an unknown ``Host`` answers
400, and every absolute URL names the configured host (``SITE_HOST``, a tenant's ``hosts``), never
the request's ``Host`` header, so public documents cannot vary by host."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from comun_cms.app import create_app
from comun_cms.hosts import tenant_host_url, trusted_hosts
from comun_cms.setup import sync_tenants
from comun_cms.tenancy import Tenant

STATES = Path(__file__).resolve().parent.parent / "states"
SITE = "transparencia.example.org"
DOCUMENTS = ["/hidalgo/datos/data.json", "/datos/data.json", "/api/v1/tenants", "/opensearch.xml",
             "/hidalgo/opensearch.xml", "/api/v1/records", "/hidalgo/actas/calendario"]


@pytest.fixture
def site(app):
    app.config.update(SITE_HOST=SITE, PREFERRED_URL_SCHEME="https")
    return app


# --------------------------------------------------------------------------- trusted hosts
def _tenant(slug: str, hosts: tuple[str, ...]) -> Tenant:
    return Tenant(slug=slug, state=slug, secretariat=slug, short_name=slug, transparency_authority="",
                  transparency_authority_short="", hosts=hosts)


def test_trusted_hosts_come_from_the_configuration():
    tenants = {"hidalgo": _tenant("hidalgo", ("sesea.hidalgo.example", "hgo.example:8443")), "puebla": _tenant("puebla", ())}
    production = {"SITE_HOST": "Comun.Example.org:8000", "TRUSTED_HOSTS": ["health.internal"]}
    assert trusted_hosts(production, tenants) == ["comun.example.org", "sesea.hidalgo.example", "hgo.example",
                                                  "health.internal"]
    assert trusted_hosts({**production, "TESTING": True}, tenants)[-2:] == ["localhost", "127.0.0.1"]
    assert trusted_hosts({"SITE_HOST": "127.0.0.1:5201"}, {}) == ["127.0.0.1", "localhost"]
    assert trusted_hosts({"SITE_HOST": "a.example", "TRUSTED_HOSTS": "b.example"}, {}) == ["a.example", "b.example"]


def test_tenant_host_url():
    tenants = {"hidalgo": _tenant("hidalgo", ("sesea.hidalgo.example",)), "puebla": _tenant("puebla", ())}
    assert tenant_host_url(f"https://{SITE}/hidalgo/p/x?a=1", tenants) == "https://sesea.hidalgo.example/hidalgo/p/x?a=1"
    assert tenant_host_url(f"https://{SITE}/puebla/p/x", tenants) == f"https://{SITE}/puebla/p/x"
    assert tenant_host_url("/hidalgo/p/x", tenants) == "/hidalgo/p/x"
    assert tenant_host_url(f"https://{SITE}/app/hidalgo/", tenants, "/app") == "https://sesea.hidalgo.example/app/hidalgo/"


# --------------------------------------------------------------------------- requests
@pytest.mark.parametrize("url", DOCUMENTS + ["/", "/hidalgo/", "/auth/login", "/nonexistent/"])
def test_an_unknown_host_answers_400(site, client, url):
    response = client.get(url, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.get_data(as_text=True)


def test_the_400_explains_itself_as_a_page_and_as_json(site, client):
    page = client.get("/hidalgo/", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "does not serve the host name" in page
    api = client.get("/api/v1/tenants", headers={"Host": "evil.example:5000"}).get_json()
    assert api["error"]["status"] == 400 and "host name" in api["error"]["message"]


def test_the_test_clients_default_host_and_the_site_host_work(site, client):
    assert client.get("/").status_code == 200  # Host: localhost (testing)
    assert client.get("/", headers={"Host": f"{SITE}:443"}).status_code == 200
    assert client.get("/", headers={"Host": "127.0.0.1:5000"}).status_code == 200


def test_loopback_names_are_refused_in_production(site, client):
    site.config["TESTING"] = False
    assert client.get("/", headers={"Host": "localhost"}).status_code == 400
    assert client.get("/", headers={"Host": SITE}).status_code == 200
    site.config["TRUSTED_HOSTS"] = ["localhost"]  # extra names, e.g. for a health check
    assert client.get("/", headers={"Host": "localhost"}).status_code == 200


def test_documents_name_the_configured_host_whatever_the_request_host(site, client):
    data = client.get("/hidalgo/datos/data.json", headers={"Host": "localhost"}).get_json()
    assert data["@id"] == f"https://{SITE}/hidalgo/datos/data.json"
    assert client.get("/datos/data.json").get_json()["@id"] == f"https://{SITE}/datos/data.json"
    tenants = client.get("/api/v1/tenants").get_json()["data"]
    assert tenants and all(t["url"].startswith(f"https://{SITE}/") and t["records_url"].startswith(f"https://{SITE}/api/")
                           for t in tenants)
    xml = ElementTree.fromstring(client.get("/hidalgo/opensearch.xml?x=1").data)
    templates = [u.get("template") for u in xml.iter("{http://a9.com/-/spec/opensearch/1.1/}Url")]
    assert templates == [f"https://{SITE}/hidalgo/buscar?q={{searchTerms}}&pagina={{startPage?}}",
                         f"https://{SITE}/hidalgo/opensearch.xml"]
    assert f"https://{SITE}/hidalgo/actas/calendario.ics" in client.get("/hidalgo/actas/calendario").get_data(as_text=True)
    for url in DOCUMENTS:  # the same document on every host the site answers
        # (an empty dataset's "modified" is the time of the request: left out of the comparison)
        bodies = {re.sub(rb'"modified": "[^"]*"', b"", client.get(url, headers={"Host": host}).data)
                  for host in ("localhost", "127.0.0.1:5000", SITE)}
        assert len(bodies) == 1, url


def test_api_responses_are_publicly_cacheable_only_because_they_cannot_vary_by_host(site, client):
    response = client.get("/api/v1/tenants", headers={"Host": "127.0.0.1"})
    assert response.cache_control.public and response.cache_control.max_age
    assert "localhost" not in response.get_data(as_text=True) and "127.0.0.1" not in response.get_data(as_text=True)


def test_urls_built_outside_a_request_name_the_site_host(site):
    from flask import url_for
    with site.app_context():
        assert url_for("portal.home") == f"https://{SITE}/"


def test_a_tenant_with_hosts_gets_its_own_host_in_absolute_urls(tmp_path, database_url):
    states = tmp_path / "states"
    shutil.copytree(STATES, states)
    toml = states / "hidalgo" / "tenant.toml"
    toml.write_text(toml.read_text().replace("plugins =", 'hosts = ["sesea.hidalgo.test"]\nplugins ='))
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STATES_DIR": str(states), "SITE_HOST": SITE,
                      "INSTANCE_PATH": str(tmp_path / "inst"), "TESTING": False})
    with app.app_context():
        sync_tenants(app)
    client = app.test_client()
    assert client.get("/", headers={"Host": "sesea.hidalgo.test"}).status_code == 200
    assert client.get("/", headers={"Host": "localhost"}).status_code == 400
    data = client.get("/hidalgo/datos/data.json", headers={"Host": SITE}).get_json()
    assert data["@id"] == "http://sesea.hidalgo.test/hidalgo/datos/data.json"
    urls = {t["slug"]: t["url"] for t in client.get("/api/v1/tenants", headers={"Host": "sesea.hidalgo.test"}).get_json()["data"]}
    assert urls["hidalgo"] == "http://sesea.hidalgo.test/hidalgo/" and urls["puebla"] == f"http://{SITE}/puebla/"
    # the tenant's address with its prefix works on its host
    assert client.get("/hidalgo/datos/data.json", headers={"Host": "sesea.hidalgo.test"}).status_code == 200


def test_routing_redirects_are_relative(site, client):
    """A missing trailing slash redirects on the address the site was reached at (any port)."""
    response = client.get("/hidalgo", headers={"Host": "127.0.0.1:5201"})
    assert response.status_code == 308 and response.headers["Location"] == "/hidalgo/"
    assert client.get("/hidalgo?a=1").headers["Location"] == "/hidalgo/?a=1"


def test_secure_cookies_mean_https_urls(app, client):
    app.config.update(SITE_HOST=SITE, SESSION_COOKIE_SECURE=True)
    assert client.get("/datos/data.json").get_json()["@id"] == f"https://{SITE}/datos/data.json"
    app.config["SESSION_COOKIE_SECURE"] = False
    assert client.get("/datos/data.json").get_json()["@id"] == f"http://{SITE}/datos/data.json"
