"""The scratch application the mail, complaint and digest benchmarks run on: a temporary
instance folder, a SQLite file there or an empty PostgreSQL database given by URL, the Alembic
migrations applied and the tenants loaded."""
from __future__ import annotations

import argparse
import tempfile
from typing import Any


def add_database_option(ap: argparse.ArgumentParser) -> None:
    """Add ``--database-url`` (an empty PostgreSQL database; default: a scratch SQLite file)."""
    ap.add_argument("--database-url", default=None,
                    help="an empty PostgreSQL database (postgresql://...); default: a scratch SQLite file")


def scratch_app(database_url: str | None, prefix: str, **config: Any):
    """Create the application and its database.

    Args:
        database_url: ``postgresql://…`` of an empty database, or ``None`` for a SQLite file in
            a new temporary folder.
        prefix: name prefix of the temporary folder (``bench-mail-``).
        config: settings beside the bench defaults (``TESTING``, no rate limits, no CSRF).

    Returns ``(app, url)``; the database is migrated and the tenants are loaded (in an
    application context that is closed again)."""
    from comun_cms.app import create_app
    from comun_cms.setup import sync_tenants, upgrade_database

    tmp = tempfile.mkdtemp(prefix=prefix)
    url = database_url or f"sqlite:///{tmp}/bench.db"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": f"{tmp}/instance", "TESTING": True,
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False, **config})
    with app.app_context():
        upgrade_database(app)
        sync_tenants(app)
    return app, url
