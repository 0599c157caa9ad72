"""Browser tests (Playwright + Debian Chromium) of the layout, issue 15 defects 5 and 7.

* No page is wider than a 390 px phone: every public page type (portal, tenant site, each
  plugin's index and record pages) and the main admin pages, with demo data, must have
  ``document.documentElement.scrollWidth <= innerWidth``.
* The "Verificado" seal's download list keeps its bullets inside each item, so a bullet never
  covers the end of the preceding link, at 1280 px and 390 px.
"""
from __future__ import annotations

import re

import pytest

from comun_cms.testing import browser_login
from comun_cms.toolkit.testing import run_demo

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

#: Index pages whose first link matching the pattern is a record page of that type.
RECORD_LINKS = [
    ("/edomex/actas/", r"/edomex/actas/sesiones/\d+$"),
    ("/edomex/actas/acuerdos", r"/edomex/actas/acuerdos/\d+$"),
    ("/edomex/actas/organos", r"/edomex/actas/organos/\d+$"),
    ("/edomex/planes-de-accion/", r"/edomex/planes-de-accion/\d+$"),
    ("/edomex/planes-de-accion/", r"/edomex/planes-de-accion/compromisos/\d+$"),
    ("/edomex/criterios/", r"/edomex/criterios/ciclos/\d+$"),
    ("/edomex/criterios/", r"/edomex/criterios/marcos/\d+$"),
    ("/edomex/criterios/recomendaciones", r"/edomex/criterios/recomendaciones/\d+$"),
    ("/edomex/seccion/links", r"/edomex/p/[^/?#]+$"),
]
PUBLIC_PAGES = [
    "/", "/acerca", "/buscar?q=sesi%C3%B3n", "/criterios/", "/datos/", "/api/v1/docs",
    "/edomex/", "/edomex/buscar?q=sesi%C3%B3n", "/edomex/actas/", "/edomex/actas/acuerdos",
    "/edomex/actas/calendario", "/edomex/actas/organos", "/edomex/planes-de-accion/",
    "/edomex/planes-de-accion/agenda", "/edomex/criterios/", "/edomex/criterios/recomendaciones",
    "/edomex/notary/verificar", "/edomex/seccion/minutes", "/edomex/seccion/links", "/edomex/seccion/open_data",
    "/edomex/seccion/contact", "/edomex/seccion/feedback", "/auth/login",
]
ADMIN_LINKS = [
    ("/edomex/admin/actas/", r"/edomex/admin/actas/sesiones/\d+$"),
    ("/edomex/admin/planes-de-accion/", r"/edomex/admin/planes-de-accion/\d+$"),
    ("/edomex/admin/criterios/", r"/edomex/admin/criterios/ciclos/\d+$"),
    ("/edomex/admin/paginas", r"/edomex/admin/paginas/\d+$"),
]
ADMIN_PAGES = [
    "/edomex/admin/", "/edomex/admin/paginas", "/edomex/admin/paginas/nueva", "/edomex/admin/actas/",
    "/edomex/admin/actas/acuerdos", "/edomex/admin/actas/sesiones/nueva", "/edomex/admin/planes-de-accion/",
    "/edomex/admin/criterios/", "/edomex/admin/archivos", "/edomex/admin/auditoria",
    "/edomex/admin/configuracion", "/edomex/admin/moderacion", "/edomex/admin/usuarios",
]

#: Lists the elements that stick out of the viewport (for the failure message).
OVERFLOW_JS = """() => {
  const w = window.innerWidth, out = [];
  const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (scrolls(el)) continue;
    if (r.right > w + 0.5 && r.width > 0) {
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
               + ' right=' + Math.round(r.right));
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: w, culprits: out.slice(0, 8)};
}"""


def _record_urls(page, pairs) -> list[str]:
    urls = []
    for index, pattern in pairs:
        page.goto(index)
        hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
        found = next((h.split("?")[0] for h in hrefs if re.search(pattern, h.split("?")[0])), None)
        assert found, f"no link matching {pattern} on {index}"
        urls.append(found)
    return urls


def _overflowing(page, urls) -> list[str]:
    bad = []
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.status < 400, f"{url}: {response and response.status}"
        m = page.evaluate(OVERFLOW_JS)
        if m["scroll"] > m["inner"]:
            bad.append(f"{url}: scrollWidth {m['scroll']} > {m['inner']} ({', '.join(m['culprits'])})")
    return bad


@pytest.fixture
def demo(app):
    run_demo(app, tenants=[app.extensions["comun"].tenants["edomex"]], log=lambda m: None)


def test_no_page_is_wider_than_a_phone(app, spanish, demo, page, make_user):
    page.set_viewport_size(PHONE)
    urls = PUBLIC_PAGES + _record_urls(page, RECORD_LINKS)
    bad = _overflowing(page, urls)

    make_user("admin@edomex.test", role="admin")
    browser_login(page, "admin@edomex.test")
    admin_urls = ADMIN_PAGES + _record_urls(page, ADMIN_LINKS)
    commitment = _record_urls(page, [(admin_urls[-3], r"/admin/planes-de-accion/compromisos/\d+$")])
    bad += _overflowing(page, admin_urls + commitment)
    assert not bad, "\n".join(bad)


def _seal_bullets(page) -> list[dict]:
    return page.evaluate("""() => {
      const items = [...document.querySelectorAll('.notary-seal .downloads > li')];
      return items.map((li, i) => {
        const s = getComputedStyle(li), r = li.getBoundingClientRect();
        const prev = i ? items[i - 1].querySelector('a').getBoundingClientRect() : null;
        return {position: s.listStylePosition, type: s.listStyleType, left: r.left, top: r.top,
                prevRight: prev ? prev.right : null, prevTop: prev ? prev.top : null};
      });
    }""")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_seal_bullets_do_not_cover_the_previous_link(app, spanish, demo, page, viewport):
    page.set_viewport_size(viewport)
    page.goto("/edomex/seccion/links")
    hrefs = page.eval_on_selector_all("main a[href*='/edomex/p/']", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs, "no published page in the demo"
    page.goto(hrefs[0])
    bullets = _seal_bullets(page)
    assert len(bullets) >= 2, "the seal has no download list"
    for b in bullets[1:]:
        # a marker drawn outside its item sits in the gap, over the previous link
        assert b["type"] == "none" or b["position"] == "inside", b
        if abs(b["top"] - b["prevTop"]) < 4:  # same line: the item starts after the previous link
            assert b["left"] >= b["prevRight"], b
