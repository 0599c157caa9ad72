"""The notary's migration notary_0002 (issue 19, item 3) on a database that already has a log:
each existing log gets the origin of its oldest checkpoint, not the SITE_HOST of the day."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from comun_cms.extensions import db
from comun_cms.models import Page
from comun_cms.publishing import publish
from comun_cms.setup import alembic_config
from comun_cms.tenancy import tenant_context
from comun_cms.testing import get_tenant

ORIGINS = sa.table("notary_log_origins", sa.column("tenant_id", sa.String), sa.column("origin", sa.String),
                   sa.column("start_size", sa.Integer))


def test_existing_logs_get_the_origin_of_their_oldest_checkpoint(app):
    app.config["SITE_HOST"] = "127.0.0.1:5000"
    with tenant_context(get_tenant(app, "edomex")):
        publish(Page(slug="a", title="A"))
    db.session.remove()
    cfg = alembic_config(app)
    command.downgrade(cfg, "notary_0001")  # the schema before origins were stored
    with db.engine.connect() as conn:
        assert not sa.inspect(conn).has_table("notary_log_origins")
    app.config["SITE_HOST"] = "127.0.0.1:5201"
    command.upgrade(cfg, "heads")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(ORIGINS.c.tenant_id, ORIGINS.c.origin, ORIGINS.c.start_size)
                            .order_by(ORIGINS.c.tenant_id)).all()
    # only edomex has a checkpoint; the others get theirs at first use
    assert rows == [("edomex", "127.0.0.1:5000/edomex/notary", 0)]
