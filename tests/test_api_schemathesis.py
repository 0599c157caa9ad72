"""Property-based tests of /api/v1 generated from its own OpenAPI document (Schemathesis, run
in-process against the WSGI app): no 5xx, documented status codes and content types, and
responses that match the documented schemas. Examples are limited so the run stays short."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import tenant_context

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def seeded(app):
    """A few published, corrected, retracted and draft pages in every tenant."""
    for slug in ("edomex", "hidalgo", "puebla"):
        with tenant_context(app.extensions["comun"].tenants[slug]):
            for i in range(3):
                page = Page(slug=f"p{i}", title=f"Página {i}, «{slug}»", body="Texto\ncon \"comillas\"")
                db.session.add(page)
                db.session.commit()
                if i < 2:
                    publishing.publish(page)
                if i == 1:
                    publishing.retract(page, reason="Error")
    return app


def test_api_conforms_to_its_openapi_document(seeded):
    app = seeded
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    labels = {operation.label for operation in operations}
    assert {"GET /api/v1/changes", "GET /api/v1/{tenant}/changes"} <= labels, labels
    failures = []
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure (FailureGroup)
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
