"""DDL of the PostgreSQL search backend (:mod:`comun_cms.search.pg_backend`).

Run by the Alembic migration ``r17pgsearch`` (``comun init`` / ``comun upgrade``) and, for a
database that was not migrated (benchmarks, backend tests), by
:meth:`~comun_cms.search.pg_backend.PostgresBackend.ensure_schema`. Every statement is idempotent.

Objects:

- extensions ``unaccent`` and ``pg_trgm`` (need a role allowed to create them; both ship with
  PostgreSQL's contrib package);
- text search configuration ``comun_es``: a copy of ``spanish`` whose word mappings go through
  ``unaccent`` before the Spanish Snowball stemmer (used for ``ts_headline`` snippets);
- ``search_documents``: one row per indexed document, with the ``tsv`` column (a ``tsvector``
  maintained by the backend: title weight A, codes/keywords B, body C) and its GIN index;
- ``search_words``: surface words seen in documents, with a trigram index for the
  "¿quiso decir…?" suggestions.

Sources: PostgreSQL manual, "Text Search Configuration Example" (12.7) and ``unaccent`` (F.48)
for the configuration; ``pg_trgm`` (F.35) for ``gin_trgm_ops`` and ``similarity``.
"""
from __future__ import annotations

__all__ = ["CONFIGURATION", "SCHEMA_STATEMENTS", "DROP_STATEMENTS", "TABLES", "alembic_include_name"]

#: Name of the text search configuration created by :data:`SCHEMA_STATEMENTS`.
CONFIGURATION = "comun_es"

#: Tables created here, outside the SQLAlchemy models (``tsvector`` columns, PostgreSQL only).
TABLES = ("search_documents", "search_words")


def alembic_include_name(name, type_, parent_names) -> bool:
    """Alembic ``include_name`` hook: leave :data:`TABLES` out of autogenerate comparisons
    (they are not models, so autogenerate would otherwise propose dropping them).

    Args:
        name: object name; type_: ``"table"``, ``"column"``, ``"index"``...; parent_names: unused.

    Returns:
        False for the search tables, True for everything else.
    """
    return not (type_ == "table" and name in TABLES)


#: Idempotent DDL, in order.
SCHEMA_STATEMENTS: tuple[str, ...] = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'comun_es') THEN
            CREATE TEXT SEARCH CONFIGURATION comun_es (COPY = pg_catalog.spanish);
            ALTER TEXT SEARCH CONFIGURATION comun_es
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem;
        END IF;
    END
    $$
    """,
    """
    CREATE TABLE IF NOT EXISTS search_documents (
        id text PRIMARY KEY,
        tenant text NOT NULL,
        content_type text NOT NULL,
        status text NOT NULL,
        year integer NOT NULL,
        language text NOT NULL,
        version text NOT NULL,
        title text NOT NULL,
        body text NOT NULL,
        url text NOT NULL,
        keywords text NOT NULL,
        published_at timestamptz NOT NULL,
        tsv tsvector NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_tenant ON search_documents (tenant, published_at)",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_date ON search_documents (published_at)",
    """
    CREATE TABLE IF NOT EXISTS search_words (
        word text PRIMARY KEY,
        folded text NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS ix_search_words_trgm ON search_words USING gin (folded gin_trgm_ops)",
)

#: DDL undoing :data:`SCHEMA_STATEMENTS` (the extensions stay: other objects may use them).
DROP_STATEMENTS: tuple[str, ...] = (
    "DROP TABLE IF EXISTS search_words",
    "DROP TABLE IF EXISTS search_documents",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS comun_es",
)
