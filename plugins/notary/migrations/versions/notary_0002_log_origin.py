"""notary: the log's origin is stored with the log (issue 19, item 3)

Adds ``notary_log_origins`` (the origins a log has had and the size from which each applies) and
lets ``notary_entries.publication_id`` be NULL for the origin-move entries of
``comun notary move-origin``.

Existing logs keep the origin they were created with: it is read from the first line of each
log's oldest checkpoint note. A log without any checkpoint gets its row at first use (the name of
its log key, else the current configuration).

Revision ID: notary_0002
Revises: notary_0001
Create Date: 2026-12-06 17:30:00

"""
from alembic import op
import sqlalchemy as sa

import comun_cms.toolkit


# revision identifiers, used by Alembic.
revision = 'notary_0002'
down_revision = 'notary_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notary_log_origins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('start_size', sa.Integer(), nullable=False),
    sa.Column('created_at', comun_cms.toolkit.UTCDateTime(), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_notary_log_origins_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notary_log_origins')),
    sa.UniqueConstraint('tenant_id', 'origin', name=op.f('uq_notary_log_origins_tenant_id_origin')),
    sa.UniqueConstraint('tenant_id', 'start_size', name=op.f('uq_notary_log_origins_tenant_id_start_size'))
    )
    with op.batch_alter_table('notary_log_origins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notary_log_origins_tenant_id'), ['tenant_id'], unique=False)
    with op.batch_alter_table('notary_entries', schema=None) as batch_op:
        batch_op.alter_column('publication_id', existing_type=sa.Integer(), nullable=True)

    # Existing logs: the origin of each tenant's oldest checkpoint.
    conn = op.get_bind()
    cps = sa.table('notary_checkpoints', sa.column('tenant_id', sa.String), sa.column('size', sa.Integer),
                   sa.column('note', sa.Text))
    origins = sa.table('notary_log_origins', sa.column('tenant_id', sa.String), sa.column('origin', sa.String),
                       sa.column('start_size', sa.Integer), sa.column('created_at', comun_cms.toolkit.UTCDateTime()))
    seen = set()
    for tenant_id, note in conn.execute(sa.select(cps.c.tenant_id, cps.c.note).order_by(cps.c.tenant_id, cps.c.size)):
        if tenant_id in seen:
            continue
        seen.add(tenant_id)
        origin = note.split("\n", 1)[0]
        if origin:
            conn.execute(origins.insert().values(tenant_id=tenant_id, origin=origin, start_size=0,
                                                 created_at=comun_cms.toolkit.utcnow()))


def downgrade():
    conn = op.get_bind()
    entries = sa.table('notary_entries', sa.column('publication_id', sa.Integer))
    if conn.execute(sa.select(sa.func.count()).select_from(entries).where(entries.c.publication_id.is_(None))).scalar():
        raise RuntimeError("notary_0002 downgrade: the log holds origin-move entries, which the old schema "
                           "cannot store; a moved log cannot be downgraded")
    with op.batch_alter_table('notary_entries', schema=None) as batch_op:
        batch_op.alter_column('publication_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('notary_log_origins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notary_log_origins_tenant_id'))
    op.drop_table('notary_log_origins')
