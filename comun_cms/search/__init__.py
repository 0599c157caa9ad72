"""Search: backend-neutral interface, Whoosh backend, Spanish analyzer.

The package imports nothing itself (importing one of its modules never loads the others);
import from the modules:

- :mod:`comun_cms.search.backend` -- ``SearchBackend`` interface and data classes
  (``SearchDocument``, ``SearchQuery``, ``SearchResults``...)
- :mod:`comun_cms.search.whoosh_backend` -- ``WhooshBackend`` (the default)
- :mod:`comun_cms.search.sqlite_fts` -- ``SQLiteFTSBackend`` (baseline/alternative)
- :mod:`comun_cms.search.pg_backend` -- ``PostgresBackend`` (several app hosts; DDL in
  :mod:`comun_cms.search.pg_schema`)
- :mod:`comun_cms.search.analysis` -- Spanish analyzer (pickled into the index schema)
- :mod:`comun_cms.search.service` -- the app wiring: outbox, indexer, reindex, queries
- :mod:`comun_cms.search.cli` -- ``comun search reindex|worker|check``
"""
