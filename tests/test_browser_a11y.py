"""Accessibility in the browser: axe-core (through ``axe-playwright-python``, which ships axe-core
4.x) runs over every public page type and the main admin pages, at 1280 px and at 390 px, on the
demo data of one state. Critical and serious violations fail the test; moderate and minor ones
fail too unless :data:`ALLOWED` lists the rule with the reason it stays.

The pages are found by crawling the demo site with the test client (one URL per page type: digits
collapse), so a new page type is covered without editing this file. The rendered HTML does not
depend on the database, so ``make test-postgres`` deselects the ``a11y`` marker."""
from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.a11y]

WIDTHS = (1280, 390)

#: axe rule id -> why a moderate/minor violation of it is accepted (empty: none accepted).
ALLOWED: dict[str, str] = {}

_SKIP = re.compile(r"\.(pdf|png|jpe?g|gif|csv|xlsx|json|xml|ics|zip|txt|tsr|svg|css|js|tlog-proof)$"
                   r"|/archivos/|/miniatura|/logo$|/notary/(checkpoint|key|policy|tile|entries)"
                   r"|/salir|/logout|/auth/")
_HREF = re.compile(r'href="(/[^"#?]*)"')


def _kind(path: str) -> str:
    """The page type of ``path``: digits collapse, and one history page and one section page
    stand for the rest (they share a template)."""
    kind = re.sub(r"\d+", "N", path)
    kind = re.sub(r"/historial/[^/]+/N$", "/historial/*", kind)
    return re.sub(r"/p/[^/]+$", "/p/*", kind)


def _crawl(client, starts: list[str], prefix: tuple[str, ...], limit: int = 600) -> list[str]:
    """Breadth-first over HTML links under ``prefix``; one URL per :func:`_kind`."""
    seen: set[str] = set()
    kinds: dict[str, str] = {}
    todo = list(starts)
    while todo and len(seen) < limit:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        kind = _kind(url)
        if kind in kinds:
            continue
        resp = client.get(url)
        if resp.status_code != 200 or "text/html" not in resp.headers.get("Content-Type", ""):
            continue
        kinds[kind] = url
        for href in _HREF.findall(resp.get_data(as_text=True)):
            if href.startswith(prefix) and not _SKIP.search(href) and href not in seen:
                todo.append(href)
    return sorted(kinds.values())


def _violations(page, url: str) -> list[str]:
    """Load ``url`` once, inject axe-core once, and run it at each of :data:`WIDTHS` (the layout
    reflows on resize); returns one line per violation not accepted by :data:`ALLOWED`."""
    from axe_playwright_python.sync_playwright import Axe

    found = []
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    page.goto(url)
    page.evaluate(Axe().axe_script)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        for v in result["violations"]:
            if v["impact"] in ("minor", "moderate") and v["id"] in ALLOWED:
                continue
            targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
            found.append(f"{url} @{width}px: [{v['impact']}] {v['id']}: {v['help']} ({targets})")
    return found


@pytest.fixture
def demo_site(app, runner):
    result = runner.invoke(args=["demo", "--quiet", "--tenant", "edomex"])
    assert result.exit_code == 0, result.output
    return app


def test_public_pages_have_no_axe_violations(demo_site, client, page):
    urls = _crawl(client, ["/", "/edomex/", "/buscar?q=sesi%C3%B3n+ordinaria"],
                  ("/edomex", "/buscar", "/verificar", "/datos", "/api/v1/docs", "/acerca", "/accesibilidad"))
    assert len(urls) >= 30, urls  # every public page type of the demo is reached
    problems = [p for url in urls for p in _violations(page, url)]
    assert not problems, "\n".join(problems)


def test_admin_pages_have_no_axe_violations(demo_site, client, page, login_as, make_user):
    from comun_cms.testing import browser_login

    admin = make_user("admin.a11y@edomex.test", role="admin")
    login_as(admin)
    urls = _crawl(client, ["/edomex/admin/"], ("/edomex/admin",))
    assert len(urls) >= 25, urls
    browser_login(page, admin.email)
    problems = [p for url in urls for p in _violations(page, url)]
    assert not problems, "\n".join(problems)
