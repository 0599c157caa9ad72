"""Accountable redaction (publications.redacted_at / redaction_id, attachments.redacted_at) and the
consent of a subscription (subscriptions.consent_notice_id / consent_at).

Revision ID: redact01
Revises: r17pgsearch
Create Date: 2026-12-06 20:45:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.models.base


# revision identifiers, used by Alembic.
revision = 'redact01'
down_revision = 'r17pgsearch'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_at', comun_cms.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('redaction_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_publications_redaction_id_publications'), 'publications',
                                    ['redaction_id'], ['id'])
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_at', comun_cms.models.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_notice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('consent_at', comun_cms.models.base.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_subscriptions_consent_notice_id_publications'), 'publications',
                                    ['consent_notice_id'], ['id'])


def downgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_subscriptions_consent_notice_id_publications'), type_='foreignkey')
        batch_op.drop_column('consent_at')
        batch_op.drop_column('consent_notice_id')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('redacted_at')
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_publications_redaction_id_publications'), type_='foreignkey')
        batch_op.drop_column('redaction_id')
        batch_op.drop_column('redacted_at')
