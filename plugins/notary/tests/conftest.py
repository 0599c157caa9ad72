"""Fixtures of the notary plugin tests."""
from __future__ import annotations

import pytest

from comun_cms.toolkit import Page, publish, tenant_context
from comun_cms.toolkit.testing import get_tenant


@pytest.fixture
def publish_page(app):
    """``publish_page(slug, tenant="edomex", body=...)``: create and publish a core page as
    ``tenant`` (current tenant for the call); returns ``(page, publication)``."""
    def do(slug: str, tenant: str = "edomex", body: str = "Texto de la página."):
        with tenant_context(get_tenant(app, tenant)):
            page = Page(slug=slug, title=f"Página {slug}", body=body)
            pub = publish(page)
            return page, pub
    return do


@pytest.fixture
def client(app):
    """Flask test client whose session asks for English (the tests match English msgids)."""
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["lang"] = "en"
    return c
