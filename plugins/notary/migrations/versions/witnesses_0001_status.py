"""notary: the witness worker's state per witness (issue 18 item 2, issue 17 item 7)

Adds ``notary_witness_status``: per tenant and witness (its name in the tenant's tlog-policy),
the failures since the last success, the next attempt (back-off), the last error. Cosignatures
themselves stay in ``notary_cosignatures``; nothing existing changes.

Revision ID: witnesses_0001
Revises: notary_0002
Create Date: 2026-12-06 20:45:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.toolkit


# revision identifiers, used by Alembic.
revision = 'witnesses_0001'
down_revision = 'notary_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notary_witness_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('witness', sa.String(length=255), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', comun_cms.toolkit.UTCDateTime(), nullable=True),
    sa.Column('last_attempt_at', comun_cms.toolkit.UTCDateTime(), nullable=True),
    sa.Column('last_success_at', comun_cms.toolkit.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_notary_witness_status_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notary_witness_status')),
    sa.UniqueConstraint('tenant_id', 'witness', name=op.f('uq_notary_witness_status_tenant_id_witness'))
    )
    with op.batch_alter_table('notary_witness_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notary_witness_status_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notary_witness_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notary_witness_status_tenant_id'))
    op.drop_table('notary_witness_status')
