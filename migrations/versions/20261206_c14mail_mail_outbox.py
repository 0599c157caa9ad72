"""Mail outbox: e-mail written in the transaction that causes it, delivered by `comun mail worker`.

Revision ID: c14mail
Revises: 0002_session_generation
Create Date: 2026-12-06 18:00:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.models.base


# revision identifiers, used by Alembic.
revision = 'c14mail'
down_revision = '0002_session_generation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', comun_cms.models.base.UTCDateTime(), nullable=False),
    sa.Column('claimed_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', comun_cms.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', comun_cms.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('message_id', name=op.f('uq_mail_outbox_message_id'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_mail_outbox_due', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_outbox_due')
    op.drop_table('mail_outbox')
