"""Browser test: the verify page checks inclusion and the checkpoint signature with WebCrypto."""
from __future__ import annotations

import pytest


@pytest.mark.browser
def test_verify_page_checks_in_the_browser_and_detects_tampering(app, page, publish_page):
    _page, pub = publish_page("verificable", body="Acta de la sesión.")
    publish_page("otra")
    page.goto(f"/edomex/notary/verificar?sha256={pub.sha256}&lang=en")
    check = page.locator('[data-notary-match="0"][data-verdict]')
    check.wait_for()
    assert check.get_attribute("data-verdict") == "match", check.inner_text()
    assert "checked in your browser" in check.inner_text()

    receipt = page.request.get("/edomex/notary/entries/0/receipt.tlog-proof").text()
    entry = page.request.get("/edomex/notary/entries/0/entry.json").text()
    out = page.locator("#notary-receipt-browser")
    page.fill("#receipt", receipt)
    page.fill("#entry", entry)
    page.click("#notary-receipt-form button[type=submit]")
    page.wait_for_function("document.getElementById('notary-receipt-browser').dataset.verdict !== undefined")
    assert out.get_attribute("data-verdict") == "match", out.inner_text()
    assert "entry 0 is in the signed log of 2 entries" in out.inner_text()

    tampered = entry.replace(pub.sha256, "0" * 64)
    page.fill("#entry", tampered)
    page.evaluate("delete document.getElementById('notary-receipt-browser').dataset.verdict")
    page.click("#notary-receipt-form button[type=submit]")
    page.wait_for_function("document.getElementById('notary-receipt-browser').dataset.verdict !== undefined")
    assert out.get_attribute("data-verdict") == "mismatch"
    assert "No match" in out.inner_text()
