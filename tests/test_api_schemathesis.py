"""Property-based tests of /api/v1 generated from its own OpenAPI document (Schemathesis, run
in-process against the WSGI app) with **every** Schemathesis check: no 5xx, documented status
codes, content types and headers, responses that match the documented schemas, invalid data
rejected and valid data accepted (ST202, except the two rules the document states in words: an
opaque cursor that was not given by the API, and ``published_after`` not earlier than
``published_before``), unsupported methods, and the rest. Examples are limited so the run stays
short."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as st_checks

from comun_cms import publishing
from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.tenancy import tenant_context

MAX_EXAMPLES = 15


@schemathesis.check
def documented_positive_data_acceptance(ctx, response, case):
    """ST202 (``positive_data_acceptance``) except the two rejections the OpenAPI document
    states in words, which no JSON Schema can express: a ``cursor`` the API did not give
    (an opaque token: any other text is refused) and a date window whose ``published_after`` is not earlier than its
    ``published_before``. Any other 4xx for schema-valid data still fails."""
    if response.status_code == 400 and "json" in response.headers.get("content-type", [""])[0]:
        error = (response.json() or {}).get("error", {})
        if error.get("field") in ("cursor", "published_after"):
            return None
    return st_checks.positive_data_acceptance(ctx, response, case)


st_checks.load_all_checks()
#: every check Schemathesis has, ST202 replaced by :func:`documented_positive_data_acceptance`
CHECKS = [c for c in st_checks.CHECKS.get_all()
          if c.__name__ not in ("positive_data_acceptance", "max_response_time", "documented_positive_data_acceptance")]
CHECKS.append(documented_positive_data_acceptance)


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


def test_the_date_window_and_an_over_long_cursor_answer_documented_errors(seeded):
    """OpenAPI cannot say that ``published_after`` must precede ``published_before``, and a
    generator keeps cursors within ``maxLength``: these two answers are checked explicitly, with
    the same checks, so their status codes and bodies must be the documented ones (400, 414)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", seeded)
    operations = [r.ok() for r in schema.get_all_operations()]
    listed = [op for op in operations if any(p.name == "published_after" for p in op.query)]
    assert len(listed) == 6
    for operation in listed:
        path = {"tenant": "edomex"} if "{tenant}" in operation.path else None
        window = operation.Case(path_parameters=path,
                                query={"published_after": "2026-02-01", "published_before": "2026-01-01"})
        assert window.call_and_validate(checks=CHECKS).status_code == 400
        if any(p.name == "cursor" for p in operation.query):
            long_cursor = operation.Case(path_parameters=path, query={"cursor": "A" * 5000})
            assert long_cursor.call_and_validate(checks=CHECKS).status_code == 414
