"""Open data on the portal (/datos) and per tenant (comun_cms/views/opendata_portal.py):
catalogue with fields dictionary, licence, last update and counts; "all states" downloads with
a tenant column; CSV round trip; streamed ZIP; DCAT data.json; drafts and training tenants
never leak."""
from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from urllib.parse import urlsplit

import pytest

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import tenant_context

TENANTS = ("edomex", "hidalgo", "puebla")
TRICKY = 'Informe «ñandú», con comas, "comillas"\ny saltos\r\nde línea'
TRAINING_TOML = """
slug = "taller"
state = "Estado de práctica"
secretariat = "Secretaría Ejecutiva de práctica"
short_name = "TALLER"
transparency_authority = "Órgano garante de práctica"
transparency_authority_short = "OGP"
training = true
"""
POD_REQUIRED = {"title", "description", "keyword", "modified", "publisher", "contactPoint", "identifier",
                "accessLevel", "license", "distribution"}


def make_page(app, slug, *, tenant="edomex", status="published", title=None, **fields) -> int:
    with tenant_context(app.extensions["comun"].tenants[tenant]):
        page = Page(slug=slug, title=title or slug, body=f"Body of {slug}", **fields)
        db.session.add(page)
        db.session.commit()
        if status == "published":
            publishing.publish(page)
        return page.id


def read_csv(response) -> list[dict]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    assert b"\r\n" in raw
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


@pytest.fixture
def content(app):
    """One published page per tenant (one with tricky text) and a draft in every tenant."""
    for t in TENANTS:
        make_page(app, f"pub-{t}", tenant=t, title=TRICKY if t == "puebla" else f"Publicada {t}")
        make_page(app, f"borrador-{t}", tenant=t, status="draft", title=f"BORRADOR SECRETO {t}")
    return app


def test_catalogue_lists_combined_and_per_tenant_datasets(content, client):
    response = client.get("/datos")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "All states" in html or "Todos los estados" in html
    for t in TENANTS:
        assert f'/{t}/datos/pages.csv' in html and f'/{t}/datos/data.json' in html and f'/{t}/datos/todo.zip' in html
    assert "/datos/pages.csv" in html and "/datos/pages.json" in html
    assert "/datos/todo.zip" in html and "/datos/data.json" in html and "/api/v1/docs" in html
    assert "https://creativecommons.org/licenses/by/4.0/" in html
    assert "<code>content_sha256</code>" in html and "<code>tenant</code>" in html  # fields dictionary
    assert "BORRADOR" not in html
    assert client.get("/datos/").status_code == 200


def test_licence_is_configurable(content, app, client):
    app.config["OPEN_DATA_LICENCE"] = "CC0-1.0"
    html = client.get("/datos").get_data(as_text=True)
    assert "https://creativecommons.org/publicdomain/zero/1.0/" in html
    doc = client.get("/datos/data.json").get_json()
    assert {d["license"] for d in doc["dataset"] if d["identifier"].endswith("pages.json")} == \
        {"https://creativecommons.org/publicdomain/zero/1.0/"}


def test_combined_csv_concatenates_tenants_and_round_trips(content, client):
    rows = read_csv(client.get("/datos/pages.csv"))
    assert [r["tenant"] for r in rows] == list(TENANTS)
    assert list(rows[0])[0] == "tenant"
    puebla = rows[2]
    assert puebla["title"] == TRICKY and puebla["version"] == "1" and len(puebla["content_sha256"]) == 64
    # the row is a notarized view: its hash is the version's hash in the API
    api = client.get(f"/api/v1/puebla/records/page/{puebla['id']}").get_json()["data"]
    assert api["content_sha256"] == puebla["content_sha256"] and api["version"] == 1
    assert "BORRADOR" not in client.get("/datos/pages.csv").get_data(as_text=True)


def test_combined_json(content, client):
    response = client.get("/datos/pages.json")
    assert response.status_code == 200
    doc = json.loads(response.data)
    assert doc["fields"][0]["name"] == "tenant"
    assert [r["tenant"] for r in doc["records"]] == list(TENANTS)
    assert doc["records"][2]["title"] == TRICKY
    assert client.get("/datos/no-such-dataset.csv").status_code == 404


def test_zip_of_everything_streams_every_dataset(content, client):
    response = client.get("/datos/todo.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    names = set(archive.namelist())
    assert {"todos/pages.csv", "todos/pages.json", "edomex/pages.csv", "puebla/pages.json", "data.json"} <= names
    rows = list(csv.DictReader(io.StringIO(archive.read("todos/pages.csv").decode("utf-8-sig"), newline="")))
    assert [r["tenant"] for r in rows] == list(TENANTS) and rows[2]["title"] == TRICKY
    for name in names:
        assert b"BORRADOR" not in archive.read(name), name
    tenant_zip = zipfile.ZipFile(io.BytesIO(client.get("/hidalgo/datos/todo.zip").data))
    assert "hidalgo/pages.csv" in tenant_zip.namelist() and not any(n.startswith("edomex/") for n in tenant_zip.namelist())


def test_dcat_data_json_portal_and_tenant(content, client):
    for url in ("/datos/data.json", "/edomex/datos/data.json"):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/json"
        doc = response.get_json()
        assert doc["@type"] == "dcat:Catalog" and doc["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
        assert doc["dataset"]
        for ds in doc["dataset"]:
            assert POD_REQUIRED <= set(ds), ds["title"]
            assert ds["accessLevel"] == "public" and ds["keyword"]
            assert ds["license"].startswith("https://")
            assert {d["mediaType"] for d in ds["distribution"]} == {"text/csv", "application/json"}
            assert all(d["downloadURL"].startswith("http") for d in ds["distribution"])
    tenant_doc = client.get("/edomex/datos/data.json").get_json()
    assert all("/edomex/datos/" in ds["identifier"] for ds in tenant_doc["dataset"])
    pages = next(ds for ds in tenant_doc["dataset"] if ds["identifier"].endswith("/pages.json"))
    assert pages["modified"].startswith("20") and pages["publisher"]["name"].startswith("Secretaría")
    portal = client.get("/datos/data.json").get_json()
    assert any(ds["identifier"].endswith("/datos/pages.json") and "/edomex/" not in ds["identifier"]
               for ds in portal["dataset"])


def test_every_dataset_everywhere_is_free_of_drafts(content, client):
    """Drafts in every tenant: no catalogue, dataset download, ZIP or data.json shows them."""
    urls = ["/datos", "/datos/data.json"]
    names = set()
    for t in TENANTS:
        urls += [f"/{t}/datos/data.json", f"/{t}/seccion/open_data"]
        for ds in client.get(f"/{t}/datos/data.json").get_json()["dataset"]:
            for dist in ds["distribution"]:
                urls.append(urlsplit(dist["downloadURL"]).path)
            names.add(ds["identifier"].rsplit("/", 1)[1].rsplit(".", 1)[0])
    urls += [f"/datos/{n}.{fmt}" for n in names for fmt in ("csv", "json")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert "BORRADOR" not in text and "borrador-" not in text, url
    for url in ("/datos/todo.zip", "/edomex/datos/todo.zip"):
        archive = zipfile.ZipFile(io.BytesIO(client.get(url).data))
        for name in archive.namelist():
            assert b"BORRADOR" not in archive.read(name), (url, name)


class TestTrainingTenant:
    @pytest.fixture
    def app_config(self, app_config, tmp_path):
        from comun_cms.config import ROOT
        target = tmp_path / "states"
        shutil.copytree(ROOT / "states", target)
        (target / "taller").mkdir()
        (target / "taller" / "tenant.toml").write_text(TRAINING_TOML, encoding="utf-8")
        return {**app_config, "STATES_DIR": str(target)}

    def test_training_tenant_stays_out_of_the_portal(self, app, client):
        make_page(app, "practica", tenant="taller", title="Práctica de taller")
        make_page(app, "real", tenant="edomex")
        for url in ("/datos", "/datos/data.json", "/datos/pages.csv", "/datos/pages.json"):
            text = client.get(url).get_data(as_text=True)
            assert "Práctica de taller" not in text and "/taller/" not in text, url
        names = zipfile.ZipFile(io.BytesIO(client.get("/datos/todo.zip").data)).namelist()
        assert not any(n.startswith("taller/") for n in names)
        # its own site still has its open data
        assert "Práctica de taller" in client.get("/taller/datos/pages.csv").get_data(as_text=True)


def test_counts_follow_new_publications(content, app, client):
    from comun_cms.views.opendata_portal import catalogue, public_tenants

    def pages_count():
        with app.test_request_context("/datos"):
            entries = catalogue(public_tenants(), combined=True)
            return {(e.tenant.slug if e.tenant else "*"): e.count for e in entries if e.dataset.name == "pages"}

    assert pages_count() == {"*": 3, "edomex": 1, "hidalgo": 1, "puebla": 1}
    make_page(app, "otra", tenant="hidalgo")
    assert pages_count() == {"*": 4, "edomex": 1, "hidalgo": 2, "puebla": 1}
