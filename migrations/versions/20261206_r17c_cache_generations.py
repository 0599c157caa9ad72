"""cache generations (anonymous page cache, issue 17)

Revision ID: r17c_cache_gen
Revises: 0002_drafts_settings
Create Date: 2026-12-06 18:10:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.models.base


revision = 'r17c_cache_gen'
down_revision = '0002_drafts_settings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cache_generations',
    sa.Column('tenant', sa.String(length=40), nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('changed_at', comun_cms.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('tenant', name=op.f('pk_cache_generations'))
    )


def downgrade():
    op.drop_table('cache_generations')
