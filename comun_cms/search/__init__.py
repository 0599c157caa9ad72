"""Search: backend-neutral interface, Whoosh backend, Spanish analyzer.

Exports only; the app wiring lives in :mod:`comun_cms.search.service`.

- :mod:`comun_cms.search.backend` -- ``SearchBackend`` interface and data classes
- :mod:`comun_cms.search.whoosh_backend` -- ``WhooshBackend`` (the default)
- :mod:`comun_cms.search.sqlite_fts` -- ``SQLiteFTSBackend`` (baseline/alternative)
- :mod:`comun_cms.search.analysis` -- Spanish analyzer (pickled into the index schema)
"""

from comun_cms.search.backend import (
    FALLBACK_MESSAGE,
    CanaryResult,
    IndexDifferences,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResults,
)
from comun_cms.search.whoosh_backend import WhooshBackend

__all__ = [
    "FALLBACK_MESSAGE",
    "CanaryResult",
    "IndexDifferences",
    "SearchBackend",
    "SearchDocument",
    "SearchHit",
    "SearchQuery",
    "SearchResults",
    "WhooshBackend",
]
