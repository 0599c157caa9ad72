"""Set-up steps of ``comun init``: database schema (Alembic), tenant rows, plugin initialization."""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from flask import Flask, current_app
from sqlalchemy import select

from comun_cms.extensions import db, migrate
from comun_cms.models import TenantRow
from comun_cms.plugins import tenant_hook
from comun_cms.private_files import make_private
from comun_cms.tenancy import platform_session, tenant_context


@migrate.configure
def configure_alembic(config):
    """Flask-Migrate hook: add every plugin's ``versions`` folder to Alembic's
    ``version_locations`` (so ``flask db`` commands and ``comun init`` see plugin branches)."""
    ext = current_app.extensions["migrate"]
    dirs = [str(Path(ext.directory) / "versions")] + current_app.extensions["comun"].migration_dirs
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(dirs))
    return config


def alembic_config(app: Flask):
    """Alembic ``Config`` of the app (core ``migrations/`` plus plugin version folders)."""
    ext = app.extensions["migrate"]
    return ext.migrate.get_config(ext.directory)


def upgrade_database(app: Flask, revision: str = "heads") -> None:
    """Upgrade the database to ``revision`` (default: every branch head) with Alembic. A SQLite
    database file (and its journal files) is made readable by its owner only (0600): it holds
    the accounts and every draft."""
    command.upgrade(alembic_config(app), revision)
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        for suffix in ("", "-journal", "-wal", "-shm"):
            make_private(url.database + suffix)


def sync_tenants(app: Flask) -> list[str]:
    """Insert or update a :class:`TenantRow` for every configured tenant. Returns new slugs."""
    created = []
    with platform_session(db.session):
        existing = {t.slug: t for t in db.session.scalars(select(TenantRow))}
        for slug, tenant in app.extensions["comun"].tenants.items():
            row = existing.get(slug)
            if row is None:
                db.session.add(TenantRow(slug=slug, state=tenant.state))
                created.append(slug)
            elif row.state != tenant.state:
                row.state = tenant.state
        db.session.commit()
    return created


def initialize_plugins(app: Flask) -> None:
    """Call the ``initialize`` hook for every tenant (plugins it enables only)."""
    for tenant in app.extensions["comun"].tenants.values():
        with tenant_context(tenant):
            tenant_hook(tenant, "initialize")(tenant=tenant, instance_path=app.instance_path)
            db.session.commit()
