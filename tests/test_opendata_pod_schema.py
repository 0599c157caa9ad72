"""The DCAT-US catalogues (``/datos/data.json`` and ``/<tenant>/datos/data.json``) validate
against the Project Open Data Metadata Schema v1.1 JSON Schema (files and licence in
tests/data/pod_v1.1/), non-federal variant: ``bureauCode`` and ``programCode`` are required of
US federal agencies only. The live catalogue is the one ``comun demo`` builds."""
from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(__file__).resolve().parent / "data" / "pod_v1.1"
BASE = "https://project-open-data.cio.gov/v1.1/schema/"
FEDERAL_ONLY = ("bureauCode", "programCode")
TENANTS = ("edomex", "hidalgo", "puebla")


def _schemas(federal: bool) -> dict[str, dict]:
    docs = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMA_DIR.glob("*.json")}
    if not federal:
        docs = copy.deepcopy(docs)
        docs["dataset.json"]["required"] = [r for r in docs["dataset.json"]["required"] if r not in FEDERAL_ONLY]
    return docs


def _format_checker() -> FormatChecker:
    """Draft 4 formats; ``uri`` checked as an absolute URI (RFC 3986 section 4.3: a scheme,
    then a host for http(s)/ftp, no white space), since jsonschema checks it only with an
    optional package."""
    checker = FormatChecker()

    @checker.checks("uri", raises=ValueError)
    def is_uri(value) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme or "") or re.search(r"\s", value):
            return False
        return bool(parts.netloc) if parts.scheme in ("http", "https", "ftp") else bool(parts.path or parts.netloc)

    return checker


def pod_validator(federal: bool = False) -> Draft4Validator:
    """A validator of a whole ``data.json`` catalogue (``catalog.json`` and the files it refers to)."""
    docs = _schemas(federal)
    registry = Registry().with_resources((BASE + name, DRAFT4.create_resource(doc)) for name, doc in docs.items())
    return Draft4Validator(docs["catalog.json"], registry=registry, format_checker=_format_checker())


def errors_of(doc: dict, federal: bool = False) -> list[str]:
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in pod_validator(federal).iter_errors(doc)]


def test_the_schema_files_are_the_published_v1_1_ones():
    docs = _schemas(federal=True)
    assert set(docs) == {"catalog.json", "dataset.json", "distribution.json", "organization.json", "vcard.json"}
    for name, doc in docs.items():
        assert doc["id"] == f"{BASE}{name}#" and doc["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert set(FEDERAL_ONLY) <= set(docs["dataset.json"]["required"])
    assert docs["vcard.json"]["required"] == ["fn", "hasEmail"]
    assert "Public domain" in (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")


def test_the_validator_finds_what_the_old_catalogue_got_wrong(app, client):
    doc = client.get("/edomex/datos/data.json").get_json()
    assert doc["dataset"] and errors_of(doc) == []
    broken = copy.deepcopy(doc)
    del broken["dataset"][0]["contactPoint"]["hasEmail"]
    broken["dataset"][0]["license"] = "CC BY 4.0"
    broken["dataset"][1]["contactPoint"]["hasEmail"] = "datos@ejemplo.mx"
    found = errors_of(broken)
    assert any("dataset/0/contactPoint" in e and "'hasEmail' is a required property" in e for e in found), found
    assert any(e.startswith("dataset/0/license") for e in found), found
    assert any("dataset/1/contactPoint/hasEmail" in e for e in found), found
    # the federal schema wants the two federal codes; the non-federal one does not
    assert any("'bureauCode' is a required property" in e for e in errors_of(doc, federal=True))


def test_contact_email_comes_from_the_tenant_then_the_setting(app, client):
    state = app.extensions["comun"]
    puebla = state.tenants["puebla"]
    state.tenants["puebla"] = dataclasses.replace(puebla, contact={**puebla.contact,
                                                                   "email": "transparencia@puebla.example"})
    app.config["OPEN_DATA_CONTACT_EMAIL"] = "datos@comun.example"
    doc = client.get("/datos/data.json").get_json()
    contacts = {(d["spatial"], d["contactPoint"]["hasEmail"]) for d in doc["dataset"]}
    assert ("Puebla", "mailto:transparencia@puebla.example") in contacts
    assert ("Hidalgo", "mailto:datos@comun.example") in contacts
    assert all(email == "mailto:datos@comun.example" for spatial, email in contacts if "," in spatial)
    app.config["OPEN_DATA_CONTACT_EMAIL"] = None
    app.config["SITE_HOST"] = "datos.comun.example:8443"
    doc = client.get("/hidalgo/datos/data.json").get_json()
    assert {d["contactPoint"]["hasEmail"] for d in doc["dataset"]} == {"mailto:webmaster@datos.comun.example"}
    assert errors_of(doc) == []


@pytest.mark.slow
def test_the_live_demo_catalogues_validate_in_the_catalogue_language(app, client, runner):
    result = runner.invoke(args=["demo", "--quiet"])
    assert result.exit_code == 0, result.output
    app.config["DEFAULT_LOCALE_OVERRIDE"] = None  # served as in production
    portal = client.get("/datos/data.json?lang=en")  # the request's language does not change the catalogue
    assert portal.status_code == 200
    catalogues = {"portal": portal.get_json()}
    catalogues.update({slug: client.get(f"/{slug}/datos/data.json").get_json() for slug in TENANTS})
    for name, doc in catalogues.items():
        assert errors_of(doc) == [], name
        assert doc["dataset"], name
        for ds in doc["dataset"]:
            assert ds["language"] == ["es-MX"]
            assert ds["contactPoint"]["hasEmail"].startswith("mailto:")
            assert "all states" not in ds["title"] and "CSV (UTF-8 with BOM)" not in json.dumps(ds)
    titles = [d["title"] for d in catalogues["portal"]["dataset"]]
    assert len(titles) == len(set(titles)) and any(t.endswith("— todos los estados") for t in titles)
    # the portal lists every state's datasets and the "all states" ones
    per_state = sum(len(catalogues[slug]["dataset"]) for slug in TENANTS)
    assert len(catalogues["portal"]["dataset"]) > per_state
