"""PostgreSQL search backend: unaccent and pg_trgm, the comun_es text search configuration, the
search_documents and search_words tables (SEARCH_BACKEND=postgres). Nothing on SQLite.

Revision ID: r17pgsearch
Revises: c14subs
Create Date: 2026-12-06 19:00:00

"""
from alembic import op

from comun_cms.search.pg_schema import DROP_STATEMENTS, SCHEMA_STATEMENTS


# revision identifiers, used by Alembic.
revision = 'r17pgsearch'
down_revision = 'c14subs'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in SCHEMA_STATEMENTS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DROP_STATEMENTS:
        op.execute(statement)
