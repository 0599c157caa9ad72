"""notary: RFC 3161 time-stamps of checkpoints and the monitor's alarms (issue 18, items 3 and 4)

Adds ``notary_timestamps`` (one TSA token per timestamped checkpoint) and
``notary_monitor_alarms`` (split views and other alarms of ``comun notary monitor``).

Revision ID: tsa_0003
Revises: witnesses_0001
Create Date: 2026-12-06 20:50:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.toolkit


# revision identifiers, used by Alembic.
revision = 'tsa_0003'
down_revision = 'witnesses_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notary_timestamps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('gen_time', comun_cms.toolkit.UTCDateTime(), nullable=False),
    sa.Column('tsa', sa.String(length=255), nullable=False),
    sa.Column('created_at', comun_cms.toolkit.UTCDateTime(), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['notary_checkpoints.id'], name=op.f('fk_notary_timestamps_checkpoint_id_notary_checkpoints')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_notary_timestamps_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notary_timestamps')),
    sa.UniqueConstraint('checkpoint_id', name=op.f('uq_notary_timestamps_checkpoint_id'))
    )
    with op.batch_alter_table('notary_timestamps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notary_timestamps_tenant_id'), ['tenant_id'], unique=False)
    op.create_table('notary_monitor_alarms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('created_at', comun_cms.toolkit.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', comun_cms.toolkit.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notary_monitor_alarms'))
    )


def downgrade():
    op.drop_table('notary_monitor_alarms')
    with op.batch_alter_table('notary_timestamps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notary_timestamps_tenant_id'))
    op.drop_table('notary_timestamps')
