"""Issue 15, defect 10 (core): ``/favicon.ico`` answers with an icon (it used to redirect to a
404), a tenant without a logo of its own serves the theme's emblem at ``/<tenant>/logo``, and a
search that names a content type ranks it higher."""
from __future__ import annotations

import re
from pathlib import Path

from flask import request
from flask_babel import force_locale

from comun_cms.toolkit.testing import run_demo
from comun_cms.views.search import build_query, named_types

EMBLEM = (Path(__file__).resolve().parent.parent / "themes" / "comun" / "static" / "img" / "emblem.svg").read_bytes()


def test_favicon_is_served_at_the_site_root(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.data[:4] == b"\x00\x00\x01\x00"  # ICO header
    assert 'rel="icon" href="/favicon.ico"' in client.get("/").get_data(as_text=True)


def test_a_tenant_without_logo_serves_the_theme_emblem(app, client):
    training = next(t for t in app.extensions["comun"].tenants.values() if t.training and not t.is_workspace)
    assert not training.logo
    r = client.get(f"/{training.slug}/logo")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml" and r.data == EMBLEM
    r = client.get("/edomex/logo")
    assert r.status_code == 200 and r.data != EMBLEM
    assert 'rel="icon" href="/edomex/logo"' in client.get("/edomex/").get_data(as_text=True)


def test_a_query_naming_a_content_type_boosts_it(app):
    """ "sesión ordinaria" names the minutes (label "Minuta de la sesión"), not recommendations."""
    registry = app.extensions["comun"].content_types
    with app.test_request_context("/buscar?q=sesi%C3%B3n+ordinaria"), force_locale("es_MX"):
        assert "stl_session" in named_types("sesión ordinaria", registry)
        assert "recommendation" not in named_types("sesión ordinaria", registry)
        assert named_types("Recomendaciones", registry) == ["recommendation"]
        assert named_types("de la", registry) == []
        assert "stl_session" in build_query(request.args).boost_types


def test_portal_search_shows_a_shared_document_once(app, client):
    """A guide every state publishes is one result "also in" the other states."""
    run_demo(app, tenants=[app.extensions["comun"].tenants[s] for s in ("edomex", "puebla", "hidalgo")],
             log=lambda m: None)
    html = client.get("/buscar?q=apertura+institucional+diplomado").get_data(as_text=True)
    titles = re.findall(r'<h3><a href="([^"]+)"', html)
    assert len([u for u in titles if u.endswith("/p/apertura-institucional-diplomado")]) == 1, titles
    also = html.split('class="result-also"', 1)[1].split("</p>", 1)[0]
    assert also.count("/p/apertura-institucional-diplomado") == 2
    tenant_html = client.get("/edomex/buscar?q=apertura+institucional+diplomado").get_data(as_text=True)
    assert 'class="result-also"' not in tenant_html


#: English function words; two or more of them on one line of a demo document mean English text.
ENGLISH = {"the", "with", "and", "of", "is", "are", "on", "at", "from", "shows", "this", "which", "displayed"}
DOCUMENTS = Path(__file__).resolve().parent.parent / "comun_cms" / "demo_data" / "documents"


def test_demo_documents_are_in_spanish():
    """The demo OCR text had an English description of a screenshot; names such as "The GovLab"
    or "Follow the Money" (one English word on a line) are fine."""
    english = []
    for path in sorted(DOCUMENTS.glob("*.txt")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("http"):
                continue
            words = [w.lower() for w in re.findall(r"[A-Za-z]+", line)]
            if sum(w in ENGLISH for w in words) >= 2:
                english.append(f"{path.name}:{number}: {line[:80]}")
    assert not english, "\n".join(english)
