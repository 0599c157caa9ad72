"""The web search tests of tests/test_search_integration.py, run again with SEARCH_BACKEND = "postgres":
portal facets and snippets, "¿Quiso decir…?", state facet filter and tenant search, correction and
retraction, bad queries, every content type indexed only while public. (Left out: the outbox and
canary tests, which are about the Whoosh indexer, and the several-processes test, whose child
processes start the default backend.) Needs PostgreSQL (COMUN_TEST_DATABASE_URL)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("COMUN_TEST_DATABASE_URL"),
                                reason="the postgres search backend needs PostgreSQL: set COMUN_TEST_DATABASE_URL")

_spec = importlib.util.spec_from_file_location(
    "_search_integration_for_postgres", Path(__file__).resolve().parents[1] / "test_search_integration.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

test_portal_search_finds_every_state_with_facets = _integration.test_portal_search_finds_every_state_with_facets
test_misspelled_query_suggests_a_word_in_one_translatable_sentence = (
    _integration.test_misspelled_query_suggests_a_word_in_one_translatable_sentence)
test_state_facet_filter_and_tenant_search = _integration.test_state_facet_filter_and_tenant_search
test_correction_and_retraction_update_the_index = _integration.test_correction_and_retraction_update_the_index
test_bad_queries_answer_200 = _integration.test_bad_queries_answer_200
test_every_content_type_is_indexed_only_while_public = _integration.test_every_content_type_is_indexed_only_while_public


@pytest.fixture
def app_config(app_config):
    # SEARCH_SYNC off: nothing drains an outbox at the end of requests; the publishing
    # transaction itself writes the search rows
    return {**app_config, "SEARCH_BACKEND": "postgres", "SEARCH_SYNC": False}


def test_the_backend_is_postgres(app):
    from comun_cms.search.pg_backend import PostgresBackend
    assert isinstance(app.extensions["comun"].search.backend, PostgresBackend)
