"""Migrations: upgrade from empty to head, and no difference between models and migrations."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from comun_cms.extensions import db
from comun_cms.search.pg_schema import alembic_include_name


def test_upgrade_from_empty_matches_models(app):
    # the `app` fixture's database was built by `alembic upgrade heads` (comun_cms.testing)
    with db.engine.connect() as conn:
        # the search backend's PostgreSQL tables are made by its migration, not by models
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": alembic_include_name})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ (add an Alembic revision): {diff}"


def test_every_plugin_with_models_has_a_branch(app):
    from alembic.script import ScriptDirectory
    from comun_cms.setup import alembic_config
    script = ScriptDirectory.from_config(alembic_config(app))
    labels = {label for rev in script.walk_revisions() for label in (rev.branch_labels or ())}
    assert "core" in labels
    pm = app.extensions["comun"].pm
    for name, plugin in pm.list_name_plugin():
        if name != "core" and hasattr(plugin, "register_migrations"):
            assert name in labels, f"plugin {name} registers migrations but has no branch label '{name}'"
