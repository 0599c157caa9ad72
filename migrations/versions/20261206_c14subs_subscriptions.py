"""Subscriptions (double opt-in, digests) and their pending digest items.

Revision ID: c14subs
Revises: c14prv
Create Date: 2026-12-06 19:00:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.models.base


# revision identifiers, used by Alembic.
revision = 'c14subs'
down_revision = 'c14prv'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('target', sa.String(length=10), nullable=False),
    sa.Column('content_type', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=60), nullable=False),
    sa.Column('query', sa.String(length=300), nullable=False),
    sa.Column('label', sa.String(length=400), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('nonce', sa.String(length=40), nullable=False),
    sa.Column('confirmed_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_digest_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('stopped_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', comun_cms.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', comun_cms.models.base.UTCDateTime(), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_subscriptions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_subscriptions_match', ['tenant_id', 'status', 'target', 'content_type', 'record_id'],
                              unique=False)
    op.create_table('subscription_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('created_at', comun_cms.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['publication_id'], ['publications.id'],
                            name=op.f('fk_subscription_items_publication_id_publications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'],
                            name=op.f('fk_subscription_items_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_subscription_items_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_items')),
    sa.UniqueConstraint('subscription_id', 'publication_id', name=op.f('uq_subscription_items_subscription_id_publication_id'))
    )
    with op.batch_alter_table('subscription_items', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_items_pending', ['sent_at', 'subscription_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_items_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('subscription_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_items_tenant_id'))
        batch_op.drop_index('ix_subscription_items_pending')
    op.drop_table('subscription_items')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_match')
        batch_op.drop_index(batch_op.f('ix_subscriptions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_email'))
    op.drop_table('subscriptions')
