"""Privacy: consent stored with each submission, anonymisation mark, ARCO requests.

Revision ID: c14prv
Revises: r17c_cache_gen
Create Date: 2026-12-06 18:30:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.models.base


# revision identifiers, used by Alembic.
revision = 'c14prv'
down_revision = 'r17c_cache_gen'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_notice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('consent_at', comun_cms.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('anonymised_at', comun_cms.models.base.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_feedback_consent_notice_id_publications'), 'publications',
                                    ['consent_notice_id'], ['id'])
    op.create_table('arco_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('folio', sa.String(length=40), nullable=False),
    sa.Column('right', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('answered_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('done_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('tracking_hash', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=False),
    sa.Column('consent_notice_id', sa.Integer(), nullable=True),
    sa.Column('consent_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('anonymised_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', comun_cms.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', comun_cms.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consent_notice_id'], ['publications.id'], name=op.f('fk_arco_requests_consent_notice_id_publications')),
    sa.ForeignKeyConstraint(['handled_by_id'], ['users.id'], name=op.f('fk_arco_requests_handled_by_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_arco_requests_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arco_requests')),
    sa.UniqueConstraint('folio', name=op.f('uq_arco_requests_folio')),
    sa.UniqueConstraint('tracking_hash', name=op.f('uq_arco_requests_tracking_hash'))
    )
    with op.batch_alter_table('arco_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arco_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_arco_requests_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('arco_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arco_requests_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_arco_requests_status'))
    op.drop_table('arco_requests')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_feedback_consent_notice_id_publications'), type_='foreignkey')
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('consent_at')
        batch_op.drop_column('consent_notice_id')
