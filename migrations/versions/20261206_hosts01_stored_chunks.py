"""stored_chunks: uploads kept in the database (UPLOAD_STORE = "database", several app hosts)

Revision ID: hosts01_chunks
Revises: redact01
Create Date: 2026-12-06 20:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'hosts01_chunks'
down_revision = 'redact01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_chunks',
    sa.Column('tenant', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('variant', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('tenant', 'sha256', 'variant', 'seq', name=op.f('pk_stored_chunks'))
    )


def downgrade():
    op.drop_table('stored_chunks')
