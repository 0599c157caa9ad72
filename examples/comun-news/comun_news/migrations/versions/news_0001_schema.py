"""news schema

Revision ID: news_0001
Revises:
Create Date: 2026-11-21 06:39:41

First revision of the ``news`` branch. Later revisions: ``comun db revision --autogenerate
--head news@head -m "what changed"``; autogenerate writes the core's column type as
``comun_cms.models.base.UTCDateTime()``: import ``UTCDateTime`` from ``comun_cms.toolkit``
instead, as here (plugins import the core only through the toolkit).
"""
from alembic import op
import sqlalchemy as sa

from comun_cms.toolkit import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'news_0001'
down_revision = None
branch_labels = ('news',)
depends_on = '0001'


def upgrade():
    op.create_table('news_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.Column('first_published_at', UTCDateTime(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_news_items_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_news_items'))
    )
    with op.batch_alter_table('news_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_news_items_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_news_items_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('news_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_news_items_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_news_items_status'))
    op.drop_table('news_items')
