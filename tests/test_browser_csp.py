"""Browser test (Playwright + Debian Chromium): the public, portal and admin pages and the notary
verify page work under the Content-Security-Policy: no CSP violation is reported, no script fails,
the tenant colours and the chart widths (served as stylesheets and classes, not inline styles)
apply, and the verify page still checks a publication and a receipt in the browser."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from comun_cms.demo import run_demo
from comun_cms.extensions import db
from comun_cms.models import Page, Publication
from comun_cms.tenancy import tenant_context
from comun_cms.testing import browser_login

pytestmark = pytest.mark.browser

#: Collects `securitypolicyviolation` events of every document (Playwright's init scripts are
#: injected by the browser itself, so the policy under test does not block this one).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


class Watcher:
    """Console messages and script errors that show a page not working under the policy."""

    def __init__(self, page):
        self.page, self.console, self.errors = page, [], []
        page.add_init_script(WATCH)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _console(self, msg) -> None:
        text = msg.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text or "Permissions-Policy" in text:
            self.console.append(f"{self.page.url}: {text}")

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        self.check()

    def check(self) -> None:
        self.page.wait_for_load_state("load")
        violations = self.page.evaluate("window.__csp || []")
        assert violations == [], f"{self.page.url}: {violations}"
        assert self.console == [], self.console
        assert self.errors == [], self.errors


def _css_var(page, name: str) -> str:
    return page.evaluate(f"getComputedStyle(document.documentElement).getPropertyValue('{name}').trim()")


def test_pages_work_under_the_content_security_policy(app, page, make_user):
    edomex = app.extensions["comun"].tenants["edomex"]
    run_demo(app, tenants=[edomex], log=lambda m: None)
    with tenant_context(edomex):
        pub = db.session.scalar(select(Publication).where(Publication.content_type == "page")
                                .order_by(Publication.id))
        slug = db.session.get(Page, int(pub.record_id)).slug
    make_user("admin-csp@edomex.test", role="admin")
    w = Watcher(page)

    # portal: each state's card accent comes from /theme-colors.css
    w.visit("/")
    accent = page.evaluate("getComputedStyle(document.querySelector('.state-card--edomex')).borderTopColor")
    assert accent == _rgb(edomex.colors["primary"])
    for url in ("/acerca", "/buscar?q=sesi%C3%B3n", "/datos/", "/api/v1/docs", "/criterios/"):
        w.visit(url)

    # a tenant's public site: colours from /edomex/theme-colors.css, the menu button of comun.js
    w.visit("/edomex/")
    assert _css_var(page, "--color-primary") == edomex.colors["primary"]
    page.set_viewport_size({"width": 390, "height": 800})
    page.click("button.nav-toggle")
    assert page.get_attribute("button.nav-toggle", "aria-expanded") == "true"
    page.set_viewport_size({"width": 1280, "height": 800})
    for url in ("/edomex/seccion/minutes", f"/edomex/p/{slug}", f"/edomex/historial/page/{pub.record_id}",
                "/edomex/criterios/", "/edomex/planes-de-accion/", "/edomex/actas/", "/edomex/buscar?q=acta"):
        w.visit(url)

    # STL sector bars: each sector's width follows its class (no style attribute)
    w.visit("/edomex/actas/organos/1")
    bar = page.locator(".stl-bar").first
    widths = bar.evaluate("b => Array.from(b.children).map(s => [s.getBoundingClientRect().width, +s.textContent])")
    assert len(widths) >= 2
    (w0, n0), (w1, n1) = max(widths, key=lambda x: x[1]), min(widths, key=lambda x: x[1])
    assert n0 > n1 and w0 > w1

    # the administration, as the tenant's admin
    browser_login(page, "admin-csp@edomex.test")
    w.check()
    for url in ("/edomex/admin/", "/edomex/admin/paginas", "/edomex/admin/paginas/nueva", "/edomex/admin/usuarios",
                "/edomex/admin/configuracion", "/edomex/admin/auditoria", "/edomex/admin/actas/",
                "/edomex/admin/criterios/", "/edomex/admin/planes-de-accion/", "/auth/cuenta"):
        w.visit(url)
        if url.endswith("/configuracion"):
            swatch = page.evaluate("getComputedStyle(document.querySelector('.swatch--primary')).backgroundColor")
            assert swatch == _rgb(edomex.colors["primary"])

    # the notary verify page checks the publication and its receipt in the browser
    w.visit(f"/edomex/notary/verificar?sha256={pub.sha256}&lang=en")
    check = page.locator('[data-notary-match="0"][data-verdict]')
    check.wait_for()
    assert check.get_attribute("data-verdict") == "match", check.inner_text()
    assert "checked in your browser" in check.inner_text()
    receipt_href = page.get_attribute(".notary-match a[href$='receipt.tlog-proof']", "href")
    entry_href = page.get_attribute(".notary-match a[href$='entry.json']", "href")
    page.fill("#receipt", page.request.get(receipt_href).text())
    page.fill("#entry", page.request.get(entry_href).text())
    page.click("#notary-receipt-form button[type=submit]")
    page.wait_for_function("document.getElementById('notary-receipt-browser').dataset.verdict !== undefined")
    out = page.locator("#notary-receipt-browser")
    assert out.get_attribute("data-verdict") == "match", out.inner_text()
    w.check()


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_watcher_sees_an_inline_style_violation(app, page, live_server):
    """The check above can fail: an inline style on a page of this site is reported."""
    w = Watcher(page)
    page.goto("/edomex/")
    page.evaluate("""() => { const s = document.createElement('style'); s.textContent = 'body{color:red}';
                             document.head.appendChild(s); }""")
    page.wait_for_function("window.__csp.length > 0")
    with pytest.raises(AssertionError, match=re.escape("style-src")):
        w.check()
