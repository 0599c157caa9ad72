"""Complaints loop: folios, private tracking, deadlines in business days.

Revision ID: c14cmp
Revises: c14mail
Create Date: 2026-12-06 18:20:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.models.base


# revision identifiers, used by Alembic.
revision = 'c14cmp'
down_revision = 'c14mail'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('folio_counters',
    sa.Column('series', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('series', name=op.f('pk_folio_counters'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('folio', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('tracking_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', comun_cms.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', comun_cms.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('locale', sa.String(length=10), nullable=False, server_default='es_MX'))
        batch_op.add_column(sa.Column('publish_consent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('public_page_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_feedback_public_page_id_pages'), 'pages', ['public_page_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_feedback_folio'), ['folio'])
        batch_op.create_unique_constraint(batch_op.f('uq_feedback_tracking_hash'), ['tracking_hash'])


def downgrade():
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_feedback_tracking_hash'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_feedback_folio'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_feedback_public_page_id_pages'), type_='foreignkey')
        batch_op.drop_column('public_page_id')
        batch_op.drop_column('publish_consent')
        batch_op.drop_column('locale')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('due_on')
        batch_op.drop_column('tracking_hash')
        batch_op.drop_column('folio')
    op.drop_table('folio_counters')
