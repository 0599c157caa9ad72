"""Issue 15, defect 10 (core): ``/favicon.ico`` answers with an icon (it used to redirect to a
404), and a tenant without a logo of its own serves the theme's emblem at ``/<tenant>/logo``."""
from __future__ import annotations

from pathlib import Path

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
